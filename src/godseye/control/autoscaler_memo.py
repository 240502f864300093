"""What the autoscaler worked out per service on its last calls, kept while its inputs stay the very same.

Between two plane steps most of a reconcile's inputs are the same objects: the twin sends a sample only
when it moved, weights and the clouds down rarely change, and a service at rest keeps its records. A
service's total offered load and what it is at rest on (`autoscaler_frame.survey`) are functions of
those inputs alone, so while none of them changed they are taken from here rather than worked out again.

Pure in effect: an entry is dropped as soon as any input it was worked out from differs (by identity
for the immutable samples and records, by value for the rest), so a call gives exactly what working it
all out afresh gives, whoever calls and with whatever memory (a memory from outside only misses).
Bounded: one `Memo` per recent `PlatformFacts` (as `facts_of` keeps them), one entry per service.
"""

from __future__ import annotations

from collections.abc import Mapping

from godseye.control.autoscaler_model import AutoscalerView, Key, PlatformFacts, PodScale
from godseye.control.events_calendar import EventWindow
from godseye.control.observations import ServiceSample

# Per service: (total offered rps, time of the newest sample behind it), or None without a fresh sample.
Total = tuple[float, float] | None
# Per (cloud, service), what `autoscaler_frame.survey` works out from the sample, record and weight alone:
# (sample, record, weight, HPA's ask (0 unless cpu or memory runs over its tolerance), the event's hold,
# the sample's side of each stability and latency threshold (None without a sample), the event held).
CellFacts = tuple[ServiceSample | None, PodScale | None, int, int, int, tuple[bool, ...] | None, EventWindow | None]


class Memo:
    """One platform's per-service results, and the inputs as of the last call they follow."""

    __slots__ = ("cells", "down", "events", "fresh", "offered", "pods", "rest", "totals", "weights")

    def __init__(self) -> None:
        # The inputs every entry below was worked out from (snapshots: later changes to a caller's
        # mappings cannot make a stale entry look current).
        self.fresh: dict[Key, ServiceSample] = {}
        self.pods: dict[Key, PodScale] = {}
        self.weights: dict[str, dict[str, int]] = {}
        self.down: frozenset[str] = frozenset()
        self.events: dict[str, EventWindow | None] = {}
        self.offered: dict[str, float] = {}
        # Per service: its total from the fresh samples (kept only while `offered` does not give it).
        self.totals: dict[str, Total] = {}
        # Per service: what it is at rest on (`autoscaler_frame.survey` with the memory's records).
        self.rest: dict[str, tuple[object, ...]] = {}
        # Per (cloud, service): what `survey` works out without the load, with the sample, record and
        # weight it was worked out from (checked on use: those change often, and independently).
        self.cells: dict[Key, CellFacts] = {}

    def follow_view(self, view: AutoscalerView, events: dict[str, EventWindow | None]) -> dict[Key, ServiceSample]:
        """The view's fresh samples (as `AutoscalerView.fresh_sample` tells them); drops what the view's
        changes since the last call make stale."""
        if view.clouds_down != self.down or events != self.events or view.offered_rps != self.offered:
            # Rare (a failover, an event's window opening or closing): everything is worked out again.
            self.totals.clear()
            self.rest.clear()
            self.cells.clear()
            self.down, self.events, self.offered = view.clouds_down, dict(events), dict(view.offered_rps)
        now, window = view.now_s, view.platform.autoscaling.rolling_window_s
        prev, totals, rest = self.fresh, self.totals, self.rest
        fresh: dict[Key, ServiceSample] = {}
        kept = 0  # samples of the last call still in: the same or replaced by a newer one
        for key, s in view.samples.items():
            if now - s.t_s > window:
                continue
            fresh[key] = s
            was = prev.get(key)
            if was is not None:
                kept += 1
                if was is s:
                    continue
            totals.pop(key[1], None)
            rest.pop(key[1], None)
        if kept != len(prev):
            # Some sample aged out: its service's entries go too.
            for key in prev:
                if key not in fresh:
                    totals.pop(key[1], None)
                    rest.pop(key[1], None)
        self.fresh = fresh
        weights = view.weights
        if weights != self.weights:
            for name in set(weights) | set(self.weights):
                if weights.get(name) != self.weights.get(name):
                    rest.pop(name, None)
            self.weights = {name: dict(w) for name, w in weights.items()}
        return fresh

    def follow_pods(self, pods: Mapping[Key, PodScale]) -> None:
        """Drops the at-rest entries of services whose records differ from those they were worked out with."""
        prev, rest = self.pods, self.rest
        kept = 0
        for key, record in pods.items():
            was = prev.get(key)
            if was is not None:
                kept += 1
                if was is record:
                    continue
            rest.pop(key[1], None)
        if kept != len(prev):
            for key in prev:
                if key not in pods:
                    rest.pop(key[1], None)
        self.pods = dict(pods)


# Recent platforms' memos (as `autoscaler_model._facts`): a drill uses one, tests a handful.
_MEMOS_CACHED = 8
_memos: list[tuple[PlatformFacts, Memo]] = []


def memo_of(facts: PlatformFacts) -> Memo:
    """The memo of these facts (by identity), a new one the first time."""
    for f, memo in _memos:
        if f is facts:
            return memo
    memo = Memo()
    _memos.insert(0, (facts, memo))
    del _memos[_MEMOS_CACHED:]
    return memo
