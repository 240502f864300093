"""Streams on real Redis (asynchronous replicas) and objects synced in rsync batches, measured by the
replication watch: level under load, and a stalled stream caught once it exceeds its 5 s target."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from godseye.live.datasync.watch import run_watch
from godseye.live.paths import free_port_block

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("rsync") is None,
                       reason="redis-server and rsync (Debian) not installed"),
]


@pytest.mark.timeout(90)
def test_streams_and_objects_within_target_then_stall_caught() -> None:
    root = Path(tempfile.mkdtemp(prefix="godseye-datasync-test-"))
    ports = [free_port_block(26379, span=300)]
    try:
        calm = run_watch(root / "calm", seconds=5.0, rate_per_s=200.0, window_s=1.0, redis_port=ports[0])
        assert calm["stream"]["events_acked"] > 500
        assert calm["stream"]["breached"] is False
        assert calm["objects"]["breached"] is False and calm["objects"]["batches"] >= 3
        assert all(v["lag_s_max"] < 5.0 for k, v in calm["lag"].items() if k.startswith("order-events/"))
        # Batches every second: a copy is never more than a window (plus one sync) behind.
        assert all(v["lag_s_max"] < 3.0 for k, v in calm["lag"].items() if k.startswith("product-media/"))

        ports.append(free_port_block(26379, span=300))
        stalled = run_watch(root / "stalled", seconds=14.0, rate_per_s=200.0, window_s=1.0, stall=("gcp", "azure"),
                            redis_port=ports[1])
        assert stalled["stream"]["breached"] is True
        assert any("order-events rpo-breach" in e for e in stalled["events"])
        assert stalled["objects"]["breached"] is False  # 7 s behind is far inside 15 min
        assert stalled["lag"]["order-events/gcp"]["lag_s_max"] >= 5.0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if _redis_of_ours(p, ports)]
    assert not left, f"redis-server processes left behind: {left}"


def _redis_of_ours(cmdline: Path, ports: list[int]) -> bool:
    try:
        text = cmdline.read_bytes().decode(errors="replace")
        state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and "redis-server" in text and any(f":{port + i}" in text for port in ports for i in range(3))
