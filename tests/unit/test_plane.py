"""The seed's "AWS Region Failure" sequence, walked step by step through the real Plane."""

from __future__ import annotations

import itertools

import pytest
from control_world import World, first, with_edge, with_health, with_service

from godseye.control import plane as plane_module
from godseye.control.actions import (
    ActivateStandby,
    Condition,
    FollowPrimary,
    HoldWrites,
    MarkCloud,
    MarkEndpoint,
    Page,
    PromoteReplica,
    Reschedule,
    ScaleNodePool,
    SetWeights,
)
from godseye.control.observations import ProbeResult
from godseye.control.plane import Plane
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

OUTAGE_S = 600.0


def seed_world(reference: Platform) -> World:
    # batch-jobs runs in aws here so that the tier-3 deferral of the sequence has something to move.
    platform = with_service(reference, "batch-jobs", primary="aws")
    world = World(platform)
    world.run(OUTAGE_S)
    world.down.add("aws")
    return world


def test_first_step_sets_the_plans_weights_once(reference: Platform) -> None:
    plans = place_services(reference)
    plane = Plane(reference, plans)
    out = plane.step(0.0)
    asked = {e.action.service: e.action.weights for e in out if isinstance(e.action, SetWeights)}
    assert asked == {p.name: p.weights for p in plans}
    assert all(e.actor == "steering" for e in out if isinstance(e.action, SetWeights))
    assert [e for e in plane.step(1.0) if isinstance(e.action, SetWeights)] == []  # level-triggered


def test_aws_outage_marked_after_three_failed_checks(reference: Platform) -> None:
    world = seed_world(reference)
    hc = reference.edge.health_check
    before = world.run(OUTAGE_S + hc.interval_s * (hc.failure_threshold - 1))
    assert not [e for e in before if isinstance(e.action, MarkCloud)]
    out = world.run(OUTAGE_S + hc.interval_s * hc.failure_threshold)
    mark = first(out, MarkCloud, cloud="aws", down=True)
    assert mark.t_s == OUTAGE_S + 9.0  # 3 consecutive failures every 3 s: the seed's ~T=10s
    assert mark.actor == "edge"
    assert first(out, MarkEndpoint, cloud="aws", service="pos", healthy=False).actor == "edge"
    weights = first(out, SetWeights, service="pos")
    assert weights.t_s == mark.t_s
    assert weights.action.weights == {"aws": 0, "gcp": 60, "azure": 40}
    assert "failover_split" in weights.action.reason
    assert world.plane.clouds_down() == {"aws"} and world.plane.clouds_out() == {"aws"}


def test_replication_confirmed_before_tier2_activation(reference: Platform) -> None:
    world = seed_world(reference)
    out = world.run(OUTAGE_S + 60)
    hold = first(out, HoldWrites, datastore="orders", hold=True)
    promote = first(out, PromoteReplica, datastore="orders")
    follow = first(out, FollowPrimary, datastore="orders")
    release = first(out, HoldWrites, datastore="orders", hold=False)
    confirmed = first(out, Condition, event="failover-replication-confirmed")
    activate = first(out, ActivateStandby, service="search")
    order = [out.index(e) for e in (hold, promote, follow, release, confirmed, activate)]
    assert order == sorted(order)
    assert promote.action.cloud in {"gcp", "azure"} and follow.action.primary == promote.action.cloud
    assert activate.action.cloud == "gcp" and activate.action.replicas == world.plans[5].placement["aws"].replicas
    assert first(out, SetWeights, service="search").action.weights == {"aws": 0, "gcp": 100, "azure": 0}
    # The timeline reads as the seed's sequence: tier 1 re-routed before the replication gate.
    assert out.index(first(out, SetWeights, service="pos")) < out.index(hold)
    pools = {e.action.cloud for e in out if isinstance(e.action, ScaleNodePool) and e.actor == "failover"}
    assert pools == {"gcp", "azure"}
    assert world.plane.failover_phases()["aws"] == "standby_active"


def test_tier3_waits_for_its_deferral(reference: Platform) -> None:
    world = seed_world(reference)
    out = world.run(OUTAGE_S + 400)
    mark = first(out, MarkCloud, cloud="aws")
    move = first(out, Reschedule, service="batch-jobs")
    deferral = 300.0  # the reference tier table's tier-3 deferral_s
    assert move.t_s == mark.t_s + deferral
    assert move.action.from_cloud == "aws" and move.action.to_cloud in {"gcp", "azure"}
    assert world.plane.moved_services() == {"batch-jobs": move.action.to_cloud}
    assert first(out, SetWeights, service="batch-jobs").t_s == move.t_s
    assert world.plane.failover_phases()["aws"] == "failed_over"


