"""Small platform specs for planner tests, built as data and loaded through the real loader."""

from __future__ import annotations

import copy
from io import StringIO
from typing import Any

from ruamel.yaml import YAML

from godseye.spec.loader import load_platform_text
from godseye.spec.models import Platform

Spec = dict[str, Any]


def three_clouds(**cloud: Any) -> Spec:
    """Three equal clouds and one tier-1 service of 30 one-vCPU pods (10 per cloud)."""
    base = {"nodes": 2, "max_nodes": 10, "node_vcpu": 8}
    base.update(cloud)
    return {
        "name": "t",
        "clouds": {
            "a": {"provider": "aws", "region": "r1", **base},
            "b": {"provider": "gcp", "region": "r2", **base},
            "c": {"provider": "azure", "region": "r3", **base},
        },
        "services": {"pos": {"revenue_impact": True, "ux_impact": True, "rps": 3000, "pod_rps": 100, "data": ["orders"]}},
        "datastores": {"orders": {"kind": "sql", "write_mb_s": 1.0}},
    }


def with_tiers(spec: Spec) -> Spec:
    """`spec` plus a tier-2 and a tier-3 service."""
    out = copy.deepcopy(spec)
    out["services"]["search"] = {"revenue_impact": False, "ux_impact": True, "rps": 1000, "pod_rps": 100, "data": ["catalog"]}
    out["services"]["batch"] = {"revenue_impact": False, "ux_impact": False, "rps": 100, "pod_rps": 10}
    out["datastores"]["catalog"] = {"kind": "sql", "write_mb_s": 0.5}
    return out


def yaml_text(spec: Spec) -> str:
    """YAML rather than JSON, so that integer keys (`tiers: {2: ...}`) stay integers."""
    buf = StringIO()
    YAML().dump(spec, buf)
    return buf.getvalue()


def load(spec: Spec) -> Platform:
    return load_platform_text(yaml_text(spec), "test.yaml")
