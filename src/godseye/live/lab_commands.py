"""`godseye lab ...`: the live lab from the command line.

    godseye lab up [--rps 150] [--time-scale 60]     start the lab in the background
    godseye lab status                                clouds, endpoints, weights, live rps and errors
    godseye lab chaos kill-cloud aws | pause-cloud aws | kill-service aws pos | restore aws
    godseye lab down                                  stop everything, leftovers of a crash included
    godseye lab drill aws-region-outage [--json FILE] [--time-scale 60]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from godseye.live.datasync.objects import ObjectStore
from godseye.live.datasync.streams import RedisTrio, StreamError
from godseye.live.lab_data import DataError, data_available
from godseye.live.lab_spec import LabSizing
from godseye.live.load_process import LoadError
from godseye.live.paths import lab_dir
from godseye.live.pg.cluster import ClusterError
from godseye.live.pg.commands import down_triplet, up_triplet
from godseye.live.pg.commands import register as register_pg_commands
from godseye.live.supervisor import ProcessRecord, alive_records, cleanup_leftovers, start_ticks
from godseye.spec.errors import InputError
from godseye.spec.loader import load_platform
from godseye.spec.scenario import load_scenario

lab_app = typer.Typer(no_args_is_help=True, help="The live lab: real processes, a real HAProxy, chaos under load.")
chaos_app = typer.Typer(no_args_is_help=True, help="Break the running lab on purpose.")
lab_app.add_typer(chaos_app, name="chaos")
# The PostgreSQL triplet's own commands (write-check, pg-up, pg-status, pg-down, pg-throughput).
register_pg_commands(lab_app)

out = Console()
err = Console(stderr=True)
UP_TIMEOUT_S = 60.0
DOWN_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 20.0

DirOption = Annotated[Path | None, typer.Option("--dir", help="Lab state folder (default $GODSEYE_LAB_DIR or ./.godseye/lab).")]
SpecOption = Annotated[Path | None, typer.Option("--spec", help="Platform spec YAML (default: the reference platform).")]


def _control_url() -> str:
    return f"http://127.0.0.1:{LabSizing().control_port}"


def _daemon_dir(directory: Path) -> Path:
    return directory / "daemon"


def _fail(message: str, code: int) -> typer.Exit:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _get_status() -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{_control_url()}/status", timeout=HTTP_TIMEOUT_S)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data
    except httpx.HTTPError:
        return None


@lab_app.command()
def up(
    directory: DirOption = None,
    spec: SpecOption = None,
    rps: Annotated[float, typer.Option("--rps", help="Total load through the edge, req/s (0: none).")] = 150.0,
    time_scale: Annotated[float, typer.Option("--time-scale", help="Divide the spec's durations by this.")] = 60.0,
    webhook: Annotated[str, typer.Option("--webhook", help="PagerDuty Events v2 URL (default: the lab's receiver).")] = "",
    pg: Annotated[bool, typer.Option("--pg/--no-pg", help="Also bring up the PostgreSQL triplet (in $GODSEYE_LAB_DIR).")] = False,
) -> None:
    """Start the lab in the background: service processes per cloud, HAProxy, probes, control loop, load."""
    d = directory or lab_dir()
    if alive_records(_daemon_dir(d)):
        raise _fail(f"the lab in {d} is already up (godseye lab status / godseye lab down)", 1)
    cleanup_leftovers(d)
    if spec is not None:
        try:
            load_platform(spec)
        except InputError as exc:
            raise _fail(str(exc), 2) from None
    if pg:
        try:
            up_triplet()
        except ClusterError as exc:
            raise _fail(f"the PostgreSQL triplet did not start: {exc}", 1) from None
    argv = [sys.executable, "-m", "godseye.live.daemon", "--dir", str(d), "--rps", str(rps), "--time-scale", str(time_scale)]
    if spec is not None:
        argv += ["--spec", str(spec)]
    if pg:
        # The daemon's plane drives the triplet just started (and Redis and object copies it starts).
        argv += ["--data-root", str(lab_dir())]
    if webhook:
        argv += ["--webhook", webhook]
    dd = _daemon_dir(d)
    (dd / "pids").mkdir(parents=True, exist_ok=True)
    with open(dd / "daemon.log", "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    record = ProcessRecord("daemon", proc.pid, start_ticks(proc.pid) or 0, argv)
    (dd / "pids" / "daemon.json").write_text(json.dumps({"name": record.name, "pid": record.pid,
                                                         "start_ticks": record.start_ticks, "argv": record.argv}))
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (dd / "daemon.log").read_text(errors="replace")[-3000:]
            raise _fail(f"the lab failed to start:\n{tail}", 1)
        status = _get_status()
        if status is not None:
            _print_status(status)
            return
        time.sleep(0.3)
    _down(d)
    raise _fail(f"the lab did not answer within {UP_TIMEOUT_S:g}s; stopped it (see {dd / 'daemon.log'})", 1)


def _print_status(s: dict[str, Any]) -> None:
    clouds = Table(title=f"godseye lab at t={s['t_s']:.1f}s  edge {s['edge']}")
    for col in ("Cloud", "Addresses", "State"):
        clouds.add_column(col)
    for c in s["clouds"]:
        style = "green" if c["state"] == "up" else "red"
        clouds.add_row(c["name"], c["address"], f"[{style}]{c['state']}[/{style}]")
    out.print(clouds)
    eps = Table(title="Endpoints (live over the last 5 s)")
    for col in ("Service", "Cloud", "Replicas", "Weight %", "HAProxy served %", "Served rps", "Service rps", "Errors", "p99 ms"):
        eps.add_column(col, justify="right" if col not in ("Service", "Cloud") else "left")
    for e in s["endpoints"]:
        eps.add_row(e["service"], e["cloud"], str(e["replicas"]), str(e["weight_pct"]), f"{e['haproxy_share_pct']:.1f}",
                    f"{e['served_rps']:.1f}",
                    f"{e['service_rps']:.1f}", str(e["service_errors"]), f"{e['service_p99_ms']:.0f}")
    out.print(eps)
    data = s.get("data")
    if data:
        orders = data["orders"]
        held = ", writes held" if orders["held"] else ""
        out.print(f"data: orders primary {orders['primary']} (epoch {orders['epoch']}{held}), "
                  f"order-events primary {data['order-events']['primary']}, "
                  f"product-media primary {data['product-media']['primary']}", highlight=False)
    for p in s.get("pages", []):
        out.print(f"page {p['event_action']} {p['dedup_key']} at t={p['t_s']}s -> {p['status']}", highlight=False)


@lab_app.command()
def status() -> None:
    """Clouds, endpoints, weights, live rps and errors of the running lab."""
    s = _get_status()
    if s is None:
        raise _fail("the lab is down (godseye lab up)", 1)
    _print_status(s)


def _down(d: Path, pg: bool = False) -> list[str]:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(f"{_control_url()}/shutdown", timeout=HTTP_TIMEOUT_S)
    deadline = time.monotonic() + DOWN_TIMEOUT_S
    while alive_records(_daemon_dir(d)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for rec in alive_records(_daemon_dir(d)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pid, signal.SIGTERM)
    killed = cleanup_leftovers(_daemon_dir(d)) + cleanup_leftovers(d)
    if pg:
        try:
            down_triplet()
            # A daemon that crashed leaves its Redis servers and object folders: their pid files say which.
            RedisTrio(lab_dir() / "streams").down()
            ObjectStore(lab_dir() / "objects").down()
        except (ClusterError, StreamError) as exc:
            err.print(f"datastores: {exc}", markup=False, highlight=False)
    return killed


@lab_app.command()
def down(
    directory: DirOption = None,
    pg: Annotated[bool, typer.Option("--pg/--no-pg", help="Also stop and remove the PostgreSQL triplet.")] = True,
) -> None:
    """Stop the lab and every process it started, including leftovers of a crashed run."""
    d = directory or lab_dir()
    killed = _down(d, pg)
    extra = f" (killed leftovers: {', '.join(killed)})" if killed else ""
    out.print(f"lab down{extra}", highlight=False)


def _chaos(action: str, cloud: str, service: str | None = None) -> None:
    try:
        r = httpx.post(f"{_control_url()}/chaos", json={"action": action, "cloud": cloud, "service": service},
                       timeout=HTTP_TIMEOUT_S)
    except httpx.HTTPError:
        raise _fail("the lab is down (godseye lab up)", 1) from None
    body = r.json()
    if r.status_code != 200:
        raise _fail(str(body.get("error", body)), 2)
    target = f"{cloud} {service}" if service else cloud
    out.print(f"{action} {target} at t={body['t_s']}s: {', '.join(body['processes']) or 'nothing'}", highlight=False)


@chaos_app.command("kill-cloud")
def kill_cloud(cloud: str) -> None:
    """SIGKILL every process of a cloud."""
    _chaos("kill-cloud", cloud)


@chaos_app.command("pause-cloud")
def pause_cloud(cloud: str) -> None:
    """SIGSTOP every process of a cloud: a hung cloud."""
    _chaos("pause-cloud", cloud)


@chaos_app.command("kill-service")
def kill_service(cloud: str, service: str) -> None:
    """SIGKILL the processes of one service in one cloud."""
    _chaos("kill-service", cloud, service)


@chaos_app.command("restore")
def restore(cloud: str) -> None:
    """Restart what was killed and resume what was paused in a cloud."""
    _chaos("restore", cloud)


def scenario_path(name: str) -> Path:
    """A scenario file, or the name of a built-in one (godseye/sim/scenarios/<name>.yaml)."""
    p = Path(name)
    if p.exists():
        return p
    builtin = resources.files("godseye.sim").joinpath("scenarios", f"{name}.yaml")
    if builtin.is_file():
        return Path(str(builtin))
    raise typer.BadParameter(f"no scenario file or built-in scenario named '{name}'")


@lab_app.command()
def drill(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML or built-in name (e.g. aws-region-outage).")],
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the drill report JSON here.")] = None,
    time_scale: Annotated[float, typer.Option("--time-scale", help="Play the scenario this many times faster.")] = 60.0,
    spec: SpecOption = None,
    rps: Annotated[float, typer.Option("--rps", help="Total lab load, req/s.")] = LabSizing().total_rps,
    directory: DirOption = None,
    twin: Annotated[bool, typer.Option("--twin/--no-twin", help="Run the twin on the same scenario and compare.")] = True,
    data: Annotated[str, typer.Option("--data", help="Real datastores (PostgreSQL, Redis, objects): auto, on or off.")] = "auto",
) -> None:
    """Play a scenario live (durations divided by --time-scale), measure it, compare with the twin."""
    from dataclasses import replace

    from godseye.live.comparison import comparison
    from godseye.live.drill import run_lab_drill, scale_scenario, twin_prediction
    from godseye.live.drill_report import write_report

    if time_scale <= 0 or rps <= 0:
        raise _fail("--time-scale and --rps must be > 0", 2)
    try:
        platform = load_platform(spec)
        sc = load_scenario(scenario_path(scenario), platform)
    except InputError as exc:
        raise _fail(str(exc), 2) from None
    except typer.BadParameter as exc:
        raise _fail(str(exc), 2) from None
    d = directory or lab_dir()
    if alive_records(_daemon_dir(d)):
        raise _fail("a lab is up in this folder; godseye lab down first", 1)
    sizing = replace(LabSizing(), total_rps=rps)
    if data not in ("auto", "on", "off"):
        raise _fail("--data must be auto, on or off", 2)
    missing = data_available(d)
    if data == "on" and missing is not None:
        raise _fail(f"--data on: {missing}", 2)
    # auto: the datastores play when the platform declares sql ones and this machine can run them.
    has_sql = any(s.kind == "sql" for s in platform.datastores.values())
    data_root = d if data == "on" or (data == "auto" and has_sql and missing is None) else None
    if data == "auto" and has_sql and missing is not None:
        err.print(f"datastores not played ({missing}): RPO is 0 by construction", highlight=False, markup=False)
    seconds = sc.duration_s / time_scale
    err.print(f"playing {sc.name} live: {seconds:.0f}s of wall time (x{time_scale:g})", highlight=False)

    def progress(t: float, total: float) -> None:
        err.print(f"  t={t:5.1f}s / {total:.0f}s", highlight=False)

    try:
        result = asyncio.run(run_lab_drill(platform, sc, d, time_scale, sizing,
                                           progress=progress if sys.stderr.isatty() else None, data_root=data_root))
    except DataError as exc:
        raise _fail(f"the lab's datastores: {exc}", 1) from None
    except LoadError as exc:
        raise _fail(f"the lab's load generator: {exc}", 1) from None
    comp = comparison(twin_prediction(result, sc), result.result, scale_scenario(sc, time_scale)) if twin else None
    _print_drill(result, comp)
    if json_file is not None:
        write_report(json_file, result, comp)
        out.print(f"report written to {json_file}", highlight=False)
    if result.result.verdict != "met":
        raise typer.Exit(1)


def _print_drill(result: Any, comp: dict[str, Any] | None) -> None:
    r = result.result
    t = Table(title=f"lab drill {r.scenario} (x{result.time_scale:g}): {r.verdict}")
    for col in ("Service", "Tier", "RTO s", "Target s", "RPO s", "RPO target s", "Requests", "Failed", "Met"):
        t.add_column(col)
    for s in r.services:
        t.add_row(s.name, str(s.tier), "-" if s.rto_s is None else f"{s.rto_s:.2f}", f"{s.rto_target_s:g}",
                  f"{s.rpo_s:g}", f"{s.rpo_target_s:g}",
                  str(s.requests_total), str(s.requests_failed), "yes" if s.met else "[red]no[/red]")
    out.print(t)
    if result.data is not None:
        d = Table(title="datastores (measured on the real servers)")
        for col in ("Datastore", "Kind", "Primary now", "Acked", "Lost", "RPO s"):
            d.add_column(col)
        for v in result.data.values():
            if isinstance(v, dict) and "kind" in v:
                d.add_row(v["datastore"], v["kind"], str(v["primary"]), str(v["acked"]), str(v["lost"]), f"{v['rpo_s']:g}")
        out.print(d)
        if "write_outage_s" in result.data:
            out.print(f"orders write outage seen by the services: {result.data['write_outage_s']:g} s", highlight=False)
    missed = {s.name for s in r.services if not s.met}
    for e in result.episodes:
        if e.service in missed:
            out.print(f"{e.service} degraded {e.describe(result.spec.platform.services[e.service].p99_sla_ms)}",
                      highlight=False, markup=False)
    if comp is None:
        return
    c = Table(title="twin vs lab (same lab platform, same scaled scenario)")
    for col in ("Figure", "Twin", "Lab"):
        c.add_column(col)
    for key in ("detection_s", "reroute_s", "failed_requests", "requests", "verdict"):
        v = comp[key]
        c.add_row(key, str(v["twin"]), str(v["lab"]))
    for name, v in comp["rto_s"].items():
        c.add_row(f"rto_s {name}", str(v["twin"]), str(v["lab"]))
    steps = comp["canary_steps"]
    c.add_row("canary steps (s after restore, %)", " ".join(f"{a:.1f}s:{b}%" for a, b in steps["twin"]),
              " ".join(f"{a:.1f}s:{b}%" for a, b in steps["lab"]))
    out.print(c)
