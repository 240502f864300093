"""The autoscaler's nodes (rule 5 of `autoscaler`): settled pods cut to what the ready nodes hold, and
the node-pool asks for every pod the rules want.
"""

from __future__ import annotations

import math

from godseye.control.actions import ScaleNodePool
from godseye.control.autoscaler_decide import Trace
from godseye.control.autoscaler_frame import EPS, Frame
from godseye.control.autoscaler_model import AutoscalerMemory, Key, NodeAsk, PodScale
from godseye.control.cloud_capacity import node_ask


def cap_to_ready(frame: Frame, order: list[str], trace: Trace) -> dict[Key, PodScale]:
    """The settled records with every pre-scale cut to what the ready nodes hold; the rest waits for nodes.

    Pending pods of a higher tier preempt running pods of a lower one (Kubernetes PriorityClass), so a
    pre-scale that asked for all its pods while their nodes boot would evict tier 2/3 pods long before
    the event needs them. Per live cloud with a pool status, the vCPU free on the ready nodes after
    every pod already asked for goes first to what the load needs now (a real overload, a failover,
    a burst: served at once, with whatever the scheduler finds), then to event holds, tier first; what
    does not fit stays in `waiting_pods` and is asked for on a later call as nodes turn ready (their
    nodes are asked for now). Without a pool status what is ready is unknown and nothing is held back.
    """
    view = frame.view
    vcpu, floors = frame.facts.vcpu, frame.facts.floors
    wanted, start = trace.pods, trace.start
    # A cloud whose records all hold no more than they started from, with none waiting, keeps them all:
    # each is granted its replicas whatever the ready nodes hold (and that is most clouds, most calls).
    grown = {k[0] for k, first in start.items() if first.replicas < wanted[k].replicas}
    grown.update(frame.memo.records_of(wanted, vcpu).pending)
    # The records as settled, copied only once one is cut (most calls cut none).
    out: dict[Key, PodScale] | None = None
    for cloud in frame.live:
        status = view.pools.get(cloud)
        if status is None or cloud not in grown:
            continue
        keys = [(cloud, name) for name in order if (cloud, name) in wanted]
        before = {k: (start[k] if k in start else wanted[k]).replicas for k in keys}
        # The floor is never held back either: it is the least the service runs with.
        now = {k: min(wanted[k].replicas, max(before[k], trace.urgent.get(k, 0), floors[k])) for k in keys}
        free = status.nodes_ready * view.platform.clouds[cloud].node_vcpu - sum(now[k] * vcpu.get(k[1], 0.0) for k in keys)
        for k in keys:
            record, grant = wanted[k], now[k]
            if record.replicas > grant and vcpu.get(k[1], 0.0) > 0:
                room = max(0, math.floor(free / vcpu[k[1]] + EPS))
                grant = min(record.replicas, grant + room)
                free -= (grant - now[k]) * vcpu[k[1]]
            waiting = record.replicas - grant
            if waiting != record.waiting_pods or grant != record.replicas:
                if out is None:
                    out = dict(wanted)
                out[k] = PodScale(grant, record.phase, record.stable_since_s, record.last_up_s, record.last_down_s,
                                  record.burst_pods, record.capacity_rps, record.burst_rps, waiting)
    return out if out is not None else wanted


def node_asks(
    frame: Frame, memory: AutoscalerMemory, pods: dict[Key, PodScale], scaled_down: set[str]
) -> tuple[dict[str, NodeAsk], list[ScaleNodePool]]:
    """The nodes asked for per cloud after this reconcile, and the asks it adds, for the records `pods`
    (every pod the rules want, those waiting for nodes included: nodes first, pods follow)."""
    view, facts, live = frame.view, frame.facts, frame.live
    nodes = dict(memory.nodes)
    asks: list[ScaleNodePool] = []
    # Each live cloud's pods' vCPU, summed in one pass as `node_ask` would sum them.
    need_vcpu = frame.memo.records_of(pods, facts.vcpu).vcpu
    # Per cloud, the inputs `node_ask` last asked for nothing on: the same ones ask for nothing again.
    idle = frame.memo.idle
    for cloud in live:
        inputs = (need_vcpu.get(cloud, 0), view.pools.get(cloud), nodes.get(cloud), cloud in scaled_down)
        was = idle.get(cloud)
        if was is not None and was[0] == inputs[0] and was[1] is inputs[1] and was[2] is inputs[2] and was[3] == inputs[3]:
            continue
        ask = node_ask(view, cloud, pods, inputs[2], inputs[3], inputs[0])
        if ask is None:
            idle[cloud] = inputs
        else:
            nodes[cloud] = NodeAsk(ask.nodes, view.now_s)
            asks.append(ask)
    return nodes, asks
