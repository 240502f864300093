"""Active health probes: GET /healthz of every endpoint, every interval_s, with timeout_s.

Probes go out from several vantage points, like Route 53's checkers or Cloudflare's probing data
centres: the edge (source 127.0.0.1) and each cloud (source 127.0.<i+1>.200, that cloud's range).
The health controller decides from them, including the quorum across vantage points; this module
only measures. A vantage point whose own cloud is down (killed or hung by chaos) sends nothing, as a
real prober inside that cloud would.

An endpoint is a (cloud, service); it answers if any of its replicas answers, so one result per
endpoint and vantage per round.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp

from godseye.control.observations import EDGE, ProbeResult

EDGE_SOURCE = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Endpoint:
    cloud: str
    service: str
    health_urls: tuple[str, ...]  # one per replica the lab means to run there


@dataclass(frozen=True, slots=True)
class Vantage:
    name: str  # EDGE or a cloud name
    source: str


@dataclass(frozen=True, slots=True)
class ReplicaProbe:
    ok: bool
    latency_ms: float | None
    timed_out: bool


async def probe_url(session: aiohttp.ClientSession, url: str, timeout_s: float) -> ReplicaProbe:
    start = time.perf_counter()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            await resp.read()
            ok = resp.status == 200
    except TimeoutError:
        return ReplicaProbe(False, None, True)
    except (aiohttp.ClientError, OSError):
        return ReplicaProbe(False, None, False)
    latency = (time.perf_counter() - start) * 1000
    return ReplicaProbe(ok, latency if ok else None, False)


def combine(cloud: str, service: str, vantage: str, t_s: float, replicas: Sequence[ReplicaProbe]) -> ProbeResult:
    ok = [r for r in replicas if r.ok]
    if ok:
        return ProbeResult(t_s, vantage, cloud, service, True, min(r.latency_ms or 0.0 for r in ok))
    return ProbeResult(t_s, vantage, cloud, service, False, None, any(r.timed_out for r in replicas) or not replicas)


class Prober:
    """Probes rounds of endpoints from every vantage point; the caller owns the schedule."""

    def __init__(self, vantages: Sequence[Vantage], timeout_s: float, connections_per_vantage: int = 200) -> None:
        assert timeout_s > 0
        self.vantages = list(vantages)
        self.timeout_s = timeout_s
        self.silenced: set[str] = set()
        self._limit = connections_per_vantage
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def __aenter__(self) -> Prober:
        for v in self.vantages:
            connector = aiohttp.TCPConnector(local_addr=(v.source, 0), limit=self._limit, ttl_dns_cache=None)
            self._sessions[v.name] = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for s in self._sessions.values():
            await s.close()
        self._sessions.clear()

    async def probe_round(
        self, endpoints: Sequence[Endpoint], clock: Callable[[], float], spread_s: float = 0.0
    ) -> list[ProbeResult]:
        """One probe of every endpoint from every live vantage point, in parallel; each result is
        stamped with the time its probe started. With `spread_s`, probe k of n starts k/n x spread_s
        into the round instead of all at once (a burst of thousands of connections starves the loop)."""
        pairs: list[tuple[Vantage, Endpoint]] = []
        for v in self.vantages:
            if v.name in self.silenced:
                continue
            # A cloud does not vote on itself (the health controller counts the edge and the others).
            pairs += [(v, ep) for ep in endpoints if ep.cloud != v.name]
        n = max(1, len(pairs))
        jobs: list[Awaitable[ProbeResult]] = [
            self._probe_endpoint(v, ep, clock, spread_s * k / n) for k, (v, ep) in enumerate(pairs)
        ]
        return list(await asyncio.gather(*jobs))

    async def _probe_endpoint(self, v: Vantage, ep: Endpoint, clock: Callable[[], float], delay_s: float) -> ProbeResult:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        t_s = clock()
        session = self._sessions[v.name]
        replicas = await asyncio.gather(*(probe_url(session, u, self.timeout_s) for u in ep.health_urls))
        return combine(ep.cloud, ep.service, v.name, t_s, replicas)


def lab_vantages(clouds: Sequence[str], source_of: Callable[[str], str]) -> list[Vantage]:
    return [Vantage(EDGE, EDGE_SOURCE), *(Vantage(c, source_of(c)) for c in clouds)]
