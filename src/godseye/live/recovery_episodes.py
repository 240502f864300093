"""A lab service's degraded episodes, from the load generator's own records: what its RTO is made of.

By the drill contract's definition (ARCHITECTURE.md, sim/metrics.py for the twin): a service is good in
a bin when at least `good_ratio` of its requests there were answered within its p99 SLA. An episode
starts at the first bad bin, anchored at the latest fault change (a fault's start, or the end of a
cloud outage, which starts the canary return) at or before that bin and after the previous episode
ended, or at the bin itself when no fault explains it. It ends when the service has been good for
`hold_s`; its length is the RTO it contributes, and the run's RTO is the longest.

Each episode also says what made it: requests that failed, answers slower than the SLA, and which
cloud served them, so a missed RTO reads "slow answers from gcp after the restore" rather than a bare
number.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from godseye.live.loadgen import RequestRecord

# The serving cloud of a request that got no answer from any replica.
NO_ANSWER = "none"


@dataclass(frozen=True, slots=True)
class Episode:
    service: str
    start_s: float  # the anchor: the fault change that explains it, or its first bad bin
    first_bad_s: float
    recovered_s: float | None  # start of the good stretch that held; None: not recovered by the end
    bad_bins: int
    failed: int  # requests with no good answer (error, timeout, no server)
    slow: int  # answered, but slower than the SLA
    by_cloud: dict[str, int] = field(default_factory=dict)  # failed + slow, by the cloud that answered

    @property
    def rto_s(self) -> float | None:
        return None if self.recovered_s is None else self.recovered_s - self.start_s

    def describe(self, sla_ms: float) -> str:
        until = "not recovered by the end" if self.recovered_s is None else f"good again from T+{self.recovered_s:g}s"
        clouds = ", ".join(f"{c} {n}" for c, n in sorted(self.by_cloud.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"from T+{self.start_s:g}s (first bad bin T+{self.first_bad_s:g}s), {until}; "
                f"{self.bad_bins} bad bins, {self.failed} failed, {self.slow} slower than {sla_ms:g} ms"
                + (f" (by cloud: {clouds})" if clouds else ""))


@dataclass(slots=True)
class _Open:
    start_s: float
    first_bad: int
    bad_bins: int = 0
    good_since: float | None = None


def episodes_from_records(
    records: Sequence[RequestRecord], service: str, sla_ms: float, good_ratio: float, anchors: Sequence[float],
    duration_s: float, hold_s: float, bin_s: float,
) -> list[Episode]:
    n = max(1, math.ceil(duration_s / bin_s))
    mine = [r for r in records if r.service == service]
    total = [0] * n
    good = [0] * n
    for r in mine:
        i = min(n - 1, max(0, int(r.t_s / bin_s)))
        total[i] += 1
        good[i] += 1 if r.ok and r.latency_ms <= sla_ms else 0

    spans: list[tuple[_Open, float | None]] = []
    current: _Open | None = None
    last_end = -math.inf
    for i in range(n):
        t0 = i * bin_s
        if total[i] > 0 and good[i] < good_ratio * total[i]:
            if current is None:
                start = max((a for a in anchors if last_end < a <= t0 + bin_s), default=t0)
                current = _Open(start, i)
            current.bad_bins += 1
            current.good_since = None
        elif current is not None:
            current.good_since = t0 if current.good_since is None else current.good_since
            if t0 + bin_s - current.good_since >= hold_s:
                spans.append((current, current.good_since))
                last_end, current = current.good_since, None
    if current is not None:
        held = current.good_since is not None and duration_s - current.good_since >= hold_s
        spans.append((current, current.good_since if held else None))
    return [_episode(service, sla_ms, bin_s, mine, span, recovered) for span, recovered in spans]


def _episode(service: str, sla_ms: float, bin_s: float, mine: Sequence[RequestRecord], span: _Open,
             recovered: float | None) -> Episode:
    first_bad = span.first_bad * bin_s
    until = math.inf if recovered is None else recovered
    inside = [r for r in mine if first_bad <= r.t_s < until]
    failed = [r for r in inside if not r.ok]
    slow = [r for r in inside if r.ok and r.latency_ms > sla_ms]
    by_cloud = Counter(r.cloud or NO_ANSWER for r in (*failed, *slow))
    return Episode(service, round(span.start_s, 3), round(first_bad, 3), None if recovered is None else round(recovered, 3),
                   span.bad_bins, len(failed), len(slow), dict(by_cloud))


def rto_of(episodes: Sequence[Episode]) -> float | None:
    """The run's RTO: its longest episode; None if one had not recovered by the end; 0 without any."""
    worst = 0.0
    for e in episodes:
        rto = e.rto_s
        if rto is None:
            return None
        worst = max(worst, rto)
    return worst
