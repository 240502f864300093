"""Deciding the autoscaler's records: one cloud (`decide_cell`), one service across its clouds with the
burst of what does not fit (`decide_service`), and every service until nothing moves (`settle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from godseye.control.autoscaler_frame import Cell, Frame, ServiceLoad
from godseye.control.autoscaler_model import AutoscalerView, Key, Phase, PodScale
from godseye.control.autoscaler_scale_down import consider_down
from godseye.control.autoscaler_scale_up import want_reason, want_up
from godseye.control.cloud_capacity import CloudRoom, burst_reason, spread_burst

# Passes over all services before a reconcile settles; two or three do in practice.
MAX_PASSES = 8


class Outcome:
    """One cloud's record as one pass decided it, with why it moved: what `settle` folds into the `Trace`."""

    __slots__ = ("burst_reason", "key", "prior", "quiet", "record", "scale_reason", "urgent")

    def __init__(self, key: Key, prior: PodScale, record: PodScale, scale_reason: str, burst_reason: str, quiet: bool,
                 urgent: int) -> None:
        self.key, self.prior, self.record = key, prior, record  # prior: the record the decision started from
        self.scale_reason = scale_reason  # why the replicas changed in this pass ("" when they did not)
        self.burst_reason = burst_reason  # why burst pods sit here ("" when none do)
        # At rest: the record is its prior, in a phase no timer moves, with no burst and no pods waiting,
        # and holds at least what every rule asks within the room it has, so neither the clock nor another
        # service's moves can change it while its inputs stay the same.
        self.quiet = quiet
        self.urgent = urgent  # replicas asked for now whatever the ready nodes hold (see `autoscaler_nodes.cap_to_ready`)


def decide_service(frame: Frame, svc: ServiceLoad, cells: list[Cell], bursting: bool) -> tuple[list[Outcome], bool]:
    """Scale-ups within each cloud's room, the burst of what does not fit, then scale-downs.

    While not `bursting`, burst pods already placed are kept as they are (and protected from the
    scale-down) but none are added or moved. Also returns whether a burst is in play for the service
    (a deficit at a full cloud, or burst pods placed), i.e. whether bursting could decide differently.
    """
    view = frame.view
    wants: list[tuple[int, int, int, int]] = []
    # Only what the load (or a known event) needs beyond a full cloud spills over, not a step's
    # overshoot: the burst is then a function of the inputs and a second call leaves it alone.
    sources: list[str] = []
    deficit, spill = 0, False
    out: list[Outcome] = []
    for cell in cells:
        want, rule, pressing = want_up(view, svc, cell)
        fit = cell.fit
        up = max(cell.current, min(want, fit))
        short = max(cell.need, cell.hold) - up
        if short > 0 and up >= fit:
            sources.append(cell.cloud)
            deficit += short
        spill |= cell.prior.burst_pods > 0
        if bursting:
            wants.append((want, rule, pressing, up))
        else:
            # Burst pods already placed stay as they are; none are added: each cloud is decided on its own.
            kept = cell.prior.burst_pods
            decide_cell(view, svc, cell, want, rule, pressing, up, kept if kept > 0 else 0, "", out)
    spill |= bool(sources)
    if bursting:
        room = {cell.cloud: cell.fit - min(cell.fit, max(w[0], cell.need))
                for cell, w in zip(cells, wants, strict=True) if cell.cloud not in sources}
        placed = {cell.cloud: cell.prior.burst_pods for cell in cells}
        size = frame.facts.size_vcpu  # max_nodes x node_vcpu
        burst = spread_burst(room, placed, {cell.cloud: size[cell.cloud] for cell in cells}, deficit)
        for cell, (want, rule, pressing, up) in zip(cells, wants, strict=True):
            pods = burst.get(cell.cloud, 0)
            why_burst = burst_reason(view, sources, pods, cell.cloud, svc.name) if pods > 0 else ""
            decide_cell(view, svc, cell, want, rule, pressing, up, pods, why_burst, out)
    return out, spill


