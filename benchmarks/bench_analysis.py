"""Ray casting for sun and line of sight (rays part of issue 9's analysis benchmark).

    python benchmarks/bench_analysis.py [--json] [--buildings 100000] [--naive-rays 20000]

Reported:
- rays_per_s: occlusion rays a second (:class:`twin_app.geometry.raycast.Occluder`, Embree) on a
  synthetic city of N extruded random boxes (default 100k buildings, 1M triangles): sun-like
  rays, every outdoor receptor of a 1.5 m-high grid toward four sun directions (the sun-hours
  workload), cast on a pool of one thread per core (rays_per_s_1thread: on one).
  rays_per_s_random: the same receptors with random upward directions (incoherent).
  build_s: building the occluder.
- rays_per_s_sample: the same on the sample twin's merged building mesh (2 m grid);
  rays_per_s_sample_grid: the numba grid fallback there (what runs without embreex).
- ray_naive_ratio: ours over the naive way on the *same* rays: naive_rays (default 20,000) of
  the 100k city's sun rays, taken as four runs of consecutive rays in the order the study casts
  them (one run per sun direction, at spread places in the grid), each a 3 km segment.
  naive_rays_per_s: a per-ray Python loop calling VTK's ``vtkStaticCellLocator.IntersectWithLine``
  (origins and ends as Python lists, the fastest way to hand them to VTK).
  same_rays_per_s: :meth:`Occluder.occluded` on those rays in one call, on its best thread
  count (same_rays_threads: 1 or one per core; on a loaded machine the second thread may not
  help). Load noise: both sides are timed in windows of a few milliseconds (the naive loop
  500 rays at a time, ours all 20,000 rays a call) and each window is the best of several
  passes (7 naive, 30 ours), so that both are measured as undisturbed as the machine allows.
  naive_agreement_pct: the two answers compared ray by ray.
  Before (up to commit 9098bc3) the ratio was rays_per_s (all 2.2M rays, coherent, unbounded,
  best of 2) over the naive rate on 20,000 rays spread one by one over the set (incoherent),
  timed once: 21-70 with the load.
  Measured (shared 2-core machine, load average 6-9 from other jobs; three runs): naive
  255-265k rays/s (3.8-3.9 us a ray; with numpy rows instead of lists it was 75-108k), ours
  6.3-7.8M rays/s (best of 1 and 2 threads), ray_naive_ratio 23.7-30.3; Embree alone (the
  floor) 7.6-9.0M rays/s on one thread, so even a wrapper of zero cost on one thread would stay
  under 35; >= 50 needs the second core free (or more cores) on top of that.
- ray_peer_ratio: same_rays_per_s over peer_rays_per_s, the numba uniform-grid backend
  (``Occluder(backend="grid")``, what runs without embreex; no other batched ray library is a
  dependency) on the same rays, best of 10, after a compile call; peer_build_s.
- ray_floor_ratio: floor_rays_per_s (one bare ``embreex`` ``scene.run`` OCCLUDED call on the
  same rays already shifted and in float32, one thread: Embree alone, best of 30) over ours on
  one thread (same_rays_per_s_1thread): what the wrapper (validation, float32 copies) costs.
- plume_cells_per_s: grid cells a second of the Gaussian plume
  (:func:`twin_app.engines.air.simulate`, FFT line sources, AQI classes and KPIs) on the sample
  twin's grid: every street of the sample twin as a line source, 10 m cells over the streets'
  extent (the setup of ``bench_air.py``), best of 3; plume_grid_cells, plume_s.
- coverage_s: a street-level 5G coverage raster (5 m) plus one receptor per floor of every
  building for five rooftop stations on the sample twin (LOS by ray casting, TR 38.901 UMa at
  3.5 GHz), with its KPIs; placement_s: greedy placement over the 50 tallest roofs toward 75 %
  street coverage (stations_needed_for_75pct, NaN when the candidates cannot reach it).
- sun_day_s: a full-day sun-hours study of the sample twin on 21 March (the date BRE 209 uses
  for open spaces), 10-minute steps: a 2 m ground raster over the buildings' bounding box plus
  facade points (one per ~3 m triangle split) of every wall, cast with
  :func:`twin_app.engines.sunhours.sun_hours` (building the occluder not included; the receptors
  are); sun_receptors_ground / sun_receptors_facade, sun_rays, sun_rays_per_s,
  sun_ground_mean_h (outdoor cells), sun_facade_mean_h. The same study with a hypothetical
  60 m tower (30 m x 30 m, :func:`~twin_app.engines.sunhours.add_building`) on the open ground
  nearest the district's centre gives the KPIs sun_hours_lost_public_m2h,
  buildings_losing_1h_sun and shadow_area_noon_m2 (baseline and tower;
  sun_tower_xy is where it stands, sun_tower_s the time of the scenario study).
  Measured on the shared 2-core machine (Embree, 2 threads): sun_day_s 8.9 s for 812,196 ground
  + 396,634 facade receptors, 73 sun-up steps, 73.8 M rays (8.3 M rays/s); the tower: 12,550 m2 h
  of public sun lost, 2 buildings losing 1 h; it stands in a courtyard already in shade at noon,
  so shadow_area_noon_m2 barely moves (its footprint's shaded cells leave the outdoor area).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, peak_rss_mb

Array = np.ndarray[Any, Any]

SUN = [(135.0, 20.0), (160.0, 35.0), (200.0, 45.0), (240.0, 25.0)]  # (azimuth, elevation) deg


def sun_dirs() -> Array:
    az, el = np.radians(np.array(SUN)).T
    return np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])


def box_city(n: int, seed: int = 0) -> tuple[Array, Array, tuple[float, float, float, float]]:
    """n extruded boxes (walls and roof, 10 triangles each) on a jittered 40 m grid."""
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    cell = 40.0
    i = np.arange(n)
    cx = (i % side) * cell + rng.uniform(12.0, 28.0, n)
    cy = (i // side) * cell + rng.uniform(12.0, 28.0, n)
    hw = rng.uniform(4.0, 11.0, (n, 2))
    h = np.clip(rng.lognormal(math.log(15.0), 0.6, n), 4.0, 150.0)
    sx = np.array([-1, 1, 1, -1, -1, 1, 1, -1], float)
    sy = np.array([-1, -1, 1, 1, -1, -1, 1, 1], float)
    sz = np.array([0, 0, 0, 0, 1, 1, 1, 1], float)
    pts = np.stack(
        [cx[:, None] + sx * hw[:, :1], cy[:, None] + sy * hw[:, 1:], sz * h[:, None]], axis=-1
    ).reshape(-1, 3)
    faces = np.array(
        [
            [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7],
            [2, 7, 6], [3, 0, 4], [3, 4, 7], [4, 5, 6], [4, 6, 7],
        ]
    )  # fmt: skip
    tri = (faces[None] + 8 * i[:, None, None]).reshape(-1, 3)
    return pts, tri, (0.0, side * cell, 0.0, side * cell)


def receptor_grid(bounds: tuple[float, float, float, float], spacing: float) -> Array:
    xmin, xmax, ymin, ymax = bounds
    gx, gy = np.meshgrid(np.arange(xmin, xmax, spacing), np.arange(ymin, ymax, spacing))
    return np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, 1.5)])


def outdoor(occ: Any, pts: Array) -> Array:
    return pts[~occ.occluded(pts, np.array([0.0, 0.0, 1.0]))]


def sun_rays(pts: Array) -> tuple[Array, Array]:
    d = sun_dirs()
    o = np.concatenate([pts] * len(d))
    return o, np.repeat(d, len(pts), axis=0)


def rays_per_s(
    occ: Any, o: Array, d: Array, repeat: int = 2, length: float = math.inf
) -> tuple[float, Array]:
    best, hit = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        hit = occ.occluded(o, d, length)
        best = min(best, time.perf_counter() - t0)
    assert hit is not None
    return len(o) / best, hit


def vtk_naive(
    pts: Array, tri: Array, o: Array, d: Array, length: float, window: int = 500, repeat: int = 7
) -> tuple[float, Array]:
    """Per-ray Python loop over vtkStaticCellLocator.IntersectWithLine; rays/s and hits.

    Timed in windows of `window` rays (a few ms each), each the best of `repeat` passes: on a
    shared machine a window this short often runs undisturbed, and the best of each is summed."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    poly = vtk.vtkPolyData()
    vp = vtk.vtkPoints()
    vp.SetData(numpy_to_vtk(np.ascontiguousarray(pts), deep=True))
    poly.SetPoints(vp)
    ca = vtk.vtkCellArray()
    ca.SetData(
        numpy_to_vtkIdTypeArray(np.arange(0, 3 * len(tri) + 1, 3, dtype=np.int64), deep=True),
        numpy_to_vtkIdTypeArray(np.ascontiguousarray(tri, dtype=np.int64).ravel(), deep=True),
    )
    poly.SetPolys(ca)
    loc = vtk.vtkStaticCellLocator()
    loc.SetDataSet(poly)
    loc.BuildLocator()
    t, x, pc, sub = vtk.reference(0.0), [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], vtk.reference(0)
    # Python lists: VTK reads a list of floats faster than a numpy row
    starts, ends = o.tolist(), (o + length * d).tolist()
    total, found = 0.0, []
    for a in range(0, len(starts), window):
        s_w, e_w = starts[a : a + window], ends[a : a + window]
        best = float("inf")
        for _ in range(repeat):
            got = []
            t0 = time.perf_counter()
            for p0, p1 in zip(s_w, e_w, strict=True):
                got.append(loc.IntersectWithLine(p0, p1, 1e-9, t, x, pc, sub))
            best = min(best, time.perf_counter() - t0)
        total += best
        found += got
    return len(o) / total, np.asarray(found) != 0


