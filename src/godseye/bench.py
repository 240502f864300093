"""`godseye bench`: how fast the twin runs, measured on the wall clock outside sim/.

Cases: Black Friday on the reference platform, then on generated platforms of a hundredth, a tenth
and all of the requested services (the reference's services repeated under new names, clouds scaled
to hold them), so the table shows how wall time grows per 10x services. Each case also says where its
wall time went: every controller of the plane and every stage of the twin's loop, timed by wrapping
the functions for a second run of the same drill, so the wrappers' own cost stays out of the speed
figure (the clock stays here, never in control/ or sim/).
Peak memory is the process's peak resident set (getrusage), which only grows: cases run smallest
first, so each row's figure is that case's peak.
"""

from __future__ import annotations

import itertools
import math
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from godseye.control import autoscaler, canary, failover, health, incidents, replication, steering
from godseye.control.decision import Emitted
from godseye.control.observations import Observation
from godseye.plan.model import ServicePlan
from godseye.sim.drill import epoch_of, run_drill
from godseye.sim.engine import Engine
from godseye.sim.plane_port import PlanePort, real_plane_factory
from godseye.spec.loader import load_platform
from godseye.spec.models import Platform
from godseye.spec.scenario import Scenario, Traffic

# The bar: a 24 h reference drill at least this many times faster than real time.
TARGET_SPEEDUP = 50_000
EVENT_LEAD_S = 2400.0


@dataclass(frozen=True, slots=True)
class BenchCase:
    name: str
    services: int
    simulated_s: float
    wall_s: float
    events: int
    peak_rss_mb: float
    verdict: str
    plane_s: float  # wall time inside the plane's observe / step / next_wakeup_s (its share of the timed run)
    steps: int
    stages: tuple[tuple[str, float], ...] = ()  # (stage, wall seconds), plane's controllers then the twin's loop

    @property
    def speedup(self) -> float:
        return self.simulated_s / self.wall_s

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s

    @property
    def twin_speedup(self) -> float:
        """Speed with the plane's own time taken out: what the twin costs by itself."""
        return self.simulated_s / max(self.wall_s - self.plane_s, 1e-9)


class IdlePlane:
    """A plane that watches and never acts: what the twin alone costs, whatever the plane's speed."""

    def __init__(self, platform: Platform, services: list[ServicePlan]) -> None:
        self.observed = 0

    def observe(self, obs: Observation) -> None:
        self.observed += 1

    def step(self, now_s: float) -> list[Emitted]:
        return []

    def next_wakeup_s(self) -> float | None:
        return None


class TimedPlane:
    """The real plane behind a stopwatch (wall clock here, in the bench, never in sim/)."""

    def __init__(self, inner: PlanePort) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.steps = 0

    def observe(self, obs: Observation) -> None:
        start = time.perf_counter()
        self.inner.observe(obs)
        self.seconds += time.perf_counter() - start

    def step(self, now_s: float) -> list[Emitted]:
        start = time.perf_counter()
        out = self.inner.step(now_s)
        self.seconds += time.perf_counter() - start
        self.steps += 1
        return out

    def next_wakeup_s(self) -> float | None:
        start = time.perf_counter()
        out = self.inner.next_wakeup_s()
        self.seconds += time.perf_counter() - start
        return out


# What the plane's step spends its time in: the controllers, as plane.py calls them (module attributes).
PLANE_STAGES: tuple[tuple[str, object, str], ...] = (
    ("plane: health", health, "reconcile"),
    ("plane: replication", replication, "reconcile"),
    ("plane: rotation", steering, "rotate"),
    ("plane: canary", canary, "reconcile"),
    ("plane: steering", steering, "reconcile"),
    ("plane: caught-up copies", failover, "clouds_caught_up"),
    ("plane: failover", failover, "reconcile"),
    ("plane: autoscaler", autoscaler, "reconcile"),
    ("plane: incidents", incidents, "reconcile"),
)
# The twin's own loop: what each turn does besides stepping the plane.
TWIN_STAGES: tuple[tuple[str, object, str], ...] = (
    ("twin: due changes", Engine, "_apply_due"),
    ("twin: evaluate", Engine, "_evaluate"),
    ("twin: probes", Engine, "_probe_round"),
    ("twin: samples", Engine, "_sample"),
    ("twin: integrate + replication polls", Engine, "_integrate"),
    ("twin: actions", Engine, "_act"),
)


@contextmanager
def stopwatch(stages: tuple[tuple[str, object, str], ...]) -> Iterator[dict[str, float]]:
    """Wrap each named function with a timer for the duration of the block; totals in seconds by stage.

    Nested stages (the actions applied inside a step) count in each that encloses them.
    """
    totals = dict.fromkeys((name for name, _, _ in stages), 0.0)
    saved: list[tuple[object, str, Any]] = []

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - start
        return wrapper

    for name, owner, attr in stages:
        original = getattr(owner, attr)
        saved.append((owner, attr, original))
        setattr(owner, attr, timed(name, original))
    try:
        yield totals
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def generated_platform(base: Platform, services: int) -> Platform:
    names = list(base.services)
    copies = {f"{names[i % len(names)]}-{i:04d}": base.services[names[i % len(names)]] for i in range(services)}
    scale = max(1.0, services / len(names))
    clouds = {
        name: c.model_copy(update={"nodes": int(c.nodes * scale) + 1, "max_nodes": int(c.max_nodes * scale) + 1})
        for name, c in base.clouds.items()
    }
    return base.model_copy(update={"name": f"generated-{services}", "services": copies, "clouds": clouds})


