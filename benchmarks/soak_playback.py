"""Soak: play the sample twin in the real window for minutes and check that it stays alive.

    python benchmarks/soak_playback.py [--minutes 3] [--rate 600] [--json]

Runs the main window under Xvfb when there is no display, opens the bundled sample twin, presses
play and lets the app's own timer tick the clock (25 ticks a second, the timeline and every panel
repainting) for the given wall time, looping over the replay range. Reported:
- soak_minutes: wall minutes played; alive: the process ended by itself, not by an abort
- ticks: clock ticks in that time; repaints of the timeline's sparkline
- none_refcount_drift: change of ``sys.getrefcount(None)`` over the run (a binding that leaks
  references to None, as PySide6 6.12.0 does on Python 3.11, drives it down by thousands a minute
  until the process aborts with ``none_dealloc``); immortal None (Python >= 3.12) gives 0
- rss_start_mb / rss_end_mb / rss_slope_mb_per_h: resident memory after the twin is playing,
  at the end, and its least-squares slope
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit

CHILD = r"""
import json, sys, time, tempfile
import numpy as np
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.session import Session
from twin_app.ui.main_window import QtMainWindow

minutes, rate = float(sys.argv[1]), float(sys.argv[2])

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

app = QApplication([])
ini = tempfile.NamedTemporaryFile(suffix=".ini", delete=False).name
w = QtMainWindow(Session(), QSettings(ini, QSettings.Format.IniFormat))
w.ask_before_quit = False  # nobody answers "save changes?" at the end of a soak
w.resize(1600, 1000)
w.show()
w.open_twin(SAMPLE_DIR)
state = {"t0": None, "ticks": 0, "paints": 0, "samples": []}
orig_tick, orig_paint = w.tick, w.timeline.spark.paintEvent

def tick():
    state["ticks"] += 1
    orig_tick()

def paint(ev):
    state["paints"] += 1
    orig_paint(ev)

w.tick_timer.timeout.disconnect()
w.tick_timer.timeout.connect(tick)
w.timeline.spark.paintEvent = paint

def started():
    return not w.loading and any(l.time_range() for l in w.session.time_layers())

def sample():
    t = time.monotonic() - state["t0"]
    state["samples"].append((t, rss_mb(), sys.getrefcount(None)))
    if t >= minutes * 60:
        app.quit()
        return
    QTimer.singleShot(10_000, sample)

def start():
    if not started():
        QTimer.singleShot(100, start)
        return
    c = w.session.clock
    c.loop = True
    c.set_rate(rate)
    if not c.playing:
        c.toggle()
    state["t0"] = time.monotonic()
    sample()

QTimer.singleShot(0, start)
app.exec()
s = np.array(state["samples"])
slope = float(np.polyfit(s[:, 0] / 3600, s[:, 1], 1)[0]) if len(s) > 2 else float("nan")
print("RESULT " + json.dumps({
    "soak_minutes": float(s[-1, 0] / 60), "ticks": state["ticks"],
    "sparkline_repaints": state["paints"],
    "none_refcount_drift": int(s[-1, 2] - s[0, 2]),
    "rss_start_mb": float(s[0, 1]), "rss_end_mb": float(s[-1, 1]),
    "rss_slope_mb_per_h": slope,
}), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=600.0, help="playback rate (x real time)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cmd = [sys.executable, "-c", CHILD, str(args.minutes), str(args.rate)]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("soak_playback needs an X display or xvfb-run (apt-get install xvfb)")
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    result: dict[str, Any] = {"alive": line is not None and out.returncode == 0}
    if line is None:
        tail = "\n".join(out.stderr.splitlines()[-8:])
        result["exit_code"] = out.returncode
        result["error"] = tail
    else:
        result.update(json.loads(line[len("RESULT ") :]))
    emit(result, args.json)
    if not result["alive"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
