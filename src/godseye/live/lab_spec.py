"""The lab's platform: the user's spec scaled down to what two shared cores can run for real.

The lab runs the same controllers as production, so it needs a `Platform` and `ServicePlan`s. This
module derives them from the user's spec instead of hard-coding a toy:

- services: the first `services_per_tier[t]` services of each tier, in spec order;
- traffic: `total_rps` split across them in proportion to their spec rps;
- replicas: one lab process serves `pod_rps`; each cloud runs at most `replicas_cap` of a service
  (the stated cap), whatever the plan asks for;
- health checks: the lab's fast override (`health_check`), because the lab measures seconds;
- every other duration of the spec (canary bake, stabilisation, hold-down, autoscaling windows,
  tier-3 deferral) is divided by `time_scale`, so a drill plays in minutes what the spec says in hours.

Each replica process gets its own loopback address in its cloud's range (127.0.<cloud+1>.<10+replica>)
and its service's port; the edge listens on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from godseye.live.paths import cloud_address
from godseye.plan.model import CloudPlacement, ServicePlan
from godseye.plan.placement import place_services
from godseye.policy.tiers import classify, tier_table
from godseye.spec.models import HealthCheck, Platform, Service

# Host numbers inside a cloud's 127.0.<i>.0/24: replicas from here up, probes' source address below.
REPLICA_HOST_BASE = 10
VANTAGE_HOST = 200
LAB_HEALTH_CHECK = HealthCheck(interval_s=0.5, timeout_s=0.25, failure_threshold=3, success_threshold=2)


@dataclass(frozen=True, slots=True)
class LabSizing:
    """How big the lab is. The defaults fit two shared cores: 3 services, at most 9 service processes."""

    services_per_tier: dict[int, int] = field(default_factory=lambda: {1: 2, 2: 1, 3: 0})
    total_rps: float = 150.0
    # What one lab service process serves within its SLA on this machine (aiohttp, one core shared).
    pod_rps: float = 200.0
    replicas_cap: int = 2
    health_check: HealthCheck = LAB_HEALTH_CHECK
    time_scale: float = 60.0
    # Seconds between reads of HAProxy's counters; steering compares splits over this window.
    stats_interval_s: float = 1.0
    edge_port: int = 28080
    stats_port: int = 28081
    service_port_base: int = 28100
    alerts_port: int = 28090
    control_port: int = 28091
    # The edge lab plays traffic only; the PostgreSQL lab (live/pg) plays the datastores. Without it,
    # the lab platform declares none, so no controller waits on replication positions nobody sends.
    with_datastores: bool = False

    def __post_init__(self) -> None:
        assert self.replicas_cap >= 1, "a cloud that runs a service runs at least one process"
        assert self.time_scale > 0 and self.total_rps > 0 and self.pod_rps > 0


@dataclass(frozen=True, slots=True)
class Replica:
    cloud: str
    service: str
    index: int  # 0-based within (cloud, service)
    host: str
    port: int

    @property
    def name(self) -> str:
        """Unique process name, also the pid file's name."""
        return f"{self.service}.{self.cloud}.{self.index}"

    @property
    def server(self) -> str:
        """HAProxy server name inside the service's backend."""
        return f"{self.cloud}-{self.index}"


@dataclass(frozen=True, slots=True)
class LabSpec:
    platform: Platform  # the scaled platform the controllers run against
    services: list[ServicePlan]
    sizing: LabSizing
    # Every replica slot that can run: `replicas_cap` per cloud where the plan places the service.
    slots: tuple[Replica, ...]

    @property
    def clouds(self) -> tuple[str, ...]:
        return self.platform.cloud_names

    def plan(self, service: str) -> ServicePlan:
        for s in self.services:
            if s.name == service:
                return s
        raise KeyError(service)

    def initial_replicas(self, cloud: str, service: str) -> int:
        placement = self.plan(service).placement.get(cloud)
        return placement.replicas if placement is not None else 0

    def slots_of(self, cloud: str, service: str) -> list[Replica]:
        return [r for r in self.slots if r.cloud == cloud and r.service == service]

    def service_time_ms(self, service: str) -> float:
        return self.platform.services[service].service_time_ms

    def vantage_address(self, cloud: str) -> str:
        return cloud_address(self.clouds.index(cloud), VANTAGE_HOST)


