"""The PostgreSQL triplet under real faults: nothing acknowledged is lost or duplicated, the old
primary comes back as a replica, and the new primary is synchronous at once (a second failure right
after the first loses nothing either: the three checks run back to back on the same triplet)."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from godseye.live.paths import free_port_block
from godseye.live.pg.cluster import Triplet, cluster_pids
from godseye.live.pg.orders import OrdersStore
from godseye.live.pg.pointer import read_pointer, write_pointer
from godseye.live.pg.write_check import Fault, run_check

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not glob.glob("/usr/lib/postgresql/*/bin/postgres"), reason="PostgreSQL server not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="runs the clusters as the postgres user, which needs root"),
]


@pytest.fixture(scope="module")
def triplet() -> Iterator[Triplet]:
    # The postgres user must reach the data directories: pytest's tmp_path is private to root.
    root = Path(tempfile.mkdtemp(prefix="godseye-pg-test-"))
    root.chmod(0o755)
    t = Triplet(root / "pg", base_port=free_port_block(26432))
    try:
        t.up()
        yield t
    finally:
        t.down()
        shutil.rmtree(root, ignore_errors=True)
        left = {c: cluster_pids(n.title, None) for c, n in t.nodes.items()}
        assert not any(left.values()), f"PostgreSQL processes left behind: {left}"


def _check(triplet: Triplet, fault: Fault) -> None:
    old = read_pointer(triplet.root)
    assert old is not None
    report = run_check(triplet, fault, rate_per_s=100.0, writers=2, warmup_s=2.0, after_s=2.0)
    assert report["acked"] > 300
    assert report["lost"] == 0, report["lost_ns"]
    assert report["duplicated"] == 0, report["duplicated_ns"]
    assert report["new_primary"] not in (None, old.primary)
    assert 0 < report["write_outage_s"] <= 5.0
    assert report["old_primary_rejoined_as_replica"] is True
    assert report["old_primary_has_every_acked_row"] is True
    assert report["epoch"] == old.epoch + 1


@pytest.mark.timeout(150)
def test_kill_primary_loses_nothing(triplet: Triplet) -> None:
    """The write check, with a service's order client recording orders through the same failover."""
    store = OrdersStore(triplet.root, deadline_s=10.0)
    acked: list[str] = []
    stop = threading.Event()

    def orders() -> None:
        i = 0
        while not stop.is_set():
            if store.record(f"o-{i}"):
                acked.append(f"o-{i}")
            i += 1
            stop.wait(0.05)

    service = threading.Thread(target=orders, daemon=True)
    service.start()
    try:
        _check(triplet, "kill")
    finally:
        stop.set()
        service.join(15.0)
        store.close()
    pointer = read_pointer(triplet.root)
    assert pointer is not None and len(acked) > 50
    with psycopg.connect(triplet.nodes[pointer.primary].dsn(), autocommit=True) as conn:
        rows = dict(conn.execute("SELECT id, count(*) FROM orders GROUP BY id").fetchall())
    assert all(rows.get(o) == 1 for o in acked), "an acknowledged order is missing or duplicated"


@pytest.mark.timeout(30)
def test_orders_are_idempotent_and_wait_while_writes_are_held(triplet: Triplet) -> None:
    store = OrdersStore(triplet.root, deadline_s=0.5)
    try:
        assert store.record("same") and store.record("same")
        pointer = read_pointer(triplet.root)
        assert pointer is not None
        with psycopg.connect(triplet.nodes[pointer.primary].dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM orders WHERE id = 'same'").fetchone()
        assert row is not None and row[0] == 1
        write_pointer(triplet.root, replace(pointer, hold=True))
        try:
            started = time.monotonic()
            assert store.record("held") is False
            assert time.monotonic() - started < 2.0
        finally:
            write_pointer(triplet.root, pointer)
    finally:
        store.close()


@pytest.mark.timeout(150)
def test_pause_primary_loses_nothing(triplet: Triplet) -> None:
    _check(triplet, "pause")


@pytest.mark.timeout(150)
def test_partition_primary_loses_nothing(triplet: Triplet) -> None:
    _check(triplet, "partition")


@pytest.mark.timeout(60)
def test_primary_acknowledges_only_once_another_cloud_has_it(triplet: Triplet) -> None:
    """RPO 0 after promotions too: with both replicas hung, a commit on the primary does not return."""
    pointer = read_pointer(triplet.root)
    assert pointer is not None
    replicas = [c for c in triplet.clouds if c != pointer.primary]
    assert all(triplet.following(c) == pointer.primary for c in replicas)
    done = threading.Event()

    def commit() -> None:
        with psycopg.connect(triplet.nodes[pointer.primary].dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS rpo_probe (x int)")
            conn.execute("INSERT INTO rpo_probe VALUES (1)")
        done.set()

    for c in replicas:
        triplet.pause(c)
    try:
        writer = threading.Thread(target=commit, daemon=True)
        writer.start()
        assert not done.wait(1.5), "the primary acknowledged a commit no other cloud had"
    finally:
        for c in replicas:
            triplet.resume(c)
    assert done.wait(15.0), "the commit never returned once the replicas resumed"
    writer.join(5.0)


@pytest.mark.timeout(60)
def test_down_leaves_no_process_even_when_paused() -> None:
    root = Path(tempfile.mkdtemp(prefix="godseye-pg-test-"))
    root.chmod(0o755)
    t = Triplet(root / "pg", base_port=free_port_block(26932))
    try:
        t.up()
        t.pause("aws")
        t.kill("gcp")
        started = time.monotonic()
    finally:
        t.down()
        shutil.rmtree(root, ignore_errors=True)
    assert time.monotonic() - started < 30
    assert not any(cluster_pids(n.title, None) for n in t.nodes.values())
    assert not (root / "pg").exists()


@pytest.mark.timeout(150)
def test_second_failure_right_after_the_first_loses_nothing() -> None:
    """aws killed, gcp promoted; gcp killed a few writes later, before aws is back: azure is promoted
    with no standby left, so it acknowledges nothing until gcp returns and follows it."""
    root = Path(tempfile.mkdtemp(prefix="godseye-pg-test-"))
    root.chmod(0o755)
    t = Triplet(root / "pg", base_port=free_port_block(27032))
    try:
        t.up()
        report = run_check(t, "kill", warmup_s=2.0, after_s=2.0, second=True)
        assert report["lost"] == 0, report["lost_ns"]
        assert report["duplicated"] == 0, report["duplicated_ns"]
        assert (report["old_primary"], report["second_victim"], report["new_primary"]) == ("aws", "gcp", "azure")
        assert 0 < report["write_outage_s"] <= 5.0
        # No standby until gcp is back (2 s down, then rewound): writes wait rather than risk a loss.
        assert report["second_write_outage_s"] >= 2.0
        assert report["old_primary_rejoined_as_replica"] is True
        assert report["old_primary_has_every_acked_row"] is True
    finally:
        t.down()
        shutil.rmtree(root, ignore_errors=True)
    assert not any(cluster_pids(n.title, None) for n in t.nodes.values())
