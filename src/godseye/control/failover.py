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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from godseye.control.actions import (
    Action,
    ActivateStandby,
    Condition,
    FollowPrimary,
    HoldWrites,
    PromoteReplica,
    Reschedule,
    ScaleNodePool,
    ScaleService,
)
from godseye.control.decision import Decision
from godseye.control.observations import NodePoolStatus
from godseye.control.replication import targets_from_platform
from godseye.plan.model import ServicePlan
from godseye.policy.split import capacity, redistribute
from godseye.policy.tiers import datastore_tiers, tier_table
from godseye.spec.models import Platform

Phase = Literal["detected", "gating", "standby_active", "failed_over", "recovering", "closed"]
Event = Literal["rerouted", "replication_confirmed", "deferral_elapsed", "cloud_back", "cloud_lost", "canary_complete"]

TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    ("detected", "rerouted"): "gating",
    ("gating", "replication_confirmed"): "standby_active",
    ("standby_active", "deferral_elapsed"): "failed_over",
    ("detected", "cloud_back"): "recovering",
    ("gating", "cloud_back"): "recovering",
    ("standby_active", "cloud_back"): "recovering",
    ("failed_over", "cloud_back"): "recovering",
    ("recovering", "cloud_lost"): "detected",
    ("recovering", "canary_complete"): "closed",
}
# Each call walks the table as far as the facts allow; a walk is never longer than the table.
_MAX_TRANSITIONS_PER_CALL = len(TRANSITIONS)


class CopyLag(Protocol):
    @property
    def cloud(self) -> str: ...
    @property
    def caught_up(self) -> bool: ...
    @property
    def lag_pos(self) -> int: ...  # newest acked - replayed
    @property
    def exposure_pos(self) -> int: ...  # newest acked - received


