"""The lab platform is derived from the spec: small, capped, fast, on each cloud's own loopback range."""

from __future__ import annotations

import pytest

from godseye.live.lab_spec import LabSizing, build_lab_spec, lab_replicas, select_services
from godseye.spec.models import Platform


def test_services_are_the_first_of_each_tier(reference: Platform) -> None:
    names = select_services(reference, {1: 2, 2: 1, 3: 0})
    assert names == ["pos", "payments", "search"]


def test_traffic_is_split_by_spec_rps_and_sums_to_the_budget(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(total_rps=300.0))
    total = sum(p.rps for p in spec.services)
    assert total == pytest.approx(300.0)
    pos, payments = spec.plan("pos"), spec.plan("payments")
    assert pos.rps / payments.rps == pytest.approx(reference.services["pos"].rps / reference.services["payments"].rps)


def test_replicas_never_exceed_the_cap(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(replicas_cap=1, pod_rps=1.0))
    for plan in spec.services:
        assert all(p.replicas <= 1 for p in plan.placement.values())
    assert lab_replicas(50, 2) == 2 and lab_replicas(0, 2) == 0 and lab_replicas(-1, 2) == 0


def test_tier1_runs_in_every_cloud_with_the_plan_split(reference: Platform) -> None:
    spec = build_lab_spec(reference)
    pos = spec.plan("pos")
    assert set(pos.placement) == {"aws", "gcp", "azure"}
    assert sum(pos.weights.values()) == 100


def test_durations_divided_by_time_scale_and_fast_health_checks(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(time_scale=60.0))
    edge = spec.platform.edge
    assert edge.canary_bake_s == pytest.approx(reference.edge.canary_bake_s / 60)
    assert edge.canary_stabilization_s == pytest.approx(reference.edge.canary_stabilization_s / 60)
    assert edge.health_check.interval_s <= 1.0 and edge.health_check.timeout_s < edge.health_check.interval_s
    assert edge.failover_split == reference.edge.failover_split
    assert spec.platform.autoscaling.stable_s == pytest.approx(reference.autoscaling.stable_s / 60)


def test_each_cloud_has_its_own_loopback_range_and_each_slot_its_own_address(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(replicas_cap=2))
    for r in spec.slots:
        index = spec.clouds.index(r.cloud)
        assert r.host.startswith(f"127.0.{index + 1}.")
    addresses = [(r.host, r.port) for r in spec.slots]
    assert len(addresses) == len(set(addresses))
    assert spec.vantage_address("gcp") == "127.0.2.200"


def test_edge_lab_declares_no_datastores_unless_asked(reference: Platform) -> None:
    assert build_lab_spec(reference).platform.datastores == {}
    with_data = build_lab_spec(reference, LabSizing(with_datastores=True)).platform
    assert "orders" in with_data.datastores
