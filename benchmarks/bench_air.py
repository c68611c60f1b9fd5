"""Speed of the plume engine on the sample twin's streets.

    python benchmarks/bench_air.py [--json] [--repeat N]

Setup: every street of the sample twin (City of London, ``london.osm.pbf``: 3,075 OSM highway
lines, split at their vertices into about 8,400 straight segments, 114 km) as line sources of
600 veh/h each (PM2.5, default emission factors), a receptor grid over the streets' extent at
10 m (about 62,000 cells), wind 3 m/s from the south-west, class D, urban.

``plume_cells_per_s``
    grid cells per second of :func:`~twin_app.engines.air.simulate` on that grid (line
    sources by FFT convolution, AQI classes and KPIs included), best of N.
``plume_s``
    the same run's time, seconds.
``fft_floor_s``, ``fft_overhead``
    a bare :func:`scipy.signal.fftconvolve` of arrays of the same shapes, and ``plume_s`` over it.
``direct_pairs_per_s``
    source-receptor pairs per second of the direct sum
    (:func:`~twin_app.engines.air.point_concentration`: rotation, Briggs sigmas, plume with
    reflection) over the streets split every 5 m, on a subset of receptors;
    ``direct_grid_s_est``: that rate's time for the whole grid (all pairs).
``numpy_floor_pairs_per_s``
    the floor of any direct numpy sum: one ``exp`` of a product over the same pair count,
    chunked the same way; ``direct_floor_ratio`` = floor rate / ours.
``naive_pairs_per_s``, ``naive_ratio``
    a per-receptor, per-source Python loop (``math`` functions) on a few receptors, and the
    direct numpy sum's pair rate over it; ``naive_cell_ratio``: the naive loop's time per cell
    (all sources) over the FFT grid's time per cell.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, emit, timed

from twin_app.engines.air import (
    CHUNK_PAIRS,
    MIN_WIND_MS,
    AirInputs,
    LineSources,
    Met,
    ReceptorGrid,
    point_concentration,
    road_emission_g_s_m,
    simulate,
    split_lines,
)

OSM = ROOT / "twin_app" / "city_models" / "city_of_london" / "london.osm.pbf"
CELL_M = 10.0
FLOW_VEH_H = 600.0
MET = Met(3.0, 225.0, "D", "urban")


def street_lines() -> LineSources:
    """The sample twin's streets as straight segments in UTM 30N metres."""
    import shapely

    from twin_app.io.vector import read_layer

    df = read_layer(OSM, "lines")
    roads = df.loc[df["highway"].notna()].to_crs(32630)
    coords, idx = shapely.get_coordinates(roads.geometry.values, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    q = road_emission_g_s_m(np.full(len(a), FLOW_VEH_H), "pm25")
    return LineSources(a, b, q)


def naive_sum(
    sx: list[float], sy: list[float], q: list[float], rx: float, ry: float, z: float
) -> float:
    """One receptor, every source, scalar Python (urban class D Briggs, ground sources)."""
    t = math.radians(MET.wind_from_deg)
    ex, ey = -math.sin(t), -math.cos(t)
    u = max(MET.wind_speed_ms, MIN_WIND_MS)
    total = 0.0
    for x0, y0, qi in zip(sx, sy, q, strict=True):
        dx, dy = rx - x0, ry - y0
        x = dx * ex + dy * ey
        if x <= 0.0:
            continue
        y = -dx * ey + dy * ex
        sig_y = 0.16 * x / math.sqrt(1.0 + 4e-4 * x)
        sig_z = 0.14 * x / math.sqrt(1.0 + 3e-4 * x)
        vert = 2.0 * math.exp(-(z * z) / (2.0 * sig_z * sig_z))
        total += (
            1e6
            * qi
            / (2.0 * math.pi * u * sig_y * sig_z)
            * math.exp(-(y * y) / (2.0 * sig_y * sig_y))
            * vert
        )
    return total


def numpy_floor(n_src: int, n_rec: int) -> float:
    """Seconds of one exp of a product over n_src x n_rec pairs, chunked like the engine."""
    rng = np.random.default_rng(0)
    a = rng.random(n_src)
    b = rng.random(n_rec)
    step = max(1, CHUNK_PAIRS // n_rec)

    def run() -> float:
        acc = np.zeros(n_rec)
        for i in range(0, n_src, step):
            acc += np.exp(-a[i : i + step, None] * b[None, :]).sum(axis=0)
        return float(acc[0])

    return timed(run)[0]


def air_figures(repeat: int = 3) -> dict[str, float | int]:
    """The figures in the module docstring."""
    from scipy.signal import fftconvolve

    lines = street_lines()
    lo = np.minimum(lines.start_xy.min(0), lines.end_xy.min(0))
    hi = np.maximum(lines.start_xy.max(0), lines.end_xy.max(0))
    grid = ReceptorGrid.covering((lo[0], lo[1], hi[0], hi[1]), CELL_M)
    inputs = AirInputs(grid, MET, lines=lines, pollutant="pm25")
    simulate(inputs)  # imports scipy.signal, warms caches
    plume_s, res = timed(lambda: simulate(inputs), repeat)
    cells = grid.nx * grid.ny

    # Bare FFT of the same shapes: emission raster ~ grid, kernel ~ twice the grid.
    emis = np.random.default_rng(0).random(grid.shape)
    kern = np.random.default_rng(1).random((2 * grid.ny - 1, 2 * grid.nx - 1))
    fft_s = timed(lambda: fftconvolve(emis, kern, mode="full"), repeat)[0]

    pts = split_lines(lines, 5.0)
    gx, gy = grid.centres()
    rec = np.column_stack([gx.ravel(), gy.ravel()])
    sub = rec[:: max(1, rec.shape[0] // 2000)]
    direct_s = timed(lambda: point_concentration(pts, sub, MET), 1)[0]
    pairs = len(pts) * sub.shape[0]
    direct_rate = pairs / direct_s
    floor_rate = pairs / numpy_floor(len(pts), sub.shape[0])

    few = rec[:: max(1, rec.shape[0] // 5)][:5]
    sx, sy, q = pts.xy[:, 0].tolist(), pts.xy[:, 1].tolist(), pts.q_g_s.tolist()
    naive_s = timed(lambda: [naive_sum(sx, sy, q, float(x), float(y), 1.5) for x, y in few])[0]
    naive_rate = len(pts) * few.shape[0] / naive_s
    # The naive loop must agree with the engine (same formula).
    check = point_concentration(pts, few, MET)
    ours = [naive_sum(sx, sy, q, float(x), float(y), 1.5) for x, y in few]
    np.testing.assert_allclose(ours, check, rtol=1e-9, atol=1e-12)

    return {
        "segments": len(lines),
        "street_km": round(float(lines.length_m.sum()) / 1000.0, 1),
        "grid_cells": cells,
        "point_sources_5m": len(pts),
        "plume_s": round(plume_s, 4),
        "plume_cells_per_s": round(cells / plume_s),
        "fft_floor_s": round(fft_s, 4),
        "fft_overhead": round(plume_s / fft_s, 2),
        "max_pm25_ug_m3": round(res.kpis["max_concentration_ug_m3"], 2),
        "area_over_limit_m2": res.kpis["area_over_limit_m2"],
        "direct_pairs_per_s": round(direct_rate),
        "direct_grid_s_est": round(len(pts) * cells / direct_rate, 1),
        "numpy_floor_pairs_per_s": round(floor_rate),
        "direct_floor_ratio": round(floor_rate / direct_rate, 2),
        "naive_pairs_per_s": round(naive_rate),
        "naive_ratio": round(direct_rate / naive_rate, 1),
        "naive_cell_ratio": round((len(pts) / naive_rate) / (plume_s / cells)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    emit(air_figures(args.repeat), args.json)


if __name__ == "__main__":
    main()
