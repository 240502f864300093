"""`godseye bench`: how fast the twin runs, measured on the wall clock outside sim/.

Cases: Black Friday on the reference platform, then on generated platforms of a tenth of the
requested services and of all of them (the reference's services repeated under new names, clouds
scaled to hold them), so the table shows whether wall time grows linearly with services.
Peak memory is the process's peak resident set (getrusage), which only grows: cases run smallest
first, so each row's figure is that case's peak.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from godseye.sim.drill import run_drill
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

    @property
    def speedup(self) -> float:
        return self.simulated_s / self.wall_s

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s


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


def run_case(name: str, platform: Platform, hours: float) -> BenchCase:
    scenario = black_friday(hours)
    start = time.perf_counter()
    result = run_drill(platform, scenario, 0)
    wall = time.perf_counter() - start
    return BenchCase(name, len(platform.services), scenario.duration_s, wall, result.events, _peak_rss_mb(), result.verdict)


def run_bench(services: int, hours: float, progress: Callable[[str], None] | None = None) -> list[BenchCase]:
    base = load_platform()
    plan = [("reference", base)]
    tenth = max(len(base.services) + 1, services // 10)
    if tenth < services:
        plan.append((f"generated {tenth}", generated_platform(base, tenth)))
    plan.append((f"generated {services}", generated_platform(base, services)))
    out = []
    for name, platform in plan:
        if progress is not None:
            progress(f"bench: {name} ({len(platform.services)} services), {hours:g} h of Black Friday ...")
        out.append(run_case(name, platform, hours))
    return out


def render_bench(cases: list[BenchCase], console: Console) -> None:
    table = Table(title="Twin speed: Black Friday (one core)")
    for col in ("case", "services", "simulated", "wall", "sim s / wall s", "events", "events / s", "wall / service",
                "peak RSS"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for c in cases:
        table.add_row(c.name, str(c.services), f"{c.simulated_s / 3600:g} h", f"{c.wall_s:.2f} s", f"{c.speedup:,.0f}x",
                      f"{c.events:,}", f"{c.events_per_s:,.0f}", f"{c.wall_s / c.services * 1000:.1f} ms",
                      f"{c.peak_rss_mb:.0f} MB")
    console.print(table)
    ref = cases[0]
    ok = ref.speedup >= TARGET_SPEEDUP
    console.print(f"reference: {ref.speedup:,.0f}x real time (target {TARGET_SPEEDUP:,}x): {'met' if ok else 'MISSED'}")
    if len(cases) >= 3:
        a, b = cases[-2], cases[-1]
        growth = (b.wall_s / a.wall_s) / (b.services / a.services)
        ratio = b.wall_s / a.wall_s
        console.print(f"{a.services} -> {b.services} services: wall x{ratio:.2f} for x{b.services / a.services:.1f} "
                      f"services ({'linear or better' if growth <= 1.15 else 'worse than linear'}: {growth:.2f} of linear)")