def select_services(platform: Platform, per_tier: dict[int, int]) -> list[str]:
    """The first `per_tier[t]` services of each tier, kept in spec order."""
    taken: dict[int, int] = {}
    chosen: list[str] = []
    for name, svc in platform.services.items():
        tier = classify(svc).tier
        if taken.get(tier, 0) < per_tier.get(tier, 0):
            taken[tier] = taken.get(tier, 0) + 1
            chosen.append(name)
    if not chosen:
        raise ValueError("the lab sizing selects no service of this spec")
    return chosen


def _scaled_service(svc: Service, rps: float, pod_rps: float, with_data: bool) -> Service:
    # min_replicas is kept: the planner's floor still applies, the cap below bounds it for the lab.
    return svc.model_copy(update={"rps": rps, "pod_rps": pod_rps, "data": svc.data if with_data else ()})


def lab_platform(platform: Platform, sizing: LabSizing) -> Platform:
    names = select_services(platform, sizing.services_per_tier)
    spec_rps = sum(platform.services[n].rps for n in names)
    services = {
        n: _scaled_service(
            platform.services[n], sizing.total_rps * platform.services[n].rps / spec_rps, sizing.pod_rps, sizing.with_datastores
        )
        for n in names
    }
    x = sizing.time_scale
    edge = platform.edge.model_copy(
        update={
            "health_check": sizing.health_check,
            "canary_bake_s": platform.edge.canary_bake_s / x,
            "canary_stabilization_s": platform.edge.canary_stabilization_s / x,
            "hold_down_s": platform.edge.hold_down_s / x,
            # A runtime-API weight change reaches HAProxy at once; what lags is the counters' window.
            "propagation_s": max(platform.edge.propagation_s / x, 2 * sizing.stats_interval_s),
        }
    )
    a = platform.autoscaling
    autoscaling = a.model_copy(
        update={
            "rolling_window_s": a.rolling_window_s / x,
            "stable_s": a.stable_s / x,
            "scale_down_interval_s": a.scale_down_interval_s / x,
            "prescale_lead_s": a.prescale_lead_s / x,
            "metrics_lag_s": a.metrics_lag_s / x,
        }
    )
    tiers = {t: row.model_copy(update={"deferral_s": row.deferral_s / x}) for t, row in tier_table(platform).items()}
    used = {d for svc in services.values() for d in svc.data}
    datastores = {n: d for n, d in platform.datastores.items() if n in used}
    return platform.model_copy(
        update={
            "name": f"{platform.name}-lab",
            "services": services,
            "datastores": datastores,
            "edge": edge,
            "autoscaling": autoscaling,
            "tiers": tiers,
        }
    )


def _capped(plan: ServicePlan, cap: int) -> ServicePlan:
    placement = {c: CloudPlacement(p.role, min(p.replicas, cap)) for c, p in plan.placement.items()}
    return dataclasses.replace(plan, placement=placement)


def build_lab_spec(platform: Platform, sizing: LabSizing | None = None) -> LabSpec:
    sizing = sizing or LabSizing()
    lab = lab_platform(platform, sizing)
    plans = [_capped(p, sizing.replicas_cap) for p in place_services(lab)]
    slots: list[Replica] = []
    for k, plan in enumerate(plans):
        for ci, cloud in enumerate(lab.cloud_names):
            if cloud not in plan.placement:
                continue
            for r in range(sizing.replicas_cap):
                host = cloud_address(ci, REPLICA_HOST_BASE + r)
                slots.append(Replica(cloud, plan.name, r, host, sizing.service_port_base + k))
    return LabSpec(lab, plans, sizing, tuple(slots))


def lab_replicas(requested: int, cap: int) -> int:
    """Processes to run for a replica count the controllers ask for: the plans they hold are already
    capped, so only a later scale-up can exceed the lab's cap; it is clamped, never refused."""
    return max(0, min(cap, requested))
