"""vCPU first-fit-decreasing bin-packing of pods onto nodes."""

from __future__ import annotations

import pytest

from godseye.plan.nodes import pack_nodes


def test_empty_cloud_needs_no_nodes() -> None:
    assert pack_nodes({}, 16) == 0
    assert pack_nodes({1.0: 0}, 16) == 0


def test_identical_pods_fill_nodes() -> None:
    assert pack_nodes({1.0: 16}, 16) == 1
    assert pack_nodes({1.0: 17}, 16) == 2
    assert pack_nodes({3.0: 5}, 8) == 3  # two per node, vCPU left over on each


def test_small_pods_fill_the_gaps_large_ones_leave() -> None:
    # 3,3 | 3 then the 2s: 2 fills node 1, two more go on node 2 -> 2 nodes for 15 vCPU.
    assert pack_nodes({3.0: 3, 2.0: 3}, 8) == 2
    # 5,5 | 4,4 | 3,3: the 3s do not fit beside the 4s (4+4=8, 2 left) and share a third node.
    assert pack_nodes({5.0: 2, 4.0: 2, 3.0: 2}, 10) == 3


def test_fractional_pods_just_fit() -> None:
    assert pack_nodes({0.1: 80}, 8) == 1  # 80 x 0.1 is 8.000000000000002 in floats


def test_pod_larger_than_a_node_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        pack_nodes({32.0: 1}, 16)


def test_thousands_of_pods_pack_by_group() -> None:
    assert pack_nodes({1.0: 100_000, 2.0: 50_001}, 16) == 12_501  # 200,002 vCPU on 16-vCPU nodes
