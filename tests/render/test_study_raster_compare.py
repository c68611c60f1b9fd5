"""Study rasters in the compare view, from real scenario runs on the sample twin (issue 9):
the sun hours of ``add_tower.toml``, the 5G coverage of ``add_5g_station.toml`` and a stack's
plume, each on both sides (baseline values left; change or value right), coloured on real
offscreen pixels. The runs are made small (30-minute sun steps, 4 m sun cells, 20 m radio
grid, no indoor receptors, a 600 m air square) and shared by the module."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import numpy as np
import pytest

from tests.render.pixel_probe import world_pixel
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.model.raster import RasterLayer
from twin_app.model.style import RSRP_CLASSES
from twin_app.render.compare import CompareView, SwipeView
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.raster_adapter import RasterAdapter
from twin_app.scenarios.file import scenario_from_dict
from twin_app.scenarios.model import ScenarioResult
from twin_app.scenarios.run import run_scenario
from twin_app.session.compare import Comparison
from twin_app.session.study_rasters import raster_delta

W, H = 400, 300


def _file_run(name: str, patch: dict[str, dict[str, Any]]) -> ScenarioResult:
    data = tomllib.loads((SAMPLE_DIR / "scenarios" / name).read_text())
    for key, values in patch.items():
        data[key].update(values)
    data["twin"] = str(SAMPLE_DIR)
    return run_scenario(scenario_from_dict(data))


@pytest.fixture(scope="module")
def runs() -> dict[str, ScenarioResult]:
    sun = _file_run("add_tower.toml", {"sun": {"step_min": 60.0, "cell_m": 4.0, "buffer_m": 80.0}})
    radio = _file_run("add_5g_station.toml", {"radio": {"spacing_m": 20.0, "indoor": False}})
    air = run_scenario(
        scenario_from_dict(
            {
                "schema": 1,
                "name": "stack",
                "twin": str(SAMPLE_DIR),
                "air": {
                    "cell_m": 20.0,
                    "bounds": [-300.0, -300.0, 300.0, 300.0],
                    "traffic_emissions": False,
                    "background_ug_m3": 8.0,
                    "wind_speed_ms": 3.0,
                    "wind_from_deg": 270.0,
                },
                "interventions": [
                    {"kind": "add_source", "id": "stack", "xy": [-200, 0], "q_g_s": 20.0,
                     "height_m": 20},
                ],
            }
        )
    )  # fmt: skip
    return {"sun": sun, "radio": radio, "air": air}


def _layers(cmp: Comparison, key: str) -> tuple[RasterLayer, RasterLayer]:
    (left,) = cmp.baseline.extras[key]
    (right,) = cmp.scenario.extras[key]
    assert isinstance(left, RasterLayer) and isinstance(right, RasterLayer)
    assert left in cmp.baseline.layers and right in cmp.scenario.layers
    return left, right


def _look_down_on(cmp: Comparison, layer: RasterLayer) -> None:
    x0, x1, y0, y1 = layer.bounds()
    cx, cy, size = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    # 30 degree view angle: the whole grid fits the height at twice its size
    cmp.camera.set_pose(CameraPose((cx, cy, size * 2.1), (cx, cy, 0.0), (0.0, 1.0, 0.0)))


def _centre(layer: RasterLayer, r: int, c: int) -> tuple[float, float, float]:
    x0, dx, _, y0, _, ndy = layer.transform
    return (x0 + (c + 0.5) * dx, y0 + (r + 0.5) * ndy, layer.z + RasterAdapter.LIFT_M)


def _inner_cell(mask: np.ndarray[Any, Any]) -> tuple[int, int]:
    """A cell whose 3 x 3 neighbourhood is all in `mask` (safe from pixel rounding)."""
    m = mask.copy()
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = False
    ok = m.copy()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            ok &= np.roll(np.roll(mask, dr, axis=0), dc, axis=1)
    rows, cols = np.nonzero(ok)
    assert rows.size, "no inner cell"
    i = rows.size // 2
    return int(rows[i]), int(cols[i])


def test_sun_hours_both_sides_and_the_tower_shade_on_pixels(
    runs: dict[str, ScenarioResult], compare_view: tuple[Comparison, CompareView]
) -> None:
    cmp, cv = compare_view
    res = runs["sun"]
    b, s = res.extra["sun_hours_baseline"], res.extra["sun_hours_scenario"]
    # an empty session: the scenario's buildings have no building layer to stand in for
    assert [
        n for n in cmp.show_result(res) if not n.startswith(("massing:", "radio: no building"))
    ] == []
    left, right = _layers(cmp, "sun_raster")
    assert "air_raster" not in cmp.baseline.extras and "radio_raster" not in cmp.scenario.extras
    np.testing.assert_array_equal(left.values, b)
    np.testing.assert_array_equal(right.values, raster_delta(b, s))  # delta view by default
    assert left.color_by == "sun_hours_h" and right.color_by == "sun_hours_delta_h"
    assert right.transparent_zero and not left.transparent_zero
    # the legend of both sides: the study layers count as what is compared
    assert cmp.is_result(left) and cmp.is_result(right)
    kind, (title, _) = cv.scenario.scene.adapters[right.uid].legend()  # type: ignore[misc]
    assert kind == "scalar" and title.endswith("Sun hours change (h)")
    delta = raster_delta(b, s)
    shaded = _inner_cell(delta < -2.0)
    same = _inner_cell((delta == 0.0) & np.isfinite(b) & (b > 3.0))
    _look_down_on(cmp, left)
    img_l, img_r = cv.screenshots()
    pr = world_pixel(img_r, cv.scenario.scene, _centre(right, *shaded))
    assert pr[2] - pr[0] > 40, pr  # less sun: blue on the change map
    # no change: transparent, the ground plane shows as where no raster is drawn
    right.visible = False
    bare = cv.scenario.scene.screenshot()
    right.visible = True
    p_same = world_pixel(img_r, cv.scenario.scene, _centre(right, *same))
    assert np.abs(p_same - world_pixel(bare, cv.scenario.scene, _centre(right, *same))).max() <= 3
    # value view: one colour range; the sides differ where the tower shades, agree elsewhere
    cmp.set_show("value")
    np.testing.assert_array_equal(right.values, s)
    assert right.color_by == "sun_hours_h" and left.clim == right.clim is not None
    img_l, img_r = cv.screenshots()
    pl = world_pixel(img_l, cv.baseline.scene, _centre(left, *shaded))
    pr = world_pixel(img_r, cv.scenario.scene, _centre(right, *shaded))
    assert pl.sum() > pr.sum() + 60, (pl, pr)  # inferno: less sun is darker
    ql = world_pixel(img_l, cv.baseline.scene, _centre(left, *same))
    qr = world_pixel(img_r, cv.scenario.scene, _centre(right, *same))
    assert np.abs(ql - qr).max() <= 3
    # the same result again: the same layers and arrays, values written in place
    arrays = (left.values, right.values)
    cmp.show_result(res)
    assert _layers(cmp, "sun_raster") == (left, right)
    assert left.values is arrays[0] and right.values is arrays[1]


def test_radio_coverage_and_air_classes_replace_the_sun(
    runs: dict[str, ScenarioResult], compare_view: tuple[Comparison, CompareView]
) -> None:
    cmp, cv = compare_view
    cmp.show_result(runs["sun"])
    merged = dataclasses.replace(runs["radio"], extra={**runs["radio"].extra, **runs["air"].extra})
    assert [
        n for n in cmp.show_result(merged) if not n.startswith(("massing:", "radio: no building"))
    ] == []
    # a second result replaces the layers under the same keys: no sun raster any more
    assert "sun_raster" not in cmp.baseline.extras and "sun_raster" not in cmp.scenario.extras
    assert not any(x.name.startswith("Sun hours") for x in cmp.scenario.layers)
    left, right = _layers(cmp, "radio_raster")
    b, s = merged.extra["radio_baseline"], merged.extra["radio_scenario"]
    np.testing.assert_array_equal(left.values, b)
    d = raster_delta(b, s)
    np.testing.assert_array_equal(right.values, d)
    assert (d[np.isfinite(d)] >= 0).all() and (d > 3.0).any()  # a new station only adds
    assert left.scale() is RSRP_CLASSES
    kind, entries = cv.baseline.scene.adapters[left.uid].legend()  # type: ignore[misc]
    assert kind == "categories" and "no coverage" in dict(entries)
    gain = _inner_cell(d > 3.0)
    _look_down_on(cmp, left)
    img_l, img_r = cv.screenshots()
    pr = world_pixel(img_r, cv.scenario.scene, _centre(right, *gain))
    assert pr[0] - pr[2] > 40, pr  # stronger: red on the change map
    cmp.set_show("value")
    assert left.clim is None and right.clim is None  # classes are their own range
    np.testing.assert_array_equal(right.values, s)
    img_l, img_r = cv.screenshots()
    better = _inner_cell(RSRP_CLASSES.classify(s) > RSRP_CLASSES.classify(b))
    pl = world_pixel(img_l, cv.baseline.scene, _centre(left, *better))
    pr = world_pixel(img_r, cv.scenario.scene, _centre(right, *better))
    assert np.abs(pl - pr).max() > 20, (pl, pr)
    # air: the AQI classes of the run's pollutant, the plume raising the concentration
    aleft, aright = _layers(cmp, "air_raster")
    ab, as_ = merged.extra["air_baseline"], merged.extra["air_scenario"]
    np.testing.assert_array_equal(aleft.values, ab)
    np.testing.assert_array_equal(aright.values, as_)  # value view now
    assert aleft.pollutant == "pm25" and aleft.color_by == "concentration_ug_m3"
    scale = aleft.scale()
    assert scale is not None and scale.title.startswith("PM25 (ug/m3)")
    cmp.set_show("delta")
    assert aright.color_by == "concentration_delta_ug_m3"
    assert np.nanmax(aright.values) > 1.0 and np.nanmin(aright.values) >= 0.0
    # the swipe's scenario half gives the study rasters their legends too
    plotter = offscreen_plotter(W, H, aa="off")
    swipe = SwipeView(plotter, cmp)
    titles = {p.title for v in swipe.viewers for p in v.scene.legends}
    assert {left.name, right.name, aright.name} <= titles
    swipe.close()
    plotter.close()
