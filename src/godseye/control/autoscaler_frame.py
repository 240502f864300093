"""One reconcile's inputs to the autoscaler's rules, indexed once (docs/autoscaling.md).

`Frame` holds the view's fresh samples and each service's total load; `Cell` is one (cloud, service)
as the rules see it; `ServiceLoad` is one service's load against its rolling average. `survey` works
out what the view alone says of a service, or, with the memory, what a service at rest is decided on.
Scratch of one reconcile only: nothing here outlives the call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from godseye.control.autoscaler_memo import Cell as MemoCell
from godseye.control.autoscaler_memo import memo_of
from godseye.control.autoscaler_model import AutoscalerMemory, AutoscalerView, Key, PlatformFacts, PodScale
from godseye.control.cloud_capacity import CloudRoom
from godseye.control.events_calendar import EventWindow
from godseye.control.load_window import LoadWindow
from godseye.control.observations import ServiceSample
from godseye.plan.model import ServicePlan
from godseye.policy.sizing import prescale_replicas
from godseye.spec.models import Autoscaling, Service

# Kubernetes HPA skips changes within 10% of the target (ANCHORS.md).
TOLERANCE = 0.1
# Rounding slack for ceil/floor of float ratios (4000 / (100 x 0.8) must be 50, not 51).
EPS = 1e-9


# What the view alone says of one (cloud, service): cloud, key, fresh sample, weight, need, whether HPA's
# ask sets that need, the event's hold, the event held, and whether the cloud is live.
Figures = tuple[str, Key, ServiceSample | None, int, int, bool, int, EventWindow | None, bool]


class Cell:
    """Everything the rules need about one (cloud, service) at this instant.

    What the view alone says (the fresh sample, weight, need, event hold, floor) is worked out once per
    reconcile (`survey`); `prior`, `current`, `known` and `fit` follow the scratch records and are set
    before each decision (`Frame.ready`). Scratch of one reconcile only.
    """

    __slots__ = (
        "by_hpa", "cloud", "current", "event", "fit", "floor", "hold", "key", "known", "need", "prior", "sample",
        "weight",
    )

    def __init__(self, figures: Figures, facts: PlatformFacts) -> None:
        self.cloud, self.key, self.sample, self.weight, self.need, self.by_hpa, self.hold, self.event, _ = figures
        self.floor = facts.floors[figures[1]]
        # Set by `Frame.ready` before every decision: the record, its replicas, whether the memory
        # already has one for this (cloud, service), and the most replicas the cloud's room holds.
        self.prior: PodScale
        self.current: int
        self.known: bool
        self.fit: int


class ServiceLoad:
    """One service at this instant: its plan and spec, and its offered load against its rolling average."""

    __slots__ = ("cooling", "name", "per_pod", "plan", "spec", "spike_ratio", "total_rps")

    def __init__(self, plan: ServicePlan, spec: Service, total_rps: float | None, spike_ratio: float | None,
                 cooling: bool, per_pod: float) -> None:
        self.plan, self.name, self.spec, self.total_rps = plan, plan.name, spec, total_rps
        self.spike_ratio = spike_ratio  # total / rolling average when that exceeds spike_factor
        self.cooling = cooling  # offered load no longer above its rolling average
        self.per_pod = per_pod  # rps one pod carries at the target utilisation


class Frame:
    """The view indexed once per reconcile: fresh samples, each service's total load, and its cells."""

    __slots__ = ("cells", "events", "facts", "figures", "fresh", "live", "memo", "pods", "view")

    def __init__(self, view: AutoscalerView, facts: PlatformFacts, live: list[str],
                 events: dict[str, EventWindow | None]) -> None:
        self.view, self.facts, self.live, self.events = view, facts, live, events
        # Totals and at-rest inputs of services whose inputs are the same objects as on the last call.
        self.memo = memo_of(facts)
        # The same test as `AutoscalerView.fresh_sample`, once per sample rather than once per look.
        self.fresh = self.memo.follow_view(view, events)
        self.pods: Mapping[Key, PodScale] | None = None  # the records the memo's at-rest entries follow
        self.figures: dict[str, list[Figures]] = {}
        self.cells: dict[str, list[Cell]] = {}

    def figures_of(self, plan: ServicePlan) -> list[Figures]:
        """The service's figures in every cloud, down ones too (worked out on first use)."""
        figures = self.figures.get(plan.name)
        if figures is None:
            survey(self, plan, None)
            figures = self.figures[plan.name]
        return figures

    def cells_of(self, plan: ServicePlan) -> list[Cell]:
        """The service's cells in the live clouds: what it is decided on (made on first use: services at
        rest never need them)."""
        cells = self.cells.get(plan.name)
        if cells is None:
            cells = self.cells[plan.name] = [Cell(figures, self.facts) for figures in self.figures_of(plan) if figures[8]]
        return cells

    def total_offered_rps(self, service: str) -> tuple[float, float] | None:
        """`AutoscalerView.total_offered_rps`, worked out again only when the service's fresh samples changed."""
        totals = self.memo.totals
        if service in totals:
            return totals[service]
        view = self.view
        if service in view.offered_rps:
            return view.offered_rps[service], view.now_s
        # Summed in the platform's cloud order from 0, as `sum` would; the newest time as `max` finds it.
        rps: float = 0
        newest, seen = -math.inf, False
        fresh = self.fresh
        for k in self.facts.keys[service]:
            s = fresh.get(k)
            if s is not None:
                rps += s.offered_rps
                if not seen or s.t_s > newest:
                    newest, seen = s.t_s, True
        total = (rps, newest) if seen else None
        totals[service] = total
        return total

    def ready(self, cells: list[Cell], pods: dict[Key, PodScale], room: CloudRoom) -> tuple[object, ...]:
        """Sets each cell's record and room from the scratch `pods`; returns what those were set from."""
        seen: list[object] = []
        for cell in cells:
            record = pods.get(cell.key)
            cell.fit = room.fit_record(cell.key, record)
            seen.append(record)
            seen.append(cell.fit)
            cell.known = record is not None
            if record is None:
                start = cell.sample.ready_replicas if cell.sample is not None else self.facts.baseline[cell.key]
                record = PodScale(replicas=start, stable_since_s=None)
            cell.prior, cell.current = record, record.replicas
        return tuple(seen)


