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


def _ring_turns(arr: PolygonArrays) -> tuple[FloatArray, IntArray, IntArray]:
    """Turn (cross product) at every ring vertex, normalised by the edge lengths.

    Returns (turn, ring_of_vertex, vertex_rank): turn[v] < 0 marks a reflex vertex of a CCW ring.
    Vertices are the ring's coordinates without the closing repeat.
    """
    coords = arr.coords
    ring_off = arr.ring_offsets
    n_vert = np.maximum(np.diff(ring_off) - 1, 0)
    start = ring_off[:-1]
    ring = _segment_ids(n_vert)
    rank = _ranks(n_vert)
    idx = np.repeat(start, n_vert) + rank
    if coords.shape[0] < 2:
        return np.zeros(idx.shape[0]), ring, rank
    # Edge k of the buffer joins point k and k + 1: the edge leaving a vertex at position p is
    # d[p]; the one arriving is d[p - 1], or the ring's last edge at its first vertex. Working
    # on the contiguous difference array avoids gathering every point twice.
    d = np.diff(coords, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    cross_all = np.empty(d.shape[0])
    cross_all[1:] = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    scale_all = np.empty(d.shape[0])
    scale_all[1:] = length[:-1] * length[1:]
    cross = cross_all[idx]
    scale = scale_all[idx]
    firsts = np.flatnonzero(rank == 0)
    if firsts.size:
        p = idx[firsts]
        last = p + n_vert[ring[firsts]] - 1  # the edge closing the ring arrives at its start
        cross[firsts] = d[last, 0] * d[p, 1] - d[last, 1] * d[p, 0]
        scale[firsts] = length[last] * length[p]
    turn = np.divide(cross, scale, out=np.zeros_like(cross), where=scale > 0)
    return turn, ring, rank


def fan_triangles(arr: PolygonArrays) -> tuple[IntArray, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Fan-triangulate every single-ring polygon that is star-shaped from one of its vertices.

    The apex is the first reflex vertex (vertex 0 for convex rings). If every fan triangle
    (apex, v_k, v_k+1) has non-negative area, the boundary's angle seen from the apex grows
    monotonically, every ray from the apex meets the boundary once, and the fan is a valid
    triangulation. This covers convex footprints and most L, T and U shapes without earcut.

    Returns
    -------
    triangles, done
        Triangles (indices into ``arr.coords``) of the polygons fanned, and a per-polygon mask.
    """
    ring_off = arr.ring_offsets
    poly_off = arr.poly_offsets
    n_poly = poly_off.shape[0] - 1
    done = np.zeros(n_poly, bool)
    if n_poly == 0 or arr.coords.shape[0] == 0:
        return np.zeros((0, 3), np.int64), done
    turn, ring, rank = _ring_turns(arr)
    n_vert = np.maximum(np.diff(ring_off) - 1, 0)
    # Apex: rank of the first reflex vertex of each ring (0 if none).
    reflex = turn < -1e-9
    first_reflex = np.full(n_vert.shape[0], -1, np.int64)
    rr = ring[reflex][::-1]
    first_reflex[rr] = rank[reflex][::-1]  # reversed so the first reflex vertex wins
    apex = np.maximum(first_reflex, 0)
    single = np.diff(poly_off) == 1
    shells = poly_off[:-1][single]
    cand = shells[n_vert[shells] >= 3]
    m = n_vert[cand]
    n_tri = m - 2
    owner = np.repeat(np.arange(cand.shape[0]), n_tri)
    k = _ranks(n_tri) + 1
    base = ring_off[cand][owner]
    mm = m[owner]
    a = apex[cand][owner]
    t0 = base + a
    t1 = base + (a + k) % mm
    t2 = base + (a + k + 1) % mm
    c = arr.coords
    area2 = (c[t1, 0] - c[t0, 0]) * (c[t2, 1] - c[t0, 1]) - (c[t1, 1] - c[t0, 1]) * (
        c[t2, 0] - c[t0, 0]
    )
    # Tolerance relative to the triangle's size: collinear points give zero-area slivers.
    size = np.abs(c[t1] - c[t0]).sum(axis=1) * np.abs(c[t2] - c[t0]).sum(axis=1)
    bad = area2 < -1e-9 * size
    poly_bad = np.zeros(cand.shape[0], bool)
    poly_bad[owner[bad]] = True
    ok_tri = ~poly_bad[owner]
    tris = np.column_stack([t0[ok_tri], t1[ok_tri], t2[ok_tri]])
    # Map the fanned shells (ring ids) back to polygon ids.
    poly_of_shell = np.flatnonzero(single)[n_vert[shells] >= 3]
    done[poly_of_shell[~poly_bad]] = True
    return tris, done


def roof_triangles(arr: PolygonArrays) -> IntArray:
    """Triangles (indices into ``arr.coords``) covering every polygon, CCW seen from above.

    Star-shaped single-ring polygons are fanned in numpy (:func:`fan_triangles`); only the rest
    (polygons with holes, and shapes no vertex sees whole) go through earcut, one call each.
    """
    import mapbox_earcut

    fan, done = fan_triangles(arr)
    ring_off = arr.ring_offsets
    poly_off = arr.poly_offsets
    parts = [fan]
    for p in np.flatnonzero(~done):
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
        Bottom points then top points (no point is shared between buildings); cell arrays
        ``building_index`` (int32) and ``surface`` (uint8: 1 wall, 2 roof). Triangles wind
        counter-clockwise seen from outside, so :meth:`TriMesh.face_normals` point outward.
    """
    g = arr.n_geoms
    coords = arr.coords
    n = coords.shape[0]
    point_geom = np.repeat(arr.ring_geom(), np.diff(arr.ring_offsets))
    height = np.asarray(height_m, np.float64)
    points = np.empty((2 * n, 3), np.float64)
    points[:n, :2] = coords
    points[n:, :2] = coords
    if np.ndim(base_z) == 0:
        points[:n, 2] = float(base_z)
        points[n:, 2] = float(base_z) + height[point_geom]
    else:
        z0 = np.broadcast_to(np.asarray(base_z, np.float64), (g,))[point_geom]
        points[:n, 2] = z0
        points[n:, 2] = z0 + height[point_geom]

    # Walls: one quad (two triangles) per ring edge; CCW shells give outward normals.
    edge_start = np.ones(n, bool)
    edge_start[arr.ring_offsets[1:] - 1] = False
    a = np.flatnonzero(edge_start)
    n_wall = 2 * a.shape[0]
    roofs = roof_triangles(arr)
    tris = np.empty((n_wall + roofs.shape[0], 3), np.int64)
    tris[0:n_wall:2, 0] = a
    tris[0:n_wall:2, 1] = a + 1
    tris[0:n_wall:2, 2] = a + 1 + n
    tris[1:n_wall:2, 0] = a
    tris[1:n_wall:2, 1] = a + 1 + n
    tris[1:n_wall:2, 2] = a + n
    tris[n_wall:] = roofs
    tris[n_wall:] += n
    feat = np.empty(tris.shape[0], np.int32)
    feat[0:n_wall:2] = point_geom[a]
    feat[1:n_wall:2] = point_geom[a]
    feat[n_wall:] = point_geom[roofs[:, 0]]
    if index is not None:
        feat = np.asarray(index, np.int32)[feat]
    surface = np.full(tris.shape[0], SURFACE_ROOF, np.uint8)
    surface[:n_wall] = SURFACE_WALL
    return TriMesh(points, tris, {"building_index": feat, "surface": surface})
