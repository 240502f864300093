"""A platform without datastores is a valid platform: the twin must run it (no replication, no RPO)."""

from __future__ import annotations

from drillkit import drill_text, reference

from godseye.spec.models import Platform


def _stateless() -> Platform:
    base = reference()
    services = {name: s.model_copy(update={"data": []}) for name, s in base.services.items()}
    return base.model_copy(update={"name": "stateless", "services": services, "datastores": {}})


def test_an_outage_on_a_platform_without_datastores_runs_and_loses_no_writes() -> None:
    r = drill_text(_stateless(), "{name: aws-down, duration_s: 1800, faults: [{at_s: 300, kind: cloud_outage, cloud: aws}]}")
    assert r.duration_s == 1800
    assert all(s.rpo_s == 0 for s in r.services)
    assert not [e for e in r.timeline if e.actor == "replication"]
    assert [e for e in r.timeline if e.actor == "edge" and "aws" in e.event]
