"""Steering: rotation with hold-down, weights by the spec's split, fail open, canary fractions, drift."""

from __future__ import annotations

from control_world import with_edge, with_service

from godseye.control.actions import Condition, RaiseDrift, SetWeights
from godseye.control.decision import Decision
from godseye.control.observations import ServedSplit
from godseye.control.steering import (
    RotationMemory,
    RotationView,
    SteeringMemory,
    SteeringView,
    reconcile,
    rotate,
    weights_for,
)
from godseye.plan.model import ServicePlan
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

CLOUDS = ("aws", "gcp", "azure")


def plan_of(platform: Platform, name: str) -> ServicePlan:
    return next(p for p in place_services(platform) if p.name == name)


def weights(platform: Platform, service: str, out: set[str] = frozenset(), unhealthy: set[tuple[str, str]] = frozenset(),
            canary: dict[str, float] | None = None, moved: dict[str, str] | None = None) -> tuple[dict[str, int], str]:
    return weights_for(platform, plan_of(platform, service), frozenset(out), frozenset(unhealthy), canary or {}, moved or {})


# -- weights -----------------------------------------------------------------------------------


def test_normal_weights_are_the_plans(reference: Platform) -> None:
    assert weights(reference, "pos") == ({"aws": 34, "gcp": 33, "azure": 33}, "normal")


def test_aws_out_splits_60_40_from_the_spec(reference: Platform) -> None:
    w, rule = weights(reference, "pos", {"aws"})
    assert w == {"aws": 0, "gcp": 60, "azure": 40} and "failover_split" in rule


def test_changed_split_in_the_spec_moves_the_weights(reference: Platform) -> None:
    spec = with_edge(reference, failover_split={"aws": {"gcp": 75, "azure": 25}})
    assert weights(spec, "pos", {"aws"})[0] == {"aws": 0, "gcp": 75, "azure": 25}


def test_without_a_split_the_share_follows_surviving_capacity(reference: Platform) -> None:
    spec = with_edge(reference, failover_split={})
    clouds = dict(spec.clouds)
    clouds["gcp"] = clouds["gcp"].model_copy(update={"max_nodes": clouds["azure"].max_nodes * 3})
    spec = spec.model_copy(update={"clouds": clouds})
    w, rule = weights(spec, "pos", {"aws"})
    assert w["aws"] == 0 and w["gcp"] > w["azure"] and sum(w.values()) == 100
    assert "capacity" in rule
    # gcp failing has no split in the reference spec: capacity decides there too.
    w, rule = weights(reference, "pos", {"gcp"})
    assert w["gcp"] == 0 and "capacity" in rule


def test_tier2_fails_over_to_its_warm_standby(reference: Platform) -> None:
    plan = plan_of(reference, "search")
    (active,), (standby,) = plan.active_clouds, plan.standby_clouds
    w, rule = weights(reference, "search", {active})
    assert w[standby] == 100 and "warm standby" in rule


def test_unhealthy_endpoint_leaves_only_its_service(reference: Platform) -> None:
    w, _ = weights(reference, "pos", unhealthy={("gcp", "pos")})
    assert w["gcp"] == 0 and sum(w.values()) == 100
    assert weights(reference, "cart", unhealthy={("gcp", "pos")})[0] == {"aws": 34, "gcp": 33, "azure": 33}


def test_fail_open_when_no_healthy_cloud_is_left(reference: Platform) -> None:
    w, rule = weights(reference, "pos", set(CLOUDS))
    assert w == {"aws": 34, "gcp": 33, "azure": 33} and rule.startswith("fail open")
    batch = plan_of(reference, "batch-jobs")
    (home,) = batch.active_clouds
    w, rule = weights(reference, "batch-jobs", {home})
    assert w[home] == 100 and rule.startswith("fail open")


def test_moved_service_goes_where_failover_put_it(reference: Platform) -> None:
    batch = plan_of(reference, "batch-jobs")
    (home,) = batch.active_clouds
    target = next(c for c in CLOUDS if c != home)
    w, _ = weights(reference, "batch-jobs", {home}, moved={"batch-jobs": target})
    assert w[target] == 100


def test_returning_cloud_carries_its_canary_fraction(reference: Platform) -> None:
    got = [weights(reference, "pos", canary={"aws": f})[0] for f in (0.0, 0.05, 0.25, 0.5, 1.0)]
    assert [w["aws"] for w in got] == [0, 2, 8, 17, 34]
    assert got[1] == {"aws": 2, "gcp": 59, "azure": 39}  # the rest keeps the failover split
    assert got[-1] == {"aws": 34, "gcp": 33, "azure": 33}


def test_set_weights_only_when_they_change(reference: Platform) -> None:
    plans = tuple(place_services(reference))

    def view(t: float, out: frozenset[str]) -> SteeringView:
        return SteeringView(t, reference, plans, out, frozenset(), {}, {}, ())

    first = reconcile(view(0, frozenset()), SteeringMemory())
    assert len([a for a in first.actions if isinstance(a, SetWeights)]) == len(plans)
    again = reconcile(view(3, frozenset()), first.memory)
    assert again.actions == ()
    failed = reconcile(view(6, frozenset({"aws"})), again.memory)
    changed = {a.service for a in failed.actions if isinstance(a, SetWeights)}
    # A single-cloud (tier-3) service of aws has nowhere to go until failover reschedules it after its deferral.
    assert changed == {p.name for p in plans if p.weights.get("aws", 0) > 0 and len(p.placement) > 1}
    assert "batch-jobs" not in changed


