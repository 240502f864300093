"""One self-contained HTML page for a drill: inline CSS, plots as base64 PNG, the timeline, the table."""

from __future__ import annotations

import base64
import html

from godseye.report import plots
from godseye.report.timeline import folded, t_plus, zero_of
from godseye.sim.result import DrillResult

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
.verdict{display:inline-block;padding:.3em .8em;border-radius:4px;color:#fff;font-weight:bold}
.met{background:#2e7d32}.missed{background:#c62828}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f4f4f4}
td.bad{color:#c62828;font-weight:bold}td.ok{color:#2e7d32}
.tl{font-family:ui-monospace,monospace;font-size:12px;line-height:1.5}
.tl .t{color:#666;display:inline-block;width:8em;text-align:right;margin-right:1em}
.tl .a{display:inline-block;width:7em;font-weight:bold}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
"""

ACTOR_COLORS = {
    "edge": "#00838f", "steering": "#1565c0", "canary": "#8e24aa", "failover": "#ef6c00", "replication": "#2e7d32",
    "autoscaler": "#3949ab", "incidents": "#c62828", "data": "#2e7d32", "chaos": "#b71c1c",
}


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _fmt(v: float | None) -> str:
    return "never" if v is None else f"{v:g} s"


def drill_html(r: DrillResult) -> str:
    e = html.escape
    rows = []
    for s in r.services:
        rows.append(
            f"<tr><td>{e(s.name)}</td><td>{s.tier}</td><td class='{'ok' if s.rto_met else 'bad'}'>{_fmt(s.rto_s)}</td>"
            f"<td>{s.rto_target_s:g} s</td><td class='{'ok' if s.rpo_met else 'bad'}'>{s.rpo_s:g} s"
            f"{' (' + e(s.rpo_datastore) + ')' if s.rpo_datastore else ''}</td><td>{s.rpo_target_s:g} s</td>"
            f"<td>{s.requests_failed:,} / {s.requests_total:,}</td><td class='{'ok' if s.met else 'bad'}'>"
            f"{'met' if s.met else 'MISSED'}</td></tr>")
    zero = zero_of(r)
    lines = []
    for entry, more in folded(r.timeline):
        color = ACTOR_COLORS.get(entry.actor, "#444")
        extra = f" <i>(+{more} more like it)</i>" if more else ""
        lines.append(f"<div><span class='t'>{e(t_plus(entry.t_s, zero))}</span><span class='a' style='color:{color}'>"
                     f"{e(entry.actor)}</span>{e(entry.event)}{extra}</div>")
    faults = "".join(f"<li>{e(f.label)}: {f.start_s:g} s to {'the end' if f.end_s is None else f'{f.end_s:g} s'}</li>"
                     for f in r.faults) or "<li>none</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>godseye drill: {e(r.scenario)}</title><style>{CSS}</style></head>
<body>
<h1>Drill: {e(r.scenario)}</h1>
<p class="sub">{e(r.description)}</p>
<p>Platform <b>{e(r.platform)}</b>, {r.duration_s:g} s simulated, seed {r.seed}.
<span class="verdict {'met' if r.met else 'missed'}">{e(r.verdict.upper())}</span></p>
<h2>Faults</h2><ul>{faults}</ul>
<h2>RTO and RPO per service</h2>
<table><tr><th>service</th><th>tier</th><th>RTO</th><th>target</th><th>RPO</th><th>target</th><th>failed / total requests</th>
<th>verdict</th></tr>{''.join(rows)}</table>
{_img(plots.targets(r), "RTO and RPO against targets")}
<h2>Traffic, pods and nodes</h2>
{_img(plots.traffic_share(r), "traffic share per cloud")}
{_img(plots.capacity(r), "pods and nodes per cloud")}
<h2>Timeline</h2>
<p class="sub">T+0 is the first fault. Repetitive lines at one instant are folded; the JSON report has every line.</p>
<div class="tl">{''.join(lines)}</div>
</body></html>
"""
