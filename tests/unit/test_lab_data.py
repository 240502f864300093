"""The lab's datastores: which lab services use which, and how the drill measures the orders' write outage."""

from __future__ import annotations

from pathlib import Path

from godseye.live.drill import write_outage_s
from godseye.live.lab_data import OBJECTS, SQL, STREAM, data_available, data_platform
from godseye.live.lab_spec import LabSizing, build_lab_spec
from godseye.live.loadgen import RequestRecord
from godseye.spec.models import Platform


def test_lab_services_use_the_three_lab_datastores(reference: Platform) -> None:
    sizing = LabSizing(with_datastores=True)
    spec = build_lab_spec(data_platform(reference, sizing.services_per_tier), sizing)
    kinds = {name: d.kind for name, d in spec.platform.datastores.items()}
    assert kinds == {SQL: "sql", STREAM: "stream", OBJECTS: "object"}
    data = {p.name: (p.tier, spec.platform.services[p.name].data) for p in spec.services}
    assert {d for tier, d in data.values() if tier == 1} == {(SQL,)}
    assert {d for tier, d in data.values() if tier == 2} == {(STREAM, OBJECTS)}


def test_without_datastores_the_edge_lab_declares_none(reference: Platform) -> None:
    spec = build_lab_spec(data_platform(reference, LabSizing().services_per_tier), LabSizing())
    assert not spec.platform.datastores


def _rec(t: float, ok: bool, service: str = "pos") -> RequestRecord:
    return RequestRecord(t, service, ok, 200 if ok else 503, 5.0, "gcp-0", None, f"id-{t}")


def test_write_outage_is_the_longest_gap_between_acknowledged_orders_around_the_fault() -> None:
    records = [_rec(t / 10, True) for t in range(0, 100)]  # every 0.1 s until 9.9 s
    records = [r for r in records if not 5.0 < r.t_s < 6.2] + [_rec(5.5, False), _rec(10.0, True, "search")]
    assert abs(write_outage_s(records, {"pos"}, fault_s=5.0) - 1.2) < 1e-9
    # Gaps long before the fault do not count; services that write no orders do not either.
    assert write_outage_s([_rec(0.0, True), _rec(3.0, True), _rec(4.5, True)], {"pos"}, fault_s=5.0) == 0.0


def test_datastores_need_a_folder_the_postgres_user_can_reach(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    why = data_available(private / "lab")
    assert why is not None  # no PostgreSQL, not root, or the private folder: each is a reason
