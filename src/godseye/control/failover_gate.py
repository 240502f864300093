"""The replication gate: writes held per sql datastore whose primary failed, the survivor chosen and promoted.

Streams and object stores are not gated (`_carry_on`): they promote at once and report the tail lost.
The rules (timeout, early promotion within the RPO target) are described in control/failover.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from godseye.control.actions import FollowPrimary, HoldWrites, PromoteReplica
from godseye.control.failover_facts import ReplicationFacts
from godseye.control.failover_model import FailoverView, Gate, Incident, Step
from godseye.control.replication import targets_from_platform
from godseye.policy.tiers import datastore_tiers, tier_table
from godseye.spec.models import Platform

Verdict = Literal["caught_up", "within_rpo", "timeout"]


def gate_timeout_s(platform: Platform, datastore: str) -> float:
    """Bound of the replication gate: the RTO of the most critical tier using the datastore."""
    return tier_table(platform)[datastore_tiers(platform)[datastore]].rto_s


def open_gates(incident: Incident, step: Step) -> tuple[Gate, ...]:
    """The incident's gates once its cloud failed: writes held for its sql primaries, other stores carried on."""
    view, cloud = step.view, incident.cloud
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
    return tuple(gates)


def _carry_on(cloud: str, facts: ReplicationFacts, step: Step) -> list[Gate]:
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


def settle_gates(incident: Incident, step: Step) -> Incident:
    """Promote (or release) every holding gate that may pass now; the others wait, a wake-up at their timeout."""
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
    return replace(incident, gates=tuple(gates))


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


def _promote(gate: Gate, chosen: str, facts: ReplicationFacts, verdict: Verdict, step: Step) -> Gate:
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
