"""Can each service's data keep its tier's RPO promise? Checked against the seed's data sync box."""

from __future__ import annotations

from collections.abc import Sequence

from godseye.plan.model import Check, ServicePlan
from godseye.policy.data_sync import SYNC_MECHANISM, data_rpo_gaps
from godseye.policy.tiers import tier_table
from godseye.spec.models import Platform


def data_rpo_check(platform: Platform, services: Sequence[ServicePlan]) -> Check:
    tiers = {s.name: s.tier for s in services}
    gaps = data_rpo_gaps(platform, tiers, tier_table(platform))
    if gaps:
        worst = ", ".join(
            f"{g.service} (tier {tiers[g.service]}, RPO {g.rpo_target_s:g} s) uses {g.kind} datastore {g.datastore}: "
            f"{SYNC_MECHANISM[g.kind]} gives {g.achievable_s:g} s"
            for g in gaps
        )
        return Check("data rpo", False, worst)
    used = sum(len(s.data) for s in platform.services.values())
    return Check("data rpo", True, f"all {used} service datastore uses can meet their tier's RPO")
