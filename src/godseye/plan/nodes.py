"""Node bin-packing: how many nodes of `node_vcpu` hold a cloud's pods, by vCPU first-fit-decreasing.

A cloud may run thousands of pods but only a handful of pod sizes, so pods are grouped by size and
each group is placed at once. For identical items first-fit fills the open nodes in order and then
opens full nodes, which is exactly what placing them one by one would do, in time proportional to
the number of nodes instead of the number of pods.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from godseye.plan.model import ServicePlan

# vCPU sizes are decimal fractions (0.25, 0.5, 1.5): absorb float rounding when a pod "just fits".
_FIT_EPSILON = 1e-9

PodCounts = dict[float, int]


def pack_nodes(pods: Mapping[float, int], node_vcpu: float) -> int:
    """Nodes needed to hold `pods` ({pod_vcpu: count}) on nodes of `node_vcpu`, first-fit-decreasing."""
    if node_vcpu <= 0:
        raise ValueError(f"node_vcpu must be > 0 (got {node_vcpu})")
    free: list[float] = []  # free vCPU of each open node, in the order the nodes were opened
    for size in sorted((s for s, n in pods.items() if n > 0), reverse=True):
        if size > node_vcpu + _FIT_EPSILON:
            raise ValueError(f"a pod of {size} vCPU does not fit on a node of {node_vcpu} vCPU")
        left = pods[size]
        if size <= 0:
            continue  # a pod asking no vCPU takes no node room
        for i, room in enumerate(free):
            if left == 0:
                break
            take = min(left, math.floor((room + _FIT_EPSILON) / size))
            if take > 0:
                free[i] = room - take * size
                left -= take
        per_node = math.floor((node_vcpu + _FIT_EPSILON) / size)
        full, rest = divmod(left, per_node)
        free.extend([node_vcpu - per_node * size] * full)
        if rest:
            free.append(node_vcpu - rest * size)
    return len(free)


def add_pods(into: dict[str, PodCounts], cloud: str, pod_vcpu: float, replicas: int) -> None:
    if replicas <= 0:
        return
    counts = into.setdefault(cloud, {})
    counts[pod_vcpu] = counts.get(pod_vcpu, 0) + replicas


def steady_pods(services: Iterable[ServicePlan], clouds: Iterable[str]) -> dict[str, PodCounts]:
    """Every cloud's pods as placed (active and warm standby), grouped by pod size."""
    out: dict[str, PodCounts] = {c: {} for c in clouds}
    for svc in services:
        for cloud, placed in svc.placement.items():
            add_pods(out, cloud, svc.pod_vcpu, placed.replicas)
    return out


def vcpu_of(pods: Mapping[float, int]) -> float:
    return sum(size * n for size, n in pods.items())
