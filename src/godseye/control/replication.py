"""Replication watch: lag, RPO exposure, RPO target breaches and stalls, per datastore and replica.

Rules (the seed's "Cross-Cloud Data Sync" box and its tier table):

- Positions only grow. For sql they are WAL bytes, for streams offsets, for objects the time in ms up
  to which objects are synced. The primary's `acked_pos` is the newest write acknowledged to clients.
- Lag of a copy: newest acked minus what the copy has *replayed* (what it can serve now).
- Exposure: what would be lost if the primary's cloud died now: newest acked minus what the best
  surviving copy has *received* (a promoted copy replays everything it received). Positions are exact;
  seconds are estimated from the primary's acked history (sql, stream) or read directly (object).
- Target of a datastore: the lower of its tier's RPO (the tier of the most critical service using it)
  and the sync box's bound for its kind (sql < 1 s, stream < 5 s, object < 15 min). A target of 0 is
  synchronous replication: any exposure at all is a breach. A positive target is a strict "<".
- Stall: a copy whose received position has not moved for `stall_after_s` (or the sync box's bound
  for its kind, if longer: object sync runs in batches) while the primary holds writes it lacks.
  The incident engine reads stalls to recognise network partitions.
- Level-triggered: conditions are emitted only when a breach, a stall or its end is first seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from godseye.control.actions import Action, Condition
from godseye.control.decision import Decision
from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.control.replication_columns import Columns, Latest, fold, polls_of
from godseye.policy.data_sync import SYNC_BOX_RPO_S
from godseye.policy.tiers import datastore_tiers, tier_table
from godseye.spec.models import DatastoreKind, Platform

# The seed's Cross-Cloud Data Sync box: the RPO each replication mechanism promises.

BYTES_PER_MB = 1_000_000
MS_PER_S = 1000.0


@dataclass(frozen=True, slots=True)
class DatastoreTarget:
    """What a datastore must achieve: desired state for the watch, derived from the spec."""

    name: str
    kind: DatastoreKind
    tier: int
    rpo_target_s: float
    # Spec's average write volume in position units per second: used to turn a position gap into
    # seconds when no write has been observed yet (sql only: stream offsets and object times have
    # no byte size).
    write_pos_per_s: float
    # Which rule set the target, for the timeline ("tier 1 RPO 0" or "sync box sql < 1 s").
    target_reason: str
    # The sync box's bound for this kind. A batch mechanism (object sync) legitimately receives
    # nothing for up to this long, so a stall is only declared after the longer of it and stall_after_s.
    sync_rpo_s: float = 0.0


def targets_from_platform(
    platform: Platform, sync_box_rpo_s: Mapping[str, float] = SYNC_BOX_RPO_S
) -> dict[str, DatastoreTarget]:
    """Each datastore's RPO target: min(tier RPO, sync box bound for its kind)."""
    table = tier_table(platform)
    tiers = datastore_tiers(platform)
    out: dict[str, DatastoreTarget] = {}
    for name, store in platform.datastores.items():
        tier = tiers[name]
        tier_rpo = table[tier].rpo_s
        box = sync_box_rpo_s[store.kind]
        if tier_rpo <= box:
            target, why = tier_rpo, f"tier {tier} RPO {_fmt_s(tier_rpo)}"
        else:
            target, why = box, f"sync box {store.kind} RPO < {_fmt_s(box)}"
        rate = store.write_mb_s * BYTES_PER_MB if store.kind == "sql" else 0.0
        out[name] = DatastoreTarget(name, store.kind, tier, target, rate, why, box)
    return out


@dataclass(frozen=True, slots=True)
class ReplicationParams:
    # No received progress for this long while the primary is ahead = stalled. The seed marks a cloud
    # unhealthy 10 s after it fails (3 consecutive checks); a stall is declared on the same scale.
    stall_after_s: float = 10.0
    # How far back the primary's acked positions are kept to turn gaps into seconds. It must exceed
    # the largest position-based target (stream, 5 s) by a wide margin; older gaps are extrapolated.
    history_s: float = 60.0
    # Hard cap on kept samples per datastore, whatever the sampling rate.
    history_max: int = 256

    def __post_init__(self) -> None:
        for name in ("stall_after_s", "history_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive finite number of seconds (got {value})")
        if self.history_max < 2:
            raise ValueError(f"history_max must be at least 2 (got {self.history_max})")


@dataclass(frozen=True, slots=True)
class ReplicationView:
    now_s: float
    targets: Mapping[str, DatastoreTarget]
    # Latest report per (datastore, cloud); older or repeated reports are ignored, so a driver may
    # hand in everything it has. A `ReplicaPositions` counts as its copies' reports, in its place.
    positions: tuple[ReplicaPosition | ReplicaPositions, ...]
    # Spec order of clouds: breaks ties between equally good survivors deterministically.
    clouds: tuple[str, ...]
    params: ReplicationParams = ReplicationParams()


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


