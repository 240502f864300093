"""Jepsen-style write check: numbered writes under a real primary failure, then count what survived.

1. Writers insert numbered rows at a steady rate into whichever cluster the pointer names and record
   every acknowledged commit.
2. The primary's cloud fails: `kill` (SIGKILL of its whole PostgreSQL), `pause` (SIGSTOP of it) or
   `partition` (its pg_hba rejects the replicas and the control plane; their sessions are cut).
3. The real control plane (control_loop.py) detects it, gates, promotes and re-points; the writers
   follow the pointer.
4. The fault ends (the killed cluster is started again as it was, i.e. as a stale primary; the paused
   one resumes; the partition heals) and the orchestrator must turn it into a replica of the new
   primary, which it then catches up with.
5. Every acknowledged n must be on the new primary exactly once. The write outage is the longest gap
   between two consecutive acknowledgements from the fault on (last ack before it to first after).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import psycopg

from godseye.live.pg.cluster import ADMIN_USER, SUPERUSER, ClusterError, Triplet
from godseye.live.pg.control_loop import PgControlLoop, TimelineEntry
from godseye.live.pg.pointer import PrimaryPointer, read_pointer
from godseye.live.pg.writers import CREATE_SQL, INDEX_SQL, Ack, PointerRoute, Writer

Fault = Literal["kill", "pause", "partition"]
FAULTS: tuple[Fault, ...] = ("kill", "pause", "partition")

READY_TIMEOUT_S = 30.0
FAILOVER_TIMEOUT_S = 40.0
REJOIN_TIMEOUT_S = 45.0
POLL_S = 0.05
RESTORED_AS: dict[Fault, str] = {"kill": "restarted as it was", "pause": "resumed", "partition": "partition healed"}


def _wait(what: str, until: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(POLL_S)


def _pointer(triplet: Triplet) -> PrimaryPointer:
    pointer = read_pointer(triplet.root)
    if pointer is None:
        raise ClusterError(f"no primary pointer under {triplet.root}: is the triplet up?")
    return pointer


def _sync_standbys(triplet: Triplet, cloud: str) -> int:
    try:
        with psycopg.connect(triplet.nodes[cloud].dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' "
                               "AND sync_state IN ('quorum', 'sync')").fetchone()
    except psycopg.Error:
        return 0
    return int(str(row[0])) if row is not None else 0


def prepare(triplet: Triplet) -> PrimaryPointer:
    """The triplet as the check needs it: all three running, a primary with two synchronous standbys."""
    pointer = _pointer(triplet)
    stopped = [c for c in triplet.clouds if not triplet.running(c)]
    if stopped:
        raise ClusterError(f"clusters not running: {', '.join(stopped)} (run `godseye lab down` then `lab up`)")
    _wait(f"both replicas of {pointer.primary} streaming", lambda: _sync_standbys(triplet, pointer.primary) >= 2, READY_TIMEOUT_S)
    with psycopg.connect(triplet.nodes[pointer.primary].dsn(user=SUPERUSER), autocommit=True) as conn:
        conn.execute(CREATE_SQL)
        conn.execute(INDEX_SQL)
        conn.execute("GRANT SELECT, INSERT ON writes TO app")
    return pointer


def inject(triplet: Triplet, fault: Fault, cloud: str) -> None:
    if fault == "kill":
        triplet.kill(cloud)
    elif fault == "pause":
        triplet.pause(cloud)
    else:
        triplet.partition(cloud)


def restore(triplet: Triplet, fault: Fault, cloud: str) -> None:
    """The failed cloud comes back as it went down: a killed primary restarts as a primary."""
    if fault == "kill":
        triplet.start(cloud)
    elif fault == "pause":
        triplet.resume(cloud)
    else:
        triplet.heal(cloud)


def write_outage_s(acks: list[Ack], fault_t: float) -> float:
    """Longest gap between consecutive acknowledgements that ends after the fault."""
    times = sorted(a.t_s for a in acks)
    gaps = [b - a for a, b in itertools.pairwise(times) if b > fault_t]
    return max(gaps, default=0.0)


def _present(triplet: Triplet, cloud: str, run: str) -> dict[int, int]:
    with psycopg.connect(triplet.nodes[cloud].dsn(user=ADMIN_USER), autocommit=True) as conn:
        rows = conn.execute("SELECT n, count(*) FROM writes WHERE run = %s GROUP BY n", (run,)).fetchall()
    return {int(str(n)): int(str(c)) for n, c in rows}


def _caught_up(loop: PgControlLoop, old: str, new: str) -> bool:
    """`old` is a reachable replica of `new` (directly, or through a replica of it) and has replayed
    about everything `new` has (within 1 MB: writes keep flowing while we look)."""
    mine, theirs = loop.watch.sample(old), loop.watch.sample(new)
    upstream = loop.triplet.following(old)
    if mine is None or theirs is None or upstream is None or not mine.in_recovery:
        return False
    if not loop.watch.reachable(old, time.monotonic()) or mine.replayed_pos < theirs.received_pos - 1_000_000:
        return False
    if upstream == new:
        return any(s.cloud == old and s.state == "streaming" for s in theirs.standbys)
    relay = loop.watch.sample(upstream)
    return relay is not None and relay.in_recovery and loop.triplet.following(upstream) == new


class _Run:
    """One check's moving parts: the control loop, the writers, and the waits that keep their watchdog going."""

    def __init__(self, triplet: Triplet, fault: Fault, rate_per_s: float, writers: int, log: Callable[[str], None]) -> None:
        self.triplet = triplet
        self.fault = fault
        self.log = log
        self.run_id = uuid.uuid4().hex[:12]
        self.loop = PgControlLoop(triplet)
        route = PointerRoute(triplet.root)
        self.clients = [Writer(route, self.run_id, i, writers, rate_per_s / writers) for i in range(writers)]

    def start(self) -> None:
        self.loop.start()
        for w in self.clients:
            w.start()

    def stop(self) -> None:
        for w in self.clients:
            w.stop()
        self.loop.stop()

    def acks(self) -> list[Ack]:
        return [a for w in self.clients for a in w.acks]

    def acked_on(self, cloud: str | None, after_t: float) -> bool:
        return any(a.cloud == cloud and a.t_s > after_t for w in self.clients for a in w.acks)

    def wait(self, what: str, until: Callable[[], bool], timeout_s: float) -> None:
        def check() -> bool:
            for w in self.clients:
                w.abort_if_stuck()
            return until()

        _wait(what, check, timeout_s)

    def settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.wait(f"{seconds:g} s", lambda: time.monotonic() >= end, seconds + 1.0)

    def failover_from(self, victims: tuple[str, ...], since: float, need_ack: bool) -> str | None:
        """Wait until writes are released on a primary outside `victims` (and, if asked, acknowledged there)."""
        def done() -> bool:
            p = _pointer(self.triplet)
            return p.primary not in victims and not p.hold and (not need_ack or self.acked_on(p.primary, since))

        try:
            self.wait("failover" + (" and the first write acknowledged after it" if need_ack else ""), done, FAILOVER_TIMEOUT_S)
        except ClusterError as exc:
            self.log(str(exc))
            return None
        return _pointer(self.triplet).primary

    def second_failure(self, first: str, victim: str, after_s: float) -> tuple[str | None, float]:
        """The new primary fails too, right after the failover; it comes back after `after_s`."""
        self.settle(0.3)
        second_t = time.monotonic()
        self.log(f"{self.fault} {victim} too, right after the failover")
        inject(self.triplet, self.fault, victim)
        third = self.failover_from((first, victim), second_t, need_ack=False)
        if third is not None:
            self.log(f"second failover to {third}: it has no standby, so writes wait")
        self.settle(after_s)
        restore(self.triplet, self.fault, victim)
        if third is not None:
            try:
                self.wait(f"{victim} to follow {third} and writes to resume", lambda: self.acked_on(third, second_t),
                          REJOIN_TIMEOUT_S)
                self.log(f"{victim} is back as a replica of {third}: writes acknowledged again")
            except ClusterError as exc:
                self.log(str(exc))
        return third, second_t

    def rejoin(self, old: str, new: str) -> bool:
        try:
            self.wait(f"{old} to rejoin as a replica of {new} and catch up", lambda: _caught_up(self.loop, old, new),
                      REJOIN_TIMEOUT_S)
        except ClusterError as exc:
            self.log(str(exc))
            return False
        self.log(f"{old} is a streaming replica (of {self.triplet.following(old)}) and caught up with {new}")
        return True


