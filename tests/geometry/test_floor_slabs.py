"""Per-floor slabs cut from extruded buildings (:mod:`twin_app.geometry.floors`)."""

from __future__ import annotations

import numpy as np
import shapely

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.geometry.floors import (
    CAP_M,
    GAP_M,
    OUTSET_M,
    STAGGER_M,
    floor_slabs,
    outline_prisms,
)
from twin_app.model.mesh import SURFACE_ROOF, SURFACE_WALL, TriMesh


def _two_buildings() -> object:
    geoms = np.array(
        [shapely.box(0.0, 0.0, 20.0, 10.0), shapely.box(50.0, 0.0, 60.0, 10.0)], dtype=object
    )
    return extrude(polygon_arrays(geoms), np.array([10.0, 4.0]))


def test_every_floor_is_its_buildings_walls_in_its_band_pushed_out() -> None:
    mesh = _two_buildings()
    # building 0: floors 0-3, 3-6, 6-10 (top reaches the roof); building 1: one floor
    building = np.array([0, 0, 0, 1])
    bottom = np.array([0.0, 3.0, 6.0, 0.0])
    top = np.array([3.0, 6.0, 10.0, 4.0])
    slabs = floor_slabs(mesh, building, bottom, top)  # type: ignore[arg-type]
    row = np.asarray(slabs.cell_data["feature_index"])
    surf = np.asarray(slabs.cell_data["surface"])
    z = slabs.points[slabs.triangles][:, :, 2]
    # 4 walls x 2 triangles per floor, roofs (2 triangles) only on each building's top floor
    assert np.bincount(row[surf == SURFACE_WALL]).tolist() == [8, 8, 8, 8]
    assert np.bincount(row[surf == SURFACE_ROOF], minlength=4).tolist() == [0, 0, 2, 2]
    for k in range(4):
        zk = z[row == k]
        ceiling = top[k] + CAP_M if k in (2, 3) else top[k] - GAP_M
        assert zk.min() == bottom[k] and np.isclose(zk.max(), ceiling)
    # the slabs stand OUTSET_M (and 3 floors' stagger) outside the walls, at the corners too
    d = OUTSET_M + 3 * STAGGER_M
    x = slabs.points[slabs.triangles[row == 1]][:, :, 0]
    assert np.isclose(x.min(), -d, atol=1e-9)
    assert np.isclose(x.max(), 20.0 + d, atol=1e-9)
    y = slabs.points[slabs.triangles[row == 1]][:, :, 1]
    assert np.isin(np.round(x, 9), np.round([-d, 20.0 + d], 9)).all()
    assert np.isin(np.round(y, 9), np.round([-d, 10.0 + d], 9)).all()
    # outward winding kept: every wall normal points away from its building's centre
    p = slabs.points[slabs.triangles]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    centre = np.where(row[:, None] < 3, [10.0, 5.0], [55.0, 5.0])
    out = ((p.mean(axis=1)[:, :2] - centre) * n[:, :2]).sum(axis=1)
    assert (out[surf == SURFACE_WALL] > 0).all()


def test_no_floors_no_slabs() -> None:
    slabs = floor_slabs(_two_buildings(), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))  # type: ignore[arg-type]
    assert slabs.n_triangles == 0


def _detailed_l_house() -> TriMesh:
    """Building 0: an L-shaped body of many small triangles (a roof cut in 0.5 m squares
    sloping from 6 m to 9 m, an inner floor at 3 m, walls); building 1: an LoD1 box."""
    plan = shapely.union(shapely.box(0.0, 0.0, 12.0, 4.0), shapely.box(0.0, 0.0, 4.0, 10.0))
    xs, ys = np.meshgrid(np.arange(0.0, 12.0, 0.5), np.arange(0.0, 10.0, 0.5))
    cells = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 0.5, ys.ravel() + 0.5)
    cells = cells[shapely.within(cells, plan)]
    c = shapely.get_coordinates(cells).reshape(-1, 5, 2)[:, :4]  # 4 corners each
    tri2 = np.concatenate([c[:, [0, 1, 2]], c[:, [0, 2, 3]]])  # (t, 3, 2)
    parts = []
    for z in (lambda xy: 6.0 + 0.25 * xy[..., 0], lambda xy: np.full(xy.shape[:-1], 3.0)):
        parts.append(np.concatenate([tri2, z(tri2)[..., None]], axis=2))
    wall = extrude(polygon_arrays(np.array([plan], dtype=object)), np.array([6.0]))
    wall_tri = wall.points[wall.triangles[wall.cell_data["surface"] == SURFACE_WALL]]
    body = np.concatenate([*parts, wall_tri])  # (t, 3, 3)
    box = extrude(polygon_arrays(np.array([shapely.box(30.0, 0.0, 40.0, 10.0)], dtype=object)),
                  np.array([5.0]))  # fmt: skip
    pts = np.concatenate([body.reshape(-1, 3), box.points])
    tris = np.concatenate(
        [np.arange(body.shape[0] * 3).reshape(-1, 3), box.triangles + body.shape[0] * 3]
    )
    n_body = body.shape[0]
    return TriMesh(
        pts,
        tris,
        {
            "building_index": np.r_[np.zeros(n_body), np.ones(box.n_triangles)].astype(np.int32),
            "surface": np.r_[np.full(n_body, SURFACE_ROOF), box.cell_data["surface"]].astype(
                np.uint8
            ),
        },
    )


def test_a_detailed_body_stands_in_as_a_prism_of_its_plan() -> None:
    mesh = _detailed_l_house()
    assert (mesh.cell_data["building_index"] == 0).sum() > 500
    out = outline_prisms(mesh, np.array([0, 7]), base_z=0.0)  # 7: no such building, ignored
    b = np.asarray(out.cell_data["building_index"])
    body = out.triangles[b == 0]
    # the L's 6 walls and its roof: a few dozen triangles, not the body's hundreds
    assert body.shape[0] <= 6 * 2 + 8
    p = out.points[body]
    assert np.isclose(p[:, :, 2].min(), 0.0) and np.isclose(p[:, :, 2].max(), 9.0)
    # the plan is the L (not its bounding box): the roof's triangles cover 64 m2
    up = out.cell_data["surface"][b == 0] == SURFACE_ROOF
    q = p[up]
    u, v = q[:, 1, :2] - q[:, 0, :2], q[:, 2, :2] - q[:, 0, :2]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]).sum()
    assert np.isclose(area, 12 * 4 + 4 * 6)
    # the other building is left as it was
    box = out.points[out.triangles[b == 1]]
    before = mesh.points[mesh.triangles[mesh.cell_data["building_index"] == 1]]
    assert np.array_equal(
        np.sort(box.reshape(-1, 3), axis=0), np.sort(before.reshape(-1, 3), axis=0)
    )
    # and the floors of the stand-in are cut from its walls: 2 floors, 6 walls each
    slabs = floor_slabs(out, np.array([0, 0]), np.array([0.0, 3.0]), np.array([3.0, 9.0]))
    row = np.asarray(slabs.cell_data["feature_index"])
    surf = np.asarray(slabs.cell_data["surface"])
    assert np.bincount(row[surf == SURFACE_WALL]).tolist() == [12, 12]
