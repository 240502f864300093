"""Changing an input moves the result: the twin measures, it does not copy the seed's numbers."""

from __future__ import annotations

from drillkit import AWS_DOWN, drill_text, reference, variant

from godseye.plan.placement import place_services
from godseye.policy.split import redistribute
from godseye.sim.result import DrillResult

INTERVAL = "health_check: {interval_s: 3,"
SPLIT = "  failover_split: {aws: {gcp: 60, azure: 40}}"


def service(r: DrillResult, name: str) -> float:
    s = next(s for s in r.services if s.name == name)
    assert s.rto_s is not None
    return s.rto_s


def test_reference_short_outage_meets_tier1() -> None:
    r = drill_text(reference(), AWS_DOWN)
    assert all(s.met for s in r.services if s.tier == 1)


def test_a_20s_health_check_makes_tier1_miss() -> None:
    r = drill_text(variant({INTERVAL: "health_check: {interval_s: 20,"}), AWS_DOWN)
    tier1 = [s for s in r.services if s.tier == 1]
    assert all(s.rto_s is not None and s.rto_s > s.rto_target_s for s in tier1)
    assert r.verdict == "missed"


def test_a_slower_node_boot_lengthens_tier2_rto() -> None:
    # search fails over from aws to its warm standby in gcp. gcp is provisioned with no spare nodes
    # (the twin starts it with just what the steady state needs), so the standby's pods must wait for
    # new nodes whatever the traffic noise: the check holds for any seed, not one lucky draw.
    tight = {"    backup_region: us-central1\n    nodes: 26": "    backup_region: us-central1\n    nodes: 1"}
    gcp_boot = "    node_boot_s: 180"
    assert reference().clouds["gcp"].node_boot_s == 180
    for seed in (0, 3):
        base = drill_text(variant(tight), AWS_DOWN, seed)
        slow = drill_text(variant({**tight, gcp_boot: "    node_boot_s: 420"}), AWS_DOWN, seed)
        # Each extra second of boot is a second of RTO: the pods wait for the nodes.
        assert service(slow, "search") - service(base, "search") > 0.8 * (420 - 180), seed


def test_without_failover_split_the_split_follows_surviving_capacity() -> None:
    # Give azure half of gcp's capacity so the proportional split is not a symmetric one.
    platform = variant({SPLIT: "  failover_split: {}", "    max_nodes: 140\n    node_vcpu: 16\n    node_boot_s: 150":
                        "    max_nodes: 70\n    node_vcpu: 16\n    node_boot_s: 150"})
    r = drill_text(platform, AWS_DOWN)
    normal = next(p for p in place_services(platform) if p.name == "pos").weights
    expected, rule = redistribute(platform, normal, {"aws"})
    assert "proportional" in rule
    moved = [c for c in r.steering if c.service == "pos" and c.t_s > 0]
    assert moved[0].weights == expected and expected["gcp"] > expected["azure"] > 0


def test_the_same_outage_at_the_peak_loses_more_than_at_night() -> None:
    # Azure holds the newest clickstream writes (recommendations and analytics run there): what
    # MirrorMaker had not mirrored when Azure died is lost, and the mirror trails more under load.
    outage = "faults: [{at_s: 900, kind: cloud_outage, cloud: azure}]"
    night = drill_text(reference(), f"{{name: night, duration_s: 1200, traffic: {{multiplier: 0.5}}, {outage}}}")
    peak = drill_text(reference(), f"{{name: peak, duration_s: 1200, traffic: {{multiplier: 3.0}}, {outage}}}")

    def rpo(r: DrillResult) -> float:
        s = next(s for s in r.services if s.name == "recommendations")
        assert s.rpo_datastore == "clickstream"
        return s.rpo_s

    assert 0 < rpo(night) < rpo(peak)