def fold_loads(frame: Frame, memory: AutoscalerMemory) -> dict[str, LoadWindow]:
    window_s = frame.view.platform.autoscaling.rolling_window_s
    loads = dict(memory.loads)
    totals = frame.memo.totals
    for plan in frame.facts.plans:
        name = plan.name
        total = totals[name] if name in totals else frame.total_offered_rps(name)
        if total is not None:
            load = loads.get(name)
            # `LoadWindow.add` keeps a window that already folded a sample this new: most services' is.
            if load is None or total[1] > load.last_t_s:
                loads[name] = (load if load is not None else LoadWindow()).add(total[1], total[0], window_s)
    return loads


def service_load(frame: Frame, plan: ServicePlan, load: LoadWindow | None) -> ServiceLoad:
    view = frame.view
    a = view.platform.autoscaling
    total = frame.total_offered_rps(plan.name)
    rps = total[0] if total is not None else None
    avg = load.average(view.now_s, a.rolling_window_s) if load is not None else None
    ratio = rps / avg if rps is not None and avg is not None and avg > 0 else None
    spike = ratio if ratio is not None and ratio > a.spike_factor else None
    cooling = ratio is None or ratio <= 1 + TOLERANCE
    spec = view.platform.services[plan.name]
    return ServiceLoad(plan, spec, rps, spike, cooling, spec.pod_rps * a.target_utilization)


