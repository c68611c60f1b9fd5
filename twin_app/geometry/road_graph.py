"""Road topology: polylines split at junctions into the edges of a routable graph.

OpenStreetMap ways are not split where they meet: a way runs on through the junctions on it, and
two ways are connected exactly where they share a node (a vertex with the same coordinates), not
where they merely cross (bridges, tunnels). :func:`split_at_junctions` therefore makes a graph node
of every vertex that two or more lines share (after rounding the coordinates to a tolerance) and
of every line end, and cuts each line into edges between consecutive nodes along it. A line end
that touches the middle of another line without a shared vertex is not joined (OSM does not allow
that for connected roads either).

Everything is vectorised over all vertices at once (``np.unique`` on the rounded coordinates, one
pass over the node positions); there is no loop per way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Coordinates closer than this (metres, after rounding to a grid of this size) are one vertex.
#: Shared OSM nodes project to identical coordinates, so the tolerance only has to absorb
#: floating-point noise.
DEFAULT_TOLERANCE_M = 0.01


@dataclass(frozen=True)
class RoadEdges:
    """Undirected edges of a road graph, each a stretch of one line between two nodes.

    Attributes
    ----------
    tail, head
        (n_edges,) node at the start and at the end of the edge, in the line's digitised
        direction.
    row
        (n_edges,) feature row (road table row) of the line the edge was cut from.
    length_m
        (n_edges,) length along the line, metres (2D).
    start, stop
        (n_edges,) index of the edge's first and last vertex in the input ``coords``
        (``coords[start:stop + 1]`` is the edge's polyline).
    node_xy
        (n_nodes, 2) node positions.
    """

    tail: IntArray
    head: IntArray
    row: IntArray
    length_m: FloatArray
    start: IntArray
    stop: IntArray
    node_xy: FloatArray

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.tail.size)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])


def split_at_junctions(
    coords: FloatArray,
    offsets: IntArray,
    line_row: IntArray,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> RoadEdges:
    """Cut polylines at shared vertices and at their ends into graph edges.

    A vertex is a node when its rounded position (``round(xy / tolerance_m)``) occurs two or more
    times over all lines (a junction between lines, or a line meeting itself) or when it is the
    first or last vertex of a line. Each line then yields one edge per pair of consecutive
    nodes along it. Self-loops (an edge whose two ends are the same node, such as a closed way
    that meets no other) are dropped, and with them nodes no other edge touches: no shortest
    path uses them.

    Parameters
    ----------
    coords
        (n, 2+) vertices in metres (only x and y are used); repeated consecutive vertices should
        be removed (:func:`twin_app.geometry.lines.line_arrays` does).
    offsets
        (k + 1,) start of each line in ``coords``.
    line_row
        (k,) feature row of each line (parts of a MultiLineString share a row).
    tolerance_m
        Rounding grid for matching vertices.

    Returns
    -------
    RoadEdges
    """
    xy = np.ascontiguousarray(np.asarray(coords, np.float64)[:, :2])
    off = np.asarray(offsets, np.int64)
    rows = np.asarray(line_row, np.int64)
    counts = np.diff(off)
    line_of = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    if xy.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return RoadEdges(z, z, z, np.zeros(0), z, z, np.zeros((0, 2)))
    grid = np.round(xy / tolerance_m).astype(np.int64)
    grid -= grid.min(axis=0)
    if int(grid.max()) < 2**31:  # one int64 key per vertex: much faster than unique(axis=0)
        key = grid[:, 0] * np.int64(2**31) + grid[:, 1]
        _, vertex, occurrences = np.unique(key, return_inverse=True, return_counts=True)
    else:  # pragma: no cover - a district over 20,000 km across at 1 cm
        _, vertex, occurrences = np.unique(grid, axis=0, return_inverse=True, return_counts=True)
    vertex = vertex.ravel()
    is_node = occurrences[vertex] >= 2
    real = counts >= 2  # a line of one vertex makes no edge
    is_node[off[:-1][real]] = True
    is_node[off[1:][real] - 1] = True
    pos = np.flatnonzero(is_node)
    a, b = pos[:-1], pos[1:]
    same = line_of[a] == line_of[b]
    a, b = a[same], b[same]
    seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    length = cum[b] - cum[a]
    node_vertex, first = np.unique(vertex[pos], return_index=True)
    node_xy = xy[pos[first]]
    tail = np.searchsorted(node_vertex, vertex[a]).astype(np.int64)
    head = np.searchsorted(node_vertex, vertex[b]).astype(np.int64)
    keep = tail != head
    # nodes only self-loops touched are not kept
    used, ends = np.unique(np.concatenate([tail[keep], head[keep]]), return_inverse=True)
    n_kept = int(keep.sum())
    return RoadEdges(
        tail=ends[:n_kept].astype(np.int64),
        head=ends[n_kept:].astype(np.int64),
        row=rows[line_of[a[keep]]],
        length_m=length[keep],
        start=a[keep].astype(np.int64),
        stop=b[keep].astype(np.int64),
        node_xy=node_xy[used],
    )


def directed_links(direction: np.ndarray[Any, Any]) -> tuple[IntArray, BoolArray]:
    """Directed links of edges with a one-way code each.

    Parameters
    ----------
    direction
        (n_edges,) 1: one-way in the digitised direction, -1: one-way against it, 0: both ways.

    Returns
    -------
    edge, reverse
        (n_links,) the edge of each link and whether it runs against the digitised direction;
        links are ordered by edge, the forward link of a two-way edge first.
    """
    d = np.asarray(direction)
    fwd = np.flatnonzero(d >= 0)
    rev = np.flatnonzero(d <= 0)
    edge = np.concatenate([fwd, rev]).astype(np.int64)
    reverse = np.concatenate([np.zeros(fwd.size, bool), np.ones(rev.size, bool)])
    order = np.lexsort((reverse, edge))
    return edge[order], reverse[order]


def largest_strong_component(n_nodes: int, tail: IntArray, head: IntArray) -> BoolArray:
    """Nodes of the largest strongly connected component of a directed graph.

    Only there can every node reach every other: a one-way street clipped at the edge of an
    extract, or a car park reached only by a footway, would otherwise strand the trips of the
    zones attached to it.

    Returns
    -------
    (n_nodes,) bool
        True for the nodes of the largest component (ties: the one with the lowest label).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if n_nodes == 0:
        return np.zeros(0, bool)
    g = csr_matrix((np.ones(tail.size), (tail, head)), shape=(n_nodes, n_nodes))
    _, label = connected_components(g, directed=True, connection="strong")
    sizes = np.bincount(label)
    return np.asarray(label == int(np.argmax(sizes)), bool)
