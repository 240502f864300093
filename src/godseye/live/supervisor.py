"""Real processes of the lab: start, stop, kill, pause, resume, and no leftovers even after a crash.

Three layers make sure nothing outlives the lab:
- every process runs in its own process group (new session), so a signal reaches all it spawned;
- every process gets PR_SET_PDEATHSIG=SIGKILL, so if the lab process dies (even by SIGKILL) the
  kernel kills its children;
- every process has a pid file (pid + kernel start time) in `<lab>/pids/`, so `lab down` and the
  tests' fixtures find and kill what a previous crashed run left, without ever killing a stranger
  that reused the pid (the start time would differ).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 2.0
WAIT_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: identifies this process, not just its pid
    argv: list[str]


def start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _is_alive(record: ProcessRecord) -> bool:
    ticks = start_ticks(record.pid)
    if ticks is None or ticks != record.start_ticks:
        return False
    try:
        state = Path(f"/proc/{record.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Supervisor:
    """Owns the lab's child processes. Call `start` from the thread that will outlive them (the
    death signal is tied to the thread that forked)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid_dir = directory / "pids"
        self.log_dir = directory / "logs"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._records: dict[str, ProcessRecord] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ProcessRecord:
        assert "/" not in name, "names become file names"
        if self.is_running(name):
            raise RuntimeError(f"process {name} is already running")
        self._reap(name)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps the descriptor
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # safe: the lab forks from its only thread
                env={**os.environ, **(env or {})},
            )
        finally:
            log.close()
        record = ProcessRecord(name, proc.pid, start_ticks(proc.pid) or 0, argv)
        self._procs[name] = proc
        self._records[name] = record
        (self.pid_dir / f"{name}.json").write_text(json.dumps(asdict(record)))
        return record

    def names(self) -> list[str]:
        return sorted(self._records)

    def record(self, name: str) -> ProcessRecord | None:
        return self._records.get(name)

    def is_running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    def is_paused(self, name: str) -> bool:
        rec = self._records.get(name)
        if rec is None or not self.is_running(name):
            return False
        try:
            return Path(f"/proc/{rec.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
        except OSError:
            return False

    def signal(self, name: str, sig: int) -> bool:
        """Send `sig` to the process group of `name`; False when it is not running."""
        rec = self._records.get(name)
        if rec is None or not self.is_running(name):
            return False
        _signal_group(rec.pid, sig)
        return True

    def kill(self, name: str) -> bool:
        """SIGKILL, the way a cloud dies: no goodbye, connections reset."""
        done = self.signal(name, signal.SIGKILL)
        self._wait(name, STOP_GRACE_S)
        self._reap(name)
        return done

    def pause(self, name: str) -> bool:
        """SIGSTOP, the way a cloud hangs: connections accepted by the kernel, never answered."""
        return self.signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> bool:
        return self.signal(name, signal.SIGCONT)

    def stop(self, name: str, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (after SIGCONT, a stopped process would never see it), then SIGKILL after grace_s."""
        if self.signal(name, signal.SIGTERM):
            _signal_group(self._records[name].pid, signal.SIGCONT)
            if not self._wait(name, grace_s):
                self.signal(name, signal.SIGKILL)
                self._wait(name, grace_s)
        self._reap(name)

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        for name in list(self._records):
            if self.is_running(name):
                self.signal(name, signal.SIGTERM)
                _signal_group(self._records[name].pid, signal.SIGCONT)
        deadline = time.monotonic() + grace_s
        for name in list(self._records):
            self._wait(name, max(0.0, deadline - time.monotonic()))
            if self.is_running(name):
                self.signal(name, signal.SIGKILL)
                self._wait(name, grace_s)
            self._reap(name)
        cleanup_leftovers(self.directory)

    def _wait(self, name: str, timeout_s: float) -> bool:
        proc = self._procs.get(name)
        if proc is None:
            return True
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _reap(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            del self._procs[name]
            self._records.pop(name, None)
            (self.pid_dir / f"{name}.json").unlink(missing_ok=True)


def read_records(directory: Path) -> list[ProcessRecord]:
    out: list[ProcessRecord] = []
    for f in sorted((directory / "pids").glob("*.json")):
        try:
            d = json.loads(f.read_text())
            out.append(ProcessRecord(d["name"], int(d["pid"]), int(d["start_ticks"]), list(d["argv"])))
        except (OSError, ValueError, KeyError):
            f.unlink(missing_ok=True)
    return out


def cleanup_leftovers(directory: Path, timeout_s: float = 3.0) -> list[str]:
    """Kill every process a lab in `directory` left behind (still the same process per its start time);
    remove their pid files. Returns the names killed."""
    killed: list[str] = []
    for rec in read_records(directory):
        if _is_alive(rec):
            _signal_group(rec.pid, signal.SIGKILL)
            killed.append(rec.name)
    deadline = time.monotonic() + timeout_s
    for rec in read_records(directory):
        while _is_alive(rec) and time.monotonic() < deadline:
            time.sleep(WAIT_POLL_S)
        (directory / "pids" / f"{rec.name}.json").unlink(missing_ok=True)
    return killed


def alive_records(directory: Path) -> list[ProcessRecord]:
    return [r for r in read_records(directory) if _is_alive(r)]
