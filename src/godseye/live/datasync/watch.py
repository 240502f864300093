"""The replication watch (control/replication.py) fed live positions of a stream and an object store.

Under a steady write load it reports, per copy, lag in position units and in seconds as the watch
computes them, and whether the datastore's RPO target (stream 5 s, object 15 min, from the spec's
tiers and the sync box) was breached. `stall` stops replication to the given copies half way
(their Redis replicas re-pointed at nothing, their object batches skipped) to show the watch catching it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from godseye.control import replication
from godseye.control.actions import Condition
from godseye.control.observations import ReplicaPosition
from godseye.control.replication import ReplicationMemory, ReplicationView, targets_from_platform
from godseye.live.datasync.objects import BatchSync, ObjectStore
from godseye.live.datasync.streams import CLOUDS, RedisTrio, StreamWriter
from godseye.spec.loader import load_platform

SAMPLE_S = 0.25
OBJECT_PUT_S = 0.1


def run_watch(root: Path, seconds: float, rate_per_s: float, window_s: float, stall: tuple[str, ...] = (),
              stream: str = "order-events", objects: str = "product-media", redis_port: int = 26379) -> dict[str, Any]:
    platform = load_platform()
    targets = {k: v for k, v in targets_from_platform(platform).items() if k in (stream, objects)}
    trio = RedisTrio(root / "streams", base_port=redis_port, datastore=stream)
    store = ObjectStore(root / "objects", datastore=objects)
    memory = ReplicationMemory()
    worst: dict[str, dict[str, float]] = {}
    events: list[str] = []
    stop = threading.Event()

    def put_objects() -> None:
        n = 0
        while not stop.wait(OBJECT_PUT_S):
            store.put(f"{n:08d}.bin", b"x" * 1024)
            n += 1

    trio.up()
    try:
        store.up()
        writer = StreamWriter(trio, rate_per_s)
        syncer = BatchSync(store, window_s)
        putter = threading.Thread(target=put_objects, name="object-writer", daemon=True)
        writer.start()
        syncer.start()
        putter.start()
        t0 = time.monotonic()
        stalled = False
        try:
            while (now := time.monotonic()) - t0 < seconds:
                if stall and not stalled and now - t0 >= seconds / 2:
                    for cloud in stall:
                        trio.stall(cloud)
                        syncer.paused.add(cloud)
                    stalled = True
                    events.append(f"{now - t0:.1f}s stalled replication to {', '.join(stall)}")
                positions: list[ReplicaPosition] = trio.positions(now) + store.positions(now)
                view = ReplicationView(now, targets, tuple(positions), CLOUDS)
                decision = replication.reconcile(view, memory)
                memory = decision.memory
                for action in decision.actions:
                    if isinstance(action, Condition):
                        events.append(f"{now - t0:.1f}s {action.subject} {action.event}: {action.reason}")
                state = memory.state
                for store_name in targets:
                    if store_name not in state.datastores:
                        continue
                    for lag in state.lags(store_name):
                        if lag.role == "primary":
                            continue
                        key = f"{store_name}/{lag.cloud}"
                        seen = worst.setdefault(key, {"lag_pos_max": 0.0, "lag_s_max": 0.0})
                        seen["lag_pos_max"] = max(seen["lag_pos_max"], float(lag.lag_pos))
                        seen["lag_s_max"] = max(seen["lag_s_max"], lag.lag_s)
                time.sleep(SAMPLE_S)
        finally:
            stop.set()
            writer.stop()
            syncer.stop()
            putter.join(5.0)
        state = memory.state
        return {
            "seconds": seconds,
            "stream": {"datastore": stream, "rpo_target_s": targets[stream].rpo_target_s, "events_acked": writer.acked,
                       "breached": state.breached(stream) if stream in state.datastores else None},
            "objects": {"datastore": objects, "rpo_target_s": targets[objects].rpo_target_s, "window_s": window_s,
                        "objects_written": store.written, "batches": syncer.batches, "sync_errors": syncer.errors[:5],
                        "breached": state.breached(objects) if objects in state.datastores else None},
            "lag": {k: {"lag_pos_max": int(v["lag_pos_max"]), "lag_s_max": round(v["lag_s_max"], 3)}
                    for k, v in sorted(worst.items())},
            "events": events,
        }
    finally:
        trio.down()
        store.down()
