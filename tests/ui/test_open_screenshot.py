"""``twin open --screenshot PNG``: the window loads its files, saves the 3D view and quits.

Run as a real ``twin`` process on the session's Xvfb display, with a throw-away home folder
(settings, autosave and log stay out of the user's).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "tests" / "data" / "ground.city.json"

pytestmark = pytest.mark.ui


def _open(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (pytest-xvfb provides one)")
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "twin_app.cli", "open", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_open_saves_the_loaded_view_and_quits(tmp_path: Path) -> None:
    import imageio.v3 as iio

    png = tmp_path / "shot" / "view.png"
    proc = _open(tmp_path, str(CITY), "--screenshot", str(png))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote {png}" in proc.stdout
    img = np.asarray(iio.imread(png))[..., :3].astype(np.int16)
    # the house and the meadow drawn on the background: more than a flat clear colour
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    assert float(img.std()) > 5.0


def test_open_with_a_failed_load_exits_non_zero(tmp_path: Path) -> None:
    png = tmp_path / "view.png"
    proc = _open(tmp_path, str(tmp_path / "missing.geojson"), "--screenshot", str(png))
    assert proc.returncode == 2, proc.stderr[-2000:]
