"""The seed's failover sequence, played on the reference platform: every figure measured by the run."""

from __future__ import annotations

import itertools

import pytest
from drillkit import reference

from godseye.plan.placement import place_services
from godseye.policy.tiers import tier_table
from godseye.sim.result import DrillResult, TimelineEntry


def entries(r: DrillResult, actor: str, contains: str) -> list[TimelineEntry]:
    return [e for e in r.timeline if e.actor == actor and contains in e.event]


def fault_start(r: DrillResult) -> float:
    return r.faults[0].start_s


def test_meets_every_target(aws: DrillResult) -> None:
    assert aws.verdict == "met", [(s.name, s.rto_s, s.rpo_s) for s in aws.services if not s.met]
    tier1 = [s for s in aws.services if s.tier == 1]
    assert tier1 and all(s.rto_s is not None and 0 < s.rto_s <= s.rto_target_s for s in tier1)
    assert all(s.rpo_s == 0 for s in tier1)


def test_detection_after_failure_threshold_probes(aws: DrillResult) -> None:
    hc = reference().edge.health_check
    [down] = entries(aws, "edge", "aws marked down")
    took = down.t_s - fault_start(aws)
    # The first failing probe comes within one interval of the failure, then threshold - 1 more.
    assert (hc.failure_threshold - 1) * hc.interval_s < took <= hc.failure_threshold * hc.interval_s


def test_tier1_split_comes_from_the_spec(aws: DrillResult) -> None:
    split = reference().edge.failover_split["aws"]
    [down] = entries(aws, "edge", "aws marked down")
    tier1 = {s.name for s in aws.services if s.tier == 1}
    moved = [c for c in aws.steering if c.service in tier1 and c.t_s >= fault_start(aws)]
    first = {c.service: c for c in reversed(moved)}
    assert set(first) == tier1
    for change in first.values():
        assert change.t_s == down.t_s
        assert change.weights == {"aws": 0, **split}


def test_replication_is_confirmed_before_tier2_activates(aws: DrillResult) -> None:
    confirmed = entries(aws, "failover", "failover-replication-confirmed")
    activated = entries(aws, "failover", "activate warm standby")
    assert confirmed and activated
    assert aws.timeline.index(confirmed[0]) < aws.timeline.index(activated[0])
    assert confirmed[0].t_s <= activated[0].t_s


def test_tier3_is_deferred(aws: DrillResult) -> None:
    # batch-jobs runs only in aws (tier 3): it is rescheduled deferral_s after detection, not before.
    [down] = entries(aws, "edge", "aws marked down")
    # (It is rescheduled back once aws has returned: the first move is the deferred one.)
    move = entries(aws, "failover", "reschedule batch-jobs from aws to ")[0]
    assert move.t_s - down.t_s == pytest.approx(tier_table(reference())[3].deferral_s)
    # Tier 1 and tier 2 moved first: each one's first weight change after the fault precedes it.
    first = {c.service: c.t_s for c in reversed(aws.steering) if c.t_s > fault_start(aws)}
    upper = {p.name for p in place_services(reference()) if p.tier < 3 and p.weights["aws"] > 0}
    assert "search" in upper
    assert upper <= set(first) and all(first[s] < move.t_s for s in upper)


def test_canary_returns_aws_by_the_spec_steps(aws: DrillResult) -> None:
    edge = reference().edge
    recovered = aws.faults[0].end_s
    assert recovered is not None
    # search runs only in aws normally: its aws weight walks the canary steps of a 100% share.
    back = [c for c in aws.steering if c.service == "search" and c.t_s > recovered]
    assert [c.weights["aws"] for c in back] == list(edge.canary_steps)
    assert back[0].t_s >= recovered + edge.canary_stabilization_s
    gaps = [b.t_s - a.t_s for a, b in itertools.pairwise(back)]
    assert gaps == pytest.approx([edge.canary_bake_s] * (len(edge.canary_steps) - 1))
    # pos is active everywhere: its aws weight climbs back to its normal share, step by step.
    normal = next(p for p in place_services(reference()) if p.name == "pos").weights["aws"]
    pos = [c.weights["aws"] for c in aws.steering if c.service == "pos" and c.t_s > recovered]
    assert len(pos) == len(edge.canary_steps) and pos == sorted(pos) and pos[-1] == normal
