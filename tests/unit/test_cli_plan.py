"""`godseye plan`: exit codes, the JSON contract, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plan_specs import three_clouds, yaml_text
from typer.testing import CliRunner

import godseye.report.plan_json as plan_json
from godseye.cli import app

runner = CliRunner()


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reference_plan_exits_0_and_writes_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "--json", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "PLAN HOLDS" in result.stdout
    doc = json.loads(out.read_text())
    assert list(doc)[:5] == ["platform", "services", "clouds", "survives", "principles"]
    assert doc["platform"] == "godseye-retail"
    pos = doc["services"][0]
    assert list(pos)[:9] == [
        "name", "tier", "tier_reason", "mode", "rto_target_s", "rpo_target_s", "cost_multiplier", "placement", "tier_note",
    ]
    assert pos["name"] == "pos" and pos["tier"] == 1 and pos["mode"] == "active-active-active"
    assert pos["rto_target_s"] == 30 and pos["rpo_target_s"] == 0 and pos["cost_multiplier"] == 3.0
    assert pos["placement"]["aws"] == {"role": "active", "replicas": 20}
    assert list(doc["clouds"][0])[:5] == ["name", "nodes_needed", "nodes", "max_nodes", "capacity_share"]
    assert [s["failed_cloud"] for s in doc["survives"]] == ["aws", "gcp", "azure"]
    assert all(list(s)[:3] == ["failed_cloud", "ok", "detail"] and s["ok"] for s in doc["survives"])
    assert doc["survives"][0]["survivors"][0]["cloud"] == "gcp"
    assert [list(p) for p in doc["principles"]] == [["name", "ok", "detail"]] * 5
    assert not list(tmp_path.glob(".plan.json.*"))  # no temporary file left behind


def test_json_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    assert runner.invoke(app, ["plan", "--json", str(one)]).exit_code == 0
    assert runner.invoke(app, ["plan", "--json", str(two)]).exit_code == 0
    assert one.read_bytes() == two.read_bytes()


def test_failing_plan_exits_1_naming_the_check(tmp_path: Path) -> None:
    spec = three_clouds()
    spec["clouds"]["c"].update(nodes=1, max_nodes=1)
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "--spec", str(write(tmp_path, yaml_text(spec))), "--json", str(out)])
    assert result.exit_code == 1
    assert "failed: fit c: c needs 2 nodes > max_nodes 1" in result.stderr
    assert "PLAN FAILS" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["ok"] is False and any(f.startswith("fit c") for f in doc["failures"])


def test_n1_failure_exits_1_naming_failed_cloud(tmp_path: Path) -> None:
    spec = three_clouds(nodes=1, max_nodes=1, node_vcpu=10)
    result = runner.invoke(app, ["plan", "--spec", str(write(tmp_path, yaml_text(spec)))])
    assert result.exit_code == 1
    assert "failed: N-1 without a:" in result.stderr and "b overflows" in result.stderr


GOOD = yaml_text(three_clouds())

BAD_INPUTS = {
    "malformed": ("name: t\nclouds: {a: [\n", "malformed YAML"),
    "wrong type": (GOOD.replace("rps: 3000", "rps: lots"), "services.pos.rps: expected a number (got 'lots')"),
    "unknown field": (GOOD.replace("node_vcpu: 8\n", "node_vcpu: 8\n    max_node: 3\n", 1), "unknown field"),
    "dangling reference": (GOOD.replace("- orders", "- orderz"), "no datastore named 'orderz'"),
    "empty": ("", "the file is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = BAD_INPUTS[case]
    path = write(tmp_path, text)
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "--spec", str(path), "--json", str(out)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(str(path)) and expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()


def test_unplaceable_pod_exit_2(tmp_path: Path) -> None:
    spec = three_clouds()
    spec["clouds"]["c"]["node_vcpu"] = 4
    spec["services"]["pos"]["pod_vcpu"] = 6
    path = write(tmp_path, yaml_text(spec))
    result = runner.invoke(app, ["plan", "--spec", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}: services.pos.pod_vcpu: must fit on a node of c, where it is placed (c has node_vcpu 4) (got 6)\n"
    )


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "--spec", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_unwritable_json_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "plan.json"
    result = runner.invoke(app, ["plan", "--json", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{target}: cannot write") and result.stderr.count("\n") == 1


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "plan.json"
    out.write_text("previous plan\n")

    def full_disk(*args: object) -> None:
        # Fails after the temporary file is written, as running out of space at the rename would.
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plan_json.os, "replace", full_disk)
    result = runner.invoke(app, ["plan", "--json", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"{out}: cannot write: No space left on device\n"
    assert out.read_text() == "previous plan\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
