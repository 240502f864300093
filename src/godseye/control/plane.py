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

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from godseye.control import autoscaler, canary, failover, health, incidents, replication, steering
from godseye.control.actions import Action
from godseye.control.autoscaler_model import AutoscalerMemory, AutoscalerView
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
# A sample's time, read in C when the autoscaler's skip looks for the first sample to age out.
_sample_time = attrgetter("t_s")
# Without an epoch the plane's clock has no calendar date, so the autoscaler gets no event calendar;
# this instant only anchors its (then empty) calendar.
_NO_CALENDAR_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
        self._epoch = epoch if epoch is not None else _NO_CALENDAR_EPOCH
        self._scaling_platform = platform if epoch is not None else platform.model_copy(update={"events": {}})
        self._replication_params = replication_params or ReplicationParams()
        self._incident_params = incident_params or IncidentParams()
        self._targets = targets_from_platform(platform)
        self._catalog = IncidentCatalog.from_platform(platform)
        self._pending: deque[Observation] = deque()
        self._dropped = 0
        self._samples: dict[tuple[str, str], ServiceSample] = {}
        self._pools: dict[str, NodePoolStatus] = {}
        self._wakeups: dict[str, float] = {}
        # The earliest of `_wakeups` but replication's (whose is the copy watch's): fixed between steps.
        self._others_wake: float | None = None
        self._copies = CopyWatch()
        self._data_gated = False
        # The autoscaler's inputs as of its last run, to skip runs that would decide the same (see `_autoscale`).
        self._inputs_version = 0
        self._auto_seen: tuple[int, dict[str, dict[str, int]], frozenset[str]] | None = None
        self._auto_until = -math.inf
        self._auto_wake: float | None = None
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
        for s in batch.samples:
            old = self._samples.get((s.cloud, s.service))
            if old is None or s.t_s >= old.t_s:
                self._samples[(s.cloud, s.service)] = s
                self._inputs_version += 1
        for p in batch.pools:
            if p.cloud not in self._pools or p.t_s >= self._pools[p.cloud].t_s:
                self._pools[p.cloud] = p
                self._inputs_version += 1
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
                                  sensed.replication.state, dict(self._pools)),
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
        auto_memory = self._autoscale(turn, weights, out_set | sensed.health.clouds_down)
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
        return auto_memory, inc.memory

    def _edge_view(self, h: HealthMemory) -> Mapping[tuple[str, str], bool]:
        """(cloud, service) -> healthy as the edge judges every placed endpoint; rebuilt only when the
        endpoints' judgements changed (steps without probes keep the same mapping)."""
        if self._edge_view_of is not h.endpoints:
            self._edge_view_of = h.endpoints
            self._edge_view_cache = {(c, p.name): h.edge_healthy(c, p.name) for p in self._services for c in p.placement}
        return self._edge_view_cache

    def _autoscale(self, turn: _Turn, weights: dict[str, dict[str, int]], down: frozenset[str]) -> AutoscalerMemory:
        """Run the autoscaler, unless nothing it reads changed since its last run and no timer of its is due.

        Its reconcile is level-triggered: with the same samples, pools, weights and clouds down, before
        its own wake-up, before any sample ages out of its window, and with no scale-down step already due
        (one waiting for the load to settle below its rolling average, which slides with the clock), it
        asks for nothing and keeps its memory. Skipping that run is what makes quiet steps cheap.
        """
        st, now_s = self._state, turn.now_s
        seen = (self._inputs_version, weights, down)
        if seen == self._auto_seen and now_s < self._auto_until:
            if self._auto_wake is not None:
                turn.wakes.append(("autoscaler", self._auto_wake))
            return st.autoscaler
        # The plane already keeps the newest sample per (cloud, service) and status per pool, as
        # `AutoscalerView.build` would pick them one by one: the view takes copies of them as they are
        # (and the step's weights, which nothing changes once steering has set them).
        view = AutoscalerView(
            now_s, self._epoch, self._scaling_platform, self._services, dict(self._samples), dict(self._pools), weights,
            down,
        )
        auto = autoscaler.reconcile(view, st.autoscaler)
        turn.emit("autoscaler", auto.actions, auto.requeue_after_s)
        self._auto_seen = seen
        self._auto_wake = now_s + auto.requeue_after_s if auto.requeue_after_s is not None else None
        self._auto_until = self._skippable_until(view, auto.memory)
        return auto.memory

    def _skippable_until(self, view: AutoscalerView, memory: AutoscalerMemory) -> float:
        """Until when a rerun on unchanged inputs is known to decide nothing new (see `_autoscale`)."""
        a, now_s = view.platform.autoscaling, view.now_s
        until = self._auto_wake if self._auto_wake is not None else math.inf
        # The first sample to age out of the window, found from the oldest (adding the window keeps the order).
        oldest = min(map(_sample_time, view.samples.values()), default=math.inf)
        if oldest + a.rolling_window_s >= now_s:
            until = min(until, oldest + a.rolling_window_s)
        else:
            for s in view.samples.values():
                expires = s.t_s + a.rolling_window_s
                if expires >= now_s:
                    until = min(until, expires)
        for record in memory.pods.values():
            if record.phase == "monitor":
                due = (record.stable_since_s if record.stable_since_s is not None else now_s) + a.stable_s
                if max(due, record.last_down_s + a.scale_down_interval_s) <= now_s:
                    return -math.inf
        return until

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
