"""User-equilibrium assignment on the TNTP Sioux Falls and Anaheim networks.

    python benchmarks/bench_traffic.py [--json]

Reported per network: <net>_s and <net>_iterations (bi-conjugate Frank-Wolfe to relative gap
1e-5), <net>_cfw_s / <net>_cfw_iterations (conjugate FW, same gap), <net>_aon_ms (one
all-or-nothing pass of the engine: dijkstra from all origins plus the vectorised tree loading),
<net>_aon_naive_ms (the naive way: the same dijkstra, then a Python walk up the predecessor tree
per OD pair), and <net>_dijkstra_ms (the bare floor: scipy's dijkstra alone). Reference:
aequilibrae 1.7.2 BFW to 1e-5 takes 1.96 s / 279 iterations on Sioux Falls and 0.39 s / 37 on
Anaheim on this kind of machine (DESIGN.md section 8).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, emit, timed

from twin_app.engines.traffic import _Graph, assign
from twin_app.io.tntp import read_net, read_trips


def _naive_aon(graph: _Graph, cost: np.ndarray) -> np.ndarray:
    _dist, pred, pairs, link_ids = graph.shortest(cost)
    nv = graph.n_vertices
    key = {int(p): int(i) for p, i in zip(pairs, link_ids, strict=True)}
    flow = np.zeros(graph.n_links)
    for r in range(graph.od.shape[0]):
        for dest in np.flatnonzero(graph.od[r] > 0):
            node = int(dest)
            while pred[r, node] >= 0:
                p = int(pred[r, node])
                flow[key[p * nv + node]] += graph.od[r, dest]
                node = p
    return flow


def _bench(name: str) -> dict[str, Any]:
    base = SHARED / "traffic" / "tntp" / name / name
    net = read_net(f"{base}_net.tntp")
    demand = read_trips(f"{base}_trips.tntp")
    key = name.lower()
    out: dict[str, Any] = {}
    t, res = timed(lambda: assign(net, demand, relative_gap=1e-5), repeat=3)
    out[f"{key}_s"] = t
    out[f"{key}_iterations"] = res.iterations
    out[f"{key}_gap"] = res.relative_gap
    t, res = timed(lambda: assign(net, demand, relative_gap=1e-5, method="cfw"))
    out[f"{key}_cfw_s"] = t
    out[f"{key}_cfw_iterations"] = res.iterations
    graph = _Graph(net, demand)
    cost = np.asarray(net.free_flow_time, dtype=np.float64)
    t, fast = timed(lambda: graph.all_or_nothing(cost)[0], repeat=20)
    out[f"{key}_aon_ms"] = 1000 * t
    t, slow = timed(lambda: _naive_aon(graph, cost), repeat=3)
    out[f"{key}_aon_naive_ms"] = 1000 * t
    out[f"{key}_aon_naive_ratio"] = out[f"{key}_aon_naive_ms"] / out[f"{key}_aon_ms"]
    assert np.allclose(fast, slow)
    nv = graph.n_vertices
    g = csr_matrix((cost, (graph.tail, graph.head)), shape=(nv, nv))
    t, _ = timed(lambda: dijkstra(g, indices=graph.sources, return_predecessors=True), 20)
    out[f"{key}_dijkstra_ms"] = 1000 * t
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    for name in ("SiouxFalls", "Anaheim"):
        out.update(_bench(name))
    emit(out, args.json)


if __name__ == "__main__":
    main()
