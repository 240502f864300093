"""The seed's Auto-Scaling Flow as a pure controller: reconcile(view, memory) -> Decision.

Rules, per service and cloud (the flowchart's boxes; docs/autoscaling.md walks through them):

1. Expected load = the service's total offered rps x the cloud's current steering weight, so a
   failover weight change scales the survivors at once. Need = ceil(expected / (pod_rps x
   target_utilization)), or HPA's ceil(ready x util / target) when cpu or memory runs hotter than that.
2. Spike = total offered rps > spike_factor x its rolling average over rolling_window_s.
3. Known event (the spec's calendar): from max(prescale_lead_s, node_boot_s + pod_start_s) before its
   start until its end, hold at least the replicas for the predicted peak + prescale_buffer.
   A spike while an event holds is that event; otherwise it is organic.
4. Organic spike while overloaded: +reactive_step pods per step, one step per metrics interval
   (metrics_lag_s, and only on a sample newer than the last step). Without a spike, growth beyond
   HPA's 10% tolerance goes straight to the need; p99 over SLA with a queue also steps +reactive_step.
5. Nodes: pods that no longer fit the nodes ready or booting ask the pool for more (ScaleNodePool);
   nodes already asked for are counted, so nothing is asked twice.
6. A cloud at max_nodes keeps what fits and bursts the rest to the other live clouds with room
   (ScaleService there + a Condition); memory exposes the burst capacity for steering.
7. Stable (p99 and errors under SLA, cpu and memory within tolerance of target, queue drains within
   the SLA, no overload) for stable_s, with the load no longer above its rolling average and no event holding:
   -scale_down_step every scale_down_interval_s, never below the need, the burst it carries, or the
   floor = ceil(plan replicas x (1 + floor_buffer)).
8. Never above what max_nodes x node_vcpu leaves for the service after the other services' pods.

Level-triggered: with nothing changed a second call asks for nothing. Services are handled tier
first, then by name, so tier 1 gets a full cloud's last vCPUs; every service keeps its floor, and
passes repeat until nothing moves (services share nodes), so one call settles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from godseye.control.actions import Action, ScaleService
from godseye.control.autoscaler_model import (
    AutoscalerMemory,
    AutoscalerView,
    Key,
    NodeAsk,
    Phase,
    PlatformFacts,
    PodScale,
    facts_of,
)
from godseye.control.cloud_capacity import (
    CloudRoom,
    burst_conditions,
    burst_reason,
    node_ask,
    spread_burst,
)
from godseye.control.decision import Decision
from godseye.control.events_calendar import EventWindow, describe_start, event_windows, holding, next_boundary_s
from godseye.control.load_window import LoadWindow
from godseye.control.observations import ServiceSample
from godseye.plan.model import ServicePlan
from godseye.policy.sizing import pods_for, prescale_replicas
from godseye.spec.models import Service

# Kubernetes HPA skips changes within 10% of the target (ANCHORS.md).
TOLERANCE = 0.1
# Passes over all services before a reconcile settles; two or three do in practice.
MAX_PASSES = 8
# Rounding slack for ceil/floor of float ratios (4000 / (100 x 0.8) must be 50, not 51).
EPS = 1e-9

__all__ = ["AutoscalerMemory", "AutoscalerView", "reconcile"]

# Which rule asks for a scale-up (see `_want_up`); its reason is only worded when the scale-up happens.
_FLOOR, _HOLD, _NEED, _SPIKE, _LATENCY = range(5)


# What the view alone says of one (cloud, service): cloud, key, fresh sample, weight, need, whether HPA's
# ask sets that need, the event's hold, the event held, and whether the cloud is live.
_Figures = tuple[str, Key, ServiceSample | None, int, int, bool, int, EventWindow | None, bool]


class _Cell:
    """Everything the rules need about one (cloud, service) at this instant.

    What the view alone says (the fresh sample, weight, need, event hold, floor) is worked out once per
    reconcile (`_survey`); `prior`, `current`, `known` and `fit` follow the scratch records and are set
    before each decision (`_Frame.ready`). Scratch of one reconcile only.
    """

    __slots__ = (
        "by_hpa", "cloud", "current", "event", "fit", "floor", "hold", "key", "known", "need", "prior", "sample",
        "weight",
    )

    def __init__(self, figures: _Figures, facts: PlatformFacts) -> None:
        self.cloud, self.key, self.sample, self.weight, self.need, self.by_hpa, self.hold, self.event, _ = figures
        self.floor = facts.floors[figures[1]]
        # Set by `_Frame.ready` before every decision: the record, its replicas, whether the memory
        # already has one for this (cloud, service), and the most replicas the cloud's room holds.
        self.prior: PodScale
        self.current: int
        self.known: bool
        self.fit: int


class _Service:
    __slots__ = ("cooling", "name", "per_pod", "plan", "spec", "spike_ratio", "total_rps")

    def __init__(self, plan: ServicePlan, spec: Service, total_rps: float | None, spike_ratio: float | None,
                 cooling: bool, per_pod: float) -> None:
        self.plan, self.name, self.spec, self.total_rps = plan, plan.name, spec, total_rps
        self.spike_ratio = spike_ratio  # total / rolling average when that exceeds spike_factor
        self.cooling = cooling  # offered load no longer above its rolling average
        self.per_pod = per_pod  # rps one pod carries at the target utilisation


class _Frame:
    """The view indexed once per reconcile: fresh samples, each service's total load, and its cells."""

    __slots__ = ("cells", "events", "facts", "figures", "fresh", "live", "totals", "view")

    def __init__(self, view: AutoscalerView, facts: PlatformFacts, live: list[str],
                 events: dict[str, EventWindow | None]) -> None:
        self.view, self.facts, self.live, self.events = view, facts, live, events
        now, window = view.now_s, view.platform.autoscaling.rolling_window_s
        # The same test as `AutoscalerView.fresh_sample`, once per sample rather than once per look.
        self.fresh = {k: s for k, s in view.samples.items() if not now - s.t_s > window}
        self.totals: dict[str, tuple[float, float] | None] = {}
        self.figures: dict[str, list[_Figures]] = {}
        self.cells: dict[str, list[_Cell]] = {}

    def figures_of(self, plan: ServicePlan) -> list[_Figures]:
        """The service's figures in every cloud, down ones too (worked out on first use)."""
        figures = self.figures.get(plan.name)
        if figures is None:
            _survey(self, plan, None)
            figures = self.figures[plan.name]
        return figures

    def cells_of(self, plan: ServicePlan) -> list[_Cell]:
        """The service's cells in the live clouds: what it is decided on (made on first use: services at
        rest never need them)."""
        cells = self.cells.get(plan.name)
        if cells is None:
            cells = self.cells[plan.name] = [_Cell(figures, self.facts) for figures in self.figures_of(plan) if figures[8]]
        return cells

    def total_offered_rps(self, service: str) -> tuple[float, float] | None:
        """`AutoscalerView.total_offered_rps`, looked up once per service."""
        if service in self.totals:
            return self.totals[service]
        view = self.view
        total: tuple[float, float] | None
        if service in view.offered_rps:
            total = view.offered_rps[service], view.now_s
        else:
            fresh = [s for k in self.facts.keys[service] if (s := self.fresh.get(k)) is not None]
            total = (sum([s.offered_rps for s in fresh]), max([s.t_s for s in fresh])) if fresh else None
        self.totals[service] = total
        return total

    def ready(self, cells: list[_Cell], pods: dict[Key, PodScale], room: CloudRoom) -> tuple[object, ...]:
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


