"""The grouped bin-packing gives exactly what placing pods one by one, first-fit-decreasing, gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from godseye.plan.nodes import pack_nodes


def one_by_one(pods: dict[float, int], node_vcpu: float) -> int:
    free: list[float] = []
    for size in sorted((s for s, n in pods.items() for _ in range(n)), reverse=True):
        for i, room in enumerate(free):
            if size <= room + 1e-9:
                free[i] = room - size
                break
        else:
            free.append(node_vcpu - size)
    return len(free)


@given(
    st.dictionaries(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]), st.integers(0, 40), max_size=6),
    st.sampled_from([6.0, 8.0, 16.0]),
)
def test_grouped_equals_one_by_one(pods: dict[float, int], node_vcpu: float) -> None:
    assert pack_nodes(pods, node_vcpu) == one_by_one(pods, node_vcpu)


@given(st.dictionaries(st.sampled_from([0.5, 1.0, 2.0]), st.integers(0, 500), max_size=3), st.sampled_from([8.0, 16.0]))
def test_nodes_hold_all_vcpu(pods: dict[float, int], node_vcpu: float) -> None:
    used = sum(s * n for s, n in pods.items())
    assert pack_nodes(pods, node_vcpu) * node_vcpu >= used - 1e-6
