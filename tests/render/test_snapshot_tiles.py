"""High-resolution screenshots on pixels of real offscreen VTK windows: a tiled picture is the
single render's picture (no seams at the tile borders, the legend and the texts in the same
pixels), the title and the attribution are drawn, and a 7680x4320 picture has its size, its
legend at the picture's scale and its attribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.compare_fixtures import compare_session
from twin_app.model.camera import CameraPose
from twin_app.render.snapshot import max_render_size, snapshot, tiles
from twin_app.session import Session

OSM = "© OpenStreetMap contributors"


@pytest.fixture(scope="module")
def session() -> Session:
    s = compare_session()
    s.camera.set_pose(CameraPose((-60.0, -260.0, 190.0), (5.0, 10.0, 0.0), (0.0, 0.0, 1.0)))
    return s


def _diff(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)


def _dark(img: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return img.max(axis=2) < 90


def test_tiles_cover_the_picture() -> None:
    ts = tiles(7680, 4320, 4096)
    assert [(t.x0, t.y0, t.w, t.h) for t in ts] == [
        (0, 0, 3840, 2160),
        (3840, 0, 3840, 2160),
        (0, 2160, 3840, 2160),
        (3840, 2160, 3840, 2160),
    ]
    odd = tiles(1000, 700, 300)  # 4 x 3 tiles of 250 x 234: the top row overhangs by 2
    assert len(odd) == 12 and {(t.w, t.h) for t in odd} == {(250, 234)}
    assert max(t.y0 + t.h for t in odd) >= 700 and max(t.x0 + t.w for t in odd) >= 1000
    assert max_render_size() >= 4096  # Mesa llvmpipe: 16384


def test_tiled_picture_is_the_single_render(session: Session, tmp_path: Path) -> None:
    w, h = 900, 500
    kw: dict[str, Any] = {"title": "Tiles", "attribution": OSM, "aa": "off"}
    single = snapshot(session, (w, h), **kw)
    # 4 x 3 tiles of 225 x 167, the top row overhanging the picture by one row
    tiled = snapshot(session, (w, h), max_side=230, path=tmp_path / "t.png", **kw)
    assert tiled.shape == single.shape == (h, w, 3)
    d = _diff(single, tiled)
    # The same projection: a handful of pixels on coplanar edges may round differently ...
    assert (d > 8).mean() < 0.002, (d > 8).mean()
    # ... but never along a tile border (a seam would be a whole line of them).
    for t in tiles(w, h, 230):
        if 0 < t.x0 < w:
            assert (d[:, t.x0 - 1 : t.x0 + 1] > 8).mean() < 0.01
        if 0 < t.y0 < h:
            row = h - t.y0
            assert (d[row - 1 : row + 1, :] > 8).mean() < 0.01
    # The overlays are laid out once for the picture: legends, title, scale bar the same.
    assert (d[: h // 2, : w // 3] == 0).mean() > 0.999  # legends (top left)
    assert (d[: h // 8, w // 3 : 2 * w // 3] == 0).all()  # the title (top centre)
    assert (d[-h // 12 :, w // 2 :] == 0).all()  # the attribution (bottom right)
    from imageio.v3 import imread

    assert np.array_equal(imread(tmp_path / "t.png"), tiled)


def test_title_and_attribution_are_drawn(session: Session) -> None:
    w, h = 640, 360
    bare = snapshot(session, (w, h), title="", attribution="", aa="off")
    text = snapshot(session, (w, h), title="City of London", attribution=OSM, aa="off")
    # the title: dark letters at the top centre; the attribution: at the bottom right
    top = (slice(0, h // 10), slice(w // 3, 2 * w // 3))
    corner = (slice(h - h // 12, h), slice(w // 2, w))
    assert _dark(text[top]).sum() > 150 and not _dark(bare[top]).any()
    assert (
        _dark(text[corner]).sum() > 40 and _dark(text[corner]).sum() > 3 * _dark(bare[corner]).sum()
    )


def test_8k_picture_in_tiles_has_its_size_legend_and_attribution(session: Session) -> None:
    w, h = 7680, 4320
    img = snapshot(session, (w, h), title="8K", attribution=OSM, aa="off", max_side=4096)
    assert img.shape == (h, w, 3)
    # No seam where the four tiles meet (column 3840, row 2160): neighbours across each
    # border differ no more than neighbours next to it (the picture is continuous).
    across = np.abs(img[:, 3839].astype(int) - img[:, 3840].astype(int)).max(axis=1)
    beside = np.abs(img[:, 3837].astype(int) - img[:, 3838].astype(int)).max(axis=1)
    assert (across > 24).sum() <= (beside > 24).sum() + 12
    across = np.abs(img[2159].astype(int) - img[2160].astype(int)).max(axis=1)
    beside = np.abs(img[2157].astype(int) - img[2158].astype(int)).max(axis=1)
    assert (across > 24).sum() <= (beside > 24).sum() + 12
    # The legends are laid out at the picture's scale (4320 / 900 = 4.8 times their 1080p
    # size), below the title's band: a light panel some 1000 px wide holding dark letters.
    panel = img[300:560, 60:900]
    assert (panel.min(axis=2) > 230).mean() > 0.5 and _dark(panel).sum() > 2000
    # the attribution's letters at the bottom right, 13 pt x 4 = 52 px high
    corner = img[h - 110 : h, w - 1400 : w]
    assert _dark(corner).sum() > 5000
