"""Real replication positions of the triplet, read from PostgreSQL, as `ReplicaPosition` observations.

One prober thread per cluster keeps a control-plane connection and samples, every `interval_s`:
on a primary its WAL flush position and `pg_stat_replication` (per standby: flushed, replayed,
replay lag); on a replica `pg_last_wal_receive_lsn()` and `pg_last_wal_replay_lsn()`. A cluster
whose last good sample is older than `stale_after_s` is reported unreachable: a killed server
refuses, a partitioned one rejects the control plane, and a hung one simply stops answering.
Positions are WAL bytes (LSN as an integer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from godseye.control.observations import ReplicaPosition
from godseye.live.pg.cluster import Triplet
from godseye.live.pg.session import Session

SAMPLE_SQL = """
SELECT pg_is_in_recovery(),
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                            ELSE pg_current_wal_flush_lsn() END, '0/0')::bigint,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                            ELSE pg_current_wal_flush_lsn() END, '0/0')::bigint,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
       (SELECT epoch FROM godseye_fence LIMIT 1)
"""
STANDBYS_SQL = """
SELECT application_name, state, sync_state,
       coalesce(pg_wal_lsn_diff(flush_lsn, '0/0'), 0)::bigint,
       coalesce(pg_wal_lsn_diff(replay_lsn, '0/0'), 0)::bigint,
       coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication
"""
SAMPLE_INTERVAL_S = 0.1
STALE_AFTER_S = 1.0
STUCK_CALL_S = 1.0  # a probe query takes milliseconds; one that hangs this long is cut


@dataclass(frozen=True, slots=True)
class StandbyStat:
    """A standby as its primary sees it (pg_stat_replication)."""

    cloud: str
    state: str
    sync_state: str
    flushed_pos: int
    replayed_pos: int
    replay_lag_s: float


@dataclass(frozen=True, slots=True)
class PgSample:
    t_s: float
    cloud: str
    in_recovery: bool
    received_pos: int  # primary: its own WAL flush position
    replayed_pos: int
    replay_age_s: float | None  # replica: time since the last replayed commit was made on the primary
    fence_epoch: int | None
    standbys: tuple[StandbyStat, ...]

    def acked_pos(self) -> int:
        """Primary: newest position a client may have been told is committed. With ANY 1 quorum that is
        the furthest any synchronous standby flushed (never beyond the primary's own flush)."""
        if self.in_recovery:
            return self.received_pos
        quorum = [s.flushed_pos for s in self.standbys if s.sync_state in ("quorum", "sync")]
        return min(self.received_pos, max(quorum)) if quorum else 0


def lsn_to_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _sample(conn: psycopg.Connection[tuple[object, ...]], cloud: str, clock: Callable[[], float]) -> PgSample:
    row = conn.execute(SAMPLE_SQL).fetchone()
    assert row is not None
    in_recovery, received, replayed, age, epoch = row
    standbys: tuple[StandbyStat, ...] = ()
    if not in_recovery:
        standbys = tuple(
            StandbyStat(str(r[0]), str(r[1]), str(r[2]), int(str(r[3])), int(str(r[4])), float(str(r[5])))
            for r in conn.execute(STANDBYS_SQL).fetchall()
        )
    return PgSample(
        t_s=clock(), cloud=cloud, in_recovery=bool(in_recovery),
        received_pos=int(str(received or 0)), replayed_pos=int(str(replayed or 0)),
        replay_age_s=float(str(age)) if age is not None else None,
        fence_epoch=int(str(epoch)) if epoch is not None else None, standbys=standbys,
    )


class Prober:
    """Samples one cluster in its own thread; the newest good sample is kept."""

    def __init__(self, cloud: str, conninfo: str, interval_s: float = SAMPLE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cloud = cloud
        self.clock = clock
        self.interval_s = interval_s
        self.session = Session(conninfo)
        self.latest: PgSample | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pg-probe-{cloud}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.latest = self.session.call(lambda conn: _sample(conn, self.cloud, self.clock))
            except (psycopg.Error, OSError) as exc:
                self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._stop.wait(self.interval_s)

    def stop(self, join_s: float = 3.0) -> None:
        self._stop.set()
        self.session.abort_if_stuck(0.0)
        self._thread.join(join_s)
        self.session.close()


class ReplicationWatch:
    """Live positions of every cluster of the triplet for one datastore, as the controllers see them."""

    def __init__(self, triplet: Triplet, datastore: str, stale_after_s: float = STALE_AFTER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` stamps the samples; pass the driver's own clock (e.g. the lab's seconds since start)
        and call `positions`, `reachable` and `lag` with times on that same clock."""
        self.datastore = datastore
        self.stale_after_s = stale_after_s
        self.probers = {cloud: Prober(cloud, node.dsn(application_name="godseye-watch"), clock=clock)
                        for cloud, node in triplet.nodes.items()}

    def start(self) -> None:
        for prober in self.probers.values():
            prober.start()

    def stop(self) -> None:
        for prober in self.probers.values():
            prober.stop()

    def unstick(self) -> None:
        """Cut probe calls hung on a stopped server so the prober notices as soon as it answers again."""
        for prober in self.probers.values():
            prober.session.abort_if_stuck(STUCK_CALL_S)

    def sample(self, cloud: str) -> PgSample | None:
        return self.probers[cloud].latest

    def reachable(self, cloud: str, now_s: float) -> bool:
        latest = self.probers[cloud].latest
        return latest is not None and now_s - latest.t_s <= self.stale_after_s

    def positions(self, now_s: float) -> list[ReplicaPosition]:
        """One observation per cluster ever sampled; the last known positions when it is unreachable."""
        # What a reachable primary last heard from each standby (its flush and replay positions, as the
        # standby itself reported them). The probers sample at different instants; taking the newer of
        # the two views keeps a replica from looking behind the acknowledgement it already sent.
        heard: dict[str, StandbyStat] = {}
        for prober in self.probers.values():
            latest = prober.latest
            if latest is not None and not latest.in_recovery and self.reachable(prober.cloud, now_s):
                heard.update({s.cloud: s for s in latest.standbys})
        out: list[ReplicaPosition] = []
        for cloud, prober in self.probers.items():
            latest = prober.latest
            if latest is None:
                continue
            received, replayed = latest.received_pos, latest.replayed_pos
            if latest.in_recovery and cloud in heard:
                received = max(received, heard[cloud].flushed_pos)
                replayed = max(replayed, heard[cloud].replayed_pos)
            out.append(ReplicaPosition(
                t_s=now_s, datastore=self.datastore, cloud=cloud,
                role="replica" if latest.in_recovery else "primary",
                acked_pos=latest.acked_pos(), received_pos=received, replayed_pos=replayed,
                reachable=self.reachable(cloud, now_s),
            ))
        return out

    def lag(self, now_s: float) -> dict[str, dict[str, float]]:
        """Per replica, as its current primary reports it: bytes not yet replayed and replay lag in seconds."""
        primaries = [p.latest for p in self.probers.values()
                     if p.latest is not None and not p.latest.in_recovery and self.reachable(p.cloud, now_s)]
        if not primaries:
            return {}
        primary = max(primaries, key=lambda s: s.fence_epoch or 0)
        return {s.cloud: {"lag_bytes": float(max(0, primary.received_pos - s.replayed_pos)), "lag_s": s.replay_lag_s}
                for s in primary.standbys}
