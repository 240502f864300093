"""The seed's Auto-Scaling Flow as a pure controller: reconcile(view, memory) -> Decision.

Rules, per service and cloud (the flowchart's boxes; docs/autoscaling.md walks through them):

1. Expected load = the service's total offered rps x the cloud's current steering weight, so a
   failover weight change scales the survivors at once. Need = ceil(expected / (pod_rps x
   target_utilization)), or HPA's ceil(ready x util / target) when cpu or memory runs hotter than that.
2. Spike = total offered rps > spike_factor x its rolling average over rolling_window_s.
3. Known event (the spec's calendar): from max(prescale_lead_s, node_boot_s + pod_start_s) before its
   start until its end, hold at least the replicas for the predicted peak + prescale_buffer.
   A spike while an event holds is that event; otherwise it is organic.
4. Organic spike while overloaded: +reactive_step pods per step, one step per metrics interval
   (metrics_lag_s, and only on a sample newer than the last step). Without a spike, growth beyond
   HPA's 10% tolerance goes straight to the need; p99 over SLA with a queue also steps +reactive_step.
5. Nodes: pods that no longer fit the nodes ready or booting ask the pool for more (ScaleNodePool);
   nodes already asked for are counted, so nothing is asked twice.
6. A cloud at max_nodes keeps what fits and bursts the rest to the other live clouds with room
   (ScaleService there + a Condition); memory exposes the burst capacity for steering.
7. Stable (p99 and errors under SLA, cpu and memory within tolerance of target, queue drains within
   the SLA, no overload) for stable_s, with the load no longer above its rolling average and no event holding:
   -scale_down_step every scale_down_interval_s, never below the need, the burst it carries, or the
   floor = ceil(plan replicas x (1 + floor_buffer)).
8. Never above what max_nodes x node_vcpu leaves for the service after the other services' pods.

Level-triggered: with nothing changed a second call asks for nothing. Services are handled tier
first, then by name, so tier 1 gets a full cloud's last vCPUs; every service keeps its floor, and
passes repeat until nothing moves (services share nodes), so one call settles.
"""

from __future__ import annotations

from godseye.control.actions import Action, ScaleService
from godseye.control.autoscaler_decide import MAX_PASSES, Trace, settle
from godseye.control.autoscaler_frame import EPS, TOLERANCE, Frame, ServiceLoad, fold_loads, inputs_at_rest, service_load
from godseye.control.autoscaler_memo import Records
from godseye.control.autoscaler_model import AutoscalerMemory, AutoscalerView, PlatformFacts, facts_of
from godseye.control.autoscaler_nodes import cap_to_ready, node_asks
from godseye.control.cloud_capacity import CloudRoom, burst_conditions
from godseye.control.decision import Decision
from godseye.control.events_calendar import EventWindow, event_windows, holding, next_boundary_s

# The rules live in the modules imported above, one job each: `autoscaler_frame` (the view indexed once,
# what a service at rest is decided on), `autoscaler_scale_up` and `autoscaler_scale_down` (the rules for
# one cloud), `autoscaler_decide` (one service, then every service until nothing moves) and
# `autoscaler_nodes` (pods cut to the ready nodes, node-pool asks). This module puts one reconcile together.

__all__ = ["EPS", "MAX_PASSES", "TOLERANCE", "AutoscalerMemory", "AutoscalerView", "reconcile"]


