"""How an endpoint (service, cloud) turns offered load into served, failed and p99 latency.

The queueing model, stated: a pod behaves like an M/M/1 queue and the edge spreads load evenly over
a service's ready pods in a cloud. `pod_rps` is the rate a pod serves within its p99 SLA, taken to
be RATED_UTILIZATION of its saturation rate (the usual "run pods at 80%" rating), so with
u = offered / (pods x pod_rps / RATED_UTILIZATION):

    p99 = service_time + K x u / (1 - u),   K = (p99_sla - service_time) x (1 - R) / R

which gives p99 = service_time unloaded, p99 = SLA exactly at offered = pods x pod_rps, and grows
without bound towards saturation (the 1/(1-u) of M/M/1 waiting time). Load beyond saturation fails
(queues overflow, clients time out); so does every request sent to an endpoint that is down, hung,
out, or has no ready pod. Requests are not retried at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

RATED_UTILIZATION = 0.8
# Utilisation at which the p99 formula is evaluated when the endpoint is saturated.
SATURATED_U = 0.999
# What a client waits at most: a dead endpoint's p99, and the ceiling of any p99 the twin reports.
CLIENT_TIMEOUT_MS = 30_000.0


@dataclass(frozen=True, slots=True)
class ServiceParams:
    """Per-service constants as column vectors (S, 1) so they broadcast over clouds."""

    pod_rps: FloatArray
    service_time_ms: FloatArray
    p99_sla_ms: FloatArray
    # Derived once (evaluate runs every turn): the M/M/1 latency scale and the SLA bound as compared.
    k_ms: FloatArray = field(init=False, repr=False, compare=False)
    sla_bound_ms: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        k: FloatArray = (self.p99_sla_ms - self.service_time_ms) * (1 - RATED_UTILIZATION) / RATED_UTILIZATION
        object.__setattr__(self, "k_ms", k)
        object.__setattr__(self, "sla_bound_ms", self.p99_sla_ms + 1e-9)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What evaluation needs from the pods and faults, which change far less often than the load."""

    saturation: FloatArray  # rps at which each endpoint saturates
    # Saturation kept away from 0 for the division. Where it is 0 (no ready pod) the endpoint is not
    # `ok`, so the utilisation computed there reaches no figure: served, p99, CPU all take the dead values.
    divisor: FloatArray
    ok: FloatArray  # 1.0 where the endpoint serves (alive, with a ready pod), else 0.0
    dead: BoolArray  # not ok

    @classmethod
    def of(cls, params: ServiceParams, ready: FloatArray, alive: BoolArray) -> Endpoints:
        saturation = ready * params.pod_rps / RATED_UTILIZATION
        ok = alive & (ready > 0)
        return cls(saturation, np.maximum(saturation, 1e-12), ok.astype(np.float64), ~ok)


# Rows of `Served.grid`; the first SUMMED rows are what the engine integrates over time for samples.
OFFERED, SERVED, P99, CPU, FAILED, IN_SLA = range(6)
SUMMED = 4


@dataclass(frozen=True, slots=True)
class Served:
    """One evaluation of every endpoint: `grid` stacks arrays of shape (services, clouds), rows above."""

    grid: FloatArray

    @property
    def offered(self) -> FloatArray:
        return _row(self.grid, OFFERED)

    @property
    def served(self) -> FloatArray:
        return _row(self.grid, SERVED)

    @property
    def failed(self) -> FloatArray:
        return _row(self.grid, FAILED)

    @property
    def p99_ms(self) -> FloatArray:
        """p99 latency, at most CLIENT_TIMEOUT_MS (what a dead endpoint shows)."""
        return _row(self.grid, P99)

    @property
    def utilization(self) -> FloatArray:
        """CPU relative to pod_rps (1.0 = pod_rps), at most 1 / RATED_UTILIZATION."""
        return _row(self.grid, CPU)

    @property
    def in_sla(self) -> FloatArray:
        """Served requests whose endpoint p99 is within the service's SLA."""
        return _row(self.grid, IN_SLA)


def _row(grid: FloatArray, i: int) -> FloatArray:
    row: FloatArray = grid[i]
    return row


def evaluate(params: ServiceParams, offered: FloatArray, ready: FloatArray, alive: BoolArray) -> Served:
    grid = np.empty((6, *offered.shape))
    grid[OFFERED] = offered
    return _fill(params, Endpoints.of(params, ready, alive), grid)


def evaluate_on(params: ServiceParams, ep: Endpoints, rps: FloatArray, weights: FloatArray) -> Served:
    """`evaluate` of `rps` per service spread by `weights` (percent per cloud), on prepared endpoints
    (the engine keeps them while pods and faults stand still)."""
    grid = np.empty((6, *weights.shape))
    offered = np.multiply(rps[:, None], weights, out=grid[OFFERED])
    offered /= 100.0
    return _fill(params, ep, grid)


def _fill(params: ServiceParams, ep: Endpoints, grid: FloatArray) -> Served:
    """Every row of `grid` from its offered row: a few vector operations, run at every jump of the twin."""
    offered = grid[OFFERED]
    u = offered / ep.divisor
    served = np.minimum(offered, ep.saturation, out=grid[SERVED])
    served *= ep.ok
    np.subtract(offered, served, out=grid[FAILED])
    uc = np.minimum(u, SATURATED_U)
    p99 = params.service_time_ms + params.k_ms * uc / (1.0 - uc)
    np.multiply(served, p99 <= params.sla_bound_ms, out=grid[IN_SLA])
    # A dead endpoint has no latency of its own: it shows the timeout the client sees.
    shown = np.minimum(p99, CLIENT_TIMEOUT_MS, out=grid[P99])
    np.copyto(shown, CLIENT_TIMEOUT_MS, where=ep.dead)
    # CPU as an HPA sees it: 100% is a pod serving pod_rps; it cannot go past saturation.
    cpu = np.minimum(u, 1.0, out=grid[CPU])
    cpu /= RATED_UTILIZATION
    cpu *= ep.ok
    return Served(grid)
