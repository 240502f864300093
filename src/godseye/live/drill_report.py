"""The lab drill's JSON: the drill report contract (ARCHITECTURE.md) plus what only the lab measures.

The contract's fields come from the same `DrillResult` shape the twin produces; when the twin's own
writer (`godseye.report.drill_json`) is installed its rendering is used, so both files read alike.
The lab adds `lab` (time scale, sizing, failed requests and p99 around each fault, pages received,
HAProxy's own weights at each canary step, each service's degraded episodes, faults the lab could not
play) and `comparison`
(twin vs lab; null when the twin was not run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from godseye.live.drill import LabDrill
from godseye.live.loadgen import summarize
from godseye.sim.result import DrillResult


def contract_dict(result: DrillResult) -> dict[str, Any]:
    try:
        from godseye.report.drill_json import drill_document  # the twin's writer
    except ImportError:
        return _own_contract_dict(result)
    return drill_document(result)


def _own_contract_dict(result: DrillResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario,
        "duration_s": result.duration_s,
        "seed": result.seed,
        "verdict": result.verdict,
        "services": [
            {"name": s.name, "tier": s.tier, "rto_s": s.rto_s, "rto_target_s": s.rto_target_s, "rpo_s": s.rpo_s,
             "rpo_target_s": s.rpo_target_s, "met": s.met, "requests_total": s.requests_total,
             "requests_failed": s.requests_failed}
            for s in result.services
        ],
        "clouds": [{"name": c.name, "capacity_share_max": c.capacity_share_max} for c in result.clouds],
        "steering": [{"t_s": round(c.t_s, 3), "service": c.service, "weights": c.weights} for c in result.steering],
        "timeline": [{"t_s": round(e.t_s, 3), "actor": e.actor, "event": e.event, "detail": e.detail} for e in result.timeline],
    }


def _haproxy_at(drill: LabDrill, t_s: float, service: str) -> dict[str, int]:
    """HAProxy's own server weights for a service from the first `show stat` read after t_s."""
    after = [w for t, s, w in drill.edge_weights if s == service and t >= t_s]
    return after[0] if after else {}


def lab_section(drill: LabDrill) -> dict[str, Any]:
    windows = []
    for f in drill.result.faults:
        for label, t0 in (("after_fault", f.start_s), ("after_restore", f.end_s)):
            if t0 is None:
                continue
            s = summarize(r for r in drill.records if t0 <= r.t_s < t0 + 10.0)
            windows.append({"fault": f.kind, "window": label, "from_s": round(t0, 3), "to_s": round(t0 + 10.0, 3),
                            "requests": s.requests, "failed": s.failed, "p99_ms": round(s.p99_ms, 1),
                            "max_ms": round(s.max_ms, 1)})
    steps = []
    for c in drill.result.steering:
        if c.t_s > 0:
            steps.append({"t_s": c.t_s, "service": c.service, "asked": c.weights,
                          "haproxy_server_weights": _haproxy_at(drill, c.t_s, c.service)})
    total = summarize(drill.records)
    sz = drill.spec.sizing
    return {
        "time_scale": drill.time_scale,
        "sizing": {"services": [p.name for p in drill.spec.services], "total_rps": sz.total_rps,
                   "replicas_cap_per_cloud": sz.replicas_cap, "health_check": drill.spec.platform.edge.health_check.model_dump()},
        "requests": total.requests,
        "failed_requests": total.failed,
        "p99_ms": round(total.p99_ms, 1),
        "windows": windows,
        "pages": [{"t_s": round(t, 3), "event_action": p.event_action, "dedup_key": p.dedup_key, "status": st}
                  for t, p, st in drill.pages],
        "steering_applied": steps,
        # What each service's RTO is made of: its degraded episodes, what failed or was slow, and where.
        "episodes": [
            {"service": e.service, "start_s": e.start_s, "first_bad_s": e.first_bad_s, "recovered_s": e.recovered_s,
             "rto_s": None if e.rto_s is None else round(e.rto_s, 3), "bad_bins": e.bad_bins, "failed": e.failed,
             "slow": e.slow, "by_cloud": e.by_cloud}
            for e in drill.episodes
        ],
        "not_played": list(drill.unsupported),
        # Real datastores (when the drill ran them): per datastore acked / lost / RPO, the orders' write outage.
        "data": drill.data,
        # Every second's split as HAProxy's counters report it (the closed loop's input), per service.
        "served_split_haproxy": [
            {"t_s": round(x.t_s, 3), "service": x.service, "shares": {c: round(v, 3) for c, v in x.shares.items()}}
            for x in drill.served_splits
        ],
    }


def write_report(path: Path, drill: LabDrill, comparison: dict[str, Any] | None) -> None:
    """Write atomically: a reader never sees half a report."""
    body = {**contract_dict(drill.result), "lab": lab_section(drill), "comparison": comparison}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
