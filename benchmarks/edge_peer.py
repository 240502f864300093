"""HAProxy alone against HAProxy steered by godseye: the same kill and hang of one cloud, the same load.

    .venv/bin/python benchmarks/edge_peer.py [--rps 300] [--seconds 20] [--fault-at 5] [--json FILE]

Both runs use the same three clouds (one `pos` process each on its own loopback address), the same
HAProxy with retries 3, `option redispatch 1` and `retry-on all-retryable-errors`, the same open-loop
load. They differ only in what takes a dying cloud out:
- haproxy-alone: HAProxy's own checks (`check inter 1s fall 3 rise 2`), connect 1 s / server 2 s;
- godseye: no HAProxy checks; probes from the edge and the other clouds (interval 0.5 s, timeout
  0.25 s, 3 failures, quorum of vantage points), HAProxy counters fed back, weights set through the
  runtime API, short per-backend server timeouts (half the SLA) so a stuck request is retried in time.
Printed per run: failed requests, time to re-route (fault -> no server of the cloud takes new traffic,
read from HAProxy's own `show stat`), p99 and requests over 1 s in the 10 s after the fault.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from godseye.live.haproxy_config import EdgeMode
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.live.loadgen import summarize
from godseye.live.session import LabSession
from godseye.spec.loader import load_platform

POLL_S = 0.1
WINDOW_S = 10.0


@dataclass(frozen=True, slots=True)
class Run:
    edge: str
    fault: str
    requests: int
    failed: int
    reroute_s: float | None
    p99_ms_after_fault: float
    over_1s_after_fault: int
    max_ms_after_fault: float


async def _watch_out(s: LabSession, cloud: str, since: list[float], stop: asyncio.Event) -> float | None:
    """Seconds from the fault until every server of `cloud` is out of HAProxy's rotation (DOWN, MAINT or weight 0)."""
    while not stop.is_set():
        if since:
            rows = await s.lab.runtime.show_stat()
            mine = [r for r in rows if r.server.startswith(f"{cloud}-") and r.status != "MAINT"]
            if mine and all(r.status.startswith("DOWN") or r.weight == 0 for r in mine):
                return s.clock() - since[0]
        await asyncio.sleep(POLL_S)
    return None


async def one_run(edge: EdgeMode, fault: str, rps: float, seconds: float, fault_at: float, directory: Path) -> Run:
    sizing = LabSizing(services_per_tier={1: 1}, total_rps=rps, replicas_cap=1, time_scale=60.0)
    spec = build_lab_spec(load_platform(), sizing)
    async with LabSession(spec, directory, mode=edge, with_plane=edge == "godseye") as s:
        load = await s.external_load()
        s.clock.reset()
        if edge == "godseye":
            s.start_loop(seconds + 1.0)
        since: list[float] = []
        stop = asyncio.Event()

        async def chaos() -> None:
            await asyncio.sleep(fault_at)
            ev = s.chaos.pause_cloud("aws") if fault == "hang" else s.chaos.kill_cloud("aws")
            since.append(ev.t_s)

        watcher = asyncio.create_task(_watch_out(s, "aws", since, stop))
        records, _ = await asyncio.gather(load.run_apart(seconds, int(rps * seconds * 1.1) + 10), chaos())
        stop.set()
        reroute = await watcher
    t0 = since[0]
    after = summarize(r for r in records if t0 <= r.t_s < t0 + WINDOW_S)
    total = summarize(records)
    return Run(edge, fault, total.requests, total.failed, None if reroute is None else round(reroute, 2),
               round(after.p99_ms, 1), after.slower_than_1s, round(after.max_ms, 1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rps", type=float, default=300.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fault-at", type=float, default=5.0)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    assert 0 < a.rps <= 1000 and 0 < a.fault_at < a.seconds <= 120, "bounded runs only"
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="godseye-edge-peer-") as tmp:
        for fault in ("kill", "hang"):
            for edge in ("haproxy-alone", "godseye"):
                print(f"running {edge} / {fault} ...", file=sys.stderr, flush=True)
                started = time.monotonic()
                runs.append(asyncio.run(one_run(edge, fault, a.rps, a.seconds, a.fault_at, Path(tmp) / f"{edge}-{fault}")))
                print(f"  done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    header = (f"{'edge':<14} {'fault':<5} {'requests':>8} {'failed':>6} {'re-route s':>10} {'p99 ms (10s)':>12} "
              f"{'>1s':>5} {'max ms':>8}")
    print(f"one cloud of three at {a.rps:g} req/s, fault at t={a.fault_at:g}s, {a.seconds:g}s of load")
    print(header)
    for r in runs:
        reroute = "-" if r.reroute_s is None else f"{r.reroute_s:.2f}"
        print(f"{r.edge:<14} {r.fault:<5} {r.requests:>8} {r.failed:>6} {reroute:>10} {r.p99_ms_after_fault:>12.1f} "
              f"{r.over_1s_after_fault:>5} {r.max_ms_after_fault:>8.1f}")
    if a.json is not None:
        a.json.write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n")


if __name__ == "__main__":
    main()
