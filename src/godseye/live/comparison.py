"""Twin against lab on the same scenario: the figures both runs measured, side by side.

Both results are `DrillResult`s of the same lab platform and scaled scenario, so the same functions
read both: detection (fault -> "<cloud> marked down"), re-route (fault -> every service's weights
give the failed cloud 0), failed requests, RTO per service, and the canary steps of the return
(restore -> each rise of the cloud's weight).
"""

from __future__ import annotations

from dataclasses import dataclass

from godseye.sim.result import DrillResult
from godseye.spec.scenario import CloudOutage, Scenario


@dataclass(frozen=True, slots=True)
class Figures:
    detection_s: float | None
    reroute_s: float | None
    failed_requests: int
    requests: int
    rto_s: dict[str, float | None]
    canary_steps: list[tuple[float, int]]  # (seconds after the restore, weight % of the returning cloud)
    verdict: str


def _outage(scaled: Scenario) -> CloudOutage | None:
    return next((f for f in scaled.faults if isinstance(f, CloudOutage)), None)


def figures(result: DrillResult, scaled: Scenario) -> Figures:
    outage = _outage(scaled)
    detection = reroute = None
    steps: list[tuple[float, int]] = []
    if outage is not None:
        cloud, start = outage.cloud, outage.at_s
        marked = [e.t_s for e in result.timeline if e.event == f"{cloud} marked down" and e.t_s >= start]
        detection = round(marked[0] - start, 3) if marked else None
        carrying = {c.service for c in result.steering if c.t_s == 0.0 and c.weights.get(cloud, 0) > 0}
        zero_at: dict[str, float] = {}
        for ch in result.steering:
            if ch.t_s >= start and ch.service in carrying and ch.service not in zero_at and ch.weights.get(cloud, 0) == 0:
                zero_at[ch.service] = ch.t_s
        if carrying and set(zero_at) == carrying:
            reroute = round(max(zero_at.values()) - start, 3)
        if outage.until_s is not None and carrying:
            probe = sorted(carrying)[0]
            last = 0
            for ch in result.steering:
                if ch.service == probe and ch.t_s >= outage.until_s:
                    w = ch.weights.get(cloud, 0)
                    if w > last:
                        steps.append((round(ch.t_s - outage.until_s, 3), w))
                    last = w
    return Figures(
        detection, reroute, sum(s.requests_failed for s in result.services), sum(s.requests_total for s in result.services),
        {s.name: s.rto_s for s in result.services}, steps, result.verdict,
    )


def comparison(twin: DrillResult, lab: DrillResult, scaled: Scenario) -> dict[str, object]:
    t, l_ = figures(twin, scaled), figures(lab, scaled)

    def pair(a: object, b: object) -> dict[str, object]:
        return {"twin": a, "lab": b}

    return {
        "detection_s": pair(t.detection_s, l_.detection_s),
        "reroute_s": pair(t.reroute_s, l_.reroute_s),
        "failed_requests": pair(t.failed_requests, l_.failed_requests),
        "requests": pair(t.requests, l_.requests),
        "rto_s": {name: pair(t.rto_s.get(name), l_.rto_s.get(name)) for name in l_.rto_s},
        "canary_steps": pair([list(s) for s in t.canary_steps], [list(s) for s in l_.canary_steps]),
        "verdict": pair(t.verdict, l_.verdict),
    }
