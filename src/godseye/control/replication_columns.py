"""A step's replication polls folded column by column: the fast path of `replication.reconcile`.

A twin hands in one `ReplicaPositions` per poll, in time order, every poll with the same columns
(the same tuples while no primary changes). A copy's reports are then its column, already in time
order, so folding it copy by copy gives what folding every report in (t, cloud) order gives (the
general merge in `replication_merge`), without a report per copy and poll or a sort. Anything else
(single reports, polls out of order or of different layouts, two primary-role copies of one
datastore) takes the general merge.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from godseye.control.observations import ReplicaPosition, ReplicaPositions

if TYPE_CHECKING:
    from godseye.control.replication_state import CopyState

# Per copy, what a fold keeps of its newest report: (position, last advance s, received).
Latest = dict[str, tuple[ReplicaPosition, float, int]]

# A frozen dataclass's __init__ sets each field through object.__setattr__; a step builds a position
# per copy, so `fold` builds them by setting the slots directly (the same object, twice as fast).
_SET_POSITION = tuple(getattr(ReplicaPosition, f.name).__set__ for f in fields(ReplicaPosition))
assert tuple(f.name for f in fields(ReplicaPosition)) == ReplicaPosition.__slots__
_new = object.__new__


@dataclass(frozen=True, slots=True)
class StoreColumns:
    # (column, cloud) of each copy, by cloud (the general merge's order within an instant); a cloud
    # repeated in one poll counts once, its first column (a later one at the same instant is stale).
    copies: tuple[tuple[int, str], ...]
    primary: int  # column of the one primary-role copy, -1 without
    # At most one primary-role copy: with two, which one takes the role at an instant depends on
    # their order, which the general merge decides.
    foldable: bool


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each datastore's copies sit in a poll's columns."""

    stores: Mapping[str, StoreColumns]


# A memo of `_layout` (a pure function of the column tuples).
_LAYOUTS: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], Layout] = {}
# A twin has one layout per set of primaries: a handful per run. Bounded all the same.
_LAYOUTS_MAX = 64


def _layout(datastores: tuple[str, ...], clouds: tuple[str, ...], roles: tuple[str, ...]) -> Layout:
    key = (datastores, clouds, roles)
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    columns: dict[str, dict[str, int]] = {}
    for i, (name, cloud) in enumerate(zip(datastores, clouds, strict=True)):
        columns.setdefault(name, {}).setdefault(cloud, i)
    stores = {}
    for name, by_cloud in columns.items():
        prim = [i for i in by_cloud.values() if roles[i] == "primary"]
        stores[name] = StoreColumns(tuple((by_cloud[c], c) for c in sorted(by_cloud)), prim[0] if prim else -1,
                                    len(prim) <= 1)
    if len(_LAYOUTS) >= _LAYOUTS_MAX:
        _LAYOUTS.clear()
    found = _LAYOUTS[key] = Layout(stores)
    return found


def polls_of(positions: Sequence[ReplicaPosition | ReplicaPositions],
             known: Mapping[str, object]) -> tuple[Layout, list[ReplicaPositions]] | None:
    """The reports as polls of one layout in strictly increasing time that fold column by column, or None."""
    if not positions:
        return None
    first = positions[0]
    if type(first) is not ReplicaPositions:
        return None
    datastores, clouds, roles = first.datastores, first.clouds, first.roles
    n = len(clouds)
    if len(datastores) != n or len(roles) != n:
        return None
    t = -math.inf
    polls: list[ReplicaPositions] = []
    for poll in positions:
        # `t < poll.t_s` rather than `poll.t_s <= t`: a NaN time is not in order either.
        if type(poll) is not ReplicaPositions or not t < poll.t_s:
            return None
        if poll.datastores is not datastores and poll.datastores != datastores:
            return None
        if poll.clouds is not clouds and poll.clouds != clouds:
            return None
        if poll.roles is not roles and poll.roles != roles:
            return None
        if not len(poll.acked_pos) == len(poll.received_pos) == len(poll.replayed_pos) == len(poll.reachable) == n:
            return None  # the general merge reports the malformed poll
        t = poll.t_s
        polls.append(poll)
    layout = _layout(datastores, clouds, roles)
    for name, cols in layout.stores.items():
        if not cols.foldable and name in known:
            return None
    return layout, polls


