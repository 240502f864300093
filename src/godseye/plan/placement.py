"""Where each service runs: its clouds, their roles, replicas and steady-state traffic weights.

Tier 1 is active in as many clouds as its tier row asks (all three in the seed) with the same
replicas in each, so no cloud holds more than its share of any tier-1 service. Tier 2 runs active
in one cloud with a warm standby in another; tier 3 runs in one cloud with a cross-region backup.
Single-cloud roles are spread so that the most loaded cloud stays as light as possible.
"""

from __future__ import annotations

import math

from godseye.plan.model import CloudPlacement, ServicePlan
from godseye.policy.split import capacity, spec_split, whole_percents
from godseye.policy.tiers import classify, tier_table
from godseye.spec.models import Platform, Service


def replicas_for(rps: float, pod_rps: float) -> int:
    return math.ceil(rps / pod_rps - 1e-9) if rps > 0 else 0


def place_services(platform: Platform) -> list[ServicePlan]:
    table = tier_table(platform)
    # vCPU each cloud already carries, to spread single-cloud services.
    load: dict[str, float] = {c: 0.0 for c in platform.clouds}
    plans: dict[str, ServicePlan] = {}
    decisions = {name: classify(svc) for name, svc in platform.services.items()}
    # Multi-cloud tiers first, then larger services first, so spreading sees the big rocks early.
    def vcpu(n: str) -> float:
        s = platform.services[n]
        return s.rps / s.pod_rps * s.pod_vcpu

    order = sorted(platform.services, key=lambda n: (decisions[n].tier, -vcpu(n), n))
    for name in order:
        svc = platform.services[name]
        decision = decisions[name]
        policy = table[decision.tier]
        if policy.standby_fraction == 0 and policy.clouds > 1:
            placement, weights, reason = _active_everywhere(platform, svc, policy.clouds)
        elif policy.clouds >= 2:
            placement, weights, reason = _active_standby(platform, svc, policy.standby_fraction, load)
        else:
            placement, weights, reason = _single(platform, svc, load)
        for cloud, p in placement.items():
            load[cloud] += p.replicas * svc.pod_vcpu
        active = [c for c, p in placement.items() if p.role == "active"]
        backup = platform.clouds[active[0]].backup_region if policy.clouds == 1 else None
        plans[name] = ServicePlan(
            name=name,
            tier=decision.tier,
            tier_reason=decision.reason,
            tier_note=decision.disagreement,
            mode=policy.mode,
            rto_target_s=policy.rto_s,
            rpo_target_s=policy.rpo_s,
            cost_multiplier=policy.cost_multiplier,
            placement=placement,
            placement_reason=reason,
            weights=weights,
            rps=svc.rps,
            pod_rps=svc.pod_rps,
            pod_vcpu=svc.pod_vcpu,
            backup_region=backup,
        )
    return [plans[name] for name in platform.services]


def _by_capacity(platform: Platform) -> list[str]:
    return sorted(platform.clouds, key=lambda c: (-capacity(platform, c), list(platform.clouds).index(c)))


def _active_everywhere(
    platform: Platform, svc: Service, n: int
) -> tuple[dict[str, CloudPlacement], dict[str, int], str]:
    clouds = [c for c in platform.clouds if c in _by_capacity(platform)[:n]]
    per_cloud = max(1, math.ceil(max(replicas_for(svc.rps, svc.pod_rps), svc.min_replicas) / len(clouds)))
    placement = {c: CloudPlacement("active", per_cloud) for c in clouds}
    weights = whole_percents({c: 1.0 for c in clouds})
    full = {c: weights.get(c, 0) for c in platform.clouds}
    reason = f"active in {len(clouds)} clouds, {per_cloud} replicas each (an equal share per cloud)"
    return placement, full, reason


def _least_loaded(platform: Platform, load: dict[str, float], exclude: set[str]) -> str:
    def headroom(c: str) -> float:
        return 1 - load[c] / capacity(platform, c)

    return max((c for c in platform.clouds if c not in exclude), key=lambda c: (headroom(c), -list(platform.clouds).index(c)))


def _active_standby(
    platform: Platform, svc: Service, standby_fraction: float, load: dict[str, float]
) -> tuple[dict[str, CloudPlacement], dict[str, int], str]:
    if svc.primary is not None:
        active, why_active = svc.primary, f"active in {svc.primary} (the service's primary)"
    else:
        active = _least_loaded(platform, load, set())
        why_active = f"active in {active} (most headroom when placed)"
    others = [c for c in platform.clouds if c != active]
    split = spec_split(platform, active, others)
    if split is not None:
        standby = max(split, key=lambda c: (split[c], -others.index(c)))
        why_standby = f"warm standby in {standby} (failover_split sends {active}'s traffic there first)"
    else:
        standby = _least_loaded(platform, load, {active})
        why_standby = f"warm standby in {standby} (most headroom among the others)"
    full = max(replicas_for(svc.rps, svc.pod_rps), svc.min_replicas)
    warm = max(1, math.ceil(full * standby_fraction))
    placement = {active: CloudPlacement("active", full), standby: CloudPlacement("standby", warm)}
    weights = {c: (100 if c == active else 0) for c in platform.clouds}
    return placement, weights, f"{why_active}; {why_standby}, {warm} warm pods"


def _single(
    platform: Platform, svc: Service, load: dict[str, float]
) -> tuple[dict[str, CloudPlacement], dict[str, int], str]:
    if svc.primary is not None:
        cloud, why = svc.primary, f"runs in {svc.primary} (the service's primary)"
    else:
        cloud = _least_loaded(platform, load, set())
        why = f"runs in {cloud} (most headroom when placed)"
    backup = platform.clouds[cloud].backup_region
    why += f"; backups to {backup}" if backup else "; no backup_region declared for this cloud"
    full = max(replicas_for(svc.rps, svc.pod_rps), svc.min_replicas)
    weights = {c: (100 if c == cloud else 0) for c in platform.clouds}
    return {cloud: CloudPlacement("active", full)}, weights, why
