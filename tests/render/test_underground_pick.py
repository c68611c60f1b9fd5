"""Underground view shows geometry below the ground; picking maps pixels to feature rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import PIPES, FeatureSet
from twin_app.model.layers import BuildingLayer, FeatureLayer
from twin_app.render.picking import Picker, project_points
from twin_app.render.scene import Scene

PIPE_COLOUR = "#1f5fff"


@pytest.fixture
def buried() -> FeatureSet:
    """A 4 m wide 'pipe' box 5..3 m below ground, 120 m long, under the test buildings' street."""
    geoms = np.array([Polygon([(-60, -2), (60, -2), (60, 2), (-60, 2)])], dtype=object)
    mesh = extrude(polygon_arrays(geoms), np.array([2.0]), base_z=-5.0)
    mesh.cell_data["pipe_index"] = mesh.cell_data.pop("building_index")
    table = pd.DataFrame({"id": ["main-1"]})
    return FeatureSet("Pipes (test)", PIPES, "test", np.array(["main-1"], object), table, mesh)


def _blueness(px: np.ndarray) -> int:
    return int(px[2]) - int(px[0])


def test_underground_modes_reveal_the_pipe(
    scene: Scene, two_buildings: FeatureSet, buried: FeatureSet, pixel_at
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    scene.add_layer(FeatureLayer(name="pipes", features=buried, color=PIPE_COLOUR))
    scene.set_view("oblique")
    probe = (0.0, 0.0, -3.0)  # top of the pipe, between the two buildings
    hidden = pixel_at(scene, probe)
    assert _blueness(hidden) < 30  # the opaque ground hides it
    scene.set_underground("translucent")
    seen = pixel_at(scene, probe)
    assert _blueness(seen) > 60
    scene.set_underground("cutaway")
    cut = pixel_at(scene, probe)
    assert _blueness(cut) > 100  # the near half of the ground is cut open: the pipe itself
    far_building = pixel_at(scene, (30.0, 0.0, 60.0))
    assert _blueness(far_building) < 20  # beyond the cut the city is intact
    scene.set_underground("off")
    assert _blueness(pixel_at(scene, probe)) < 30


def test_pick_returns_the_building_row_and_highlight_draws_it(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    layer = BuildingLayer(name="b", features=two_buildings)
    scene.add_layer(layer)
    scene.set_view("top")
    scene.screenshot()
    picker = Picker(scene)
    assert picker.build_locators() == 1
    centres = two_buildings.feature_centroids()
    px = project_points(scene.plotter.renderer, np.array([[30.0, 0.0, 60.0], [-30.0, 0.0, 3.0]]))
    tower = picker.pick(px[0, 0], px[0, 1])
    low = picker.pick(px[1, 0], px[1, 1])
    assert (
        tower is not None
        and tower.feature_index == 1
        and tower.position[2] == pytest.approx(60.0, abs=0.5)
    )
    assert low is not None and low.feature_index == 0
    assert picker.pick(5, 5) is None  # sky / ground only
    assert centres[1, :2] == pytest.approx([30.0, 0.0], abs=1.0)
    before = pixel_at(scene, (30.0, 0.0, 60.0))
    assert scene.highlight(layer.uid, [1]) == 2 + 8  # roof (2 triangles) + walls (8)
    after = pixel_at(scene, (30.0, 0.0, 60.0))
    assert after[0] > 200 and after[1] > 150 and after[2] < 90  # highlight yellow
    assert np.abs(after - before).sum() > 60
    scene.highlight(layer.uid, [])
    assert np.abs(pixel_at(scene, (30.0, 0.0, 60.0)) - before).sum() < 10
