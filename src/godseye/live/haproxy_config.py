"""The edge's HAProxy configuration, generated from the lab spec.

One frontend on 127.0.0.1 routes `/<service>/...` to the backend `be_<service>`; each backend has
one server per replica slot of every cloud that runs the service (named `<cloud>-<i>`). Slots with no
running process start `disabled` (maintenance) so scaling is a runtime `set server ... state`, never a
reload. Weights come from the plan's steady-state split.

Two modes, so the benchmark can compare like with like:
- `godseye`: no HAProxy health checks at all; the control plane's probes decide and steer weights.
  Connect and server timeouts are short (per service, under its p99 SLA) so a request stuck on a
  hung cloud is retried on a healthy one while the SLA can still be met.
- `haproxy-alone`: HAProxy's own checks (`check inter 1s fall 3 rise 2`), connect 1 s / server 2 s,
  the configuration of the published baseline in ANCHORS.md.
Both keep retries 3, `option redispatch 1` and `retry-on all-retryable-errors`: without retry-on,
HAProxy's retries hit the same dead server for seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from godseye.live.lab_spec import LabSpec

EdgeMode = Literal["godseye", "haproxy-alone"]
# HAProxy weights are 0..256; a cloud's percent times this leaves room to split it over replicas.
WEIGHT_PER_PERCENT = 2
GODSEYE_CONNECT_MS = 100
ALONE_CONNECT_MS = 1000
ALONE_SERVER_MS = 2000


@dataclass(frozen=True, slots=True)
class EdgeFiles:
    config: Path
    socket: Path


def server_weight(percent: int, replicas_running: int) -> int:
    """HAProxy weight of one running replica of a cloud that should serve `percent` of a service."""
    if percent <= 0 or replicas_running <= 0:
        return 0
    return max(1, round(percent * WEIGHT_PER_PERCENT / replicas_running))


def server_timeout_ms(service_time_ms: float, p99_sla_ms: float) -> int:
    """Per-attempt server timeout in godseye mode: long enough for a loaded replica (4x its service
    time), short enough (half the SLA) that one retry elsewhere still answers within the SLA."""
    return int(max(4 * service_time_ms, p99_sla_ms / 2))


def render_config(spec: LabSpec, socket: Path, mode: EdgeMode = "godseye", running: dict[str, int] | None = None) -> str:
    """HAProxy config text. `running` maps replica name -> 1 for slots that start with a process;
    by default every slot up to the plan's replicas for its cloud."""
    sz = spec.sizing
    alone = mode == "haproxy-alone"
    connect_ms = ALONE_CONNECT_MS if alone else GODSEYE_CONNECT_MS
    lines = [
        "global",
        "    maxconn 4096",
        "    nbthread 1",
        f"    stats socket {socket} mode 600 level admin",
        "    stats timeout 5s",
        "",
        "defaults",
        "    mode http",
        f"    timeout connect {connect_ms}ms",
        "    timeout client 30s",
        f"    timeout server {ALONE_SERVER_MS}ms",
        "    timeout queue 2s",
        "    timeout http-keep-alive 10s",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on all-retryable-errors",
        "    option http-keep-alive",
        "",
        "frontend edge",
        f"    bind 127.0.0.1:{sz.edge_port}",
    ]
    for plan in spec.services:
        lines.append(f"    use_backend be_{plan.name} if {{ path_beg /{plan.name}/ }}")
    lines += [
        "    default_backend be_unknown",
        "",
        "backend be_unknown",
        "    http-request return status 404 content-type text/plain string \"no such service\"",
        "",
        "frontend stats",
        f"    bind 127.0.0.1:{sz.stats_port}",
        "    stats enable",
        "    stats uri /",
        "    stats refresh 2s",
        "",
    ]
    for plan in spec.services:
        svc = spec.platform.services[plan.name]
        lines += [f"backend be_{plan.name}", "    balance roundrobin"]
        if alone:
            lines += ["    option httpchk GET /healthz", "    default-server check inter 1s fall 3 rise 2"]
        else:
            lines.append(f"    timeout server {server_timeout_ms(svc.service_time_ms, svc.p99_sla_ms)}ms")
        for cloud in spec.clouds:
            slots = spec.slots_of(cloud, plan.name)
            planned = spec.initial_replicas(cloud, plan.name)
            up = [r for r in slots if (running or {}).get(r.name, 1 if r.index < planned else 0) > 0]
            for r in slots:
                weight = server_weight(plan.weights.get(cloud, 0), len(up)) if r in up else 0
                state = "" if r in up else " disabled"
                lines.append(f"    server {r.server} {r.host}:{r.port} weight {weight}{state}")
        lines.append("")
    return "\n".join(lines)


def write_config(spec: LabSpec, directory: Path, mode: EdgeMode = "godseye") -> EdgeFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = EdgeFiles(directory / "haproxy.cfg", directory / "haproxy.sock")
    files.config.write_text(render_config(spec, files.socket, mode), encoding="utf-8")
    return files
