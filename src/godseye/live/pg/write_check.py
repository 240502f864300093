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


def run_check(triplet: Triplet, fault: Fault, rate_per_s: float = 100.0, writers: int = 2,
              warmup_s: float = 3.0, after_s: float = 3.0, log: Callable[[str], None] = lambda _: None,
              second: bool = False) -> dict[str, Any]:
    """One fault under load on a running triplet; the triplet is left running (the new primary primary).

    `second`: the new primary fails the same way right after the failover (a few writes after it),
    before the first victim is back. The third cloud is promoted; it has no standby left, so it
    acknowledges nothing until the second victim returns and follows it (RPO 0 over the outage)."""
    before = prepare(triplet)
    old = before.primary
    run = uuid.uuid4().hex[:12]
    loop = PgControlLoop(triplet)
    route = PointerRoute(triplet.root)
    clients = [Writer(route, run, i, writers, rate_per_s / writers) for i in range(writers)]
    new_primary: str | None = None
    second_victim: str | None = None
    second_t: float | None = None
    rejoined = False
    restored = False
    fault_t = time.monotonic()
    try:
        loop.start()
        for w in clients:
            w.start()

        def pause_s(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for w in clients:
                    w.abort_if_stuck()
                time.sleep(POLL_S)

        def wait_with_watchdog(what: str, until: Callable[[], bool], timeout_s: float) -> None:
            def check() -> bool:
                for w in clients:
                    w.abort_if_stuck()
                return until()
            _wait(what, check, timeout_s)

        pause_s(warmup_s)
        log(f"{sum(len(w.acks) for w in clients)} writes acknowledged by {old}; {fault} {old}")
        fault_t = time.monotonic()
        inject(triplet, fault, old)

        def failed_over() -> bool:
            p = _pointer(triplet)
            return p.primary != old and not p.hold and any(a.cloud == p.primary for w in clients for a in w.acks)

        try:
            wait_with_watchdog("failover and the first write acknowledged after it", failed_over, FAILOVER_TIMEOUT_S)
            new_primary = _pointer(triplet).primary
            log(f"failover to {new_primary}: writes acknowledged again")
        except ClusterError as exc:
            log(str(exc))
        if second and new_primary is not None:
            pause_s(0.3)
            second_victim, second_t = new_primary, time.monotonic()
            log(f"{fault} {second_victim} too, right after the failover")
            inject(triplet, fault, second_victim)

            def promoted_again() -> bool:
                p = _pointer(triplet)
                return p.primary not in (old, second_victim) and not p.hold

            try:
                wait_with_watchdog("the second failover", promoted_again, FAILOVER_TIMEOUT_S)
                new_primary = _pointer(triplet).primary
                log(f"second failover to {new_primary}: it has no standby, so writes wait")
                pause_s(after_s)
                restore(triplet, fault, second_victim)
                third, since = new_primary, second_t

                def resumed() -> bool:
                    return any(a.cloud == third and a.t_s > since for w in clients for a in w.acks)

                wait_with_watchdog(f"{second_victim} to follow {third} and writes to resume", resumed, REJOIN_TIMEOUT_S)
                log(f"{second_victim} is back as a replica of {new_primary}: writes acknowledged again")
            except ClusterError as exc:
                log(str(exc))
                restore(triplet, fault, second_victim)
        pause_s(after_s)
        restore(triplet, fault, old)
        restored = True
        how = {"kill": "restarted as it was", "pause": "resumed", "partition": "partition healed"}[fault]
        log(f"{old} is back ({how})")
        if new_primary is not None:
            try:
                wait_with_watchdog(f"{old} to rejoin as a replica of {new_primary} and catch up",
                                   lambda: _caught_up(loop, old, new_primary or ""), REJOIN_TIMEOUT_S)
                rejoined = True
                log(f"{old} is a streaming replica (of {triplet.following(old)}) and caught up with {new_primary}")
            except ClusterError as exc:
                log(str(exc))
        pause_s(1.0)
    finally:
        for w in clients:
            w.stop()
        loop.stop()
        if not restored:
            restore(triplet, fault, old)
    acks = [a for w in clients for a in w.acks]
    acked = {a.n for a in acks}
    final = _pointer(triplet).primary
    present = _present(triplet, final, run)
    lost = sorted(acked - present.keys())
    duplicated = sorted(n for n, c in present.items() if c > 1)
    old_has_all = None
    if rejoined:
        old_rows = _present(triplet, old, run)
        old_has_all = not (acked - old_rows.keys())
    duration = max((a.t_s for a in acks), default=fault_t) - min((a.t_s for a in acks), default=fault_t)
    lags = [v for sample in loop.lag_samples for v in sample.values()]
    second_fields: dict[str, Any] = {}
    if second:
        second_fields = {"second_victim": second_victim,
                         "second_write_outage_s": round(write_outage_s(acks, second_t), 3) if second_t is not None else None}
        # The first outage is the longest gap between the two faults.
        acks_first = [a for a in acks if second_t is None or a.t_s < second_t]
        first_outage = write_outage_s(acks_first, fault_t)
    else:
        first_outage = write_outage_s(acks, fault_t)
    return {
        **second_fields,
        "fault": fault,
        "acked": len(acked),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "write_outage_s": round(first_outage, 3),
        "new_primary": new_primary,
        "old_primary": old,
        "old_primary_rejoined_as_replica": rejoined,
        "old_primary_has_every_acked_row": old_has_all,
        "epoch": _pointer(triplet).epoch,
        "acked_per_s": round(len(acks) / duration, 1) if duration > 0 else 0.0,
        "uncertain_attempts": sum(w.failed_attempts for w in clients),
        "fenced_attempts": sum(w.fenced_attempts for w in clients),
        "rows_present": len(present),
        "lag_bytes_max": int(max((v["lag_bytes"] for v in lags), default=0)),
        "lag_s_max": round(max((v["lag_s"] for v in lags), default=0.0), 3),
        "lost_ns": lost[:20],
        "duplicated_ns": duplicated[:20],
        "timeline": [_entry(e, fault_t) for e in loop.timeline]
        + [f"{a.t_s - fault_t:+.3f}s adapter {a.action}: {a.detail}" for a in loop.adapter.log],
    }


def _entry(entry: TimelineEntry, fault_t: float) -> str:
    return f"{entry.t_s - fault_t:+.3f}s {entry.actor} {entry.event}"


def check_passed(report: dict[str, Any]) -> bool:
    return bool(report["lost"] == 0 and report["duplicated"] == 0 and report["new_primary"] is not None)
