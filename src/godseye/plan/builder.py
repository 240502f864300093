"""Assemble the whole plan from a platform spec: placement, capacity, N-1, principles, cost."""

from __future__ import annotations

from godseye.plan.capacity import cloud_capacity, event_checks, fit_checks
from godseye.plan.cost import cost_multiplier
from godseye.plan.model import Plan
from godseye.plan.placement import place_services
from godseye.plan.survival import survive_all
from godseye.policy.principles import check_principles
from godseye.spec.models import Platform


def build_plan(platform: Platform) -> Plan:
    services = place_services(platform)
    clouds = cloud_capacity(platform, services)
    return Plan(
        platform=platform.name,
        services=services,
        clouds=clouds,
        survives=survive_all(platform, services),
        principles=check_principles(platform, services, clouds),
        fits=[*fit_checks(clouds), *event_checks(platform, services)],
        cost_multiplier=cost_multiplier(services),
        monthly_cost_usd=sum(c.monthly_cost_usd for c in clouds),
    )
