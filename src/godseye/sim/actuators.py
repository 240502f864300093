"""The plane's actions on the timeline: a sentence and fields for each, and the names the twin refuses.

`action_effects` carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from godseye.control.actions import (
    Action,
    ActivateStandby,
    Condition,
    FollowPrimary,
    HoldWrites,
    MarkCloud,
    MarkEndpoint,
    Page,
    PromoteReplica,
    RaiseDrift,
    Reschedule,
    ScaleNodePool,
    ScaleService,
    SetWeights,
)
from godseye.sim.result import DetailValue


@dataclass(frozen=True, slots=True)
class Described:
    event: str
    detail: dict[str, DetailValue]


def _weights_text(w: dict[str, int]) -> str:
    return " / ".join(f"{c} {v}%" for c, v in w.items())


def describe(a: Action) -> Described:
    """A timeline line for an action: a short sentence and its fields (reason included)."""
    d: dict[str, DetailValue] = {"action": type(a).__name__, "reason": a.reason}
    if isinstance(a, MarkEndpoint):
        return Described(f"{a.service} in {a.cloud} marked {'healthy' if a.healthy else 'unhealthy'}",
                         {**d, "cloud": a.cloud, "service": a.service})
    if isinstance(a, MarkCloud):
        return Described(f"{a.cloud} marked {'down' if a.down else 'up'}", {**d, "cloud": a.cloud})
    if isinstance(a, SetWeights):
        return Described(f"{a.service} weights {_weights_text(a.weights)}",
                         {**d, "service": a.service, **{f"weight_{c}": v for c, v in a.weights.items()}})
    if isinstance(a, ScaleService):
        return Described(f"scale {a.service} in {a.cloud} to {a.replicas} pods",
                         {**d, "cloud": a.cloud, "service": a.service, "replicas": a.replicas})
    if isinstance(a, ScaleNodePool):
        return Described(f"scale {a.cloud} node pool to {a.nodes} nodes", {**d, "cloud": a.cloud, "nodes": a.nodes})
    if isinstance(a, ActivateStandby):
        return Described(f"activate warm standby of {a.service} in {a.cloud} ({a.replicas} pods)",
                         {**d, "cloud": a.cloud, "service": a.service, "replicas": a.replicas})
    if isinstance(a, Reschedule):
        return Described(f"reschedule {a.service} from {a.from_cloud} to {a.to_cloud} ({a.replicas} pods)",
                         {**d, "service": a.service, "from": a.from_cloud, "to": a.to_cloud, "replicas": a.replicas})
    if isinstance(a, HoldWrites):
        return Described(f"{'hold' if a.hold else 'release'} writes to {a.datastore}", {**d, "datastore": a.datastore})
    if isinstance(a, PromoteReplica):
        return Described(f"promote {a.datastore} replica in {a.cloud}", {**d, "datastore": a.datastore, "cloud": a.cloud})
    if isinstance(a, FollowPrimary):
        return Described(f"{a.datastore} in {a.cloud} follows {a.primary}",
                         {**d, "datastore": a.datastore, "cloud": a.cloud, "primary": a.primary})
    if isinstance(a, Page):
        return Described(f"page {a.event_action} ({a.severity}): {a.summary}",
                         {**d, "dedup_key": a.dedup_key, "severity": a.severity, "component": a.component,
                          **{f"details_{k}": v for k, v in sorted(a.custom_details.items())}})
    if isinstance(a, RaiseDrift):
        return Described(f"{a.service} split drift: asked {_weights_text(a.asked)}",
                         {**d, "service": a.service, **{f"observed_{c}": round(v, 4) for c, v in a.observed.items()}})
    assert isinstance(a, Condition)
    return Described(f"{a.subject}: {a.event}", {**d, "subject": a.subject})


def unknown_names(a: Action, clouds: set[str], services: set[str], stores: set[str]) -> str | None:
    """A name the world does not know, which the twin refuses rather than guesses about."""
    cloud_fields = ("cloud", "from_cloud", "to_cloud", "primary")
    for f in cloud_fields:
        v = getattr(a, f, None)
        if isinstance(v, str) and not isinstance(a, (Page, Condition)) and v not in clouds:
            return f"unknown cloud '{v}'"
    v = getattr(a, "service", None)
    if isinstance(v, str) and v not in services:
        return f"unknown service '{v}'"
    v = getattr(a, "datastore", None)
    if isinstance(v, str) and v not in stores:
        return f"unknown datastore '{v}'"
    if isinstance(a, SetWeights) and (set(a.weights) - clouds or sum(a.weights.values()) != 100):
        return f"weights must name known clouds and sum to 100 (got {a.weights})"
    return None
