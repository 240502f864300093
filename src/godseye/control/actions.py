"""What controllers ask the world to do: plain frozen data, each with a human-readable reason.

Drivers (the twin in `sim/`, the lab in `live/`) apply these; no controller calls a driver.
Names are imperative; every action says why in `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PageAction = Literal["trigger", "acknowledge", "resolve"]
PageSeverity = Literal["critical", "error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class MarkEndpoint:
    """An endpoint (cloud, service) changed health state."""

    cloud: str
    service: str
    healthy: bool
    reason: str


@dataclass(frozen=True, slots=True)
class MarkCloud:
    """A whole cloud was declared down (or up again) by a quorum of vantage points."""

    cloud: str
    down: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SetWeights:
    """Traffic weights of one service per cloud: whole percents summing to 100."""

    service: str
    weights: dict[str, int]
    reason: str


@dataclass(frozen=True, slots=True)
class ScaleService:
    """Run `replicas` pods of a service in a cloud."""

    cloud: str
    service: str
    replicas: int
    reason: str


@dataclass(frozen=True, slots=True)
class ScaleNodePool:
    """Ask a cloud's node pool for `nodes` nodes (they become ready after the cloud's boot time)."""

    cloud: str
    nodes: int
    reason: str


@dataclass(frozen=True, slots=True)
class ActivateStandby:
    """Turn a tier-2 warm standby into the active copy of a service."""

    service: str
    cloud: str
    replicas: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Move a (tier-3) service from a failed cloud to another one."""

    service: str
    from_cloud: str
    to_cloud: str
    replicas: int
    reason: str


@dataclass(frozen=True, slots=True)
class HoldWrites:
    """Make writes to a datastore wait (hold=True) or let them through again; reads continue."""

    datastore: str
    hold: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PromoteReplica:
    """Make the replica of a datastore in `cloud` the primary (writes go there)."""

    datastore: str
    cloud: str
    reason: str


@dataclass(frozen=True, slots=True)
class FollowPrimary:
    """Re-point the replica in `cloud` to follow the primary in `primary`."""

    datastore: str
    cloud: str
    primary: str
    reason: str


@dataclass(frozen=True, slots=True)
class Page:
    """An alert in the shape of the PagerDuty Events API v2 (event_action, dedup_key, payload)."""

    event_action: PageAction
    dedup_key: str
    summary: str
    severity: PageSeverity
    source: str
    component: str
    reason: str
    custom_details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RaiseDrift:
    """The split served differs from the split asked for by more than the tolerance."""

    service: str
    asked: dict[str, int]
    observed: dict[str, float]
    reason: str


@dataclass(frozen=True, slots=True)
class Condition:
    """A state change worth a line on the timeline that asks the world for nothing."""

    subject: str
    event: str
    reason: str


Action = (
    MarkEndpoint
    | MarkCloud
    | SetWeights
    | ScaleService
    | ScaleNodePool
    | ActivateStandby
    | Reschedule
    | HoldWrites
    | PromoteReplica
    | FollowPrimary
    | Page
    | RaiseDrift
    | Condition
)
