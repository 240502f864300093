"""Chaos on real processes, and how the scenario contract's faults map onto it.

| chaos          | what happens                                          | scenario fault                   |
| -------------- | ----------------------------------------------------- | -------------------------------- |
| kill-cloud C   | SIGKILL every service process of cloud C              | cloud_outage {cloud: C}          |
| pause-cloud C  | SIGSTOP them: a hung cloud (TCP accepted, no answer)  | cloud_outage {cloud: C, mode: hung} |
| kill-service   | SIGKILL the processes of one service in one cloud     | service_outage {cloud, service}  |
| restore C      | restart the killed, SIGCONT the paused                | the fault's until_s              |
| load x M       | the load generator's multiplier                       | traffic_spike {multiplier}       |

Partitions, replication stalls and capacity caps need the network or the datastores: the edge lab does
not play them and says so (`unsupported`). A dead cloud's vantage point stops probing, as a prober
inside that cloud would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from godseye.live.lab import READY_TIMEOUT_S, Lab
from godseye.live.lab_data import LabData
from godseye.live.probes import Prober
from godseye.spec.scenario import CloudOutage, Fault, ServiceOutage, TrafficSpike

ChaosKind = Literal["kill-cloud", "pause-cloud", "kill-service", "restore", "traffic"]


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    t_s: float
    kind: ChaosKind
    cloud: str | None
    service: str | None
    processes: tuple[str, ...]


@dataclass
class Chaos:
    lab: Lab
    clock: Callable[[], float]
    prober: Prober | None = None
    events: list[ChaosEvent] = field(default_factory=list)
    # What chaos did to each cloud, so `restore` knows whether to restart or resume.
    paused: set[str] = field(default_factory=set)
    # The lab's datastores when it runs them: a cloud's database, Redis and object copy go with it.
    data: LabData | None = None

    def _check_cloud(self, cloud: str) -> None:
        if cloud not in self.lab.spec.clouds:
            raise ValueError(f"no cloud named '{cloud}' (known: {', '.join(self.lab.spec.clouds)})")

    def _done(
        self, kind: ChaosKind, cloud: str | None, service: str | None, names: list[str], t_s: float | None = None
    ) -> ChaosEvent:
        ev = ChaosEvent(self.clock() if t_s is None else t_s, kind, cloud, service, tuple(names))
        self.events.append(ev)
        return ev

    def kill_cloud(self, cloud: str) -> ChaosEvent:
        self._check_cloud(cloud)
        self.lab.down_clouds.add(cloud)
        names = [r.name for r in self.lab.desired_replicas(cloud) if self.lab.supervisor.kill(r.name)]
        if self.data is not None:
            names += self.data.kill(cloud)
        self.paused.discard(cloud)
        if self.prober is not None:
            self.prober.silenced.add(cloud)
        return self._done("kill-cloud", cloud, None, names)

    def pause_cloud(self, cloud: str) -> ChaosEvent:
        self._check_cloud(cloud)
        self.lab.down_clouds.add(cloud)
        names = [r.name for r in self.lab.desired_replicas(cloud) if self.lab.supervisor.pause(r.name)]
        if self.data is not None:
            names += self.data.pause(cloud)
        self.paused.add(cloud)
        if self.prober is not None:
            self.prober.silenced.add(cloud)
        return self._done("pause-cloud", cloud, None, names)

    def kill_service(self, cloud: str, service: str) -> ChaosEvent:
        self._check_cloud(cloud)
        if service not in self.lab.spec.platform.services:
            raise ValueError(f"no service named '{service}' in the lab (known: {', '.join(self.lab.spec.platform.services)})")
        names = [r.name for r in self.lab.desired_replicas(cloud, service) if self.lab.supervisor.kill(r.name)]
        return self._done("kill-service", cloud, service, names)

    async def restore(self, cloud: str) -> ChaosEvent:
        """Bring a cloud back: resume what was paused, restart what was killed, wait until they answer."""
        self._check_cloud(cloud)
        began = self.clock()  # the restore's time is when it began, not when the last process answered
        names: list[str] = []
        for r in self.lab.desired_replicas(cloud):
            if self.lab.supervisor.is_paused(r.name):
                self.lab.supervisor.resume(r.name)
                names.append(r.name)
        self.paused.discard(cloud)
        self.lab.down_clouds.discard(cloud)
        if self.data is not None:
            names += await asyncio.to_thread(self.data.restore, cloud)
        started = self.lab.start_missing(cloud)
        names += [r.name for r in started]
        if started:
            await self.lab.wait_ready(started, time.monotonic() + READY_TIMEOUT_S)
        if self.prober is not None:
            self.prober.silenced.discard(cloud)
        return self._done("restore", cloud, None, names, began)


@dataclass(frozen=True, slots=True)
class Planned:
    """One chaos step of a scenario, at a time already divided by the time scale."""

    t_s: float
    kind: ChaosKind
    cloud: str | None = None
    service: str | None = None
    multiplier: float = 1.0


def plan_faults(faults: tuple[Fault, ...], time_scale: float) -> tuple[list[Planned], list[str]]:
    """The chaos steps that play a scenario's faults (sorted by time), and the faults left unplayed."""
    steps: list[Planned] = []
    unsupported: list[str] = []
    for f in faults:
        start = f.at_s / time_scale
        end = f.until_s / time_scale if f.until_s is not None else None
        if isinstance(f, CloudOutage):
            steps.append(Planned(start, "pause-cloud" if f.mode == "hung" else "kill-cloud", f.cloud))
            if end is not None:
                steps.append(Planned(end, "restore", f.cloud))
        elif isinstance(f, ServiceOutage):
            steps.append(Planned(start, "kill-service", f.cloud, f.service))
            if end is not None:
                steps.append(Planned(end, "restore", f.cloud))
        elif isinstance(f, TrafficSpike):
            steps.append(Planned(start, "traffic", multiplier=f.multiplier))
            if end is not None:
                steps.append(Planned(end, "traffic", multiplier=1.0))
        else:
            unsupported.append(f"{f.kind} at {f.at_s}s: not played by the edge lab")
    steps.sort(key=lambda p: p.t_s)
    return steps, unsupported
