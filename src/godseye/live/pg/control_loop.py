"""The real control plane driving the PostgreSQL triplet on the wall clock.

A `Plane` (control/plane.py) built from the lab platform is fed, every tick:
- the triplet's real replication positions (`ReplicationWatch`) as `ReplicaPosition`s;
- every `probe_interval_s`, one probe of each cloud's database from every vantage point (the edge
  and the other clouds): ok while its cluster answers the control plane, timed out when it does
  not. In this check the database is the only thing a lab cloud runs, so "its database does not
  answer any vantage point" is exactly "the cloud is down" for the health quorum.
Its actions for the datastore go to `PgFailoverAdapter`. Every decision (cloud down, which survivor,
when it has replayed enough, who follows whom, when writes resume) is the plane's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from godseye.control.decision import Emitted
from godseye.control.observations import EDGE, ProbeResult
from godseye.control.plane import Plane
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.live.pg.cluster import Triplet
from godseye.live.pg.failover_adapter import PgFailoverAdapter
from godseye.live.pg.positions import ReplicationWatch
from godseye.spec.loader import load_platform
from godseye.spec.models import Platform

TICK_S = 0.05
PROBE_INTERVAL_S = 0.2
JOIN_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    t_s: float  # monotonic clock
    actor: str
    event: str


def lab_plane(platform: Platform | None = None) -> tuple[Plane, str]:
    """The lab's plane with its first tier-1 service and that service's sql datastore."""
    lab = build_lab_spec(platform or load_platform(), LabSizing(services_per_tier={1: 1, 2: 0, 3: 0}, with_datastores=True))
    sql = [name for name, store in lab.platform.datastores.items() if store.kind == "sql"]
    if not sql:
        raise ValueError("the lab platform's tier-1 service uses no sql datastore")
    return Plane(lab.platform, lab.services), sql[0]


class PgControlLoop:
    def __init__(self, triplet: Triplet, platform: Platform | None = None, probe_interval_s: float = PROBE_INTERVAL_S) -> None:
        self.plane, self.datastore = lab_plane(platform)
        self.triplet = triplet
        self.watch = ReplicationWatch(triplet, self.datastore)
        self.adapter = PgFailoverAdapter(triplet, self.datastore)
        self.probe_interval_s = probe_interval_s
        self.timeline: list[TimelineEntry] = []
        self.lag_samples: list[dict[str, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-control", daemon=True)

    def start(self) -> None:
        self.watch.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        self.watch.stop()

    def _run(self) -> None:
        next_probe = 0.0
        next_lag = 0.0
        clouds = self.triplet.clouds
        while not self._stop.is_set():
            now = time.monotonic()
            self.watch.unstick()
            for position in self.watch.positions(now):
                self.plane.observe(position)
            if now >= next_probe:
                next_probe = now + self.probe_interval_s
                for cloud in clouds:
                    ok = self.watch.reachable(cloud, now)
                    for vantage in (EDGE, *(c for c in clouds if c != cloud)):
                        self.plane.observe(ProbeResult(now, vantage, cloud, f"pg-{self.datastore}", ok, timed_out=not ok))
            if now >= next_lag:
                next_lag = now + 1.0
                lag = self.watch.lag(now)
                if lag:
                    self.lag_samples.append(lag)
            for emitted in self.plane.step(now):
                self._record(emitted)
                self.adapter.apply(emitted.action)
            self._stop.wait(TICK_S)

    def _record(self, emitted: Emitted) -> None:
        action = emitted.action
        self.timeline.append(TimelineEntry(time.monotonic(), emitted.actor, f"{type(action).__name__}: {action.reason}"))
