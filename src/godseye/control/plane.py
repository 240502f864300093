"""The control plane: every controller composed behind observe / step / next_wakeup_s.

Drivers (the twin, the lab) hand in observations as they happen and call `step(now_s)` at the times
`next_wakeup_s()` asks for (or whenever they have news). Each step runs the controllers in a fixed
order, each on the facts the ones before it decided in the same step:

  1. health       (actor "edge")        endpoint health per vantage point, clouds down by quorum
  2. replication  (actor "replication") lag, RPO exposure, caught-up copies, stalls
  3. rotation     (actor "steering")    which clouds leave the rotation (hold-down)
  4. canary       (actor "canary")      returning clouds' fraction of their normal share
  5. steering     (actor "steering")    weights per service (spilling to the autoscaler's burst pods), drift
  6. failover     (actor "failover")    the seed's sequence: gate, promote, standby, deferral, recovery
  7. steering     (actor "steering")    again, for services failover moved in this step (tier 3)
  8. autoscaler   (actor "autoscaler")  pods and node pools for the load the new weights bring
  9. incidents    (actor "incidents")   correlation and PagerDuty pages

Steering runs before failover so the timeline reads as the seed's sequence (tier 1 re-routed, then the
replication gate and tier 2), and once more after it, level-triggered, so a service rescheduled in
this step gets its weights in the same step, after the Reschedule that made them possible.

The plane holds no decision of its own: it buffers observations, builds each controller's view from
the spec, the plan and the other controllers' memories, and keeps their memories between steps. The
same observations and the same step times always give the same actions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from godseye.control import canary, failover, health, incidents, replication, steering
from godseye.control.actions import Action
from godseye.control.autoscaler_model import AutoscalerMemory
from godseye.control.autoscaler_runs import AutoscalerRuns
from godseye.control.canary import CanaryMemory
from godseye.control.copy_watch import CopyWatch
from godseye.control.decision import Emitted
from godseye.control.failover import FailoverMemory, Phase
from godseye.control.health import HealthMemory
from godseye.control.incidents import IncidentCatalog, IncidentMemory, IncidentParams
from godseye.control.observations import (
    EDGE,
    NodePoolStatus,
    Observation,
    ProbeResult,
    ReplicaPosition,
    ReplicaPositions,
    ServedSplit,
    ServiceSample,
)
from godseye.control.replication import ReplicationMemory, ReplicationParams, ReplicationState, targets_from_platform
from godseye.control.steering import RotationMemory, SteeringMemory
from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform

# Observations buffered between two steps. A driver that stops stepping must not grow the plane
# without limit: beyond this the oldest are dropped and counted (`dropped_observations`).
MAX_PENDING_OBSERVATIONS = 200_000


@dataclass(frozen=True, slots=True)
class PlaneState:
    """Every controller's memory, as one value (for snapshots and determinism checks)."""

    health: HealthMemory
    replication: ReplicationMemory
    rotation: RotationMemory
    canary: CanaryMemory
    failover: FailoverMemory
    steering: SteeringMemory
    autoscaler: AutoscalerMemory
    incidents: IncidentMemory


@dataclass(frozen=True, slots=True)
class _Batch:
    """The observations of one step, by kind."""

    probes: tuple[ProbeResult, ...]
    positions: tuple[ReplicaPosition | ReplicaPositions, ...]
    splits: tuple[ServedSplit, ...]
    samples: tuple[ServiceSample, ...]
    pools: tuple[NodePoolStatus, ...]

    @classmethod
    def of(cls, batch: Iterable[Observation]) -> _Batch:
        probes: list[ProbeResult] = []
        positions: list[ReplicaPosition | ReplicaPositions] = []
        splits: list[ServedSplit] = []
        samples: list[ServiceSample] = []
        pools: list[NodePoolStatus] = []
        # One pass, by exact type; anything else (a subclass) by isinstance, into every kind it is.
        kinds: dict[type, list[Any]] = {ProbeResult: probes, ReplicaPosition: positions, ReplicaPositions: positions,
                                        ServedSplit: splits, ServiceSample: samples, NodePoolStatus: pools}
        for o in batch:
            into = kinds.get(type(o))
            if into is not None:
                into.append(o)
                continue
            if isinstance(o, ProbeResult):
                probes.append(o)
            if isinstance(o, (ReplicaPosition, ReplicaPositions)):
                positions.append(o)
            if isinstance(o, ServedSplit):
                splits.append(o)
            if isinstance(o, ServiceSample):
                samples.append(o)
            if isinstance(o, NodePoolStatus):
                pools.append(o)
        return cls(tuple(probes), tuple(positions), tuple(splits), tuple(samples), tuple(pools))


