"""What the autoscaler reads (its view) and what it remembers between runs (its memory).

The view is everything the plane already has: the spec, the plan, the latest sample per
(cloud, service), node pools, steering's current weights, the clouds declared down and the clock.
The memory is the autoscaler's own hysteresis: the replicas it asked for, its timers (last step up,
last step down, stable since), the burst pods it placed, the nodes it asked for, and a rolling
window of each service's offered load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from godseye.control.load_window import LoadWindow
from godseye.control.observations import NodePoolStatus, ServiceSample
from godseye.plan.model import ServicePlan
from godseye.policy import sizing
from godseye.spec.models import Platform

# Where a (cloud, service) stands in the seed's Auto-Scaling Flow, for timelines and dashboards.
Phase = Literal["normal", "prescale", "reactive", "monitor", "scale_down"]

Key = tuple[str, str]
"""(cloud, service), the same key as the plane's latest samples."""


@dataclass(frozen=True, slots=True)
class AutoscalerView:
    """Desired and observed state at `now_s` (simulation seconds; `epoch` is the instant of now_s = 0).

    `samples` holds the latest sample per (cloud, service). A service's total offered load is the sum
    of `offered_rps` over its samples (a down cloud's sample counts what steering still sends there),
    unless `offered_rps` gives the total per service as the edge counts it. Samples older than the
    rolling window say nothing about the load now and are ignored. `weights` are steering's current
    whole-percent weights per service (the plan's weights where a service is missing).
    `event_history` holds observed peak multipliers of past runs of a calendar event, by event name.
    """

    now_s: float
    epoch: datetime
    platform: Platform
    plans: tuple[ServicePlan, ...]
    samples: Mapping[Key, ServiceSample] = field(default_factory=dict)
    pools: Mapping[str, NodePoolStatus] = field(default_factory=dict)
    weights: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    clouds_down: frozenset[str] = frozenset()
    event_history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    offered_rps: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        platform: Platform,
        plans: Iterable[ServicePlan],
        samples: Iterable[ServiceSample],
        pools: Iterable[NodePoolStatus],
        weights: Mapping[str, Mapping[str, int]],
        clouds_down: Iterable[str],
        now_s: float,
        epoch: datetime,
        event_history: Mapping[str, tuple[float, ...]] | None = None,
        offered_rps: Mapping[str, float] | None = None,
    ) -> AutoscalerView:
        """A view from the plane's raw inputs, keeping the newest sample per (cloud, service) and per pool."""
        latest: dict[Key, ServiceSample] = {}
        for s in samples:
            key = (s.cloud, s.service)
            if key not in latest or s.t_s >= latest[key].t_s:
                latest[key] = s
        newest_pool: dict[str, NodePoolStatus] = {}
        for p in pools:
            if p.cloud not in newest_pool or p.t_s >= newest_pool[p.cloud].t_s:
                newest_pool[p.cloud] = p
        return cls(
            now_s=now_s,
            epoch=epoch,
            platform=platform,
            plans=tuple(plans),
            samples=latest,
            pools=newest_pool,
            weights={k: dict(v) for k, v in weights.items()},
            clouds_down=frozenset(clouds_down),
            event_history=dict(event_history or {}),
            offered_rps=dict(offered_rps or {}),
        )

    def weight(self, plan: ServicePlan, cloud: str) -> int:
        if cloud in self.clouds_down:
            return 0
        return self.weights.get(plan.name, plan.weights).get(cloud, 0)

    def fresh_sample(self, cloud: str, service: str) -> ServiceSample | None:
        s = self.samples.get((cloud, service))
        if s is None or self.now_s - s.t_s > self.platform.autoscaling.rolling_window_s:
            return None
        return s

    def total_offered_rps(self, service: str) -> tuple[float, float] | None:
        """(total offered rps, time of the newest sample behind it), or None without any fresh figure."""
        if service in self.offered_rps:
            return self.offered_rps[service], self.now_s
        fresh = [s for c in self.platform.clouds if (s := self.fresh_sample(c, service)) is not None]
        if not fresh:
            return None
        return sum(s.offered_rps for s in fresh), max(s.t_s for s in fresh)


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What the autoscaler derives from the spec and plan alone, the same on every reconcile.

    Worked out once per (platform, plans) by `facts_of` rather than on every call: a day of Black Friday
    runs the autoscaler over a thousand times, and a large platform pays for each service on each run.
    """

    platform: Platform
    plans: tuple[ServicePlan, ...]
    clouds: tuple[str, ...]
    # Services tier first, then by name: the order they are decided in.
    order: tuple[ServicePlan, ...]
    vcpu: dict[str, float]
    # Per service, its (cloud, service) keys in the platform's cloud order.
    keys: dict[str, tuple[Key, ...]]
    # Per (cloud, service), clouds outer and plans inner (sums over it keep one order).
    baseline: dict[Key, int]
    floors: dict[Key, int]
    # Per cloud: max_nodes x node_vcpu, and the pre-scale lead (never shorter than a node boot plus a pod start).
    size_vcpu: dict[str, float]
    lead_s: dict[str, float]


# Recent (platform, plans) pairs: a drill uses one, tests a handful; the bound keeps memory flat.
_FACTS_CACHED = 8
_facts: list[PlatformFacts] = []


def facts_of(platform: Platform, plans: tuple[ServicePlan, ...]) -> PlatformFacts:
    """The `PlatformFacts` of these very objects (by identity: both are immutable), from the cache if there."""
    for f in _facts:
        if f.platform is platform and (f.plans is plans or (
            len(f.plans) == len(plans) and all(a is b for a, b in zip(f.plans, plans, strict=True)))):
            return f
    a = platform.autoscaling
    baseline: dict[Key, int] = {}
    for cloud in platform.clouds:
        for plan in plans:
            placed = plan.placement.get(cloud)
            baseline[(cloud, plan.name)] = placed.replicas if placed is not None else 0
    f = PlatformFacts(
        platform=platform,
        plans=plans,
        clouds=tuple(platform.clouds),
        order=tuple(sorted(plans, key=lambda sp: (sp.tier, sp.name))),
        vcpu={plan.name: plan.pod_vcpu for plan in plans},
        keys={plan.name: tuple((cloud, plan.name) for cloud in platform.clouds) for plan in plans},
        baseline=baseline,
        floors={k: sizing.floor_replicas(n, a) for k, n in baseline.items()},
        size_vcpu={name: c.max_nodes * c.node_vcpu for name, c in platform.clouds.items()},
        lead_s={name: max(a.prescale_lead_s, c.node_boot_s + c.pod_start_s) for name, c in platform.clouds.items()},
    )
    _facts.insert(0, f)
    del _facts[_FACTS_CACHED:]
    return f


@dataclass(frozen=True, slots=True)
class PodScale:
    """The autoscaler's record of one (cloud, service)."""

    replicas: int
    phase: Phase = "normal"
    stable_since_s: float | None = None
    last_up_s: float = -math.inf
    last_down_s: float = -math.inf
    # Pods placed here for another cloud that hit its max_nodes (the seed's cloud burst).
    burst_pods: int = 0
    # What the replicas carry at the target utilisation, for steering to shift weights by capacity.
    capacity_rps: float = 0.0
    burst_rps: float = 0.0
    # Pods the rules asked for beyond `replicas` that wait for nodes still booting: they are asked of
    # Kubernetes only as nodes turn ready, so pending pods never preempt running ones of a lower tier.
    waiting_pods: int = 0


