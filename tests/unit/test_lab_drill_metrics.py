"""RTO from the load generator's records, and the figures compared between twin and lab."""

from __future__ import annotations

from godseye.live.comparison import figures
from godseye.live.drill import rto_from_records, scale_scenario
from godseye.live.loadgen import RequestRecord, percentile, summarize
from godseye.sim.result import DrillResult, Series, ServiceResult, SteeringChange, TimelineEntry
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text


def rec(t: float, ok: bool = True, ms: float = 30.0) -> RequestRecord:
    return RequestRecord(t, "pos", ok, 200 if ok else 0, ms, "gcp-0" if ok else None)


def test_rto_runs_from_the_fault_until_a_good_stretch_that_holds() -> None:
    records = [rec(t / 10) for t in range(0, 100)]  # 10 s of good traffic, 10 req/s
    records = [r for r in records if not 3.0 <= r.t_s < 5.0]
    records += [rec(3.0 + i / 10, ok=False) for i in range(20)]  # failing from 3 s to 5 s
    rto = rto_from_records(records, "pos", 250.0, 0.99, [2.5], 10.0, 2.0)
    assert rto == 2.5  # anchored at the fault (2.5 s), good again from 5 s


def test_slow_answers_count_as_bad_and_no_recovery_is_none() -> None:
    records = [rec(t / 10, ms=400.0 if t >= 50 else 30.0) for t in range(100)]
    assert rto_from_records(records, "pos", 250.0, 0.99, [5.0], 10.0, 2.0) is None
    assert rto_from_records([rec(t / 10) for t in range(100)], "pos", 250.0, 0.99, [5.0], 10.0, 2.0) == 0.0


def test_summary_percentiles() -> None:
    s = summarize([rec(0, ms=float(ms)) for ms in range(1, 101)] + [rec(0, ok=False, ms=5000.0)])
    assert s.requests == 101 and s.failed == 1 and s.max_ms == 5000.0 and s.slower_than_1s == 1
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_figures_detection_reroute_and_canary_steps(reference: Platform) -> None:
    sc = load_scenario_text(
        "name: o\nduration_s: 600\nfaults:\n  - {at_s: 60, kind: cloud_outage, cloud: aws, until_s: 300}\n", reference
    )
    scaled = scale_scenario(sc, 60.0)
    assert scaled.duration_s == 10.0 and scaled.faults[0].at_s == 1.0
    steering = (
        SteeringChange(0.0, "pos", {"aws": 34, "gcp": 33, "azure": 33}),
        SteeringChange(2.5, "pos", {"aws": 0, "gcp": 60, "azure": 40}),
        SteeringChange(6.0, "pos", {"aws": 2, "gcp": 59, "azure": 39}),
        SteeringChange(7.0, "pos", {"aws": 8, "gcp": 55, "azure": 37}),
    )
    timeline = (TimelineEntry(2.5, "edge", "aws marked down"),)
    series = Series((), (), (), (), (), (), ())
    result = DrillResult("o", "", "p", 10.0, 0, (ServiceResult("pos", 1, 0.0, 30, 0, 0, 100, 0),), (), steering, timeline, (),
                         series, 0)
    f = figures(result, scaled)
    assert f.detection_s == 1.5 and f.reroute_s == 1.5
    assert f.canary_steps == [(1.0, 2), (2.0, 8)]
    assert f.failed_requests == 0 and f.verdict == "met"
