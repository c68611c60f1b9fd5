"""Issue 10, "Looks": shadows from the sun, legend panels, palettes, the air-quality surface.

Everything is asserted on pixels of a real offscreen VTK window (and on the panels' layout).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from twin_app.model.city import FeatureSet
from twin_app.model.layers import BuildingLayer
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.scene import GROUND, GROUND_DARK, Scene

TOWER = (30.0, 0.0)  # centre of the 60 m tower of the two_buildings fixture (20 m square)
TOWER_H = 60.0


def _ground_rgb(color: str = GROUND) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])


def _direction(azimuth_deg: float, elevation_deg: float) -> tuple[float, float, float]:
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return (math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el))


def _in_shadow(d: tuple[float, float, float], height: float) -> tuple[float, float, float]:
    """Ground point behind the tower's centre, where the sun ray past `height` lands."""
    s = height / d[2]
    return (TOWER[0] - d[0] * s, TOWER[1] - d[1] * s, 0.0)


@pytest.fixture
def big_scene() -> Iterator[Scene]:
    plotter = offscreen_plotter(800, 600, aa="off")
    sc = Scene(plotter)
    yield sc
    plotter.close()


def _top(scene: Scene) -> None:
    from twin_app.model.camera import CameraPose
    from twin_app.render.navigation import apply_pose

    apply_pose(
        scene.plotter.renderer, CameraPose((0.0, 0.0, 700.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    )
    scene.plotter.camera_set = True
    scene.show_legends = False  # the panels would cover the pixels read here
    scene.legends_changed()


@pytest.mark.parametrize(("azimuth", "elevation"), [(225.0, 35.0), (135.0, 25.0)])
def test_shadow_falls_away_from_the_sun_darker_but_not_black(
    scene: Scene, two_buildings: FeatureSet, pixel_at, azimuth: float, elevation: float
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    _top(scene)
    d = _direction(azimuth, elevation)
    scene.set_sun(d, above_horizon=True)
    shade = _in_shadow(d, 0.5 * TOWER_H)  # half-way along the tower's shadow
    # Lit ground away from the buildings, on the sun's side.
    lit = (TOWER[0] + 60.0 * d[0] / math.hypot(d[0], d[1]), 60.0 * d[1] / math.hypot(d[0], d[1]))
    lit_xyz = (lit[0], lit[1], 0.0)
    before_shade, before_lit = pixel_at(scene, shade), pixel_at(scene, lit_xyz)
    assert np.abs(before_shade - _ground_rgb()).max() <= 3  # plain ground before
    scene.set_shadows(True)
    shadowed, lit_on = pixel_at(scene, shade), pixel_at(scene, lit_xyz)
    assert shadowed.sum() < before_shade.sum() - 150  # clearly darker ...
    assert shadowed.min() > 90  # ... but not black
    assert np.abs(lit_on - before_lit).max() <= 2  # lit ground unchanged by shadows
    # The other side of the tower (towards the sun) stays lit.
    opposite = (2 * TOWER[0] - shade[0], 2 * TOWER[1] - shade[1], 0.0)
    assert np.abs(pixel_at(scene, opposite) - _ground_rgb()).max() <= 3


def test_shadow_moves_with_the_sun(scene: Scene, two_buildings: FeatureSet, pixel_at) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    _top(scene)
    morning, evening = _direction(110.0, 30.0), _direction(250.0, 30.0)
    west_shadow, east_shadow = _in_shadow(morning, 40.0), _in_shadow(evening, 40.0)
    scene.set_shadows(True)
    scene.set_sun(morning, above_horizon=True)
    assert pixel_at(scene, west_shadow).sum() < pixel_at(scene, east_shadow).sum() - 150
    scene.set_sun(evening, above_horizon=True)
    assert pixel_at(scene, east_shadow).sum() < pixel_at(scene, west_shadow).sum() - 150


def test_sun_below_the_horizon_says_so_and_keeps_the_scene_lit(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    _top(scene)
    roof_day = pixel_at(scene, (30.0, 0.0, 60.0))
    scene.set_sun(_direction(0.0, -20.0), above_horizon=False, label="2026-03-02 00:00 UTC")
    scene.set_shadows(True)
    img = scene.screenshot()
    roof = pixel_at(scene, (30.0, 0.0, 60.0))
    assert roof.sum() > 0.6 * roof_day.sum()  # lit by fill and ambient light, not black
    assert (img.reshape(-1, 3).sum(axis=1) < 40).mean() < 0.01  # no black areas
    assert np.abs(pixel_at(scene, _in_shadow(_direction(225, 35), 30.0)) - _ground_rgb()).max() <= 3
    assert scene.shadow_note.GetVisibility()
    assert "below the horizon at 2026-03-02 00:00 UTC" in scene.shadow_note.GetInput()
    scene.set_sun(_direction(180.0, 30.0), above_horizon=True)
    assert not scene.shadow_note.GetVisibility()


def _coloured_layers(scene: Scene, two_buildings: FeatureSet) -> list[BuildingLayer]:
    layers = [
        BuildingLayer(name="Heights", features=two_buildings),
        BuildingLayer(name="Surfaces", features=two_buildings, color_by="surface"),
        BuildingLayer(name="Levels", features=two_buildings, colormap="viridis"),
    ]
    for layer in layers:
        scene.add_layer(layer)
    return layers


def _boxes_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size", [(800, 600), (400, 300), (1920, 1080)])
def test_legend_panels_are_titled_and_never_overlap(
    two_buildings: FeatureSet, size: tuple[int, int]
) -> None:
    plotter = offscreen_plotter(*size, aa="off")
    try:
        scene = Scene(plotter)
        _coloured_layers(scene, two_buildings)
        scene.set_view("oblique")
        img = scene.screenshot()
        assert [p.title for p in scene.legends] == ["Heights", "Levels", "Surfaces"]
        panels = [p for p in scene.legends if p.visible]
        # All fit from 600 lines up; a tiny view shows what fits, never overlapping.
        assert len(panels) == 3 if size[1] >= 600 else len(panels) >= 1
        for p in panels:  # the title text drawn is the layer's name
            assert p.title_text.GetInput().startswith(p.title)
        for i, a in enumerate(panels):
            for b in panels[i + 1 :]:
                assert not _boxes_overlap(a.box, b.box), (a.title, b.title)
            x0, y0, x1, y1 = a.box
            assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
            # A panel is drawn: its inside corner shows the light panel, not the sky or city.
            h = img.shape[0]
            px = img[round(h - 1 - (y1 - 2)), round(x1 - 3)].astype(int)
            assert px.min() > 225, (a.title, px)
    finally:
        plotter.close()


def test_legends_follow_layer_visibility(big_scene: Scene, two_buildings: FeatureSet) -> None:
    layers = _coloured_layers(big_scene, two_buildings)
    layers[1].visible = False
    assert [p.title for p in big_scene.legends] == ["Heights", "Levels"]
    layers[1].visible = True
    assert [p.title for p in big_scene.legends] == ["Heights", "Levels", "Surfaces"]


def _title_pixels(scene: Scene, img: np.ndarray) -> np.ndarray:
    """Pixels of the first panel's title text box."""
    panel = scene.legends[0]
    bb = [0.0] * 4
    panel.title_text.GetBoundingBox(scene.plotter.renderer, bb)
    x, y = panel.title_text.GetPosition()
    h = img.shape[0]
    rows = slice(round(h - (y + bb[3])), round(h - y))
    cols = slice(round(x), round(x + bb[1]))
    return img[rows, cols].reshape(-1, 3).astype(int)


def test_legend_text_follows_the_theme(big_scene: Scene, two_buildings: FeatureSet) -> None:
    _coloured_layers(big_scene, two_buildings)
    big_scene.set_view("oblique")
    light = _title_pixels(big_scene, big_scene.screenshot())
    # Light theme: dark text on a light panel.
    assert (light.sum(axis=1) < 200).sum() > 20 and np.median(light.sum(axis=1)) > 600
    big_scene.set_dark(True)
    dark = _title_pixels(big_scene, big_scene.screenshot())
    # Dark theme: light text on a dark panel; no black text left.
    assert (dark.sum(axis=1) > 600).sum() > 20 and np.median(dark.sum(axis=1)) < 150
    for panel in big_scene.legends:
        for t in panel.texts:
            assert min(t.GetTextProperty().GetColor()) > 0.8
    # A panel made after the switch (a new layer) is dark too.
    big_scene.add_layer(BuildingLayer(name="Late", features=two_buildings, color_by="surface"))
    assert all(p.dark for p in big_scene.legends)
    big_scene.set_dark(False)
    assert all(max(t.GetTextProperty().GetColor()) < 0.2 for t in big_scene.legends[0].texts)


def test_dark_ground_shadow_is_darker_than_the_dark_ground(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    _top(scene)
    scene.set_dark(True)
    d = _direction(225.0, 35.0)
    scene.set_sun(d, above_horizon=True)
    scene.set_shadows(True)
    shade = pixel_at(scene, _in_shadow(d, 30.0))
    ground = _ground_rgb(GROUND_DARK)
    assert shade.sum() < ground.sum() - 40 and shade.min() > 20


def test_palettes_of_the_sample_twin_do_not_collide() -> None:
    """Building heights, congestion classes and AQI categories share no colour (RGB distance
    at least 60 between any two colours of different layers)."""
    from twin_app.model.aqi import category_scale
    from twin_app.model.sensors import TrafficLayer
    from twin_app.model.style import CONGESTION, colormap_rgb8, palette_rgb

    heights = colormap_rgb8(BuildingLayer.colormap, 256).astype(float)
    traffic_scale = TrafficLayer.class_scale(TrafficLayer.__new__(TrafficLayer))
    assert traffic_scale is CONGESTION or traffic_scale is None
    traffic = palette_rgb(CONGESTION.colors).astype(float)
    for std in ("us_epa", "china_hj633"):
        air = category_scale(std).rgb().astype(float)
        for a, b in ((heights, traffic), (heights, air), (traffic, air)):
            dist = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
            assert dist.min() >= 60, (std, dist.min())


def test_air_quality_surface_leaves_the_ground_plain_far_from_stations(
    scene: Scene, pixel_at
) -> None:
    from tests.render.test_time_layers import T0, _store
    from twin_app.geometry.interpolate import IDWGrid
    from twin_app.model.camera import CameraPose
    from twin_app.model.sensors import AirQualityLayer
    from twin_app.render.navigation import apply_pose

    store = _store(["S1/PM2.5", "S2/PM2.5"], [0], [[300.0], [300.0]])  # Hazardous
    xyz = np.array([[-50.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    gx = np.arange(-590.0, 600.0, 20.0)
    layer = AirQualityLayer(
        name="air",
        store=store,
        station_ids=np.array(["S1", "S2"], object),
        station_xyz=xyz,
        pollutants=("PM2.5",),
        columns=np.array([[0], [1]]),
        interpolator=IDWGrid(xyz[:, :2], gx, gx),
        grid_bounds=(-600.0, 600.0, -600.0, 600.0),
        grid=np.full((gx.size, gx.size), np.nan, np.float32),
        interpolation="last",
    )
    layer.update(T0)
    assert np.isfinite(layer.grid).all()  # the interpolation itself covers the whole grid
    scene.add_layer(layer)
    apply_pose(
        scene.plotter.renderer,
        CameraPose((0.0, 0.0, 2600.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    )
    scene.plotter.camera_set = True
    scene.show_legends = False
    scene.legends_changed()
    ground = _ground_rgb()
    near = pixel_at(scene, (-120.0, 80.0, 0.3))  # 150 m from S1: tinted
    assert np.abs(near - ground).max() > 15
    for far in ((450.0, 450.0, 0.3), (-500.0, -300.0, 0.3), (0.0, 420.0, 0.3)):
        assert np.abs(pixel_at(scene, far) - ground).max() <= 2, far


def test_viewer_casts_shadows_from_the_sessions_sun(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    """Clock -> session.sun (pvlib) -> viewer binding -> the shadow on the ground."""
    import pandas as pd

    from tests.session.test_session_sun import CITY
    from twin_app.model.city import CityModel
    from twin_app.render.viewer import Viewer
    from twin_app.session import Session

    session = Session()
    session.city = CityModel(CITY)
    session.layers.append(BuildingLayer(name="b", features=two_buildings))
    session.clock.seek(int(pd.Timestamp("2026-06-21T15:00Z").value))  # sun in the south-west
    viewer = Viewer(session, scene.plotter)
    sc = viewer.scene
    assert sc.sun_direction == pytest.approx(session.sun.direction)
    _top(sc)
    sc.set_shadows(True)
    afternoon = _in_shadow(sc.sun_direction, 30.0)
    assert afternoon[0] > TOWER[0] and afternoon[1] > TOWER[1]  # falls to the north-east
    lit = pixel_at(sc, afternoon)
    session.clock.seek(int(pd.Timestamp("2026-06-21T08:00Z").value))  # sun in the east
    assert sc.sun_direction == pytest.approx(session.sun.direction)
    morning = _in_shadow(sc.sun_direction, 30.0)
    assert morning[0] < TOWER[0]  # falls to the west
    assert pixel_at(sc, afternoon).sum() > pixel_at(sc, morning).sum() + 150
    assert lit.sum() < pixel_at(sc, afternoon).sum() - 150  # the afternoon shadow moved away
    session.clock.seek(int(pd.Timestamp("2026-06-21T23:00Z").value))  # night
    assert sc.shadow_note.GetVisibility() and "below the horizon" in sc.shadow_note.GetInput()
    viewer.close()


def test_shadow_lies_on_the_ground_layer_too(
    scene: Scene, two_buildings: FeatureSet, pixel_at
) -> None:
    """A park under the tower's shadow turns darker; shadows off, it is its own green again."""
    import pandas as pd

    from twin_app.model.city import GROUND as GROUND_KIND
    from twin_app.model.city import index_array_name
    from twin_app.model.layers import GroundLayer
    from twin_app.model.mesh import TriMesh

    pts = np.array([[0, 0, 0.1], [200, 0, 0.1], [200, 200, 0.1], [0, 200, 0.1]], np.float64)
    mesh = TriMesh(
        pts,
        np.array([[0, 1, 2], [0, 2, 3]], np.int64),
        {index_array_name(GROUND_KIND): np.zeros(2, np.int32)},
    )
    table = pd.DataFrame({"id": ["park"], "type": ["park"]})
    park = FeatureSet("Ground", GROUND_KIND, "test", np.array(["park"], object), table, mesh)
    scene.add_layer(GroundLayer(name="Ground", features=park))
    scene.add_layer(BuildingLayer(name="b", features=two_buildings))
    _top(scene)
    d = _direction(225.0, 35.0)
    scene.set_sun(d, above_horizon=True)
    spot = _in_shadow(d, 30.0)
    assert spot[0] > 0 and spot[1] > 0  # on the park, north-east of the tower
    green = pixel_at(scene, spot)
    scene.set_shadows(True)
    shaded = pixel_at(scene, spot)
    assert shaded.sum() < green.sum() - 100 and shaded.min() > 60
    # On the park in the sun: lit (by the sun's own elevation: the park is a lit surface,
    # unlike the plane), lighter than the shade.
    lit_before = pixel_at(scene, (150.0, 20.0, 0.1))
    assert lit_before.sum() > shaded.sum() + 40  # measured while shadows are on
    scene.set_shadows(False)
    assert np.abs(pixel_at(scene, spot) - green).max() <= 2


def test_a_long_legend_title_is_shortened_to_fit_a_narrow_view(two_buildings: FeatureSet) -> None:
    """A compare side half a 640x360 video frame wide kept no change legend: the result
    layer's long name made the panel wider than the view, and it was hidden."""
    name = "Roads (london.osm.pbf) (Close St Martin's Le Grand (A40) for works)"
    plotter = offscreen_plotter(320, 360, aa="off")
    try:
        scene = Scene(plotter)
        scene.add_layer(BuildingLayer(name=name, features=two_buildings, colormap="viridis"))
        scene.set_view("oblique")
        scene.screenshot()
        (panel,) = scene.legends
        assert panel.visible
        x0, _, x1, _ = panel.box
        assert 0 <= x0 < x1 <= 320
        text = panel.title_text.GetInput()
        assert text.endswith(panel.subtitle) and "..." in text
        assert name.startswith(text.split("...")[0]) and len(text.split("...")[0]) >= 8
    finally:
        plotter.close()
    wide = offscreen_plotter(1600, 900, aa="off")
    try:  # room enough: the whole name
        scene = Scene(wide)
        scene.add_layer(BuildingLayer(name=name, features=two_buildings, colormap="viridis"))
        scene.screenshot()
        assert scene.legends[0].title_text.GetInput().startswith(name)
    finally:
        wide.close()