@dataclass(frozen=True, slots=True)
class NodeAsk:
    """The node count last asked of a cloud's pool, and when (nodes are ready node_boot_s later)."""

    nodes: int
    at_s: float


@dataclass(frozen=True, slots=True)
class AutoscalerMemory:
    pods: Mapping[Key, PodScale] = field(default_factory=dict)
    loads: Mapping[str, LoadWindow] = field(default_factory=dict)
    nodes: Mapping[str, NodeAsk] = field(default_factory=dict)
    # Per service, the inputs it was last decided on, kept only when that decision was a fixed point that
    # no timer or neighbour can move (records as they were, at rest, at or above what every rule asks):
    # while those inputs stay the same, deciding it again gives the same records, so it is skipped.
    quiet: Mapping[str, tuple[object, ...]] = field(default_factory=dict)

    def replicas(self, cloud: str, service: str) -> int | None:
        p = self.pods.get((cloud, service))
        return p.replicas if p is not None else None

    def capacity_rps(self, service: str) -> dict[str, float]:
        """Per cloud, the rps this service's asked-for replicas carry at the target utilisation."""
        return {c: p.capacity_rps for (c, s), p in sorted(self.pods.items()) if s == service}

    def burst_capacity_rps(self) -> dict[str, dict[str, float]]:
        """Per service, per cloud, the rps of burst pods placed there: where steering can spill load."""
        out: dict[str, dict[str, float]] = {}
        for (cloud, service), p in sorted(self.pods.items()):
            if p.burst_pods > 0:
                out.setdefault(service, {})[cloud] = p.burst_rps
        return out
