"""What the twin tells the plane: probes, service samples, served split, node pools, replication.

- Probes go from every vantage point (the edge and every other cloud) to every endpoint a service
  is placed on. A probe fails when the target cloud is down or partitioned from the vantage point,
  the endpoint is out, or it has no ready pod; against a hung cloud it times out after `timeout_s`.
  Probes hit a health endpoint that answers beside the request queue, so overload alone does not
  fail them (overload shows in the samples' error rate and p99).
- Samples are the edge's view of each endpoint averaged over the sample interval; they reach the
  plane after the metrics lag (scrape + rule evaluation), like Prometheus feeding an HPA.
- Steady figures are not repeated: a sample, split or node pool is sent when it moved by more than
  CHANGE_TOLERANCE (or its integer fields changed), and at least every HEARTBEAT_S so that no
  controller's view goes stale. This is what lets the twin skip quiet stretches.
"""

from __future__ import annotations

import operator
from typing import Literal

import numpy as np
import numpy.typing as npt

from godseye.control.observations import (
    EDGE,
    NodePoolStatus,
    Observation,
    ProbeResult,
    ReplicaPositions,
    ServedSplit,
    ServiceSample,
)
from godseye.sim.data_model import DataModel
from godseye.sim.faults import FaultState
from godseye.sim.service_model import (
    CLIENT_TIMEOUT_MS,
    CPU,
    OFFERED,
    P99,
    RATED_UTILIZATION,
    SATURATED_U,
    SERVED,
    SUMMED,
)
from godseye.sim.steady_stores import CopyLayout
from godseye.sim.world import World

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

CHANGE_TOLERANCE = 0.02
HEARTBEAT_S = 300.0


class ChangeFilter:
    """Passes a reading of exact figures (counts) when it differs from the last one passed under the
    same key, or when that one is HEARTBEAT_S old."""

    def __init__(self) -> None:
        self._last: dict[object, tuple[float, tuple[int, ...]]] = {}

    def passes(self, key: object, t: float, values: tuple[int, ...]) -> bool:
        prev = self._last.get(key)
        if prev is not None and t - prev[0] < HEARTBEAT_S and values == prev[1]:
            return False
        self._last[key] = (t, values)
        return True


def probe_outcomes(world: World, faults: FaultState, placed: BoolArray, out: BoolArray) -> tuple[BoolArray, BoolArray]:
    """(ok, hung) of shape (vantages, services, clouds); vantage 0 is the edge, then each cloud.

    `out` marks endpoints taken out by a service outage.
    """
    clouds = world.clouds
    n = len(clouds)
    reach = np.zeros((n + 1, n), dtype=np.bool_)
    hung = np.zeros((n + 1, n), dtype=np.bool_)
    for j, c in enumerate(clouds):
        mode = faults.cloud_mode(c)
        reach[0, j] = mode == "up"
        hung[:, j] = mode == "hung"
        for i, v in enumerate(clouds):
            reach[i + 1, j] = faults.linked(v, c) if v != c else False
    endpoint = (world.pods_ready > 0) & placed & ~out
    ok = reach[:, None, :] & endpoint[None, :, :]
    return ok, np.broadcast_to(hung[:, None, :], ok.shape)


def probes(t: float, world: World, ok: BoolArray, hung: BoolArray, placed: BoolArray, timeout_s: float,
           latency_ms: FloatArray) -> list[Observation]:
    out: list[Observation] = []
    vantages = [EDGE, *world.clouds]
    for s, j in zip(*np.nonzero(placed), strict=True):
        sname, cname = world.services[s], world.clouds[j]
        for v, vname in enumerate(vantages):
            if vname == cname:
                continue
            if ok[v, s, j]:
                out.append(ProbeResult(t, vname, cname, sname, True, float(latency_ms[s, j])))
            elif hung[v, s, j]:
                out.append(ProbeResult(t, vname, cname, sname, False, timeout_s * 1000.0, True))
            else:
                out.append(ProbeResult(t, vname, cname, sname, False))
    return out


class SampleFilter:
    """ChangeFilter for the (service, cloud) grid at once, in numpy: the hot path of big platforms.

    Values are never negative (rates, latencies, utilisation, pods), which spares the absolute values
    of the tolerance; a cell never passed yet holds -inf, which differs from any value.
    """

    def __init__(self, rows: int, shape: tuple[int, int]) -> None:
        self._last = np.full((rows, *shape), -np.inf)
        self._when = np.full(shape, -np.inf)
        self._oldest = np.inf  # the oldest pass of any cell: no heartbeat is due before oldest + HEARTBEAT_S

    def changed(self, t: float, values: FloatArray, candidates: BoolArray) -> BoolArray:
        last = self._last
        tolerance = np.maximum(values, last)
        np.maximum(tolerance, 1.0, out=tolerance)
        tolerance *= CHANGE_TOLERANCE
        gap = np.subtract(values, last)
        np.abs(gap, out=gap)
        moved = (gap > tolerance).any(axis=0)
        if t - self._oldest >= HEARTBEAT_S:
            moved |= t - self._when >= HEARTBEAT_S
        mask: BoolArray = candidates & moved
        if mask.any():
            last[:, mask] = values[:, mask]
            self._when[mask] = t
            # Cells never passed need no heartbeat: their first reading always differs from -inf.
            self._oldest = float(np.min(self._when, where=self._when > -np.inf, initial=np.inf))
        return mask


