"""Time-driven layers: pixels change with the clock, arrays are written in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString
from vtkmodules.util.numpy_support import vtk_to_numpy

from twin_app.feeds.store import SensorStore
from twin_app.feeds.tracks import MoverTracks
from twin_app.geometry.lines import line_arrays, ribbons
from twin_app.model.city import ROADS, FeatureSet, Polylines
from twin_app.model.clock import NS
from twin_app.model.sensors import AirQualityLayer, MoverLayer, TrafficLayer
from twin_app.render.scene import Scene

T0 = 1_772_409_600 * NS  # 2026-03-02T00:00Z


def _top(scene: Scene) -> None:
    """Look straight down on a 300 m square around the origin."""
    from twin_app.model.camera import CameraPose
    from twin_app.render.navigation import apply_pose

    apply_pose(
        scene.plotter.renderer, CameraPose((0.0, 0.0, 600.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    )
    scene.plotter.camera_set = True
    # The legend panels sit in the top-left corner; in a 400 x 300 view they would cover
    # the pixels these tests read.
    scene.show_legends = False
    scene.legends_changed()


def _roads() -> FeatureSet:
    geoms = np.array(
        [LineString([(-60, 0), (60, 0)]), LineString([(0, -60), (0, 60)])], dtype=object
    )
    coords, offsets, part = line_arrays(geoms)
    lines = Polylines(np.column_stack([coords, np.zeros(len(coords))]), offsets, part)
    mesh = ribbons(lines, np.array([12.0, 12.0]), part)
    table = pd.DataFrame({"id": ["east-west", "north-south"], "class": ["primary", "primary"]})
    return FeatureSet(
        "Roads", ROADS, "test", table["id"].to_numpy(object), table, mesh, lines=lines
    )


def _store(ids: list[str], times_s: list[int], values: list[list[float]]) -> SensorStore:
    sid = np.repeat(np.array(ids, object), len(times_s))
    t = np.tile(np.array(times_s, np.int64) * NS + T0, len(ids)).astype("datetime64[ns]")
    v = np.array(values, np.float64).ravel()  # sensor-major, like `sid` and `t`
    store, report = SensorStore.from_long(sid, t, v)
    assert report.rows_kept == int(np.isfinite(v).sum())
    return store


def test_traffic_colours_follow_the_clock(scene: Scene, pixel_at) -> None:
    # sensor a (east-west road): free flow at t=0, jammed at t=600 s; b: no data at t=600
    store = _store(["a", "b"], [0, 600], [[60.0, 10.0], [55.0, float("nan")]])
    layer = TrafficLayer(
        name="traffic",
        store=store,
        roads=_roads(),
        segment_sensor=np.array([0, 1]),
        free_flow=np.array([60.0, 60.0], np.float32),
        interpolation="last",
        max_staleness_s=300,
    )
    layer.update(T0)
    adapter = scene.add_layer(layer)
    _top(scene)
    # the mapper colours the ribbons from one point array that each tick rewrites in place
    array_name = adapter.mapper.GetArrayName()
    values_array = adapter.mesh.GetPointData().GetArray(array_name)
    assert values_array is not None and values_array.GetNumberOfTuples() == adapter.mesh.n_points
    free = pixel_at(scene, (30.0, 0.0, 0.25))
    assert free[1] > free[0] + 40  # green: free flow
    layer.update(T0 + 600 * NS)
    jam = pixel_at(scene, (30.0, 0.0, 0.25))
    assert jam[2] > 80 and jam[2] > jam[1] + 60 and jam[1] < 40  # deep violet: severe
    stale = pixel_at(scene, (0.0, 30.0, 0.25))
    assert abs(int(stale[0]) - int(stale[2])) < 20  # grey: b's last sample is too old
    assert adapter.mesh.GetPointData().GetArray(array_name) is values_array  # written in place
    written = vtk_to_numpy(values_array)
    assert np.shares_memory(written, adapter.point_values)
    # every ribbon point carries its road's value: a (jammed) and b (no data)
    np.testing.assert_array_equal(written, layer.values[adapter.point_feature])
    assert np.isnan(written[adapter.point_feature == 1]).all()
    assert np.isfinite(written[adapter.point_feature == 0]).all()
    assert layer.congestion_class().tolist() == [0, -1]


def test_air_quality_stations_and_surface_follow_the_clock(scene: Scene, pixel_at) -> None:
    from twin_app.geometry.interpolate import IDWGrid

    store = _store(["S1/PM2.5", "S2/PM2.5"], [0, 3600], [[5.0, 300.0], [5.0, 20.0]])
    xyz = np.array([[-50.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    gx = np.arange(-195.0, 200.0, 10.0)
    layer = AirQualityLayer(
        name="air",
        store=store,
        station_ids=np.array(["S1", "S2"], object),
        station_xyz=xyz,
        pollutants=("PM2.5",),
        columns=np.array([[0], [1]]),
        interpolator=IDWGrid(xyz[:, :2], gx, gx),
        grid_bounds=(-200.0, 200.0, -200.0, 200.0),
        grid=np.full((gx.size, gx.size), np.nan, np.float32),
        interpolation="last",
    )
    layer.update(T0)
    scene.add_layer(layer)
    _top(scene)
    good = pixel_at(scene, (-50.0, 0.0, 30.0))
    assert layer.aqi_values.tolist() == [
        28.0,
        28.0,
    ]  # 5 µg/m³ PM2.5: 50/9 x 5 = 27.8, "Good" (EPA 2024)
    assert good[1] > 150 and good[1] > good[0] + 60  # green column top
    layer.update(T0 + 3600 * NS)
    assert layer.aqi_values[0] > 300  # 300 µg/m³: Hazardous
    bad = pixel_at(scene, (-50.0, 0.0, 30.0))
    assert bad[0] > 80 and bad[1] < 60  # maroon
    surface = pixel_at(scene, (-100.0, 60.0, 0.3))
    assert surface[0] > surface[1]  # the interpolated surface turned red/purple near S1


def test_movers_move_smoothly_with_trails(scene: Scene, pixel_at) -> None:
    ids = np.array(["bus"] * 2, object)
    t = (np.array([0, 100]) * NS + T0).astype("datetime64[ns]")
    tracks, _ = MoverTracks.from_long(ids, t, np.array([-100.0, 100.0]), np.array([0.0, 0.0]))
    layer = MoverLayer(
        name="buses",
        tracks=tracks,
        mover_ids=np.array(["bus"], object),
        trail_s=40,
        color="#0000ff",
    )
    layer.update(T0 + 25 * NS)
    assert layer.positions[0, 0] == pytest.approx(-50.0)
    assert layer.headings[0] == pytest.approx(np.pi / 2)  # heading east
    scene.add_layer(layer)
    _top(scene)
    here = pixel_at(scene, (-50.0, 0.0, 0.0))
    assert here[2] > here[0] + 60  # the blue glyph
    layer.update(T0 + 75 * NS)
    assert layer.positions[0, 0] == pytest.approx(50.0)
    moved = pixel_at(scene, (50.0, 0.0, 0.0))
    assert moved[2] > moved[0] + 60
    trail = pixel_at(scene, (20.0, 0.0, 0.0))  # 30 m behind: on the fading trail
    assert trail[2] > trail[0]


def _rgb8(color: tuple[float, ...]) -> list[int]:
    return [int(np.floor(c * 255 + 0.5)) for c in color[:3]]


def _hex_rgb(color: str) -> list[int]:
    from twin_app.model.style import palette_rgb

    return [int(v) for v in palette_rgb([color])[0]]


def _lut_rgb(lut: object, value: float) -> list[int]:
    """The colour a vtkLookupTable maps a value to, as 8-bit RGB."""
    out = [0.0, 0.0, 0.0]
    lut.GetColor(value, out)  # type: ignore[attr-defined]
    return _rgb8(tuple(out))


def test_traffic_legend_and_colours_are_the_model_classes(scene: Scene) -> None:
    from twin_app.model.style import CONGESTION, NO_DATA_COLOR

    layer = TrafficLayer(
        name="traffic",
        store=_store(["a", "b"], [0], [[30.0], [50.0]]),
        roads=_roads(),
        segment_sensor=np.array([0, 1]),
        free_flow=np.array([60.0, 60.0], np.float32),
    )
    layer.update(T0)
    adapter = scene.add_layer(layer)
    kind, entries = adapter.legend()
    assert kind == "categories"
    assert entries == [
        *zip(CONGESTION.names[::-1], CONGESTION.colors[::-1], strict=True),
        ("no data", NO_DATA_COLOR),
    ]
    scene.legends_changed()
    (panel,) = scene.legends
    assert panel.title == "traffic" and panel.label_texts == [n for n, _ in entries]
    # what is drawn: each class's colour, from the same table, on both sides of every bound
    lut = adapter.mapper.GetLookupTable()
    rgb = CONGESTION.rgb().tolist()
    for ratio, k in ((0.2, 0), (0.39, 0), (0.41, 1), (0.59, 1), (0.61, 2), (0.79, 2), (0.81, 3)):
        assert _lut_rgb(lut, ratio) == rgb[k], ratio
        assert CONGESTION.classify(np.array([ratio]))[0] == k
    assert _rgb8(lut.GetNanColor()) == _hex_rgb(NO_DATA_COLOR)


def test_air_quality_legend_is_the_standard_table(scene: Scene) -> None:
    from twin_app.model.aqi import CATEGORY_COLORS, CATEGORY_NAMES_EN

    layer = AirQualityLayer(
        name="air",
        station_ids=np.array(["S1"], object),
        station_xyz=np.zeros((1, 3)),
        pollutants=("PM2.5",),
        columns=np.array([[0]]),
    )
    adapter = scene.add_layer(layer)
    for std in ("us_epa", "china_hj633"):
        layer.standard = std
        kind, entries = adapter.legend()
        assert kind == "categories"
        assert [n for n, _ in entries] == [f"AQI {n}" for n in CATEGORY_NAMES_EN[std]]
        assert [_hex_rgb(c) for _, c in entries] == [list(c) for c in CATEGORY_COLORS[std]]
        lut = adapter.surface_lut
        for aqi, k in ((25.0, 0), (75.0, 1), (125.0, 2), (175.0, 3), (250.0, 4), (400.0, 5)):
            assert _lut_rgb(lut, aqi) == list(CATEGORY_COLORS[std][k])


def test_lookup_tables_sample_the_colour_map_like_matplotlib() -> None:
    import matplotlib

    from twin_app.model.style import colormap_table
    from twin_app.render.colors import lookup_table

    for name in ("viridis", "RdYlGn", "YlOrRd"):
        lut = lookup_table(name, (10.0, 20.0))
        cm = matplotlib.colormaps[name]
        assert _lut_rgb(lut, 10.0) == _rgb8(cm(0.0)[:3])
        assert _lut_rgb(lut, 20.0) == _rgb8(cm(1.0)[:3])
        table = colormap_table(name, 256)
        for v in (11.0, 13.3, 15.0, 18.8):
            i = min(int((v - 10.0) / 10.0 * 256), 255)
            assert _lut_rgb(lut, v) == _rgb8(tuple(table[i, :3])), (name, v)
    assert _lut_rgb(lookup_table("viridis", (0.0, 1.0)), 0.5) == [0x21, 0x91, 0x8C]
