"""Properties of the split rule steering and planning share, and of the plan's replicas."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from godseye.plan.builder import build_plan
from godseye.plan.placement import place_services
from godseye.policy.split import redistribute, whole_percents
from godseye.report.plan_json import plan_json
from godseye.spec.models import Platform

CLOUDS = ("a", "b", "c", "d")


@given(st.dictionaries(st.sampled_from(CLOUDS), st.floats(0, 1e6, allow_nan=False), min_size=1).filter(
    lambda d: sum(d.values()) > 0
))
def test_whole_percents_sum_to_100_non_negative(shares: dict[str, float]) -> None:
    out = whole_percents(shares)
    assert sum(out.values()) == 100
    assert all(isinstance(v, int) and v >= 0 for v in out.values())
    assert set(out) == set(shares)


@st.composite
def platforms(draw: st.DrawFn) -> Platform:
    names = draw(st.lists(st.sampled_from(CLOUDS), min_size=2, max_size=4, unique=True))
    clouds = {
        n: {
            "provider": "aws",
            "region": "r",
            "nodes": 0,
            "max_nodes": draw(st.integers(1, 500)),
            "node_vcpu": draw(st.sampled_from([4, 8, 16, 32])),
        }
        for n in names
    }
    split: dict[str, dict[str, int]] = {}
    if draw(st.booleans()):
        failed, *rest = names
        cut = draw(st.integers(0, 100))
        split[failed] = {rest[0]: cut, rest[1]: 100 - cut} if len(rest) > 1 else {rest[0]: 100}
    services: dict[str, Any] = {
        f"s{i}": {
            "revenue_impact": draw(st.booleans()),
            "ux_impact": draw(st.booleans()),
            "rps": draw(st.floats(0.5, 1e5)),
            "pod_rps": draw(st.floats(1, 1e3)),
            "min_replicas": draw(st.integers(1, 12)),
        }
        for i in range(draw(st.integers(1, 4)))
    }
    return Platform.model_validate({"name": "p", "clouds": clouds, "services": services, "edge": {"failover_split": split}})


@settings(max_examples=150, deadline=None)
@given(platforms(), st.data())
def test_redistribute_never_feeds_a_down_cloud(platform: Platform, data: st.DataObject) -> None:
    names = list(platform.clouds)
    normal = data.draw(st.fixed_dictionaries({n: st.integers(1, 100) for n in names}))
    down = data.draw(st.lists(st.sampled_from(names), max_size=len(names) - 1, unique=True))
    weights, rule = redistribute(platform, normal, down)
    assert sum(weights.values()) == 100
    assert all(weights[c] == 0 for c in down)
    assert all(w >= 0 for w in weights.values())
    assert rule


@settings(max_examples=100, deadline=None)
@given(platforms())
def test_plan_replicas_never_below_min(platform: Platform) -> None:
    for plan in place_services(platform):
        svc = platform.services[plan.name]
        active_replicas = sum(p.replicas for p in plan.placement.values() if p.role == "active")
        assert active_replicas >= svc.min_replicas
        assert sum(plan.weights.values()) == 100


@settings(max_examples=60, deadline=None)
@given(platforms())
def test_plan_of_any_platform_is_complete_and_survival_weights_are_whole(platform: Platform) -> None:
    plan = build_plan(platform)
    json.loads(plan_json(plan))
    assert [s.failed_cloud for s in plan.survives] == list(platform.clouds)
    for s in plan.survives:
        for weights in s.weights.values():
            assert sum(weights.values()) == 100 and weights[s.failed_cloud] == 0
        if not s.ok:
            assert "overflows" in s.detail or "no surviving cloud" in s.detail
    assert plan.ok == (plan.failures() == [])
