"""`godseye lab drill`: a scenario played live, measured, and set beside the twin's prediction.

The scenario's times are divided by the time scale (the lab platform's durations were divided by the
same factor in lab_spec.py), its faults become chaos on real processes (chaos.py), the load generator
offers each service its lab rps (times the scenario's traffic multiplier) through HAProxy, and the
control plane steers on the wall clock. Everything reported is measured by this run:

- RTO per service from the load generator's own records, by the drill contract's definition: from the
  fault's start until the service again answers >= 99% of its requests within its p99 SLA, for the
  contract's 60 s hold divided by the time scale; in bins of at least 1 s holding >= 200 requests;
- failed requests: requests the load generator saw fail (no answer, timeout, 5xx);
- steering, timeline, pages: what the controllers asked for and what the lab did with it.

The twin runs the same lab platform and the same scaled scenario, so both speak of the same seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from godseye.control.actions import Page
from godseye.control.observations import ServedSplit
from godseye.live.chaos import ChaosEvent, Planned, plan_faults
from godseye.live.lab_data import data_platform, wait_until
from godseye.live.lab_spec import LabSizing, LabSpec, build_lab_spec
from godseye.live.loadgen import RequestRecord, summarize
from godseye.live.recovery_episodes import Episode, episodes_from_records, rto_of
from godseye.live.session import LabSession, PlaneFactory, lab_plane_factory
from godseye.sim.metrics import RECOVERY_HOLD_S
from godseye.sim.result import (
    CloudResult,
    DetailValue,
    DrillResult,
    FaultWindow,
    Series,
    ServiceResult,
    SteeringChange,
    TimelineEntry,
)
from godseye.spec.models import Datastore, Platform
from godseye.spec.scenario import CloudOutage, Scenario, ServiceOutage

BIN_S = 1.0
# A bin must hold enough requests for "99% within the SLA" to tolerate one slow request in a hundred:
# at 50 req/s a 1 s bin would turn a single scheduling hiccup of a shared core into an outage.
MIN_REQUESTS_PER_BIN = 200
# Requests a drill may send at most, whatever its length: a bound on memory and time.
MAX_REQUESTS = 200_000


@dataclass(frozen=True, slots=True)
class LabDrill:
    result: DrillResult
    spec: LabSpec
    time_scale: float
    records: tuple[RequestRecord, ...]
    pages: tuple[tuple[float, Page, int | str], ...]
    unsupported: tuple[str, ...]
    edge_weights: tuple[tuple[float, str, dict[str, int]], ...]
    # The split HAProxy's own counters say was served, as fed back to steering.
    served_splits: tuple[ServedSplit, ...] = ()
    # Per datastore, what the run's real servers lost (lab_data.LabData.report), when it ran them.
    data: dict[str, Any] | None = None
    # What each service's RTO is made of (recovery_episodes.py).
    episodes: tuple[Episode, ...] = ()


def scale_scenario(scenario: Scenario, time_scale: float) -> Scenario:
    faults = tuple(
        f.model_copy(update={"at_s": f.at_s / time_scale, "until_s": None if f.until_s is None else f.until_s / time_scale})
        for f in scenario.faults
    )
    return scenario.model_copy(update={"duration_s": scenario.duration_s / time_scale, "faults": faults})


def fault_anchors(scenario: Scenario) -> list[float]:
    """Times an RTO episode is measured from: fault starts, and the end of cloud outages (the return)."""
    out = [f.at_s for f in scenario.faults if isinstance(f, (CloudOutage, ServiceOutage))]
    out += [f.until_s for f in scenario.faults if isinstance(f, CloudOutage) and f.until_s is not None]
    return sorted(out)


def _shares_by_bin(records: Sequence[RequestRecord], clouds: Sequence[str], n: int) -> list[tuple[float, ...]]:
    counts = [[0] * len(clouds) for _ in range(n)]
    index = {c: j for j, c in enumerate(clouds)}
    for r in records:
        j = index.get(r.cloud or "")
        if r.ok and j is not None:
            counts[min(n - 1, max(0, int(r.t_s / BIN_S)))][j] += 1
    return [tuple(c / sum(row) if sum(row) else 0.0 for c in row) for row in counts]


async def _play(session: LabSession, steps: Sequence[Planned], load_multiplier: Callable[[float], None]) -> None:
    for step in steps:
        delay = step.t_s - session.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if step.kind == "kill-cloud" and step.cloud:
            session.chaos.kill_cloud(step.cloud)
        elif step.kind == "pause-cloud" and step.cloud:
            session.chaos.pause_cloud(step.cloud)
        elif step.kind == "kill-service" and step.cloud and step.service:
            session.chaos.kill_service(step.cloud, step.service)
        elif step.kind == "restore" and step.cloud:
            await session.chaos.restore(step.cloud)
        elif step.kind == "traffic":
            load_multiplier(step.multiplier)


async def run_lab_drill(
    platform: Platform,
    scenario: Scenario,
    directory: Path,
    time_scale: float = 60.0,
    sizing: LabSizing | None = None,
    plane_factory: PlaneFactory | None = None,
    progress: Callable[[float, float], None] | None = None,
    data_root: Path | None = None,
) -> LabDrill:
    """`data_root`: also run the lab's datastores there (PostgreSQL triplet, Redis, objects), killed with
    their cloud, failed over by the plane, and measured (RPO per datastore from what they really lost)."""
    sizing = replace(sizing or LabSizing(), time_scale=time_scale)
    if data_root is not None:
        platform = data_platform(platform, sizing.services_per_tier)
        sizing = replace(sizing, with_datastores=True)
    spec = build_lab_spec(platform, sizing)
    scaled = scale_scenario(scenario, time_scale)
    steps, unsupported = plan_faults(scenario.faults, time_scale)
    duration = scaled.duration_s
    rates = {p.name: p.rps * scenario.traffic.multiplier for p in spec.services}
    peak = max([1.0, *(s.multiplier for s in steps if s.kind == "traffic")])
    budget = min(MAX_REQUESTS, math.ceil(sum(rates.values()) * peak * duration * 1.1) + 10)
    async with LabSession(spec, directory, plane_factory, data_root=data_root) as session:
        lg = await session.external_load(rates)
        session.clock.reset()  # scenario time 0: load, chaos schedule and control loop start together
        loop_task = session.start_loop(duration)

        def set_multiplier(m: float) -> None:
            lg.multiplier = m

        async def report_progress() -> None:
            while progress is not None and session.clock() < duration:
                progress(session.clock(), duration)
                await asyncio.sleep(1.0)

        ticker = asyncio.create_task(report_progress())
        records, _ = await asyncio.gather(lg.run_apart(duration, budget), _play(session, steps, set_multiplier))
        await loop_task
        ticker.cancel()
        assert session.adapter is not None and session.loop is not None
        adapter, loop = session.adapter, session.loop
        chaos_events = list(session.chaos.events)
        pods_max = {c: max(len(session.lab.desired_replicas(c)), 0) for c in spec.clouds}
        data = await _data_report(session, scaled, records) if session.data is not None else None
    episodes = service_episodes(spec, scaled, records, time_scale)
    result = _result(spec, scenario, scaled, records, adapter.record.timeline, adapter.record.steering, chaos_events,
                     pods_max, adapter.node_pools, episodes, data)
    return LabDrill(result, spec, time_scale, tuple(records), tuple(adapter.record.pages), tuple(unsupported),
                    tuple(loop.record.edge_weights), tuple(loop.record.splits), data, episodes)


def service_episodes(spec: LabSpec, scaled: Scenario, records: Sequence[RequestRecord], time_scale: float) -> tuple[Episode, ...]:
    """Every service's degraded episodes, in bins holding enough requests for its SLA ratio to mean something."""
    anchors = fault_anchors(scaled)
    out: list[Episode] = []
    for plan in spec.services:
        svc = spec.platform.services[plan.name]
        bin_s = max(BIN_S, MIN_REQUESTS_PER_BIN / max(plan.rps, 1e-9))
        hold = max(2 * bin_s, RECOVERY_HOLD_S / time_scale)
        out += episodes_from_records(records, plan.name, svc.p99_sla_ms, 1.0 - svc.error_rate_sla, anchors,
                                     scaled.duration_s, hold, bin_s)
    return tuple(out)