def decide_cell(
    view: AutoscalerView, svc: ServiceLoad, cell: Cell, want: int, rule: int, pressing: int, up: int, pods: int,
    why_burst: str, out: list[Outcome],
) -> None:
    """The record of one cloud, given what the rules ask (`want_up`), the replicas that fit (`up`) and
    the `pods` of other clouds' burst it carries (`why_burst` says why, when it adds them)."""
    prior = cell.prior
    base = min(cell.fit, max(want, cell.need))
    target = up
    if why_burst and base + pods > target:
        target = base + pods
    # Growth beyond the load now (an event's hold) may wait for nodes; the load's and a burst's may not.
    # (The replicas this reconcile started from are kept in `cap_to_ready`, not here: later passes see settled ones.)
    urgent = min(max(pressing, cell.need), cell.fit) + (pods if why_burst else 0)
    if target > cell.current:
        if target != up:
            reason = why_burst
        else:
            reason = want_reason(view, svc, cell, rule)
            if up < want:
                reason += f"; {cell.cloud} holds {up} at max_nodes {view.platform.clouds[cell.cloud].max_nodes}"
        phase: Phase = "prescale" if cell.hold > 0 else "reactive"
        record = PodScale(target, phase, None, view.now_s, prior.last_down_s, pods, target * svc.per_pod,
                          pods * svc.per_pod, prior.waiting_pods)
    else:
        record, reason = consider_down(view, svc, cell, base + pods, pods)
    if record.replicas > 0 or cell.known or reason:
        quiet = (
            pods == 0 and cell.known and record.phase in ("normal", "prescale") and record.waiting_pods == 0
            and record.burst_pods == 0 and max(want, cell.need) <= cell.current <= cell.fit
            and (record is prior or record == prior)
        )
        out.append(Outcome(cell.key, prior, record, reason, why_burst, quiet, min(urgent, record.replicas)))


@dataclass(frozen=True, slots=True)
class Trace:
    """Scratch of one reconcile (never leaves it): records as they settle, and why they moved; the dicts fill in place."""

    pods: dict[Key, PodScale]
    # Each cloud's vCPU held by every service's pods (at least their floors), kept in step with `pods`
    # (None when no service is decided).
    room: CloudRoom | None
    start: dict[Key, PodScale] = field(default_factory=dict)
    scale_reason: dict[Key, str] = field(default_factory=dict)
    burst_reason: dict[Key, str] = field(default_factory=dict)
    # Per service, whether its last pass left it at rest (see `Outcome.quiet`).
    quiet: dict[str, bool] = field(default_factory=dict)
    # Per record, the replicas the load (not an event's hold) asks for now, as of its last pass.
    urgent: dict[Key, int] = field(default_factory=dict)


def settle(frame: Frame, services: list[ServiceLoad], bursting: bool, trace: Trace) -> bool:
    """Decide every service until nothing moves (at most MAX_PASSES passes).

    Services share each cloud's nodes: one scaling down frees room another may need. Settling makes
    the result a fixed point, so a second call with the same view asks for nothing new. Returns whether
    bursting could still change anything: the last pass moved, or some service had a deficit at a full
    cloud or burst pods placed.
    """
    # Per service, the records and room its last decision here started from, and whether it could burst:
    # a decision is a function of those, so on the same ones it would write the same records again.
    last: dict[str, tuple[tuple[object, ...], bool]] = {}
    room = trace.room
    if room is None:
        return False  # no service to decide: nothing moves, nothing could burst
    for _ in range(MAX_PASSES):
        moved, could_burst = False, False
        for svc in services:
            cells = frame.cells_of(svc.plan)
            seen = frame.ready(cells, trace.pods, room)
            before_seen = last.get(svc.name)
            if before_seen is not None and before_seen[0] == seen:
                could_burst |= before_seen[1]
                continue
            outcomes, spill = decide_service(frame, svc, cells, bursting)
            last[svc.name] = seen, spill
            could_burst |= spill
            at_rest = True
            for out in outcomes:
                at_rest = at_rest and out.quiet
                key, record = out.key, out.record
                trace.urgent[key] = out.urgent
                trace.start.setdefault(key, out.prior)
                if out.scale_reason:
                    trace.scale_reason[key] = out.scale_reason
                if out.burst_reason:
                    trace.burst_reason[key] = out.burst_reason
                before = trace.pods.get(key)
                if before is record:
                    continue  # kept as it was (the common case): nothing moved, no room changes hands
                moved |= before is None or (before.replicas, before.burst_pods) != (record.replicas, record.burst_pods)
                room.move(key, before, record)
                trace.pods[key] = record
            trace.quiet[svc.name] = at_rest
        if not moved:
            return could_burst
    return True
