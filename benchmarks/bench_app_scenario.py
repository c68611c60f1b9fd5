"""A road closure on the sample twin, headless through the application core, as the app runs it.

    python benchmarks/bench_app_scenario.py [--json] [--roads N]

The sample twin (City of London: 3,075 OSM roads, 2,149 buildings, the D-Town water network)
is opened in a :class:`~twin_app.session.Session`. A road is closed through
:meth:`~twin_app.session.Session.close_roads_at` (a selection, as a click makes it), then the
clock runs from Run to the recoloured road layer and the KPI table:
:meth:`~twin_app.session.Session.run_scenario` (the worker's part) and
:meth:`~twin_app.session.Session.show_result` (the GUI thread's part: per-segment flow and
flow-change columns written into the comparison's result layers, KPI rows).

Reported:
- ``app_close_road_cold_s``: the first run in the process (traffic model from its disk cache,
  baseline equilibrium solved, compiled solver loaded), St Martin's Le Grand closed
- ``app_close_road_s``: the median over N other closures (the N busiest roads of the baseline,
  each the only intervention) after the first run, as in the app: the baseline comes from the
  session's cache, the scenario is solved warm-started from it. Target <= 1 s
- ``app_close_road_max_s``: the slowest of those
- ``app_scenario_solve_s``: the floor, the median warm-started scenario assignment alone
  (:func:`twin_app.scenarios.run.assign_model`) of the same closures
- ``app_naive_s``: the naive way, :func:`twin_app.scenarios.run.run_scenario` solving baseline
  and scenario from scratch for one closure, and ``app_naive_ratio`` = naive / app
- ``app_show_ms``: the median GUI-thread part (show_result)
- ``app_close_road_render_s`` (with ``--render``): the same warm closures with the scenario
  side of the comparison drawn offscreen (1920x1080, the render Viewer the compare view uses),
  up to the recoloured frame: run + show + render

:func:`app_figures` returns the same figures for ``bench_scenarios.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit

#: The shipped road closure's way (a one-way street).
FIRST_WAY = "way/4255394"


def app_figures(n_roads: int = 5, render: bool = False) -> dict[str, float]:
    """Open the sample twin, close roads through the core and time Run -> recoloured roads + KPIs.

    Parameters
    ----------
    n_roads
        Warm closures timed after the first (cold) one.
    render
        Also draw the comparison's scenario side offscreen and time to the recoloured frame.

    Returns
    -------
    dict
        See the module docstring.
    """
    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.scenarios.run import assign_model, run_scenario
    from twin_app.session import Selection, Session

    session = Session()
    session.add_twin(session.open_twin(SAMPLE_DIR), describe=False)
    roads = next(x for x in session.layers if x.kind == "roads")
    fs = roads.feature_set()
    assert fs is not None
    ids = fs.ids.astype(str)

    def close(way: str) -> None:
        session.new_scenario(f"Close {way}")
        session.close_roads_at(Selection(roads.uid, (int(np.flatnonzero(ids == way)[0]),)))

    def run_and_show() -> tuple[float, float, Any]:
        t0 = time.perf_counter()
        result = session.run_scenario()
        t1 = time.perf_counter()
        cmp = session.show_result(result)
        t2 = time.perf_counter()
        layer = cmp.scenario.results[roads.uid]
        assert np.isfinite(layer.feature_values("flow_delta_veh_h")).any()
        assert session.scenario_state.kpis
        return t2 - t0, t2 - t1, result

    close(FIRST_WAY)
    cold_s, _, first = run_and_show()
    assert not first.extra["traffic_baseline_cached"]
    viewer = None
    if render:
        from twin_app.render.plotter import offscreen_plotter
        from twin_app.render.viewer import Viewer

        cmp = session.scenario_state.comparison
        viewer = Viewer(cmp.scenario, offscreen_plotter(1920, 1080))
        # pyvista renders nothing before its first show or screenshot
        viewer.scene.screenshot()

    # The busiest drivable roads of the baseline, each closed on its own.
    links = first.links
    assert links is not None
    flow = links.groupby("segment_row")["flow_baseline"].max()
    flow = flow[flow.index >= 0].sort_values(ascending=False)
    ways = [ids[r] for r in flow.index if ids[r] != FIRST_WAY][:n_roads]
    totals, shows, solves, drawn = [], [], [], []
    for way in ways:
        close(way)
        t0 = time.perf_counter()
        total, show, result = run_and_show()
        if viewer is not None:
            viewer.scene.render()
            drawn.append(time.perf_counter() - t0)
        assert result.extra["traffic_baseline_cached"]
        totals.append(total)
        shows.append(show)
        _, base, _ = session.baselines.traffic(session.scenario)
        scen_model = result.extra["traffic_model_scenario"]
        t0 = time.perf_counter()
        assign_model(scen_model, session.scenario, base)
        solves.append(time.perf_counter() - t0)

    close(FIRST_WAY)
    t0 = time.perf_counter()
    run_scenario(session.scenario)
    naive_s = time.perf_counter() - t0
    app_s = statistics.median(totals)
    extra = {"app_close_road_render_s": statistics.median(drawn)} if drawn else {}
    if viewer is not None:
        viewer.close()
    return {
        "app_close_road_cold_s": cold_s,
        "app_close_road_s": app_s,
        "app_close_road_max_s": max(totals),
        "app_scenario_solve_s": statistics.median(solves),
        "app_naive_s": naive_s,
        "app_naive_ratio": naive_s / app_s,
        "app_show_ms": 1000.0 * statistics.median(shows),
        **extra,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--roads", type=int, default=5, help="warm closures to time (default 5)")
    p.add_argument("--render", action="store_true", help="also time the offscreen redraw")
    args = p.parse_args()
    emit(app_figures(args.roads, args.render), args.json)


if __name__ == "__main__":
    main()
