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
