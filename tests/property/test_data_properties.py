"""The data model's steady fast path against its general step, over random faults, loads, holds and promotions.

The steady step (stores grouped per fault state, positions kept as ints) must be exact: every float
and every position the same as when every store takes the general step, which follows the model as
written store by store.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from godseye.sim.data_model import DataModel, _Steady
from godseye.sim.faults import FaultChange, FaultState
from godseye.sim.sensors import replication
from godseye.spec.loader import load_platform
from godseye.spec.scenario import CloudOutage, Fault, Partition, ReplicationStall

PLATFORM = load_platform()
CLOUDS = list(PLATFORM.clouds)
NAMES = list(PLATFORM.datastores)


class GeneralOnly(DataModel):
    """Every store takes the general step: the reference."""

    def _group(self, faults: FaultState) -> _Steady:
        return _Steady(faults, faults.version, [], [], [], list(self.stores))


def state(dm: DataModel) -> list[object]:
    return [(s.primary, s.acked_mb, s.backlog_mb, s.received_mb, s.sync_received_mb, s.synced_at_s, s.rate_mb_s,
             s.election_until_s, s.frozen_lag_s, s.held) for s in dm.stores]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_steady_step_is_the_general_step(seed: int) -> None:
    rng = random.Random(seed)
    tiers = {n: rng.choice([1, 2, 3]) for n in NAMES}
    prim = {n: rng.choice(CLOUDS) for n in NAMES}
    fast = DataModel(PLATFORM, prim, tiers, random.Random(seed))
    slow = GeneralOnly(PLATFORM, prim, tiers, random.Random(seed))
    f_faults, s_faults = FaultState(), FaultState()
    active: dict[int, Fault] = {}
    load = dict.fromkeys(NAMES, 1.0)
    t = 0.0
    for step in range(300):
        r = rng.random()
        change: FaultChange | None = None
        if r < 0.03:
            f: Fault
            kind = rng.randrange(3)
            if kind == 0:
                f = CloudOutage(kind="cloud_outage", at_s=t, cloud=rng.choice(CLOUDS))
            elif kind == 1:
                f = Partition(kind="partition", at_s=t, clouds=rng.sample(CLOUDS, 2))
            else:
                f = ReplicationStall(kind="replication_stall", at_s=t, datastore=rng.choice(NAMES), cloud=rng.choice(CLOUDS))
            active[step] = f
            change = FaultChange(t, step, "start", f)
        elif r < 0.06 and active:
            i = rng.choice(sorted(active))
            change = FaultChange(t, i, "end", active.pop(i))
        elif r < 0.07:
            name, hold = rng.choice(NAMES), rng.random() < 0.5
            fast.hold(name, hold)
            slow.hold(name, hold)
        elif r < 0.08:
            name, cloud = rng.choice(NAMES), rng.choice(CLOUDS)
            assert fast.promote(name, cloud, t, f_faults) == slow.promote(name, cloud, t, s_faults)
        if change is not None:
            f_faults.apply(change)
            s_faults.apply(change)
        if rng.random() < 0.3:
            load = {n: rng.choice([0.0, 0.5, 1.0, 4.0, 40.0]) * rng.random() for n in NAMES if rng.random() < 0.9}
        dt = rng.choice([5.0, 5.0, 0.25, 30.0])
        assert fast.advance(t, t + dt, load, f_faults) == slow.advance(t, t + dt, load, s_faults)
        t += dt
        assert state(fast) == state(slow)
        a, b = replication(t, fast, f_faults), replication(t, slow, s_faults)
        assert a == b and a is not None
        assert list(a.received_pos) == [fast.positions(s, c, t)[1] for s in fast.stores for c in s.clouds]
    assert fast.losses == slow.losses
