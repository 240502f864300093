"""The built-in scenarios shipped in sim/scenarios/*.yaml, and resolving a SCENARIO argument."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from godseye.spec.errors import InputError
from godseye.spec.models import Platform
from godseye.spec.scenario import Scenario, load_scenario, load_scenario_text
from godseye.spec.yaml_source import parse_yaml_text


@dataclass(frozen=True, slots=True)
class BuiltIn:
    name: str
    description: str
    duration_s: float
    faults: int


def _files() -> dict[str, str]:
    folder = resources.files("godseye.sim").joinpath("scenarios")
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out[entry.name.removesuffix(".yaml")] = entry.read_text(encoding="utf-8")
    return out


def builtin_names() -> list[str]:
    return list(_files())


def builtins() -> list[BuiltIn]:
    out = []
    for name, text in _files().items():
        data = parse_yaml_text(text, f"<built-in {name}>").data
        out.append(BuiltIn(name, " ".join(str(data.get("description", "")).split()), float(data["duration_s"]),
                           len(data.get("faults", []) or [])))
    return out


def resolve(arg: str, platform: Platform) -> Scenario:
    """A built-in scenario by name, or a scenario YAML file; bad input raises InputError."""
    files = _files()
    if arg in files:
        return load_scenario_text(files[arg], platform, f"<built-in {arg}.yaml>")
    path = Path(arg)
    if path.is_file():
        return load_scenario(path, platform)
    raise InputError.single(arg, f"no built-in scenario of that name and no such file (built-ins: {', '.join(files)})")
