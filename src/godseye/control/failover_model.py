"""Failover's model: the phases and the transition table, incidents and what they remember, one call's scratch.

The phases are described in control/failover.py; TRANSITIONS is the whole machine, and `transition` is
the only way an incident changes phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from godseye.control.actions import Action
from godseye.control.failover_facts import ReplicationFacts
from godseye.control.observations import NodePoolStatus
from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform

Phase = Literal["detected", "gating", "standby_active", "failed_over", "recovering", "closed"]
Event = Literal["rerouted", "replication_confirmed", "deferral_elapsed", "cloud_back", "cloud_lost", "canary_complete"]

TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    ("detected", "rerouted"): "gating",
    ("gating", "replication_confirmed"): "standby_active",
    ("standby_active", "deferral_elapsed"): "failed_over",
    ("detected", "cloud_back"): "recovering",
    ("gating", "cloud_back"): "recovering",
    ("standby_active", "cloud_back"): "recovering",
    ("failed_over", "cloud_back"): "recovering",
    ("recovering", "cloud_lost"): "detected",
    ("recovering", "canary_complete"): "closed",
}
# Each call walks the table as far as the facts allow; a walk is never longer than the table.
MAX_TRANSITIONS_PER_CALL = len(TRANSITIONS)

GateState = Literal["holding", "promoted", "released"]


@dataclass(frozen=True, slots=True)
class Gate:
    datastore: str
    old_primary: str
    started_s: float
    timeout_s: float
    rpo_s: float  # the datastore's RPO target (the replication watch's), for promoting without waiting
    state: GateState = "holding"
    new_primary: str | None = None
    lost_pos: int | None = None  # acknowledged positions the new primary never received (timeout only)


@dataclass(frozen=True, slots=True)
class Move:
    service: str
    from_cloud: str
    to_cloud: str
    replicas: int


@dataclass(frozen=True, slots=True)
class Incident:
    cloud: str
    phase: Phase
    detected_s: float
    phase_since_s: float
    gates: tuple[Gate, ...] = ()
    activated: tuple[tuple[str, str], ...] = ()  # (service, standby cloud) turned active
    moved: tuple[Move, ...] = ()
    nodes_asked: Mapping[str, int] = field(default_factory=dict)  # node pool sizes this incident asked for
    nodes_base: Mapping[str, int] = field(default_factory=dict)  # node pool sizes when it was detected


@dataclass(frozen=True, slots=True)
class FailoverMemory:
    # One incident per cloud; a closed one stays until the cloud fails again (so readers see "closed").
    incidents: Mapping[str, Incident] = field(default_factory=dict)

    def moved(self) -> dict[str, str]:
        """service -> cloud it was rescheduled to, for incidents not closed (steering's input)."""
        out: dict[str, str] = {}
        for incident in self.incidents.values():
            if incident.phase != "closed":
                out.update({m.service: m.to_cloud for m in incident.moved})
        return out

    def phases(self) -> dict[str, Phase]:
        return {c: i.phase for c, i in self.incidents.items()}


@dataclass(frozen=True, slots=True)
class FailoverView:
    now_s: float
    platform: Platform
    services: tuple[ServicePlan, ...]
    out: frozenset[str]  # clouds out of the rotation
    canary_in: frozenset[str]  # clouds carrying their full normal share (canary closed or never needed)
    replication: ReplicationFacts | None
    node_pools: Mapping[str, NodePoolStatus]


def transition(incident: Incident, event: Event, now_s: float) -> Incident:
    """Take the table's transition for `event`; an event the table does not list is a bug, not a no-op."""
    return replace(incident, phase=TRANSITIONS[(incident.phase, event)], phase_since_s=now_s)


@dataclass
class Step:
    """Scratch for one call: the view, actions asked so far and the earliest wake-up."""

    view: FailoverView
    actions: list[Action]
    wakeups: list[float]

    def wake_at(self, t_s: float) -> None:
        self.wakeups.append(max(0.0, t_s - self.view.now_s))
