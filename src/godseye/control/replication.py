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

from godseye.control.actions import Action
from godseye.control.decision import Decision
from godseye.control.replication_columns import Columns, fold, polls_of
from godseye.control.replication_judge import judge
from godseye.control.replication_merge import merge, reports_by_store, trim
from godseye.control.replication_model import (
    BYTES_PER_MB,
    DatastoreTarget,
    ReplicationParams,
    ReplicationView,
    targets_from_platform,
)
from godseye.control.replication_state import (
    MS_PER_S,
    CopyState,
    DatastoreState,
    ReplicaLag,
    ReplicaStall,
    ReplicationMemory,
    ReplicationState,
)

# One job per module: the targets and inputs (`replication_model`), what the watch knows and its query API
# (`replication_state`), folding reports (`replication_merge`, or `replication_columns` for a twin's polls)
# and judging stalls and breaches (`replication_judge`). This module puts one reconcile together.
__all__ = [
    "BYTES_PER_MB", "MS_PER_S", "CopyState", "DatastoreState", "DatastoreTarget", "ReplicaLag", "ReplicaStall",
    "ReplicationMemory", "ReplicationParams", "ReplicationState", "ReplicationView", "reconcile", "targets_from_platform",
]


def reconcile(view: ReplicationView, memory: ReplicationMemory) -> Decision[ReplicationMemory]:
    params = view.params
    # A twin's polls fold column by column (`replication_columns`); anything else merges report by
    # report. Both give the same memory and actions (tests/property/test_replication_paths.py).
    polls = polls_of(view.positions, view.targets)
    by_store = reports_by_store(view.positions, view.targets) if polls is None else {}
    columns = Columns.of(polls[1]) if polls is not None else None
    actions: list[Action] = []
    stores: dict[str, DatastoreState] = {}
    wakeups: list[float] = []
    # Read once per step rather than once per datastore.
    was, targets, now_s = memory.state.datastores, view.targets, view.now_s
    layout = polls[0].stores if polls is not None else None
    for name in sorted(targets):
        target = targets[name]
        old = was.get(name) or DatastoreState(target, None, 0, (), {})
        history = list(old.acked_history)
        cols = layout.get(name) if layout is not None else None
        if cols is not None and columns is not None:
            primary, newest, latest = fold(cols, columns, old.copies, old.primary, old.newest_acked, history)
        elif polls is not None:
            primary, newest, latest = old.primary, old.newest_acked, {}
        else:
            primary, newest, latest = merge(old, by_store.get(name, []), history)
        stores[name] = judge(name, target, old, primary, newest, trim(history, now_s, params), latest, view, actions,
                             wakeups)
    state = ReplicationState(now_s, view.clouds, stores)
    requeue = max(0.0, min(wakeups)) if wakeups else None
    return Decision(ReplicationMemory(state), tuple(actions), requeue)
