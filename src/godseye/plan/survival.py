"""N-1 survival: for each cloud in turn, assume it fails and check the survivors carry the load.

What moves where follows the seed's failover sequence and the steering rule itself:
- services active in several clouds (tier 1) have their weights moved by `policy.split.redistribute`,
  the very function steering calls, so the plan predicts the split steering will ask for;
- services active in one cloud with a warm standby (tier 2) go fully to the standby cloud;
- single-cloud services (tier 3) are rescheduled after their tier's deferral to the survivor with
  the most headroom. They are reported but not part of the pass/fail check: the seed defers them.
Pods are counted as the autoscaler will ask for them after the failover (`plan/demand.py`): each
survivor runs its new share of the traffic at the target utilisation, never below its floor (the
plan's replicas there + floor_buffer), so a failover does not scale anything in.
"""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.demand import ask
from godseye.plan.model import Deferral, ServicePlan, Survival, SurvivorLoad
from godseye.plan.nodes import PodCounts, add_pods, pack_nodes, vcpu_of
from godseye.policy.split import redistribute
from godseye.policy.tiers import tier_table
from godseye.spec.models import Platform


def moved_replicas(platform: Platform, svc: ServicePlan, cloud: str) -> int:
    """Replicas of a single-cloud service once it runs wholly in `cloud`: the failover's pods, grown to the load."""
    placed = max((p.replicas for c, p in svc.placement.items() if p.role == "active"), default=0)
    return max(placed, ask(platform, svc, cloud, svc.rps))


def survive_all(platform: Platform, services: Sequence[ServicePlan]) -> list[Survival]:
    return [survive(platform, services, failed) for failed in platform.clouds]


def survive(platform: Platform, services: Sequence[ServicePlan], failed: str) -> Survival:
    survivors = [c for c in platform.clouds if c != failed]
    if not survivors:
        return Survival(failed, False, f"no other cloud to carry {failed}'s load")
    pods: dict[str, PodCounts] = {c: {} for c in survivors}
    weights: dict[str, dict[str, int]] = {}
    lost: list[str] = []
    deferred: list[ServicePlan] = []
    for svc in services:
        actives = svc.active_clouds
        if failed not in svc.placement:
            for cloud in svc.placement:
                add_pods(pods, cloud, svc.pod_vcpu, _steady(platform, svc, cloud))
        elif len(actives) > 1:
            moved = _move_weights(platform, svc, failed, pods)
            if moved is None:
                lost.append(svc.name)
            else:
                weights[svc.name] = moved
        elif failed in actives and svc.standby_clouds:
            standby = svc.standby_clouds[0]
            add_pods(pods, standby, svc.pod_vcpu, ask(platform, svc, standby, svc.rps))
            weights[svc.name] = {c: (100 if c == standby else 0) for c in platform.clouds}
        elif failed in actives:
            deferred.append(svc)
        else:
            # Only the warm standby was lost: the active cloud keeps serving as before.
            for cloud in svc.placement:
                if cloud != failed:
                    add_pods(pods, cloud, svc.pod_vcpu, _steady(platform, svc, cloud))
    loads = {c: pack_nodes(pods[c], platform.clouds[c].node_vcpu) for c in survivors}
    # A single-cloud tier with no deferral (a spec may make tier 1 single-cloud) moves at once and
    # counts towards the check; deferred tiers are only reported.
    table = tier_table(platform)
    now = [s for s in deferred if table[s.tier].deferral_s == 0]
    moved_now, pods, loads = _reschedule(platform, now, pods, loads)
    lost += [d.service for d in moved_now if d.cloud is None]
    over = [c for c in survivors if loads[c] > platform.clouds[c].max_nodes]
    deferrals, _, after = _reschedule(platform, [s for s in deferred if table[s.tier].deferral_s > 0], pods, loads)
    deferrals = [d for d in moved_now if d.cloud is not None] + deferrals
    survivor_loads = [
        SurvivorLoad(
            cloud=c,
            nodes_needed=loads[c],
            max_nodes=platform.clouds[c].max_nodes,
            vcpu_needed=vcpu_of(pods[c]),
            nodes_after_deferred=after.get(c),
        )
        for c in survivors
    ]
    ok = not over and not lost
    return Survival(failed, ok, _detail(survivor_loads, over, lost, deferrals), survivor_loads, weights, deferrals)


