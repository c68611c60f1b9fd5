"""The PyInstaller bundle (packaging/twin_app.spec) starts, opens the sample twin and renders it.

Skipped until ``dist/twin_app/twin`` exists: ``make test-bundle`` builds the bundle and runs
these tests (``make bundle`` builds it alone). The bundle runs from a folder outside the
repository with a clean environment (no ``PYTHONPATH``, a fresh ``HOME`` and XDG folders), so
it sees only what it carries. The offscreen render is compared with the same render from this
checkout: a missing font, colormap or data file in the bundle shows as a different image. The
window is opened under the session's Xvfb display (pytest-xvfb) and, once the sample twin has
loaded (its IFC building meshed by the bundle's own worker process), saves its 3D view.
The scenario report (matplotlib's SVG backend, imported by name) and a story's video (the
bundled ffmpeg) come from the bundle too: pieces that are only found at run time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "twin_app"
TWIN = BUNDLE / "twin"
SAMPLE = ROOT / "twin_app" / "city_models" / "city_of_london"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not TWIN.is_file(), reason="no bundle in dist/twin_app: `make bundle`"),
]


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A work folder outside the repository and a clean environment to run the bundle in."""
    work = tmp_path_factory.mktemp("bundle")
    assert not work.resolve().is_relative_to(ROOT)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NUMBA_CACHE_DIR")
    }
    home = work / "home"
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    return work, env


def _image(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    assert path.is_file(), f"{path} was not written"
    return np.asarray(iio.imread(path))[..., :3].astype(np.int16)


def _assert_drawn(img: np.ndarray) -> None:
    """Not blank: many colours and a spread of values, as a city with legends has."""
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 500, f"only {len(colours)} colours"
    assert float(img.std()) > 15.0, f"pixel standard deviation {img.std():.1f}"


def _files_written_into(folder: Path, since: float) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime > since]


def _run_bundle(
    args: list[str], work: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the bundle's ``twin`` with `args` from `work`; it must exit 0 with no traceback."""
    proc = subprocess.run(
        [str(TWIN), *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def test_bundle_renders_the_sample_twin_like_the_checkout(
    outside: tuple[Path, dict[str, str]],
) -> None:
    work, env = outside
    args = ["render", str(SAMPLE), "--size", "800x500", "--aa", "off", "--at", "2026-03-02T08:30"]
    frozen, source = work / "bundle.png", work / "source.png"
    _run_bundle([*args, "-o", str(frozen)], work, env)
    img = _image(frozen)
    assert img.shape == (500, 800, 3)
    _assert_drawn(img)

    ref = subprocess.run(
        [sys.executable, "-m", "twin_app.cli", *args, "-o", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ref.returncode == 0, ref.stderr[-3000:]
    diff = np.abs(img - _image(source))
    # the same scene through the same code and GL: any missing piece changes whole regions
    assert float(diff.mean()) < 2.0, f"mean difference {diff.mean():.2f} from the checkout"
    assert float((diff.max(axis=2) > 40).mean()) < 0.01


@pytest.mark.ui
def test_bundle_opens_the_sample_twin_in_the_window(outside: tuple[Path, dict[str, str]]) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (pytest-xvfb provides one)")
    work, env = outside
    shot = work / "window.png"
    started = time.time()
    # no paths: the app opens its default, the sample twin bundled as package data
    _run_bundle(["open", "--screenshot", str(shot)], work, env, timeout=400)
    img = _image(shot)
    _assert_drawn(img)
    # the bundle may be read-only: nothing (numba's cache, bytecode) is written into it, and
    # numba's cache follows NUMBA_CACHE_DIR, not its fallback for unknown sources
    assert _files_written_into(BUNDLE, started) == []
    assert not (Path(env["XDG_CACHE_HOME"]) / "numba").exists()
    log = Path(env["XDG_DATA_HOME"]).rglob("twin_app.log")
    assert all("Traceback" not in p.read_text() for p in log)


def test_bundle_writes_the_scenario_report_with_its_charts(
    outside: tuple[Path, dict[str, str]],
) -> None:
    # the report's charts are matplotlib SVG: a backend PyInstaller only bundles when told
    work, env = outside
    report = work / "report.html"
    _run_bundle(
        ["scenario", "run", "-o", str(report), str(SAMPLE / "scenarios" / "close_road.toml")],
        work,
        env,
    )
    html = report.read_text()
    assert html.count("<svg") >= 1, "no chart in the report"
    assert html.count("data:image/png;base64,") >= 2, "no renders in the report"


def test_bundle_films_the_sample_story(outside: tuple[Path, dict[str, str]]) -> None:
    # offscreen frames through VTK and pyvista, encoded by the bundled ffmpeg
    import imageio.v3 as iio

    work, env = outside
    video = work / "tour.mp4"
    story = SAMPLE / "stories" / "tour.toml"
    args = ["video", str(story), "-o", str(video), "--size", "320x200", "--fps", "2"]
    proc = _run_bundle(args, work, env)
    wrote = re.search(r"\((\d+) frames, 320x200 at 2 fps", proc.stdout + proc.stderr)
    assert wrote, (proc.stdout + proc.stderr)[-2000:]
    meta = iio.immeta(video)
    assert tuple(meta["size"]) == (320, 200)
    assert meta["duration"] * 2 == pytest.approx(int(wrote.group(1)), abs=1)
    middle = np.asarray(iio.imread(video, index=int(wrote.group(1)) // 2)).astype(np.int16)
    assert float(middle.std()) > 15.0, f"pixel standard deviation {middle.std():.1f}"
