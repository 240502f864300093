"""Throughput of acknowledged writes with synchronous quorum replication against asynchronous, and
the replicas' lag under that load, measured on the running triplet: as the primary reports it
(pg_stat_replication) and as the replication controller computes it from the live positions.

The same writers as the write check, unpaced: each commits as fast as the primary acknowledges.
Synchronous: the cluster's setting (`ANY 1` quorum, commit returns once a second cloud flushed).
Asynchronous: the writers' sessions set `synchronous_commit = local` (commit returns once the
primary flushed; the replicas follow as fast as they can).
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from godseye.control import replication
from godseye.control.replication import ReplicationMemory, ReplicationView, targets_from_platform
from godseye.live.pg.cluster import Triplet
from godseye.live.pg.positions import ReplicationWatch
from godseye.live.pg.write_check import prepare
from godseye.live.pg.writers import PointerRoute, Writer
from godseye.spec.loader import load_platform

LAG_SAMPLE_S = 0.2
DATASTORE = "orders"


def measure(triplet: Triplet, seconds: float, writers: int, synchronous: bool) -> dict[str, Any]:
    prepare(triplet)
    watch = ReplicationWatch(triplet, DATASTORE)
    # The replication controller itself, fed the live positions: its per-replica lag in bytes and seconds.
    targets = {DATASTORE: targets_from_platform(load_platform())[DATASTORE]}
    memory = ReplicationMemory()
    per_replica: dict[str, dict[str, float]] = {}
    run = uuid.uuid4().hex[:12]
    route = PointerRoute(triplet.root, synchronous=synchronous)
    clients = [Writer(route, run, i, writers, rate_per_s=0.0) for i in range(writers)]
    lag_bytes: list[float] = []
    lag_s: list[float] = []
    watch.start()
    try:
        start = time.monotonic()
        for w in clients:
            w.start()
        end = start + seconds
        while time.monotonic() < end:
            for w in clients:
                w.abort_if_stuck()
            now = time.monotonic()
            for stat in watch.lag(now).values():
                lag_bytes.append(stat["lag_bytes"])
                lag_s.append(stat["lag_s"])
            memory = replication.reconcile(
                ReplicationView(now, targets, tuple(watch.positions(now)), triplet.clouds), memory).memory
            if DATASTORE in memory.state.datastores:
                for lag in memory.state.lags(DATASTORE):
                    if lag.role == "replica":
                        seen = per_replica.setdefault(lag.cloud, {"lag_bytes_max": 0.0, "lag_s_max": 0.0})
                        seen["lag_bytes_max"] = max(seen["lag_bytes_max"], float(lag.lag_pos))
                        seen["lag_s_max"] = max(seen["lag_s_max"], lag.lag_s)
            time.sleep(LAG_SAMPLE_S)
    finally:
        for w in clients:
            w.stop()
        watch.stop()
    acks = [a for w in clients for a in w.acks]
    window = [a for a in acks if a.t_s <= end]
    acked = len(window)
    return {
        "mode": "synchronous (ANY 1 quorum)" if synchronous else "asynchronous (synchronous_commit=local)",
        "writers": writers,
        "seconds": seconds,
        "acked": acked,
        "acked_per_s": round(acked / seconds, 1),
        "lag_bytes_median": int(statistics.median(lag_bytes)) if lag_bytes else 0,
        "lag_bytes_max": int(max(lag_bytes, default=0)),
        "lag_s_median": round(statistics.median(lag_s), 4) if lag_s else 0.0,
        "lag_s_max": round(max(lag_s, default=0.0), 4),
        "replication_watch": {c: {"lag_bytes_max": int(v["lag_bytes_max"]), "lag_s_max": round(v["lag_s_max"], 4)}
                              for c, v in sorted(per_replica.items())},
    }


def compare(triplet: Triplet, seconds: float = 5.0, writers: int = 4) -> dict[str, Any]:
    sync = measure(triplet, seconds, writers, synchronous=True)
    unsync = measure(triplet, seconds, writers, synchronous=False)
    ratio = sync["acked_per_s"] / unsync["acked_per_s"] if unsync["acked_per_s"] else 0.0
    return {"synchronous": sync, "asynchronous": unsync, "sync_over_async": round(ratio, 3)}
