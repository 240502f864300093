"""Everything a drill writes down as it runs: timeline, steering changes, series, capacity peaks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from godseye.plan.model import ServicePlan
from godseye.sim.data_model import DataModel
from godseye.sim.faults import FaultChange, describe, describe_end
from godseye.sim.metrics import Counters
from godseye.sim.result import (
    CloudResult,
    DetailValue,
    DrillResult,
    FaultWindow,
    Series,
    ServiceResult,
    SteeringChange,
    TimelineEntry,
)
from godseye.sim.service_model import OFFERED, SERVED
from godseye.sim.world import World
from godseye.spec.scenario import CloudOutage, Scenario

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Recorder:
    def __init__(self, clouds: list[str], services: list[str], plans: list[ServicePlan],
                 uses: dict[str, tuple[str, ...]]) -> None:
        self.clouds, self.services, self.plans, self.uses = clouds, services, plans, uses
        self.timeline: list[TimelineEntry] = []
        self.steering: list[SteeringChange] = [SteeringChange(0.0, p.name, dict(p.weights)) for p in plans]
        self._last_weights = {p.name: dict(p.weights) for p in plans}
        self._windows: dict[int, FaultWindow] = {}
        self._t: list[float] = []
        self._share: list[tuple[float, ...]] = []
        self._pods: list[tuple[int, ...]] = []
        self._nodes: list[tuple[int, ...]] = []
        self._offered: list[float] = []
        self._failed: list[float] = []
        self._share_max = np.zeros(len(clouds))
        self._nodes_max = np.zeros(len(clouds), dtype=np.int64)
        self._pods_max = np.zeros(len(clouds), dtype=np.int64)
        self._world_version = -1
        self._world_pods: tuple[int, ...] = ()
        self._world_nodes: tuple[int, ...] = ()

    def note(self, t: float, actor: str, event: str, detail: dict[str, DetailValue]) -> None:
        self.timeline.append(TimelineEntry(round(t, 3), actor, event, detail))

    def fault(self, ch: FaultChange) -> None:
        f = ch.fault
        actor = f.cloud if isinstance(f, CloudOutage) else "chaos"
        text = describe(f) if ch.edge == "start" else describe_end(f)
        self.note(ch.t_s, actor, text, {"fault": f.kind, "fault_index": ch.index})
        if ch.edge == "start":
            self._windows[ch.index] = FaultWindow(f.kind, describe(f), f.at_s, None)
        else:
            w = self._windows[ch.index]
            self._windows[ch.index] = FaultWindow(w.kind, w.label, w.start_s, ch.t_s)

    def steer(self, t: float, service: str, weights: dict[str, int]) -> None:
        full = {c: int(weights.get(c, 0)) for c in self.clouds}
        if full != self._last_weights.get(service):
            self._last_weights[service] = full
            self.steering.append(SteeringChange(round(t, 3), service, full))

    def pods_done(self, t: float, before: IntArray, world: World) -> None:
        """A line when a scale-up completes: every pod asked for in a cloud is ready."""
        grew = (world.pods_ready > before) & (world.pods_ready == world.pods_desired) & (world.pods_starting == 0)
        for s, j in zip(*np.nonzero(grew), strict=True):
            c = self.clouds[j]
            self.note(t, c, f"{self.services[s]}: {int(world.pods_ready[s, j])} pods ready in {c}",
                      {"service": self.services[s], "ready": int(world.pods_ready[s, j])})

    def sample(self, t: float, sums: FloatArray, world: World) -> None:
        """One point of the series from `sums` (offered, served, ... integrated since the last point)."""
        served = sums[SERVED].sum(axis=0)
        total = float(served.sum())
        share = tuple(x / total if total > 0 else 0.0 for x in served.tolist())
        span_offered = float(sums[OFFERED].sum())
        if world.version != self._world_version:
            # Pods and nodes only move with the world: their per-cloud figures are kept until it changes.
            self._world_version = world.version
            pods = world.pods_ready.sum(axis=0)
            vcpu = (world.pods_ready * world.pod_vcpu[:, None]).sum(axis=0)
            all_vcpu = float(vcpu.sum())
            if all_vcpu > 0:
                self._share_max = np.maximum(self._share_max, vcpu / all_vcpu)
            self._nodes_max = np.maximum(self._nodes_max, world.nodes_ready)
            self._pods_max = np.maximum(self._pods_max, pods)
            self._world_pods = tuple(pods.tolist())
            self._world_nodes = tuple(world.nodes_ready.tolist())
        span = (t - self._t[-1]) if self._t else 0.0
        self._t.append(round(t, 3))
        self._share.append(share)
        self._pods.append(self._world_pods)
        self._nodes.append(self._world_nodes)
        self._offered.append(span_offered / span if span > 0 else 0.0)
        self._failed.append((span_offered - float(sums[SERVED].sum())) / span if span > 0 else 0.0)

    def result(self, scenario: Scenario, platform: str, seed: int, rto: list[float | None], counters: Counters,
               data: DataModel, events: int) -> DrillResult:
        services: list[ServiceResult] = []
        for i, p in enumerate(self.plans):
            losses = [(data.worst_loss_s(d), d) for d in self.uses[p.name]]
            rpo, worst = max(losses, default=(0.0, None))
            rto_s = rto[i]
            services.append(ServiceResult(
                p.name, p.tier, None if rto_s is None else round(rto_s, 3), p.rto_target_s, round(rpo, 3), p.rpo_target_s,
                round(float(counters.total[i])), round(float(counters.failed[i])),
                worst if rpo > 0 else None))
        clouds = tuple(CloudResult(c, round(float(self._share_max[j]), 4), int(self._nodes_max[j]), int(self._pods_max[j]))
                       for j, c in enumerate(self.clouds))
        series = Series(tuple(self._t), tuple(self.clouds), tuple(self._share), tuple(self._pods), tuple(self._nodes),
                        tuple(self._offered), tuple(self._failed))
        timeline = tuple(sorted(self.timeline, key=lambda e: e.t_s))
        return DrillResult(scenario.name, scenario.description, platform, scenario.duration_s, seed, tuple(services), clouds,
                           tuple(self.steering), timeline, tuple(self._windows[i] for i in sorted(self._windows)), series,
                           events)

