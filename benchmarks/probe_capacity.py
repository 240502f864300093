"""How many endpoints one control-plane process probes at 1 s intervals on one core.

    .venv/bin/python benchmarks/probe_capacity.py [--counts 100,500,1000,1500,2000,3000] [--rounds 8] [--json FILE]

The prober is the lab's own (`godseye.live.probes.Prober`, aiohttp, keep-alive), pinned to CPU 0.
The endpoints are a separate process pinned to CPU 1: a minimal asyncio HTTP responder listening on
N loopback addresses (127.0.<10+i/250>.<1+i%250>:29000), so the prober has its core to itself; the
target's own CPU use is printed too, to tell which side saturated. For each N: one probe round per
second (probes spread over the first half second) for `--rounds` seconds; the prober's CPU use
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
# Probes start spread over the first half of each interval, so the last one still has its timeout.
SPREAD_S = INTERVAL_S - TIMEOUT_S
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
    target_cpu_share: float

    @property
    def sustained(self) -> bool:
        return self.rounds_on_time_share == 1.0 and self.answered_share >= 0.999 and self.cpu_share_of_core < 0.9


def endpoints(n: int) -> list[Endpoint]:
    return [Endpoint(f"c{i}", "svc", (f"http://127.0.{10 + i // 250}.{1 + i % 250}:{PORT}/healthz",)) for i in range(n)]


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def measure(n: int, rounds: int, target_pid: int) -> Point:
    eps = endpoints(n)
    async with Prober([Vantage("edge", "127.0.0.1")], TIMEOUT_S, connections_per_vantage=n + 16) as prober:
        await prober.probe_round(eps, time.monotonic)  # open the keep-alive connections first
        cpu0, wall0, target0 = cpu_s(), time.monotonic(), proc_cpu_s(target_pid)
        ok = total = on_time = 0
        worst = 0.0
        due = time.monotonic()
        for _ in range(rounds):
            start = time.monotonic()
            results = await prober.probe_round(eps, time.monotonic, SPREAD_S)
            took = time.monotonic() - start
            worst = max(worst, took)
            on_time += 1 if took <= INTERVAL_S else 0
            total += len(results)
            ok += sum(1 for r in results if r.ok)
            due += INTERVAL_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        wall = time.monotonic() - wall0
        cpu = (cpu_s() - cpu0) / wall
        target_cpu = (proc_cpu_s(target_pid) - target0) / wall
    return Point(n, total, ok / total, on_time / rounds, round(cpu, 3), round(worst * 1000, 1), round(target_cpu, 3))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default="100,500,1000,1500,2000,3000")
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
            point = asyncio.run(measure(n, a.rounds, target.pid))
            points.append(point)
            print(f"{n:>6} endpoints: {point.answered_share:7.2%} answered, rounds on time {point.rounds_on_time_share:6.1%}, "
                  f"slowest round {point.round_ms_max:7.1f} ms, prober CPU {point.cpu_share_of_core:6.1%} of one core "
                  f"(target {point.target_cpu_share:6.1%})",
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
