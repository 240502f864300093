"""The control plane on the wall clock: an asyncio loop around the same `Plane` the twin drives.

Three feeders, one stepper:
- probes: every interval_s, one round of probes from every vantage point -> `observe` -> step;
- counters: every stats_interval_s, HAProxy's `show stat` and each replica's /load -> `ServedSplit`
  and `ServiceSample` -> `observe` -> step;
- wake-ups: sleep until the plane's `next_wakeup_s` (at most `MAX_IDLE_S`) -> step.
`step` is synchronous and returns actions; they go through one queue to the adapter so they are
applied in the order decided, and a slow action (starting a process) never holds up observation.
Time is seconds since the loop started (`LabClock`); everything is bounded by the run's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from godseye.control.decision import Emitted
from godseye.control.observations import (
    NodePoolStatus,
    Observation,
    ProbeResult,
    ReplicaPosition,
    ServedSplit,
    ServiceSample,
)
from godseye.live.adapter import LiveAdapter
from godseye.live.edge_stats import ReplicaLoad, observations
from godseye.live.haproxy_runtime import EdgeError, StatRow
from godseye.live.lab import Lab
from godseye.live.probes import Prober

MAX_IDLE_S = 0.5
POSITIONS_INTERVAL_S = 0.2  # how often datastore positions are read (the PostgreSQL probes sample every 0.1 s)
LOAD_TIMEOUT_S = 0.3
ACTION_QUEUE_MAX = 10_000


class PlaneLike(Protocol):
    def observe(self, obs: Observation) -> None: ...

    def step(self, now_s: float) -> list[Emitted]: ...

    def next_wakeup_s(self) -> float | None: ...


class LabClock:
    """Seconds since `start`, on the monotonic clock (the lab never goes back in time)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def reset(self) -> None:
        """Make now time 0 (before anything was stamped with this clock's time)."""
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.t0


@dataclass
class LoopRecord:
    probes: list[ProbeResult] = field(default_factory=list)
    splits: list[ServedSplit] = field(default_factory=list)
    samples: list[ServiceSample] = field(default_factory=list)
    # (t_s, service, {server: weight}) from `show stat`: HAProxy's own weights over time.
    edge_weights: list[tuple[float, str, dict[str, int]]] = field(default_factory=list)
    steps: int = 0


