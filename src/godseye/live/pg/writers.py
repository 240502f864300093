"""Clients that write numbered rows to whichever cluster is primary and record every acknowledgement.

Each writer owns the numbers n = k, k + W, k + 2W, ... and writes them in order at a steady rate.
A write is acknowledged when its transaction's COMMIT returned; with synchronous quorum replication
that means a second cloud flushed it. A write whose outcome is unknown (connection cut, server
gone) is retried with the same n, and the insert is keyed on it (`ON CONFLICT DO NOTHING`), so a retry of a write
that did commit finds it instead of adding it twice (the idempotent retry every client of a failing
database needs). The same transaction checks the fencing epoch: a writer whose pointer is older or
newer than the cluster it reached writes nothing there and re-reads the pointer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psycopg

from godseye.live.pg.cluster import APP_USER, DB_NAME
from godseye.live.pg.pointer import PrimaryPointer, read_pointer
from godseye.live.pg.session import Session, connect

RETRY_PAUSE_S = 0.02
WRITE_TIMEOUT_S = 1.0  # a commit takes milliseconds; one stuck this long is cut and retried

CREATE_SQL = """
CREATE TABLE IF NOT EXISTS writes (
    run text NOT NULL, n bigint NOT NULL, epoch integer NOT NULL, writer integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp())
"""
# The write id is the idempotency key. A NOT EXISTS guard alone is not enough: a commit still waiting
# for a standby is invisible to a retry on the same primary, so the retry would write the row a second
# time (seen when the second of two quick failures left the new primary without a standby). The
# unique index makes the retry wait for the first attempt and then find it. Physical duplicates (a
# diverged history replayed into the new primary) would still show in the per-n count of the check.
INDEX_SQL = "CREATE UNIQUE INDEX IF NOT EXISTS writes_run_n_key ON writes (run, n)"
WRITE_SQL = """
WITH f AS (SELECT epoch FROM godseye_fence WHERE epoch = %(epoch)s),
     ins AS (INSERT INTO writes (run, n, epoch, writer)
             SELECT %(run)s, %(n)s, f.epoch, %(writer)s FROM f
             ON CONFLICT (run, n) DO NOTHING
             RETURNING 1)
SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM ins), txid_current()
"""


PLAIN_WRITE_SQL = """
WITH ins AS (INSERT INTO writes (run, n, epoch, writer)
             SELECT %(run)s, %(n)s, 0, %(writer)s
             ON CONFLICT (run, n) DO NOTHING
             RETURNING 1)
SELECT 1, (SELECT count(*) FROM ins), txid_current()
"""


@dataclass(frozen=True, slots=True)
class Ack:
    n: int
    t_s: float  # monotonic clock, when COMMIT returned
    cloud: str
    epoch: int


class Fenced(Exception):
    """The cluster reached is not the primary of the writer's epoch."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a write goes now: a connection string, and what identifies it (a change means re-connect)."""

    conninfo: str
    key: tuple[str, ...]
    cloud: str
    epoch: int | None  # None: no fencing token to check (a peer's cluster)


class Route(Protocol):
    def resolve(self) -> Target | None:
        """The current target, None while writes are held."""
        ...

    def moved(self, key: tuple[str, ...] | None) -> bool:
        """The target named by `key` is no longer where writes go."""
        ...

    def connect(self, conninfo: str, give_up: Callable[[], bool]) -> psycopg.Connection[tuple[object, ...]]: ...


def app_conninfo(pointer: PrimaryPointer, synchronous: bool = True) -> str:
    options = "" if synchronous else " options='-c synchronous_commit=local'"
    return (f"host={pointer.host} port={pointer.port} user={APP_USER} dbname={DB_NAME} connect_timeout=2 "
            f"target_session_attrs=read-write application_name=godseye-writer{options}")


class PointerRoute:
    """godseye's way: the primary pointer the failover adapter maintains, with its fencing epoch."""

    def __init__(self, root: Path, synchronous: bool = True) -> None:
        self.root = root
        self.synchronous = synchronous

    def resolve(self) -> Target | None:
        pointer = read_pointer(self.root)
        if pointer is None or pointer.hold:
            return None
        key = (pointer.host, str(pointer.port), str(pointer.epoch))
        return Target(app_conninfo(pointer, self.synchronous), key, pointer.primary, pointer.epoch)

    def moved(self, key: tuple[str, ...] | None) -> bool:
        target = self.resolve()
        return target is None or target.key != key

    def connect(self, conninfo: str, give_up: Callable[[], bool]) -> psycopg.Connection[tuple[object, ...]]:
        return connect(conninfo, give_up)


