"""What the autoscaler keeps between calls to stay cheap gives the same answers as working it out afresh."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from godseye.control.autoscaler_model import facts_of
from godseye.control.events_calendar import event_windows
from godseye.control.load_window import WINDOW_BUCKETS, LoadWindow
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
