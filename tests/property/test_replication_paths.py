"""The fast paths of the replication watch and the plane's copy watch decide exactly as the general ones.

A twin's polls (`ReplicaPositions` in time order, one layout) are folded a column at a time; the same
reports handed in one `ReplicaPosition` at a time take the general merge. Layouts, times and positions
are hypothesis data: duplicated and unknown columns, two primaries, stale and out-of-order polls,
positions that go back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from godseye.control.copy_watch import CopyWatch
from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.control.replication import (
    DatastoreTarget,
    ReplicationMemory,
    ReplicationParams,
    ReplicationState,
    ReplicationView,
    reconcile,
)
from godseye.control.replication_columns import polls_of
from godseye.control.replication_state import position_gap_s

CLOUDS = ("aws", "gcp", "azure")
TARGETS = {
    "orders": DatastoreTarget("orders", "sql", 1, 0.0, 100.0, "tier 1 RPO 0", 1.0),
    "catalog": DatastoreTarget("catalog", "sql", 2, 1.0, 50.0, "sync box sql < 1 s", 1.0),
    "events": DatastoreTarget("events", "stream", 2, 5.0, 0.0, "sync box stream < 5 s", 5.0),
    "media": DatastoreTarget("media", "object", 3, 8.0, 0.0, "sync box object < 8 s", 8.0),
}
# Short stall and history windows, so that a few polls cross them.
PARAMS = ReplicationParams(stall_after_s=3.0, history_s=6.0, history_max=5)

Column = tuple[str, str, Literal["primary", "replica"]]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[Column, ...]:
    cols: list[Column] = []
    # A datastore the watch has no target for now and then; one primary per datastore mostly.
    stores = st.sampled_from([*TARGETS, *TARGETS, *TARGETS, "ghost"])
    for store in draw(st.lists(stores, min_size=1, max_size=3, unique=True)):
        clouds = draw(st.permutations(CLOUDS))[: draw(st.integers(1, 3))]
        primaries = draw(st.sets(st.sampled_from(clouds), min_size=1, max_size=1) | st.sets(st.sampled_from(clouds), max_size=2))
        cols += [(store, c, "primary" if c in primaries else "replica") for c in clouds]
    if draw(st.integers(0, 3)) == 0:  # a copy twice in one poll, maybe in another role
        store, cloud, role = draw(st.sampled_from(cols))
        cols.insert(draw(st.integers(0, len(cols))), (store, cloud, draw(st.sampled_from([role, "primary"]))))
    return tuple(cols)


@dataclass(frozen=True)
class Poll:
    dt_s: float
    layout: int
    seed: int  # of its positions: one draw, so that examples stay long (and shrink to fewer polls)


polls_st = st.builds(Poll, dt_s=st.sampled_from([-7.0, -1.0, 0.0, 0.5, 1.0, 2.0, 4.0]), layout=st.integers(0, 2),
                     seed=st.integers(0, 2**32))


class World:
    """Positions that mostly grow, as drawn: acked per datastore, received per copy."""

    def __init__(self, layouts: list[tuple[Column, ...]]) -> None:
        # One set of column tuples per layout, reused poll after poll as a twin does.
        self.columns = [(tuple(c[0] for c in lay), tuple(c[1] for c in lay), tuple(c[2] for c in lay)) for lay in layouts]
        self.acked: dict[str, int] = {}
        self.received: dict[tuple[str, str], int] = {}
        self.t = 0.0

    def poll(self, p: Poll, in_order: bool, layout: int | None) -> ReplicaPositions:
        """The next poll: strictly later when in order; in the step's layout unless None (the poll's own)."""
        self.t += (abs(p.dt_s) or 0.5) if in_order else p.dt_s
        names, clouds, roles = self.columns[(p.layout if layout is None else layout) % len(self.columns)]
        rng = random.Random(p.seed)
        acked, received, replayed = [], [], []
        for name, cloud in zip(names, clouds, strict=True):
            # Growing mostly, by small steps so that levels tie; now and then a copy reports less.
            a = self.acked[name] = self.acked.get(name, 0) + rng.choice((0, 0, 1, 2, 5))
            r = self.received[(name, cloud)] = max(0, self.received.get((name, cloud), 0) + rng.choice((-2, 0, 0, 1, 3, 6)))
            acked.append(a)
            received.append(r)
            replayed.append(r - rng.choice((-1, 0, 1, 3)))
        reachable = tuple(rng.random() < 0.85 for _ in names)
        held = tuple(received)
        # A twin hands in one tuple for both when a copy serves all it received.
        return ReplicaPositions(self.t, names, clouds, roles, tuple(acked), held,
                                held if rng.random() < 0.5 else tuple(replayed), reachable)


def _singles(polls: list[ReplicaPositions]) -> tuple[ReplicaPosition, ...]:
    return tuple(p for poll in polls for p in poll.positions())


# A step: the layout of all its polls (None: each poll its own) and the polls.
steps_st = st.lists(st.tuples(st.none() | st.integers(0, 2) | st.integers(0, 2), st.lists(polls_st, max_size=8)),
                    min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(lays=st.lists(layouts(), min_size=1, max_size=3), steps=steps_st, in_order=st.booleans() | st.just(True),
       shuffle=st.randoms(use_true_random=False))
def test_polls_fold_as_their_single_reports_merge(lays: list[tuple[Column, ...]], steps: list[tuple[int | None, list[Poll]]],
                                                  in_order: bool, shuffle: random.Random) -> None:
    world = World(lays)
    fast, general, shuffled = ReplicationMemory(), ReplicationMemory(), ReplicationMemory()
    for layout, step in steps:
        polls = [world.poll(p, in_order, layout) for p in step]
        now = world.t + 1.0
        d_fast = reconcile(ReplicationView(now, TARGETS, tuple(polls), CLOUDS, PARAMS), fast)
        d_general = reconcile(ReplicationView(now, TARGETS, _singles(polls), CLOUDS, PARAMS), general)
        assert d_fast == d_general
        fast, general = d_fast.memory, d_general.memory
        # Reports of distinct copies and instants merge in (time, cloud) order whatever order they came in.
        singles = list(_singles(polls))
        if len({(s.t_s, s.datastore, s.cloud) for s in singles}) == len(singles):
            shuffle.shuffle(singles)
            d_shuffled = reconcile(ReplicationView(now, TARGETS, tuple(singles), CLOUDS, PARAMS), shuffled)
            assert d_shuffled == d_fast
        shuffled = fast


def test_a_twins_polls_take_the_column_fold() -> None:
    names, clouds = ("orders",) * 3, CLOUDS
    roles: tuple[Literal["primary", "replica"], ...] = ("primary", "replica", "replica")
    polls = [ReplicaPositions(t, names, clouds, roles, (5, 5, 5), (5, 4, 3), (5, 4, 3), (True,) * 3) for t in (1.0, 2.0)]
    assert polls_of(polls, TARGETS) is not None
    assert polls_of(polls[::-1], TARGETS) is None  # out of order: the general merge
    two: tuple[Literal["primary", "replica"], ...] = ("primary", "primary", "replica")
    assert polls_of([ReplicaPositions(1.0, names, clouds, two, (5,) * 3, (5,) * 3, (5,) * 3, (True,) * 3)], TARGETS) is None
    assert polls_of([polls[0], polls[1].positions()[0]], TARGETS) is None


class ReferenceWatch:
    """The plane's copy watch as it was, copy by copy: the oracle for `CopyWatch`."""

    def __init__(self) -> None:
        self.copies: dict[tuple[str, str], list[float]] = {}
        self.keys: dict[tuple[str, str], tuple[bool, bool, str]] = {}
        self.stalled: set[tuple[str, str]] = set()
        self.urgent: float | None = None

    def reset(self, state: ReplicationState, params: ReplicationParams) -> None:
        self.copies.clear()
        self.keys.clear()
        self.stalled.clear()
        self.urgent = None
        for name, ds in state.datastores.items():
            after = max(params.stall_after_s, ds.target.sync_rpo_s)
            for cloud, copy in ds.copies.items():
                trailing = cloud != ds.primary and copy.received < ds.newest_acked
                self.copies[(name, cloud)] = [copy.received, copy.last_advance_s, copy.position.t_s, after, trailing]
                self.keys[(name, cloud)] = (copy.received >= ds.newest_acked, copy.position.reachable, copy.position.role)
                if copy.stalled:
                    self.stalled.add((name, cloud))

    def observe(self, pos: ReplicaPosition) -> None:
        key, t, received = (pos.datastore, pos.cloud), pos.t_s, max(pos.received_pos, pos.replayed_pos)
        known = self.copies.get(key)
        if known is None:
            self.urge(t)
            return
        if t <= known[2]:
            return
        known[2] = t
        if received > known[0]:
            known[0], known[1] = received, t
            if key in self.stalled:
                self.urge(t)
        if (received >= pos.acked_pos, pos.reachable, pos.role) != self.keys[key]:
            self.urge(t)
        known[4] = pos.role != "primary" and received < pos.acked_pos

    def urge(self, t: float) -> None:
        self.urgent = t if self.urgent is None else min(self.urgent, t)

    def deadline_s(self) -> float | None:
        if self.urgent is not None:
            return self.urgent
        times = [c[1] + c[3] for k, c in self.copies.items() if c[4] and k not in self.stalled]
        return min(times) if times else None


