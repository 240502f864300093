"""Rolling average of a service's offered load, the reference the seed's spike rule compares against.

Samples are folded into a fixed number of buckets spanning the window, so memory stays bounded
however often the controller runs. A sample is folded in once: one no newer than the last folded
sample is ignored, which keeps reconcile level-triggered (calling again with the same samples
changes nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Resolution of the rolling window: one bucket per minute of the seed's one-hour window.
WINDOW_BUCKETS = 60


@dataclass(frozen=True, slots=True)
class LoadWindow:
    """Bucketed samples of one service's total offered rps: (bucket index, sum of rps, sample count)."""

    buckets: tuple[tuple[int, float, int], ...] = ()
    last_t_s: float = -math.inf

    def add(self, t_s: float, rps: float, window_s: float) -> LoadWindow:
        if t_s <= self.last_t_s:
            return self
        width = window_s / WINDOW_BUCKETS
        index = math.floor(t_s / width)
        # Buckets are in index order (samples only move forward), so the stale ones lead.
        buckets, first, oldest = self.buckets, 0, index - WINDOW_BUCKETS
        while first < len(buckets) and buckets[first][0] <= oldest:
            first += 1
        if first < len(buckets) and buckets[-1][0] == index:
            _, total, count = buckets[-1]
            kept = (*buckets[first:-1], (index, total + rps, count + 1))
        else:
            kept = (*buckets[first:], (index, rps, 1))
        assert len(kept) <= WINDOW_BUCKETS
        return LoadWindow(kept, t_s)

    def average(self, now_s: float, window_s: float) -> float | None:
        """Mean of the samples in the window ending at `now_s`; None before the first sample."""
        width = window_s / WINDOW_BUCKETS
        oldest = math.floor(now_s / width) - WINDOW_BUCKETS
        buckets, first = self.buckets, 0
        while first < len(buckets) and buckets[first][0] <= oldest:
            first += 1
        live = buckets[first:]
        samples = sum([count for _, _, count in live])
        return sum([total for _, total, _ in live]) / samples if samples else None
