"""Where services run: tier 1 everywhere in equal shares, tier 2 active + warm standby, tier 3 single."""

from __future__ import annotations

from plan_specs import load, three_clouds, with_tiers

from godseye.plan.placement import place_services, replicas_for
from godseye.spec.models import Platform


def test_replicas_for_rounds_up() -> None:
    assert replicas_for(1000, 100) == 10
    assert replicas_for(1001, 100) == 11
    assert replicas_for(0, 100) == 0


def test_tier1_equal_share_in_every_cloud() -> None:
    plans = {p.name: p for p in place_services(load(three_clouds()))}
    pos = plans["pos"]
    assert {c: (p.role, p.replicas) for c, p in pos.placement.items()} == {
        "a": ("active", 10),
        "b": ("active", 10),
        "c": ("active", 10),
    }
    assert sum(pos.weights.values()) == 100
    assert max(pos.weights.values()) - min(pos.weights.values()) <= 1


def test_tier1_min_replicas_floor() -> None:
    spec = three_clouds()
    spec["services"]["pos"].update(rps=10, min_replicas=6)
    pos = place_services(load(spec))[0]
    assert sum(p.replicas for p in pos.placement.values()) >= 6


def test_tier2_active_and_warm_standby_follow_failover_split() -> None:
    spec = with_tiers(three_clouds())
    spec["services"]["search"]["primary"] = "a"
    spec["edge"] = {"failover_split": {"a": {"b": 30, "c": 70}}}
    search = {p.name: p for p in place_services(load(spec))}["search"]
    assert search.placement["a"].role == "active" and search.placement["a"].replicas == 10
    assert search.placement["c"].role == "standby"
    assert search.placement["c"].replicas == 3  # 25% of 10, rounded up
    assert "failover_split" in search.placement_reason
    assert search.weights == {"a": 100, "b": 0, "c": 0}


def test_tier3_single_cloud_with_backup_region() -> None:
    spec = with_tiers(three_clouds())
    spec["clouds"]["b"]["backup_region"] = "r2-west"
    spec["services"]["batch"]["primary"] = "b"
    batch = {p.name: p for p in place_services(load(spec))}["batch"]
    assert list(batch.placement) == ["b"] and batch.placement["b"].replicas == 10
    assert batch.backup_region == "r2-west"
    assert "backups to r2-west" in batch.placement_reason


def test_single_cloud_services_spread_to_headroom() -> None:
    spec = with_tiers(three_clouds())
    spec["services"]["batch2"] = dict(spec["services"]["batch"])
    plans = {p.name: p for p in place_services(load(spec))}
    homes = {next(iter(plans[n].active_clouds)) for n in ("search", "batch", "batch2")}
    assert len(homes) == 3  # each lands where the load is lightest, not all in one cloud


def test_reference_placement_is_spread(reference: Platform) -> None:
    plans = place_services(reference)
    tier2_homes = {p.active_clouds[0] for p in plans if p.tier == 2}
    assert len(tier2_homes) >= 2