def reconcile(view: AutoscalerView, memory: AutoscalerMemory) -> Decision[AutoscalerMemory]:
    p = view.platform
    facts = facts_of(p, view.plans)
    windows = event_windows(p.events, view.epoch, view.event_history)
    live = [c for c in p.clouds if c not in view.clouds_down]
    # Which event each cloud holds for depends only on the clock, not on the service: looked up once.
    events = {c: holding(windows, view.now_s, facts.lead_s[c]) for c in live}
    frame = _Frame(view, facts, live, events)
    loads = _fold_loads(frame, memory)
    order = facts.order
    # A service left at rest on the same inputs would decide the same records again: only the others
    # are decided; the quiet ones' records stay in the scratch memory, where the others see them.
    # (A service without such inputs on record is decided whatever its inputs: they are worked out only
    # if it ends at rest.)
    inputs = {plan.name: _inputs(frame, plan, memory) for plan in order if plan.name in memory.quiet}
    services = [_service(frame, plan, loads.get(plan.name)) for plan in order
                if plan.name not in inputs or memory.quiet[plan.name] != inputs[plan.name]]
    # The room is only looked at while deciding: on most calls no service is, and it is not summed up.
    trace = _Trace(pods=dict(memory.pods), room=CloudRoom(view, memory.pods) if services else None)
    # Every service first grows in its own clouds; only then do bursts take the room that is left.
    # When that settled with no cloud short of room and no burst pods placed, the bursting passes
    # would decide exactly the same records (nothing to spill, nothing to end): they are skipped.
    if _settle(frame, services, False, trace):
        _settle(frame, services, True, trace)
    start = trace.start
    pods = _cap_to_ready(frame, [plan.name for plan in order], trace)
    actions: list[Action] = []
    for key, first in start.items():
        final = pods[key]
        if final.replicas != first.replicas:
            reason = trace.scale_reason[key]
            if final.waiting_pods > 0:
                reason += f"; {final.replicas} fit the ready nodes, {final.waiting_pods} wait for nodes booting"
            actions.append(ScaleService(key[0], key[1], final.replicas, reason))
        actions.extend(burst_conditions(key, first.burst_pods, final.burst_pods, trace.burst_reason.get(key, "")))
    scaled_down = {k[0] for k, first in start.items() if pods[k].replicas < first.replicas}
    nodes = dict(memory.nodes)
    # Each live cloud's pods' vCPU, gathered in one pass (then summed as `node_ask` would sum them).
    held: dict[str, list[float]] = {cloud: [] for cloud in live}
    for (cloud, name), record in trace.pods.items():
        if cloud in held:
            held[cloud].append(record.replicas * facts.vcpu.get(name, 0.0))
    need_vcpu = {cloud: sum(vcpus) for cloud, vcpus in held.items()}
    for cloud in live:
        # Nodes for every pod the rules want, those waiting for nodes included: nodes first, pods follow.
        ask = node_ask(view, cloud, trace.pods, nodes.get(cloud), cloud in scaled_down, need_vcpu[cloud])
        if ask is not None:
            nodes[cloud] = NodeAsk(ask.nodes, view.now_s)
            actions.append(ask)
    decided = {svc.name for svc in services}
    quiet: dict[str, tuple[object, ...]] = {}
    for plan in order:
        name = plan.name
        if name not in decided:
            quiet[name] = inputs[name]  # at rest on the inputs on record
        elif trace.quiet.get(name, False) and all(pods[(c, name)] is trace.pods[(c, name)] for c in live if (c, name) in pods):
            quiet[name] = inputs[name] if name in inputs else _inputs(frame, plan, memory)
    new_memory = AutoscalerMemory(pods=pods, loads=loads, nodes=nodes, quiet=quiet)
    return Decision(new_memory, tuple(actions), _requeue_after_s(view, facts, new_memory, windows))


