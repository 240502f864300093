"""One replica of a lab service: a small aiohttp process on its cloud's loopback address.

    python -m godseye.live.service_app --service pos --cloud aws --replica 0 --host 127.0.1.10 --port 28100

- `GET /<service>/...` waits the service time, then answers JSON naming who served it (and the
  header `X-Served-By: <cloud>-<replica>`), so the load generator knows which cloud answered;
- `GET /healthz` answers at once (what the probes hit);
- `GET /load?window_s=1` reports the replica's own load: requests in flight, totals, p99 of the
  service latencies of the last window_s seconds, CPU seconds used;
- `POST /admin/service-time` with `{"ms": 80}` changes the service time live (a slow replica).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import time

from aiohttp import web

RECENT_LATENCIES = 4096
DEFAULT_LOAD_WINDOW_S = 1.0


class Replica:
    def __init__(self, service: str, cloud: str, replica: int, service_time_ms: float) -> None:
        self.service = service
        self.cloud = cloud
        self.replica = replica
        self.service_time_ms = service_time_ms
        self.inflight = 0
        self.served_total = 0
        # (monotonic time answered, latency): /load reports the p99 of a recent window, not of all time.
        self.latencies_ms: collections.deque[tuple[float, float]] = collections.deque(maxlen=RECENT_LATENCIES)

    @property
    def served_by(self) -> str:
        return f"{self.cloud}-{self.replica}"

    async def serve(self, request: web.Request) -> web.Response:
        start = time.perf_counter()
        self.inflight += 1
        try:
            await asyncio.sleep(self.service_time_ms / 1000)
        finally:
            self.inflight -= 1
        self.served_total += 1
        self.latencies_ms.append((time.monotonic(), (time.perf_counter() - start) * 1000))
        body = {"service": self.service, "cloud": self.cloud, "replica": self.replica, "path": request.path}
        return web.json_response(body, headers={"X-Served-By": self.served_by})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "served_by": self.served_by})

    async def load(self, request: web.Request) -> web.Response:
        try:
            window_s = min(60.0, max(0.1, float(request.query.get("window_s", DEFAULT_LOAD_WINDOW_S))))
        except ValueError:
            raise web.HTTPBadRequest(text="window_s must be a number") from None
        since = time.monotonic() - window_s
        recent = sorted(ms for t, ms in self.latencies_ms if t >= since)
        p99 = recent[min(len(recent) - 1, int(0.99 * len(recent)))] if recent else 0.0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response(
            {
                "served_by": self.served_by,
                "inflight": self.inflight,
                "served_total": self.served_total,
                "p99_ms": p99,
                "window_s": window_s,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "service_time_ms": self.service_time_ms,
            }
        )

    async def set_service_time(self, request: web.Request) -> web.Response:
        data = await request.json()
        ms = float(data["ms"])
        if not 0 <= ms <= 60_000:
            raise web.HTTPBadRequest(text="ms must be in 0..60000")
        self.service_time_ms = ms
        return web.json_response({"service_time_ms": ms})


def make_app(replica: Replica) -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", replica.healthz)
    app.router.add_get("/load", replica.load)
    app.router.add_post("/admin/service-time", replica.set_service_time)
    app.router.add_route("*", f"/{replica.service}/{{tail:.*}}", replica.serve)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="One replica of a godseye lab service.")
    p.add_argument("--service", required=True)
    p.add_argument("--cloud", required=True)
    p.add_argument("--replica", type=int, default=0)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--service-time-ms", type=float, default=20.0)
    a = p.parse_args(argv)
    if not a.host.startswith("127."):
        p.error("lab services listen on loopback only (127.0.0.0/8)")
    replica = Replica(a.service, a.cloud, a.replica, a.service_time_ms)
    web.run_app(make_app(replica), host=a.host, port=a.port, print=None, access_log=None, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
