"""Canary: a cloud that left the rotation returns by steps of its normal share, gated on health and SLAs.

The seed's "Gradual traffic shift back (canary 5% -> 25% -> 50% -> 100%)". Per cloud, a state machine
(TRANSITIONS below is the whole of it):

- in:          the cloud carries its normal share (fraction 1).
- out:         the cloud is out of the rotation (fraction 0).
- stabilizing: it is back in the rotation but carries nothing until it has been continuously healthy
               for `canary_stabilization_s` (not declared down, every endpoint healthy from the edge)
               AND every copy of a datastore it holds has caught up with its primary. Any loss of
               health restarts the clock. Returning traffic to stale data is never worth the minutes.
- step:        it carries `canary_steps[i]` percent of its normal share for `canary_bake_s`. The step
               is promoted only if no service sample from that cloud measured during the step (its
               window starting `propagation_s` or more after the step began) broke its SLA (error rate
               <= error_rate_sla, p99 <= p99_sla_ms) and at least one such sample with traffic arrived
               (no evidence is no promotion). Without evidence the bake is extended once, by one
               more `canary_bake_s`, then the step fails as inconclusive: a bounded wait. A breach rolls
               back to 0 at once (like Argo Rollouts failing on the first failed analysis) and the cloud
               stabilizes again from the start. Steps are taken in order, one at a time; none is skipped.
- after the last step (100) bakes cleanly the cloud is `in` again: the canary is closed.

The canary emits only `Condition`s (the timeline); steering turns the fraction into weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from godseye.control.actions import Action, Condition
from godseye.control.decision import Decision
from godseye.control.observations import ServiceSample
from godseye.spec.models import Platform

Phase = Literal["in", "out", "stabilizing", "step"]
Event = Literal["left", "returned", "stable", "baked", "completed", "breached", "lost_health"]

# (phase, event) -> next phase. Events not listed leave the phase unchanged.
TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    ("in", "left"): "out",
    ("out", "returned"): "stabilizing",
    ("stabilizing", "left"): "out",
    ("stabilizing", "stable"): "step",
    ("step", "left"): "out",
    ("step", "baked"): "step",  # the next step, in order
    ("step", "completed"): "in",  # the last step (100) baked cleanly
    ("step", "breached"): "stabilizing",
    ("step", "lost_health"): "stabilizing",
}


@dataclass(frozen=True, slots=True)
class CloudCanary:
    phase: Phase = "in"
    since_s: float = 0.0  # when the phase (or the current step) began
    step: int = 0  # index into canary_steps while phase == "step"
    healthy_since_s: float | None = None  # start of the current run of continuous health (stabilizing)
    evidence: int = 0  # samples with traffic seen during the current step
    rollbacks: int = 0
    waiting_for_data: bool = False  # stable long enough, held back by lagging datastore copies


@dataclass(frozen=True, slots=True)
class CanaryMemory:
    clouds: Mapping[str, CloudCanary] = field(default_factory=dict)

    def fraction(self, cloud: str, steps: tuple[int, ...]) -> float:
        state = self.clouds.get(cloud, CloudCanary())
        if state.phase == "in":
            return 1.0
        if state.phase == "step":
            return steps[state.step] / 100.0
        return 0.0

    def returning(self, steps: tuple[int, ...]) -> dict[str, float]:
        """Clouds not fully in, with their fraction of their normal share."""
        return {c: self.fraction(c, steps) for c, s in self.clouds.items() if s.phase != "in"}


@dataclass(frozen=True, slots=True)
class CanaryView:
    now_s: float
    platform: Platform
    out: frozenset[str]  # clouds out of the rotation
    healthy: frozenset[str]  # clouds not declared down with every endpoint healthy from the edge
    caught_up: frozenset[str]  # clouds whose every datastore copy has caught up with its primary
    samples: tuple[ServiceSample, ...]  # new since the last call


def _breach(sample: ServiceSample, platform: Platform) -> str | None:
    svc = platform.services.get(sample.service)
    if svc is None or sample.offered_rps <= 0:
        return None
    if sample.error_rate > svc.error_rate_sla:
        return (f"{sample.service} error rate {sample.error_rate:.2%} > error_rate_sla {svc.error_rate_sla:.2%} "
                f"at t={sample.t_s:g}s")
    if sample.p99_ms > svc.p99_sla_ms:
        return f"{sample.service} p99 {sample.p99_ms:g}ms > p99_sla_ms {svc.p99_sla_ms:g} at t={sample.t_s:g}s"
    return None


def _go(
    state: CloudCanary, event: Event, *, since_s: float, healthy_since_s: float | None = None, step: int | None = None,
    evidence: int = 0, rollbacks: int | None = None,
) -> CloudCanary:
    """Take the table's transition for `event`; an event the table does not list is a bug, not a no-op."""
    return CloudCanary(
        phase=TRANSITIONS[(state.phase, event)],
        since_s=since_s,
        step=state.step if step is None else step,
        healthy_since_s=healthy_since_s,
        evidence=evidence,
        rollbacks=state.rollbacks if rollbacks is None else rollbacks,
    )