def black_friday(hours: float) -> Scenario:
    return Scenario(name="black-friday-bench", duration_s=hours * 3600.0,
                    traffic=Traffic(event="black-friday", event_lead_s=EVENT_LEAD_S))


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_case(name: str, platform: Platform, hours: float, idle: bool = False) -> BenchCase:
    """Time one drill exactly as users run it, then run it again with the plane and every stage behind
    stopwatches for the breakdown (time in the plane, steps, stages): the stopwatches cost time of their
    own, which stays out of the speed figure."""
    scenario = black_friday(hours)
    inner = IdlePlane if idle else real_plane_factory(epoch_of(platform, scenario))
    start = time.perf_counter()
    result = run_drill(platform, scenario, 0, plane=inner)
    wall = time.perf_counter() - start
    timed: list[TimedPlane] = []

    def build(p: Platform, services: list[ServicePlan]) -> PlanePort:
        timed.append(TimedPlane(inner(p, services)))
        return timed[-1]

    with stopwatch(PLANE_STAGES + TWIN_STAGES) as stages:
        start = time.perf_counter()
        run_drill(platform, scenario, 0, plane=build)
        timed_wall = time.perf_counter() - start
    # The plane's share of the timed run, applied to the untimed one.
    plane_s = wall * timed[0].seconds / timed_wall
    return BenchCase(name, len(platform.services), scenario.duration_s, wall, result.events, _peak_rss_mb(), result.verdict,
                     plane_s, timed[0].steps, tuple(stages.items()))


# Fewest services a generated platform of the scaling series has: below it the platform is all overhead.
MIN_GENERATED_SERVICES = 2


def scaling_sizes(services: int) -> list[int]:
    """A hundredth, a tenth and all of `services` (10 / 100 / 1,000 by default), smallest first."""
    return sorted({n for n in (services // 100, services // 10, services) if n >= MIN_GENERATED_SERVICES})


def run_bench(services: int, hours: float, generated_hours: float, idle: bool = False,
              progress: Callable[[str], None] | None = None) -> list[BenchCase]:
    """The reference for `hours`, then generated platforms of a hundredth, a tenth and all of
    `services` for `generated_hours` each (a full day of a 1,000-service platform with the real
    plane takes minutes; the speed per simulated second is what is compared)."""
    base = load_platform()
    suffix = " (idle plane)" if idle else ""
    plan = [("reference" + suffix, base, hours)]
    for n in scaling_sizes(services):
        plan.append((f"generated {n}{suffix}", generated_platform(base, n), generated_hours))
    out = []
    for name, platform, h in plan:
        if progress is not None:
            progress(f"bench: {name} ({len(platform.services)} services), {h:g} h of Black Friday ...")
        case = run_case(name, platform, h, idle)
        out.append(case)
        if progress is not None:
            progress(f"  {case.wall_s:.1f} s wall, {case.speedup:,.0f}x real time, {case.events_per_s:,.0f} events/s, "
                     f"{case.plane_s / case.wall_s:.0%} in the plane, peak {case.peak_rss_mb:.0f} MB")
    return out


def render_bench(cases: list[BenchCase], console: Console) -> None:
    table = Table(title="Twin speed: Black Friday (one core)")
    for col in ("case", "services", "simulated", "wall", "sim s / wall s", "events", "events / s", "plane steps",
                "in plane", "twin alone", "peak RSS"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for c in cases:
        table.add_row(c.name, str(c.services), f"{c.simulated_s / 3600:g} h", f"{c.wall_s:.2f} s", f"{c.speedup:,.0f}x",
                      f"{c.events:,}", f"{c.events_per_s:,.0f}", f"{c.steps:,}", f"{c.plane_s / c.wall_s:.0%}",
                      f"{c.twin_speedup:,.0f}x", f"{c.peak_rss_mb:.0f} MB")
    console.print(table)
    ref = cases[0]
    ok = ref.speedup >= TARGET_SPEEDUP
    console.print(f"reference: {ref.speedup:,.0f}x real time (target {TARGET_SPEEDUP:,}x): {'met' if ok else 'MISSED'}")
    _render_stages(cases, console)
    generated = [c for c in cases[1:] if c.simulated_s == cases[-1].simulated_s]
    for a, b in itertools.pairwise(generated):
        # Wall time per simulated second, so cases of different lengths compare.
        ratio = (b.wall_s / b.simulated_s) / (a.wall_s / a.simulated_s)
        factor = b.services / a.services
        per_10x = ratio ** (1 / math.log10(factor)) if factor > 1 else ratio
        verdict = "linear or better" if per_10x <= 10 * 1.15 else "worse than linear"
        # The plane steps whenever a delivered sample moved; a larger platform has a moving sample in
        # more of the 15 s deliveries (at most every one), so the cost per step shows the code's own growth.
        step_ratio = (b.wall_s / max(b.steps, 1)) / (a.wall_s / max(a.steps, 1))
        per_step_10x = step_ratio ** (1 / math.log10(factor)) if factor > 1 else step_ratio
        console.print(f"{a.services} -> {b.services} services: wall x{ratio:.2f} for x{factor:.1f} services, "
                      f"x{per_10x:.1f} per 10x services ({verdict}); per plane step ({a.steps:,} -> {b.steps:,} "
                      f"steps) x{per_step_10x:.1f} per 10x services")


def _render_stages(cases: list[BenchCase], console: Console) -> None:
    table = Table(title="Where the wall time went (seconds, a second run with every stage timed; nested stages count in each)")
    table.add_column("stage", justify="left")
    for c in cases:
        table.add_column(f"{c.name} ({c.simulated_s / 3600:g} h)", justify="right")
    names = [name for name, _ in cases[0].stages]
    for name in names:
        table.add_row(name, *(f"{dict(c.stages).get(name, 0.0):.2f}" for c in cases))
    table.add_row("wall", *(f"{c.wall_s:.2f}" for c in cases))
    console.print(table)
