"""The planner's app: start-up, orbit frame time on 1M triangles vs bare VTK, pick latency.

    python benchmarks/bench_app.py [--json]

Runs under Xvfb when there is no display (a real X window, as the app uses). Reported:
- startup_s: from launching a fresh Python process to the sample twin drawn in the main window
- orbit_ms_median / orbit_ms_p95: render time per frame while orbiting a 1M-triangle city
  (the Porto footprints tiled to about 1M triangles) in the app's 3D view at 1920x1080
- bare_vtk_ms_median: the same mesh, same size, same orbit, in a bare vtkRenderWindow
- orbit_ratio: orbit_ms_median / bare_vtk_ms_median
- pick_ms: median time to pick the feature under a pixel (cell picker + static locator),
  pick_ms_p95, and locator_build_s (done once after a load)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit

W, H = 1920, 1080
N_BUILDINGS = 62_000  # about 1M triangles of real Porto footprints
FRAMES = 40

STARTUP_CHILD = r"""
import sys, time
t0 = time.perf_counter()
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from twin_app.io.manifest import SAMPLE_DIR, read_manifest
from twin_app.session import Session
from twin_app.ui.main_window import QtMainWindow
app = QApplication([])
w = QtMainWindow(Session(), QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
w.load_paths(read_manifest(SAMPLE_DIR).paths())
def check():
    if w.loading or not len(w.session.layers):
        QTimer.singleShot(5, check)
        return
    w.view.scene.render()  # the frame that shows the loaded twin
    print("READY", flush=True)
    app.quit()
QTimer.singleShot(0, check)
app.exec()
"""


def startup_s(tmp: Path) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", STARTUP_CHILD, str(tmp / "bench.ini")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    t1 = time.perf_counter()
    if "READY" not in out.stdout:
        raise SystemExit(f"startup child failed:\n{out.stderr[-3000:]}")
    return t1 - t0


def orbit_and_pick() -> dict[str, Any]:
    import vtk
    from bench_city import footprints_file
    from PySide6.QtWidgets import QApplication
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    from twin_app.io.load import load_city
    from twin_app.model.camera import orbit
    from twin_app.render.navigation import apply_pose, pose_of
    from twin_app.session import Session
    from twin_app.ui.view3d import QtView3D

    app = QApplication.instance() or QApplication([])
    result = load_city([footprints_file(N_BUILDINGS)])
    session = Session()
    view = QtView3D(session)
    view.resize(W, H)
    view.show()
    app.processEvents()
    session.add_result(result)
    app.processEvents()
    view.scene.render()
    tris = sum(s.mesh.n_triangles for s in result.city.sets)
    ren_win = view.interactor.ren_win
    renderer = view.scene.plotter.renderer
    assert tuple(ren_win.GetSize()) == (W, H), ren_win.GetSize()
    pivot = tuple(renderer.GetActiveCamera().GetFocalPoint())

    def orbit_frames(render: Any, ren: Any) -> list[float]:
        times = []
        for _ in range(FRAMES):
            apply_pose(ren, orbit(pose_of(ren.GetActiveCamera()), pivot, 4.0, 0.0))
            t = time.perf_counter()
            render()
            times.append(1000 * (time.perf_counter() - t))
        return times

    ren_win.Render()
    ours = orbit_frames(ren_win.Render, renderer)
    # picking
    t = time.perf_counter()
    view.picker.build_locators()
    locator_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    picks, hits = [], 0
    for x, y in zip(rng.integers(0, W, 300), rng.integers(0, H, 300), strict=True):
        t = time.perf_counter()
        hit = view.picker.pick(int(x), int(y))
        picks.append(1000 * (time.perf_counter() - t))
        hits += hit is not None
    pose = pose_of(renderer.GetActiveCamera())
    view.close_view()
    # bare VTK: the same triangles, the same window size and camera path
    pts = np.concatenate([s.mesh.points for s in result.city.sets]).astype(np.float32)
    offs = np.cumsum([0] + [s.mesh.n_points for s in result.city.sets[:-1]])
    faces = np.concatenate(
        [s.mesh.triangles + o for s, o in zip(result.city.sets, offs, strict=True)]
    )
    points = vtk.vtkPoints()
    points.SetData(numpy_to_vtk(pts, deep=True))
    cells = vtk.vtkCellArray()
    cells.SetData(
        numpy_to_vtkIdTypeArray(np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64), deep=True),
        numpy_to_vtkIdTypeArray(faces.ravel().astype(np.int64), deep=True),
    )
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cells)
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(poly)
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    bare_ren = vtk.vtkRenderer()
    bare_ren.AddActor(actor)
    bare_win = vtk.vtkRenderWindow()
    bare_win.SetMultiSamples(0)
    bare_win.SetSize(W, H)
    bare_win.AddRenderer(bare_ren)
    apply_pose(bare_ren, pose)
    bare_win.Render()
    bare = orbit_frames(bare_win.Render, bare_ren)
    bare_win.Finalize()
    return {
        "triangles": int(tris),
        "orbit_ms_median": float(np.median(ours)),
        "orbit_ms_p95": float(np.percentile(ours, 95)),
        "orbit_fps": float(1000.0 / np.median(ours)),
        "bare_vtk_ms_median": float(np.median(bare)),
        "bare_vtk_ms_p95": float(np.percentile(bare, 95)),
        "orbit_ratio": float(np.median(ours) / np.median(bare)),
        "pick_ms": float(np.median(picks)),
        "pick_ms_p95": float(np.percentile(picks, 95)),
        "pick_hits": int(hits),
        "locator_build_s": float(locator_s),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not os.environ.get("DISPLAY") and not args.child:
        if shutil.which("xvfb-run") is None:
            raise SystemExit("bench_app needs an X display or xvfb-run (apt-get install xvfb)")
        cmd = [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 2560x1440x24",
            sys.executable,
            __file__,
            "--child",
        ]
        if args.json:
            cmd.append("--json")
        raise SystemExit(subprocess.call(cmd))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, Any] = {"startup_s": startup_s(Path(tmp))}
    result.update(orbit_and_pick())
    emit(result, args.json)


if __name__ == "__main__":
    main()
