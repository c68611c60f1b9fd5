"""Study rasters drawn on real offscreen VTK pixels: each cell in its scale's colour, NaN
showing what lies beneath, new values recolouring the same texture, drawn over the roads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import pyvista as pv

from tests.compare_fixtures import ROAD_Y, ROAD_Z, road_set
from tests.render.pixel_probe import world_pixel
from twin_app.model.camera import CameraPose
from twin_app.model.layers import RoadLayer
from twin_app.model.raster import RasterLayer
from twin_app.model.style import RSRP_CLASSES, hex_to_rgb
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.raster_adapter import RasterAdapter
from twin_app.render.viewer import Viewer
from twin_app.session import Session

W, H = 400, 300
#: 2 x 3 cells of 40 m over the three test roads (x -60..60, y -60..20), row 0 north.
T = (-60.0, 40.0, 0.0, 20.0, 0.0, -40.0)
#: RSRP per cell: no coverage, weak, fair / strong, NaN (no value: the road shows), good.
RSRP = np.array([[-np.inf, -115.0, -95.0], [-75.0, np.nan, -85.0]])


@pytest.fixture
def plotter() -> Iterator[pv.Plotter]:
    p = offscreen_plotter(W, H, aa="off")
    yield p
    p.close()


def centre(row: int, col: int) -> tuple[float, float, float]:
    return (-60.0 + 40.0 * (col + 0.5), 20.0 - 40.0 * (row + 0.5), ROAD_Z)


def rgb8(hex_color: str) -> np.ndarray[Any, Any]:
    return np.array([round(c * 255) for c in hex_to_rgb(hex_color)])


def test_rsrp_raster_draws_class_colours_over_the_roads_and_nan_shows_them(
    plotter: pv.Plotter,
) -> None:
    session = Session()
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    raster = RasterLayer(name="5G", values=RSRP, transform=T, color_by="rsrp_dbm", opacity=1.0)
    session.layers.append(raster)
    session.camera.set_pose(CameraPose((0.0, -20.0, 330.0), (0.0, -20.0, 0.0), (0.0, 1.0, 0.0)))
    viewer = Viewer(session, plotter)
    scene = viewer.scene
    adapter = scene.adapters[raster.uid]
    assert isinstance(adapter, RasterAdapter)
    # The legend: the coverage classes, "no coverage" among them.
    kind, entries = adapter.legend()  # type: ignore[misc]
    assert kind == "categories" and ("no coverage", RSRP_CLASSES.colors[0]) in entries
    scene.show_legends = False
    scene.legends_changed()
    img = scene.screenshot()
    want = {
        (0, 0): RSRP_CLASSES.colors[0],  # -inf: no coverage
        (0, 1): RSRP_CLASSES.colors[1],
        (0, 2): RSRP_CLASSES.colors[3],
        (1, 0): RSRP_CLASSES.colors[5],
        (1, 2): RSRP_CLASSES.colors[4],
    }
    for (r, c), color in want.items():
        got = world_pixel(img, scene, centre(r, c))
        assert np.abs(got - rgb8(color)).max() <= 3, ((r, c), got, color)
    # NaN: transparent, the road beneath (y = -40 runs through cell (1, 1)) keeps its colour.
    x, y, z = centre(1, 1)
    assert y - 20 < ROAD_Y[0] < y + 20
    road_rgb = world_pixel(img, scene, (x, ROAD_Y[0], z))
    raster.visible = False
    bare = scene.screenshot()
    assert np.abs(road_rgb - world_pixel(bare, scene, (x, ROAD_Y[0], z))).max() <= 3
    # ...and where the raster has values it covers the road (drawn above it).
    on_road = world_pixel(img, scene, (-40.0, ROAD_Y[0], z))
    assert np.abs(on_road - rgb8(RSRP_CLASSES.colors[5])).max() <= 3
    assert np.abs(world_pixel(bare, scene, (-40.0, ROAD_Y[0], z)) - on_road).max() > 30
    raster.visible = True
    # New values: the same texture array, rewritten; no new actor or image.
    actor, image, texels = adapter.actor, adapter.image, adapter.texels
    buf = texels.__array_interface__["data"][0]
    new = RSRP.copy()
    new[0, 0] = -75.0  # a new station covers the north-west cell
    raster.set_values(new)
    assert adapter.actor is actor and adapter.image is image
    assert adapter.texels.__array_interface__["data"][0] == buf
    img = scene.screenshot()
    got = world_pixel(img, scene, centre(0, 0))
    assert np.abs(got - rgb8(RSRP_CLASSES.colors[5])).max() <= 3
    viewer.close()


def test_sun_hours_raster_in_the_oblique_view_has_no_z_fighting(plotter: pv.Plotter) -> None:
    session = Session()
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    values = np.tile(np.linspace(0.0, 10.0, 12), (8, 1))  # west dark, east bright
    raster = RasterLayer(
        name="Sun",
        values=values,
        transform=(-60.0, 10.0, 0.0, 60.0, 0.0, -15.0),
        color_by="sun_hours_h",
        clim=(0.0, 10.0),
        opacity=1.0,
    )
    session.layers.append(raster)
    session.camera.set_pose(CameraPose((-60.0, -260.0, 120.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)))
    viewer = Viewer(session, plotter)
    scene = viewer.scene
    scene.show_legends = False
    scene.legends_changed()
    img = scene.screenshot()
    # Along every road's centre line the raster wins over the road: the colours follow the
    # raster's west-to-east ramp (each sample brighter than the one before), none is road grey.
    road = rgb8(roads.color)
    for y in ROAD_Y:
        xs = np.linspace(-55.0, 55.0, 12)
        px = np.array([world_pixel(img, scene, (float(x), y, ROAD_Z)) for x in xs])
        assert (np.abs(px - road).sum(axis=1) > 40).all()
        lum = px.sum(axis=1)
        assert (np.diff(lum) >= -6).all() and lum[-1] > lum[0] + 300
    viewer.close()
