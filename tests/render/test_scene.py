"""Scene and adapters against a real offscreen VTK window: assertions on pixels and arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin_app.model.city import FeatureSet
from twin_app.model.layers import BuildingLayer
from twin_app.render.colors import SURFACE_PALETTE, palette_rgb
from twin_app.render.overlays import format_length, nice_length
from twin_app.render.scene import GROUND, Scene

TOWER_TOP = (30.0, 0.0, 60.0)
LOW_TOP = (-30.0, 0.0, 3.0)


def test_height_colouring_draws_tall_buildings_dark_blue(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    layer = BuildingLayer(name="b", features=two_buildings)
    scene.add_layer(layer)
    scene.set_view("top")
    scene.show_legends = False  # the legend panel covers the low building in 400 x 300
    scene.legends_changed()
    tower = pixel_at(scene, TOWER_TOP)
    low = pixel_at(scene, LOW_TOP)
    # Blues: low end near white, high end dark blue; lighting darkens both a little.
    assert tower[2] > 2 * tower[0] and tower[0] < 60 and tower[1] < 110
    assert low.min() > 180 and low[2] >= low[0]
    assert np.abs(tower - low).sum() > 150


def test_visibility_and_opacity_change_pixels_in_place(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    layer = BuildingLayer(name="b", features=two_buildings)
    adapter = scene.add_layer(layer)
    scene.set_view("top")
    before = pixel_at(scene, TOWER_TOP)
    actors_before = scene.plotter.renderer.GetActors().GetNumberOfItems()
    layer.visible = False
    hidden = pixel_at(scene, TOWER_TOP)
    ground = np.array([int(GROUND[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(hidden - ground).max() < 60  # the ground shows through
    assert np.abs(hidden - before).sum() > 100
    layer.visible = True
    layer.opacity = 0.3
    faded = pixel_at(scene, TOWER_TOP)
    assert np.abs(faded - before).sum() > 30
    assert scene.plotter.renderer.GetActors().GetNumberOfItems() == actors_before
    assert adapter.actor is not None and adapter.actor.GetVisibility()


def test_restyle_writes_existing_arrays_not_a_new_mesh(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    layer = BuildingLayer(name="b", features=two_buildings)
    adapter = scene.add_layer(layer)
    mesh_before = adapter.mesh
    values_ptr = adapter.mesh.GetPointData().GetArray("value")
    layer.colormap = "viridis"
    layer.clim = (0.0, 100.0)
    assert adapter.mesh is mesh_before
    assert adapter.mesh.GetPointData().GetArray("value") is values_ptr
    assert adapter.lut is not None and adapter.lut.GetTableRange() == (0.0, 100.0)
    scene.set_view("top")
    tower = pixel_at(scene, TOWER_TOP)
    assert tower[1] > tower[0]  # viridis at 60 % is green-teal, not red


def test_surface_colouring_shows_roof_colour_from_above(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    layer = BuildingLayer(name="b", features=two_buildings, color_by="surface")
    scene.add_layer(layer)
    scene.set_view("top")
    roof = palette_rgb(SURFACE_PALETTE)[2].astype(int)
    px = pixel_at(scene, TOWER_TOP)
    assert np.abs(px - roof).max() < 70  # roof red, dimmed or brightened by lighting


def test_unknown_heights_are_drawn_in_the_nan_colour(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    two_buildings.table.loc[1, "height_source"] = "default"
    layer = BuildingLayer(name="b", features=two_buildings)
    scene.add_layer(layer)
    scene.set_view("top")
    px = pixel_at(scene, TOWER_TOP)
    assert np.abs(px[0] - px[2]) < 40  # grey, not the red of a 60 m tower


def test_north_arrow_follows_the_camera_and_scale_bar_is_nice(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    scene.set_view("top")
    scene.screenshot()
    assert scene.overlays.north_angle_deg == pytest.approx(0.0, abs=1.0)
    assert scene.overlays.scale_m in (5, 10, 20, 50)
    scene.set_view("top", azimuth_deg=90.0)  # looking west: north is to the right
    scene.screenshot()
    assert abs(scene.overlays.north_angle_deg) == pytest.approx(90.0, abs=1.0)


def test_nice_lengths() -> None:
    assert [nice_length(v) for v in (0.7, 3.3, 180.0, 999.0, 1200.0)] == [
        0.5,
        2.0,
        100.0,
        500.0,
        1000.0,
    ]
    assert format_length(2000.0) == "2 km" and format_length(50.0) == "50 m"


def test_legend_lists_coloured_layers(scene: Scene, two_buildings: FeatureSet, pixel_at) -> None:
    layer = BuildingLayer(name="b", features=two_buildings)
    scene.add_layer(layer)
    (panel,) = scene.legends
    assert panel.lut is not None and panel.title == "b" and panel.subtitle == "height_m"
    layer.color_by = "surface"
    (panel,) = scene.legends
    assert panel.lut is None and panel.label_texts == ["wall", "roof"]


def test_shadows_darken_the_ground_behind_a_tower(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    scene.set_view("top")
    # The sun comes from the south-west: the 60 m tower's shadow falls to its north-east.
    behind = (38.0, 18.0, 0.0)
    lit = pixel_at(scene, behind)
    scene.set_shadows(True)
    dark = pixel_at(scene, behind)
    open_ground = pixel_at(scene, (-10.0, -25.0, 0.0))
    assert dark.sum() < open_ground.sum() - 60  # in the shadow
    scene.set_shadows(False)
    again = pixel_at(scene, behind)
    assert np.abs(again - lit).max() < 10  # back to normal lighting


@pytest.mark.parametrize("missing", [None, np.nan, ""])
def test_colour_by_type_draws_a_missing_type_in_the_unknown_colour(
    scene: Scene, two_buildings: FeatureSet, pixel_at, missing: object
) -> None:
    """An OSM extract's ``type`` is NaN for most buildings (only relations carry one): the
    colouring must not fail on it (it did: an int64-minimum index)."""
    import dataclasses

    from twin_app.model.style import NAN_COLOR, NO_TYPE

    table = two_buildings.table.assign(type=pd.Series(["multipolygon", missing], dtype=object))
    fs = dataclasses.replace(two_buildings, table=table)
    layer = BuildingLayer(name="b", features=fs, color_by="type")
    adapter = scene.add_layer(layer)
    scene.set_view("top")
    scene.show_legends = False
    scene.legends_changed()
    assert [name for name, _ in adapter.categories()] == [NO_TYPE, "multipolygon"]
    assert dict(adapter.categories())[NO_TYPE] == NAN_COLOR
    low, tower = pixel_at(scene, LOW_TOP), pixel_at(scene, TOWER_TOP)
    grey = np.array([int(NAN_COLOR[i : i + 2], 16) for i in (1, 3, 5)])
    # the tower (no type) in the light warm grey, lit; the other building in another colour
    assert np.abs(tower - grey).max() < 60 and np.abs(tower - low).sum() > 60
