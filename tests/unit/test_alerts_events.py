"""Page actions as PagerDuty Events API v2 bodies."""

from __future__ import annotations

from godseye.control.actions import Page, PageAction
from godseye.live.alerts import _valid, pagerduty_event


def page(action: PageAction) -> Page:
    key = "godseye/cloud-outage/aws"
    return Page(action, key, "AWS us-east-1 down", "critical", "godseye", "aws", "opened", {"priority": "P1"})


def test_trigger_has_the_v2_payload() -> None:
    body = pagerduty_event(page("trigger"), "KEY")
    assert body["routing_key"] == "KEY" and body["event_action"] == "trigger"
    assert body["dedup_key"] == "godseye/cloud-outage/aws"
    assert body["payload"]["summary"] == "AWS us-east-1 down" and body["payload"]["severity"] == "critical"
    assert body["payload"]["custom_details"]["priority"] == "P1"
    assert _valid(body) is None


def test_resolve_carries_the_dedup_key_and_no_payload() -> None:
    body = pagerduty_event(page("resolve"), "KEY")
    assert "payload" not in body and body["dedup_key"] == "godseye/cloud-outage/aws"
    assert _valid(body) is None
    assert _valid({"routing_key": "K", "event_action": "resolve"}) is not None
    assert _valid({"routing_key": "K", "event_action": "trigger", "payload": {"summary": "x"}}) is not None
