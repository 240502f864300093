"""The seed's Cross-Cloud Data Sync box: how each kind of datastore replicates and the RPO it can give.

sql: CockroachDB / Spanner real-time replication (RPO < 1 s), synchronous for tier-1 data (RPO 0:
a write is acknowledged only once a second cloud has it). stream: Kafka MirrorMaker 2.0 (RPO < 5 s).
object: batch sync of object storage (RPO < 15 min).
"""

from __future__ import annotations

from dataclasses import dataclass

from godseye.spec.models import DatastoreKind, Platform, TierPolicy

SYNC_BOX_RPO_S: dict[str, float] = {"sql": 1.0, "stream": 5.0, "object": 900.0}
SYNC_MECHANISM: dict[str, str] = {
    "sql": "CockroachDB / Spanner real-time replication",
    "stream": "Kafka MirrorMaker 2.0 event replication",
    "object": "object storage batch sync",
}


def achievable_rpo_s(kind: DatastoreKind, tier_rpo_s: float) -> float:
    """Best RPO the kind's replication gives: sql goes synchronous when its tier asks for RPO 0."""
    if kind == "sql" and tier_rpo_s == 0:
        return 0.0
    return SYNC_BOX_RPO_S[kind]


@dataclass(frozen=True, slots=True)
class DataRpoGap:
    service: str
    datastore: str
    kind: DatastoreKind
    rpo_target_s: float
    achievable_s: float


def data_rpo_gaps(platform: Platform, tiers: dict[str, int], table: dict[int, TierPolicy]) -> list[DataRpoGap]:
    """Services whose tier promises an RPO that the replication of one of their datastores cannot give."""
    gaps = []
    for name, svc in platform.services.items():
        target = table[tiers[name]].rpo_s
        for store in svc.data:
            kind = platform.datastores[store].kind
            best = achievable_rpo_s(kind, target)
            if best > target:
                gaps.append(DataRpoGap(name, store, kind, target, best))
    return gaps
