"""What the failover orchestrator and the canary read from the replication watch (control/replication.py).

A protocol rather than the watch's own class, so the gate can be tested against a fake and the watch
stays free to change how it keeps its state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol


class CopyLag(Protocol):
    @property
    def cloud(self) -> str: ...
    @property
    def caught_up(self) -> bool: ...
    @property
    def lag_pos(self) -> int: ...  # newest acked - replayed
    @property
    def exposure_pos(self) -> int: ...  # newest acked - received


class ReplicationFacts(Protocol):
    """What the failover gate and the canary need from the replication watch (control/replication.py)."""

    @property
    def datastores(self) -> Mapping[str, object]: ...
    def primary(self, datastore: str) -> str | None: ...
    def newest_acked(self, datastore: str) -> int: ...
    def best_survivor(self, datastore: str, excluding_clouds: Iterable[str] = ()) -> str | None: ...
    def caught_up(self, datastore: str, cloud: str) -> bool: ...
    def exposure_pos(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> int | None: ...
    def exposure_s(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> float: ...
    def lags(self, datastore: str) -> Sequence[CopyLag]: ...


def clouds_caught_up(facts: ReplicationFacts | None, clouds: Iterable[str]) -> frozenset[str]:
    """Clouds whose every datastore copy has replayed what its primary acknowledged (the canary's gate)."""
    lagging: set[str] = set()
    if facts is not None:
        for store in sorted(facts.datastores):
            lagging.update(lag.cloud for lag in facts.lags(store) if not lag.caught_up)
    return frozenset(c for c in clouds if c not in lagging)