class MultiHostRoute:
    """The usual client of a Patroni cluster: every host listed, libpq picks the read-write one."""

    def __init__(self, hosts: dict[str, tuple[str, int]], user: str, dbname: str) -> None:
        self.hosts = hosts
        names = list(hosts)
        self.conninfo = (f"host={','.join(hosts[c][0] for c in names)} port={','.join(str(hosts[c][1]) for c in names)} "
                         f"user={user} dbname={dbname} connect_timeout=2 target_session_attrs=read-write")

    def resolve(self) -> Target | None:
        return Target(self.conninfo, ("multi-host",), "?", None)

    def moved(self, key: tuple[str, ...] | None) -> bool:
        return False

    def connect(self, conninfo: str, give_up: Callable[[], bool]) -> psycopg.Connection[tuple[object, ...]]:
        # psycopg tries each host in turn, each within connect_timeout.
        return psycopg.connect(conninfo, autocommit=True)

    def cloud_of(self, port: int) -> str:
        return next((c for c, (_, p) in self.hosts.items() if p == port), "?")


class Writer:
    def __init__(self, route: Route, run: str, index: int, count: int, rate_per_s: float) -> None:
        self.route = route
        self.run = run
        self.index = index
        self.count = count
        self.interval_s = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self.acks: list[Ack] = []
        self.failed_attempts = 0
        self.fenced_attempts = 0
        self.session: Session | None = None
        self._session_key: tuple[str, ...] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pg-writer-{index}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, join_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(join_s)
        if self.session is not None:
            self.session.close()

    def abort_if_stuck(self) -> None:
        """From the watchdog: cut a commit stuck past WRITE_TIMEOUT_S, or at once when the route moved
        away from the cluster it is waiting on (held, or another primary)."""
        session = self.session
        if session is not None:
            session.abort_if_stuck(0.0 if self._moved() else WRITE_TIMEOUT_S)

    def _moved(self) -> bool:
        return self.route.moved(self._session_key)

    def _session(self, target: Target) -> Session:
        if self.session is None or self._session_key != target.key:
            if self.session is not None:
                self.session.close()
            route = self.route
            self.session = Session(target.conninfo, give_up=self._moved,
                                   connector=lambda conninfo, give_up: route.connect(conninfo, give_up))
            self._session_key = target.key
        return self.session

    def _run(self) -> None:
        n = self.index
        due = time.monotonic()
        while not self._stop.is_set():
            if self._write(n):
                n += self.count
                due = max(due + self.interval_s, time.monotonic() - 1.0)  # no burst to catch up after an outage
                delay = due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)

    def _write(self, n: int) -> bool:
        """One attempt: True once n is acknowledged (inserted now, or found from an earlier attempt)."""
        target = self.route.resolve()
        if target is None:
            self._stop.wait(RETRY_PAUSE_S)
            return False
        session = self._session(target)
        params = {"epoch": target.epoch, "run": self.run, "n": n, "writer": self.index}
        sql = PLAIN_WRITE_SQL if target.epoch is None else WRITE_SQL

        def work(conn: psycopg.Connection[tuple[object, ...]]) -> int:
            row = conn.execute(sql, params).fetchone()
            if row is None or row[0] == 0:
                raise Fenced(f"epoch {target.epoch} is not the epoch of {target.cloud}")
            return int(conn.pgconn.port.decode() or 0)

        try:
            port = session.call(work)
        except Fenced:
            self.fenced_attempts += 1
            self._stop.wait(RETRY_PAUSE_S)
            return False
        except (psycopg.Error, OSError):
            self.failed_attempts += 1
            self._stop.wait(RETRY_PAUSE_S)
            return False
        cloud = self.route.cloud_of(port) if isinstance(self.route, MultiHostRoute) else target.cloud
        self.acks.append(Ack(n, time.monotonic(), cloud, target.epoch or 0))
        return True
