"""The twin's models one by one: traffic, queueing, nodes and pods, replication, RTO measurement."""

from __future__ import annotations

import random

import numpy as np
import pytest

from godseye.sim.data_model import BATCH_WINDOW_S, DataModel, primaries
from godseye.sim.faults import FaultChange, FaultState, schedule
from godseye.sim.metrics import RECOVERY_HOLD_S, RtoTracker
from godseye.sim.sensors import replication
from godseye.sim.service_model import ServiceParams, evaluate
from godseye.sim.traffic import TrafficModel
from godseye.sim.world import World
from godseye.spec.loader import load_platform_text
from godseye.spec.models import Platform
from godseye.spec.scenario import CloudOutage, Partition, ReplicationStall, load_scenario_text

SMALL = """
name: small
clouds:
  a: {provider: aws, region: r1, nodes: 2, max_nodes: 4, node_vcpu: 4, node_boot_s: 100, pod_start_s: 5}
  b: {provider: gcp, region: r2, nodes: 2, max_nodes: 4, node_vcpu: 4, node_boot_s: 200, pod_start_s: 5}
  c: {provider: azure, region: r3, nodes: 2, max_nodes: 4, node_vcpu: 4, node_boot_s: 150, pod_start_s: 5}
services:
  shop: {revenue_impact: true, ux_impact: true, rps: 300, pod_rps: 100, p99_sla_ms: 250, service_time_ms: 25, data: [orders]}
  feed: {revenue_impact: false, ux_impact: true, rps: 100, pod_rps: 100, data: [events, media]}
  jobs: {revenue_impact: false, ux_impact: false, rps: 10, pod_rps: 10, data: [media]}
datastores:
  orders: {kind: sql, write_mb_s: 1.0}
  events: {kind: stream, write_mb_s: 4.0, replication_mb_s: 5.0}
  media: {kind: object, write_mb_s: 1.0}
events:
  sale: {start: "2026-11-27T00:00:00Z", duration_s: 4000, peak_multiplier: 3.0, ramp_s: 1000}
"""


@pytest.fixture
def small() -> Platform:
    return load_platform_text(SMALL)


def test_event_ramps_to_its_peak_and_back(small: Platform) -> None:
    sc = load_scenario_text("{name: s, duration_s: 6000, traffic: {event: sale, event_lead_s: 500}}", small)
    tm = TrafficModel(small, sc, list(small.services), random.Random(0))
    base = tm.baseline
    assert tm.offered(0, noisy=False) == pytest.approx(base)
    assert tm.offered(500 + 500, noisy=False) == pytest.approx(base * 2.0)  # half-way up the ramp
    assert tm.offered(500 + 2000, noisy=False) == pytest.approx(base * 3.0)
    assert tm.offered(500 + 4000 - 250, noisy=False) == pytest.approx(base * 1.5)
    assert 500.0 in tm.change_points()


def test_spike_only_hits_its_services(small: Platform) -> None:
    sc = load_scenario_text(
        "{name: s, duration_s: 600, faults: [{at_s: 100, kind: traffic_spike, multiplier: 5, ramp_s: 100, services: [feed]}]}",
        small)
    tm = TrafficModel(small, sc, list(small.services), random.Random(0))
    at = dict(zip(small.services, tm.offered(150, noisy=False), strict=True))
    assert at["feed"] == pytest.approx(100 * 3.0) and at["shop"] == pytest.approx(300)


def params() -> ServiceParams:
    return ServiceParams(np.array([[100.0]]), np.array([[25.0]]), np.array([[250.0]]))


def test_p99_is_at_sla_exactly_at_pod_rps_and_grows_beyond() -> None:
    ready = np.array([[3.0]])
    alive = np.array([[True]])
    at_rating = evaluate(params(), np.array([[300.0]]), ready, alive)
    assert at_rating.p99_ms[0, 0] == pytest.approx(250.0)
    assert at_rating.in_sla[0, 0] == pytest.approx(300.0)
    light = evaluate(params(), np.array([[30.0]]), ready, alive)
    assert 25.0 < light.p99_ms[0, 0] < 50.0
    over = evaluate(params(), np.array([[330.0]]), ready, alive)
    assert over.p99_ms[0, 0] > 250.0 and over.in_sla[0, 0] == 0.0 and over.failed[0, 0] == 0.0
    # Saturation is pods x pod_rps / 0.8 = 375 rps: what is beyond fails.
    flood = evaluate(params(), np.array([[500.0]]), ready, alive)
    assert flood.served[0, 0] == pytest.approx(375.0) and flood.failed[0, 0] == pytest.approx(125.0)


def test_dead_endpoint_fails_everything() -> None:
    dead = evaluate(params(), np.array([[100.0]]), np.array([[3.0]]), np.array([[False]]))
    assert dead.failed[0, 0] == 100.0 and dead.served[0, 0] == 0.0


def world(small: Platform, pods: list[list[int]]) -> World:
    return World(small, list(small.services), [1, 2, 3], np.array(pods, dtype=np.int64), [2, 2, 2])


