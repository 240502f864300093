"""What a cloud can hold: each service's room at max_nodes, the burst of what does not fit, node asks.

Pure functions of the autoscaler's view and the replicas it has settled on; the autoscaler calls
them, steering reads the burst capacity they leave in its memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from godseye.control.actions import Action, Condition, ScaleNodePool
from godseye.control.autoscaler_model import AutoscalerView, Key, NodeAsk, PodScale, facts_of
from godseye.plan.model import ServicePlan
from godseye.policy import sizing

# Rounding slack for ceil/floor of float ratios (4000 / (100 x 0.8) must be 50, not 51).
EPS = 1e-9


def floor_replicas(view: AutoscalerView, plan: ServicePlan, cloud: str) -> int:
    """Baseline (the plan's replicas here) + floor_buffer: the fewest pods the autoscaler leaves."""
    placed = plan.placement.get(cloud)
    return sizing.floor_replicas(placed.replicas if placed is not None else 0, view.platform.autoscaling)


def fit_replicas(view: AutoscalerView, cloud: str, service: str, pods: Mapping[Key, PodScale]) -> int:
    """Most replicas of `service` the cloud holds at max_nodes, next to the other services' pods.

    Every other service counts at least at its floor, so one service's growth never eats another's floor.
    """
    c = view.platform.clouds[cloud]
    vcpu = {plan.name: plan.pod_vcpu for plan in view.plans}
    others = 0.0
    for plan in view.plans:
        if plan.name != service:
            record = pods.get((cloud, plan.name))
            held = max(record.replicas if record is not None else 0, floor_replicas(view, plan, cloud))
            others += held * plan.pod_vcpu
    return max(0, math.floor((c.max_nodes * c.node_vcpu - others) / vcpu[service] + EPS))


class CloudRoom:
    """`fit_replicas` for every (cloud, service) of one reconcile, in O(1) each.

    Each cloud's vCPU held by all services (each at least at its floor) is summed once; a service's
    fit is the cloud's size less that total plus its own share. The autoscaler tells it every record
    it changes (`move`), so the totals follow its scratch memory. Scratch of one reconcile only.
    """

    def __init__(self, view: AutoscalerView, pods: Mapping[Key, PodScale]) -> None:
        facts = facts_of(view.platform, view.plans)
        self._vcpu = facts.vcpu
        self._floors = facts.floors
        self._size = facts.size_vcpu
        self._held = dict.fromkeys(facts.clouds, 0.0)
        for (cloud, name), floor in self._floors.items():
            record = pods.get((cloud, name))
            self._held[cloud] += max(record.replicas if record is not None else 0, floor) * self._vcpu[name]

    def floor(self, cloud: str, service: str) -> int:
        return self._floors[(cloud, service)]

    def _own(self, key: Key, record: PodScale | None) -> float:
        return max(record.replicas if record is not None else 0, self._floors[key]) * self._vcpu[key[1]]

    def move(self, key: Key, before: PodScale | None, after: PodScale) -> None:
        if key in self._floors:
            self._held[key[0]] += self._own(key, after) - self._own(key, before)

    def fit(self, cloud: str, service: str, pods: Mapping[Key, PodScale]) -> int:
        """Same as `fit_replicas(view, cloud, service, pods)` for the `pods` this room follows."""
        return self.fit_record((cloud, service), pods.get((cloud, service)))

    def fit_record(self, key: Key, record: PodScale | None) -> int:
        """`fit` for `key`, whose record in the followed pods is `record`."""
        vcpu = self._vcpu[key[1]]
        others = self._held[key[0]] - max(record.replicas if record is not None else 0, self._floors[key]) * vcpu
        return max(0, math.floor((self._size[key[0]] - others) / vcpu + EPS))


def spread_burst(
    room: Mapping[str, int], placed: Mapping[str, int], size_vcpu: Mapping[str, float], deficit: int
) -> dict[str, int]:
    """Spread `deficit` pods that do not fit their cloud over clouds with `room` (in pods).

    Burst pods already `placed` stay where they are (moving them would churn pods and make the result
    depend on the order of calls); the rest goes by each cloud's size, max_nodes x node_vcpu, ties
    to the cloud listed first.
    """
    if deficit <= 0:
        return {}
    order = list(room)
    out: dict[str, int] = {}
    left = deficit
    for c in order:
        kept = min(placed.get(c, 0), room[c], left)
        if kept > 0:
            out[c] = kept
            left -= kept
    open_room = {c: room[c] - out.get(c, 0) for c in order if room[c] > out.get(c, 0)}
    # Bounded: each pass places at least one pod or drops a full cloud.
    for _ in range(deficit + len(open_room)):
        if left <= 0 or not open_room:
            break
        total, to_place = sum(size_vcpu[c] for c in open_room), left
        for c in sorted(open_room, key=lambda k: (-size_vcpu[k], order.index(k))):
            share = min(open_room[c], left, math.ceil(to_place * size_vcpu[c] / total - EPS))
            out[c] = out.get(c, 0) + share
            open_room[c] -= share
            left -= share
        open_room = {c: r for c, r in open_room.items() if r > 0}
    assert sum(out.values()) <= deficit
    return out


def burst_reason(view: AutoscalerView, sources: list[str], pods: int, to: str, service: str) -> str:
    full = ", ".join(f"{c} at max_nodes {view.platform.clouds[c].max_nodes}" for c in sources)
    return f"{full}: burst {pods} {service} pods to {to}"


def burst_conditions(key: Key, before: int, after: int, reason: str) -> list[Action]:
    cloud, service = key
    if after > before:
        return [Condition(f"{service}@{cloud}", "burst", reason)]
    if after == 0 and before > 0:
        why = f"burst of {before} {service} pods to {cloud} over: the loaded clouds have room again"
        return [Condition(f"{service}@{cloud}", "burst_ended", why)]
    return []


def node_ask(
    view: AutoscalerView, cloud: str, pods: Mapping[Key, PodScale], asked: NodeAsk | None, shrink: bool,
    need_vcpu: float | None = None,
) -> ScaleNodePool | None:
    """Nodes for the pods asked for: more when they do not fit, fewer when pods were scaled down.

    `need_vcpu`, when given, is the vCPU of the cloud's `pods`, summed by the caller in the same order."""
    c = view.platform.clouds[cloud]
    if need_vcpu is None:
        vcpu = facts_of(view.platform, view.plans).vcpu
        need_vcpu = sum(r.replicas * vcpu.get(s, 0.0) for (cl, s), r in pods.items() if cl == cloud)
    needed = min(c.max_nodes, math.ceil(need_vcpu / c.node_vcpu - EPS))
    status = view.pools.get(cloud)
    ready = status.nodes_ready if status is not None else c.nodes
    requested = status.nodes_requested if status is not None else c.nodes
    known = max(asked.nodes if asked is not None else 0, requested, ready)
    if needed > known:
        booting = max(0, known - ready)
        reason = (
            f"{need_vcpu:.0f} vCPU of pods do not fit {ready} ready + {booting} booting nodes: "
            f"+{needed - known} nodes ({needed} of max {c.max_nodes}, ready in {c.node_boot_s:.0f} s)"
        )
        return ScaleNodePool(cloud, needed, reason)
    current = asked.nodes if asked is not None else requested
    keep = max(needed, c.nodes)
    if shrink and current > keep:
        return ScaleNodePool(cloud, keep, f"pods scaled down to {need_vcpu:.0f} vCPU: release nodes {current} -> {keep}")
    return None