def _step_cloud(
    cloud: str, state: CloudCanary, view: CanaryView, samples: list[ServiceSample], actions: list[Action]
) -> tuple[CloudCanary, float | None]:
    """One cloud's transitions for this call; returns its new state and when it wants to be called again."""
    edge = view.platform.edge
    steps = edge.canary_steps
    now = view.now_s
    if cloud in view.out:
        if state.phase != "out":
            if state.phase != "in":
                actions.append(Condition(cloud, "canary-aborted", f"{cloud} left the rotation again during its canary"))
            state = _go(state, "left", since_s=now, healthy_since_s=None, evidence=0)
        return state, None
    if state.phase == "out":
        state = _go(state, "returned", since_s=now, healthy_since_s=now if cloud in view.healthy else None)
        actions.append(Condition(cloud, "canary-stabilizing", (
            f"{cloud} is back; it carries nothing until {edge.canary_stabilization_s:g}s of continuous health "
            "(canary_stabilization_s) and its datastores have caught up")))
    if state.phase == "stabilizing":
        if cloud not in view.healthy:
            return replace(state, healthy_since_s=None, waiting_for_data=False), None
        start = state.healthy_since_s if state.healthy_since_s is not None else now
        state = replace(state, healthy_since_s=start)
        ready_at = start + edge.canary_stabilization_s
        if now < ready_at:
            return state, ready_at - now
        if cloud not in view.caught_up:
            # Returning traffic to stale copies is never worth the minutes, so this wait has no timeout;
            # its bound is a person: the timeline says once that the canary is blocked on data.
            # Re-checked on every replication report; nothing to wake for on our own.
            if not state.waiting_for_data:
                actions.append(Condition(cloud, "canary-waiting-for-data", (
                    f"{cloud} healthy for {now - start:g}s but its datastore copies have not caught up with their "
                    "primaries: the first step waits for them")))
            return replace(state, waiting_for_data=True), None
        state = _go(state, "stable", since_s=now, healthy_since_s=start, step=0)
        actions.append(Condition(cloud, "canary-step", (
            f"{cloud} healthy for {now - start:g}s and its datastores caught up: step 1 of {len(steps)}, "
            f"{steps[0]}% of its normal share for {edge.canary_bake_s:g}s (canary_bake_s)")))
        return state, edge.canary_bake_s
    if state.phase != "step":
        return state, None
    if cloud not in view.healthy:
        actions.append(Condition(cloud, "canary-rollback", (
            f"{cloud} lost health at {steps[state.step]}%: back to 0, stabilizing again")))
        state = _go(state, "lost_health", since_s=now, healthy_since_s=None, evidence=0, rollbacks=state.rollbacks + 1)
        return state, None
    evidence = state.evidence
    applied_at = state.since_s + edge.propagation_s
    for sample in samples:
        if sample.t_s - sample.window_s < applied_at:
            continue  # measured (partly) before this step's weights reached clients
        breach = _breach(sample, view.platform)
        if breach is not None:
            actions.append(Condition(cloud, "canary-rollback", (
                f"{cloud} at {steps[state.step]}%: {breach}; back to 0, stabilizing again for "
                f"{edge.canary_stabilization_s:g}s")))
            state = _go(state, "breached", since_s=now, healthy_since_s=now, evidence=0, rollbacks=state.rollbacks + 1)
            return state, edge.canary_stabilization_s
        if sample.offered_rps > 0:
            evidence += 1
    state = replace(state, evidence=evidence)
    return _promote(cloud, state, view, actions)


def _promote(cloud: str, state: CloudCanary, view: CanaryView, actions: list[Action]) -> tuple[CloudCanary, float | None]:
    edge = view.platform.edge
    steps = edge.canary_steps
    now = view.now_s
    baked_at = state.since_s + edge.canary_bake_s
    if now < baked_at:
        return state, baked_at - now
    if state.evidence == 0 and edge.canary_bake_s > 0:
        give_up_at = baked_at + edge.canary_bake_s
        if now < give_up_at:
            return state, give_up_at - now
        actions.append(Condition(cloud, "canary-rollback", (
            f"{cloud} at {steps[state.step]}%: no service sample with traffic in {now - state.since_s:g}s "
            "(inconclusive); back to 0, stabilizing again")))
        state = _go(state, "breached", since_s=now, healthy_since_s=now, evidence=0, rollbacks=state.rollbacks + 1)
        return state, edge.canary_stabilization_s
    if state.step + 1 >= len(steps):
        actions.append(Condition(cloud, "canary-complete", (
            f"{cloud} baked {edge.canary_bake_s:g}s at {steps[state.step]}% within SLA: back to its normal share")))
        return _go(state, "completed", since_s=now, step=0), None
    nxt = state.step + 1
    actions.append(Condition(cloud, "canary-step", (
        f"{cloud} baked {edge.canary_bake_s:g}s at {steps[state.step]}% within SLA ({state.evidence} samples): "
        f"step {nxt + 1} of {len(steps)}, {steps[nxt]}%")))
    state = _go(state, "baked", since_s=now, step=nxt, evidence=0)
    return state, edge.canary_bake_s


def reconcile(view: CanaryView, memory: CanaryMemory) -> Decision[CanaryMemory]:
    by_cloud: dict[str, list[ServiceSample]] = {}
    for sample in sorted(view.samples, key=lambda s: (s.t_s, s.cloud, s.service)):
        by_cloud.setdefault(sample.cloud, []).append(sample)
    clouds: dict[str, CloudCanary] = {}
    actions: list[Action] = []
    wakeups: list[float] = []
    for cloud in view.platform.clouds:
        state, requeue = _step_cloud(cloud, memory.clouds.get(cloud, CloudCanary()), view, by_cloud.get(cloud, []), actions)
        if state != CloudCanary():
            clouds[cloud] = state
        if requeue is not None:
            wakeups.append(requeue)
    return Decision(CanaryMemory(clouds), tuple(actions), min(wakeups) if wakeups else None)
