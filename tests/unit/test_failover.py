"""Failover: the seed's sequence as a state machine, driven with a fake replication watch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
from control_world import with_service

from godseye.control.actions import (
    Action,
    ActivateStandby,
    Condition,
    FollowPrimary,
    HoldWrites,
    PromoteReplica,
    Reschedule,
    ScaleNodePool,
    ScaleService,
)
from godseye.control.failover import TRANSITIONS, FailoverMemory, FailoverView, gate_timeout_s, reconcile
from godseye.control.replication import targets_from_platform
from godseye.plan.placement import place_services
from godseye.policy.tiers import tier_table
from godseye.spec.models import Platform

CLOUDS = ("aws", "gcp", "azure")
WRITES_PER_S = 1000  # positions acknowledged per second in the fake


@dataclass(frozen=True)
class Lag:
    cloud: str
    caught_up: bool
    lag_pos: int
    exposure_pos: int


@dataclass
class FakeFacts:
    """The replication watch's query API, with positions set by the test."""

    acked: dict[str, int]
    primaries: dict[str, str]
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    replayed: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def datastores(self) -> dict[str, object]:
        return dict.fromkeys(self.acked, object())

    def primary(self, datastore: str) -> str | None:
        return self.primaries.get(datastore)

    def newest_acked(self, datastore: str) -> int:
        return self.acked[datastore]

    def best_survivor(self, datastore: str, excluding_clouds: Iterable[str] = ()) -> str | None:
        excluded = set(excluding_clouds)
        cands = [c for c in CLOUDS if c not in excluded and (datastore, c) in self.received]
        return max(cands, key=lambda c: (self.received[(datastore, c)], -CLOUDS.index(c)), default=None)

    def caught_up(self, datastore: str, cloud: str) -> bool:
        return self.replayed.get((datastore, cloud), -1) >= self.acked[datastore]

    def exposure_pos(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> int | None:
        best = self.best_survivor(datastore, excluding_clouds or ())
        return None if best is None else max(0, self.acked[datastore] - self.received[(datastore, best)])

    def exposure_s(self, datastore: str, excluding_clouds: Iterable[str] | None = None) -> float:
        gap = self.exposure_pos(datastore, excluding_clouds)
        return float("inf") if gap is None else gap / WRITES_PER_S

    def lags(self, datastore: str) -> tuple[Lag, ...]:
        acked = self.acked[datastore]
        return tuple(
            Lag(c, self.caught_up(datastore, c), acked - self.replayed[(datastore, c)], acked - self.received[(datastore, c)])
            for c in CLOUDS
            if (datastore, c) in self.received
        )

    def catch_up(self, datastore: str, cloud: str) -> None:
        self.received[(datastore, cloud)] = self.replayed[(datastore, cloud)] = self.acked[datastore]


def facts_for(platform: Platform, behind: int = 50) -> FakeFacts:
    """Every sql datastore's primary in aws; gcp and azure received everything but replayed `behind` less."""
    sql = [n for n, d in platform.datastores.items() if d.kind == "sql"]
    f = FakeFacts({n: 1000 for n in sql}, dict.fromkeys(sql, "aws"))
    for n in sql:
        for c in CLOUDS:
            f.received[(n, c)] = 1000
            f.replayed[(n, c)] = 1000 if c == "aws" else 1000 - behind
    return f


@dataclass
class Driver:
    platform: Platform
    facts: FakeFacts
    memory: FailoverMemory = field(default_factory=FailoverMemory)
    log: list[tuple[float, Action]] = field(default_factory=list)

    def at(self, t: float, out: set[str] = frozenset(), canary_in: set[str] | None = None) -> list[Action]:
        plans = tuple(place_services(self.platform))
        full = frozenset(CLOUDS) if canary_in is None else frozenset(canary_in)
        d = reconcile(FailoverView(t, self.platform, plans, frozenset(out), full, self.facts, {}), self.memory)
        self.memory = d.memory
        self.log += [(t, a) for a in d.actions]
        self.requeue = d.requeue_after_s
        return list(d.actions)

    def phase(self) -> str:
        return self.memory.phases()["aws"]


def sql_in(platform: Platform) -> list[str]:
    return [n for n, d in platform.datastores.items() if d.kind == "sql"]


@pytest.fixture
def seed(reference: Platform) -> Platform:
    return with_service(reference, "batch-jobs", primary="aws")


def test_the_seed_sequence_step_by_step(seed: Platform) -> None:
    d = Driver(seed, facts_for(seed))
    stores = sql_in(seed)
    out = d.at(10.0, {"aws"})
    events = [a.event for a in out if isinstance(a, Condition)]
    assert events[:2] == ["failover-detected", "failover-tier1-rerouted"]
    assert "gcp 60%, azure 40%" in next(a.reason for a in out if isinstance(a, Condition) and "rerouted" in a.event)
    assert {a.datastore for a in out if isinstance(a, HoldWrites) and a.hold} == set(stores)
    assert not [a for a in out if isinstance(a, PromoteReplica | ActivateStandby)]
    assert d.phase() == "gating"
    # Half the datastores' survivors catch up: those are promoted, tier 2 still waits for the rest.
    for n in stores[: len(stores) // 2]:
        d.facts.catch_up(n, "gcp")
    out = d.at(12.0, {"aws"})
    assert {a.datastore for a in out if isinstance(a, PromoteReplica)} == set(stores[: len(stores) // 2])
    assert not [a for a in out if isinstance(a, ActivateStandby)]
    for n in stores:
        d.facts.catch_up(n, "gcp")
    out = d.at(15.0, {"aws"})
    names = [type(a).__name__ for a in out]
    assert names.index("PromoteReplica") < names.index("FollowPrimary") < names.index("HoldWrites")
    assert names.index("HoldWrites") < names.index("ActivateStandby")
    follows = {(a.datastore, a.cloud, a.primary) for a in out if isinstance(a, FollowPrimary)}
    assert all(cloud == "azure" and primary == "gcp" for _, cloud, primary in follows)
    activated = [a for a in out if isinstance(a, ActivateStandby)]
    assert [(a.service, a.cloud) for a in activated] == [("search", "gcp")]
    assert {a.cloud for a in out if isinstance(a, ScaleNodePool)} == {"gcp", "azure"}
    assert all(a.nodes > seed.clouds[a.cloud].nodes for a in out if isinstance(a, ScaleNodePool))
    assert d.phase() == "standby_active"
    assert d.at(16.0, {"aws"}) == []  # level-triggered
    deferral = tier_table(seed)[3].deferral_s
    assert d.requeue == pytest.approx(10.0 + deferral - 16.0)
    assert not [a for a in d.at(10.0 + deferral - 1, {"aws"}) if isinstance(a, Reschedule)]
    out = d.at(10.0 + deferral, {"aws"})
    move = next(a for a in out if isinstance(a, Reschedule))
    assert (move.service, move.from_cloud) == ("batch-jobs", "aws") and move.to_cloud in {"gcp", "azure"}
    assert d.memory.moved() == {"batch-jobs": move.to_cloud}
    assert d.phase() == "failed_over"
    # Recovery: aws back in the rotation, its copies follow the new primaries, the canary runs.
    out = d.at(2000.0, set(), canary_in={"gcp", "azure"})
    assert {(a.datastore, a.cloud, a.primary) for a in out if isinstance(a, FollowPrimary)} == {(n, "aws", "gcp") for n in stores}
    assert d.phase() == "recovering"
    assert d.at(3000.0, set(), canary_in={"gcp", "azure"}) == []
    out = d.at(4000.0, set())
    assert [(a.cloud, a.service) for a in out if isinstance(a, ScaleService)] == [("gcp", "search")]
    back = next(a for a in out if isinstance(a, Reschedule))
    assert (back.from_cloud, back.to_cloud) == (move.to_cloud, "aws")
    assert d.phase() == "closed" and d.memory.moved() == {}


def test_gate_times_out_and_reports_the_loss(seed: Platform) -> None:
    f = facts_for(seed)
    f.received[("orders", "gcp")] = 900
    f.received[("orders", "azure")] = 950
    d = Driver(seed, f)
    d.at(10.0, {"aws"})
    timeout = gate_timeout_s(seed, "orders")
    assert timeout == tier_table(seed)[1].rto_s
    assert not [a for a in d.at(10.0 + timeout - 1, {"aws"}) if isinstance(a, PromoteReplica) and a.datastore == "orders"]
    out = d.at(10.0 + timeout, {"aws"})
    promote = next(a for a in out if isinstance(a, PromoteReplica) and a.datastore == "orders")
    assert promote.cloud == "azure"  # the survivor that received the most
    assert "timeout" in promote.reason and "50 acknowledged positions lost" in promote.reason


def test_a_longer_rto_waits_longer(seed: Platform) -> None:
    tiers = tier_table(seed)
    slow = seed.model_copy(update={"tiers": {1: tiers[1].model_copy(update={"rto_s": 90.0})}})
    f = facts_for(slow)
    d = Driver(slow, f)
    d.at(10.0, {"aws"})
    assert not [a for a in d.at(40.0, {"aws"}) if isinstance(a, PromoteReplica) and a.datastore == "orders"]
    assert [a for a in d.at(100.0, {"aws"}) if isinstance(a, PromoteReplica) and a.datastore == "orders"]


def test_a_shorter_deferral_reschedules_sooner(seed: Platform) -> None:
    tiers = tier_table(seed)
    quick = seed.model_copy(update={"tiers": {3: tiers[3].model_copy(update={"deferral_s": 60.0})}})
    f = facts_for(quick, behind=0)
    d = Driver(quick, f)
    d.at(10.0, {"aws"})
    assert [a for a in d.at(70.0, {"aws"}) if isinstance(a, Reschedule)]


def test_cloud_back_during_the_gate_keeps_its_primaries(seed: Platform) -> None:
    d = Driver(seed, facts_for(seed))
    d.at(10.0, {"aws"})
    out = d.at(13.0, set(), canary_in={"gcp", "azure"})
    assert not [a for a in out if isinstance(a, PromoteReplica)]
    released = [a for a in out if isinstance(a, HoldWrites)]
    assert released and all(not a.hold and "stays primary" in a.reason for a in released)
    assert d.phase() == "recovering"


def test_lost_again_while_recovering_starts_over_without_repeating(seed: Platform) -> None:
    f = facts_for(seed, behind=0)
    d = Driver(seed, f)
    d.at(10.0, {"aws"})
    d.at(2000.0, set(), canary_in={"gcp", "azure"})
    f.primaries = dict.fromkeys(f.primaries, "gcp")
    out = d.at(2100.0, {"aws"})
    assert d.phase() == "standby_active"
    assert not [a for a in out if isinstance(a, HoldWrites | ActivateStandby | Reschedule)]
    assert d.requeue == pytest.approx(tier_table(seed)[3].deferral_s)  # counted from this loss


def test_every_phase_has_a_way_out_and_unknown_events_are_errors() -> None:
    phases = {p for p, _ in TRANSITIONS} | set(TRANSITIONS.values())
    assert phases == {"detected", "gating", "standby_active", "failed_over", "recovering", "closed"}
    assert all(any(p == src for src, _ in TRANSITIONS) for p in phases - {"closed"})
    with pytest.raises(KeyError):
        TRANSITIONS[("closed", "cloud_back")]


def test_async_datastore_promoted_early_when_its_loss_is_within_rpo(seed: Platform) -> None:
    f = facts_for(seed)
    # catalog (tier 2, async) and orders (tier 1, RPO 0): survivors received 0.2 s less and replayed it all.
    target = targets_from_platform(seed)["catalog"].rpo_target_s
    assert target > 0.2
    for store in ("catalog", "orders"):
        for c in ("gcp", "azure"):
            f.received[(store, c)] = f.replayed[(store, c)] = 800
    d = Driver(seed, f)
    out = d.at(10.0, {"aws"})
    early = [a for a in out if isinstance(a, PromoteReplica) and a.datastore == "catalog"]
    assert early and f"within the RPO target {target:g}s" in early[0].reason and "200 acknowledged positions" in early[0].reason
    assert not [a for a in out if isinstance(a, PromoteReplica) and a.datastore == "orders"]  # RPO 0 waits
    # A replica still replaying what it received is not promoted early.
    g = facts_for(seed)
    g.received[("catalog", "gcp")], g.replayed[("catalog", "gcp")] = 800, 700
    g.received[("catalog", "azure")], g.replayed[("catalog", "azure")] = 700, 700
    assert not [a for a in Driver(seed, g).at(10.0, {"aws"}) if isinstance(a, PromoteReplica) and a.datastore == "catalog"]


def test_equal_survivors_prefer_a_cloud_fully_in_the_rotation(seed: Platform) -> None:
    f = facts_for(seed, behind=0)
    d = Driver(seed, f)
    # gcp fails while aws (first in spec order) is still in its canary after an earlier outage.
    f.primaries = dict.fromkeys(f.primaries, "gcp")
    out = d.at(10.0, {"gcp"}, canary_in={"azure"})
    assert {a.cloud for a in out if isinstance(a, PromoteReplica)} == {"azure"}
    # ...but data comes first: aws holding more wins although it is returning.
    g = facts_for(seed, behind=0)
    g.primaries = dict.fromkeys(g.primaries, "gcp")
    g.received[("orders", "azure")] = g.replayed[("orders", "azure")] = 990
    out = Driver(seed, g).at(10.0, {"gcp"}, canary_in={"azure"})
    assert [a.cloud for a in out if isinstance(a, PromoteReplica) and a.datastore == "orders"] == ["aws"]


def test_returning_copy_follows_the_current_primary_not_a_dead_one(seed: Platform) -> None:
    # aws fails and gcp is promoted; then gcp fails too and the watch sees azure as primary.
    f = facts_for(seed, behind=0)
    d = Driver(seed, f)
    d.at(10.0, {"aws"})
    f.primaries = dict.fromkeys(f.primaries, "azure")
    out = d.at(2000.0, {"gcp"}, canary_in={"azure"})
    follows = {(a.datastore, a.cloud, a.primary) for a in out if isinstance(a, FollowPrimary)}
    assert follows and all(primary == "azure" for _, _, primary in follows)


def test_stream_and_object_primaries_in_the_failed_cloud_move_to_the_best_copy_at_once(seed: Platform) -> None:
    f = facts_for(seed, behind=0)
    # order-events (stream) and product-media (object) written in aws; gcp received more of each than azure.
    for store in ("order-events", "product-media"):
        f.acked[store], f.primaries[store] = 1000, "aws"
        f.received[(store, "aws")] = f.replayed[(store, "aws")] = 1000
        f.received[(store, "gcp")] = f.replayed[(store, "gcp")] = 900
        f.received[(store, "azure")] = f.replayed[(store, "azure")] = 700
    d = Driver(seed, f)
    out = d.at(10.0, {"aws"})
    promoted = {a.datastore: a for a in out if isinstance(a, PromoteReplica)}
    for store in ("order-events", "product-media"):
        # No gate, no hold: the copy holding the most takes the writes in the same step, its gap reported lost.
        assert promoted[store].cloud == "gcp" and "100 positions it never received" in promoted[store].reason
        assert not [a for a in out if isinstance(a, HoldWrites) and a.datastore == store]
        assert [(a.cloud, a.primary) for a in out if isinstance(a, FollowPrimary) and a.datastore == store] == [("azure", "gcp")]
    # Asked once: the next step with nothing changed asks nothing new for them.
    again = d.at(11.0, {"aws"})
    assert not [a for a in again if isinstance(a, PromoteReplica) and a.datastore in promoted]
    # When aws returns its copies follow the new primary (the watch now reports gcp as primary).
    f.primaries["order-events"] = f.primaries["product-media"] = "gcp"
    back = d.at(100.0, set(), canary_in={"gcp", "azure"})
    follows = {(a.datastore, a.primary) for a in back if isinstance(a, FollowPrimary) and a.cloud == "aws"}
    assert {("order-events", "gcp"), ("product-media", "gcp")} <= follows


def test_a_stream_whose_primary_survived_is_left_alone(seed: Platform) -> None:
    f = facts_for(seed, behind=0)
    f.acked["order-events"], f.primaries["order-events"] = 1000, "gcp"
    for c in CLOUDS:
        f.received[("order-events", c)] = f.replayed[("order-events", c)] = 1000
    out = Driver(seed, f).at(10.0, {"aws"})
    assert not [a for a in out if isinstance(a, PromoteReplica | FollowPrimary) and a.datastore == "order-events"]
