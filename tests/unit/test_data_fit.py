"""A tier's RPO promise must be one its datastores' replication can keep."""

from __future__ import annotations

from godseye.plan.builder import build_plan
from godseye.policy.data_sync import achievable_rpo_s
from godseye.spec.loader import load_platform_text, reference_text
from godseye.spec.models import Platform


def _check(text: str) -> tuple[bool, str]:
    plan = build_plan(load_platform_text(text))
    check = next(c for c in plan.fits if c.name == "data rpo")
    return check.ok, check.detail


def test_reference_data_meets_every_tier(reference: Platform) -> None:
    ok, _ = _check(reference_text())
    assert ok


def test_tier1_service_on_a_stream_cannot_have_rpo_zero() -> None:
    ok, detail = _check(reference_text().replace("    data: [orders]\n", "    data: [orders, order-events]\n"))
    assert not ok
    assert "pos (tier 1, RPO 0 s) uses stream datastore order-events" in detail


def test_loosening_the_tier_rpo_moves_the_verdict() -> None:
    text = reference_text().replace("    data: [orders]\n", "    data: [orders, order-events]\n")
    relaxed = text + "tiers:\n  1: {clouds: 3, mode: active-active-active, rto_s: 30, rpo_s: 5, cost_multiplier: 3.0}\n"
    ok, _ = _check(relaxed)
    assert ok


def test_sql_goes_synchronous_only_when_asked() -> None:
    assert achievable_rpo_s("sql", 0) == 0
    assert achievable_rpo_s("sql", 5) == 1.0
    assert achievable_rpo_s("object", 900) == 900
