"""One PostgreSQL connection owned by one thread, which another thread can cut when a call hangs.

A hung server (SIGSTOP) keeps its sockets open and the kernel keeps acknowledging, so no TCP or
libpq timeout fires. Cancelling a query is no answer either: a commit cancelled while it waits for
synchronous replication is committed locally and reported as a success with a warning. So a stuck
call is ended by shutting the socket down under it: the caller gets an error, never a false ack.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import pq

T = TypeVar("T")

CONNECT_TIMEOUT_S = 2.0
CONNECT_POLL_S = 0.05


def _never() -> bool:
    return False


def connect(
    conninfo: str, give_up: Callable[[], bool] = _never, timeout_s: float = CONNECT_TIMEOUT_S
) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection whose attempt stops as soon as `give_up()` says so.

    A hung server accepts TCP and then never answers the startup packet: libpq would wait its whole
    connect_timeout (2 s at least), while a writer wants to move the moment the primary changes.
    """
    pgconn = pq.PGconn.connect_start(conninfo.encode())
    try:
        deadline = time.monotonic() + timeout_s
        status = pq.PollingStatus.WRITING  # libpq: wait for the socket to be writable, then poll
        while status != pq.PollingStatus.OK:
            if status == pq.PollingStatus.FAILED or pgconn.status == pq.ConnStatus.BAD:
                raise psycopg.OperationalError(pgconn.error_message.decode(errors="replace").strip())
            fd = pgconn.socket
            if status == pq.PollingStatus.READING:
                select.select([fd], [], [], CONNECT_POLL_S)
            else:
                select.select([], [fd], [], CONNECT_POLL_S)
            if give_up() or time.monotonic() > deadline:
                raise psycopg.OperationalError("connection attempt abandoned")
            status = pq.PollingStatus(pgconn.connect_poll())
    except BaseException:
        pgconn.finish()
        raise
    conn: psycopg.Connection[tuple[object, ...]] = psycopg.Connection(pgconn)
    conn.autocommit = True
    return conn


Connector = Callable[[str, Callable[[], bool]], psycopg.Connection[tuple[object, ...]]]


class Session:
    """A lazily (re)connected autocommit connection; `call` runs one unit of work on it."""

    def __init__(self, conninfo: str, give_up: Callable[[], bool] = _never, connector: Connector | None = None) -> None:
        self.conninfo = conninfo
        self.give_up = give_up
        self.connector: Connector = connector or connect
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._busy_since: float | None = None
        self._lock = threading.Lock()

    def call(self, work: Callable[[psycopg.Connection[tuple[object, ...]]], T]) -> T:
        """Run `work`; any error closes the connection (the next call reconnects) and propagates."""
        try:
            if self._conn is None or self._conn.closed:
                conn = self.connector(self.conninfo, self.give_up)
                with self._lock:
                    self._conn = conn
            with self._lock:
                self._busy_since = time.monotonic()
            return work(self._conn)
        except BaseException:
            self.close()
            raise
        finally:
            with self._lock:
                self._busy_since = None

    def abort_if_stuck(self, limit_s: float) -> bool:
        """From another thread: cut the socket if the current call has run longer than `limit_s`."""
        with self._lock:
            if self._busy_since is None or self._conn is None or self._conn.closed:
                return False
            if time.monotonic() - self._busy_since <= limit_s:
                return False
            # shutdown() acts on the socket itself, so a duplicate descriptor reaches the one libpq waits on.
            with socket.socket(fileno=os.dup(self._conn.pgconn.socket)) as sock, contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            self._busy_since = None
            return True

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.close()