class ReplicationFacts(Protocol):
    """What the failover gate and the canary need from the replication watch (control/replication.py)."""

    @property
    def datastores(self) -> Mapping[str, object]: ...
    def primary(self, datastore: str) -> str | None: ...
    def newest_acked(self, datastore: str) -> int: ...
    def best_survivor(self, datastore: str, excluding_clouds: Iterable[str] = ()) -> str | None: ...
    def caught_up(self, datastore: str, cloud: str) -> bool: ...
    def exposure_pos(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> int | None: ...
    def exposure_s(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> float: ...
    def lags(self, datastore: str) -> Sequence[CopyLag]: ...


def clouds_caught_up(facts: ReplicationFacts | None, clouds: Iterable[str]) -> frozenset[str]:
    """Clouds whose every datastore copy has replayed what its primary acknowledged (the canary's gate)."""
    lagging: set[str] = set()
    if facts is not None:
        for store in sorted(facts.datastores):
            lagging.update(lag.cloud for lag in facts.lags(store) if not lag.caught_up)
    return frozenset(c for c in clouds if c not in lagging)


GateState = Literal["holding", "promoted", "released"]


@dataclass(frozen=True, slots=True)
class Gate:
    datastore: str
    old_primary: str
    started_s: float
    timeout_s: float
    rpo_s: float  # the datastore's RPO target (the replication watch's), for promoting without waiting
    state: GateState = "holding"
    new_primary: str | None = None
    lost_pos: int | None = None  # acknowledged positions the new primary never received (timeout only)


@dataclass(frozen=True, slots=True)
class Move:
    service: str
    from_cloud: str
    to_cloud: str
    replicas: int


@dataclass(frozen=True, slots=True)
class Incident:
    cloud: str
    phase: Phase
    detected_s: float
    phase_since_s: float
    gates: tuple[Gate, ...] = ()
    activated: tuple[tuple[str, str], ...] = ()  # (service, standby cloud) turned active
    moved: tuple[Move, ...] = ()
    nodes_asked: Mapping[str, int] = field(default_factory=dict)  # node pool sizes this incident asked for
    nodes_base: Mapping[str, int] = field(default_factory=dict)  # node pool sizes when it was detected


@dataclass(frozen=True, slots=True)
class FailoverMemory:
    # One incident per cloud; a closed one stays until the cloud fails again (so readers see "closed").
    incidents: Mapping[str, Incident] = field(default_factory=dict)

    def moved(self) -> dict[str, str]:
        """service -> cloud it was rescheduled to, for incidents not closed (steering's input)."""
        out: dict[str, str] = {}
        for incident in self.incidents.values():
            if incident.phase != "closed":
                out.update({m.service: m.to_cloud for m in incident.moved})
        return out

    def phases(self) -> dict[str, Phase]:
        return {c: i.phase for c, i in self.incidents.items()}


@dataclass(frozen=True, slots=True)
class FailoverView:
    now_s: float
    platform: Platform
    services: tuple[ServicePlan, ...]
    out: frozenset[str]  # clouds out of the rotation
    canary_in: frozenset[str]  # clouds carrying their full normal share (canary closed or never needed)
    replication: ReplicationFacts | None
    node_pools: Mapping[str, NodePoolStatus]


def gate_timeout_s(platform: Platform, datastore: str) -> float:
    """Bound of the replication gate: the RTO of the most critical tier using the datastore."""
    return tier_table(platform)[datastore_tiers(platform)[datastore]].rto_s


def _go(incident: Incident, event: Event, now_s: float) -> Incident:
    """Take the table's transition for `event`; an event the table does not list is a bug, not a no-op."""
    return replace(incident, phase=TRANSITIONS[(incident.phase, event)], phase_since_s=now_s)


@dataclass
class _Step:
    """Scratch for one call: the view, actions asked so far and the earliest wake-up."""

    view: FailoverView
    actions: list[Action]
    wakeups: list[float]

    def wake_at(self, t_s: float) -> None:
        self.wakeups.append(max(0.0, t_s - self.view.now_s))


def reconcile(view: FailoverView, memory: FailoverMemory) -> Decision[FailoverMemory]:
    step = _Step(view, [], [])
    incidents = dict(memory.incidents)
    for cloud in view.platform.clouds:
        incident = incidents.get(cloud)
        if cloud in view.out and (incident is None or incident.phase == "closed"):
            base = {c: _current_nodes(view, c, {}) for c in view.platform.clouds}
            incident = Incident(cloud, "detected", view.now_s, view.now_s, nodes_base=base)
            step.actions.append(Condition(cloud, "failover-detected", f"{cloud} left the rotation: failover started"))
        if incident is None:
            continue
        for _ in range(_MAX_TRANSITIONS_PER_CALL):
            nxt = _advance(incident, step, incidents)
            if nxt == incident:
                break
            incident = nxt
        incidents[cloud] = incident
    return Decision(FailoverMemory(incidents), tuple(step.actions), min(step.wakeups) if step.wakeups else None)


def _advance(incident: Incident, step: _Step, incidents: Mapping[str, Incident]) -> Incident:
    """At most one transition of one incident."""
    view, cloud = step.view, incident.cloud
    back = cloud not in view.out
    if incident.phase == "closed":
        return incident
    if incident.phase == "recovering":
        if not back:
            step.actions.append(Condition(cloud, "failover-detected", f"{cloud} left the rotation again while recovering"))
            # Deferrals count from this loss: the cloud was back, so the first loss says nothing about this one.
            return _go(replace(incident, detected_s=view.now_s), "cloud_lost", view.now_s)
        if cloud in view.canary_in:
            return _close(incident, step)
        return incident
    if back:
        return _recover(incident, step)
    if incident.phase == "detected":
        return _reroute(incident, step)
    if incident.phase == "gating":
        return _gate(incident, step, incidents)
    if incident.phase == "standby_active":
        return _tier3(incident, step, incidents)
    return incident


def _reroute(incident: Incident, step: _Step) -> Incident:
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
    gates = list(incident.gates)
    facts = view.replication
    gated = {g.datastore for g in gates if g.state == "holding"}
    if facts is not None:
        for store, spec in view.platform.datastores.items():
            if spec.kind != "sql" or store not in facts.datastores or store in gated or facts.primary(store) != cloud:
                continue
            timeout = gate_timeout_s(view.platform, store)
            gates = [g for g in gates if g.datastore != store]
            gates.append(Gate(store, cloud, view.now_s, timeout, targets_from_platform(view.platform)[store].rpo_target_s))
            step.actions.append(HoldWrites(store, True, (
                f"primary of {store} was in {cloud}: writes wait until a survivor has replayed position "
                f"{facts.newest_acked(store)} (at most {timeout:g}s, the tier's RTO); reads continue")))
        carried = _carry_on(cloud, facts, step)
        gates = [g for g in gates if g.datastore not in {c.datastore for c in carried}] + carried
    return _go(replace(incident, gates=tuple(gates)), "rerouted", view.now_s)


def _carry_on(cloud: str, facts: ReplicationFacts, step: _Step) -> list[Gate]:
    """Streams and object stores whose primary was in the failed cloud: writers carry on at once in the
    surviving copy holding the most, and the tail it never received is lost (asynchronous mirroring, an
    RPO target > 0: nothing more can arrive from a dead primary, so waiting would only lengthen the write
    outage). Recorded as an already promoted gate, so the returning copy follows the new primary."""
    view = step.view
    out: list[Gate] = []
    for store, spec in view.platform.datastores.items():
        if spec.kind == "sql" or store not in facts.datastores or facts.primary(store) != cloud:
            continue
        excluded = view.out | {cloud}
        chosen = facts.best_survivor(store, excluded)
        if chosen is None:
            continue  # no reachable copy elsewhere: nothing to write to until one returns
        lost = facts.exposure_pos(store, excluded)
        step.actions.append(PromoteReplica(store, chosen, (
            f"{cloud} failed; {store} ({spec.kind}) carries on in {chosen}, the surviving copy holding the most; "
            f"the {lost if lost is not None else 'unknown'} positions it never received "
            f"(~{facts.exposure_s(store, excluded):.3g}s of writes) are lost")))
        for lag in facts.lags(store):
            if lag.cloud not in excluded and lag.cloud != chosen:
                step.actions.append(FollowPrimary(store, lag.cloud, chosen, f"{chosen} is the new primary of {store}"))
        target = targets_from_platform(view.platform)[store].rpo_target_s
        out.append(Gate(store, cloud, view.now_s, 0.0, target, state="promoted", new_primary=chosen, lost_pos=lost))
    return out


def _gate(incident: Incident, step: _Step, incidents: Mapping[str, Incident]) -> Incident:
    view, cloud = step.view, incident.cloud
    facts = view.replication
    gates: list[Gate] = []
    for gate in incident.gates:
        if gate.state != "holding":
            gates.append(gate)
            continue
        deadline = gate.started_s + gate.timeout_s
        chosen = _choose(gate.datastore, cloud, facts, view) if facts is not None else None
        verdict = _verdict(gate, chosen, facts, view)
        if verdict is None and view.now_s < deadline:
            step.wake_at(deadline)
            gates.append(gate)
            continue
        if facts is None or chosen is None:
            step.actions.append(HoldWrites(gate.datastore, False, (
                f"no reachable copy of {gate.datastore} outside the failed clouds after {gate.timeout_s:g}s: "
                "nothing to promote; writes released (they fail until a copy returns)")))
            gates.append(replace(gate, state="released"))
            continue
        gates.append(_promote(gate, chosen, facts, verdict or "timeout", step))
    incident = replace(incident, gates=tuple(gates))
    if any(g.state == "holding" for g in gates):
        return incident
    promoted = [f"{g.datastore} -> {g.new_primary}" for g in gates if g.state == "promoted"]
    step.actions.append(Condition(cloud, "failover-replication-confirmed", (
        f"replication gate passed ({', '.join(promoted) or 'no sql primary was in ' + cloud}): tier 2 may activate")))
    return _go(_tier2(incident, step, incidents), "replication_confirmed", view.now_s)


def _choose(store: str, failed: str, facts: ReplicationFacts, view: FailoverView) -> str | None:
    """The survivor to promote: the one holding the most; among equals, one fully in the rotation.

    Data first: a cloud still in its canary is chosen when it holds more than every cloud fully in,
    but never merely because it comes first in spec order.
    """
    best = facts.best_survivor(store, view.out | {failed})
    returning = frozenset(view.platform.clouds) - view.canary_in
    settled = facts.best_survivor(store, view.out | {failed} | returning)
    if best is None or settled is None or best == settled:
        return best
    gaps = {lag.cloud: lag.exposure_pos for lag in facts.lags(store)}
    return settled if gaps.get(settled, 1) <= gaps.get(best, 0) else best


Verdict = Literal["caught_up", "within_rpo", "timeout"]


def _verdict(gate: Gate, chosen: str | None, facts: ReplicationFacts | None, view: FailoverView) -> Verdict | None:
    """Why the gate may promote `chosen` now, or None to keep waiting (until the timeout).

    Caught up: it replayed the newest acknowledged position. Within RPO: it replayed everything it
    received and what it never received is within the datastore's RPO target (strictly below it, as
    the watch judges breaches); waiting longer cannot bring more while the old primary is gone. An RPO
    target of 0 (synchronous) never qualifies: those wait for the whole acknowledged history.
    """
    if facts is None or chosen is None:
        return None
    if facts.caught_up(gate.datastore, chosen):
        return "caught_up"
    if gate.rpo_s <= 0:
        return None
    copy = next((lag for lag in facts.lags(gate.datastore) if lag.cloud == chosen), None)
    replayed_all = copy is not None and copy.lag_pos <= copy.exposure_pos
    if replayed_all and facts.exposure_s(gate.datastore, view.out | {gate.old_primary}) < gate.rpo_s:
        return "within_rpo"
    return None


def _promote(gate: Gate, chosen: str, facts: ReplicationFacts, verdict: Verdict, step: _Step) -> Gate:
    view = step.view
    acked = facts.newest_acked(gate.datastore)
    excluded = view.out | {gate.old_primary}
    lost = None if verdict == "caught_up" else facts.exposure_pos(gate.datastore, excluded)
    if verdict == "caught_up":
        why = f"{chosen} replayed the newest acknowledged position {acked} (replication confirmed caught up)"
    elif verdict == "within_rpo":
        why = (f"{chosen} replayed all it received; the {lost} acknowledged positions it never received "
               f"(~{facts.exposure_s(gate.datastore, excluded):.3g}s of writes) are within the RPO target "
               f"{gate.rpo_s:g}s: promoting without waiting for the timeout")
    else:
        why = (f"gate timeout {gate.timeout_s:g}s reached before {chosen} replayed position {acked}: promoting anyway, "
               f"{lost if lost is not None else 'unknown'} acknowledged positions lost")
    step.actions.append(PromoteReplica(gate.datastore, chosen, f"{gate.old_primary} failed; {why}"))
    for lag in facts.lags(gate.datastore):
        if lag.cloud != chosen and lag.cloud not in view.out and lag.cloud != gate.old_primary:
            why = f"{chosen} is the new primary of {gate.datastore}"
            step.actions.append(FollowPrimary(gate.datastore, lag.cloud, chosen, why))
    step.actions.append(HoldWrites(gate.datastore, False, f"{chosen} is the primary of {gate.datastore}: writes resume"))
    return replace(gate, state="promoted", new_primary=chosen, lost_pos=lost)


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


def _tier2(incident: Incident, step: _Step, incidents: Mapping[str, Incident]) -> Incident:
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
    return _ask_nodes(incident, step, incidents)


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


def _ask_nodes(incident: Incident, step: _Step, incidents: Mapping[str, Incident]) -> Incident:
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
        current = _current_nodes(view, c, asked)
        if target <= current:
            continue
        asked[c] = target
        capped = f", capped at max_nodes {spec.max_nodes}" if target == spec.max_nodes else ""
        step.actions.append(ScaleNodePool(c, target, (
            f"{c} takes on {cloud}'s load: {before[c]:g} -> {after[c]:g} planned vCPU, so {base} -> {target} nodes "
            f"to keep its headroom{capped}")))
    return replace(incident, nodes_asked=asked)


def _current_nodes(view: FailoverView, cloud: str, asked: Mapping[str, int]) -> int:
    pool = view.node_pools.get(cloud)
    observed = pool.nodes_requested if pool is not None else view.platform.clouds[cloud].nodes
    return max(observed, asked.get(cloud, 0))


def _headroom_vcpu(view: FailoverView, incidents: Iterable[Incident]) -> dict[str, float]:
    activated, moved = _effects(incidents)
    load = _load_vcpu(view, view.out, activated, moved)
    return {c: capacity(view.platform, c) - load[c] for c in view.platform.clouds if c not in view.out}


def _tier3(incident: Incident, step: _Step, incidents: Mapping[str, Incident]) -> Incident:
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
        room = _headroom_vcpu(view, [*others, replace(incident, moved=tuple(moves))])
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
        incident = _ask_nodes(replace(incident, moved=tuple(moves)), step, incidents)
    if waiting:
        return incident
    step.actions.append(Condition(cloud, "failover-complete", (
        f"{cloud}'s load is carried by {', '.join(c for c in view.platform.clouds if c not in view.out) or 'nobody'}; "
        "waiting for it to recover")))
    return _go(incident, "deferral_elapsed", view.now_s)


def _recover(incident: Incident, step: _Step) -> Incident:
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
    return _go(replace(incident, gates=tuple(gates)), "cloud_back", view.now_s)


def _current_primary(view: FailoverView, gate: Gate) -> str | None:
    """Where a returning copy should follow: the datastore's primary now, which a later incident may have
    moved again since this one promoted `gate.new_primary`; never a cloud that is out of the rotation."""
    known = view.replication.primary(gate.datastore) if view.replication is not None else None
    for candidate in (known, gate.new_primary):
        if candidate is not None and candidate not in view.out and candidate != gate.old_primary:
            return candidate
    return None


def _close(incident: Incident, step: _Step) -> Incident:
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
    return _go(incident, "canary_complete", view.now_s)
