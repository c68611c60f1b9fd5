"""Compare rendering on pixels of real offscreen VTK windows: delta colouring on a diverging
map with its legend, scenario classes, two views on one Camera, and the swipe (one window, two
renderers) that joins into the single view's picture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import pyvista as pv

from tests.compare_fixtures import ROAD_Y, ROAD_Z, compare_session
from twin_app.model.camera import CameraPose
from twin_app.model.style import CONGESTION, DELTA_COLORMAP
from twin_app.render.compare import CompareView, SwipeView
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.scene import Scene
from twin_app.render.viewer import Viewer
from twin_app.session import Session
from twin_app.session.compare import Comparison

W, H = 400, 300
BASE = np.array([500.0, 500.0, 500.0])
SCEN = np.array([800.0, 200.0, 500.0])  # road 0 gains 300 veh/h, road 1 loses 300, road 2 same


@pytest.fixture
def plotters() -> Iterator[list[pv.Plotter]]:
    made = [offscreen_plotter(W, H, aa="off") for _ in range(3)]
    yield made
    for p in made:
        p.close()


@pytest.fixture
def session() -> Session:
    return compare_session()


def top_pose() -> CameraPose:
    return CameraPose((0.0, 10.0, 330.0), (0.0, 10.0, 0.0), (0.0, 1.0, 0.0))


def oblique_pose() -> CameraPose:
    return CameraPose((-60.0, -260.0, 190.0), (5.0, 10.0, 0.0), (0.0, 0.0, 1.0))


def no_legends(*scenes: Scene) -> None:
    for sc in scenes:
        sc.show_legends = False
        sc.legends_changed()


def display(scene: Scene, xyz: tuple[float, float, float]) -> tuple[int, int]:
    """(column, row) of the image pixel a world point projects to (row 0 at the top)."""
    r = scene.plotter.renderer
    r.SetWorldPoint(*xyz, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    return round(x), round(H - 1 - y)


def reds_blues(img: np.ndarray[Any, Any], scene: Scene, y: float) -> tuple[np.ndarray, ...]:
    """Pixel columns and colours along a road's centre line."""
    cols, rgbs = [], []
    for x in np.linspace(-55.0, 55.0, 45):
        c, r = display(scene, (float(x), y, ROAD_Z))
        cols.append(c)
        rgbs.append(img[r, c].astype(int))
    return np.array(cols), np.array(rgbs)


def is_red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] - rgb[..., 2]) > 60


def is_blue(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 2] - rgb[..., 0]) > 60


