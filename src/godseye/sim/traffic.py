"""Offered load per service over simulated time.

offered(service, t) = baseline rps x scenario multiplier x diurnal(t) x event(t) x spike(service, t),
or baseline x profile(t) when the scenario gives a profile. Every factor is a plain function of t,
so the engine can evaluate it at any tick it chooses. A small multiplicative noise (seeded) stands
in for the minute-to-minute jitter of real traffic: one draw per NOISE_BUCKET_S of simulated time, taken
in bucket order, so the jitter at time t is the same however many ticks the engine takes to get there.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from godseye.spec.models import Event, Platform
from godseye.spec.scenario import Scenario, TrafficSpike

FloatArray = npt.NDArray[np.float64]

# Standard deviation of the seeded jitter on offered load; small enough not to trigger a 2x spike.
NOISE_SIGMA = 0.01
# The jitter holds for this long: a function of simulated time, not of the engine's tick count.
NOISE_BUCKET_S = 30.0


@dataclass(frozen=True, slots=True)
class EventWindow:
    """A known event of the spec placed on the run's clock."""

    name: str
    start_s: float
    event: Event

    def multiplier(self, t: float) -> float:
        ev = self.event
        into = t - self.start_s
        if into < 0 or into > ev.duration_s:
            return 1.0
        if ev.profile:
            return _interpolate(ev.profile, into / ev.duration_s)
        ramp = min(ev.ramp_s, ev.duration_s / 2)
        if ramp <= 0:
            return ev.peak_multiplier
        rise = min(1.0, into / ramp, (ev.duration_s - into) / ramp)
        return 1.0 + (ev.peak_multiplier - 1.0) * rise


def _interpolate(profile: tuple[float, ...], fraction: float) -> float:
    if len(profile) == 1:
        return profile[0]
    x = min(max(fraction, 0.0), 1.0) * (len(profile) - 1)
    i = min(int(x), len(profile) - 2)
    return profile[i] + (profile[i + 1] - profile[i]) * (x - i)


def spike_multiplier(spike: TrafficSpike, t: float) -> float:
    """Ramps linearly from 1x at `at_s` to the multiplier over `ramp_s`, then holds until `until_s`."""
    if t < spike.at_s or (spike.until_s is not None and t >= spike.until_s):
        return 1.0
    if spike.ramp_s <= 0:
        return spike.multiplier
    return 1.0 + (spike.multiplier - 1.0) * min(1.0, (t - spike.at_s) / spike.ramp_s)


class TrafficModel:
    def __init__(self, platform: Platform, scenario: Scenario, services: list[str], rng: random.Random) -> None:
        self._traffic = scenario.traffic
        self._duration_s = scenario.duration_s
        self._base = np.array([platform.services[s].rps for s in services], dtype=np.float64)
        self._rng = rng
        self._noise: list[float] = []  # the jitter of bucket k, drawn in bucket order as time reaches it
        self.event: EventWindow | None = None
        if scenario.traffic.event is not None:
            name = scenario.traffic.event
            self.event = EventWindow(name, scenario.traffic.event_lead_s, platform.events[name])
        index = {s: i for i, s in enumerate(services)}
        self._spikes: list[tuple[TrafficSpike, npt.NDArray[np.bool_]]] = []
        for f in scenario.faults:
            if isinstance(f, TrafficSpike):
                mask = np.zeros(len(services), dtype=np.bool_)
                for name in f.services or tuple(services):
                    mask[index[name]] = True
                self._spikes.append((f, mask))

    @property
    def baseline(self) -> FloatArray:
        return self._base

    def common_multiplier(self, t: float) -> float:
        """Everything that applies to all services alike: multiplier or profile, diurnal curve, event."""
        tr = self._traffic
        if tr.profile:
            return _interpolate(tr.profile, t / self._duration_s)
        hour = (tr.start_hour + t / 3600.0) % 24.0
        diurnal = 1.0 + tr.diurnal_amplitude * math.cos(2 * math.pi * (hour - tr.diurnal_peak_hour) / 24.0)
        event = self.event.multiplier(t) if self.event is not None else 1.0
        return tr.multiplier * diurnal * event

    def offered(self, t: float, noisy: bool = True) -> FloatArray:
        """Offered rps per service at time t."""
        rates = self._base * self.common_multiplier(t)
        for spike, mask in self._spikes:
            m = spike_multiplier(spike, t)
            if m != 1.0:
                rates = np.where(mask, rates * m, rates)
        if noisy:
            rates = rates * (1.0 + self.noise(t))
        return rates

    def noise(self, t: float) -> float:
        """The seeded jitter at time t: constant over each NOISE_BUCKET_S, the same whichever times were asked before."""
        k = max(0, int(t // NOISE_BUCKET_S))
        while len(self._noise) <= k:
            self._noise.append(self._rng.gauss(0.0, NOISE_SIGMA))
        return self._noise[k]

    def change_points(self) -> list[float]:
        """Times where the offered load bends sharply: ticks are forced there so no edge is skipped."""
        points: list[float] = []
        for spike, _ in self._spikes:
            points += [spike.at_s, spike.at_s + spike.ramp_s]
            if spike.until_s is not None:
                points.append(spike.until_s)
        if self.event is not None:
            ev = self.event.event
            points += [self.event.start_s, self.event.start_s + ev.duration_s]
        return sorted(p for p in points if 0 <= p <= self._duration_s)
