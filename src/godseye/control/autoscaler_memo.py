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

from godseye.control.autoscaler_model import AutoscalerView, Key, NodeAsk, PlatformFacts, PodScale
from godseye.control.events_calendar import EventWindow
from godseye.control.observations import NodePoolStatus, ServiceSample

# Per service: (total offered rps, time of the newest sample behind it), or None without a fresh sample.
Total = tuple[float, float] | None


class Cell:
    """One (cloud, service)'s share of what a service is at rest on (`autoscaler_frame.survey`): what does
    not depend on the load, with the sample, record and weight it was read from, and its entry for the
    last need (`pods`), so a load that moves without changing the need changes nothing here.

    Filled in and kept up to date by `autoscaler_frame.survey` (the rules live there)."""

    __slots__ = ("event", "hold", "hpa", "live", "pods", "quality", "record", "rest", "sample", "weight")

    def __init__(self, event: EventWindow | None, live: bool) -> None:
        self.event, self.live = event, live  # fixed while the memo's `events` are (else it is dropped)
        self.weight = -1  # the weight `hold` is for (none yet)
        self.hold = 0  # the event's hold
        self.sample: ServiceSample | None = None
        self.record: PodScale | None = None
        self.hpa = 0  # HPA's ask by cpu or memory, 0 unless one runs over its tolerance
        self.quality: tuple[bool, ...] | None = None  # the sample's side of each threshold (None: no sample)
        self.pods = -1  # the need `rest` is for (none yet)
        self.rest: tuple[object, ...] = ()


class Records:
    """What the autoscaler reads off a whole set of records (node asks, the ready-node cut, timers), by one
    pass over them: kept while the records are the same (most calls decide nothing, so they are)."""

    __slots__ = ("keys", "pending", "timed", "values", "vcpu", "waiting")

    def __init__(self, pods: Mapping[Key, PodScale], vcpu_of: Mapping[str, float]) -> None:
        # The records and their order (the vCPU sums follow it): a snapshot, compared on use.
        self.keys, self.values = list(pods), list(pods.values())
        held: dict[str, list[float]] = {}
        waiting: set[str] = set()
        pending: set[str] = set()
        timed: list[PodScale] = []
        for (cloud, name), record in pods.items():
            held.setdefault(cloud, []).append(record.replicas * vcpu_of.get(name, 0.0))
            if record.waiting_pods != 0:
                pending.add(cloud)
                if record.waiting_pods > 0:
                    waiting.add(cloud)
            if record.phase in ("reactive", "scale_down") or (record.phase == "monitor" and record.stable_since_s is not None):
                timed.append(record)
        # Per cloud, its pods' vCPU summed in the records' order (as `node_ask` would sum them).
        self.vcpu = {cloud: sum(vcpus) for cloud, vcpus in held.items()}
        self.waiting = waiting  # clouds with pods waiting for nodes
        self.pending = pending  # clouds with a record whose waiting pods are not 0 (the ready-node cut's test)
        self.timed = timed  # records in a phase a timer moves (see `autoscaler._requeue_after_s`)

    def same(self, pods: Mapping[Key, PodScale]) -> bool:
        """Whether `pods` holds these very records (or equal ones), in the same order."""
        return list(pods.values()) == self.values and list(pods) == self.keys


class Memo:
    """One platform's per-service results, and the inputs as of the last call they follow."""

    __slots__ = (
        "cells", "down", "events", "fresh", "idle", "offered", "pods", "records", "rest", "stale", "totals", "weights",
    )

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
        # Per service: what it is at rest on (`autoscaler_frame.survey` with the memory's records), to be
        # worked out again when in `stale` (kept meanwhile: unchanged, the same tuple is handed out again).
        self.rest: dict[str, tuple[object, ...]] = {}
        self.stale: set[str] = set()
        # Per (cloud, service): checked on use (samples, records and weights change often, and independently).
        self.cells: dict[Key, Cell] = {}
        self.records: Records | None = None
        # Per cloud: (pods' vCPU, pool status, nodes asked, shrink) on which `cloud_capacity.node_ask` last
        # asked for nothing (by identity for the status and ask; the cloud's spec is fixed with the facts).
        self.idle: dict[str, tuple[float, NodePoolStatus | None, NodeAsk | None, bool]] = {}

    def records_of(self, pods: Mapping[Key, PodScale], vcpu_of: Mapping[str, float]) -> Records:
        """The `Records` of `pods` (`vcpu_of`: the facts' pod vCPU per service, fixed for this memo)."""
        records = self.records
        if records is None or not records.same(pods):
            records = self.records = Records(pods, vcpu_of)
        return records

    def follow_view(self, view: AutoscalerView, events: dict[str, EventWindow | None]) -> dict[Key, ServiceSample]:
        """The view's fresh samples (as `AutoscalerView.fresh_sample` tells them); drops what the view's
        changes since the last call make stale."""
        if view.clouds_down != self.down or events != self.events or view.offered_rps != self.offered:
            # Rare (a failover, an event's window opening or closing): everything is worked out again.
            self.totals.clear()
            self.rest.clear()
            self.stale.clear()
            self.cells.clear()
            self.down, self.events, self.offered = view.clouds_down, dict(events), dict(view.offered_rps)
        now, window = view.now_s, view.platform.autoscaling.rolling_window_s
        prev, totals, stale = self.fresh, self.totals, self.stale
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
            stale.add(key[1])
        if kept != len(prev):
            # Some sample aged out: its service's entries go too.
            for key in prev:
                if key not in fresh:
                    totals.pop(key[1], None)
                    stale.add(key[1])
        self.fresh = fresh
        weights = view.weights
        if weights != self.weights:
            for name in set(weights) | set(self.weights):
                if weights.get(name) != self.weights.get(name):
                    stale.add(name)
            self.weights = {name: dict(w) for name, w in weights.items()}
        return fresh

    def follow_pods(self, pods: Mapping[Key, PodScale]) -> None:
        """Drops the at-rest entries of services whose records differ from those they were worked out with."""
        prev, stale = self.pods, self.stale
        if len(pods) == len(prev) and list(pods.values()) == list(prev.values()) and list(pods) == list(prev):
            return  # the same records (or equal ones) in the same places: the common case, checked in C
        kept = 0
        for key, record in pods.items():
            was = prev.get(key)
            if was is not None:
                kept += 1
                if was is record:
                    continue
            stale.add(key[1])
        if kept != len(prev):
            for key in prev:
                if key not in pods:
                    stale.add(key[1])
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