class LabLoop:
    def __init__(
        self,
        plane: PlaneLike,
        lab: Lab,
        prober: Prober,
        adapter: LiveAdapter,
        clock: Callable[[], float],
        keep_probes: bool = True,
        positions: Callable[[float], list[ReplicaPosition]] | None = None,
    ) -> None:
        self.positions = positions
        self.plane = plane
        self.lab = lab
        self.prober = prober
        self.adapter = adapter
        self.clock = clock
        self.keep_probes = keep_probes
        self.record = LoopRecord()
        self.interval_s = lab.spec.platform.edge.health_check.interval_s
        self.stats_interval_s = lab.spec.sizing.stats_interval_s
        self._actions: asyncio.Queue[tuple[Emitted, float]] = asyncio.Queue(ACTION_QUEUE_MAX)
        self._wake = asyncio.Event()
        self._last_stat: tuple[float, list[StatRow]] | None = None
        self._cpu_before: dict[tuple[str, str], float] = {}

    def step(self) -> None:
        now = self.clock()
        emitted = self.plane.step(now)
        self.record.steps += 1
        for e in emitted:
            self._actions.put_nowait((e, now))
        self._wake.set()

    def observe(self, obs: Observation) -> None:
        self.plane.observe(obs)

    async def run(self, until_s: float, stop: asyncio.Event | None = None) -> None:
        """Run until the clock reads `until_s` (or `stop` is set); then drain pending actions (bounded)."""
        stop = stop or asyncio.Event()
        tasks = [
            asyncio.create_task(self._probe_loop(until_s, stop)),
            asyncio.create_task(self._stats_loop(until_s, stop)),
            asyncio.create_task(self._wake_loop(until_s, stop)),
        ]
        if self.positions is not None:
            tasks.append(asyncio.create_task(self._positions_loop(self.positions, until_s, stop)))
        applier = asyncio.create_task(self._apply_loop())
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._actions.join(), timeout=10.0)
            applier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await applier

    async def _apply_loop(self) -> None:
        while True:
            e, _ = await self._actions.get()
            try:
                await self.adapter.apply(e, self.clock())
            finally:
                self._actions.task_done()

    async def _sleep_until(self, t_s: float, stop: asyncio.Event) -> None:
        delay = t_s - self.clock()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _probe_loop(self, until_s: float, stop: asyncio.Event) -> None:
        due = self.clock()
        while not stop.is_set() and self.clock() < until_s:
            results = await self.prober.probe_round(self.lab.endpoints(), self.clock)
            for r in results:
                self.observe(r)
            if self.keep_probes:
                self.record.probes.extend(results)
            self.step()
            due += self.interval_s
            # A round that overran (it cannot, timeout_s < interval_s, but the clock may stall) skips ahead.
            if due < self.clock():
                due = self.clock()
            await self._sleep_until(due, stop)

    async def _positions_loop(
        self, read: Callable[[float], list[ReplicaPosition]], until_s: float, stop: asyncio.Event
    ) -> None:
        """Real replication positions of the lab's datastores (read off the event loop: they query servers)."""
        due = self.clock()
        while not stop.is_set() and self.clock() < until_s:
            for position in await asyncio.to_thread(read, self.clock()):
                self.observe(position)
            self.step()
            due += POSITIONS_INTERVAL_S
            if due < self.clock():
                due = self.clock()
            await self._sleep_until(due, stop)

    async def _stats_loop(self, until_s: float, stop: asyncio.Event) -> None:
        due = self.clock()
        async with aiohttp.ClientSession() as session:
            while not stop.is_set() and self.clock() < until_s:
                try:
                    await self._read_counters(session)
                except EdgeError as exc:
                    self.adapter.note(self.clock(), "lab", "edge counters unreadable", error=str(exc))
                due += self.stats_interval_s
                if due < self.clock():
                    due = self.clock()
                await self._sleep_until(due, stop)

    async def _read_counters(self, session: aiohttp.ClientSession) -> None:
        rows = await self.lab.runtime.show_stat()
        t = self.clock()
        loads = await self._replica_loads(session)
        for service in {r.backend for r in rows if r.backend.startswith("be_") and r.backend != "be_unknown"}:
            weights = {r.server: r.weight for r in rows if r.backend == service}
            self.record.edge_weights.append((t, service.removeprefix("be_"), weights))
        if self._last_stat is not None:
            t_before, before = self._last_stat
            ready = {k: len(v) for k, v in loads.items()}
            splits, samples = observations(t, t - t_before, before, rows, ready, loads, self._cpu_before)
            for split in splits:
                self.observe(split)
            for sample in samples:
                self.observe(sample)
            for cloud, nodes in self.adapter.node_pools.items():
                max_nodes = self.lab.spec.platform.clouds[cloud].max_nodes
                self.observe(NodePoolStatus(t, cloud, nodes, nodes, max_nodes))
            self.record.splits.extend(splits)
            self.record.samples.extend(samples)
            self.step()
        self._last_stat = (t, rows)
        self._cpu_before = {k: sum(x.cpu_s for x in v) for k, v in loads.items()}

    async def _replica_loads(self, session: aiohttp.ClientSession) -> dict[tuple[str, str], list[ReplicaLoad]]:
        replicas = self.lab.desired_replicas()

        async def one(url: str) -> ReplicaLoad | None:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=LOAD_TIMEOUT_S)) as resp:
                    d = await resp.json()
                    return ReplicaLoad(float(d["p99_ms"]), int(d["inflight"]), float(d["cpu_s"]))
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError):
                return None

        answers = await asyncio.gather(*(one(self.lab.load_url(r)) for r in replicas))
        out: dict[tuple[str, str], list[ReplicaLoad]] = {}
        for r, a in zip(replicas, answers, strict=True):
            out.setdefault((r.cloud, r.service), [])
            if a is not None:
                out[(r.cloud, r.service)].append(a)
        return out

    async def _wake_loop(self, until_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set() and self.clock() < until_s:
            wake = self.plane.next_wakeup_s()
            now = self.clock()
            target = min(wake if wake is not None else now + MAX_IDLE_S, now + MAX_IDLE_S, until_s)
            self._wake.clear()
            await self._sleep_until(target, stop)
            if wake is not None and self.clock() >= wake:
                self.step()