@settings(max_examples=300, deadline=None)
@given(lays=st.lists(layouts(), min_size=1, max_size=3), steps=steps_st, in_order=st.booleans() | st.just(True),
       singles=st.booleans() | st.just(False))
def test_the_copy_watch_wakes_as_it_did_copy_by_copy(lays: list[tuple[Column, ...]], steps: list[tuple[int | None, list[Poll]]],
                                                     in_order: bool, singles: bool) -> None:
    world = World(lays)
    watch, reference, memory = CopyWatch(), ReferenceWatch(), ReplicationMemory()
    for layout, step in steps:
        polls = [world.poll(p, in_order, layout) for p in step]
        for poll in polls:
            if singles:
                for single in poll.positions():
                    watch.observe(single)
            else:
                watch.observe_many(poll)
            for single in poll.positions():
                reference.observe(single)
            assert watch.deadline_s() == reference.deadline_s()
        d = reconcile(ReplicationView(world.t + 1.0, TARGETS, tuple(polls), CLOUDS, PARAMS), memory)
        memory = d.memory
        watch.reset(memory.state, PARAMS)
        reference.reset(memory.state, PARAMS)
        assert watch.deadline_s() == reference.deadline_s()


@dataclass(frozen=True)
class Beat:
    """One poll of a steady twin: every copy keeps its level unless told, now and then a single report."""

    dt_s: float
    stall: int  # a replica (by index) that receives nothing this poll, -1: none
    level: int  # a replica that catches up (reaches the level) this poll, -1: none
    single: bool  # a lone report of one copy follows the poll
    # Which copy (by column: a watched replica, a level one or a primary) and how far past what its
    # column held (below it: a copy that went back, which the poll after it must not count as an advance).
    lone: int = 1
    lone_delta: int = 1
    back: int = -1  # a replica whose poll reports 2 less than it holds (the next poll is no advance), -1: none


