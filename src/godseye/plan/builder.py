"""Assemble the whole plan from a platform spec: placement, capacity, N-1, principles, cost."""

from __future__ import annotations

from godseye.plan.capacity import cloud_capacity, event_checks, fit_checks
from godseye.plan.cost import cost_multiplier
from godseye.plan.data_fit import data_rpo_check
from godseye.plan.model import Plan, ServicePlan
from godseye.plan.placement import place_services
from godseye.plan.survival import survive_all
from godseye.policy.principles import check_principles
from godseye.spec.errors import InputError, InputProblem
from godseye.spec.models import Platform


def build_plan(platform: Platform, source: str = "<spec>") -> Plan:
    """The plan of `platform`; `source` names the spec file in the error raised for unplaceable pods."""
    services = place_services(platform)
    _pods_fit_their_clouds(platform, services, source)
    clouds = cloud_capacity(platform, services)
    return Plan(
        platform=platform.name,
        services=services,
        clouds=clouds,
        survives=survive_all(platform, services),
        principles=check_principles(platform, services, clouds),
        fits=[*fit_checks(clouds), *event_checks(platform, services), data_rpo_check(platform, services)],
        cost_multiplier=cost_multiplier(services),
        monthly_cost_usd=sum(c.monthly_cost_usd for c in clouds),
    )


def _pods_fit_their_clouds(platform: Platform, services: list[ServicePlan], source: str) -> None:
    """A pod larger than the nodes of a cloud it is placed in can never run: that is bad input.

    The spec loader only checks pods against the largest node anywhere; placement decides which
    clouds a service lands in, so the per-cloud check belongs here.
    """
    problems = [
        InputProblem(
            source,
            None,
            f"services.{svc.name}.pod_vcpu",
            f"must fit on a node of {cloud}, where it is placed ({cloud} has node_vcpu "
            f"{platform.clouds[cloud].node_vcpu:g}) (got {svc.pod_vcpu:g})",
        )
        for svc in services
        for cloud in svc.placement
        if svc.pod_vcpu > platform.clouds[cloud].node_vcpu
    ]
    if problems:
        raise InputError(problems)
