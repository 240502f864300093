"""What the replication watch knows, per datastore and copy, and the query API the failover orchestrator
and the incident engine read (`ReplicationState`): survivors, exposure, lag, stalls.

Gaps between positions are turned into seconds from the primary's acked history (sql, stream) or read
directly (object: positions are ms).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from godseye.control.observations import ReplicaPosition
from godseye.control.replication_model import DatastoreTarget

MS_PER_S = 1000.0


@dataclass(frozen=True, slots=True)
class CopyState:
    """One copy of a datastore as last reported, plus when its received position last moved."""

    position: ReplicaPosition
    last_advance_s: float
    stalled: bool = False

    @property
    def cloud(self) -> str:
        return self.position.cloud

    @property
    def received(self) -> int:
        # A copy has received at least what it replayed, whatever a driver reports.
        return max(self.position.received_pos, self.position.replayed_pos)


# CopyState(position, last_advance_s, stalled), a copy per copy and step: `replication_judge` builds
# them by setting the slots directly, as `replication_columns` builds positions (a frozen dataclass's
# __init__ costs twice as much).
SET_COPY = tuple(getattr(CopyState, f.name).__set__ for f in fields(CopyState))
assert tuple(f.name for f in fields(CopyState)) == CopyState.__slots__ == ("position", "last_advance_s", "stalled")


@dataclass(frozen=True, slots=True)
class DatastoreState:
    target: DatastoreTarget
    primary: str | None
    newest_acked: int
    # (t_s, acked_pos) of the primary, oldest first, bounded by ReplicationParams.
    acked_history: tuple[tuple[float, int], ...]
    copies: Mapping[str, CopyState]
    breached: bool = False


@dataclass(frozen=True, slots=True)
class ReplicaStall:
    """A replica not receiving what its primary holds: the incident engine's partition signal."""

    datastore: str
    primary_cloud: str
    replica_cloud: str
    since_s: float
    tier: int


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    datastore: str
    cloud: str
    role: str
    reachable: bool
    lag_pos: int  # newest acked - replayed (bytes for sql, offsets for stream, ms for object)
    lag_s: float
    exposure_pos: int  # newest acked - received
    exposure_s: float
    caught_up: bool
    stalled: bool


