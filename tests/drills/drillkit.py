"""Helpers for the drill tests: the reference, its variants, drills cached per session."""

from __future__ import annotations

from functools import cache

from godseye.sim.catalog import resolve
from godseye.sim.drill import run_drill
from godseye.sim.result import DrillResult
from godseye.spec.loader import load_platform, load_platform_text, reference_text
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text


@cache
def reference() -> Platform:
    return load_platform()


@cache
def builtin(name: str, seed: int = 0) -> DrillResult:
    return run_drill(reference(), resolve(name, reference()), seed)


def variant(replace: dict[str, str]) -> Platform:
    """The reference spec with some lines of its YAML replaced (the test says which and why)."""
    text = reference_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return load_platform_text(text, "<reference variant>")


def drill_text(platform: Platform, scenario_yaml: str, seed: int = 0) -> DrillResult:
    return run_drill(platform, load_scenario_text(scenario_yaml, platform), seed)


# AWS goes down and stays down, after 15 minutes in which the start-up node requests have landed
# (so only the outage's own boots are in flight), long enough for tier 2 to settle.
AWS_DOWN = "{name: aws-down, duration_s: 2400, faults: [{at_s: 900, kind: cloud_outage, cloud: aws}]}"
