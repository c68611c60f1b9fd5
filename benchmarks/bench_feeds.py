"""Per-tick cost of the time-driven layers, against rebuilding their meshes each tick.

    python benchmarks/bench_feeds.py [--json] [--tick-only]

Scene (offscreen, no render counted): 50,000 road segments coloured from 50,000 detectors,
10,000 movers with 8-point trails, 1,000 air-quality stations with an IDW surface on a
500 x 500 grid. The data are real: METR-LA speeds (207 detectors) tiled to 50,000 detectors,
the Liverpool bus tracks tiled to 10,000 movers, Beijing PM2.5 (12 stations) tiled to 1,000;
road geometry is the Porto, London and München OSM road lines tiled to 50,000 segments.

Reported: tick_ms (median time of one clock tick at x600 playback: every layer's update and
every adapter's in-place array writes), tick_ms_<layer> (median of each layer's part of those
ticks) and tick_share_<layer> (its share of their sum), tick_ms_worst (5-minute jumps), ticks_per_s,
rebuild_ms (the naive tick: road ribbons, mover glyphs, trails and the surface built again and
re-added through pyvista's add_mesh), rebuild_ratio, and
store_mb_30d_50k (logical size of a 30-day, 5-minute store of 50,000 detectors) with the
resident memory it costs when spilled to disk (store_resident_mb_30d_50k).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, emit

NS = 1_000_000_000
N_ROADS, N_MOVERS, N_STATIONS, GRID = 50_000, 10_000, 1_000, 500


def rss_mb() -> float:
    """Current resident memory of this process, MB (from /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def tiled_roads() -> Any:
    """Real OSM road lines (three cities) tiled side by side until there are N_ROADS."""
    import shapely

    from twin_app.geometry.lines import line_arrays, ribbons
    from twin_app.io.osm import read_osm
    from twin_app.io.source import ReadOptions
    from twin_app.model.city import ROADS, FeatureSet, Polylines
    from twin_app.model.frame import LocalFrame

    geoms, widths = [], []
    for city in ("porto", "london", "munchen"):
        src = read_osm(SHARED / "osm" / f"{city}.osm.pbf", ReadOptions(as_kind="roads"))[0]
        gdf = src.roads
        assert gdf is not None
        frame = LocalFrame.for_data(gdf.crs, tuple(gdf.total_bounds))
        xy = shapely.transform(
            np.asarray(gdf.geometry.values),
            lambda c, f=frame, crs=gdf.crs: f.to_local(c[:, 0], c[:, 1], src=crs)[:, :2],
        )
        geoms.append(xy)
        widths.append(gdf["width_m"].to_numpy())
    base = np.concatenate(geoms)
    w = np.concatenate(widths)
    reps = int(np.ceil(N_ROADS / base.size))
    tiles = [
        shapely.transform(
            base, lambda c, k=k: c + np.array([(k % 8) * 20_000.0, (k // 8) * 20_000.0])
        )
        for k in range(reps)
    ]
    allg = np.concatenate(tiles)[:N_ROADS]
    width = np.tile(w, reps)[:N_ROADS]
    coords, offsets, part = line_arrays(allg)
    lines = Polylines(np.column_stack([coords, np.zeros(len(coords))]), offsets, part)
    mesh = ribbons(lines, width[part], part)
    table = pd.DataFrame({"id": np.arange(N_ROADS).astype(str), "class": "primary"})
    return FeatureSet(
        "Roads", ROADS, "bench", table["id"].to_numpy(object), table, mesh, lines=lines
    ), width


def build_layers() -> tuple[list[Any], int]:
    from shared_datasets import load_beijing_prsa, load_liverpool_bus, load_metr_la

    from twin_app.feeds.store import SensorStore
    from twin_app.feeds.tracks import MoverTracks
    from twin_app.geometry.interpolate import IDWGrid
    from twin_app.model.sensors import AirQualityLayer, MoverLayer, TrafficLayer

    roads, _ = tiled_roads()
    speeds, _ = load_metr_la(SHARED)
    wide = speeds.pivot(index="t", columns="sensor_id", values="value").iloc[:288]
    times = wide.index.to_numpy().astype("datetime64[ns]")
    vals = np.tile(wide.to_numpy(np.float32), (1, int(np.ceil(N_ROADS / wide.shape[1]))))[
        :, :N_ROADS
    ]
    ids = np.arange(N_ROADS).astype(str)
    store = SensorStore.from_wide(times, vals, ids)[0]
    t0 = int(times[0].astype(np.int64))
    traffic = TrafficLayer(
        name="traffic",
        store=store,
        roads=roads,
        segment_sensor=np.arange(N_ROADS),
        free_flow=np.full(N_ROADS, 65.0, np.float32),
    )
    # movers: the 8 Liverpool buses, shifted in space and time to make 10,000
    bus = load_liverpool_bus(SHARED / "trajectories" / "liverpool_bus_route14_outbound.csv")
    t = pd.to_datetime(bus["t"], utc=True).astype("int64").to_numpy()
    x = (bus["lon"].to_numpy() + 2.93) * 70_000.0
    y = (bus["lat"].to_numpy() - 53.42) * 111_000.0
    reps = N_MOVERS // bus["sensor_id"].nunique() + 1
    mid = np.concatenate([bus["sensor_id"].astype(str).to_numpy() + f"-{k}" for k in range(reps)])
    shift_t = np.repeat(np.arange(reps), len(t))
    tt = np.tile(t - t.min(), reps) + t0 + (shift_t % 60) * 60 * NS
    xx = np.tile(x, reps) + (shift_t % 100) * 3000.0
    yy = np.tile(y, reps) + (shift_t // 100) * 3000.0
    keep = np.isin(mid, np.unique(mid)[:N_MOVERS])
    tracks = MoverTracks.from_long(
        mid[keep], tt[keep].astype("datetime64[ns]"), xx[keep], yy[keep]
    )[0]
    movers = MoverLayer(
        name="movers", tracks=tracks, mover_ids=np.asarray(tracks.mover_ids, object), max_gap_s=None
    )
    # air: Beijing PM2.5, 12 stations tiled to 1,000 on a 500 x 500 grid
    air, _ = load_beijing_prsa(
        SHARED, pollutants=("PM2.5",), start="2016-12-18T16:00:00Z", end="2016-12-19T16:00:00Z"
    )
    aw = air.pivot(index="t", columns="sensor_id", values="value")
    a_times = (
        aw.index.to_numpy().astype("datetime64[ns]").astype(np.int64)
        - aw.index.to_numpy().astype("datetime64[ns]").astype(np.int64)[0]
        + t0
    ).astype("datetime64[ns]")
    a_vals = np.tile(aw.to_numpy(np.float32), (1, N_STATIONS // aw.shape[1] + 1))[:, :N_STATIONS]
    a_ids = [f"S{i}/PM2.5" for i in range(N_STATIONS)]
    a_store = SensorStore.from_wide(a_times, a_vals, a_ids)[0]
    rng = np.random.default_rng(0)
    sxy = rng.uniform(0, 20_000, (N_STATIONS, 2))
    g = np.linspace(0, 20_000, GRID)
    aq = AirQualityLayer(
        name="air",
        store=a_store,
        station_ids=np.array([f"S{i}" for i in range(N_STATIONS)], object),
        station_xyz=np.column_stack([sxy, np.zeros(N_STATIONS)]),
        pollutants=("PM2.5",),
        columns=np.arange(N_STATIONS)[:, None],
        interpolator=IDWGrid(sxy, g, g),
        grid_bounds=(0.0, 20_000.0, 0.0, 20_000.0),
        grid=np.full((GRID, GRID), np.nan, np.float32),
    )
    return [traffic, movers, aq], t0


def naive_tick(scene: Any, layers: list[Any], t_ns: int) -> None:
    """What a typical first version does each tick: new meshes and actors through add_mesh."""
    import pyvista as pv

    from twin_app.geometry.lines import ribbons
    from twin_app.render.convert import to_polydata

    traffic, movers, aq = layers
    for layer in layers:
        layer.update(t_ns)
    p = scene.plotter
    lines = traffic.roads.lines
    mesh = ribbons(lines, np.full(lines.n_lines, 8.0), lines.line_feature())  # geometry again
    roads = to_polydata(mesh)
    roads.cell_data["v"] = traffic.values[mesh.cell_data["segment_index"]]
    p.add_mesh(roads, scalars="v", name="naive-roads", render=False, reset_camera=False)
    cloud = pv.PolyData(np.nan_to_num(movers.positions).astype(np.float32))
    cloud["dir"] = np.column_stack(
        [
            np.sin(np.nan_to_num(movers.headings)),
            np.cos(np.nan_to_num(movers.headings)),
            np.zeros(len(movers.headings)),
        ]
    )
    p.add_mesh(
        cloud.glyph(geom=pv.Cone(), orient="dir", scale=False),
        name="naive-movers",
        render=False,
        reset_camera=False,
    )
    n, k, _ = movers.trail.shape
    trail = pv.PolyData(np.nan_to_num(movers.trail.reshape(-1, 3)).astype(np.float32))
    trail.lines = np.column_stack([np.full(n, k), np.arange(n * k).reshape(n, k)]).ravel()
    p.add_mesh(trail, name="naive-trails", render=False, reset_camera=False)
    img = pv.ImageData(dimensions=(GRID, GRID, 1), spacing=(40.0, 40.0, 1.0))
    img.point_data["aqi"] = aq.grid.ravel()
    p.add_mesh(img, scalars="aqi", name="naive-air", render=False, reset_camera=False)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ticks", type=int, default=40)
    ap.add_argument(
        "--tick-only", action="store_true", help="only the tick figures (no rebuild, no store)"
    )
    args = ap.parse_args()
    from twin_app.render.plotter import offscreen_plotter
    from twin_app.render.scene import Scene

    layers, t0 = build_layers()
    scene = Scene(offscreen_plotter(640, 480, aa="off"))
    for layer in layers:
        layer.update(t0)
        scene.add_layer(layer)

    def run_ticks(
        step_s: float, n: int, start_k: int, layers: list[Any] = layers
    ) -> tuple[float, dict[str, float]]:
        """Median ms of a whole tick and of each layer's part of it (update + adapter writes)."""
        samples: list[float] = []
        parts: dict[str, list[float]] = {layer.name: [] for layer in layers}
        for k in range(n):
            t = t0 + round((start_k + k + 1) * step_s * NS)
            a = time.perf_counter()
            for layer in layers:
                b = time.perf_counter()
                layer.update(t)
                parts[layer.name].append(time.perf_counter() - b)
            samples.append(time.perf_counter() - a)
        return 1000 * statistics.median(samples), {
            name: 1000 * statistics.median(v) for name, v in parts.items()
        }

    # Playback at x600 with 25 ticks a second: 24 simulated seconds per tick; every value
    # changes every tick (speeds and PM2.5 are interpolated linearly between samples).
    tick_ms, parts = run_ticks(24.0, args.ticks, 0)
    # Jumps of 5 simulated minutes (x7,500): the movers' trails are wholly new every tick.
    tick_ms_worst, _ = run_ticks(300.0, args.ticks // 2, 10)
    per_layer: dict[str, float] = {f"tick_ms_{name}": ms for name, ms in parts.items()}
    total = sum(parts.values())
    per_layer.update({f"tick_share_{name}": ms / total for name, ms in parts.items()})
    per_layer["tick_ms_worst"] = tick_ms_worst
    result: dict[str, Any] = {
        "tick_ms": tick_ms,
        "ticks_per_s": 1000.0 / tick_ms,
        **per_layer,
        "road_points": int(layers[0].roads.mesh.n_points),
    }
    if not args.tick_only:
        rebuild = []
        for k in range(5):
            a = time.perf_counter()
            naive_tick(scene, layers, t0 + (k + 1) * 300 * NS)
            rebuild.append(time.perf_counter() - a)
        rebuild_ms = 1000 * statistics.median(rebuild)
        result.update({"rebuild_ms": rebuild_ms, "rebuild_ratio": rebuild_ms / tick_ms})
    scene.plotter.close()
    del scene, layers
    if not args.tick_only:
        result.update(store_30d())
    emit(result, args.json)


def store_30d() -> dict[str, float]:
    """Build the 30-day, 5-minute store for 50,000 detectors (tiled METR-LA), spilled to disk."""
    from shared_datasets import load_metr_la

    from twin_app.feeds.store import SensorStore

    speeds, _ = load_metr_la(SHARED)
    wide = speeds.pivot(index="t", columns="sensor_id", values="value").to_numpy(
        np.float32
    )  # 2016 x 207
    n_t = 30 * 288
    rows = np.resize(wide, (n_t, wide.shape[1]))
    reps = N_ROADS // wide.shape[1] + 1

    def block(i: int, j: int) -> np.ndarray:
        # rows i..j of the 50,000-detector table, made on the fly (never the whole 1.7 GB)
        return np.tile(rows[i:j], (1, reps))[:, :N_ROADS]

    t = (np.arange(n_t, dtype=np.int64) * 300 * NS + 1_330_588_800 * NS).astype("datetime64[ns]")
    before = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = SensorStore.from_wide(
            t[:1], block(0, 1), np.arange(N_ROADS).astype(str), spill_dir=tmp, chunk_rows=256
        )
        step = 256
        for i in range(1, n_t, step):
            store.append_wide(t[i : i + step], block(i, i + step))
        a = time.perf_counter()
        for k in range(200):
            store.values_at(int(t[(k * 37) % n_t].astype(np.int64)), "linear")
        query_ms = 1000 * (time.perf_counter() - a) / 200
        out = {
            "store_mb_30d_50k": store.nbytes / 1e6,
            "store_resident_mb_30d_50k": max(rss_mb() - before, 0.0),
            "store_query_ms_30d_50k": query_ms,
        }
        store.close()
    return out


if __name__ == "__main__":
    main()