def _cap_to_ready(frame: _Frame, order: list[str], trace: _Trace) -> dict[Key, PodScale]:
    """The settled records with every pre-scale cut to what the ready nodes hold; the rest waits for nodes.

    Pending pods of a higher tier preempt running pods of a lower one (Kubernetes PriorityClass), so a
    pre-scale that asked for all its pods while their nodes boot would evict tier 2/3 pods long before
    the event needs them. Per live cloud with a pool status, the vCPU free on the ready nodes after
    every pod already asked for goes first to what the load needs now (a real overload, a failover,
    a burst: served at once, with whatever the scheduler finds), then to event holds, tier first; what
    does not fit stays in `waiting_pods` and is asked for on a later call as nodes turn ready (their
    nodes are asked for now). Without a pool status what is ready is unknown and nothing is held back.
    """
    view = frame.view
    vcpu, floors = frame.facts.vcpu, frame.facts.floors
    wanted, start = trace.pods, trace.start
    out = dict(wanted)
    # A cloud whose records all hold no more than they started from, with none waiting, keeps them all:
    # each is granted its replicas whatever the ready nodes hold (and that is most clouds, most calls).
    grown = {k[0] for k, first in start.items() if first.replicas < wanted[k].replicas}
    grown.update(k[0] for k, record in wanted.items() if record.waiting_pods != 0)
    for cloud in frame.live:
        status = view.pools.get(cloud)
        if status is None or cloud not in grown:
            continue
        keys = [(cloud, name) for name in order if (cloud, name) in wanted]
        before = {k: (start[k] if k in start else wanted[k]).replicas for k in keys}
        # The floor is never held back either: it is the least the service runs with.
        now = {k: min(wanted[k].replicas, max(before[k], trace.urgent.get(k, 0), floors[k])) for k in keys}
        free = status.nodes_ready * view.platform.clouds[cloud].node_vcpu - sum(now[k] * vcpu.get(k[1], 0.0) for k in keys)
        for k in keys:
            record, grant = wanted[k], now[k]
            if record.replicas > grant and vcpu.get(k[1], 0.0) > 0:
                room = max(0, math.floor(free / vcpu[k[1]] + EPS))
                grant = min(record.replicas, grant + room)
                free -= (grant - now[k]) * vcpu[k[1]]
            waiting = record.replicas - grant
            if waiting != record.waiting_pods or grant != record.replicas:
                out[k] = PodScale(grant, record.phase, record.stable_since_s, record.last_up_s, record.last_down_s,
                                  record.burst_pods, record.capacity_rps, record.burst_rps, waiting)
    return out


