"""Tubes along polylines: surface area, outward normals, index array, degenerate input."""

from __future__ import annotations

import numpy as np
import pytest

from twin_app.geometry.tubes import tubes
from twin_app.model.city import Polylines


def _lines(*lines: list[tuple[float, float, float]]) -> Polylines:
    coords = np.array([p for line in lines for p in line], np.float64).reshape(-1, 3)
    offsets = np.zeros(len(lines) + 1, np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    return Polylines(coords, offsets)


def _distance_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    t = np.clip(((p - a) @ d) / (d @ d), 0.0, 1.0)
    return np.asarray(np.linalg.norm(p - (a + t[:, None] * d), axis=1))


@pytest.mark.parametrize("n_sides", [8, 32])
def test_straight_tube_area_approximates_cylinder(n_sides: int) -> None:
    r, length = 0.25, 40.0
    mesh = tubes(_lines([(0, 0, -2), (length, 0, -2)]), np.array([r]), n_sides=n_sides)
    area = mesh.areas().sum()
    # exact for the inscribed prism, and within the polygon error of the cylinder
    assert area == pytest.approx(n_sides * 2 * r * np.sin(np.pi / n_sides) * length, rel=1e-12)
    x = np.pi / n_sides
    assert area < 2 * np.pi * r * length
    assert area == pytest.approx(2 * np.pi * r * length, rel=x**2 / 6 * 1.01)
    assert mesh.n_triangles == 2 * n_sides
    assert mesh.n_points == 2 * n_sides


def test_normals_point_away_from_the_axis() -> None:
    # horizontal, sloped, vertical and diagonal segments, one bent line
    lines = _lines(
        [(0, 0, 0), (10, 0, 0)],
        [(0, 0, 0), (3, 4, -1)],
        [(5, 5, 0), (5, 5, -7)],
        [(0, 0, 0), (5, 5, 1), (12, 3, -2), (12, 3, 9)],
    )
    radius = np.array([0.1, 0.3, 0.5, 0.2])
    mesh = tubes(lines, radius, n_sides=6)
    normals = mesh.face_normals()
    centres = mesh.points[mesh.triangles].mean(axis=1)
    seg_of_tri = np.repeat(np.arange(mesh.n_triangles // 12), 12)
    starts = np.array([0, 2, 4, 6, 7, 8])  # segment start points in lines.coords
    a = lines.coords[starts][seg_of_tri]
    b = lines.coords[starts + 1][seg_of_tri]
    d = b - a
    t = np.einsum("ij,ij->i", centres - a, d) / np.einsum("ij,ij->i", d, d)
    radial = centres - (a + t[:, None] * d)
    assert (np.einsum("ij,ij->i", normals, radial) > 0).all()
    # normals are perpendicular to the axis and every point lies on its segment's circle
    assert (
        np.abs(np.einsum("ij,ij->i", normals, d / np.linalg.norm(d, axis=1)[:, None])).max() < 1e-9
    )
    pt_seg = np.repeat(np.arange(6), 12)
    line_of_seg = np.array([0, 1, 2, 3, 3, 3])
    dist = _distance_to_segment(mesh.points[pt_seg == 0], lines.coords[0], lines.coords[1])
    assert dist == pytest.approx(np.full(12, 0.1))
    for s in range(6):
        pts = mesh.points[pt_seg == s]
        dist = _distance_to_segment(pts, lines.coords[starts[s]], lines.coords[starts[s] + 1])
        assert dist == pytest.approx(np.full(12, radius[line_of_seg[s]]))


def test_index_array_maps_triangles_to_lines() -> None:
    lines = _lines([(0, 0, 0), (1, 0, 0), (2, 1, 0)], [(0, 5, 0), (4, 5, 0)])
    mesh = tubes(lines, 0.1, line_index=np.array([7, 3]), index_name="pipe_index")
    idx = mesh.cell_data["pipe_index"]
    assert idx.dtype == np.int32
    assert idx.shape == (mesh.n_triangles,)
    assert np.bincount(idx).tolist()[3] == 16 and np.bincount(idx).tolist()[7] == 32
    # default index is the line number
    assert set(tubes(lines, 0.1).cell_data["pipe_index"].tolist()) == {0, 1}


def test_degenerate_lines_give_no_triangles() -> None:
    lines = _lines(
        [(0, 0, 0)],  # one point
        [(1, 1, 1), (1, 1, 1)],  # zero length
        [(0, 0, 0), (0, 0, 0), (2, 0, 0)],  # repeated point then a real segment
    )
    mesh = tubes(lines, np.array([0.1, 0.1, 0.1]))
    assert set(mesh.cell_data["pipe_index"].tolist()) == {2}
    assert mesh.n_triangles == 16
    assert np.isfinite(mesh.points).all()
    empty = tubes(Polylines(np.zeros((0, 3)), np.zeros(1, np.int64)), 0.1)
    assert empty.n_triangles == 0 and "pipe_index" in empty.cell_data
    with pytest.raises(ValueError, match="3 sides"):
        tubes(lines, 0.1, n_sides=2)