# -- rotation and hold-down ---------------------------------------------------------------------


def rot(
    t: float, down: set[str], edge_down: set[str], mem: RotationMemory, hold_down_s: float = 300.0
) -> Decision[RotationMemory]:
    return rotate(RotationView(t, CLOUDS, hold_down_s, frozenset(down), frozenset(edge_down)), mem)


def test_second_cloud_down_only_by_others_is_held_for_hold_down() -> None:
    d = rot(10, {"aws"}, {"aws"}, RotationMemory())
    assert d.memory.out == {"aws"}
    d = rot(40, {"aws", "gcp"}, {"aws"}, d.memory)
    assert d.memory.out == {"aws"} and d.memory.held == {"gcp"}
    held = [a for a in d.actions if isinstance(a, Condition) and a.event == "rotation-held"]
    assert held and "hold_down_s 300" in held[0].reason
    assert d.requeue_after_s == 270
    assert rot(41, {"aws", "gcp"}, {"aws"}, d.memory).actions == ()  # level-triggered while held
    d = rot(310, {"aws", "gcp"}, {"aws"}, d.memory)
    assert d.memory.out == {"aws", "gcp"}


def test_a_hold_lifted_without_leaving_is_on_the_timeline() -> None:
    d = rot(10, {"aws"}, {"aws"}, RotationMemory())
    d = rot(40, {"aws", "gcp"}, {"aws"}, d.memory)
    d = rot(50, {"aws"}, {"aws"}, d.memory)
    assert d.memory.out == {"aws"} and d.memory.held == frozenset()
    assert [a.event for a in d.actions if isinstance(a, Condition)] == ["rotation-hold-lifted"]


def test_own_probes_take_a_second_cloud_out_at_once() -> None:
    d = rot(10, {"aws"}, {"aws"}, RotationMemory())
    d = rot(40, {"aws", "gcp"}, {"aws", "gcp"}, d.memory)
    assert d.memory.out == {"aws", "gcp"}


def test_shorter_hold_down_releases_sooner() -> None:
    d = rot(10, {"aws"}, {"aws"}, RotationMemory(), hold_down_s=20)
    d = rot(40, {"aws", "gcp"}, {"aws"}, d.memory, hold_down_s=20)
    assert d.memory.out == {"aws", "gcp"}


def test_returning_cloud_leaves_the_out_set() -> None:
    d = rot(10, {"aws"}, {"aws"}, RotationMemory())
    d = rot(900, set(), set(), d.memory)
    assert d.memory.out == frozenset()
    assert [a.event for a in d.actions if isinstance(a, Condition)] == ["rotation-return"]


# -- drift -----------------------------------------------------------------------------------


def test_drift_raised_once_when_two_readings_after_propagation_agree(reference: Platform) -> None:
    spec = with_service(reference, "pos", rps=1000)
    plans = tuple(p for p in place_services(spec) if p.name == "pos")
    grace = spec.edge.propagation_s

    def view(t: float, served: tuple[ServedSplit, ...]) -> SteeringView:
        return SteeringView(t, spec, plans, frozenset({"aws"}), frozenset(), {}, {}, served)

    def drifts(d: Decision[SteeringMemory]) -> list[RaiseDrift]:
        return [a for a in d.actions if isinstance(a, RaiseDrift)]

    d = reconcile(view(0, ()), SteeringMemory())
    stale = ServedSplit(1, "pos", {"aws": 0.34, "gcp": 0.33, "azure": 0.33})  # before the change reached clients
    d = reconcile(view(1, (stale,)), d.memory)
    assert not drifts(d) and d.requeue_after_s == grace - 1
    off = {"aws": 0.0, "gcp": 0.45, "azure": 0.55}
    d = reconcile(view(grace + 1, (ServedSplit(grace + 1, "pos", off),)), d.memory)
    assert not drifts(d)  # one reading is a suspicion
    d = reconcile(view(grace + 16, (ServedSplit(grace + 16, "pos", off),)), d.memory)
    [drift] = drifts(d)
    assert "off by 15.0 points" in drift.reason and drift.asked == {"aws": 0, "gcp": 60, "azure": 40}
    assert not drifts(reconcile(view(grace + 31, (ServedSplit(grace + 31, "pos", off),)), d.memory))  # once
    close = {"aws": 0.0, "gcp": 0.55, "azure": 0.45}
    d = reconcile(view(grace + 46, (ServedSplit(grace + 46, "pos", close),)), d.memory)
    assert not drifts(d) and d.memory.drifting == frozenset()
    # A single off reading between good ones is noise, not drift.
    d = reconcile(view(grace + 61, (ServedSplit(grace + 61, "pos", off),)), d.memory)
    d = reconcile(view(grace + 76, (ServedSplit(grace + 76, "pos", close),)), d.memory)
    assert not drifts(reconcile(view(grace + 91, (ServedSplit(grace + 91, "pos", off),)), d.memory))


