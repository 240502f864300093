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

from godseye.policy.catalog import CATALOG, PROVIDERS
from godseye.spec.errors import InputError
from godseye.spec.loader import load_platform, reference_text

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Active-active multi-cloud control plane and twin.")
spec_app = typer.Typer(no_args_is_help=True, help="The platform spec.")
app.add_typer(spec_app, name="spec")

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


def main() -> None:
    app()
