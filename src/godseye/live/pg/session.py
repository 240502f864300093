"""One PostgreSQL connection owned by one thread, which another thread can cut when a call hangs.

A hung server (SIGSTOP) keeps its sockets open and the kernel keeps acknowledging, so no TCP or
libpq timeout fires. Cancelling a query is no answer either: a commit cancelled while it waits for
synchronous replication is committed locally and reported as a success with a warning. So a stuck
call is ended by shutting the socket down under it: the caller gets an error, never a false ack.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

T = TypeVar("T")


class Session:
    """A lazily (re)connected autocommit connection; `call` runs one unit of work on it."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._busy_since: float | None = None
        self._lock = threading.Lock()

    def call(self, work: Callable[[psycopg.Connection[tuple[object, ...]]], T]) -> T:
        """Run `work`; any error closes the connection (the next call reconnects) and propagates."""
        try:
            if self._conn is None or self._conn.closed:
                conn = psycopg.connect(self.conninfo, autocommit=True)
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
