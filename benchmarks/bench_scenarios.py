"""The scenario benchmark of issue 8: traffic solver, water overhead, sweep speed-up, app round trip.

    python benchmarks/bench_scenarios.py [--json] [--skip traffic,water,sweep,app]

Each part lives in its own script (and can be run alone); this one runs them in one process
and prints one table:

- bench_traffic.traffic_figures: ``sioux_s``, ``anaheim_s`` and iterations to relative gap 1e-6
  (compilation cached and excluded; the first-call compile time is ``compile_s``), the peer
  aequilibrae's bi-conjugate Frank-Wolfe to 1e-5 in the same process (``peer_sioux_s``,
  ``peer_anaheim_s``) and the ratios. Target: at least 5x faster than the peer on both.
- bench_water.water_figures: ``water_overhead`` = our scenario run / a bare wntr EPANET run of
  the same modified networks. Target <= 1.2.
- bench_sweep.sweep_figures: ``sweep_speedup`` = a 50-closure sweep on Anaheim with 2 worker
  processes versus 1. Target >= 1.7.
- bench_app_scenario.app_figures: ``app_close_road_s`` on the sample twin, from Run after closing
  one road to the recoloured roads and the KPI table, headless through the core. Target <= 1 s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit

TARGETS: dict[str, tuple[str, float]] = {
    "sioux_speedup": (">=", 5.0),
    "anaheim_speedup": (">=", 5.0),
    "water_overhead": ("<=", 1.2),
    "sweep_speedup": (">=", 1.7),
    "app_close_road_s": ("<=", 1.0),
}


def _parts() -> dict[str, Callable[[], dict[str, Any]]]:
    def traffic() -> dict[str, Any]:
        from bench_traffic import traffic_figures

        return traffic_figures()

    def water() -> dict[str, Any]:
        from bench_water import water_figures

        return water_figures()

    def sweep() -> dict[str, Any]:
        from bench_sweep import sweep_figures

        return sweep_figures()

    def app() -> dict[str, Any]:
        from bench_app_scenario import app_figures

        return app_figures()

    return {"traffic": traffic, "water": water, "sweep": sweep, "app": app}


def main(argv: list[str] | None = None) -> int:
    """Run the parts and print one table (or one JSON object)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out: dict[str, Any] = {}
    for name, part in _parts().items():
        if name in skip:
            continue
        out.update(part())
    for key, (op, target) in TARGETS.items():
        if key in out:
            value = float(out[key])
            met = value >= target if op == ">=" else value <= target
            out[f"{key}_target"] = f"{op} {target:g}: {'met' if met else 'NOT met'}"
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
