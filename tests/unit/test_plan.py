"""The planner end to end: fit, N-1, principles and cost, and outputs that move with their inputs."""

from __future__ import annotations

import copy

import pytest
from plan_specs import Spec, load, three_clouds, with_tiers

from godseye.plan.builder import build_plan
from godseye.plan.demand import event_asks
from godseye.plan.model import Check, Plan, Survival
from godseye.plan.nodes import pack_nodes
from godseye.policy.sizing import declared_peak
from godseye.spec.errors import InputError
from godseye.spec.models import Platform


def plan_of(spec: Spec) -> Plan:
    return build_plan(load(spec))


def check(checks: list[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


def survival(plan: Plan, failed: str) -> Survival:
    return next(s for s in plan.survives if s.failed_cloud == failed)


def util(plan: Plan, failed: str, survivor: str) -> float:
    return next(v.utilisation for v in survival(plan, failed).survivors if v.cloud == survivor)


def nodes(plan: Plan, cloud: str) -> int:
    return next(c.nodes_needed for c in plan.clouds if c.name == cloud)


# --- the reference platform -------------------------------------------------------------------


def test_reference_plan_holds(reference: Platform) -> None:
    plan = build_plan(reference)
    assert plan.ok, plan.failures()
    assert plan.failures() == []
    assert [p.name for p in plan.principles] == [
        "blast_radius",
        "no_lock_in",
        "declarative_infrastructure",
        "cost_aware_tiering",
        "egress_is_the_enemy",
    ]
    assert all(p.ok for p in plan.principles)


def test_reference_black_friday_sets_max_nodes_and_n1_fits_within_it(reference: Platform) -> None:
    # max_nodes is there for Black Friday, pre-scaled in every cloud at once: the fullest cloud uses
    # most of it, with room left; one cloud's outage on an ordinary day needs much less.
    plan = build_plan(reference)
    assert check(plan.fits, "peak black-friday").ok
    peak = declared_peak(reference.events["black-friday"])
    asks = event_asks(reference, plan.services, peak)
    fullest = max(pack_nodes(asks[c], cloud.node_vcpu) / cloud.max_nodes for c, cloud in reference.clouds.items())
    assert 0.6 <= fullest <= 0.9
    worst = max(v.utilisation for s in plan.survives for v in s.survivors)
    assert 0.1 <= worst < fullest
    aws_down = survival(plan, "aws")
    assert aws_down.detail.startswith("gcp ") and "% of max, azure " in aws_down.detail


def test_reference_aws_failure_follows_the_seed_split(reference: Platform) -> None:
    plan = build_plan(reference)
    assert survival(plan, "aws").weights["pos"] == {"aws": 0, "gcp": 60, "azure": 40}


# --- fit per cloud ----------------------------------------------------------------------------


def test_steady_state_fits() -> None:
    plan = plan_of(three_clouds())
    # ~1000 rps a cloud at 70% of 100 rps a pod: 15 pods on 8-vCPU nodes.
    assert [(c.name, c.nodes_needed) for c in plan.clouds] == [("a", 2), ("b", 2), ("c", 2)]
    assert plan.ok, plan.failures()


def test_cloud_that_cannot_carry_its_third_fails_naming_check_and_cloud() -> None:
    spec = three_clouds()
    spec["clouds"]["c"].update(nodes=1, max_nodes=1)
    plan = build_plan(load(spec))
    fit = check(plan.fits, "fit c")
    assert not fit.ok and fit.detail == "c needs 2 nodes > max_nodes 1"
    assert check(plan.fits, "fit a").ok
    assert not plan.ok
    assert "fit c: c needs 2 nodes > max_nodes 1" in plan.failures()


def test_needing_more_than_provisioned_within_max_is_a_note() -> None:
    spec = three_clouds(nodes=1)
    plan = plan_of(spec)
    fit = check(plan.fits, "fit a")
    assert fit.ok and "note" in fit.detail and "adds 1" in fit.detail


def test_event_peak_beyond_the_platform_fails() -> None:
    spec = three_clouds()
    spec["events"] = {"bf": {"start": "2026-11-27T00:00:00Z", "duration_s": 86400, "peak_multiplier": 4.0}}
    # 4x + 20% at 70% utilisation: ceil(1020 x 4.8 / 70) = 70 pods per cloud on 9 of 10 nodes.
    assert check(plan_of(spec).fits, "peak bf").ok
    spec["events"]["bf"]["peak_multiplier"] = 9.0
    peak = check(plan_of(spec).fits, "peak bf")
    assert not peak.ok and "overflows" in peak.detail


# --- N-1 --------------------------------------------------------------------------------------


def test_n1_fails_naming_failed_cloud_and_overflowing_survivor() -> None:
    # One 15-vCPU node per cloud holds its 15 pods (1000 rps at 70%); half of a failed cloud's
    # traffic more needs ceil(1500 / 70) = 22.
    plan = plan_of(three_clouds(nodes=1, max_nodes=1, node_vcpu=15))
    assert all(c.ok for c in plan.fits)
    lost_a = survival(plan, "a")
    assert not lost_a.ok
    assert "b overflows: needs 2 nodes > max_nodes 1" in lost_a.detail
    assert any(f.startswith("N-1 without a:") and "b overflows" in f for f in plan.failures())


def test_n1_survivor_replicas_follow_new_weights() -> None:
    spec = three_clouds()
    spec["edge"] = {"failover_split": {"a": {"b": 60, "c": 40}}}
    s = survival(plan_of(spec), "a")
    assert s.ok and s.weights["pos"] == {"a": 0, "b": 60, "c": 40}
    # 60% of 3000 rps at 70% of 100 rps a pod = 26 pods -> 4 nodes of 8 vCPU; 40% = 18 pods -> 3 nodes.
    assert {v.cloud: v.nodes_needed for v in s.survivors} == {"b": 4, "c": 3}
    assert s.detail == "b 40% of max, c 30% of max"


def test_changing_failover_split_moves_survivor_utilisation() -> None:
    spec = three_clouds()
    spec["edge"] = {"failover_split": {"a": {"b": 60, "c": 40}}}
    before = plan_of(spec)
    spec["edge"] = {"failover_split": {"a": {"b": 90, "c": 10}}}
    after = plan_of(spec)
    assert util(after, "a", "b") > util(before, "a", "b")
    assert survival(after, "a").weights["pos"]["b"] == 90


def test_without_failover_split_share_follows_surviving_capacity() -> None:
    spec = three_clouds()
    spec["clouds"]["b"]["max_nodes"] = 30
    s = survival(plan_of(spec), "a")
    # a's 34% goes 3:1 to b (30 x 8 vCPU) and c (10 x 8 vCPU): b 33 + 25.5, c 33 + 8.5.
    assert s.weights["pos"] == {"a": 0, "b": 59, "c": 41}
    equal = survival(plan_of(three_clouds()), "a")
    assert equal.weights["pos"] == {"a": 0, "b": 50, "c": 50}


def test_tier2_goes_fully_to_standby_and_tier3_is_deferred() -> None:
    plan = plan_of(with_tiers(three_clouds()))
    search = plan.service("search")
    active, standby = search.active_clouds[0], search.standby_clouds[0]
    s = survival(plan, active)
    assert s.weights["search"][standby] == 100
    batch_home = plan.service("batch").active_clouds[0]
    lost = survival(plan, batch_home)
    assert [d.service for d in lost.deferred] == ["batch"]
    target = lost.deferred[0].cloud
    assert target is not None and target != batch_home
    assert lost.deferred[0].deferral_s == 300
    assert "deferred: batch -> " in lost.detail
    load = next(v for v in lost.survivors if v.cloud == target)
    assert load.nodes_after_deferred is not None and load.nodes_after_deferred >= load.nodes_needed


def test_single_cloud_platform_cannot_survive() -> None:
    spec = three_clouds()
    del spec["clouds"]["b"], spec["clouds"]["c"]
    s = plan_of(spec).survives[0]
    assert not s.ok and "no other cloud" in s.detail


# --- outputs move with inputs -----------------------------------------------------------------


def test_more_rps_means_more_replicas_and_nodes() -> None:
    spec = three_clouds()
    before = plan_of(spec)
    spec["services"]["pos"]["rps"] = 6000
    after = plan_of(spec)
    assert after.service("pos").placement["a"].replicas == 20 > before.service("pos").placement["a"].replicas
    assert nodes(after, "a") == 4 > nodes(before, "a")  # 2040 rps at 70% of 100: 30 pods


def test_node_size_moves_nodes() -> None:
    assert nodes(plan_of(three_clouds(node_vcpu=4)), "a") == 4  # 15 pods: 4 + 4 + 4 + 3
    assert nodes(plan_of(three_clouds(node_vcpu=16)), "a") == 1


def test_tier_cost_multiplier_moves_platform_multiplier() -> None:
    spec = with_tiers(three_clouds())
    base = plan_of(spec)
    assert abs(base.cost_multiplier - (3000 * 3.0 + 1000 * 1.8 + 100 * 1.0) / 4100) < 1e-9
    spec["tiers"] = {2: {"clouds": 2, "mode": "active-warm-standby", "rto_s": 300, "rpo_s": 5, "cost_multiplier": 2.5}}
    assert plan_of(spec).cost_multiplier > base.cost_multiplier


def test_monthly_cost_from_nodes_and_price() -> None:
    spec = three_clouds(vcpu_hour_usd=0.05)
    plan = plan_of(spec)
    assert abs(plan.clouds[0].monthly_cost_usd - 2 * 8 * 0.05 * 730) < 1e-6
    assert abs(plan.monthly_cost_usd - 3 * 2 * 8 * 0.05 * 730) < 1e-6


# --- design principles, each shown failing --------------------------------------------------


def principle(spec: Spec, name: str) -> Check:
    return check(plan_of(spec).principles, name)


def test_blast_radius_exactly_a_third_passes() -> None:
    assert principle(three_clouds(), "blast_radius").ok


def test_blast_radius_fails_on_uneven_capacity() -> None:
    spec = three_clouds()
    spec["clouds"]["a"]["nodes"] = 8
    c = principle(spec, "blast_radius")
    assert not c.ok and "a holds 66.7% of platform capacity" in c.detail


def test_blast_radius_fails_for_tier1_on_two_clouds() -> None:
    spec = three_clouds()
    del spec["clouds"]["c"]
    c = principle(spec, "blast_radius")
    assert not c.ok and "50.0% of tier-1 pos" in c.detail


def test_no_lock_in_fails_on_unknown_product() -> None:
    spec = three_clouds()
    spec["clouds"]["a"]["managed"] = ["eks", "dynamodb"]
    c = principle(spec, "no_lock_in")
    assert not c.ok and "'dynamodb'" in c.detail and "a uses" in c.detail
    spec["clouds"]["a"]["managed"] = ["eks", "aurora-postgresql"]
    assert principle(spec, "no_lock_in").ok


def test_no_lock_in_fails_when_a_provider_has_no_product_for_a_datastore() -> None:
    spec = three_clouds()
    spec["clouds"]["c"]["provider"] = "oracle"
    c = principle(spec, "no_lock_in")
    assert not c.ok and "orders (sql) has no Database product on oracle (c)" in c.detail


def test_declarative_infrastructure_fails_on_unknown_provider() -> None:
    spec = three_clouds()
    spec["clouds"]["c"]["provider"] = "oracle"
    c = principle(spec, "declarative_infrastructure")
    assert not c.ok and "c: provider 'oracle' has no Compute row" in c.detail
    assert principle(three_clouds(), "declarative_infrastructure").ok


def test_cost_aware_tiering_fails_on_explicit_costlier_tier() -> None:
    spec = with_tiers(three_clouds())
    assert principle(spec, "cost_aware_tiering").ok
    spec["services"]["search"]["tier"] = 1
    c = principle(spec, "cost_aware_tiering")
    assert not c.ok and "search pays tier 1's 3x where the flowchart says tier 2" in c.detail


def test_cost_aware_tiering_fails_when_everything_costs_tier1() -> None:
    spec = with_tiers(three_clouds())
    row = {"clouds": 1, "mode": "single", "rto_s": 60, "rpo_s": 5, "cost_multiplier": 3.0}
    spec["tiers"] = {2: {**row, "clouds": 2}, 3: row}
    c = principle(spec, "cost_aware_tiering")
    assert not c.ok and "everything costs tier 1's 3x though search, batch need less" in c.detail


def test_egress_budget() -> None:
    spec = three_clouds(egress_usd_per_gb=0.02)
    unbounded = principle(spec, "egress_is_the_enemy")
    # 1 MB/s written in three clouds, each third copied to two others: 2 MB/s leave, all month long.
    gb = 2.0 * 730 * 3600 / 1000
    assert unbounded.ok and f"~{gb:,.0f} GB/month, ${gb * 0.02:,.0f}/month" in unbounded.detail
    spec["principles"] = {"egress_budget_usd_month": 10}
    over = principle(spec, "egress_is_the_enemy")
    assert not over.ok and "exceeds the budget of $10/month" in over.detail
    spec["principles"] = {"egress_budget_usd_month": 1000}
    assert principle(spec, "egress_is_the_enemy").ok


def test_egress_grows_with_writes() -> None:
    spec = three_clouds()
    spec["principles"] = {"egress_budget_usd_month": 1000}  # 1 MB/s at $0.09/GB: ~$473/month
    assert principle(spec, "egress_is_the_enemy").ok
    more = copy.deepcopy(spec)
    more["datastores"]["orders"]["write_mb_s"] = 50.0
    assert not principle(more, "egress_is_the_enemy").ok


def test_plan_is_deterministic(reference: Platform) -> None:
    assert build_plan(reference) == build_plan(reference)


def test_pod_larger_than_the_nodes_of_its_cloud_is_bad_input() -> None:
    spec = three_clouds()
    spec["clouds"]["c"]["node_vcpu"] = 4
    spec["services"]["pos"]["pod_vcpu"] = 6  # fits a's and b's 8-vCPU nodes, not c's
    with pytest.raises(InputError) as info:
        build_plan(load(spec), "spec.yaml")
    assert str(info.value) == (
        "spec.yaml: services.pos.pod_vcpu: must fit on a node of c, where it is placed (c has node_vcpu 4) (got 6)"
    )


def test_single_cloud_tier_without_deferral_moves_at_once_and_counts() -> None:
    spec = three_clouds(nodes=1, max_nodes=2, node_vcpu=10)
    spec["tiers"] = {1: {"clouds": 1, "mode": "single", "rto_s": 30, "rpo_s": 0, "cost_multiplier": 1.0}}
    plan = plan_of(spec)
    home = plan.service("pos").active_clouds[0]  # 3000 rps at 70%: 43 pods need 5 nodes, no survivor has room
    lost = survival(plan, home)
    assert lost.deferred == []
    assert not lost.ok and "overflows" not in lost.detail and "no surviving cloud carries pos" in lost.detail
    spec["clouds"]["b"]["max_nodes"] = 5
    spec["clouds"]["c"]["max_nodes"] = 5
    roomy = survival(plan_of(spec), "a")
    assert roomy.ok and roomy.deferred[0].cloud == "b" and roomy.deferred[0].deferral_s == 0
    assert roomy.deferred[0].replicas == 43
    assert next(v.nodes_needed for v in roomy.survivors if v.cloud == "b") == 5
