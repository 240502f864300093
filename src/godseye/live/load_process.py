"""The load generator in a process of its own: an external client, as a shopper's phone is.

The drill's process also runs the plane, chaos, the adapter and the alert receiver. A load generator
sharing it (even on a thread of its own) shares its interpreter lock and its garbage collector: a full
collection there (measured 60-170 ms every ~20 s late in a drill on a busy machine, as the run's
objects pile up) or a long plane step holds back every send and adds itself to the latency of every
request in flight. The drill would then miss an RTO on its own harness. In its own process the load
generator keeps its schedule and its clock whatever the drill's process is doing.

The child is spawned (not forked: the parent runs threads) once, answers "ready", then plays one run
per request and sends its records back. Time is the parent's `LabClock` (CLOCK_MONOTONIC is one
clock for every process), the traffic multiplier and the stop flag are shared memory read while it
runs. It exits when told to, or when the parent's end of the pipe closes (the parent died).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from godseye.live.loadgen import DEFAULT_MAX_INFLIGHT, DEFAULT_TIMEOUT_S, LoadGenerator, RequestRecord
from godseye.live.loop import LabClock

# How often the child copies the shared multiplier and stop flag into its generator.
FOLLOW_S = 0.02
READY_TIMEOUT_S = 30.0
QUIT_TIMEOUT_S = 5.0


class LoadError(RuntimeError):
    pass


class LoadProcess:
    def __init__(self, base_url: str, rps: dict[str, float], clock: LabClock, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_inflight: int = DEFAULT_MAX_INFLIGHT) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.clock = clock
        self.rps = dict(rps)
        self._multiplier: Synchronized[float] = ctx.Value("d", 1.0)
        self._stopping = ctx.Event()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child, base_url, self.rps, timeout_s, max_inflight, self._multiplier,
                                                     self._stopping), name="godseye-load", daemon=True)
        self._proc.start()
        child.close()
        self._ready = False

    @property
    def multiplier(self) -> float:
        return float(self._multiplier.value)

    @multiplier.setter
    def multiplier(self, value: float) -> None:
        self._multiplier.value = value

    def stop(self) -> None:
        self._stopping.set()

    async def ready(self) -> None:
        """Wait until the child has imported what it needs and can send at once."""
        if not self._ready:
            answer = await asyncio.to_thread(self._receive, READY_TIMEOUT_S)
            if answer != "ready":
                raise LoadError(f"the load process answered {answer!r} instead of 'ready'")
            self._ready = True

    async def run_apart(self, duration_s: float, max_requests: int) -> list[RequestRecord]:
        """Send load for `duration_s` (at most `max_requests` requests) from the child, timed on
        `clock`, and return every record of the run once its answers are in."""
        await self.ready()
        try:
            self._conn.send(("run", self.clock.t0, duration_s, max_requests))
        except OSError:
            raise LoadError(f"the load process died (exit code {self._proc.exitcode})") from None
        records = await asyncio.to_thread(self._receive, duration_s + DEFAULT_TIMEOUT_S + READY_TIMEOUT_S)
        if not isinstance(records, list):
            raise LoadError(f"the load process answered {records!r} instead of its records")
        return records

    def _receive(self, timeout_s: float) -> object:
        if not self._conn.poll(timeout_s):
            raise LoadError(f"no answer from the load process within {timeout_s:g} s")
        try:
            return self._conn.recv()
        except EOFError:
            raise LoadError(f"the load process died (exit code {self._proc.exitcode})") from None

    def close(self) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError):  # it may have just died
                self._conn.send(("quit",))
            self._proc.join(QUIT_TIMEOUT_S)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(QUIT_TIMEOUT_S)
        self._conn.close()


def serve(conn: Connection, base_url: str, rps: dict[str, float], timeout_s: float, max_inflight: int,
          multiplier: Synchronized[float], stopping: Event) -> None:
    """The child: one generator, one run per request, until told to quit or orphaned."""
    t0 = [0.0]
    lg = LoadGenerator(base_url, rps, lambda: time.monotonic() - t0[0], timeout_s, max_inflight)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "run":
            return
        _, t0[0], duration_s, max_requests = message
        records = asyncio.run(_run(lg, duration_s, max_requests, multiplier, stopping))
        lg.records.clear()
        conn.send(records)


async def _run(lg: LoadGenerator, duration_s: float, max_requests: int, multiplier: Synchronized[float],
               stopping: Event) -> list[RequestRecord]:
    async def follow() -> None:
        while True:
            lg.multiplier = float(multiplier.value)
            if stopping.is_set():
                lg.stop()
            await asyncio.sleep(FOLLOW_S)

    follower = asyncio.create_task(follow())
    try:
        lg.multiplier = float(multiplier.value)
        return await lg.run(duration_s, max_requests)
    finally:
        follower.cancel()
