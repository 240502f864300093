"""The pods the autoscaler will ask for in each cloud: in steady state, at an event's peak, after a failover.

The placement table's replicas are the plan's baseline (`rps / pod_rps`, the floor's base); the
autoscaler runs more than that: pods at the target utilisation, a known event's predicted peak plus
the pre-scale buffer, never below the floor. Capacity, event and N-1 checks count these asks, through
the same functions the autoscaler calls (`policy.sizing`), so a check that holds means the autoscaler
will not need more than `max_nodes`.
"""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.model import ServicePlan
from godseye.plan.nodes import PodCounts, add_pods
from godseye.policy.sizing import floor_replicas, load_replicas, prescale_replicas
from godseye.spec.models import Platform


def ask(platform: Platform, svc: ServicePlan, cloud: str, rps_here: float, hold: int = 0) -> int:
    """Replicas the autoscaler keeps in `cloud` while steering sends it `rps_here` of `svc`.

    The largest of: the floor (the plan's replicas here + floor_buffer), the load at the target
    utilisation, and `hold` (an event's pre-scale).
    """
    placed = svc.placement.get(cloud)
    baseline = placed.replicas if placed is not None else 0
    a = platform.autoscaling
    return max(floor_replicas(baseline, a), load_replicas(rps_here, svc.pod_rps, a), hold)


def steady_asks(platform: Platform, services: Sequence[ServicePlan]) -> dict[str, PodCounts]:
    """Every cloud's pods in steady state: each placed (cloud, service) at its ask for its weight."""
    out: dict[str, PodCounts] = {c: {} for c in platform.clouds}
    for svc in services:
        for cloud in svc.placement:
            add_pods(out, cloud, svc.pod_vcpu, ask(platform, svc, cloud, svc.rps * svc.weights.get(cloud, 0) / 100))
    return out


def event_asks(platform: Platform, services: Sequence[ServicePlan], peak: float) -> dict[str, PodCounts]:
    """Every cloud's pods held for an event of predicted `peak`: the peak + pre-scale buffer where traffic goes.

    A cloud steering sends nothing (a warm standby) gets no pre-scale and stays at its floor.
    """
    out: dict[str, PodCounts] = {c: {} for c in platform.clouds}
    for svc in services:
        for cloud in svc.placement:
            add_pods(out, cloud, svc.pod_vcpu, held_replicas(platform, svc, cloud, peak))
    return out


def held_replicas(platform: Platform, svc: ServicePlan, cloud: str, peak: float) -> int:
    """One (cloud, service)'s replicas held at an event of predicted `peak` (what `event_asks` counts)."""
    weight = svc.weights.get(cloud, 0)
    hold = prescale_replicas(svc.rps, peak, weight, svc.pod_rps, platform.autoscaling) if weight > 0 else 0
    return ask(platform, svc, cloud, svc.rps * peak * weight / 100, hold)
