"""The seed's Auto-Scaling Flow, box by box, on a one-service platform across three clouds."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from godseye.control.actions import Condition, ScaleNodePool, ScaleService
from godseye.control.autoscaler import AutoscalerMemory, AutoscalerView, reconcile
from godseye.control.decision import Decision
from godseye.control.events_calendar import event_windows, multiplier_at
from godseye.control.observations import NodePoolStatus, ServiceSample
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

EPOCH = datetime(2026, 11, 26, tzinfo=UTC)
CLOUDS = ("aws", "gcp", "azure")
# pos: 600 rps, 10 rps a pod, 1 vCPU a pod -> the plan puts 20 pods in each cloud, weights 34/33/33.
# At 70% target utilisation aws (204 rps) needs 30 pods, gcp and azure (198 rps) 29; the floor is 22.


def platform(*, autoscaling: Mapping[str, Any] | None = None, events: Mapping[str, Any] | None = None, **cloud: Any) -> Platform:
    clouds = {
        name: {"provider": name, "region": "r", "nodes": 4, "max_nodes": 30, "node_vcpu": 8, "node_boot_s": 120, **cloud}
        for name in CLOUDS
    }
    return Platform.model_validate(
        {
            "name": "t",
            "clouds": clouds,
            "services": {"pos": {"revenue_impact": True, "ux_impact": True, "rps": 600, "pod_rps": 10, "p99_sla_ms": 250}},
            "autoscaling": dict(autoscaling or {}),
            "events": dict(events or {}),
        }
    )


def view(
    p: Platform,
    now: float,
    total: float,
    memory: AutoscalerMemory,
    *,
    weights: Mapping[str, int] | None = None,
    down: Iterable[str] = (),
    pools: Iterable[NodePoolStatus] = (),
    p99: float = 100.0,
    cpu: float = 0.6,
    mem: float | None = None,
    queue: float = 0.0,
    history: Mapping[str, tuple[float, ...]] | None = None,
) -> AutoscalerView:
    plans = place_services(p)
    w = dict(weights) if weights is not None else plans[0].weights
    samples = []
    for c in CLOUDS:
        ready = memory.replicas(c, "pos")
        ready = plans[0].placement[c].replicas if ready is None else ready
        offered = total * w[c] / 100
        samples.append(ServiceSample(now, c, "pos", offered, offered, 0.0, p99, cpu, queue, ready, memory_utilization=mem))
    return AutoscalerView.build(p, plans, samples, pools, {"pos": w}, down, now, EPOCH, event_history=history)


def scales(d: Decision[AutoscalerMemory]) -> dict[str, int]:
    return {a.cloud: a.replicas for a in d.actions if isinstance(a, ScaleService)}


def reasons(d: Decision[AutoscalerMemory]) -> list[str]:
    return [a.reason for a in d.actions]


def warm(p: Platform, total: float, until: float, **kw: Any) -> AutoscalerMemory:
    """An hour of steady load: the rolling average is `total` and replicas sit at the need."""
    memory = AutoscalerMemory()
    for t in range(0, int(until) + 1, 60):
        memory = reconcile(view(p, t, total, memory, **kw), memory).memory
    return memory


def test_first_run_sizes_each_cloud_to_its_share_at_target_utilisation() -> None:
    p = platform()
    d = reconcile(view(p, 0, 600, AutoscalerMemory()), AutoscalerMemory())
    assert scales(d) == {"aws": 30, "gcp": 29, "azure": 29}
    assert any("expected 204 rps (34% of 600) needs 30 pods at 70% utilisation" in r for r in reasons(d))


def test_no_spike_steady_load_asks_nothing() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 600, memory), memory)
    assert d.actions == ()
    assert {memory.replicas(c, "pos") for c in CLOUDS} == {30, 29}


def test_known_event_prescales_before_it_starts_to_predicted_peak_plus_buffer() -> None:
    p = platform(events={"black-friday": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": 4.0}})
    memory = warm(p, 600, 3600)
    assert reconcile(view(p, 5399, 600, memory), memory).actions == ()
    pools = [NodePoolStatus(5390, c, 4, 4, 30) for c in CLOUDS]
    d = reconcile(view(p, 5400, 600, memory, pools=pools), memory)
    # aws: 600 x 4.0 x 34% = 816 rps, +20% = 979 rps, / (10 x 0.7) -> 140 pods, 18 nodes of 8 vCPU.
    # Nodes are asked for first; the pods go only as far as the 4 ready nodes (32 vCPU) hold.
    assert [a.nodes for a in d.actions if isinstance(a, ScaleNodePool)] == [18, 17, 17]
    assert scales(d) == {"aws": 32, "gcp": 32, "azure": 32}
    assert "black-friday starts in 30 min: pre-scale to predicted peak 4.0x + 20%" in reasons(d)[0]
    assert "32 fit the ready nodes, 108 wait for nodes booting" in reasons(d)[0]
    # The driver is woken when the asked nodes are due (node_boot_s 120 s).
    assert d.requeue_after_s == 120
    again = reconcile(view(p, 5400, 600, d.memory, pools=pools), d.memory)
    assert again.actions == ()
    ready = [NodePoolStatus(5520, "aws", 18, 18, 30)] + [NodePoolStatus(5520, c, 17, 17, 30) for c in ("gcp", "azure")]
    d = reconcile(view(p, 5520, 600, d.memory, pools=ready), d.memory)
    assert scales(d) == {"aws": 140, "gcp": 136, "azure": 136}
    assert not [a for a in d.actions if isinstance(a, ScaleNodePool)]
    again = reconcile(view(p, 5520, 600, d.memory, pools=ready), d.memory)
    assert again.actions == ()
    # The hold lasts through the event: no scale-down while it runs, however quiet.
    later = reconcile(view(p, 5400 + 1800 + 1200, 600, d.memory), d.memory)
    assert not [a for a in later.actions if isinstance(a, ScaleService)]


def test_prescale_asks_for_nodes_first_and_pods_follow_the_ready_nodes() -> None:
    p = platform(events={"black-friday": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": 4.0}})
    memory = warm(p, 600, 3600)
    first = reconcile(view(p, 5400, 600, memory, pools=[NodePoolStatus(5390, c, 4, 4, 30) for c in CLOUDS]), memory)
    nodes = {a.cloud: a.nodes for a in first.actions if isinstance(a, ScaleNodePool)}
    assert nodes == {"aws": 18, "gcp": 17, "azure": 17}
    memory, pods = first.memory, scales(first)
    # Nodes turn ready a few at a time: each call asks for exactly the pods the ready nodes hold, never more.
    for t, ready in ((5430, 6), (5460, 11), (5490, 15), (5520, 18)):
        status = [NodePoolStatus(t, c, min(ready, nodes[c]), nodes[c], 30) for c in CLOUDS]
        d = reconcile(view(p, t, 600, memory, pools=status), memory)
        assert not [a for a in d.actions if isinstance(a, ScaleNodePool)], "nodes asked twice"
        for c in CLOUDS:
            replicas = d.memory.replicas(c, "pos")
            assert replicas is not None
            # 1 vCPU a pod, 8 vCPU a node: no pod beyond the ready nodes' room.
            assert replicas <= min(ready, nodes[c]) * 8
            assert replicas >= (pods.get(c) or 0)
            record = d.memory.pods[(c, "pos")]
            assert replicas + record.waiting_pods == (140 if c == "aws" else 136)
        memory, pods = d.memory, {c: d.memory.replicas(c, "pos") or 0 for c in CLOUDS}
    assert pods == {"aws": 140, "gcp": 136, "azure": 136}
    assert all(r.waiting_pods == 0 for r in memory.pods.values())


def test_a_reactive_scale_up_under_overload_is_not_held_back_for_nodes() -> None:
    # Real overload (all traffic to aws after a failover) on 4 ready nodes: the survivors go straight to
    # their need, which the load needs now; only a pre-scale, asked for ahead of its load, waits for nodes.
    p = platform()
    memory = warm(p, 600, 3600)
    weights = {"aws": 100, "gcp": 0, "azure": 0}
    pools = [NodePoolStatus(3660, c, 4, 4, 30) for c in CLOUDS]
    d = reconcile(view(p, 3660, 600, memory, weights=weights, pools=pools), memory)
    assert scales(d)["aws"] == 86
    assert [(a.cloud, a.nodes) for a in d.actions if isinstance(a, ScaleNodePool)] == [("aws", 11)]
    assert d.memory.pods[("aws", "pos")].waiting_pods == 0


def test_requeue_wakes_the_driver_at_the_prescale_time() -> None:
    p = platform(events={"black-friday": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": 4.0}})
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 600, memory), memory)
    assert d.requeue_after_s == 5400 - 3660


def test_prescale_lead_is_at_least_a_node_boot() -> None:
    events = {"flash": {"start": EPOCH + timedelta(hours=2), "duration_s": 600, "peak_multiplier": 3.0}}
    p = platform(events=events, autoscaling={"prescale_lead_s": 60}, node_boot_s=600)
    memory = warm(p, 600, 3600)
    # Boot 600 s + pod start 5 s: the pre-scale starts 605 s ahead, not 60.
    assert reconcile(view(p, 7200 - 606, 600, memory), memory).actions == ()
    assert scales(reconcile(view(p, 7200 - 605, 600, memory), memory))["aws"] == 105


def test_prediction_from_profile_and_history() -> None:
    events = {"bf": {"start": EPOCH, "duration_s": 300, "peak_multiplier": 5.0, "profile": [1.0, 3.0, 2.0]}}
    p = platform(events=events)
    (w,) = event_windows(p.events, EPOCH)
    assert (w.peak_multiplier, w.source) == (3.0, "historical profile")
    (h,) = event_windows(p.events, EPOCH, {"bf": (2.5, 3.5)})
    assert (h.peak_multiplier, h.source) == (3.5, "2 past runs")
    assert multiplier_at(p.events["bf"], 150) == 3.0
    assert multiplier_at(p.events["bf"], -1) == 1.0


def test_history_moves_the_prescale_target() -> None:
    events = {"bf": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": 4.0}}
    p = platform(events=events)
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 5400, 600, memory, history={"bf": (2.0,)}), memory)
    assert scales(d)["aws"] == 70  # 600 x 2.0 x 34% x 1.2 / 7
    assert "1 past run" in reasons(d)[0]


def test_organic_spike_steps_plus_50_percent_per_metrics_interval() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 1500, memory), memory)
    assert scales(d)["aws"] == 45
    assert any("organic spike 2.4x rolling avg: +50% pods (30 -> 45)" in r for r in reasons(d))
    assert d.requeue_after_s == 30
    # Same inputs: nothing new. A sample after the step but inside the metrics interval: nothing either.
    assert reconcile(view(p, 3660, 1500, d.memory), d.memory).actions == ()
    assert reconcile(view(p, 3680, 1500, d.memory), d.memory).actions == ()
    d2 = reconcile(view(p, 3690, 1500, d.memory), d.memory)
    assert scales(d2)["aws"] == 68


def test_spike_during_a_known_event_is_the_event() -> None:
    p = platform(events={"bf": {"start": EPOCH + timedelta(seconds=3600), "duration_s": 3600, "peak_multiplier": 3.0}})
    memory = warm(p, 600, 1200)
    d = reconcile(view(p, 1800, 1500, memory), memory)
    assert any("matches bf" in r for r in reasons(d))
    assert scales(d)["aws"] == 105  # 600 x 3.0 x 34% x 1.2 / 7, in one go


def test_nodes_added_when_pods_do_not_fit_and_not_asked_twice() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 1500, memory), memory)
    pools = [a for a in d.actions if isinstance(a, ScaleNodePool)]
    # 45 pods x 1 vCPU on 8-vCPU nodes: 6 nodes, 4 are there.
    assert [(a.cloud, a.nodes) for a in pools] == [("aws", 6), ("gcp", 6), ("azure", 6)]
    assert "+2 nodes" in pools[0].reason and "ready in 120 s" in pools[0].reason
    assert not [a for a in reconcile(view(p, 3660, 1500, d.memory), d.memory).actions if isinstance(a, ScaleNodePool)]
    # A pool that already has the nodes booting is not asked again, even by a fresh memory.
    fresh = dataclasses.replace(d.memory, nodes={})
    booting = [NodePoolStatus(3660, c, 4, 6, 30) for c in CLOUDS]
    assert not [a for a in reconcile(view(p, 3660, 1500, fresh, pools=booting), fresh).actions if isinstance(a, ScaleNodePool)]


def test_failover_weights_scale_survivors_at_once() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    w = {"aws": 0, "gcp": 60, "azure": 40}
    d = reconcile(view(p, 3660, 600, memory, weights=w, down={"aws"}), memory)
    assert scales(d) == {"gcp": 52, "azure": 35}
    assert any("60% of 600" in r for r in reasons(d))


def test_burst_to_other_clouds_when_primary_is_at_max_nodes() -> None:
    p = platform(max_nodes=10)  # 80 pods a cloud at most
    w = {"aws": 100, "gcp": 0, "azure": 0}
    memory = warm(p, 300, 3600, weights=w)
    assert memory.replicas("aws", "pos") == 43 and memory.replicas("gcp", "pos") == 22
    d = reconcile(view(p, 3660, 600, memory, weights=w), memory)
    # aws needs 86 pods, holds 80: 6 spill over, 3 each to gcp and azure on top of their floor.
    assert scales(d) == {"aws": 80, "gcp": 25, "azure": 25}
    bursts = [a for a in d.actions if isinstance(a, Condition) and a.event == "burst"]
    assert [b.reason for b in bursts] == [
        "aws at max_nodes 10: burst 3 pos pods to gcp",
        "aws at max_nodes 10: burst 3 pos pods to azure",
    ]
    assert d.memory.burst_capacity_rps() == {"pos": {"gcp": 21.0, "azure": 21.0}}
    assert d.memory.capacity_rps("pos")["aws"] == 560.0
    assert [a.nodes for a in d.actions if isinstance(a, ScaleNodePool) and a.cloud == "aws"] == [10]
    assert reconcile(view(p, 3660, 600, d.memory, weights=w), d.memory).actions == ()


def _after_spike(p: Platform) -> AutoscalerMemory:
    memory = warm(p, 600, 3600)
    pods = dict(memory.pods)
    # As a spike leaves it: scaled up at 3600, so the stable timer starts over.
    pods[("aws", "pos")] = dataclasses.replace(pods[("aws", "pos")], replicas=60, last_up_s=3600, stable_since_s=None)
    return dataclasses.replace(memory, pods=pods)


def _run_down(
    p: Platform, memory: AutoscalerMemory, start: float, end: float, total: float, **kw: Any
) -> list[tuple[float, int]]:
    steps = []
    for t in range(int(start), int(end) + 1, 60):
        d = reconcile(view(p, t, total, memory, **kw), memory)
        steps += [(t - start, a.replicas) for a in d.actions if isinstance(a, ScaleService) and a.cloud == "aws"]
        memory = d.memory
    return steps


def test_stable_15_min_then_minus_10_percent_every_5_min_down_to_baseline_plus_10() -> None:
    p = platform()
    memory = _after_spike(p)
    steps = _run_down(p, memory, 3660, 3660 + 4 * 3600, 300)
    # 300 rps: aws needs 15 pods, below the floor ceil(20 x 1.1) = 22.
    assert steps[:3] == [(900, 54), (1200, 48), (1500, 43)]
    assert [r for _, r in steps] == [54, 48, 43, 38, 34, 30, 27, 24, 22]
    assert all(b - a == 300 for (a, _), (b, _) in itertools.pairwise(steps))
    memory = _after_spike(p)
    for t in range(3660, 3660 + 900, 60):
        memory = reconcile(view(p, t, 300, memory), memory).memory
    d = reconcile(view(p, 3660 + 900, 300, memory), memory)
    aws = [a.reason for a in d.actions if isinstance(a, ScaleService) and a.cloud == "aws"]
    assert aws == ["stable 15 min, p99 100 ms under SLA 250 ms: -10% (60 -> 54 pods, never below 22)"]


def test_scale_down_stops_at_the_need_while_load_stays_higher() -> None:
    p = platform()
    steps = _run_down(p, _after_spike(p), 3660, 3660 + 4 * 3600, 600)
    assert steps[-1][1] == 30


def test_instability_resets_the_stable_timer() -> None:
    p = platform()
    memory = _after_spike(p)
    for t in range(3660, 3660 + 601, 60):
        memory = reconcile(view(p, t, 300, memory), memory).memory
    # p99 over the SLA at 3660 + 660: the 15 minutes start again after it.
    memory = reconcile(view(p, 4320, 300, memory, p99=400), memory).memory
    assert memory.pods[("aws", "pos")].stable_since_s is None
    steps = _run_down(p, memory, 4380, 4380 + 1200, 300)
    assert steps[0] == (900, 54)


def test_parameters_move_decisions() -> None:
    base = warm(platform(), 600, 3600)
    # spike_factor 3: a 2.4x jump is no spike, so the HPA goes straight to the need.
    p3 = platform(autoscaling={"spike_factor": 3.0})
    m3 = warm(p3, 600, 3600)
    d3 = reconcile(view(p3, 3660, 1500, m3), m3)
    assert scales(d3)["aws"] == 73 and "expected 510 rps" in reasons(d3)[0]
    # reactive_step 1.0: +100% a step.
    p_step = platform(autoscaling={"reactive_step": 1.0})
    m_step = warm(p_step, 600, 3600)
    assert scales(reconcile(view(p_step, 3660, 1500, m_step), m_step))["aws"] == 60
    assert scales(reconcile(view(platform(), 3660, 1500, base), base))["aws"] == 45
    # prescale_buffer 0.5: 816 rps x 1.5 / 7 -> 175 pods.
    events = {"bf": {"start": EPOCH + timedelta(hours=2), "duration_s": 3600, "peak_multiplier": 4.0}}
    pb = platform(events=events, autoscaling={"prescale_buffer": 0.5})
    mb = warm(pb, 600, 3600)
    assert scales(reconcile(view(pb, 5400, 600, mb), mb))["aws"] == 175
    # floor_buffer 0.5: the floor is 30, the scale-down stops there.
    pf = platform(autoscaling={"floor_buffer": 0.5})
    assert _run_down(pf, _after_spike(pf), 3660, 3660 + 4 * 3600, 300)[-1][1] == 30


def test_actions_carry_reasons() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 1500, memory), memory)
    kinds = {type(a) for a in d.actions}
    assert kinds == {ScaleService, ScaleNodePool}
    assert all(a.reason for a in d.actions if isinstance(a, ScaleService | ScaleNodePool))


def test_memory_pressure_asks_the_hpa_for_pods() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 600, memory, mem=0.98), memory)
    # 30 pods at 98% memory against a 70% target: ceil(30 x 0.98 / 0.7) = 42.
    assert scales(d)["aws"] == 42
    assert "memory 98% on 30 pods over target 70%: HPA asks 42 pods" in reasons(d)[0]


def test_p99_over_sla_with_a_queue_steps_up_once_per_metrics_interval() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    # 204 rps served at aws, SLA 250 ms: a queue above 51 requests does not drain within the SLA.
    d = reconcile(view(p, 3660, 600, memory, p99=900, queue=120), memory)
    assert scales(d)["aws"] == 45
    assert "p99 900 ms over SLA 250 ms with 120 queued: +50% pods (30 -> 45)" in reasons(d)[0]
    # A slow p99 without a queue is not a capacity problem: no step, but no scale-down either.
    assert reconcile(view(p, 3660, 600, memory, p99=900, queue=10), memory).actions == ()


def test_scale_down_releases_nodes_but_keeps_the_spec_nodes() -> None:
    p = platform()
    memory = warm(p, 600, 3600)
    d = reconcile(view(p, 3660, 1500, memory), memory)  # +50%: 6 nodes asked per cloud
    memory = d.memory
    released = []
    for t in range(3720, 3720 + 4 * 3600, 60):
        step = reconcile(view(p, t, 300, memory), memory)
        released += [(a.cloud, a.nodes) for a in step.actions if isinstance(a, ScaleNodePool)]
        memory = step.memory
    # Back at the floor of 22 pods, 3 nodes would do; the spec's 4 nodes stay.
    assert ("aws", 4) in released and all(n >= 4 for _, n in released)


def test_a_service_grows_in_its_own_cloud_before_another_bursts_into_it() -> None:
    clouds = {c: {"provider": c, "region": "r", "nodes": 4, "max_nodes": 10, "node_vcpu": 8} for c in CLOUDS}
    svc = {"revenue_impact": True, "ux_impact": True, "rps": 300, "pod_rps": 10}
    p = Platform.model_validate({"name": "t", "clouds": clouds, "services": {"a": svc, "b": svc}})
    plans = place_services(p)  # 10 pods of each in each cloud: floors of 11
    weights = {"a": {"aws": 100, "gcp": 0, "azure": 0}, "b": {"aws": 0, "gcp": 100, "azure": 0}}
    offered = {"a": 700.0, "b": 400.0}
    samples = [
        ServiceSample(0, c, s, offered[s] * weights[s][c] / 100, offered[s] * weights[s][c] / 100, 0, 100, 0.5, 0, 10)
        for s in ("a", "b")
        for c in CLOUDS
    ]
    v = AutoscalerView.build(p, plans, samples, (), weights, (), 0, EPOCH)
    d = reconcile(v, AutoscalerMemory())
    m = d.memory
    # b needs 58 pods in gcp and gets them; a (100 needed in aws, 69 fit next to b's floor) bursts
    # its 31 into what is left: 11 in gcp, 20 in azure.
    assert m.replicas("gcp", "b") == 58
    assert (m.replicas("aws", "a"), m.replicas("gcp", "a"), m.replicas("azure", "a")) == (69, 22, 31)
    assert m.burst_capacity_rps() == {"a": {"gcp": 77.0, "azure": 140.0}}
    assert reconcile(v, m).actions == ()
