"""Monthly cost of the nodes a plan needs, and the platform's tier cost multiplier."""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.model import ServicePlan
from godseye.spec.models import Cloud

# Hours in an average month (8,760 / 12), the convention of cloud price sheets.
HOURS_PER_MONTH = 730.0


def monthly_cost_usd(cloud: Cloud, nodes: int) -> float:
    return nodes * cloud.node_vcpu * cloud.vcpu_hour_usd * HOURS_PER_MONTH


def cost_multiplier(services: Sequence[ServicePlan]) -> float:
    """The rps-weighted mean of the services' tier cost multipliers (3.0 when all are tier 1)."""
    total_rps = sum(s.rps for s in services)
    if total_rps <= 0:
        return 0.0
    return sum(s.rps * s.cost_multiplier for s in services) / total_rps
