"""Datastores and their replication between clouds.

Every datastore has a copy in every cloud and one primary (where writes are acknowledged).
Replication mode follows the datastore's kind and tier (the seed: tier 1 is "RPO 0, synchronous
replication"; Kafka MirrorMaker "RPO < 5 s"; object storage "batch sync, RPO < 15 min"):

- sync: tier-1 sql or stream (CockroachDB / Spanner, Kafka stretched across clouds). A write is
  acknowledged once a second cloud has it, so a surviving copy always holds every acked write.
  Writes need a majority of copies up and linked to the primary; losing the primary's cloud costs a
  leader election of LEASE_S (CockroachDB's range lease, ANCHORS "1-9 s"), during which writes wait.
- async: other sql and stream. A copy receives writes after a pipeline delay and at most at the
  datastore's `replication_mb_s`. The link is a queue like any other: its delay is the unloaded
  delay (ASYNC_BASE_LAG_S by kind) / (1 - rho), rho = write rate / replication throughput, so lag
  grows with load even before the link saturates; beyond saturation writes pile up as a backlog,
  and they pile up without bound while a link is partitioned or stalled.
- batch: object storage. Writes are shipped every BATCH_WINDOW_S (if the link is up then), so a
  copy lags between the transfer time and a window plus the transfer time.

Write volume follows the load of the services using the datastore (write_mb_s at baseline).
A failover (a leader election, or a PromoteReplica from the plane while the old primary is
unreachable) loses the writes the new primary did not hold: that window, in seconds, is the RPO.

`DataModel._step` is the model as written, store by store. The stores a fault state leaves steady take
an exact fast path instead, which also keeps the integer position columns the replication polls read
(`steady_stores`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from godseye.sim.faults import FaultState
from godseye.sim.steady_stores import CopyLayout, PositionColumns, SteadyStores
from godseye.spec.models import Platform

Mode = Literal["sync", "async", "batch"]

LEASE_S = 9.0
ASYNC_BASE_LAG_S = {"sql": 0.2, "stream": 1.0}
# Link utilisation at which the pipeline delay stops growing (beyond it the backlog takes over).
LINK_SATURATED = 0.95
BATCH_WINDOW_S = 300.0
# Positions are bytes; 1 MB = 1e6 bytes.
MB = 1_000_000
# The name tests/property/test_data_properties.py builds its all-general reference plan with.
_Steady = SteadyStores


@dataclass(frozen=True, slots=True)
class Loss:
    t_s: float
    datastore: str
    old_primary: str
    new_primary: str
    window_s: float


class Store:
    def __init__(self, name: str, kind: str, tier: int, write_mb_s: float, replication_mb_s: float, clouds: list[str],
                 primary: str, batch_phase_s: float) -> None:
        self.name = name
        self.kind = kind
        self.mode: Mode = "batch" if kind == "object" else ("sync" if tier == 1 else "async")
        self.base_lag_s = ASYNC_BASE_LAG_S.get(kind, 0.0)
        self.write_mb_s = write_mb_s
        self.replication_mb_s = replication_mb_s
        self.clouds = clouds
        self.primary = primary
        self.batch_phase_s = batch_phase_s
        self.acked_mb = 0.0
        self.backlog_mb = {c: 0.0 for c in clouds}  # async: acked writes a copy has not received
        self.synced_at_s = {c: 0.0 for c in clouds}  # batch: time up to which a copy holds writes
        self.sync_received_mb = {c: 0.0 for c in clouds}  # sync: what a copy held when last linked
        self.received_mb = {c: 0.0 for c in clouds}  # async: what a copy has received (only grows)
        self.held = False
        self.rate_mb_s = write_mb_s
        # Follow from rate_mb_s, refreshed with it (DataModel._rate): async in-flight bound, batch transfer.
        self.in_flight_cap_mb = 0.0
        self.transfer_s = 0.0
        self.election_until_s: float | None = None
        self.frozen_lag_s: dict[str, float] = {}  # lag of each copy when the primary became unreachable
        self._links: dict[str, bool] = {}
        self._links_key: tuple[int, str] = (-1, "")

    def lag_s(self, cloud: str, now: float) -> float:
        """Seconds of acknowledged writes the copy in `cloud` does not hold."""
        if cloud == self.primary or self.mode == "sync":
            return 0.0
        if self.mode == "batch":
            return max(0.0, now - self.synced_at_s[cloud])
        rate = max(self.rate_mb_s, 1e-9)
        return self.pipeline_s() + self.backlog_mb[cloud] / rate

    def pipeline_s(self) -> float:
        """Delay of the replication link at the current write rate (M/M/1-like, capped near saturation)."""
        rho = min(self.rate_mb_s / self.replication_mb_s, LINK_SATURATED)
        return self.base_lag_s / (1.0 - rho)

    def writable(self, faults: FaultState, now: float) -> bool:
        if self.election_until_s is not None and now < self.election_until_s:
            return False
        if not faults.cloud_up(self.primary):
            return False
        if self.mode != "sync":
            return True
        return sum(self.links(faults).values()) * 2 > len(self.clouds)

    def links(self, faults: FaultState) -> dict[str, bool]:
        """Which copies the primary can ship to now (linked and not stalled), cached per fault state."""
        key = (faults.version, self.primary)
        if self._links_key != key:
            self._links = {c: faults.linked(self.primary, c) and not faults.stalled(self.name, c) for c in self.clouds}
            self._links_key = key
        return self._links


class DataModel:
    def __init__(self, platform: Platform, primaries: dict[str, str], tiers: dict[str, int], rng: random.Random) -> None:
        clouds = list(platform.clouds)
        self.stores = [
            Store(name, d.kind, tiers[name], d.write_mb_s, d.replication_mb_s, clouds, primaries[name],
                  rng.uniform(0.0, BATCH_WINDOW_S))
            for name, d in platform.datastores.items()
        ]
        self.by_name = {s.name: s for s in self.stores}
        self.losses: list[Loss] = []
        self.layout: CopyLayout | None = None  # sensors.replication's, kept here across polls
        self.promotions = 0  # primaries changed so far: what the layout is keyed on
        # Every poll of a jump passes the same load: the rates are set again only when it changed.
        self._rated: dict[str, float] | None = None
        self._by_mode: dict[Mode, list[Store]] = {m: [st for st in self.stores if st.mode == m]
                                                  for m in ("sync", "async", "batch")}
        self._steady: SteadyStores | None = None
        # The steady stores' step and the position columns it keeps current (`steady_stores`).
        self._columns = PositionColumns(self.stores, BATCH_WINDOW_S, MB)

    def advance(self, t0: float, t1: float, load: dict[str, float], faults: FaultState) -> list[tuple[float, str]]:
        """Integrate writes and replication over [t0, t1); returns timeline notes (elections)."""
        dt = t1 - t0
        notes: list[tuple[float, str]] = []
        if load != self._rated:
            self._rate(load)
        plan = self._steady
        if plan is None or plan.faults is not faults or plan.version != faults.version:
            plan = self._steady = self._group(faults)
        for st in plan.general:
            before = (st.primary, st.election_until_s)
            self._step(st, t0, t1, dt, faults, notes)
            self._columns.stale = True
            if (st.primary, st.election_until_s) != before:
                self._steady = None
        self._columns.advance(plan, dt, t1)
        return notes

    def position_columns(self, now: float) -> tuple[list[int], list[int]]:
        """`positions` at `now` of every store's acked (store order) and every copy's received (store
        by store, clouds in order). The lists are the model's own: read them before it advances."""
        return self._columns.read(self.stores, now)

    def _rate(self, load: dict[str, float]) -> None:
        """Write rates from the load, and what follows from them for the whole step."""
        get = load.get
        for st in self._by_mode["sync"]:
            st.rate_mb_s = st.write_mb_s * get(st.name, 1.0)
        for st in self._by_mode["async"]:
            st.rate_mb_s = rate = st.write_mb_s * get(st.name, 1.0)
            # Store.pipeline_s, inlined: min(rate / replication_mb_s, LINK_SATURATED).
            rho = rate / st.replication_mb_s
            rho = LINK_SATURATED if rho > LINK_SATURATED else rho
            st.in_flight_cap_mb = st.base_lag_s / (1.0 - rho) * rate
        for st in self._by_mode["batch"]:
            st.rate_mb_s = rate = st.write_mb_s * get(st.name, 1.0)
            st.transfer_s = rate * BATCH_WINDOW_S / st.replication_mb_s
        self._rated = dict(load)

    def _group(self, faults: FaultState) -> SteadyStores:
        """The stores `faults` leaves steady; a subclass may put every store in the general step."""
        return self._columns.group(self.stores, faults)

    def _step(self, st: Store, t0: float, t1: float, dt: float, faults: FaultState,
              notes: list[tuple[float, str]]) -> None:
        """One store over [t0, t1) in general: elections, moving writers, holds, partitions, stalls."""
        primary_up = faults.cloud_up(st.primary)
        if not primary_up or st.election_until_s is not None:
            if not primary_up and not st.frozen_lag_s:
                st.frozen_lag_s = {c: st.lag_s(c, t0) for c in st.clouds}
            if st.mode == "sync" and not primary_up and st.election_until_s is None:
                st.election_until_s = t0 + LEASE_S
            if st.mode == "sync" and st.election_until_s is not None and t0 >= st.election_until_s - 1e-9:
                at = st.election_until_s
                notes += [(at, n) for n in self._elect(st, at, faults)]
            if not primary_up and st.mode != "sync" and st.kind != "sql":
                notes += [(t0, n) for n in self._writers_move(st, t0, faults)]
            if faults.cloud_up(st.primary):
                st.frozen_lag_s = {}
        elif st.frozen_lag_s:
            st.frozen_lag_s = {}  # the steady case: primary up, no election pending
        links = st.links(faults)
        writing = st.writable(faults, t0) and not st.held
        if writing:
            st.acked_mb += st.rate_mb_s * dt
        if st.mode == "sync":
            for c in st.clouds:
                if c != st.primary and links[c]:
                    st.sync_received_mb[c] = st.acked_mb
        elif st.mode == "async":
            acked = st.acked_mb
            in_flight = min(acked, st.in_flight_cap_mb)
            inflow = st.rate_mb_s * dt if writing else 0.0
            for c in st.clouds:
                if c == st.primary:
                    continue
                link = links[c]
                b = st.backlog_mb[c] + inflow - (st.replication_mb_s * dt if link else 0.0)
                b = b if b > 0.0 else 0.0  # max(0.0, b), NaN included
                st.backlog_mb[c] = b
                if link:
                    st.received_mb[c] = max(st.received_mb[c], acked - b - in_flight)
        else:
            window = self._last_window(st, t1)
            for c in st.clouds:
                if c != st.primary and links[c]:
                    st.synced_at_s[c] = max(st.synced_at_s[c], window)

    def _last_window(self, st: Store, t: float) -> float:
        k = (t - st.batch_phase_s) // BATCH_WINDOW_S
        boundary = st.batch_phase_s + k * BATCH_WINDOW_S
        # A window's content arrives one transfer later: its volume over the replication throughput.
        return boundary - BATCH_WINDOW_S if t < boundary + st.transfer_s else boundary

    def _writers_move(self, st: Store, t: float, faults: FaultState) -> list[str]:
        """Streams and object stores are written in every cloud and mirrored (MirrorMaker, bucket
        replication): when the cloud holding the newest writes fails, writers carry on in the copy
        that holds the most, and the tail that was not mirrored yet is lost."""
        survivors = [c for c in st.clouds if faults.cloud_up(c)]
        if not survivors:
            return []
        best = min(survivors, key=lambda c: (st.frozen_lag_s.get(c, st.lag_s(c, t)), st.clouds.index(c)))
        return [self._promote(st, best, t, faults)]

    def _elect(self, st: Store, t: float, faults: FaultState) -> list[str]:
        st.election_until_s = None
        if faults.cloud_up(st.primary):
            return []
        survivors = [c for c in st.clouds if faults.cloud_up(c)]
        majority = [c for c in survivors if sum(1 for o in survivors if faults.linked(c, o)) * 2 > len(st.clouds)]
        if not majority:
            return [f"{st.name}: no majority of copies left, writes unavailable"]
        return [self._promote(st, majority[0], t, faults)]

    def promote(self, name: str, cloud: str, t: float, faults: FaultState) -> str:
        st = self.by_name[name]
        if cloud == st.primary:
            return f"{name}: {cloud} is already primary"
        return self._promote(st, cloud, t, faults)

    def _promote(self, st: Store, cloud: str, t: float, faults: FaultState) -> str:
        old = st.primary
        # A planned switchover (old primary reachable) drains to the new one first: nothing is lost.
        window = 0.0 if faults.linked(old, cloud) else st.frozen_lag_s.get(cloud, st.lag_s(cloud, t))
        self.losses.append(Loss(t, st.name, old, cloud, window))
        st.primary = cloud
        self.promotions += 1
        self._steady = None
        self._columns.stale = True
        st.frozen_lag_s = {}
        for c in st.clouds:
            st.backlog_mb[c] = 0.0 if c == cloud else st.backlog_mb[c]
            st.synced_at_s[c] = t if c == cloud else st.synced_at_s[c]
        # The new primary's own copy is the reference now: it holds everything it acknowledges.
        st.received_mb[cloud] = st.acked_mb
        return f"{st.name}: primary {old} -> {cloud}, {window:.1f} s of acknowledged writes lost"

    def next_event_s(self) -> float | None:
        """The next leader election's end, so the engine lands on it."""
        pending = [st.election_until_s for st in self.stores if st.election_until_s is not None]
        return min(pending) if pending else None

    def positions(self, st: Store, cloud: str, now: float) -> tuple[int, int]:
        """(acked, received) as ReplicaPosition reports them: bytes, or ms of time for objects."""
        if st.mode == "batch":
            held = now if cloud == st.primary else st.synced_at_s[cloud]
            return int(now * 1000), int(held * 1000)
        if cloud == st.primary:
            received = st.acked_mb
        elif st.mode == "sync":
            received = st.sync_received_mb[cloud]
        else:
            received = st.received_mb[cloud]
        return int(st.acked_mb * MB), int(max(0.0, received) * MB)

    def hold(self, name: str, hold: bool) -> None:
        self.by_name[name].held = hold
        self._steady = None

    def worst_loss_s(self, name: str) -> float:
        return max((x.window_s for x in self.losses if x.datastore == name), default=0.0)


def primaries(platform: Platform, weights: dict[str, dict[str, int]]) -> dict[str, str]:
    """Each datastore's initial primary: the cloud serving most of its users' traffic (data gravity,
    the seed's "place compute near data"); ties go to the cloud declared first."""
    clouds = list(platform.clouds)
    out: dict[str, str] = {}
    for name in platform.datastores:
        pull = dict.fromkeys(clouds, 0.0)
        for sname, svc in platform.services.items():
            if name in svc.data:
                for c in clouds:
                    pull[c] += svc.rps * weights[sname].get(c, 0) / 100.0
        out[name] = max(clouds, key=lambda c: (pull[c], -clouds.index(c)))
    return out
