"""Compiled kernels of the path-based gradient projection assignment (see :mod:`.traffic`).

Algorithm: R. Jayakrishnan, W. K. Tsai, J. N. Prashker and S. Rajadhyaksha, "A faster
path-based algorithm for traffic assignment", *Transportation Research Record* 1443 (1994),
pp. 75-83, with the Gauss-Seidel order and the repeated re-equilibration of the path sets
without new shortest paths of the improved GP (iGP: J. Xie, Y. Nie and X. Liu, "A greedy path-
based algorithm for traffic assignment", *Transportation Research Record* 2672(48), 2018,
pp. 36-44).

Per OD pair with path set K and the cheapest path ``k*`` of the set, each other path k moves::

    delta_k = min(f_k, (C_k - C_k*) / s_k),   s_k = sum_{a in k (+) k*} dt_a/dv (x_a)

from k to k* (a Newton step on the path-flow form of Beckmann's program; ``(+)`` is the
symmetric difference: links on both paths keep their flow). Link flows and costs are updated
after every shift (Gauss-Seidel). An outer iteration shifts flows over all path sets, pair by
pair, for one to ``inner + 1`` passes (until the path sets' own gap is below ``inner_ratio``
times the last measured gap), recomputes the link flows from the path flows, then runs one
Dijkstra per origin on the final costs, which gives the relative gap and, as in iGP, each pair's
shortest path, added to its set for the next iteration (column generation). Shortest paths:
Dijkstra with a binary heap (lazy deletion) over the open links in CSR order, stopping once the
origin's destinations are settled.

Hot loops call helpers with scalar arguments only, or once per range of pairs: numba counts
references on every array passed to a compiled function, which cost ten times the arithmetic
of a per-link BPR update.

Everything here is compiled by numba with ``cache=True`` (the machine code is kept on disk next
to this file, or in ``NUMBA_CACHE_DIR``). Arrays only, no Python objects: the caller
(:func:`twin_app.engines.traffic.assign`) owns the data and the loop over iterations, so that
progress and cancel stay in Python. Paths live in one pool of link ids (``pool``); path ``k``
is ``pool[off[k] : off[k] + length[k]]``, stored from the destination back to the origin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_INF = np.inf


@njit(cache=True, nogil=True)
def _bpr(v: float, t0: float, b: float, p: float, cap: float, fixed: float) -> Any:
    """BPR cost ``fixed + t0 (1 + b (v/c)^p)`` and derivative ``t0 b p (v/c)^(p-1) / c``.

    Scalars only: a call with array arguments pays reference counting on every array, which
    costs more than the arithmetic in these loops.
    """
    if v < 0.0:
        v = 0.0
    r = v / cap
    if p == 4.0:
        r3 = r * r * r
        rp = r3 * r
    else:
        r3 = r ** (p - 1.0) if p >= 1.0 else 0.0
        rp = r**p
    return fixed + t0 * (1.0 + b * rp), t0 * b * p * r3 / cap


@njit(cache=True, nogil=True)
def update_all_links(
    x: Any, cost: Any, der: Any, t0: Any, b: Any, power: Any, cap: Any, fixed: Any
) -> None:
    """Costs and derivatives of every link at flows ``x`` (in place)."""
    for a in range(x.size):
        cost[a], der[a] = _bpr(x[a], t0[a], b[a], power[a], cap[a], fixed[a])


@njit(cache=True, nogil=True)
def _dijkstra(
    src: int,
    out_start: Any,
    out_link: Any,
    head: Any,
    cost: Any,
    dist: Any,
    pred: Any,
    done: Any,
    heap_d: Any,
    heap_v: Any,
    tmark: Any,
    stamp: int,
    n_targets: int,
) -> None:
    """Shortest-path tree from ``src`` (binary heap, lazy deletion).

    ``pred[v]`` is the link into v on the tree (-1 at the source and where unreached). Stops
    once the ``n_targets`` vertices with ``tmark == stamp`` are settled.
    """
    dist[:] = _INF
    pred[:] = -1
    done[:] = False
    dist[src] = 0.0
    heap_d[0] = 0.0
    heap_v[0] = src
    size = 1
    left = n_targets
    while size > 0:
        d = heap_d[0]
        v = heap_v[0]
        # pop: move the last entry to the root and sift it down
        size -= 1
        if size > 0:
            ld = heap_d[size]
            lv = heap_v[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                    c += 1
                if heap_d[c] < ld:
                    heap_d[i] = heap_d[c]
                    heap_v[i] = heap_v[c]
                    i = c
                else:
                    break
            heap_d[i] = ld
            heap_v[i] = lv
        if done[v]:
            continue
        done[v] = True
        if tmark[v] == stamp:
            left -= 1
            if left == 0:
                break
        for e in range(out_start[v], out_start[v + 1]):
            a = out_link[e]
            w = head[a]
            nd = d + cost[a]
            if nd < dist[w]:
                dist[w] = nd
                pred[w] = a
                # push: sift up
                i = size
                size += 1
                while i > 0:
                    par = (i - 1) // 2
                    if heap_d[par] > nd:
                        heap_d[i] = heap_d[par]
                        heap_v[i] = heap_v[par]
                        i = par
                    else:
                        break
                heap_d[i] = nd
                heap_v[i] = w


@njit(cache=True, nogil=True)
def reachable(
    sources: Any, dests: Any, out_start: Any, out_link: Any, head: Any, n_vertices: int
) -> Any:
    """``(n_sources, dests.size)`` booleans: is there a path (breadth-first search)."""
    out = np.zeros((sources.size, dests.size), np.bool_)
    seen = np.zeros(n_vertices, np.int64)
    queue = np.empty(n_vertices, np.int64)
    for i in range(sources.size):
        stamp = i + 1
        seen[sources[i]] = stamp
        queue[0] = sources[i]
        lo, hi = 0, 1
        while lo < hi:
            v = queue[lo]
            lo += 1
            for e in range(out_start[v], out_start[v + 1]):
                w = head[out_link[e]]
                if seen[w] != stamp:
                    seen[w] = stamp
                    queue[hi] = w
                    hi += 1
        for j in range(dests.size):
            out[i, j] = seen[dests[j]] == stamp
    return out


@njit(cache=True, nogil=True)
def _equilibrate(
    lo: int,
    hi: int,
    od_paths: Any,
    od_np: Any,
    pool: Any,
    off: Any,
    length: Any,
    flow: Any,
    x: Any,
    cost: Any,
    der: Any,
    t0: Any,
    b: Any,
    power: Any,
    cap: Any,
    fixed: Any,
    mark_b: Any,
    mark_k: Any,
    stamps: Any,
) -> float:
    """Newton flow shifts of OD pairs ``lo .. hi-1`` towards their cheapest paths.

    Drops emptied paths. Returns the pairs' excess cost before the shifts,
    ``sum_od sum_k f_k (C_k - min_j C_j)`` over their path sets (the restricted gap's
    numerator). One call per range, not per pair: array arguments cost reference counting.
    """
    pc = np.empty(od_paths.shape[1])
    excess = 0.0
    for od in range(lo, hi):
        n = od_np[od]
        if n <= 1:
            continue
        best = 0
        cbest = _INF
        for j in range(n):
            k = od_paths[od, j]
            c = 0.0
            for i in range(off[k], off[k] + length[k]):
                c += cost[pool[i]]
            pc[j] = c
            if c < cbest:
                cbest = c
                best = j
        for j in range(n):
            excess += flow[od_paths[od, j]] * (pc[j] - cbest)
        kb = od_paths[od, best]
        stamps[0] += 1
        sb = stamps[0]
        for i in range(off[kb], off[kb] + length[kb]):
            mark_b[pool[i]] = sb
        for j in range(n):
            if j == best:
                continue
            k = od_paths[od, j]
            fk = flow[k]
            if fk <= 0.0:
                continue
            ck = 0.0
            for i in range(off[k], off[k] + length[k]):
                ck += cost[pool[i]]
            g = ck - cbest
            if g <= 0.0:
                continue
            stamps[1] += 1
            sk = stamps[1]
            s = 0.0
            for i in range(off[k], off[k] + length[k]):
                a = pool[i]
                mark_k[a] = sk
                if mark_b[a] != sb:
                    s += der[a]
            for i in range(off[kb], off[kb] + length[kb]):
                a = pool[i]
                if mark_k[a] != sk:
                    s += der[a]
            delta = fk
            if s > 0.0 and g / s < fk:
                delta = g / s
            for i in range(off[k], off[k] + length[k]):
                a = pool[i]
                if mark_b[a] != sb:
                    x[a] -= delta
                    cost[a], der[a] = _bpr(x[a], t0[a], b[a], power[a], cap[a], fixed[a])
            cbest = 0.0
            for i in range(off[kb], off[kb] + length[kb]):
                a = pool[i]
                if mark_k[a] != sk:
                    x[a] += delta
                    cost[a], der[a] = _bpr(x[a], t0[a], b[a], power[a], cap[a], fixed[a])
                cbest += cost[a]
            flow[k] = 0.0 if delta >= fk else fk - delta
            flow[kb] += delta
        # drop emptied paths (keeping the order of the others: deterministic)
        m = 0
        for j in range(n):
            k = od_paths[od, j]
            if flow[k] > 0.0 or k == kb:
                od_paths[od, m] = k
                m += 1
        od_np[od] = m
    return excess


@njit(cache=True, nogil=True)
def _add_path(
    od: int,
    buf: Any,
    n_links: int,
    od_paths: Any,
    od_np: Any,
    pool: Any,
    off: Any,
    length: Any,
    flow: Any,
    counts: Any,
) -> Any:
    """Index of the path ``buf[:n_links]`` in the set of ``od``, added if new.

    Returns ``(k, od_paths, pool, off, length, flow)``: arrays that had to grow are new.
    ``counts`` holds ``[pool entries used, paths used]``.
    """
    for j in range(od_np[od]):
        k = od_paths[od, j]
        if length[k] == n_links:
            same = True
            o = off[k]
            for i in range(n_links):
                if pool[o + i] != buf[i]:
                    same = False
                    break
            if same:
                return k, od_paths, pool, off, length, flow
    used, npaths = counts[0], counts[1]
    if used + n_links > pool.size:
        new_pool = np.empty(max(2 * pool.size, used + n_links), np.int64)
        new_pool[:used] = pool[:used]
        pool = new_pool
    if npaths == off.size:
        cap = 2 * off.size
        new_off = np.empty(cap, np.int64)
        new_len = np.empty(cap, np.int64)
        new_flow = np.empty(cap)
        new_off[:npaths] = off[:npaths]
        new_len[:npaths] = length[:npaths]
        new_flow[:npaths] = flow[:npaths]
        off, length, flow = new_off, new_len, new_flow
    if od_np[od] == od_paths.shape[1]:
        wider = np.empty((od_paths.shape[0], 2 * od_paths.shape[1]), np.int64)
        wider[:, : od_paths.shape[1]] = od_paths
        od_paths = wider
    pool[used : used + n_links] = buf[:n_links]
    off[npaths] = used
    length[npaths] = n_links
    flow[npaths] = 0.0
    od_paths[od, od_np[od]] = npaths
    od_np[od] += 1
    counts[0] = used + n_links
    counts[1] = npaths + 1
    return npaths, od_paths, pool, off, length, flow


@njit(cache=True, nogil=True)
def _tree_path(dest: int, pred: Any, tail: Any, buf: Any) -> int:
    """Links of the tree path into ``dest`` (from dest back to the source) into ``buf``."""
    n = 0
    v = dest
    while pred[v] >= 0:
        a = pred[v]
        buf[n] = a
        n += 1
        v = tail[a]
    return n


@njit(cache=True, nogil=True)
def link_flows(
    od_paths: Any, od_np: Any, pool: Any, off: Any, length: Any, flow: Any, x: Any
) -> None:
    """Link flows ``x`` (in place) as the sum of the path flows, in a fixed order."""
    x[:] = 0.0
    for od in range(od_np.size):
        for j in range(od_np[od]):
            k = od_paths[od, j]
            f = flow[k]
            for i in range(off[k], off[k] + length[k]):
                x[pool[i]] += f


@njit(cache=True, nogil=True)
def _measure(
    sources: Any,
    od_start: Any,
    od_dest: Any,
    od_demand: Any,
    out_start: Any,
    out_link: Any,
    tail: Any,
    head: Any,
    x: Any,
    cost: Any,
    od_paths: Any,
    od_np: Any,
    pool: Any,
    off: Any,
    length: Any,
    flow: Any,
    counts: Any,
) -> Any:
    """Relative gap ``(sum c x - sum q pi) / sum c x`` at the current costs, and columns.

    The same Dijkstra per origin also adds each pair's shortest path to its set (flow 0), for
    the next iteration's shifts: one shortest-path pass per iteration.
    Returns ``(gap, od_paths, pool, off, length, flow)`` (arrays that grew are new).
    """
    n_vertices = out_start.size - 1
    m = head.size
    dist = np.empty(n_vertices)
    pred = np.empty(n_vertices, np.int64)
    done = np.empty(n_vertices, np.bool_)
    heap_d = np.empty(m + 1)
    heap_v = np.empty(m + 1, np.int64)
    tmark = np.zeros(n_vertices, np.int64)
    buf = np.empty(max(n_vertices, 1), np.int64)
    tsc = 0.0
    for a in range(x.size):
        tsc += cost[a] * x[a]
    sptt = 0.0
    for oi in range(sources.size):
        lo, hi = od_start[oi], od_start[oi + 1]
        if hi == lo:
            continue
        for od in range(lo, hi):
            tmark[od_dest[od]] = oi + 1
        _dijkstra(
            sources[oi], out_start, out_link, head, cost, dist, pred, done, heap_d, heap_v,
            tmark, oi + 1, hi - lo,
        )  # fmt: skip
        for od in range(lo, hi):
            sptt += od_demand[od] * dist[od_dest[od]]
            n = _tree_path(od_dest[od], pred, tail, buf)
            _k, od_paths, pool, off, length, flow = _add_path(
                od, buf, n, od_paths, od_np, pool, off, length, flow, counts
            )
    gap = (tsc - sptt) / tsc if tsc > 0.0 else 0.0
    return gap, od_paths, pool, off, length, flow


@njit(cache=True, nogil=True)
def _reequilibrate(
    passes: int,
    ratio: float,
    ref_gap: float,
    od_paths: Any,
    od_np: Any,
    pool: Any,
    off: Any,
    length: Any,
    flow: Any,
    x: Any,
    cost: Any,
    der: Any,
    t0: Any,
    b: Any,
    power: Any,
    cap: Any,
    fixed: Any,
    mark_b: Any,
    mark_k: Any,
    stamps: Any,
) -> None:
    """Shift flows within the path sets (no new paths) for up to ``passes`` passes.

    Stops once the restricted gap ``sum_od excess / sum_a c_a x_a`` is at most ``ratio *
    ref_gap`` (``ref_gap < 0``: ``ratio`` times the first pass's restricted gap). These passes
    cost far less than the two Dijkstra passes of an outer iteration.
    """
    for r in range(passes):
        excess = _equilibrate(
            0, od_np.size, od_paths, od_np, pool, off, length, flow, x, cost, der,
            t0, b, power, cap, fixed, mark_b, mark_k, stamps,
        )  # fmt: skip
        tsc = 0.0
        for a in range(x.size):
            tsc += cost[a] * x[a]
        if tsc <= 0.0:
            break
        if r == 0 and ref_gap < 0.0:
            ref_gap = excess / tsc
        if excess <= ratio * ref_gap * tsc:
            break


@njit(cache=True, nogil=True)
def start(
    sources: Any,
    od_start: Any,
    od_dest: Any,
    od_demand: Any,
    out_start: Any,
    out_link: Any,
    tail: Any,
    head: Any,
    t0: Any,
    b: Any,
    power: Any,
    cap: Any,
    fixed: Any,
    n_vertices: int,
    warm_od: Any,
    warm_scale: Any,
    warm_np: Any,
    warm_len: Any,
    warm_flow: Any,
    warm_links: Any,
    closed: Any,
    inner: int,
    inner_ratio: float,
) -> Any:
    """Initial path sets and flows; returns the solver state and its relative gap.

    Pair ``od`` takes the paths of warm pair ``warm_od[od]`` (-1: none) that avoid ``closed``
    links, their flows times ``warm_scale[od]``; what is left of its demand (all of it when
    starting cold, the flow of dropped paths when warm) goes onto its shortest path at the
    current costs, origin by origin (incremental loading).
    """
    n_od = od_dest.size
    m = head.size
    # warm path offsets
    w_first = np.zeros(warm_np.size + 1, np.int64)
    for i in range(warm_np.size):
        w_first[i + 1] = w_first[i] + warm_np[i]
    w_off = np.zeros(warm_len.size + 1, np.int64)
    for k in range(warm_len.size):
        w_off[k + 1] = w_off[k] + warm_len[k]
    od_paths = np.empty((n_od, 4), np.int64)
    od_np = np.zeros(n_od, np.int64)
    pool = np.empty(max(64, warm_links.size + 16 * n_od), np.int64)
    off = np.empty(max(16, warm_len.size + n_od), np.int64)
    length = np.empty(off.size, np.int64)
    flow = np.empty(off.size)
    counts = np.zeros(2, np.int64)
    buf = np.empty(max(n_vertices, 1), np.int64)
    assigned = np.zeros(n_od)
    for od in range(n_od):
        w = warm_od[od]
        if w < 0:
            continue
        for k in range(w_first[w], w_first[w + 1]):
            ok = True
            n = warm_len[k]
            for i in range(n):
                a = warm_links[w_off[k] + i]
                buf[i] = a
                if closed[a]:
                    ok = False
                    break
            if not ok or warm_flow[k] <= 0.0:
                continue
            kk, od_paths, pool, off, length, flow = _add_path(
                od, buf, n, od_paths, od_np, pool, off, length, flow, counts
            )
            f = warm_flow[k] * warm_scale[od]
            flow[kk] += f
            assigned[od] += f
    x = np.zeros(m)
    cost = np.empty(m)
    der = np.empty(m)
    link_flows(od_paths, od_np, pool, off, length, flow, x)
    update_all_links(x, cost, der, t0, b, power, cap, fixed)
    dist = np.empty(n_vertices)
    pred = np.empty(n_vertices, np.int64)
    done = np.empty(n_vertices, np.bool_)
    heap_d = np.empty(m + 1)
    heap_v = np.empty(m + 1, np.int64)
    tmark = np.zeros(n_vertices, np.int64)
    stamps = np.zeros(3, np.int64)
    for oi in range(sources.size):
        lo, hi = od_start[oi], od_start[oi + 1]
        need = 0
        for od in range(lo, hi):
            if od_demand[od] - assigned[od] > 1e-12 * od_demand[od]:
                need += 1
        if need == 0:
            continue
        stamps[2] += 1
        for od in range(lo, hi):
            tmark[od_dest[od]] = stamps[2]
        _dijkstra(
            sources[oi], out_start, out_link, head, cost, dist, pred, done, heap_d, heap_v,
            tmark, stamps[2], hi - lo,
        )  # fmt: skip
        for od in range(lo, hi):
            rest = od_demand[od] - assigned[od]
            if rest <= 1e-12 * od_demand[od]:
                continue
            n = _tree_path(od_dest[od], pred, tail, buf)
            kk, od_paths, pool, off, length, flow = _add_path(
                od, buf, n, od_paths, od_np, pool, off, length, flow, counts
            )
            flow[kk] += rest
            for i in range(n):
                x[buf[i]] += rest
        # costs after this origin's loading (incremental loading)
        update_all_links(x, cost, der, t0, b, power, cap, fixed)
    link_flows(od_paths, od_np, pool, off, length, flow, x)
    update_all_links(x, cost, der, t0, b, power, cap, fixed)
    if warm_len.size > 0:
        # warm pairs that lost paths hold their kept paths and the new shortest one: spread
        # their flow over these before the first measure
        mark_b = np.zeros(m, np.int64)
        mark_k = np.zeros(m, np.int64)
        _reequilibrate(
            inner, inner_ratio, -1.0, od_paths, od_np, pool, off, length, flow, x, cost, der,
            t0, b, power, cap, fixed, mark_b, mark_k, stamps,
        )  # fmt: skip
        link_flows(od_paths, od_np, pool, off, length, flow, x)
        update_all_links(x, cost, der, t0, b, power, cap, fixed)
    gap, od_paths, pool, off, length, flow = _measure(
        sources, od_start, od_dest, od_demand, out_start, out_link, tail, head, x, cost,
        od_paths, od_np, pool, off, length, flow, counts,
    )  # fmt: skip
    return gap, x, od_paths, od_np, pool, off, length, flow, counts


@njit(cache=True, nogil=True)
def iterate(
    sources: Any,
    od_start: Any,
    od_dest: Any,
    od_demand: Any,
    out_start: Any,
    out_link: Any,
    tail: Any,
    head: Any,
    t0: Any,
    b: Any,
    power: Any,
    cap: Any,
    fixed: Any,
    n_vertices: int,
    inner: int,
    inner_ratio: float,
    last_gap: float,
    x: Any,
    od_paths: Any,
    od_np: Any,
    pool: Any,
    off: Any,
    length: Any,
    flow: Any,
    counts: Any,
) -> Any:
    """One outer iteration: shifts over the path sets (which the last gap measure extended
    by each pair's shortest path) for 1 to ``inner + 1`` passes, then the gap and new columns.
    """
    m = head.size
    cost = np.empty(m)
    der = np.empty(m)
    update_all_links(x, cost, der, t0, b, power, cap, fixed)
    mark_b = np.zeros(m, np.int64)
    mark_k = np.zeros(m, np.int64)
    stamps = np.zeros(3, np.int64)
    _reequilibrate(
        inner + 1, inner_ratio, last_gap, od_paths, od_np, pool, off, length, flow, x, cost,
        der, t0, b, power, cap, fixed, mark_b, mark_k, stamps,
    )  # fmt: skip
    # exact link flows from the paths (no drift from the incremental updates)
    link_flows(od_paths, od_np, pool, off, length, flow, x)
    update_all_links(x, cost, der, t0, b, power, cap, fixed)
    return _measure(
        sources, od_start, od_dest, od_demand, out_start, out_link, tail, head, x, cost,
        od_paths, od_np, pool, off, length, flow, counts,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def export(od_paths: Any, od_np: Any, pool: Any, off: Any, length: Any, flow: Any) -> Any:
    """Compact copy of the live paths: ``(paths per pair, path lengths, flows, links)``."""
    n_paths = 0
    n_links = 0
    for od in range(od_np.size):
        for j in range(od_np[od]):
            n_paths += 1
            n_links += length[od_paths[od, j]]
    out_len = np.empty(n_paths, np.int64)
    out_flow = np.empty(n_paths)
    out_links = np.empty(n_links, np.int64)
    p = 0
    q = 0
    for od in range(od_np.size):
        for j in range(od_np[od]):
            k = od_paths[od, j]
            out_len[p] = length[k]
            out_flow[p] = flow[k]
            for i in range(length[k]):
                out_links[q] = pool[off[k] + i]
                q += 1
            p += 1
    return od_np.copy(), out_len, out_flow, out_links
