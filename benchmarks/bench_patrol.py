"""Patrol robots on the sample twin's streets: postman tour and a day of KPIs.

    python benchmarks/bench_patrol.py [--json] [--routes K] [--naive-timeout S]

Figures:

``graph_s``, ``edges``, ``odd_nodes``, ``street_km``
    the patrol street graph of ``twin_app/city_models/city_of_london`` (road layer read as the
    app reads it, steps/motorways/unbuilt roads left out, largest component);
``tour_s``, ``tour_km``, ``deadhead_km``, ``deadhead_bound_km``, ``matching``
    :func:`twin_app.engines.patrol.postman_tour` (weighted Chinese postman); the bound is the
    lower bound on the optimal deadhead from the assignment relaxation;
``naive_tour_s``, ``naive_tour_km``, ``tour_naive_ratio``
    networkx's ``eulerize`` (pairs odd nodes by hop count, blossom on the complete graph in
    pure Python) + ``eulerian_circuit``, in a subprocess killed after ``--naive-timeout``
    seconds (then ``naive_tour_s`` is that timeout and the ratio a lower bound,
    ``naive_tour_timed_out`` true); also on Sleeping Giant (``sg_*``), where it finishes;
``kpi_day_s``
    ``K`` FHK routes, one robot each: :func:`simulate_patrol` (worst revisit, coverage) plus
    :func:`mean_response_min` at 1-minute steps over 24 h; ``worst_revisit_min``,
    ``coverage_60min_pct``, ``mean_response_min`` its values;
``naive_kpi_day_s``, ``kpi_naive_ratio``
    the same response KPI the naive way: per time step, robots snapped to their nearest node
    and ``networkx.multi_source_dijkstra_path_length`` to every node; timed on 30 steps and
    scaled to the 1,440 of a day (``naive_kpi_steps_timed``).

Measured on the 2-core development machine (5 December 2026, 20 routes, 1.2 m/s, 8 h run,
6 h charge): 4,152 street edges (109 km), 2,192 odd nodes; tour 6.5 s, 150.3 km, deadhead
41.4 km (lower bound 34.5 km; networkx's blossom on a 12-nearest-neighbour graph reaches
40.7 km in 46 s); eulerize did not finish in 60 s (ratio > 9); Sleeping Giant 33.25 mi in
0.02 s against eulerize's 33.81 mi; a day of KPIs 2.8 s against 7.7 s for the node-snapped
networkx response alone (ratio 2.8); worst revisit 144 min (one lap of the longest route,
10.4 km), mean response 3.9 min.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import ROOT, emit

from twin_app.engines import patrol as P

TWIN = ROOT / "twin_app" / "city_models" / "city_of_london"
SG = ROOT / "tests" / "data" / "postman" / "edgelist_sleeping_giant.csv"


def twin_street_graph() -> P.StreetGraph:
    """The sample twin's patrol street graph (as the app loads the road layer)."""
    from twin_app.io.manifest import read_manifest
    from twin_app.scenarios.twin_traffic import _load_sets

    roads, _ = _load_sets(read_manifest(TWIN).paths(), TWIN.name)
    lines = roads.lines
    g, _ = P.street_graph_from_lines(
        lines.coords[:, :2],
        lines.offsets,
        lines.line_feature(),
        roads.table["class"].astype(str).to_numpy(),
        roads.table["id"].astype(str).to_numpy(),
    )
    return g


def _naive_tour(tail: list[int], head: list[int], length: list[float], q: Any) -> None:
    import networkx as nx

    t = time.perf_counter()
    g = nx.MultiGraph()
    for a, b, w in zip(tail, head, length, strict=True):
        g.add_edge(a, b, length=w)
    e = nx.eulerize(g)
    total = sum(d.get("length", 0.0) for _, _, _, d in _with_lengths(g, e))
    list(nx.eulerian_circuit(e))
    q.put((time.perf_counter() - t, total))


def _with_lengths(g: Any, e: Any) -> Any:
    # eulerize adds copies without the length attribute: take the shortest original edge
    for u, v, k, d in e.edges(keys=True, data=True):
        if "length" in d:
            yield u, v, k, d
        else:
            yield u, v, k, {"length": min(x["length"] for x in g[u][v].values())}


