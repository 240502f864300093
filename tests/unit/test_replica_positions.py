"""A `ReplicaPositions` poll is the same news as its copies' single `ReplicaPosition`s."""

from __future__ import annotations

from typing import Literal

from godseye.control import replication
from godseye.control.observations import ReplicaPosition, ReplicaPositions
from godseye.control.replication import DatastoreTarget, ReplicationMemory, ReplicationView

CLOUDS = ("aws", "gcp", "azure")
TARGETS = {"orders": DatastoreTarget("orders", "sql", 2, 1.0, 1_000_000.0, "sync box sql < 1 s")}


def _poll(t: float, acked: int, received: dict[str, int], reachable: bool = True) -> ReplicaPositions:
    roles: tuple[Literal["primary", "replica"], ...] = tuple("primary" if c == "aws" else "replica" for c in CLOUDS)
    held = tuple(acked if c == "aws" else received[c] for c in CLOUDS)
    return ReplicaPositions(t, ("orders",) * 3, CLOUDS, roles, (acked,) * 3, held, held,
                            (True, reachable, True))


def _run(as_batches: bool) -> list[ReplicationMemory]:
    memory, out = ReplicationMemory(), []
    acked, received = 0, {"gcp": 0, "azure": 0}
    for step in range(12):
        polls = []
        for k in range(3):
            t = step * 15.0 + k * 5.0
            acked += 4_000_000
            received["gcp"] = acked - 1_000_000 if step < 4 or step > 7 else received["gcp"]  # gcp stalls for a while
            received["azure"] = acked - 2_500_000
            polls.append(_poll(t, acked, received, reachable=step != 6))
        positions: tuple[ReplicaPosition | ReplicaPositions, ...] = (
            tuple(polls) if as_batches else tuple(p for poll in polls for p in poll.positions()))
        d = replication.reconcile(ReplicationView(step * 15.0 + 10.0, TARGETS, positions, CLOUDS), memory)
        memory = d.memory
        out.append(memory)
    return out


def test_batch_and_single_reports_give_the_same_memory() -> None:
    assert _run(as_batches=True) == _run(as_batches=False)


def test_a_batch_expands_to_its_copies() -> None:
    poll = _poll(5.0, 10, {"gcp": 7, "azure": 3})
    assert len(poll) == 3
    assert poll.position(1) == ReplicaPosition(5.0, "orders", "gcp", "replica", 10, 7, 7, True)


def test_stalls_are_seen_from_batches() -> None:
    memories = _run(as_batches=True)
    assert any(m.state.datastores["orders"].copies["gcp"].stalled for m in memories)
    assert not memories[-1].state.datastores["orders"].copies["gcp"].stalled
