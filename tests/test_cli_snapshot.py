"""``twin render --title --attribution``: the picture carries its title and the data's
attribution from the twin's manifest (the OSM extract: "© OpenStreetMap contributors")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin_app.cli import main
from twin_app.io.manifest import SAMPLE_DIR


def _render(out: Path, *extra: str) -> np.ndarray:
    import imageio.v3 as iio

    sample = str(SAMPLE_DIR / "london.osm.pbf")
    rc = main(["render", sample, "-o", str(out), "--size", "960x540", "--aa", "off", *extra])
    assert rc == 0
    return np.asarray(iio.imread(out))[..., :3]


def test_render_draws_title_and_attribution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = _render(tmp_path / "plain.png")
    titled = _render(tmp_path / "titled.png", "--title", "The Square Mile", "--attribution")
    assert "wrote" in capsys.readouterr().out and titled.shape == (540, 960, 3)
    d = np.abs(plain.astype(int) - titled.astype(int)).max(axis=2) > 40
    # the title changed the top centre, the attribution the bottom right, and the legends
    # (top left) moved down below the title's band; the 3D view is the same picture
    assert d[:50, 320:640].sum() > 200
    assert d[-40:, 480:].sum() > 150
    d[:50, 320:640] = False
    d[-40:, 480:] = False
    d[:, :330] = False
    assert d.mean() < 0.001


def test_render_without_a_display_prints_no_vtk_warning(tmp_path: Path) -> None:
    """Without DISPLAY, VTK goes to EGL at once instead of trying X and warning on stderr."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    geo = tmp_path / "one.geojson"
    geo.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"height":9},'
        '"geometry":{"type":"Polygon","coordinates":[[[-0.1,51.5],[-0.0998,51.5],'
        "[-0.0998,51.5001],[-0.1,51.5001],[-0.1,51.5]]]}}]}"
    )
    out = tmp_path / "one.png"
    code = "import sys; from twin_app.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "render", str(geo), "-o", str(out), "--size", "64x48"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "bad X server" not in done.stderr and "WARN" not in done.stderr
