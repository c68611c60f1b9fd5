"""Extrusion: roofs cover footprints exactly, walls face outward, indices map to buildings."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from twin_app.geometry.extrude import (
    extrude,
    fan_triangles,
    polygon_arrays,
    roof_triangles,
)
from twin_app.model.mesh import SURFACE_ROOF, SURFACE_WALL

SQUARE = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
L_SHAPE = Polygon([(0, 0), (20, 0), (20, 8), (8, 8), (8, 20), (0, 20)])
U_SHAPE = Polygon([(0, 0), (30, 0), (30, 20), (20, 20), (20, 8), (10, 8), (10, 20), (0, 20)])
HOLED = Polygon([(0, 0), (30, 0), (30, 30), (0, 30)], [[(10, 10), (20, 10), (20, 20), (10, 20)]])
# A comb: no vertex sees the whole boundary, so a fan from any vertex fails.
COMB = Polygon(
    [
        (0, 0),
        (50, 0),
        (50, 30),
        (40, 30),
        (40, 5),
        (30, 5),
        (30, 30),
        (20, 30),
        (20, 5),
        (10, 5),
        (10, 30),
        (0, 30),
    ]
)
CLOCKWISE = Polygon([(0, 0), (0, 10), (10, 10), (10, 0)])  # shell given clockwise
MULTI = MultiPolygon(
    [Polygon([(0, 0), (5, 0), (5, 5), (0, 5)]), Polygon([(10, 10), (15, 10), (15, 15), (10, 15)])]
)

SHAPES = [SQUARE, L_SHAPE, U_SHAPE, HOLED, COMB, CLOCKWISE, MULTI]


def roof_union_error(geom: Polygon | MultiPolygon) -> tuple[float, float]:
    """(symmetric difference area between roof triangles and the footprint, most negative area)."""
    arr = polygon_arrays(np.array([geom], dtype=object))
    tris = roof_triangles(arr)
    c = arr.coords
    polys = [Polygon(c[t]) for t in tris]
    a, b = c[tris[:, 1]] - c[tris[:, 0]], c[tris[:, 2]] - c[tris[:, 0]]
    signed = 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    union = shapely.union_all(polys)
    return float(union.symmetric_difference(geom).area), float(signed.min())


@pytest.mark.parametrize("geom", SHAPES, ids=["square", "L", "U", "holed", "comb", "cw", "multi"])
def test_roof_triangles_tile_the_footprint_exactly(geom: Polygon) -> None:
    sym_diff, most_negative = roof_union_error(geom)
    assert sym_diff == pytest.approx(0.0, abs=1e-6)
    assert most_negative >= -1e-9  # every roof triangle is counter-clockwise (faces up)


def test_fan_covers_star_shaped_footprints_and_leaves_the_rest_to_earcut() -> None:
    arr = polygon_arrays(np.array([SQUARE, L_SHAPE, U_SHAPE, HOLED, COMB], dtype=object))
    _, done = fan_triangles(arr)
    # square: convex; L: star-shaped from its reflex corner; U: from a reflex corner of the
    # notch no vertex sees both arms' far corners -> earcut; holed and comb -> earcut.
    assert done.tolist() == [True, True, False, False, False]


def test_extrusion_walls_face_outward_and_roofs_up() -> None:
    geoms = np.array([L_SHAPE, HOLED, CLOCKWISE], dtype=object)
    mesh = extrude(polygon_arrays(geoms), np.array([12.0, 30.0, 5.0]))
    normals = mesh.face_normals()
    surf = mesh.cell_data["surface"]
    assert np.allclose(normals[surf == SURFACE_ROOF], [0, 0, 1])
    walls = np.flatnonzero(surf == SURFACE_WALL)
    centre = mesh.points[mesh.triangles[walls]].mean(axis=1)
    owner = mesh.cell_data["building_index"][walls]
    # A point just outside each wall (along its normal) is outside its footprint; just inside is inside.
    outside = centre[:, :2] + 0.01 * normals[walls, :2]
    inside = centre[:, :2] - 0.01 * normals[walls, :2]
    ok_out = ~shapely.contains_xy(geoms[owner], outside[:, 0], outside[:, 1])
    ok_in = shapely.contains_xy(geoms[owner], inside[:, 0], inside[:, 1])
    assert ok_out.all() and ok_in.all()
    assert np.allclose(normals[walls, 2], 0.0)


def test_extrusion_heights_indices_and_counts() -> None:
    geoms = np.array([SQUARE, MULTI, HOLED], dtype=object)
    heights = np.array([3.0, 7.5, 40.0])
    mesh = extrude(polygon_arrays(geoms), heights, base_z=2.0)
    idx = mesh.cell_data["building_index"]
    for b, h in enumerate(heights):
        z = mesh.points[mesh.triangles[idx == b]][..., 2]
        assert z.min() == pytest.approx(2.0) and z.max() == pytest.approx(2.0 + h)
    # walls: two triangles per ring edge (square 4, multi 8, holed 8 edges)
    n_walls = np.bincount(idx[mesh.cell_data["surface"] == SURFACE_WALL], minlength=3)
    assert n_walls.tolist() == [8, 16, 16]
    roof = mesh.cell_data["surface"] == SURFACE_ROOF
    areas = np.bincount(idx[roof], weights=mesh.areas()[roof], minlength=3)
    assert areas == pytest.approx(shapely.area(geoms))
    # no point is shared between buildings (per-building colours can live on points)
    owner = np.full(mesh.n_points, -1)
    for b in range(3):
        pts = np.unique(mesh.triangles[idx == b])
        assert (owner[pts] == -1).all()
        owner[pts] = b


def test_index_argument_relabels_buildings() -> None:
    mesh = extrude(
        polygon_arrays(np.array([SQUARE, L_SHAPE], dtype=object)),
        np.array([1.0, 2.0]),
        index=np.array([7, 3]),
    )
    assert set(np.unique(mesh.cell_data["building_index"])) == {3, 7}


@st.composite
def star_polygons(draw: st.DrawFn) -> Polygon:
    """Random simple polygons: vertices at sorted angles and random radii around a centre."""
    n = draw(st.integers(min_value=3, max_value=24))
    angles = np.sort(
        np.array(
            draw(st.lists(st.floats(0, 2 * np.pi - 1e-3), min_size=n, max_size=n, unique=True))
        )
    )
    radii = np.array(draw(st.lists(st.floats(1.0, 50.0), min_size=n, max_size=n)))
    pts = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)]) + 1000.0
    poly = Polygon(pts)
    if not poly.is_valid or poly.area < 1e-3:
        poly = Polygon([(0, 0), (1, 0), (0, 1)])
    return poly


@settings(max_examples=150, deadline=None)
@given(star_polygons())
def test_random_simple_polygons_are_tiled_exactly(poly: Polygon) -> None:
    sym_diff, most_negative = roof_union_error(poly)
    assert sym_diff <= 1e-6 * max(poly.area, 1.0)
    assert most_negative >= -1e-6
