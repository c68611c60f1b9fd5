"""LoD1 prisms from footprints, built for all buildings at once.

The footprints arrive as ragged arrays (the layout of :func:`shapely.to_ragged_array`): one
coordinate array and offsets ring -> polygon -> building. Walls, roof triangles and normals are
computed with whole-array numpy operations. Roofs of convex single-ring footprints (most real
ones) are fan-triangulated in numpy; only concave footprints and footprints with holes go
through earcut (mapbox_earcut), one call each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twin_app.model.mesh import SURFACE_ROOF, SURFACE_WALL, FloatArray, IntArray, TriMesh


@dataclass(frozen=True, eq=False)
class PolygonArrays:
    """Polygons as ragged arrays.

    Attributes
    ----------
    coords
        (n, 2) float64 coordinates; every ring is closed (last point equals first).
    ring_offsets
        (r + 1,) start of each ring in `coords`.
    poly_offsets
        (p + 1,) start of each polygon in the ring list; ring 0 of a polygon is its shell.
    geom_offsets
        (g + 1,) start of each feature (building) in the polygon list.
    """

    coords: FloatArray
    ring_offsets: IntArray
    poly_offsets: IntArray
    geom_offsets: IntArray

    @property
    def n_geoms(self) -> int:
        """Number of features."""
        return int(self.geom_offsets.shape[0] - 1)

    def ring_geom(self) -> IntArray:
        """Feature index of every ring."""
        poly_geom = np.repeat(np.arange(self.n_geoms), np.diff(self.geom_offsets))
        return np.repeat(poly_geom, np.diff(self.poly_offsets))

    def with_coords(self, coords: FloatArray) -> PolygonArrays:
        """The same topology over new coordinates (after reprojection)."""
        return PolygonArrays(coords, self.ring_offsets, self.poly_offsets, self.geom_offsets)


def polygon_arrays(geoms: np.ndarray[Any, Any]) -> PolygonArrays:
    """Ragged arrays of an array of shapely Polygon/MultiPolygon, shells CCW and holes CW."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        z = np.zeros(1, np.int64)
        return PolygonArrays(np.zeros((0, 2)), z, z, z)
    kinds = shapely.get_type_id(geoms)
    if np.all(kinds == shapely.GeometryType.POLYGON):
        _, coords, (ring_off, poly_off) = shapely.to_ragged_array(geoms)
        geom_off = np.arange(len(poly_off), dtype=np.int64)
    else:
        _, coords, (ring_off, poly_off, geom_off) = shapely.to_ragged_array(geoms)
    arr = PolygonArrays(
        np.ascontiguousarray(coords[:, :2], dtype=np.float64),
        np.asarray(ring_off, np.int64),
        np.asarray(poly_off, np.int64),
        np.asarray(geom_off, np.int64),
    )
    return orient_rings(arr)


def ring_signed_areas(arr: PolygonArrays) -> FloatArray:
    """Shoelace signed area of every ring (positive = counter-clockwise)."""
    c = arr.coords
    if c.shape[0] < 2:
        return np.zeros(arr.ring_offsets.shape[0] - 1)
    term = c[:-1, 0] * c[1:, 1] - c[1:, 0] * c[:-1, 1]
    # Terms that straddle two rings are masked out; rings are closed so no wrap term is needed.
    term = np.append(term, 0.0)
    term[arr.ring_offsets[1:] - 1] = 0.0
    starts = arr.ring_offsets[:-1]
    nonempty = np.diff(arr.ring_offsets) > 0
    out = np.zeros(starts.shape[0])
    out[nonempty] = np.add.reduceat(term, starts[nonempty]) / 2.0
    return out


def orient_rings(arr: PolygonArrays) -> PolygonArrays:
    """Reverse rings as needed so shells are CCW and holes CW (outward wall normals)."""
    area = ring_signed_areas(arr)
    is_shell = np.zeros(area.shape[0], bool)
    is_shell[arr.poly_offsets[:-1][np.diff(arr.poly_offsets) > 0]] = True
    flip = np.where(is_shell, area < 0, area > 0)
    if not flip.any():
        return arr
    lengths = np.diff(arr.ring_offsets)
    start = np.repeat(arr.ring_offsets[:-1], lengths)
    pos = np.arange(arr.coords.shape[0]) - start
    ring = np.repeat(np.arange(lengths.shape[0]), lengths)
    src = np.where(flip[ring], start + lengths[ring] - 1 - pos, start + pos)
    return arr.with_coords(arr.coords[src])


def _segment_ids(counts: IntArray) -> IntArray:
    """For counts [2, 3] return [0, 0, 1, 1, 1]."""
    return np.repeat(np.arange(counts.shape[0]), counts)


