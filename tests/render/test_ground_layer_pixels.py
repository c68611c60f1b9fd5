"""The ground context layer in pixels: parks green, water blue, over the plane, under roads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin_app.io.load import load_city
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.city import BUILDINGS, GROUND, ROADS, FeatureSet
from twin_app.model.layers import GroundLayer, RoadLayer, layer_for
from twin_app.model.style import GROUND_COLORS, hex_to_rgb
from twin_app.render.adapters import GroundAdapter
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.registry import adapter_class
from twin_app.render.scene import Scene


@pytest.fixture(scope="module")
def london_sets() -> dict[str, FeatureSet]:
    result = load_city([SAMPLE_DIR / "london.osm.pbf"])
    return {s.kind: s for s in result.city.sets}


def _largest_triangle_of(fs: FeatureSet, ground_class: str) -> tuple[float, float, float]:
    """Centre of the largest drawn triangle of a class (inside the feature, on the mesh)."""
    m = fs.mesh
    rows = np.flatnonzero(fs.table["type"].to_numpy(object) == ground_class)
    tri = np.flatnonzero(np.isin(m.cell_data["feature_index"], rows))
    best = tri[np.argmax(m.areas()[tri])]
    c = m.points[m.triangles[best]].mean(axis=0)
    return (float(c[0]), float(c[1]), float(c[2]))


def _greenish(rgb: np.ndarray) -> bool:
    r, g, b = (int(v) for v in rgb[:3])
    return g > r + 12 and g > b + 12


def _bluish(rgb: np.ndarray) -> bool:
    r, g, b = (int(v) for v in rgb[:3])
    return b > r + 25 and b > g


def test_ground_layer_has_its_own_adapter_and_legend(london_sets: dict[str, FeatureSet]) -> None:
    layer = layer_for(london_sets[GROUND])
    assert isinstance(layer, GroundLayer)
    assert adapter_class(layer) is GroundAdapter
    assert layer.name == "Ground (london.osm.pbf)"


def test_top_render_shows_the_park_green_and_the_thames_blue(
    scene: Scene, london_sets: dict[str, FeatureSet], pixel_at: Any
) -> None:
    fs = london_sets[GROUND]
    layer = layer_for(fs)
    adapter = scene.add_layer(layer)
    scene.show_legends = False  # the legend panels sit over the park in 400 x 300
    scene.legends_changed()
    scene.set_view("top")
    park = _largest_triangle_of(fs, "park")
    water = _largest_triangle_of(fs, "water")
    assert _greenish(pixel_at(scene, park)), pixel_at(scene, park)
    assert _bluish(pixel_at(scene, water)), pixel_at(scene, water)
    # The legend names the ground classes with the palette's colours, in palette order.
    kind, entries = adapter.legend()
    assert kind == "categories"
    assert dict(entries)["park"] == GROUND_COLORS["park"]
    assert [n for n, _ in entries][:2] == ["water", "park"]
    # Hidden: the plane shows where the park was.
    layer.visible = False
    assert not _greenish(pixel_at(scene, park))


def test_oblique_far_view_has_no_z_fighting_with_the_plane_or_the_roads(
    london_sets: dict[str, FeatureSet], pixel_at: Any
) -> None:
    # The README's view: large, oblique, the Thames running off 2.5 km away.
    plotter = offscreen_plotter(1600, 900, aa="off")
    scene = Scene(plotter)
    scene.show_legends = False  # panels come and go with the layers hidden below
    ground = layer_for(london_sets[GROUND])
    roads = layer_for(london_sets[ROADS])
    assert isinstance(roads, RoadLayer)
    buildings = layer_for(london_sets[BUILDINGS])
    scene.add_layer(ground)
    scene.add_layer(roads)
    scene.add_layer(buildings)  # the city stands on z = 0: the plane lies 5 cm below that
    scene.set_view("oblique", azimuth_deg=200.0)
    park = _largest_triangle_of(london_sets[GROUND], "park")
    assert _greenish(pixel_at(scene, park)), pixel_at(scene, park)
    # Road ribbons stay on top of the ground everywhere: every road-coloured pixel of a
    # render without the ground is still road-coloured with it.
    road = np.array(hex_to_rgb(roads.color)) * 255
    ground.visible = False
    without = scene.screenshot().astype(int)
    ground.visible = True
    img = scene.screenshot().astype(int)
    is_road = np.abs(without - road).sum(axis=2) < 60
    assert is_road.sum() > 500
    kept = np.abs(img - without).sum(axis=2)[is_road] < 30
    assert kept.mean() > 0.99, kept.mean()
    # The ground plane never shows through the ground layer: where the layer is drawn, the
    # picture is the same with the plane hidden.
    roads.visible = False
    buildings.visible = False
    plane = scene._ground
    assert plane is not None
    with_plane = scene.screenshot().astype(int)
    plane.SetVisibility(False)
    no_plane = scene.screenshot().astype(int)
    ground.visible = False
    nothing = scene.screenshot().astype(int)
    drawn = np.abs(no_plane - nothing).sum(axis=2) > 0
    assert drawn.mean() > 0.1
    through = np.abs(with_plane - no_plane).sum(axis=2)[drawn] > 0
    assert through.sum() == 0, through.sum()
    plotter.close()
