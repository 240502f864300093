"""Health: N consecutive failures per vantage point, whole clouds only by quorum."""

from __future__ import annotations

import pytest

from godseye.control.actions import Action, MarkCloud, MarkEndpoint
from godseye.control.health import HealthMemory, HealthView, reconcile, stale_after_s, votes_needed
from godseye.control.observations import EDGE, ProbeResult
from godseye.spec.models import HealthCheck

CLOUDS = ("aws", "gcp", "azure")
SERVICES = ("pos", "search")


def probes(t: float, bad: set[tuple[str, str]], timed_out: bool = False) -> tuple[ProbeResult, ...]:
    """One round from every vantage to every endpoint; (vantage, cloud) pairs in `bad` fail."""
    out = []
    for v in (EDGE, *CLOUDS):
        for c in CLOUDS:
            if c == v:
                continue
            for s in SERVICES:
                failed = (v, c) in bad
                out.append(ProbeResult(t, v, c, s, ok=not failed, timed_out=failed and timed_out))
    return tuple(out)


def everyone_to(cloud: str) -> set[tuple[str, str]]:
    return {(v, cloud) for v in (EDGE, *CLOUDS) if v != cloud}


def run(check: HealthCheck, rounds: list[tuple[float, set[tuple[str, str]]]], timed_out: bool = False,
        memory: HealthMemory | None = None) -> tuple[HealthMemory, list[tuple[float, Action]]]:
    mem = memory or HealthMemory()
    log: list[tuple[float, Action]] = []
    for t, bad in rounds:
        d = reconcile(HealthView(t, check, CLOUDS, probes(t, bad, timed_out)), mem)
        mem = d.memory
        log += [(t, a) for a in d.actions]
    return mem, log


def outage(check: HealthCheck, cloud: str, start: float, until: float) -> list[tuple[float, set[tuple[str, str]]]]:
    rounds = []
    t = check.interval_s
    while t <= until:
        rounds.append((t, everyone_to(cloud) if t > start else set()))
        t += check.interval_s
    return rounds


def test_three_failed_checks_mark_the_endpoint_and_the_cloud_at_t9() -> None:
    check = HealthCheck()
    _, log = run(check, outage(check, "aws", 0.0, 30.0), timed_out=True)
    endpoint = [(t, a) for t, a in log if isinstance(a, MarkEndpoint)]
    assert [t for t, _ in endpoint] == [9.0, 9.0]  # probes at 3, 6, 9 fail (timeouts count)
    assert all(not a.healthy and a.cloud == "aws" for _, a in endpoint)
    clouds = [(t, a) for t, a in log if isinstance(a, MarkCloud)]
    assert [(t, a.cloud, a.down) for t, a in clouds] == [(9.0, "aws", True)]
    assert "3 of 3 vantage points" in clouds[0][1].reason


def test_failure_threshold_moves_detection() -> None:
    check = HealthCheck(failure_threshold=5, interval_s=2)
    _, log = run(check, outage(check, "aws", 0.0, 30.0))
    assert [t for t, a in log if isinstance(a, MarkCloud)] == [10.0]


def test_recovery_needs_success_threshold_good_probes() -> None:
    check = HealthCheck(success_threshold=3)
    rounds = outage(check, "aws", 0.0, 30.0)
    rounds = [(t, bad if t <= 15 else set()) for t, bad in rounds]
    mem, log = run(check, rounds)
    ups = [t for t, a in log if isinstance(a, MarkCloud) and not a.down]
    assert ups == [24.0]  # good probes at 18, 21, 24
    assert mem.clouds_down == frozenset() and mem.edge_healthy("aws", "pos")


def test_one_failure_between_successes_resets_the_count() -> None:
    check = HealthCheck()
    rounds = [(3.0, everyone_to("aws")), (6.0, everyone_to("aws")), (9.0, set()), (12.0, everyone_to("aws"))]
    mem, log = run(check, rounds)
    assert log == [] and mem.edge_healthy("aws", "pos")


def test_cut_link_between_one_prober_and_one_cloud_is_not_an_outage() -> None:
    check = HealthCheck()
    mem, log = run(check, [(3.0 * i, {("gcp", "aws")}) for i in range(1, 8)])
    assert log == []
    assert mem.sees_down("gcp", "aws") and mem.clouds_down == frozenset()


def test_edge_link_cut_moves_endpoint_routing_but_not_the_cloud() -> None:
    check = HealthCheck()
    mem, log = run(check, [(3.0 * i, {(EDGE, "aws")}) for i in range(1, 8)])
    assert {(a.cloud, a.healthy) for _, a in log if isinstance(a, MarkEndpoint)} == {("aws", False)}
    assert not [a for _, a in log if isinstance(a, MarkCloud)]
    assert mem.edge_unhealthy_endpoints("aws") == SERVICES


def test_two_of_three_vantage_points_are_a_quorum() -> None:
    check = HealthCheck()
    _mem, log = run(check, [(3.0 * i, {(EDGE, "aws"), ("gcp", "aws")}) for i in range(1, 5)])
    assert [a.cloud for _, a in log if isinstance(a, MarkCloud)] == ["aws"]


