"""`godseye lab` commands of the PostgreSQL triplet; `register(lab_app)` adds them to the lab sub-app.

    godseye lab write-check --fault kill|pause|partition [--second] [--json FILE] [--rate 100] [--writers 2]
    godseye lab pg-throughput [--seconds 5] [--writers 4] [--json FILE]
    godseye lab data-watch [--seconds 20] [--rate 200] [--window 5] [--stall gcp,azure] [--json FILE]
    godseye lab pg-up | pg-status | pg-down

`up_triplet()` and `down_triplet()` are what `godseye lab up` / `lab down` call to bring the
triplet up with the rest of the lab and to remove it.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from godseye.live.datasync.objects import ObjectSyncError
from godseye.live.datasync.streams import StreamError
from godseye.live.datasync.watch import run_watch
from godseye.live.paths import lab_dir
from godseye.live.pg.cluster import ClusterError, Triplet
from godseye.live.pg.pointer import read_pointer
from godseye.live.pg.throughput import compare
from godseye.live.pg.write_check import FAULTS, check_passed, run_check

out = Console()
err = Console(stderr=True)

REPORT_KEYS = ("fault", "acked", "lost", "duplicated", "write_outage_s", "new_primary")


class FaultName(Enum):
    KILL = "kill"
    PAUSE = "pause"
    PARTITION = "partition"


def triplet_up(triplet: Triplet) -> bool:
    return read_pointer(triplet.root) is not None and all(triplet.running(c) for c in triplet.clouds)


def up_triplet() -> Triplet:
    """A fresh triplet under the lab's state folder (aws primary, gcp and azure synchronous quorum)."""
    triplet = Triplet()
    triplet.up()
    return triplet


def down_triplet() -> None:
    """Stop every cluster of the triplet, orphans of a crash included, and remove its files."""
    Triplet().down()


def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2) + "\n")


def write_check(
    fault: Annotated[FaultName, typer.Option("--fault", help="How the primary's cloud fails.")],
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the report here as JSON.")] = None,
    rate: Annotated[float, typer.Option("--rate", min=1.0, max=1000.0, help="Writes per second, all writers together.")] = 100.0,
    writers: Annotated[int, typer.Option("--writers", min=1, max=16, help="Concurrent writer connections.")] = 2,
    verbose: Annotated[bool, typer.Option("--verbose", help="Print the control plane's timeline too.")] = False,
    second: Annotated[bool, typer.Option("--second", help="The new primary fails too, right after the failover.")] = False,
) -> None:
    """Numbered writes under a primary failure; exit 0 only if no acknowledged write was lost or duplicated."""
    triplet = Triplet()
    owned = not triplet_up(triplet)
    try:
        if owned:
            out.print("starting a PostgreSQL triplet for this check (removed afterwards)")
            triplet.up()
        chosen = next(f for f in FAULTS if f == fault.value)  # typer already refused anything else
        report = run_check(triplet, chosen, rate_per_s=rate, writers=writers, log=lambda m: out.print(m, highlight=False),
                           second=second)
    except ClusterError as exc:
        err.print(f"write-check: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        if owned:
            triplet.down()
    timeline = report.pop("timeline")
    summary = {k: report[k] for k in REPORT_KEYS}
    _write_json(json_file, {**summary, "details": report, "timeline": timeline})
    if verbose:
        for line in timeline:
            if "MarkEndpoint" not in line and "replication Condition" not in line:
                out.print(line, markup=False, highlight=False)
    out.print_json(json.dumps(summary))
    details = (f"old primary {report['old_primary']} rejoined as a replica: {report['old_primary_rejoined_as_replica']}; "
               f"{report['uncertain_attempts']} uncertain attempts retried idempotently; "
               f"lag max {report['lag_bytes_max']} B / {report['lag_s_max']} s")
    out.print(details, highlight=False)
    raise typer.Exit(0 if check_passed(report) else 1)


def pg_throughput(
    seconds: Annotated[float, typer.Option("--seconds", min=1.0, max=120.0, help="Length of each run.")] = 5.0,
    writers: Annotated[int, typer.Option("--writers", min=1, max=16, help="Concurrent unpaced writers.")] = 4,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Acknowledged writes/s with synchronous quorum vs asynchronous replication, and lag under that load."""
    triplet = Triplet()
    owned = not triplet_up(triplet)
    try:
        if owned:
            triplet.up()
        figures = compare(triplet, seconds, writers)
    except ClusterError as exc:
        err.print(f"pg-throughput: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        if owned:
            triplet.down()
    _write_json(json_file, figures)
    out.print_json(json.dumps(figures))


def data_watch(
    seconds: Annotated[float, typer.Option("--seconds", min=2.0, max=600.0, help="How long to write and watch.")] = 20.0,
    rate: Annotated[float, typer.Option("--rate", min=1.0, max=5000.0, help="Stream events per second.")] = 200.0,
    window: Annotated[float, typer.Option("--window", min=0.5, max=900.0, help="Object batch sync window, seconds.")] = 5.0,
    stall: Annotated[str, typer.Option("--stall", help="Copies to cut half way, e.g. gcp,azure (default: none).")] = "",
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Redis-stream and object-sync replication under load, as the replication watch measures it."""
    clouds = tuple(c for c in stall.split(",") if c)
    unknown = [c for c in clouds if c not in ("gcp", "azure")]
    if unknown:
        err.print(f"--stall: {', '.join(unknown)} is not a replica cloud (gcp, azure)", markup=False, highlight=False)
        raise typer.Exit(2)
    try:
        report = run_watch(lab_dir() / "datasync", seconds, rate, window, clouds)
    except (StreamError, ObjectSyncError) as exc:
        err.print(f"data-watch: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    _write_json(json_file, report)
    out.print_json(json.dumps(report))
    breached = bool(report["stream"]["breached"]) or bool(report["objects"]["breached"])
    raise typer.Exit(1 if breached else 0)


def pg_up() -> None:
    """Start the PostgreSQL triplet alone (replaces a previous one)."""
    try:
        triplet = up_triplet()
    except ClusterError as exc:
        err.print(f"pg-up: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    pg_status_of(triplet)


def pg_status_of(triplet: Triplet) -> None:
    pointer = read_pointer(triplet.root)
    for cloud, node in triplet.nodes.items():
        follows = triplet.following(cloud)
        role = "down" if not triplet.running(cloud) else f"replica of {follows}" if follows else "primary"
        out.print(f"{cloud:6} {node.host}:{node.port}  {role}", highlight=False)
    if pointer is not None:
        out.print(f"writes go to {pointer.primary} (epoch {pointer.epoch}{', held' if pointer.hold else ''})", highlight=False)


def pg_status() -> None:
    """Role of each cluster and where writes go."""
    pg_status_of(Triplet())


def pg_down() -> None:
    """Stop and remove the PostgreSQL triplet."""
    down_triplet()


def register(app: typer.Typer) -> None:
    app.command("write-check")(write_check)
    app.command("pg-throughput")(pg_throughput)
    app.command("data-watch")(data_watch)
    app.command("pg-up")(pg_up)
    app.command("pg-status")(pg_status)
    app.command("pg-down")(pg_down)