def test_pods_wait_for_vcpu_and_nodes_take_their_boot_time(small: Platform) -> None:
    w = world(small, [[4, 4, 4], [0, 0, 0], [0, 0, 0]])
    assert int(w.pods_ready[0, 0]) == 4
    w.set_pods(0, 0, 10, t=0.0)  # 8 vCPU on 2 nodes: 4 more fit, 2 wait for nodes
    assert int(w.pods_starting[0, 0]) == 4
    assert w.request_nodes(0, 99, t=0.0) == 4  # capped at max_nodes
    w.advance_to(5.0)
    assert int(w.pods_ready[0, 0]) == 8
    w.advance_to(99.0)
    assert int(w.nodes_ready[0]) == 2
    arrived = w.advance_to(100.0)
    assert arrived and arrived[0].count == 2 and int(w.pods_starting[0, 0]) == 2
    w.advance_to(105.0)
    assert int(w.pods_ready[0, 0]) == 10


def test_capacity_cap_limits_growth(small: Platform) -> None:
    w = world(small, [[1, 1, 1], [0, 0, 0], [0, 0, 0]])
    w.set_cap(1, 3)
    assert w.request_nodes(1, 4, t=0.0) == 3


def test_tier1_preempts_less_critical_pods(small: Platform) -> None:
    w = world(small, [[4, 0, 0], [0, 0, 0], [4, 0, 0]])  # cloud a full: 4 shop + 4 jobs pods
    w.set_pods(0, 0, 6, t=10.0)
    assert int(w.pods_ready[2, 0]) == 2 and int(w.pods_starting[0, 0]) == 2
    assert w.preempted == [("jobs", "a", 2, "shop")]


def test_recovered_cloud_restarts_its_pods(small: Platform) -> None:
    w = world(small, [[2, 2, 2], [0, 0, 0], [0, 0, 0]])
    w.set_cloud_up(1, False, 10.0)
    w.set_cloud_up(1, True, 50.0)
    assert int(w.pods_ready[0, 1]) == 0
    w.advance_to(55.0)
    assert int(w.pods_ready[0, 1]) == 2


def data(small: Platform) -> tuple[DataModel, FaultState]:
    tiers = {"orders": 1, "events": 2, "media": 3}
    weights = {"shop": {"a": 34, "b": 33, "c": 33}, "feed": {"a": 100, "b": 0, "c": 0}, "jobs": {"a": 100, "b": 0, "c": 0}}
    prim = primaries(small, weights)
    assert prim == {"orders": "a", "events": "a", "media": "a"}
    return DataModel(small, prim, tiers, random.Random(0)), FaultState()


def fail(fs: FaultState, fault: CloudOutage | Partition | ReplicationStall) -> None:
    fs.apply(FaultChange(fault.at_s, 0, "start", fault))


def test_sync_store_loses_nothing_and_elects_a_new_leader(small: Platform) -> None:
    dm, fs = data(small)
    dm.advance(0, 100, {}, fs)
    fail(fs, CloudOutage(kind="cloud_outage", at_s=100, cloud="a"))
    dm.advance(100, 101, {}, fs)
    assert not dm.by_name["orders"].writable(fs, 101)
    notes = dm.advance(110, 111, {}, fs)
    assert dm.by_name["orders"].primary == "b" and any("orders" in n for _, n in notes)
    assert dm.worst_loss_s("orders") == 0.0


def test_async_lag_grows_with_load_and_is_the_rpo(small: Platform) -> None:
    quiet, fs = data(small)
    busy, _ = data(small)
    for t in range(0, 600, 10):
        quiet.advance(t, t + 10, {"events": 1.0}, fs)  # 4 MB/s against 5 MB/s replication: no backlog
        busy.advance(t, t + 10, {"events": 2.0}, fs)  # 8 MB/s: 3 MB/s of backlog piles up
    # 4 of 5 MB/s: the link runs at 80%, its 1 s delay becomes 1 / (1 - 0.8) = 5 s.
    assert quiet.by_name["events"].lag_s("b", 600) == pytest.approx(5.0)
    assert busy.by_name["events"].lag_s("b", 600) > 100
    fail(fs, CloudOutage(kind="cloud_outage", at_s=600, cloud="a"))
    busy.advance(600, 601, {"events": 2.0}, fs)
    busy.promote("events", "b", 700, fs)
    assert busy.worst_loss_s("events") > 100


def test_partition_and_stall_stop_async_replication(small: Platform) -> None:
    dm, fs = data(small)
    fail(fs, ReplicationStall(kind="replication_stall", at_s=0, datastore="events", cloud="c"))
    for t in range(0, 100, 10):
        dm.advance(t, t + 10, {"events": 1.0}, fs)
    assert dm.by_name["events"].lag_s("c", 100) > 90 and dm.by_name["events"].lag_s("b", 100) == pytest.approx(5.0)


def test_object_copies_trail_by_up_to_a_batch_window(small: Platform) -> None:
    dm, fs = data(small)
    for t in range(0, 3000, 30):
        dm.advance(t, t + 30, {}, fs)
        lag = dm.by_name["media"].lag_s("b", t + 30)
        assert 0 <= lag <= 2 * BATCH_WINDOW_S + 1


