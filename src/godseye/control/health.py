"""Health: endpoint health per vantage point, and whole-cloud verdicts by quorum of vantage points.

The seed's "Health check fails (3 consecutive) -> Mark AWS unhealthy" box, made safe against
partitions. Rules:

- An endpoint is one (cloud, service). Every vantage point ("edge" and each other cloud) judges it on
  its own probes: unhealthy after `failure_threshold` consecutive failed probes, healthy again after
  `success_threshold` consecutive successes. A timeout is a failure. Endpoints start healthy: the plan
  put them in the rotation, and only evidence takes them out.
- The edge's own judgement decides endpoint routing (it is the one sending the traffic), so only the
  edge's transitions are emitted as `MarkEndpoint`.
- A vantage point sees a cloud down when every endpoint of that cloud it probes is unhealthy: one
  healthy endpoint proves the cloud's network and control plane answer.
- A cloud is declared down (`MarkCloud`) only when more than `cloud_down_quorum` of the vantage
  points that can vote see it down (all of them when the quorum is 1). Voters are the edge and every
  other cloud not itself declared down (a dead cloud's probes say nothing), each only while its view
  is current: a vantage point that has not probed the cloud for `stale_after_s` (a whole detection
  cycle) neither votes nor counts. With no current voter at all the verdict stays as it was. So a
  cut link between one prober and one cloud is never an outage; it only moves that prober's own view.
- Probes are applied in time order; a probe older than the last one applied for the same
  (vantage, endpoint) is ignored, so a driver may hand in duplicates without changing the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from godseye.control.actions import Action, MarkCloud, MarkEndpoint
from godseye.control.decision import Decision
from godseye.control.observations import EDGE, ProbeResult
from godseye.spec.models import HealthCheck


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One vantage point's judgement of one endpoint, with its hysteresis counters."""

    healthy: bool = True
    failures: int = 0  # consecutive failed probes
    successes: int = 0  # consecutive good probes
    last_probe_s: float = -math.inf
    since_s: float = 0.0  # when `healthy` last changed


# (vantage, cloud, service)
EndpointKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class PairSummary:
    """Everything one vantage point's probes say about one cloud, summed over its endpoints."""

    last_probe_s: float  # newest probe of any endpoint
    any_healthy: bool
    unhealthy: tuple[str, ...]  # services judged unhealthy, sorted


def summarize(endpoints: Mapping[EndpointKey, EndpointHealth]) -> dict[tuple[str, str], PairSummary]:
    """One pass over the endpoints answering every (vantage, cloud) question at once (thousands of
    endpoints at 1,000 services, asked about at every step)."""
    last: dict[tuple[str, str], float] = {}
    healthy: dict[tuple[str, str], bool] = {}
    sick: dict[tuple[str, str], list[str]] = {}
    for (v, c, s), h in endpoints.items():
        pair = (v, c)
        seen = last.get(pair)
        last[pair] = h.last_probe_s if seen is None or h.last_probe_s > seen else seen
        if h.healthy:
            healthy[pair] = True
        else:
            healthy.setdefault(pair, False)
            sick.setdefault(pair, []).append(s)
    return {pair: PairSummary(t, healthy[pair], tuple(sorted(sick.get(pair, ())))) for pair, t in last.items()}


@dataclass(frozen=True, slots=True)
class HealthMemory:
    endpoints: Mapping[EndpointKey, EndpointHealth] = field(default_factory=dict)
    clouds_down: frozenset[str] = frozenset()
    # When each cloud's verdict last changed (down or up), for the canary's continuous-health clock.
    cloud_since_s: Mapping[str, float] = field(default_factory=dict)
    # `summarize(endpoints)`, computed on first use (or handed over by reconcile when the endpoints did
    # not change); derived, so not part of the memory's value.
    _pairs: dict[tuple[str, str], PairSummary] | None = field(default=None, repr=False, compare=False)

    def pairs(self) -> dict[tuple[str, str], PairSummary]:
        if self._pairs is None:
            object.__setattr__(self, "_pairs", summarize(self.endpoints))
        assert self._pairs is not None
        return self._pairs

    def edge_healthy(self, cloud: str, service: str) -> bool:
        """The edge's view of an endpoint (healthy until its probes say otherwise)."""
        state = self.endpoints.get((EDGE, cloud, service))
        return state is None or state.healthy

    def edge_unhealthy_endpoints(self, cloud: str) -> tuple[str, ...]:
        pair = self.pairs().get((EDGE, cloud))
        return () if pair is None else pair.unhealthy

    def last_probe_s(self, vantage: str, cloud: str) -> float:
        """When `vantage` last probed any endpoint of `cloud` (-inf if never)."""
        pair = self.pairs().get((vantage, cloud))
        return -math.inf if pair is None else pair.last_probe_s

    def sees_down(self, vantage: str, cloud: str) -> bool:
        """Every endpoint of `cloud` that `vantage` probes is unhealthy (and it probes at least one)."""
        pair = self.pairs().get((vantage, cloud))
        return pair is not None and not pair.any_healthy


