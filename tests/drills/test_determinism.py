"""(spec, scenario, seed) fully determines a drill: same inputs, byte-identical JSON."""

from __future__ import annotations

from drillkit import builtin, reference

from godseye.report.drill_json import drill_json
from godseye.sim.catalog import resolve
from godseye.sim.drill import run_drill


def test_same_seed_same_bytes() -> None:
    a = drill_json(builtin("service-outage", seed=7))
    b = drill_json(run_drill(reference(), resolve("service-outage", reference()), 7))
    assert a == b


def test_another_seed_another_run() -> None:
    assert drill_json(builtin("service-outage", seed=7)) != drill_json(builtin("service-outage", seed=8))
