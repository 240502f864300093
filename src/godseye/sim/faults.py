"""The scenario's faults as timed changes of the world, and the set of faults active now.

Every fault kind of the scenario contract starts at `at_s` and, when `until_s` is given, ends
(recovers) then. `FaultState` answers the questions the models ask: is this cloud reachable, does
this endpoint answer, can these two clouds talk, is this replication link stalled, how many nodes
may this cloud have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from godseye.spec.scenario import (
    CapacityCap,
    CloudOutage,
    Fault,
    Partition,
    ReplicationStall,
    Scenario,
    ServiceOutage,
    TrafficSpike,
)

Edge = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class FaultChange:
    t_s: float
    index: int  # position of the fault in the scenario, a stable tie-breaker
    edge: Edge
    fault: Fault


def schedule(scenario: Scenario) -> list[FaultChange]:
    changes: list[FaultChange] = []
    for i, f in enumerate(scenario.faults):
        changes.append(FaultChange(f.at_s, i, "start", f))
        if f.until_s is not None and f.until_s < scenario.duration_s:
            changes.append(FaultChange(f.until_s, i, "end", f))
    return sorted(changes, key=lambda c: (c.t_s, 0 if c.edge == "end" else 1, c.index))


def describe(f: Fault) -> str:
    if isinstance(f, CloudOutage):
        return f"{f.cloud} goes {'down' if f.mode == 'down' else 'hung (accepts, never answers)'}"
    if isinstance(f, ServiceOutage):
        return f"{f.service} fails in {f.cloud}"
    if isinstance(f, Partition):
        return f"network partition between {f.clouds[0]} and {f.clouds[1]}"
    if isinstance(f, ReplicationStall):
        return f"replication of {f.datastore} to {f.cloud} stalls"
    if isinstance(f, CapacityCap):
        return f"{f.cloud} capacity capped at {f.max_nodes} nodes"
    assert isinstance(f, TrafficSpike)
    who = ", ".join(f.services) if f.services else "all services"
    return f"traffic spike x{f.multiplier:g} on {who} (ramp {f.ramp_s:g} s)"


def describe_end(f: Fault) -> str:
    if isinstance(f, CloudOutage):
        return f"{f.cloud} recovers"
    if isinstance(f, ServiceOutage):
        return f"{f.service} recovers in {f.cloud}"
    if isinstance(f, Partition):
        return f"partition between {f.clouds[0]} and {f.clouds[1]} heals"
    if isinstance(f, ReplicationStall):
        return f"replication of {f.datastore} to {f.cloud} resumes"
    if isinstance(f, CapacityCap):
        return f"{f.cloud} capacity cap lifted"
    return "traffic spike ends"


def is_disruptive(f: Fault) -> bool:
    """Faults from whose start an RTO is counted (all but a capacity cap, which only limits growth)."""
    return not isinstance(f, CapacityCap)


class FaultState:
    """Active faults, with the answers precomputed on every change (the hot loop asks often)."""

    def __init__(self) -> None:
        self._active: dict[int, Fault] = {}
        self.version = 0  # bumped on every change, so the engine knows when to recompute
        self._refresh()

    def apply(self, change: FaultChange) -> None:
        if change.edge == "start":
            self._active[change.index] = change.fault
        else:
            self._active.pop(change.index, None)
        self.version += 1
        self._refresh()

    def _refresh(self) -> None:
        active = [self._active[i] for i in sorted(self._active)]
        self._mode: dict[str, Literal["down", "hung"]] = {}
        self._out: set[tuple[str, str]] = set()
        self._cut: set[frozenset[str]] = set()
        self._stalls: set[tuple[str, str]] = set()
        self._caps: dict[str, int] = {}
        for f in active:
            if isinstance(f, CloudOutage):
                self._mode[f.cloud] = f.mode
            elif isinstance(f, ServiceOutage):
                self._out.add((f.cloud, f.service))
            elif isinstance(f, Partition):
                self._cut.add(frozenset(f.clouds))
            elif isinstance(f, ReplicationStall):
                self._stalls.add((f.datastore, f.cloud))
            elif isinstance(f, CapacityCap):
                self._caps[f.cloud] = min(f.max_nodes, self._caps.get(f.cloud, f.max_nodes))

    def cloud_mode(self, cloud: str) -> Literal["up", "down", "hung"]:
        return self._mode.get(cloud, "up")

    def cloud_up(self, cloud: str) -> bool:
        return cloud not in self._mode

    def endpoint_out(self, cloud: str, service: str) -> bool:
        return (cloud, service) in self._out

    def linked(self, a: str, b: str) -> bool:
        """Can clouds a and b reach each other (both up, no partition between them)?"""
        if a in self._mode or b in self._mode:
            return False
        return a == b or frozenset((a, b)) not in self._cut

    def stalled(self, datastore: str, cloud: str) -> bool:
        return (datastore, cloud) in self._stalls

    def node_cap(self, cloud: str) -> int | None:
        return self._caps.get(cloud)