@dataclass(frozen=True, slots=True)
class _Trace:
    """Scratch of one reconcile (never leaves it): records as they settle, and why they moved; the dicts fill in place."""

    pods: dict[Key, PodScale]
    # Each cloud's vCPU held by every service's pods (at least their floors), kept in step with `pods`
    # (None when no service is decided).
    room: CloudRoom | None
    start: dict[Key, PodScale] = field(default_factory=dict)
    scale_reason: dict[Key, str] = field(default_factory=dict)
    burst_reason: dict[Key, str] = field(default_factory=dict)
    # Per service, whether its last pass left it at rest (see `_Outcome.quiet`).
    quiet: dict[str, bool] = field(default_factory=dict)
    # Per record, the replicas the load (not an event's hold) asks for now, as of its last pass.
    urgent: dict[Key, int] = field(default_factory=dict)


def _settle(frame: _Frame, services: list[_Service], bursting: bool, trace: _Trace) -> bool:
    """Decide every service until nothing moves (at most MAX_PASSES passes).

    Services share each cloud's nodes: one scaling down frees room another may need. Settling makes
    the result a fixed point, so a second call with the same view asks for nothing new. Returns whether
    bursting could still change anything: the last pass moved, or some service had a deficit at a full
    cloud or burst pods placed.
    """
    # Per service, the records and room its last decision here started from, and whether it could burst:
    # a decision is a function of those, so on the same ones it would write the same records again.
    last: dict[str, tuple[tuple[object, ...], bool]] = {}
    room = trace.room
    if room is None:
        return False  # no service to decide: nothing moves, nothing could burst
    for _ in range(MAX_PASSES):
        moved, could_burst = False, False
        for svc in services:
            cells = frame.cells_of(svc.plan)
            seen = frame.ready(cells, trace.pods, room)
            before_seen = last.get(svc.name)
            if before_seen is not None and before_seen[0] == seen:
                could_burst |= before_seen[1]
                continue
            outcomes, spill = _decide_service(frame, svc, cells, bursting)
            last[svc.name] = seen, spill
            could_burst |= spill
            at_rest = True
            for out in outcomes:
                at_rest = at_rest and out.quiet
                key, record = out.key, out.record
                trace.urgent[key] = out.urgent
                trace.start.setdefault(key, out.prior)
                if out.scale_reason:
                    trace.scale_reason[key] = out.scale_reason
                if out.burst_reason:
                    trace.burst_reason[key] = out.burst_reason
                before = trace.pods.get(key)
                if before is record:
                    continue  # kept as it was (the common case): nothing moved, no room changes hands
                moved |= before is None or (before.replicas, before.burst_pods) != (record.replicas, record.burst_pods)
                room.move(key, before, record)
                trace.pods[key] = record
            trace.quiet[svc.name] = at_rest
        if not moved:
            return could_burst
    return True


def _fold_loads(frame: _Frame, memory: AutoscalerMemory) -> dict[str, LoadWindow]:
    window_s = frame.view.platform.autoscaling.rolling_window_s
    loads = dict(memory.loads)
    for plan in frame.facts.plans:
        total = frame.total_offered_rps(plan.name)
        if total is not None:
            loads[plan.name] = loads.get(plan.name, LoadWindow()).add(total[1], total[0], window_s)
    return loads


def _service(frame: _Frame, plan: ServicePlan, load: LoadWindow | None) -> _Service:
    view = frame.view
    a = view.platform.autoscaling
    total = frame.total_offered_rps(plan.name)
    rps = total[0] if total is not None else None
    avg = load.average(view.now_s, a.rolling_window_s) if load is not None else None
    ratio = rps / avg if rps is not None and avg is not None and avg > 0 else None
    spike = ratio if ratio is not None and ratio > a.spike_factor else None
    cooling = ratio is None or ratio <= 1 + TOLERANCE
    spec = view.platform.services[plan.name]
    return _Service(plan, spec, rps, spike, cooling, spec.pod_rps * a.target_utilization)


