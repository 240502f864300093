"""Capacity per cloud: nodes needed against provisioned and maximum nodes, in steady state and at events.

Pods are counted as the autoscaler will ask for them (`plan/demand.py`, `policy/sizing.py`): at the
target utilisation, never below the floor, and for a known event at its predicted peak plus the
pre-scale buffer from the lead time on. A cloud that needs more nodes than it has provisioned but no
more than `max_nodes` is fine (the cluster autoscaler adds them) and gets a note; one that needs more
than `max_nodes` fails its fit check. At an event a cloud full at `max_nodes` may burst into the
others' headroom (the seed's cloud burst, which the autoscaler does), so an event fails only when the
whole platform cannot hold the pre-scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.cost import monthly_cost_usd
from godseye.plan.demand import event_asks, steady_asks
from godseye.plan.model import Check, CloudCapacity, ServicePlan
from godseye.plan.nodes import PodCounts, pack_nodes, vcpu_of
from godseye.policy.sizing import declared_peak
from godseye.spec.models import Platform


def provisioned_shares(platform: Platform) -> dict[str, float]:
    """Each cloud's part of the platform's provisioned vCPU (of max capacity when nothing is provisioned)."""
    vcpu = {n: c.nodes * c.node_vcpu for n, c in platform.clouds.items()}
    if sum(vcpu.values()) <= 0:
        vcpu = {n: c.max_nodes * c.node_vcpu for n, c in platform.clouds.items()}
    total = sum(vcpu.values())
    return {n: v / total for n, v in vcpu.items()}


def cloud_capacity(platform: Platform, services: Sequence[ServicePlan]) -> list[CloudCapacity]:
    pods = steady_asks(platform, services)
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


def event_checks(platform: Platform, services: Sequence[ServicePlan]) -> list[Check]:
    """Each known event must fit as the autoscaler pre-scales it: predicted peak + buffer at the target utilisation."""
    a = platform.autoscaling
    checks = []
    for name, event in platform.events.items():
        peak = declared_peak(event)
        held = _fit_at(platform, event_asks(platform, services, peak))
        detail = (
            f"x{peak:g} peak + {a.prescale_buffer:.0%} pre-scale buffer at {a.target_utilization:.0%} "
            f"utilisation: {held.detail}"
        )
        checks.append(Check(f"peak {name}", held.ok, detail))
    return checks


def _fit_at(platform: Platform, pods: dict[str, PodCounts]) -> Check:
    """Whether the platform holds `pods`, a cloud beyond its max_nodes bursting into the others' room."""
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