def samples(t: float, world: World, placed: BoolArray, sums: FloatArray, span_s: float,
            grid: SampleFilter, split_grid: SampleFilter) -> list[Observation]:
    """Samples and served splits that moved, from `sums`: offered, served, p99 and CPU integrated over
    the last `span_s` (the first rows of `service_model.Served.grid`)."""
    out: list[Observation] = []
    # Rows: the averages of `sums` in their order, then failed and ready pods (a cloud that is down
    # reports none).
    values = np.empty((SUMMED + 2, *placed.shape))
    np.divide(sums, max(span_s, 1e-9), out=values[:SUMMED])
    np.minimum(values[P99], CLIENT_TIMEOUT_MS, out=values[P99])
    np.subtract(values[OFFERED], values[SERVED], out=values[SUMMED])
    np.multiply(world.pods_ready, world.up, out=values[SUMMED + 1])
    rows, cols = np.nonzero(grid.changed(t, values, placed))
    if len(rows):
        # Pull the chosen cells out as plain Python numbers in one go: indexing numpy scalars one by one
        # is what a 1,000-service platform would otherwise spend its time on.
        picked = values[:, rows, cols]
        u = np.minimum(picked[CPU] * RATED_UTILIZATION, SATURATED_U)
        queues = (picked[SUMMED + 1] * u / (1.0 - u)).tolist()  # M/M/1 mean number in system, per pod, summed
        clouds, services = world.clouds, world.services
        for cell, q, s, j in zip(picked.T.tolist(), queues, rows.tolist(), cols.tolist(), strict=True):
            out.append(ServiceSample(t, clouds[j], services[s], cell[OFFERED], cell[SERVED], cell[SUMMED], cell[P99],
                                     cell[CPU], q, int(cell[SUMMED + 1]), window_s=span_s))
    totals = sums[SERVED].sum(axis=1)
    served_any = totals > 0
    shares = sums[SERVED] / np.where(served_any, totals, 1.0)[:, None]
    # Shares are fractions: compared as percents, so a 2% tolerance is about one percent point.
    moved = split_grid.changed(t, (shares * 100).T[:, :, None], served_any[:, None])[:, 0]
    if moved.any():
        for k in np.flatnonzero(moved).tolist():
            out.append(ServedSplit(t, world.services[k], dict(zip(world.clouds, shares[k].tolist(), strict=True))))
    return out


def node_pools(t: float, world: World, changes: ChangeFilter) -> list[Observation]:
    out: list[Observation] = []
    for j, (c, ready, requested) in enumerate(zip(world.clouds, world.nodes_ready.tolist(), world.nodes_requested.tolist(),
                                                  strict=True)):
        most = world.effective_max_nodes(j)
        # Node counts are exact: any change passes, however large the pool.
        if changes.passes(j, t, (ready, requested, most)):
            out.append(NodePoolStatus(t, c, ready, requested, most))
    return out


def replication(t: float, data: DataModel, faults: FaultState) -> ReplicaPositions | None:
    """Every copy's position, as `DataModel.positions` defines them, as one observation (a poll every 5 s is hot).

    None for a platform without datastores.
    """
    stores = data.stores
    if not stores:
        return None
    layout = data.layout
    if layout is None or layout.promotions != data.promotions:
        layout = data.layout = _copy_layout(data)
    seen, version, up = layout.reachable
    if seen is not faults or version != faults.version:
        up = tuple([faults.cloud_up(c) for c in stores[0].clouds]) * len(stores)
        layout.reachable = (faults, faults.version, up)
    acked, received = data.position_columns(t)
    held = tuple(received)
    return ReplicaPositions(t, layout.names, layout.clouds, layout.roles, layout.spread(acked), held, held, up)


def _copy_layout(data: DataModel) -> CopyLayout:
    """Which copy is where and in which role: this only changes with a promotion."""
    names: list[str] = []
    where: list[str] = []
    roles: list[Literal["primary", "replica"]] = []
    store_of: list[int] = []
    for i, st in enumerate(data.stores):
        names += [st.name] * len(st.clouds)
        where += st.clouds
        roles += ["primary" if c == st.primary else "replica" for c in st.clouds]
        store_of += [i] * len(st.clouds)
    # itemgetter of one index gives the item itself, not a 1-tuple.
    spread = operator.itemgetter(*store_of) if len(store_of) > 1 else lambda xs: (xs[0],)
    return CopyLayout(data.promotions, tuple(names), tuple(where), tuple(roles), spread)
