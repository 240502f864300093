"""One drill: a platform, a scenario and a seed in, a DrillResult out."""

from __future__ import annotations

from datetime import datetime, timedelta

from godseye.sim.engine import Engine, EngineConfig, Progress
from godseye.sim.plane_port import PlaneFactory, real_plane_factory
from godseye.sim.result import DrillResult
from godseye.spec.models import Platform
from godseye.spec.scenario import Scenario


def epoch_of(platform: Platform, scenario: Scenario) -> datetime | None:
    """Calendar time of t = 0: `event_lead_s` before the scenario's event, or None without one."""
    name = scenario.traffic.event
    if name is None:
        return None
    return platform.events[name].start - timedelta(seconds=scenario.traffic.event_lead_s)


def run_drill(platform: Platform, scenario: Scenario, seed: int = 0, plane: PlaneFactory | None = None,
              progress: Progress | None = None, config: EngineConfig | None = None) -> DrillResult:
    factory = plane if plane is not None else real_plane_factory(epoch_of(platform, scenario))
    return Engine(platform, scenario, seed, factory, config or EngineConfig()).run(progress)
