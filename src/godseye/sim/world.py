"""Clouds, nodes and pods: the capacity side of the twin.

Rules (each an assumption, listed in docs/twin.md):
- A cloud's node pool holds ready nodes and booting nodes; a booting node is ready `node_boot_s`
  after it was asked for. The pool never exceeds `max_nodes`, nor an active capacity cap.
- A pod needs `pod_vcpu` free on a ready node of its cloud; it is ready `pod_start_s` after it was
  placed (image already present). Pods that do not fit wait (Pending) until nodes are ready.
- Pending pods are placed tier 1 first, then in spec order (Kubernetes PriorityClass). A pod that
  does not fit preempts running pods of a less critical tier (tier 3 first, then 2; starting pods
  before ready ones), as the Kubernetes scheduler does for a higher PriorityClass; the evicted pods
  go back to Pending and return when room appears.
- Scaling down cancels starting pods first, then stops ready pods at once (graceful drain ignored).
- Shrinking a pool removes booting nodes first, then idle ready nodes, never nodes running pods.
- While a cloud is down or hung nothing starts there; when it recovers, its pods restart and are
  ready `pod_start_s` later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform

IntArray = npt.NDArray[np.int64]

# Bound on outstanding start/boot batches, so a misbehaving plane cannot grow the twin without limit.
MAX_PENDING_BATCHES = 100_000


@dataclass(frozen=True, slots=True)
class NodesReady:
    t_s: float
    cloud: str
    count: int
    nodes_ready: int


class World:
    def __init__(self, platform: Platform, services: list[str], tiers: list[int], initial: IntArray,
                 nodes: list[int]) -> None:
        self.clouds = list(platform.clouds)
        self.services = services
        cl = [platform.clouds[c] for c in self.clouds]
        sv = [platform.services[s] for s in services]
        self.node_vcpu = np.array([c.node_vcpu for c in cl], dtype=np.float64)
        self.max_nodes = np.array([c.max_nodes for c in cl], dtype=np.int64)
        self.node_boot_s = [c.node_boot_s for c in cl]
        self.pod_start_s = [c.pod_start_s for c in cl]
        self.pod_vcpu = np.array([s.pod_vcpu for s in sv], dtype=np.float64)
        self.pod_rps = np.array([s.pod_rps for s in sv], dtype=np.float64)
        self.nodes_ready = np.array(nodes, dtype=np.int64)
        self.nodes_requested = self.nodes_ready.copy()
        self.caps: list[int | None] = [None] * len(cl)
        self.up = [True] * len(cl)
        self._booting: list[tuple[float, int, int]] = []  # (ready_at, cloud, count)
        self._starting: list[tuple[float, int, int, int]] = []  # (ready_at, service, cloud, count)
        self.pods_starting = np.zeros((len(services), len(cl)), dtype=np.int64)
        self.pods_desired = initial.astype(np.int64).copy()
        self.pods_ready = np.zeros_like(self.pods_desired)
        self._used = np.zeros(len(cl))
        # Placement order for pending pods: tier first, then spec order.
        self._order = sorted(range(len(services)), key=lambda i: (tiers[i], i))
        self.tiers = list(tiers)
        # Victims of preemption: least critical tier first, then the reverse of spec order.
        self._victims = sorted(range(len(services)), key=lambda i: (-tiers[i], -i))
        # The run starts in steady state: the planned pods are up if the planned nodes hold them.
        self._place_all(0.0, instant=True)
        self.version = 0
        # (victim service, cloud, pods, for service) since the engine last read them, for the timeline.
        self.preempted: list[tuple[str, str, int, str]] = []

    # -- capacity ------------------------------------------------------------------------------
    def vcpu_used(self) -> npt.NDArray[np.float64]:
        """vCPU held by ready and starting pods per cloud (kept up to date on every change, so a
        scale of one service costs the same however many services there are)."""
        return self._used

    def recount_vcpu(self) -> npt.NDArray[np.float64]:
        """vCPU per cloud counted from scratch: what `vcpu_used` must always equal (checked in tests)."""
        result: npt.NDArray[np.float64] = ((self.pods_ready + self.pods_starting) * self.pod_vcpu[:, None]).sum(axis=0)
        return result

    def effective_max_nodes(self, c: int) -> int:
        cap = self.caps[c]
        return int(self.max_nodes[c]) if cap is None else min(int(self.max_nodes[c]), cap)

    def _booting_count(self, c: int) -> int:
        return sum(n for _, cc, n in self._booting if cc == c)

    # -- requests from the plane ---------------------------------------------------------------
    def request_nodes(self, c: int, nodes: int, t: float) -> int:
        """Ask the pool of cloud c for `nodes` nodes; returns the count the pool will really hold."""
        target = max(0, min(nodes, self.effective_max_nodes(c)))
        have = int(self.nodes_ready[c]) + self._booting_count(c)
        if target > have and len(self._booting) < MAX_PENDING_BATCHES:
            self._booting.append((t + self.node_boot_s[c], c, target - have))
        elif target < have:
            self._shrink_nodes(c, have - target)
        self.nodes_requested[c] = int(self.nodes_ready[c]) + self._booting_count(c)
        self.version += 1
        return int(self.nodes_requested[c])

    def _shrink_nodes(self, c: int, excess: int) -> None:
        for i in range(len(self._booting) - 1, -1, -1):
            if excess == 0:
                break
            at, cc, n = self._booting[i]
            if cc != c:
                continue
            take = min(n, excess)
            excess -= take
            if take == n:
                del self._booting[i]
            else:
                self._booting[i] = (at, cc, n - take)
        busy = math.ceil(self.vcpu_used()[c] / self.node_vcpu[c] - 1e-9)
        removable = max(0, int(self.nodes_ready[c]) - busy)
        self.nodes_ready[c] -= min(excess, removable)

    def set_pods(self, s: int, c: int, replicas: int, t: float) -> None:
        self.pods_desired[s, c] = max(0, replicas)
        self._fit(s, c, t)
        self.version += 1

    # -- time ----------------------------------------------------------------------------------
    def next_event_s(self) -> float | None:
        times = [b[0] for b in self._booting] + [p[0] for p in self._starting]
        return min(times) if times else None

    def advance_to(self, t: float) -> list[NodesReady]:
        """Complete every boot and start due by t; returns node arrivals for the timeline."""
        arrived: list[NodesReady] = []
        if self._booting and min(b[0] for b in self._booting) <= t:
            keep: list[tuple[float, int, int]] = []
            for at, c, n in self._booting:
                if at <= t:
                    self.nodes_ready[c] += n
                    arrived.append(NodesReady(at, self.clouds[c], n, int(self.nodes_ready[c])))
                else:
                    keep.append((at, c, n))
            self._booting = keep
            self.version += 1
        if self._starting and min(p[0] for p in self._starting) <= t:
            rest: list[tuple[float, int, int, int]] = []
            for at, s, c, n in self._starting:
                if at <= t:
                    self.pods_starting[s, c] -= n
                    self.pods_ready[s, c] += n
                else:
                    rest.append((at, s, c, n))
            self._starting = rest
            self.version += 1
        if arrived:
            self._place_all(t)
        return arrived

    def set_cloud_up(self, c: int, up: bool, t: float) -> None:
        if self.up[c] == up:
            return
        self.up[c] = up
        if up:
            # Pods restart after the outage: they are ready one pod start later.
            for s in range(len(self.services)):
                n = int(self.pods_ready[s, c])
                if n > 0:
                    self.pods_ready[s, c] = 0
                    self.pods_starting[s, c] += n
                    self._starting.append((t + self.pod_start_s[c], s, c, n))
            self._place_all(t)
        self.version += 1

    def set_cap(self, c: int, cap: int | None) -> None:
        self.caps[c] = cap
        self.version += 1

    # -- placement -----------------------------------------------------------------------------
    def _place_all(self, t: float, instant: bool = False) -> None:
        pending = self.pods_desired != self.pods_ready + self.pods_starting
        for s in self._order:
            for c in np.flatnonzero(pending[s]):
                self._fit(s, int(c), t, instant)

    def _fit(self, s: int, c: int, t: float, instant: bool = False) -> None:
        want = int(self.pods_desired[s, c])
        have = int(self.pods_ready[s, c] + self.pods_starting[s, c])
        if want < have:
            self._stop(s, c, have - want, t)
            return
        if want == have or not self.up[c]:
            return
        free = self.nodes_ready[c] * self.node_vcpu[c] - self.vcpu_used()[c]
        n = min(want - have, math.floor(free / self.pod_vcpu[s] + 1e-9))
        if n < want - have and not instant:
            free += self._preempt(s, c, (want - have) * self.pod_vcpu[s] - free)
            n = min(want - have, math.floor(free / self.pod_vcpu[s] + 1e-9))
        if n <= 0:
            return
        if instant:
            self.pods_ready[s, c] += n
            self._used[c] += n * self.pod_vcpu[s]
        elif len(self._starting) < MAX_PENDING_BATCHES:
            self.pods_starting[s, c] += n
            self._used[c] += n * self.pod_vcpu[s]
            self._starting.append((t + self.pod_start_s[c], s, c, n))

    def _preempt(self, s: int, c: int, vcpu_needed: float) -> float:
        """Evict pods of less critical tiers in cloud c to free `vcpu_needed`; returns the vCPU freed."""
        freed = 0.0
        for v in self._victims:
            if freed >= vcpu_needed - 1e-9 or self.tiers[v] <= self.tiers[s]:
                break
            for pool in ("starting", "ready"):
                count = int(self.pods_starting[v, c] if pool == "starting" else self.pods_ready[v, c])
                take = min(count, math.ceil((vcpu_needed - freed) / self.pod_vcpu[v] - 1e-9))
                if take <= 0:
                    continue
                if pool == "starting":
                    self._drop_starting(v, c, take)
                else:
                    self.pods_ready[v, c] -= take
                    self._used[c] -= take * self.pod_vcpu[v]
                self.preempted.append((self.services[v], self.clouds[c], take, self.services[s]))
                freed += take * self.pod_vcpu[v]
        return freed

    def _drop_starting(self, s: int, c: int, count: int) -> int:
        """Cancel up to `count` starting pods of (s, c), newest first; returns how many were left to cancel."""
        for i in range(len(self._starting) - 1, -1, -1):
            if count == 0:
                break
            at, ss, cc, n = self._starting[i]
            if ss != s or cc != c:
                continue
            take = min(n, count)
            count -= take
            self.pods_starting[s, c] -= take
            self._used[c] -= take * self.pod_vcpu[s]
            if take == n:
                del self._starting[i]
            else:
                self._starting[i] = (at, ss, cc, n - take)
        return count

    def _stop(self, s: int, c: int, excess: int, t: float) -> None:
        excess = self._drop_starting(s, c, excess)
        stop = min(excess, int(self.pods_ready[s, c]))
        self.pods_ready[s, c] -= stop
        self._used[c] -= stop * self.pod_vcpu[s]
        # Freed vCPU may let pending pods of other services in.
        self._place_pending_in(c, t)

    def _place_pending_in(self, c: int, t: float) -> None:
        pending = self.pods_desired[:, c] > self.pods_ready[:, c] + self.pods_starting[:, c]
        if not pending.any():
            return
        for s in self._order:
            if pending[s]:
                self._fit(s, c, t)


def initial_pods(platform: Platform, plans: list[ServicePlan]) -> IntArray:
    """Pods at the start of a run: a steady state, not the middle of a scale-up. Each placed copy
    runs the plan's replicas plus the spec's floor buffer (the fewest pods the seed's scale-down
    rule leaves), and an active copy at least what `target_utilization` asks for its initial share."""
    clouds = list(platform.clouds)
    a = platform.autoscaling
    out = np.zeros((len(plans), len(clouds)), dtype=np.int64)
    for s, p in enumerate(plans):
        for j, c in enumerate(clouds):
            place = p.placement.get(c)
            if place is None:
                continue
            floor = math.ceil(place.replicas * (1 + a.floor_buffer) - 1e-9)
            need = math.ceil(p.rps * p.weights.get(c, 0) / 100.0 / (p.pod_rps * a.target_utilization) - 1e-9)
            out[s, j] = max(floor, need)
    return out


def initial_nodes(platform: Platform, plans: list[ServicePlan], pods: IntArray) -> list[int]:
    """Ready nodes at the start: the spec's, or as many as the initial pods need if that is more
    (capped by max_nodes). The timeline says when the spec's count was raised."""
    out = []
    for j, c in enumerate(platform.clouds.values()):
        vcpu = sum(float(pods[s, j]) * p.pod_vcpu for s, p in enumerate(plans))
        out.append(min(c.max_nodes, max(c.nodes, math.ceil(vcpu / c.node_vcpu - 1e-9))))
    return out
