"""Road topology: ways split at shared vertices and ends, one-way links, strong components."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, MultiLineString

from twin_app.geometry.lines import line_arrays
from twin_app.geometry.road_graph import (
    directed_links,
    largest_strong_component,
    split_at_junctions,
)


def split(geoms: list[object]):  # type: ignore[no-untyped-def]
    coords, offsets, row = line_arrays(np.array(geoms, dtype=object))
    return split_at_junctions(coords, offsets, row)


def test_a_cross_of_two_ways_sharing_the_middle_vertex_gives_four_edges() -> None:
    e = split([LineString([(-100, 0), (0, 0), (100, 0)]), LineString([(0, -50), (0, 0), (0, 50)])])
    assert e.n_edges == 4 and e.n_nodes == 5
    assert sorted(e.length_m.tolist()) == pytest.approx([50, 50, 100, 100])
    assert sorted(e.row.tolist()) == [0, 0, 1, 1]
    centre = int(np.flatnonzero((np.abs(e.node_xy) < 1e-9).all(axis=1))[0])
    assert (np.concatenate([e.tail, e.head]) == centre).sum() == 4
    # each way is cut in its own digitised direction: the first half ends at the centre
    first = (e.row == 0) & (e.head == centre)
    assert first.sum() == 1 and e.node_xy[e.tail[first][0]] == pytest.approx([-100, 0])


def test_ways_that_cross_without_a_shared_vertex_are_not_joined() -> None:
    # a bridge over a street: the lines cross at (0, 0) but have no vertex there
    e = split([LineString([(-100, 0), (100, 0)]), LineString([(0, -50), (0, 50)])])
    assert e.n_edges == 2 and e.n_nodes == 4


def test_a_way_is_split_at_every_junction_along_it_and_keeps_lengths() -> None:
    main = LineString([(0, 0), (30, 0), (60, 0), (90, 0), (120, 0)])
    sides = [LineString([(30, 0), (30, 40)]), LineString([(90, 0), (90, -40)])]
    e = split([main, *sides])
    on_main = e.row == 0
    assert on_main.sum() == 3  # cut at x = 30 and x = 90, not at the plain vertex x = 60
    assert sorted(e.length_m[on_main].tolist()) == pytest.approx([30, 30, 60])
    assert e.length_m[on_main].sum() == pytest.approx(main.length)


def test_vertices_within_the_tolerance_are_one_node_and_self_loops_are_dropped() -> None:
    a = LineString([(0, 0), (10, 0)])
    b = LineString([(10.000001, 0), (20, 0)])
    loop = LineString([(50, 0), (60, 0), (60, 10), (50, 0)])  # closed way meeting nothing
    e = split([a, b, loop])
    assert e.n_edges == 2 and e.n_nodes == 3
    assert e.head[e.row == 0][0] == e.tail[e.row == 1][0]


def test_multiline_parts_keep_their_row_and_edge_vertex_ranges() -> None:
    coords, offsets, row = line_arrays(
        np.array([MultiLineString([[(0, 0), (5, 0), (10, 0)], [(0, 5), (10, 5)]])], dtype=object)
    )
    e = split_at_junctions(coords, offsets, row)
    assert e.n_edges == 2 and (e.row == 0).all()
    assert e.stop.tolist() == [2, 4] and e.start.tolist() == [0, 3]


def test_one_way_codes_give_one_link_and_minus_one_reverses() -> None:
    edge, reverse = directed_links(np.array([0, 1, -1, 0]))
    assert edge.tolist() == [0, 0, 1, 2, 3, 3]
    assert reverse.tolist() == [False, True, False, True, False, True]


def test_largest_strong_component_leaves_out_a_one_way_dead_end() -> None:
    # 0 <-> 1 <-> 2 and a one-way 2 -> 3: node 3 cannot be left
    tail = np.array([0, 1, 1, 2, 2])
    head = np.array([1, 0, 2, 1, 3])
    assert largest_strong_component(4, tail, head).tolist() == [True, True, True, False]
