"""``twin render`` draws an IFC file coloured by IFC class, with a legend of the classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin_app.cli import main

HOUSE = Path("/work/shared/data/ifc/IfcOpenHouse_IFC4.ifc")
for _p in Path(__file__).resolve().parents:
    if (_p / "shared" / "data" / "ifc" / HOUSE.name).exists():
        HOUSE = _p / "shared" / "data" / "ifc" / HOUSE.name
        break

pytestmark = pytest.mark.skipif(not HOUSE.exists(), reason="shared IFC files absent")


def _render(tmp_path: Path, name: str, *extra: str) -> np.ndarray:
    import imageio.v3 as iio

    out = tmp_path / name
    argv = ["render", str(HOUSE), "-o", str(out), "--size", "480x320", "--aa", "off", *extra]
    assert main(argv) == 0
    return np.asarray(iio.imread(out))[..., :3]


def test_render_ifc_colours_by_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWIN_APP_CACHE", str(tmp_path / "cache"))
    by_class = _render(tmp_path, "class.png", "--at", "8.43,49.10")
    err = capsys.readouterr().err
    assert "twin: error" not in err
    # the house is drawn (the background is the top right corner's colour)
    corner = by_class[0, -1].astype(int)
    drawn = np.abs(by_class.astype(int) - corner).sum(axis=-1) > 30
    assert drawn.mean() > 0.05
    # several class colours show (the IfcLayer's fixed palette, branch ifcapp): each drawn
    # pixel goes to the class whose colour's chromaticity is nearest (shading scales a colour,
    # it keeps its chromaticity); the site's green, the glass plates' blue and the frames'
    # brown each cover a share of the picture
    from twin_app.model.style import IFC_CLASS_COLORS, hex_to_rgb

    names = ["IfcSite", "IfcPlate", "IfcMember", "IfcWallStandardCase", "IfcSlab"]
    ref = np.array([hex_to_rgb(IFC_CLASS_COLORS[n]) for n in names])
    ref = ref / ref.sum(axis=1, keepdims=True)
    px = by_class[drawn].astype(float)
    px = px / np.maximum(px.sum(axis=1, keepdims=True), 1.0)
    nearest = np.argmin(((px[:, None, :] - ref[None]) ** 2).sum(axis=2), axis=1)
    share = np.bincount(nearest, minlength=len(names)) / len(nearest)
    assert (share[:3] > 0.002).all(), dict(zip(names, share.round(4), strict=True))
