"""Bad input gets one clear line naming file, line and field; good input loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from godseye.spec.errors import InputError
from godseye.spec.loader import load_platform, load_platform_text, reference_text
from godseye.spec.models import Platform

GOOD = """\
name: t
clouds:
  a: {provider: aws, region: r1, nodes: 2, max_nodes: 10, node_vcpu: 8}
  b: {provider: gcp, region: r2, nodes: 2, max_nodes: 10, node_vcpu: 8}
services:
  pos: {revenue_impact: true, ux_impact: true, rps: 100, pod_rps: 10, data: [orders]}
datastores:
  orders: {kind: sql}
"""


def first_line(text: str) -> str:
    with pytest.raises(InputError) as info:
        load_platform_text(text, "spec.yaml")
    return str(info.value)


def test_reference_loads(reference: Platform) -> None:
    assert set(reference.clouds) == {"aws", "gcp", "azure"}
    assert reference.edge.failover_split == {"aws": {"gcp": 60, "azure": 40}}


def test_good_spec_loads() -> None:
    assert load_platform_text(GOOD).services["pos"].rps == 100


def test_negative_value_names_line_and_field() -> None:
    assert first_line(GOOD.replace("pod_rps: 10", "pod_rps: -5")) == (
        "spec.yaml:6: services.pos.pod_rps: must be > 0 (got -5)"
    )


def test_wrong_type() -> None:
    assert first_line(GOOD.replace("rps: 100", "rps: lots")) == (
        "spec.yaml:6: services.pos.rps: expected a number (got 'lots')"
    )


def test_unknown_field_suggests_the_close_one() -> None:
    assert first_line(GOOD.replace("node_vcpu: 8}", "node_vcpu: 8, max_node: 3}", 1)) == (
        "spec.yaml:3: clouds.a.max_node: unknown field; did you mean 'max_nodes'?"
    )


def test_dangling_datastore() -> None:
    assert first_line(GOOD.replace("data: [orders]", "data: [orderz]")) == (
        "spec.yaml:6: services.pos.data[0]: no datastore named 'orderz'; did you mean 'orders'?"
    )


def test_split_must_name_real_clouds_and_sum_to_100() -> None:
    bad = GOOD + "edge:\n  failover_split: {a: {c: 100}}\n"
    assert "edge.failover_split.a.c: no cloud named 'c'" in first_line(bad)
    bad = GOOD + "edge:\n  failover_split: {a: {b: 90}}\n"
    assert first_line(bad) == "spec.yaml:10: edge.failover_split.a: shares must sum to 100 (got 90)"


def test_canary_steps_rise_and_end_at_100() -> None:
    assert "must rise strictly" in first_line(GOOD + "edge:\n  canary_steps: [5, 50, 25, 100]\n")
    assert "last step must be 100" in first_line(GOOD + "edge:\n  canary_steps: [5, 25, 50]\n")


def test_nodes_above_max() -> None:
    assert first_line(GOOD.replace("nodes: 2,", "nodes: 20,", 1)) == (
        "spec.yaml:3: clouds.a.nodes: must be <= max_nodes (10) (got 20)"
    )


def test_malformed_yaml() -> None:
    line = first_line("name: t\nclouds: {a: [\n")
    assert line.startswith("spec.yaml:") and "malformed YAML" in line


def test_empty_file() -> None:
    assert first_line("") == "spec.yaml:1: the file is empty (expected a YAML mapping)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_platform(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_missing_required_field() -> None:
    assert first_line(GOOD.replace(" rps: 100,", "")) == "spec.yaml:6: services.pos.rps: required field is missing"


def test_reference_text_round_trips() -> None:
    assert load_platform_text(reference_text()).name
