"""`godseye drill`, `godseye scenarios`: exit codes, the JSON contract, the HTML page, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from godseye.cli import app
from godseye.sim.catalog import builtin_names

runner = CliRunner()

REQUIRED = {"aws-region-outage", "gcp-region-outage", "azure-region-outage", "black-friday", "flash-sale", "partition",
            "replication-stall", "capacity-exhaustion", "service-outage", "double-outage"}


def test_scenarios_lists_the_builtins() -> None:
    assert set(builtin_names()) >= REQUIRED
    result = runner.invoke(app, ["scenarios"], terminal_width=200)
    assert result.exit_code == 0
    for name in REQUIRED:
        assert name in result.output


def test_drill_met_exits_0_and_writes_the_contract(tmp_path: Path) -> None:
    out, page = tmp_path / "d.json", tmp_path / "d.html"
    result = runner.invoke(app, ["drill", "service-outage", "--json", str(out), "--html", str(page), "--seed", "3"],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "VERDICT: met" in result.output and "T+" in result.output
    doc = json.loads(out.read_text())
    assert {"scenario", "duration_s", "seed", "verdict", "services", "clouds", "steering", "timeline"} <= set(doc)
    assert doc["seed"] == 3 and doc["verdict"] == "met"
    svc = doc["services"][0]
    assert {"name", "tier", "rto_s", "rto_target_s", "rpo_s", "rpo_target_s", "met", "requests_total",
            "requests_failed"} <= set(svc)
    first = doc["steering"][: len(doc["services"])]
    assert all(c["t_s"] == 0 and sum(c["weights"].values()) == 100 for c in first)
    assert all({"t_s", "actor", "event", "detail"} <= set(e) for e in doc["timeline"])
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html and "<style>" in html


def test_drill_missed_exits_1() -> None:
    result = runner.invoke(app, ["drill", "double-outage"], terminal_width=200)
    assert result.exit_code == 1
    assert "VERDICT: missed" in result.output


def test_unknown_scenario_exits_2_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["drill", "no-such-outage"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "no built-in scenario" in result.output


def test_bad_scenario_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration_s: 600\nfaults:\n  - {at_s: 60, kind: cloud_outage, cloud: mars}\n")
    result = runner.invoke(app, ["drill", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4" in result.output and "mars" in result.output and "Traceback" not in result.output
