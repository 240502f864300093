"""What a drill produces: plain frozen values the report writers turn into JSON, text and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field

DetailValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class ServiceResult:
    name: str
    tier: int
    rto_s: float | None  # None: never recovered before the end of the run
    rto_target_s: float
    rpo_s: float
    rpo_target_s: float
    requests_total: int
    requests_failed: int
    rpo_datastore: str | None = None  # the datastore that lost the widest window

    @property
    def rto_met(self) -> bool:
        return self.rto_s is not None and self.rto_s <= self.rto_target_s

    @property
    def rpo_met(self) -> bool:
        return self.rpo_s <= self.rpo_target_s + 1e-9

    @property
    def met(self) -> bool:
        return self.rto_met and self.rpo_met


@dataclass(frozen=True, slots=True)
class CloudResult:
    name: str
    capacity_share_max: float
    nodes_max: int
    pods_max: int


@dataclass(frozen=True, slots=True)
class SteeringChange:
    t_s: float
    service: str
    weights: dict[str, int]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    t_s: float
    actor: str
    event: str
    detail: dict[str, DetailValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaultWindow:
    kind: str
    label: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True, slots=True)
class Series:
    """Platform-wide time series sampled every sample interval, for the plots."""

    t_s: tuple[float, ...]
    clouds: tuple[str, ...]
    served_share: tuple[tuple[float, ...], ...]  # per sample: share of served requests per cloud
    pods: tuple[tuple[int, ...], ...]  # per sample: ready pods per cloud
    nodes: tuple[tuple[int, ...], ...]  # per sample: ready nodes per cloud
    offered_rps: tuple[float, ...]
    failed_rps: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class DrillResult:
    scenario: str
    description: str
    platform: str
    duration_s: float
    seed: int
    services: tuple[ServiceResult, ...]
    clouds: tuple[CloudResult, ...]
    steering: tuple[SteeringChange, ...]
    timeline: tuple[TimelineEntry, ...]
    faults: tuple[FaultWindow, ...]
    series: Series
    events: int  # discrete events the engine processed (steps, observations, world changes)

    @property
    def met(self) -> bool:
        return all(s.met for s in self.services)

    @property
    def verdict(self) -> str:
        return "met" if self.met else "missed"
