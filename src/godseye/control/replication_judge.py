"""The replication watch's judgement of one merged datastore: which copies stall and whether the RPO
target is breached, against what the memory held (level-triggered: conditions only on a change).
"""

from __future__ import annotations

import math

from godseye.control.actions import Action, Condition
from godseye.control.replication_columns import Latest
from godseye.control.replication_model import DatastoreTarget, ReplicationView
from godseye.control.replication_state import (
    SET_COPY,
    CopyState,
    DatastoreState,
    ReplicationState,
    position_gap_s,
    spec_order,
)

_new_copy = object.__new__  # CopyState built slot by slot (`SET_COPY`)


def _breach(target: DatastoreTarget, exposure_s: float) -> bool:
    if target.rpo_target_s == 0:
        return exposure_s > 0
    return exposure_s >= target.rpo_target_s


# A memo of `_spec_sorted` (a pure function of its key): the same few cloud sets every step.
_ORDERS: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
_ORDERS_MAX = 256


def _spec_sorted(clouds: tuple[str, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` in spec order, then by name: the order conditions are emitted in (the same few sets every step)."""
    found = _ORDERS.get((clouds, keys))
    if found is None:
        if len(_ORDERS) >= _ORDERS_MAX:
            _ORDERS.clear()
        found = _ORDERS[(clouds, keys)] = tuple(sorted(keys, key=lambda c: (spec_order(clouds, c), c)))
    return found


def judge(name: str, target: DatastoreTarget, old: DatastoreState, primary: str | None, newest: int,
          history: tuple[tuple[float, int], ...], latest: Latest, view: ReplicationView, actions: list[Action],
          wakeups: list[float]) -> DatastoreState:
    """The merged datastore's stalls and RPO breach, against what the memory held (level-triggered)."""
    now_s = view.now_s
    after = max(view.params.stall_after_s, target.sync_rpo_s)
    was = old.copies
    # The merged copies in the memory's order, new ones after it as first reported.
    keys = tuple(was)
    if not latest.keys() <= was.keys():
        keys += tuple(c for c in latest if c not in was)
    # The copy whose cloud `exposure_s` leaves out by default (no primary: none).
    excluded = primary if primary else None
    survivor: int | None = None
    copies: dict[str, CopyState] = {}
    set_position, set_advance, set_stalled = SET_COPY
    for cloud in _spec_sorted(view.clouds, keys):
        news = latest.get(cloud)
        before = was.get(cloud)
        if news is None:
            assert before is not None
            position, last_advance, received = before.position, before.last_advance_s, before.received
        else:
            position, last_advance, received = news
        was_stalled = before.stalled if before is not None else False
        holder = position.cloud
        lacking = holder != primary and received < newest
        stalled = lacking and now_s - last_advance >= after
        if stalled != was_stalled:
            if stalled:
                event = "replication-stalled"
                why = (f"{cloud} received nothing for {now_s - last_advance:g} s "
                       f"(>= {after:g} s) while {primary} is {newest - received} ahead")
            else:
                event, why = "replication-resumed", f"{cloud} is receiving from {primary} again"
            actions.append(Condition(f"{name}/{cloud}", event, why))
        elif lacking and not stalled:
            wakeups.append(last_advance + after - now_s)
        if news is None and stalled == was_stalled and before is not None:
            copies[cloud] = before
        else:
            # CopyState(position, ...) slot by slot, the setters read once per datastore rather than per copy.
            copy = copies[cloud] = _new_copy(CopyState)
            set_position(copy, position)
            set_advance(copy, last_advance)
            set_stalled(copy, stalled)
        # The best survivor holds the most received (`best_survivor`); only that decides the exposure.
        if position.reachable and holder != excluded and (survivor is None or received > survivor):
            survivor = received
    breached = False
    if primary is not None and len(copies) > 1:
        breached = _breach(target, math.inf if survivor is None else position_gap_s(target, newest, history, survivor))
    if breached != old.breached:
        # Judged on the merged copies in the order they merged (it names the best survivor).
        merged = DatastoreState(target, primary, newest, history, {c: copies[c] for c in keys})
        actions.append(_breach_condition(name, ReplicationState(now_s, view.clouds, {name: merged}), target, breached))
    return DatastoreState(target, primary, newest, history, copies, breached)


def _breach_condition(name: str, state: ReplicationState, target: DatastoreTarget, breached: bool) -> Condition:
    exposure = state.exposure_s(name)
    gap = state.exposure_pos(name)
    primary = state.primary(name)
    survivor = state.best_survivor(name, {primary} if primary else ())
    shown = "all writes (no reachable copy outside the primary's cloud)" if gap is None else (
        f"{exposure:.6g} s ({gap} behind {primary}, best survivor {survivor})")
    if breached:
        sync = "synchronous: a write must reach a second cloud before it is acknowledged; " if target.rpo_target_s == 0 else ""
        return Condition(name, "rpo-breach", f"{sync}losing {primary} now would lose {shown}; target {target.target_reason}")
    return Condition(name, "rpo-met", f"exposure {shown} is within target {target.target_reason}")
