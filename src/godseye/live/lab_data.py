"""The lab's datastores on real servers, driven by the same plane as the edge. Decides nothing.

| datastore (kind)       | servers                                       | written by                                         |
| ---------------------- | --------------------------------------------- | -------------------------------------------------- |
| orders (sql)           | the PostgreSQL triplet (`live/pg/cluster.py`) | tier-1 service processes, an order per request     |
| order-events (stream)  | three Redis servers (`datasync/streams.py`)   | an event writer here, `STREAM_RATE_PER_S`          |
| product-media (object) | three object folders (`datasync/objects.py`)  | an object writer here, rsync every `OBJECT_WINDOW_S` |

`positions(now)` gives the plane every copy's real position (unreachable once its cloud is killed or
hung); `apply(action)` applies the plane's HoldWrites / PromoteReplica / FollowPrimary to the server
of that datastore; `kill`/`pause`/`restore` take a cloud's copies down with its service processes.
`report(fault_s)` measures what each datastore lost: acknowledged writes missing from its primary at
the end, as the window from the oldest lost write to the fault (0 when nothing was lost).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from godseye.control.actions import Action, FollowPrimary, HoldWrites, PromoteReplica
from godseye.control.observations import ReplicaPosition
from godseye.live.datasync.objects import ObjectStore, ObjectSyncError
from godseye.live.datasync.resp import Resp, RespError
from godseye.live.datasync.streams import RedisTrio, StreamError
from godseye.live.pg.cluster import CLOUDS, ClusterError, Triplet
from godseye.live.pg.failover_adapter import PgFailoverAdapter
from godseye.live.pg.pointer import read_pointer
from godseye.live.pg.positions import ReplicationWatch
from godseye.policy.tiers import classify
from godseye.spec.models import Datastore, Platform

SQL, STREAM, OBJECTS = "orders", "order-events", "product-media"
DEFAULTS = {SQL: Datastore(kind="sql"), STREAM: Datastore(kind="stream"), OBJECTS: Datastore(kind="object")}
STREAM_RATE_PER_S = 20.0
OBJECT_RATE_PER_S = 5.0
# The lab syncs objects every 2 s: the seed's 300 s batch window divided by the time scale (5 s at
# x60) would by itself exceed the 5 s RPO of the tier-2 service the lab judges on those objects.
OBJECT_WINDOW_S = 2.0
JOIN_S = 10.0
XRANGE_COUNT = 5_000  # entries per XRANGE page when reading the stream back


class DataError(RuntimeError):
    """A datastore server of the lab could not be started or read."""


def data_platform(platform: Platform, per_tier: dict[int, int]) -> Platform:
    """The platform with the lab's three datastores: the lab's tier-1 services write `orders`, its
    tier-2 services `order-events` and `product-media` (spec definitions kept where the spec has them)."""
    taken: dict[int, int] = {}
    services = {}
    for name, svc in platform.services.items():
        tier = classify(svc).tier
        data: tuple[str, ...] = svc.data
        if taken.get(tier, 0) < per_tier.get(tier, 0):
            taken[tier] = taken.get(tier, 0) + 1
            data = (SQL,) if tier == 1 else (STREAM, OBJECTS) if tier == 2 else ()
        services[name] = svc.model_copy(update={"data": data})
    datastores = {**platform.datastores, **{n: platform.datastores.get(n, d) for n, d in DEFAULTS.items()}}
    return platform.model_copy(update={"services": services, "datastores": datastores})


def data_available(root: Path) -> str | None:
    """Why the lab cannot run its datastores in `root`, or None when it can."""
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        return "PostgreSQL server not installed"
    if os.geteuid() != 0:
        return "the clusters run as the postgres user, which needs root"
    if shutil.which("redis-server") is None or shutil.which("rsync") is None:
        return "redis-server or rsync not installed"
    # The postgres user must traverse every folder above the data directories.
    for folder in [root.absolute(), *root.absolute().parents]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return f"{folder} is not reachable by the postgres user (use a lab dir with world-searchable parents)"
    return None


@dataclass
class Acks:
    """Writes acknowledged to a writer: key -> when (on the lab's clock)."""

    at: dict[int, float] = field(default_factory=dict)
    failed: int = 0


class LabData:
    def __init__(self, root: Path, clock: Callable[[], float]) -> None:
        self.root = root
        self.clock = clock
        self.triplet = Triplet(root / "pg")
        self.trio = RedisTrio(root / "streams", datastore=STREAM)
        self.objects = ObjectStore(root / "objects", datastore=OBJECTS)
        self.watch = ReplicationWatch(self.triplet, SQL, clock=clock)
        self.pg = PgFailoverAdapter(self.triplet, SQL)
        self.down: set[str] = set()  # clouds chaos took down: their copies answer nobody
        self.killed: set[str] = set()
        self.stream_acks = Acks()
        self.object_acks = Acks()
        self.sync_errors: list[str] = []
        self.owns_triplet = False
        self._watching = False  # the watch's probers run (a start that failed half way never began them)
        self._last: dict[tuple[str, str], ReplicaPosition] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=f, name=n, daemon=True)
                         for f, n in ((self._stream_writer, "lab-stream-writer"), (self._object_writer, "lab-object-writer"),
                                      (self._object_sync, "lab-object-sync"))]

    @property
    def pg_root(self) -> Path:
        return self.triplet.root

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Bring the servers up (the triplet only if none is up: `lab up --pg` starts it first) and the writers."""
        try:
            if read_pointer(self.triplet.root) is None or not all(self.triplet.running(c) for c in CLOUDS):
                self.owns_triplet = True
                self.triplet.up()
            self.trio.up()
            self.objects.up()
        except (ClusterError, StreamError, ObjectSyncError) as exc:
            self.stop()
            raise DataError(str(exc)) from exc
        self.watch.start()
        self._watching = True
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop writers and servers; every server process is gone when this returns (or it raises)."""
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(JOIN_S)
        if self._watching:
            self.watch.stop()
            self._watching = False
        errors = []
        for down in (self.trio.down, self.objects.down, *((self.triplet.down,) if self.owns_triplet else ())):
            try:
                down()
            except (ClusterError, StreamError, OSError) as exc:
                errors.append(str(exc))
        if errors:
            raise DataError("; ".join(errors))

    # ---- observations ------------------------------------------------------------------------------

    def positions(self, now_s: float) -> list[ReplicaPosition]:
        """Every copy's position; a copy in a cloud that is down keeps its last one, unreachable."""
        self.watch.unstick()
        out = list(self.watch.positions(now_s))
        # A hung server would hold each read for its timeout: clouds chaos took down are not asked.
        live = [p for p in self.trio.positions(now_s, skip=frozenset(self.down)) if p.cloud not in self.down]
        live += [p for p in self.objects.positions(now_s) if p.cloud not in self.down]
        for p in live:
            self._last[(p.datastore, p.cloud)] = p
        out += live
        for (_, cloud), p in self._last.items():
            if cloud in self.down:
                out.append(dataclasses.replace(p, t_s=now_s, reachable=False))
        return out

    # ---- the plane's actions -------------------------------------------------------------------------

    def apply(self, action: Action) -> str:
        if not isinstance(action, HoldWrites | PromoteReplica | FollowPrimary):
            return "not a datastore action"
        with self._lock:
            try:
                return self._apply(action)
            except (ClusterError, StreamError, RespError, ObjectSyncError, psycopg.Error, OSError) as exc:
                return f"failed: {exc}"

    def _apply(self, action: HoldWrites | PromoteReplica | FollowPrimary) -> str:
        if action.datastore == SQL:
            before = len(self.pg.log)
            self.pg.apply(action)
            done = self.pg.log[before:]
            return done[-1].detail if done else "not applied"
        if action.datastore == STREAM:
            if isinstance(action, PromoteReplica):
                self.trio.replicate(action.cloud, None)
                self.trio.primary = action.cloud
                return f"{action.cloud} REPLICAOF NO ONE: the event writer carries on there"
            if isinstance(action, FollowPrimary):
                if self.trio.pid(action.cloud) is None:
                    self.trio.start_node(action.cloud, action.primary)
                    return f"{action.cloud} started as a replica of {action.primary}"
                self.trio.replicate(action.cloud, action.primary)
                return f"{action.cloud} REPLICAOF {action.primary}"
            return "streams are never held: asynchronous, writers carry on"
        if action.datastore == OBJECTS:
            if isinstance(action, PromoteReplica):
                self.objects.primary = action.cloud
                return f"objects written to {action.cloud}'s folder from now on"
            if isinstance(action, FollowPrimary):
                return f"{action.cloud} receives {action.primary}'s batches"
            return "objects are never held: batch-synced, writers carry on"
        return f"no lab server plays {action.datastore}"

    # ---- chaos -----------------------------------------------------------------------------------

    def kill(self, cloud: str) -> list[str]:
        with self._lock:
            self.down.add(cloud)
            self.killed.add(cloud)
            self.triplet.kill(cloud)
            self.trio.kill(cloud)
        return [f"postgres.{cloud}", f"redis.{cloud}", f"objects.{cloud}"]

    def pause(self, cloud: str) -> list[str]:
        with self._lock:
            self.down.add(cloud)
            self.triplet.pause(cloud)
            self.trio.pause(cloud)
        return [f"postgres.{cloud}", f"redis.{cloud}", f"objects.{cloud}"]

    def restore(self, cloud: str) -> list[str]:
        """A killed cloud's servers start again as they were (a stale primary stays one until the plane
        says whom to follow); a hung one resumes."""
        with self._lock:
            if cloud in self.killed:
                if not self.triplet.running(cloud):
                    self.triplet.start(cloud)
                if self.trio.pid(cloud) is None:
                    self.trio.start_node(cloud, None)
            else:
                self.triplet.resume(cloud)
                self.trio.resume(cloud)
            self.killed.discard(cloud)
            self.down.discard(cloud)
        return [f"postgres.{cloud}", f"redis.{cloud}", f"objects.{cloud}"]

    # ---- writers ------------------------------------------------------------------------------------

    def _stream_writer(self) -> None:
        client: Resp | None = None
        at: str | None = None
        n = 0
        while not self._stop.wait(1.0 / STREAM_RATE_PER_S):
            primary = self.trio.primary
            try:
                if primary in self.down:
                    raise RespError(f"{primary} is down")
                if client is None or at != primary:
                    if client is not None:
                        client.close()
                    node = self.trio.nodes[primary]
                    client, at = Resp(node.host, node.port, timeout_s=0.5), primary
                client.call("XADD", STREAM, "MAXLEN", "~", 100_000, "*", "n", n)
                self.stream_acks.at[n] = self.clock()
                n += 1
            except (RespError, OSError):
                self.stream_acks.failed += 1
                if client is not None:
                    client.close()
                client = None
        if client is not None:
            client.close()

    def _object_writer(self) -> None:
        n = 0
        while not self._stop.wait(1.0 / OBJECT_RATE_PER_S):
            if self.objects.primary in self.down:
                self.object_acks.failed += 1  # its cloud is gone: the put fails
                continue
            try:
                self.objects.put(f"{n:08d}.bin", b"x" * 1024)
            except OSError:
                self.object_acks.failed += 1
                continue
            self.object_acks.at[n] = self.clock()
            n += 1

    def _object_sync(self) -> None:
        while not self._stop.wait(OBJECT_WINDOW_S):
            primary = self.objects.primary
            if primary in self.down:
                continue  # nothing leaves a dead cloud
            for cloud in CLOUDS:
                if cloud == primary or cloud in self.down:
                    continue
                try:
                    self.objects.sync(cloud)
                except (ObjectSyncError, OSError, subprocess.TimeoutExpired) as exc:
                    self.sync_errors.append(str(exc))

    # ---- what was lost -------------------------------------------------------------------------------

    def _stream_held(self) -> set[int]:
        node = self.trio.nodes[self.trio.primary]
        client = Resp(node.host, node.port, timeout_s=2.0)
        held: set[int] = set()
        start = "-"
        try:
            for _ in range(1 + len(self.stream_acks.at) // XRANGE_COUNT + 1):
                page = client.call("XRANGE", STREAM, start, "+", "COUNT", XRANGE_COUNT)
                if not isinstance(page, list) or not page:
                    break
                for entry in page:
                    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list):
                        fields = entry[1]
                        if len(fields) >= 2 and isinstance(fields[1], bytes):
                            held.add(int(fields[1]))
                last = page[-1]
                if not isinstance(last, list) or not isinstance(last[0], bytes):
                    break
                start = "(" + last[0].decode()
        finally:
            client.close()
        return held

    def _objects_held(self) -> set[int]:
        folder = self.objects.dirs[self.objects.primary]
        return {int(p.name.split(".")[0]) for p in folder.iterdir() if p.name.endswith(".bin") and not p.name.startswith(".")}

    def orders_held(self) -> set[str]:
        pointer = read_pointer(self.triplet.root)
        if pointer is None:
            raise DataError("no primary pointer: the triplet is gone")
        node = self.triplet.nodes[pointer.primary]
        with psycopg.connect(node.dsn(), autocommit=True) as conn:
            return {str(r[0]) for r in conn.execute("SELECT id FROM orders").fetchall()}

    def replica_holds(self, cloud: str, ids: set[str]) -> tuple[bool, int]:
        """(is a streaming replica, how many of `ids` it holds): the old primary after it rejoined."""
        with psycopg.connect(self.triplet.nodes[cloud].dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            present = {str(r[0]) for r in conn.execute("SELECT id FROM orders").fetchall()}
        return bool(row and row[0]), len(ids & present)

    def report(self, fault_s: float | None, acked_orders: dict[str, float], old_primary: str | None) -> dict[str, Any]:
        """Per datastore: acknowledged writes, those missing from its primary now, and the loss window."""
        def loss(acked: dict[Any, float], held: set[Any]) -> dict[str, Any]:
            lost = [t for k, t in acked.items() if k not in held]
            window = 0.0 if not lost or fault_s is None else max(0.0, fault_s - min(lost))
            return {"acked": len(acked), "lost": len(lost), "rpo_s": round(window, 3)}

        pointer = read_pointer(self.triplet.root)
        sql = {"datastore": SQL, "kind": "sql", "primary": pointer.primary if pointer else None,
               **loss(acked_orders, self.orders_held())}
        if old_primary is not None and old_primary != sql["primary"]:
            try:
                replica, holds = self.replica_holds(old_primary, set(acked_orders))
                sql["old_primary"] = {"cloud": old_primary, "is_replica": replica, "holds_acked": holds}
            except psycopg.Error as exc:
                sql["old_primary"] = {"cloud": old_primary, "error": str(exc).strip().splitlines()[0]}
        stream = {"datastore": STREAM, "kind": "stream", "primary": self.trio.primary,
                  "write_failures": self.stream_acks.failed, **loss(self.stream_acks.at, self._stream_held())}
        objects = {"datastore": OBJECTS, "kind": "object", "primary": self.objects.primary, "window_s": OBJECT_WINDOW_S,
                   "write_failures": self.object_acks.failed, **loss(self.object_acks.at, self._objects_held())}
        return {SQL: sql, STREAM: stream, OBJECTS: objects}


def wait_until(check: Callable[[], bool], timeout_s: float, poll_s: float = 0.2) -> bool:
    """Poll `check` until it holds or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(poll_s)
    return check()
