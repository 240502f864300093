"""The `godseye` command line: thin shells over the pure core."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from godseye.live.lab_commands import lab_app
from godseye.policy.catalog import CATALOG, PROVIDERS
from godseye.spec.errors import InputError
from godseye.spec.loader import load_platform, reference_text

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Active-active multi-cloud control plane and twin.")
spec_app = typer.Typer(no_args_is_help=True, help="The platform spec.")
app.add_typer(spec_app, name="spec")
app.add_typer(lab_app, name="lab")

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="Platform spec YAML (default: the embedded reference platform).")
]


def input_errors_exit_2(fn: Callable[P, R]) -> Callable[P, R]:
    """Bad input: one line on stderr, exit 2, no traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@input_errors_exit_2
def validate(file: Annotated[Path, typer.Argument(help="Platform spec YAML to check.")]) -> None:
    """Check a platform spec; print OK or the first problem (FILE:LINE: field: problem)."""
    platform = load_platform(file)
    out.print(f"{file}: OK ({len(platform.clouds)} clouds, {len(platform.services)} services)", highlight=False)


@spec_app.command("show")
@input_errors_exit_2
def spec_show(
    spec: SpecOption = None,
    full: Annotated[bool, typer.Option("--full", help="Every field, defaults included.")] = False,
) -> None:
    """Print a spec as YAML that --spec accepts (the reference platform when no --spec is given)."""
    if spec is None and not full:
        sys.stdout.write(reference_text())
        return
    from godseye.spec.dump import platform_yaml

    sys.stdout.write(platform_yaml(load_platform(spec)))


@app.command()
@input_errors_exit_2
def plan(
    spec: SpecOption = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the plan as JSON to this file (atomically).")
    ] = None,
) -> None:
    """Tiers, placement, nodes per cloud, N-1 survival, design principles and cost; exit 1 if a check fails."""
    from godseye.plan.builder import build_plan
    from godseye.report.plan_json import plan_json, write_text_atomic
    from godseye.report.plan_tables import render_plan

    result = build_plan(load_platform(spec), str(spec) if spec is not None else "<embedded reference platform>")
    if json_file is not None:
        try:
            write_text_atomic(json_file, plan_json(result))
        except OSError as exc:
            raise InputError.single(str(json_file), f"cannot write: {exc.strerror or exc}") from None
    render_plan(result, out)
    if not result.ok:
        for failure in result.failures():
            err.print(f"failed: {failure}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command()
def catalog() -> None:
    """The cloud service mapping: each capability's product per provider and its OSS abstraction."""
    table = Table(title="Cloud service mapping (no lock-in: every product has an abstraction)")
    table.add_column("Capability", style="bold")
    for provider in PROVIDERS:
        table.add_column(provider.upper())
    table.add_column("Abstraction layer", style="green")
    for cap in CATALOG:
        cells = [" / ".join(f"{p.name} [dim]({p.id})[/dim]" for p in cap.products.get(pr, ())) for pr in PROVIDERS]
        table.add_row(cap.name, *cells, cap.abstraction)
    out.print(table)


@app.command()
@input_errors_exit_2
def drill(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name (see `godseye scenarios`) or a scenario YAML.")],
    spec: SpecOption = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the drill report as JSON (atomically).")] = None,
    html_file: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the twin's random streams.")] = 0,
) -> None:
    """Play a scenario on the digital twin against the real controllers; exit 1 if a target is missed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from godseye.report.drill_html import drill_html
    from godseye.report.drill_json import drill_json
    from godseye.report.plan_json import write_text_atomic
    from godseye.report.timeline import render_table, render_timeline
    from godseye.sim.catalog import resolve
    from godseye.sim.drill import run_drill

    platform = load_platform(spec)
    chosen = resolve(scenario, platform)
    with Progress(TextColumn(f"drill {chosen.name}"), BarColumn(), TextColumn("{task.percentage:>3.0f}% simulated"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("drill", total=1.0)
        result = run_drill(platform, chosen, seed, progress=lambda done: bar.update(task, completed=done))
    render_timeline(result, out)
    out.print()
    render_table(result, out)
    for path, text in ((json_file, drill_json), (html_file, drill_html)):
        if path is not None:
            try:
                write_text_atomic(path, text(result))
            except OSError as exc:
                raise InputError.single(str(path), f"cannot write: {exc.strerror or exc}") from None
    if not result.met:
        raise typer.Exit(1)


@app.command()
def scenarios() -> None:
    """The built-in scenarios `godseye drill` accepts by name."""
    from godseye.sim.catalog import builtins

    table = Table(title="Built-in scenarios (godseye drill NAME)")
    table.add_column("Name", style="bold")
    table.add_column("Simulated", justify="right")
    table.add_column("Faults", justify="right")
    table.add_column("What it rehearses")
    for b in builtins():
        table.add_row(b.name, f"{b.duration_s / 3600:.1f} h", str(b.faults), b.description)
    out.print(table)


@app.command()
@input_errors_exit_2
def bench(
    services: Annotated[int, typer.Option("--services", help="Services of the generated platform.")] = 1000,
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours of Black Friday on the reference.", min=0.1)] = 24.0,
    generated_hours: Annotated[
        float, typer.Option("--generated-hours", help="Simulated hours on each generated platform.", min=0.01)
    ] = 1.0,
    idle: Annotated[bool, typer.Option("--idle-plane", help="Drive a plane that never acts: the twin's own cost.")] = False,
) -> None:
    """The twin's speed: simulated seconds per wall second, events per second, peak memory."""
    from godseye.bench import render_bench, run_bench

    cases = run_bench(services, hours, generated_hours, idle, progress=lambda msg: err.print(msg, highlight=False))
    render_bench(cases, out)


def main() -> None:
    app()
