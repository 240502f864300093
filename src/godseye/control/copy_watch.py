"""The plane's eye on datastore copies between steps: when the replication watch should run next.

Mirrors the watch's own stall rule (`replication_judge.judge`): a copy that is not the primary and holds
less than the primary acknowledged stalls `stall_after_s` after it last received anything. Only for
scheduling the next step; every decision stays the watch's.

A twin polls every copy every few seconds and asks for the next wake-up after each poll, so a poll
of the usual layout (every copy the watch knows, in one fixed column order, newer than every report
seen) is taken a column at a time; anything else goes copy by copy, with the same outcome.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import add, ge, itemgetter
from typing import Any

from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.control.replication import ReplicationParams, ReplicationState

_Key = tuple[str, str]  # (datastore, cloud)


def _none(column: Sequence[Any]) -> tuple[Any, ...]:
    return ()


def _getter(slots: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values at `slots` of a column, as a tuple (itemgetter's, which gives a bare value for one slot)."""
    if len(slots) > 1:
        return itemgetter(*slots)
    if slots:
        (slot,) = slots
        return lambda column: (column[slot],)
    return _none


class CopyWatch:
    """Each copy as the replication watch last judged it, and what positions observed since say."""

    def __init__(self) -> None:
        # Slots, one per copy ever seen, never reused: the lists below are indexed by slot.
        self._slots: dict[_Key, int] = {}
        self._present: list[bool] = []  # in the watch's memory as of its last run
        # Received (counting replayed), the most any report said; a poll's own column while no copy went back.
        self._received: list[int] | tuple[int, ...] = []
        self._advanced: list[float] = []  # when received last grew
        self._seen: list[float] = []  # time of the newest report taken
        self._after: list[float] = []  # stall after s of the copy's datastore
        self._trailing: list[bool] | tuple[bool, ...] = []  # not the primary and lacking acknowledged writes
        self._stalled: list[bool] = []
        # The level the watch judged each copy at (received >= newest acked, reachable, role): a report
        # at another level can change its decisions, so it runs at once.
        self._level_ge: list[bool] = []  # a list: a poll's levels compare quicker built as one
        self._level_reachable: tuple[bool, ...] = ()
        self._level_role: tuple[str, ...] = ()
        self._level_trailing: tuple[bool, ...] = ()  # trailing, for a report at the judged level
        self._stalled_slots: tuple[int, ...] = ()
        self._all_present = False
        self._newest_seen = -math.inf
        self._urgent: float | None = None
        # The earliest stall deadline, recomputed on demand after reports moved it.
        self._deadline: float | None = None
        self._dirty = False
        # The copies whose deadlines count while every copy is at its judged level (trailing, not
        # stalled): their slots, a getter of their values from a slot-ordered column, their stall after s.
        self._watched: tuple[int, ...] = ()
        self._watched_of: Callable[[Sequence[Any]], tuple[Any, ...]] = _none
        self._watched_after: tuple[float, ...] = ()
        # Their last advances, ahead of `_advanced` while `_compact`: a poll at the judged level updates
        # only these (no other copy's advance can matter before the watch runs again: any other copy
        # that starts to trail is at another level, which wakes the plane at once).
        self._watched_advanced: list[float] = []
        self._watched_received: tuple[int, ...] = ()  # likewise their received (the running most)
        self._compact = False
        # The last column layout (datastores, clouds, slot count) whose columns were every slot in slot order.
        self._aligned: tuple[tuple[str, ...], tuple[str, ...], int] | None = None

    def _slot(self, key: _Key) -> int:
        """The copy's slot, a new one (not in the watch's memory) on first sight."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = len(self._slots)
            self._present.append(False)
            self._stalled.append(False)
            self._received = [*self._received, 0]
            self._advanced.append(-math.inf)
            self._seen.append(-math.inf)
            self._after.append(-math.inf)
            self._trailing = [*self._trailing, False]
            self._all_present = False
        return slot

    def reset(self, state: ReplicationState, params: ReplicationParams) -> None:
        """Take the watch's judgement after its run: every copy's level, stall and deadline as it saw them."""
        slots = self._slots
        for name, ds in state.datastores.items():
            for cloud in ds.copies:
                if (name, cloud) not in slots:
                    self._slot((name, cloud))
        n = len(slots)
        present, stalled, received, advanced, seen, after = [False] * n, [False] * n, [0] * n, [-math.inf] * n, \
            [-math.inf] * n, [-math.inf] * n
        trailing, level_ge, level_reachable, level_role, level_trailing = [False] * n, [False] * n, [False] * n, \
            [""] * n, [False] * n
        stalled_slots: list[int] = []
        watched: list[int] = []
        watched_after: list[float] = []
        for name, ds in state.datastores.items():
            newest, primary = ds.newest_acked, ds.primary
            stall_after = max(params.stall_after_s, ds.target.sync_rpo_s)
            for cloud, copy in ds.copies.items():
                s = slots[(name, cloud)]
                position = copy.position
                got, replayed = position.received_pos, position.replayed_pos
                got = replayed if replayed > got else got  # CopyState.received
                present[s] = True
                received[s] = got
                advanced[s] = copy.last_advance_s
                seen[s] = position.t_s
                after[s] = stall_after
                level = got >= newest
                level_ge[s] = level
                level_reachable[s] = position.reachable
                role = level_role[s] = position.role
                trailing[s] = cloud != primary and not level
                # What a report at this level would make of it (`_copy`): trailing by its role.
                at_level = level_trailing[s] = role != "primary" and not level
                if copy.stalled:
                    stalled[s] = True
                    stalled_slots.append(s)
                elif at_level:
                    watched.append(s)
                    watched_after.append(stall_after)
        self._present, self._stalled, self._received, self._advanced, self._seen, self._after = (
            present, stalled, received, advanced, seen, after)
        self._trailing = trailing
        self._level_ge, self._level_reachable, self._level_role = level_ge, tuple(level_reachable), tuple(level_role)
        self._level_trailing = tuple(level_trailing)
        self._stalled_slots = tuple(stalled_slots)
        self._all_present = all(present)
        self._newest_seen = max(seen, default=-math.inf)
        self._urgent = None
        self._dirty = True
        self._watched = tuple(watched)
        self._watched_of = _getter(self._watched)
        self._watched_after = tuple(watched_after)
        self._compact = False

    def observe(self, pos: ReplicaPosition) -> None:
        self._copy(pos.t_s, pos.datastore, pos.cloud, pos.role, pos.acked_pos, max(pos.received_pos, pos.replayed_pos),
                   pos.reachable)

    def observe_many(self, batch: ReplicaPositions) -> None:
        t = batch.t_s
        if self._all_present and t > self._newest_seen and self._is_aligned(batch):
            self._poll(t, batch)
            return
        for name, cloud, role, acked, received, replayed, reachable in zip(
                batch.datastores, batch.clouds, batch.roles, batch.acked_pos, batch.received_pos, batch.replayed_pos,
                batch.reachable, strict=True):
            self._copy(t, name, cloud, role, acked, max(received, replayed), reachable)

    def _is_aligned(self, batch: ReplicaPositions) -> bool:
        """Whether the batch's columns are every copy the watch knows, once each, in slot order."""
        n = len(self._received)
        if not (len(batch.clouds) == len(batch.datastores) == len(batch.roles) == len(batch.acked_pos)
                == len(batch.received_pos) == len(batch.replayed_pos) == len(batch.reachable) == n):
            return False  # copy by copy: a malformed batch fails there as it always did
        last = self._aligned
        if last is not None and batch.datastores is last[0] and batch.clouds is last[1] and n == last[2]:
            return True  # a twin's polls share their column tuples
        slots = self._slots
        if [slots.get(key) for key in zip(batch.datastores, batch.clouds, strict=True)] != list(range(n)):
            return False
        # Kept with the count: a layout that was every copy is no longer so once another copy appears.
        self._aligned = (batch.datastores, batch.clouds, n)
        return True

    def _poll(self, t: float, batch: ReplicaPositions) -> None:
        """Every copy's report at once: what `_copy` does for each, a column at a time."""
        got = batch.received_pos
        if batch.replayed_pos is not got:
            got = tuple(map(max, got, batch.replayed_pos))
        at_level = list(map(ge, got, batch.acked_pos)) == self._level_ge and batch.roles == self._level_role
        if at_level and self._urgent is None and not self._stalled_slots and batch.reachable == self._level_reachable:
            self._steady_poll(t, got)
            return
        before = self._received
        for s in self._stalled_slots:
            if got[s] > before[s]:
                self.urge(t)  # a stalled copy receives again
                break
        self._sync()
        before = self._received
        # The newest received only grows: a report of less is no advance, and the next is judged against the most.
        self._received = got if all(map(ge, got, before)) else list(map(max, got, before))
        self._seen = [t] * len(got)
        self._newest_seen = t
        if not at_level or batch.reachable != self._level_reachable:
            self.urge(t)
        self._advanced = [t if now > was else at for now, was, at in zip(got, before, self._advanced, strict=True)]
        self._trailing = self._level_trailing if at_level else [
            role != "primary" and now < acked for role, now, acked in zip(batch.roles, got, batch.acked_pos, strict=True)]
        self._dirty = True

    def _steady_poll(self, t: float, got: tuple[int, ...]) -> None:
        """A poll at the judged level, nothing urgent, no copy stalled: only the watched copies count.

        The same copies trail as when the watch ran, so their earliest deadline is the answer the
        driver asks for next. No other copy's received or advance can matter before the watch runs
        again: one at its judged level does not trail (else it would be watched or stalled), and one
        that leaves it wakes the plane at once, after which only earlier reports count. So the poll's
        column stands for every copy's received, the watched ones' running most kept aside (`_sync`).
        """
        of = self._watched_of
        now_got = of(got)
        last_got: Sequence[int]
        was: Sequence[float]
        if self._compact:
            last_got, was = self._watched_received, self._watched_advanced
        else:
            last_got, was = of(self._received), of(self._advanced)
        advanced = [t if now > last else at for now, last, at in zip(now_got, last_got, was, strict=True)]
        self._watched_received = now_got if all(map(ge, now_got, last_got)) else tuple(map(max, now_got, last_got))
        self._watched_advanced, self._compact = advanced, True
        self._received = got
        self._seen = [t] * len(got)
        self._newest_seen = t
        self._trailing = self._level_trailing
        self._deadline = min(map(add, advanced, self._watched_after)) if advanced else None
        self._dirty = False

    def _sync(self) -> None:
        """Bring `_received` and `_advanced` up to the watched copies' own (see `_steady_poll`)."""
        if self._compact:
            received, advanced = list(self._received), self._advanced
            for s, got, at in zip(self._watched, self._watched_received, self._watched_advanced, strict=True):
                received[s], advanced[s] = got, at
            self._received = received
            self._compact = False

    def _copy(self, t_s: float, datastore: str, cloud: str, role: str, acked: int, received: int, reachable: bool) -> None:
        s = self._slot((datastore, cloud))
        if not self._present[s]:
            self.urge(t_s)  # a copy the watch has not seen yet
            return
        if t_s <= self._seen[s]:
            return
        self._sync()
        self._seen[s] = t_s
        if t_s > self._newest_seen:
            self._newest_seen = t_s
        if received > self._received[s]:
            got = self._received
            if isinstance(got, tuple):  # a poll's column: written on a copy
                got = list(got)
                self._received = got
            got[s], self._advanced[s] = received, t_s
            if self._stalled[s]:
                self.urge(t_s)  # a stalled copy receives again
        if (received >= acked, reachable, role) != (self._level_ge[s], self._level_reachable[s], self._level_role[s]):
            self.urge(t_s)
        trailing = self._trailing
        if isinstance(trailing, tuple):  # the judged level's, shared: written on a copy
            trailing = list(trailing)
            self._trailing = trailing
        trailing[s] = role != "primary" and received < acked
        self._dirty = True

    def urge(self, t_s: float) -> None:
        self._urgent = t_s if self._urgent is None else min(self._urgent, t_s)

    def deadline_s(self) -> float | None:
        """When the watch should run next: at once (the first telling report's time) or the earliest stall deadline."""
        if self._urgent is not None:
            return self._urgent
        if self._dirty:
            self._dirty = False
            self._deadline = self._earliest()
        return self._deadline

    def _earliest(self) -> float | None:
        self._sync()
        present, stalled, advanced, after_s = self._present, self._stalled, self._advanced, self._after
        return min((advanced[s] + after_s[s] for s, trailing in enumerate(self._trailing)
                    if trailing and present[s] and not stalled[s]), default=None)
