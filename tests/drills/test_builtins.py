"""Every short built-in scenario on the reference platform: what it must show, and its verdict."""

from __future__ import annotations

from drillkit import builtin, reference

from godseye.plan.placement import place_services
from godseye.sim.result import DrillResult


def test_azure_outage_meets() -> None:
    r = builtin("azure-region-outage")
    assert r.verdict == "met", [(s.name, s.rto_s, s.rpo_s) for s in r.services if not s.met]


def test_gcp_hang_is_detected_by_timeouts_and_meets(gcp: DrillResult) -> None:
    r = gcp
    unhealthy = [e for e in r.timeline if e.actor == "edge" and "in gcp marked unhealthy" in e.event]
    assert unhealthy and all("timed out" in str(e.detail["reason"]) for e in unhealthy)
    assert r.verdict == "met"


def test_partition_fails_nothing_over_and_the_watch_sees_the_stall() -> None:
    r = builtin("partition")
    assert not [e for e in r.timeline if e.actor == "edge" and "marked down" in e.event]
    assert [e for e in r.timeline if e.actor == "replication" and "replication-stalled" in e.event]
    assert r.verdict == "met"


def test_replication_stall_is_raised_and_nothing_moves() -> None:
    r = builtin("replication-stall")
    stalls = [e for e in r.timeline if e.actor == "replication" and e.event.startswith("catalog/azure: replication-stalled")]
    assert stalls and stalls[0].t_s >= r.faults[0].start_s
    assert len([c for c in r.steering if c.t_s > 0]) == 0
    assert r.verdict == "met"


def test_service_outage_moves_only_that_service() -> None:
    r = builtin("service-outage")
    marked = [e for e in r.timeline if e.actor == "edge" and "marked unhealthy" in e.event]
    assert marked and all(e.detail.get("service") == "pos" and e.detail.get("cloud") == "azure" for e in marked)
    moved = {c.service for c in r.steering if c.t_s > 0}
    assert moved == {"pos"}
    assert r.verdict == "met"


def test_capacity_exhaustion_misses_and_says_where() -> None:
    r = builtin("capacity-exhaustion")
    gcp = next(c for c in r.clouds if c.name == "gcp")
    assert gcp.nodes_max <= 26
    assert r.verdict == "missed"
    # Tier 1 takes the capped cloud's room by priority; what misses is tier 2 that needs room in gcp.
    assert all(s.met for s in r.services if s.tier == 1)
    missed = [s for s in r.services if not s.met]
    plans = {p.name: p for p in place_services(reference())}
    assert missed and all(s.tier == 2 and "gcp" in plans[s.name].placement for s in missed)
    assert [e for e in r.timeline if e.event.startswith("gcp:") or "preempted in gcp" in e.event]