beats = st.builds(Beat, dt_s=st.sampled_from([0.5, 1.0, 2.0, 5.0]), stall=st.integers(-1, 5) | st.integers(-1, 5),
                  level=st.integers(-1, 5) | st.just(-1) | st.just(-1), single=st.booleans() | st.just(False),
                  lone=st.just(1) | st.integers(0, 8), lone_delta=st.sampled_from([1, 1, 0, -2, 5]),
                  back=st.just(-1) | st.integers(0, 5))


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.lists(beats, min_size=1, max_size=10), min_size=1, max_size=8))
def test_a_steady_twins_polls_wake_the_plane_as_copy_by_copy(steps: list[list[Beat]]) -> None:
    stores = ("orders", "catalog", "events")
    names = tuple(n for n in stores for _ in CLOUDS)
    clouds = CLOUDS * len(stores)
    roles: tuple[Literal["primary", "replica"], ...] = tuple("primary" if c == "aws" else "replica" for c in clouds)
    replicas = [i for i, r in enumerate(roles) if r == "replica"]
    acked = dict.fromkeys(stores, 100)
    received = [100 - 3 * (i % 3) for i in range(len(names))]
    watch, reference, memory, t = CopyWatch(), ReferenceWatch(), ReplicationMemory(), 0.0
    for step in steps:
        polls = []
        for beat in step:
            t += beat.dt_s
            for n in stores:
                acked[n] += 4
            for i, name in enumerate(names):
                if roles[i] == "primary" or (beat.level >= 0 and i == replicas[beat.level]):
                    received[i] = acked[name]
                elif not (beat.stall >= 0 and i == replicas[beat.stall]):
                    received[i] = max(received[i], acked[name] - 3)
            col = tuple(r - 2 if beat.back >= 0 and i == replicas[beat.back] else r for i, r in enumerate(received))
            poll = ReplicaPositions(t, names, clouds, roles, tuple(acked[n] for n in names), col, col, (True,) * len(names))
            polls.append(poll)
            watch.observe_many(poll)
            for single in poll.positions():
                reference.observe(single)
            assert watch.deadline_s() == reference.deadline_s()
            if beat.single:
                t += 0.25
                j = beat.lone
                got = max(0, received[j] + beat.lone_delta)
                lone = ReplicaPosition(t, names[j], clouds[j], roles[j], acked[names[j]], got, min(got, received[j]))
                watch.observe(lone)
                reference.observe(lone)
                assert watch.deadline_s() == reference.deadline_s()
        d = reconcile(ReplicationView(t + 0.5, TARGETS, tuple(polls), CLOUDS, PARAMS), memory)
        memory = d.memory
        watch.reset(memory.state, PARAMS)
        reference.reset(memory.state, PARAMS)
        assert watch.deadline_s() == reference.deadline_s()