def _survey(frame: _Frame, plan: ServicePlan, memory: AutoscalerMemory | None) -> tuple[object, ...]:
    """What the view alone says of the service in each cloud (its fresh sample, weight, need (rule 1),
    the event held and its hold), kept in `frame.figures`; with `memory`, what it is at rest on instead
    (most services only ever need that: the figures are worked out again for the few decided).

    At rest, a service is decided on, per cloud: live or not, the weight, the need, the event held, and
    which side of each stability and latency threshold its fresh sample falls. A sample whose figures
    move within those thresholds leaves the need and every rule's outcome for a service at rest as
    they were, so it counts as no change. The spike ratio, the sample times and the timers are left
    out: at rest no step waits on them (see `_Outcome.quiet`).
    The need is `_need`'s and `pods_for`'s arithmetic, with the per-service factors out of the loop.
    """
    view, facts, name, fresh, events = frame.view, frame.facts, plan.name, frame.fresh, frame.events
    a, spec = view.platform.autoscaling, view.platform.services[name]
    target = a.target_utilization
    hot_bound = target * (1 + TOLERANCE)
    per_pod = spec.pod_rps * target
    p99_sla, error_sla = spec.p99_sla_ms, spec.error_rate_sla
    total = frame.total_offered_rps(name)
    load = total[0] if total is not None else 0.0
    weights = view.weights.get(name, plan.weights)
    down, floors = view.clouds_down, facts.floors
    pods_of = memory.pods if memory is not None else None
    figures: list[_Figures] = []
    cells: list[object] = []
    for cloud, key in zip(facts.clouds, facts.keys[name], strict=True):
        s = fresh.get(key)
        weight = 0 if cloud in down else weights.get(cloud, 0)
        rps = load * weight / 100
        pods = math.ceil(rps / per_pod - EPS) if rps > 0 else 0
        by_hpa, hot = False, 0.0
        if s is not None:
            hot = s.memory_utilization if s.memory_utilization is not None and s.memory_utilization > s.cpu_utilization \
                else s.cpu_utilization
            if s.ready_replicas > 0:
                by_use = math.ceil(s.ready_replicas * hot / target - EPS)
                if hot > hot_bound and by_use > pods:
                    pods, by_hpa = by_use, True
        event = events.get(cloud)
        hold = prescale_replicas(spec.rps, event.peak_multiplier, weight, spec.pod_rps, a) if event and weight > 0 else 0
        live = cloud in events
        if pods_of is None:
            figures.append((cloud, key, s, weight, pods, by_hpa, hold, event, live))
            continue
        # The record itself too: a memory changed from outside is decided afresh, not trusted at rest.
        record = pods_of.get(key)
        quality: tuple[bool, ...] | None = None
        if s is not None:
            drain = s.served_rps * p99_sla / 1000
            covers = s.ready_replicas > 0 and (record is None or s.ready_replicas >= record.replicas)
            quality = (
                s.p99_ms <= p99_sla, s.error_rate <= error_sla, hot <= hot_bound, s.queue_depth <= drain,
                covers and s.p99_ms > p99_sla and s.queue_depth > drain,
            )
        need: object = pods
        if record is not None:
            # At rest (replicas within the room) the need only counts through where it stands against
            # the replicas: over HPA's tolerance (overload), over them (unstable), or at least them
            # together with the floor and an event's hold (they must all stay; below, a scale-down may start).
            replicas = record.replicas
            need = (pods > replicas * (1 + TOLERANCE), pods > replicas, max(floors[key], hold, pods) >= replicas)
        cells.append((live, weight, need, quality, event, record))
    if pods_of is None:
        frame.figures[name] = figures
    return tuple(cells)


def _inputs(frame: _Frame, plan: ServicePlan, memory: AutoscalerMemory) -> tuple[object, ...]:
    """What a service at rest is decided on (see `_survey`)."""
    return _survey(frame, plan, memory)


def _pods_for(rps: float, svc: Service, utilization: float) -> int:
    return pods_for(rps, svc.pod_rps, utilization)


def _need(
    view: AutoscalerView, total_rps: float | None, spec: Service, sample: ServiceSample | None, weight: int
) -> tuple[int, bool]:
    """Pods the load needs here (rule 1), and whether HPA's cpu/memory ask is what sets it."""
    a = view.platform.autoscaling
    need = _pods_for((total_rps or 0.0) * weight / 100, spec, a.target_utilization)
    if sample is not None and sample.ready_replicas > 0:
        used = _hottest(sample)[1]
        by_use = math.ceil(sample.ready_replicas * used / a.target_utilization - EPS)
        if used > a.target_utilization * (1 + TOLERANCE) and by_use > need:
            return by_use, True
    return need, False


def _hottest(s: ServiceSample) -> tuple[str, float]:
    """The busier of cpu and memory: HPA with both metrics scales to the larger of the two asks."""
    if s.memory_utilization is not None and s.memory_utilization > s.cpu_utilization:
        return "memory", s.memory_utilization
    return "cpu", s.cpu_utilization


def _step_due(view: AutoscalerView, cell: _Cell) -> bool:
    """One reactive step per metrics interval, and only once a sample newer than the last step is in."""
    last = cell.prior.last_up_s
    lag = view.platform.autoscaling.metrics_lag_s
    return cell.sample is not None and cell.sample.t_s > last and view.now_s >= last + lag


