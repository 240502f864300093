"""What the planner produces: placement, capacity, N-1 survival and principle checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["active", "standby"]


@dataclass(frozen=True, slots=True)
class CloudPlacement:
    role: Role
    replicas: int


@dataclass(frozen=True, slots=True)
class ServicePlan:
    name: str
    tier: int
    tier_reason: str
    tier_note: str | None  # set when an explicit tier disagrees with the flowchart
    mode: str
    rto_target_s: float
    rpo_target_s: float
    cost_multiplier: float
    placement: dict[str, CloudPlacement]
    placement_reason: str
    # Steady-state traffic weights per cloud (whole percents summing to 100).
    weights: dict[str, int]
    rps: float
    pod_rps: float
    pod_vcpu: float
    backup_region: str | None = None

    @property
    def active_clouds(self) -> list[str]:
        return [c for c, p in self.placement.items() if p.role == "active"]

    @property
    def standby_clouds(self) -> list[str]:
        return [c for c, p in self.placement.items() if p.role == "standby"]


@dataclass(frozen=True, slots=True)
class CloudCapacity:
    name: str
    vcpu_needed: float
    nodes_needed: int
    nodes: int
    max_nodes: int
    capacity_share: float  # this cloud's part of the platform's provisioned vCPU
    monthly_cost_usd: float


@dataclass(frozen=True, slots=True)
class SurvivorLoad:
    """A surviving cloud carrying its tier-1 and tier-2 load after another cloud failed."""

    cloud: str
    nodes_needed: int
    max_nodes: int
    vcpu_needed: float = 0.0
    # Nodes once the failed cloud's deferred (tier-3) services are rescheduled here too.
    nodes_after_deferred: int | None = None

    @property
    def utilisation(self) -> float:
        return self.nodes_needed / self.max_nodes


@dataclass(frozen=True, slots=True)
class Deferral:
    """A single-cloud service of the failed cloud, rescheduled after its tier's deferral."""

    service: str
    cloud: str | None  # None when no survivor has room for it
    replicas: int
    deferral_s: float


@dataclass(frozen=True, slots=True)
class Survival:
    failed_cloud: str
    ok: bool
    detail: str
    survivors: list[SurvivorLoad] = field(default_factory=list)
    # Post-failure traffic weights of every service the failure moved (whole percents).
    weights: dict[str, dict[str, int]] = field(default_factory=dict)
    deferred: list[Deferral] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Plan:
    platform: str
    services: list[ServicePlan]
    clouds: list[CloudCapacity]
    survives: list[Survival]
    principles: list[Check]
    fits: list[Check]
    cost_multiplier: float
    monthly_cost_usd: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.fits) and all(s.ok for s in self.survives) and all(
            p.ok for p in self.principles
        )

    def failures(self) -> list[str]:
        """One line per check that does not hold, naming the check."""
        return (
            [f"{c.name}: {c.detail}" for c in self.fits if not c.ok]
            + [f"N-1 without {s.failed_cloud}: {s.detail}" for s in self.survives if not s.ok]
            + [f"{p.name}: {p.detail}" for p in self.principles if not p.ok]
        )

    def service(self, name: str) -> ServicePlan:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)
