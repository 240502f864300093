"""The autoscaler over random load streams: floors, capacity, determinism and level-triggering hold."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from godseye.control.actions import Action, Condition, ScaleNodePool, ScaleService
from godseye.control.autoscaler import AutoscalerMemory, AutoscalerView, reconcile
from godseye.control.observations import ServiceSample
from godseye.plan.model import ServicePlan
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

EPOCH = datetime(2026, 11, 26, tzinfo=UTC)
CLOUDS = ("aws", "gcp", "azure")
MAX_NODES, NODE_VCPU = 10, 8
# Two services sharing each cloud's nodes: pos (1 vCPU pods) and search (2 vCPU pods).
SERVICES = {
    "pos": {"revenue_impact": True, "ux_impact": True, "rps": 600, "pod_rps": 10, "pod_vcpu": 1},
    "search": {"revenue_impact": True, "ux_impact": True, "rps": 300, "pod_rps": 10, "pod_vcpu": 2},
}
# Weights steering might hand over: normal, a failover, everything on one cloud.
WEIGHTS = (
    ({"aws": 34, "gcp": 33, "azure": 33}, frozenset[str]()),
    ({"aws": 0, "gcp": 60, "azure": 40}, frozenset({"aws"})),
    ({"aws": 100, "gcp": 0, "azure": 0}, frozenset[str]()),
    ({"aws": 50, "gcp": 0, "azure": 50}, frozenset({"gcp"})),
)


@dataclass(frozen=True, slots=True)
class Tick:
    dt_s: float
    multiplier: float
    p99_factor: float
    cpu: float
    weights: int


ticks = st.builds(
    Tick,
    dt_s=st.sampled_from([5.0, 15.0, 30.0, 60.0, 300.0, 900.0]),
    multiplier=st.floats(0.1, 8.0),
    p99_factor=st.floats(0.1, 3.0),
    cpu=st.floats(0.05, 1.0),
    weights=st.integers(0, len(WEIGHTS) - 1),
)


def platform(spike_factor: float, stable_s: float, event_at_s: float) -> Platform:
    clouds = {c: {"provider": c, "region": "r", "nodes": 4, "max_nodes": MAX_NODES, "node_vcpu": NODE_VCPU} for c in CLOUDS}
    event = {"start": EPOCH + timedelta(seconds=event_at_s), "duration_s": 1800, "peak_multiplier": 3.0}
    return Platform.model_validate(
        {
            "name": "t",
            "clouds": clouds,
            "services": SERVICES,
            "events": {"sale": event},
            "autoscaling": {"spike_factor": spike_factor, "stable_s": stable_s},
        }
    )


def view(p: Platform, plans: list[ServicePlan], now: float, tick: Tick, memory: AutoscalerMemory) -> AutoscalerView:
    weights, down = WEIGHTS[tick.weights]
    samples = []
    for plan in plans:
        svc = p.services[plan.name]
        for c in CLOUDS:
            ready = memory.replicas(c, plan.name)
            ready = plan.placement[c].replicas if ready is None else ready
            offered = svc.rps * tick.multiplier * weights[c] / 100
            p99 = svc.p99_sla_ms * tick.p99_factor
            samples.append(ServiceSample(now, c, plan.name, offered, offered, 0.0, p99, tick.cpu, 0.0, ready))
    return AutoscalerView.build(p, plans, samples, (), {pl.name: weights for pl in plans}, down, now, EPOCH)


def run(p: Platform, stream: list[Tick]) -> list[tuple[Action, ...]]:
    plans = place_services(p)
    floors = {
        (c, pl.name): math.ceil(pl.placement[c].replicas * (1 + p.autoscaling.floor_buffer) - 1e-9)
        for pl in plans
        for c in CLOUDS
    }
    vcpu = {pl.name: pl.pod_vcpu for pl in plans}
    memory, now, out = AutoscalerMemory(), 0.0, []
    for tick in stream:
        now += tick.dt_s
        v = view(p, plans, now, tick, memory)
        d = reconcile(v, memory)
        # Services at rest on unchanged inputs are skipped: deciding every one afresh gives the same result.
        full = reconcile(v, dataclasses.replace(memory, quiet={}))
        assert (full.actions, full.memory.pods, full.requeue_after_s) == (d.actions, d.memory.pods, d.requeue_after_s)
        memory = d.memory
        out.append(d.actions)
        for (cloud, service), record in memory.pods.items():
            # Never below the floor, never above what max_nodes allow for that service's pods.
            assert record.replicas >= floors[(cloud, service)]
            assert record.replicas <= MAX_NODES * NODE_VCPU / vcpu[service]
        for cloud in CLOUDS:
            used = sum(r.replicas * vcpu[s] for (c, s), r in memory.pods.items() if c == cloud)
            assert used <= MAX_NODES * NODE_VCPU
        for a in d.actions:
            if isinstance(a, ScaleNodePool):
                assert a.nodes <= MAX_NODES
            if isinstance(a, ScaleService):
                assert a.cloud not in WEIGHTS[tick.weights][1]
        # Level-triggered: the same view again asks for nothing new.
        again = reconcile(v, memory)
        assert [a for a in again.actions if isinstance(a, ScaleService | ScaleNodePool | Condition)] == []
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=st.lists(ticks, min_size=1, max_size=40),
    spike_factor=st.floats(1.2, 4.0),
    stable_s=st.sampled_from([0.0, 300.0, 900.0]),
    event_at_s=st.floats(0, 20000),
)
def test_floor_capacity_determinism_and_level_triggering(
    stream: list[Tick], spike_factor: float, stable_s: float, event_at_s: float
) -> None:
    p = platform(spike_factor, stable_s, event_at_s)
    first = run(p, stream)
    assert run(p, stream) == first
