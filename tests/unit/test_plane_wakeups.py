"""When the plane asks to run again: at decisions that can change, not on a fixed beat.

The replication watch declares a copy stalled `stall_after_s` after it last received anything. A copy
that keeps receiving moves that deadline with every report, so the plane does not wake for it; one that
stops is judged exactly at its deadline. Steps that change none of the autoscaler's inputs leave it alone.
"""

from __future__ import annotations

from godseye.control.actions import Condition
from godseye.control.observations import ReplicaPosition
from godseye.control.plane import Plane
from godseye.plan.placement import place_services
from godseye.spec.models import Platform

STORE_CLOUDS = ("aws", "gcp", "azure")


def _async_store(platform: Platform) -> str:
    """catalog: tier-2 sql, replicated asynchronously in the reference."""
    assert "catalog" in platform.datastores
    return "catalog"


def _settled(platform: Platform) -> Plane:
    """A plane past its start-up steps (the first weights' propagation), with nothing else to wake for."""
    plane = Plane(platform, place_services(platform))
    plane.step(0.0)
    plane.step(platform.edge.propagation_s)
    assert plane.next_wakeup_s() is None
    return plane


def _report(plane: Plane, store: str, t: float, acked: int, received: dict[str, int]) -> None:
    for cloud in STORE_CLOUDS:
        if cloud == "aws":
            plane.observe(ReplicaPosition(t, store, cloud, "primary", acked, acked, acked))
        else:
            plane.observe(ReplicaPosition(t, store, cloud, "replica", acked, received[cloud], received[cloud]))


def test_trailing_copies_that_keep_receiving_move_the_wakeup_instead_of_waking(reference: Platform) -> None:
    plane = _settled(reference)
    store = _async_store(reference)
    _report(plane, store, 100.0, 1000, {"gcp": 900, "azure": 900})
    plane.step(100.0)
    assert plane.next_wakeup_s() == 110.0  # both copies trail: a stall would be judged 10 s after they last received
    for k in range(1, 5):
        t = 100.0 + 5.0 * k
        _report(plane, store, t, 1000 + 100 * k, {"gcp": 900 + 100 * k, "azure": 900 + 100 * k})
        assert plane.next_wakeup_s() == t + 10.0  # each report that brings data moves the deadline


def test_a_copy_that_stops_receiving_is_judged_at_its_deadline(reference: Platform) -> None:
    plane = _settled(reference)
    store = _async_store(reference)
    _report(plane, store, 100.0, 1000, {"gcp": 900, "azure": 900})
    plane.step(100.0)
    _report(plane, store, 105.0, 1500, {"gcp": 1400, "azure": 900})  # azure received nothing new
    wake = plane.next_wakeup_s()
    assert wake == 110.0  # azure last received at 100 s: its deadline; gcp's moved to 115 s
    out = plane.step(wake)
    stalls = [e for e in out if isinstance(e.action, Condition) and e.action.event == "replication-stalled"]
    assert [e.action.subject for e in stalls] == [f"{store}/azure"]


def test_a_stalled_copy_that_receives_again_wakes_the_plane_at_once(reference: Platform) -> None:
    plane = _settled(reference)
    store = _async_store(reference)
    _report(plane, store, 100.0, 1000, {"gcp": 900, "azure": 900})
    plane.step(100.0)
    _report(plane, store, 110.0, 1000, {"gcp": 900, "azure": 900})
    plane.step(110.0)
    assert "azure" in {s.replica_cloud for s in plane.replication().stalls()}
    _report(plane, store, 115.0, 1000, {"gcp": 900, "azure": 1000})
    assert plane.next_wakeup_s() == 115.0
    out = plane.step(115.0)
    assert [e for e in out if isinstance(e.action, Condition) and e.action.event == "replication-resumed"]


def test_a_step_with_nothing_new_for_the_autoscaler_asks_nothing_of_it(reference: Platform) -> None:
    plane = _settled(reference)
    before = plane.state.autoscaler
    assert [e for e in plane.step(30.0) if e.actor == "autoscaler"] == []
    assert plane.state.autoscaler == before
