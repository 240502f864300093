"""Live tests run real processes: every test gets its own lab folder, and leaves no process behind."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from godseye.live.datasync.streams import RedisTrio
from godseye.live.pg.cluster import Triplet, cluster_pids
from godseye.live.supervisor import alive_records, cleanup_leftovers


def _haproxy_or_skip() -> None:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("haproxy is not installed (scripts/install-lab-deps.sh)")


def _no_leftovers(d: Path) -> None:
    # Whatever happened in the test, nothing it started may survive it.
    left = cleanup_leftovers(d) + cleanup_leftovers(d / "daemon")
    assert not alive_records(d) and not alive_records(d / "daemon")
    assert not left, f"the test left processes behind: {left}"


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    _haproxy_or_skip()
    d = tmp_path / "lab"
    d.mkdir()
    try:
        yield d
    finally:
        _no_leftovers(d)


def redis_pids(trio: RedisTrio) -> list[int]:
    """Live redis-server processes listening where this trio's servers do."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        # redis-server rewrites its title to "redis-server <host>:<port>".
        ours = any(f"{n.host}:{n.port}" in cmdline for n in trio.nodes.values())
        if state not in ("Z", "X") and "redis-server" in cmdline and ours:
            found.append(int(entry.name))
    return found


@pytest.fixture
def data_lab_dir() -> Iterator[Path]:
    """A lab folder the postgres user can reach (pytest's tmp_path is private to root), for runs with the
    lab's real datastores. Afterwards no PostgreSQL, Redis or lab process of it may be left."""
    _haproxy_or_skip()
    root = Path(tempfile.mkdtemp(prefix="godseye-lab-data-"))
    root.chmod(0o755)
    d = root / "lab"
    d.mkdir()
    triplet, trio = Triplet(d / "pg"), RedisTrio(d / "streams")
    try:
        yield d
    finally:
        try:
            _no_leftovers(d)
        finally:
            pg_before = {c: cluster_pids(n.title, None) for c, n in triplet.nodes.items()}
            redis_before = redis_pids(trio)
            triplet.down()
            trio.down()
            shutil.rmtree(root, ignore_errors=True)
            assert not any(pg_before.values()) and not redis_before, (
                f"the test left datastores behind: postgres {pg_before}, redis {redis_before}")
            assert not any(cluster_pids(n.title, None) for n in triplet.nodes.values()) and not redis_pids(trio)
