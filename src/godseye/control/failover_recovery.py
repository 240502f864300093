"""A failed cloud's return: open holds released or its copies following the new primaries, then, once the
canary completed, activated standbys back to warm and rescheduled services back home."""

from __future__ import annotations

from dataclasses import replace

from godseye.control.actions import Condition, FollowPrimary, HoldWrites, Reschedule, ScaleService
from godseye.control.failover_model import FailoverView, Gate, Incident, Step, transition


def recover(incident: Incident, step: Step) -> Incident:
    view, cloud = step.view, incident.cloud
    gates: list[Gate] = []
    for gate in incident.gates:
        if gate.state == "holding":
            step.actions.append(HoldWrites(gate.datastore, False, (
                f"{cloud} is back before a survivor caught up: {cloud} stays primary of {gate.datastore}; writes resume")))
            gates.append(replace(gate, state="released"))
            continue
        primary = _current_primary(view, gate)
        if gate.state == "promoted" and primary is not None:
            step.actions.append(FollowPrimary(gate.datastore, cloud, primary, (
                f"{cloud} is back: its copy of {gate.datastore} follows the current primary {primary} and catches up")))
        gates.append(gate)
    step.actions.append(Condition(cloud, "failover-recovering", f"{cloud} recovered: canary reintroduction started"))
    return transition(replace(incident, gates=tuple(gates)), "cloud_back", view.now_s)


def _current_primary(view: FailoverView, gate: Gate) -> str | None:
    """Where a returning copy should follow: the datastore's primary now, which a later incident may have
    moved again since this one promoted `gate.new_primary`; never a cloud that is out of the rotation."""
    known = view.replication.primary(gate.datastore) if view.replication is not None else None
    for candidate in (known, gate.new_primary):
        if candidate is not None and candidate not in view.out and candidate != gate.old_primary:
            return candidate
    return None


def close(incident: Incident, step: Step) -> Incident:
    view, cloud = step.view, incident.cloud
    plans = {p.name: p for p in view.services}
    for service, standby in incident.activated:
        warm = plans[service].placement[standby].replicas
        step.actions.append(ScaleService(standby, service, warm, (
            f"{cloud} carries {service} again after its canary: the standby in {standby} returns to {warm} warm replicas")))
    for move in incident.moved:
        step.actions.append(Reschedule(move.service, move.to_cloud, move.from_cloud, move.replicas, (
            f"{cloud} is fully back: {move.service} returns to its planned cloud")))
    step.actions.append(Condition(cloud, "failover-closed", f"{cloud} carries its normal share again: incident closed"))
    return transition(incident, "canary_complete", view.now_s)
