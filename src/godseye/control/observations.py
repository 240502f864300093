"""What drivers tell controllers about the world: plain frozen data stamped with a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Vantage point of a probe: "edge" or the name of the cloud that sent it.
EDGE = "edge"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    t_s: float
    vantage: str
    cloud: str
    service: str
    ok: bool
    latency_ms: float | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class ServiceSample:
    """Load and quality of one service in one cloud over the last sampling interval."""

    t_s: float
    cloud: str
    service: str
    offered_rps: float
    served_rps: float
    failed_rps: float
    p99_ms: float
    cpu_utilization: float
    queue_depth: float
    ready_replicas: int
    # Length of the interval ending at t_s the figures average over (0: an instant). The canary judges
    # a step only on samples measured wholly after that step's weights reached clients.
    window_s: float = 0.0
    # Memory in use over memory requested by the ready pods, where the driver measures it (the seed's
    # Monitor box watches it next to CPU); None when it does not.
    memory_utilization: float | None = None

    @property
    def error_rate(self) -> float:
        return self.failed_rps / self.offered_rps if self.offered_rps > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ReplicaPosition:
    """Replication state of one copy of a datastore.

    Positions are monotonically increasing integers: WAL bytes for sql, offsets for streams, and
    for objects the time (in ms) up to which objects have been synced.
    """

    t_s: float
    datastore: str
    cloud: str
    role: Literal["primary", "replica"]
    acked_pos: int  # newest position acknowledged to clients (primary's own view)
    received_pos: int  # newest position this copy has received
    replayed_pos: int  # newest position this copy has applied and can serve
    reachable: bool = True


@dataclass(frozen=True, slots=True)
class ReplicaPositions:
    """Many copies' positions read at one instant (one poll of every datastore), as columns.

    Copy i is (datastores[i], clouds[i], roles[i], acked_pos[i], received_pos[i], replayed_pos[i],
    reachable[i]), with the meaning of `ReplicaPosition`'s fields. A twin polls every copy every few
    seconds: one observation per poll instead of one object per copy keeps that cheap on both sides.
    """

    t_s: float
    datastores: tuple[str, ...]
    clouds: tuple[str, ...]
    roles: tuple[Literal["primary", "replica"], ...]
    acked_pos: tuple[int, ...]
    received_pos: tuple[int, ...]
    replayed_pos: tuple[int, ...]
    reachable: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.clouds)

    def position(self, i: int) -> ReplicaPosition:
        """Copy i as a single observation."""
        return ReplicaPosition(self.t_s, self.datastores[i], self.clouds[i], self.roles[i], self.acked_pos[i],
                               self.received_pos[i], self.replayed_pos[i], self.reachable[i])

    def positions(self) -> tuple[ReplicaPosition, ...]:
        return tuple(self.position(i) for i in range(len(self.clouds)))


@dataclass(frozen=True, slots=True)
class ServedSplit:
    """Share of a service's requests each cloud actually served (fractions summing to 1)."""

    t_s: float
    service: str
    shares: dict[str, float]
    # Length of the measurement ending at t_s (0: an instant). Steering compares only splits measured
    # wholly after a weight change took effect: a window straddling the change mixes old and new.
    window_s: float = 0.0


@dataclass(frozen=True, slots=True)
class NodePoolStatus:
    t_s: float
    cloud: str
    nodes_ready: int
    nodes_requested: int
    max_nodes: int


Observation = ProbeResult | ServiceSample | ReplicaPosition | ReplicaPositions | ServedSplit | NodePoolStatus
