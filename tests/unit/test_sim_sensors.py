"""The twin's change filters: what reaches the plane, and what is held back as unchanged."""

from __future__ import annotations

import numpy as np

from godseye.sim.sensors import HEARTBEAT_S, ChangeFilter, SampleFilter


def test_a_one_node_change_passes_however_large_the_pool() -> None:
    f = ChangeFilter()
    assert f.passes(0, 0.0, (120, 120, 140))
    assert not f.passes(0, 15.0, (120, 120, 140))
    assert f.passes(0, 30.0, (121, 121, 140))  # 1 of 121: far below any relative tolerance, still a change


def test_an_unchanged_pool_is_repeated_after_the_heartbeat() -> None:
    f = ChangeFilter()
    assert f.passes("aws", 0.0, (10, 10, 20))
    assert not f.passes("aws", HEARTBEAT_S - 1.0, (10, 10, 20))
    assert f.passes("aws", HEARTBEAT_S, (10, 10, 20))


def test_sample_filter_passes_first_readings_and_moves_beyond_the_tolerance() -> None:
    f = SampleFilter(2, (1, 2))
    every = np.ones((1, 2), dtype=np.bool_)
    first = np.array([[[100.0, 50.0]], [[3.0, 0.0]]])
    assert f.changed(0.0, first, every).all()
    small = first * 1.01  # within 2%
    assert not f.changed(15.0, small, every).any()
    moved = first.copy()
    moved[0, 0, 1] = 52.0  # 4% on the second cell only
    assert f.changed(30.0, moved, every).tolist() == [[False, True]]
    # Candidates only: an endpoint not placed is never sampled.
    assert not f.changed(HEARTBEAT_S + 1.0, moved, np.zeros((1, 2), dtype=np.bool_)).any()
    assert f.changed(HEARTBEAT_S + 1.0, moved, every).tolist() == [[True, False]]
