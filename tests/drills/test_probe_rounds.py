"""Probe rounds go only to endpoints whose outcome changed: one endpoint failing does not restart
rounds for every other endpoint (which would make a large platform's probing grow with services x changes)."""

from __future__ import annotations

from drillkit import reference

from godseye.control.decision import Emitted
from godseye.control.observations import Observation, ProbeResult
from godseye.plan.model import ServicePlan
from godseye.plan.placement import place_services
from godseye.sim.drill import run_drill
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text


class ProbeLog:
    """A plane that never acts and keeps every probe it is shown."""

    def __init__(self, platform: Platform, services: list[ServicePlan]) -> None:
        self.probes: list[ProbeResult] = []
        LOGS.append(self)

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, ProbeResult):
            self.probes.append(obs)

    def step(self, now_s: float) -> list[Emitted]:
        return []

    def next_wakeup_s(self) -> float | None:
        return None


LOGS: list[ProbeLog] = []


def test_only_the_failing_endpoint_is_probed_again() -> None:
    platform = reference()
    scenario = load_scenario_text(
        "{name: pos-azure, duration_s: 900, faults: [{at_s: 600, kind: service_outage, cloud: azure, service: pos}]}",
        platform)
    LOGS.clear()
    run_drill(platform, scenario, 0, plane=ProbeLog)
    probes = LOGS[0].probes
    hc = platform.edge.health_check
    needed = max(hc.failure_threshold, hc.success_threshold) + 1
    before = [p for p in probes if p.t_s < 600]
    after = [p for p in probes if p.t_s >= 600]
    # At the start every endpoint is probed until its outcome has held for `needed` rounds.
    placed = {(c, p.name) for p in place_services(platform) for c in p.placement}
    assert {(p.cloud, p.service) for p in before} == placed
    assert {(p.cloud, p.service) for p in after} == {("azure", "pos")}
    assert len({p.t_s for p in after}) == needed
    assert all(not p.ok for p in after)