@dataclass(frozen=True, slots=True)
class ReplicationState:
    """The query API the failover orchestrator and the incident engine read."""

    now_s: float = 0.0
    clouds: tuple[str, ...] = ()
    datastores: Mapping[str, DatastoreState] = field(default_factory=dict)

    def newest_acked(self, datastore: str) -> int:
        """Newest position the primary acknowledged to clients (kept when the primary goes silent)."""
        return self.datastores[datastore].newest_acked

    def primary(self, datastore: str) -> str | None:
        return self.datastores[datastore].primary

    def best_survivor(self, datastore: str, excluding_clouds: Iterable[str] = ()) -> str | None:
        """Reachable copy outside `excluding_clouds` holding the most: received, then replayed, then spec order."""
        ds = self.datastores[datastore]
        excluded = set(excluding_clouds)
        candidates = [c for c in ds.copies.values() if c.cloud not in excluded and c.position.reachable]
        if not candidates:
            return None
        best = max(candidates, key=lambda c: (c.received, c.position.replayed_pos, -self._order(c.cloud)))
        return best.cloud

    def caught_up(self, datastore: str, cloud: str) -> bool:
        """The copy in `cloud` has replayed everything the primary acknowledged (safe to promote)."""
        ds = self.datastores[datastore]
        copy = ds.copies.get(cloud)
        return copy is not None and copy.position.replayed_pos >= ds.newest_acked

    def exposure_s(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> float:
        """Seconds of acknowledged writes lost if `excluding_clouds` (default: the primary's cloud) died now.

        math.inf when no reachable copy would survive.
        """
        ds = self.datastores[datastore]
        excluded = set(excluding_clouds) if excluding_clouds is not None else ({ds.primary} if ds.primary else set())
        survivor = self.best_survivor(datastore, excluded)
        if survivor is None:
            return math.inf
        return self.replica_exposure_s(datastore, survivor)

    def exposure_pos(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> int | None:
        """Position gap behind `exposure_s`; None when no reachable copy would survive."""
        ds = self.datastores[datastore]
        excluded = set(excluding_clouds) if excluding_clouds is not None else ({ds.primary} if ds.primary else set())
        survivor = self.best_survivor(datastore, excluded)
        if survivor is None:
            return None
        return max(0, ds.newest_acked - ds.copies[survivor].received)

    def replica_exposure_s(self, datastore: str, cloud: str) -> float:
        """Seconds of acknowledged writes the copy in `cloud` has not received."""
        ds = self.datastores[datastore]
        return _gap_s(ds, ds.copies[cloud].received)

    def replica_lag_s(self, datastore: str, cloud: str) -> float:
        ds = self.datastores[datastore]
        return _gap_s(ds, ds.copies[cloud].position.replayed_pos)

    def breached(self, datastore: str) -> bool:
        return self.datastores[datastore].breached

    def lags(self, datastore: str) -> tuple[ReplicaLag, ...]:
        ds = self.datastores[datastore]
        out = []
        for cloud in sorted(ds.copies, key=self._order):
            c = ds.copies[cloud]
            out.append(
                ReplicaLag(
                    datastore=datastore,
                    cloud=cloud,
                    role=c.position.role,
                    reachable=c.position.reachable,
                    lag_pos=max(0, ds.newest_acked - c.position.replayed_pos),
                    lag_s=_gap_s(ds, c.position.replayed_pos),
                    exposure_pos=max(0, ds.newest_acked - c.received),
                    exposure_s=_gap_s(ds, c.received),
                    # An asynchronous copy is never exactly level while writes flow: within its
                    # datastore's RPO target counts as caught up (a target of 0 still needs level).
                    caught_up=c.position.replayed_pos >= ds.newest_acked
                    or _gap_s(ds, c.position.replayed_pos) <= ds.target.rpo_target_s,
                    stalled=c.stalled,
                )
            )
        return tuple(out)

    def stalls(self) -> tuple[ReplicaStall, ...]:
        out = []
        for name in sorted(self.datastores):
            ds = self.datastores[name]
            for cloud in sorted(ds.copies, key=self._order):
                c = ds.copies[cloud]
                if c.stalled and ds.primary is not None:
                    out.append(ReplicaStall(name, ds.primary, cloud, c.last_advance_s, ds.target.tier))
        return tuple(out)

    def _order(self, cloud: str) -> int:
        return spec_order(self.clouds, cloud)


@dataclass(frozen=True, slots=True)
class ReplicationMemory:
    state: ReplicationState = ReplicationState()


def spec_order(clouds: tuple[str, ...], cloud: str) -> int:
    return clouds.index(cloud) if cloud in clouds else len(clouds)


def _gap_s(ds: DatastoreState, pos: int) -> float:
    return position_gap_s(ds.target, ds.newest_acked, ds.acked_history, pos)


def position_gap_s(target: DatastoreTarget, newest: int, history: tuple[tuple[float, int], ...], pos: int) -> float:
    if pos >= newest:
        return 0.0
    if target.kind == "object":
        return (newest - pos) / MS_PER_S
    if not history:
        return 0.0
    # Both positions' times from one scan: the first sample at or beyond `pos` comes no later than
    # the first at or beyond `newest` (pos < newest), so the second search starts where the first ended.
    n = len(history)
    i = 0
    while i < n and not history[i][1] >= pos:
        i += 1
    j = i if pos < newest else 0
    while j < n and not history[j][1] >= newest:
        j += 1
    return max(0.0, _time_at_index(history, target, newest, j) - _time_at_index(history, target, pos, i))


def _time_at_index(history: tuple[tuple[float, int], ...], target: DatastoreTarget, pos: int, i: int) -> float:
    """Estimated time at which the primary acknowledged position `pos` (linear between samples), in a
    non-empty history whose first sample at or beyond `pos` is i (len(history): none is).

    Before the kept history, extrapolate with the history's write rate, else the spec's; with
    neither (an idle stream), the oldest kept sample is the estimate, a lower bound on the gap.
    """
    if i == len(history):
        return history[-1][0]  # beyond what was acknowledged: treat as the newest sample
    if i:
        t0, a0 = history[i - 1]
        t, acked = history[i]
        return t0 + (pos - a0) / (acked - a0) * (t - t0)
    t_first, a_first = history[0]
    t_last, a_last = history[-1]
    rate = (a_last - a_first) / (t_last - t_first) if t_last > t_first and a_last > a_first else target.write_pos_per_s
    if rate <= 0:
        return t_first
    return t_first - (a_first - pos) / rate
