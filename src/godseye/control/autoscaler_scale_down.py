"""The autoscaler's scale-down (rule 7 of `autoscaler`): stable for stable_s with the load cooling and
no event holding, then -scale_down_step every scale_down_interval_s, never below what must stay.
"""

from __future__ import annotations

import math

from godseye.control.autoscaler_frame import EPS, TOLERANCE, Cell, ServiceLoad, drain_bound, hottest, latency_overload
from godseye.control.autoscaler_model import AutoscalerView, Phase, PodScale


def stable(svc: ServiceLoad, cell: Cell, target_utilization: float) -> bool:
    if cell.need > cell.current:
        return False
    s = cell.sample
    if s is None:
        # No fresh sample: stable only where steering sends nothing, so there is nothing to measure.
        return cell.weight == 0
    return (
        s.p99_ms <= svc.spec.p99_sla_ms
        and s.error_rate <= svc.spec.error_rate_sla
        and hottest(s)[1] <= target_utilization * (1 + TOLERANCE)
        and s.queue_depth <= drain_bound(svc.spec, s)
    )


def consider_down(view: AutoscalerView, svc: ServiceLoad, cell: Cell, keep: int, burst: int) -> tuple[PodScale, str]:
    """Monitor -> stable? -> traffic back to baseline? -> gradual scale-down, never below what must stay.

    The record carries `burst` burst pods and the capacity of its replicas."""
    a, now = view.platform.autoscaling, view.now_s
    prior = cell.prior
    if not stable(svc, cell, a.target_utilization):
        overloaded = cell.need > cell.current or latency_overload(svc, cell)
        return timers(prior, None, "reactive" if overloaded else "monitor", burst, svc.per_pod), ""
    since = prior.stable_since_s if prior.stable_since_s is not None else now
    lower = min(cell.current, max(keep, cell.floor, cell.hold))
    if cell.current <= lower:
        return timers(prior, since, "prescale" if cell.hold > 0 else "normal", burst, svc.per_pod), ""
    due = now >= since + a.stable_s and now >= prior.last_down_s + a.scale_down_interval_s
    if not (due and svc.cooling and cell.hold == 0):
        return timers(prior, since, "monitor", burst, svc.per_pod), ""
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


def timers(prior: PodScale, stable_since_s: float | None, phase: Phase, burst: int, per_pod: float) -> PodScale:
    """`prior` with its stable timer, phase and burst set and the capacity its pods carry; the record
    itself when all of that already is (the common case: settled records are re-derived every pass)."""
    capacity, burst_rps = prior.replicas * per_pod, burst * per_pod
    if (prior.phase == phase and prior.stable_since_s == stable_since_s and prior.burst_pods == burst
            and prior.capacity_rps == capacity and prior.burst_rps == burst_rps):
        return prior
    return PodScale(prior.replicas, phase, stable_since_s, prior.last_up_s, prior.last_down_s, burst, capacity, burst_rps,
                    prior.waiting_pods)
