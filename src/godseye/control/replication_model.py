"""The replication watch's desired state and inputs: each datastore's RPO target (from the spec), the
watch's parameters, and the view one reconcile reads (`replication` states the rules).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.policy.data_sync import SYNC_BOX_RPO_S
from godseye.policy.tiers import datastore_tiers, tier_table
from godseye.spec.models import DatastoreKind, Platform

BYTES_PER_MB = 1_000_000


@dataclass(frozen=True, slots=True)
class DatastoreTarget:
    """What a datastore must achieve: desired state for the watch, derived from the spec."""

    name: str
    kind: DatastoreKind
    tier: int
    rpo_target_s: float
    # Spec's average write volume in position units per second: used to turn a position gap into
    # seconds when no write has been observed yet (sql only: stream offsets and object times have
    # no byte size).
    write_pos_per_s: float
    # Which rule set the target, for the timeline ("tier 1 RPO 0" or "sync box sql < 1 s").
    target_reason: str
    # The sync box's bound for this kind. A batch mechanism (object sync) legitimately receives
    # nothing for up to this long, so a stall is only declared after the longer of it and stall_after_s.
    sync_rpo_s: float = 0.0


def targets_from_platform(
    platform: Platform, sync_box_rpo_s: Mapping[str, float] = SYNC_BOX_RPO_S
) -> dict[str, DatastoreTarget]:
    """Each datastore's RPO target: min(tier RPO, sync box bound for its kind)."""
    table = tier_table(platform)
    tiers = datastore_tiers(platform)
    out: dict[str, DatastoreTarget] = {}
    for name, store in platform.datastores.items():
        tier = tiers[name]
        tier_rpo = table[tier].rpo_s
        box = sync_box_rpo_s[store.kind]
        if tier_rpo <= box:
            target, why = tier_rpo, f"tier {tier} RPO {_fmt_s(tier_rpo)}"
        else:
            target, why = box, f"sync box {store.kind} RPO < {_fmt_s(box)}"
        rate = store.write_mb_s * BYTES_PER_MB if store.kind == "sql" else 0.0
        out[name] = DatastoreTarget(name, store.kind, tier, target, rate, why, box)
    return out


@dataclass(frozen=True, slots=True)
class ReplicationParams:
    # No received progress for this long while the primary is ahead = stalled. The seed marks a cloud
    # unhealthy 10 s after it fails (3 consecutive checks); a stall is declared on the same scale.
    stall_after_s: float = 10.0
    # How far back the primary's acked positions are kept to turn gaps into seconds. It must exceed
    # the largest position-based target (stream, 5 s) by a wide margin; older gaps are extrapolated.
    history_s: float = 60.0
    # Hard cap on kept samples per datastore, whatever the sampling rate.
    history_max: int = 256

    def __post_init__(self) -> None:
        for name in ("stall_after_s", "history_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive finite number of seconds (got {value})")
        if self.history_max < 2:
            raise ValueError(f"history_max must be at least 2 (got {self.history_max})")


@dataclass(frozen=True, slots=True)
class ReplicationView:
    now_s: float
    targets: Mapping[str, DatastoreTarget]
    # Latest report per (datastore, cloud); older or repeated reports are ignored, so a driver may
    # hand in everything it has. A `ReplicaPositions` counts as its copies' reports, in its place.
    positions: tuple[ReplicaPosition | ReplicaPositions, ...]
    # Spec order of clouds: breaks ties between equally good survivors deterministically.
    clouds: tuple[str, ...]
    params: ReplicationParams = ReplicationParams()


def _fmt_s(value: float) -> str:
    return f"{value:g} s"
