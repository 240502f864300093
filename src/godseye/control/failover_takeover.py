"""What the survivors take over once replication is confirmed: tier-2 warm standbys activated, and, after
each tier's `deferral_s`, services that ran only in the failed cloud rescheduled (tier 3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from godseye.control.actions import ActivateStandby, Condition, Reschedule
from godseye.control.failover_model import FailoverView, Incident, Move, Step, transition
from godseye.control.failover_nodes import ask_nodes, headroom_vcpu
from godseye.plan.model import ServicePlan
from godseye.policy.tiers import tier_table


def _activations(incident: Incident, view: FailoverView) -> list[tuple[ServicePlan, str]]:
    """Tier-2 style services active only in the failed cloud with a warm standby that survives."""
    done = {s for s, _ in incident.activated}
    out = []
    for plan in view.services:
        if plan.name in done or plan.active_clouds != [incident.cloud]:
            continue
        standby = [c for c in plan.standby_clouds if c not in view.out]
        if standby:
            out.append((plan, standby[0]))
    return out


def activate_standbys(incident: Incident, step: Step, incidents: Mapping[str, Incident]) -> Incident:
    """Tier 2: warm standbys of services active only in the failed cloud go to full size, node pools follow."""
    view = step.view
    activations = _activations(incident, view)
    for plan, standby in activations:
        replicas = plan.placement[incident.cloud].replicas
        step.actions.append(ActivateStandby(plan.name, standby, replicas, (
            f"tier {plan.tier} {plan.name} was active in {incident.cloud}; replication confirmed, so its warm standby in "
            f"{standby} takes over at {replicas} replicas (from {plan.placement[standby].replicas})")))
    for plan in view.services:
        lost_standby = bool(plan.standby_clouds) and all(c in view.out for c in plan.standby_clouds)
        if plan.active_clouds == [incident.cloud] and lost_standby:
            step.actions.append(Condition(plan.name, "failover-no-standby", (
                f"{plan.name}'s standby {', '.join(plan.standby_clouds)} is out too: nothing to activate")))
    incident = replace(incident, activated=incident.activated + tuple((p.name, c) for p, c in activations))
    return ask_nodes(incident, step, incidents)


def reschedule_deferred(incident: Incident, step: Step, incidents: Mapping[str, Incident]) -> Incident:
    """Tier 3: once its `deferral_s` has passed, each service that ran only in the failed cloud (no standby)
    moves to the survivor with the most headroom; failed_over when none is left waiting."""
    view, cloud = step.view, incident.cloud
    table = tier_table(view.platform)
    done = {m.service for m in incident.moved}
    moves = list(incident.moved)
    new: list[Move] = []
    waiting = False
    for plan in view.services:
        if plan.name in done or plan.active_clouds != [cloud] or plan.standby_clouds:
            continue
        due = incident.detected_s + table[plan.tier].deferral_s
        if view.now_s < due:
            step.wake_at(due)
            waiting = True
            continue
        others = [i for c, i in incidents.items() if c != cloud]
        room = headroom_vcpu(view, [*others, replace(incident, moved=tuple(moves))])
        if not room:
            continue
        target = max(room, key=lambda c: (room[c], -list(view.platform.clouds).index(c)))
        move = Move(plan.name, cloud, target, plan.placement[cloud].replicas)
        moves.append(move)
        new.append(move)
        step.actions.append(Reschedule(plan.name, cloud, target, move.replicas, (
            f"tier {plan.tier} {plan.name} ran only in {cloud}; deferred {table[plan.tier].deferral_s:g}s (deferral_s), now "
            f"moved to {target}, the survivor with the most headroom ({room[target]:g} vCPU)")))
    if new:
        incident = ask_nodes(replace(incident, moved=tuple(moves)), step, incidents)
    if waiting:
        return incident
    step.actions.append(Condition(cloud, "failover-complete", (
        f"{cloud}'s load is carried by {', '.join(c for c in view.platform.clouds if c not in view.out) or 'nobody'}; "
        "waiting for it to recover")))
    return transition(incident, "deferral_elapsed", view.now_s)
