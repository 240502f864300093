"""The seed's service tier classification: the flowchart as code and the tier table as data."""

from __future__ import annotations

from dataclasses import dataclass

from godseye.spec.models import Platform, Service, TierPolicy

# The seed's tier table. A spec's `tiers:` replaces rows of it.
REFERENCE_TIERS: dict[int, TierPolicy] = {
    1: TierPolicy(clouds=3, mode="active-active-active", rto_s=30, rpo_s=0, cost_multiplier=3.0),
    2: TierPolicy(
        clouds=2, mode="active-warm-standby", rto_s=300, rpo_s=5, cost_multiplier=1.8, standby_fraction=0.25
    ),
    # The seed defers tier 3 to T=5min-30min after the outage.
    3: TierPolicy(
        clouds=1, mode="single-cloud + cross-region backup", rto_s=1800, rpo_s=900, cost_multiplier=1.0,
        deferral_s=300,
    ),
}

TIER_NAMES = {1: "Mission Critical", 2: "Customer Facing", 3: "Internal / Async"}


@dataclass(frozen=True, slots=True)
class TierDecision:
    tier: int
    reason: str
    flowchart_tier: int
    flowchart_reason: str
    disagreement: str | None


def flowchart(revenue_impact: bool, ux_impact: bool) -> tuple[int, str]:
    """Q1: revenue impacted per second of downtime? -> 1. Q2: UX degraded? -> 2. Otherwise 3."""
    if revenue_impact:
        return 1, "revenue impacted per second of downtime"
    if ux_impact:
        return 2, "no revenue impact, but UX degraded for end users"
    return 3, "no revenue impact and no UX impact: internal / async"


def classify(service: Service) -> TierDecision:
    chart_tier, chart_reason = flowchart(service.revenue_impact, service.ux_impact)
    if service.tier is None:
        return TierDecision(chart_tier, chart_reason, chart_tier, chart_reason, None)
    if service.tier == chart_tier:
        return TierDecision(chart_tier, f"explicit tier {service.tier}; {chart_reason}", chart_tier, chart_reason, None)
    direction = "costlier than" if service.tier < chart_tier else "less protected than"
    note = f"explicit tier {service.tier} is {direction} the flowchart's tier {chart_tier} ({chart_reason})"
    return TierDecision(service.tier, f"explicit tier {service.tier}", chart_tier, chart_reason, note)


def tier_table(platform: Platform) -> dict[int, TierPolicy]:
    """The reference tier table with the spec's overrides applied, clouds capped at what exists."""
    table: dict[int, TierPolicy] = dict(REFERENCE_TIERS)
    table.update({int(t): row for t, row in platform.tiers.items()})
    n = len(platform.clouds)
    return {t: (p if p.clouds <= n else p.model_copy(update={"clouds": n})) for t, p in sorted(table.items())}


def datastore_tiers(platform: Platform) -> dict[str, int]:
    """Each datastore's tier: the most critical tier among the services that use it (3 when unused)."""
    out = {name: 3 for name in platform.datastores}
    for svc in platform.services.values():
        tier = classify(svc).tier
        for store in svc.data:
            out[store] = min(out[store], tier)
    return out
