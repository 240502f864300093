"""The plane's runs of the autoscaler: on its newest inputs, and skipped while they would decide nothing new.

The plane hands in every sample and node-pool status it observed; the newest per (cloud, service) and
per pool are kept, as `AutoscalerView.build` would pick them one by one (failover reads the same pool
statuses). The autoscaler's reconcile is level-triggered, so a run on the inputs of the last one is
skipped until something it reads can have moved (see `AutoscalerRuns.run`): that is what makes quiet
steps cheap. State of the plane's, for speed only: every decision stays the autoscaler's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

from godseye.control import autoscaler
from godseye.control.actions import Action
from godseye.control.autoscaler_model import AutoscalerMemory, AutoscalerView
from godseye.control.observations import NodePoolStatus, ServiceSample
from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform

# A sample's time, read in C when the skip looks for the first sample to age out.
_sample_time = attrgetter("t_s")
# Without an epoch the plane's clock has no calendar date, so the autoscaler gets no event calendar;
# this instant only anchors its (then empty) calendar.
_NO_CALENDAR_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AutoscalerRun:
    """What one step got from the autoscaler: its memory, what it asked for, and when it wants to run
    again (absolute, on the plane's clock)."""

    memory: AutoscalerMemory
    actions: tuple[Action, ...]
    wake_s: float | None


class AutoscalerRuns:
    """The autoscaler's newest inputs and its last run, kept by the plane between steps."""

    def __init__(self, platform: Platform, services: tuple[ServicePlan, ...], epoch: datetime | None) -> None:
        self._services = services
        self._epoch = epoch if epoch is not None else _NO_CALENDAR_EPOCH
        self._platform = platform if epoch is not None else platform.model_copy(update={"events": {}})
        self._samples: dict[tuple[str, str], ServiceSample] = {}
        self._pools: dict[str, NodePoolStatus] = {}
        # Bumped whenever a newer sample or pool status is kept: the skip compares it, not the dicts.
        self._inputs_version = 0
        # The inputs of the last run, until when a rerun on them decides nothing new, and its wake-up.
        self._seen: tuple[int, dict[str, dict[str, int]], frozenset[str]] | None = None
        self._until = -math.inf
        self._wake: float | None = None

    @property
    def pools(self) -> Mapping[str, NodePoolStatus]:
        """The newest status per node pool."""
        return self._pools

    def take(self, samples: Iterable[ServiceSample], pools: Iterable[NodePoolStatus]) -> None:
        """Keep what is newer than what is kept (a late sample or status changes nothing)."""
        for s in samples:
            old = self._samples.get((s.cloud, s.service))
            if old is None or s.t_s >= old.t_s:
                self._samples[(s.cloud, s.service)] = s
                self._inputs_version += 1
        for p in pools:
            if p.cloud not in self._pools or p.t_s >= self._pools[p.cloud].t_s:
                self._pools[p.cloud] = p
                self._inputs_version += 1

    def run(self, now_s: float, memory: AutoscalerMemory, weights: dict[str, dict[str, int]],
            down: frozenset[str]) -> AutoscalerRun:
        """Run the autoscaler, unless nothing it reads changed since its last run and no timer of its is due.

        Its reconcile is level-triggered: with the same samples, pools, weights and clouds down, before
        its own wake-up, before any sample ages out of its window, and with no scale-down step already due
        (one waiting for the load to settle below its rolling average, which slides with the clock), it
        asks for nothing and keeps its memory.
        """
        seen = (self._inputs_version, weights, down)
        if seen == self._seen and now_s < self._until:
            return AutoscalerRun(memory, (), self._wake)
        # The newest sample per (cloud, service) and status per pool, as `AutoscalerView.build` would
        # pick them one by one: the view takes copies of them as they are (and the step's weights, which
        # nothing changes once steering has set them).
        view = AutoscalerView(
            now_s, self._epoch, self._platform, self._services, dict(self._samples), dict(self._pools), weights, down,
        )
        auto = autoscaler.reconcile(view, memory)
        self._seen = seen
        self._wake = now_s + auto.requeue_after_s if auto.requeue_after_s is not None else None
        self._until = self._skippable_until(view, auto.memory)
        return AutoscalerRun(auto.memory, auto.actions, self._wake)

    def _skippable_until(self, view: AutoscalerView, memory: AutoscalerMemory) -> float:
        """Until when a rerun on unchanged inputs is known to decide nothing new (see `run`)."""
        a, now_s = view.platform.autoscaling, view.now_s
        until = self._wake if self._wake is not None else math.inf
        # The first sample to age out of the window, found from the oldest (adding the window keeps the order).
        oldest = min(map(_sample_time, view.samples.values()), default=math.inf)
        if oldest + a.rolling_window_s >= now_s:
            until = min(until, oldest + a.rolling_window_s)
        else:
            for s in view.samples.values():
                expires = s.t_s + a.rolling_window_s
                if expires >= now_s:
                    until = min(until, expires)
        for record in memory.pods.values():
            if record.phase == "monitor":
                due = (record.stable_since_s if record.stable_since_s is not None else now_s) + a.stable_s
                if max(due, record.last_down_s + a.scale_down_interval_s) <= now_s:
                    return -math.inf
        return until
