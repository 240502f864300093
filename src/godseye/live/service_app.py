"""One replica of a lab service: a small aiohttp process on its cloud's loopback address.

    python -m godseye.live.service_app --service pos --cloud aws --replica 0 --host 127.0.1.10 --port 28100

- `GET /<service>/...` waits the service time, then answers JSON naming who served it (and the
  header `X-Served-By: <cloud>-<replica>`), so the load generator knows which cloud answered;
- `GET /healthz` answers at once (what the probes hit);
- `GET /load?window_s=1` reports the replica's own load: requests in flight, totals, p99 of the
  service latencies of the last window_s seconds, CPU seconds used;
- `POST /admin/service-time` with `{"ms": 80}` changes the service time live (a slow replica).

With `--orders-root DIR` (the PostgreSQL triplet's folder; the lab passes it to its tier-1 services
when it runs its datastores), every request also records an order whose id is the last part of the
path, through `OrdersStore` (live/pg/orders.py): on whichever cluster the primary pointer names,
re-resolved on failover, idempotent by id. While the pointer says writes are held the answer is
503 at once (the failover is in progress: the shopper retries); a write that could not be
acknowledged within `ORDER_DEADLINE_S` is a 503 too, never a 200 for an order that may be lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from godseye.live.pg.orders import OrdersStore
from godseye.live.pg.pointer import read_pointer

RECENT_LATENCIES = 4096
DEFAULT_LOAD_WINDOW_S = 1.0
# An order not acknowledged within this is answered 503: longer than any healthy commit (milliseconds),
# shorter than the load generator's patience.
ORDER_DEADLINE_S = 1.0
# Orders waiting for the (single) database connection at most; beyond, 503 at once: a bound, so a
# stuck primary cannot pile up work in a replica.
MAX_PENDING_ORDERS = 64


class Orders:
    """One replica's order writer: one connection, used from one worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = OrdersStore(root, deadline_s=ORDER_DEADLINE_S)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orders")
        self.pending = 0
        self.written = 0
        self.refused = 0

    def held(self) -> bool:
        pointer = read_pointer(self.root)
        return pointer is None or pointer.hold

    async def record(self, order_id: str) -> bool:
        if self.pending >= MAX_PENDING_ORDERS or self.held():
            self.refused += 1
            return False
        self.pending += 1
        try:
            ok = await asyncio.get_running_loop().run_in_executor(self.pool, self.store.record, order_id)
        finally:
            self.pending -= 1
        self.written += 1 if ok else 0
        self.refused += 0 if ok else 1
        return ok


class Replica:
    def __init__(self, service: str, cloud: str, replica: int, service_time_ms: float, orders: Orders | None = None) -> None:
        self.orders = orders
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
        body: dict[str, object] = {"service": self.service, "cloud": self.cloud, "replica": self.replica, "path": request.path}
        if self.orders is not None:
            order_id = request.match_info.get("tail", "").rsplit("/", 1)[-1]
            if not order_id or not await self.orders.record(f"{self.service}-{order_id}"):
                return web.json_response({**body, "error": "order not recorded: writes held or primary unreachable"},
                                         status=503, headers={"X-Served-By": self.served_by})
            body["order"] = f"{self.service}-{order_id}"
        self.served_total += 1
        self.latencies_ms.append((time.monotonic(), (time.perf_counter() - start) * 1000))
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
                "orders_written": self.orders.written if self.orders else 0,
                "orders_refused": self.orders.refused if self.orders else 0,
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
    p.add_argument("--orders-root", default="", help="PostgreSQL triplet folder: record an order per request")
    a = p.parse_args(argv)
    if not a.host.startswith("127."):
        p.error("lab services listen on loopback only (127.0.0.0/8)")
    orders = Orders(Path(a.orders_root)) if a.orders_root else None
    replica = Replica(a.service, a.cloud, a.replica, a.service_time_ms, orders)
    web.run_app(make_app(replica), host=a.host, port=a.port, print=None, access_log=None, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
