"""The autoscaler's scale-up asks (rules 1-4 of `autoscaler`): what each rule wants for one cloud, and why.

A floor, an event's hold, the load's need (HPA's ask when cpu or memory runs hotter), a reactive step
on an organic spike or a latency overload; `want_reason` words the rule that asks most.
"""

from __future__ import annotations

import math

from godseye.control.autoscaler_frame import EPS, TOLERANCE, Cell, ServiceLoad, hottest, latency_overload
from godseye.control.autoscaler_model import AutoscalerView
from godseye.control.events_calendar import describe_start

# Which rule asks for a scale-up (see `want_up`); its reason is only worded when the scale-up happens.
FLOOR, HOLD, NEED, SPIKE, LATENCY = range(5)


def _step_due(view: AutoscalerView, cell: Cell) -> bool:
    """One reactive step per metrics interval, and only once a sample newer than the last step is in."""
    last = cell.prior.last_up_s
    lag = view.platform.autoscaling.metrics_lag_s
    return cell.sample is not None and cell.sample.t_s > last and view.now_s >= last + lag


def want_up(view: AutoscalerView, svc: ServiceLoad, cell: Cell) -> tuple[int, int, int]:
    """Replicas the rules ask for without capacity limits, the rule that asks most (`want_reason` words
    it), and what the rules other than an event's hold ask for (the load now, which must not wait for nodes).

    Of rules asking equally, the first in the order floor, hold, load wins."""
    a = view.platform.autoscaling
    cur = cell.current
    n, why, pressing = cell.floor, FLOOR, cell.floor
    if cell.hold > n:
        n, why = cell.hold, HOLD
    overloaded = cell.need > cur * (1 + TOLERANCE)
    latency = latency_overload(svc, cell)
    ask, rule = 0, -1
    if svc.spike_ratio is not None and (overloaded or latency):
        if _step_due(view, cell):
            ask, rule = _step(a.reactive_step, cell), SPIKE
    elif overloaded:
        ask, rule = cell.need, NEED
    elif latency and _step_due(view, cell) and cell.sample is not None:
        ask, rule = _step(a.reactive_step, cell), LATENCY
    if rule >= 0:
        pressing = max(pressing, ask)
        if ask > n:
            n, why = ask, rule
    return n, why, pressing


def _step(reactive_step: float, cell: Cell) -> int:
    cur = cell.current
    return math.ceil(cur * (1 + reactive_step) - EPS) if cur > 0 else max(1, cell.need)


def want_reason(view: AutoscalerView, svc: ServiceLoad, cell: Cell, rule: int) -> str:
    """Why `rule` asks for what `want_up` found it asks for, in the words of the seed's flow."""
    a = view.platform.autoscaling
    if rule == FLOOR:
        return f"floor: plan baseline + {a.floor_buffer:.0%} is {cell.floor} pods"
    if rule == HOLD:
        return _hold_reason(view, svc, cell)
    if rule == NEED:
        return _need_reason(view, svc, cell)
    cur, step = cell.current, _step(a.reactive_step, cell)
    pct = f"+{a.reactive_step:.0%} pods ({cur} -> {step})"
    if rule == SPIKE:
        what = "organic spike" if cell.hold == 0 else "spike above the event's prediction,"
        return f"{what} {svc.spike_ratio or 0:.1f}x rolling avg: {pct}"
    s = cell.sample
    assert s is not None  # the latency rule asks only on a fresh sample
    return f"p99 {s.p99_ms:.0f} ms over SLA {svc.spec.p99_sla_ms:.0f} ms with {s.queue_depth:.0f} queued: {pct}"


def _need_reason(view: AutoscalerView, svc: ServiceLoad, cell: Cell) -> str:
    a, sample = view.platform.autoscaling, cell.sample
    if cell.by_hpa and sample is not None:
        resource, used = hottest(sample)
        return (
            f"{resource} {used:.0%} on {sample.ready_replicas} pods over target "
            f"{a.target_utilization:.0%}: HPA asks {cell.need} pods"
        )
    expected = (svc.total_rps or 0.0) * cell.weight / 100
    return (
        f"expected {expected:.0f} rps ({cell.weight}% of {svc.total_rps or 0:.0f}) needs {cell.need} pods "
        f"at {a.target_utilization:.0%} utilisation"
    )


def _hold_reason(view: AutoscalerView, svc: ServiceLoad, cell: Cell) -> str:
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
