"""Which buildings of a city an IFC building stands on: footprints from meshes, vectorised.

An IFC proposal replaces the LoD1/LoD2 buildings under it. Footprints come from the meshes
themselves (no per-feature Python loop): the IFC building's is the union of its element
triangles projected on the ground plane; a city building's is the convex hull of its mesh
points (prisms and CityJSON solids alike), one shapely call over all buildings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.model.city import FeatureSet

#: A building counts as replaced when the IFC footprint covers at least this share of its own
#: footprint, or the building covers this share of the IFC footprint (a small proposal on a
#: big old block replaces it too).
MIN_SHARE = 0.3


def mesh_footprint(points: np.ndarray[Any, Any], triangles: np.ndarray[Any, Any]) -> Any:
    """The ground plane projection of triangles: union of their xy triangles (shapely).

    Vertical triangles (walls) project to slivers and are left out: the slabs and roofs
    cover the footprint. Returns an empty polygon for no triangles.
    """
    import shapely

    if not len(triangles):
        return shapely.Polygon()
    xy = np.asarray(points, np.float64)[np.asarray(triangles)][:, :, :2]
    area = 0.5 * np.abs(
        (xy[:, 1, 0] - xy[:, 0, 0]) * (xy[:, 2, 1] - xy[:, 0, 1])
        - (xy[:, 2, 0] - xy[:, 0, 0]) * (xy[:, 1, 1] - xy[:, 0, 1])
    )
    xy = xy[area > 1e-4]
    if not len(xy):
        return shapely.MultiPoint(np.asarray(points)[:, :2]).convex_hull
    rings = np.concatenate([xy, xy[:, :1]], axis=1)
    polys = shapely.polygons(rings)
    # a few cm grown: triangles that only touch at an edge merge into one polygon
    return shapely.union_all(shapely.buffer(polys, 0.02, quad_segs=1))


def feature_hulls(fs: FeatureSet) -> np.ndarray[Any, Any]:
    """Convex hull of each feature's mesh points in the xy plane (empty for none)."""
    import shapely

    n = fs.n_features
    out = np.full(n, shapely.Polygon(), dtype=object)
    m = fs.mesh
    if not m.n_triangles:
        return out
    idx = np.asarray(m.cell_data[fs.index_array], np.int64)
    point_feature = np.full(m.n_points, -1, np.int64)
    point_feature[m.triangles.ravel()] = np.repeat(idx, 3)
    used = point_feature >= 0
    pts = m.points[used][:, :2]
    owner = point_feature[used]
    order = np.argsort(owner, kind="stable")
    mp = shapely.multipoints(pts[order], indices=owner[order])
    have = np.unique(owner)
    out[have] = shapely.convex_hull(mp)
    return out


def features_under(
    buildings: FeatureSet, footprint: Any, min_share: float = MIN_SHARE
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Rows of `buildings` whose footprint overlaps `footprint` (STRtree query, then the
    overlap share of either area, :data:`MIN_SHARE`)."""
    import shapely

    if footprint is None or footprint.is_empty:
        return np.zeros(0, np.int64)
    hulls = feature_hulls(buildings)
    tree = shapely.STRtree(hulls)
    cand = np.asarray(tree.query(footprint, predicate="intersects"), np.int64)
    if not cand.size:
        return cand
    inter = shapely.area(shapely.intersection(hulls[cand], footprint))
    own = np.maximum(shapely.area(hulls[cand]), 1e-9)
    share = np.maximum(inter / own, inter / max(float(footprint.area), 1e-9))
    return np.sort(cand[share >= min_share])