def _latency_overload(svc: _Service, cell: _Cell) -> bool:
    """p99 over SLA with a queue that would not drain within the SLA, on every pod asked for."""
    s = cell.sample
    if s is None or s.ready_replicas < cell.current or s.ready_replicas == 0:
        return False
    return s.p99_ms > svc.spec.p99_sla_ms and s.queue_depth > _drain_bound(svc.spec, s)


def _drain_bound(spec: Service, s: ServiceSample) -> float:
    return s.served_rps * spec.p99_sla_ms / 1000


def _want_up(view: AutoscalerView, svc: _Service, cell: _Cell) -> tuple[int, int, int]:
    """Replicas the rules ask for without capacity limits, the rule that asks most (`_want_reason` words
    it), and what the rules other than an event's hold ask for (the load now, which must not wait for nodes).

    Of rules asking equally, the first in the order floor, hold, load wins."""
    a = view.platform.autoscaling
    cur = cell.current
    n, why, pressing = cell.floor, _FLOOR, cell.floor
    if cell.hold > n:
        n, why = cell.hold, _HOLD
    overloaded = cell.need > cur * (1 + TOLERANCE)
    latency = _latency_overload(svc, cell)
    ask, rule = 0, -1
    if svc.spike_ratio is not None and (overloaded or latency):
        if _step_due(view, cell):
            ask, rule = _step(a.reactive_step, cell), _SPIKE
    elif overloaded:
        ask, rule = cell.need, _NEED
    elif latency and _step_due(view, cell) and cell.sample is not None:
        ask, rule = _step(a.reactive_step, cell), _LATENCY
    if rule >= 0:
        pressing = max(pressing, ask)
        if ask > n:
            n, why = ask, rule
    return n, why, pressing


def _step(reactive_step: float, cell: _Cell) -> int:
    cur = cell.current
    return math.ceil(cur * (1 + reactive_step) - EPS) if cur > 0 else max(1, cell.need)


def _want_reason(view: AutoscalerView, svc: _Service, cell: _Cell, rule: int) -> str:
    """Why `rule` asks for what `_want_up` found it asks for, in the words of the seed's flow."""
    a = view.platform.autoscaling
    if rule == _FLOOR:
        return f"floor: plan baseline + {a.floor_buffer:.0%} is {cell.floor} pods"
    if rule == _HOLD:
        return _hold_reason(view, svc, cell)
    if rule == _NEED:
        return _need_reason(view, svc, cell)
    cur, step = cell.current, _step(a.reactive_step, cell)
    pct = f"+{a.reactive_step:.0%} pods ({cur} -> {step})"
    if rule == _SPIKE:
        what = "organic spike" if cell.hold == 0 else "spike above the event's prediction,"
        return f"{what} {svc.spike_ratio or 0:.1f}x rolling avg: {pct}"
    s = cell.sample
    assert s is not None  # the latency rule asks only on a fresh sample
    return f"p99 {s.p99_ms:.0f} ms over SLA {svc.spec.p99_sla_ms:.0f} ms with {s.queue_depth:.0f} queued: {pct}"


def _need_reason(view: AutoscalerView, svc: _Service, cell: _Cell) -> str:
    a, sample = view.platform.autoscaling, cell.sample
    if cell.by_hpa and sample is not None:
        resource, used = _hottest(sample)
        return (
            f"{resource} {used:.0%} on {sample.ready_replicas} pods over target "
            f"{a.target_utilization:.0%}: HPA asks {cell.need} pods"
        )
    expected = (svc.total_rps or 0.0) * cell.weight / 100
    return (
        f"expected {expected:.0f} rps ({cell.weight}% of {svc.total_rps or 0:.0f}) needs {cell.need} pods "
        f"at {a.target_utilization:.0%} utilisation"
    )


def _hold_reason(view: AutoscalerView, svc: _Service, cell: _Cell) -> str:
    a, event = view.platform.autoscaling, cell.event
    assert event is not None  # only an event holds
    peak_rps = svc.spec.rps * event.peak_multiplier * cell.weight / 100
    reason = (
        f"{describe_start(event, view.now_s)}: pre-scale to predicted peak {event.peak_multiplier:.1f}x "
        f"+ {a.prescale_buffer:.0%} ({event.source}; {peak_rps:.0f} rps here)"
    )
    if svc.spike_ratio is not None:
        reason = f"spike {svc.spike_ratio:.1f}x rolling avg matches {event.name}; " + reason
    return reason


