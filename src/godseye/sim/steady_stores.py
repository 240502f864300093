"""The data model's fast path for the replication polls (a poll every 5 s is hot).

Most steps leave most stores steady: primary up, no election, writes not held. `PositionColumns.group`
sorts the stores once per fault state into steady ones, by mode, with every test the general step
(`DataModel._step`) would make already answered, and the rest, which take the general step.
`PositionColumns.advance` is that general step for the steady stores, exact to the float, and keeps
the integer position columns the polls read current as it goes (`PositionColumns.read`).
`CopyLayout` is what `sensors.replication` derives from the primaries alone, kept on the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from godseye.sim.faults import FaultState

if TYPE_CHECKING:
    from godseye.sim.data_model import Store

@dataclass(slots=True)
class CopyLayout:
    """What sensors.replication derives from the primaries alone, so that a poll only reads positions:
    the columns naming every copy (store by store, clouds in order)."""

    promotions: int  # DataModel.promotions it was built at
    names: tuple[str, ...]
    clouds: tuple[str, ...]
    roles: tuple[Literal["primary", "replica"], ...]
    # Spreads per-store values to every copy of the store (an operator.itemgetter).
    spread: Callable[[list[int]], Any]
    # The reachable column for one fault state: (fault state, its version, column).
    reachable: tuple[FaultState | None, int, tuple[bool, ...]] = (None, -1, ())


@dataclass(frozen=True, slots=True)
class SteadyStores:
    """The stores a fault state leaves steady (primary up, no election, writes not held), grouped by
    mode with the copies their primary ships to; the rest take the general step. Valid for one fault
    state while no primary, election or hold changes. Slots are indices in the position columns."""

    faults: FaultState
    version: int
    # (store, its index, writing: a majority is linked, primary slot, linked copies with their slots)
    sync: list[tuple[Store, int, bool, int, list[tuple[str, int]]]]
    # (store, its index, primary slot, linked copies with their slots, cut-off copies)
    async_: list[tuple[Store, int, int, list[tuple[str, int]], list[str]]]
    batch: list[tuple[Store, list[tuple[str, int]]]]  # (store, linked copies with their slots)
    general: list[Store]


class PositionColumns:
    """`DataModel.positions` of every store's acked (store order) and every copy's received (store by
    store, clouds in order), as ints: the steady step keeps them current, converting only what moved;
    anything else marks them `stale` and the next read redoes them all."""

    __slots__ = ("acked", "batch_slots", "batch_window_s", "first_slot", "held", "mb", "stale")

    def __init__(self, stores: list[Store], batch_window_s: float, mb: int) -> None:
        # The model's batch window and bytes per MB (`data_model`'s, which imports this module).
        self.batch_window_s, self.mb = batch_window_s, mb
        self.first_slot = [0] * len(stores)
        for i in range(1, len(stores)):
            self.first_slot[i] = self.first_slot[i - 1] + len(stores[i - 1].clouds)
        self.acked = [0] * len(stores)
        self.held = [0] * sum(len(st.clouds) for st in stores)
        self.stale = True
        self.batch_slots: list[tuple[int, int]] = []  # (store index, primary slot): positions in ms of now

    def group(self, stores: list[Store], faults: FaultState) -> SteadyStores:
        """The stores `faults` leaves steady, with the slots of their copies; the rest in `general`."""
        plan = SteadyStores(faults, faults.version, [], [], [], [])
        for i, st in enumerate(stores):
            if st.held or st.election_until_s is not None or not faults.cloud_up(st.primary):
                plan.general.append(st)
                continue
            st.frozen_lag_s = {}  # what the general step does first for a store whose primary is up
            links = st.links(faults)
            slot = {c: k for k, c in enumerate(st.clouds, self.first_slot[i])}
            linked = [c for c in st.clouds if c != st.primary and links[c]]
            if st.mode == "sync":
                majority = sum(links.values()) * 2 > len(st.clouds)
                plan.sync.append((st, i, majority, slot[st.primary], [(c, slot[c]) for c in linked]))
            elif st.mode == "async":
                cut = [c for c in st.clouds if c != st.primary and not links[c]]
                plan.async_.append((st, i, slot[st.primary], [(c, slot[c]) for c in linked], cut))
            else:
                plan.batch.append((st, [(c, slot[c]) for c in linked]))
        return plan

    def advance(self, plan: SteadyStores, dt: float, t1: float) -> None:
        """The steady stores of `plan` over [t1 - dt, t1): `Store.writable` and the general step with every
        test already answered, and the columns of what moved (received bytes are max(0.0, v) as a
        comparison, NaN included)."""
        acked_pos, held_pos, mb, batch_s = self.acked, self.held, self.mb, self.batch_window_s
        for st, i, writing, slot, linked_at in plan.sync:
            if writing:
                st.acked_mb += st.rate_mb_s * dt
            acked, sync_received = st.acked_mb, st.sync_received_mb
            acked_pos[i] = held_pos[slot] = a = int(acked * mb)
            r = a if acked > 0.0 else 0
            for c, k in linked_at:
                sync_received[c] = acked
                held_pos[k] = r
        for st, i, slot, linked_at, cut in plan.async_:
            inflow = st.rate_mb_s * dt
            st.acked_mb += inflow
            acked = st.acked_mb
            acked_pos[i] = held_pos[slot] = int(acked * mb)
            cap = st.in_flight_cap_mb
            in_flight = cap if cap < acked else acked  # min(acked, cap)
            full_drain = st.replication_mb_s * dt
            backlog, received = st.backlog_mb, st.received_mb
            # The usual case: the link keeps up and has no backlog, which then stays 0.0, and every
            # such copy is offered the same position (acked - 0.0 is acked).
            keeps_up = inflow <= full_drain
            level = acked - in_flight
            level_pos = int(level * mb) if level > 0.0 else 0
            for c, k in linked_at:
                if keeps_up and backlog[c] == 0.0:
                    if level > received[c]:
                        received[c] = level
                        held_pos[k] = level_pos
                    continue
                b = backlog[c] + inflow - full_drain
                b = b if b > 0.0 else 0.0  # max(0.0, b), NaN included
                backlog[c] = b
                held = acked - b - in_flight
                if held > received[c]:
                    received[c] = held
                    held_pos[k] = int(held * mb) if held > 0.0 else 0
            for c in cut:
                b = backlog[c] + inflow
                backlog[c] = b if b > 0.0 else 0.0
        for st, synced_at in plan.batch:
            st.acked_mb += st.rate_mb_s * dt
            # DataModel._last_window, inlined.
            phase = st.batch_phase_s
            boundary = phase + (t1 - phase) // batch_s * batch_s
            window = boundary - batch_s if t1 < boundary + st.transfer_s else boundary
            synced = st.synced_at_s
            for c, k in synced_at:
                if window > synced[c]:  # max(synced, window)
                    synced[c] = window
                    held_pos[k] = int(window * 1000)

    def read(self, stores: list[Store], now: float) -> tuple[list[int], list[int]]:
        """The columns at `now`, redone first when stale. The lists are the columns' own."""
        acked_pos, held_pos, mb = self.acked, self.held, self.mb
        if self.stale:
            self.stale = False
            self.batch_slots = []
            for i, st in enumerate(stores):
                copies = list(enumerate(st.clouds, self.first_slot[i]))
                if st.mode == "batch":  # the primary's positions are now's, filled in below
                    for k, c in copies:
                        if c == st.primary:
                            self.batch_slots.append((i, k))
                        else:
                            held_pos[k] = int(st.synced_at_s[c] * 1000)
                    continue
                acked_pos[i] = a = int(st.acked_mb * mb)
                received = st.sync_received_mb if st.mode == "sync" else st.received_mb
                for k, c in copies:
                    held_pos[k] = a if c == st.primary else int(max(0.0, received[c]) * mb)
        now_ms = int(now * 1000)
        for i, k in self.batch_slots:
            acked_pos[i] = held_pos[k] = now_ms
        return acked_pos, held_pos
