"""Properties of the incident engine and the replication watch, over generated fault schedules.

Schedules are data (hypothesis strategies), so a failure shrinks to the smallest sequence of outages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from godseye.control.actions import Action, Page
from godseye.control.incidents import CloudLabel, IncidentCatalog, IncidentMemory, IncidentParams, IncidentView
from godseye.control.incidents import reconcile as incidents_reconcile
from godseye.control.observations import ReplicaPosition
from godseye.control.replication import DatastoreTarget, ReplicaStall, ReplicationMemory, ReplicationView
from godseye.control.replication import reconcile as replication_reconcile

CLOUDS = ("aws", "gcp", "azure")
SERVICES = ("a", "b", "c")
CATALOG = IncidentCatalog(
    {"aws": CloudLabel("AWS", "us-east-1"), "gcp": CloudLabel("GCP", "us-east1"), "azure": CloudLabel("Azure", "eastus")},
    {"a": 1, "b": 2, "c": 3},
    {"orders": 1, "clicks": 2},
)
ENDPOINTS = [(c, s) for c in CLOUDS for s in SERVICES]
STALLS = [
    ReplicaStall(d, p, r, 0.0, CATALOG.datastore_tiers[d]) for d in ("orders", "clicks") for p in CLOUDS for r in CLOUDS if p != r
]
KEY = re.compile(r"^godseye/(cloud-outage|app-fault|network-partition|service-degraded)/[a-z+]+$")


@dataclass(frozen=True)
class Moment:
    dt_s: float
    failing: frozenset[tuple[str, str]]
    down: frozenset[str]
    stalls: tuple[ReplicaStall, ...]
    recovering: frozenset[str]
    out: frozenset[str]


clouds_sets = st.frozensets(st.sampled_from(CLOUDS), max_size=2)
moments = st.builds(
    Moment,
    dt_s=st.sampled_from([0.0, 1.0, 3.0, 10.0, 30.0, 61.0]),
    failing=st.frozensets(st.sampled_from(ENDPOINTS), max_size=6),
    down=clouds_sets,
    stalls=st.lists(st.sampled_from(STALLS), max_size=3, unique=True).map(tuple),
    recovering=clouds_sets,
    out=clouds_sets,
)
params_st = st.builds(
    IncidentParams,
    window_s=st.sampled_from([10.0, 30.0, 60.0]),
    clear_s=st.sampled_from([5.0, 60.0, 120.0]),
    outage_service_fraction=st.sampled_from([0.5, 1.0]),
    outage_min_services=st.sampled_from([1, 2, 3]),
)


def view_at(now: float, m: Moment, params: IncidentParams) -> IncidentView:
    endpoints = {k: k not in m.failing for k in ENDPOINTS}
    survivors = tuple(c for c in CLOUDS if c not in m.down)
    return IncidentView(now, CATALOG, endpoints, clouds_down=m.down, stalls=m.stalls, survivors=survivors,
                        recovering=m.recovering, out_of_rotation=m.out, params=params)


def run(schedule: list[Moment], params: IncidentParams) -> tuple[list[tuple[float, Action]], IncidentMemory, float]:
    memory, now, log = IncidentMemory(), 0.0, []
    for m in schedule:
        now += m.dt_s
        view = view_at(now, m, params)
        d = incidents_reconcile(view, memory)
        memory = d.memory
        log += [(now, a) for a in d.actions]
        # Level-triggered: the same view again asks for nothing new.
        again = incidents_reconcile(view, memory)
        assert again.actions == ()
        assert again.memory == memory
    return log, memory, now


def clear_tail(memory: IncidentMemory, now: float, params: IncidentParams) -> tuple[list[tuple[float, Action]], IncidentMemory]:
    """Everything healthy and back in rotation, stepping when the engine asks (bounded)."""
    calm = Moment(0.0, frozenset(), frozenset(), (), frozenset(), frozenset())
    log: list[tuple[float, Action]] = []
    for _ in range(64):
        d = incidents_reconcile(view_at(now, calm, params), memory)
        memory = d.memory
        log += [(now, a) for a in d.actions]
        if d.requeue_after_s is None:
            break
        now += max(d.requeue_after_s, 1e-3)
    return log, memory


@settings(max_examples=150, deadline=None)
@given(schedule=st.lists(moments, max_size=25), params=params_st)
def test_every_incident_that_opens_resolves_once_its_signals_clear(schedule: list[Moment], params: IncidentParams) -> None:
    log, memory, now = run(schedule, params)
    tail, memory = clear_tail(memory, now, params)
    assert memory.open == {}
    last: dict[str, str] = {}
    for _, a in log + tail:
        assert isinstance(a, Page)
        # PagerDuty lifecycle per key: only a trigger opens; ack and resolve only while open.
        if last.get(a.dedup_key, "resolve") == "resolve":
            assert a.event_action == "trigger", a
        last[a.dedup_key] = a.event_action
    assert all(action == "resolve" for action in last.values())


@settings(max_examples=100, deadline=None)
@given(schedule=st.lists(moments, max_size=20), params=params_st)
def test_same_inputs_same_actions_and_stable_keys(schedule: list[Moment], params: IncidentParams) -> None:
    first, mem1, _ = run(schedule, params)
    second, mem2, _ = run(schedule, params)
    assert first == second and mem1 == mem2
    components: dict[str, str] = {}
    for _, a in first:
        assert isinstance(a, Page)
        assert KEY.match(a.dedup_key), a.dedup_key
        # The key is a function of classification and subject: it always names the same component.
        assert components.setdefault(a.dedup_key, a.component) == a.component
        assert a.dedup_key.endswith("/" + a.component)
        assert a.severity in ("critical", "error", "warning")


# --- replication watch ---------------------------------------------------------------------------

TARGETS = {
    "orders": DatastoreTarget("orders", "sql", 1, 0.0, 2_000_000.0, "tier 1 RPO 0 s", 1.0),
    "events": DatastoreTarget("events", "stream", 1, 0.0, 0.0, "tier 1 RPO 0 s", 5.0),
    "media": DatastoreTarget("media", "object", 2, 5.0, 0.0, "tier 2 RPO 5 s", 900.0),
}


@dataclass(frozen=True)
class Tick:
    dt_s: float
    writes: int
    # per replica cloud: (received advance, replayed advance, reachable)
    gcp: tuple[int, int, bool]
    azure: tuple[int, int, bool]
    report_primary: bool


advance = st.tuples(st.integers(0, 5000), st.integers(0, 5000), st.booleans())
ticks = st.builds(Tick, dt_s=st.sampled_from([0.0, 0.5, 1.0, 3.0, 20.0]), writes=st.integers(0, 4000),
                  gcp=advance, azure=advance, report_primary=st.booleans())


@settings(max_examples=150, deadline=None)
@given(schedule=st.lists(ticks, min_size=1, max_size=30), store=st.sampled_from(sorted(TARGETS)))
def test_exposure_never_negative_and_caught_up_means_no_exposure(schedule: list[Tick], store: str) -> None:
    memory, now, acked = ReplicationMemory(), 0.0, 0
    received = {"gcp": 0, "azure": 0}
    replayed = {"gcp": 0, "azure": 0}
    for tick in schedule:
        now += tick.dt_s
        acked += tick.writes
        positions = [ReplicaPosition(now, store, "aws", "primary", acked, acked, acked)] if tick.report_primary else []
        for cloud, (rec, rep, reachable) in (("gcp", tick.gcp), ("azure", tick.azure)):
            received[cloud] = min(acked + 100, received[cloud] + rec)  # a sync copy may hold an unacked write
            replayed[cloud] = min(received[cloud], replayed[cloud] + rep)
            positions.append(ReplicaPosition(now, store, cloud, "replica", 0, received[cloud], replayed[cloud], reachable))
        view = ReplicationView(now, TARGETS, tuple(positions), CLOUDS)
        d = replication_reconcile(view, memory)
        memory = d.memory
        assert replication_reconcile(view, memory).actions == ()  # level-triggered
        state = memory.state
        assert state.exposure_s(store) >= 0
        assert (state.exposure_pos(store) or 0) >= 0
        for lag in state.lags(store):
            assert lag.exposure_s >= 0 and lag.lag_s >= 0 and lag.lag_pos >= 0 and lag.exposure_pos >= 0
            assert lag.lag_s >= lag.exposure_s  # replayed never exceeds received
            if state.caught_up(store, lag.cloud):
                assert state.replica_exposure_s(store, lag.cloud) == 0.0
                assert lag.lag_s == 0.0 and lag.exposure_pos == 0
        survivor = state.best_survivor(store, {"aws"})
        if survivor is not None and state.caught_up(store, survivor):
            assert state.exposure_s(store) == 0.0
        if d.requeue_after_s is not None:
            assert d.requeue_after_s >= 0