# After the run, how long the old primary may still take to finish rejoining (pg_rewind) and catch up.
REJOIN_WAIT_S = 20.0
# Write outage: the longest gap between acknowledged orders, searched from 1 s before the fault on.
OUTAGE_SEARCH_S = 30.0


def write_outage_s(records: Sequence[RequestRecord], services: set[str], fault_s: float) -> float:
    """Longest gap between two consecutive acknowledged orders around the fault (last before it to first after)."""
    window = (fault_s - 1.0, fault_s + OUTAGE_SEARCH_S)
    acked = sorted(r.t_s for r in records if r.ok and r.service in services and window[0] <= r.t_s <= window[1])
    return max((b - a for a, b in itertools.pairwise(acked)), default=0.0)


async def _data_report(session: LabSession, scaled: Scenario, records: Sequence[RequestRecord]) -> dict[str, Any]:
    data = session.data
    assert data is not None
    writers = {p.name for p in session.spec.services if session.lab.writes_orders(p.name)}
    acked = {f"{r.service}-{r.request_id}": r.t_s for r in records if r.ok and r.service in writers and r.request_id}
    outages = [f for f in scaled.faults if isinstance(f, CloudOutage)]
    fault_s = outages[0].at_s if outages else None
    old = outages[0].cloud if outages else None

    def rejoined() -> bool:
        if old is None:
            return True
        try:
            replica, holds = data.replica_holds(old, set(acked))
        except Exception:
            return False
        return replica and holds == len(acked)

    if old is not None and old in data.triplet.clouds:
        await asyncio.to_thread(wait_until, rejoined, REJOIN_WAIT_S)
    report = await asyncio.to_thread(data.report, fault_s, acked, old)
    if fault_s is not None:
        report["write_outage_s"] = round(write_outage_s(records, writers, fault_s), 3)
        report["order_requests_failed_after_fault"] = sum(
            1 for r in records if not r.ok and r.service in writers and fault_s <= r.t_s <= fault_s + OUTAGE_SEARCH_S)
    report["applied"] = [{"action": a.action, "detail": a.detail, "ok": a.ok} for a in data.pg.log]
    return report