@dataclass(slots=True)
class Columns:
    """The polls' columns, read once per step for every datastore."""

    polls: list[ReplicaPositions]
    times: list[float]
    # Per poll, what each copy had received (counting what it replayed). Read by poll, not transposed:
    # a copy's last advance is nearly always found in the last two.
    received: list[tuple[int, ...]]

    @classmethod
    def of(cls, polls: list[ReplicaPositions]) -> Columns:
        rows = [p.received_pos if p.received_pos is p.replayed_pos else tuple(map(max, p.received_pos, p.replayed_pos))
                for p in polls]
        return cls(polls, [p.t_s for p in polls], rows)


def fold(cols: StoreColumns, c: Columns, copies: Mapping[str, CopyState], primary: str | None, newest: int,
         history: list[tuple[float, int]]) -> tuple[str | None, int, Latest]:
    """One datastore's copies through the polls: its primary, newest acked (appending to `history`) and
    each reported copy's newest report, exactly as the general merge folds them."""
    times, received = c.times, c.received
    last = len(times) - 1
    p = c.polls[last]
    t, names, roles, acked, got, replayed, reachable = (p.t_s, p.datastores, p.roles, p.acked_pos, p.received_pos,
                                                        p.replayed_pos, p.reachable)
    latest: Latest = {}
    first_t = times[0]
    # ReplicaPosition(t, ...) slot by slot, the setters read once per datastore rather than per copy.
    st, sd, sc, sr, sa, sre, srp, sreach = _SET_POSITION
    for i, cloud in cols.copies:
        old = copies.get(cloud)
        k0 = 0
        if old is not None:
            old_t = old.position.t_s
            if not first_t > old_t:
                # Reports not newer than what the memory holds are stale; times are increasing.
                k0 = bisect_right(times, old_t)
                if k0 > last:
                    continue
        # The last advance: the newest poll whose received beat the one before it.
        k = last
        now = held = received[k][i]
        while k > k0:
            before = received[k - 1][i]
            if now > before:
                break
            k -= 1
            now = before
        if k > k0:
            advanced = times[k]
        elif old is None or now > old.received:
            advanced = times[k0]
        else:
            advanced = old.last_advance_s
        position: ReplicaPosition = _new(ReplicaPosition)
        st(position, t)
        sd(position, names[i])
        sc(position, cloud)
        sr(position, roles[i])
        sa(position, acked[i])
        sre(position, got[i])
        srp(position, replayed[i])
        sreach(position, reachable[i])
        latest[cloud] = (position, advanced, held)
        if i == cols.primary:
            primary, newest = _primary_reports(cloud, i, k0, c, copies, primary, newest, history)
    return primary, newest, latest


def _primary_reports(cloud: str, i: int, k0: int, c: Columns, copies: Mapping[str, CopyState], primary: str | None,
                     newest: int, history: list[tuple[float, int]]) -> tuple[str | None, int]:
    """The primary-role copy's reports from poll k0 on, as the general merge takes them (see there)."""
    primary_t = -math.inf
    for copy in copies.values():
        position = copy.position
        if position.role == "primary" and position.t_s > primary_t:
            primary_t = position.t_s
    times, polls = c.times, c.polls
    if cloud == primary:
        # No promotion (the usual poll): times increase, so every report from the first at or after
        # primary_t on holds the role and adds to the history.
        start = k0
        while start < len(times) and times[start] < primary_t:
            start += 1
        for k in range(start, len(times)):
            acked = polls[k].acked_pos[i]
            if acked > newest:
                newest = acked
            history.append((times[k], newest))
        return primary, newest
    for k in range(k0, len(times)):
        t = times[k]
        if t < primary_t:
            continue
        poll = polls[k]
        acked = poll.acked_pos[i]
        if primary is not None and cloud != primary:
            if not poll.reachable[i]:
                continue
            history.clear()
            newest = acked
        primary_t = t
        primary = cloud
        if acked > newest:
            newest = acked
        history.append((t, newest))
    return primary, newest