def reconcile(view: AutoscalerView, memory: AutoscalerMemory) -> Decision[AutoscalerMemory]:
    p = view.platform
    facts = facts_of(p, view.plans)
    windows = event_windows(p.events, view.epoch, view.event_history)
    live = [c for c in p.clouds if c not in view.clouds_down]
    # Which event each cloud holds for depends only on the clock, not on the service: looked up once.
    events = {c: holding(windows, view.now_s, facts.lead_s[c]) for c in live}
    frame = Frame(view, facts, live, events)
    loads = fold_loads(frame, memory)
    order = facts.order
    # A service left at rest on the same inputs would decide the same records again: only the others
    # are decided; the quiet ones' records stay in the scratch memory, where the others see them.
    # (A service without such inputs on record is decided whatever its inputs: they are worked out only
    # if it ends at rest.)
    inputs: dict[str, tuple[object, ...]] = {}
    services: list[ServiceLoad] = []
    for plan in order:
        name = plan.name
        before = memory.quiet.get(name)
        if before is not None:
            rest = inputs[name] = inputs_at_rest(frame, plan, memory)
            # Inputs unchanged are mostly the very tuple on record (see `inputs_at_rest`).
            if rest is before or rest == before:
                continue
        services.append(service_load(frame, plan, loads.get(name)))
    # The room is only looked at while deciding: on most calls no service is, and it is not summed up.
    trace = Trace(pods=dict(memory.pods), room=CloudRoom(view, memory.pods) if services else None)
    # Every service first grows in its own clouds; only then do bursts take the room that is left.
    # When that settled with no cloud short of room and no burst pods placed, the bursting passes
    # would decide exactly the same records (nothing to spill, nothing to end): they are skipped.
    if settle(frame, services, False, trace):
        settle(frame, services, True, trace)
    start = trace.start
    pods = cap_to_ready(frame, [plan.name for plan in order], trace)
    actions: list[Action] = []
    for key, first in start.items():
        final = pods[key]
        if final.replicas != first.replicas:
            reason = trace.scale_reason[key]
            if final.waiting_pods > 0:
                reason += f"; {final.replicas} fit the ready nodes, {final.waiting_pods} wait for nodes booting"
            actions.append(ScaleService(key[0], key[1], final.replicas, reason))
        actions.extend(burst_conditions(key, first.burst_pods, final.burst_pods, trace.burst_reason.get(key, "")))
    scaled_down = {k[0] for k, first in start.items() if pods[k].replicas < first.replicas}
    nodes, asks = node_asks(frame, memory, trace.pods, scaled_down)
    actions.extend(asks)
    decided = {svc.name for svc in services}
    quiet: dict[str, tuple[object, ...]] = {}
    for plan in order if services else ():  # with none decided, every service is at rest on `inputs`
        name = plan.name
        if name not in decided:
            quiet[name] = inputs[name]  # at rest on the inputs on record
        elif trace.quiet.get(name, False) and all(pods[(c, name)] is trace.pods[(c, name)] for c in live if (c, name) in pods):
            quiet[name] = inputs[name] if name in inputs else inputs_at_rest(frame, plan, memory)
    new_memory = AutoscalerMemory(pods=pods, loads=loads, nodes=nodes, quiet=quiet if services else inputs)
    records = frame.memo.records_of(pods, facts.vcpu)
    return Decision(new_memory, tuple(actions), _requeue_after_s(view, facts, new_memory, windows, records))


def _requeue_after_s(
    view: AutoscalerView, facts: PlatformFacts, memory: AutoscalerMemory, windows: tuple[EventWindow, ...],
    records: Records,
) -> float | None:
    """Seconds until the next timer (a pre-scale start or event end, a step or scale-down tick), if any.

    Without a timer the autoscaler has nothing to do until new samples or weights arrive.
    """
    a, now = view.platform.autoscaling, view.now_s
    times: list[float] = []
    for cloud in facts.clouds:
        boundary = next_boundary_s(windows, now, facts.lead_s[cloud])
        if boundary is not None:
            times.append(boundary)
    # `records` are those of `memory.pods`, read off them in one pass.
    for cloud in sorted(records.waiting):
        # Pods waiting for nodes are asked for once those nodes are ready (the pool status says so).
        asked = memory.nodes.get(cloud)
        if asked is not None:
            times.append(asked.at_s + view.platform.clouds[cloud].node_boot_s)
    for record in records.timed:
        if record.phase == "reactive":
            # The next step is due one metrics interval after the last, or after the next sample.
            step_s = record.last_up_s + a.metrics_lag_s
            times.append(step_s if step_s > now else now + a.metrics_lag_s)
        if record.phase == "monitor" and record.stable_since_s is not None:
            times.append(max(record.stable_since_s + a.stable_s, record.last_down_s + a.scale_down_interval_s))
        if record.phase == "scale_down":
            times.append(record.last_down_s + a.scale_down_interval_s)
    later = [t for t in times if t > now]
    return min(later) - now if later else None
