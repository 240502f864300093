"""The scenario contract: traffic and a schedule of faults to play against a platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from godseye.spec.errors import InputError, InputProblem
from godseye.spec.models import Platform
from godseye.spec.validation import field_path, validate_document
from godseye.spec.yaml_source import PathPart, YamlDocument, parse_yaml_text, read_yaml_file


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0)
    until_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Fault:
        if self.until_s is not None and self.until_s <= self.at_s:
            raise ValueError(f"until_s must be after at_s ({self.at_s}) (got {self.until_s})")
        return self


class CloudOutage(_Fault):
    kind: Literal["cloud_outage"]
    cloud: str
    # "down": refuses connections; "hung": accepts and never answers (probe timeouts).
    mode: Literal["down", "hung"] = "down"


class ServiceOutage(_Fault):
    kind: Literal["service_outage"]
    cloud: str
    service: str


class Partition(_Fault):
    kind: Literal["partition"]
    clouds: tuple[str, str]


class ReplicationStall(_Fault):
    kind: Literal["replication_stall"]
    datastore: str
    cloud: str


class CapacityCap(_Fault):
    kind: Literal["capacity_cap"]
    cloud: str
    max_nodes: int = Field(ge=0)


class TrafficSpike(_Fault):
    kind: Literal["traffic_spike"]
    multiplier: float = Field(gt=0)
    ramp_s: float = Field(0.0, ge=0)
    services: tuple[str, ...] = ()


Fault = Annotated[
    CloudOutage | ServiceOutage | Partition | ReplicationStall | CapacityCap | TrafficSpike,
    Field(discriminator="kind"),
]


class Traffic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    multiplier: float = Field(1.0, gt=0)
    # A known event of the spec's calendar, played from `event_offset_s` before its start.
    event: str | None = None
    # Seconds of simulated time before the event starts (room for pre-scaling).
    event_lead_s: float = Field(3600.0, ge=0)
    # Daily swing of the diurnal curve (0 = flat), peak at `diurnal_peak_hour` UTC.
    diurnal_amplitude: float = Field(0.0, ge=0, lt=1)
    diurnal_peak_hour: float = Field(15.0, ge=0, lt=24)
    start_hour: float = Field(12.0, ge=0, lt=24)
    # Multipliers sampled evenly over the run, instead of the above.
    profile: tuple[float, ...] = ()


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    duration_s: float = Field(gt=0, le=30 * 86400)
    traffic: Traffic = Traffic()
    faults: tuple[Fault, ...] = ()


def _crossref(s: Scenario, p: Platform) -> list[tuple[tuple[PathPart, ...], str]]:
    out: list[tuple[tuple[PathPart, ...], str]] = []
    clouds, services, stores = set(p.clouds), set(p.services), set(p.datastores)
    if s.traffic.event is not None and s.traffic.event not in p.events:
        known_events = ", ".join(p.events) or "none"
        out.append((("traffic", "event"), f"no event named '{s.traffic.event}' in the spec (known: {known_events})"))
    for i, f in enumerate(s.faults):
        base: tuple[PathPart, ...] = ("faults", i)
        named: list[tuple[str, str, set[str]]] = []
        if isinstance(f, (CloudOutage, ServiceOutage, ReplicationStall, CapacityCap)):
            named.append(("cloud", f.cloud, clouds))
        if isinstance(f, ServiceOutage):
            named.append(("service", f.service, services))
        if isinstance(f, ReplicationStall):
            named.append(("datastore", f.datastore, stores))
        if isinstance(f, Partition):
            named += [("clouds", c, clouds) for c in f.clouds]
            if f.clouds[0] == f.clouds[1]:
                out.append(((*base, "clouds"), "a partition needs two different clouds"))
        if isinstance(f, TrafficSpike):
            named += [("services", sv, services) for sv in f.services]
        for field, value, known in named:
            if value not in known:
                out.append(((*base, field), f"no {field.rstrip('s')} named '{value}' (known: {', '.join(sorted(known))})"))
        if f.at_s >= s.duration_s:
            out.append(((*base, "at_s"), f"must be before the end of the run ({s.duration_s}) (got {f.at_s})"))
    return out


def scenario_from_document(doc: YamlDocument, platform: Platform) -> Scenario:
    scenario = validate_document(doc, Scenario)
    problems = _crossref(scenario, platform)
    if problems:
        raise InputError([InputProblem(doc.file, doc.line_of(loc), field_path(loc, doc), m) for loc, m in problems])
    return scenario


def load_scenario(path: Path, platform: Platform) -> Scenario:
    return scenario_from_document(read_yaml_file(path), platform)


def load_scenario_text(text: str, platform: Platform, file: str = "<text>") -> Scenario:
    return scenario_from_document(parse_yaml_text(text, file), platform)