# CopyState(position, last_advance_s, stalled), a copy per copy and step: built by setting its slots
# directly, as `replication_columns` builds positions (a frozen dataclass's __init__ costs twice as much).
_SET_COPY = tuple(getattr(CopyState, f.name).__set__ for f in fields(CopyState))
assert tuple(f.name for f in fields(CopyState)) == CopyState.__slots__ == ("position", "last_advance_s", "stalled")


def _copy_state(position: ReplicaPosition, last_advance_s: float, stalled: bool) -> CopyState:
    copy: CopyState = object.__new__(CopyState)
    set_position, set_advance, set_stalled = _SET_COPY
    set_position(copy, position)
    set_advance(copy, last_advance_s)
    set_stalled(copy, stalled)
    return copy


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
        return _spec_order(self.clouds, cloud)


@dataclass(frozen=True, slots=True)
class ReplicationMemory:
    state: ReplicationState = ReplicationState()


def _spec_order(clouds: tuple[str, ...], cloud: str) -> int:
    return clouds.index(cloud) if cloud in clouds else len(clouds)


def _fmt_s(value: float) -> str:
    return f"{value:g} s"


def _time_at(ds: DatastoreState, pos: int) -> float | None:
    """Estimated time at which the primary acknowledged position `pos` (linear between samples).

    Before the kept history, extrapolate with the history's write rate, else the spec's; with
    neither (an idle stream), the oldest kept sample is the estimate, a lower bound on the gap.
    None only when the primary never reported.
    """
    return _time_in(ds.acked_history, ds.target, pos)


def _time_in(history: tuple[tuple[float, int], ...], target: DatastoreTarget, pos: int) -> float | None:
    if not history:
        return None
    for i, (t, acked) in enumerate(history):
        if acked >= pos:
            if i == 0:
                break
            t0, a0 = history[i - 1]
            return t0 + (pos - a0) / (acked - a0) * (t - t0)
        if i == len(history) - 1:
            return t  # beyond what was acknowledged: treat as the newest sample
    t_first, a_first = history[0]
    t_last, a_last = history[-1]
    rate = (a_last - a_first) / (t_last - t_first) if t_last > t_first and a_last > a_first else target.write_pos_per_s
    if rate <= 0:
        return t_first
    return t_first - (a_first - pos) / rate


def _gap_s(ds: DatastoreState, pos: int) -> float:
    return _gap(ds.target, ds.newest_acked, ds.acked_history, pos)


def _gap(target: DatastoreTarget, newest: int, history: tuple[tuple[float, int], ...], pos: int) -> float:
    if pos >= newest:
        return 0.0
    if target.kind == "object":
        return (newest - pos) / MS_PER_S
    t_newest = _time_in(history, target, newest)
    t_pos = _time_in(history, target, pos)
    if t_newest is None or t_pos is None:
        return 0.0
    return max(0.0, t_newest - t_pos)


# One report as `_merge` reads it: (t_s, cloud, role, acked, received, reachable, source, index), where
# received already counts what was replayed and source is the `ReplicaPosition` itself (index -1) or the
# `ReplicaPositions` holding it at index. Plain tuples: only the newest one per copy becomes a
# `ReplicaPosition` in the memory. The general path: a twin's polls fold column by column instead
# (`replication_columns`).
_Report = tuple[float, str, str, int, int, bool, ReplicaPosition | ReplicaPositions, int]


def _reports(positions: Iterable[ReplicaPosition | ReplicaPositions], known: Mapping[str, object]) -> dict[str, list[_Report]]:
    """Reports by datastore (only datastores in `known`), in the order handed in."""
    by_store: dict[str, list[_Report]] = {}
    for obs in positions:
        if isinstance(obs, ReplicaPosition):
            if obs.datastore in known:
                by_store.setdefault(obs.datastore, []).append(
                    (obs.t_s, obs.cloud, obs.role, obs.acked_pos, max(obs.received_pos, obs.replayed_pos), obs.reachable,
                     obs, -1))
            continue
        t = obs.t_s
        for i, (name, cloud, role, acked, received, replayed, reachable) in enumerate(zip(
                obs.datastores, obs.clouds, obs.roles, obs.acked_pos, obs.received_pos, obs.replayed_pos, obs.reachable,
                strict=True)):
            if name in known:
                into = by_store.get(name)
                if into is None:
                    into = by_store[name] = []
                into.append((t, cloud, role, acked, received if received >= replayed else replayed, reachable, obs, i))
    return by_store


def _position(report: _Report) -> ReplicaPosition:
    source, index = report[6], report[7]
    return source if isinstance(source, ReplicaPosition) else source.position(index)


def _time_cloud(report: _Report) -> tuple[float, str]:
    return report[0], report[1]


