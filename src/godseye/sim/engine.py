"""The twin: an event queue around a Plane, with traffic integrated as a fluid between events.

Each turn of the loop: apply what is due now (fault changes, nodes and pods ready, weights whose
propagation delay has passed), send the plane what it may observe now (probe rounds, samples after
the metrics lag, node pools, replication positions), let the plane step if it was told something
or asked to wake up, carry out its actions, then jump to the next moment anything can happen and
integrate requests over the jump with the rates of the current state and the offered load at the
jump's midpoint (rate x dt). Steady stretches
are skipped: probe rounds stop once every outcome has been reported unchanged long enough for the
health controller's thresholds, and restart on the first change.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from godseye.control.decision import Emitted
from godseye.control.observations import Observation
from godseye.plan.placement import place_services
from godseye.policy.tiers import datastore_tiers
from godseye.sim import data_model, sensors
from godseye.sim.action_effects import ActionEffects
from godseye.sim.faults import FaultChange, FaultState, is_disruptive, schedule
from godseye.sim.metrics import Counters, RtoTracker
from godseye.sim.plane_port import PlaneFactory
from godseye.sim.probe_rounds import ProbeRounds
from godseye.sim.recorder import Recorder
from godseye.sim.result import DrillResult
from godseye.sim.service_model import FAILED, IN_SLA, OFFERED, SUMMED, Endpoints, Served, ServiceParams, evaluate_on
from godseye.sim.traffic import TrafficModel
from godseye.sim.world import World, initial_nodes, initial_pods
from godseye.spec.models import Platform
from godseye.spec.scenario import CapacityCap, CloudOutage, Scenario

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # Samples every 15 s: the Kubernetes HPA loop (ANCHORS.md).
    sample_interval_s: float = 15.0
    # Replication positions every 5 s: the replication watch declares a stall after 10 s without
    # progress, so it must hear from every copy more often than that.
    replication_interval_s: float = 5.0
    # Longest integration step, so traffic curves are followed closely enough.
    max_step_s: float = 60.0
    # Bound on loop turns, far above any 30-day run, so a plane that keeps waking at one instant ends.
    max_turns: int = 50_000_000


class Engine:
    def __init__(self, platform: Platform, scenario: Scenario, seed: int, plane_factory: PlaneFactory,
                 config: EngineConfig = EngineConfig()) -> None:
        self.platform, self.scenario, self.seed, self.config = platform, scenario, seed, config
        self.plans = place_services(platform)
        self.services = [p.name for p in self.plans]
        self.clouds = list(platform.clouds)
        tiers = [p.tier for p in self.plans]

        def rng(name: str) -> random.Random:
            return random.Random(f"{seed}:{name}")

        self.traffic = TrafficModel(platform, scenario, self.services, rng("traffic"))
        self.faults = FaultState()
        self.changes: deque[FaultChange] = deque(schedule(scenario))
        pods = initial_pods(platform, self.plans)
        nodes = initial_nodes(platform, self.plans, pods)
        self.world = World(platform, self.services, tiers, pods, nodes)
        self.weights = np.array([[p.weights.get(c, 0) for c in self.clouds] for p in self.plans], dtype=np.float64)
        self.placed = np.array([[c in p.placement for c in self.clouds] for p in self.plans], dtype=np.bool_)
        store_tiers = datastore_tiers(platform)
        self.data = data_model.DataModel(
            platform, data_model.primaries(platform, {p.name: p.weights for p in self.plans}), store_tiers, rng("data"))
        svc = [platform.services[s] for s in self.services]
        self.params = ServiceParams(
            np.array([[s.pod_rps] for s in svc]), np.array([[s.service_time_ms] for s in svc]),
            np.array([[s.p99_sla_ms] for s in svc]))
        self.good_ratio = np.array([1.0 - s.error_rate_sla for s in svc])
        stores = list(platform.datastores)
        # Shaped explicitly: a platform without datastores still needs a (0, services) matrix.
        self.uses = np.array([[st in s.data for s in svc] for st in stores], dtype=np.float64).reshape(len(stores), len(svc))
        self.uses_base = np.maximum(self.uses @ self.traffic.baseline, 1e-12)
        sync = [st.name for st in self.data.stores if st.mode == "sync"]
        self.sync_users = {st: [i for i, s in enumerate(svc) if st in s.data] for st in sync}
        self._sync_stores = [self.data.by_name[name] for name in self.sync_users]
        self._placed_version = -1
        self._placed = self.placed
        anchors = [f.at_s for f in scenario.faults if is_disruptive(f)]
        anchors += [f.until_s for f in scenario.faults if isinstance(f, CloudOutage) and f.until_s is not None]
        self.rto = RtoTracker(len(self.services), anchors)
        self.counters = Counters(len(self.services))
        hc = platform.edge.health_check
        self.probe_interval_s = hc.interval_s
        self.probe_needed = max(hc.failure_threshold, hc.success_threshold) + 1
        self.probe_phase_s = rng("edge").uniform(0.0, hc.interval_s)
        self.rec = Recorder(self.clouds, self.services, self.plans, {n: platform.services[n].data for n in self.services})
        for j, c in enumerate(self.clouds):
            if nodes[j] != platform.clouds[c].nodes:
                self.rec.note(0.0, c, f"{c} starts with {nodes[j]} nodes (spec {platform.clouds[c].nodes}) to hold the "
                              "steady state", {"nodes": nodes[j]})
        self.effects = ActionEffects(platform, self.clouds, self.services, self.world, self.faults, self.data, self.rec,
                                     self.weights)
        self.outbox: deque[tuple[float, Observation]] = deque()
        self.plane = plane_factory(platform, self.plans)
        self.events = 0
        self._outcome_version = (-1, -1)
        # Vantage points: the edge and every cloud.
        self.probe_rounds = ProbeRounds(self.placed, len(self.clouds) + 1, self.probe_needed)
        self._fault_version = -1
        self._out_mask = np.zeros_like(self.placed)
        # Offered, served, p99 and CPU (the first rows of `Served.grid`) integrated since the last sample.
        self._sums = np.zeros((SUMMED, *self.placed.shape))
        self._ep_key: tuple[int, int, object] | None = None
        self._ep: Endpoints | None = None
        self._sum_from = 0.0
        self._repl_next = 0.0
        self._changes = sensors.ChangeFilter()
        self._grid = sensors.SampleFilter(6, self.placed.shape)
        self._split_grid = sensors.SampleFilter(len(self.clouds), (len(self.services), 1))

    # -- the loop ------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> DrillResult:
        duration = self.scenario.duration_s
        t, probe_next, sample_next, wake = 0.0, self.probe_phase_s, 0.0, 0.0
        bends = deque(self.traffic.change_points())
        shown = -1.0
        for _ in range(self.config.max_turns):
            self._apply_due(t)
            told = False
            self._refresh_outcome()
            if t >= probe_next - 1e-9:
                told |= self._probe_round(t)
                probe_next = t + self.probe_interval_s
            if t >= sample_next - 1e-9:
                self._sample(t)
                sample_next = t + self.config.sample_interval_s
            if t >= self._repl_next - 1e-9:
                self._poll_replication(t)
                wake = self._rewake(t, wake)
            while self.outbox and self.outbox[0][0] <= t + 1e-9:
                self.plane.observe(self.outbox.popleft()[1])
                self.events += 1
                told = True
            if told or t >= wake - 1e-9:
                self._act(self.plane.step(t))
                asked = self.plane.next_wakeup_s()
                wake = asked if asked is not None and asked > t else math.inf
                self._refresh_outcome()
            if t >= duration:
                break
            while bends and bends[0] <= t:
                bends.popleft()
            # The plane's wake-up is kept apart: replication polls inside the jump usually move it later
            # (a trailing copy that advanced is not stalling), and then the jump goes on past it.
            nxt = [duration, sample_next, t + self.config.max_step_s]
            if self._probing():
                nxt.append(probe_next)
            if self.changes:
                nxt.append(self.changes[0].t_s)
            landing = self.effects.next_landing_s()
            if landing is not None:
                nxt.append(landing)
            if self.outbox:
                nxt.append(self.outbox[0][0])
            if bends:
                nxt.append(bends[0])
            for other in (self.world.next_event_s(), self.data.next_event_s()):
                if other is not None and other > t:
                    nxt.append(other)
            t_next, wake = self._integrate(t, max(min(nxt), t + 1e-6), wake)
            if not self._probing():
                # Keep probe rounds on their grid while they are skipped.
                probe_next += math.ceil(max(0.0, t_next - probe_next) / self.probe_interval_s) * self.probe_interval_s
            t = min(t_next, duration)
            self.events += 1
            if progress is not None and t - shown >= duration / 200:
                shown = t
                progress(t / duration)
        if progress is not None:
            progress(1.0)
        return self.rec.result(self.scenario, self.platform.name, self.seed, self.rto.finish(duration), self.counters,
                               self.data, self.events)

    # -- due changes ---------------------------------------------------------------------------
    def _apply_due(self, t: float) -> None:
        while self.changes and self.changes[0].t_s <= t + 1e-9:
            ch = self.changes.popleft()
            self.faults.apply(ch)
            self.rec.fault(ch)
            f = ch.fault
            if isinstance(f, CloudOutage):
                self.world.set_cloud_up(self.clouds.index(f.cloud), self.faults.cloud_up(f.cloud), t)
            elif isinstance(f, CapacityCap):
                self.world.set_cap(self.clouds.index(f.cloud), self.faults.node_cap(f.cloud))
            self.events += 1
        due = self.world.next_event_s()
        if due is not None and due <= t:
            before = self.world.pods_ready.copy()
            for arrived in self.world.advance_to(t):
                self.rec.note(arrived.t_s, arrived.cloud, f"{arrived.count} nodes ready in {arrived.cloud}",
                              {"nodes_ready": arrived.nodes_ready})
            self.rec.pods_done(t, before, self.world)
        if self.world.preempted:
            self.effects.drain_preempted(t)
        self.effects.land_weights(t)

    def _evaluate(self, t: float, load_at: float | None = None) -> Served:
        """Every endpoint as it stands at t, with the offered load of `load_at` (default t)."""
        offered = self.traffic.offered(t if load_at is None else load_at)
        return evaluate_on(self.params, self._endpoints(t), offered, self.weights)

    def _endpoints(self, t: float) -> Endpoints:
        """Ready pods and what is alive, prepared for evaluation; rebuilt only when they change."""
        out = self._endpoints_out()
        sync = self._sync_stores
        # Whether a synchronous store takes writes follows the faults and its primary, and the clock
        # only while a leader election is pending: without one, the promotions count stands for it.
        writers: object = self.data.promotions
        if any(st.election_until_s is not None for st in sync):
            writers = tuple(st.writable(self.faults, t) for st in sync)
        key = (self.world.version, self.faults.version, writers)
        if self._ep is None or key != self._ep_key:
            store_ok = np.ones(len(self.services), dtype=np.bool_)
            for st in sync:
                if not st.writable(self.faults, t):
                    store_ok[self.sync_users[st.name]] = False
            up = np.array(self.world.up, dtype=np.bool_)
            alive = up[None, :] & ~out & store_ok[:, None]
            self._ep_key, self._ep = key, Endpoints.of(self.params, self.world.pods_ready.astype(np.float64), alive)
        return self._ep

    def _placed_now(self) -> npt.NDArray[np.bool_]:
        """Endpoints placed by the plan or given pods since, kept until the world changes."""
        if self._placed_version != self.world.version:
            self._placed_version = self.world.version
            self._placed = self.placed | (self.world.pods_desired > 0)
        return self._placed

    def _endpoints_out(self) -> npt.NDArray[np.bool_]:
        """(service, cloud) endpoints a service outage took out, kept until the faults change."""
        if self._fault_version != self.faults.version:
            self._fault_version = self.faults.version
            self._out_mask = np.array([[self.faults.endpoint_out(c, s) for c in self.clouds] for s in self.services],
                                      dtype=np.bool_).reshape(self.placed.shape)
        return self._out_mask

    def _integrate(self, t0: float, t1: float, wake: float) -> tuple[float, float]:
        """Integrate requests and data over [t0, min(t1, wake)]; returns where it stopped and the plane's wake-up.

        Nothing but the offered load changes inside a jump (every other change is an event that ends
        one), so the jump is evaluated once, with the load at its midpoint: a ramp is then followed
        without lag however long the jump, and results do not depend on where turns fall.
        Replication polls inside the jump are taken without a turn of their own: rates are constant
        over the jump, so the data model is advanced poll by poll and read at each. Each poll may move
        the plane's wake-up (see `Plane.next_wakeup_s`): later (a trailing copy advanced, so its stall
        deadline moved), and the jump goes on towards t1; or to now, and the jump ends at that poll
        (re-evaluated at the midpoint of what remains) so the plane steps there.
        """
        st = self._evaluate(t0, 0.5 * (t0 + t1))
        per_service = st.grid.sum(axis=2)  # every row summed over clouds at once
        offered = per_service[OFFERED]
        load = dict(zip(self.platform.datastores, ((self.uses @ offered) / self.uses_base).tolist(), strict=True))
        a, end = t0, max(min(t1, wake), t0 + 1e-6)
        while self._repl_next <= end + 1e-9:
            self._advance_data(a, self._repl_next, load)
            a = self._repl_next
            self._poll_replication(a)
            wake = self._rewake(a, wake)
            if wake <= a + 1e-9:
                end = a
                break
            end = max(min(t1, wake), t0 + 1e-6)
        if a < end:
            self._advance_data(a, end, load)
        if end < t1:
            st = self._evaluate(t0, 0.5 * (t0 + end))
            per_service = st.grid.sum(axis=2)
            offered = per_service[OFFERED]
        dt = end - t0
        self.counters.add(dt, offered, per_service[FAILED])
        good = per_service[IN_SLA] >= self.good_ratio * offered - 1e-9
        self.rto.update(t0, end, good)
        self._sums += st.grid[:SUMMED] * dt
        return end, wake

    def _advance_data(self, t0: float, t1: float, load: dict[str, float]) -> None:
        for at, note in self.data.advance(t0, t1, load, self.faults):
            self.rec.note(at, "data", note, {})

    def _rewake(self, t: float, wake: float) -> float:
        """The plane's wake-up after positions reached it: an ask at or after `t` replaces the one known."""
        asked = self.plane.next_wakeup_s()
        if asked is None:
            return math.inf
        return max(asked, t) if asked >= t - 1e-9 else wake

    def _poll_replication(self, t: float) -> None:
        """Positions are read at the plane's next step; they are no reason to step by themselves."""
        batch = sensors.replication(t, self.data, self.faults)
        if batch is not None:
            self.plane.observe(batch)
            # Counted per copy, as when each copy was its own observation: the drill's event count keeps its meaning.
            self.events += len(batch)
        self._repl_next = t + self.config.replication_interval_s

    # -- observations --------------------------------------------------------------------------
    def _probing(self) -> bool:
        return self.probe_rounds.any_due

    def _refresh_outcome(self) -> None:
        """Recompute what probes would see when the world or the faults changed; a change restarts
        probe rounds that were being skipped."""
        version = (self.world.version, self.faults.version)
        if version == self._outcome_version:
            return
        self._outcome_version = version
        placed = self._placed_now()
        ok, hung = sensors.probe_outcomes(self.world, self.faults, placed, self._endpoints_out())
        self.probe_rounds.update(ok, hung, placed)

    def _probe_round(self, t: float) -> bool:
        """Probes every vantage point sends now, to the endpoints whose outcome has not been reported
        unchanged for `probe_needed` rounds (the others would only repeat what the health controller
        already concluded from them)."""
        rounds = self.probe_rounds
        if not rounds.any_due:
            return False
        ok, hung, _ = rounds.outcome
        latency = self._evaluate(t).p99_ms
        for obs in sensors.probes(t, self.world, ok, hung, rounds.due, self.platform.edge.health_check.timeout_s, latency):
            self.plane.observe(obs)
            self.events += 1
        rounds.sent()
        return True

    def _sample(self, t: float) -> None:
        span = t - self._sum_from
        lag = self.platform.autoscaling.metrics_lag_s
        placed = self._placed_now()
        if span > 0:
            for obs in sensors.samples(t, self.world, placed, self._sums, span, self._grid,
                                       self._split_grid):
                self.outbox.append((t + lag, obs))
            self.rec.sample(t, self._sums, self.world)
        for obs in sensors.node_pools(t, self.world, self._changes):
            self.plane.observe(obs)
            self.events += 1
        self._sums.fill(0.0)
        self._sum_from = t

    # -- actions -------------------------------------------------------------------------------
    def _act(self, emitted: list[Emitted]) -> None:
        self.events += len(emitted)
        self.effects.carry_out(emitted)
