"""Object-kind datastores: one object folder per lab cloud, the aws one written to, the others filled
by a batch sync every `window_s` (rsync from Debian, run by a scheduler thread), as the seed's
"Object Storage Replication, Batch Sync (RPO < 15 min)" does.

Positions are times in ms, as control/replication.py expects for objects: the primary has
acknowledged objects up to the newest one it holds; a copy has everything written before the
start of its last successful sync, which the sync records in the copy's `.synced_until_ms`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from godseye.control.observations import ReplicaPosition
from godseye.live.paths import lab_dir

CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")
MARKER = ".synced_until_ms"
RSYNC_TIMEOUT_S = 60.0


class ObjectSyncError(RuntimeError):
    pass


def _now_ms() -> int:
    return int(time.time() * 1000)  # object times are file times: the wall clock, in ms


class ObjectStore:
    def __init__(self, root: Path | None = None, datastore: str = "product-media") -> None:
        self.root = root if root is not None else lab_dir() / "objects"
        self.datastore = datastore
        self.primary = CLOUDS[0]
        self.dirs = {c: self.root / c / datastore for c in CLOUDS}
        self.written = 0

    def up(self) -> None:
        if shutil.which("rsync") is None:
            raise ObjectSyncError("rsync not found: apt-get install rsync")
        now = _now_ms()
        for cloud, d in self.dirs.items():
            d.mkdir(parents=True, exist_ok=True)
            if cloud != self.primary:
                (d / MARKER).write_text(f"{now}\n")  # empty everywhere: every copy is level now

    def down(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def put(self, name: str, data: bytes) -> None:
        """Write an object to the primary's folder atomically (a sync never copies half of one)."""
        target = self.dirs[self.primary] / name
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        self.written += 1

    def newest_ms(self, cloud: str) -> int:
        newest = 0
        with os.scandir(self.dirs[cloud]) as entries:
            for entry in entries:
                if not entry.name.startswith("."):
                    newest = max(newest, int(entry.stat().st_mtime * 1000))
        return newest

    def synced_until_ms(self, cloud: str) -> int:
        try:
            return int((self.dirs[cloud] / MARKER).read_text().strip())
        except (OSError, ValueError):
            return 0

    def sync(self, cloud: str) -> None:
        """One batch: everything the primary holds now goes to `cloud`, then the marker says up to when."""
        started = _now_ms()
        src, dst = self.dirs[self.primary], self.dirs[cloud]
        proc = subprocess.run(["rsync", "-a", "--delay-updates", "--exclude", ".*", f"{src}/", f"{dst}/"],
                              capture_output=True, text=True, timeout=RSYNC_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise ObjectSyncError(f"rsync to {cloud} exited {proc.returncode}: {proc.stderr.strip()}")
        marker = dst / MARKER
        tmp = dst / f"{MARKER}.tmp"
        tmp.write_text(f"{started}\n")
        os.replace(tmp, marker)

    def positions(self, t_s: float) -> list[ReplicaPosition]:
        out: list[ReplicaPosition] = []
        acked = self.newest_ms(self.primary)
        out.append(ReplicaPosition(t_s, self.datastore, self.primary, "primary", acked, acked, acked))
        for cloud in CLOUDS:
            if cloud != self.primary:
                got = self.synced_until_ms(cloud)
                out.append(ReplicaPosition(t_s, self.datastore, cloud, "replica", got, got, got))
        return out


class BatchSync:
    """The scheduler: every `window_s`, one rsync batch to each copy (a failed batch is retried next window)."""

    def __init__(self, store: ObjectStore, window_s: float, paused: set[str] | None = None) -> None:
        self.store = store
        self.window_s = window_s
        self.paused = paused if paused is not None else set()  # copies whose sync is stalled on purpose
        self.batches = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="object-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(RSYNC_TIMEOUT_S + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.window_s):
            for cloud in CLOUDS:
                if cloud == self.store.primary or cloud in self.paused:
                    continue
                try:
                    self.store.sync(cloud)
                except (ObjectSyncError, OSError, subprocess.TimeoutExpired) as exc:
                    self.errors.append(str(exc))
            self.batches += 1
