"""What a scenario changes in the city, in the compare view (issue 9): the sample twin's own
scenario files (the tower, the 5G station) and a bounded patrol run, shown on a session with
the sample twin open, rendered offscreen.

The references are structural and visual: the tower's triangles are on the scenario side
only and its pixels differ between the sides; the robots move with the clock and leave
trails; the stations are drawn; the per-floor RSRP names the right buildings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import pyvista as pv

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.model.layers import BuildingLayer, FeatureLayer, Layer
from twin_app.render.compare import CompareView
from twin_app.render.plotter import offscreen_plotter
from twin_app.scenarios.file import load_scenario, scenario_from_dict
from twin_app.scenarios.model import ScenarioResult
from twin_app.scenarios.run import run_scenario
from twin_app.session import Session
from twin_app.session.compare import Comparison
from twin_app.session.study_scene import (
    CHANGED_COLOR,
    buildings_layer,
    mover_layers,
    patrol_anchor_ns,
)

# The fixtures run the sample twin's scenarios for real (the tower's day of sun hours, the 5G
# study, a patrol plan) and open the sample twin: about 40 s of set-up on a shared machine,
# each test under 1.5 s after it.
pytestmark = pytest.mark.slow

W, H = 400, 300
NS = 1_000_000_000
HIDE = {"TrafficLayer", "AirQualityLayer", "MoverLayer", "PipeLayer", "IfcLayer"}


@pytest.fixture(scope="module")
def session() -> Session:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR))
    for layer in s.layers:  # the twin's live layers are not what these tests look at
        if type(layer).__name__ in HIDE:
            layer.visible = False
    return s


@pytest.fixture(scope="module")
def tower() -> ScenarioResult:
    return run_scenario(load_scenario(SAMPLE_DIR / "scenarios" / "add_tower.toml"))


@pytest.fixture(scope="module")
def radio() -> ScenarioResult:
    return run_scenario(load_scenario(SAMPLE_DIR / "scenarios" / "add_5g_station.toml"))


@pytest.fixture(scope="module")
def patrol() -> ScenarioResult:
    # a 400 m district (as tests/scenarios/test_patrol_scenarios.py): a run of about a second
    return run_scenario(
        scenario_from_dict(
            {
                "schema": 1,
                "name": "More robots",
                "twin": str(SAMPLE_DIR),
                "patrol": {"robots": 4, "bounds": [-200.0, -200.0, 200.0, 200.0]},
                "interventions": [{"kind": "add_robots", "count": 4}],
            }
        )
    )


@pytest.fixture
def view(session: Session) -> Iterator[tuple[Comparison, CompareView]]:
    cmp = Comparison(session, "Scenario")
    plotters: list[pv.Plotter] = [offscreen_plotter(W, H, aa="off") for _ in range(2)]
    v = CompareView(plotters[0], plotters[1], cmp)
    for viewer in v.viewers:
        viewer.scene.show_legends = False
        viewer.scene.legends_changed()
    yield cmp, v
    cmp.close()
    for p in plotters:
        p.close()


def _project(v: CompareView, xyz: Any) -> tuple[int, int]:
    r = v.scenario.scene.plotter.renderer
    r.SetWorldPoint(float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    return round(x), round(H - 1 - y)


def _extras(side: Any, key: str) -> list[Layer]:
    return list(side.extras.get(key, []))


# -- massing ----------------------------------------------------------------------------------
def test_the_tower_stands_on_the_scenario_side_only(
    session: Session, tower: ScenarioResult, view: tuple[Comparison, CompareView]
) -> None:
    cmp, v = view
    assert cmp.show_result(tower) == []
    scen = tower.extra["massing_scenario"]
    (new,) = [i for i in scen.changed if str(scen.building_ids[i]) == "new/charterhouse_tower"]
    base_layer = buildings_layer(session)
    assert base_layer is not None and base_layer.features is not None
    # The scenario side draws a stand-in over the same rows (same ids, same order) ...
    stand_in = cmp.scenario.results[base_layer.uid]
    assert isinstance(stand_in, BuildingLayer) and stand_in in cmp.scenario.layers
    assert stand_in.features is not None
    assert list(stand_in.features.ids) == list(base_layer.features.ids)
    assert base_layer in cmp.baseline.layers and base_layer not in cmp.scenario.layers
    assert "new/charterhouse_tower" not in set(base_layer.features.ids)  # baseline: no tower
    # ... and the tower in a layer of its own, in the highlight colour, 60 m tall.
    (changed,) = _extras(cmp.scenario, "massing")
    assert isinstance(changed, BuildingLayer) and changed.color == CHANGED_COLOR
    assert changed.features is not None
    assert list(changed.features.ids) == ["new/charterhouse_tower"]
    assert changed.features.table["height_m"].iloc[0] == pytest.approx(60.0, abs=0.5)
    assert _extras(cmp.baseline, "massing") == []
    tri = np.asarray(scen.mesh.cell_data["building_index"]) == new
    tower_pts = scen.mesh.points[np.unique(scen.mesh.triangles[tri])]
    assert changed.features.mesh.n_triangles == int(tri.sum())
    # Pixels: half-way up the tower it is orange on the scenario side and not on the baseline.
    centre = tower_pts.mean(axis=0)
    xy = centre[:2]
    session.camera.set_pose(
        CameraPose((xy[0] - 200.0, xy[1] - 280.0, 220.0), (xy[0], xy[1], 25.0), (0.0, 0.0, 1.0))
    )
    left, right = v.screenshots()
    c, r = _project(v, (xy[0], xy[1], tower_pts[:, 2].min() + 30.0))
    orange = np.array([255, 127, 14])
    lit = right[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
    # the lit faces of an orange wall: red well over blue
    assert ((lit[:, 0] - lit[:, 2]) > 80).all(), lit
    assert np.abs(left[r, c].astype(int) - right[r, c].astype(int)).sum() > 60
    assert not (np.abs(left[r - 2 : r + 3, c - 2 : c + 3].astype(int) - orange) < 40).all()


def test_a_proposed_ifc_model_is_in_the_scenario_only(
    session: Session, tower: ScenarioResult, view: tuple[Comparison, CompareView]
) -> None:
    """``add_ifc``: the twin's own IFC layer (the FZK-Haus) is left out of both sides, the
    baseline has no house and the scenario draws the model's body as a changed building."""
    import tomllib

    cmp, v = view
    data = tomllib.loads((SAMPLE_DIR / "scenarios" / "propose_ifc_house.toml").read_text())
    data["twin"] = str(SAMPLE_DIR)
    data["interventions"][0]["ifc"] = str(SAMPLE_DIR / "AC20-FZK-Haus.ifc")
    data["sun"].update(step_min=60.0, cell_m=4.0, buffer_m=30.0)
    house = run_scenario(scenario_from_dict(data))
    ifc = next(x for x in session.layers if x.kind == "ifc")
    ifc.visible = True
    try:
        assert ifc in cmp.baseline.layers and ifc in cmp.scenario.layers
        assert cmp.show_result(house) == []
        assert ifc not in cmp.baseline.layers and ifc not in cmp.scenario.layers
        scen = house.extra["massing_scenario"]
        (changed,) = _extras(cmp.scenario, "massing")
        assert changed.features is not None
        assert list(changed.features.ids) == ["new/fzk_haus"]
        body = np.asarray(scen.mesh.cell_data["building_index"]) == scen.bodies[0]
        assert changed.features.mesh.n_triangles == int(body.sum())
        pts = scen.mesh.points[np.unique(scen.mesh.triangles[body])]
        xy = pts[:, :2].mean(axis=0)
        session.camera.set_pose(
            CameraPose((xy[0] - 25.0, xy[1] - 35.0, 30.0), (xy[0], xy[1], 3.0), (0.0, 0.0, 1.0))
        )
        left, right = v.screenshots()
        c, r = _project(v, (xy[0], xy[1], 3.0))
        lit = right[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
        assert ((lit[:, 0] - lit[:, 2]) > 60).all(), lit  # the house, orange
        base = left[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
        # no house in the baseline: its sun-hours raster on open ground there
        assert (np.abs(base - lit).sum(axis=1) > 60).all(), base
        # another result: the model's layer is back on both sides
        assert cmp.show_result(tower) == []
        assert ifc in cmp.baseline.layers and ifc in cmp.scenario.layers
    finally:
        ifc.visible = False


# -- patrol -----------------------------------------------------------------------------------
def test_robots_replay_on_the_clock_with_trails(
    session: Session, patrol: ScenarioResult, view: tuple[Comparison, CompareView]
) -> None:
    cmp, v = view
    clock = session.clock
    assert cmp.show_result(patrol) == []
    anchor = patrol_anchor_ns(clock)
    assert anchor % (86_400 * NS) == 0 and anchor <= clock.t_ns
    # the clock covers the patrol horizon (24 h from the anchor)
    assert clock.start_ns <= anchor and clock.end_ns >= anchor + 24 * 3600 * NS
    (mb,) = mover_layers(cmp.baseline)
    (ms,) = mover_layers(cmp.scenario)
    assert len(ms.mover_ids) == 2 * len(mb.mover_ids)  # twice the robots, twice the posts
    routes = [x for x in _extras(cmp.scenario, "patrol") if type(x) is FeatureLayer]
    assert len(routes) == 1 and routes[0].features is not None
    assert routes[0].features.n_features == len(ms.mover_ids)
    clock.seek(anchor + 10 * 3600 * NS)
    p0 = ms.positions[:, :2].copy()
    for _ in range(5):  # five half-minute steps: the trail ring fills
        clock.seek(clock.t_ns + 30 * NS)
    p1 = ms.positions[:, :2].copy()
    both = ms.valid
    assert both.any()
    # 150 s at 1.2 m/s: each running robot moved (at most 180 m, straight line or less)
    moved = np.hypot(*(p1 - p0)[both].T)
    assert (moved > 10.0).all() and (moved <= 181.0).all(), moved
    trail = ms.trail
    assert trail.shape[1] >= 5
    span = np.nanmax(np.hypot(*(trail[both, :, :2] - trail[both, -1:, :2]).transpose(2, 0, 1)), 1)
    assert (span > 10.0).all()
    # Pixels: the scenario's robots are drawn where they stand (a magenta glyph), and the
    # picture changes when the clock moves on.
    session.camera.set_pose(CameraPose((0.0, -300.0, 600.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)))
    _, before = v.screenshots()
    hits = 0
    for xyz in ms.positions[both]:
        c, r = _project(v, xyz)
        if 2 <= c < W - 2 and 2 <= r < H - 2:
            patch = before[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
            # magenta: red and blue well over green
            hits += int(((patch[:, 0] - patch[:, 1] > 80) & (patch[:, 2] - patch[:, 1] > 30)).any())
    assert hits >= 1
    clock.seek(clock.t_ns + 120 * NS)
    _, after = v.screenshots()
    assert (np.abs(after.astype(int) - before.astype(int)).sum(axis=2) > 60).sum() > 20


# -- radio ------------------------------------------------------------------------------------
def test_stations_and_indoor_rsrp_land_on_the_right_rows(
    session: Session, radio: ScenarioResult, view: tuple[Comparison, CompareView]
) -> None:
    cmp, v = view
    assert cmp.show_result(radio) == []
    base_st = _extras(cmp.baseline, "radio_stations")
    scen_st = _extras(cmp.scenario, "radio_stations")
    assert [x.name for x in base_st] == ["Stations (Baseline)"]
    assert [x.name for x in scen_st] == ["Stations (Scenario)", "Added stations (Scenario)"]
    added = scen_st[1]
    assert isinstance(added, FeatureLayer) and added.features is not None
    assert list(added.features.ids) == ["new_southwest"]
    assert added.features.mesh.n_triangles > 0
    # Indoor RSRP per floor: the floors replace the building layer's one colour per building;
    # a building's worst floor is its per-building value, under its own id.
    layer = buildings_layer(session)
    assert layer is not None and layer.features is not None
    assert layer.uid not in cmp.scenario.results
    ids = np.asarray(radio.extra["radio_building_ids_scenario"]).astype(str)
    vals = np.asarray(radio.extra["radio_buildings_scenario"], np.float64)
    (floors,) = _extras(cmp.scenario, "radio_floors")
    got = floors.features
    assert isinstance(floors, FeatureLayer) and got is not None
    finite = np.flatnonzero(np.isfinite(vals))
    assert finite.size > 50
    col = got.table["rsrp_dbm"].to_numpy(np.float64)
    worst = got.table.assign(v=col).groupby("building")["v"].min()
    for j in finite[:: max(1, finite.size // 40)]:
        assert worst[ids[j]] == pytest.approx(max(vals[j], -150.0))
    delta = got.table["rsrp_dbm_delta"].to_numpy(np.float64)
    assert np.nanmax(delta) > 3.0  # the new site improves some floors
    # Pixels: the added station's mast top is drawn in the highlight colour on the scenario
    # side; the baseline side has no station there.
    st = [s for s in radio.extra["radio_study_scenario"].stations if s.name == "new_southwest"]
    s0 = st[0]
    top = (s0.x_m, s0.y_m, s0.ground_z_m + s0.height_m)
    session.camera.set_pose(
        CameraPose((s0.x_m, s0.y_m - 250.0, top[2] + 250.0), top, (0.0, 0.0, 1.0))
    )
    left, right = v.screenshots()
    c, r = _project(v, (s0.x_m + 20.0 * np.sin(0.0), s0.y_m + 20.0, top[2]))  # the north sector
    patch_r = right[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
    pink = np.array([231, 41, 138])
    assert (np.abs(patch_r - pink).sum(axis=1) < 120).any(), patch_r
    patch_l = left[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(int)
    assert not (np.abs(patch_l - pink).sum(axis=1) < 120).any()


def test_removed_and_raised_buildings_keep_their_rows(
    session: Session, view: tuple[Comparison, CompareView]
) -> None:
    from twin_app.scenarios.file import RemoveBuilding, SetHeight
    from twin_app.scenarios.interventions import remove_building, set_height
    from twin_app.scenarios.massing import massing_model_for_twin
    from twin_app.session.study_scene import REMOVED_COLOR, show_massing

    cmp, _ = view
    base = massing_model_for_twin(SAMPLE_DIR)
    gone, raised = "way/191292105", "way/516268543"
    scen = remove_building(base, RemoveBuilding(kind="remove_building", buildings=[gone]))
    scen = set_height(scen, SetHeight(kind="set_height", buildings=[raised], height_m=120.0))
    assert show_massing(cmp, base, scen) == []
    layer = buildings_layer(session)
    assert layer is not None and layer.features is not None
    stand_in = cmp.scenario.results[layer.uid]
    fs = stand_in.features
    assert fs is not None and list(fs.ids) == list(layer.features.ids)
    rows = {str(k): i for i, k in enumerate(fs.ids)}
    drawn = np.unique(np.asarray(fs.mesh.cell_data[fs.index_array]))
    # both keep their rows; neither is drawn by the stand-in (one is gone, one is highlighted)
    assert rows[gone] not in drawn and rows[raised] not in drawn
    assert drawn.size == layer.features.n_features - 2
    changed, removed = _extras(cmp.scenario, "massing")
    assert changed.features is not None and removed.features is not None
    assert list(changed.features.ids) == [raised]
    assert changed.features.table["height_m"].iloc[0] == pytest.approx(120.0, abs=0.01)
    assert list(removed.features.ids) == [gone] and removed.color == REMOVED_COLOR
    assert removed.features.mesh.n_triangles > 0 and removed.opacity < 1.0
    # hiding the session's buildings hides the stand-in too
    layer.visible = False
    try:
        assert stand_in.visible is False
    finally:
        layer.visible = True
    assert stand_in.visible is True


def test_the_next_result_clears_what_it_does_not_have(
    session: Session,
    tower: ScenarioResult,
    radio: ScenarioResult,
    patrol: ScenarioResult,
    view: tuple[Comparison, CompareView],
) -> None:
    cmp, _ = view
    layer = buildings_layer(session)
    assert layer is not None
    cmp.show_result(tower)
    assert cmp.scenario.results[layer.uid].features.mesh is not layer.features.mesh  # type: ignore[union-attr]
    cmp.show_result(radio)  # the radio file changes no building: the tower goes
    assert layer in cmp.scenario.layers and layer.uid not in cmp.scenario.results
    assert _extras(cmp.scenario, "massing") == []
    assert _extras(cmp.scenario, "radio_floors")
    cmp.show_result(patrol)
    assert layer in cmp.scenario.layers and layer.uid not in cmp.scenario.results
    assert _extras(cmp.scenario, "radio_stations") == []
    assert _extras(cmp.scenario, "radio_floors") == []
    assert mover_layers(cmp.scenario)
    cmp.show_result(tower)
    assert mover_layers(cmp.scenario) == [] and _extras(cmp.scenario, "massing")
