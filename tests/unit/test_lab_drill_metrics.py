"""RTO from the load generator's records, and the figures compared between twin and lab."""

from __future__ import annotations

from godseye.live.comparison import figures
from godseye.live.drill import scale_scenario
from godseye.live.loadgen import RequestRecord, percentile, summarize
from godseye.live.recovery_episodes import Episode, episodes_from_records, rto_of
from godseye.sim.result import DrillResult, Series, ServiceResult, SteeringChange, TimelineEntry
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text


def rec(t: float, ok: bool = True, ms: float = 30.0, cloud: str = "gcp") -> RequestRecord:
    return RequestRecord(t, "pos", ok, 200 if ok else 0, ms, f"{cloud}-0" if ok else None)


def rto_from_records(records: list[RequestRecord], service: str, sla_ms: float, ratio: float, anchors: list[float],
                     duration_s: float, hold_s: float) -> float | None:
    return rto_of(episodes_from_records(records, service, sla_ms, ratio, anchors, duration_s, hold_s, 1.0))


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


def test_an_episode_says_what_failed_what_was_slow_and_where() -> None:
    records = [rec(t / 10) for t in range(300) if not 50 <= t < 70 and not 150 <= t < 170]
    records += [rec(5.0 + i / 10, ok=False) for i in range(20)]  # the fault at 4.5 s: no answer
    records += [rec(15.0 + i / 10, ms=400.0, cloud="aws" if i % 2 else "azure") for i in range(20)]  # slow after 14 s
    found = episodes_from_records(records, "pos", 250.0, 0.99, [4.5, 14.0], 30.0, 2.0, 1.0)
    assert found == [
        Episode("pos", 4.5, 5.0, 7.0, 2, 20, 0, {"none": 20}),
        Episode("pos", 14.0, 15.0, 17.0, 2, 0, 20, {"aws": 10, "azure": 10}),
    ]
    assert rto_of(found) == 3.0
    assert "not recovered" not in found[1].describe(250.0) and "aws 10" in found[1].describe(250.0)
    # Without the restore anchor, the second episode starts at its own first bad bin.
    assert episodes_from_records(records, "pos", 250.0, 0.99, [4.5], 30.0, 2.0, 1.0)[1].start_s == 15.0
    # Not recovered by the end of the run: the episode stays open and the RTO is unknown.
    cut = episodes_from_records([r for r in records if r.t_s < 16.0], "pos", 250.0, 0.99, [4.5, 14.0], 16.0, 2.0, 1.0)
    assert cut[-1].recovered_s is None and rto_of(cut) is None
    assert "not recovered by the end" in cut[-1].describe(250.0)


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
