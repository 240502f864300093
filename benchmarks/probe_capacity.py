"""How many endpoints one control-plane process probes at 1 s intervals on one core.

    .venv/bin/python benchmarks/probe_capacity.py [--counts 100,250,500,1000,1500,2000] [--rounds 8] [--json FILE]

The prober is the lab's own (`godseye.live.probes.Prober`, aiohttp, keep-alive), pinned to CPU 0.
The endpoints are a separate process pinned to CPU 1: a minimal asyncio HTTP responder listening on
N loopback addresses (127.0.<10+i/250>.<1+i%250>:29000), so the target is never the bottleneck being
measured. For each N: one probe round per second for `--rounds` seconds; the prober's CPU use
(user+system seconds / wall seconds), the share of probes answered in time, and the share of rounds
that finished within the interval. Capacity: the largest N whose rounds all finish in time with
>= 99.9% of probes answered and CPU under 90% of the core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from godseye.live.probes import Endpoint, Prober, Vantage

PORT = 29000
INTERVAL_S = 1.0
TIMEOUT_S = 0.5
START_TIMEOUT_S = 30.0

TARGET = r"""
import asyncio, os, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
os.sched_setaffinity(0, {int(sys.argv[3])})
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

class Responder(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
    def data_received(self, data):
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            _, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.t.write(ANSWER)

async def main():
    loop = asyncio.get_running_loop()
    for i in range(n):
        host = f"127.0.{10 + i // 250}.{1 + i % 250}"
        await loop.create_server(Responder, host, port, backlog=64)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@dataclass(frozen=True, slots=True)
class Point:
    endpoints: int
    probes: int
    answered_share: float
    rounds_on_time_share: float
    cpu_share_of_core: float
    round_ms_max: float

    @property
    def sustained(self) -> bool:
        return self.rounds_on_time_share == 1.0 and self.answered_share >= 0.999 and self.cpu_share_of_core < 0.9


def endpoints(n: int) -> list[Endpoint]:
    return [Endpoint(f"c{i}", "svc", (f"http://127.0.{10 + i // 250}.{1 + i % 250}:{PORT}/healthz",)) for i in range(n)]


def cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def measure(n: int, rounds: int) -> Point:
    eps = endpoints(n)
    async with Prober([Vantage("edge", "127.0.0.1")], TIMEOUT_S, connections_per_vantage=n + 16) as prober:
        await prober.probe_round(eps, time.monotonic)  # open the keep-alive connections first
        cpu0, wall0 = cpu_s(), time.monotonic()
        ok = total = on_time = 0
        worst = 0.0
        due = time.monotonic()
        for _ in range(rounds):
            start = time.monotonic()
            results = await prober.probe_round(eps, time.monotonic)
            took = time.monotonic() - start
            worst = max(worst, took)
            on_time += 1 if took <= INTERVAL_S else 0
            total += len(results)
            ok += sum(1 for r in results if r.ok)
            due += INTERVAL_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        cpu = (cpu_s() - cpu0) / (time.monotonic() - wall0)
    return Point(n, total, ok / total, on_time / rounds, round(cpu, 3), round(worst * 1000, 1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default="100,250,500,1000,1500,2000")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    counts = sorted(int(c) for c in a.counts.split(","))
    assert counts and counts[-1] <= 10_000 and 1 <= a.rounds <= 120, "bounded runs only"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * counts[-1] + 256)), hard))
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    target_core = cores[1] if len(cores) > 1 else cores[0]
    target = subprocess.Popen([sys.executable, "-c", TARGET, str(counts[-1]), str(PORT), str(target_core)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    points: list[Point] = []
    try:
        assert target.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = target.stdout.readline()
        assert line.strip() == "ready" and time.monotonic() < deadline, "the target process did not start"
        for n in counts:
            point = asyncio.run(measure(n, a.rounds))
            points.append(point)
            print(f"{n:>6} endpoints: {point.answered_share:7.2%} answered, rounds on time {point.rounds_on_time_share:6.1%}, "
                  f"slowest round {point.round_ms_max:7.1f} ms, prober CPU {point.cpu_share_of_core:6.1%} of one core",
                  flush=True)
    finally:
        target.kill()
        target.wait(timeout=10)
    sustained = [pt.endpoints for pt in points if pt.sustained]
    at_100 = next((pt for pt in points if pt.endpoints == 100), None)
    print(f"capacity: {max(sustained) if sustained else 0} endpoints probed every {INTERVAL_S:g}s on one core "
          f"(largest count tried that held; timeout {TIMEOUT_S:g}s)")
    if at_100 is not None:
        print(f"CPU at 100 endpoints: {at_100.cpu_share_of_core:.1%} of one core")
    if a.json is not None:
        a.json.write_text(json.dumps([{**asdict(pt), "sustained": pt.sustained} for pt in points], indent=1) + "\n")


if __name__ == "__main__":
    main()