def run_check(triplet: Triplet, fault: Fault, rate_per_s: float = 100.0, writers: int = 2,
              warmup_s: float = 3.0, after_s: float = 3.0, log: Callable[[str], None] = lambda _: None,
              second: bool = False) -> dict[str, Any]:
    """One fault under load on a running triplet; the triplet is left running (the new primary primary).

    `second`: the new primary fails the same way right after the failover (a few writes after it),
    before the first victim is back. The third cloud is promoted; it has no standby left, so it
    acknowledges nothing until the second victim returns and follows it (RPO 0 over the outage)."""
    old = prepare(triplet).primary
    check = _Run(triplet, fault, rate_per_s, writers, log)
    new_primary: str | None = None
    second_victim: str | None = None
    second_t: float | None = None
    rejoined = restored = False
    fault_t = time.monotonic()
    try:
        check.start()
        check.settle(warmup_s)
        log(f"{len(check.acks())} writes acknowledged by {old}; {fault} {old}")
        fault_t = time.monotonic()
        inject(triplet, fault, old)
        new_primary = check.failover_from((old,), fault_t, need_ack=True)
        if new_primary is not None:
            log(f"failover to {new_primary}: writes acknowledged again")
        if second and new_primary is not None:
            second_victim = new_primary
            new_primary, second_t = check.second_failure(old, second_victim, after_s)
        check.settle(after_s)
        restore(triplet, fault, old)
        restored = True
        log(f"{old} is back ({RESTORED_AS[fault]})")
        rejoined = new_primary is not None and check.rejoin(old, new_primary)
        check.settle(1.0)
    finally:
        check.stop()
        if not restored:
            restore(triplet, fault, old)
    report = _report(check, fault, fault_t, old, new_primary, rejoined)
    if second:
        acks = check.acks()
        first = [a for a in acks if second_t is None or a.t_s < second_t]
        report.update(second_victim=second_victim, write_outage_s=round(write_outage_s(first, fault_t), 3),
                      second_write_outage_s=round(write_outage_s(acks, second_t), 3) if second_t is not None else None)
    return report


