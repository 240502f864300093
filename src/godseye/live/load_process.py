"""The load generator in a process of its own: an external client, as a shopper's phone is.

The drill's process also runs the plane, chaos, the adapter and the alert receiver. A load generator
sharing it (even on a thread of its own) shares its interpreter lock and its garbage collector: a full
collection there (measured 50-510 ms every ~20 s in a drill on a busy machine, as the run's
objects pile up) or a long plane step holds back every send and adds itself to the latency of every
request in flight. The drill would then miss an RTO on its own harness. In its own process the load
generator keeps its schedule and its clock whatever the drill's process is doing.

The child is a fresh interpreter (`python -m godseye.live.load_process`: not forked, the parent runs
threads; not multiprocessing's spawn, which re-imports the caller's main module) holding one end of a
socket pair. It answers "ready", then plays one run per request and sends its records back. Time is
the parent's `LabClock` (CLOCK_MONOTONIC is one clock for every process); a new traffic multiplier or
a stop reaches it as a message it reads while it runs. It exits when told to, or when the parent's
end of the socket closes (the parent died).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection

from godseye.live.loadgen import DEFAULT_MAX_INFLIGHT, DEFAULT_TIMEOUT_S, LoadGenerator, RequestRecord
from godseye.live.loop import LabClock

# How often the child reads the parent's messages (multiplier, stop) while it runs.
FOLLOW_S = 0.02
READY_TIMEOUT_S = 30.0
QUIT_TIMEOUT_S = 5.0


class LoadError(RuntimeError):
    pass


class LoadProcess:
    def __init__(self, base_url: str, rps: dict[str, float], clock: LabClock, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_inflight: int = DEFAULT_MAX_INFLIGHT) -> None:
        self.clock = clock
        self._multiplier = 1.0
        mine, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "godseye.live.load_process", "--fd", str(theirs.fileno()), "--base-url", base_url,
                "--rps", json.dumps(rps), "--timeout-s", str(timeout_s), "--max-inflight", str(max_inflight)]
        self._proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(mine.detach())
        self._ready = False

    @property
    def multiplier(self) -> float:
        return self._multiplier

    @multiplier.setter
    def multiplier(self, value: float) -> None:
        self._multiplier = value
        self._tell(("multiplier", value))

    def stop(self) -> None:
        self._tell(("stop",))

    def _tell(self, message: tuple[object, ...]) -> None:
        try:
            self._conn.send(message)
        except OSError:
            raise LoadError(f"the load process died (exit code {self._proc.poll()})") from None

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
        self._tell(("run", self.clock.t0, duration_s, max_requests, self._multiplier))
        records = await asyncio.to_thread(self._receive, duration_s + DEFAULT_TIMEOUT_S + READY_TIMEOUT_S)
        if not isinstance(records, list):
            raise LoadError(f"the load process answered {records!r} instead of its records")
        return records

    def _receive(self, timeout_s: float) -> object:
        try:
            if not self._conn.poll(timeout_s):
                raise LoadError(f"no answer from the load process within {timeout_s:g} s")
            return self._conn.recv()
        except (EOFError, OSError):
            raise LoadError(f"the load process died (exit code {self._proc.poll()})") from None

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):  # it may have just died
                self._conn.send(("quit",))
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(QUIT_TIMEOUT_S)
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(QUIT_TIMEOUT_S)
        self._conn.close()

    @property
    def running(self) -> bool:
        return self._proc.poll() is None


def serve(conn: Connection, base_url: str, rps: dict[str, float], timeout_s: float, max_inflight: int) -> None:
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
        _, t0[0], duration_s, max_requests, lg.multiplier = message
        records = asyncio.run(_run(lg, conn, duration_s, max_requests))
        lg.records.clear()
        try:
            conn.send(records)
        except OSError:
            return  # orphaned during the run: nobody to tell


async def _run(lg: LoadGenerator, conn: Connection, duration_s: float, max_requests: int) -> list[RequestRecord]:
    async def follow() -> None:
        while True:
            try:
                while conn.poll():
                    message = conn.recv()
                    if message[0] == "multiplier":
                        lg.multiplier = float(message[1])
                    elif message[0] == "stop":
                        lg.stop()
            except (EOFError, OSError):
                lg.stop()  # the parent is gone: finish this run, then exit
                return
            await asyncio.sleep(FOLLOW_S)

    follower = asyncio.create_task(follow())
    try:
        return await lg.run(duration_s, max_requests)
    finally:
        follower.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description="godseye's lab load generator (started by LoadProcess)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--rps", required=True, help="JSON: service -> requests per second")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--max-inflight", type=int, default=DEFAULT_MAX_INFLIGHT)
    args = parser.parse_args()
    rps = {str(k): float(v) for k, v in json.loads(args.rps).items()}
    serve(Connection(args.fd), args.base_url, rps, args.timeout_s, args.max_inflight)


if __name__ == "__main__":
    main()