def naive_tour(g: P.StreetGraph, timeout_s: float) -> tuple[float, float, bool]:
    """Seconds and length of the eulerize tour, in a subprocess with a time limit."""
    q: Any = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(
        target=_naive_tour, args=(g.tail.tolist(), g.head.tolist(), g.length_m.tolist(), q)
    )
    proc.start()
    proc.join(timeout_s)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return timeout_s, float("nan"), True
    secs, total = q.get()
    return float(secs), float(total), False


def sleeping_giant() -> P.StreetGraph:
    with open(SG, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["required"].strip() == "1"]
    names = sorted({r["node1"] for r in rows} | {r["node2"] for r in rows})
    idx = {n: i for i, n in enumerate(names)}
    return P.street_graph(
        [idx[r["node1"]] for r in rows],
        [idx[r["node2"]] for r in rows],
        [float(r["distance"]) for r in rows],
    )


def naive_response_s(g: P.StreetGraph, routes: list[P.Walk], fleet: P.Fleet, steps: int) -> float:
    """Seconds for ``steps`` time samples of the naive response computation."""
    import networkx as nx

    nxg = nx.Graph()
    for a, b, w in zip(g.tail.tolist(), g.head.tolist(), g.length_m.tolist(), strict=True):
        if not nxg.has_edge(a, b) or nxg[a][b]["length"] > w:
            nxg.add_edge(a, b, length=w)
    times = np.arange(steps) * 60.0
    edge, off, running, _ = P.robot_positions(g, routes, fleet, times)
    t = time.perf_counter()
    for i in range(steps):
        near = np.where(off[i] < g.length_m[edge[i]] / 2, g.tail[edge[i]], g.head[edge[i]])[
            running[i]
        ]
        d = nx.multi_source_dijkstra_path_length(nxg, set(near.tolist()), weight="length")
        sum(d.values())
    return time.perf_counter() - t


def patrol_figures(k: int, naive_timeout_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = time.perf_counter()
    g = twin_street_graph()
    out["graph_s"] = time.perf_counter() - t
    out["edges"] = g.n_edges
    out["street_km"] = g.total_m / 1000
    t = time.perf_counter()
    tour = P.postman_tour(g)
    out["tour_s"] = time.perf_counter() - t
    out["odd_nodes"] = tour.n_odd
    out["matching"] = tour.matching
    out["tour_km"] = tour.length_m / 1000
    out["deadhead_km"] = tour.deadhead_m / 1000
    out["deadhead_bound_km"] = tour.deadhead_bound_m / 1000

    sg = sleeping_giant()
    t = time.perf_counter()
    sg_tour = P.chinese_postman(sg)
    out["sg_tour_s"] = time.perf_counter() - t
    out["sg_tour_mi"] = sg_tour.length_m
    secs, total, _ = naive_tour(sg, 120.0)
    out["sg_naive_tour_s"] = secs
    out["sg_naive_tour_mi"] = total

    secs, total, timed_out = naive_tour(g, naive_timeout_s)
    out["naive_tour_s"] = secs
    out["naive_tour_km"] = total / 1000
    out["naive_tour_timed_out"] = timed_out
    out["tour_naive_ratio"] = secs / out["tour_s"]

    fleet = P.Fleet()
    routes = P.split_tour(g, tour.walk, k)
    t = time.perf_counter()
    vis = P.simulate_patrol(g, routes, fleet, horizon_h=24.0)
    resp = P.mean_response_min(g, routes, fleet, horizon_h=24.0, step_min=1.0)
    out["kpi_day_s"] = time.perf_counter() - t
    out["routes"] = k
    out["robots"] = vis.n_robots
    out["longest_route_km"] = max(r.length_m for r in routes) / 1000
    out["worst_revisit_min"] = P.worst_revisit_min(vis)
    out["coverage_60min_pct"] = P.street_coverage_pct(vis, 60.0)
    out["mean_response_min"] = resp
    steps = 30
    secs = naive_response_s(g, routes, fleet, steps)
    out["naive_kpi_steps_timed"] = steps
    out["naive_kpi_day_s"] = secs * 1440 / steps
    out["kpi_naive_ratio"] = out["naive_kpi_day_s"] / out["kpi_day_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--routes", type=int, default=20)
    ap.add_argument("--naive-timeout", type=float, default=60.0)
    args = ap.parse_args()
    emit(patrol_figures(args.routes, args.naive_timeout), args.json)


if __name__ == "__main__":
    main()