def test_wider_tolerance_accepts_the_same_drift(reference: Platform) -> None:
    spec = with_edge(reference, drift_tolerance_pct=20.0)
    plans = tuple(p for p in place_services(spec) if p.name == "pos")
    d = reconcile(SteeringView(0, spec, plans, frozenset({"aws"}), frozenset(), {}, {}, ()), SteeringMemory())
    for t in (10.0, 25.0):
        off = ServedSplit(t, "pos", {"aws": 0.0, "gcp": 0.45, "azure": 0.55})
        d = reconcile(SteeringView(t, spec, plans, frozenset({"aws"}), frozenset(), {}, {}, (off,)), d.memory)
        assert not [a for a in d.actions if isinstance(a, RaiseDrift)]


def test_fail_open_with_unchanged_weights_is_on_the_timeline(reference: Platform) -> None:
    plans = tuple(p for p in place_services(reference) if p.name == "batch-jobs")
    (home,) = plans[0].active_clouds

    def view(t: float, out: frozenset[str]) -> SteeringView:
        return SteeringView(t, reference, plans, out, frozenset(), {}, {}, ())

    d = reconcile(view(0, frozenset()), SteeringMemory())
    d = reconcile(view(9, frozenset({home})), d.memory)
    assert [(type(a).__name__, getattr(a, "event", "")) for a in d.actions] == [("Condition", "steering-fail-open")]
    assert d.memory.asked["batch-jobs"].reason.startswith("fail open")
    assert reconcile(view(12, frozenset({home})), d.memory).actions == ()


def test_a_split_measured_across_the_change_is_not_drift(reference: Platform) -> None:
    plans = tuple(p for p in place_services(reference) if p.name == "pos")

    def view(t: float, served: tuple[ServedSplit, ...]) -> SteeringView:
        return SteeringView(t, reference, plans, frozenset({"aws"}), frozenset(), {}, {}, served)

    d = reconcile(view(100, ()), SteeringMemory())
    mixed = ServedSplit(115, "pos", {"aws": 0.2, "gcp": 0.45, "azure": 0.35}, window_s=15)  # 100..115 straddles it
    d = reconcile(view(115, (mixed,)), d.memory)
    assert not [a for a in d.actions if isinstance(a, RaiseDrift)]
    later = ServedSplit(130, "pos", {"aws": 0.2, "gcp": 0.45, "azure": 0.35}, window_s=15)
    d = reconcile(view(130, (later,)), d.memory)
    again = ServedSplit(145, "pos", {"aws": 0.2, "gcp": 0.45, "azure": 0.35}, window_s=15)
    assert [a for a in reconcile(view(145, (again,)), d.memory).actions if isinstance(a, RaiseDrift)]


def test_a_standby_still_in_its_canary_is_not_fully_in(reference: Platform) -> None:
    plan = plan_of(reference, "search")
    (active,), (standby,) = plan.active_clouds, plan.standby_clouds
    # Both back, both stabilizing: the planned active cloud carries it, not the half-returned standby.
    w, rule = weights(reference, "search", canary={active: 0.0, standby: 0.0})
    assert w[active] == 100 and "(in canary)" in rule
    # Active still out: the standby in its canary is all there is.
    w, rule = weights(reference, "search", {active}, canary={standby: 0.05})
    assert w[standby] == 100 and "(in canary)" in rule


def test_cloud_burst_spills_by_capacity_and_keeps_the_base_for_the_autoscaler(reference: Platform) -> None:
    plans = tuple(p for p in place_services(reference) if p.name == "search")
    (active,) = plans[0].active_clouds
    others = [c for c in CLOUDS if c != active]
    capacity = {"search": {active: 6000.0, others[0]: 1500.0, others[1]: 500.0}}

    def view(t: float, bursting: frozenset[str], canary: dict[str, float] | None = None) -> SteeringView:
        return SteeringView(t, reference, plans, frozenset(), frozenset(), canary or {}, {}, (), capacity, bursting)

    d = reconcile(view(0, frozenset()), SteeringMemory())
    d = reconcile(view(15, frozenset({"search"})), d.memory)
    [ask] = [a for a in d.actions if isinstance(a, SetWeights)]
    assert ask.weights == {active: 75, others[0]: 19, others[1]: 6} and ask.reason.startswith("cloud burst")
    assert dict(d.memory.asked["search"].base) == plans[0].weights  # what the autoscaler sizes from
    assert reconcile(view(30, frozenset({"search"})), d.memory).actions == ()
    ended = reconcile(view(45, frozenset()), d.memory)
    assert [a.weights for a in ended.actions if isinstance(a, SetWeights)] == [plans[0].weights]
    # A cloud in its canary keeps the canary's rule: bursting never rushes a returning cloud.
    w = reconcile(view(60, frozenset({"search"}), canary={active: 0.05}), ended.memory).memory.asked["search"]
    assert w.weights[active] == 5
