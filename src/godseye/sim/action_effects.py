"""Carrying out the plane's actions in the twin, and putting them on the timeline.

The twin decides nothing here: it carries out what it was asked, within the limits of the world
(propagation delay for weights, boot and start times, max_nodes and capacity caps, vCPU to fit).
An action naming what the world does not know, or asking a change of a cloud whose API cannot be
reached, is refused, and the refusal is on the timeline (`actuators` words both).
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt

from godseye.control.actions import (
    Action,
    ActivateStandby,
    HoldWrites,
    PromoteReplica,
    Reschedule,
    ScaleNodePool,
    ScaleService,
    SetWeights,
)
from godseye.control.decision import Emitted
from godseye.sim.actuators import describe, unknown_names
from godseye.sim.data_model import DataModel
from godseye.sim.faults import FaultState
from godseye.sim.recorder import Recorder
from godseye.sim.world import World
from godseye.spec.models import Platform


class ActionEffects:
    """What the plane's actions do to the world, the data and the edge's weights."""

    def __init__(self, platform: Platform, clouds: list[str], services: list[str], world: World, faults: FaultState,
                 data: DataModel, rec: Recorder, weights: npt.NDArray[np.float64]) -> None:
        self._clouds, self._services = clouds, services
        self._service_at = {name: i for i, name in enumerate(services)}  # actions name services: O(1) lookups
        self._known = (set(clouds), set(services), set(platform.datastores))
        self._propagation_s = platform.edge.propagation_s
        self._world, self._faults, self._data, self._rec = world, faults, data, rec
        # The engine's (service, cloud) weights, written in place as a change lands at the edge.
        self._weights = weights
        # Weights on their way to the edge: (in effect at, order issued, service, weights).
        self._in_flight: list[tuple[float, int, int, dict[str, int]]] = []
        self._seq = 0

    def carry_out(self, emitted: list[Emitted]) -> None:
        known_c, known_s, known_d = self._known
        for e in emitted:
            a = e.action
            d = describe(a)
            bad = unknown_names(a, known_c, known_s, known_d) or self._unreachable(a)
            if bad is not None:
                self._rec.note(e.t_s, e.actor, f"refused: {d.event} ({bad})", d.detail)
                continue
            self._rec.note(e.t_s, e.actor, d.event, d.detail)
            if isinstance(a, SetWeights):
                self._rec.steer(e.t_s, a.service, a.weights)
            self._apply(e)
            self.drain_preempted(e.t_s)

    def next_landing_s(self) -> float | None:
        """When the next weights in flight take effect at the edge, if any are in flight."""
        return self._in_flight[0][0] if self._in_flight else None

    def land_weights(self, t: float) -> None:
        """Put into effect the weights whose propagation delay has passed by t."""
        while self._in_flight and self._in_flight[0][0] <= t + 1e-9:
            at, _, s, w = heapq.heappop(self._in_flight)
            self._weights[s] = [w.get(c, 0) for c in self._clouds]
            self._rec.note(at, "edge", f"{self._services[s]} weights in effect at the edge", {"service": self._services[s]})

    def drain_preempted(self, t: float) -> None:
        """Put the world's preemptions since the last drain on the timeline, one line per (cloud, victim, winner)."""
        totals: dict[tuple[str, str, str], int] = {}
        for victim, cloud, n, winner in self._world.preempted:
            totals[(cloud, victim, winner)] = totals.get((cloud, victim, winner), 0) + n
        self._world.preempted.clear()
        for (cloud, victim, winner), n in totals.items():
            self._rec.note(t, cloud, f"{n} pods of {victim} preempted in {cloud} to make room for {winner}",
                           {"service": victim, "pods": n, "for": winner})

    def _unreachable(self, a: Action) -> str | None:
        """A change asked of a cloud whose API cannot be reached is refused, as a real call would fail;
        a Reschedule leaves the failed cloud's deployment as it is (it cannot be reached either)."""
        target = a.cloud if isinstance(a, (ScaleService, ScaleNodePool, ActivateStandby)) else None
        if isinstance(a, Reschedule):
            target = a.to_cloud
        if target is not None and not self._faults.cloud_up(target):
            return f"{target} is unreachable"
        return None

    def _apply(self, e: Emitted) -> None:
        a, t = e.action, e.t_s
        if isinstance(a, SetWeights):
            self._seq += 1
            at = t + self._propagation_s
            heapq.heappush(self._in_flight, (at, self._seq, self._service_at[a.service], dict(a.weights)))
        elif isinstance(a, ScaleService):
            self._world.set_pods(self._service_at[a.service], self._clouds.index(a.cloud), a.replicas, t)
        elif isinstance(a, (ActivateStandby, Reschedule)):
            # Bring the copy up to the active size; never below what the autoscaler already asked
            # there (both may aim at the same copy in one step).
            s = self._service_at[a.service]
            j = self._clouds.index(a.cloud if isinstance(a, ActivateStandby) else a.to_cloud)
            self._world.set_pods(s, j, max(a.replicas, int(self._world.pods_desired[s, j])), t)
        elif isinstance(a, ScaleNodePool):
            self._world.request_nodes(self._clouds.index(a.cloud), a.nodes, t)
        elif isinstance(a, PromoteReplica):
            self._rec.note(t, "data", self._data.promote(a.datastore, a.cloud, t, self._faults), {"datastore": a.datastore})
        elif isinstance(a, HoldWrites):
            self._data.hold(a.datastore, a.hold)
        # Marks, pages, drift, conditions and FollowPrimary change nothing in the world: they are
        # already on the timeline.
