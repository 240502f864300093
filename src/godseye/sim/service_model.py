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
class Served:
    """One evaluation of every endpoint, arrays of shape (services, clouds)."""

    offered: FloatArray
    served: FloatArray
    failed: FloatArray
    p99_ms: FloatArray
    utilization: FloatArray  # CPU relative to pod_rps (1.0 = pod_rps), at most 1 / RATED_UTILIZATION
    in_sla: FloatArray  # served requests whose endpoint p99 is within the service's SLA


def evaluate(params: ServiceParams, offered: FloatArray, ready: FloatArray, alive: BoolArray) -> Served:
    saturation = ready * params.pod_rps / RATED_UTILIZATION
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(saturation > 0, offered / np.maximum(saturation, 1e-12), np.where(offered > 0, np.inf, 0.0))
    ok = alive & (ready > 0)
    served = np.where(ok, np.minimum(offered, saturation), 0.0)
    failed = offered - served
    uc = np.minimum(u, SATURATED_U)
    p99 = params.service_time_ms + params.k_ms * uc / (1.0 - uc)
    # A dead endpoint has no latency of its own; report the SLA breach the client sees (a timeout).
    p99 = np.where(ok, p99, np.inf)
    in_sla = np.where(p99 <= params.sla_bound_ms, served, 0.0)
    # CPU as an HPA sees it: 100% is a pod serving pod_rps; it cannot go past saturation.
    cpu = np.where(ok, np.minimum(u, 1.0) / RATED_UTILIZATION, 0.0)
    return Served(offered, served, failed, p99, cpu, in_sla)
