"""Scenario files: every fault kind loads; bad references and times get one clear line."""

from __future__ import annotations

import pytest

from godseye.spec.errors import InputError
from godseye.spec.models import Platform
from godseye.spec.scenario import CloudOutage, Partition, TrafficSpike, load_scenario_text

GOOD = """\
name: mixed
duration_s: 7200
traffic: {multiplier: 1.5}
faults:
  - {at_s: 600, kind: cloud_outage, cloud: aws, until_s: 4200}
  - {at_s: 700, kind: service_outage, cloud: gcp, service: search}
  - {at_s: 800, kind: partition, clouds: [aws, gcp]}
  - {at_s: 900, kind: replication_stall, datastore: orders, cloud: azure}
  - {at_s: 1000, kind: capacity_cap, cloud: gcp, max_nodes: 10}
  - {at_s: 1100, kind: traffic_spike, multiplier: 3, ramp_s: 60}
"""


def first_line(text: str, platform: Platform) -> str:
    with pytest.raises(InputError) as info:
        load_scenario_text(text, platform, "s.yaml")
    return str(info.value)


def test_every_fault_kind_loads(reference: Platform) -> None:
    s = load_scenario_text(GOOD, reference)
    assert [f.kind for f in s.faults] == [
        "cloud_outage", "service_outage", "partition", "replication_stall", "capacity_cap", "traffic_spike",
    ]
    assert isinstance(s.faults[0], CloudOutage) and s.faults[0].until_s == 4200
    assert isinstance(s.faults[2], Partition) and s.faults[2].clouds == ("aws", "gcp")
    assert isinstance(s.faults[5], TrafficSpike) and s.faults[5].multiplier == 3


def test_unknown_cloud_names_the_fault_line(reference: Platform) -> None:
    line = first_line(GOOD.replace("cloud: aws, until_s", "cloud: aqs, until_s"), reference)
    assert line.startswith("s.yaml:5: faults[0].cloud: no cloud named 'aqs'")


def test_unknown_fault_kind(reference: Platform) -> None:
    line = first_line(GOOD.replace("kind: partition", "kind: meteor"), reference)
    assert line.startswith("s.yaml:7: faults[2]")


def test_recovery_before_start(reference: Platform) -> None:
    line = first_line(GOOD.replace("until_s: 4200", "until_s: 100"), reference)
    assert line.startswith("s.yaml:5: faults[0]") and "until_s must be after at_s" in line


def test_fault_after_the_end(reference: Platform) -> None:
    line = first_line(GOOD.replace("at_s: 1100", "at_s: 9000"), reference)
    assert line == "s.yaml:10: faults[5].at_s: must be before the end of the run (7200.0) (got 9000.0)"


def test_unknown_event(reference: Platform) -> None:
    line = first_line(GOOD.replace("{multiplier: 1.5}", "{event: cyber-monday}"), reference)
    assert line.startswith("s.yaml:3: traffic.event: no event named 'cyber-monday'")


def test_fault_without_kind(reference: Platform) -> None:
    line = first_line(GOOD.replace("at_s: 800, kind: partition,", "at_s: 800,"), reference)
    assert line == "s.yaml:7: faults[2].kind: required field is missing (it selects the kind of entry)"


def test_unknown_kind_lists_the_kinds(reference: Platform) -> None:
    line = first_line(GOOD.replace("kind: partition", "kind: meteor"), reference)
    assert line.startswith("s.yaml:7: faults[2].kind: expected one of 'cloud_outage'") and "(got 'meteor')" in line
