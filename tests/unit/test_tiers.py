"""The seed's tier flowchart, explicit tiers that disagree with it, and `tiers:` overrides."""

from __future__ import annotations

from plan_specs import load, three_clouds, with_tiers

from godseye.plan.builder import build_plan
from godseye.plan.placement import place_services
from godseye.policy.tiers import REFERENCE_TIERS, classify, datastore_tiers, flowchart, tier_table
from godseye.spec.models import Platform, Service


def svc(revenue: bool, ux: bool, tier: int | None = None) -> Service:
    return Service.model_validate({"revenue_impact": revenue, "ux_impact": ux, "rps": 10, "pod_rps": 1, "tier": tier})


def test_flowchart_questions_in_order() -> None:
    assert flowchart(True, True)[0] == 1
    assert flowchart(True, False)[0] == 1  # Q1 alone decides tier 1
    assert flowchart(False, True)[0] == 2
    assert flowchart(False, False)[0] == 3
    assert "revenue" in flowchart(True, False)[1]


def test_reference_services_get_the_seed_tiers(reference: Platform) -> None:
    tiers = {name: classify(s).tier for name, s in reference.services.items()}
    assert {n for n, t in tiers.items() if t == 1} == {"pos", "payments", "inventory-sync", "pricing-engine", "cart"}
    assert {n for n, t in tiers.items() if t == 2} == {"search", "recommendations", "product-catalog", "auth"}
    assert {n for n, t in tiers.items() if t == 3} == {"batch-jobs", "analytics"}


def test_explicit_tier_agreeing_has_no_note() -> None:
    decision = classify(svc(False, True, tier=2))
    assert decision.tier == 2 and decision.disagreement is None


def test_explicit_tier_disagreement_reports_flowchart_answer_and_why() -> None:
    decision = classify(svc(False, True, tier=1))
    assert decision.tier == 1
    assert decision.flowchart_tier == 2
    assert decision.disagreement is not None
    assert "costlier than the flowchart's tier 2" in decision.disagreement
    assert "UX degraded" in decision.disagreement
    weaker = classify(svc(True, True, tier=3))
    assert weaker.disagreement is not None and "less protected than the flowchart's tier 1" in weaker.disagreement


def test_disagreement_reaches_the_plan() -> None:
    spec = with_tiers(three_clouds())
    spec["services"]["search"]["tier"] = 3
    plan = build_plan(load(spec))
    search = plan.service("search")
    assert search.tier == 3 and search.tier_note is not None and "flowchart's tier 2" in search.tier_note
    assert plan.service("pos").tier_note is None


def test_tiers_override_moves_rto_and_cost() -> None:
    base = build_plan(load(with_tiers(three_clouds())))
    spec = with_tiers(three_clouds())
    spec["tiers"] = {2: {"clouds": 2, "mode": "active-warm-standby", "rto_s": 60, "rpo_s": 1, "cost_multiplier": 2.2}}
    plan = build_plan(load(spec))
    assert base.service("search").rto_target_s == REFERENCE_TIERS[2].rto_s
    assert plan.service("search").rto_target_s == 60
    assert plan.service("search").rpo_target_s == 1
    assert plan.service("search").cost_multiplier == 2.2
    assert plan.service("pos").cost_multiplier == REFERENCE_TIERS[1].cost_multiplier  # other rows untouched


def test_tier_clouds_capped_at_the_clouds_that_exist() -> None:
    spec = three_clouds()
    del spec["clouds"]["c"]
    assert tier_table(load(spec))[1].clouds == 2
    assert len(place_services(load(spec))[0].placement) == 2


def test_datastore_tier_follows_most_critical_user() -> None:
    spec = with_tiers(three_clouds())
    spec["services"]["batch"]["data"] = ["orders", "catalog"]
    tiers = datastore_tiers(load(spec))
    assert tiers == {"orders": 1, "catalog": 2}
