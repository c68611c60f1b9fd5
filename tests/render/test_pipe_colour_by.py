"""The water network's Colour by: by value (pressure) or one colour, and back; links in alarm
keep the alarm colour either way (a tester found *Single colour* removed the value choice
and changed nothing in the view)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import Polygon

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import PIPES, FeatureSet
from twin_app.model.layers import COLOR_SOLID
from twin_app.model.sensors import PipeLayer
from twin_app.render.colors import hex_to_rgb
from twin_app.render.scene import Scene
from twin_app.render.sensor_adapters import ALARM_COLOR

#: Two 'pipes' (boxes above ground so a top view sees them): 40 m apart.
WEST, EAST = (-30.0, 0.0, 2.0), (30.0, 0.0, 2.0)


def _pipes() -> PipeLayer:
    geoms = np.array(
        [Polygon([(-40, -5), (-20, -5), (-20, 5), (-40, 5)]),
         Polygon([(20, -5), (40, -5), (40, 5), (20, 5)])],
        dtype=object,
    )  # fmt: skip
    mesh = extrude(polygon_arrays(geoms), np.array([2.0, 2.0]))
    mesh.cell_data["pipe_index"] = mesh.cell_data.pop("building_index")
    ids = np.array(["P1", "P2"], object)
    fs = FeatureSet("Pipes (test)", PIPES, "test", ids, pd.DataFrame({"id": ids}), mesh)
    return PipeLayer(
        name="Water",
        features=fs,
        values=np.array([10.0, 60.0], np.float32),
        alarm=np.array([True, False]),
        clim=(0.0, 60.0),
        color="#30a030",
    )


def test_single_colour_and_back_to_pressure(scene: Scene, pixel_at: Any) -> None:
    layer = _pipes()
    assert layer.color_choices() == ["value", COLOR_SOLID]
    scene.add_layer(layer)
    scene.set_view("top")
    scene.show_legends = False
    scene.legends_changed()
    alarm = np.array(hex_to_rgb(ALARM_COLOR)) * 255
    by_value = pixel_at(scene, EAST)
    assert np.abs(pixel_at(scene, WEST) - alarm).max() < 70  # in alarm: the alarm colour
    layer.color_by = COLOR_SOLID
    assert layer.color_choices() == ["value", COLOR_SOLID]  # the way back stays offered
    solid = pixel_at(scene, EAST)
    green = np.array(hex_to_rgb("#30a030")) * 255
    assert np.abs(solid - green).max() < 70 and np.abs(solid - by_value).sum() > 60
    assert np.abs(pixel_at(scene, WEST) - alarm).max() < 70  # alarms still show
    layer.color_by = "value"
    assert np.abs(pixel_at(scene, EAST) - by_value).max() <= 2
