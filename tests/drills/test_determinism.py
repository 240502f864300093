"""(spec, scenario, seed) fully determines a drill: same inputs, byte-identical JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_same_bytes_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    # Set and dict iteration orders must not leak into the run (PYTHONHASHSEED changes str hashes).
    outputs = []
    for hash_seed in ("1", "4242"):
        out = tmp_path / f"{hash_seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        code = ("from godseye.cli import app; "
                f"app(['drill', 'service-outage', '--json', {str(out)!r}, '--seed', '5'], standalone_mode=False)")
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=300)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
