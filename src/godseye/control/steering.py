"""Steering: which clouds are in the rotation, and the traffic weights of every service.

The seed's "Update routing table: remove AWS endpoints", "Route 60% to GCP / 40% to Azure" and
"Re-add AWS endpoints with canary weights". Two reconcilers, run in this order by the plane:

`rotate` decides which whole clouds leave the rotation:
- A cloud declared down by health's quorum leaves, except within `hold_down_s` after another cloud
  left: then it is *held* (kept in) unless its own probes say so, meaning the edge itself sees every
  one of its endpoints unhealthy. "Down only by other vantage points while the edge still reaches it"
  is the signature of a partition or a confused prober, and losing two clouds of three by decision in
  quick succession is the worst mistake steering can make. A hold ends at the end of the window.
- A cloud no longer declared down re-enters the rotation (the canary then governs its weight).

`reconcile` turns the rotation into weights per service, whole percents summing to 100:
- Normal: the plan's weights (or, for a service failover rescheduled, 100 to where it now runs).
- Excluded for a service: clouds out of the rotation and clouds whose endpoint for that service the
  edge judges unhealthy. Their share goes by `policy.split.redistribute` (the spec's `failover_split`,
  else surviving capacity), the same rule the planner's N-1 check uses. A service whose weighted clouds
  are all excluded goes to its warm standby (tier 2), split by capacity if there are several.
- A returning cloud carries its canary fraction of its normal weight; the rest follows the failover
  split among the clouds fully in.
- Fail open: if no healthy cloud is left for a service, the weights are restored to all its clouds
  (like Route 53 serving every record when all are unhealthy): dropping everything is never better.
- `SetWeights` only when a service's weights change (level-triggered).
- Drift: a served split (`ServedSplit`) measured wholly after the change took effect (its window starts
  `propagation_s` or more after it) is compared with the split asked for; two consecutive readings
  off by more than `drift_tolerance_pct` in any cloud raise `RaiseDrift`, once per episode (until a
  reading is back within tolerance or the weights change). One reading alone can still mix in
  traffic from before the change when its producer does not say how long it measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from godseye.control.actions import Action, Condition, RaiseDrift, SetWeights
from godseye.control.decision import Decision
from godseye.control.observations import ServedSplit
from godseye.plan.model import ServicePlan
from godseye.policy.split import capacity, redistribute, whole_percents
from godseye.spec.models import Platform

# ---------------------------------------------------------------------------------------------
# Rotation


@dataclass(frozen=True, slots=True)
class RotationView:
    now_s: float
    clouds: tuple[str, ...]  # spec order
    hold_down_s: float
    clouds_down: frozenset[str]  # health's quorum verdicts
    edge_sees_down: frozenset[str]  # clouds whose every endpoint the edge itself judges unhealthy


@dataclass(frozen=True, slots=True)
class RotationMemory:
    out_since: Mapping[str, float] = field(default_factory=dict)  # clouds out of the rotation by decision
    held: frozenset[str] = frozenset()
    last_out_s: float | None = None  # when the most recent cloud left the rotation

    @property
    def out(self) -> frozenset[str]:
        return frozenset(self.out_since)


def rotate(view: RotationView, memory: RotationMemory) -> Decision[RotationMemory]:
    out = dict(memory.out_since)
    held: set[str] = set()
    last_out = memory.last_out_s
    actions: list[Action] = []
    requeue: float | None = None
    for cloud in view.clouds:
        if cloud in out and cloud not in view.clouds_down:
            del out[cloud]
            actions.append(Condition(cloud, "rotation-return", f"{cloud} is no longer declared down; it returns by canary"))
            continue
        if cloud in out:
            continue
        if cloud not in view.clouds_down:
            if cloud in memory.held:
                actions.append(Condition(cloud, "rotation-hold-lifted", (
                    f"{cloud} is no longer declared down: it was held in the rotation and never left it")))
            continue
        window_end = None if last_out is None else last_out + view.hold_down_s
        own_probes = cloud in view.edge_sees_down
        if window_end is not None and view.now_s < window_end and not own_probes:
            held.add(cloud)
            requeue = window_end - view.now_s if requeue is None else min(requeue, window_end - view.now_s)
            if cloud not in memory.held:
                actions.append(Condition(cloud, "rotation-held", (
                    f"{cloud} declared down by other vantage points but the edge still reaches it; another cloud left "
                    f"the rotation at t={last_out:g}s, so {cloud} is held in until t={window_end:g}s (hold_down_s "
                    f"{view.hold_down_s:g})")))
            continue
        out[cloud] = view.now_s
        last_out = view.now_s
        why = "the edge's own probes see it down" if own_probes else "declared down by quorum"
        if cloud in memory.held:
            why += f"; hold-down of {view.hold_down_s:g}s ended"
        actions.append(Condition(cloud, "rotation-out", f"{cloud} leaves the rotation: {why}"))
    return Decision(RotationMemory(out, frozenset(held), last_out), tuple(actions), requeue)


# ---------------------------------------------------------------------------------------------
# Weights


@dataclass(frozen=True, slots=True)
class SteeringView:
    now_s: float
    platform: Platform
    services: tuple[ServicePlan, ...]
    out: frozenset[str]  # clouds out of the rotation
    unhealthy: frozenset[tuple[str, str]]  # (cloud, service) endpoints the edge judges unhealthy
    canary: Mapping[str, float]  # returning cloud -> fraction of its normal share (0..1)
    # Where failover moved a service (tier 3 reschedule): service -> cloud now running it.
    moved: Mapping[str, str]
    served: tuple[ServedSplit, ...]  # new since the last call
    # The autoscaler's cloud burst: service -> cloud -> rps its pods carry at target utilisation
    # (`capacity`, all pods asked for) for services with burst pods somewhere (`bursting`).
    capacity_rps: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    bursting: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Asked:
    weights: Mapping[str, int]
    reason: str
    set_at_s: float
    # The weights before any cloud burst: what each cloud would carry without the autoscaler's burst
    # pods. The autoscaler sizes from these, so spilling to burst pods never erases the overload that
    # placed them (which would end the burst, move the traffic back, and start it again).
    base: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SteeringMemory:
    asked: Mapping[str, Asked] = field(default_factory=dict)
    served: Mapping[str, ServedSplit] = field(default_factory=dict)  # newest served split per service
    drifting: frozenset[str] = frozenset()  # services with a drift already raised for their current weights
    # Services whose last served split after the change was off once, with when it was measured: a drift
    # is raised only when the next one confirms it (one reading can mix in traffic from before the change).
    suspect: Mapping[str, float] = field(default_factory=dict)


def _normal(plan: ServicePlan, platform: Platform, moved: Mapping[str, str]) -> dict[str, int]:
    target = moved.get(plan.name)
    if target is not None:
        return {c: (100 if c == target else 0) for c in platform.clouds}
    return {c: plan.weights.get(c, 0) for c in platform.clouds}


def _survivors(
    platform: Platform, plan: ServicePlan, normal: Mapping[str, int], excluded: frozenset[str]
) -> tuple[dict[str, int], str] | None:
    """The whole share spread over the clouds fully in, or None when none of them carries the service."""
    try:
        weights, rule = redistribute(platform, normal, excluded)
        return weights, rule
    except ValueError:
        pass
    standby = [c for c in plan.standby_clouds if c not in excluded]
    if not standby:
        return None
    shares = whole_percents({c: capacity(platform, c) for c in standby})
    weights = {c: shares.get(c, 0) for c in platform.clouds}
    active = ", ".join(c for c in plan.active_clouds) or "its active cloud"
    return weights, f"{active} out: failing over to warm standby {', '.join(standby)}"


def weights_for(
    platform: Platform, plan: ServicePlan, view_out: frozenset[str], unhealthy: frozenset[tuple[str, str]],
    canary: Mapping[str, float], moved: Mapping[str, str],
) -> tuple[dict[str, int], str]:
    """Weights of one service and the rule that produced them (pure; also used by tests and the twin)."""
    normal = _normal(plan, platform, moved)
    excluded = frozenset(c for c in platform.clouds if c in view_out or (c, plan.name) in unhealthy)
    # Clouds in their canary are not fully in for any service, standbys included.
    in_canary = frozenset(c for c, f in canary.items() if c not in excluded and f < 1)
    if not excluded and not in_canary and sum(normal.values()) == 100 and all(w >= 0 for w in normal.values()):
        # Every cloud fully in and the normal weights already whole percents: what redistribute would
        # return unchanged (nothing to move, nothing to round), without its work for each service each step.
        return dict(normal), "normal"
    returning = {c: canary[c] for c in platform.clouds if c in in_canary and normal.get(c, 0) > 0}
    base = _survivors(platform, plan, normal, excluded | in_canary)
    if base is None:
        # Only clouds still in their canary can carry it: they get everything, not a fraction. Its
        # normal clouds first, else its standbys; a cloud in canary beats failing open to dead ones.
        if returning:
            only = whole_percents({c: float(normal[c]) for c in returning})
        else:
            only = whole_percents({c: capacity(platform, c) for c in plan.standby_clouds if c in in_canary})
        if only:
            return ({c: only.get(c, 0) for c in platform.clouds},
                    f"only {', '.join(c for c, w in only.items() if w > 0)} (in canary) can carry {plan.name}: all traffic there")
        carrying = [c for c in platform.clouds if normal.get(c, 0) > 0]
        return (dict(normal), f"fail open: no healthy cloud left for {plan.name} "
                f"({', '.join(carrying)} all out or unhealthy); keeping traffic on all of them")
    weights, rule = base
    if not returning:
        return weights, rule
    mass = {c: f * normal[c] for c, f in returning.items()}
    rest = 100.0 - sum(mass.values())
    shares: dict[str, float] = {c: weights.get(c, 0) * rest / 100.0 for c in platform.clouds}
    shares.update(mass)
    canary_note = ", ".join(f"{c} at {round(f * 100):d}% of its {normal[c]}" for c, f in returning.items())
    return whole_percents(shares), f"canary: {canary_note}; rest by {rule}"


def with_burst(
    platform: Platform, plan: ServicePlan, base: Mapping[str, int], rule: str, view: SteeringView
) -> tuple[dict[str, int], str]:
    """Weights by the capacity of the pods running, while the autoscaler bursts the service.

    The seed's "CLOUD BURST: spill to secondary cloud": pods placed beyond a full cloud only help if
    traffic reaches them. While a service has burst pods, every cloud that carries it (normal or burst
    pods, not excluded) gets traffic in proportion to the rps its pods carry, so all run at the same
    utilisation. Capacity moves only when pods do, so the split does not chase noisy load samples.
    Steering's own rules win where they apply: a failing-open service, or one with a cloud in its
    canary, keeps the weights those rules gave.
    """
    if plan.name not in view.bursting or rule.startswith(("fail open", "canary", "only")):
        return dict(base), rule
    capacity = view.capacity_rps.get(plan.name, {})
    excluded = {c for c in platform.clouds if c in view.out or (c, plan.name) in view.unhealthy}
    carrying = {c: capacity.get(c, 0.0) for c in platform.clouds if c not in excluded and capacity.get(c, 0.0) > 0}
    if not carrying:
        return dict(base), rule
    shares = whole_percents(carrying)
    weights = {c: shares.get(c, 0) for c in platform.clouds}
    detail = ", ".join(f"{c} {carrying[c]:.0f} rps" for c in carrying)
    return weights, f"cloud burst: by the capacity of the pods running ({detail}); without the burst: {rule}"


def reconcile(view: SteeringView, memory: SteeringMemory) -> Decision[SteeringMemory]:
    platform = view.platform
    asked = dict(memory.asked)
    served = dict(memory.served)
    fresh: dict[str, list[ServedSplit]] = {}
    for split in sorted(view.served, key=lambda s: (s.t_s, s.service)):
        old = served.get(split.service)
        if old is None or split.t_s > old.t_s:
            served[split.service] = split
            fresh.setdefault(split.service, []).append(split)
    drifting = set(memory.drifting)
    suspect = dict(memory.suspect)
    actions: list[Action] = []
    requeue: float | None = None
    # Nothing out, unhealthy, returning, moved or bursting: a service already asked its normal weights
    # for the normal reason keeps them, which is what `weights_for` would decide (steps are mostly this).
    calm = not (view.out or view.unhealthy or view.canary or view.moved or view.bursting)
    for plan in view.services:
        old_ask = asked.get(plan.name)
        if calm and old_ask is not None and _still_normal(platform, plan, old_ask):
            weights = base = dict(old_ask.weights)
            rule = old_ask.reason
        else:
            base, rule = weights_for(platform, plan, view.out, view.unhealthy, view.canary, view.moved)
            weights, rule = with_burst(platform, plan, base, rule, view)
        assert sum(weights.values()) == 100 and all(w >= 0 for w in weights.values()), weights
        if old_ask is None or dict(old_ask.weights) != weights:
            asked[plan.name] = Asked(weights, rule, view.now_s, base)
            drifting.discard(plan.name)
            suspect.pop(plan.name, None)
            actions.append(SetWeights(plan.name, weights, rule))
        elif old_ask.reason != rule or dict(old_ask.base) != base:
            # Same weights for a new reason (a single-cloud service failing open keeps its only cloud):
            # nothing to ask of the edge, but the timeline must say traffic stays on a cloud that is out.
            asked[plan.name] = Asked(old_ask.weights, rule, old_ask.set_at_s, base)
            if rule.startswith("fail open"):
                actions.append(Condition(plan.name, "steering-fail-open", rule))
        ask = asked[plan.name]
        due = ask.set_at_s + platform.edge.propagation_s
        if view.now_s < due:
            requeue = due - view.now_s if requeue is None else min(requeue, due - view.now_s)
            continue
        for split in fresh.get(plan.name, []):
            if split.t_s - split.window_s < due:
                continue  # measured (partly) before the change reached clients
            drift = _drift(split, ask, platform.edge.drift_tolerance_pct)
            if drift is None:
                drifting.discard(plan.name)
                suspect.pop(plan.name, None)
            elif plan.name not in suspect:
                suspect[plan.name] = split.t_s
            elif plan.name not in drifting:
                drifting.add(plan.name)
                first = suspect[plan.name]
                actions.append(RaiseDrift(plan.name, dict(ask.weights), dict(split.shares), f"{drift}; also off at t={first:g}s"))
    return Decision(SteeringMemory(asked, served, frozenset(drifting), suspect), tuple(actions), requeue)


def _still_normal(platform: Platform, plan: ServicePlan, ask: Asked) -> bool:
    """The ask holds the plan's weights as whole percents, for the normal reason, with no burst under them."""
    if ask.reason != "normal" or ask.weights != ask.base or len(ask.weights) != len(platform.clouds):
        return False
    weights = plan.weights
    if ask.weights == weights:
        return True  # the plan names every cloud (the planner's own weights do): one comparison
    return all(ask.weights.get(c) == weights.get(c, 0) for c in platform.clouds)


def _drift(split: ServedSplit, ask: Asked, tolerance_pct: float) -> str | None:
    """Why the served split is off from the one asked for, or None when it is within tolerance."""
    clouds = sorted(set(ask.weights) | set(split.shares))
    gaps = {c: split.shares.get(c, 0.0) * 100 - ask.weights.get(c, 0) for c in clouds}
    worst = max(clouds, key=lambda c: (abs(gaps[c]), -clouds.index(c)))
    if abs(gaps[worst]) <= tolerance_pct:
        return None
    return (f"{worst} served {split.shares.get(worst, 0.0) * 100:.1f}% but was asked for {ask.weights.get(worst, 0)}% "
            f"(off by {abs(gaps[worst]):.1f} points > drift_tolerance_pct {tolerance_pct:g}), "
            f"measured over t={split.t_s - split.window_s:g}..{split.t_s:g}s, {split.t_s - ask.set_at_s:g}s after the change")