def _merge(ds: DatastoreState, reports: list[_Report], history: list[tuple[float, int]]) -> tuple[str | None, int, Latest]:
    """The datastore's primary, newest acked (appending to `history`) and each reported copy's newest report."""
    copies = ds.copies
    primary, newest = ds.primary, ds.newest_acked
    primary_t = max((c.position.t_s for c in copies.values() if c.position.role == "primary"), default=-math.inf)
    # Per copy, the newest report taken so far: (t_s, received, last advance, report). Each report is
    # judged against the one before it, as if every report had been stored in turn; the memory gets
    # one CopyState per copy, for the last.
    latest: dict[str, tuple[float, int, float, _Report]] = {}
    for rep in sorted(reports, key=_time_cloud):
        t, cloud, role, acked, received, reachable, _, _ = rep
        seen = latest.get(cloud)
        if seen is not None:
            if t <= seen[0]:
                continue  # stale or repeated report: level-triggered, nothing new
            last_advance = t if received > seen[1] else seen[2]
        else:
            old = copies.get(cloud)
            if old is not None and t <= old.position.t_s:
                continue
            last_advance = t if old is None or received > old.received else old.last_advance_s
        latest[cloud] = (t, received, last_advance, rep)
        if role != "primary" or t < primary_t:
            continue
        if primary is not None and cloud != primary and not reachable:
            continue  # a dead cloud's last word does not take the primary role back from a live one
        primary_t = t
        if primary is not None and cloud != primary:
            # A promotion started a new history: the new primary's acknowledged positions are the
            # reference from now on (what the old one acknowledged beyond them is already lost).
            newest = acked
            history.clear()
        primary = cloud
        if acked > newest:
            newest = acked
        # Every report is kept, idle ones included, so that a gap is dated by when the primary
        # really acknowledged it rather than spread over an idle stretch.
        history.append((t, newest))
    return primary, newest, {cloud: (_position(rep), advanced, received)
                             for cloud, (_, received, advanced, rep) in latest.items()}


def _trim(history: list[tuple[float, int]], now_s: float, params: ReplicationParams) -> tuple[tuple[float, int], ...]:
    horizon = now_s - params.history_s
    # Keep the newest sample at or before the horizon so a gap just older than it still interpolates.
    drop, most = 0, len(history) - 2
    while drop < most and history[drop + 1][0] <= horizon:
        drop += 1
    return tuple(history[max(drop, len(history) - params.history_max) :])


def _breach(target: DatastoreTarget, exposure_s: float) -> bool:
    if target.rpo_target_s == 0:
        return exposure_s > 0
    return exposure_s >= target.rpo_target_s


def reconcile(view: ReplicationView, memory: ReplicationMemory) -> Decision[ReplicationMemory]:
    params = view.params
    # A twin's polls fold column by column (`replication_columns`); anything else merges report by
    # report. Both give the same memory and actions (tests/property/test_replication_paths.py).
    polls = polls_of(view.positions, view.targets)
    by_store = _reports(view.positions, view.targets) if polls is None else {}
    columns = Columns.of(polls[1]) if polls is not None else None
    actions: list[Action] = []
    stores: dict[str, DatastoreState] = {}
    wakeups: list[float] = []
    for name in sorted(view.targets):
        target = view.targets[name]
        old = memory.state.datastores.get(name) or DatastoreState(target, None, 0, (), {})
        history = list(old.acked_history)
        cols = polls[0].stores.get(name) if polls is not None else None
        if cols is not None and columns is not None:
            primary, newest, latest = fold(cols, columns, old.copies, old.primary, old.newest_acked, history)
        elif polls is not None:
            primary, newest, latest = old.primary, old.newest_acked, {}
        else:
            primary, newest, latest = _merge(old, by_store.get(name, []), history)
        stores[name] = _judge(name, target, old, primary, newest, _trim(history, view.now_s, params), latest, view,
                              actions, wakeups)
    state = ReplicationState(view.now_s, view.clouds, stores)
    requeue = max(0.0, min(wakeups)) if wakeups else None
    return Decision(ReplicationMemory(state), tuple(actions), requeue)


# A memo of `_spec_sorted` (a pure function of its key): the same few cloud sets every step.
_ORDERS: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
_ORDERS_MAX = 256


def _spec_sorted(clouds: tuple[str, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` in spec order, then by name: the order conditions are emitted in (the same few sets every step)."""
    found = _ORDERS.get((clouds, keys))
    if found is None:
        if len(_ORDERS) >= _ORDERS_MAX:
            _ORDERS.clear()
        found = _ORDERS[(clouds, keys)] = tuple(sorted(keys, key=lambda c: (_spec_order(clouds, c), c)))
    return found


def _judge(name: str, target: DatastoreTarget, old: DatastoreState, primary: str | None, newest: int,
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
        copies[cloud] = before if news is None and stalled == was_stalled and before is not None else (
            _copy_state(position, last_advance, stalled))
        # The best survivor holds the most received (`best_survivor`); only that decides the exposure.
        if position.reachable and holder != excluded and (survivor is None or received > survivor):
            survivor = received
    breached = False
    if primary is not None and len(copies) > 1:
        breached = _breach(target, math.inf if survivor is None else _gap(target, newest, history, survivor))
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
