"""The lab in the background (`godseye lab up`): components, control loop, load, and a control API.

    python -m godseye.live.daemon --dir .godseye/lab [--spec FILE] [--rps 150] [--max-runtime-s 14400] [--data-root DIR]

With `--data-root` (what `godseye lab up --pg` passes) the lab also runs its datastores there: the
PostgreSQL triplet `lab up` started, Redis and object copies, fed to the same plane as the edge; the
tier-1 services record an order per request on the current primary (lab_data.py).

The control API listens on 127.0.0.1:<control_port>:
- `GET /status` -> clouds, endpoints, weights asked and HAProxy's own, live rps and errors;
- `POST /chaos` with {"action": "kill-cloud"|"pause-cloud"|"kill-service"|"restore", "cloud", "service"};
- `POST /shutdown`.
The daemon stops everything on SIGTERM, on /shutdown, or after --max-runtime-s (a bound, not a hope).
Its own pid file lives in `<dir>/daemon/pids/`, apart from the processes it supervises.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from godseye.live.haproxy_runtime import EdgeError
from godseye.live.lab_data import data_platform
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.live.loadgen import LoadGenerator, RequestRecord, summarize
from godseye.live.pg.pointer import read_pointer
from godseye.live.session import LabSession
from godseye.spec.loader import load_platform

STATUS_WINDOW_S = 5.0
# The daemon's load generator runs in slices so its record list stays bounded.
LOAD_SLICE_S = 10.0
RECORDS_KEPT = 20_000
RECENT_KEPT = 30


class Daemon:
    def __init__(self, session: LabSession, rps: dict[str, float], max_runtime_s: float) -> None:
        self.session = session
        self.rps = rps
        self.max_runtime_s = max_runtime_s
        self.stop = asyncio.Event()
        self.recent: list[RequestRecord] = []
        self.load: LoadGenerator | None = None

    async def run(self) -> None:
        s = self.session
        s.clock.reset()
        loop_task = s.start_loop(self.max_runtime_s, self.stop)
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_post("/chaos", self._chaos)
        app.router.add_post("/shutdown", self._shutdown)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", s.spec.sizing.control_port).start()
        load_task = asyncio.create_task(self._load_forever())
        try:
            await asyncio.wait({loop_task, asyncio.create_task(self.stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop.set()
            if self.load is not None:
                self.load.stop()  # its sends run on a thread of their own (LoadGenerator.run_apart)
            load_task.cancel()
            await runner.cleanup()

    async def _load_forever(self) -> None:
        if not any(v > 0 for v in self.rps.values()):
            return
        self.load = self.session.load(self.rps)
        while not self.stop.is_set() and self.session.clock() < self.max_runtime_s:
            per_slice = int(sum(self.rps.values()) * LOAD_SLICE_S * 1.1) + 10
            await self.load.run_apart(LOAD_SLICE_S, per_slice)
            self.recent = (self.recent + self.load.records)[-RECORDS_KEPT:]
            self.load.records.clear()

    def status(self) -> dict[str, Any]:
        s = self.session
        now = s.clock()
        lab = s.lab
        records = [*self.recent, *(self.load.records if self.load else [])]
        recent = [r for r in records if r.t_s >= now - STATUS_WINDOW_S]
        clouds = []
        for c in s.spec.clouds:
            replicas = lab.desired_replicas(c)
            alive = sum(1 for r in replicas if lab.supervisor.is_running(r.name) and not lab.supervisor.is_paused(r.name))
            state = "paused" if c in s.chaos.paused else ("up" if alive == len(replicas) else f"{alive}/{len(replicas)} running")
            clouds.append({"name": c, "address": f"127.0.{s.spec.clouds.index(c) + 1}.0/24", "state": state})
        endpoints = []
        latest_split = {x.service: x.shares for x in (s.loop.record.splits if s.loop else [])}
        for p in s.spec.services:
            mine = [r for r in recent if r.service == p.name]
            summary = summarize(mine)
            for c in s.spec.clouds:
                if c not in p.placement:
                    continue
                served = sum(1 for r in mine if r.ok and r.cloud == c)
                endpoints.append(
                    {
                        "service": p.name,
                        "cloud": c,
                        "replicas": len(lab.desired_replicas(c, p.name)),
                        "weight_pct": lab.weights[p.name].get(c, 0),
                        "served_rps": round(served / STATUS_WINDOW_S, 1),
                        "haproxy_share_pct": round(100 * latest_split.get(p.name, {}).get(c, 0.0), 1),
                        "service_rps": round(summary.requests / STATUS_WINDOW_S, 1),
                        "service_errors": summary.failed,
                        "service_p99_ms": round(summary.p99_ms, 1),
                    }
                )
        pages = [{"t_s": round(t, 3), "event_action": p.event_action, "dedup_key": p.dedup_key, "status": st}
                 for t, p, st in (s.adapter.record.pages if s.adapter else [])]
        out: dict[str, Any] = {"t_s": round(now, 3), "edge": lab.edge_url, "webhook": s.webhook_url, "clouds": clouds,
                               "endpoints": endpoints, "pages": pages[-10:]}
        # The plane's recent decisions as applied (what `lab status` cannot show in its tables).
        out["recent"] = [{"t_s": round(e.t_s, 3), "actor": e.actor, "event": e.event, "lab": str(e.detail.get("lab", ""))}
                         for e in (s.adapter.record.timeline[-RECENT_KEPT:] if s.adapter else [])]
        if s.data is not None:
            pointer = read_pointer(s.data.pg_root)
            out["data"] = {
                "orders": {"primary": pointer.primary if pointer else None, "held": pointer.hold if pointer else None,
                           "epoch": pointer.epoch if pointer else None},
                "order-events": {"primary": s.data.trio.primary, "acked": len(s.data.stream_acks.at)},
                "product-media": {"primary": s.data.objects.primary, "acked": len(s.data.object_acks.at)},
                "down": sorted(s.data.down),
            }
        return out

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status())

    async def _chaos(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            action, cloud, service = body.get("action"), body.get("cloud"), body.get("service")
            chaos = self.session.chaos
            if action == "kill-cloud":
                ev = chaos.kill_cloud(str(cloud))
            elif action == "pause-cloud":
                ev = chaos.pause_cloud(str(cloud))
            elif action == "kill-service":
                ev = chaos.kill_service(str(cloud), str(service))
            elif action == "restore":
                ev = await chaos.restore(str(cloud))
            else:
                return web.json_response({"error": f"unknown action {action!r}"}, status=400)
        except (ValueError, EdgeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"t_s": round(ev.t_s, 3), "action": ev.kind, "processes": list(ev.processes)})

    async def _shutdown(self, request: web.Request) -> web.Response:
        self.stop.set()
        return web.json_response({"stopping": True})


async def _main(a: argparse.Namespace) -> None:
    platform = load_platform(Path(a.spec) if a.spec else None)
    sizing = replace(LabSizing(), time_scale=a.time_scale, **({"total_rps": a.rps} if a.rps > 0 else {}))
    data_root = Path(a.data_root) if a.data_root else None
    if data_root is not None:
        platform = data_platform(platform, sizing.services_per_tier)
        sizing = replace(sizing, with_datastores=True)
    spec = build_lab_spec(platform, sizing)
    rps = {p.name: p.rps for p in spec.services} if a.rps > 0 else {}
    async with LabSession(spec, Path(a.dir), webhook_url=a.webhook or None, data_root=data_root) as session:
        daemon = Daemon(session, rps, a.max_runtime_s)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.stop.set)
        print(f"lab up: edge {session.lab.edge_url}, control http://127.0.0.1:{spec.sizing.control_port}", flush=True)
        await daemon.run()


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="The godseye lab in the background.")
    p.add_argument("--dir", required=True)
    p.add_argument("--spec", default="")
    p.add_argument("--rps", type=float, default=150.0, help="total load through the edge (0: none)")
    p.add_argument("--time-scale", type=float, default=60.0)
    p.add_argument("--webhook", default="", help="PagerDuty Events v2 URL (default: the lab's own receiver)")
    p.add_argument("--max-runtime-s", type=float, default=4 * 3600.0)
    p.add_argument("--data-root", default="", help="run the lab's datastores in this folder (the triplet's parent)")
    asyncio.run(_main(p.parse_args(argv)))


if __name__ == "__main__":
    main()
