"""Screenshots of a comparison offscreen (twin_app.render.compare_snapshot): the swipe's picture
is the swipe view's own (the scenario part a tile of the same view), tiles join without seams,
and side by side each side is its own view at its share, the title read across the seam."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.compare_fixtures import building_set, road_set
from twin_app.model.camera import CameraPose
from twin_app.model.layers import BuildingLayer, RoadLayer
from twin_app.render.compare import SwipeView
from twin_app.render.compare_snapshot import compare_snapshot
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.snapshot import snapshot
from twin_app.session import Session
from twin_app.session.compare import Comparison

W, H = 640, 360


@pytest.fixture(scope="module")
def cmp() -> Comparison:
    s = Session()
    s.layers.append(BuildingLayer(name="Buildings", features=building_set()))
    roads = RoadLayer(name="Roads", features=road_set())
    s.layers.append(roads)
    c = Comparison(s, "Road closure")
    c.set_result(roads, "flow_veh_h", np.full(3, 500.0), np.array([800.0, 200.0, 500.0]))
    s.camera.set_pose(CameraPose((-40.0, -230.0, 170.0), (0.0, 10.0, 0.0), (0.0, 0.0, 1.0)))
    return c


def _diff(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16)).max(axis=2)


def test_the_swipe_picture_is_the_swipe_views(cmp: Comparison) -> None:
    plotter = offscreen_plotter(W, H, aa="off")
    try:
        swipe = SwipeView(plotter, cmp, split=0.4)
        shown = np.asarray(swipe.screenshot())
        swipe.close()
    finally:
        plotter.close()
    kw: dict[str, Any] = {"mode": "swipe", "split": 0.4, "title": "", "attribution": ""}
    img = compare_snapshot(cmp, (W, H), aa="off", **kw)
    assert img.shape == (H, W, 3)
    # the same picture: the scenario right of the split continues the baseline's view
    body = _diff(img, shown)[H // 3 :]  # below the legends (the window's differ in layout)
    assert (body > 40).mean() < 0.002
    red = (img[..., 0].astype(int) - img[..., 2]) > 60
    x = round(0.4 * W)
    assert red[H // 3 :, x + 3 :].any() and not red[H // 3 :, : x - 2].any()
    # in tiles: the same pixels
    tiled = compare_snapshot(cmp, (W, H), aa="off", max_side=200, **kw)
    assert (_diff(tiled, img) > 40).mean() < 0.001


def test_side_by_side_is_two_views_at_their_shares(cmp: Comparison) -> None:
    kw: dict[str, Any] = {
        "title": "Road closure at St Martin's",
        "attribution": "Data: test",
        "aa": "off",
    }
    img = compare_snapshot(cmp, (W, H), share=0.6, **kw)
    x = round(0.6 * W)
    # each side is that side's own picture at its share of the width (legends and north
    # arrow aside: the title and attribution are laid out across the whole picture)
    alone = snapshot(cmp.scenario, (W - x, H), title="", attribution="", aa="off")
    right = _diff(img[:, x:], alone)[H // 3 : H - 40]
    assert (right > 40).mean() < 0.002
    left = snapshot(cmp.baseline, (x, H), title="", attribution="", aa="off")
    assert (_diff(img[:, :x], left)[H // 3 : H - 40] > 40).mean() < 0.002
    # the title's letters on both sides of the seam (one title, centred on the picture)
    cols = np.flatnonzero((img[: H // 12, : W - 100].max(axis=2) < 90).any(axis=0))  # no "N"
    assert cols.min() < x - 60 and cols.max() > x + 60
    assert abs((cols.min() + cols.max()) / 2 - W / 2) < 15
