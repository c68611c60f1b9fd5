"""File -> first frame for 10k and 100k real footprints, against the naive way and a bare floor.

The footprints are the 11,393 real Porto OSM buildings (../shared/data/osm/porto.osm.pbf),
tiled side by side to reach N and written once to a GeoPackage under .bench-cache/. Each N runs
in a fresh subprocess so peak memory is per N.

    python benchmarks/bench_city.py [--json] [--sizes 10000,100000]

Reported:
- read_s, build_s, first_frame_s, total_s (= file to first frame), triangles, peak_mb per N
- naive_ratio: per-building ``pv.PolyData(...).extrude(...)`` + ``pv.merge`` at 10k / our build
- floor_ratio: our total at 100k / (``pyogrio.read_dataframe(use_arrow=True)`` of the same
  file + one bare VTK render of our final mesh at 1920x1080, no anti-aliasing); the Arrow read
  without geometry decoding (``pyogrio.read_arrow``) is reported as raw_arrow_read_s
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, SHARED, emit, peak_rss_mb

W, H = 1920, 1080


def footprints_file(n: int) -> Path:
    """GeoPackage of n real footprints (Porto tiled on a grid), built once."""
    out = CACHE / f"porto_tiled_{n}.gpkg"
    if out.exists():
        return out
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    CACHE.mkdir(exist_ok=True)
    src = pyogrio.read_dataframe(
        SHARED / "osm" / "porto.osm.pbf", layer="multipolygons", use_arrow=True
    )
    src = src[src["building"].notna()][
        ["osm_id", "osm_way_id", "building", "other_tags", "geometry"]
    ]
    src = src.to_crs(32629).reset_index(drop=True)
    minx, miny, maxx, maxy = src.total_bounds
    dx, dy = (maxx - minx) * 1.02, (maxy - miny) * 1.02
    tiles = []
    k = 0
    side = int(np.ceil(np.sqrt(n / len(src))))
    while sum(len(t) for t in tiles) < n:
        i, j = divmod(k, side)
        t = src.copy()
        t["geometry"] = shapely.transform(
            t.geometry.values, lambda c, i=i, j=j: c + np.array([j * dx, i * dy])
        )
        t["tile"] = k
        tiles.append(t)
        k += 1
    allb = gpd.GeoDataFrame(pd.concat(tiles, ignore_index=True).iloc[:n], crs=src.crs)
    allb["id"] = (
        allb["osm_id"].fillna(allb["osm_way_id"]).astype(str) + "-" + allb["tile"].astype(str)
    )
    levels = allb["other_tags"].str.extract(r'"building:levels"=>"(\d+)"', expand=False)
    allb["building:levels"] = pd.to_numeric(levels, errors="coerce")
    allb = allb[["id", "building", "building:levels", "geometry"]]
    tmp = out.with_suffix(".tmp.gpkg")
    allb.to_file(tmp, layer="buildings", driver="GPKG", engine="pyogrio")
    tmp.replace(out)
    return out


def run_ours(path: Path) -> dict[str, Any]:
    """Our path: read (registry) -> local frame + extrusion -> Scene -> first frame."""
    import geopandas  # noqa: F401  (import time is start-up, not loading; the floor imports first too)
    import pyogrio  # noqa: F401
    import pyvista.plotting  # noqa: F401
    import shapely  # noqa: F401

    from twin_app.io.load import build_sets, choose_frame
    from twin_app.io.registry import read_path
    from twin_app.model.layers import layer_for
    from twin_app.render.plotter import gl_info, offscreen_plotter
    from twin_app.render.scene import Scene

    gl_info()  # one-off GL probe, not part of loading a file
    t0 = time.perf_counter()
    sources = read_path(path)
    t1 = time.perf_counter()
    frame = choose_frame(sources)
    sets = [s for src in sources for s in build_sets(src, frame)]
    t2 = time.perf_counter()
    plotter = offscreen_plotter(W, H, aa="auto")
    scene = Scene(plotter)
    for fs in sets:
        scene.add_layer(layer_for(fs))
    scene.set_view("oblique")
    plotter.ren_win.Render()
    t3 = time.perf_counter()
    tris = sum(s.mesh.n_triangles for s in sets)
    mesh_pts = np.concatenate([s.mesh.points for s in sets]).astype(np.float32)
    mesh_tris = np.concatenate([s.mesh.triangles for s in sets])
    np.save(CACHE / "final_points.npy", mesh_pts)
    np.save(CACHE / "final_tris.npy", mesh_tris)
    plotter.close()
    return {
        "read_s": t1 - t0,
        "build_s": t2 - t1,
        "first_frame_s": t3 - t2,
        "total_s": t3 - t0,
        "triangles": int(tris),
        "buildings": int(sum(s.n_features for s in sets)),
        "peak_mb": peak_rss_mb(),
    }


def run_floor(path: Path) -> dict[str, Any]:
    """Bare floor: raw Arrow read of the same file + one bare VTK render of our final mesh."""
    import pyogrio
    import vtk
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    pts = np.load(CACHE / "final_points.npy")
    tris = np.load(CACHE / "final_tris.npy")
    ta = time.perf_counter()
    pyogrio.read_arrow(path)  # no geometry decoding at all: reported, not the floor
    tb = time.perf_counter()
    t0 = time.perf_counter()
    pyogrio.read_dataframe(path, use_arrow=True)  # the file's features as geometries
    t1 = time.perf_counter()
    points = vtk.vtkPoints()
    points.SetData(numpy_to_vtk(pts, deep=False))
    cells = vtk.vtkCellArray()
    offsets = np.arange(0, 3 * len(tris) + 1, 3, dtype=np.int64)
    cells.SetData(
        numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_to_vtkIdTypeArray(tris.ravel().astype(np.int64), deep=True),
    )
    pd = vtk.vtkPolyData()
    pd.SetPoints(points)
    pd.SetPolys(cells)
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(pd)
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    ren = vtk.vtkRenderer()
    ren.AddActor(actor)
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(True)
    rw.SetMultiSamples(0)
    rw.SetSize(W, H)
    rw.AddRenderer(ren)
    ren.ResetCamera()
    ren.GetActiveCamera().Elevation(-55)
    rw.Render()
    t2 = time.perf_counter()
    return {
        "raw_arrow_read_s": tb - ta,
        "floor_read_s": t1 - t0,
        "floor_render_s": t2 - t1,
        "floor_s": t2 - t0,
    }


def run_naive(path: Path, n: int) -> dict[str, Any]:
    """The naive way: one pv.PolyData + extrude per building, then one merge."""
    import pyvista as pv
    import shapely

    from twin_app.io.registry import read_path

    gdf = read_path(path)[0].buildings
    assert gdf is not None
    geoms = gdf.geometry.values[:n]
    heights = gdf["height_m"].to_numpy()[:n]
    t0 = time.perf_counter()
    parts = []
    for g, h in zip(geoms, heights, strict=True):
        for poly in getattr(g, "geoms", [g]):
            xy = np.asarray(poly.exterior.coords)[:-1]
            pts = np.column_stack([xy, np.zeros(len(xy))])
            face = pv.PolyData(pts, faces=np.concatenate([[len(xy)], np.arange(len(xy))]))
            parts.append(face.extrude((0, 0, float(h)), capping=True))
    merged = pv.merge(parts)
    t1 = time.perf_counter()
    del shapely
    return {"naive_build_s": t1 - t0, "naive_triangles": int(merged.triangulate().n_cells)}


def child(kind: str, n: int) -> None:
    path = footprints_file(n)
    if kind == "ours":
        out = run_ours(path)
    elif kind == "floor":
        out = run_floor(path)
    else:
        out = run_naive(path, n)
    print(json.dumps(out))


def in_subprocess(kind: str, n: int) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise SystemExit(f"benchmark child {kind} {n} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--naive-n", type=int, default=10_000)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    result: dict[str, Any] = {}
    for n, tag in ((10_000, "10k"), (100_000, "100k")):
        footprints_file(n)
        ours = in_subprocess("ours", n)
        for k, v in ours.items():
            result[f"{k}_{tag}"] = v
        if n == 100_000:
            floor = in_subprocess("floor", n)
            for k, v in floor.items():
                result[f"{k}_{tag}"] = v
            result["floor_ratio"] = ours["total_s"] / floor["floor_s"]
        if n == 10_000:
            naive = in_subprocess("naive", min(n, args.naive_n))
            result["naive_build_s_10k"] = naive["naive_build_s"]
            result["naive_ratio"] = naive["naive_build_s"] / ours["build_s"]
    emit(result, args.json)


if __name__ == "__main__":
    main()
