"""The session side of a comparison: per-feature aggregation of per-link results, two sides
sharing unchanged layers, result layers over the same geometry, one selection, one clock."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compare_fixtures import compare_session, road_set
from twin_app.model.layers import BuildingLayer, RoadLayer
from twin_app.model.style import DELTA_COLORMAP, FLOW_CHANGE, column_clim
from twin_app.session import Selection, Session
from twin_app.session.compare import (
    CompareError,
    Comparison,
    delta_column,
    directional_sum,
    per_feature,
)


def test_per_feature_absmax_keeps_the_sign_of_the_larger_direction() -> None:
    # links 0/1 are the two directions of road 2, link 2 is road 0, link 3 is off the layer
    values = [300.0, -50.0, -80.0, 999.0, np.nan]
    rows = [2, 2, 0, -1, 1]
    got = per_feature(values, rows, 4)
    np.testing.assert_array_equal(got[[0, 2]], [-80.0, 300.0])
    assert np.isnan(got[1]) and np.isnan(got[3])  # NaN value, no link: no data
    assert per_feature([-5.0, 5.0], [0, 0], 1)[0] == 5.0  # a tie: the larger value


def test_per_feature_sum_mean_max_min_against_a_loop() -> None:
    rng = np.random.default_rng(8)
    rows = rng.integers(-1, 50, 2000)
    values = rng.normal(0, 100, 2000)
    for how, fn in (("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min)):
        got = per_feature(values, rows, 60, how)  # type: ignore[arg-type]
        for r in range(60):
            mine = values[rows == r]
            if mine.size:
                assert got[r] == pytest.approx(fn(mine)), (how, r)
            else:
                assert np.isnan(got[r])
    absmax = per_feature(values, rows, 60)
    for r in range(50):
        mine = values[rows == r]
        assert absmax[r] == mine[np.argmax(np.abs(mine))]
    with pytest.raises(CompareError, match="3 values but 2 feature rows"):
        per_feature([1, 2, 3], [0, 1], 2)


def test_diverging_limits_are_symmetric_about_zero_and_robust() -> None:
    v = np.r_[np.zeros(500), np.linspace(-100, 100, 101), 5000.0, np.nan]
    lo, hi = FLOW_CHANGE.limits(v)
    assert lo == -hi and 90 < hi < 200  # one outlier (5000) does not set the range
    assert FLOW_CHANGE.limits(np.zeros(10)) == (-1.0, 1.0)  # nothing changed: all neutral
    assert column_clim("flow_delta_veh_h", v) == (lo, hi)
    assert FLOW_CHANGE.title == "Flow change (veh/h)"
    assert FLOW_CHANGE.limits([-0.0734, 0.0]) == pytest.approx((-0.074, 0.074))


@pytest.fixture
def session() -> Session:
    return compare_session()


def test_sides_share_unchanged_layers_and_results_share_the_geometry(session: Session) -> None:
    buildings, roads = session.layers
    cmp = Comparison(session, "Closure")
    assert list(cmp.baseline.layers) == [buildings, roads] == list(cmp.scenario.layers)
    base = np.array([400.0, 800.0, 200.0])
    scen = np.array([0.0, 1100.0, 200.0])
    cmp.set_result(roads, "flow_veh_h", base, scen)
    left, right = cmp.baseline.layers, cmp.scenario.layers
    assert left[0] is buildings and right[0] is buildings  # one object, drawn by both views
    r = right[1]
    assert isinstance(r, RoadLayer) and r is not roads and r.name == "Roads (Closure)"
    assert r.features is not None and roads.features is not None
    assert r.features.mesh is roads.features.mesh  # no copy of the geometry
    assert r.features.ids is roads.features.ids
    assert "flow_veh_h" not in roads.features.table  # the baseline's table is untouched
    np.testing.assert_array_equal(r.feature_values("flow_delta_veh_h"), [-400.0, 300.0, 0.0])
    assert r.color_by == delta_column("flow_veh_h") == "flow_delta_veh_h"
    assert r.colormap == DELTA_COLORMAP and r.clim is None
    assert left[1].color_by == "flow_veh_h"
    np.testing.assert_array_equal(left[1].feature_values("flow_veh_h"), base)
    # value view: both sides on one range
    cmp.set_show("value")
    assert r.color_by == "flow_veh_h" and r.clim == left[1].clim is not None
    # the base's visibility reaches the result layers
    roads.visible = False
    assert not r.visible and not left[1].visible
    assert cmp.camera is session.camera and cmp.scenario.camera is session.camera
    cmp.drop_result(roads)
    assert list(cmp.scenario.layers) == [buildings, roads] == list(cmp.baseline.layers)
    cmp.close()


def test_selection_is_one_across_the_sides(session: Session) -> None:
    roads = session.layers[1]
    cmp = Comparison(session)
    cmp.set_result(roads, "flow_veh_h", np.zeros(3), np.ones(3))
    result = cmp.scenario.layers[1]
    seen: list[Selection] = []
    cmp.scenario.selection_changed.connect(seen.append)
    cmp.scenario.select_features(result, [2])  # a pick on the scenario view
    assert session.selection == Selection(roads.uid, (2,))
    assert seen[-1] == Selection(result.uid, (2,)) == cmp.scenario.selection
    assert cmp.baseline.selection.layer_uid == cmp.baseline.layers[1].uid
    cmp.close()


def test_session_layer_changes_reach_both_sides(session: Session) -> None:
    buildings, roads = session.layers
    cmp = Comparison(session)
    cmp.set_result(roads, "flow_veh_h", np.zeros(3), np.ones(3))
    extra = BuildingLayer(name="More", features=buildings.features)
    session.layers.append(extra)
    assert cmp.scenario.layers[-1] is extra and cmp.baseline.layers[-1] is extra
    session.layers.move(2, 0)
    assert cmp.scenario.layers[0] is extra
    session.layers.remove(roads)
    assert [x.name for x in cmp.scenario.layers] == ["More", "Buildings"]
    cmp.close()


def test_a_time_series_follows_the_clock_in_place(session: Session) -> None:
    roads = session.layers[1]
    cmp = Comparison(session)
    t0 = 1_700_000_000_000_000_000
    times = np.array([t0, t0 + 3600 * 10**9])
    base = np.array([[100.0, 100.0, 100.0], [200.0, 200.0, 200.0]])
    scen = base + np.array([[10.0, -10.0, 0.0], [-50.0, 50.0, 0.0]])
    session.clock.extend_range(int(times[0]), int(times[1]) + 10**12)
    session.clock.seek(int(times[0]))
    cmp.set_result(roads, "flow_veh_h", base, scen, times_ns=times)
    r = cmp.scenario.layers[1]
    np.testing.assert_array_equal(r.feature_values("flow_delta_veh_h"), [10.0, -10.0, 0.0])
    restyles: list[object] = []
    r.events.color_by.connect(lambda *a: restyles.append(a))
    session.clock.seek(int(times[1]) + 60 * 10**9)
    np.testing.assert_array_equal(r.feature_values("flow_delta_veh_h"), [-50.0, 50.0, 0.0])
    assert len(restyles) == 1
    session.clock.seek(int(times[1]) + 120 * 10**9)  # same step: nothing written
    assert len(restyles) == 1
    with pytest.raises(CompareError, match="need times_ns"):
        cmp.set_result(roads, "flow_veh_h", base, scen)
    cmp.close()


def test_pipes_and_a_traffic_replay_over_the_changed_roads() -> None:
    from tests.compare_fixtures import pipe_set
    from twin_app.model.layers import FeatureLayer
    from twin_app.model.sensors import PipeLayer, TrafficLayer

    s = Session()
    roads = RoadLayer(name="Roads", features=road_set())
    traffic = TrafficLayer(name="Traffic", roads=roads.features)
    pipes = PipeLayer(name="Pipes", features=pipe_set())
    s.layers.extend([roads, traffic, pipes])
    cmp = Comparison(s, "Main closed")
    # node pressures onto pipes: the mean of each pipe's two end nodes
    link_nodes = np.array([[0, 1], [1, 2], [2, 3]])
    base_nodes = np.array([40.0, 38.0, 36.0, 35.0])
    scen_nodes = np.array([40.0, 30.0, 20.0, 35.0])
    rows = np.repeat(np.arange(3), 2)
    base = per_feature(base_nodes[link_nodes].ravel(), rows, 3, "mean")
    scen = per_feature(scen_nodes[link_nodes].ravel(), rows, 3, "mean")
    cmp.set_result(pipes, "pressure_m", base, scen)
    result = cmp.scenario.layers[-1]
    assert type(result) is FeatureLayer and result.feature_set() is not pipes.features
    assert result.color_by == "pressure_delta_m"
    np.testing.assert_allclose(result.feature_values("pressure_delta_m"), [-4.0, -12.0, -8.0])
    assert traffic in cmp.scenario.layers  # roads not changed yet: the replay shows
    cmp.set_result(roads, "flow_veh_h", np.zeros(3), np.ones(3))
    # the replay would hide the changed roads: it leaves both sides, stays in the session
    assert traffic not in cmp.scenario.layers and traffic not in cmp.baseline.layers
    assert traffic in s.layers
    cmp.close()


def test_a_time_series_keeps_one_colour_range_over_its_steps(session: Session) -> None:
    roads = session.layers[1]
    cmp = Comparison(session)
    times = np.array([0, 3600 * 10**9]) + 1_700_000_000_000_000_000
    base = np.full((2, 3), 100.0)
    scen = base + np.array([[10.0, -10.0, 0.0], [-50.0, 50.0, 0.0]])
    cmp.set_result(roads, "flow_veh_h", base, scen, times_ns=times)
    assert cmp.scenario.layers[1].clim == (-50.0, 50.0)  # the larger step's, at either step
    cmp.set_show("value")
    assert (
        cmp.scenario.layers[1].clim
        == cmp.baseline.layers[1].clim
        == column_clim("flow_veh_h", np.r_[base.ravel(), scen.ravel()])
    )
    cmp.close()


def test_show_result_maps_link_and_node_tables_onto_roads_and_pipes() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from tests.compare_fixtures import pipe_set
    from twin_app.model.sensors import PipeLayer
    from twin_app.scenarios.model import Kpi, ScenarioResult

    s = Session()
    roads = RoadLayer(name="Roads", features=road_set())
    hydraulics = SimpleNamespace(node_ids=np.array(["J1", "J2", "J3", "J4"], dtype=object))
    pipes = PipeLayer(
        name="Pipes",
        features=pipe_set(),
        result=hydraulics,  # type: ignore[arg-type]  # only the node ids are read
        link_nodes=np.array([[0, 1], [1, 2], [2, 3]]),
    )
    s.layers.extend([roads, pipes])
    # two directions on road 0 (one closed, one taking the traffic), one link on road 1
    links = pd.DataFrame(
        {
            "id": ["1-2", "2-1", "3-4"],
            "flow_baseline": [300.0, 200.0, 100.0],
            "flow_scenario": [0.0, 450.0, 400.0],
            "vc_baseline": [0.5, 0.4, 0.2],
            "vc_scenario": [0.0, 0.9, 0.8],
            "segment_row": [0, 0, 1],
        }
    )
    links["flow_delta"] = links["flow_scenario"] - links["flow_baseline"]
    nodes = pd.DataFrame(  # in another order than the layer's nodes, J4 missing
        {
            "id": ["J3", "J1", "J2"],
            "min_pressure_baseline": [30.0, 40.0, 35.0],
            "min_pressure_scenario": [10.0, 40.0, 25.0],
        }
    )
    result = ScenarioResult("Closure", (Kpi("tstt_veh_h", 1.0, 2.0, "veh h"),), links, nodes)
    cmp = Comparison(s, result.name)
    assert cmp.show_result(result, roads=roads, pipes=pipes) == []
    r = cmp.scenario.layers[0]
    np.testing.assert_array_equal(r.feature_values("flow_veh_h")[:2], [450.0, 400.0])
    np.testing.assert_array_equal(r.feature_values("flow_delta_veh_h")[:2], [-300.0, 300.0])
    assert np.isnan(r.feature_values("flow_delta_veh_h")[2])  # no link on road 2
    np.testing.assert_array_equal(
        cmp.baseline.layers[0].feature_values("flow_veh_h")[:2], [500.0, 100.0]
    )
    p = cmp.scenario.layers[1]
    # pipes J1-J2, J2-J3, J3-J4: mean of the known end nodes' change
    np.testing.assert_allclose(p.feature_values("pressure_delta_m"), [-5.0, -15.0, -20.0])
    cmp.show_result(result, roads=roads, traffic="vc")
    np.testing.assert_array_equal(r.feature_values("vc_ratio")[:2], [0.9, 0.8])
    assert r.color_by == "vc_ratio_delta" and r.colormap == DELTA_COLORMAP
    empty = ScenarioResult("Nothing", ())
    assert cmp.show_result(empty, roads=roads, pipes=pipes) == [
        "Roads: no per-segment traffic result to show",
        "Pipes: no per-node water result to show",
    ]
    cmp.close()


def test_every_change_column_is_diverging() -> None:
    from twin_app.model.style import ColorScale, column_scale

    for name, title in (
        ("flow_delta_veh_h", "Flow change (veh/h)"),
        ("pressure_delta_m", "Pressure change (m)"),
        ("vc_ratio_delta", "Volume / capacity change"),
        ("demand_served_delta", "demand_served change"),
    ):
        scale = column_scale(name)
        assert isinstance(scale, ColorScale) and scale.diverging, name
        assert scale.title == title and scale.colormap == DELTA_COLORMAP
    assert column_scale("height_m") is None
    # a ratio with a meaning at 1 keeps one range in every scenario
    assert column_clim("vc_ratio", [0.1, 3.0]) == (0.0, 1.5)


def test_directional_sum_counts_each_piece_of_a_way_once() -> None:
    import pandas as pd

    # way/1 split in three pieces forward and two against, on row 0; way/2 on row 2
    links = pd.DataFrame(
        {
            "id": ["way/1#1", "way/1#2", "way/1#3", "way/1#1@r", "way/1#2@r", "way/2"],
            "flow": [300.0, 320.0, 310.0, 100.0, 90.0, 50.0],
            "segment_row": [0, 0, 0, 0, 0, 2],
        }
    )
    got = directional_sum(links, "flow", 3)
    np.testing.assert_array_equal(got[[0, 2]], [420.0, 50.0])
    assert np.isnan(got[1])


def test_a_study_raster_hides_the_sensors_aqi_surface_on_both_sides() -> None:
    """Two colour maps on the ground cannot be read together: the AQI surface's reds would
    turn a sun-hours loss (blue) red."""
    from twin_app.model.raster import RasterLayer
    from twin_app.model.sensors import AirQualityLayer

    session = Session()
    air = AirQualityLayer(name="Air")
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.extend([roads, air])
    cmp = Comparison(session, "Tower")
    try:
        assert air in cmp.baseline.layers and air in cmp.scenario.layers
        sun = [RasterLayer(name=f"Sun {i}", values=np.zeros((2, 2))) for i in range(2)]
        cmp.set_extras("sun_raster", [sun[0]], [sun[1]])
        for side, raster in zip(cmp.sides, sun, strict=True):
            assert air not in side.layers and roads in side.layers and raster in side.layers
        air.show_surface = False  # pins only: nothing to hide
        cmp.set_extras("other", [], [])
        assert air in cmp.baseline.layers
        air.show_surface = True
        cmp.set_extras("sun_raster", [], [])  # the study gone: the surface is back
        assert air in cmp.baseline.layers and air in cmp.scenario.layers
    finally:
        cmp.close()
