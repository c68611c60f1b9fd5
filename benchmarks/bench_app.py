"""The planner's app: start-up, orbit frame time on 1M triangles vs bare VTK, pick latency,
and the cost of one clock tick with every panel open against the same tick with no panels.

    python benchmarks/bench_app.py [--json] [--tick-only] [--ticks N]

Runs under Xvfb when there is no display (a real X window, as the app uses). Reported:
- startup_s: from launching a fresh Python process to the sample twin drawn in the main window
- orbit_ms_median / orbit_ms_p95: render time per frame while orbiting a 1M-triangle city
  (the Porto footprints tiled to about 1M triangles) in the app's 3D view at 1920x1080
- bare_vtk_ms_median: the same mesh, same size, same orbit, in a bare vtkRenderWindow
- orbit_ratio: orbit_ms_median / bare_vtk_ms_median
- pick_ms: median time to pick the feature under a pixel (cell picker + static locator),
  pick_ms_p95, and locator_build_s (done once after a load)
- app_tick_ms: median cost of one clock tick of the sample twin (six layers, four of them
  time-driven) in the main window with every panel open, driven through the window's tick
  slot at its own rate (25 ticks a second at the twin's playback rate): layer updates,
  adapters' array writes and every panel's handlers; the 3D render, which the view coalesces
  behind its own timer, is not counted
- app_tick_bare_ms: the same tick with no panels (the session and a 3D view only), and
  app_tick_ratio = app_tick_ms / app_tick_bare_ms (target <= 1.2)
- app_tick_repaint_ms / app_tick_bare_repaint_ms: the repaints those ticks posted (Qt
  events handled right after the tick). In a window holding the GL view, any widget repaint
  composes the whole window again (tens of ms on llvmpipe), apart from the render's own
- `--tick-only` runs only the two tick figures (about a minute)
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
TICK_MS = 40  # the main window's tick interval (25 ticks a second)
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
w.ask_before_quit = False  # a benchmark has no one to answer "save changes?"
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


def _drive_ticks(tick: Any, n: int) -> tuple[list[float], list[float]]:
    """Call `tick` every TICK_MS for n ticks: ms of each tick, and ms of the repaints it posted.

    Between ticks the event loop runs freely (the coalesced 3D render, timers), outside the
    measured time.
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    ticks, repaints = [], []
    t = time.perf_counter()
    for _ in range(n):
        # As the window's QTimer does: the next tick TICK_MS after this one began, or at once
        # (after one pass of the event loop) when this one ran late.
        app.processEvents()
        while time.perf_counter() < t + TICK_MS / 1000.0:
            time.sleep(0.001)
            app.processEvents()
        # The last render's own repaint (pyvistaqt blits every finished render through a
        # widget update) belongs to that render, not to the next tick.
        app.sendPostedEvents()
        t = time.perf_counter()
        tick()
        t1 = time.perf_counter()
        app.sendPostedEvents()  # repaints asked for by the tick (widgets post UpdateRequest)
        ticks.append(1000 * (t1 - t))
        repaints.append(1000 * (time.perf_counter() - t1))
    return ticks, repaints


def _wait(until: Any, timeout_s: float = 180.0) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    end = time.perf_counter() + timeout_s
    while not until():
        if time.perf_counter() > end:
            raise SystemExit("timed out waiting for the sample twin to load")
        app.processEvents()
        time.sleep(0.005)


def _settle(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def app_tick_panels(n: int, tmp: Path) -> tuple[list[float], list[float]]:
    """Ticks of the sample twin in the real main window, every dock shown."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QDockWidget

    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.model.sensors import TrafficLayer
    from twin_app.session import Session
    from twin_app.ui.main_window import QtMainWindow

    QApplication.instance() or QApplication([])
    w = QtMainWindow(Session(), QSettings(str(tmp / "tick.ini"), QSettings.Format.IniFormat))
    w.ask_before_quit = False  # a benchmark has no one to answer "save changes?"
    w.resize(W, H)
    w.show()
    w.open_twin(SAMPLE_DIR)
    _wait(lambda: not w.loading and len(w.session.time_layers()) == 4)
    for dock in w.findChildren(QDockWidget):
        dock.show()
    # The editor and legend show a layer that changes every tick.
    w.layers_panel.select_layer(next(x for x in w.session.layers if isinstance(x, TrafficLayer)))
    w.tick_timer.stop()  # ticks come from the driver below, through the same slot
    w.session.clock.play()
    _settle(1.0)
    samples = _drive_ticks(w.tick_timer.timeout.emit, n)
    w.session.clock.pause()
    w.close()
    return samples


def app_tick_bare(n: int) -> tuple[list[float], list[float]]:
    """The same ticks of the same twin with no panels: a session and a 3D view only."""
    from PySide6.QtCore import QElapsedTimer
    from PySide6.QtWidgets import QApplication

    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.session import Session
    from twin_app.ui.view3d import QtView3D

    QApplication.instance() or QApplication([])
    session = Session()
    view = QtView3D(session)
    view.resize(W, H)
    view.show()
    _open_sample(session, SAMPLE_DIR)
    _wait(lambda: len(session.time_layers()) == 4)
    session.clock.play()
    _settle(1.0)
    tick = session.tick
    wall = QElapsedTimer()
    wall.start()
    samples = _drive_ticks(lambda: tick(wall.restart() / 1000.0), n)
    session.clock.pause()
    view.close()
    return samples


def _open_sample(session: Any, folder: Path) -> None:
    """Open a twin folder into a session without a window, as the window does."""
    session.add_twin(session.open_twin(folder))


def app_ticks(n: int) -> dict[str, Any]:
    """app_tick_ms (every panel open) and app_tick_bare_ms (no panels), medians of n ticks."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        full, full_paint = app_tick_panels(n, Path(tmp))
    bare, bare_paint = app_tick_bare(n)
    return {
        "app_tick_ms": float(np.median(full)),
        "app_tick_p95_ms": float(np.percentile(full, 95)),
        "app_tick_bare_ms": float(np.median(bare)),
        "app_tick_bare_p95_ms": float(np.percentile(bare, 95)),
        "app_tick_ratio": float(np.median(full) / np.median(bare)),
        "app_tick_repaint_ms": float(np.median(full_paint)),
        "app_tick_bare_repaint_ms": float(np.median(bare_paint)),
        "app_ticks": n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--tick-only", action="store_true", help="only app_tick_ms and app_tick_bare_ms"
    )
    ap.add_argument("--ticks", type=int, default=250, help="ticks per tick figure")
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
        cmd += ["--ticks", str(args.ticks)]
        if args.json:
            cmd.append("--json")
        if args.tick_only:
            cmd.append("--tick-only")
        raise SystemExit(subprocess.call(cmd))
    import tempfile

    result: dict[str, Any] = {}
    if not args.tick_only:
        with tempfile.TemporaryDirectory() as tmp:
            result["startup_s"] = startup_s(Path(tmp))
        result.update(orbit_and_pick())
    result.update(app_ticks(args.ticks))
    emit(result, args.json)


if __name__ == "__main__":
    main()
