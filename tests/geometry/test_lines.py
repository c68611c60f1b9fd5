"""Road ribbons: width, area, miter joins and the segment index."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon

from twin_app.geometry.lines import line_arrays, ribbons
from twin_app.model.city import Polylines


def ribbon_for(geoms: list[object], widths: list[float]):  # type: ignore[no-untyped-def]
    coords, offsets, part = line_arrays(np.array(geoms, dtype=object))
    lines = Polylines(np.column_stack([coords, np.zeros(len(coords))]), offsets)
    return ribbons(lines, np.asarray(widths, float)[part], part), lines


def test_straight_ribbon_has_length_times_width_area_and_faces_up() -> None:
    mesh, lines = ribbon_for([LineString([(0, 0), (100, 0)])], [8.0])
    assert mesh.areas().sum() == pytest.approx(800.0)
    assert np.allclose(mesh.face_normals(), [0, 0, 1])
    assert lines.lengths_m() == pytest.approx([100.0])
    ys = mesh.points[:, 1]
    assert ys.min() == pytest.approx(-4.0) and ys.max() == pytest.approx(4.0)


def test_right_angle_bend_is_mitred_without_gaps() -> None:
    line = LineString([(0, 0), (50, 0), (50, 50)])
    mesh, _ = ribbon_for([line], [6.0])
    ribbon = shapely.union_all([Polygon(mesh.points[t, :2]) for t in mesh.triangles])
    expected = line.buffer(3.0, cap_style="flat", join_style="mitre")
    assert ribbon.symmetric_difference(expected).area < 1e-6
    assert (mesh.areas() > 0).all()


def test_multilines_keep_their_road_index_and_no_bridge_between_parts() -> None:
    roads = [
        MultiLineString([[(0, 0), (10, 0)], [(100, 100), (110, 100)]]),
        LineString([(0, 50), (0, 80)]),
    ]
    mesh, lines = ribbon_for(roads, [4.0, 2.0])
    idx = mesh.cell_data["segment_index"]
    assert np.bincount(idx).tolist() == [4, 2]  # two parts x 2 triangles, one part x 2
    assert mesh.areas().sum() == pytest.approx(4.0 * 10 * 2 + 2.0 * 30)
    assert lines.n_lines == 3
