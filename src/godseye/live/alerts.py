"""Alerts: Page actions POSTed as PagerDuty Events API v2 JSON, and a local receiver that records them.

The lab points the webhook at its own receiver (127.0.0.1, `/v2/enqueue`, the Events API path), so a
drill can check that an incident was triggered and resolved with the same dedup key. Point
`webhook_url` at https://events.pagerduty.com/v2/enqueue with a real routing key for production.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from godseye.control.actions import Page

POST_TIMEOUT_S = 2.0
MAX_EVENTS = 10_000


def pagerduty_event(page: Page, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for a Page (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/)."""
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": page.event_action, "dedup_key": page.dedup_key}
    if page.event_action == "trigger":
        body["payload"] = {
            "summary": page.summary,
            "severity": page.severity,
            "source": page.source,
            "component": page.component,
            "custom_details": {**page.custom_details, "reason": page.reason},
        }
    return body


async def post_page(session: aiohttp.ClientSession, url: str, page: Page, routing_key: str) -> int:
    """POST one event; returns the HTTP status (PagerDuty answers 202). Raises on network errors."""
    timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_S)
    async with session.post(url, json=pagerduty_event(page, routing_key), timeout=timeout) as r:
        await r.read()
        return r.status


def _valid(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "body must be a JSON object"
    if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        return "event_action must be trigger, acknowledge or resolve"
    if not isinstance(event.get("routing_key"), str):
        return "routing_key is required"
    if event["event_action"] == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict) or not all(k in payload for k in ("summary", "source", "severity")):
            return "a trigger needs payload.summary, payload.source and payload.severity"
    elif not isinstance(event.get("dedup_key"), str):
        return "dedup_key is required to acknowledge or resolve"
    return None


class AlertReceiver:
    """A local stand-in for the Events API: validates like it, answers 202, records every event."""

    def __init__(self, host: str, port: int, log_file: Path | None = None) -> None:
        assert host.startswith("127."), "the lab's receiver listens on loopback only"
        self.host = host
        self.port = port
        self.log_file = log_file
        self.events: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v2/enqueue"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        app.router.add_get("/events", self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
        except ValueError:
            return web.json_response({"status": "invalid event", "errors": ["body is not JSON"]}, status=400)
        problem = _valid(event)
        if problem is not None:
            return web.json_response({"status": "invalid event", "errors": [problem]}, status=400)
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
            if self.log_file is not None:
                with self.log_file.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(event) + "\n")
        answer = {"status": "success", "dedup_key": event.get("dedup_key", ""), "message": "Event processed"}
        return web.json_response(answer, status=202)

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response(self.events)
