"""HAProxy counters -> the served split and per-cloud samples (the closed loop and a passive signal)."""

from __future__ import annotations

import pytest

from godseye.live.edge_stats import ReplicaLoad, observations
from godseye.live.haproxy_runtime import StatRow


def row(server: str, stot: int, ok: int, e5xx: int = 0, scur: int = 0, weight: int = 66) -> StatRow:
    return StatRow("be_pos", server, "no check", weight, stot, 0, ok, 0, 0, e5xx, 0, 0, 0, 0, 0, 0, scur, 25)


def test_split_is_the_share_of_answers_in_the_window() -> None:
    before = [row("aws-0", 100, 100), row("gcp-0", 100, 100), row("azure-0", 100, 100)]
    after = [row("aws-0", 100, 100), row("gcp-0", 160, 160), row("azure-0", 140, 140)]
    splits, samples = observations(10.0, 1.0, before, after, {}, {}, {})
    assert len(splits) == 1
    assert splits[0].service == "pos" and splits[0].t_s == 10.0
    assert splits[0].shares == pytest.approx({"aws": 0.0, "gcp": 0.6, "azure": 0.4})
    assert {s.cloud: s.served_rps for s in samples} == {"aws": 0.0, "gcp": 60.0, "azure": 40.0}


def test_attempts_without_an_answer_count_as_failed_but_not_those_in_flight() -> None:
    before = [row("aws-0", 100, 100)]
    # 50 attempts, 20 answered, 5 still in flight: 25 got no answer (retried or redispatched elsewhere).
    after = [row("aws-0", 150, 120, scur=5)]
    _, samples = observations(2.0, 1.0, before, after, {}, {}, {})
    (aws,) = samples
    assert aws.offered_rps == 50.0 and aws.served_rps == 20.0 and aws.failed_rps == 25.0
    assert aws.window_s == 1.0 and aws.t_s == 2.0  # the figures average over (1 s, 2 s]
    assert aws.error_rate == pytest.approx(0.5)


def test_too_few_answers_say_nothing_about_the_split() -> None:
    splits, _ = observations(1.0, 1.0, [row("aws-0", 0, 0)], [row("aws-0", 3, 3)], {}, {}, {})
    assert splits == []


def test_replica_reports_give_p99_queue_cpu_and_ready_replicas() -> None:
    loads = {("aws", "pos"): [ReplicaLoad(40.0, 2, 11.0), ReplicaLoad(90.0, 1, 21.0)]}
    _, samples = observations(2.0, 2.0, [row("aws-0", 0, 0)], [row("aws-0", 40, 40)], {("aws", "pos"): 2}, loads,
                              {("aws", "pos"): 30.0})
    (aws,) = samples
    assert aws.p99_ms == 90.0 and aws.queue_depth == 3.0 and aws.ready_replicas == 2
    assert aws.cpu_utilization == pytest.approx((32.0 - 30.0) / 2.0 / 2)
