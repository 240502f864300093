"""Egress is the enemy: the seed's Egress Cost Strategy table, and the replication egress estimate.

Cross-cloud replication is the egress the platform cannot route around: every write to a datastore
leaves its writer cloud once for every other cloud that holds a copy. Tier-1 data lives in every
cloud the platform runs, tier-2 data in the clouds of its active and standby, tier-3 data in its
cloud plus a cross-region backup (priced at the same per-GB rate: the copy still leaves the region).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from godseye.plan.model import ServicePlan
from godseye.policy.tiers import datastore_tiers
from godseye.spec.models import DatastoreKind, Platform

# Seconds in an average month (730 h), matching plan/cost.py's hours.
SECONDS_PER_MONTH = 730 * 3600
# Cloud price sheets bill decimal gigabytes.
MB_PER_GB = 1000.0


@dataclass(frozen=True, slots=True)
class Strategy:
    """One row of the seed's Egress Cost Strategy table."""

    name: str
    mechanism: str
    savings_low: float
    savings_high: float
    savings_on: str  # what the savings apply to, as the seed states it
    # Datastore kinds whose cross-cloud replication this lever reduces (empty: not replication).
    replication_kinds: tuple[DatastoreKind, ...] = ()


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("CloudFlare Bandwidth Alliance", "Zero egress from participating clouds through CF", 0.40, 0.60, "egress"),
    Strategy(
        "Compression at Edge",
        "Brotli / gzip on all API responses; protobuf for service-to-service",
        0.20,
        0.30,
        "egress",
    ),
    Strategy(
        "Regional Affinity Routing",
        "Keep requests within same cloud when possible; cross-cloud only for sync",
        0.15,
        0.25,
        "egress",
    ),
    Strategy(
        "Batch Sync Windows",
        "Object storage replication during off-peak (2am-6am UTC)",
        0.10,
        0.15,
        "egress",
        ("object",),
    ),
    Strategy(
        "Data Gravity Awareness",
        "Place compute near data; avoid cross-cloud reads for analytics",
        0.15,
        0.20,
        "egress",
    ),
    Strategy(
        "Kafka Topic Partitioning",
        "Partition by region; only replicate partition leaders cross-cloud",
        0.20,
        0.30,
        "egress",
        ("stream",),
    ),
    Strategy("gRPC over REST", "Binary protocol for all internal service communication", 0.30, 0.40, "payload"),
    Strategy(
        "Committed Use Discounts",
        "1-3 year commitments on baseline egress across all 3 clouds",
        0.20,
        0.40,
        "egress",
    ),
    Strategy(
        "Edge Caching TTL Tuning",
        "Aggressive caching for catalog/images (TTL 24h); short for pricing (TTL 60s)",
        0.50,
        0.70,
        "static",
    ),
)


@dataclass(frozen=True, slots=True)
class StoreEgress:
    datastore: str
    kind: DatastoreKind
    tier: int
    writers: dict[str, float]  # writer cloud -> its part of the writes
    holders: tuple[str, ...]  # clouds (or the backup) holding a copy
    gb_month: float
    usd_month: float
    # Cost left after this kind's replication levers at their low and high savings.
    usd_month_levers_low: float
    usd_month_levers_high: float


@dataclass(frozen=True, slots=True)
class EgressEstimate:
    stores: list[StoreEgress]

    @property
    def usd_month(self) -> float:
        return sum(s.usd_month for s in self.stores)

    @property
    def gb_month(self) -> float:
        return sum(s.gb_month for s in self.stores)

    @property
    def levers(self) -> list[Strategy]:
        """The replication levers that apply to the datastores of this estimate."""
        kinds = {s.kind for s in self.stores}
        return [lever for lever in STRATEGIES if kinds & set(lever.replication_kinds)]

    @property
    def usd_month_with_levers(self) -> tuple[float, float]:
        """(best case, worst case) monthly cost once the replication levers apply."""
        return sum(s.usd_month_levers_high for s in self.stores), sum(s.usd_month_levers_low for s in self.stores)


def levers_for(kind: DatastoreKind) -> list[Strategy]:
    return [s for s in STRATEGIES if kind in s.replication_kinds]


def replication_egress(platform: Platform, services: Sequence[ServicePlan]) -> EgressEstimate:
    tiers = datastore_tiers(platform)
    by_name = {s.name: s for s in services}
    stores = []
    for name, store in platform.datastores.items():
        users = [by_name[n] for n, svc in platform.services.items() if name in svc.data and n in by_name]
        if not users:
            continue
        writers = _writer_shares(users)
        holders = _holders(platform, tiers[name], users)
        mb_month = 0.0
        usd = 0.0
        for cloud, share in writers.items():
            copies = len([h for h in holders if h != cloud])
            mb = store.write_mb_s * share * copies * SECONDS_PER_MONTH
            mb_month += mb
            usd += mb / MB_PER_GB * platform.clouds[cloud].egress_usd_per_gb
        low = high = usd
        for lever in levers_for(store.kind):
            low *= 1 - lever.savings_low
            high *= 1 - lever.savings_high
        stores.append(StoreEgress(name, store.kind, tiers[name], writers, holders, mb_month / MB_PER_GB, usd, low, high))
    return EgressEstimate(stores)


def _writer_shares(users: list[ServicePlan]) -> dict[str, float]:
    """Where the writes originate: each user's traffic weights, weighted by its rps."""
    mass: dict[str, float] = {}
    for svc in users:
        for cloud, weight in svc.weights.items():
            if weight > 0:
                mass[cloud] = mass.get(cloud, 0.0) + svc.rps * weight / 100
    total = sum(mass.values())
    return {c: m / total for c, m in mass.items()} if total > 0 else {}


def _holders(platform: Platform, tier: int, users: list[ServicePlan]) -> tuple[str, ...]:
    placed = [c for c in platform.clouds if any(c in s.placement for s in users)]
    if tier == 1:
        return tuple(platform.clouds)
    if tier == 2:
        return tuple(placed)
    backups = tuple(f"{c}:{platform.clouds[c].backup_region}" for c in placed if platform.clouds[c].backup_region)
    return (*placed, *backups)
