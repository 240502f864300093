"""One running lab: real components, probes, the alert receiver, the control loop and chaos, wired.

    async with LabSession(spec, directory) as s:
        await s.run_for(30.0)          # control plane on the wall clock
        s.chaos.kill_cloud("aws")

Leaving the `async with` (normally, by an exception, or by cancellation) stops every process; a
crash of the whole Python process is covered by the supervisor's death signal and pid files.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import aiohttp

from godseye.control.actions import Action
from godseye.live.adapter import DataHook, LiveAdapter
from godseye.live.alerts import AlertReceiver
from godseye.live.chaos import Chaos
from godseye.live.haproxy_config import EdgeMode
from godseye.live.lab import Lab
from godseye.live.lab_data import LabData
from godseye.live.lab_spec import LabSpec
from godseye.live.load_process import LoadProcess
from godseye.live.loadgen import LoadGenerator
from godseye.live.loop import LabClock, LabLoop, PlaneLike
from godseye.live.probes import Prober, lab_vantages
from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform

PlaneFactory = Callable[[Platform, list[ServicePlan]], PlaneLike]


def lab_plane_factory(time_scale: float, interval_s: float) -> PlaneFactory:
    """The same controllers the twin and production run. The incident engine's windows (60 s to
    correlate, 60 s clear before resolving) are durations like the spec's, divided by the time scale;
    never below two probe intervals, so one probe round still falls inside them."""
    from godseye.control.incidents import IncidentParams
    from godseye.control.plane import Plane

    defaults = IncidentParams()
    params = IncidentParams(
        window_s=max(defaults.window_s / time_scale, 2 * interval_s),
        clear_s=max(defaults.clear_s / time_scale, 2 * interval_s),
    )

    def build(platform: Platform, services: list[ServicePlan]) -> PlaneLike:
        return Plane(platform, services, incident_params=params)

    return build


class LabSession:
    def __init__(
        self,
        spec: LabSpec,
        directory: Path,
        plane_factory: PlaneFactory | None = None,
        with_plane: bool = True,
        mode: EdgeMode = "godseye",
        webhook_url: str | None = None,
        data_hook: DataHook | None = None,
        data_root: Path | None = None,
    ) -> None:
        """`data_root`: run the lab's datastores (PostgreSQL triplet, Redis, object folders) there, driven
        by this session's plane; the folder must be reachable by the postgres user."""
        self.spec = spec
        self.directory = directory
        self.clock = LabClock()
        self.lab = Lab(spec, directory, mode)
        hc = spec.platform.edge.health_check
        self.prober = Prober(lab_vantages(spec.clouds, spec.vantage_address), hc.timeout_s)
        self.receiver = AlertReceiver("127.0.0.1", spec.sizing.alerts_port, directory / "alerts.jsonl")
        self.webhook_url = webhook_url or self.receiver.url
        self.data = LabData(data_root, self.clock) if data_root is not None else None
        self.chaos = Chaos(self.lab, self.clock, self.prober, data=self.data)
        hc_interval = spec.platform.edge.health_check.interval_s
        self._plane_factory = (plane_factory or lab_plane_factory(spec.sizing.time_scale, hc_interval)) if with_plane else None
        self._data_hook = data_hook if self.data is None else self._apply_data
        self._http: aiohttp.ClientSession | None = None
        self.adapter: LiveAdapter | None = None
        self.loop: LabLoop | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._loads: list[LoadProcess] = []

    async def __aenter__(self) -> LabSession:
        try:
            if self.data is not None:
                # The datastores first: the order-writing services find the primary pointer at once.
                await asyncio.to_thread(self.data.start)
                self.lab.orders_root = self.data.pg_root
            await self.lab.start()
            await self.receiver.start()
            await self.prober.__aenter__()
            self._http = aiohttp.ClientSession()
            self.adapter = LiveAdapter(self.lab, self._http, self.webhook_url, data_hook=self._data_hook)
            if self._plane_factory is not None:
                plane = self._plane_factory(self.spec.platform, self.spec.services)
                positions = self.data.positions if self.data is not None else None
                self.loop = LabLoop(plane, self.lab, self.prober, self.adapter, self.clock, positions=positions)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            if self._loop_task is not None:
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._loop_task
            await self.prober.__aexit__(None, None, None)
            if self._http is not None:
                await self._http.close()
            await self.receiver.stop()
        finally:
            try:
                for load in self._loads:
                    await asyncio.to_thread(load.close)
            finally:
                try:
                    self.lab.stop()
                finally:
                    if self.data is not None:
                        await asyncio.to_thread(self.data.stop)

    async def _apply_data(self, action: Action) -> str:
        assert self.data is not None
        return await asyncio.to_thread(self.data.apply, action)

    def start_loop(self, until_s: float, stop: asyncio.Event | None = None) -> asyncio.Task[None]:
        """Run the control loop in the background until the clock reads `until_s`."""
        assert self.loop is not None, "this session runs no control plane"
        self._loop_task = asyncio.create_task(self.loop.run(until_s, stop))
        return self._loop_task

    def load(self, rps: dict[str, float] | None = None) -> LoadGenerator:
        """A load generator through the edge, in this process; by default each service's lab rps."""
        return LoadGenerator(self.lab.edge_url, self._rates(rps), self.clock)

    async def external_load(self, rps: dict[str, float] | None = None) -> LoadProcess:
        """A load generator through the edge in a process of its own, ready to send: what measures a
        drill (load_process.py says why). Stopped with the session."""
        load = LoadProcess(self.lab.edge_url, self._rates(rps), self.clock)
        self._loads.append(load)
        await load.ready()
        return load

    def _rates(self, rps: dict[str, float] | None) -> dict[str, float]:
        return dict(rps) if rps is not None else {p.name: p.rps for p in self.spec.services}
