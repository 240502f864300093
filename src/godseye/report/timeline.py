"""The drill in the terminal: the timeline actor by actor with T+ times, and the per-service table.

T+ times count from the first fault (the seed's "T=0s"), or from the start of the run without one.
Long runs of the autoscaler's routine steps are folded into one line so the story stays readable;
the JSON report keeps every line.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from godseye.sim.result import DrillResult, ServiceResult, TimelineEntry

ACTOR_STYLES = {
    "edge": "cyan", "steering": "blue", "canary": "magenta", "failover": "yellow", "replication": "green",
    "autoscaler": "bright_blue", "incidents": "red", "data": "green", "chaos": "bold red",
}
# Lines of one actor at one instant shown before the rest are summarised.
MAX_SAME_INSTANT = 4


def t_plus(t_s: float, zero_s: float) -> str:
    d = t_s - zero_s
    sign = "-" if d < 0 else "+"
    d = abs(d)
    if d < 60:
        return f"T{sign}{d:.1f}s"
    h, rem = divmod(round(d), 3600)
    m, s = divmod(rem, 60)
    return f"T{sign}{h}h{m:02d}m{s:02d}s" if h else f"T{sign}{m}m{s:02d}s"


def zero_of(r: DrillResult) -> float:
    return min((f.start_s for f in r.faults), default=0.0)


def _merge_same_tail(group: list[TimelineEntry]) -> list[TimelineEntry]:
    """Lines that differ only in their first word ("pos weights ...", "cart weights ...") become one
    line naming every subject, in order of first appearance."""
    tails: dict[str, list[TimelineEntry]] = {}
    for e in group:
        _, _, tail = e.event.partition(" ")
        tails.setdefault(tail if tail else e.event, []).append(e)
    out = []
    for tail, same in tails.items():
        if len(same) == 1 or not tail:
            out += same
            continue
        heads = ", ".join(x.event.partition(" ")[0] for x in same)
        first = same[0]
        out.append(TimelineEntry(first.t_s, first.actor, f"{heads} {tail}", first.detail))
    return out


def folded(timeline: tuple[TimelineEntry, ...]) -> list[tuple[TimelineEntry, int]]:
    """Entries with, for each, how many similar ones at the same instant were folded into it."""
    out: list[tuple[TimelineEntry, int]] = []
    i = 0
    while i < len(timeline):
        j = i
        while j < len(timeline) and timeline[j].t_s == timeline[i].t_s and timeline[j].actor == timeline[i].actor:
            j += 1
        group = _merge_same_tail(list(timeline[i:j]))
        shown = group if len(group) <= MAX_SAME_INSTANT else group[: MAX_SAME_INSTANT - 1]
        out += [(e, 0) for e in shown]
        if len(shown) < len(group):
            out.append((group[len(shown)], len(group) - len(shown) - 1))
        i = j
    return out


def render_timeline(r: DrillResult, console: Console, actors: set[str] | None = None) -> None:
    zero = zero_of(r)
    console.print(Text(f"Timeline of {r.scenario} (T+0 = first fault at {zero:g} s of simulated time)", style="bold"))
    width = max((len(e.actor) for e in r.timeline), default=5)
    for e, more in folded(r.timeline):
        if actors is not None and e.actor not in actors:
            continue
        line = Text(f"{t_plus(e.t_s, zero):>12}  ")
        line.append(f"{e.actor:<{width}}", style=ACTOR_STYLES.get(e.actor, "white"))
        line.append(f"  {e.event}")
        if more:
            line.append(f"  (+{more} more like it)", style="dim")
        console.print(line, soft_wrap=True)


def _fmt_s(v: float | None) -> str:
    return "never" if v is None else f"{v:g} s"


def _row(s: ServiceResult) -> list[str | Text]:
    verdict = Text("met", style="green") if s.met else Text("MISSED", style="bold red")
    rto = Text(_fmt_s(s.rto_s), style="" if s.rto_met else "red")
    rpo = Text(f"{s.rpo_s:g} s" + (f" ({s.rpo_datastore})" if s.rpo_datastore else ""), style="" if s.rpo_met else "red")
    failed = f"{s.requests_failed:,} of {s.requests_total:,}"
    return [s.name, str(s.tier), rto, f"{s.rto_target_s:g} s", rpo, f"{s.rpo_target_s:g} s", failed, verdict]


def render_table(r: DrillResult, console: Console) -> None:
    table = Table(title=f"{r.scenario}: RTO and RPO achieved per service (seed {r.seed})")
    for col in ("Service", "Tier", "RTO", "target", "RPO", "target", "failed requests", "verdict"):
        table.add_column(col, justify="right" if col in ("Tier", "target", "failed requests") else "left")
    for s in r.services:
        table.add_row(*_row(s))
    console.print(table)
    style = "bold green" if r.met else "bold red"
    missed = [s.name for s in r.services if not s.met]
    tail = "every service met its RTO and RPO" if r.met else f"missed by {', '.join(missed)}"
    console.print(Text(f"VERDICT: {r.verdict} ({tail})", style=style))