def _result(
    spec: LabSpec, original: Scenario, scaled: Scenario, records: Sequence[RequestRecord], timeline: Sequence[TimelineEntry],
    steering: Sequence[SteeringChange], chaos_events: Sequence[ChaosEvent], pods_max: dict[str, int], nodes: dict[str, int],
    episodes: Sequence[Episode], data: dict[str, Any] | None = None,
) -> DrillResult:
    duration = scaled.duration_s
    services: list[ServiceResult] = []
    for plan in spec.services:
        svc = spec.platform.services[plan.name]
        mine = [r for r in records if r.service == plan.name]
        s = summarize(mine)
        rto = rto_of([e for e in episodes if e.service == plan.name])
        # RPO: measured per datastore when the lab ran them (the worst of the service's datastores);
        # without them the edge lab writes no data (lab_spec.LabSizing.with_datastores): 0 lost by construction.
        rpo = max((float(data[d]["rpo_s"]) for d in svc.data if data is not None and d in data), default=0.0)
        services.append(ServiceResult(plan.name, plan.tier, None if rto is None else round(rto, 3), plan.rto_target_s,
                                      rpo, plan.rpo_target_s, s.requests, s.failed))
    n = max(1, math.ceil(duration / BIN_S))
    shares = _shares_by_bin(records, spec.clouds, n)
    clouds = tuple(
        CloudResult(c, round(max((row[j] for row in shares), default=0.0), 4), nodes.get(c, 0), pods_max.get(c, 0))
        for j, c in enumerate(spec.clouds)
    )
    steer = [SteeringChange(0.0, p.name, {c: p.weights.get(c, 0) for c in spec.clouds}) for p in spec.services]
    last = {p.name: steer[i].weights for i, p in enumerate(spec.services)}
    for ch in steering:
        full = {c: int(ch.weights.get(c, 0)) for c in spec.clouds}
        if full != last.get(ch.service):
            last[ch.service] = full
            steer.append(SteeringChange(round(ch.t_s, 3), ch.service, full))
    entries = [TimelineEntry(round(e.t_s, 3), e.actor, e.event, e.detail) for e in timeline]
    for ev in chaos_events:
        target = " ".join(x for x in (ev.cloud, ev.service) if x)
        detail: dict[str, DetailValue] = {"processes": ", ".join(ev.processes)}
        entries.append(TimelineEntry(round(ev.t_s, 3), "chaos", f"{ev.kind} {target}".strip(), detail))
    entries.sort(key=lambda e: e.t_s)
    windows = tuple(FaultWindow(f.kind, f.kind, f.at_s, f.until_s) for f in scaled.faults)
    per_bin_total = [0] * n
    per_bin_failed = [0] * n
    for r in records:
        i = min(n - 1, max(0, int(r.t_s / BIN_S)))
        per_bin_total[i] += 1
        per_bin_failed[i] += 0 if r.ok else 1
    zeros = tuple(0 for _ in spec.clouds)
    series = Series(
        tuple(i * BIN_S for i in range(n)), tuple(spec.clouds), tuple(shares), tuple(zeros for _ in range(n)),
        tuple(zeros for _ in range(n)), tuple(float(x) / BIN_S for x in per_bin_total),
        tuple(float(x) / BIN_S for x in per_bin_failed),
    )
    return DrillResult(original.name, original.description, spec.platform.name, duration, 0, tuple(services), clouds,
                       tuple(steer), tuple(entries), windows, series, len(records))


