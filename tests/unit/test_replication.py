from __future__ import annotations

import math

import pytest

from godseye.control.actions import Condition
from godseye.control.failover import ReplicationFacts, clouds_caught_up
from godseye.control.observations import ReplicaPosition
from godseye.control.replication import (
    DatastoreTarget,
    ReplicationMemory,
    ReplicationParams,
    ReplicationView,
    reconcile,
    targets_from_platform,
)
from godseye.spec.models import Platform

CLOUDS = ("aws", "gcp", "azure")
MB = 1_000_000


def pos(t: float, cloud: str, acked: int, received: int, replayed: int | None = None, *, store: str = "orders",
        role: str | None = None, reachable: bool = True) -> ReplicaPosition:
    r = role or ("primary" if cloud == "aws" else "replica")
    assert r in ("primary", "replica")
    return ReplicaPosition(t, store, cloud, "primary" if r == "primary" else "replica", acked, received,
                           received if replayed is None else replayed, reachable)


def step(targets: dict[str, DatastoreTarget], memory: ReplicationMemory, now: float, *positions: ReplicaPosition,
         params: ReplicationParams | None = None) -> tuple[ReplicationMemory, list[Condition], float | None]:
    view = ReplicationView(now, targets, positions, CLOUDS, params or ReplicationParams())
    d = reconcile(view, memory)
    conds = [a for a in d.actions if isinstance(a, Condition)]
    assert len(conds) == len(d.actions)
    return d.memory, conds, d.requeue_after_s


@pytest.fixture()
def targets(reference: Platform) -> dict[str, DatastoreTarget]:
    return targets_from_platform(reference)


def test_targets_follow_tier_and_sync_box(targets: dict[str, DatastoreTarget]) -> None:
    # orders: used by pos (tier 1) -> RPO 0, synchronous.
    assert targets["orders"].rpo_target_s == 0 and targets["orders"].tier == 1
    # catalog: tier 2 (RPO < 5 s) but sql sync promises < 1 s: the tighter bound wins.
    assert targets["catalog"].rpo_target_s == 1.0 and "sync box" in targets["catalog"].target_reason
    assert targets["clickstream"].rpo_target_s == 5.0
    # reports: tier 3 (15 min) with batch object sync (15 min).
    assert targets["reports"].rpo_target_s == 900.0
    assert targets["orders"].write_pos_per_s == 2.0 * MB  # the spec's write_mb_s for sql
    assert targets["order-events"].write_pos_per_s == 0.0  # offsets have no byte size