def survey(frame: Frame, plan: ServicePlan, memory: AutoscalerMemory | None) -> tuple[object, ...]:
    """What the view alone says of the service in each cloud (its fresh sample, weight, need (rule 1),
    the event held and its hold), kept in `frame.figures`; with `memory`, what it is at rest on instead
    (most services only ever need that: the figures are worked out again for the few decided).

    At rest, a service is decided on, per cloud: live or not, the weight, the need, the event held, and
    which side of each stability and latency threshold its fresh sample falls. A sample whose figures
    move within those thresholds leaves the need and every rule's outcome for a service at rest as
    they were, so it counts as no change. The spike ratio, the sample times and the timers are left
    out: at rest no step waits on them (see `autoscaler_decide.Outcome.quiet`).
    The need is the load's share over `pods_for`'s per-pod rate, raised to HPA's ask by cpu or memory
    beyond its tolerance, with the per-service factors out of the loop.
    """
    if memory is None:
        frame.figures[plan.name] = _figures(frame, plan)
        return ()
    view, facts, name, fresh, events = frame.view, frame.facts, plan.name, frame.fresh, frame.events
    a, spec, per_pod, load, weights = _service_inputs(frame, plan)
    down, floors, known, pods_of = view.clouds_down, facts.floors, frame.memo.cells, memory.pods
    cells: list[object] = []
    for cloud, key in zip(facts.clouds, facts.keys[name], strict=True):
        s = fresh.get(key)
        weight = 0 if cloud in down else weights.get(cloud, 0)
        # The record itself too: a memory changed from outside is decided afresh, not trusted at rest.
        record = pods_of.get(key)
        # What does not depend on the load (the hold, HPA's ask, the sample's side of each threshold) is
        # worked out again only for what changed: the weight, or the sample or record.
        cell = known.get(key)
        if cell is None:
            cell = known[key] = MemoCell(events.get(cloud), cloud in events)
            _read(cell, spec, a, s, record)
        elif cell.sample is not s or cell.record is not record:
            _read(cell, spec, a, s, record)
        if cell.weight != weight:
            event = cell.event
            cell.weight, cell.pods = weight, -1
            cell.hold = prescale_replicas(spec.rps, event.peak_multiplier, weight, spec.pod_rps, a) \
                if event and weight > 0 else 0
        rps = load * weight / 100
        pods = math.ceil(rps / per_pod - EPS) if rps > 0 else 0
        if cell.hpa > pods:
            pods = cell.hpa
        if pods != cell.pods:
            need: object = pods
            if record is not None:
                # At rest (replicas within the room) the need only counts through where it stands against
                # the replicas: over HPA's tolerance (overload), over them (unstable), or at least them
                # together with the floor and an event's hold (they must all stay; below, a scale-down may start).
                replicas = record.replicas
                need = (pods > replicas * (1 + TOLERANCE), pods > replicas, max(floors[key], cell.hold, pods) >= replicas)
            cell.pods, cell.rest = pods, (cell.live, weight, need, cell.quality, cell.event, record)
        cells.append(cell.rest)
    return tuple(cells)


def _read(cell: MemoCell, spec: Service, a: Autoscaling, s: ServiceSample | None, record: PodScale | None) -> None:
    """Sets the cell's HPA ask and the sample's side of each stability and latency threshold."""
    cell.sample, cell.record, cell.pods = s, record, -1
    if s is None:
        cell.hpa, cell.quality = 0, None
        return
    target = a.target_utilization
    hot_bound = target * (1 + TOLERANCE)
    hot = s.memory_utilization if s.memory_utilization is not None and s.memory_utilization > s.cpu_utilization \
        else s.cpu_utilization
    cell.hpa = _hpa_ask(s, hot, target)
    p99_sla = spec.p99_sla_ms
    drain = s.served_rps * p99_sla / 1000
    covers = s.ready_replicas > 0 and (record is None or s.ready_replicas >= record.replicas)
    cell.quality = (
        s.p99_ms <= p99_sla, s.error_rate <= spec.error_rate_sla, hot <= hot_bound, s.queue_depth <= drain,
        covers and s.p99_ms > p99_sla and s.queue_depth > drain,
    )