# ------------------------------------------------------------------------- delta colouring
def test_delta_colouring_is_red_for_more_blue_for_less_grey_for_none(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    roads = session.layers[1]
    cmp = Comparison(session, "Closure")
    cmp.set_result(roads, "flow_veh_h", BASE, SCEN)
    session.camera.set_pose(top_pose())
    viewer = Viewer(cmp.scenario, plotters[0])
    scene = viewer.scene
    result = cmp.scenario.layers[1]
    assert result.colormap == DELTA_COLORMAP
    # The legend: titled with the layer, the quantity and its unit; limits symmetric, 0 between.
    (panel,) = [p for p in scene.legends if p.title == "Roads (Closure)"]
    assert panel.subtitle == "Flow change (veh/h)"
    assert panel.label_texts == ["-300", "300", "0"]
    img = scene.screenshot()
    x0, y0, x1, y1 = (round(v) for v in panel.box)
    box = img[H - y1 : H - y0, x0:x1]
    assert is_red(box).any() and is_blue(box).any()  # the colour bar, both ends
    no_legends(scene)
    img = scene.screenshot()
    _, plus = reds_blues(img, scene, ROAD_Y[0])
    _, minus = reds_blues(img, scene, ROAD_Y[1])
    _, same = reds_blues(img, scene, ROAD_Y[2])
    assert is_red(plus).all() and not is_blue(plus).any()
    assert is_blue(minus).all() and not is_red(minus).any()
    # no change: the middle of the map, a light grey (neither red nor blue)
    assert (np.abs(same[:, 0] - same[:, 2]) < 25).all() and (same.min(axis=1) > 120).all()
    # New values go into the existing arrays: same mesh, same VTK buffer, new colours.
    adapter = scene.adapters[result.uid]
    mesh = adapter.mesh
    buf = mesh.point_data["value"].__array_interface__["data"][0]
    cmp.set_result(roads, "flow_veh_h", BASE, BASE[::-1] * 0 + np.array([200.0, 800.0, 500.0]))
    assert adapter.mesh is mesh and scene.adapters[result.uid] is adapter
    assert mesh.point_data["value"].__array_interface__["data"][0] == buf
    img = scene.screenshot()
    assert is_blue(reds_blues(img, scene, ROAD_Y[0])[1]).all()
    assert is_red(reds_blues(img, scene, ROAD_Y[1])[1]).all()
    viewer.close()
    cmp.close()


def test_scenario_speed_ratio_uses_the_congestion_classes(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    roads = session.layers[1]
    cmp = Comparison(session)
    # baseline free flowing; the scenario jams road 0 (0.2 of free-flow speed) and not road 2
    cmp.set_result(roads, "speed_ratio", np.full(3, 0.95), np.array([0.2, 0.5, 0.95]))
    cmp.set_show("value")
    session.camera.set_pose(top_pose())
    viewer = Viewer(cmp.scenario, plotters[0])
    kinds = [a.legend() for a in viewer.scene.adapters.values()]
    assert ("categories", CONGESTION.legend()) in kinds
    no_legends(viewer.scene)
    img = viewer.scene.screenshot()
    severe = reds_blues(img, viewer.scene, ROAD_Y[0])[1]
    free = reds_blues(img, viewer.scene, ROAD_Y[2])[1]
    # severe is deep violet (#3f007d), free flow teal (#1b9e77), both shaded by the light
    assert ((severe[:, 2] - severe[:, 1]) > 50).all() and (severe[:, 0] > severe[:, 1]).all()
    assert ((free[:, 1] - free[:, 0]) > 50).all()
    viewer.close()
    cmp.close()


# ------------------------------------------------------------------------- side by side
def test_side_by_side_views_move_together(session: Session, plotters: list[pv.Plotter]) -> None:
    cmp = Comparison(session)
    cmp.set_result(session.layers[1], "flow_veh_h", BASE, SCEN)
    view = CompareView(plotters[0], plotters[1], cmp)
    session.camera.set_pose(oblique_pose())
    a, b = view.viewers
    assert a.pose().position == pytest.approx(b.pose().position)
    session.camera.set_pose(top_pose())
    assert b.pose().focal_point == pytest.approx(top_pose().focal_point)
    left, right = view.screenshots()
    no_legends(a.scene, b.scene)
    left, right = view.screenshots()
    assert not is_red(reds_blues(left, a.scene, ROAD_Y[0])[1]).any()
    assert is_red(reds_blues(right, b.scene, ROAD_Y[0])[1]).all()
    view.close()
    cmp.close()


# ------------------------------------------------------------------------- swipe
@pytest.mark.parametrize("pose", [top_pose, oblique_pose])
def test_swipe_of_identical_sides_is_the_single_view(
    session: Session, plotters: list[pv.Plotter], pose: Any
) -> None:
    session.camera.set_pose(pose())
    single = Viewer(session, plotters[0])
    no_legends(single.scene)
    ref = single.scene.screenshot().astype(int)
    cmp = Comparison(session)
    swipe = SwipeView(plotters[1], cmp, divider=False)
    no_legends(*(v.scene for v in swipe.viewers))
    for s in (0.3, 0.5, 0.7):
        swipe.set_split(s)
        img = swipe.screenshot().astype(int)
        diff = np.abs(img - ref).sum(axis=2)
        seam = round(s * W)
        diff[:, seam - 2 : seam + 2] = 0  # the rasterisers' edge rules at the seam
        assert (diff > 40).mean() < 5e-4, (s, (diff > 40).mean())  # a wrong sign: > 1e-2
        assert diff.mean() < 0.1, s
    swipe.close()
    single.close()
    cmp.close()


def test_swipe_shows_the_delta_right_of_the_split_only(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    cmp = Comparison(session)
    cmp.set_result(session.layers[1], "flow_veh_h", BASE, SCEN)
    session.camera.set_pose(top_pose())
    swipe = SwipeView(plotters[0], cmp, split=0.4)
    # shared layers' legends once (the baseline's); the scenario's part has its change legend
    assert [p.title for p in swipe.scenario.scene.legends] == ["Roads (Scenario)"]
    assert [p.title for p in swipe.baseline.scene.legends] == ["Buildings", "Roads (Baseline)"]
    no_legends(*(v.scene for v in swipe.viewers))
    full = swipe.baseline.scene  # the baseline renderer spans the window: its projection
    for s in (0.4, 0.6):
        swipe.set_split(s)
        img = swipe.screenshot()
        seam = s * W
        for y, test in ((ROAD_Y[0], is_red), (ROAD_Y[1], is_blue)):
            cols, rgb = reds_blues(img, full, y)
            left, right = cols < seam - 3, cols > seam + 3
            assert left.any() and right.any()
            assert test(rgb[right]).all(), (s, y)
            assert not is_red(rgb[left]).any() and not is_blue(rgb[left]).any(), (s, y)
        # the divider: a white line at the split
        row = display(full, (0.0, 20.0, 0.0))[1]
        assert img[row, round(seam) : round(seam) + 2].min() > 240
    swipe.close()
    cmp.close()


def test_pressure_change_on_pipes_has_its_legend_and_drops_draw_blue(
    plotters: list[pv.Plotter],
) -> None:
    from tests.compare_fixtures import pipe_set
    from twin_app.model.sensors import PipeLayer

    session = Session()
    pipes = PipeLayer(name="Pipes", features=pipe_set())
    session.layers.append(pipes)
    cmp = Comparison(session, "Main closed")
    cmp.set_result(pipes, "pressure_m", np.full(3, 40.0), np.array([40.0, 25.0, 46.0]))
    session.camera.set_pose(top_pose())
    viewer = Viewer(cmp.scenario, plotters[0])
    (panel,) = viewer.scene.legends
    assert (panel.title, panel.subtitle) == ("Pipes (Main closed)", "Pressure change (m)")
    assert panel.label_texts == ["-15", "15", "0"]
    no_legends(viewer.scene)
    img = viewer.scene.screenshot()
    drop = reds_blues(img, viewer.scene, ROAD_Y[1])[1]  # pipes lie 2 m under the road ribbons
    rise = reds_blues(img, viewer.scene, ROAD_Y[2])[1]
    assert is_blue(drop).all() and is_red(rise).all()
    viewer.close()
    cmp.close()