def test_tier1_sync_replica_behind_is_a_breach_then_recovers(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    m, conds, _ = step(targets, m, 1.0, pos(1, "aws", 1000, 1000), pos(1, "gcp", 0, 1000), pos(1, "azure", 0, 900))
    assert conds == []  # gcp holds every acked write: RPO 0 holds
    assert m.state.best_survivor("orders", {"aws"}) == "gcp"
    assert m.state.exposure_s("orders") == 0.0
    assert m.state.caught_up("orders", "gcp") and not m.state.caught_up("orders", "azure")

    m, conds, _ = step(targets, m, 2.0, pos(2, "aws", 3000, 3000), pos(2, "gcp", 0, 2500), pos(2, "azure", 0, 2000))
    assert [(c.subject, c.event) for c in conds] == [("orders", "rpo-breach")]
    assert "synchronous" in conds[0].reason and "best survivor gcp" in conds[0].reason
    assert m.state.exposure_pos("orders") == 500
    # 500 of the 2000 bytes acked between t=1 and t=2: a quarter of a second.
    assert m.state.exposure_s("orders") == pytest.approx(0.25)

    # Same level, later report of the same positions: nothing new.
    m, conds, _ = step(targets, m, 2.0, pos(2, "aws", 3000, 3000), pos(2, "gcp", 0, 2500))
    assert conds == []
    m, conds, _ = step(targets, m, 3.0, pos(3, "aws", 3000, 3000), pos(3, "gcp", 0, 3000))
    assert [(c.subject, c.event) for c in conds] == [("orders", "rpo-met")]


def test_lag_in_bytes_and_seconds_from_observed_write_rate(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    for t in range(11):  # 2 MB/s acknowledged
        m, _, _ = step(targets, m, float(t), pos(t, "aws", 2 * MB * t, 2 * MB * t))
    m, _, _ = step(targets, m, 10.0, pos(10, "gcp", 0, 18 * MB, 16 * MB))
    (lag,) = [x for x in m.state.lags("orders") if x.cloud == "gcp"]
    assert lag.lag_pos == 4 * MB and lag.lag_s == pytest.approx(2.0)
    assert lag.exposure_pos == 2 * MB and lag.exposure_s == pytest.approx(1.0)
    assert not lag.caught_up and not lag.stalled
    assert m.state.replica_lag_s("orders", "gcp") == pytest.approx(2.0)


def test_gap_older_than_history_is_extrapolated_with_the_write_rate(targets: dict[str, DatastoreTarget]) -> None:
    params = ReplicationParams(history_s=5.0)
    m = ReplicationMemory()
    for t in range(21):
        m, _, _ = step(targets, m, float(t), pos(t, "aws", MB * t, MB * t), params=params)
    assert len(m.state.datastores["orders"].acked_history) <= 7  # bounded by history_s
    m, _, _ = step(targets, m, 20.0, pos(20, "gcp", 0, 4 * MB), params=params)
    assert m.state.replica_exposure_s("orders", "gcp") == pytest.approx(16.0)


def test_object_positions_are_sync_times_in_ms(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    now_ms = 1_000_000
    m, conds, _ = step(targets, m, 1000.0, pos(1000, "aws", now_ms, now_ms, store="reports"),
                       pos(1000, "gcp", 0, now_ms - 600_000, store="reports"),
                       pos(1000, "azure", 0, now_ms - 700_000, store="reports"))
    assert m.state.exposure_s("reports") == pytest.approx(600.0)
    assert conds == []  # 10 min < 15 min batch sync target
    m, conds, _ = step(targets, m, 1400.0, pos(1400, "aws", now_ms + 400_000, now_ms + 400_000, store="reports"),
                       pos(1400, "gcp", 0, now_ms - 600_000, store="reports"))
    assert m.state.exposure_s("reports") == pytest.approx(1000.0)
    assert [(c.subject, c.event) for c in conds] == [("reports", "rpo-breach")]
    assert "1000 s" in conds[0].reason and "target tier 3 RPO 900 s" in conds[0].reason


def test_best_survivor_skips_excluded_and_unreachable_and_breaks_ties_in_spec_order(
    targets: dict[str, DatastoreTarget],
) -> None:
    m = ReplicationMemory()
    m, _, _ = step(targets, m, 1.0, pos(1, "aws", 100, 100), pos(1, "gcp", 0, 90), pos(1, "azure", 0, 90))
    assert m.state.best_survivor("orders", {"aws"}) == "gcp"
    m, _, _ = step(targets, m, 2.0, pos(2, "gcp", 0, 90, reachable=False))
    assert m.state.best_survivor("orders", {"aws"}) == "azure"
    assert m.state.best_survivor("orders", {"aws", "azure"}) is None
    assert m.state.exposure_s("orders", {"aws", "azure"}) == math.inf
    assert m.state.exposure_pos("orders", {"aws", "azure"}) is None
    assert m.state.primary("orders") == "aws" and m.state.newest_acked("orders") == 100


def test_stall_declared_after_stall_after_s_and_cleared_when_receiving(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    m, conds, requeue = step(targets, m, 0.0, pos(0, "aws", 100, 100), pos(0, "gcp", 0, 100))
    assert conds == [] and requeue is None  # nothing lacking: nothing to watch
    m, conds, requeue = step(targets, m, 1.0, pos(1, "aws", 200, 200), pos(1, "gcp", 0, 100))
    assert [c.event for c in conds] == ["rpo-breach"]
    assert requeue == pytest.approx(9.0)  # gcp last received at t=0; stall at t=10
    m, conds, requeue = step(targets, m, 9.5, pos(9.5, "aws", 900, 900), pos(9.5, "gcp", 0, 100))
    assert conds == [] and requeue == pytest.approx(0.5)
    m, conds, _ = step(targets, m, 10.0)
    assert [(c.subject, c.event) for c in conds] == [("orders/gcp", "replication-stalled")]
    (stall,) = m.state.stalls()
    assert (stall.datastore, stall.primary_cloud, stall.replica_cloud) == ("orders", "aws", "gcp")
    assert (stall.since_s, stall.tier) == (0, 1)
    m, conds, _ = step(targets, m, 11.0)
    assert conds == []  # still stalled: level-triggered, nothing new
    m, conds, _ = step(targets, m, 12.0, pos(12, "gcp", 0, 900))
    assert [(c.subject, c.event) for c in conds] == [("orders/gcp", "replication-resumed"), ("orders", "rpo-met")]
    assert m.state.stalls() == ()


def test_stall_threshold_is_a_parameter(targets: dict[str, DatastoreTarget]) -> None:
    for stall_after_s, stalled_at_5 in ((10.0, False), (4.0, True)):
        params = ReplicationParams(stall_after_s=stall_after_s)
        m = ReplicationMemory()
        m, _, _ = step(targets, m, 0.0, pos(0, "aws", 100, 100), pos(0, "gcp", 0, 100), params=params)
        m, conds, _ = step(targets, m, 5.0, pos(5, "aws", 500, 500), pos(5, "gcp", 0, 100), params=params)
        assert ("replication-stalled" in [c.event for c in conds]) is stalled_at_5


def test_stale_reports_are_ignored(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    m, _, _ = step(targets, m, 5.0, pos(5, "aws", 500, 500), pos(5, "gcp", 0, 500))
    m, conds, _ = step(targets, m, 6.0, pos(3, "gcp", 0, 100))
    assert conds == [] and m.state.caught_up("orders", "gcp")


def test_promotion_starts_a_new_history(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    m, _, _ = step(targets, m, 1.0, pos(1, "aws", 1000, 1000), pos(1, "gcp", 0, 1000), pos(1, "azure", 0, 1000))
    m, _, _ = step(targets, m, 2.0, pos(2, "aws", 1000, 1000, reachable=False), pos(2, "gcp", 1000, 1000, role="primary"))
    assert m.state.primary("orders") == "gcp"
    assert m.state.best_survivor("orders", {"gcp"}) == "azure"
    assert m.state.exposure_s("orders") == 0.0
    # The dead old primary keeps being reported as it was last seen: gcp stays the primary.
    m, _, _ = step(targets, m, 3.0, pos(3, "aws", 1000, 1000, reachable=False), pos(3, "gcp", 1500, 1500, role="primary"),
                   pos(3, "azure", 0, 1500))
    assert m.state.primary("orders") == "gcp" and m.state.newest_acked("orders") == 1500
    assert m.state.caught_up("orders", "azure")


def test_params_are_bounded() -> None:
    with pytest.raises(ValueError):
        ReplicationParams(stall_after_s=0)
    with pytest.raises(ValueError):
        ReplicationParams(history_s=math.inf)
    with pytest.raises(ValueError):
        ReplicationParams(history_max=1)


def test_state_is_what_the_failover_orchestrator_reads(targets: dict[str, DatastoreTarget]) -> None:
    m = ReplicationMemory()
    m, _, _ = step(targets, m, 1.0, pos(1, "aws", 100, 100), pos(1, "gcp", 0, 100), pos(1, "azure", 0, 100, 40))
    facts: ReplicationFacts = m.state  # checked by mypy against failover_facts.py's protocol
    assert clouds_caught_up(facts, CLOUDS) == frozenset({"aws", "gcp"})
