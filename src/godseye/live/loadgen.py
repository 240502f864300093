"""A bounded, open-loop load generator through the edge: every request's outcome and latency recorded.

Open loop: request k of a service is sent at start + k / rps whatever happened to the ones before,
as real shoppers do; a closed loop would slow down exactly when the platform does and hide the
failures. Bounded three ways: a duration, a maximum number of requests, and a cap on requests in
flight (a request that cannot be sent because of the cap counts as failed, "client-cap").
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import aiohttp

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_INFLIGHT = 512


@dataclass(frozen=True, slots=True)
class RequestRecord:
    t_s: float  # when it was sent, on the caller's clock
    service: str
    ok: bool
    status: int  # 0 when no HTTP answer came
    latency_ms: float
    served_by: str | None  # "<cloud>-<replica>" from the answer's X-Served-By
    error: str | None = None
    # The last part of the path: a service that writes an order per request uses it as the order id,
    # so HAProxy's retries of the same request find the order instead of writing it twice.
    request_id: str | None = None

    @property
    def cloud(self) -> str | None:
        return self.served_by.rsplit("-", 1)[0] if self.served_by else None


@dataclass(frozen=True, slots=True)
class Summary:
    requests: int
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    slower_than_1s: int

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


def summarize(records: Iterable[RequestRecord]) -> Summary:
    rs = list(records)
    lat = sorted(r.latency_ms for r in rs)
    return Summary(
        requests=len(rs),
        failed=sum(1 for r in rs if not r.ok),
        p50_ms=percentile(lat, 0.50),
        p99_ms=percentile(lat, 0.99),
        max_ms=lat[-1] if lat else 0.0,
        slower_than_1s=sum(1 for v in lat if v > 1000),
    )


def served_shares(records: Iterable[RequestRecord]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for r in records:
        if r.ok and r.cloud:
            counts[r.cloud] = counts.get(r.cloud, 0) + 1
    total = sum(counts.values())
    return {c: n / total for c, n in counts.items()} if total else {}


class LoadGenerator:
    def __init__(
        self,
        base_url: str,
        rps: dict[str, float],
        clock: Callable[[], float],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
    ) -> None:
        assert base_url.startswith("http://127."), "lab load goes to loopback only"
        self.base_url = base_url.rstrip("/")
        self.rps = dict(rps)
        self.clock = clock
        self.timeout_s = timeout_s
        self.max_inflight = max_inflight
        # Live traffic multiplier (a scenario's traffic spike); read at every send.
        self.multiplier = 1.0
        self.records: list[RequestRecord] = []
        self._inflight = 0
        # Request ids are unique across this generator's runs (a daemon runs it in slices).
        self._run_id = f"{int(time.time() * 1000):x}"
        self._sent = 0
        # Set from any thread: the senders stop at their next send (then answers are awaited as usual).
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, duration_s: float, max_requests: int) -> list[RequestRecord]:
        """Send load for `duration_s` (at most `max_requests` requests), wait for the answers (each
        bounded by timeout_s) and return every record of this run."""
        assert duration_s > 0 and max_requests > 0
        first = len(self.records)
        budget = [max_requests]
        connector = aiohttp.TCPConnector(limit=self.max_inflight, limit_per_host=self.max_inflight)
        async with aiohttp.ClientSession(connector=connector) as session:
            pending: set[asyncio.Task[None]] = set()
            senders = [
                self._send_loop(session, svc, rate, duration_s, budget, pending) for svc, rate in self.rps.items() if rate > 0
            ]
            await asyncio.gather(*senders)
            if pending:
                await asyncio.wait(pending, timeout=self.timeout_s + 1.0)
            for t in pending:
                t.cancel()
        return self.records[first:]

    async def run_apart(self, duration_s: float, max_requests: int) -> list[RequestRecord]:
        """`run` on a thread of its own, with its own event loop. The caller's loop also runs the plane,
        chaos and the adapter, whose blocking moments (stopping a process, starting a database) would
        otherwise hold back the sends and add the hold-up to the latency of every request in flight: the
        drill would measure its own harness. An external client is timed on its own clock."""
        return await asyncio.to_thread(asyncio.run, self.run(duration_s, max_requests))

    async def _send_loop(
        self,
        session: aiohttp.ClientSession,
        service: str,
        rps: float,
        duration_s: float,
        budget: list[int],
        pending: set[asyncio.Task[None]],
    ) -> None:
        start = time.monotonic()
        due = start
        base = f"{self.base_url}/{service}/lab"
        while budget[0] > 0:
            now = time.monotonic()
            if now - start >= duration_s or self._stopping.is_set():
                return
            if due > now:
                await asyncio.sleep(due - now)
            due += 1.0 / (rps * self.multiplier)
            budget[0] -= 1
            if self._inflight >= self.max_inflight:
                self.records.append(RequestRecord(self.clock(), service, False, 0, 0.0, None, "client-cap"))
                continue
            self._sent += 1
            request_id = f"{self._run_id}-{self._sent}"
            task = asyncio.create_task(self._one(session, service, f"{base}/{request_id}", request_id))
            pending.add(task)
            task.add_done_callback(pending.discard)

    async def _one(self, session: aiohttp.ClientSession, service: str, url: str, request_id: str) -> None:
        t_s = self.clock()
        start = time.perf_counter()
        self._inflight += 1
        status, served_by, error = 0, None, None
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                await resp.read()
                status = resp.status
                served_by = resp.headers.get("X-Served-By")
        except TimeoutError:
            error = "timeout"
        except (aiohttp.ClientError, OSError) as exc:
            error = type(exc).__name__
        finally:
            self._inflight -= 1
        latency = (time.perf_counter() - start) * 1000
        ok = error is None and 200 <= status < 300
        self.records.append(RequestRecord(t_s, service, ok, status, latency, served_by, error, request_id))
