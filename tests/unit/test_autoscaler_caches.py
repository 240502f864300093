"""What the autoscaler keeps between calls to stay cheap gives the same answers as working it out afresh."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC, datetime, timedelta

from godseye.control import autoscaler_memo, events_calendar
from godseye.control.actions import ScaleService
from godseye.control.autoscaler import AutoscalerMemory, AutoscalerView, reconcile
from godseye.control.autoscaler_model import facts_of
from godseye.control.events_calendar import event_windows
from godseye.control.load_window import WINDOW_BUCKETS, LoadWindow
from godseye.control.observations import ServiceSample
from godseye.plan.placement import place_services
from godseye.policy import sizing
from godseye.spec.models import Platform

EPOCH = datetime(2026, 11, 26, tzinfo=UTC)


def platform(peak: float = 3.0) -> Platform:
    return Platform.model_validate(
        {
            "name": "t",
            "clouds": {c: {"provider": c, "region": "r", "nodes": 4, "max_nodes": 30, "node_vcpu": 8} for c in ("aws", "gcp")},
            "services": {"pos": {"revenue_impact": True, "ux_impact": True, "rps": 600, "pod_rps": 10}},
            "events": {"bf": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": peak}},
        }
    )


def naive_average(samples: list[tuple[float, float]], now_s: float, window_s: float) -> float | None:
    """The rolling average by its definition: every folded sample whose bucket is still in the window."""
    width = window_s / WINDOW_BUCKETS
    oldest = math.floor(now_s / width) - WINDOW_BUCKETS
    live = [rps for t, rps in samples if math.floor(t / width) > oldest]
    return sum(live) / len(live) if live else None


def test_load_window_matches_its_definition() -> None:
    rng = random.Random(7)
    window_s, t = 3600.0, 0.0
    w, folded = LoadWindow(), []
    for _ in range(2000):
        t += rng.choice((0.0, 1.0, 15.0, 59.0, 600.0, 4000.0))
        rps = rng.uniform(0, 1000)
        w2 = w.add(t, rps, window_s)
        if w2 is not w:
            folded.append((t, rps))
        w = w2
        assert len(w.buckets) <= WINDOW_BUCKETS
        got, want = w.average(t, window_s), naive_average(folded, t, window_s)
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert math.isclose(got, want, rel_tol=1e-9)


def test_calendar_follows_its_inputs() -> None:
    p = platform()
    first = event_windows(p.events, EPOCH)
    assert event_windows(p.events, EPOCH) == first
    assert event_windows(p.events, EPOCH, {"bf": (4.0,)})[0].peak_multiplier == 4.0
    assert event_windows(p.events, EPOCH + timedelta(hours=1))[0].start_s == first[0].start_s - 3600
    assert event_windows(platform(peak=5.0).events, EPOCH)[0].peak_multiplier == 5.0
    assert event_windows(p.events, EPOCH) == first


def test_platform_facts_are_those_of_the_objects_given() -> None:
    p = platform()
    plans = tuple(place_services(p))
    facts = facts_of(p, plans)
    assert facts_of(p, tuple(plans)) is facts
    assert facts.floors == {
        (c, plan.name): sizing.floor_replicas(plan.placement[c].replicas if c in plan.placement else 0, p.autoscaling)
        for c in p.clouds
        for plan in plans
    }
    other = tuple(place_services(p))
    assert facts_of(p, other).plans is other
    assert facts_of(platform(peak=4.0), plans).platform is not p


def test_autoscaler_memo_is_invisible() -> None:
    """Kept per-service results (`autoscaler_memo`) and calendar spans give what working everything out
    afresh on every call gives: samples kept as the very objects or replaced, weights and clouds down
    changing, an event's window opening, and memories handed in from outside."""
    p = platform()
    plans = tuple(place_services(p))
    rng = random.Random(11)
    clouds = tuple(p.clouds)
    kept: dict[tuple[str, str], ServiceSample] = {}
    weights = {"pos": dict(plans[0].weights)}
    down: frozenset[str] = frozenset()
    now, memory, fresh_memory = 0.0, AutoscalerMemory(), AutoscalerMemory()
    base, quiet = 300.0, 0
    for step in range(600):
        now += rng.choice((30.0, 60.0, 120.0))
        if rng.random() < 0.01:  # mostly small moves (services at rest), now and then a jump
            base = rng.uniform(100, 1500)
        for c in clouds:
            if c not in kept or rng.random() < 0.4:
                ready = memory.replicas(c, "pos") or 20
                rps = base * rng.uniform(0.99, 1.01)
                hot = rng.random() < 0.02
                kept[(c, "pos")] = ServiceSample(now, c, "pos", rps, rps, 0.0, 400.0 if hot else 100.0,
                                                 0.95 if hot else 0.6, 500.0 if hot else 0.0, ready)
        if rng.random() < 0.01:
            weights = {"pos": {"aws": 70, "gcp": 30} if rng.random() < 0.5 else dict(plans[0].weights)}
        if rng.random() < 0.01:
            down = frozenset({"gcp"}) if not down else frozenset()
        v = AutoscalerView.build(p, plans, kept.values(), (), weights, down, now, EPOCH)
        given = memory
        if step % 7 == 3:  # a memory from outside: the same figures in new objects
            given = AutoscalerMemory(pods={k: dataclasses.replace(r) for k, r in memory.pods.items()},
                                     loads=dict(memory.loads), nodes=dict(memory.nodes), quiet=dict(memory.quiet))
        d = reconcile(v, given)
        autoscaler_memo._memos.clear()
        events_calendar._spans.clear()
        f = reconcile(v, fresh_memory)
        autoscaler_memo._memos.clear()
        assert (d.actions, d.requeue_after_s) == (f.actions, f.requeue_after_s)
        assert (d.memory.pods, d.memory.loads, d.memory.nodes, d.memory.quiet) == (
            f.memory.pods, f.memory.loads, f.memory.nodes, f.memory.quiet)
        quiet += "pos" in given.quiet
        memory, fresh_memory = d.memory, f.memory
    assert quiet > 50  # the memo was used: the service was at rest on many calls


def test_a_changed_sample_is_seen_by_a_service_at_rest() -> None:
    """A service at rest on the very same samples is skipped; a new sample, even of one cloud, is looked at."""
    p = platform()
    plans = tuple(place_services(p))
    weights = {"pos": dict(plans[0].weights)}
    # 43 pods a cloud: the plan's floor, which carries the load.
    samples = {c: ServiceSample(0.0, c, "pos", 300.0, 300.0, 0.0, 100.0, 0.6, 0.0, 43) for c in p.clouds}
    memory, now = AutoscalerMemory(), 0.0
    for _ in range(10):  # at rest: the floor holds, nothing to do
        now += 60.0
        memory = reconcile(AutoscalerView.build(p, plans, samples.values(), (), weights, (), now, EPOCH), memory).memory
    assert "pos" in memory.quiet
    samples["aws"] = ServiceSample(now, "aws", "pos", 300.0, 300.0, 0.0, 400.0, 0.95, 500.0, 43)  # hot: HPA asks 59
    v = AutoscalerView.build(p, plans, samples.values(), (), weights, (), now + 60.0, EPOCH)
    d = reconcile(v, memory)
    autoscaler_memo._memos.clear()
    f = reconcile(v, memory)
    assert any(isinstance(a, ScaleService) for a in f.actions)
    assert (d.actions, d.memory.pods) == (f.actions, f.memory.pods)
