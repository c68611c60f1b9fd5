"""Static user-equilibrium traffic assignment (Wardrop's first principle) on a TNTP network.

:func:`assign` solves Beckmann's convex program (Sheffi 1985, *Urban Transportation Networks*,
Prentice-Hall, chapters 3 and 5)::

    min_x  sum_a  integral_0^{x_a} c_a(w) dw     subject to flow conservation and x >= 0

with the generalised link cost (TNTP convention)::

    c_a(v) = t_a(v) + distance_weight * length_a + toll_weight * toll_a
    t_a(v) = t0_a * (1 + b_a * (v / cap_a) ** power_a)          (BPR, Sheffi eq. 13.2)

by one of two published methods.

**Path-based gradient projection** (``method="gp"``, the default; R. Jayakrishnan, W. K. Tsai,
J. N. Prashker and S. Rajadhyaksha, "A faster path-based algorithm for traffic assignment",
*Transportation Research Record* 1443, 1994, pp. 75-83; with the path-set re-equilibration of
iGP, J. Xie, Y. Nie and X. Liu, *Transportation Research Record* 2672(48), 2018). Each OD pair
keeps the paths it uses and their flows ``f_k``. Each iteration moves flow from every other path
k of a pair's set to its cheapest one k* by a Newton step on the path-flow form of Beckmann's
program::

    delta_k = min(f_k, (C_k - C_k*) / s_k),   s_k = sum_{a in k (+) k*} dt_a/dv (x_a)

(``C`` path costs, ``(+)`` the symmetric difference: links on both paths keep their flow),
updating link flows and costs after each shift (Gauss-Seidel), pair by pair, for 1 to
``_GP_INNER + 1`` passes over all pairs (until the path sets' own gap is below
``_GP_INNER_RATIO`` times the last measured gap). Then one Dijkstra per origin on the new costs
measures the relative gap and adds each pair's shortest path to its set (column generation)
for the next iteration. Emptied paths are dropped. The first path sets come from an
all-or-nothing loading, origin by origin on the costs so far (incremental loading). The inner loops are numba kernels (:mod:`twin_app.engines.traffic_gp`, compiled
once and cached on disk; :func:`compile_solver` reports the first-call time); Python only
loops over iterations, so that ``progress`` and ``cancelled`` work. The path sets are returned
in :attr:`AssignmentResult.state` (:class:`GpState`); ``warm_start`` re-uses them: paths
through links closed now are dropped, their flow goes to the pair's new shortest path, and the
sets are re-equilibrated before the first gap.

**Conjugate Frank-Wolfe** (``"bfw"`` bi-conjugate, ``"cfw"`` conjugate, ``"fw"`` plain; M.
Mitradjieva and P. O. Lindberg, "The stiff is moving - conjugate direction Frank-Wolfe methods
with applications to traffic assignment", *Transportation Science* 47(2), 2013, pp. 280-293).
CFW: at iterate x_k with all-or-nothing flow y_k and previous target s_{k-1}, the new target is
``s_k = alpha s_{k-1} + (1 - alpha) y_k`` with alpha chosen so that ``s_k - x_k`` is conjugate
to ``s_{k-1} - x_k`` under the Hessian ``H = diag(dt/dv (x_k))``::

    alpha = N / D,  N = (s_{k-1} - x_k)^T H (y_k - x_k),  D = (s_{k-1} - x_k)^T H (y_k - s_{k-1})

clipped to ``[0, 1 - delta]``; then ``x_{k+1} = x_k + lambda (s_k - x_k)`` with the exact line
search (bisection on the directional derivative, which is monotone because c is increasing).
BFW: see :func:`_direction`. The all-or-nothing step runs :func:`scipy.sparse.csgraph.dijkstra`
from all origins at once and loads the demand back along the shortest-path trees by walking all
OD pairs up their trees together (one numpy step per link of the longest path, no loop per OD
pair). Frank-Wolfe warm-starts from a previous result's flows only where they are feasible.

Convergence measure (relative gap, TNTP / Boyce et al. 2004)::

    gap = (sum_a c_a x_a - sum_od q_od * pi_od) / sum_a c_a x_a

with pi_od the shortest generalised cost, computed the same way by both methods (a Dijkstra per
origin on the costs at the measured flows). Zones numbered below ``<FIRST THRU NODE>`` are not
used as through nodes: their outgoing links are attached to a separate source copy of the zone
that only its own trips leave from. Links in ``closed`` are left out of every shortest path; OD
pairs they cut off are counted (``od_pairs_disconnected``), not assigned, and not an error.

Units are those of the network file: TSTT ``sum_a x_a t_a(x_a)`` is in vehicles times the file's
time unit, as the TNTP tables report it (Sioux Falls: 0.01 h, Anaheim: minutes); :func:`kpis`
converts to the named KPIs (``tstt_veh_h`` ...) with units the caller states.

Measured (benchmarks/bench_traffic.py, one core of a shared 2-core machine): GP reaches gap 1e-6
in 11 iterations / about 2 ms on Sioux Falls and 4 / about 8 ms on Anaheim; BFW reaches 1e-5
in 149 / 0.07 s and 24 / 0.07 s; aequilibrae 1.7.2's BFW takes 1.96 s / 279 and 0.39 s / 37 to
1e-5 (DESIGN.md section 8).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin_app.errors import Cancelled, EngineError
from twin_app.io.tntp import TntpDemand, TntpNetwork

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_MIN_COST = 1e-12  # csgraph needs strictly positive weights to keep an edge
_CFW_DELTA = 0.01
# GP re-equilibrates all path sets at most _GP_INNER times per iteration, until their own gap
# is below _GP_INNER_RATIO times the last measured gap (tuned on Sioux Falls and Anaheim).
_GP_INNER = 20
_GP_INNER_RATIO = 0.1  # alpha <= 1 - delta (Mitradjieva & Lindberg 2013, section 3)


@dataclass(frozen=True)
class AssignmentResult:
    """Result of :func:`assign` (arrays per link, in the network's link order).

    Attributes
    ----------
    flow : link volumes x_a (vehicles per demand period).
    time : BPR travel times t_a(x_a) (file time unit).
    cost : generalised costs c_a(x_a).
    iterations : iterations run (GP outer iterations, or Frank-Wolfe iterations).
    relative_gap : relative gap at ``flow`` (see module docstring).
    tstt : total system travel time ``sum x_a t_a(x_a)``.
    converged : whether ``relative_gap <= requested``.
    elapsed_s : wall-clock seconds.
    od_pairs_disconnected : OD pairs with demand but no path (their demand is not assigned;
        a closure that cuts the network reports them, it does not fail).
    demand_disconnected : the demand of those pairs (vehicles).
    closed : the ``closed`` mask the result was computed with (None: no link closed). Closed
        links carry no flow and have NaN ``time`` and ``cost``.
    state : solver state for a warm start (picklable; not part of equality or repr).
    """

    flow: FloatArray
    time: FloatArray
    cost: FloatArray
    iterations: int
    relative_gap: float
    tstt: float
    converged: bool
    elapsed_s: float
    od_pairs_disconnected: int = 0
    demand_disconnected: float = 0.0
    closed: NDArray[np.bool_] | None = field(default=None, compare=False)
    state: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class GpState:
    """Path sets and flows of a gradient projection run, to warm-start the next one.

    Plain numpy arrays (picklable, they travel to Dask workers). Pair ``i`` (key
    ``source_vertex * n_vertices + destination``, sorted) has demand ``od_demand[i]`` and the
    next ``paths_per_od[i]`` paths; path ``k`` has ``path_flow[k]`` on the next
    ``path_length[k]`` entries of ``links`` (link indices, destination first). ``topology``
    fingerprints the graph (link ends, zone source copies): a state only warm-starts a run on
    the same links.
    """

    n_links: int
    n_vertices: int
    topology: str
    od_key: IntArray
    od_demand: FloatArray
    paths_per_od: IntArray
    path_length: IntArray
    path_flow: FloatArray
    links: IntArray


def bpr_time(network: TntpNetwork, flow: FloatArray) -> FloatArray:
    """BPR link time ``t0 * (1 + b * (v / c) ** power)`` (Sheffi 1985, eq. 13.2)."""
    return network.free_flow_time * (1.0 + network.b * (flow / network.capacity) ** network.power)


def _bpr_derivative(network: TntpNetwork, flow: FloatArray) -> FloatArray:
    """``dt/dv = t0 * b * power * v ** (power - 1) / c ** power``."""
    p = network.power
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, (flow / network.capacity) ** np.maximum(p - 1.0, 0.0), 0.0)
    return network.free_flow_time * network.b * p * ratio / network.capacity


class _Graph:
    """Shortest-path graph with zone source copies and the all-or-nothing loader."""

    def __init__(
        self,
        network: TntpNetwork,
        demand: TntpDemand,
        closed: NDArray[np.bool_] | None = None,
    ) -> None:
        n = network.n_nodes
        nz = demand.n_zones
        if nz > n or nz != network.n_zones:
            raise EngineError(
                f"demand has {nz} zones, network {network.source or ''} has {network.n_zones}"
            )
        self.n_links = network.n_links
        od = np.array(demand.od, dtype=np.float64)
        # Intrazonal trips are not assigned (TNTP convention); with a source copy of a zone
        # they would otherwise loop out and back over the network.
        np.fill_diagonal(od, 0.0)
        self.origins = np.flatnonzero(od.sum(axis=1) > 0)
        self.od = od[self.origins]  # (n_orig, nz)
        tail = network.init_node.copy()
        head = network.term_node.copy()
        ft = network.first_thru_node
        # Links leaving a non-through zone start from its source copy n + zone.
        nonthru = tail < min(ft, nz)
        tail[nonthru] = n + tail[nonthru]
        self.n_vertices = n + max(min(ft, nz), 0)
        src = self.origins.copy()
        src[src < ft] += n
        self.sources = src
        # The demand of origin o leaves from its source vertex; destinations are plain nodes.
        self.tail = tail
        self.head = head
        pair = tail * self.n_vertices + head
        self.unique_pairs = np.unique(pair).size == pair.size
        self.pair = pair
        self.open = np.ones(self.n_links, dtype=bool) if closed is None else ~closed
        self.disconnected = 0
        self.disconnected_demand = 0.0

    def shortest(self, cost: FloatArray) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
        """Distances and predecessors from every source, and the used links sorted by pair.

        Returns ``dist, pred`` (``(n_sources, n_vertices)``), ``pairs`` (sorted
        ``tail * n_vertices + head`` of the links in the graph) and ``link_ids`` (the link of
        each entry of ``pairs``; the cheapest one where links are parallel).
        """
        nv = self.n_vertices
        order = np.lexsort((cost, self.pair))
        order = order[self.open[order]]  # closed links are not in the graph
        if self.unique_pairs:
            keep = order
        else:  # parallel links: the cheapest one per (tail, head)
            first = np.r_[True, self.pair[order][1:] != self.pair[order][:-1]]
            keep = order[first]
        w = np.maximum(cost[keep], _MIN_COST)
        graph = csr_matrix((w, (self.tail[keep], self.head[keep])), shape=(nv, nv))
        dist, pred = dijkstra(graph, directed=True, indices=self.sources, return_predecessors=True)
        return (
            np.asarray(dist, dtype=np.float64),
            np.asarray(pred, dtype=np.int64),
            self.pair[keep],
            keep.astype(np.int64),
        )

    def all_or_nothing(self, cost: FloatArray) -> tuple[FloatArray, float]:
        """All-or-nothing link flows on ``cost`` and the shortest-path total ``sum q * pi``."""
        dist, pred, pairs, link_ids = self.shortest(cost)
        nz = self.od.shape[1]
        dz = dist[:, :nz]
        pos = self.od > 0
        lost = pos & ~np.isfinite(dz)
        if lost.any():  # the graph never changes, so this happens on the first call only
            self.disconnected += int(lost.sum())
            self.disconnected_demand += float(self.od[lost].sum())
            r, c = np.argwhere(lost)[0]  # counted in the result; the caller says it once
            log.info("%d OD pairs have no path (zone %d to zone %d ...)", lost.sum(),
                     self.origins[r] + 1, c + 1)  # fmt: skip
            self.od = np.where(lost, 0.0, self.od)
            pos = self.od > 0
        sptt = float(np.sum(self.od[pos] * dz[pos]))
        nv = dist.shape[1]
        # The tree link into every (origin, node): look (pred, node) up among the sorted pairs.
        tree_pair = pred * nv + np.arange(nv)[None, :]
        tree_link = link_ids[np.clip(np.searchsorted(pairs, tree_pair), 0, pairs.size - 1)]
        # Walk all OD pairs up their trees at once, one link per step (as many steps as the
        # longest path has links), adding each pair's demand to the link it crosses.
        rr, cur = np.nonzero(pos)
        q = self.od[rr, cur]
        link_flow = np.zeros(self.n_links)
        while rr.size:
            p = pred[rr, cur]
            on = p >= 0
            rr, cur, q, p = rr[on], cur[on], q[on], p[on]
            link_flow += np.bincount(tree_link[rr, cur], q, minlength=self.n_links)
            cur = p
        return link_flow, sptt


def _line_search(network: TntpNetwork, fixed: FloatArray, x: FloatArray, d: FloatArray) -> float:
    """Exact step in [0, 1]: root of ``g(l) = sum d * c(x + l d)`` (increasing in l)."""

    def g(step: float) -> float:
        return float(np.dot(d, bpr_time(network, x + step * d) + fixed))

    if g(1.0) <= 0.0:
        return 1.0
    if g(0.0) >= 0.0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if g(mid) > 0.0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-14:
            break
    return 0.5 * (lo + hi)


def _direction(
    network: TntpNetwork,
    x: FloatArray,
    y: FloatArray,
    s1: FloatArray | None,
    s2: FloatArray | None,
    tau: float,
    method: str,
) -> FloatArray:
    """Target point s_k of FW, CFW or BFW (Mitradjieva & Lindberg 2013, sections 3 and 4).

    BFW: ``s_k = beta0 y + beta1 s_{k-1} + beta2 s_{k-2}`` with ``s_k - x_k`` conjugate (under
    ``H = diag(dt/dv)``) to the two previous directions; ``tau`` is the previous step size::

        dbar1 = s_{k-1} - x_k,   dbar2 = tau s_{k-1} + (1 - tau) s_{k-2} - x_k,  d = y - x_k
        mu = -dbar2^T H d / dbar2^T H (s_{k-2} - s_{k-1})
        nu = -dbar1^T H d / dbar1^T H dbar1 + mu tau / (1 - tau)
        beta0 = 1 / (1 + mu + nu), beta1 = nu beta0, beta2 = mu beta0   (mu, nu >= 0)
    """
    if method == "fw" or s1 is None:
        return y
    h = _bpr_derivative(network, x)
    d = y - x
    if method == "bfw" and s2 is not None and tau < 1.0 - 1e-12:
        dbar1 = s1 - x
        dbar2 = tau * s1 + (1.0 - tau) * s2 - x
        den_mu = float(np.dot(dbar2 * h, s2 - s1))
        den_nu = float(np.dot(dbar1 * h, dbar1))
        if den_mu != 0.0 and den_nu != 0.0:
            mu = max(-float(np.dot(dbar2 * h, d)) / den_mu, 0.0)
            nu = max(-float(np.dot(dbar1 * h, d)) / den_nu + mu * tau / (1.0 - tau), 0.0)
            beta0 = 1.0 / (1.0 + mu + nu)
            return beta0 * y + nu * beta0 * s1 + mu * beta0 * s2
    # CFW (also BFW's fallback after a full step)
    dbar = s1 - x
    num = float(np.dot(dbar * h, d))
    den = float(np.dot(dbar * h, y - s1))
    alpha = num / den if den != 0.0 else 0.0
    alpha = min(max(alpha, 0.0), 1.0 - _CFW_DELTA)
    return alpha * s1 + (1.0 - alpha) * y


def _progress_fraction(gap0: float, gap: float, target: float, it: int, max_it: int) -> float:
    """Progress 0..1: the share of the log-distance from the first gap to the target covered."""
    frac = it / max(max_it, 1)
    if np.isfinite(gap0) and gap0 > target > 0 and gap > 0:
        frac = max(frac, np.log(gap0 / gap) / np.log(gap0 / target))
    return float(min(max(frac, 0.0), 1.0))


def _check_closed(
    network: TntpNetwork, closed: NDArray[np.bool_] | None
) -> NDArray[np.bool_] | None:
    if closed is None:
        return None
    mask = np.asarray(closed, dtype=bool)
    if mask.shape != (network.n_links,):
        raise EngineError(
            f"closed mask has shape {mask.shape}, network {network.source or ''} has "
            f"{network.n_links} links"
        )
    mask = mask.copy()
    mask.flags.writeable = False
    return mask if mask.any() else None


def _finish(
    network: TntpNetwork,
    x: FloatArray,
    fixed: FloatArray,
    closed: NDArray[np.bool_] | None,
    **fields: Any,
) -> AssignmentResult:
    """Result arrays (read-only) with NaN time and cost on closed links."""
    t = bpr_time(network, x)
    cost = t + fixed
    if closed is not None:
        x = np.where(closed, 0.0, x)
        t[closed] = np.nan
        cost[closed] = np.nan
    for arr in (x, t, cost):
        arr.flags.writeable = False
    tstt = float(np.dot(x[np.isfinite(t)], t[np.isfinite(t)]))
    return AssignmentResult(flow=x, time=t, cost=cost, tstt=tstt, closed=closed, **fields)


def _arr(a: NDArray[Any], dtype: type[np.generic]) -> NDArray[Any]:
    """A writable C-contiguous copy: numba compiles read-only arrays as another type."""
    return np.array(a, dtype=dtype, copy=True, order="C")


def _gp_problem(
    network: TntpNetwork, graph: _Graph, fixed: FloatArray
) -> tuple[dict[str, Any], IntArray]:
    """Arrays the compiled GP kernels work on, and the pair keys (sorted)."""
    from twin_app.engines import traffic_gp as kern

    nv = graph.n_vertices
    tail = _arr(graph.tail, np.int64)
    head = _arr(graph.head, np.int64)
    # Outgoing open links per vertex (CSR), in link order within a vertex: deterministic.
    open_links = np.flatnonzero(graph.open)
    out_link = open_links[np.argsort(tail[open_links], kind="stable")].astype(np.int64)
    out_start = np.searchsorted(tail[out_link], np.arange(nv + 1)).astype(np.int64)
    sources = _arr(graph.sources, np.int64)
    t0 = _arr(network.free_flow_time, np.float64)
    nz = graph.od.shape[1]
    zones = np.arange(nz, dtype=np.int64)
    pos = graph.od > 0
    lost = pos & ~kern.reachable(sources, zones, out_start, out_link, head, nv)
    if lost.any():
        graph.disconnected = int(lost.sum())
        graph.disconnected_demand = float(graph.od[lost].sum())
        r, c = np.argwhere(lost)[0]  # counted in the result; the caller says it once
        log.info("%d OD pairs have no path (zone %d to zone %d ...)", lost.sum(),
                 graph.origins[r] + 1, c + 1)  # fmt: skip
    rows, dests = np.nonzero(pos & ~lost)  # row-major: sorted by origin, then destination
    problem = {
        "sources": sources,
        "od_start": np.searchsorted(rows, np.arange(sources.size + 1)).astype(np.int64),
        "od_dest": dests.astype(np.int64),
        "od_demand": _arr(graph.od[rows, dests], np.float64),
        "out_start": out_start,
        "out_link": out_link,
        "tail": tail,
        "head": head,
        "t0": t0,
        "b": _arr(network.b, np.float64),
        "power": _arr(network.power, np.float64),
        "cap": _arr(network.capacity, np.float64),
        "fixed": _arr(fixed, np.float64),
        "n_vertices": nv,
    }
    return problem, sources[rows] * nv + dests


def _topology(graph: _Graph) -> str:
    """Fingerprint of the graph's links (tails with zone copies, heads) for warm starts."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for arr in (graph.tail, graph.head):
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _warm_paths(
    warm: AssignmentResult | None, keys: IntArray, demand: FloatArray, topology: str
) -> tuple[IntArray, FloatArray, IntArray, IntArray, FloatArray, IntArray]:
    """Map this run's pairs onto a warm state: ``(warm pair or -1, scale, warm arrays...)``."""
    state = warm.state if warm is not None else None
    none = np.full(keys.size, -1, dtype=np.int64)
    empty_i = np.zeros(0, dtype=np.int64)
    if not isinstance(state, GpState) or state.topology != topology:
        if warm is not None:
            log.info("warm start has no path sets for this network: starting cold")
        return none, np.ones(keys.size), empty_i, empty_i, np.zeros(0), empty_i
    if state.od_key.size == 0:  # the warm run had no pair with a path
        return none, np.ones(keys.size), empty_i, empty_i, np.zeros(0), empty_i
    at = np.clip(np.searchsorted(state.od_key, keys), 0, state.od_key.size - 1)
    found = state.od_key[at] == keys
    widx = np.where(found, at, -1).astype(np.int64)
    scale = np.ones(keys.size)
    wd = state.od_demand[at[found]]
    scale[found] = np.where(wd > 0, demand[found] / np.where(wd > 0, wd, 1.0), 0.0)
    return (
        widx,
        scale,
        _arr(state.paths_per_od, np.int64),
        _arr(state.path_length, np.int64),
        _arr(state.path_flow, np.float64),
        _arr(state.links, np.int64),
    )


def _assign_gp(
    network: TntpNetwork,
    demand: TntpDemand,
    relative_gap: float,
    max_iterations: int,
    fixed: FloatArray,
    time_limit_s: float | None,
    closed: NDArray[np.bool_] | None,
    warm_start: AssignmentResult | None,
    progress: Callable[[float], None] | None,
    cancelled: Callable[[], bool] | None,
    inner: int,
) -> AssignmentResult:
    """Path-based gradient projection (see :mod:`twin_app.engines.traffic_gp`)."""
    from twin_app.engines import traffic_gp as kern

    t_start = time.perf_counter()
    graph = _Graph(network, demand, closed)
    p, keys = _gp_problem(network, graph, fixed)
    topology = _topology(graph)
    widx, scale, w_np, w_len, w_flow, w_links = _warm_paths(
        warm_start, keys, p["od_demand"], topology
    )
    closed_mask = (
        np.zeros(network.n_links, dtype=np.bool_) if closed is None else _arr(closed, np.bool_)
    )
    common = (
        p["sources"], p["od_start"], p["od_dest"], p["od_demand"], p["out_start"],
        p["out_link"], p["tail"], p["head"], p["t0"], p["b"], p["power"], p["cap"],
        p["fixed"], p["n_vertices"],
    )  # fmt: skip
    gap, x, od_paths, od_np, pool, off, length, flow, counts = kern.start(
        *common, widx, scale, w_np, w_len, w_flow, w_links, closed_mask, inner, _GP_INNER_RATIO
    )
    gap0 = gap
    done = 0.0  # progress never goes back
    it = 0
    while True:
        if cancelled is not None and cancelled():
            raise Cancelled(f"traffic assignment on {network.source or 'network'} cancelled")
        if progress is not None:
            done = max(done, _progress_fraction(gap0, gap, relative_gap, it, max_iterations))
            progress(done)
        if gap <= relative_gap or it >= max_iterations:
            break
        if time_limit_s is not None and time.perf_counter() - t_start > time_limit_s:
            break
        it += 1
        gap, od_paths, pool, off, length, flow = kern.iterate(
            *common,
            inner,
            _GP_INNER_RATIO,
            gap,
            x,
            od_paths,
            od_np,
            pool,
            off,
            length,
            flow,
            counts,
        )
    per_od, plen, pflow, plinks = kern.export(od_paths, od_np, pool, off, length, flow)
    state = GpState(
        n_links=network.n_links,
        n_vertices=graph.n_vertices,
        topology=topology,
        od_key=keys.astype(np.int64),
        od_demand=p["od_demand"],
        paths_per_od=per_od,
        path_length=plen,
        path_flow=pflow,
        links=plinks,
    )
    elapsed = time.perf_counter() - t_start
    log.info("traffic assignment (gp): %d iterations, gap %.3g, %.3f s", it, gap, elapsed)
    return _finish(
        network,
        np.asarray(x, dtype=np.float64),
        fixed,
        closed,
        iterations=it,
        relative_gap=float(gap),
        converged=bool(gap <= relative_gap),
        elapsed_s=elapsed,
        od_pairs_disconnected=graph.disconnected,
        demand_disconnected=graph.disconnected_demand,
        state=state,
    )


def compile_solver() -> float:
    """Compile (or load from numba's disk cache) the GP kernels; returns the seconds it took.

    The first call in a process pays this once; :func:`assign` with ``method="gp"`` calls the
    same kernels, so benchmarks call this first to report compilation separately.
    """
    t_start = time.perf_counter()
    one = np.ones(2)
    net = TntpNetwork(
        init_node=np.array([0, 1]),
        term_node=np.array([1, 0]),
        capacity=one,
        length=one,
        free_flow_time=one,
        b=np.full(2, 0.15),
        power=np.full(2, 4.0),
        speed=one,
        toll=np.zeros(2),
        link_type=np.ones(2, dtype=np.int64),
        n_zones=2,
        n_nodes=2,
        first_thru_node=0,
    )
    base = assign(net, TntpDemand(od=np.array([[0.0, 1.0], [1.0, 0.0]])), method="gp")
    assign(net, TntpDemand(od=np.array([[0.0, 1.0], [1.0, 0.0]])), warm_start=base)
    return time.perf_counter() - t_start


def assign(
    network: TntpNetwork,
    demand: TntpDemand,
    relative_gap: float = 1e-5,
    max_iterations: int = 2000,
    distance_weight: float = 0.0,
    toll_weight: float = 0.0,
    time_limit_s: float | None = None,
    method: str = "gp",
    *,
    closed: NDArray[np.bool_] | None = None,
    warm_start: AssignmentResult | None = None,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> AssignmentResult:
    """User-equilibrium assignment (see the module docstring for the methods and formulas).

    Parameters
    ----------
    network, demand
        From :func:`twin_app.io.tntp.read_net` / :func:`~twin_app.io.tntp.read_trips`; not
        modified.
    relative_gap
        Stop when the relative gap is at or below this.
    max_iterations
        Stop after this many iterations.
    distance_weight, toll_weight
        Generalised cost ``t + distance_weight * length + toll_weight * toll``.
    time_limit_s
        Optional wall-clock limit.
    method
        ``"gp"`` (path-based gradient projection, Jayakrishnan et al. 1994; default),
        ``"bfw"`` (bi-conjugate), ``"cfw"`` (conjugate) or ``"fw"`` (plain Frank-Wolfe), the
        last three from Mitradjieva & Lindberg (2013).
    closed
        Boolean mask per link: links closed by an intervention. No path uses them, their flow is
        0 and their ``time`` and ``cost`` are NaN. OD pairs they cut off are counted in
        ``od_pairs_disconnected`` / ``demand_disconnected``.
    warm_start
        A previous result on the same links (possibly another ``closed`` mask, or demand) to
        start from. GP re-uses its path sets (``state``; pairs' path flows scaled to this
        demand, paths through closed links dropped and their flow moved to the new shortest
        path); without a GP state it starts cold. Frank-Wolfe starts from its flows only where
        they are feasible here (no flow on a link closed now, the same pairs cut off).
    progress
        Called with a fraction 0..1 at most once per iteration.
    cancelled
        Checked once per iteration; when it returns true, :class:`~twin_app.errors.Cancelled`
        is raised.

    Returns
    -------
    AssignmentResult
    """
    if method not in ("gp", "bfw", "cfw", "fw"):
        raise ValueError(f"unknown assignment method {method!r}")
    closed = _check_closed(network, closed)
    fixed = distance_weight * network.length + toll_weight * network.toll
    if method == "gp":
        return _assign_gp(
            network, demand, relative_gap, max_iterations, fixed, time_limit_s, closed,
            warm_start, progress, cancelled, _GP_INNER,
        )  # fmt: skip
    t_start = time.perf_counter()
    graph = _Graph(network, demand, closed)
    x, _ = graph.all_or_nothing(network.free_flow_time + fixed)
    if warm_start is not None:
        w = np.asarray(warm_start.flow, dtype=np.float64)
        if (
            w.shape == x.shape
            and (closed is None or not np.any(w[closed] > 0.0))
            and warm_start.od_pairs_disconnected == graph.disconnected
            and warm_start.demand_disconnected == graph.disconnected_demand
        ):
            x = w.copy()
        else:
            log.info("warm start not feasible for this closure: starting cold")
    s_prev: FloatArray | None = None
    s_prev2: FloatArray | None = None
    prev_step = 1.0
    gap = np.inf
    gap0 = np.inf
    done = 0.0  # progress never goes back
    it = 0
    while True:
        if cancelled is not None and cancelled():
            raise Cancelled(f"traffic assignment on {network.source or 'network'} cancelled")
        cost = bpr_time(network, x) + fixed
        y, sptt = graph.all_or_nothing(cost)
        tsc = float(np.dot(cost[graph.open], x[graph.open]))
        gap = (tsc - sptt) / tsc if tsc > 0 else 0.0
        if it == 0:
            gap0 = gap
        if progress is not None:
            done = max(done, _progress_fraction(gap0, gap, relative_gap, it, max_iterations))
            progress(done)
        if gap <= relative_gap or it >= max_iterations:
            break
        if time_limit_s is not None and time.perf_counter() - t_start > time_limit_s:
            break
        it += 1
        s = _direction(network, x, y, s_prev, s_prev2, prev_step, method)
        step = _line_search(network, fixed, x, s - x)
        x = x + step * (s - x)
        s_prev2, s_prev, prev_step = s_prev, s, step
    elapsed = time.perf_counter() - t_start
    log.info("traffic assignment: %d iterations, relative gap %.3g, %.2f s", it, gap, elapsed)
    return _finish(
        network,
        x,
        fixed,
        closed,
        iterations=it,
        relative_gap=float(gap),
        converged=bool(gap <= relative_gap),
        elapsed_s=elapsed,
        od_pairs_disconnected=graph.disconnected,
        demand_disconnected=graph.disconnected_demand,
    )


def kpis(
    network: TntpNetwork,
    result: AssignmentResult,
    time_unit_h: float,
    length_unit_km: float,
) -> dict[str, tuple[float, str]]:
    """Named KPIs with units, from an assignment on ``network``.

    The TNTP files do not carry their units, so the caller states them: ``time_unit_h`` hours per
    file time unit (Anaheim minutes: 1/60; Sioux Falls 0.01 h: 0.01) and ``length_unit_km``
    kilometres per file length unit (Anaheim feet: 0.0003048).

    Returns
    -------
    dict
        name -> (value, unit)::

            tstt_veh_h            sum x_a t_a(x_a) * time_unit_h
            vkt_km                sum x_a length_a * length_unit_km
            mean_speed_kmh        vkt_km / tstt_veh_h
            delay_veh_h           sum x_a (t_a(x_a) - t0_a) * time_unit_h
            relative_gap          as in the result
            od_pairs_disconnected OD pairs with demand and no path
            links_over_capacity   links with x_a > capacity_a
    """
    # Closed links carry no flow and have NaN time: they count for nothing.
    used = np.isfinite(result.time)
    x = np.where(used, result.flow, 0.0)
    t = np.where(used, result.time, 0.0)
    tstt = float(np.dot(x, t)) * time_unit_h
    vkt = float(np.dot(x, network.length)) * length_unit_km
    delay = float(np.dot(x, np.where(used, t - network.free_flow_time, 0.0))) * time_unit_h
    return {
        "tstt_veh_h": (tstt, "veh*h"),
        "vkt_km": (vkt, "veh*km"),
        "mean_speed_kmh": (vkt / tstt if tstt > 0 else 0.0, "km/h"),
        "delay_veh_h": (delay, "veh*h"),
        "relative_gap": (result.relative_gap, "1"),
        "od_pairs_disconnected": (float(result.od_pairs_disconnected), "count"),
        "links_over_capacity": (float(np.count_nonzero(x > network.capacity)), "count"),
    }
