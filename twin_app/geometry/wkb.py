"""Polygons straight from WKB bytes into ragged arrays, without building shapely objects.

GeoPackage, FlatGeobuf and the others arrive through pyogrio's Arrow reader as one buffer of
WKB blobs. For (Multi)Polygons in 2D little-endian WKB (what GDAL writes), the coordinate
blocks of every ring are contiguous in that buffer: walking the headers level by level
(polygons of all geometries at once, then rings) finds them with a handful of whole-array
steps, and one boolean mask copies every coordinate out. Anything else (3D, big-endian,
curves, collections) returns None and the caller uses shapely.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.geometry.extrude import PolygonArrays

U8 = np.ndarray[Any, np.dtype[np.uint8]]
I64 = np.ndarray[Any, np.dtype[np.int64]]

WKB_POLYGON = 3
WKB_MULTIPOLYGON = 6


def _u32(data: U8, pos: I64) -> I64:
    """Little-endian uint32 at byte positions `pos` (vectorised)."""
    d = data.astype(np.int64, copy=False) if data.dtype != np.uint8 else data
    return (
        d[pos].astype(np.int64)
        | (d[pos + 1].astype(np.int64) << 8)
        | (d[pos + 2].astype(np.int64) << 16)
        | (d[pos + 3].astype(np.int64) << 24)
    )


def polygons_from_wkb(data: U8, starts: I64, ends: I64) -> PolygonArrays | None:
    """Ragged arrays of the (Multi)Polygon WKB blobs ``data[starts[i]:ends[i]]``.

    Empty blobs give features with no polygons. Rings keep their closing point and their
    orientation (orient them with :func:`twin_app.geometry.extrude.orient_rings`).

    Returns None when any blob is not 2D little-endian Polygon/MultiPolygon WKB.
    """
    n = int(starts.shape[0])
    size = ends - starts
    present = size >= 9
    if n == 0:
        z = np.zeros(1, np.int64)
        return PolygonArrays(np.zeros((0, 2)), z, z, z)
    if np.any((size > 0) & (size < 9)):
        return None
    s = starts[present]
    if np.any(data[s] != 1):
        return None  # big-endian
    gtype = _u32(data, s + 1)
    if not np.all((gtype == WKB_POLYGON) | (gtype == WKB_MULTIPOLYGON)):
        return None  # 3D, measured, curves or other types
    multi = gtype == WKB_MULTIPOLYGON
    npoly_p = np.where(multi, _u32(data, s + 5), 1)
    npoly = np.zeros(n, np.int64)
    npoly[present] = npoly_p
    cursor = np.zeros(n, np.int64)
    cursor[present] = np.where(multi, s + 9, s)
    # Walk polygon j of every geometry that has one, then its rings.
    ring_geom: list[I64] = []
    ring_poly_rank: list[I64] = []
    ring_rank: list[I64] = []
    ring_pos: list[I64] = []
    ring_npts: list[I64] = []
    poly_geom: list[I64] = []
    poly_rank: list[I64] = []
    poly_nrings: list[I64] = []
    j = 0
    while True:
        act = np.flatnonzero(npoly > j)
        if act.size == 0:
            break
        c = cursor[act]
        if np.any(data[c] != 1) or np.any(_u32(data, c + 1) != WKB_POLYGON):
            return None
        nr = _u32(data, c + 5)
        poly_geom.append(act)
        poly_rank.append(np.full(act.size, j, np.int64))
        poly_nrings.append(nr)
        rc = c + 9
        r = 0
        live = np.arange(act.size)
        while live.size:
            live = live[nr[live] > r]
            if live.size == 0:
                break
            pos = rc[live]
            npts = _u32(data, pos)
            ring_geom.append(act[live])
            ring_poly_rank.append(np.full(live.size, j, np.int64))
            ring_rank.append(np.full(live.size, r, np.int64))
            ring_pos.append(pos + 4)
            ring_npts.append(npts)
            rc[live] = pos + 4 + 16 * npts
            r += 1
        cursor[act] = rc
        j += 1
    if np.any(cursor[present] > ends[present]):
        return None  # truncated blob: let shapely report it
    if not ring_pos:
        z = np.zeros(1, np.int64)
        return PolygonArrays(np.zeros((0, 2)), z, np.zeros(1, np.int64), np.zeros(n + 1, np.int64))
    rpos = np.concatenate(ring_pos)
    rn = np.concatenate(ring_npts)
    order = np.argsort(rpos, kind="stable")  # buffer order = feature, polygon, ring order
    rpos, rn = rpos[order], rn[order]
    # Copy every coordinate block out with one mask over the buffer.
    ring_off = np.zeros(rn.size + 1, np.int64)
    np.cumsum(rn, out=ring_off[1:])
    # Byte offset of every point; the doubles sit at any byte alignment, so read them through
    # one (unaligned) float64 view of the buffer per alignment residue.
    n_pts = int(ring_off[-1])
    k = np.arange(n_pts, dtype=np.int64) - np.repeat(ring_off[:-1], rn)
    byte = np.repeat(rpos, rn) + 16 * k
    res = np.repeat(rpos % 8, rn)
    coords = np.empty((n_pts, 2))
    buf = data.base if data.base is not None and isinstance(data.base, bytes | memoryview) else data
    for r in np.unique(res).tolist():
        sel = np.flatnonzero(res == r)
        words = np.ndarray(((data.shape[0] - r) // 8,), dtype="<f8", buffer=buf, offset=r)
        w = (byte[sel] - r) // 8
        coords[sel, 0] = words[w]
        coords[sel, 1] = words[w + 1]
    pg = np.concatenate(poly_geom)
    pr = np.concatenate(poly_rank)
    pn = np.concatenate(poly_nrings)
    porder = np.lexsort((pr, pg))  # polygons in feature order, then rank
    poly_off = np.zeros(pg.size + 1, np.int64)
    np.cumsum(pn[porder], out=poly_off[1:])
    geom_off = np.zeros(n + 1, np.int64)
    np.cumsum(npoly, out=geom_off[1:])
    if poly_off[-1] != rn.size or coords.shape[0] != ring_off[-1]:
        return None
    return PolygonArrays(np.ascontiguousarray(coords), ring_off, poly_off, geom_off)


def subset(arr: PolygonArrays, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> PolygonArrays:
    """The features where `keep` is True, as new ragged arrays (vectorised)."""
    pc = np.diff(arr.geom_offsets)
    rc = np.diff(arr.poly_offsets)
    cc = np.diff(arr.ring_offsets)
    poly_keep = np.repeat(keep, pc)
    ring_keep = np.repeat(poly_keep, rc)
    coord_keep = np.repeat(ring_keep, cc)

    def offsets(counts: I64) -> I64:
        out = np.zeros(counts.size + 1, np.int64)
        np.cumsum(counts, out=out[1:])
        return out

    return PolygonArrays(
        arr.coords[coord_keep], offsets(cc[ring_keep]), offsets(rc[poly_keep]), offsets(pc[keep])
    )


def concat(parts: list[PolygonArrays]) -> PolygonArrays:
    """Features of several ragged arrays, one after another."""
    parts = [p for p in parts if p.n_geoms]
    if not parts:
        z = np.zeros(1, np.int64)
        return PolygonArrays(np.zeros((0, 2)), z, z, z)
    coords = np.concatenate([p.coords for p in parts])
    ring = [parts[0].ring_offsets]
    poly = [parts[0].poly_offsets]
    geom = [parts[0].geom_offsets]
    for p in parts[1:]:
        ring.append(p.ring_offsets[1:] + ring[-1][-1])
        poly.append(p.poly_offsets[1:] + poly[-1][-1])
        geom.append(p.geom_offsets[1:] + geom[-1][-1])
    return PolygonArrays(coords, np.concatenate(ring), np.concatenate(poly), np.concatenate(geom))
