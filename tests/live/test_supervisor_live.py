"""The supervisor on real (tiny) processes: signals reach the group, pid files never kill a stranger."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from godseye.live.supervisor import Supervisor, alive_records, cleanup_leftovers, read_records

pytestmark = pytest.mark.live

SLEEPER = ["sh", "-c", "sleep 30 & wait"]  # a parent and a child in one process group


def eventually(check: Callable[[], bool], timeout_s: float = 2.0) -> bool:
    """Signals are delivered asynchronously: wait (bounded) for the state to show."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_kill_pause_resume_stop_reach_the_whole_group(lab_dir: Path) -> None:
    sup = Supervisor(lab_dir)
    try:
        rec = sup.start("a", SLEEPER)
        assert sup.is_running("a") and [r.name for r in read_records(lab_dir)] == ["a"]

        def group_size() -> int:
            out = subprocess.run(["pgrep", "-g", str(rec.pid)], capture_output=True, text=True, check=False)
            return len(out.stdout.split())

        # Wait until the shell has forked its background child (a stop mid-fork leaves it in state D).
        assert eventually(lambda: group_size() == 2)
        assert sup.pause("a") and eventually(lambda: sup.is_paused("a"))
        assert sup.resume("a") and eventually(lambda: not sup.is_paused("a"))
        assert sup.kill("a") and not sup.is_running("a")
        assert read_records(lab_dir) == []
        # The child of the killed shell died with its group.
        assert eventually(lambda: group_size() == 0)
        sup.start("b", SLEEPER)
        sup.pause("b")
        sup.stop("b", grace_s=1.0)  # a stopped process still gets its SIGTERM (SIGCONT follows it)
        assert not sup.is_running("b")
    finally:
        sup.stop_all(grace_s=1.0)
    assert not alive_records(lab_dir)


def test_a_pid_file_of_a_reused_pid_kills_nothing(lab_dir: Path) -> None:
    (lab_dir / "pids").mkdir()
    # Our own pid, but with another start time: the record names a process that no longer exists.
    (lab_dir / "pids" / "ghost.json").write_text(json.dumps({"name": "ghost", "pid": os.getpid(), "start_ticks": 1, "argv": []}))
    assert cleanup_leftovers(lab_dir) == []
    assert read_records(lab_dir) == []
