"""Live tests run real processes: every test gets its own lab folder, and leaves no process behind."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from godseye.live.supervisor import alive_records, cleanup_leftovers


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("haproxy is not installed (scripts/install-lab-deps.sh)")
    d = tmp_path / "lab"
    d.mkdir()
    try:
        yield d
    finally:
        # Whatever happened in the test, nothing it started may survive it.
        left = cleanup_leftovers(d) + cleanup_leftovers(d / "daemon")
        assert not alive_records(d) and not alive_records(d / "daemon")
        assert not left, f"the test left processes behind: {left}"
