"""The lab from the command line, a crash that leaves nothing behind, and the live drill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from godseye.live.lab_data import data_available
from godseye.live.pg.cluster import Triplet
from godseye.live.supervisor import alive_records, read_records

pytestmark = pytest.mark.live

GODSEYE = [str(Path(sys.executable).with_name("godseye"))]
CRASHER = """
import asyncio, sys
from pathlib import Path
from godseye.live.lab import Lab
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.spec.loader import load_platform

async def main() -> None:
    lab = Lab(build_lab_spec(load_platform(), LabSizing(services_per_tier={1: 1}, replicas_cap=1)), Path(sys.argv[1]))
    await lab.start()
    print("up", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def godseye(*args: str, lab_dir: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GODSEYE_LAB_DIR": str(lab_dir), "COLUMNS": "160"}
    return subprocess.run([*GODSEYE, *args], env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


def wait_for_page(lab_dir: Path, timeout_s: float = 10.0) -> bool:
    """The outage page reaches the receiver within the bound (detection is ~1-2 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "godseye/cloud-outage/aws" in godseye("lab", "status", lab_dir=lab_dir).stdout:
            return True
        time.sleep(0.5)
    return False


def test_a_crashed_lab_leaves_no_process_behind(lab_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(lab_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        children = read_records(lab_dir)
        assert len(children) == 4  # haproxy + pos in three clouds
        proc.send_signal(signal.SIGKILL)  # the lab crashes: no finally, no cleanup code runs
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5.0
        while alive_records(lab_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The kernel's parent-death signal took the children down with it.
        assert not alive_records(lab_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


WITH_DATA = data_available(Path(tempfile.gettempdir())) is None


@pytest.fixture
def any_lab_dir(request: pytest.FixtureRequest) -> Path:
    """With the lab's datastores where this machine can run them (PostgreSQL, Redis, rsync, root), else without."""
    d: Path = request.getfixturevalue("data_lab_dir" if WITH_DATA else "lab_dir")
    return d


def wait_for_failover(lab_dir: Path, timeout_s: float = 20.0) -> str | None:
    """The new primary of orders once the plane has promoted it and released writes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        m = re.search(r"orders primary (\w+) \(epoch (\d+)(, writes held)?\)", godseye("lab", "status", lab_dir=lab_dir).stdout)
        if m and m.group(1) != "aws" and not m.group(3):
            return m.group(1)
        time.sleep(0.5)
    return None


def order_through_edge(order: str, timeout_s: float = 10.0) -> dict[str, object]:
    """One pos request through HAProxy (retried while the edge still answers 503), its JSON answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:28080/pos/lab/{order}", timeout=2.0) as resp:
                body: dict[str, object] = json.loads(resp.read())
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_up_status_chaos_down(any_lab_dir: Path) -> None:
    """`lab up --pg` (where possible): the services write orders on the primary, the plane fails it over
    when aws is killed with its database, and they write on the new primary without a restart."""
    lab_dir = any_lab_dir
    try:
        up = godseye("lab", "up", "--rps", "60", *(["--pg"] if WITH_DATA else []), lab_dir=lab_dir)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "aws" in up.stdout and "127.0.1.0/24" in up.stdout
        assert len(alive_records(lab_dir / "daemon")) == 1
        assert len(alive_records(lab_dir)) >= 4
        if WITH_DATA:
            assert "orders primary aws (epoch 1)" in up.stdout, up.stdout
            assert order_through_edge("before-kill")["order"] == "pos-before-kill"
        kill = godseye("lab", "chaos", "kill-cloud", "aws", lab_dir=lab_dir)
        assert kill.returncode == 0 and "pos.aws.0" in kill.stdout, kill.stderr
        status = godseye("lab", "status", lab_dir=lab_dir)
        assert status.returncode == 0
        assert "0/" in status.stdout  # aws: no process running
        assert wait_for_page(lab_dir), "the outage page reached the lab's receiver"
        if WITH_DATA:
            assert "postgres.aws" in kill.stdout and "redis.aws" in kill.stdout
            primary = wait_for_failover(lab_dir)
            assert primary is not None and primary in ("gcp", "azure"), godseye("lab", "status", lab_dir=lab_dir).stdout
            now = godseye("lab", "status", lab_dir=lab_dir).stdout
            assert "order-events primary aws" not in now and "product-media primary aws" not in now, now
            assert order_through_edge("after-kill")["order"] == "pos-after-kill"
            node = Triplet(lab_dir / "pg").nodes[primary]
            with psycopg.connect(node.dsn(), autocommit=True) as conn:
                rows = conn.execute("SELECT id FROM orders WHERE id IN ('pos-before-kill', 'pos-after-kill')").fetchall()
            assert sorted(r[0] for r in rows) == ["pos-after-kill", "pos-before-kill"]
        bad = godseye("lab", "chaos", "kill-cloud", "nowhere", lab_dir=lab_dir)
        assert bad.returncode == 2 and "no cloud named 'nowhere'" in bad.stderr
    finally:
        down = godseye("lab", "down", lab_dir=lab_dir)
    assert down.returncode == 0 and "lab down" in down.stdout
    assert not alive_records(lab_dir) and not alive_records(lab_dir / "daemon")
    assert godseye("lab", "status", lab_dir=lab_dir).returncode == 1


def missed_on_time_only(report: Path) -> bool:
    """A drill that kept every RPO but missed an RTO: what a hiccup of a shared machine can cause."""
    if not report.exists():
        return False
    d = json.loads(report.read_text())
    return d["verdict"] == "missed" and all(s["rpo_s"] <= s["rpo_target_s"] for s in d["services"])


def test_drill_aws_region_outage_at_time_scale_60(any_lab_dir: Path, tmp_path: Path) -> None:
    lab_dir = any_lab_dir
    report = tmp_path / "lab-drill.json"

    def drill() -> subprocess.CompletedProcess[str]:
        run = godseye("lab", "drill", "aws-region-outage", "--time-scale", "60", "--json", str(report), lab_dir=lab_dir,
                      timeout_s=400.0)
        print(run.stdout)
        return run

    run = drill()
    if run.returncode == 1 and missed_on_time_only(report):
        # The three clouds share two cores and one disk with whatever else the machine runs: a stall of a
        # few hundred ms there, 30 s into the canary return, counts as a 30 s RTO from the restore. One
        # more run tells a hiccup of the machine from a drill that misses (which misses again); a lost
        # write (RPO) is never played again. The first run's episodes are printed above.
        print("missed on RTO only; playing the drill once more")
        run = drill()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "twin vs lab" in run.stdout
    d = json.loads(report.read_text())
    assert d["scenario"] == "aws-region-outage" and d["verdict"] == "met"
    for s in d["services"]:
        assert s["met"] and s["requests_total"] > 0, s
    cmp = d["comparison"]
    hc = d["lab"]["sizing"]["health_check"]
    assert cmp["detection_s"]["lab"] <= hc["failure_threshold"] * hc["interval_s"] + hc["interval_s"]
    # Every canary step, with its time, in the lab as in the twin.
    assert [w for _, w in cmp["canary_steps"]["lab"]] == [w for _, w in cmp["canary_steps"]["twin"]]
    assert len(cmp["canary_steps"]["lab"]) == 4
    pages = d["lab"]["pages"]
    keys = {p["dedup_key"] for p in pages if p["event_action"] == "trigger"}
    assert keys & {p["dedup_key"] for p in pages if p["event_action"] == "resolve"}, pages
    assert all(step["haproxy_server_weights"] for step in d["lab"]["steering_applied"])
    data = d["lab"]["data"]
    if not WITH_DATA:
        assert data is None
        return
    # The real datastores went down with aws and failed over on the plane's actions.
    orders, stream, objects = data["orders"], data["order-events"], data["product-media"]
    assert orders["acked"] > 1000 and orders["lost"] == 0 and orders["rpo_s"] == 0.0, orders
    assert orders["primary"] != "aws"
    assert orders["old_primary"] == {"cloud": "aws", "is_replica": True, "holds_acked": orders["acked"]}, orders
    for store in (stream, objects):
        assert store["primary"] != "aws" and store["acked"] > 100, store
        assert 0.0 <= store["rpo_s"] < 5.0, store  # measured: what the copy never received
    assert 0.0 < data["write_outage_s"] < 5.0, data
    # The report's RPO per service is the measured one of the datastores it uses.
    by_name = {s["name"]: s for s in d["services"]}
    assert by_name["pos"]["rpo_s"] == 0.0
    assert by_name["search"]["rpo_s"] == max(stream["rpo_s"], objects["rpo_s"])