@dataclass(frozen=True, slots=True)
class HealthView:
    now_s: float
    check: HealthCheck
    clouds: tuple[str, ...]  # spec order
    probes: tuple[ProbeResult, ...]  # new since the last call


def stale_after_s(check: HealthCheck) -> float:
    """How old a vantage point's newest probe may be for its view to count: one whole detection cycle
    (enough probes to go unhealthy and healthy again) plus one probe's timeout."""
    return check.interval_s * (check.failure_threshold + check.success_threshold) + check.timeout_s


def votes_needed(quorum: float, voters: int) -> int:
    """More than `quorum` of the voters, or all of them when the quorum is 1 (never more than exist)."""
    if voters <= 0:
        return 1
    return min(voters, math.floor(quorum * voters + 1e-9) + 1)


def _apply(state: EndpointHealth, probe: ProbeResult, check: HealthCheck) -> EndpointHealth:
    good = probe.ok and not probe.timed_out
    if good:
        successes, failures = state.successes + 1, 0
    else:
        successes, failures = 0, state.failures + 1
    healthy, since = state.healthy, state.since_s
    if healthy and failures >= check.failure_threshold:
        healthy, since = False, probe.t_s
    elif not healthy and successes >= check.success_threshold:
        healthy, since = True, probe.t_s
    return EndpointHealth(healthy, failures, successes, probe.t_s, since)


def _endpoint_reason(probe: ProbeResult, state: EndpointHealth, check: HealthCheck) -> str:
    if state.healthy:
        return (f"{state.successes} consecutive good probes from the edge (success_threshold "
                f"{check.success_threshold}), last at t={probe.t_s:g}s")
    what = "timed out" if probe.timed_out else "failed"
    return (f"{state.failures} consecutive failed probes from the edge (failure_threshold {check.failure_threshold}, "
            f"every {check.interval_s:g}s), last {what} at t={probe.t_s:g}s")


def voters_for(cloud: str, clouds: Iterable[str], down: frozenset[str]) -> tuple[str, ...]:
    """The edge and every other cloud that is not itself down."""
    return (EDGE, *(c for c in clouds if c != cloud and c not in down))


def reconcile(view: HealthView, memory: HealthMemory) -> Decision[HealthMemory]:
    check = view.check
    # No probe since the last call: the endpoints, and so their summary, stay as they were.
    endpoints: Mapping[EndpointKey, EndpointHealth] = memory.endpoints
    actions: list[Action] = []
    if view.probes:
        updated = dict(memory.endpoints)
        for probe in sorted(view.probes, key=lambda p: (p.t_s, p.vantage, p.cloud, p.service)):
            key = (probe.vantage, probe.cloud, probe.service)
            old = updated.get(key, EndpointHealth())
            if probe.t_s < old.last_probe_s:
                continue  # out of order: a newer probe already judged this endpoint
            new = _apply(old, probe, check)
            updated[key] = new
            if probe.vantage == EDGE and new.healthy != old.healthy:
                actions.append(MarkEndpoint(probe.cloud, probe.service, new.healthy, _endpoint_reason(probe, new, check)))
        endpoints = updated
    pairs = memory.pairs() if endpoints is memory.endpoints else summarize(endpoints)
    down = set(memory.clouds_down)
    since = dict(memory.cloud_since_s)
    fresh_from = view.now_s - stale_after_s(check)
    # Spec order, each verdict seeing the ones before it: a cloud just declared down stops voting.
    # A view going stale can change a verdict without a new probe, but only while other vantage points
    # still probe (or nobody votes and nothing changes), so their probes bring the next call: no requeue.
    for cloud in view.clouds:
        voters = tuple(
            v for v in voters_for(cloud, view.clouds, frozenset(down))
            if (v, cloud) in pairs and pairs[(v, cloud)].last_probe_s >= fresh_from
        )
        if not voters:
            continue
        # A voter has a fresh probe, so it probes at least one endpoint of the cloud: down = none healthy.
        seeing = [v for v in voters if not pairs[(v, cloud)].any_healthy]
        needed = votes_needed(check.cloud_down_quorum, len(voters))
        is_down = len(seeing) >= needed
        if is_down == (cloud in down):
            continue
        since[cloud] = view.now_s
        if is_down:
            down.add(cloud)
            reason = (f"{len(seeing)} of {len(voters)} vantage points ({', '.join(seeing)}) see every {cloud} endpoint "
                      f"unhealthy; quorum needs {needed} (more than {check.cloud_down_quorum:g} of them)")
        else:
            down.discard(cloud)
            reason = (f"only {len(seeing)} of {len(voters)} vantage points still see {cloud} down; "
                      f"quorum needs {needed}")
        actions.append(MarkCloud(cloud, is_down, reason))
    return Decision(HealthMemory(endpoints, frozenset(down), since, pairs), tuple(actions), None)
