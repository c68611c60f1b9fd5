"""Golden images of the city scene: the bundled sample twin's buildings drawn offscreen.

Each case renders ``london.osm.pbf`` of the sample twin through ``twin render`` (400 x 300,
no anti-aliasing, a fixed view preset) and compares the PNG with ``tests/render/golden/``.

Tolerance: a pixel differs when any channel is more than :data:`CHANNEL_TOLERANCE` (24 of
255) away from the golden image; a case fails when more than :data:`MAX_DIFFERING` (1 %) of
the pixels differ. That absorbs driver and rasteriser noise along edges (EGL, Mesa or another
GPU) but not a moved camera, a missing layer or a changed colour map. On a failure the rendered
image and a diff mask are written next to the test's temporary folder (see the message).

Regenerate after an intended change of the picture, and look at the new PNGs before you
commit them::

    TWIN_UPDATE_GOLDEN=1 pytest tests/render/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twin_app.cli import main
from twin_app.io.manifest import SAMPLE_DIR

GOLDEN = Path(__file__).resolve().parent / "golden"
CHANNEL_TOLERANCE = 24
MAX_DIFFERING = 0.01
SIZE = "400x300"

#: case name -> extra ``twin render`` arguments (the camera preset)
CASES: dict[str, list[str]] = {
    "london_top": ["--view", "top"],
    "london_oblique": ["--view", "oblique"],
    "london_oblique_from_east": ["--view", "oblique", "--azimuth", "90"],
}


def _read_png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    img = np.asarray(iio.imread(path))
    return img[..., :3] if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)


def _render(out: Path, args: list[str]) -> np.ndarray:
    sample = str(SAMPLE_DIR / "london.osm.pbf")
    rc = main(["render", sample, "-o", str(out), "--size", SIZE, "--aa", "off", *args])
    assert rc == 0 and out.is_file()
    return _read_png(out)


@pytest.mark.parametrize("case", list(CASES))
def test_city_scene_matches_golden(case: str, tmp_path: Path) -> None:
    golden = GOLDEN / f"{case}.png"
    rendered = tmp_path / f"{case}.png"
    got = _render(rendered, CASES[case])
    assert got.shape == (300, 400, 3)
    if os.environ.get("TWIN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(rendered.read_bytes())
        pytest.skip(f"golden image {golden.name} written: look at it before committing")
    assert golden.is_file(), f"no golden {golden}; make it with TWIN_UPDATE_GOLDEN=1"
    want = _read_png(golden)
    assert want.shape == got.shape
    differs = (np.abs(got.astype(np.int16) - want.astype(np.int16)) > CHANNEL_TOLERANCE).any(axis=2)
    fraction = float(differs.mean())
    if fraction > MAX_DIFFERING:
        import imageio.v3 as iio

        iio.imwrite(tmp_path / f"{case}_diff.png", (differs * 255).astype(np.uint8))
    assert fraction <= MAX_DIFFERING, (
        f"{case}: {fraction:.2%} of pixels differ from {golden.name} by more than "
        f"{CHANNEL_TOLERANCE}/255 (allowed {MAX_DIFFERING:.0%}); rendered image and diff mask "
        f"in {tmp_path}"
    )


def test_golden_images_are_not_blank() -> None:
    """The goldens themselves show a city: many colours, no single colour over 90 %."""
    for case in CASES:
        img = _read_png(GOLDEN / f"{case}.png")
        colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
        assert len(colours) > 50, case
        assert counts.max() / counts.sum() < 0.9, case
