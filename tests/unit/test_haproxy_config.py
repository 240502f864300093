"""The generated HAProxy config: retries that leave a dying cloud, slots for scaling, two modes."""

from __future__ import annotations

from pathlib import Path

from godseye.live.haproxy_config import render_config, server_timeout_ms, server_weight
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.spec.models import Platform

SOCK = Path("/tmp/x/haproxy.sock")


def _backend(cfg: str, service: str) -> list[str]:
    lines = cfg.splitlines()
    start = lines.index(f"backend be_{service}")
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line.strip())
    return out


def test_retries_and_redispatch_on_every_retryable_error(reference: Platform) -> None:
    cfg = render_config(build_lab_spec(reference), SOCK)
    expected = ("retries 3", "option redispatch 1", "retry-on all-retryable-errors", f"stats socket {SOCK} mode 600 level admin")
    for line in expected:
        assert f"    {line}" in cfg


def test_one_backend_per_service_one_server_per_slot_routed_by_path(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(replicas_cap=2))
    cfg = render_config(spec, SOCK)
    for plan in spec.services:
        assert f"use_backend be_{plan.name} if {{ path_beg /{plan.name}/ }}" in cfg
        servers = [ln for ln in _backend(cfg, plan.name) if ln.startswith("server ")]
        assert len(servers) == len([r for r in spec.slots if r.service == plan.name])


def test_slots_without_a_process_start_disabled_and_weights_follow_the_plan(reference: Platform) -> None:
    spec = build_lab_spec(reference, LabSizing(replicas_cap=2, services_per_tier={1: 1}))
    lines = _backend(render_config(spec, SOCK), "pos")
    assert "server aws-0 127.0.1.10:28100 weight 68" in lines
    assert "server aws-1 127.0.1.11:28100 weight 0 disabled" in lines
    assert "server gcp-0 127.0.2.10:28100 weight 66" in lines


def test_godseye_mode_has_no_haproxy_checks_and_short_timeouts(reference: Platform) -> None:
    spec = build_lab_spec(reference)
    cfg = render_config(spec, SOCK, "godseye")
    assert " check" not in cfg
    assert "timeout connect 100ms" in cfg
    pos = reference.services["pos"]
    assert f"timeout server {server_timeout_ms(pos.service_time_ms, pos.p99_sla_ms)}ms" in _backend(cfg, "pos")


def test_haproxy_alone_mode_is_the_published_baseline(reference: Platform) -> None:
    cfg = render_config(build_lab_spec(reference), SOCK, "haproxy-alone")
    assert "default-server check inter 1s fall 3 rise 2" in _backend(cfg, "pos")
    assert "timeout connect 1000ms" in cfg and "timeout server 2000ms" in cfg


def test_server_weight_splits_a_cloud_share_over_its_replicas() -> None:
    assert server_weight(0, 2) == 0
    assert server_weight(50, 0) == 0
    assert server_weight(50, 1) == 100
    assert server_weight(50, 2) == 50
    assert server_weight(1, 4) == 1  # a cloud with any share keeps every replica in rotation


def test_server_timeout_leaves_room_for_one_retry_within_the_sla() -> None:
    assert server_timeout_ms(25, 250) == 125
    assert server_timeout_ms(60, 400) == 240
