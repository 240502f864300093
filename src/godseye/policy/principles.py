"""The seed's design principles as checks that can fail, each computed from the spec and the plan.

1. No cloud-native lock-in: every managed product has an OSS abstraction (the catalog has it).
2. Terraform + Crossplane: every provider has the catalog's Compute and Kubernetes rows, whose
   abstractions (Terraform + Crossplane, Cluster API + ArgoCD) manage it declaratively.
3. Blast radius containment: no single cloud failure loses more than `blast_radius_max` (one third)
   of platform capacity or of any tier-1 service's capacity.
4. Cost-aware tiering: nothing pays for more replication than the flowchart says it needs.
5. Egress is the enemy: cross-cloud replication egress is estimated and held to a budget when set.
"""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.cost import cost_multiplier
from godseye.plan.model import Check, CloudCapacity, ServicePlan
from godseye.policy.catalog import DATASTORE_CAPABILITY, capability, lookup
from godseye.policy.egress import replication_egress
from godseye.policy.tiers import classify, tier_table
from godseye.spec.models import Platform

# "Never exceeds 33%" is one cloud in three: exactly a third must pass despite float rounding.
_SHARE_EPSILON = 1e-6
_DECLARATIVE_ROWS = ("Compute", "Kubernetes")


def check_principles(platform: Platform, services: Sequence[ServicePlan], clouds: Sequence[CloudCapacity]) -> list[Check]:
    return [
        blast_radius(platform, services, clouds),
        no_lock_in(platform),
        declarative_infrastructure(platform),
        cost_aware_tiering(platform, services),
        egress_is_the_enemy(platform, services),
    ]


def blast_radius(platform: Platform, services: Sequence[ServicePlan], clouds: Sequence[CloudCapacity]) -> Check:
    limit = platform.principles.blast_radius_max
    losses: list[tuple[float, str]] = [
        (c.capacity_share, f"{c.name} holds {c.capacity_share:.1%} of platform capacity") for c in clouds
    ]
    for svc in services:
        if svc.tier != 1:
            continue
        total = sum(p.replicas for p in svc.placement.values())
        for cloud, placed in svc.placement.items():
            share = placed.replicas / total
            losses.append((share, f"{cloud} holds {share:.1%} of tier-1 {svc.name}"))
    worst_share, worst = max(losses, key=lambda x: x[0])
    over = [what for share, what in losses if share > limit + _SHARE_EPSILON]
    if over:
        return Check("blast_radius", False, f"over the {limit:.1%} limit: {'; '.join(over)}")
    return Check("blast_radius", True, f"largest single-cloud loss {worst_share:.1%} ({worst}); limit {limit:.1%}")


def no_lock_in(platform: Platform) -> Check:
    offenders = []
    for name, cloud in platform.clouds.items():
        for product in cloud.managed:
            if lookup(cloud.provider, product) is None:
                offenders.append(f"{name} uses '{product}' with no abstraction in the catalog for {cloud.provider}")
    for store_name, store in platform.datastores.items():
        cap = capability(DATASTORE_CAPABILITY[store.kind])
        for name, cloud in platform.clouds.items():
            if not cap.products.get(cloud.provider):
                offenders.append(f"datastore {store_name} ({store.kind}) has no {cap.name} product on {cloud.provider} ({name})")
    if offenders:
        return Check("no_lock_in", False, "; ".join(offenders))
    used = sum(len(c.managed) for c in platform.clouds.values())
    return Check(
        "no_lock_in",
        True,
        f"{used} managed products and {len(platform.datastores)} datastores, each behind an OSS abstraction",
    )


def declarative_infrastructure(platform: Platform) -> Check:
    missing = []
    for name, cloud in platform.clouds.items():
        for row in _DECLARATIVE_ROWS:
            if not capability(row).products.get(cloud.provider):
                missing.append(f"{name}: provider '{cloud.provider}' has no {row} row ({capability(row).abstraction})")
    if missing:
        return Check("declarative_infrastructure", False, "; ".join(missing))
    tools = " and ".join(capability(r).abstraction for r in _DECLARATIVE_ROWS)
    return Check("declarative_infrastructure", True, f"every provider managed by {tools}")


def cost_aware_tiering(platform: Platform, services: Sequence[ServicePlan]) -> Check:
    table = tier_table(platform)
    multiplier = cost_multiplier(services)
    rows = ", ".join(f"tier {t} {p.cost_multiplier:g}x" for t, p in table.items())
    problems = []
    for name, svc in platform.services.items():
        decision = classify(svc)
        if table[decision.tier].cost_multiplier > table[decision.flowchart_tier].cost_multiplier:
            problems.append(
                f"{name} pays tier {decision.tier}'s {table[decision.tier].cost_multiplier:g}x where the flowchart "
                f"says tier {decision.flowchart_tier} ({decision.flowchart_reason})"
            )
    top = table[min(table)].cost_multiplier
    lower = [n for n, s in platform.services.items() if classify(s).flowchart_tier > min(table)]
    if abs(multiplier - top) < 1e-9 and lower:
        problems.append(f"everything costs tier {min(table)}'s {top:g}x though {', '.join(lower)} need less")
    detail = f"platform cost multiplier {multiplier:.2f}x ({rows})"
    if problems:
        return Check("cost_aware_tiering", False, f"{detail}: {'; '.join(problems)}")
    return Check("cost_aware_tiering", True, detail)


def egress_is_the_enemy(platform: Platform, services: Sequence[ServicePlan]) -> Check:
    estimate = replication_egress(platform, services)
    best, worst = estimate.usd_month_with_levers
    detail = f"cross-cloud replication egress ~{estimate.gb_month:,.0f} GB/month, ${estimate.usd_month:,.0f}/month"
    if estimate.levers:
        names = " and ".join(lever.name for lever in estimate.levers)
        detail += f" (${best:,.0f}-${worst:,.0f} with {names})"
    budget = platform.principles.egress_budget_usd_month
    if budget is None:
        return Check("egress_is_the_enemy", True, f"{detail}; no budget set")
    if estimate.usd_month > budget:
        return Check("egress_is_the_enemy", False, f"{detail} exceeds the budget of ${budget:,.0f}/month")
    return Check("egress_is_the_enemy", True, f"{detail} within the budget of ${budget:,.0f}/month")
