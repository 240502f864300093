"""Applies the failover orchestrator's datastore actions to the real PostgreSQL triplet.

Only three actions concern it, and it decides nothing: the choice of survivor and the moment to
promote come from `control/failover_gate.py` (gated on `control/replication.py`).

- HoldWrites(hold): the primary pointer says "hold" (writers wait) or names the primary again.
- PromoteReplica(cloud): `pg_promote()` and wait for it; the fencing epoch is bumped in the new
  primary's `godseye_fence` table and in the pointer (still held until the orchestrator releases).
  Every cluster already lists the two others in `synchronous_standby_names = 'ANY 1 (...)'`, so the
  new primary acknowledges nothing until another cloud's replica has flushed it (RPO 0 stays).
- FollowPrimary(cloud, primary): a running replica gets a new primary_conninfo and a reload. A
  cluster that is (or was) a primary is stopped first, then pg_rewind (or a fresh clone when rewind
  is impossible) and started as a replica: it never serves as a second primary.

Fencing: after a promotion the old primary cannot acknowledge a write, because its synchronous
standbys now follow the new primary; writers also check the epoch of `godseye_fence` in the very
transaction that writes, so a writer still pointed at a stale primary writes nothing there.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg

from godseye.control.actions import Action, FollowPrimary, HoldWrites, PromoteReplica
from godseye.live.pg.cluster import ClusterError, Triplet
from godseye.live.pg.pointer import PrimaryPointer, read_pointer, write_pointer

FENCE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Applied:
    """One action as applied, for the run's timeline."""

    t_s: float
    action: str
    detail: str
    ok: bool


class PgFailoverAdapter:
    def __init__(self, triplet: Triplet, datastore: str) -> None:
        self.triplet = triplet
        self.datastore = datastore
        self.log: list[Applied] = []
        self._lock = threading.Lock()

    def pointer(self) -> PrimaryPointer:
        pointer = read_pointer(self.triplet.root)
        if pointer is None:
            raise ClusterError(f"no primary pointer under {self.triplet.root}: is the triplet up?")
        return pointer

    def apply(self, action: Action) -> None:
        """Apply one action if it concerns this datastore; failures are logged, never raised, so the
        control loop goes on observing (a failed step is retried when the orchestrator asks again)."""
        if not isinstance(action, HoldWrites | PromoteReplica | FollowPrimary) or action.datastore != self.datastore:
            return
        with self._lock:
            try:
                detail = self._apply(action)
                ok = True
            except (ClusterError, psycopg.Error, OSError) as exc:
                detail, ok = f"failed: {exc}", False
            self.log.append(Applied(time.monotonic(), type(action).__name__, detail, ok))

    def _apply(self, action: HoldWrites | PromoteReplica | FollowPrimary) -> str:
        if isinstance(action, HoldWrites):
            current = self.pointer()
            pointer = PrimaryPointer(current.epoch, current.primary, current.host, current.port, hold=action.hold)
            write_pointer(self.triplet.root, pointer)
            return f"writes {'held' if action.hold else 'released'} (primary {pointer.primary}, epoch {pointer.epoch})"
        if isinstance(action, PromoteReplica):
            return self._promote(action.cloud)
        return self._follow(action.cloud, action.primary)

    def _promote(self, cloud: str) -> str:
        current = self.pointer()
        self.triplet.promote(cloud)
        epoch = current.epoch + 1
        node = self.triplet.nodes[cloud]
        # The token only has to be on the new primary: local commit, no wait for a standby that may
        # not be following yet (the pointer carries the same epoch for the writers).
        with psycopg.connect(node.dsn(options="-c synchronous_commit=local"), autocommit=True) as conn:
            conn.execute("UPDATE godseye_fence SET epoch = %s", (epoch,))
        write_pointer(self.triplet.root, PrimaryPointer(epoch, cloud, node.host, node.port, hold=True))
        return f"{cloud} promoted (epoch {epoch}); writes still held"

    def _follow(self, cloud: str, primary: str) -> str:
        triplet = self.triplet
        if triplet.running(cloud) and triplet.following(cloud) == primary:
            return f"{cloud} already follows {primary}"
        if triplet.running(cloud) and triplet.following(cloud) is not None and self._in_recovery(cloud):
            triplet.follow(cloud, primary)
            return f"{cloud} re-pointed to {primary} (reload)"
        # A primary (an old one back from the dead) or a stopped cluster: it must not start as it was.
        how = triplet.rejoin(cloud, primary)
        return f"{cloud} rejoined as a replica of {primary} by {how}"

    def _in_recovery(self, cloud: str) -> bool:
        try:
            with psycopg.connect(self.triplet.nodes[cloud].dsn(), autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] is True
