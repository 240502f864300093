"""Failover: the seed's "AWS Region Failure" sequence as a state machine, one incident per failed cloud.

Phases (TRANSITIONS below is the whole machine):

- detected:       the cloud left the rotation (steering). Tier 1 is already active in the survivors;
                  steering re-routes its share in the same step (the spec's failover_split).
- gating:         replication gate, per sql datastore whose primary was in the failed cloud: writes are
                  held (reads continue), the survivor holding the most (newest received position) is
                  chosen, and it is promoted once it has replayed the newest acknowledged position. The
                  wait is bounded by `gate_timeout_s`, the RTO of the most critical tier using the
                  datastore (waiting longer would miss that RTO anyway); at the timeout it is promoted
                  regardless and the acknowledged writes it lacks are reported as lost. An asynchronous
                  datastore (RPO target > 0) is promoted early once the survivor replayed all it received
                  and what it never received is within the RPO target: nothing more can arrive from a
                  dead primary. The other survivors follow the new primary, then writes are released.
- standby_active: replication confirmed: tier-2 services whose active cloud failed get their warm standby
                  activated at full size, and the survivors' node pools grow with the load they took on.
- failed_over:    after each tier's `deferral_s` (tier 3: the seed's T=5min), services that ran only in
                  the failed cloud are rescheduled to the survivor with the most headroom.
- recovering:     the cloud is back in the rotation; its datastore copies follow the current primaries so
                  the canary can see them catch up. The canary returns its traffic.
- closed:         the canary completed: warm standbys go back to warm, rescheduled services go home.

A cloud that comes back before the gate promoted anything keeps its primaries (writes released). A
cloud lost again while recovering starts over at detected; everything already done is remembered, so
nothing is asked twice.

This module walks the machine; its parts: failover_model.py (phases, TRANSITIONS, incidents),
failover_facts.py (what is read from the replication watch), failover_gate.py (the replication gate and
promotion), failover_takeover.py (standby activation, tier-3 deferral), failover_nodes.py (survivors'
node pools), failover_recovery.py (the cloud's return and the incident's close).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from godseye.control.actions import Condition
from godseye.control.decision import Decision
from godseye.control.failover_facts import CopyLag, ReplicationFacts, clouds_caught_up
from godseye.control.failover_gate import Verdict, gate_timeout_s, open_gates, settle_gates
from godseye.control.failover_model import (
    MAX_TRANSITIONS_PER_CALL,
    TRANSITIONS,
    Event,
    FailoverMemory,
    FailoverView,
    Gate,
    GateState,
    Incident,
    Move,
    Phase,
    Step,
    transition,
)
from godseye.control.failover_nodes import current_nodes
from godseye.control.failover_recovery import close, recover
from godseye.control.failover_takeover import activate_standbys, reschedule_deferred
from godseye.policy.split import redistribute

# Callers (the plane, tests, docs) know these as failover's names; the plane calls `reconcile` and
# `clouds_caught_up` as attributes of this module, which is what bench.py's stopwatch wraps.
__all__ = [
    "TRANSITIONS",
    "CopyLag",
    "Event",
    "FailoverMemory",
    "FailoverView",
    "Gate",
    "GateState",
    "Incident",
    "Move",
    "Phase",
    "ReplicationFacts",
    "Verdict",
    "clouds_caught_up",
    "gate_timeout_s",
    "reconcile",
]


def reconcile(view: FailoverView, memory: FailoverMemory) -> Decision[FailoverMemory]:
    step = Step(view, [], [])
    incidents = dict(memory.incidents)
    for cloud in view.platform.clouds:
        incident = incidents.get(cloud)
        if cloud in view.out and (incident is None or incident.phase == "closed"):
            base = {c: current_nodes(view, c, {}) for c in view.platform.clouds}
            incident = Incident(cloud, "detected", view.now_s, view.now_s, nodes_base=base)
            step.actions.append(Condition(cloud, "failover-detected", f"{cloud} left the rotation: failover started"))
        if incident is None:
            continue
        for _ in range(MAX_TRANSITIONS_PER_CALL):
            nxt = _advance(incident, step, incidents)
            if nxt == incident:
                break
            incident = nxt
        incidents[cloud] = incident
    return Decision(FailoverMemory(incidents), tuple(step.actions), min(step.wakeups) if step.wakeups else None)


def _advance(incident: Incident, step: Step, incidents: Mapping[str, Incident]) -> Incident:
    """At most one transition of one incident."""
    view, cloud = step.view, incident.cloud
    back = cloud not in view.out
    if incident.phase == "closed":
        return incident
    if incident.phase == "recovering":
        if not back:
            step.actions.append(Condition(cloud, "failover-detected", f"{cloud} left the rotation again while recovering"))
            # Deferrals count from this loss: the cloud was back, so the first loss says nothing about this one.
            return transition(replace(incident, detected_s=view.now_s), "cloud_lost", view.now_s)
        if cloud in view.canary_in:
            return close(incident, step)
        return incident
    if back:
        return recover(incident, step)
    if incident.phase == "detected":
        return _reroute(incident, step)
    if incident.phase == "gating":
        return _confirm(incident, step, incidents)
    if incident.phase == "standby_active":
        return reschedule_deferred(incident, step, incidents)
    return incident


def _reroute(incident: Incident, step: Step) -> Incident:
    """Tier 1 is already active in the survivors (steering re-routed it in this step); the gates open."""
    view, cloud = step.view, incident.cloud
    tier1 = [s for s in view.services if s.tier == min(p.tier for p in view.services) and s.weights.get(cloud, 0) > 0]
    survivors = [c for c in view.platform.clouds if c not in view.out]
    if tier1:
        try:
            weights, rule = redistribute(view.platform, tier1[0].weights, view.out)
            split = ", ".join(f"{c} {weights[c]}%" for c in survivors if weights.get(c, 0) > 0)
            detail = f"{split} ({rule})"
        except ValueError:
            detail = "no survivor can carry it: steering fails open"
        step.actions.append(Condition(cloud, "failover-tier1-rerouted", (
            f"tier 1 already active in {', '.join(survivors) or 'no other cloud'}; steering re-routes {cloud}'s share: "
            f"{detail}")))
    return transition(replace(incident, gates=open_gates(incident, step)), "rerouted", view.now_s)


def _confirm(incident: Incident, step: Step, incidents: Mapping[str, Incident]) -> Incident:
    """Gating: once no gate holds, replication is confirmed and tier 2 takes over."""
    view, cloud = step.view, incident.cloud
    incident = settle_gates(incident, step)
    gates = incident.gates
    if any(g.state == "holding" for g in gates):
        return incident
    promoted = [f"{g.datastore} -> {g.new_primary}" for g in gates if g.state == "promoted"]
    step.actions.append(Condition(cloud, "failover-replication-confirmed", (
        f"replication gate passed ({', '.join(promoted) or 'no sql primary was in ' + cloud}): tier 2 may activate")))
    return transition(activate_standbys(incident, step, incidents), "replication_confirmed", view.now_s)