def _service_inputs(frame: Frame, plan: ServicePlan) -> tuple[Autoscaling, Service, float, float, Mapping[str, int]]:
    """The scaling settings, the service's spec, rps one pod carries at target, its offered load and weights."""
    view = frame.view
    a, spec = view.platform.autoscaling, view.platform.services[plan.name]
    total = frame.total_offered_rps(plan.name)
    return (a, spec, spec.pod_rps * a.target_utilization, total[0] if total is not None else 0.0,
            view.weights.get(plan.name, plan.weights))


def _hpa_ask(s: ServiceSample, hot: float, target: float) -> int:
    """HPA's ask, ceil(ready x util / target), when cpu or memory (`hot`, the busier) runs over its tolerance; else 0."""
    if s.ready_replicas > 0 and hot > target * (1 + TOLERANCE):
        return math.ceil(s.ready_replicas * hot / target - EPS)
    return 0


def _figures(frame: Frame, plan: ServicePlan) -> list[Figures]:
    """What the view alone says of the service in each cloud (see `survey`)."""
    view, facts, name, fresh, events = frame.view, frame.facts, plan.name, frame.fresh, frame.events
    a, spec, per_pod, load, weights = _service_inputs(frame, plan)
    target, down = a.target_utilization, view.clouds_down
    hot_bound = target * (1 + TOLERANCE)
    figures: list[Figures] = []
    for cloud, key in zip(facts.clouds, facts.keys[name], strict=True):
        s = fresh.get(key)
        weight = 0 if cloud in down else weights.get(cloud, 0)
        rps = load * weight / 100
        pods = math.ceil(rps / per_pod - EPS) if rps > 0 else 0
        by_hpa = False
        # `_hpa_ask`, inline: every decided service's every cloud comes here on every call.
        if s is not None and s.ready_replicas > 0:
            hot = s.memory_utilization if s.memory_utilization is not None and s.memory_utilization > s.cpu_utilization \
                else s.cpu_utilization
            if hot > hot_bound:
                by_use = math.ceil(s.ready_replicas * hot / target - EPS)
                if by_use > pods:
                    pods, by_hpa = by_use, True
        event = events.get(cloud)
        hold = prescale_replicas(spec.rps, event.peak_multiplier, weight, spec.pod_rps, a) if event and weight > 0 else 0
        figures.append((cloud, key, s, weight, pods, by_hpa, hold, event, cloud in events))
    return figures


def inputs_at_rest(frame: Frame, plan: ServicePlan, memory: AutoscalerMemory) -> tuple[object, ...]:
    """What a service at rest is decided on (see `survey`), from the memo while its inputs are the same."""
    memo, name = frame.memo, plan.name
    if frame.pods is not memory.pods:
        memo.follow_pods(memory.pods)
        frame.pods = memory.pods
    rest = memo.rest.get(name)
    if rest is None or name in memo.stale:  # (for most services, most calls, neither)
        fresh = survey(frame, plan, memory)
        # Inputs that moved without changing what the service is at rest on: the same tuple as before
        # (then compared by identity against the memory's).
        if fresh != rest:
            rest = memo.rest[name] = fresh
        memo.stale.discard(name)
    return rest


def hottest(s: ServiceSample) -> tuple[str, float]:
    """The busier of cpu and memory: HPA with both metrics scales to the larger of the two asks."""
    if s.memory_utilization is not None and s.memory_utilization > s.cpu_utilization:
        return "memory", s.memory_utilization
    return "cpu", s.cpu_utilization


def latency_overload(svc: ServiceLoad, cell: Cell) -> bool:
    """p99 over SLA with a queue that would not drain within the SLA, on every pod asked for."""
    s = cell.sample
    if s is None or s.ready_replicas < cell.current or s.ready_replicas == 0:
        return False
    return s.p99_ms > svc.spec.p99_sla_ms and s.queue_depth > drain_bound(svc.spec, s)


def drain_bound(spec: Service, s: ServiceSample) -> float:
    return s.served_rps * spec.p99_sla_ms / 1000