class _Outcome:
    __slots__ = ("burst_reason", "key", "prior", "quiet", "record", "scale_reason", "urgent")

    def __init__(self, key: Key, prior: PodScale, record: PodScale, scale_reason: str, burst_reason: str, quiet: bool,
                 urgent: int) -> None:
        self.key, self.prior, self.record = key, prior, record  # prior: the record the decision started from
        self.scale_reason = scale_reason  # why the replicas changed in this pass ("" when they did not)
        self.burst_reason = burst_reason  # why burst pods sit here ("" when none do)
        # At rest: the record is its prior, in a phase no timer moves, with no burst and no pods waiting,
        # and holds at least what every rule asks within the room it has, so neither the clock nor another
        # service's moves can change it while its inputs stay the same.
        self.quiet = quiet
        self.urgent = urgent  # replicas asked for now whatever the ready nodes hold (see `_cap_to_ready`)


def _decide_service(frame: _Frame, svc: _Service, cells: list[_Cell], bursting: bool) -> tuple[list[_Outcome], bool]:
    """Scale-ups within each cloud's room, the burst of what does not fit, then scale-downs.

    While not `bursting`, burst pods already placed are kept as they are (and protected from the
    scale-down) but none are added or moved. Also returns whether a burst is in play for the service
    (a deficit at a full cloud, or burst pods placed), i.e. whether bursting could decide differently.
    """
    view = frame.view
    wants: list[tuple[int, int, int, int]] = []
    # Only what the load (or a known event) needs beyond a full cloud spills over, not a step's
    # overshoot: the burst is then a function of the inputs and a second call leaves it alone.
    sources: list[str] = []
    deficit, spill = 0, False
    out: list[_Outcome] = []
    for cell in cells:
        want, rule, pressing = _want_up(view, svc, cell)
        fit = cell.fit
        up = max(cell.current, min(want, fit))
        short = max(cell.need, cell.hold) - up
        if short > 0 and up >= fit:
            sources.append(cell.cloud)
            deficit += short
        spill |= cell.prior.burst_pods > 0
        if bursting:
            wants.append((want, rule, pressing, up))
        else:
            # Burst pods already placed stay as they are; none are added: each cloud is decided on its own.
            kept = cell.prior.burst_pods
            _decide_cell(view, svc, cell, want, rule, pressing, up, kept if kept > 0 else 0, "", out)
    spill |= bool(sources)
    if bursting:
        room = {cell.cloud: cell.fit - min(cell.fit, max(w[0], cell.need))
                for cell, w in zip(cells, wants, strict=True) if cell.cloud not in sources}
        placed = {cell.cloud: cell.prior.burst_pods for cell in cells}
        size = frame.facts.size_vcpu  # max_nodes x node_vcpu
        burst = spread_burst(room, placed, {cell.cloud: size[cell.cloud] for cell in cells}, deficit)
        for cell, (want, rule, pressing, up) in zip(cells, wants, strict=True):
            pods = burst.get(cell.cloud, 0)
            why_burst = burst_reason(view, sources, pods, cell.cloud, svc.name) if pods > 0 else ""
            _decide_cell(view, svc, cell, want, rule, pressing, up, pods, why_burst, out)
    return out, spill


def _decide_cell(
    view: AutoscalerView, svc: _Service, cell: _Cell, want: int, rule: int, pressing: int, up: int, pods: int,
    why_burst: str, out: list[_Outcome],
) -> None:
    """The record of one cloud, given what the rules ask (`_want_up`), the replicas that fit (`up`) and
    the `pods` of other clouds' burst it carries (`why_burst` says why, when it adds them)."""
    prior = cell.prior
    base = min(cell.fit, max(want, cell.need))
    target = up
    if why_burst and base + pods > target:
        target = base + pods
    # Growth beyond the load now (an event's hold) may wait for nodes; the load's and a burst's may not.
    # (The replicas this reconcile started from are kept in `_cap_to_ready`, not here: later passes see settled ones.)
    urgent = min(max(pressing, cell.need), cell.fit) + (pods if why_burst else 0)
    if target > cell.current:
        if target != up:
            reason = why_burst
        else:
            reason = _want_reason(view, svc, cell, rule)
            if up < want:
                reason += f"; {cell.cloud} holds {up} at max_nodes {view.platform.clouds[cell.cloud].max_nodes}"
        phase: Phase = "prescale" if cell.hold > 0 else "reactive"
        record = PodScale(target, phase, None, view.now_s, prior.last_down_s, pods, target * svc.per_pod,
                          pods * svc.per_pod, prior.waiting_pods)
    else:
        record, reason = _consider_down(view, svc, cell, base + pods, pods)
    if record.replicas > 0 or cell.known or reason:
        quiet = (
            pods == 0 and cell.known and record.phase in ("normal", "prescale") and record.waiting_pods == 0
            and record.burst_pods == 0 and max(want, cell.need) <= cell.current <= cell.fit
            and (record is prior or record == prior)
        )
        out.append(_Outcome(cell.key, prior, record, reason, why_burst, quiet, min(urgent, record.replicas)))


