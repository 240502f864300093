"""Applies the control plane's actions to the lab's real components. Decides nothing.

| action          | in the lab                                                                    |
| --------------- | ----------------------------------------------------------------------------- |
| SetWeights      | `set server <be>/<srv> weight N` on HAProxy's stats socket (no reload)         |
| ScaleService    | start / stop replica processes; `set server ... state ready|maint`            |
| ActivateStandby | the same, in the standby's cloud                                              |
| Reschedule      | start replicas in the new cloud, stop them in the old one                     |
| Page            | POST as PagerDuty Events API v2 JSON to the webhook                            |
| HoldWrites, PromoteReplica, FollowPrimary | handed to the data hook (the PostgreSQL lab) when one is set |
| ScaleNodePool   | granted at once (the lab has no machines to boot), reported as NodePoolStatus |
| MarkEndpoint, MarkCloud, RaiseDrift, Condition | state the plane reports; recorded on the timeline  |

Every application is recorded on the timeline with the actor that asked for it, and the outcome
("applied", or why it was not) in its detail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from godseye.control.actions import (
    Action,
    ActivateStandby,
    FollowPrimary,
    HoldWrites,
    Page,
    PromoteReplica,
    Reschedule,
    ScaleNodePool,
    ScaleService,
    SetWeights,
)
from godseye.control.decision import Emitted
from godseye.live.alerts import post_page
from godseye.live.haproxy_runtime import EdgeError
from godseye.live.lab import Lab, LabError
from godseye.sim.actuators import describe
from godseye.sim.result import SteeringChange, TimelineEntry

DataHook = Callable[[Action], Awaitable[str]]


@dataclass
class AdapterRecord:
    timeline: list[TimelineEntry] = field(default_factory=list)
    steering: list[SteeringChange] = field(default_factory=list)
    pages: list[tuple[float, Page, int | str]] = field(default_factory=list)  # (t_s, page, HTTP status or error)
    errors: list[str] = field(default_factory=list)


class LiveAdapter:
    def __init__(
        self,
        lab: Lab,
        session: aiohttp.ClientSession,
        webhook_url: str,
        routing_key: str = "godseye-lab",
        data_hook: DataHook | None = None,
    ) -> None:
        self.lab = lab
        self.session = session
        self.webhook_url = webhook_url
        self.routing_key = routing_key
        self.data_hook = data_hook
        self.record = AdapterRecord()
        # The lab has no machines to boot: a node pool request is granted at once, up to max_nodes,
        # and reported back as NodePoolStatus so the controllers see the pool they asked for.
        self.node_pools: dict[str, int] = {c: cl.nodes for c, cl in lab.spec.platform.clouds.items()}

    def note(self, t_s: float, actor: str, event: str, **detail: str | int | float | bool) -> None:
        self.record.timeline.append(TimelineEntry(t_s, actor, event, dict(detail)))

    async def apply(self, e: Emitted, applied_at_s: float) -> None:
        described = describe(e.action)
        try:
            outcome = await self._apply(e.action, e.t_s)
        except (EdgeError, LabError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            outcome = f"failed: {exc}"
            self.record.errors.append(f"{described.event}: {exc}")
        detail = {**described.detail, "lab": outcome, "applied_at_s": round(applied_at_s, 3)}
        self.record.timeline.append(TimelineEntry(e.t_s, e.actor, described.event, detail))

    async def _apply(self, a: Action, t_s: float) -> str:
        if isinstance(a, SetWeights):
            await self.lab.set_weights(a.service, a.weights)
            self.record.steering.append(SteeringChange(t_s, a.service, dict(a.weights)))
            return "applied: haproxy runtime API set server weight"
        if isinstance(a, ScaleService):
            before, after = await self.lab.scale(a.cloud, a.service, a.replicas)
            return f"applied: {before} -> {after} processes (lab cap {self.lab.spec.sizing.replicas_cap})"
        if isinstance(a, ActivateStandby):
            before, after = await self.lab.scale(a.cloud, a.service, a.replicas)
            return f"applied: {before} -> {after} processes"
        if isinstance(a, Reschedule):
            _, after = await self.lab.scale(a.to_cloud, a.service, a.replicas)
            await self.lab.scale(a.from_cloud, a.service, 0)
            return f"applied: {after} processes in {a.to_cloud}, none in {a.from_cloud}"
        if isinstance(a, Page):
            try:
                status: int | str = await post_page(self.session, self.webhook_url, a, self.routing_key)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status = f"error {exc!r}"
            self.record.pages.append((t_s, a, status))
            return f"posted: {status}"
        if isinstance(a, (HoldWrites, PromoteReplica, FollowPrimary)):
            if self.data_hook is None:
                return "not applied: no datastore in this lab run"
            return await self.data_hook(a)
        if isinstance(a, ScaleNodePool):
            granted = min(a.nodes, self.lab.spec.platform.clouds[a.cloud].max_nodes)
            self.node_pools[a.cloud] = granted
            return f"granted at once: {granted} nodes (the lab has no machines to boot)"
        return "recorded"