def test_quorum_of_one_needs_every_vantage_point() -> None:
    check = HealthCheck(cloud_down_quorum=1.0)
    mem, _ = run(check, [(3.0 * i, {(EDGE, "aws"), ("gcp", "aws")}) for i in range(1, 5)])
    assert mem.clouds_down == frozenset()
    mem, _ = run(check, [(3.0 * i, everyone_to("aws")) for i in range(5, 9)], memory=mem)
    assert mem.clouds_down == {"aws"}


def test_a_down_cloud_does_not_vote() -> None:
    check = HealthCheck()
    rounds = [(3.0 * i, everyone_to("aws")) for i in range(1, 5)]
    mem, _ = run(check, rounds)
    # aws is down and sends nothing; its last view of gcp (healthy) must not keep gcp up: edge + azure decide.
    bad = {(EDGE, "gcp"), ("azure", "gcp")}
    mem, _ = run(check, [(3.0 * i, bad | everyone_to("aws")) for i in range(5, 9)], memory=mem)
    assert mem.clouds_down == {"aws", "gcp"}


@pytest.mark.parametrize(("quorum", "voters", "needed"), [(0.5, 3, 2), (0.5, 2, 2), (0.5, 1, 1), (1.0, 3, 3), (0.3, 3, 1),
                                                           (0.34, 3, 2), (0.5, 4, 3)])
def test_votes_needed_is_more_than_the_quorum(quorum: float, voters: int, needed: int) -> None:
    assert votes_needed(quorum, voters) == needed


def test_level_triggered_and_out_of_order_probes_ignored() -> None:
    check = HealthCheck()
    mem, _ = run(check, outage(check, "aws", 0.0, 12.0))
    again = reconcile(HealthView(12.0, check, CLOUDS, ()), mem)
    assert again.actions == () and again.memory == mem
    stale = reconcile(HealthView(13.0, check, CLOUDS, probes(1.0, set())), mem)
    assert stale.actions == () and stale.memory.clouds_down == {"aws"}


def test_a_silent_vantage_point_stops_voting() -> None:
    check = HealthCheck()
    # edge and gcp see aws down: declared down at t=9.
    mem, _ = run(check, [(3.0 * i, {(EDGE, "aws"), ("gcp", "aws")}) for i in range(1, 4)])
    assert mem.clouds_down == {"aws"}
    # gcp's prober goes silent; its last word ("down") must not keep counting forever.
    silent = [p for p in probes(12.0, {(EDGE, "aws")}) if p.vantage != "gcp"]
    still = reconcile(HealthView(12.0, check, CLOUDS, tuple(silent)), mem)
    assert still.memory.clouds_down == {"aws"}  # 3 s of silence is just a late probe
    later = 9.0 + stale_after_s(check) + 1
    silent = [p for p in probes(later, {(EDGE, "aws")}) if p.vantage != "gcp"]
    d = reconcile(HealthView(later, check, CLOUDS, tuple(silent)), still.memory)
    assert d.memory.clouds_down == frozenset()  # edge alone out of (edge, azure) is no quorum
    assert "1 of 2 vantage points" in next(a.reason for a in d.actions if isinstance(a, MarkCloud))


def test_no_current_voter_keeps_the_verdict() -> None:
    check = HealthCheck()
    mem, _ = run(check, outage(check, "aws", 0.0, 12.0))
    d = reconcile(HealthView(10_000.0, check, CLOUDS, ()), mem)
    assert d.actions == () and d.memory.clouds_down == {"aws"}


def test_the_per_cloud_summary_answers_as_the_endpoints_do() -> None:
    """`sees_down`, `last_probe_s` and `edge_unhealthy_endpoints` read a summary kept across steps
    without probes; it must say what a scan of the endpoints says, before and after such steps."""
    import math

    from godseye.control.health import EndpointHealth

    check = HealthCheck(interval_s=3, timeout_s=1, failure_threshold=2, success_threshold=2)
    mem, _ = run(check, [(0.0, set()), (3.0, {(EDGE, "aws"), ("gcp", "aws")}), (6.0, {(EDGE, "aws")})])
    quiet = reconcile(HealthView(9.0, check, CLOUDS, ()), mem).memory
    for m in (mem, quiet):
        for v in (EDGE, *CLOUDS):
            for c in CLOUDS:
                states: list[EndpointHealth] = [h for (vv, cc, _), h in m.endpoints.items() if (vv, cc) == (v, c)]
                assert m.sees_down(v, c) == (bool(states) and all(not h.healthy for h in states))
                assert m.last_probe_s(v, c) == max((h.last_probe_s for h in states), default=-math.inf)
        assert m.edge_unhealthy_endpoints("aws") == ("pos", "search")
        assert m.edge_unhealthy_endpoints("gcp") == ()
    assert quiet.endpoints is mem.endpoints
