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
    cloud: str
    nodes_needed: int
    max_nodes: int

    @property
    def utilisation(self) -> float:
        return self.nodes_needed / self.max_nodes


@dataclass(frozen=True, slots=True)
class Survival:
    failed_cloud: str
    ok: bool
    detail: str
    survivors: list[SurvivorLoad] = field(default_factory=list)


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

    def service(self, name: str) -> ServicePlan:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)
