"""The platform spec: what the user declares, validated field by field.

Field-level rules live on the models; rules that relate one part of the spec to another
(a service's datastores exist, a split names real clouds) live in `crossref.py`, so that
each error can be reported against the exact line that holds the wrong value.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DatastoreKind = Literal["sql", "stream", "object"]
Tier = Literal[1, 2, 3]


class _Strict(BaseModel):
    """Unknown keys are errors and values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthCheck(_Strict):
    interval_s: float = Field(3.0, gt=0)
    timeout_s: float = Field(1.0, gt=0)
    failure_threshold: int = Field(3, ge=1, le=100)
    success_threshold: int = Field(2, ge=1, le=100)
    # Fraction of vantage points (edge + every other cloud) that must agree before a whole cloud
    # is declared down; Cloudflare uses a majority vote of its probing data centres.
    cloud_down_quorum: float = Field(0.5, gt=0, le=1)


class Edge(_Strict):
    health_check: HealthCheck = HealthCheck()
    canary_steps: tuple[int, ...] = (5, 25, 50, 100)
    canary_bake_s: float = Field(300.0, ge=0)
    # Continuous health required before the first canary step.
    canary_stabilization_s: float = Field(600.0, ge=0)
    # After one cloud leaves the rotation by decision, a second one may only leave on its own probes.
    hold_down_s: float = Field(300.0, ge=0)
    # Time for a weight change to reach clients (DNS TTL / LB config propagation).
    propagation_s: float = Field(5.0, ge=0)
    # |asked - served| share in percent points above which steering raises drift.
    drift_tolerance_pct: float = Field(10.0, gt=0, le=100)
    failover_split: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("canary_steps")
    @classmethod
    def _steps_rise_to_100(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps:
            raise ValueError("must list at least one step")
        if any(s <= 0 or s > 100 for s in steps):
            raise ValueError(f"each step must be in 1..100 (got {list(steps)})")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"steps must rise strictly (got {list(steps)})")
        if steps[-1] != 100:
            raise ValueError(f"the last step must be 100 (got {steps[-1]})")
        return steps


class Cloud(_Strict):
    provider: str = Field(min_length=1)
    region: str = Field(min_length=1)
    nodes: int = Field(ge=0)
    max_nodes: int = Field(gt=0)
    node_vcpu: float = Field(gt=0)
    node_boot_s: float = Field(120.0, gt=0)
    pod_start_s: float = Field(5.0, ge=0)
    # Region holding tier-3 backups (the seed's "1 cloud + cross-region backup").
    backup_region: str | None = None
    # On-demand list price of one vCPU-hour, for the plan's monthly cost.
    vcpu_hour_usd: float = Field(0.048, ge=0)
    # Price of one GB leaving this cloud towards another cloud.
    egress_usd_per_gb: float = Field(0.09, ge=0)
    # Managed products this cloud's part of the platform uses (ids of policy/catalog.py).
    managed: tuple[str, ...] = ()


class Service(_Strict):
    revenue_impact: bool
    ux_impact: bool
    tier: Tier | None = None
    rps: float = Field(gt=0)
    pod_rps: float = Field(gt=0)
    pod_vcpu: float = Field(1.0, gt=0)
    p99_sla_ms: float = Field(250.0, gt=0)
    # Largest failed-request ratio still within SLA (gates canary steps and RTO).
    error_rate_sla: float = Field(0.01, ge=0, lt=1)
    # Unloaded service time of one request, the base of the twin's queueing model.
    service_time_ms: float = Field(20.0, gt=0)
    data: tuple[str, ...] = ()
    # Preferred active cloud for tier 2/3 (otherwise the planner picks one and says why).
    primary: str | None = None
    min_replicas: int = Field(2, ge=1)


class Datastore(_Strict):
    kind: DatastoreKind
    # Average write volume, for replication backlog (twin) and cross-cloud egress (plan).
    write_mb_s: float = Field(0.5, ge=0)
    # Throughput of cross-cloud replication; asynchronous lag grows when writes exceed it.
    replication_mb_s: float = Field(50.0, gt=0)


class Event(_Strict):
    start: datetime
    duration_s: float = Field(gt=0)
    peak_multiplier: float = Field(gt=0)
    # Time from the event's start to its peak, and the same back down at its end.
    ramp_s: float = Field(3600.0, ge=0)
    # Optional historical profile: multipliers sampled evenly over the event.
    profile: tuple[float, ...] = ()

    @field_validator("profile")
    @classmethod
    def _profile_positive(cls, profile: tuple[float, ...]) -> tuple[float, ...]:
        if any(p <= 0 for p in profile):
            raise ValueError("every profile multiplier must be > 0")
        return profile


class TierPolicy(_Strict):
    """One row of the seed's tier table; the reference values live in policy/tiers.py."""

    clouds: int = Field(ge=1, le=10)
    mode: str = Field(min_length=1)
    rto_s: float = Field(gt=0)
    rpo_s: float = Field(ge=0)
    cost_multiplier: float = Field(gt=0)
    # Seconds a tier waits after a failover before it is rescheduled (tier 3's deferral).
    deferral_s: float = Field(0.0, ge=0)
    # Pods a warm standby keeps running, as a fraction of the active cloud's pods.
    standby_fraction: float = Field(0.0, ge=0, le=1)


class Autoscaling(_Strict):
    spike_factor: float = Field(2.0, gt=1)
    rolling_window_s: float = Field(3600.0, gt=0)
    prescale_buffer: float = Field(0.2, ge=0)
    reactive_step: float = Field(0.5, gt=0)
    stable_s: float = Field(900.0, ge=0)
    scale_down_step: float = Field(0.1, gt=0, lt=1)
    scale_down_interval_s: float = Field(300.0, gt=0)
    floor_buffer: float = Field(0.1, ge=0)
    # Pods are sized to run at this utilisation of pod_rps in steady state.
    target_utilization: float = Field(0.7, gt=0, le=1)
    # How long before a known event starts the pre-scale begins.
    prescale_lead_s: float = Field(1800.0, ge=0)
    # Delay before the autoscaler sees load (metrics pipeline), HPA's ~15 s loop plus scrape.
    metrics_lag_s: float = Field(30.0, ge=0)


class Principles(_Strict):
    # The seed's "a single cloud failure never exceeds 33% capacity loss": one cloud in three.
    blast_radius_max: float = Field(1 / 3, gt=0, le=1)
    egress_budget_usd_month: float | None = Field(None, ge=0)


class Platform(_Strict):
    name: str = Field(min_length=1)
    edge: Edge = Edge()
    clouds: dict[str, Cloud]
    services: dict[str, Service]
    datastores: dict[str, Datastore] = Field(default_factory=dict)
    events: dict[str, Event] = Field(default_factory=dict)
    tiers: dict[Tier, TierPolicy] = Field(default_factory=dict)
    autoscaling: Autoscaling = Autoscaling()
    principles: Principles = Principles()

    @field_validator("clouds")
    @classmethod
    def _at_least_one_cloud(cls, clouds: dict[str, Cloud]) -> dict[str, Cloud]:
        if not clouds:
            raise ValueError("must declare at least one cloud")
        return clouds

    @field_validator("services")
    @classmethod
    def _at_least_one_service(cls, services: dict[str, Service]) -> dict[str, Service]:
        if not services:
            raise ValueError("must declare at least one service")
        return services

    @property
    def cloud_names(self) -> tuple[str, ...]:
        return tuple(self.clouds)
