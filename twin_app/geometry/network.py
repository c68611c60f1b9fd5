"""Road-network helpers on polylines: snapping points to lines, line adjacency, propagation."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.model.city import Polylines

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def nearest_lines(
    points_xy: FloatArray, lines: Polylines, candidates: IntArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Snap points to the nearest polyline (exact point-to-segment distance).

    A KD-tree over segment midpoints proposes the 16 nearest segments per point; the exact
    point-segment distance picks among them (vectorised over points and candidates).

    Parameters
    ----------
    points_xy
        (n, 2) points in local metres.
    lines
        The polylines (only x, y are used).
    candidates
        Optional subset of line indices allowed (e.g. main roads only).

    Returns
    -------
    line_index, distance_m
        (n,) nearest line and the distance to it.
    """
    from scipy.spatial import cKDTree

    c = lines.coords[:, :2]
    off = lines.offsets
    counts = np.diff(off)
    line_of_pt = np.repeat(np.arange(counts.shape[0]), counts)
    seg_ok = np.zeros(max(c.shape[0] - 1, 0), bool)
    if c.shape[0] > 1:
        seg_ok = line_of_pt[:-1] == line_of_pt[1:]
    seg = np.flatnonzero(seg_ok)
    seg_line = line_of_pt[seg]
    if candidates is not None:
        keep = np.isin(seg_line, np.asarray(candidates))
        seg, seg_line = seg[keep], seg_line[keep]
    p = np.asarray(points_xy, np.float64)[:, :2]
    if seg.size == 0 or p.shape[0] == 0:
        return np.full(p.shape[0], -1, np.int64), np.full(p.shape[0], np.inf)
    a, b = c[seg], c[seg + 1]
    tree = cKDTree((a + b) / 2)
    k = min(16, seg.size)
    _, idx = tree.query(p, k=k)
    idx = np.asarray(idx).reshape(p.shape[0], k)
    sa, sb = a[idx], b[idx]  # (n, k, 2)
    d = sb - sa
    denom = np.einsum("nki,nki->nk", d, d)
    t = np.einsum("nki,nki->nk", p[:, None, :] - sa, d) / np.where(denom > 0, denom, 1.0)
    t = np.clip(t, 0.0, 1.0)
    proj = sa + d * t[..., None]
    dist = np.linalg.norm(proj - p[:, None, :], axis=2)
    best = np.argmin(dist, axis=1)
    rows = np.arange(p.shape[0])
    return seg_line[idx[rows, best]].astype(np.int64), dist[rows, best]


def line_adjacency(lines: Polylines, tolerance_m: float = 0.5) -> Any:
    """Sparse symmetric adjacency between polylines whose end points meet (within `tolerance_m`).

    Returns a ``scipy.sparse.csr_matrix`` (n_lines x n_lines) of ones.
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    n = lines.n_lines
    off = lines.offsets
    nonempty = np.diff(off) > 0
    ids = np.flatnonzero(nonempty)
    ends = np.concatenate(
        [lines.coords[off[:-1][nonempty], :2], lines.coords[off[1:][nonempty] - 1, :2]]
    )
    owner = np.concatenate([ids, ids])
    pairs = cKDTree(ends).query_pairs(tolerance_m, output_type="ndarray")
    if pairs.size == 0:
        return sparse.csr_matrix((n, n))
    i, j = owner[pairs[:, 0]], owner[pairs[:, 1]]
    keep = i != j
    i, j = i[keep], j[keep]
    data = np.ones(2 * i.size)
    m = sparse.coo_matrix(
        (data, (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    ).tocsr()
    m.data[:] = 1.0
    return m


def nearest_source(
    adjacency: Any, sources: IntArray, max_hops: int | None = None
) -> tuple[IntArray, FloatArray]:
    """For every line, the nearest source line in network hops (multi-source breadth-first search).

    Parameters
    ----------
    adjacency
        Sparse adjacency from :func:`line_adjacency`.
    sources
        Line indices that carry a value (e.g. lines with a traffic sensor).
    max_hops
        Lines farther than this from every source get -1.

    Returns
    -------
    source, hops
        (n_lines,) index into `sources` of the nearest source (-1 if none within `max_hops`) and
        the hop count (inf if none).
    """
    from scipy.sparse.csgraph import dijkstra

    n = adjacency.shape[0]
    src = np.asarray(sources, np.int64)
    if src.size == 0:
        return np.full(n, -1, np.int64), np.full(n, np.inf)
    dist, _, origin = dijkstra(
        adjacency,
        directed=False,
        indices=src,
        min_only=True,
        return_predecessors=True,
        limit=np.inf if max_hops is None else max_hops + 0.5,
    )
    where = {int(s): k for k, s in enumerate(src)}
    lookup = np.full(n, -1, np.int64)
    lookup[list(where)] = list(where.values())
    out = np.where(origin >= 0, lookup[np.maximum(origin, 0)], -1)
    return out.astype(np.int64), dist
