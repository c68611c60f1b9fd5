"""Patrol robots and drones on the street network: postman tours, k routes, revisit KPIs.

Street graph
    An undirected multigraph given as arrays (:class:`StreetGraph`: edge tail, head, length in
    metres, ids, optional node positions and a *required* mask). :func:`street_graph_from_lines`
    builds it from a road FeatureSet's centre lines through
    :func:`twin_app.geometry.road_graph.split_at_junctions` (the same junction split the traffic
    model uses), keeping the largest connected component.

Chinese and rural postman (:func:`postman_tour`)
    Edmonds and Johnson (1973), *Matching, Euler tours and the Chinese postman*, Math.
    Programming 5: the odd-degree nodes of the required edges are paired by a minimum-weight
    perfect matching on shortest-path distances (scipy's ``csgraph.dijkstra`` from the odd
    nodes, networkx's blossom ``min_weight_matching``); each pair's shortest path is added as a
    second copy of its edges; the augmented multigraph is Eulerian and ``networkx.
    eulerian_circuit`` walks it. With every edge required this is the optimal Chinese postman
    tour. For the rural postman (only some edges required) the required components are first
    joined by the shortest-path edges of a minimum spanning tree over the component-to-component
    distances (Frederickson, *Approximation algorithms for some postman problems*, J. ACM 26,
    1979); with a connected required subgraph (the Sleeping Giant case) that step adds nothing
    and the result is the optimum, exactly what ``postman_problems``' ``rpp`` computes (odd nodes
    of the required graph matched on distances through the full graph).
    Above ``exact_limit`` odd nodes (networkx's blossom is pure Python and takes about 45 s for
    the sample twin's 2,200 odd nodes even on a 12-nearest-neighbour graph) the pairs that are
    each other's partner in the assignment relaxation (``scipy.optimize.linear_sum_assignment``)
    are fixed first and the blossom matches the remaining few hundred exactly: a near-optimal
    tour, flagged in :attr:`PostmanTour.matching`, with a lower bound on the optimal deadhead
    (half the assignment cost) in :attr:`PostmanTour.deadhead_bound_m`.

k routes (:func:`split_tour`)
    Frederickson, Hecht and Kim (1978), *Approximation algorithms for some routing problems*,
    SIAM J. Comput. 7(2): with ``L`` the tour length, ``d(v)`` the distance from the depot and
    ``c_max = max_e (d(u) + w(e) + d(v)) / 2`` over tour edges ``e = (u, v)``, the j-th cut goes
    at the last tour node whose tour distance is within ``L_j = j/k (L - 2 c_max) + c_max`` or
    the node after it, whichever balances the deadhead back to the depot; each piece is closed
    with shortest paths from and to the depot. Routes drawn by hand: :func:`route_from_edges`.

Robots (:class:`Fleet`, :func:`simulate_patrol`)
    Each route carries ``active_per_route`` evenly spaced patrol slots moving at the robot
    speed around the closed route. A slot is kept by ``robots_per_slot`` robots that take turns:
    robot ``i`` runs ``run_h`` and charges ``charge_h``, its cycle offset by ``i (run + charge) /
    m``; a slot is patrolled while any of its robots runs. A relieving robot takes over the
    patrol position (the swap at the depot is not modelled). Hence
    ``robots_per_post = ceil((run_h + charge_h) / run_h)`` keeps a slot patrolled around the
    clock: with 7-8 h per charge and a charge no longer than a run, two robots keep one street
    (800-1,000 m per robot) patrolled day and night, the rule of thumb of the 5G smart-city
    whitepaper the project follows.

KPIs
    Every edge is sampled at points ``spacing_m`` apart (both ends included, trapezoid length
    weights). The passing times of every slot over every sample point are exact (route position
    over speed, one per lap) rather than sampled, so revisit gaps are analytic: one robot going
    back and forth on a street of length ``L`` at speed ``v`` revisits its ends every ``2 L / v``.
    ``worst_revisit_min`` is the largest gap between consecutive passes (all robots together) at
    any required street point over the period; ``street_coverage_pct(T)`` the share of required
    street length whose largest gap is at most ``T`` minutes (every point seen in every
    ``T``-minute window); ``mean_response_min`` the length-weighted mean over street points of
    the network travel time from the nearest running robot, averaged over time samples (robot
    positions by ``searchsorted`` on the routes' cumulative lengths, node distances from the
    robots' edge ends by one ``csgraph.dijkstra`` call from all those ends);
    ``robots_needed_for_target`` the smallest number of routes (times robots per post) whose
    worst revisit meets a target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twin_app.errors import EngineError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Road classes a patrol robot does not drive: stairs, unbuilt roads, motorways.
NON_PATROL_CLASSES = (
    "steps",
    "proposed",
    "construction",
    "abandoned",
    "disused",
    "raceway",
    "motorway",
    "motorway_link",
)

#: Distances below this (metres) count as zero when building the sparse distance graph: scipy's
#: csgraph drops explicit zeros, so a zero-length edge would vanish.
_MIN_LENGTH = 1e-9


# -- street graph ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StreetGraph:
    """An undirected street multigraph as arrays.

    Attributes
    ----------
    tail, head
        (n_edges,) end nodes of each edge (0 .. n_nodes - 1).
    length_m
        (n_edges,) edge length, metres (any unit works as long as it is used throughout).
    ids
        (n_edges,) edge ids (strings; ``str(i)`` when none are given).
    n_nodes
        Number of nodes.
    required
        (n_edges,) True for edges the patrol must cover (all by default).
    node_xy
        (n_nodes, 2) node positions, metres, or None.
    """

    tail: IntArray
    head: IntArray
    length_m: FloatArray
    ids: NDArray[np.object_]
    n_nodes: int
    required: BoolArray
    node_xy: FloatArray | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.tail.size)

    @property
    def total_m(self) -> float:
        """Total length of all edges."""
        return float(self.length_m.sum())

    @property
    def required_m(self) -> float:
        """Total length of the required edges."""
        return float(self.length_m[self.required].sum())

    def csr(self) -> Any:
        """Symmetric sparse distance matrix (shortest parallel edge per node pair)."""
        if "csr" not in self._cache:
            self._build_lookup()
        return self._cache["csr"]

    def edge_between(self, u: IntArray, v: IntArray) -> IntArray:
        """Index of the shortest edge joining nodes ``u[i]`` and ``v[i]`` (-1 when none)."""
        if "keys" not in self._cache:
            self._build_lookup()
        keys: IntArray = self._cache["keys"]
        edge_of: IntArray = self._cache["edge_of"]
        q = np.asarray(u, np.int64) * self.n_nodes + np.asarray(v, np.int64)
        i = np.minimum(np.searchsorted(keys, q), keys.size - 1)
        return np.where(keys[i] == q, edge_of[i], -1).astype(np.int64)

    def _build_lookup(self) -> None:
        from scipy.sparse import csr_matrix

        n = self.n_nodes
        a = np.concatenate([self.tail, self.head])
        b = np.concatenate([self.head, self.tail])
        e = np.concatenate([np.arange(self.n_edges), np.arange(self.n_edges)]).astype(np.int64)
        w = np.maximum(self.length_m[e], _MIN_LENGTH)
        key = a * n + b
        order = np.lexsort((w, key))  # by pair, the shortest parallel edge first
        key, e, w = key[order], e[order], w[order]
        first = np.ones(key.size, bool)
        first[1:] = key[1:] != key[:-1]
        key, e, w = key[first], e[first], w[first]
        self._cache["keys"] = key
        self._cache["edge_of"] = e
        self._cache["csr"] = csr_matrix((w, (key // n, key % n)), shape=(n, n))


def street_graph(
    tail: Any,
    head: Any,
    length_m: Any,
    ids: Any = None,
    n_nodes: int | None = None,
    required: Any = None,
    node_xy: Any = None,
) -> StreetGraph:
    """A :class:`StreetGraph` from plain arrays (the twin's road graph or any edge list).

    Parameters
    ----------
    tail, head
        (n_edges,) integer end nodes.
    length_m
        (n_edges,) non-negative lengths.
    ids
        (n_edges,) edge ids, or None for ``"0" .. "n-1"``.
    n_nodes
        Number of nodes (default: one more than the largest node index).
    required
        (n_edges,) bool, or None for all edges required.
    node_xy
        (n_nodes, 2) positions or None.
    """
    t = np.asarray(tail, np.int64).ravel()
    h = np.asarray(head, np.int64).ravel()
    w = np.asarray(length_m, np.float64).ravel()
    if not (t.size == h.size == w.size):
        raise EngineError(
            f"street graph: tail, head and length differ in size ({t.size}, {h.size}, {w.size})"
        )
    if w.size and (not np.all(np.isfinite(w)) or float(w.min()) < 0.0):
        raise EngineError("street graph: edge lengths must be finite and non-negative")
    n = int(max(int(t.max(initial=-1)), int(h.max(initial=-1))) + 1)
    if n_nodes is not None:
        if n_nodes < n:
            raise EngineError(f"street graph: node index {n - 1} >= n_nodes {n_nodes}")
        n = int(n_nodes)
    if t.size and int(min(t.min(), h.min())) < 0:
        raise EngineError("street graph: negative node index")
    idv = (
        np.arange(t.size).astype(str).astype(object)
        if ids is None
        else np.asarray(ids, dtype=object).ravel()
    )
    if idv.size != t.size:
        raise EngineError(f"street graph: {idv.size} ids for {t.size} edges")
    req = np.ones(t.size, bool) if required is None else np.asarray(required, bool).ravel()
    if req.size != t.size:
        raise EngineError(f"street graph: {req.size} required flags for {t.size} edges")
    xy = None if node_xy is None else np.asarray(node_xy, np.float64)[:, :2]
    if xy is not None and xy.shape[0] != n:
        raise EngineError(f"street graph: {xy.shape[0]} node positions for {n} nodes")
    return StreetGraph(t, h, w, idv, n, req, xy)


def largest_component(graph: StreetGraph) -> tuple[StreetGraph, IntArray]:
    """The largest connected component (by node count) and the original index of its edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = graph.n_nodes
    if graph.n_edges == 0:
        return graph, np.zeros(0, np.int64)
    g = coo_matrix((np.ones(graph.n_edges), (graph.tail, graph.head)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    big = int(np.argmax(np.bincount(label[np.concatenate([graph.tail, graph.head])])))
    keep_node = label == big
    keep = np.flatnonzero(keep_node[graph.tail]).astype(np.int64)
    new_id = np.cumsum(keep_node) - 1
    xy = None if graph.node_xy is None else graph.node_xy[keep_node]
    sub = StreetGraph(
        new_id[graph.tail[keep]].astype(np.int64),
        new_id[graph.head[keep]].astype(np.int64),
        graph.length_m[keep],
        graph.ids[keep],
        int(keep_node.sum()),
        graph.required[keep],
        xy,
    )
    return sub, keep


def street_graph_from_road_edges(
    edges: Any, ids: Any = None, keep: Any = None, connected: bool = True
) -> tuple[StreetGraph, IntArray]:
    """The street graph of :func:`twin_app.geometry.road_graph.split_at_junctions` output.

    Parameters
    ----------
    edges
        A :class:`twin_app.geometry.road_graph.RoadEdges`.
    ids
        (n_edges,) ids, or None for ``"row:<feature row>#<edge>"``.
    keep
        (n_edges,) bool: edges to keep (all by default).
    connected
        Keep only the largest connected component (a postman tour needs one).

    Returns
    -------
    graph, edge_index
        The graph and, for each of its edges, the index into ``edges``.
    """
    n_e = int(edges.tail.size)
    sel = np.ones(n_e, bool) if keep is None else np.asarray(keep, bool)
    idx = np.flatnonzero(sel).astype(np.int64)
    if ids is None:
        idv = np.char.add(
            np.char.add("row:", edges.row.astype(str)), np.char.add("#", np.arange(n_e).astype(str))
        ).astype(object)
    else:
        idv = np.asarray(ids, dtype=object)
    g = street_graph(
        edges.tail[idx],
        edges.head[idx],
        edges.length_m[idx],
        idv[idx],
        n_nodes=int(edges.node_xy.shape[0]),
        node_xy=edges.node_xy,
    )
    if not connected:
        return g, idx
    sub, k = largest_component(g)
    return sub, idx[k]


def street_graph_from_lines(
    coords: Any,
    offsets: Any,
    line_row: Any,
    classes: Any = None,
    ids: Any = None,
    exclude: Sequence[str] = NON_PATROL_CLASSES,
) -> tuple[StreetGraph, IntArray]:
    """The patrol street graph of a road layer's centre lines (local metres).

    Lines whose class (``classes[row]``, OSM ``highway`` values) is in ``exclude`` are left out,
    the rest split at shared vertices, and the largest connected component kept.

    Parameters
    ----------
    coords, offsets, line_row
        As :func:`twin_app.geometry.road_graph.split_at_junctions` takes them (a FeatureSet's
        ``lines.coords[:, :2]``, ``lines.offsets``, ``lines.line_feature()``).
    classes
        (n_rows,) class per feature row, or None to keep every line.
    ids
        (n_rows,) feature ids (``way/123``); edge ids become ``way/123#k`` (k-th edge of the
        line), or ``row:<row>#<edge>`` without.
    exclude
        Classes to leave out.

    Returns
    -------
    graph, row
        The graph and the feature row of each of its edges.
    """
    from twin_app.geometry.road_graph import split_at_junctions

    xy = np.asarray(coords, np.float64)[:, :2]
    off = np.asarray(offsets, np.int64)
    rows = np.asarray(line_row, np.int64)
    keep_line = np.ones(rows.size, bool)
    if classes is not None:
        cls = np.asarray(classes, dtype=object).astype(str)
        keep_line = ~np.isin(cls, np.asarray(list(exclude), dtype=str))[rows]
    counts = np.diff(off)
    sub_xy = xy[np.repeat(keep_line, counts)]
    sub_off = np.concatenate([[0], np.cumsum(counts[keep_line])]).astype(np.int64)
    edges = split_at_junctions(sub_xy, sub_off, rows[keep_line])
    if edges.n_edges == 0:
        raise EngineError("street graph: no patrollable roads in the road layer")
    edge_ids = None
    if ids is not None:
        base = np.asarray(ids, dtype=object).astype(str)[edges.row]
        order = np.lexsort((edges.start, edges.row))
        rank = np.empty(edges.n_edges, np.int64)
        first = np.searchsorted(edges.row[order], edges.row[order])
        rank[order] = np.arange(edges.n_edges) - first + 1
        edge_ids = np.char.add(np.char.add(base, "#"), rank.astype(str)).astype(object)
    g, idx = street_graph_from_road_edges(edges, ids=edge_ids)
    return g, edges.row[idx].astype(np.int64)


def street_graph_from_road_set(
    roads: Any, exclude: Sequence[str] = NON_PATROL_CLASSES
) -> tuple[StreetGraph, IntArray]:
    """The patrol street graph of a loaded twin's road FeatureSet (``lines`` + ``table``).

    :func:`street_graph_from_lines` with the set's centre lines, its ``class`` column (when
    present) and its ``id`` column (when present).

    Returns
    -------
    graph, row
        The graph and the road table row of each of its edges.
    """
    lines = getattr(roads, "lines", None)
    if lines is None:
        raise EngineError(f"{getattr(roads, 'name', 'roads')}: no centre lines to patrol")
    table = roads.table
    classes = table["class"].astype(str).to_numpy() if "class" in table.columns else None
    ids = table["id"].astype(str).to_numpy() if "id" in table.columns else None
    return street_graph_from_lines(
        lines.coords[:, :2], lines.offsets, lines.line_feature(), classes, ids, exclude
    )


# -- walks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """A walk on a :class:`StreetGraph` (a tour or one robot's route).

    Attributes
    ----------
    edge
        (m,) edge index of each step.
    reverse
        (m,) True where the step runs head -> tail.
    nodes
        (m + 1,) nodes visited, ``nodes[0]`` the start.
    cum_m
        (m + 1,) distance along the walk at each node.
    """

    edge: IntArray
    reverse: BoolArray
    nodes: IntArray
    cum_m: FloatArray

    @property
    def length_m(self) -> float:
        """Total length."""
        return float(self.cum_m[-1])

    @property
    def closed(self) -> bool:
        """True when the walk ends where it starts."""
        return bool(self.nodes[0] == self.nodes[-1])


def _walk(graph: StreetGraph, edge: IntArray, start: int) -> Walk:
    """A walk from its edge sequence and start node (orientation follows from continuity)."""
    e = np.asarray(edge, np.int64)
    if e.size == 0:
        z = np.array([start], np.int64)
        return Walk(e, np.zeros(0, bool), z, np.zeros(1))
    t, h = graph.tail[e], graph.head[e]
    # node after each step: the end of the step not shared with the next step (or the previous)
    nodes = np.empty(e.size + 1, np.int64)
    nodes[0] = start
    # orientation is sequential in general (a step's start is the previous step's end); a
    # scan over steps is unavoidable but runs in numpy's C loop through ufunc.accumulate
    # on the xor trick: next = tail ^ head ^ current.
    x = (t ^ h).astype(np.int64)
    nodes[1:] = np.bitwise_xor.accumulate(np.concatenate([[start], x]))[1:]
    rev = nodes[:-1] != t
    if np.any(np.where(rev, h, t) != nodes[:-1]):
        bad = int(np.flatnonzero(np.where(rev, h, t) != nodes[:-1])[0])
        raise EngineError(
            f"route: edge {graph.ids[e[bad]]} (step {bad + 1}) does not continue the route"
        )
    cum = np.concatenate([[0.0], np.cumsum(graph.length_m[e])])
    return Walk(e, rev, nodes, cum)


def _tree_paths(pred: Any, rows: IntArray, targets: IntArray, graph: StreetGraph) -> list[IntArray]:
    """Edges of shortest paths from each row's source to ``targets`` (target -> source order).

    ``pred`` is the predecessor matrix of a ``csgraph.dijkstra`` run; all paths are walked back
    together, one vectorised step per edge of the longest path.
    """
    cur = np.asarray(targets, np.int64).copy()
    r = np.asarray(rows, np.int64)
    steps_pair: list[IntArray] = []
    steps_edge: list[IntArray] = []
    active = np.flatnonzero(pred[r, cur] >= 0)
    while active.size:
        p = pred[r[active], cur[active]].astype(np.int64)
        e = graph.edge_between(p, cur[active])
        steps_pair.append(active)
        steps_edge.append(e)
        cur[active] = p
        active = active[pred[r[active], p] >= 0]
    if not steps_pair:
        return [np.zeros(0, np.int64) for _ in range(r.size)]
    pair = np.concatenate(steps_pair)
    edge = np.concatenate(steps_edge)
    order = np.argsort(pair, kind="stable")  # within a pair, steps stay target -> source
    pair, edge = pair[order], edge[order]
    bounds = np.searchsorted(pair, np.arange(r.size + 1))
    return [edge[bounds[i] : bounds[i + 1]] for i in range(r.size)]


# -- postman --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostmanTour:
    """A closed postman tour.

    Attributes
    ----------
    walk
        The tour, starting and ending at ``walk.nodes[0]``.
    required_m
        Length of the required edges (each once).
    deadhead_m
        Length walked more than that (repeated edges, connectors): ``walk.length_m -
        required_m``.
    n_odd
        Odd-degree nodes matched.
    matching
        ``"exact"`` (blossom on the complete graph of odd nodes) or ``"assignment"`` (many odd
        nodes: mutual pairs of the assignment relaxation, then blossom on the rest).
    deadhead_bound_m
        A lower bound on the deadhead of the optimal tour with the same connectors (the
        matching cost when exact; half the assignment relaxation otherwise), so
        ``deadhead_m - deadhead_bound_m`` bounds how far from optimal the tour can be.
    """

    walk: Walk
    required_m: float
    deadhead_m: float
    n_odd: int
    matching: str
    deadhead_bound_m: float

    @property
    def length_m(self) -> float:
        """Tour length."""
        return self.walk.length_m


def _connect_components(graph: StreetGraph, req_edges: IntArray) -> IntArray:
    """Frederickson's connectors: MST over required components, shortest-path edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

    n = graph.n_nodes
    t, h = graph.tail[req_edges], graph.head[req_edges]
    g = coo_matrix((np.ones(t.size), (t, h)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    on = np.zeros(n, bool)
    on[t] = True
    on[h] = True
    comps, comp_of = np.unique(label[on], return_inverse=True)
    nc = comps.size
    if nc <= 1:
        return np.zeros(0, np.int64)
    nodes_on = np.flatnonzero(on)
    order = np.argsort(comp_of, kind="stable")
    by_comp = nodes_on[order]
    starts = np.searchsorted(comp_of[order], np.arange(nc))
    csr = graph.csr()
    comp_sorted = comp_of[order]
    dist = np.empty((nc, nc))
    best = np.empty((nc, nc), np.int64)
    preds = []
    ends = np.append(starts[1:], by_comp.size)
    for c in range(nc):  # one multi-source dijkstra per component (components, not elements)
        d, p, _ = dijkstra(
            csr, indices=by_comp[starts[c] : ends[c]], min_only=True, return_predecessors=True
        )
        preds.append(p)
        dn = d[by_comp]
        nearest = np.lexsort((dn, comp_sorted))[starts]  # per component, its node nearest c
        dist[c] = dn[nearest]
        best[c] = by_comp[nearest]
    if not np.all(np.isfinite(dist)):
        raise EngineError(
            "rural postman: the required edges lie in parts of the network no path joins"
        )
    mst = minimum_spanning_tree(np.maximum(dist, _MIN_LENGTH) * (1 - np.eye(nc))).tocoo()
    out: list[IntArray] = []
    for ci, cj in zip(mst.row.tolist(), mst.col.tolist(), strict=True):
        tgt = np.array([best[ci, cj]], np.int64)
        pred = preds[ci][None, :]
        out.extend(_tree_paths(pred, np.zeros(1, np.int64), tgt, graph))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _blossom(d: FloatArray, nodes: IntArray, complete: bool, knn: int) -> IntArray:
    """Minimum-weight perfect matching of ``nodes`` (networkx blossom), as (k, 2) pairs."""
    import networkx as nx  # type: ignore[import-untyped]

    m = nodes.size
    if m == 0:
        return np.zeros((0, 2), np.int64)
    sub = d[np.ix_(nodes, nodes)]
    if complete:
        iu, ju = np.triu_indices(m, 1)
    else:
        kk = min(knn, m - 1)
        dd = sub + np.diag(np.full(m, np.inf))
        nb = np.argpartition(dd, kk - 1, axis=1)[:, :kk]
        a = np.repeat(np.arange(m), kk)
        b = nb.ravel()
        key = np.unique(np.minimum(a, b) * m + np.maximum(a, b))
        iu, ju = key // m, key % m
    w = sub[iu, ju]
    ok = np.isfinite(w)
    g = nx.Graph()
    g.add_nodes_from(range(m))
    g.add_weighted_edges_from(zip(iu[ok].tolist(), ju[ok].tolist(), w[ok].tolist(), strict=True))
    mate = nx.min_weight_matching(g)
    pairs = np.array(sorted((min(p), max(p)) for p in mate), np.int64).reshape(-1, 2)
    left = np.setdiff1d(np.arange(m), pairs.ravel())
    extra: list[tuple[int, int]] = []
    while left.size:  # only after a knn matching: a few nodes, paired greedily
        i = int(left[0])
        rest = left[1:]
        j = int(rest[np.argmin(sub[i, rest])])
        extra.append((i, j))
        left = rest[rest != j]
    if extra:
        pairs = np.vstack([pairs, np.array(extra, np.int64)])
    return nodes[pairs]


def _two_opt(d: FloatArray, pairs: IntArray, knn: int, rounds: int = 200) -> IntArray:
    """Improve a perfect matching by 2-exchanges: (a, b), (c, e) -> (a, c), (b, e).

    ``c`` runs over the ``knn`` nearest nodes of each ``a``; every round evaluates all such
    exchanges at once and applies the best non-overlapping improving ones, until none is left.
    """
    m = d.shape[0]
    if m < 4:
        return pairs
    mate = np.empty(m, np.int64)
    mate[pairs[:, 0]] = pairs[:, 1]
    mate[pairs[:, 1]] = pairs[:, 0]
    kk = min(knn, m - 1)
    dd = np.where(np.eye(m, dtype=bool), np.inf, d)
    nb = np.argpartition(dd, kk - 1, axis=1)[:, :kk]
    a = np.repeat(np.arange(m), kk)
    c = nb.ravel()
    for _ in range(rounds):
        b, e = mate[a], mate[c]
        gain = d[a, b] + d[c, e] - d[a, c] - d[b, e]
        gain = np.where((c != b) & np.isfinite(gain), gain, 0.0)
        cand = np.flatnonzero(gain > 1e-9 * (1.0 + d[a, b]))
        if cand.size == 0:
            break
        cand = cand[np.argsort(-gain[cand], kind="stable")]
        used = np.zeros(m, bool)
        # greedy over the improving exchanges of this round (a few per node at most)
        for i in cand.tolist():
            q = (int(a[i]), int(mate[a[i]]), int(c[i]), int(mate[c[i]]))
            if used[list(q)].any():
                continue
            used[list(q)] = True
            mate[q[0]], mate[q[2]] = q[2], q[0]
            mate[q[1]], mate[q[3]] = q[3], q[1]
    lo = np.flatnonzero(mate > np.arange(m))
    return np.stack([lo, mate[lo]], axis=1)


def _match(d: FloatArray, exact_limit: int, knn: int) -> tuple[IntArray, IntArray, str, float]:
    """Minimum-weight perfect matching of the odd nodes on the distance matrix ``d``.

    Up to ``exact_limit`` nodes: networkx's blossom on the complete graph (exact). Above it,
    the assignment relaxation (``scipy.optimize.linear_sum_assignment`` with the diagonal
    barred) is solved and its 2-cycles, pairs that are each other's partner in the cheapest
    cycle cover, are kept as matched; this repeats on the nodes left until at most
    ``exact_limit`` remain (or no 2-cycle appears, then the blossom runs on the ``knn``
    nearest neighbours); 2-exchanges (:func:`_two_opt`) then improve the whole matching.
    Half the first assignment's cost is a lower bound on the optimal matching (a perfect
    matching used in both directions is a cycle cover), returned to bound the gap.

    Returns
    -------
    a, b, kind, bound
        Matched pairs (indices into ``d``), ``"exact"`` or ``"assignment"``, and the lower
        bound on the matching cost (the matching cost itself when exact).
    """
    from scipy.optimize import linear_sum_assignment

    m = d.shape[0]
    rest = np.arange(m, dtype=np.int64)
    fixed: list[IntArray] = [np.zeros((0, 2), np.int64)]
    kind = "exact"
    bound = math.nan
    big = 1e3 * float(np.nanmax(np.where(np.isfinite(d), d, 0.0), initial=1.0)) + 1.0
    while rest.size > exact_limit:
        kind = "assignment"
        sub = np.where(np.isfinite(d[np.ix_(rest, rest)]), d[np.ix_(rest, rest)], big)
        np.fill_diagonal(sub, big)
        r, c = linear_sum_assignment(sub)
        if math.isnan(bound):
            bound = 0.5 * float(sub[r, c].sum())
        i = np.arange(rest.size)
        mutual = (c[c] == i) & (c > i)
        if not mutual.any():
            break
        fixed.append(np.stack([rest[i[mutual]], rest[c[mutual]]], axis=1))
        used = np.zeros(rest.size, bool)
        used[i[mutual]] = True
        used[c[mutual]] = True
        rest = rest[~used]
    pairs = np.vstack([*fixed, _blossom(d, rest, rest.size <= exact_limit, knn)])
    if kind != "exact":
        pairs = _two_opt(d, pairs, knn)
    if pairs.size and not np.all(np.isfinite(d[pairs[:, 0], pairs[:, 1]])):
        raise EngineError("postman: odd nodes in parts of the network no path joins")
    cost = float(d[pairs[:, 0], pairs[:, 1]].sum()) if pairs.size else 0.0
    return pairs[:, 0], pairs[:, 1], kind, (cost if kind == "exact" else bound)


def postman_tour(
    graph: StreetGraph,
    required: Any = None,
    start: int | None = None,
    exact_limit: int = 300,
    knn: int = 12,
) -> PostmanTour:
    """A shortest closed walk covering every required edge (Chinese or rural postman).

    Parameters
    ----------
    graph
        The street graph; paths may use any of its edges.
    required
        (n_edges,) bool of edges to cover; None takes ``graph.required`` (all edges by default:
        the Chinese postman).
    start
        Node the tour starts and ends at (default: the tail of the first required edge). A
        start off the required edges is joined by a shortest path out and back.
    exact_limit
        Largest number of odd nodes matched on the complete graph (exact); above it, mutual
        pairs of the assignment relaxation are fixed first (see :func:`_match`).
    knn
        Candidate neighbours per node when the assignment step stalls above ``exact_limit``.

    Returns
    -------
    PostmanTour

    Notes
    -----
    Length = sum of required edges + sum over matched odd pairs of their shortest-path
    distance (+ Frederickson connectors for a disconnected required set). References in the
    module docstring.
    """
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    req = graph.required if required is None else np.asarray(required, bool)
    if req.size != graph.n_edges:
        raise EngineError(f"postman: {req.size} required flags for {graph.n_edges} edges")
    req_edges = np.flatnonzero(req).astype(np.int64)
    if req_edges.size == 0:
        raise EngineError("postman: no required edges")
    connectors = _connect_components(graph, req_edges)
    base = np.concatenate([req_edges, connectors])
    deg = np.bincount(np.concatenate([graph.tail[base], graph.head[base]]), minlength=graph.n_nodes)
    odd = np.flatnonzero(deg % 2 == 1).astype(np.int64)
    csr = graph.csr()
    if odd.size:
        d_full, pred = dijkstra(csr, indices=odd, return_predecessors=True)
        a, b, kind, bound = _match(d_full[:, odd], exact_limit, knn)
        extra = _tree_paths(pred, a, odd[b], graph)
        aug = np.concatenate([base, *extra]) if extra else base
    else:
        aug, kind, bound = base, "exact", 0.0
    s = int(graph.tail[req_edges[0]]) if start is None else int(start)
    if not 0 <= s < graph.n_nodes:
        raise EngineError(f"postman: start node {s} is not in the graph")
    g = nx.MultiGraph()
    g.add_edges_from(
        zip(graph.tail[aug].tolist(), graph.head[aug].tolist(), range(aug.size), strict=True)
    )
    lead_in = np.zeros(0, np.int64)
    s0 = s
    if s not in g:
        d_s, p_s = dijkstra(csr, indices=[s], return_predecessors=True)
        on = np.unique(np.concatenate([graph.tail[aug], graph.head[aug]]))
        s0 = int(on[np.argmin(d_s[0, on])])
        if not np.isfinite(d_s[0, s0]):
            raise EngineError(f"postman: start node {s} cannot reach the required edges")
        lead_in = _tree_paths(p_s, np.zeros(1, np.int64), np.array([s0]), graph)[0][::-1]
    circuit = [k for _, _, k in nx.eulerian_circuit(g, source=s0, keys=True)]
    tour_edges = aug[np.asarray(circuit, np.int64)]
    seq = np.concatenate([lead_in, tour_edges, lead_in[::-1]])
    walk = _walk(graph, seq, s)
    required_m = float(graph.length_m[req_edges].sum())
    return PostmanTour(
        walk,
        required_m,
        walk.length_m - required_m,
        int(odd.size),
        kind,
        float(graph.length_m[connectors].sum()) + bound,
    )


def chinese_postman(graph: StreetGraph, start: int | None = None) -> PostmanTour:
    """The optimal tour covering every edge (:func:`postman_tour` with all edges required)."""
    return postman_tour(graph, np.ones(graph.n_edges, bool), start)


# -- routes ---------------------------------------------------------------------------------


def split_tour(graph: StreetGraph, tour: Walk, k: int, depots: Any = None) -> list[Walk]:
    """Split a closed tour into ``k`` closed routes (Frederickson, Hecht and Kim 1978).

    Parameters
    ----------
    graph
        The graph of the tour.
    tour
        A closed walk (a :attr:`PostmanTour.walk`).
    k
        Number of routes (1 .. number of tour steps).
    depots
        Depot nodes (default: the tour's start). Each route leaves from and returns to the depot
        nearest its first tour node; with one depot this is the FHK heuristic exactly, within a
        factor ``2 - 1/k`` of the optimal min-max k-postman tours when the tour is optimal.

    Returns
    -------
    list of Walk
        ``k`` closed routes; their tour pieces cover the tour in order.
    """
    from scipy.sparse.csgraph import dijkstra

    m = int(tour.edge.size)
    if k < 1 or k > max(m, 1):
        raise EngineError(f"split_tour: k = {k} routes for a tour of {m} edges")
    dep = (
        np.array([int(tour.nodes[0])], np.int64)
        if depots is None
        else np.unique(np.asarray(depots, np.int64).ravel())
    )
    if dep.size == 0 or int(dep.min()) < 0 or int(dep.max()) >= graph.n_nodes:
        raise EngineError("split_tour: depot nodes must be nodes of the graph")
    d_all, pred = dijkstra(graph.csr(), indices=dep, return_predecessors=True)
    d = d_all.min(axis=0)
    v = tour.nodes
    D = tour.cum_m
    L = float(D[-1])
    if not np.all(np.isfinite(d[v])):
        raise EngineError("split_tour: some tour nodes cannot be reached from a depot")
    w = np.diff(D)
    c_max = 0.5 * float(np.max(d[v[:-1]] + w + d[v[1:]])) if m else 0.0
    j = np.arange(1, k)
    Lj = j / k * (L - 2.0 * c_max) + c_max
    p = np.clip(np.searchsorted(D, Lj, side="right") - 1, 0, m - 1)
    r = Lj - D[p]
    stay = r <= 0.5 * (w[p] + d[v[p + 1]] - d[v[p]])
    cut = np.where(stay, p, p + 1)
    cuts = np.concatenate([[0], np.maximum.accumulate(cut), [m]]).astype(np.int64)
    first = v[cuts[:-1]]
    last = v[cuts[1:]]
    home = np.argmin(d_all[:, first], axis=0).astype(np.int64)
    out_legs = _tree_paths(pred, home, first, graph)  # target -> depot order
    back_legs = _tree_paths(pred, home, last, graph)
    routes = []
    for i in range(k):
        seq = np.concatenate([out_legs[i][::-1], tour.edge[cuts[i] : cuts[i + 1]], back_legs[i]])
        routes.append(_walk(graph, seq, int(dep[home[i]])))
    return routes


def route_from_edges(graph: StreetGraph, edges: Any, depot: int | None = None) -> Walk:
    """A closed route through edges drawn by hand, in order.

    Consecutive edges that do not touch are joined by a shortest path, and the route is closed
    back to its start (or leaves from and returns to ``depot``).

    Parameters
    ----------
    graph
        The street graph.
    edges
        Edge indices (int) or edge ids (str), in driving order.
    depot
        Node the route starts and ends at (default: the start of the first edge).
    """
    from scipy.sparse.csgraph import dijkstra

    items = list(edges)
    if not items:
        raise EngineError("route: no edges drawn")
    if isinstance(items[0], str):
        pos = {str(x): i for i, x in enumerate(graph.ids.tolist())}
        missing = [x for x in items if x not in pos]
        if missing:
            raise EngineError(f"route: edge id {missing[0]} is not in the street graph")
        e = np.array([pos[x] for x in items], np.int64)
    else:
        e = np.asarray(items, np.int64)
        if int(e.min()) < 0 or int(e.max()) >= graph.n_edges:
            raise EngineError("route: edge index out of range")
    t, h = graph.tail[e], graph.head[e]
    # orient each edge: start it at the end nearest the previous edge (first: from its tail,
    # or toward the second edge)
    pts = np.unique(np.concatenate([t, h, [] if depot is None else [int(depot)]])).astype(np.int64)
    dist, pred = dijkstra(graph.csr(), indices=pts, return_predecessors=True)
    row = {int(x): i for i, x in enumerate(pts.tolist())}
    if not np.all(np.isfinite(dist[:, pts])):
        raise EngineError("route: the drawn edges lie in parts of the network no path joins")
    seq: list[IntArray] = []
    start = int(t[0]) if depot is None else int(depot)
    cur = start
    for i in range(e.size):  # hand-drawn routes are short lists of edges
        a, b = int(t[i]), int(h[i])
        if dist[row[cur], b] < dist[row[cur], a]:
            a, b = b, a
        if cur != a:
            seq.append(_tree_paths(pred, np.array([row[cur]]), np.array([a]), graph)[0][::-1])
        seq.append(e[i : i + 1])
        cur = b
    if cur != start:
        seq.append(_tree_paths(pred, np.array([row[start]]), np.array([cur]), graph)[0])
    return _walk(graph, np.concatenate(seq), start)


# -- robots ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """What one patrol robot (or drone) can do.

    Attributes
    ----------
    speed_m_s
        Patrol speed, metres per second (street robots about 1-1.5 m/s, walking pace).
    run_h
        Hours of patrol per charge (street patrol robots: 7-8 h).
    charge_h
        Hours to recharge (taken as no longer than a run, so two robots cover one post).
    coverage_m
        Street length one robot is sized for (800-1,000 m), the rule-of-thumb sizing.
    response_speed_m_s
        Speed when sent to an incident (default: the patrol speed).
    """

    speed_m_s: float = 1.2
    run_h: float = 8.0
    charge_h: float = 6.0
    coverage_m: float = 1000.0
    response_speed_m_s: float | None = None

    def __post_init__(self) -> None:
        if not (self.speed_m_s > 0 and self.run_h > 0 and self.charge_h >= 0):
            raise EngineError("fleet: speed and run time must be positive, charge time >= 0")

    @property
    def response_m_s(self) -> float:
        """Speed used for response times."""
        return float(self.response_speed_m_s or self.speed_m_s)


def robots_per_post(fleet: Fleet) -> int:
    """Robots that keep one patrol slot running around the clock: ``ceil((run + charge) / run)``."""
    return math.ceil((fleet.run_h + fleet.charge_h) / fleet.run_h - 1e-12)


def robots_by_rule_of_thumb(street_m: float, fleet: Fleet) -> int:
    """Round-the-clock robots for a street length: one post per ``coverage_m``, each post
    staffed by :func:`robots_per_post` robots (2 for 1,000 m at 7-8 h per charge)."""
    return math.ceil(street_m / fleet.coverage_m - 1e-12) * robots_per_post(fleet)


def _slots(
    routes: Sequence[Walk], active_per_route: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Route and phase (metres along it) of each patrol slot, and route lengths."""
    lengths = np.array([r.length_m for r in routes], np.float64)
    route = np.repeat(np.arange(len(routes)), active_per_route).astype(np.int64)
    j = np.tile(np.arange(active_per_route), len(routes))
    return route, lengths[route] * j / active_per_route, lengths


def _available(t: FloatArray, slot: IntArray, fleet: Fleet, m: int) -> BoolArray:
    """Whether slot ``slot[i]`` has a running robot at time ``t[i]`` (seconds)."""
    run = fleet.run_h * 3600.0
    period = (fleet.run_h + fleet.charge_h) * 3600.0
    if m * run >= period:
        return np.ones(t.shape, bool)
    # stagger robots of a slot over the cycle; slots are offset too, so not all charge at once
    off = (np.mod(slot * 0.6180339887498949, 1.0) * period / m)[:, None] + (
        np.arange(m)[None, :] * period / m
    )
    ph = np.mod(t[:, None] - off, period)
    return np.asarray((ph < run).any(axis=1), bool)


@dataclass(frozen=True)
class PatrolVisits:
    """Passes of the patrol over the street sample points during a period.

    Attributes
    ----------
    point_edge, point_offset_m, point_weight_m
        (n_points,) edge, distance from the edge's tail, and street length each point stands
        for (trapezoid weights: per edge they sum to its length).
    point_required
        (n_points,) on a required edge.
    worst_gap_s
        (n_points,) largest gap between consecutive passes (any robot) over the period;
        ``inf`` where a point is not passed.
    visit_point, visit_time_s
        All passes in the period and one lap around it, sorted by point then time.
    horizon_s
        Length of the period.
    n_robots
        Robots the patrol uses (routes x active slots x robots per slot).
    """

    point_edge: IntArray
    point_offset_m: FloatArray
    point_weight_m: FloatArray
    point_required: BoolArray
    worst_gap_s: FloatArray
    visit_point: IntArray
    visit_time_s: FloatArray
    horizon_s: float
    n_robots: int

    def edge_worst_gap_s(self, n_edges: int) -> FloatArray:
        """(n_edges,) largest gap over each edge's points (nan for edges without points)."""
        out = np.full(n_edges, -np.inf)
        np.maximum.at(out, self.point_edge, self.worst_gap_s)
        return np.where(np.isneginf(out), np.nan, out)


def sample_points(graph: StreetGraph, spacing_m: float) -> tuple[IntArray, FloatArray, FloatArray]:
    """Points every ``spacing_m`` (or closer, evenly) along each edge, both ends included.

    Returns
    -------
    edge, offset_m, weight_m
        Edge of each point, distance from its tail, trapezoid length weight.
    """
    if spacing_m <= 0:
        raise EngineError("patrol: point spacing must be positive")
    seg = np.maximum(np.ceil(graph.length_m / spacing_m), 1).astype(np.int64)
    count = seg + 1
    edge = np.repeat(np.arange(graph.n_edges, dtype=np.int64), count)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    i = np.arange(edge.size) - np.repeat(first, count)
    step = graph.length_m / seg
    off = i * step[edge]
    w = np.where((i == 0) | (i == seg[edge]), 0.5, 1.0) * step[edge]
    return edge, off.astype(np.float64), w.astype(np.float64)


def simulate_patrol(
    graph: StreetGraph,
    routes: Sequence[Walk],
    fleet: Fleet,
    horizon_h: float = 24.0,
    active_per_route: int = 1,
    robots_per_slot: int | None = None,
    spacing_m: float = 25.0,
) -> PatrolVisits:
    """All passes of the robots over the street sample points, and each point's worst gap.

    Slot ``s`` (route ``r``, phase ``phi``) is at route position ``(phi + v t) mod L_r`` at
    time ``t``; it passes a point at route position ``q`` at ``t = ((q - phi) mod L_r) / v +
    n L_r / v``, kept where the slot has a running robot. Gaps count over ``[0, horizon]``
    (with one availability cycle and one lap of history before and after, so the first and
    last gaps are steady-state ones).

    Parameters
    ----------
    graph
        The street graph.
    routes
        Closed routes (:func:`split_tour`, :func:`route_from_edges`).
    fleet
        Robot speed, run and charge times.
    horizon_h
        Period, hours.
    active_per_route
        Robots patrolling each route at once, evenly spaced.
    robots_per_slot
        Robots taking turns per slot (default :func:`robots_per_post`).
    spacing_m
        Sample point spacing along the streets.
    """
    if not routes:
        raise EngineError("patrol: no routes")
    if any(not r.closed for r in routes):
        raise EngineError("patrol: every route must end where it starts")
    if all(r.length_m <= 0 for r in routes):
        raise EngineError("patrol: every route has zero length")
    if active_per_route < 1:
        raise EngineError("patrol: at least one robot per route")
    m = robots_per_post(fleet) if robots_per_slot is None else int(robots_per_slot)
    if m < 1:
        raise EngineError("patrol: at least one robot per slot")
    v = fleet.speed_m_s
    H = horizon_h * 3600.0
    p_edge, p_off, p_w = sample_points(graph, spacing_m)
    n_pts = p_edge.size
    pstart = np.concatenate([[0], np.cumsum(np.bincount(p_edge, minlength=graph.n_edges))])
    slot_route, phase, lengths = _slots(routes, active_per_route)
    # traversals: (route, edge, route position at the step's start, reverse)
    tr_route = np.concatenate([np.full(r.edge.size, i, np.int64) for i, r in enumerate(routes)])
    tr_edge = np.concatenate([r.edge for r in routes])
    tr_pos = np.concatenate([r.cum_m[:-1] for r in routes])
    tr_rev = np.concatenate([r.reverse for r in routes])
    # (traversal, point on its edge) pairs
    cnt = pstart[tr_edge + 1] - pstart[tr_edge]
    tr_i = np.repeat(np.arange(tr_edge.size), cnt)
    pt = np.arange(tr_i.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + pstart[tr_edge][tr_i]
    le = graph.length_m[tr_edge[tr_i]]
    q = tr_pos[tr_i] + np.where(tr_rev[tr_i], le - p_off[pt], p_off[pt])
    # (pair, slot of the pair's route) combinations
    per_route_slots = active_per_route
    pair_route = tr_route[tr_i]
    pi = np.repeat(np.arange(pt.size), per_route_slots)
    slot = pair_route[pi] * per_route_slots + np.tile(np.arange(per_route_slots), pt.size)
    Lr = lengths[slot_route[slot]]
    lap = Lr / v
    t0 = np.mod(q[pi] - phase[slot], Lr) / v
    margin = (fleet.run_h + fleet.charge_h) * 3600.0 + lap
    n_first = np.floor((-margin - t0) / lap)
    n_last = np.ceil((H + margin - t0) / lap)
    nlap = (n_last - n_first + 1).astype(np.int64)
    vi = np.repeat(np.arange(pi.size), nlap)
    kk = np.arange(vi.size) - np.repeat(np.cumsum(nlap) - nlap, nlap) + n_first[vi]
    vt = t0[vi] + kk * lap[vi]
    vp = pt[pi[vi]]
    ok = _available(vt, slot[vi], fleet, m)
    vt, vp = vt[ok], vp[ok]
    order = np.lexsort((vt, vp))
    vt, vp = vt[order], vp[order]
    gap = np.diff(vt)
    same = vp[1:] == vp[:-1]
    inwin = same & (vt[1:] > 0.0) & (vt[:-1] < H)
    worst = np.zeros(n_pts)
    np.maximum.at(worst, vp[1:][inwin], gap[inwin])
    # points without passes, or without one before the start or after the end: never covered
    has_before = np.zeros(n_pts, bool)
    has_after = np.zeros(n_pts, bool)
    has_before[vp[vt <= 0.0]] = True
    has_after[vp[vt >= H]] = True
    worst = np.where(has_before & has_after, worst, np.inf)
    return PatrolVisits(
        point_edge=p_edge,
        point_offset_m=p_off,
        point_weight_m=p_w,
        point_required=graph.required[p_edge],
        worst_gap_s=worst,
        visit_point=vp,
        visit_time_s=vt,
        horizon_s=H,
        n_robots=len(routes) * active_per_route * m,
    )


# -- KPIs -----------------------------------------------------------------------------------


def worst_revisit_min(visits: PatrolVisits) -> float:
    """Largest gap between passes at any required street point, minutes (inf: a point never
    passed, or left unpatrolled while its robots charge)."""
    sel = visits.point_required
    if not sel.any():
        return 0.0
    return float(visits.worst_gap_s[sel].max()) / 60.0


def street_coverage_pct(visits: PatrolVisits, within_min: float) -> float:
    """Share of required street length (percent) passed at least once in every window of
    ``within_min`` minutes over the period (worst gap <= ``within_min``)."""
    sel = visits.point_required
    w = visits.point_weight_m[sel]
    if w.sum() <= 0:
        return 100.0
    ok = visits.worst_gap_s[sel] <= within_min * 60.0 + 1e-9
    return float(100.0 * w[ok].sum() / w.sum())


def street_visited_pct(visits: PatrolVisits, within_min: float, start_min: float = 0.0) -> float:
    """Share of required street length (percent) passed at least once between ``start_min``
    and ``start_min + within_min`` (the other reading of "visited within T minutes": how much
    of the network a patrol sweeps in ``T`` minutes from a given moment)."""
    sel = visits.point_required
    w = visits.point_weight_m
    total = float(w[sel].sum())
    if total <= 0:
        return 100.0
    t0, t1 = start_min * 60.0, (start_min + within_min) * 60.0
    inwin = (visits.visit_time_s >= t0 - 1e-9) & (visits.visit_time_s <= t1 + 1e-9)
    seen = np.zeros(w.size, bool)
    seen[visits.visit_point[inwin]] = True
    return float(100.0 * w[seen & sel].sum() / total)


def robot_positions(
    graph: StreetGraph,
    routes: Sequence[Walk],
    fleet: Fleet,
    times_s: Any,
    active_per_route: int = 1,
    robots_per_slot: int | None = None,
) -> tuple[IntArray, FloatArray, BoolArray, FloatArray]:
    """Where every patrol slot is at the given times.

    Returns
    -------
    edge, offset_m, running, xy
        (n_times, n_slots) edge index, distance from the edge's tail, whether a robot runs in
        the slot; and (n_times, n_slots, 2) position interpolated straight between the edge's
        end nodes (nan without ``graph.node_xy``); slots are ``route * active_per_route + j``.
    """
    t = np.asarray(times_s, np.float64).ravel()
    m = robots_per_post(fleet) if robots_per_slot is None else int(robots_per_slot)
    slot_route, phase, lengths = _slots(routes, active_per_route)
    n_s = slot_route.size
    u = np.mod(phase[None, :] + fleet.speed_m_s * t[:, None], lengths[slot_route][None, :])
    edge = np.empty((t.size, n_s), np.int64)
    off = np.empty((t.size, n_s))
    for r, walk in enumerate(routes):  # one searchsorted per route, all times at once
        cols = np.flatnonzero(slot_route == r)
        if walk.edge.size == 0:  # an empty route: its robot waits at the depot
            edge[:, cols], off[:, cols] = 0, np.nan
            continue
        uu = u[:, cols]
        i = np.clip(np.searchsorted(walk.cum_m, uu, side="right") - 1, 0, walk.edge.size - 1)
        e = walk.edge[i]
        along = uu - walk.cum_m[i]
        edge[:, cols] = e
        off[:, cols] = np.where(walk.reverse[i], graph.length_m[e] - along, along)
    slot_ids = np.broadcast_to(np.arange(n_s), (t.size, n_s)).ravel()
    running = _available(np.repeat(t, n_s), slot_ids, fleet, m).reshape(t.size, n_s)
    running &= np.isfinite(off)
    off = np.nan_to_num(off)
    if graph.node_xy is None:
        xy = np.full((t.size, n_s, 2), np.nan)
    else:
        le = np.maximum(graph.length_m[edge], _MIN_LENGTH)
        f = (off / le)[..., None]
        xy = graph.node_xy[graph.tail[edge]] * (1 - f) + graph.node_xy[graph.head[edge]] * f
    return edge, off, running, xy


def mean_response_min(
    graph: StreetGraph,
    routes: Sequence[Walk],
    fleet: Fleet,
    horizon_h: float = 24.0,
    step_min: float = 1.0,
    active_per_route: int = 1,
    robots_per_slot: int | None = None,
    spacing_m: float = 25.0,
    chunk: int = 4_000_000,
) -> float:
    """Mean network travel time from the nearest running robot to a street point, minutes.

    ``mean_t sum_p w_p min_r d(r(t), p) / (v_resp sum_p w_p)`` over required street points
    ``p`` (weights ``w_p``, :func:`sample_points`) and time samples every ``step_min`` over the
    horizon; ``d`` is the network distance from a robot on edge ``(a, b)`` at offset ``x``:
    ``min(x + D[a, n], len - x + D[b, n])`` to node ``n`` (``D`` from one ``csgraph.dijkstra``
    call from all the end nodes of the edges robots occupy), then to a point at offset ``y``
    on edge ``(c, e)``: ``min(d_c + y, d_e + len - y)`` or ``|x - y|`` on the robot's own
    edge. Times without a running robot give ``inf``.
    """
    from scipy.sparse.csgraph import dijkstra

    times = np.arange(0.0, horizon_h * 3600.0, step_min * 60.0)
    edge, off, running, _ = robot_positions(
        graph, routes, fleet, times, active_per_route, robots_per_slot
    )
    p_edge, p_off, p_w = sample_points(graph, spacing_m)
    sel = graph.required[p_edge] & (p_w > 0)
    p_edge, p_off, p_w = p_edge[sel], p_off[sel], p_w[sel]
    src = np.unique(np.concatenate([graph.tail[edge.ravel()], graph.head[edge.ravel()]]))
    D = dijkstra(graph.csr(), indices=src)
    row = np.full(graph.n_nodes, -1, np.int64)
    row[src] = np.arange(src.size)
    n_t, n_s = edge.shape
    n_n = graph.n_nodes
    le = graph.length_m[edge]
    ra = row[graph.tail[edge]]
    rb = row[graph.head[edge]]
    x = np.where(running, off, np.inf)
    y = np.where(running, le - off, np.inf)
    per = max(1, chunk // max(n_s * n_n, 1))
    total = 0.0
    pl = graph.length_m[p_edge]
    pe_start = np.searchsorted(p_edge, np.arange(graph.n_edges + 1))
    for c0 in range(0, n_t, per):  # chunks of time samples bound the memory
        c1 = min(n_t, c0 + per)
        dn = np.min(
            np.minimum(x[c0:c1, :, None] + D[ra[c0:c1]], y[c0:c1, :, None] + D[rb[c0:c1]]),
            axis=1,
        )  # (nt, n_nodes)
        dp = np.minimum(dn[:, graph.tail[p_edge]] + p_off, dn[:, graph.head[p_edge]] + pl - p_off)
        # robots on the point's own edge go straight along it
        e_c = edge[c0:c1]
        cnt = (pe_start[e_c + 1] - pe_start[e_c]).ravel()
        ti = np.repeat(np.repeat(np.arange(c1 - c0), n_s), cnt)
        si = np.repeat(np.tile(np.arange(n_s), c1 - c0), cnt)
        pk = (
            np.arange(cnt.sum())
            - np.repeat(np.cumsum(cnt) - cnt, cnt)
            + np.repeat(pe_start[e_c.ravel()], cnt)
        )
        direct = np.abs(off[c0:c1][ti, si] - p_off[pk])
        direct = np.where(running[c0:c1][ti, si], direct, np.inf)
        np.minimum.at(dp, (ti, pk), direct)
        total += float((dp @ p_w).sum())
    return float(total / (n_t * float(p_w.sum())) / fleet.response_m_s / 60.0)


@dataclass(frozen=True)
class RobotsNeeded:
    """Result of :func:`robots_needed_for_target`.

    Attributes
    ----------
    routes
        Number of routes (patrol posts), or -1 when ``k_max`` does not meet the target.
    robots
        Robots including the ones charging: ``routes * robots_per_post``.
    worst_revisit_min
        Worst revisit with that many routes (of ``k_max`` routes when not met).
    """

    routes: int
    robots: int
    worst_revisit_min: float


def robots_needed_for_target(
    graph: StreetGraph,
    tour: Walk,
    fleet: Fleet,
    target_revisit_min: float,
    depots: Any = None,
    k_max: int = 64,
    horizon_h: float = 24.0,
    spacing_m: float = 25.0,
) -> RobotsNeeded:
    """Smallest number of FHK routes whose worst revisit meets a target, and robots for it.

    ``k`` grows from 1 (the worst revisit of FHK splits is not monotone in ``k``, so no
    bisection); each candidate is split with :func:`split_tour` and simulated with
    :func:`simulate_patrol` (``robots_per_post`` robots per route).
    """
    worst = math.inf
    m = robots_per_post(fleet)
    for k in range(1, min(k_max, int(tour.edge.size)) + 1):
        routes = split_tour(graph, tour, k, depots)
        worst = worst_revisit_min(
            simulate_patrol(graph, routes, fleet, horizon_h, spacing_m=spacing_m)
        )
        if worst <= target_revisit_min + 1e-9:
            return RobotsNeeded(k, k * m, worst)
    return RobotsNeeded(-1, -1, worst)
