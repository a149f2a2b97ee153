"""cnncalc/layout.py: the layered layout's invariants on chains, branches and random DAGs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.layout import NODE_GAP, RANK_GAP, layered, ranks


def test_a_chain_is_one_straight_column():
    sizes = [(80.0, 40.0)] * 5
    layout = layered(sizes, [(i, i + 1) for i in range(4)])
    assert len(set(layout.x)) == 1
    assert all(b - a == 40.0 + RANK_GAP for a, b in zip(layout.y, layout.y[1:]))
    assert layout.rank == (0, 1, 2, 3, 4)


def test_a_long_edge_bends_through_one_point_per_layer_it_skips():
    # 0 -> 1 -> 2 -> 3 and a shortcut 0 -> 3 (a residual block)
    layout = layered([(60.0, 30.0)] * 4, [(0, 1), (1, 2), (2, 3), (0, 3)])
    assert [len(route) for route in layout.routes] == [2, 2, 2, 4]
    shortcut = layout.routes[3]
    assert shortcut[0] == (layout.x[0], layout.y[0] + 15)
    assert shortcut[-1] == (layout.x[3], layout.y[3] - 15)
    # the bend points sit beside the main column, not on its boxes
    assert all(abs(x - layout.x[1]) >= 30 + NODE_GAP / 2 - 0.1 for x, _ in shortcut[1:-1])


def test_parallel_branches_share_layers_without_crossing():
    # input -> (a1 -> a2) and (b1 -> b2) -> concat
    edges = [(0, 1), (1, 2), (0, 3), (3, 4), (2, 5), (4, 5)]
    layout = layered([(50.0, 20.0)] * 6, edges)
    assert layout.rank == (0, 1, 2, 1, 2, 3)
    assert (layout.x[1] < layout.x[3]) == (layout.x[2] < layout.x[4])


def test_nodes_must_come_in_topological_order():
    with pytest.raises(ValueError, match="topological order"):
        layered([(10.0, 10.0)] * 2, [(1, 0)])
    assert ranks(0, []) == []


@st.composite
def dags(draw):
    count = draw(st.integers(1, 25))
    sizes = [(float(draw(st.integers(20, 120))), float(draw(st.integers(10, 50)))) for _ in range(count)]
    edges = []
    for target in range(1, count):
        sources = draw(st.lists(st.integers(0, target - 1), min_size=1, max_size=3, unique=True))
        edges += [(source, target) for source in sources]
    return sizes, edges


@given(dags())
def test_boxes_of_a_layer_never_overlap_and_edges_point_down(dag):
    sizes, edges = dag
    layout = layered(sizes, edges)
    assert layout == layered(sizes, edges)  # deterministic
    by_rank: dict[int, list[int]] = {}
    for node, rank in enumerate(layout.rank):
        by_rank.setdefault(rank, []).append(node)
    for nodes in by_rank.values():
        nodes.sort(key=lambda n: layout.x[n])
        for a, b in zip(nodes, nodes[1:]):
            assert layout.x[b] - layout.x[a] >= (sizes[a][0] + sizes[b][0]) / 2 + NODE_GAP - 0.2
    for (source, target), route in zip(edges, layout.routes):
        assert layout.rank[target] > layout.rank[source]
        assert len(route) == layout.rank[target] - layout.rank[source] + 1
        assert all(b[1] > a[1] for a, b in zip(route, route[1:]))
    for node, (w, h) in enumerate(sizes):
        assert layout.x[node] - w / 2 >= 0 and layout.x[node] + w / 2 <= layout.width
        assert layout.y[node] - h / 2 >= 0 and layout.y[node] + h / 2 <= layout.height
