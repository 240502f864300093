"""RTO measurement, request counters and the sampled series, fed once per integration step.

RTO of a service (ARCHITECTURE.md): from the fault's start until the service again serves at least
99% (1 - error_rate_sla) of its offered load within its p99 SLA, and keeps doing so for
RECOVERY_HOLD_S. An episode starts when the service stops being good; it is anchored at the latest
fault change (a fault's start, or a cloud's recovery, which starts the canary return) at or before
that moment and after the previous episode ended, or at the moment itself when no fault explains it.
RTO is the longest episode; a service that never degrades has RTO 0.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import numpy.typing as npt

RECOVERY_HOLD_S = 60.0

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class RtoTracker:
    def __init__(self, n_services: int, anchors: list[float], hold_s: float = RECOVERY_HOLD_S) -> None:
        self._anchors = sorted(anchors)
        self._hold_s = hold_s
        self._open = np.zeros(n_services, dtype=np.bool_)
        self._start = np.zeros(n_services)
        self._good_since = np.full(n_services, np.nan)
        self._last_end = np.full(n_services, -math.inf)
        self.worst = np.zeros(n_services)
        self.episodes: list[tuple[int, float, float]] = []  # (service, start, recovered_at)

    def update(self, t0: float, t1: float, good: BoolArray) -> None:
        if not self._open.any() and good.all():
            return  # nothing opens, nothing is open: the common steady step
        bad = ~good
        opening = bad & ~self._open
        for s in np.flatnonzero(opening):
            self._open[s] = True
            self._start[s] = self._anchor(t0, float(self._last_end[s]))
        self._good_since[bad] = np.nan
        recovering = good & self._open
        fresh = recovering & np.isnan(self._good_since)
        self._good_since[fresh] = t0
        done = recovering & (t1 - np.nan_to_num(self._good_since, nan=np.inf) >= self._hold_s)
        for s in np.flatnonzero(done):
            self._close(int(s), float(self._good_since[s]))

    def _anchor(self, t: float, after: float) -> float:
        i = bisect.bisect_right(self._anchors, t) - 1
        if i >= 0 and self._anchors[i] > after:
            return self._anchors[i]
        return t

    def _close(self, s: int, recovered_at: float) -> None:
        rto = recovered_at - float(self._start[s])
        self.episodes.append((s, float(self._start[s]), recovered_at))
        self.worst[s] = max(self.worst[s], rto)
        self._open[s] = False
        self._good_since[s] = np.nan
        self._last_end[s] = recovered_at

    def finish(self, t_end: float) -> list[float | None]:
        """RTO per service; None for a service still in an episode at the end of the run."""
        out: list[float | None] = []
        for s in range(len(self.worst)):
            if self._open[s]:
                since = self._good_since[s]
                # Good at the end but for less than the hold: not yet recovered by the definition.
                out.append(None if np.isnan(since) or t_end - since < self._hold_s else float(since - self._start[s]))
            else:
                out.append(float(self.worst[s]))
        return out


class Counters:
    """Requests offered and failed per service, integrated as rate x dt."""

    def __init__(self, n_services: int) -> None:
        self.total = np.zeros(n_services)
        self.failed = np.zeros(n_services)

    def add(self, dt: float, offered: FloatArray, bad: FloatArray) -> None:
        self.total += offered * dt
        self.failed += bad * dt
