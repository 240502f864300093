"""HAProxy's own counters turned into observations: the split actually served, and per-cloud samples.

Two `show stat` snapshots a window apart give, per service and cloud:
- answers (1xx-4xx responses) -> the served split (`ServedSplit`), the closed loop on steering;
- attempts that got no answer (HAProxy counts the attempt in `stot`; a connect failure or response
  timeout ends in a retry or a redispatch elsewhere) plus 5xx -> failed rate, a passive signal that
  sees a dying cloud from real traffic before any probe does.
A window with fewer than `min_answers` answers says nothing about the split (noise, not drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from godseye.control.observations import ServedSplit, ServiceSample
from godseye.live.haproxy_runtime import StatRow

MIN_ANSWERS = 20


@dataclass(frozen=True, slots=True)
class ReplicaLoad:
    """What a replica reports on /load (None fields: it did not answer)."""

    p99_ms: float
    inflight: int
    cpu_s: float


@dataclass(frozen=True, slots=True)
class CloudCounters:
    attempts: int
    answered: int
    failed: int
    queue_now: int
    response_ms_avg: int


def _service_of(backend: str) -> str:
    return backend.removeprefix("be_")


def _cloud_of(server: str) -> str:
    return server.rsplit("-", 1)[0]


def by_cloud(rows: Sequence[StatRow]) -> dict[tuple[str, str], CloudCounters]:
    """Sum a snapshot's server rows per (service, cloud)."""
    acc: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        if not r.backend.startswith("be_") or r.backend == "be_unknown":
            continue
        key = (_service_of(r.backend), _cloud_of(r.server))
        answered = r.responses_1xx + r.responses_2xx + r.responses_3xx + r.responses_4xx
        # Attempts with no answer at all, not counting those still in flight (scur): connect
        # failures and response timeouts, each retried or redispatched elsewhere by HAProxy.
        unanswered = max(0, r.requests_total - answered - r.responses_5xx - r.responses_other - r.sessions_now)
        a = acc.setdefault(key, [0, 0, 0, 0, 0])
        a[0] += r.requests_total
        a[1] += answered
        a[2] += r.responses_5xx + r.responses_other + unanswered
        a[3] += r.queue_now
        a[4] = max(a[4], r.response_ms_avg)
    return {k: CloudCounters(*v) for k, v in acc.items()}


def observations(
    t_s: float,
    dt_s: float,
    before: Sequence[StatRow],
    after: Sequence[StatRow],
    ready: Mapping[tuple[str, str], int],
    loads: Mapping[tuple[str, str], Sequence[ReplicaLoad]],
    cpu_s_before: Mapping[tuple[str, str], float],
    min_answers: int = MIN_ANSWERS,
) -> tuple[list[ServedSplit], list[ServiceSample]]:
    """Observations for the window (t_s - dt_s, t_s]. `ready` and `loads` are keyed (cloud, service):
    replicas that answered /load and what they said; `cpu_s_before` their CPU seconds a window ago."""
    assert dt_s > 0
    b, a = by_cloud(before), by_cloud(after)
    splits: list[ServedSplit] = []
    samples: list[ServiceSample] = []
    services = sorted({s for s, _ in a})
    for service in services:
        answered: dict[str, int] = {}
        for (s, cloud), now in a.items():
            if s != service:
                continue
            prev = b.get((s, cloud), CloudCounters(0, 0, 0, 0, 0))
            attempts = max(0, now.attempts - prev.attempts)
            ok = max(0, now.answered - prev.answered)
            failed = max(0, now.failed - prev.failed)
            answered[cloud] = ok
            replica_loads = list(loads.get((cloud, service), ()))
            p99 = max((x.p99_ms for x in replica_loads), default=float(now.response_ms_avg))
            cpu_now = sum(x.cpu_s for x in replica_loads)
            cpu = max(0.0, cpu_now - cpu_s_before.get((cloud, service), cpu_now)) / dt_s
            n_ready = ready.get((cloud, service), 0)
            samples.append(
                ServiceSample(
                    t_s=t_s,
                    cloud=cloud,
                    service=service,
                    offered_rps=attempts / dt_s,
                    served_rps=ok / dt_s,
                    failed_rps=failed / dt_s,
                    p99_ms=p99,
                    cpu_utilization=cpu / n_ready if n_ready else 0.0,
                    queue_depth=float(now.queue_now + sum(x.inflight for x in replica_loads)),
                    ready_replicas=n_ready,
                    window_s=dt_s,
                )
            )
        total = sum(answered.values())
        if total >= min_answers:
            splits.append(ServedSplit(t_s, service, {c: n / total for c, n in sorted(answered.items())}))
    return splits, samples
