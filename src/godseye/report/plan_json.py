"""The plan as the JSON contract of ARCHITECTURE.md: the contract's keys first, additions after.

Key order is fixed by construction and lists keep the spec's order, so the same spec always gives
byte-identical JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from godseye.plan.model import Check, CloudCapacity, Plan, ServicePlan, Survival

JsonObject = dict[str, Any]


def plan_document(plan: Plan) -> JsonObject:
    return {
        "platform": plan.platform,
        "services": [_service(s) for s in plan.services],
        "clouds": [_cloud(c) for c in plan.clouds],
        "survives": [_survival(s) for s in plan.survives],
        "principles": [_check(p) for p in plan.principles],
        "fits": [_check(f) for f in plan.fits],
        "cost_multiplier": round(plan.cost_multiplier, 4),
        "monthly_cost_usd": round(plan.monthly_cost_usd, 2),
        "ok": plan.ok,
        "failures": plan.failures(),
    }


def plan_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename it over `path`.

    A reader sees the old file or the new one, never half of one, even if we die mid-write.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); a report is meant to be read like any other file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _num(value: float) -> float | int:
    """Whole numbers print as integers (rto 30, not 30.0), the contract's examples do the same."""
    return int(value) if float(value).is_integer() else value


def _service(s: ServicePlan) -> JsonObject:
    return {
        "name": s.name,
        "tier": s.tier,
        "tier_reason": s.tier_reason,
        "mode": s.mode,
        "rto_target_s": _num(s.rto_target_s),
        "rpo_target_s": _num(s.rpo_target_s),
        "cost_multiplier": float(s.cost_multiplier),
        "placement": {c: {"role": p.role, "replicas": p.replicas} for c, p in s.placement.items()},
        "tier_note": s.tier_note,
        "placement_reason": s.placement_reason,
        "weights": dict(s.weights),
        "rps": _num(s.rps),
        "pod_rps": _num(s.pod_rps),
        "pod_vcpu": _num(s.pod_vcpu),
        "backup_region": s.backup_region,
    }


def _cloud(c: CloudCapacity) -> JsonObject:
    return {
        "name": c.name,
        "nodes_needed": c.nodes_needed,
        "nodes": c.nodes,
        "max_nodes": c.max_nodes,
        "capacity_share": round(c.capacity_share, 4),
        "vcpu_needed": _num(c.vcpu_needed),
        "monthly_cost_usd": round(c.monthly_cost_usd, 2),
    }


def _survival(s: Survival) -> JsonObject:
    return {
        "failed_cloud": s.failed_cloud,
        "ok": s.ok,
        "detail": s.detail,
        "survivors": [
            {
                "cloud": v.cloud,
                "nodes_needed": v.nodes_needed,
                "max_nodes": v.max_nodes,
                "utilisation": round(v.utilisation, 4),
                "vcpu_needed": _num(v.vcpu_needed),
                "nodes_after_deferred": v.nodes_after_deferred,
            }
            for v in s.survivors
        ],
        "weights": {name: dict(w) for name, w in s.weights.items()},
        "deferred": [
            {"service": d.service, "cloud": d.cloud, "replicas": d.replicas, "deferral_s": _num(d.deferral_s)}
            for d in s.deferred
        ],
    }


def _check(c: Check) -> JsonObject:
    return {"name": c.name, "ok": c.ok, "detail": c.detail}
