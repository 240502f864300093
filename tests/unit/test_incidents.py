from __future__ import annotations

import pytest

from godseye.control.actions import Page
from godseye.control.incidents import (
    CloudLabel,
    IncidentCatalog,
    IncidentMemory,
    IncidentParams,
    IncidentView,
    provider_label,
    reconcile,
)
from godseye.control.replication import ReplicaStall
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

Endpoints = dict[tuple[str, str], bool]


class Engine:
    """Drives the pure engine step by step, the way the plane does, keeping its memory."""

    def __init__(self, catalog: IncidentCatalog, endpoints: Endpoints, params: IncidentParams | None = None) -> None:
        self.catalog = catalog
        self.healthy = dict(endpoints)
        self.params = params or IncidentParams()
        self.memory = IncidentMemory()
        self.requeue: float | None = None

    def step(self, now: float, *, failing: frozenset[tuple[str, str]] = frozenset(), down: frozenset[str] = frozenset(),
             stalls: tuple[ReplicaStall, ...] = (), survivors: tuple[str, ...] = (),
             recovering: frozenset[str] = frozenset(), out: frozenset[str] = frozenset()) -> list[Page]:
        endpoints = {k: (k not in failing and k[0] not in down) for k in self.healthy}
        view = IncidentView(now, self.catalog, endpoints, clouds_down=down, stalls=stalls, survivors=survivors,
                            recovering=recovering, out_of_rotation=out, params=self.params)
        d = reconcile(view, self.memory)
        self.memory = d.memory
        self.requeue = d.requeue_after_s
        pages = [a for a in d.actions if isinstance(a, Page)]
        assert len(pages) == len(d.actions)
        return pages


@pytest.fixture()
def catalog(reference: Platform) -> IncidentCatalog:
    return IncidentCatalog.from_platform(reference)


@pytest.fixture()
def endpoints(reference: Platform) -> Endpoints:
    return {(c, p.name): True for p in place_services(reference) for c in p.placement}


def test_labels_come_from_the_spec(catalog: IncidentCatalog) -> None:
    assert catalog.full("aws") == "AWS us-east-1"
    assert catalog.full("gcp") == "GCP us-east1"
    assert catalog.full("azure") == "Azure eastus"
    assert provider_label("oracle") == "Oracle"
    two_aws = IncidentCatalog({"east": CloudLabel("AWS", "us-east-1"), "west": CloudLabel("AWS", "us-west-2")}, {})
    assert two_aws.short("east") == "AWS us-east-1"  # ambiguous provider: the region says which


def test_seed_aws_outage_pages_p1_dedups_acknowledges_recovery_and_resolves(
    catalog: IncidentCatalog, endpoints: Endpoints
) -> None:
    eng = Engine(catalog, endpoints)
    assert eng.step(0.0) == []
    survivors = ("gcp", "azure")
    down = frozenset({"aws"})
    (page,) = eng.step(10.0, down=down, survivors=survivors, out=down)
    assert page.event_action == "trigger"
    assert page.dedup_key == "godseye/cloud-outage/aws"
    assert page.severity == "critical" and page.custom_details["priority"] == "P1"
    assert page.summary == "AWS us-east-1 down; failover active to GCP + Azure"
    assert page.custom_details["estimated_recovery"] == "Estimated recovery: follow AWS status"
    assert page.custom_details["failover"] == "gcp, azure"
    assert "pos" in page.custom_details["services"] and "search" in page.custom_details["services"]

    # The same signals again, at the same time and every health-check round after: deduplicated.
    assert eng.step(10.0, down=down, survivors=survivors, out=down) == []
    assert eng.step(13.0, down=down, survivors=survivors, out=down) == []

    # Replication from the dead primary stalls: explained by the outage, joined to it (one update).
    stalls = (ReplicaStall("orders", "aws", "gcp", 0.0, 1), ReplicaStall("orders", "aws", "azure", 0.0, 1))
    (update,) = eng.step(20.0, down=down, survivors=survivors, stalls=stalls, out=down)
    assert (update.event_action, update.dedup_key) == ("trigger", "godseye/cloud-outage/aws")
    assert "joined" in update.reason and "orders aws->gcp stalled" in update.reason
    for t in range(23, 4200, 3):
        assert eng.step(float(t), down=down, survivors=survivors, stalls=stalls, out=down) == []

    # AWS passes its health checks but stays out of rotation through the edge's stabilisation: the
    # incident stays open however long that takes.
    for t in range(4200, 4800, 30):
        assert eng.step(float(t), survivors=survivors, out=down) == []
    assert "godseye/cloud-outage/aws" in eng.memory.open
    # The plane starts the canary: the engine says so once.
    (ack,) = eng.step(4800.0, survivors=survivors, recovering=down, out=down)
    assert (ack.event_action, ack.dedup_key) == ("acknowledge", "godseye/cloud-outage/aws")
    assert ack.summary == "AWS recovered. Canary reintroduction started."
    assert eng.step(4810.0, survivors=survivors, recovering=down, out=down) == []
    # Back in full rotation: resolved with the same key.
    (done,) = eng.step(6000.0)
    assert (done.event_action, done.dedup_key) == ("resolve", "godseye/cloud-outage/aws")
    assert "back in full rotation" in done.reason
    assert eng.memory.open == {}
    assert eng.step(6010.0) == []