def naive_subset(n_per_dir: int, n_dirs: int, n: int) -> Array:
    """Indices of `n` rays of the sun-ray set (``n_dirs`` blocks of ``n_per_dir``, in casting
    order): one run of consecutive rays per direction, the runs at spread places."""
    run = max(1, min(n // n_dirs, n_per_dir))
    out = []
    for j in range(n_dirs):
        first = j * n_per_dir + int((j + 0.5) / n_dirs * (n_per_dir - run))
        out.append(np.arange(first, first + run))
    return np.concatenate(out)


def same_rays(
    occ: Any, o: Array, d: Array, length: float, repeat: int = 30
) -> tuple[float, int, float]:
    """Best rays/s of ``occ.occluded`` on all the rays in one call (a few ms: a window as
    short as the naive loop's), best of `repeat` calls, over one thread and one per core;
    the thread count that won and the one-thread rate."""
    rates: dict[int, float] = {}
    keep = occ.threads
    for th in sorted({1, keep}):
        occ.threads = th
        rates[th] = rays_per_s(occ, o, d, repeat, length)[0]
    occ.threads = keep
    th = max(rates, key=lambda k: rates[k])
    return rates[th], th, rates[1]


def embree_floor(occ: Any, o: Array, d: Array, length: float, repeat: int = 30) -> float:
    """Rays/s of one bare embreex OCCLUDED call on pre-shifted float32 rays (one thread),
    best of `repeat`."""
    impl = occ._impl
    start = np.ascontiguousarray(o - impl.centre, dtype=np.float32)
    dirs = np.ascontiguousarray(d, dtype=np.float32)
    spans = [np.full(len(o), length, dtype=np.float32) for _ in range(repeat)]
    best = float("inf")
    for span in spans:
        t0 = time.perf_counter()
        impl.scene.run(start, dirs, dists=span, query="OCCLUDED")
        best = min(best, time.perf_counter() - t0)
    return len(o) / best


def plume_run(repeat: int = 3) -> dict[str, float]:
    """Grid cells a second of the plume on the sample twin's streets (bench_air.py's setup)."""
    from bench_air import CELL_M, MET, street_lines

    from twin_app.engines.air import AirInputs, ReceptorGrid, simulate

    lines = street_lines()
    lo = np.minimum(lines.start_xy.min(0), lines.end_xy.min(0))
    hi = np.maximum(lines.start_xy.max(0), lines.end_xy.max(0))
    grid = ReceptorGrid.covering((lo[0], lo[1], hi[0], hi[1]), CELL_M)
    inputs = AirInputs(grid, MET, lines=lines, pollutant="pm25")
    simulate(inputs)  # imports scipy.signal, warms caches
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        simulate(inputs)
        best = min(best, time.perf_counter() - t0)
    cells = grid.nx * grid.ny
    return {"plume_grid_cells": cells, "plume_s": best, "plume_cells_per_s": cells / best}


def sample_buildings() -> tuple[Array, Array, Any, tuple[float, float]]:
    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.session.twin import open_twin

    load = open_twin(SAMPLE_DIR)
    assert load.result is not None
    fs = next(s for s in load.result.city.sets if s.kind == "buildings")
    b = fs.mesh.bounds()
    centre = np.array([[0.5 * (b[0] + b[1]), 0.5 * (b[2] + b[3])]])
    lon, lat = load.result.city.frame.to_lonlat(centre)[0]
    return fs.mesh.points, fs.mesh.triangles, fs, (float(lon), float(lat))


def coverage_run(pts: Array, tri: Array, fs: Any, occ: Any) -> dict[str, float]:
    from twin_app.engines import radio

    xmin, xmax, ymin, ymax, _, _ = fs.mesh.bounds()
    t0 = time.perf_counter()
    street, _, out = radio.street_receptors(occ, (xmin, xmax, ymin, ymax), 5.0)
    cent = fs.feature_centroids()[:, :2]
    h = fs.table["height_m"].to_numpy(dtype=float)
    ok = np.isfinite(cent).all(axis=1)
    rp, bld, _ = radio.building_receptors(cent[ok], h[ok])
    # five stations on the tallest roofs, spread apart (the first of each 1/5 of the list)
    order = np.argsort(-np.nan_to_num(h[ok]))
    roofs = order[:: max(1, len(order) // 5)][:5]
    tpl = radio.BaseStation(0.0, 0.0, tx_power_dbm=46.0, frequency_ghz=3.5)
    sts = [
        radio.station_on_roof(tpl, (*cent[ok][r], float(np.nan_to_num(h[ok][r]))), 3.0)
        for r in roofs
    ]
    cov = radio.coverage(sts, street, occ)
    ind = radio.coverage(sts, rp, occ, indoor=True)
    k = radio.coverage_kpis(cov, out, ind, bld, int(ok.sum()))
    dt = time.perf_counter() - t0
    # greedy placement over the 50 tallest roofs toward 75 % of the street receptors
    t1 = time.perf_counter()
    cand = np.column_stack([cent[ok][order[:50]], np.nan_to_num(h[ok][order[:50]])])
    plc = radio.greedy_placement([], cand, tpl, street[out], occ, target_pct=75.0)
    return {
        "placement_s": time.perf_counter() - t1,
        "placement_candidates": len(cand),
        "placement_reached_pct": float(plc.covered_pct[-1]),
        "stations_needed_for_75pct": plc.stations_needed,
        "coverage_s": dt,
        "coverage_street_receptors": int(out.sum()),
        "coverage_indoor_receptors": len(rp),
        "coverage_stations": len(sts),
        "coverage_area_covered_pct": k["area_covered_pct"],
        "coverage_buildings_covered_pct": k["buildings_covered_pct"],
        "coverage_street_los_pct": 100.0 * float(cov.los[out].mean()),
    }


def open_spot(public: Array, cells: int) -> tuple[int, int]:
    """(row, col) of the top-left cell of the cells x cells all-outdoor window nearest the
    raster's centre (summed-area table, no loop over cells)."""
    sat = np.zeros((public.shape[0] + 1, public.shape[1] + 1))
    sat[1:, 1:] = public.astype(float).cumsum(0).cumsum(1)
    win = sat[cells:, cells:] - sat[:-cells, cells:] - sat[cells:, :-cells] + sat[:-cells, :-cells]
    r, c = np.nonzero(win >= cells * cells)
    d2 = (r - public.shape[0] / 2) ** 2 + (c - public.shape[1] / 2) ** 2
    i = int(np.argmin(d2))
    return int(r[i]), int(c[i])


def sun_run(fs: Any, occ: Any, lon: float, lat: float) -> dict[str, Any]:
    import datetime as dt

    from twin_app.engines import sunhours as sh
    from twin_app.geometry.raycast import Occluder

    date = dt.date(2025, 3, 21)
    xmin, xmax, ymin, ymax, zmin, _ = fs.mesh.bounds()
    bounds = (xmin, ymin, xmax, ymax)
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    ground = sh.ground_receptors(occ, bounds, 2.0, ground_z=zmin)
    fac = sh.facade_receptors(fs.mesh, 3.0)
    sg: dict[str, float] = {}
    sf: dict[str, float] = {}
    hg = sh.sun_hours(occ, ground.xyz, lat, lon, date, stats=sg)
    hf = sh.sun_hours(occ, fac.xyz, lat, lon, date, normals=fac.normals, stats=sf)
    out["sun_day_s"] = time.perf_counter() - t0
    out["sun_receptors_ground"] = int(ground.xyz.shape[0])
    out["sun_receptors_facade"] = int(fac.xyz.shape[0])
    out["sun_steps"] = sg["steps"]
    out["sun_rays"] = sg["rays"] + sf["rays"]
    out["sun_rays_per_s"] = out["sun_rays"] / out["sun_day_s"]
    pub = ground.public.ravel()
    out["sun_ground_mean_h"] = float(hg[pub].mean())
    out["sun_facade_mean_h"] = float(np.average(hf, weights=fac.area_m2))
    # the tower scenario
    side = 30.0
    r, c = open_spot(ground.public, int(side / ground.grid.cell_m))
    a, _, x0, _, e, y0 = ground.grid.transform
    x, y = x0 + c * a, y0 + r * e  # north-west corner of the window
    fp = [(x, y - side), (x + side, y - side), (x + side, y), (x, y)]
    t1 = time.perf_counter()
    scen = sh.add_building(fs.mesh, fp, 60.0, base_z=zmin)
    occ2 = Occluder(scen.points, scen.triangles)
    ground2 = sh.ground_receptors(occ2, bounds, 2.0, ground_z=zmin)
    hg2 = sh.sun_hours(occ2, ground2.xyz, lat, lon, date)
    hf2 = sh.sun_hours(occ2, fac.xyz, lat, lon, date, normals=fac.normals)
    nb = int(fs.mesh.cell_data["building_index"].max()) + 1
    out["sun_tower_s"] = time.perf_counter() - t1
    out["sun_tower_xy"] = [x + side / 2, y - side / 2]
    out["sun_hours_lost_public_m2h"] = sh.sun_hours_lost_public_m2h(
        hg, hg2, ground.public, ground2.public, ground.cell_area_m2
    )
    out["buildings_losing_1h_sun"] = sh.buildings_losing_1h_sun(
        fac.per_building(hf, nb), fac.per_building(hf2, nb)
    )
    out["shadow_area_noon_m2_base"] = sh.shadow_area_noon_m2(occ, ground, lat, lon, date)
    out["shadow_area_noon_m2"] = sh.shadow_area_noon_m2(occ2, ground2, lat, lon, date)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--buildings", type=int, default=100_000)
    ap.add_argument("--naive-rays", type=int, default=20_000)
    ap.add_argument("--spacing", type=float, default=16.0, help="receptor grid of the big city, m")
    args = ap.parse_args()
    from twin_app.geometry.raycast import Occluder

    res: dict[str, Any] = {}
    # the synthetic city
    pts, tri, bounds = box_city(args.buildings)
    t0 = time.perf_counter()
    occ = Occluder(pts, tri)
    res["backend"] = occ.backend
    res["build_s"] = time.perf_counter() - t0
    res["triangles"] = len(tri)
    rx = outdoor(occ, receptor_grid(bounds, args.spacing))
    o, d = sun_rays(rx)
    res["rays"] = len(o)
    res["threads"] = occ.threads
    res["rays_per_s"], hit = rays_per_s(occ, o, d)
    occ.threads = 1
    res["rays_per_s_1thread"], _ = rays_per_s(occ, o, d)
    occ.threads = res["threads"]
    res["shadowed_pct"] = 100.0 * float(hit.mean())
    rng = np.random.default_rng(1)
    dr = rng.normal(size=(len(o), 3))
    dr[:, 2] = np.abs(dr[:, 2]) + 0.05
    res["rays_per_s_random"], _ = rays_per_s(occ, o, dr)
    # ours, the naive loop, a peer and the bare floor on the same rays (segments 3 km long)
    sub = naive_subset(len(rx), len(SUN), args.naive_rays)
    so_, sd_ = o[sub], d[sub]
    naive, naive_hit = vtk_naive(pts, tri, so_, sd_, 3000.0)
    same, same_th, one = same_rays(occ, so_, sd_, 3000.0)
    ours = occ.occluded(so_, sd_, 3000.0)
    res["naive_rays"] = len(sub)
    res["naive_rays_per_s"] = naive
    res["same_rays_per_s"] = same
    res["same_rays_threads"] = same_th
    res["same_rays_per_s_1thread"] = one
    res["ray_naive_ratio"] = same / naive
    res["naive_agreement_pct"] = 100.0 * float((naive_hit == ours).mean())
    res["floor_rays_per_s"] = embree_floor(occ, so_, sd_, 3000.0)
    res["ray_floor_ratio"] = res["floor_rays_per_s"] / res["same_rays_per_s_1thread"]
    t0 = time.perf_counter()
    peer = Occluder(pts, tri, backend="grid")
    res["peer_build_s"] = time.perf_counter() - t0
    peer.occluded(so_[:1000], sd_[:1000], 3000.0)  # compile (or load) the numba kernel first
    res["peer_rays_per_s"] = rays_per_s(peer, so_, sd_, 10, 3000.0)[0]
    res["ray_peer_ratio"] = same / res["peer_rays_per_s"]
    peer_hit = peer.occluded(so_, sd_, 3000.0)
    res["peer_agreement_pct"] = 100.0 * float((peer_hit == ours).mean())
    del occ, peer
    # the sample twin
    spts, stri, fs, (lon, lat) = sample_buildings()
    occ_s = Occluder(spts, stri)
    b = fs.mesh.bounds()
    srx = outdoor(occ_s, receptor_grid((b[0], b[1], b[2], b[3]), 2.0))
    so, sd = sun_rays(srx)
    res["sample_triangles"] = len(stri)
    res["sample_rays"] = len(so)
    res["rays_per_s_sample"], _ = rays_per_s(occ_s, so, sd)
    grid = Occluder(spts, stri, backend="grid")
    grid.occluded(so[:1000], sd[:1000])  # compile (or load) the numba kernel first
    res["rays_per_s_sample_grid"], _ = rays_per_s(grid, so, sd, repeat=1)
    res.update(coverage_run(spts, stri, fs, occ_s))
    res.update(sun_run(fs, occ_s, lon, lat))
    res.update(plume_run())
    res["peak_mb"] = peak_rss_mb()
    emit(res, args.json)


if __name__ == "__main__":
    main()
