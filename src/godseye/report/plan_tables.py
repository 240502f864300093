"""The plan for a person: rich tables for services, clouds, N-1 survival, checks, and a verdict line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from godseye.plan.model import Check, Plan, ServicePlan


def _mark(ok: bool) -> Text:
    return Text("ok", style="green") if ok else Text("FAIL", style="bold red")


def _duration(seconds: float) -> str:
    if seconds == 0:
        return "0"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def _placement(s: ServicePlan) -> str:
    return "\n".join(f"{c} {p.role} x{p.replicas}" for c, p in s.placement.items())


def services_table(plan: Plan) -> Table:
    table = Table(title=f"Services of {plan.platform}")
    # The mode follows from the tier; it is spelled out in the Why table, where text has room.
    for col in ("Service", "Tier", "Placement", "Replicas", "RTO / RPO", "Cost"):
        table.add_column(col, no_wrap=col in ("Service", "Placement"))
    for s in plan.services:
        table.add_row(
            s.name,
            str(s.tier),
            _placement(s),
            str(sum(p.replicas for p in s.placement.values())),
            f"{_duration(s.rto_target_s)} / {_duration(s.rpo_target_s)}",
            f"{s.cost_multiplier:g}x",
        )
    return table


def reasons_table(plan: Plan) -> Table:
    """Why each service got its tier and its clouds, in a table of its own so the text has room."""
    table = Table(title="Why", show_lines=True)
    table.add_column("Service", no_wrap=True)
    table.add_column("Tier and placement")
    for s in plan.services:
        why = Text(f"tier {s.tier} ({s.mode}): {s.tier_reason}\n{s.placement_reason}")
        if s.tier_note:
            why.append(f"\nnote: {s.tier_note}", style="yellow")
        table.add_row(s.name, why)
    return table


def clouds_table(plan: Plan) -> Table:
    table = Table(title="Clouds at steady state")
    for col in ("Cloud", "vCPU needed", "Nodes needed", "Provisioned", "Max", "Capacity share", "Monthly cost"):
        table.add_column(col, justify="left" if col == "Cloud" else "right")
    for c in plan.clouds:
        table.add_row(
            c.name,
            f"{c.vcpu_needed:g}",
            str(c.nodes_needed),
            str(c.nodes),
            str(c.max_nodes),
            f"{c.capacity_share:.1%}",
            f"${c.monthly_cost_usd:,.0f}",
        )
    table.caption = f"platform ${plan.monthly_cost_usd:,.0f}/month, cost multiplier {plan.cost_multiplier:.2f}x"
    return table


def survival_table(plan: Plan) -> Table:
    table = Table(title="N-1: each cloud fails in turn", show_lines=True)
    for col in ("Failed cloud", "Holds", "Survivors (tier 1 + 2)", "Detail"):
        table.add_column(col)
    for s in plan.survives:
        loads = "\n".join(f"{v.cloud} {v.nodes_needed}/{v.max_nodes} nodes ({v.utilisation:.0%})" for v in s.survivors)
        table.add_row(s.failed_cloud, _mark(s.ok), loads, s.detail)
    return table


def checks_table(title: str, checks: Sequence[Check]) -> Table:
    table = Table(title=title)
    table.add_column("Check", no_wrap=True)
    table.add_column("Holds")
    table.add_column("Detail")
    for c in checks:
        table.add_row(c.name, _mark(c.ok), c.detail)
    return table


def verdict(plan: Plan) -> Text:
    if plan.ok:
        return Text(
            f"PLAN HOLDS: {len(plan.fits)} capacity checks, {len(plan.survives)} N-1 cases and "
            f"{len(plan.principles)} principles all hold",
            style="bold green",
        )
    # Names only: the tables above and the `failed:` lines on stderr carry the details.
    failed = (
        [c.name for c in plan.fits if not c.ok]
        + [f"N-1 without {s.failed_cloud}" for s in plan.survives if not s.ok]
        + [p.name for p in plan.principles if not p.ok]
    )
    return Text(f"PLAN FAILS ({len(failed)}): " + ", ".join(failed), style="bold red")


def render_plan(plan: Plan, console: Console) -> None:
    console.print(services_table(plan))
    console.print(reasons_table(plan))
    console.print(clouds_table(plan))
    console.print(checks_table("Capacity: steady state and known events", plan.fits))
    console.print(survival_table(plan))
    console.print(checks_table("Design principles", plan.principles))
    console.print(verdict(plan))