def _move_weights(platform: Platform, svc: ServicePlan, failed: str, pods: dict[str, PodCounts]) -> dict[str, int] | None:
    """Add the survivors' pods of an active-active service after steering moved its weights."""
    try:
        moved, _rule = redistribute(platform, svc.weights, [failed])
    except ValueError:
        return None
    for cloud, weight in moved.items():
        if cloud != failed:
            add_pods(pods, cloud, svc.pod_vcpu, ask(platform, svc, cloud, svc.rps * weight / 100))
    return moved


def _steady(platform: Platform, svc: ServicePlan, cloud: str) -> int:
    """A service the failure did not touch keeps its steady-state ask."""
    return ask(platform, svc, cloud, svc.rps * svc.weights.get(cloud, 0) / 100)


def _reschedule(
    platform: Platform, deferred: list[ServicePlan], pods: dict[str, PodCounts], loads: dict[str, int]
) -> tuple[list[Deferral], dict[str, PodCounts], dict[str, int]]:
    """Each service, largest first, to the survivor with the most headroom left; the new pods and nodes."""
    if not deferred:
        return [], pods, loads
    table = tier_table(platform)
    order = list(loads)
    pods = {c: dict(p) for c, p in pods.items()}
    after = dict(loads)
    out: list[Deferral] = []
    for svc in sorted(deferred, key=lambda s: (-moved_replicas(platform, s, s.active_clouds[0]) * s.pod_vcpu, s.name)):
        hosts = [c for c in order if svc.pod_vcpu <= platform.clouds[c].node_vcpu]
        deferral_s = table[svc.tier].deferral_s
        if not hosts:
            out.append(Deferral(svc.name, None, moved_replicas(platform, svc, svc.active_clouds[0]), deferral_s))
            continue
        target = max(hosts, key=lambda c: (_headroom_vcpu(platform, c, after[c]), -order.index(c)))
        replicas = moved_replicas(platform, svc, target)
        trial = {**pods[target]}
        trial[svc.pod_vcpu] = trial.get(svc.pod_vcpu, 0) + replicas
        nodes = pack_nodes(trial, platform.clouds[target].node_vcpu)
        if nodes > platform.clouds[target].max_nodes:
            out.append(Deferral(svc.name, None, replicas, deferral_s))
            continue
        pods[target], after[target] = trial, nodes
        out.append(Deferral(svc.name, target, replicas, deferral_s))
    return out, pods, after


def _headroom_vcpu(platform: Platform, cloud: str, nodes: int) -> float:
    """Room left in vCPU, not nodes: survivors' nodes may differ in size."""
    c = platform.clouds[cloud]
    return (c.max_nodes - nodes) * c.node_vcpu


def _when(d: Deferral) -> str:
    return f"after {d.deferral_s:g}s" if d.deferral_s > 0 else "at once"


def _pct(nodes: int, max_nodes: int) -> str:
    return f"{round(100 * nodes / max_nodes)}% of max"


def _detail(loads: list[SurvivorLoad], over: list[str], lost: list[str], deferrals: list[Deferral]) -> str:
    parts = [", ".join(f"{s.cloud} {_pct(s.nodes_needed, s.max_nodes)}" for s in loads)]
    for s in loads:
        if s.cloud in over:
            parts.append(f"{s.cloud} overflows: needs {s.nodes_needed} nodes > max_nodes {s.max_nodes}")
    if lost:
        parts.append(f"no surviving cloud carries {', '.join(lost)}")
    if deferrals:
        moves = [
            f"{d.service} has no room on any survivor" if d.cloud is None else f"{d.service} -> {d.cloud} {_when(d)}"
            for d in deferrals
        ]
        tail = ", ".join(
            f"{s.cloud} {_pct(s.nodes_after_deferred, s.max_nodes)}"
            for s in loads
            if s.nodes_after_deferred is not None and s.nodes_after_deferred != s.nodes_needed
        )
        parts.append("deferred: " + ", ".join(moves) + (f" ({tail} after)" if tail else ""))
    return "; ".join(parts)
