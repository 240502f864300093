"""What a tier-1 lab service (POS, payments) uses to record an order on whichever cluster is primary.

The same client discipline as the write check's writers: the primary pointer is re-read before every
attempt and the connection re-made when it changes, writes wait while the pointer says hold, the
fencing epoch is checked in the writing transaction, a stuck commit is cut (never cancelled), and a
retry of an order whose outcome was unknown finds it instead of writing it twice. `record` returns
True only once the order is committed on the primary and flushed by a second cloud.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

import psycopg

from godseye.live.paths import lab_dir
from godseye.live.pg.session import Session
from godseye.live.pg.writers import RETRY_PAUSE_S, WRITE_TIMEOUT_S, PointerRoute

ORDER_SQL = """
WITH f AS (SELECT epoch FROM godseye_fence WHERE epoch = %(epoch)s),
     ins AS (INSERT INTO orders (id, epoch)
             SELECT %(id)s, f.epoch FROM f
             ON CONFLICT (id) DO NOTHING
             RETURNING 1)
SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM ins), txid_current()
"""
WATCHDOG_S = 0.05


def _insert(params: dict[str, object], conn: psycopg.Connection[tuple[object, ...]]) -> tuple[object, ...] | None:
    return conn.execute(ORDER_SQL, params).fetchone()


class OrdersStore:
    def __init__(self, root: Path | None = None, deadline_s: float = 5.0) -> None:
        self.route = PointerRoute(root if root is not None else lab_dir() / "pg")
        self.deadline_s = deadline_s
        self._session: Session | None = None
        self._key: tuple[str, ...] | None = None
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="orders-watchdog", daemon=True)
        self._watchdog.start()

    def close(self) -> None:
        self._closed.set()
        self._watchdog.join(1.0)
        if self._session is not None:
            self._session.close()

    def _watch(self) -> None:
        while not self._closed.wait(WATCHDOG_S):
            session = self._session
            if session is not None:
                session.abort_if_stuck(0.0 if self.route.moved(self._key) else WRITE_TIMEOUT_S)

    def _give_up(self) -> bool:
        return self.route.moved(self._key) or time.monotonic() > self._deadline

    def record(self, order_id: str) -> bool:
        """Commit the order (idempotent by id); False if it could not be acknowledged within the deadline."""
        with self._lock:
            self._deadline = time.monotonic() + self.deadline_s
            while time.monotonic() < self._deadline:
                target = self.route.resolve()
                if target is None:
                    time.sleep(RETRY_PAUSE_S)
                    continue
                if self._session is None or self._key != target.key:
                    if self._session is not None:
                        self._session.close()
                    self._session = Session(target.conninfo, give_up=self._give_up)
                    self._key = target.key
                try:
                    row = self._session.call(partial(_insert, {"epoch": target.epoch, "id": order_id}))
                except (psycopg.Error, OSError):
                    time.sleep(RETRY_PAUSE_S)
                    continue
                if row is not None and row[0] != 0:
                    return True
                time.sleep(RETRY_PAUSE_S)  # fenced: the pointer is about to move
            return False