def test_recovery_returns_aws_by_canary_and_closes(reference: Platform) -> None:
    world = seed_world(reference)
    world.run(OUTAGE_S + 1200)
    world.replay_rate = 10_000_000  # aws's copies catch up within one tick of following the new primary
    world.down.discard("aws")
    back_at = world.last_t
    out = world.run(back_at + 3000)
    edge = reference.edge
    up = first(out, MarkCloud, cloud="aws", down=False)
    assert up.t_s == back_at + 3 * edge.health_check.success_threshold
    steps = [e for e in out if isinstance(e.action, Condition) and e.action.event == "canary-step"]
    assert len(steps) == len(edge.canary_steps)
    assert steps[0].t_s == up.t_s + edge.canary_stabilization_s
    assert [round(b.t_s - a.t_s) for a, b in itertools.pairwise(steps)] == [300, 300, 300]
    pos = [e.action.weights["aws"] for e in out if isinstance(e.action, SetWeights) and e.action.service == "pos"]
    assert pos == [2, 8, 17, 34]  # 5%, 25%, 50%, 100% of aws's normal 34
    closed = first(out, Condition, event="failover-closed")
    assert closed.t_s == steps[-1].t_s + edge.canary_bake_s
    assert first(out, Reschedule, service="batch-jobs").action.to_cloud == "aws"
    assert world.plane.failover_phases()["aws"] == "closed"
    assert world.plane.weights()["pos"] == {"aws": 34, "gcp": 33, "azure": 33}
    pages = [e.action.event_action for e in world.log if isinstance(e.action, Page)]
    assert pages[0] == "trigger" and "acknowledge" in pages


def test_slower_health_check_detects_later(reference: Platform) -> None:
    slow = with_health(with_service(reference, "batch-jobs", primary="aws"), failure_threshold=5)
    world = World(slow)
    world.run(OUTAGE_S)
    world.down.add("aws")
    out = world.run(OUTAGE_S + 30)
    assert first(out, MarkCloud, cloud="aws").t_s == OUTAGE_S + 15.0


def test_changed_split_moves_the_weights(reference: Platform) -> None:
    world = World(with_edge(reference, failover_split={"aws": {"gcp": 70, "azure": 30}}))
    world.run(OUTAGE_S)
    world.down.add("aws")
    out = world.run(OUTAGE_S + 12)
    assert first(out, SetWeights, service="pos").action.weights == {"aws": 0, "gcp": 70, "azure": 30}


def test_partition_between_one_prober_and_aws_is_not_an_outage(reference: Platform) -> None:
    world = World(reference)
    world.run(60)
    world.cut.add(("gcp", "aws"))
    out = world.run(120)
    assert not [e for e in out if isinstance(e.action, MarkCloud | MarkEndpoint)]
    assert world.plane.clouds_down() == frozenset()
    assert world.plane.weights()["pos"] == {"aws": 34, "gcp": 33, "azure": 33}


def test_same_inputs_same_actions(reference: Platform) -> None:
    logs = []
    for _ in range(2):
        world = seed_world(reference)
        world.run(OUTAGE_S + 400)
        logs.append(world.log)
    assert logs[0] == logs[1]


def test_next_wakeup_points_at_the_earliest_deadline(reference: Platform) -> None:
    world = seed_world(reference)
    world.run(OUTAGE_S + 30)
    wake = world.plane.next_wakeup_s()
    assert wake is not None and world.last_t < wake
    # Nothing new arrives: stepping exactly at the wake-up is what moves the tier-3 deferral along.
    mark_t = OUTAGE_S + 9.0
    assert wake <= mark_t + 300.0


def test_canary_waits_for_the_returning_copies_to_catch_up(reference: Platform) -> None:
    world = seed_world(reference)
    world.run(OUTAGE_S + 1200)
    world.down.discard("aws")
    out = world.run(world.last_t + 3000)
    up = first(out, MarkCloud, cloud="aws", down=False)
    step = first(out, Condition, event="canary-step")
    # aws's copies replay 2x faster than the new primary writes: 1200 s of writes take ~1200 s more.
    assert step.t_s > up.t_s + reference.edge.canary_stabilization_s + 300


def test_accessors_follow_the_sequence(reference: Platform) -> None:
    world = seed_world(reference)
    world.run(OUTAGE_S + 12)
    assert world.plane.endpoint_health()[("aws", "pos")] is False
    assert world.plane.endpoint_health()[("gcp", "pos")] is True
    assert world.plane.canary_fractions() == {"aws": 0.0}
    assert world.plane.replication().primary("orders") in {"gcp", "azure"}
    world.replay_rate = 10_000_000
    world.down.discard("aws")
    world.run(world.last_t + 6 + reference.edge.canary_stabilization_s + 3)
    assert world.plane.canary_fractions() == {"aws": reference.edge.canary_steps[0] / 100}
    assert world.plane.failover_phases() == {"aws": "recovering"}


def test_pending_observations_are_bounded(reference: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plane_module, "MAX_PENDING_OBSERVATIONS", 3)
    plane = Plane(reference, place_services(reference))
    for t in range(5):
        plane.observe(ProbeResult(float(t), "edge", "aws", "pos", ok=True))
    assert plane.dropped_observations == 2
    plane.step(5.0)
