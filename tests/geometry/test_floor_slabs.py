"""Per-floor slabs cut from extruded buildings (:mod:`twin_app.geometry.floors`)."""

from __future__ import annotations

import numpy as np
import shapely

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.geometry.floors import CAP_M, GAP_M, OUTSET_M, STAGGER_M, floor_slabs
from twin_app.model.mesh import SURFACE_ROOF, SURFACE_WALL


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