def _ranks(counts: IntArray) -> IntArray:
    """For counts [2, 3] return [0, 1, 0, 1, 2] (position inside each segment)."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def convex_single_ring(arr: PolygonArrays) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per polygon: True when it has no holes and its CCW shell turns left at every vertex."""
    coords = arr.coords
    ring_off = arr.ring_offsets
    n_rings_per_poly = np.diff(arr.poly_offsets)
    n_ring = ring_off.shape[0] - 1
    if n_ring == 0:
        return np.zeros(0, bool)
    # Edge k of a ring goes from coord k to k + 1 (rings are closed).
    edge_start = np.ones(coords.shape[0], bool)
    edge_start[ring_off[1:] - 1] = False
    idx = np.flatnonzero(edge_start)
    e = coords[idx + 1] - coords[idx]
    n_edges = np.diff(ring_off) - 1
    # next edge inside the same ring, wrapping to the ring's first edge
    nxt = np.arange(idx.shape[0]) + 1
    ring_edge_start = np.cumsum(n_edges) - n_edges
    last = ring_edge_start + n_edges - 1
    valid = n_edges > 0
    nxt[last[valid]] = ring_edge_start[valid]
    en = e[nxt]
    cross = e[:, 0] * en[:, 1] - e[:, 1] * en[:, 0]
    scale = np.hypot(e[:, 0], e[:, 1]) * np.hypot(en[:, 0], en[:, 1])
    bad = cross < -1e-9 * scale
    ring_bad = np.zeros(n_ring, bool)
    np.logical_or.at(ring_bad, _segment_ids(n_edges), bad)
    shell = arr.poly_offsets[:-1]
    return (n_rings_per_poly == 1) & ~ring_bad[shell] & (n_edges[shell] >= 3)


def roof_triangles(arr: PolygonArrays, convex: np.ndarray[Any, Any] | None = None) -> IntArray:
    """Triangles (indices into ``arr.coords``) covering every polygon, CCW seen from above."""
    import mapbox_earcut

    if convex is None:
        convex = convex_single_ring(arr)
    ring_off = arr.ring_offsets
    poly_off = arr.poly_offsets
    # Fan triangulation for convex shells: (s, s+k, s+k+1), k = 1 .. m-2
    shell_start = ring_off[poly_off[:-1][convex]]
    m = ring_off[poly_off[:-1][convex] + 1] - shell_start - 1  # unique vertices
    n_tri = np.maximum(m - 2, 0)
    s = np.repeat(shell_start, n_tri)
    k = _ranks(n_tri) + 1
    fan = np.column_stack([s, s + k, s + k + 1])
    parts = [fan]
    # Earcut for the rest, polygon by polygon (concave or with holes).
    for p in np.flatnonzero(~convex):
        r0, r1 = poly_off[p], poly_off[p + 1]
        if r1 <= r0:
            continue
        c0, c1 = ring_off[r0], ring_off[r1]
        ends = (ring_off[r0 + 1 : r1 + 1] - c0).astype(np.uint32)
        tri = mapbox_earcut.triangulate_float64(arr.coords[c0:c1], ends)
        if tri.size:
            parts.append(tri.reshape(-1, 3).astype(np.int64) + c0)
    return np.concatenate(parts) if len(parts) > 1 else fan


def extrude(
    arr: PolygonArrays,
    height_m: FloatArray,
    base_z: FloatArray | float = 0.0,
    index: IntArray | None = None,
) -> TriMesh:
    """Extrude every footprint into a closed-top prism (walls + flat roof, no floor).

    Parameters
    ----------
    arr
        Footprints in local metres, exterior rings CCW and holes CW (see :func:`polygon_arrays`).
    height_m
        (g,) height of each feature above its base, metres.
    base_z
        Base elevation (scalar or (g,)), metres in the local frame.
    index
        (g,) value written to the ``building_index`` cell array; defaults to 0..g-1.

    Returns
    -------
    TriMesh
        Bottom points then top points; cell arrays ``building_index`` (int32),
        ``surface`` (uint8: 1 wall, 2 roof) and ``Normals`` (outward unit normals).
    """
    g = arr.n_geoms
    coords = arr.coords
    n = coords.shape[0]
    ring_geom = arr.ring_geom()
    ring_len = np.diff(arr.ring_offsets)
    point_geom = np.repeat(ring_geom, ring_len)
    height = np.asarray(height_m, np.float64)
    base = np.broadcast_to(np.asarray(base_z, np.float64), (g,))
    z0 = base[point_geom]
    points = np.empty((2 * n, 3), np.float64)
    points[:n, :2] = coords
    points[:n, 2] = z0
    points[n:, :2] = coords
    points[n:, 2] = z0 + height[point_geom]

    # Walls: one quad (two triangles) per ring edge; CCW shells give outward normals.
    edge_start = np.ones(n, bool)
    edge_start[arr.ring_offsets[1:] - 1] = False
    a = np.flatnonzero(edge_start)
    b = a + 1
    walls = np.empty((2 * a.shape[0], 3), np.int64)
    walls[0::2] = np.column_stack([a, b, b + n])
    walls[1::2] = np.column_stack([a, b + n, a + n])
    edge_geom = point_geom[a]
    d = coords[b] - coords[a]
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1.0
    wall_normals = np.zeros((a.shape[0], 3))
    wall_normals[:, 0] = d[:, 1] / length
    wall_normals[:, 1] = -d[:, 0] / length

    roofs = roof_triangles(arr) + n
    roof_point_geom = point_geom[roofs[:, 0] - n]

    tris = np.concatenate([walls, roofs])
    feat = np.concatenate([np.repeat(edge_geom, 2), roof_point_geom])
    if index is not None:
        feat = np.asarray(index)[feat]
    surface = np.empty(tris.shape[0], np.uint8)
    surface[: walls.shape[0]] = SURFACE_WALL
    surface[walls.shape[0] :] = SURFACE_ROOF
    normals = np.zeros((tris.shape[0], 3))
    normals[: walls.shape[0]] = np.repeat(wall_normals, 2, axis=0)
    normals[walls.shape[0] :, 2] = 1.0
    return TriMesh(
        points,
        tris,
        {"building_index": feat.astype(np.int32), "surface": surface, "Normals": normals},
    )
