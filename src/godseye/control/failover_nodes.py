"""Survivors' node pools during a failover: the load each cloud runs, its headroom, and the pool sizes to ask for."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

from godseye.control.actions import ScaleNodePool
from godseye.control.failover_model import FailoverView, Incident, Move, Step
from godseye.policy.split import capacity, redistribute


def _load_vcpu(
    view: FailoverView, out: frozenset[str], activated: Mapping[str, str], moved: Mapping[str, Move]
) -> dict[str, float]:
    """vCPU each cloud runs with `out` clouds gone: tier-1 shares re-split, standbys activated, services moved."""
    load = {c: 0.0 for c in view.platform.clouds}
    for plan in view.services:
        total = sum(p.replicas for p in plan.placement.values() if p.role == "active")
        if plan.name in moved:
            load[moved[plan.name].to_cloud] += moved[plan.name].replicas * plan.pod_vcpu
            continue
        if plan.name in activated:
            load[activated[plan.name]] += total * plan.pod_vcpu
            continue
        shares = dict(plan.weights)
        if len(plan.active_clouds) > 1:
            try:
                shares, _ = redistribute(view.platform, plan.weights, out)
            except ValueError:
                shares = dict(plan.weights)
        for c, placed in plan.placement.items():
            if placed.role == "active" and len(plan.active_clouds) > 1:
                load[c] += math.ceil(total * shares.get(c, 0) / 100) * plan.pod_vcpu
            else:
                load[c] += placed.replicas * plan.pod_vcpu
    return load


def _effects(incidents: Iterable[Incident]) -> tuple[dict[str, str], dict[str, Move]]:
    activated = {s: c for i in incidents if i.phase != "closed" for s, c in i.activated}
    moved = {m.service: m for i in incidents if i.phase != "closed" for m in i.moved}
    return activated, moved


def ask_nodes(incident: Incident, step: Step, incidents: Mapping[str, Incident]) -> Incident:
    """Grow each survivor's node pool by the load `incident` put on it, keeping its headroom ratio."""
    view, cloud = step.view, incident.cloud
    others = [i for c, i in incidents.items() if c != cloud]
    activated, moved = _effects(others)
    before = _load_vcpu(view, view.out - {cloud}, activated, moved)
    activated_all, moved_all = _effects([*others, incident])
    after = _load_vcpu(view, view.out, activated_all, moved_all)
    asked = dict(incident.nodes_asked)
    for c in view.platform.clouds:
        if c in view.out:
            continue
        spec = view.platform.clouds[c]
        base = incident.nodes_base.get(c, spec.nodes)
        # No load before (nothing planned there): size from scratch, whole nodes of this cloud.
        grown = base * after[c] / before[c] if before[c] > 0 else after[c] / spec.node_vcpu
        target = min(spec.max_nodes, math.ceil(grown - 1e-9))
        current = current_nodes(view, c, asked)
        if target <= current:
            continue
        asked[c] = target
        capped = f", capped at max_nodes {spec.max_nodes}" if target == spec.max_nodes else ""
        step.actions.append(ScaleNodePool(c, target, (
            f"{c} takes on {cloud}'s load: {before[c]:g} -> {after[c]:g} planned vCPU, so {base} -> {target} nodes "
            f"to keep its headroom{capped}")))
    return replace(incident, nodes_asked=asked)


def current_nodes(view: FailoverView, cloud: str, asked: Mapping[str, int]) -> int:
    pool = view.node_pools.get(cloud)
    observed = pool.nodes_requested if pool is not None else view.platform.clouds[cloud].nodes
    return max(observed, asked.get(cloud, 0))


def headroom_vcpu(view: FailoverView, incidents: Iterable[Incident]) -> dict[str, float]:
    activated, moved = _effects(incidents)
    load = _load_vcpu(view, view.out, activated, moved)
    return {c: capacity(view.platform, c) - load[c] for c in view.platform.clouds if c not in view.out}
