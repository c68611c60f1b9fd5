"""Sweep speed-up: 50 road closures on Anaheim on 2 worker processes against 1.

    python benchmarks/bench_sweep.py [--json] [--closures 50]

Both runs use a ``LocalCluster`` of processes with one thread each, started and warmed up
(every worker has run one closure, so imports and any compilation are done) before the clock
starts; what is timed is the sweep's task phase (:attr:`SweepResult.tasks_s`: first closure
submitted to last result back). The closures are the Anaheim links with the highest baseline
flow, each re-solved to relative gap 1e-5 warm-started from the baseline.

Reported: ``sweep_1worker_s``, ``sweep_2workers_s``, ``sweep_speedup`` (= 1 worker / 2
workers; target >= 1.7 on a machine with 2 free cores), ``sweep_inprocess_s`` (the same
closures one after the other in this process: the floor without Dask), ``sweep_closure_ms``
(in process, per closure) and ``sweep_rankings_equal`` (1 when the three rankings are
identical). :func:`sweep_figures` returns the same dict for ``bench_scenarios.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SHARED, emit

SCENARIO = ROOT / "tests" / "data" / "scenarios" / "anaheim.toml"


def _closures(n: int) -> tuple[Any, list[str]]:
    from twin_app.scenarios.file import load_scenario
    from twin_app.scenarios.run import assign_model, baseline_traffic_model
    from twin_app.scenarios.sweep import road_elements

    scenario = load_scenario(SCENARIO)
    model = baseline_traffic_model(scenario)
    table = road_elements(model, assign_model(model, scenario))
    busiest = table.sort_values(["flow_baseline", "id"], ascending=[False, True])
    return scenario, [str(i) for i in busiest["id"].head(n)]


def _on_cluster(scenario: Any, ids: list[str], workers: int) -> tuple[float, Any]:
    from distributed import Client, LocalCluster

    from twin_app.scenarios.sweep import run_sweep

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        # warm-up: one closure per worker (imports, numba compilation, the scattered data)
        run_sweep(scenario, "road", elements=ids[:workers], client=client)
        res = run_sweep(scenario, "road", elements=ids, client=client)
    return res.tasks_s, res


def sweep_figures(closures: int = 50) -> dict[str, float]:
    """The sweep figures (see the module docstring)."""
    import pandas as pd

    from twin_app.scenarios.sweep import run_sweep

    if not (SHARED / "traffic" / "tntp" / "Anaheim").is_dir():
        raise SystemExit(f"{SHARED}/traffic/tntp/Anaheim is missing")
    scenario, ids = _closures(closures)
    run_sweep(scenario, "road", elements=ids[:1], scheduler="none")  # warm-up in process
    local = run_sweep(scenario, "road", elements=ids, scheduler="none")
    t1, one = _on_cluster(scenario, ids, 1)
    t2, two = _on_cluster(scenario, ids, 2)
    equal = True
    for other in (one, two):
        try:
            pd.testing.assert_frame_equal(local.ranking, other.ranking, check_exact=True)
        except AssertionError:
            equal = False
    return {
        "sweep_closures": float(len(ids)),
        "sweep_inprocess_s": local.tasks_s,
        "sweep_closure_ms": 1000.0 * local.tasks_s / len(ids),
        "sweep_1worker_s": t1,
        "sweep_2workers_s": t2,
        "sweep_speedup": t1 / t2,
        "sweep_rankings_equal": float(equal),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--closures", type=int, default=50)
    args = ap.parse_args()
    emit(sweep_figures(args.closures), args.json)


if __name__ == "__main__":
    main()
