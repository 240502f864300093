"""Pure pieces of the PostgreSQL lab: positions, outage measurement, pg_hba of a partition."""

from __future__ import annotations

from godseye.live.pg.cluster import _hba
from godseye.live.pg.positions import PgSample, StandbyStat, lsn_to_int
from godseye.live.pg.write_check import write_outage_s
from godseye.live.pg.writers import Ack


def test_lsn_to_int() -> None:
    assert lsn_to_int("0/0") == 0
    assert lsn_to_int("1/10") == (1 << 32) + 16
    assert lsn_to_int("0/4037A58") == 0x4037A58


def _sample(standbys: tuple[StandbyStat, ...], received: int = 1000) -> PgSample:
    return PgSample(0.0, "aws", False, received, received, None, 1, standbys)


def test_acked_is_the_furthest_quorum_standby_never_beyond_the_primary() -> None:
    gcp = StandbyStat("gcp", "streaming", "quorum", 900, 800, 0.0)
    azure = StandbyStat("azure", "streaming", "quorum", 700, 700, 0.0)
    assert _sample((gcp, azure)).acked_pos() == 900
    assert _sample((StandbyStat("gcp", "streaming", "quorum", 2000, 0, 0.0),)).acked_pos() == 1000
    assert _sample((StandbyStat("gcp", "catchup", "async", 900, 0, 0.0),)).acked_pos() == 0
    assert _sample(()).acked_pos() == 0


def test_write_outage_is_the_longest_gap_ending_after_the_fault() -> None:
    acks = [Ack(i, t, "aws", 1) for i, t in enumerate([0.0, 0.01, 0.02, 5.0, 5.5, 2.9, 3.0])]
    # Before the fault at 1.0 the gaps do not count; after it: 0.02 -> 2.9 is the longest.
    assert abs(write_outage_s(acks, 1.0) - 2.88) < 1e-9
    assert write_outage_s([], 1.0) == 0.0


def test_partition_rejects_replication_and_control_plane_but_not_clients() -> None:
    cut = _hba(partitioned=True).splitlines()
    assert cut.index("host replication all 127.0.0.0/8 reject") < cut.index("host replication replicator 127.0.0.0/8 trust")
    assert "host all godseye 127.0.0.0/8 reject" in cut
    assert cut[-1] == "host all all 127.0.0.0/8 trust"
    assert not any("reject" in line for line in _hba(partitioned=False).splitlines())
