"""The drill report contract of ARCHITECTURE.md as JSON: same inputs, byte-identical output."""

from __future__ import annotations

import json
from typing import Any

from godseye.sim.result import DrillResult


def _num(value: float) -> float | int:
    """Whole numbers print as integers (rto 30, not 30.0), like the contract's examples."""
    return int(value) if float(value).is_integer() else value


def drill_document(r: DrillResult) -> dict[str, Any]:
    return {
        "scenario": r.scenario,
        "duration_s": _num(r.duration_s),
        "seed": r.seed,
        "verdict": r.verdict,
        "platform": r.platform,
        "services": [
            {
                "name": s.name,
                "tier": s.tier,
                "rto_s": None if s.rto_s is None else _num(s.rto_s),
                "rto_target_s": _num(s.rto_target_s),
                "rpo_s": _num(s.rpo_s),
                "rpo_target_s": _num(s.rpo_target_s),
                "met": s.met,
                "requests_total": s.requests_total,
                "requests_failed": s.requests_failed,
                "rpo_datastore": s.rpo_datastore,
            }
            for s in r.services
        ],
        "clouds": [
            {"name": c.name, "capacity_share_max": c.capacity_share_max, "nodes_max": c.nodes_max, "pods_max": c.pods_max}
            for c in r.clouds
        ],
        "faults": [
            {"kind": f.kind, "label": f.label, "start_s": _num(f.start_s), "end_s": None if f.end_s is None else _num(f.end_s)}
            for f in r.faults
        ],
        "steering": [{"t_s": _num(c.t_s), "service": c.service, "weights": c.weights} for c in r.steering],
        "timeline": [{"t_s": _num(e.t_s), "actor": e.actor, "event": e.event, "detail": e.detail} for e in r.timeline],
    }


def drill_json(r: DrillResult) -> str:
    return json.dumps(drill_document(r), indent=1) + "\n"