def _report(check: _Run, fault: Fault, fault_t: float, old: str, new_primary: str | None, rejoined: bool) -> dict[str, Any]:
    triplet = check.triplet
    acks = check.acks()
    acked = {a.n for a in acks}
    present = _present(triplet, _pointer(triplet).primary, check.run_id)
    lost = sorted(acked - present.keys())
    duplicated = sorted(n for n, c in present.items() if c > 1)
    old_has_all = not (acked - _present(triplet, old, check.run_id).keys()) if rejoined else None
    duration = max((a.t_s for a in acks), default=fault_t) - min((a.t_s for a in acks), default=fault_t)
    lags = [v for sample in check.loop.lag_samples for v in sample.values()]
    return {
        "fault": fault,
        "acked": len(acked),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "write_outage_s": round(write_outage_s(acks, fault_t), 3),
        "new_primary": new_primary,
        "old_primary": old,
        "old_primary_rejoined_as_replica": rejoined,
        "old_primary_has_every_acked_row": old_has_all,
        "epoch": _pointer(triplet).epoch,
        "acked_per_s": round(len(acks) / duration, 1) if duration > 0 else 0.0,
        "uncertain_attempts": sum(w.failed_attempts for w in check.clients),
        "fenced_attempts": sum(w.fenced_attempts for w in check.clients),
        "rows_present": len(present),
        "lag_bytes_max": int(max((v["lag_bytes"] for v in lags), default=0)),
        "lag_s_max": round(max((v["lag_s"] for v in lags), default=0.0), 3),
        "lost_ns": lost[:20],
        "duplicated_ns": duplicated[:20],
        "timeline": [_entry(e, fault_t) for e in check.loop.timeline]
        + [f"{a.t_s - fault_t:+.3f}s adapter {a.action}: {a.detail}" for a in check.loop.adapter.log],
    }


def _entry(entry: TimelineEntry, fault_t: float) -> str:
    return f"{entry.t_s - fault_t:+.3f}s {entry.actor} {entry.event}"


def check_passed(report: dict[str, Any]) -> bool:
    return bool(report["lost"] == 0 and report["duplicated"] == 0 and report["new_primary"] is not None)
