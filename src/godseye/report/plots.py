"""Plots of a drill as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from godseye.sim.result import DrillResult

# Fixed metadata so the same drill renders to the same bytes.
_PNG_META = {"Software": "godseye"}


def _shade(ax: object, r: DrillResult) -> None:
    for f in r.faults:
        if f.kind in ("capacity_cap",):
            continue
        end = f.end_s if f.end_s is not None else r.duration_s
        ax.axvspan(f.start_s / 60, end / 60, color="red", alpha=0.12, label=f.label)  # type: ignore[attr-defined]


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata=_PNG_META)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def traffic_share(r: DrillResult) -> bytes:
    s = r.series
    fig, ax = plt.subplots(figsize=(9, 3.2))
    minutes = [t / 60 for t in s.t_s]
    for j, c in enumerate(s.clouds):
        ax.plot(minutes, [row[j] * 100 for row in s.served_share], label=c)
    _shade(ax, r)
    ax.set_xlabel("minutes")
    ax.set_ylabel("% of requests served")
    ax.set_title("Traffic share per cloud (fault shaded)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def capacity(r: DrillResult) -> bytes:
    s = r.series
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    minutes = [t / 60 for t in s.t_s]
    for j, c in enumerate(s.clouds):
        a1.plot(minutes, [row[j] for row in s.pods], label=c)
        a2.plot(minutes, [row[j] for row in s.nodes], label=c)
    for ax, title in ((a1, "ready pods per cloud"), (a2, "ready nodes per cloud")):
        _shade(ax, r)
        ax.set_title(title)
        ax.set_xlabel("minutes")
    a1.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def targets(r: DrillResult) -> bytes:
    names = [s.name for s in r.services]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    y = list(range(len(names)))
    rto = [s.rto_s if s.rto_s is not None else r.duration_s for s in r.services]
    a1.barh(y, rto, color=["tab:green" if s.rto_met else "tab:red" for s in r.services])
    a1.scatter([s.rto_target_s for s in r.services], y, marker="|", s=300, color="black", label="target")
    a1.set_xscale("symlog", linthresh=10)
    a1.set_yticks(y, names, fontsize=8)
    a1.set_title("RTO achieved (s) vs target")
    a1.legend(fontsize=8)
    a2.barh(y, [s.rpo_s for s in r.services], color=["tab:green" if s.rpo_met else "tab:red" for s in r.services])
    a2.scatter([s.rpo_target_s for s in r.services], y, marker="|", s=300, color="black", label="target")
    a2.set_xscale("symlog", linthresh=1)
    a2.set_yticks(y, [""] * len(y))
    a2.set_title("RPO achieved (s) vs target")
    fig.tight_layout()
    return _png(fig)
