"""Flat ribbons along polylines (roads), built for all lines at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.model.city import Polylines
from twin_app.model.mesh import SURFACE_OTHER, FloatArray, IntArray, TriMesh

#: Longest miter at a sharp bend, in half-widths (beyond this the corner is cut).
MITER_LIMIT = 3.0


def line_arrays(geoms: np.ndarray[Any, Any]) -> tuple[FloatArray, IntArray, IntArray]:
    """Ragged arrays of LineString/MultiLineString geometries.

    Returns
    -------
    coords
        (n, 2) float64 vertices (repeated points removed).
    offsets
        (k + 1,) start of each single line (part) in `coords`.
    part_geom
        (k,) input row of each part.
    """
    import shapely

    geoms = shapely.remove_repeated_points(np.asarray(geoms, dtype=object))
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if len(parts) == 0:
        return np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(0, np.int64)
    _, coords, (offsets,) = shapely.to_ragged_array(parts)
    return (
        np.ascontiguousarray(coords[:, :2], np.float64),
        np.asarray(offsets, np.int64),
        np.asarray(owner, np.int64),
    )


def ribbons(
    lines: Polylines,
    width_m: FloatArray,
    line_index: IntArray,
    z_m: float = 0.0,
    index_name: str = "segment_index",
) -> TriMesh:
    """One flat ribbon per polyline, joined with limited miters at bends.

    Parameters
    ----------
    lines
        Polylines in local metres; x and y are used, the ribbon lies at height `z_m`.
    width_m
        (k,) full width of each line.
    line_index
        (k,) value of the index cell array for each line (e.g. the road row of each part).
    z_m
        Height of the ribbon above the local origin (lifted off the ground against z-fighting).

    Returns
    -------
    TriMesh
        Two points per vertex (left, right); two triangles per segment, CCW from above.
    """
    c = lines.coords[:, :2]
    off = lines.offsets
    n = c.shape[0]
    counts = np.diff(off)
    line_of_pt = np.repeat(np.arange(counts.shape[0]), counts)
    if n < 2:
        return TriMesh.empty((index_name, np.int32), ("surface", np.uint8))
    # Segment i joins point i and i + 1 when both are in the same line.
    seg_ok = line_of_pt[:-1] == line_of_pt[1:]
    d = c[1:] - c[:-1]
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1.0
    nrm = np.column_stack([-d[:, 1], d[:, 0]]) / length[:, None]
    nrm[~seg_ok] = 0.0
    # Per point: normal of the incoming and outgoing segment (zero where absent).
    incoming = np.zeros((n, 2))
    outgoing = np.zeros((n, 2))
    incoming[1:] = nrm
    outgoing[:-1] = nrm
    incoming[off[:-1]] = outgoing[off[:-1]]
    last = off[1:] - 1
    outgoing[last] = incoming[last]
    bis = incoming + outgoing
    blen = np.hypot(bis[:, 0], bis[:, 1])
    blen[blen == 0] = 1.0
    bis /= blen[:, None]
    cos_half = np.abs(np.einsum("ij,ij->i", bis, outgoing))
    scale = 1.0 / np.maximum(cos_half, 1.0 / MITER_LIMIT)
    half = 0.5 * np.asarray(width_m, np.float64)[line_of_pt] * scale
    pts = np.empty((2 * n, 3))
    pts[0::2, :2] = c + bis * half[:, None]  # left
    pts[1::2, :2] = c - bis * half[:, None]  # right
    pts[:, 2] = z_m
    i = np.flatnonzero(seg_ok)
    L0, R0, L1, R1 = 2 * i, 2 * i + 1, 2 * i + 2, 2 * i + 3
    tris = np.empty((2 * i.shape[0], 3), np.int64)
    tris[0::2] = np.column_stack([L0, R0, R1])
    tris[1::2] = np.column_stack([L0, R1, L1])
    feat = np.repeat(np.asarray(line_index)[line_of_pt[i]], 2).astype(np.int32)
    normals = np.zeros((tris.shape[0], 3))
    normals[:, 2] = 1.0
    return TriMesh(
        pts,
        tris,
        {
            index_name: feat,
            "surface": np.full(tris.shape[0], SURFACE_OTHER, np.uint8),
            "Normals": normals,
        },
    )
