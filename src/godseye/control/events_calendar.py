"""The spec's event calendar as the autoscaler sees it: when each known event runs and how big it gets.

Events carry absolute datetimes; controllers work in simulation seconds. `epoch` says which instant
`now_s = 0` is, so every event becomes a window `[start_s, end_s)` on the controller's clock.

Prediction of an event's peak, in order of preference:
1. history given by the caller (observed peak multipliers of past runs of the same event): the highest;
   what actually happened beats what was declared, as in AWS predictive scaling;
2. the event's historical `profile` (multipliers sampled evenly over the event): its highest sample;
3. the declared `peak_multiplier`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from godseye.policy import sizing
from godseye.spec.models import Event

# Events one reconcile looks at: years of weekly sales; the bound keeps each reconcile cheap.
MAX_EVENTS = 1000
# Past runs considered per event: a few years of weekly sales at most.
MAX_HISTORY_RUNS = 200


@dataclass(frozen=True, slots=True)
class EventWindow:
    """One known event on the controller's clock, with the peak the autoscaler prepares for."""

    name: str
    start_s: float
    end_s: float
    peak_multiplier: float
    # Where the peak came from, for reasons: "3 past runs", "historical profile", "declared peak".
    source: str

    def prescale_from_s(self, lead_s: float) -> float:
        return self.start_s - lead_s

    def holds(self, now_s: float, lead_s: float) -> bool:
        """True from `lead_s` before the start until the end: capacity must be in place for the event."""
        return self.prescale_from_s(lead_s) <= now_s < self.end_s

    def running(self, now_s: float) -> bool:
        return self.start_s <= now_s < self.end_s


def predicted_peak(event: Event, history: tuple[float, ...] = ()) -> tuple[float, str]:
    """Peak multiplier over baseline the event is expected to reach, and where the figure comes from."""
    runs = tuple(h for h in history[-MAX_HISTORY_RUNS:] if h > 0)
    if runs:
        return max(runs), f"{len(runs)} past run{'s' if len(runs) != 1 else ''}"
    # Without past runs the prediction is the planner's (policy.sizing), so plan checks and pre-scale agree.
    return sizing.declared_peak(event), "historical profile" if event.profile else "declared peak"


def multiplier_at(event: Event, offset_s: float) -> float:
    """Load multiplier `offset_s` seconds after the event's start (1.0 outside the event).

    With a profile the samples are spread evenly over the duration and read step-wise; without one
    the load ramps linearly to the peak over `ramp_s`, holds, and ramps back down over the last `ramp_s`.
    """
    if offset_s < 0 or offset_s >= event.duration_s:
        return 1.0
    if event.profile:
        index = min(len(event.profile) - 1, math.floor(offset_s / event.duration_s * len(event.profile)))
        return event.profile[index]
    ramp = min(event.ramp_s, event.duration_s / 2)
    if ramp <= 0:
        return event.peak_multiplier
    rise = min(1.0, offset_s / ramp, (event.duration_s - offset_s) / ramp)
    return 1.0 + (event.peak_multiplier - 1.0) * rise


def event_windows(
    events: Mapping[str, Event], epoch: datetime, history: Mapping[str, tuple[float, ...]] | None = None
) -> tuple[EventWindow, ...]:
    """The calendar on the controller's clock, ordered by start then name.

    Events over before `epoch` can never matter and are dropped; of the rest, the first MAX_EVENTS
    by start are kept, so a runaway calendar slows nothing down.
    """
    past = history or {}
    for cached_events, cached_epoch, cached_past, cached in _windows:
        if (cached_epoch == epoch and cached_past == past and len(cached_events) == len(events)
                and all(events.get(name) is event for name, event in cached_events)):
            return cached
    windows = _event_windows(events, epoch, past)
    # Snapshots of the arguments, so a caller's later changes to them cannot match a stale entry.
    _windows.insert(0, (tuple(events.items()), epoch, {k: tuple(v) for k, v in past.items()}, windows))
    del _windows[_WINDOWS_CACHED:]
    return windows


# The calendar does not change between reconciles: the windows of recent calendars are kept, keyed by
# the very (immutable) events, the epoch and the history.
_WINDOWS_CACHED = 8
_windows: list[tuple[tuple[tuple[str, Event], ...], datetime, dict[str, tuple[float, ...]], tuple[EventWindow, ...]]] = []


def _event_windows(
    events: Mapping[str, Event], epoch: datetime, past: Mapping[str, tuple[float, ...]]
) -> tuple[EventWindow, ...]:
    out = []
    for name, event in events.items():
        start_s = (event.start - epoch).total_seconds()
        peak, source = predicted_peak(event, past.get(name, ()))
        out.append(EventWindow(name, start_s, start_s + event.duration_s, peak, source))
    return tuple(sorted((w for w in out if w.end_s > 0), key=lambda w: (w.start_s, w.name))[:MAX_EVENTS])


def holding(windows: tuple[EventWindow, ...], now_s: float, lead_s: float) -> EventWindow | None:
    """The event capacity must be ready for at `now_s` (the biggest, if several overlap)."""
    return _span(windows, now_s, lead_s)[4]


def next_boundary_s(windows: tuple[EventWindow, ...], now_s: float, lead_s: float) -> float | None:
    """The next instant after `now_s` at which a pre-scale begins or an event ends."""
    after = _span(windows, now_s, lead_s)[3]
    return after if after != math.inf else None


# Which event holds changes only at a boundary (a pre-scale start or an event end): between two
# consecutive ones every `holds` test gives the same answer. The autoscaler asks per cloud on every
# reconcile, so each lead's answer is kept with the boundaries around it:
# (windows, lead, last boundary at or before, next boundary after (inf: none), the event held).
_Span = tuple[tuple[EventWindow, ...], float, float, float, EventWindow | None]
_SPANS_CACHED = 8
_spans: list[_Span] = []


def _span(windows: tuple[EventWindow, ...], now_s: float, lead_s: float) -> _Span:
    for span in _spans:
        if span[0] is windows and span[1] == lead_s and span[2] <= now_s < span[3]:
            return span
    times = [t for w in windows for t in (w.prescale_from_s(lead_s), w.end_s)]
    live = [w for w in windows if w.holds(now_s, lead_s)]
    held = max(live, key=lambda w: (w.peak_multiplier, -w.start_s, w.name)) if live else None
    span = (
        windows, lead_s, max([t for t in times if t <= now_s], default=-math.inf),
        min([t for t in times if t > now_s], default=math.inf), held,
    )
    # The same calendar and lead at another time replaces its span; other leads' are kept.
    _spans[:] = [span, *(s for s in _spans if s[0] is not windows or s[1] != lead_s)][:_SPANS_CACHED]
    return span


def describe_start(window: EventWindow, now_s: float) -> str:
    """'black-friday starts in 30 min' / 'black-friday running for 2 h 5 min'."""
    if now_s < window.start_s:
        return f"{window.name} starts in {_duration(window.start_s - now_s)}"
    return f"{window.name} running for {_duration(now_s - window.start_s)}"


def _duration(seconds: float) -> str:
    minutes = math.ceil(seconds / 60 - 1e-9)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