def test_switchover_to_a_reachable_copy_loses_nothing(small: Platform) -> None:
    dm, fs = data(small)
    for t in range(0, 100, 10):
        dm.advance(t, t + 10, {"events": 2.0}, fs)
    dm.promote("events", "b", 100, fs)
    assert dm.worst_loss_s("events") == 0.0


def test_rto_counts_from_the_fault_until_good_for_the_hold() -> None:
    rto = RtoTracker(1, anchors=[100.0])
    good, bad = np.array([True]), np.array([False])
    rto.update(0, 100, good)
    rto.update(100, 110, bad)  # the episode begins at the fault, not at the first bad step
    rto.update(110, 115, bad)
    rto.update(115, 115 + RECOVERY_HOLD_S - 1, good)
    assert rto.episodes == []  # good, but not yet for the whole hold
    rto.update(115 + RECOVERY_HOLD_S - 1, 115 + RECOVERY_HOLD_S, good)
    assert rto.episodes == [(0, 100.0, 115.0)]
    assert rto.finish(1000) == [15.0]


def test_rto_never_recovered_is_none() -> None:
    rto = RtoTracker(1, anchors=[10.0])
    rto.update(10, 500, np.array([False]))
    assert rto.finish(500) == [None]


def test_fault_schedule_orders_ends_before_starts() -> None:
    platform = load_platform_text(SMALL)
    sc = load_scenario_text(
        "{name: s, duration_s: 900, faults: [{at_s: 100, kind: cloud_outage, cloud: a, until_s: 300},"
        " {at_s: 300, kind: partition, clouds: [b, c]}]}", platform)
    changes = schedule(sc)
    assert [(c.t_s, c.edge) for c in changes] == [(100, "start"), (300, "end"), (300, "start")]
    fs = FaultState()
    for ch in changes:
        fs.apply(ch)
    assert fs.cloud_up("a") and not fs.linked("b", "c") and fs.linked("a", "b")


def test_vcpu_bookkeeping_matches_a_recount(small: Platform) -> None:
    w = world(small, [[4, 0, 0], [0, 0, 0], [4, 0, 0]])
    w.set_pods(0, 0, 6, t=0.0)  # preempts jobs
    w.set_pods(1, 0, 3, t=1.0)
    w.request_nodes(0, 4, t=1.0)
    w.advance_to(120.0)
    w.set_pods(0, 0, 1, t=130.0)  # scale-down frees room for the pending
    w.set_cloud_up(0, False, 140.0)
    w.set_cloud_up(0, True, 150.0)
    w.advance_to(200.0)
    assert np.allclose(w.vcpu_used(), w.recount_vcpu())
    assert (w.vcpu_used() <= w.nodes_ready * w.node_vcpu + 1e-9).all()


def test_position_columns_follow_positions_through_faults_holds_and_promotions(small: Platform) -> None:
    """The steady step keeps the position columns by itself (converting only what moved): after every
    step they must be what `positions` says of every copy, whatever happened in between."""
    dm, fs = data(small)
    faults: list[CloudOutage | Partition | ReplicationStall] = [
        Partition(kind="partition", at_s=300, clouds=["b", "c"], until_s=600),
        ReplicationStall(kind="replication_stall", at_s=450, datastore="events", cloud="b", until_s=900),
        CloudOutage(kind="cloud_outage", at_s=1200, cloud="a", until_s=1500),
    ]
    changes = sorted([FaultChange(f.at_s, i, "start", f) for i, f in enumerate(faults)]
                     + [FaultChange(f.until_s, i, "end", f) for i, f in enumerate(faults) if f.until_s is not None],
                     key=lambda c: c.t_s)
    load = {"events": 1.0}
    t = 0.0
    while t < 2000:
        while changes and changes[0].t_s <= t:
            fs.apply(changes.pop(0))
        if t == 150:
            load["events"] = 1.6  # in place: 6.4 of 5 MB/s, a backlog builds
        if t == 250:
            load = {"events": 0.5}  # drains
        if t == 700:
            dm.hold("orders", True)
        if t == 800:
            dm.hold("orders", False)
        if t == 1000:
            dm.promote("events", "b", t, fs)
        if t == 1100:
            dm.promote("media", "c", t, fs)
        dm.advance(t, t + 5, load, fs)
        t += 5
        acked, held = dm.position_columns(t)
        expect = [dm.positions(st, c, t) for st in dm.stores for c in st.clouds]
        assert held == [h for _, h in expect]
        assert [a for i, a in enumerate(acked) for _ in dm.stores[i].clouds] == [a for a, _ in expect]
        obs = replication(t, dm, fs)
        assert obs is not None and obs.received_pos == obs.replayed_pos == tuple(held)
        assert list(obs.acked_pos) == [a for a, _ in expect]
        assert list(obs.roles) == ["primary" if c == st.primary else "replica" for st in dm.stores for c in st.clouds]
        assert list(obs.reachable) == [fs.cloud_up(c) for st in dm.stores for c in st.clouds]
    assert len(dm.losses) >= 2  # the promotions happened, and the outage moved writers or elected
