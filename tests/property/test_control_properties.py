"""Properties of health, steering, canary and the plane, with fault schedules as hypothesis data.

A failing schedule shrinks to the smallest outage sequence that breaks a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from godseye.control.actions import SetWeights
from godseye.control.canary import CanaryMemory, CanaryView
from godseye.control.canary import reconcile as canary_reconcile
from godseye.control.decision import Emitted
from godseye.control.observations import EDGE, ProbeResult, ServiceSample
from godseye.control.plane import Plane
from godseye.control.steering import SteeringView, weights_for, with_burst
from godseye.plan.placement import place_services
from godseye.spec.loader import load_platform
from godseye.spec.models import Platform

REFERENCE = load_platform()
CLOUDS = REFERENCE.cloud_names
PLANS = place_services(REFERENCE)


def small_platform() -> Platform:
    """One service per tier and short timers, so a schedule covers outages, holds and whole canaries."""
    keep = {"pos", "search", "batch-jobs"}
    edge = REFERENCE.edge.model_copy(update={
        "canary_stabilization_s": 30.0, "canary_bake_s": 15.0, "hold_down_s": 60.0,
    })
    services = {n: s for n, s in REFERENCE.services.items() if n in keep}
    return REFERENCE.model_copy(update={"services": services, "edge": edge})


SMALL = small_platform()
SMALL_PLANS = place_services(SMALL)

# -- weights -----------------------------------------------------------------------------------

fractions = st.sampled_from([0.0] + [s / 100 for s in REFERENCE.edge.canary_steps])


@given(
    service=st.sampled_from([p.name for p in PLANS]),
    out=st.frozensets(st.sampled_from(CLOUDS)),
    unhealthy=st.frozensets(st.tuples(st.sampled_from(CLOUDS), st.sampled_from([p.name for p in PLANS]))),
    canary=st.dictionaries(st.sampled_from(CLOUDS), fractions),
    moved_to=st.none() | st.sampled_from(CLOUDS),
)
def test_weights_are_whole_percents_and_never_go_to_an_excluded_cloud(
    service: str, out: frozenset[str], unhealthy: frozenset[tuple[str, str]], canary: dict[str, float], moved_to: str | None
) -> None:
    plan = next(p for p in PLANS if p.name == service)
    moved = {service: moved_to} if moved_to else {}
    weights, rule = weights_for(REFERENCE, plan, out, unhealthy, canary, moved)
    assert all(isinstance(w, int) and w >= 0 for w in weights.values())
    assert sum(weights.values()) == 100
    excluded = {c for c in CLOUDS if c in out or (c, service) in unhealthy}
    if rule.startswith("fail open"):
        carrying = {c for c, w in weights.items() if w > 0}
        assert carrying <= excluded  # fail open only when every cloud that carries it is excluded
    else:
        assert all(weights[c] == 0 for c in excluded)


@given(
    service=st.sampled_from([p.name for p in PLANS]),
    out=st.frozensets(st.sampled_from(CLOUDS)),
    capacity=st.dictionaries(st.sampled_from(CLOUDS), st.floats(0, 1e5, allow_nan=False)),
)
def test_burst_spill_keeps_weights_valid(service: str, out: frozenset[str], capacity: dict[str, float]) -> None:
    plan = next(p for p in PLANS if p.name == service)
    view = SteeringView(0.0, REFERENCE, (plan,), out, frozenset(), {}, {}, (), {service: capacity}, frozenset({service}))
    base, rule = weights_for(REFERENCE, plan, out, frozenset(), {}, {})
    weights, rule = with_burst(REFERENCE, plan, base, rule, view)
    assert sum(weights.values()) == 100 and all(isinstance(w, int) and w >= 0 for w in weights.values())
    if not rule.startswith("fail open"):
        assert all(weights[c] == 0 for c in out)


# -- canary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    dt: float
    out: bool
    healthy: bool
    caught_up: bool
    quality: str  # "ok", "breach", "none"


ticks = st.lists(
    st.builds(Tick, st.sampled_from([1.0, 5.0, 15.0, 30.0, 60.0]), st.booleans(), st.booleans(), st.booleans(),
              st.sampled_from(["ok", "ok", "breach", "none"])),
    max_size=80,
)
step_lists = st.lists(st.integers(1, 99), max_size=4, unique=True).map(lambda s: (*sorted(s), 100))


@given(ticks, step_lists)
def test_canary_never_skips_or_reorders_a_step(schedule: list[Tick], steps: tuple[int, ...]) -> None:
    edge = REFERENCE.edge.model_copy(update={"canary_steps": steps, "canary_stabilization_s": 30.0, "canary_bake_s": 15.0})
    platform = REFERENCE.model_copy(update={"edge": edge})
    ladder = [0.0] + [s / 100 for s in steps]
    memory, t, prev = CanaryMemory(), 0.0, 1.0
    all_clouds = frozenset(CLOUDS)
    sla = platform.services["pos"].p99_sla_ms
    for tick in schedule:
        t += tick.dt
        samples = () if tick.quality == "none" else (
            ServiceSample(t, "aws", "pos", 10.0, 10.0, 0.0, sla * (2 if tick.quality == "breach" else 0.5), 0.5, 0.0, 3),)
        view = CanaryView(t, platform, frozenset({"aws"}) if tick.out else frozenset(),
                          all_clouds if tick.healthy else all_clouds - {"aws"},
                          all_clouds if tick.caught_up else all_clouds - {"aws"}, samples)
        memory = canary_reconcile(view, memory).memory
        now = memory.fraction("aws", steps)
        if tick.out:
            assert now == 0.0
        assert now in ladder
        # Either unchanged, back to 0, or exactly one rung up the ladder.
        assert now in (prev, 0.0) or ladder.index(now) == ladder.index(prev) + 1, (prev, now)
        prev = now


# -- the plane under fault schedules -------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    start: int  # tick
    length: int  # ticks
    kind: str  # "outage" or "cut"
    cloud: str
    vantage: str  # prober whose link is cut (for "cut")


faults = st.lists(
    st.builds(Fault, st.integers(0, 60), st.integers(1, 60), st.sampled_from(["outage", "outage", "cut"]),
              st.sampled_from(CLOUDS), st.sampled_from((EDGE, *CLOUDS))),
    max_size=4,
)
TICKS = 140


State = tuple[float, dict[str, dict[str, int]], frozenset[str], dict[str, str]]


def play(schedule: list[Fault]) -> tuple[list[Emitted], list[State]]:
    plane = Plane(SMALL, SMALL_PLANS)
    interval = SMALL.edge.health_check.interval_s
    log: list[Emitted] = []
    states = []
    for i in range(TICKS):
        t = i * interval
        down = {f.cloud for f in schedule if f.kind == "outage" and f.start <= i < f.start + f.length}
        cut = {(f.vantage, f.cloud) for f in schedule if f.kind == "cut" and f.start <= i < f.start + f.length}
        weights = plane.weights()
        for v in (EDGE, *CLOUDS):
            if v in down:
                continue
            for plan in SMALL_PLANS:
                for c in plan.placement:
                    if c != v:
                        bad = c in down or (v, c) in cut
                        plane.observe(ProbeResult(t, v, c, plan.name, ok=not bad, timed_out=bad))
        for plan in SMALL_PLANS:
            for c in plan.placement:
                share = weights[plan.name].get(c, 0)
                if c not in down and share > 0:
                    rps = plan.rps * share / 100
                    plane.observe(ServiceSample(t, c, plan.name, rps, rps, 0.0, 10.0, 0.5, 0.0, plan.placement[c].replicas))
        log += plane.step(t)
        rules = {name: ask.reason for name, ask in plane.state.steering.asked.items()}
        states.append((t, plane.weights(), plane.clouds_out(), rules))
    return log, states


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(faults)
def test_plane_weights_stay_valid_under_any_fault_schedule(schedule: list[Fault]) -> None:
    log, states = play(schedule)
    for e in log:
        if isinstance(e.action, SetWeights):
            assert sum(e.action.weights.values()) == 100
            assert all(isinstance(w, int) and w >= 0 for w in e.action.weights.values())
    for t, weights, out, rules in states:
        for service, w in weights.items():
            if any(w.get(c, 0) > 0 for c in out):
                assert rules[service].startswith("fail open"), (t, service, w, out)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(faults)
def test_same_fault_schedule_same_actions(schedule: list[Fault]) -> None:
    assert play(schedule)[0] == play(schedule)[0]