def _time_in(history: tuple[tuple[float, int], ...], target: DatastoreTarget, pos: int) -> float | None:
    """When the primary acknowledged `pos`, sample by sample (the watch's definition, as first written)."""
    if not history:
        return None
    for i, (t, acked) in enumerate(history):
        if acked >= pos:
            if i == 0:
                break
            t0, a0 = history[i - 1]
            return t0 + (pos - a0) / (acked - a0) * (t - t0)
        if i == len(history) - 1:
            return t
    t_first, a_first = history[0]
    t_last, a_last = history[-1]
    rate = (a_last - a_first) / (t_last - t_first) if t_last > t_first and a_last > a_first else target.write_pos_per_s
    if rate <= 0:
        return t_first
    return t_first - (a_first - pos) / rate


def _gap_by_definition(target: DatastoreTarget, newest: int, history: tuple[tuple[float, int], ...], pos: int) -> float:
    """`position_gap_s` as defined: each position's time by its own scan of the history."""
    if pos >= newest:
        return 0.0
    if target.kind == "object":
        return (newest - pos) / 1000.0
    t_newest, t_pos = _time_in(history, target, newest), _time_in(history, target, pos)
    return 0.0 if t_newest is None or t_pos is None else max(0.0, t_newest - t_pos)


# Any history, not only the time-ordered, never-decreasing ones the watch builds: acked positions that go
# back, repeated and out-of-order times.
histories = st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(-50, 50), st.integers(-3, 12)),
                     max_size=7).map(tuple)


@settings(max_examples=500, deadline=None)
@given(history=histories, newest=st.integers(-3, 14), pos=st.integers(-5, 14), store=st.sampled_from(sorted(TARGETS)))
def test_a_gap_takes_both_times_in_one_scan_as_in_two(history: tuple[tuple[float, int], ...], newest: int, pos: int,
                                                      store: str) -> None:
    target = TARGETS[store]
    assert position_gap_s(target, newest, history, pos) == _gap_by_definition(target, newest, history, pos)
    # The watch's own histories: times increasing, acked never going back.
    ordered = tuple((float(k), a) for k, a in enumerate(sorted(a for _, a in history)))
    assert position_gap_s(target, newest, ordered, pos) == _gap_by_definition(target, newest, ordered, pos)


def test_a_lone_report_after_steady_polls_is_judged_against_the_most_received() -> None:
    """Steady polls keep the watched copies' most received aside: a copy that went back in the last poll
    and then reports less than its most has not advanced (its deadline stays the earliest)."""
    names, clouds = ("orders",) * 3, CLOUDS
    roles: tuple[Literal["primary", "replica"], ...] = ("primary", "replica", "replica")

    def poll(t: float, a: int, b: int) -> ReplicaPositions:
        col = (100 + int(t), a, b)
        return ReplicaPositions(t, names, clouds, roles, (100 + int(t),) * 3, col, col, (True,) * 3)

    watch, reference = CopyWatch(), ReferenceWatch()
    first = poll(1.0, 90, 80)
    memory = reconcile(ReplicationView(1.5, TARGETS, (first,), CLOUDS, PARAMS), ReplicationMemory()).memory
    for w in (watch, reference):
        w.reset(memory.state, PARAMS)
    reports: list[ReplicaPosition | ReplicaPositions] = [
        poll(2.0, 95, 85), poll(3.0, 93, 86),  # gcp went back: no advance
        ReplicaPosition(3.5, "orders", "gcp", "replica", 103, 94, 94),  # still less than its most: none either
        poll(4.0, 96, 87),
    ]
    deadlines = []
    for report in reports:
        if isinstance(report, ReplicaPositions):
            watch.observe_many(report)
            for single in report.positions():
                reference.observe(single)
        else:
            watch.observe(report)
            reference.observe(report)
        deadlines.append(watch.deadline_s())
        assert deadlines[-1] == reference.deadline_s()
    # gcp last advanced at 2 s until the last poll; a stall is declared after 3 s.
    assert deadlines == [5.0, 5.0, 5.0, 7.0]
