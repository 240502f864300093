"""Patroni against godseye's gated failover: the same three PostgreSQL 15 clusters, the same writers.

    .venv/bin/python benchmarks/pg_peer.py [--rate 100] [--writers 2] [--json FILE] [--only NAME ...]

Runs (each on fresh clusters):
- godseye:         the lab triplet (synchronous quorum ANY 1), the real control plane and adapter.
- patroni-default: Patroni (PyPI) with etcd (Debian's etcd-server), synchronous_mode on, ttl 30 s,
                   loop_wait 10 s, retry_timeout 10 s (its defaults).
- patroni-short:   the same with the shortest timings Patroni accepts: ttl 20 s (its enforced
                   minimum), loop_wait 1 s, retry_timeout 3 s.
Each is hit twice: the primary's node killed (SIGKILL of PostgreSQL, and of Patroni for Patroni),
then, on fresh clusters, hung (SIGSTOP of the same processes). The writers insert numbered rows
at a steady rate; Patroni's clients list all three hosts with target_session_attrs=read-write (how
Patroni is used without a proxy), godseye's follow its primary pointer. Printed per run: write outage
(last ack before the fault to first ack after), acknowledged, lost and duplicated writes.

Patroni is installed on first use into `<lab dir>/patroni-venv` with pip; etcd must be installed
(`apt-get install etcd-server`). Everything runs on loopback and is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from godseye.live.paths import cloud_address, lab_dir
from godseye.live.pg.cluster import CLOUDS, Triplet, cluster_pids, pg_bin
from godseye.live.pg.write_check import run_check, write_outage_s
from godseye.live.pg.writers import CREATE_SQL, INDEX_SQL, MultiHostRoute, Writer

PATRONI_VERSION = "4.1.5"
SCOPE = "godseye-peer"
PG_BASE_PORT = 27432
REST_BASE_PORT = 28108
ETCD_CLIENT_PORT = 23790
ETCD_PEER_PORT = 23800
READY_TIMEOUT_S = 120.0
FAILOVER_TIMEOUT_S = 120.0
POLL_S = 0.05


@dataclass(frozen=True)
class Timing:
    name: str
    ttl: int
    loop_wait: int
    retry_timeout: int


DEFAULT = Timing("patroni-default", 30, 10, 10)
SHORT = Timing("patroni-short", 20, 1, 3)


def patroni_bin(venv: Path) -> Path:
    exe = venv / "bin" / "patroni"
    if not exe.exists():
        # Patroni runs as the postgres user, so the venv's interpreter must be one that user can reach
        # (a pyenv build under /root is not): Debian's python3.
        base = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"patroni[etcd3]=={PATRONI_VERSION}", "psycopg[binary]"],
                       check=True, timeout=600)
    return exe


def _node_yaml(root: Path, i: int, cloud: str, timing: Timing) -> str:
    host = cloud_address(i, 1)
    data = root / "patroni" / cloud
    # JSON is YAML: no YAML writer needed for Patroni's configuration file.
    config: dict[str, Any] = {
        "scope": SCOPE,
        "name": cloud,
        "restapi": {"listen": f"{host}:{REST_BASE_PORT + i}", "connect_address": f"{host}:{REST_BASE_PORT + i}"},
        "etcd3": {"hosts": f"127.0.0.1:{ETCD_CLIENT_PORT}"},
        "bootstrap": {
            "dcs": {
                "ttl": timing.ttl, "loop_wait": timing.loop_wait, "retry_timeout": timing.retry_timeout,
                "maximum_lag_on_failover": 1048576, "synchronous_mode": True,
                "postgresql": {"use_pg_rewind": True, "parameters": {
                    "wal_level": "replica", "hot_standby": "on", "max_wal_senders": 10, "wal_keep_size": "256MB",
                    "wal_log_hints": "on", "max_connections": 60, "shared_buffers": "32MB"}},
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
        },
        "postgresql": {
            "listen": f"{host}:{PG_BASE_PORT + i}", "connect_address": f"{host}:{PG_BASE_PORT + i}",
            "data_dir": str(data), "bin_dir": str(Path(pg_bin("postgres")).parent),
            "pgpass": str(root / "patroni" / f"{cloud}.pgpass"),
            "authentication": {"superuser": {"username": "postgres", "password": "peer"},
                               "replication": {"username": "replicator", "password": "peer"}},
            "pg_hba": ["host replication replicator 127.0.0.0/8 trust", "host all all 127.0.0.0/8 trust"],
            "parameters": {"unix_socket_directories": str(root / "patroni")},
        },
    }
    return json.dumps(config, indent=1)


class PatroniCluster:
    def __init__(self, root: Path, patroni: Path, timing: Timing) -> None:
        self.root = root
        self.patroni = patroni
        self.timing = timing
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.etcd: subprocess.Popen[bytes] | None = None
        self.hosts = {c: (cloud_address(i, 1), PG_BASE_PORT + i) for i, c in enumerate(CLOUDS)}

    def start(self) -> None:
        etcd = shutil.which("etcd")
        if etcd is None:
            raise SystemExit("etcd not found: apt-get install etcd-server")
        (self.root / "patroni").mkdir(parents=True)
        shutil.chown(self.root / "patroni", "postgres", "postgres")
        with open(self.root / "etcd.log", "wb") as log:
            self.etcd = subprocess.Popen(
                [etcd, "--name", "peer", "--data-dir", str(self.root / "etcd"),
                 "--listen-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_PORT}",
                 "--advertise-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_PORT}",
                 "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
                 "--initial-cluster", f"peer=http://127.0.0.1:{ETCD_PEER_PORT}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for i, cloud in enumerate(CLOUDS):
            config = self.root / "patroni" / f"{cloud}.yml"
            config.write_text(_node_yaml(self.root, i, cloud, self.timing))
            shutil.chown(config, "postgres", "postgres")
            with open(self.root / f"patroni-{cloud}.log", "wb") as log:
                self.procs[cloud] = subprocess.Popen([str(self.patroni), str(config)], user="postgres", stdout=log,
                                                     stderr=subprocess.STDOUT, start_new_session=True)
            if i == 0:
                # The first node bootstraps alone, so it is the first leader (aws, as in the lab).
                self._wait(lambda: self.leader() == "aws", "aws to bootstrap and lead")
        self._wait(self._ready, "a leader, a synchronous standby and a streaming replica")

    def _wait(self, until: Any, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not until():
            if time.monotonic() > deadline:
                raise SystemExit(f"Patroni: timed out waiting for {what} (logs in {self.root})")
            time.sleep(0.5)

    def members(self) -> list[dict[str, Any]]:
        for i, _cloud in enumerate(CLOUDS):
            try:
                r = httpx.get(f"http://{cloud_address(i, 1)}:{REST_BASE_PORT + i}/cluster", timeout=1.0)
                members: list[dict[str, Any]] = r.json().get("members", [])
                return members
            except (httpx.HTTPError, ValueError):
                continue
        return []

    def leader(self) -> str | None:
        return next((m["name"] for m in self.members() if m.get("role") == "leader" and m.get("state") == "running"), None)

    def _ready(self) -> bool:
        members = self.members()
        roles = sorted(str(m.get("role")) for m in members)
        streaming = [m for m in members if m.get("state") in ("streaming", "running")]
        return "leader" in roles and "sync_standby" in roles and len(streaming) == 3

    def node_pids(self, cloud: str) -> list[int]:
        pids = [self.procs[cloud].pid]
        try:
            postmaster = int((self.root / "patroni" / cloud / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return pids
        # Patroni names every node's processes after the scope, so a node's own are found by parentage.
        return pids + cluster_pids(None, postmaster)

    def signal_node(self, cloud: str, sig: signal.Signals) -> None:
        for pid in self.node_pids(cloud):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue

    def stop(self) -> None:
        for cloud in self.procs:
            self.signal_node(cloud, signal.SIGCONT)
        for proc in self.procs.values():
            proc.kill()
            proc.wait(10)
        for cloud in CLOUDS:
            data = self.root / "patroni" / cloud
            if (data / "postmaster.pid").exists():
                subprocess.run([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "10", "stop"], user="postgres",
                               capture_output=True, timeout=30, check=False)
        # Anything of the clusters still alive (children orphaned by the kill) carries the scope in its title.
        deadline = time.monotonic() + 10
        while (left := cluster_pids(SCOPE, None)) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            time.sleep(0.1)
        if self.etcd is not None:
            self.etcd.kill()
            self.etcd.wait(10)


def run_patroni(base: Path, patroni: Path, timing: Timing, fault: str, rate: float, writers: int) -> dict[str, Any]:
    root = base / f"{timing.name}-{fault}"
    root.mkdir()
    cluster = PatroniCluster(root, patroni, timing)
    try:
        cluster.start()
        old = cluster.leader() or "aws"
        host, port = cluster.hosts[old]
        with psycopg.connect(f"host={host} port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(CREATE_SQL)
            conn.execute(INDEX_SQL)
        route = MultiHostRoute(cluster.hosts, "postgres", "postgres")
        run = uuid.uuid4().hex[:12]
        clients = [Writer(route, run, i, writers, rate / writers) for i in range(writers)]
        for w in clients:
            w.start()
        try:
            _watch(clients, 3.0)
            fault_t = time.monotonic()
            cluster.signal_node(old, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
            deadline = fault_t + FAILOVER_TIMEOUT_S
            def resumed() -> bool:
                return any(a.cloud not in (old, "?") and a.t_s > fault_t for w in clients for a in w.acks)

            while time.monotonic() < deadline and not resumed():
                _watch(clients, POLL_S)
            _watch(clients, 3.0)
        finally:
            for w in clients:
                w.stop()
        new = cluster.leader()
        acks = [a for w in clients for a in w.acks]
        present: dict[int, int] = {}
        if new is not None:
            h, p = cluster.hosts[new]
            with psycopg.connect(f"host={h} port={p} user=postgres dbname=postgres", autocommit=True) as conn:
                rows = conn.execute("SELECT n, count(*) FROM writes WHERE run = %s GROUP BY n", (run,)).fetchall()
            present = {int(n): int(c) for n, c in rows}
        acked = {a.n for a in acks}
        return {"system": timing.name, "fault": fault, "ttl_s": timing.ttl, "loop_wait_s": timing.loop_wait,
                "acked": len(acked), "lost": len(acked - present.keys()) if new else None,
                "duplicated": sum(1 for c in present.values() if c > 1),
                "write_outage_s": round(write_outage_s(acks, fault_t), 3), "new_primary": new, "old_primary": old}
    finally:
        cluster.stop()


def _watch(clients: list[Writer], seconds: float) -> None:
    end = time.monotonic() + seconds
    while True:
        for w in clients:
            w.abort_if_stuck()
        if time.monotonic() >= end:
            return
        time.sleep(POLL_S)


def run_godseye(base: Path, fault: str, rate: float, writers: int) -> dict[str, Any]:
    triplet = Triplet(base / f"godseye-{fault}" / "pg")
    try:
        triplet.up()
        report = run_check(triplet, "kill" if fault == "kill" else "pause", rate_per_s=rate, writers=writers)
    finally:
        triplet.down()
    return {"system": "godseye", "fault": fault, "ttl_s": None, "loop_wait_s": None, "acked": report["acked"],
            "lost": report["lost"], "duplicated": report["duplicated"], "write_outage_s": report["write_outage_s"],
            "new_primary": report["new_primary"], "old_primary": report["old_primary"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="writes per second, all writers together")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=["godseye", DEFAULT.name, SHORT.name])
    parser.add_argument("--faults", nargs="*", default=["kill", "hang"])
    parser.add_argument("--patroni-venv", type=Path, default=None, help="venv holding patroni (default: <lab dir>/patroni-venv)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the clusters run as the postgres user")
    base = Path(tempfile.mkdtemp(prefix="godseye-pg-peer-"))
    base.chmod(0o755)
    results: list[dict[str, Any]] = []
    try:
        wanted = any(n.startswith("patroni") for n in args.only)
        patroni = patroni_bin(args.patroni_venv or lab_dir() / "patroni-venv") if wanted else None
        for name in args.only:
            for fault in args.faults:
                print(f"{name}: {fault} the primary ...", flush=True)
                if name == "godseye":
                    result = run_godseye(base, fault, args.rate, args.writers)
                else:
                    assert patroni is not None
                    timing = DEFAULT if name == DEFAULT.name else SHORT
                    result = run_patroni(base, patroni, timing, fault, args.rate, args.writers)
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\n{'system':16} {'fault':5} {'outage s':>9} {'acked':>6} {'lost':>5} {'dup':>4}  new primary")
    for r in results:
        print(f"{r['system']:16} {r['fault']:5} {r['write_outage_s']:9.2f} {r['acked']:6} {r['lost']!s:>5} {r['duplicated']:4}  "
              f"{r['new_primary']}")
    if args.json is not None:
        args.json.write_text(json.dumps({"rate_per_s": args.rate, "writers": args.writers, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