def twin_prediction(drill: LabDrill, scenario: Scenario) -> DrillResult:
    """The twin on the same lab platform and the same scaled scenario (seed 0)."""
    from godseye.sim.engine import Engine, EngineConfig

    scaled = scale_scenario(scenario, drill.time_scale)
    platform = drill.spec.platform
    if drill.data is not None:
        # The comparison is made on the edge. The twin's data model plays tier-1 sql as a synchronous
        # store with a 9 s leader election (the lab runs a gated PostgreSQL failover) and batches objects
        # every 300 s whatever the time scale, so with the lab's datastores it predicted RTO 9 s for pos
        # and payments and no canary step within the run: a difference of models, not of the edge. The
        # datastores' figures are the lab's own (`lab.data`).
        services = {n: s.model_copy(update={"data": ()}) for n, s in platform.services.items()}
        platform = platform.model_copy(update={"services": services, "datastores": {}})
    if not platform.datastores:
        # The twin's data model needs at least one datastore; an object store no service uses is never
        # gated on (only sql is), so it changes nothing the edge lab is compared on.
        platform = platform.model_copy(update={"datastores": {"lab-unused": Datastore(kind="object")}})
    # The lab samples its counters every stats interval; the twin samples as often, to compare like with like.
    config = EngineConfig(sample_interval_s=drill.spec.sizing.stats_interval_s, max_step_s=1.0)
    factory = lab_plane_factory(drill.time_scale, platform.edge.health_check.interval_s)
    return Engine(platform, scaled, 0, factory, config).run()
