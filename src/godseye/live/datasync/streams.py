"""Stream-kind datastores on real Redis (Debian's redis-server): one server per lab cloud, the aws one
primary, the other two asynchronous replicas (`replicaof`), which is what a stream's RPO target of
5 s allows. Writes are XADDs to a stream; positions are Redis replication offsets (bytes of the
replication stream): the primary's `master_repl_offset` is what it acknowledged, each replica's
`slave_repl_offset` what it received and applied (Redis applies as it receives).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from godseye.control.observations import ReplicaPosition
from godseye.live.datasync.resp import Resp, RespError
from godseye.live.paths import cloud_address, lab_dir

CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")
BASE_PORT = 26379
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class StreamError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class RedisNode:
    cloud: str
    host: str
    port: int
    dir: Path
    pid_file: Path


def _alive(pid: int, port: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and "redis-server" in cmdline and f":{port}" in cmdline


def parse_info(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


class RedisTrio:
    def __init__(self, root: Path | None = None, base_port: int = BASE_PORT, datastore: str = "order-events") -> None:
        self.root = root if root is not None else lab_dir() / "streams"
        self.datastore = datastore
        self.nodes = {c: RedisNode(c, cloud_address(i, 1), base_port + i, self.root / c, self.root / f"{c}.pid")
                      for i, c in enumerate(CLOUDS)}
        self.primary = CLOUDS[0]
        self._last: dict[str, ReplicaPosition] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}  # ours to reap when this process started them

    def up(self) -> None:
        self.down()
        for cloud in self.nodes:
            self.start_node(cloud, None if cloud == self.primary else self.primary)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(self._linked(c) for c in self.nodes):
            if time.monotonic() > deadline:
                self.down()
                raise StreamError(f"redis replicas did not link to {self.primary} within {START_TIMEOUT_S:g} s")
            time.sleep(0.1)

    def start_node(self, cloud: str, replicaof: str | None) -> None:
        """Start one server (no persistence: a killed one comes back empty, as a lost cloud's cache would)."""
        server = shutil.which("redis-server")
        if server is None:
            raise StreamError("redis-server not found: apt-get install redis-server")
        node = self.nodes[cloud]
        node.dir.mkdir(parents=True, exist_ok=True)
        args = [server, "--bind", node.host, "--port", str(node.port), "--dir", str(node.dir), "--save", "",
                "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
                "--logfile", str(node.dir / "redis.log"), "--replica-announce-ip", node.host]
        if replicaof is not None:
            source = self.nodes[replicaof]
            args += ["--replicaof", source.host, str(source.port)]
        old = self._procs.pop(cloud, None)
        if old is not None:
            old.wait(STOP_TIMEOUT_S)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        node.pid_file.write_text(f"{proc.pid}\n")
        self._procs[cloud] = proc
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                self.info(cloud)
                return
            except (RespError, OSError):
                time.sleep(0.05)
        raise StreamError(f"redis-server of {cloud} did not answer within {START_TIMEOUT_S:g} s")

    def kill(self, cloud: str) -> None:
        """The cloud dies: SIGKILL, and wait until the kernel has it gone."""
        node = self.nodes[cloud]
        pid = self.pid(cloud)
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid, node.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        proc = self._procs.pop(cloud, None)
        if proc is not None:
            proc.wait(STOP_TIMEOUT_S)
        if _alive(pid, node.port):
            raise StreamError(f"redis-server {pid} of {cloud} survived SIGKILL")
        node.pid_file.unlink(missing_ok=True)

    def replicate(self, cloud: str, source: str | None) -> None:
        """REPLICAOF the source's address, or NO ONE (promotion: it takes writes from now on)."""
        node = self.nodes[cloud]
        client = Resp(node.host, node.port)
        try:
            if source is None:
                client.call("REPLICAOF", "NO", "ONE")
            else:
                src = self.nodes[source]
                client.call("REPLICAOF", src.host, str(src.port))
        finally:
            client.close()

    def _linked(self, cloud: str) -> bool:
        try:
            info = self.info(cloud)
        except (RespError, OSError):
            return False
        return info.get("role") == "master" or info.get("master_link_status") == "up"

    def info(self, cloud: str) -> dict[str, str]:
        node = self.nodes[cloud]
        client = Resp(node.host, node.port, timeout_s=0.5)
        try:
            reply = client.call("INFO", "replication")
        finally:
            client.close()
        if not isinstance(reply, bytes):
            raise RespError("INFO gave no text")
        return parse_info(reply.decode())

    def pid(self, cloud: str) -> int | None:
        node = self.nodes[cloud]
        try:
            pid = int(node.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid, node.port) else None

    def pause(self, cloud: str) -> None:
        pid = self.pid(cloud)
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)

    def resume(self, cloud: str) -> None:
        pid = self.pid(cloud)
        if pid is not None:
            os.kill(pid, signal.SIGCONT)

    def down(self) -> None:
        for cloud, node in self.nodes.items():
            pid = self.pid(cloud)
            if pid is None:
                continue
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(pid, node.port) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid, node.port):
                raise StreamError(f"redis-server {pid} of {cloud} survived SIGKILL")
            node.pid_file.unlink(missing_ok=True)
        for proc in self._procs.values():
            proc.wait(STOP_TIMEOUT_S)
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def stall(self, cloud: str) -> None:
        """Cut replication to one replica while it stays observable: it now follows an address where
        nothing listens, so its offset freezes while the primary moves on."""
        node = self.nodes[cloud]
        client = Resp(node.host, node.port)
        try:
            client.call("REPLICAOF", "127.0.0.1", "1")
        finally:
            client.close()

    def positions(self, t_s: float, skip: frozenset[str] = frozenset()) -> list[ReplicaPosition]:
        """One observation per server (none for `skip`); an unreachable one keeps its last known positions."""
        out: list[ReplicaPosition] = []
        for cloud in self.nodes:
            if cloud in skip:
                continue
            try:
                info = self.info(cloud)
            except (RespError, OSError):
                last = self._last.get(cloud)
                if last is not None:
                    out.append(ReplicaPosition(t_s, self.datastore, cloud, last.role, last.acked_pos, last.received_pos,
                                               last.replayed_pos, reachable=False))
                continue
            # A replica's own master_repl_offset is what it has applied, linked or not.
            offset = int(info.get("master_repl_offset", "0"))
            role: Literal["primary", "replica"] = "primary" if info.get("role") == "master" else "replica"
            position = ReplicaPosition(t_s, self.datastore, cloud, role, offset, offset, offset)
            self._last[cloud] = position
            out.append(position)
        return out


class StreamWriter:
    """XADDs numbered events to the primary's stream at a steady rate, in its own thread."""

    def __init__(self, trio: RedisTrio, rate_per_s: float) -> None:
        self.trio = trio
        self.interval_s = 1.0 / rate_per_s
        self.acked = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        node = self.trio.nodes[self.trio.primary]
        client: Resp | None = None
        n = 0
        while not self._stop.is_set():
            try:
                client = client or Resp(node.host, node.port)
                client.call("XADD", self.trio.datastore, "MAXLEN", "~", 100_000, "*", "n", n, "payload", "x" * 200)
                self.acked += 1
                n += 1
            except (RespError, OSError):
                self.failed += 1
                if client is not None:
                    client.close()
                client = None
            self._stop.wait(self.interval_s)
        if client is not None:
            client.close()
