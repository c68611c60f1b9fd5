"""The ground context as one flat mesh: land use, parks, water and railways under the city.

Areas are triangulated at zero height with the footprint code (earcut for polygons with
holes) and lifted by :data:`GROUND_Z_M`; railways are flat ribbons a little higher. Where
areas of different classes overlap (a garden in a residential area, a pond in a park), the
class earlier in :data:`twin_app.model.style.GROUND_CLASSES` keeps the overlap and the later
one is cut away, so no two ground colours share a place and nothing can z-fight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin_app.geometry.extrude import polygon_arrays, roof_triangles
from twin_app.geometry.lines import line_arrays, ribbons
from twin_app.io.source import SourceData
from twin_app.model.city import GROUND, FeatureSet, Polylines
from twin_app.model.frame import LocalFrame
from twin_app.model.mesh import SURFACE_OTHER, TriMesh, concat_meshes
from twin_app.model.style import GROUND_CLASSES

#: Height of ground areas above the local origin, metres: 10 cm over the ground plane (5 cm
#: below the origin; at 7 cm the plane still showed through the far end of the Thames in an
#: oblique 1600 x 900 view) and 10 cm under the roads (15 cm).
GROUND_Z_M = 0.05
#: Height of railway ribbons, metres: over the ground areas (railway land), under roads.
RAIL_Z_M = 0.10
#: Width of a railway ribbon, metres (one standard-gauge track bed).
RAIL_WIDTH_M = 4.0
#: Minimum area left of a ground polygon after the overlap cut, square metres.
MIN_AREA_M2 = 0.5


def _class_rank(classes: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    order = {name: i for i, (name, _) in enumerate(GROUND_CLASSES)}
    ranks = pd.Series(classes).map(order).fillna(len(order)).to_numpy(np.int64)
    return np.asarray(ranks, np.int64)


#: Extra lift per class of 3D ground objects (CityJSON), metres: where a WaterBody lies on a
#: LandUse surface, the class drawn over the other is a centimetre higher.
CLASS_STEP_M = 0.01


def lift_by_class(mesh: TriMesh, classes: np.ndarray[Any, Any], index: str) -> TriMesh:
    """Lift 3D ground surfaces (CityJSON) by :data:`GROUND_Z_M` plus a step per class.

    Their geometry keeps its own heights (it lies on the terrain); where surfaces of two
    classes overlap in the same plane, the class earlier in the ground palette is the higher.
    Points are never shared between features (see ``io.load._submesh``), so the lift is per
    point.
    """
    rank = _class_rank(classes)
    lift = GROUND_Z_M + CLASS_STEP_M * (len(GROUND_CLASSES) - rank).astype(np.float64)
    point_lift = np.zeros(mesh.n_points)
    if mesh.n_triangles:
        feature = np.asarray(mesh.cell_data[index], np.int64)
        point_lift[mesh.triangles.ravel()] = np.repeat(lift[feature], 3)
    points = mesh.points.copy()
    points[:, 2] += point_lift
    return TriMesh(points, mesh.triangles, mesh.cell_data)


def cut_overlaps(
    geoms: np.ndarray[Any, Any], classes: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Cut from every polygon the polygons of the classes drawn over it.

    An STR tree finds the overlapping pairs (a polygon and one of a class earlier in
    :data:`GROUND_CLASSES`); round k cuts the k-th such neighbour from every polygon that has
    one, one vectorised ``shapely.difference`` per round. Cutting each polygon from the union
    of all earlier classes took 3.6 s on Porto's 2,500 areas; the pairs take a fraction.
    A pair GEOS cannot cut (a topology error) is left overlapping: it only looks worse.
    """
    import shapely

    src = np.asarray(geoms, dtype=object)
    out = src.copy()
    if len(src) < 2:
        return out
    rank = _class_rank(classes)
    i, j = shapely.STRtree(src).query(src, predicate="intersects")
    over = rank[j] < rank[i]
    i, j = i[over], j[over]
    if not i.size:
        return out
    order = np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    k = np.arange(i.size) - np.searchsorted(i, i)  # j is the k-th neighbour over i
    for r in range(int(k.max()) + 1):
        m = k == r
        try:
            out[i[m]] = shapely.difference(out[i[m]], src[j[m]])
        except shapely.errors.GEOSException:
            continue
    return out


def _areas_mesh(geoms: np.ndarray[Any, Any], rows: np.ndarray[Any, np.dtype[np.int64]]) -> TriMesh:
    import shapely

    from twin_app.geometry.clean import clean_polygons

    clean = clean_polygons(geoms, min_area=MIN_AREA_M2)
    keep = ~clean.dropped
    g = clean.geoms[keep]
    if not len(g):
        return TriMesh.empty(("feature_index", np.int32), ("surface", np.uint8))
    g = shapely.force_2d(g)
    arr = polygon_arrays(g)
    tris = roof_triangles(arr)
    pts = np.column_stack([arr.coords, np.full(arr.coords.shape[0], GROUND_Z_M)])
    point_row = np.repeat(rows[keep][arr.ring_geom()], np.diff(arr.ring_offsets))
    normals = np.zeros((tris.shape[0], 3))
    normals[:, 2] = 1.0
    return TriMesh(
        pts,
        tris,
        {
            "feature_index": point_row[tris[:, 0]].astype(np.int32),
            "surface": np.full(tris.shape[0], SURFACE_OTHER, np.uint8),
            "Normals": normals,
        },
    )


def ground_from_source(
    src: SourceData, frame: LocalFrame, rail_width_m: float = RAIL_WIDTH_M
) -> FeatureSet:
    """The source's ground context (``src.ground``) as one flat mesh in `frame`.

    Parameters
    ----------
    src
        A source with a ground table: ``id``, ``type`` (the ground class), tags, and polygon
        (areas) or line (railways) geometry in ``src.crs``.
    frame
        The twin's local frame.
    rail_width_m
        Width of the railway ribbons, metres.

    Returns
    -------
    FeatureSet
        Kind ``ground``; the table is the ground table without geometry, the mesh carries
        ``feature_index`` (the table row of every triangle).
    """
    import shapely

    gdf = src.ground
    assert gdf is not None
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    classes = gdf["type"].to_numpy(object)

    def to_local(xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return frame.to_local(xy[:, 0], xy[:, 1], src=gdf.crs)[:, :2]

    local = shapely.transform(geoms, to_local)
    kinds = shapely.get_type_id(local)
    is_area = np.isin(kinds, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON))
    is_line = np.isin(
        kinds, (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)
    )
    meshes: list[TriMesh] = []
    area_rows = np.flatnonzero(is_area)
    if area_rows.size:
        cut = cut_overlaps(local[area_rows], classes[area_rows])
        meshes.append(_areas_mesh(cut, area_rows.astype(np.int64)))
    line_rows = np.flatnonzero(is_line)
    if line_rows.size:
        coords, offsets, part = line_arrays(local[line_rows])
        lines = Polylines(np.column_stack([coords, np.zeros(len(coords))]), offsets, part)
        width = np.full(lines.n_lines, rail_width_m)
        rail = ribbons(lines, width, line_rows[part], z_m=RAIL_Z_M, index_name="feature_index")
        meshes.append(rail)
    mesh = concat_meshes(meshes)
    if mesh.n_triangles == 0:
        mesh = TriMesh.empty(("feature_index", np.int32), ("surface", np.uint8))
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    return FeatureSet(
        f"Ground ({src.label})", GROUND, src.label, table["id"].to_numpy(object), table, mesh
    )