def test_without_rotation_input_an_outage_resolves_after_the_clear_window(
    catalog: IncidentCatalog, endpoints: Endpoints
) -> None:
    eng = Engine(catalog, endpoints)
    down = frozenset({"aws"})
    eng.step(10.0, down=down, survivors=("gcp", "azure"))
    (ack,) = eng.step(40.0, survivors=("gcp", "azure"), recovering=down)
    assert ack.event_action == "acknowledge"
    assert eng.step(41.0) == []
    assert eng.step(10.0 + 59.0) == []
    (done,) = eng.step(10.0 + 60.0)
    assert (done.event_action, done.dedup_key) == ("resolve", "godseye/cloud-outage/aws")


def test_survivors_come_from_input(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    (page,) = eng.step(10.0, down=frozenset({"gcp"}), survivors=("azure",))
    assert page.summary == "GCP us-east1 down; failover active to Azure"
    (update,) = eng.step(20.0, down=frozenset({"gcp"}), survivors=("aws", "azure"))
    assert update.summary == "GCP us-east1 down; failover active to AWS + Azure" and update.event_action == "trigger"
    eng2 = Engine(catalog, endpoints)
    (alone,) = eng2.step(10.0, down=frozenset({"gcp"}))
    assert alone.summary == "GCP us-east1 down; no surviving cloud to fail over to"


def test_cloud_down_again_during_canary_re_triggers(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    down = frozenset({"aws"})
    eng.step(10.0, down=down, survivors=("gcp", "azure"))
    (ack,) = eng.step(100.0, survivors=("gcp", "azure"), recovering=down)
    assert ack.event_action == "acknowledge"
    (again,) = eng.step(110.0, down=down, survivors=("gcp", "azure"))
    assert again.event_action == "trigger" and "down again during its return" in again.reason
    assert again.dedup_key == "godseye/cloud-outage/aws"


def test_application_fault_one_service_failing_in_every_cloud(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    failing = frozenset({("aws", "payments"), ("gcp", "payments"), ("azure", "payments")})
    (page,) = eng.step(5.0, failing=failing)
    assert page.dedup_key == "godseye/app-fault/payments"
    assert page.severity == "critical"
    assert page.summary == "Application fault: payments failing in every cloud (AWS, GCP, Azure)"
    assert "failover cannot help" in page.custom_details["estimated_recovery"]
    assert eng.step(8.0, failing=failing) == []
    assert eng.step(9.0) == []  # healthy again, but signals are kept for the window
    (done,) = eng.step(9.0 + 60.0)
    assert (done.event_action, done.dedup_key) == ("resolve", "godseye/app-fault/payments")


def test_tier2_app_fault_is_p2(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    (page,) = eng.step(5.0, failing=frozenset({("aws", "search"), ("gcp", "search")}))
    assert page.dedup_key == "godseye/app-fault/search" and page.severity == "error"
    assert page.custom_details["priority"] == "P2"


def test_partition_is_a_stall_with_both_sides_healthy(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    stalls = (ReplicaStall("orders", "aws", "gcp", 0.0, 1),)
    (page,) = eng.step(12.0, stalls=stalls)
    assert page.dedup_key == "godseye/network-partition/aws+gcp"
    assert page.severity == "critical"  # orders is tier 1
    assert page.summary == ("Network partition between AWS us-east-1 and GCP us-east1: replication of orders stalled, "
                            "both sides healthy")
    # Another datastore stalls on the same link, the other way round: same incident, updated.
    more = (*stalls, ReplicaStall("catalog", "gcp", "aws", 5.0, 2))
    (update,) = eng.step(15.0, stalls=more)
    assert update.dedup_key == page.dedup_key and "catalog, orders" in update.summary

    # The same stall while gcp is down is the outage, not a partition.
    eng2 = Engine(catalog, endpoints)
    (outage,) = eng2.step(12.0, stalls=stalls, down=frozenset({"gcp"}), survivors=("aws", "azure"))
    assert outage.dedup_key == "godseye/cloud-outage/gcp"


def test_single_failing_service_is_a_degradation(catalog: IncidentCatalog, endpoints: Endpoints) -> None:
    eng = Engine(catalog, endpoints)
    (page,) = eng.step(3.0, failing=frozenset({("azure", "analytics")}))
    assert page.dedup_key == "godseye/service-degraded/azure"
    assert page.severity == "warning" and page.summary == "Service degraded in Azure eastus: analytics"


def _small() -> tuple[IncidentCatalog, Endpoints]:
    labels = {"aws": CloudLabel("AWS", "us-east-1"), "gcp": CloudLabel("GCP", "us-east1"), "azure": CloudLabel("Azure", "eastus")}
    catalog = IncidentCatalog(labels, {"a": 1, "b": 2, "c": 3})
    return catalog, {(cl, s): True for cl in labels for s in ("a", "b", "c")}


def test_window_decides_whether_failures_correlate_into_an_outage() -> None:
    catalog, endpoints = _small()
    keys = {}
    for window_s in (60.0, 30.0):
        eng = Engine(catalog, endpoints, IncidentParams(window_s=window_s))
        eng.step(0.0, failing=frozenset({("aws", "a")}))
        eng.step(1.0)
        pages = eng.step(40.0, failing=frozenset({("aws", "b")}))
        keys[window_s] = sorted(p.dedup_key for p in pages if p.event_action == "trigger")
    # Within 60 s, two of aws's three services failed: a provider outage.
    assert keys[60.0] == ["godseye/cloud-outage/aws"]
    # With a 30 s window the first failure is forgotten: just a degraded service.
    assert keys[30.0] == ["godseye/service-degraded/aws"]


def test_outage_thresholds_are_parameters() -> None:
    catalog, endpoints = _small()
    failing = frozenset({("aws", "a"), ("aws", "b")})
    default = Engine(catalog, endpoints).step(0.0, failing=failing)
    assert [p.dedup_key for p in default] == ["godseye/cloud-outage/aws"]
    strict = Engine(catalog, endpoints, IncidentParams(outage_min_services=3)).step(0.0, failing=failing)
    assert [p.dedup_key for p in strict] == ["godseye/service-degraded/aws"]
    majority = Engine(catalog, endpoints, IncidentParams(outage_service_fraction=1.0)).step(0.0, failing=failing)
    assert [p.dedup_key for p in majority] == ["godseye/service-degraded/aws"]


def test_clear_window_is_a_parameter() -> None:
    catalog, endpoints = _small()
    for clear_s, resolved_at in ((30.0, 31.0), (60.0, 61.0), (120.0, 121.0)):
        eng = Engine(catalog, endpoints, IncidentParams(window_s=30.0, clear_s=clear_s))
        eng.step(0.0, failing=frozenset({("aws", "c")}))
        eng.step(1.0, failing=frozenset({("aws", "c")}))  # last seen at t=1
        times = [float(t) for t in range(2, 200) for p in eng.step(float(t)) if p.event_action == "resolve"]
        # The window forgets the signal at t=31; the clear window then decides.
        assert times == [resolved_at]


def test_severity_is_raised_never_lowered_and_degradation_escalates_to_outage() -> None:
    catalog, endpoints = _small()
    eng = Engine(catalog, endpoints, IncidentParams(outage_service_fraction=1.0, outage_min_services=3))
    (first,) = eng.step(0.0, failing=frozenset({("aws", "c")}))
    assert (first.dedup_key, first.severity) == ("godseye/service-degraded/aws", "warning")
    (raised,) = eng.step(5.0, failing=frozenset({("aws", "c"), ("aws", "b")}))
    assert (raised.event_action, raised.severity) == ("trigger", "error") and "severity raised" in raised.reason
    # All three failing: the outage takes over the degradation's signals, which resolves at once.
    pages = eng.step(10.0, failing=frozenset({("aws", "a"), ("aws", "b"), ("aws", "c")}), survivors=("gcp", "azure"))
    assert [(p.event_action, p.dedup_key) for p in pages] == [
        ("resolve", "godseye/service-degraded/aws"),
        ("trigger", "godseye/cloud-outage/aws"),
    ]
    assert pages[0].custom_details["superseded_by"] == "godseye/cloud-outage/aws"
    assert pages[1].severity == "critical"


def test_requeue_asks_for_the_next_moment_something_can_change() -> None:
    catalog, endpoints = _small()
    eng = Engine(catalog, endpoints)
    eng.step(0.0, failing=frozenset({("aws", "c")}))
    assert eng.requeue == pytest.approx(60.0)
    eng.step(0.0)
    eng.step(60.0)
    assert eng.memory.open == {} and eng.requeue is None


def test_params_are_bounded() -> None:
    with pytest.raises(ValueError):
        IncidentParams(window_s=0)
    with pytest.raises(ValueError):
        IncidentParams(clear_s=float("inf"))
    with pytest.raises(ValueError):
        IncidentParams(outage_service_fraction=0)
