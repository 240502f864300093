"""A tiny deterministic world for the controller tests: probes, replication, samples and served splits.

Not the twin: just enough physics to walk the seed's sequence through the real `Plane` (clouds that
stop answering, links that are cut, a primary that acknowledges writes while replicas follow it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from godseye.control.actions import FollowPrimary, HoldWrites, PromoteReplica, SetWeights
from godseye.control.decision import Emitted
from godseye.control.observations import EDGE, ProbeResult, ReplicaPosition, ServedSplit, ServiceSample
from godseye.control.plane import Plane
from godseye.plan.model import ServicePlan
from godseye.plan.placement import place_services
from godseye.spec.models import Platform, Service


def with_edge(platform: Platform, **edge: object) -> Platform:
    return platform.model_copy(update={"edge": platform.edge.model_copy(update=edge)})


def with_health(platform: Platform, **check: object) -> Platform:
    hc = platform.edge.health_check.model_copy(update=check)
    return with_edge(platform, health_check=hc)


def with_service(platform: Platform, name: str, **fields: object) -> Platform:
    services: dict[str, Service] = dict(platform.services)
    services[name] = services[name].model_copy(update=fields)
    return platform.model_copy(update={"services": services})


@dataclass
class World:
    platform: Platform
    plans: list[ServicePlan] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    cut: set[tuple[str, str]] = field(default_factory=set)  # (vantage, cloud) links that drop probes
    # Replication: one primary per sql datastore, positions grow by `write_rate` per second.
    primary: dict[str, str] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    replayed: dict[tuple[str, str], int] = field(default_factory=dict)
    write_rate: int = 1000
    replay_rate: int = 2000  # how fast a replica replays what it received, positions per second
    held: set[str] = field(default_factory=set)
    # Quality each cloud serves with (p99 ms, error rate), for the canary gates.
    quality: dict[str, tuple[float, float]] = field(default_factory=dict)
    weights: dict[str, dict[str, int]] = field(default_factory=dict)
    log: list[Emitted] = field(default_factory=list)
    last_t: float = 0.0
    plane: Plane = field(init=False)

    def __post_init__(self) -> None:
        if not self.plans:
            self.plans = place_services(self.platform)
        self.plane = Plane(self.platform, self.plans)
        first = next(iter(self.platform.clouds))
        for name, store in self.platform.datastores.items():
            if store.kind == "sql":
                self.primary[name] = first
                self.acked[name] = 0
                for c in self.platform.clouds:
                    self.received[(name, c)] = 0
                    self.replayed[(name, c)] = 0

    # -- physics -----------------------------------------------------------------------------

    def _advance_data(self, dt: float) -> None:
        for name, prim in self.primary.items():
            if prim not in self.down and name not in self.held:
                self.acked[name] += int(self.write_rate * dt)
            for c in self.platform.clouds:
                if c in self.down:
                    continue
                key = (name, c)
                if c == prim:
                    self.received[key] = self.replayed[key] = self.acked[name]
                    continue
                if prim not in self.down:
                    self.received[key] = self.acked[name]
                self.replayed[key] = min(self.received[key], self.replayed[key] + int(self.replay_rate * dt))

    def _observe(self, t: float) -> None:
        p = self.plane
        hc = self.platform.edge.health_check
        vantages = [EDGE, *self.platform.clouds]
        for v in vantages:
            if v in self.down:
                continue
            for plan in self.plans:
                for c in plan.placement:
                    if c == v:
                        continue
                    bad = c in self.down or (v, c) in self.cut
                    p.observe(ProbeResult(t, v, c, plan.name, ok=not bad, timed_out=bad,
                                          latency_ms=None if bad else hc.timeout_s * 100))
        for name, prim in self.primary.items():
            for c in self.platform.clouds:
                if c in self.down:
                    continue
                role = "primary" if c == prim else "replica"
                p.observe(ReplicaPosition(t, name, c, role, self.acked[name] if role == "primary" else 0,
                                          self.received[(name, c)], self.replayed[(name, c)]))
        for plan in self.plans:
            weights = self.weights.get(plan.name, plan.weights)
            for c in plan.placement:
                if c in self.down or weights.get(c, 0) == 0:
                    continue
                p99, err = self.quality.get(c, (plan_p99(self.platform, plan.name) / 2, 0.0))
                offered = plan.rps * weights[c] / 100
                p.observe(ServiceSample(t, c, plan.name, offered, offered * (1 - err), offered * err, p99, 0.5, 0.0,
                                        plan.placement[c].replicas))
            p.observe(ServedSplit(t, plan.name, {c: w / 100 for c, w in weights.items()}))

    def _apply(self, emitted: list[Emitted]) -> None:
        for e in emitted:
            a = e.action
            if isinstance(a, SetWeights):
                self.weights[a.service] = dict(a.weights)
            elif isinstance(a, HoldWrites):
                (self.held.add if a.hold else self.held.discard)(a.datastore)
            elif isinstance(a, PromoteReplica):
                self.primary[a.datastore] = a.cloud
            elif isinstance(a, FollowPrimary) and a.cloud in self.platform.clouds:
                self.replayed[(a.datastore, a.cloud)] = min(self.replayed[(a.datastore, a.cloud)], self.acked[a.datastore])

    def tick(self, t: float) -> list[Emitted]:
        self._advance_data(t - self.last_t)
        self.last_t = t
        self._observe(t)
        out = self.plane.step(t)
        self._apply(out)
        self.log.extend(out)
        return out

    def run(self, until_s: float, every_s: float | None = None) -> list[Emitted]:
        """Tick every health-check interval (and at the plane's own wake-ups) up to `until_s` inclusive."""
        step = every_s or self.platform.edge.health_check.interval_s
        out: list[Emitted] = []
        t = self.last_t + step
        while t <= until_s + 1e-9:
            wake = self.plane.next_wakeup_s()
            if wake is not None and self.last_t < wake < t:
                out += self.tick(wake)
            out += self.tick(t)
            t += step
        return out


def plan_p99(platform: Platform, service: str) -> float:
    return platform.services[service].p99_sla_ms


def kinds(emitted: list[Emitted]) -> list[str]:
    return [type(e.action).__name__ for e in emitted]


def first(emitted: list[Emitted], kind: type, **match: object) -> Emitted:
    for e in emitted:
        if isinstance(e.action, kind) and all(getattr(e.action, k) == v for k, v in match.items()):
            return e
    raise AssertionError(f"no {kind.__name__} matching {match} in {len(emitted)} actions")