@dataclass
class _Turn:
    """One step's output: actions stamped with time and actor, and the wake-ups asked for."""

    now_s: float
    out: list[Emitted] = field(default_factory=list)
    wakes: list[tuple[str, float]] = field(default_factory=list)

    def emit(self, actor: str, actions: tuple[Action, ...], requeue: float | None) -> None:
        self.out.extend(Emitted(self.now_s, actor, a) for a in actions)
        if requeue is not None:
            self.wakes.append((actor, self.now_s + requeue))


@dataclass(frozen=True, slots=True)
class _Sensed:
    health: HealthMemory
    replication: ReplicationMemory
    rotation: RotationMemory
    canary: CanaryMemory
    returning: Mapping[str, float]  # clouds not fully in -> canary fraction


@dataclass(frozen=True, slots=True)
class _Acted:
    steering: SteeringMemory
    failover: FailoverMemory


class Plane:
    def __init__(
        self,
        platform: Platform,
        services: list[ServicePlan],
        *,
        epoch: datetime | None = None,
        replication_params: ReplicationParams | None = None,
        incident_params: IncidentParams | None = None,
    ) -> None:
        self._platform = platform
        self._services = tuple(services)
        self._replication_params = replication_params or ReplicationParams()
        self._incident_params = incident_params or IncidentParams()
        self._targets = targets_from_platform(platform)
        self._catalog = IncidentCatalog.from_platform(platform)
        self._pending: deque[Observation] = deque()
        self._dropped = 0
        self._wakeups: dict[str, float] = {}
        # The earliest of `_wakeups` but replication's (whose is the copy watch's): fixed between steps.
        self._others_wake: float | None = None
        self._copies = CopyWatch()
        self._data_gated = False
        self._autoscaling = AutoscalerRuns(platform, self._services, epoch)
        self._edge_view_of: object = None
        self._edge_view_cache: dict[tuple[str, str], bool] = {}
        self._state = PlaneState(
            HealthMemory(), ReplicationMemory(), RotationMemory(), CanaryMemory(), FailoverMemory(), SteeringMemory(),
            AutoscalerMemory(), IncidentMemory(),
        )

    # -- the driver's three calls ---------------------------------------------------------------

    def observe(self, obs: Observation) -> None:
        if len(self._pending) >= MAX_PENDING_OBSERVATIONS:
            self._pending.popleft()
            self._dropped += 1
        self._pending.append(obs)
        if isinstance(obs, ReplicaPositions):
            self._copies.observe_many(obs)
        elif isinstance(obs, ReplicaPosition):
            self._copies.observe(obs)
        else:
            return
        if self._data_gated:
            # A canary or a failover gate waits for copies to catch up: every report may release it.
            self._copies.urge(obs.t_s)

    def step(self, now_s: float) -> list[Emitted]:
        batch = _Batch.of(self._pending)
        self._pending.clear()
        self._autoscaling.take(batch.samples, batch.pools)
        turn = _Turn(now_s)
        sensed = self._sense(turn, batch)
        acted = self._act(turn, batch, sensed)
        auto, inc = self._follow(turn, sensed, acted)
        self._state = PlaneState(sensed.health, sensed.replication, sensed.rotation, sensed.canary, acted.failover,
                                 acted.steering, auto, inc)
        # Every controller ran, so every wake-up is fresh: the old ones are replaced, not merged.
        self._wakeups = {}
        for actor, at in turn.wakes:
            self._wakeups[actor] = min(at, self._wakeups.get(actor, at))
        others = [at for actor, at in self._wakeups.items() if actor != "replication"]
        self._others_wake = min(others) if others else None
        self._copies.reset(self._state.replication.state, self._replication_params)
        self._data_gated = any(c.waiting_for_data for c in self._state.canary.clouds.values()) or any(
            g.state == "holding" for i in self._state.failover.incidents.values() for g in i.gates)
        return turn.out

    def _sense(self, turn: _Turn, batch: _Batch) -> _Sensed:
        """Health, replication, rotation and canary: what is up, what is in, what is caught up."""
        st, now_s, clouds, edge = self._state, turn.now_s, self._platform.cloud_names, self._platform.edge
        h = health.reconcile(health.HealthView(now_s, edge.health_check, clouds, batch.probes), st.health)
        turn.emit("edge", h.actions, h.requeue_after_s)
        r = replication.reconcile(
            replication.ReplicationView(now_s, self._targets, batch.positions, clouds, self._replication_params),
            st.replication,
        )
        turn.emit("replication", r.actions, r.requeue_after_s)
        edge_down = frozenset(c for c in clouds if h.memory.sees_down(EDGE, c))
        rot = steering.rotate(
            steering.RotationView(now_s, clouds, edge.hold_down_s, h.memory.clouds_down, edge_down), st.rotation
        )
        turn.emit("steering", rot.actions, rot.requeue_after_s)
        healthy = frozenset(c for c in clouds if c not in h.memory.clouds_down and not h.memory.edge_unhealthy_endpoints(c))
        # The canary reads caught-up copies only for a cloud on its way back (out, stabilizing, stepping):
        # with every cloud in and none out, the lags of every copy need not be computed.
        returning_any = rot.memory.out or any(c.phase != "in" for c in st.canary.clouds.values())
        caught_up = failover.clouds_caught_up(r.memory.state, clouds) if returning_any else frozenset()
        can = canary.reconcile(
            canary.CanaryView(now_s, self._platform, rot.memory.out, healthy, caught_up, batch.samples), st.canary
        )
        turn.emit("canary", can.actions, can.requeue_after_s)
        return _Sensed(h.memory, r.memory, rot.memory, can.memory, can.memory.returning(edge.canary_steps))

    def _act(self, turn: _Turn, batch: _Batch, sensed: _Sensed) -> _Acted:
        """Steering, failover, steering again: tier 1 first, then the sequence, then what it moved."""
        st, clouds = self._state, self._platform.cloud_names
        out_set, returning = sensed.rotation.out, sensed.returning
        unhealthy = frozenset((c, s) for (v, c), pair in sensed.health.pairs().items() if v == EDGE for s in pair.unhealthy)
        # The autoscaler's burst as it stood after the last step: steering spills to burst pods by capacity.
        bursting = frozenset(st.autoscaler.burst_capacity_rps())
        capacity = {name: st.autoscaler.capacity_rps(name) for name in sorted(bursting)}

        def steer(moved: Mapping[str, str], served: tuple[ServedSplit, ...], memory: SteeringMemory) -> SteeringMemory:
            view = steering.SteeringView(
                turn.now_s, self._platform, self._services, out_set, unhealthy, returning, moved, served, capacity, bursting
            )
            d = steering.reconcile(view, memory)
            turn.emit("steering", d.actions, d.requeue_after_s)
            return d.memory

        steered = steer(st.failover.moved(), batch.splits, st.steering)
        fully_in = frozenset(c for c in clouds if c not in returning)
        fo = failover.reconcile(
            failover.FailoverView(turn.now_s, self._platform, self._services, out_set, fully_in,
                                  sensed.replication.state, dict(self._autoscaling.pools)),
            st.failover,
        )
        turn.emit("failover", fo.actions, fo.requeue_after_s)
        moved = fo.memory.moved()
        if moved == st.failover.moved():
            # Nothing newly moved: the second pass would ask the same weights for the same reasons.
            return _Acted(steered, fo.memory)
        return _Acted(steer(moved, (), steered), fo.memory)

    def _follow(self, turn: _Turn, sensed: _Sensed, acted: _Acted) -> tuple[AutoscalerMemory, IncidentMemory]:
        """Autoscaler for the load the new weights bring, incidents for the people."""
        st, clouds = self._state, self._platform.cloud_names
        out_set, returning = sensed.rotation.out, sensed.returning
        # The autoscaler sizes from the weights before any burst spill (see steering.Asked.base).
        weights = {name: dict(a.base or a.weights) for name, a in acted.steering.asked.items()}
        auto = self._autoscaling.run(turn.now_s, st.autoscaler, weights, out_set | sensed.health.clouds_down)
        turn.out.extend(Emitted(turn.now_s, "autoscaler", a) for a in auto.actions)
        if auto.wake_s is not None:
            turn.wakes.append(("autoscaler", auto.wake_s))
        h = sensed.health
        inc = incidents.reconcile(
            incidents.IncidentView(
                now_s=turn.now_s,
                catalog=self._catalog,
                endpoints=self._edge_view(h),
                clouds_down=h.clouds_down,
                stalls=sensed.replication.state.stalls(),
                # Carrying the failed-over traffic until the failed cloud is fully back, canary included.
                survivors=tuple(c for c in clouds if c not in out_set and c not in returning) if out_set or returning else (),
                recovering=frozenset(c for c in returning if c not in out_set),
                out_of_rotation=out_set | frozenset(returning),
                params=self._incident_params,
            ),
            st.incidents,
        )
        turn.emit("incidents", inc.actions, inc.requeue_after_s)
        return auto.memory, inc.memory

    def _edge_view(self, h: HealthMemory) -> Mapping[tuple[str, str], bool]:
        """(cloud, service) -> healthy as the edge judges every placed endpoint; rebuilt only when the
        endpoints' judgements changed (steps without probes keep the same mapping)."""
        if self._edge_view_of is not h.endpoints:
            self._edge_view_of = h.endpoints
            self._edge_view_cache = {(c, p.name): h.edge_healthy(c, p.name) for p in self._services for c in p.placement}
        return self._edge_view_cache

    def next_wakeup_s(self) -> float | None:
        """The earliest time any controller asked to run again (absolute, on the driver's clock).

        The replication watch's own wake-up is its stall deadline as of its last run: the earliest
        moment a trailing copy would have received nothing for `stall_after_s`. Positions observed
        since move that deadline (a copy that advanced is not stalling) or bring it forward to now
        (a copy's level, reachability or role changed), so the plane steps when a replication
        decision can change rather than every few seconds while asynchronous copies trail.
        """
        others, repl = self._others_wake, self._copies.deadline_s()
        if repl is None:
            return others
        return repl if others is None else min(others, repl)

    # -- read-only accessors for drivers and reports --------------------------------------------

    @property
    def state(self) -> PlaneState:
        return self._state

    @property
    def dropped_observations(self) -> int:
        return self._dropped

    def weights(self) -> dict[str, dict[str, int]]:
        """Current weights per service (what steering last asked for; the plan's before the first step)."""
        asked = self._state.steering.asked
        return {p.name: dict(asked[p.name].weights) if p.name in asked else dict(p.weights) for p in self._services}

    def clouds_down(self) -> frozenset[str]:
        """Clouds declared down by a quorum of vantage points."""
        return self._state.health.clouds_down

    def clouds_out(self) -> frozenset[str]:
        """Clouds out of the rotation by decision (down and not held by hold-down)."""
        return self._state.rotation.out

    def endpoint_health(self) -> dict[tuple[str, str], bool]:
        """(cloud, service) -> healthy, as the edge judges it (every placed endpoint, healthy until probed otherwise)."""
        h = self._state.health
        return {(c, p.name): h.edge_healthy(c, p.name) for p in self._services for c in p.placement}

    def failover_phases(self) -> dict[str, Phase]:
        """Cloud -> phase of its failover incident (kept as "closed" once its canary completed)."""
        return self._state.failover.phases()

    def canary_fractions(self) -> dict[str, float]:
        """Clouds returning by canary -> fraction of their normal share (0 while stabilizing)."""
        return self._state.canary.returning(self._platform.edge.canary_steps)

    def replication(self) -> ReplicationState:
        return self._state.replication.state

    def moved_services(self) -> Mapping[str, str]:
        """Services failover rescheduled away from a failed cloud -> where they run now."""
        return self._state.failover.moved()
