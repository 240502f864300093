"""The lab's real components: one process per service replica in each cloud's loopback range, and
a real HAProxy edge in front of them, driven only through its runtime API.

`Lab` knows what *should* run (the replicas the controllers asked for) separately from what *does*
run: chaos kills processes without changing the desired state, so probes keep probing a dead cloud
and weights keep counting its replicas until the controllers decide otherwise.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import aiohttp

from godseye.live.haproxy_config import EdgeMode, server_weight, write_config
from godseye.live.haproxy_runtime import EdgeError, HAProxyRuntime, ServerAdminState, set_state_command, set_weight_command
from godseye.live.lab_spec import LabSpec, Replica, lab_replicas
from godseye.live.probes import Endpoint
from godseye.live.supervisor import Supervisor, cleanup_leftovers

HAPROXY_NAME = "haproxy"
READY_TIMEOUT_S = 30.0
READY_POLL_S = 0.1


class LabError(Exception):
    pass


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)
    if found is None:
        raise LabError("haproxy is not installed: run scripts/install-lab-deps.sh (apt-get install haproxy)")
    return found


def backend(service: str) -> str:
    return f"be_{service}"


class Lab:
    def __init__(self, spec: LabSpec, directory: Path, mode: EdgeMode = "godseye") -> None:
        self.spec = spec
        self.directory = directory
        self.mode = mode
        self.supervisor = Supervisor(directory)
        self.edge_dir = directory / "edge"
        self.runtime = HAProxyRuntime(self.edge_dir / "haproxy.sock")
        self.desired: dict[tuple[str, str], int] = {
            (c, p.name): spec.initial_replicas(c, p.name) for p in spec.services for c in spec.clouds
        }
        self.weights: dict[str, dict[str, int]] = {p.name: dict(p.weights) for p in spec.services}
        # The PostgreSQL triplet's folder when the lab runs its datastores: services using a sql
        # datastore then record an order per request there (service_app.py).
        self.orders_root: Path | None = None
        # Clouds chaos killed or hung: nothing starts there until they are restored. Without this a
        # scale-up already in flight when a cloud is killed started a live process in the dead cloud.
        self.down_clouds: set[str] = set()
        self._lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------------

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.spec.sizing.edge_port}"

    async def start(self, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        cleanup_leftovers(self.directory)
        binary = haproxy_binary()
        files = write_config(self.spec, self.edge_dir, self.mode)
        files.socket.unlink(missing_ok=True)
        for r in self.desired_replicas():
            self._start_replica(r)
        self.supervisor.start(HAPROXY_NAME, [binary, "-f", str(files.config), "-db"])
        deadline = time.monotonic() + ready_timeout_s
        await self._wait_edge(deadline)
        await self.wait_ready(self.desired_replicas(), deadline)

    def stop(self) -> None:
        self.supervisor.stop_all()

    async def _wait_edge(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if not self.supervisor.is_running(HAPROXY_NAME):
                log = (self.supervisor.log_dir / f"{HAPROXY_NAME}.log").read_text(errors="replace")[-2000:]
                raise LabError(f"haproxy exited at start:\n{log}")
            try:
                await self.runtime.command("show info")
                return
            except EdgeError:  # not up yet; the deadline bounds the wait
                await asyncio.sleep(READY_POLL_S)
        raise LabError("haproxy's stats socket did not answer in time")

    async def wait_ready(self, replicas: list[Replica], deadline: float) -> None:
        """Wait until every replica answers /healthz (bounded by `deadline`, a monotonic time)."""
        waiting = {r.name: r for r in replicas}
        async with aiohttp.ClientSession() as session:
            while waiting and time.monotonic() < deadline:
                for name, r in list(waiting.items()):
                    try:
                        async with session.get(self.health_url(r), timeout=aiohttp.ClientTimeout(total=0.5)) as resp:
                            if resp.status == 200:
                                del waiting[name]
                    except (aiohttp.ClientError, OSError, TimeoutError):
                        if not self.supervisor.is_running(name):
                            raise LabError(f"replica {name} exited at start; see {self.supervisor.log_dir}/{name}.log") from None
                if waiting:
                    await asyncio.sleep(READY_POLL_S)
        if waiting:
            raise LabError(f"replicas not ready in time: {', '.join(sorted(waiting))}")

    # ---- what runs ---------------------------------------------------------------------------------

    def desired_replicas(self, cloud: str | None = None, service: str | None = None) -> list[Replica]:
        return [
            r
            for r in self.spec.slots
            if r.index < self.desired[(r.cloud, r.service)]
            and (cloud is None or r.cloud == cloud)
            and (service is None or r.service == service)
        ]

    def health_url(self, r: Replica) -> str:
        return f"http://{r.host}:{r.port}/healthz"

    def load_url(self, r: Replica) -> str:
        return f"http://{r.host}:{r.port}/load?window_s={self.spec.sizing.stats_interval_s:g}"

    def endpoints(self) -> list[Endpoint]:
        out: list[Endpoint] = []
        for (cloud, service), n in self.desired.items():
            if n > 0:
                urls = tuple(self.health_url(r) for r in self.desired_replicas(cloud, service))
                out.append(Endpoint(cloud, service, urls))
        return out

    def _start_replica(self, r: Replica) -> None:
        argv = [
            sys.executable, "-m", "godseye.live.service_app",
            "--service", r.service, "--cloud", r.cloud, "--replica", str(r.index),
            "--host", r.host, "--port", str(r.port),
            "--service-time-ms", str(self.spec.service_time_ms(r.service)),
        ]  # fmt: skip
        if self.orders_root is not None and self.writes_orders(r.service):
            argv += ["--orders-root", str(self.orders_root)]
        self.supervisor.start(r.name, argv)

    def writes_orders(self, service: str) -> bool:
        platform = self.spec.platform
        return any(platform.datastores[d].kind == "sql" for d in platform.services[service].data if d in platform.datastores)

    def start_missing(self, cloud: str | None = None) -> list[Replica]:
        """Start desired replicas that are not running (after a kill); returns those started."""
        started = [r for r in self.desired_replicas(cloud) if not self.supervisor.is_running(r.name)]
        for r in started:
            self._start_replica(r)
        return started

    # ---- what the controllers change ------------------------------------------------------------------

    def _weight_commands(self, service: str) -> list[str]:
        cmds: list[str] = []
        for cloud in self.spec.clouds:
            slots = self.spec.slots_of(cloud, service)
            up = self.desired[(cloud, service)]
            pct = self.weights[service].get(cloud, 0)
            for r in slots:
                w = server_weight(pct, up) if r.index < up else 0
                cmds.append(set_weight_command(backend(service), r.server, w))
        return cmds

    async def set_weights(self, service: str, weights: dict[str, int]) -> None:
        async with self._lock:
            self.weights[service] = {c: int(weights.get(c, 0)) for c in self.spec.clouds}
            await self.runtime.apply(self._weight_commands(service))

    async def scale(self, cloud: str, service: str, replicas: int) -> tuple[int, int]:
        """Run `replicas` processes of a service in a cloud (clamped to the lab's cap). Returns (before, after)."""
        n = lab_replicas(replicas, self.spec.sizing.replicas_cap)
        async with self._lock:
            before = self.desired[(cloud, service)]
            if not self.spec.slots_of(cloud, service) or n == before:
                return before, before
            self.desired[(cloud, service)] = n
            slots = self.spec.slots_of(cloud, service)
            new = [r for r in slots if before <= r.index < n and cloud not in self.down_clouds]
            for r in new:
                if not self.supervisor.is_running(r.name):
                    self._start_replica(r)
            if new:
                await self.wait_ready(new, time.monotonic() + READY_TIMEOUT_S)
            states: list[str] = []
            for r in slots:
                state: ServerAdminState = "ready" if r.index < n else "maint"
                states.append(set_state_command(backend(service), r.server, state))
            await self.runtime.apply(states + self._weight_commands(service))
            for r in slots:
                if r.index >= n:
                    # A stop waits for the process to exit (up to its grace): on a thread, so the plane's
                    # probes and steering on this loop carry on meanwhile.
                    await asyncio.to_thread(self.supervisor.stop, r.name)
            return before, n
