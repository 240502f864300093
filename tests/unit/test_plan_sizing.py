"""The planner sizes pods the way the autoscaler does: a plan that says an event fits, the autoscaler agrees.

Both call `policy.sizing`; these tests hold the planner's counts against the real controller's asks.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from plan_specs import load, three_clouds

from godseye.control.actions import Condition
from godseye.control.autoscaler import AutoscalerMemory, AutoscalerView, reconcile
from godseye.plan.builder import build_plan
from godseye.plan.demand import event_asks, held_replicas, steady_asks
from godseye.plan.model import Check
from godseye.plan.nodes import pack_nodes
from godseye.plan.placement import place_services
from godseye.policy.sizing import declared_peak, floor_replicas, load_replicas, pods_for, prescale_replicas
from godseye.spec.models import Platform


def check(platform: Platform, name: str) -> Check:
    return next(c for c in build_plan(platform).fits if c.name == name)


def at_peak(platform: Platform, event: str) -> tuple[AutoscalerMemory, list[Condition]]:
    """One reconcile from the plan's baseline, at the event's peak, with every service offered its peak load."""
    ev = platform.events[event]
    peak = declared_peak(ev)
    plans = place_services(platform)
    view = AutoscalerView.build(
        platform, plans, samples=[], pools=[], weights={}, clouds_down=[],
        now_s=min(ev.ramp_s, ev.duration_s / 2), epoch=ev.start,
        offered_rps={p.name: p.rps * peak for p in plans},
    )
    decision = reconcile(view, AutoscalerMemory())
    return decision.memory, [a for a in decision.actions if isinstance(a, Condition)]


# --- the shared rules -------------------------------------------------------------------------


def test_sizing_rules_are_the_autoscalers_worked_numbers(reference: Platform) -> None:
    a = reference.autoscaling
    assert pods_for(204, 10, 0.7) == 30  # docs/autoscaling.md: aws's 204 rps of pos at 70%
    assert pods_for(4000, 100, 0.8) == 50  # exactly 50, no rounding up to 51
    assert pods_for(0, 10, 0.7) == 0
    assert load_replicas(198, 10, a) == 29
    assert prescale_replicas(600, 4.0, 34, 10, a) == 140  # ceil(816 x 1.2 / 7)
    assert floor_replicas(20, a) == 22


def test_event_profile_peak_is_what_the_autoscaler_predicts() -> None:
    spec = three_clouds()
    spec["events"] = {"bf": {"start": "2026-11-27T00:00:00Z", "duration_s": 7200, "peak_multiplier": 3.0,
                             "profile": [1.0, 4.5, 2.0]}}
    assert declared_peak(load(spec).events["bf"]) == 4.5


# --- the plan counts exactly what the autoscaler asks -----------------------------------------


@pytest.mark.parametrize("event", ["black-friday", "flash-sale"])
def test_reference_event_fits_and_the_autoscaler_stays_within_max_nodes(reference: Platform, event: str) -> None:
    assert check(reference, f"peak {event}").ok
    memory, conditions = at_peak(reference, event)
    assert not [c for c in conditions if c.event == "burst"], "the plan said it fits, yet the autoscaler bursts"
    plans = place_services(reference)
    peak = declared_peak(reference.events[event])
    vcpu = {p.name: p.pod_vcpu for p in plans}
    for cloud, spec in reference.clouds.items():
        asked = {p.name: memory.replicas(cloud, p.name) or 0 for p in plans if cloud in p.placement}
        # Replica for replica, the plan's count is the autoscaler's ask ...
        assert asked == {p.name: held_replicas(reference, p, cloud, peak) for p in plans if cloud in p.placement}
        # ... so the nodes it needs are within max_nodes, as the plan says.
        assert sum(n * vcpu[s] for s, n in asked.items()) <= spec.max_nodes * spec.node_vcpu
        assert pack_nodes(event_asks(reference, plans, peak)[cloud], spec.node_vcpu) <= spec.max_nodes


def test_steady_asks_are_what_the_autoscaler_runs_at_baseline(reference: Platform) -> None:
    plans = place_services(reference)
    view = AutoscalerView.build(reference, plans, samples=[], pools=[], weights={}, clouds_down=[], now_s=0.0,
                                epoch=reference.events["black-friday"].start - timedelta(days=30),
                                offered_rps={p.name: p.rps for p in plans})
    memory = reconcile(view, AutoscalerMemory()).memory
    asks = steady_asks(reference, plans)
    for cloud in reference.clouds:
        ran: dict[float, int] = {}
        for p in plans:
            n = memory.replicas(cloud, p.name)
            if n:
                ran[p.pod_vcpu] = ran.get(p.pod_vcpu, 0) + n
        assert ran == asks[cloud]


def test_a_peak_that_fits_only_at_full_pod_rps_fails_and_the_autoscaler_is_capped() -> None:
    # pos: 3000 rps at 100 rps a pod over three clouds of 10 x 8 vCPU. At x6, 60 pods a cloud would
    # carry the peak at full pod_rps (8 nodes), but the autoscaler pre-scales x6 + 20% at 70%:
    # ceil(1020 x 6 x 1.2 / 70) = 105 pods a cloud, 14 nodes, more than the platform has.
    spec = three_clouds()
    spec["events"] = {"bf": {"start": "2026-11-27T00:00:00Z", "duration_s": 86400, "peak_multiplier": 6.0}}
    platform = load(spec)
    peak = check(platform, "peak bf")
    assert not peak.ok and "overflows" in peak.detail
    memory, _ = at_peak(platform, "bf")
    held = {c: memory.replicas(c, "pos") or 0 for c in platform.clouds}
    assert all(n <= 10 * 8 for n in held.values())  # every cloud stops at max_nodes ...
    plan = place_services(platform)[0]
    assert sum(held.values()) < sum(held_replicas(platform, plan, c, 6.0) for c in platform.clouds)  # ... short of the ask


def test_n1_counts_survivors_at_the_target_utilisation() -> None:
    # a fails: b carries 60% of 3000 rps. At full pod_rps 18 pods (3 nodes of 8) would do; the
    # autoscaler asks ceil(1800 / 70) = 26 pods, 4 nodes.
    spec = three_clouds()
    spec["edge"] = {"failover_split": {"a": {"b": 60, "c": 40}}}
    survival = next(s for s in build_plan(load(spec)).survives if s.failed_cloud == "a")
    assert {v.cloud: v.vcpu_needed for v in survival.survivors} == {"b": 26, "c": math.ceil(1200 / 70)}
    assert {v.cloud: v.nodes_needed for v in survival.survivors} == {"b": 4, "c": 3}
