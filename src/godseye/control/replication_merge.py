"""The replication watch's general merge: reports folded one by one, in (t, cloud) order, into each
datastore's primary, newest acked position and acked history, and each copy's newest report.

A twin's polls take the fast path instead (`replication_columns`); both give the same memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.control.replication_columns import Latest
from godseye.control.replication_model import ReplicationParams
from godseye.control.replication_state import DatastoreState

# One report as `merge` reads it: (t_s, cloud, role, acked, received, reachable, source, index), where
# received already counts what was replayed and source is the `ReplicaPosition` itself (index -1) or the
# `ReplicaPositions` holding it at index. Plain tuples: only the newest one per copy becomes a
# `ReplicaPosition` in the memory. The general path: a twin's polls fold column by column instead
# (`replication_columns`).
Report = tuple[float, str, str, int, int, bool, ReplicaPosition | ReplicaPositions, int]


def reports_by_store(
    positions: Iterable[ReplicaPosition | ReplicaPositions], known: Mapping[str, object]
) -> dict[str, list[Report]]:
    """Reports by datastore (only datastores in `known`), in the order handed in."""
    by_store: dict[str, list[Report]] = {}
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


def _position(report: Report) -> ReplicaPosition:
    source, index = report[6], report[7]
    return source if isinstance(source, ReplicaPosition) else source.position(index)


def _time_cloud(report: Report) -> tuple[float, str]:
    return report[0], report[1]


def merge(ds: DatastoreState, reports: list[Report], history: list[tuple[float, int]]) -> tuple[str | None, int, Latest]:
    """The datastore's primary, newest acked (appending to `history`) and each reported copy's newest report."""
    copies = ds.copies
    primary, newest = ds.primary, ds.newest_acked
    primary_t = max((c.position.t_s for c in copies.values() if c.position.role == "primary"), default=-math.inf)
    # Per copy, the newest report taken so far: (t_s, received, last advance, report). Each report is
    # judged against the one before it, as if every report had been stored in turn; the memory gets
    # one CopyState per copy, for the last.
    latest: dict[str, tuple[float, int, float, Report]] = {}
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


def trim(history: list[tuple[float, int]], now_s: float, params: ReplicationParams) -> tuple[tuple[float, int], ...]:
    horizon = now_s - params.history_s
    # Keep the newest sample at or before the horizon so a gap just older than it still interpolates.
    drop, most = 0, len(history) - 2
    while drop < most and history[drop + 1][0] <= horizon:
        drop += 1
    return tuple(history[max(drop, len(history) - params.history_max) :])