def _stable(svc: _Service, cell: _Cell, target_utilization: float) -> bool:
    if cell.need > cell.current:
        return False
    s = cell.sample
    if s is None:
        # No fresh sample: stable only where steering sends nothing, so there is nothing to measure.
        return cell.weight == 0
    return (
        s.p99_ms <= svc.spec.p99_sla_ms
        and s.error_rate <= svc.spec.error_rate_sla
        and _hottest(s)[1] <= target_utilization * (1 + TOLERANCE)
        and s.queue_depth <= _drain_bound(svc.spec, s)
    )


def _consider_down(view: AutoscalerView, svc: _Service, cell: _Cell, keep: int, burst: int) -> tuple[PodScale, str]:
    """Monitor -> stable? -> traffic back to baseline? -> gradual scale-down, never below what must stay.

    The record carries `burst` burst pods and the capacity of its replicas."""
    a, now = view.platform.autoscaling, view.now_s
    prior = cell.prior
    if not _stable(svc, cell, a.target_utilization):
        overloaded = cell.need > cell.current or _latency_overload(svc, cell)
        return _timers(prior, None, "reactive" if overloaded else "monitor", burst, svc.per_pod), ""
    since = prior.stable_since_s if prior.stable_since_s is not None else now
    lower = min(cell.current, max(keep, cell.floor, cell.hold))
    if cell.current <= lower:
        return _timers(prior, since, "prescale" if cell.hold > 0 else "normal", burst, svc.per_pod), ""
    due = now >= since + a.stable_s and now >= prior.last_down_s + a.scale_down_interval_s
    if not (due and svc.cooling and cell.hold == 0):
        return _timers(prior, since, "monitor", burst, svc.per_pod), ""
    target = max(lower, min(cell.current - 1, math.floor(cell.current * (1 - a.scale_down_step) + EPS)))
    s = cell.sample
    quality = f"p99 {s.p99_ms:.0f} ms under SLA {svc.spec.p99_sla_ms:.0f} ms" if s is not None else "no load on these pods"
    reason = (
        f"stable {a.stable_s / 60:.0f} min, {quality}: -{a.scale_down_step:.0%} "
        f"({cell.current} -> {target} pods, never below {lower})"
    )
    record = PodScale(target, "scale_down", since, prior.last_up_s, now, burst, target * svc.per_pod,
                      burst * svc.per_pod, prior.waiting_pods)
    return record, reason


def _timers(prior: PodScale, stable_since_s: float | None, phase: Phase, burst: int, per_pod: float) -> PodScale:
    """`prior` with its stable timer, phase and burst set and the capacity its pods carry; the record
    itself when all of that already is (the common case: settled records are re-derived every pass)."""
    capacity, burst_rps = prior.replicas * per_pod, burst * per_pod
    if (prior.phase == phase and prior.stable_since_s == stable_since_s and prior.burst_pods == burst
            and prior.capacity_rps == capacity and prior.burst_rps == burst_rps):
        return prior
    return PodScale(prior.replicas, phase, stable_since_s, prior.last_up_s, prior.last_down_s, burst, capacity, burst_rps,
                    prior.waiting_pods)


def _requeue_after_s(
    view: AutoscalerView, facts: PlatformFacts, memory: AutoscalerMemory, windows: tuple[EventWindow, ...]
) -> float | None:
    """Seconds until the next timer (a pre-scale start or event end, a step or scale-down tick), if any.

    Without a timer the autoscaler has nothing to do until new samples or weights arrive.
    """
    a, now = view.platform.autoscaling, view.now_s
    times: list[float] = []
    for cloud in facts.clouds:
        boundary = next_boundary_s(windows, now, facts.lead_s[cloud])
        if boundary is not None:
            times.append(boundary)
    waiting = {cloud for (cloud, _), record in memory.pods.items() if record.waiting_pods > 0}
    for cloud in sorted(waiting):
        # Pods waiting for nodes are asked for once those nodes are ready (the pool status says so).
        asked = memory.nodes.get(cloud)
        if asked is not None:
            times.append(asked.at_s + view.platform.clouds[cloud].node_boot_s)
    for record in memory.pods.values():
        if record.phase == "reactive":
            # The next step is due one metrics interval after the last, or after the next sample.
            step_s = record.last_up_s + a.metrics_lag_s
            times.append(step_s if step_s > now else now + a.metrics_lag_s)
        if record.phase == "monitor" and record.stable_since_s is not None:
            times.append(max(record.stable_since_s + a.stable_s, record.last_down_s + a.scale_down_interval_s))
        if record.phase == "scale_down":
            times.append(record.last_down_s + a.scale_down_interval_s)
    later = [t for t in times if t > now]
    return min(later) - now if later else None
