"""Steady-state capacity per cloud: nodes needed against provisioned and maximum nodes, and event peaks.

A cloud that needs more nodes than it has provisioned but no more than `max_nodes` is fine (the
cluster autoscaler adds them) and gets a note; one that needs more than `max_nodes` fails its fit
check. Known events are checked at their peak: a cloud full at the peak may burst into the others'
headroom (the seed's cloud burst), so an event fails only when the whole platform cannot hold it.
The seed's pre-scale buffer ("predicted peak + 20%") on top is reported as a note when it is cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.cost import monthly_cost_usd
from godseye.plan.model import Check, CloudCapacity, ServicePlan
from godseye.plan.nodes import PodCounts, add_pods, pack_nodes, steady_pods, vcpu_of
from godseye.plan.survival import full_replicas, share_replicas
from godseye.spec.models import Platform


def provisioned_shares(platform: Platform) -> dict[str, float]:
    """Each cloud's part of the platform's provisioned vCPU (of max capacity when nothing is provisioned)."""
    vcpu = {n: c.nodes * c.node_vcpu for n, c in platform.clouds.items()}
    if sum(vcpu.values()) <= 0:
        vcpu = {n: c.max_nodes * c.node_vcpu for n, c in platform.clouds.items()}
    total = sum(vcpu.values())
    return {n: v / total for n, v in vcpu.items()}


def cloud_capacity(platform: Platform, services: Sequence[ServicePlan]) -> list[CloudCapacity]:
    pods = steady_pods(services, platform.clouds)
    shares = provisioned_shares(platform)
    out = []
    for name, cloud in platform.clouds.items():
        nodes = pack_nodes(pods[name], cloud.node_vcpu)
        out.append(
            CloudCapacity(
                name=name,
                vcpu_needed=vcpu_of(pods[name]),
                nodes_needed=nodes,
                nodes=cloud.nodes,
                max_nodes=cloud.max_nodes,
                capacity_share=shares[name],
                monthly_cost_usd=monthly_cost_usd(cloud, nodes),
            )
        )
    return out


def fit_checks(clouds: Sequence[CloudCapacity]) -> list[Check]:
    return [_fit(c) for c in clouds]


def _fit(c: CloudCapacity) -> Check:
    name = f"fit {c.name}"
    if c.nodes_needed > c.max_nodes:
        return Check(name, False, f"{c.name} needs {c.nodes_needed} nodes > max_nodes {c.max_nodes}")
    if c.nodes_needed > c.nodes:
        return Check(
            name,
            True,
            f"{c.name} needs {c.nodes_needed} of max {c.max_nodes} nodes; note: {c.nodes} provisioned, "
            f"the autoscaler adds {c.nodes_needed - c.nodes}",
        )
    return Check(name, True, f"{c.name} needs {c.nodes_needed} of {c.nodes} provisioned nodes (max {c.max_nodes})")


def peak_pods(platform: Platform, services: Sequence[ServicePlan], multiplier: float) -> dict[str, PodCounts]:
    """Every cloud's pods with all traffic scaled by `multiplier`; warm standbys stay warm."""
    out: dict[str, PodCounts] = {c: {} for c in platform.clouds}
    for svc in services:
        actives = svc.active_clouds
        for cloud, placed in svc.placement.items():
            if placed.role == "standby":
                replicas = placed.replicas
            elif len(actives) == 1:
                replicas = full_replicas(platform, svc, multiplier)
            else:
                replicas = max(share_replicas(svc, svc.weights.get(cloud, 0), multiplier), placed.replicas)
            add_pods(out, cloud, svc.pod_vcpu, replicas)
    return out


def event_checks(platform: Platform, services: Sequence[ServicePlan]) -> list[Check]:
    """Each known event at its peak must fit; the pre-scale buffer on top is reported, not required.

    At the cap the autoscaler stops at max_nodes: the peak is still carried, only the buffer is cut.
    """
    buffer = platform.autoscaling.prescale_buffer
    checks = []
    for name, event in platform.events.items():
        peak = _fit_at(platform, services, event.peak_multiplier)
        buffered = _fit_at(platform, services, event.peak_multiplier * (1 + buffer))
        detail = f"x{event.peak_multiplier:g} peak: {peak.detail}"
        if peak.ok:
            detail += (
                f"; with the {buffer:.0%} pre-scale buffer: {buffered.detail}"
                if buffered.ok
                else f"; note: the {buffer:.0%} pre-scale buffer is cut at max_nodes ({buffered.detail})"
            )
        checks.append(Check(f"peak {name}", peak.ok, detail))
    return checks


def _fit_at(platform: Platform, services: Sequence[ServicePlan], multiplier: float) -> Check:
    """Whether the platform holds all traffic x `multiplier`, a full cloud bursting into the others."""
    pods = peak_pods(platform, services, multiplier)
    need = {c: pack_nodes(pods[c], cloud.node_vcpu) for c, cloud in platform.clouds.items()}
    room = {c: cloud.max_nodes for c, cloud in platform.clouds.items()}
    vcpu = {c: cloud.node_vcpu for c, cloud in platform.clouds.items()}
    # Nodes differ in size between clouds, so overflow and spare room are compared in vCPU.
    over_vcpu = sum(max(0, need[c] - room[c]) * vcpu[c] for c in need)
    spare_vcpu = sum(max(0, room[c] - need[c]) * vcpu[c] for c in need)
    ok = over_vcpu <= spare_vcpu
    detail = ", ".join(f"{c} {round(100 * need[c] / room[c])}% of max" for c in need)
    if over_vcpu > 0:
        full = ", ".join(c for c in need if need[c] > room[c])
        detail += (
            f"; {full} bursts {over_vcpu:g} vCPU into {spare_vcpu:g} vCPU spare elsewhere"
            if ok
            else f"; {full} overflows by {over_vcpu:g} vCPU with only {spare_vcpu:g} vCPU spare elsewhere"
        )
    return Check("", ok, detail)
