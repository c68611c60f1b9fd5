"""Place modes in the real window under Xvfb, driven by real mouse and key events on the 3D
view: draw a building's footprint (clicks on the ground, Backspace, double-click to finish, the
height dialog), Esc cancels, place a 5G station on a clicked roof and on the ground. Pixels come
from projecting known world points through the camera. The intervention form round-trips every
kind of issue 9. A picture of a footprint being drawn: ``/tmp/twin_place_drawing.png``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.render.picking import project_points
from twin_app.scenarios import file as sf
from twin_app.scenarios.radio import AddStation, RemoveStation, SetStation

pytestmark = pytest.mark.ui

PNG_DRAWING = "/tmp/twin_place_drawing.png"
#: A 40 m x 30 m footprint on open ground of the sample twin (local metres), anticlockwise.
SQUARE = np.array([[46.0, 261.0], [86.0, 261.0], [86.0, 291.0], [46.0, 291.0]])

#: One spec of every kind issue 9 added, with its optional fields, tuples and enums set.
EXAMPLES: list[Any] = [
    sf.AddBuilding(footprint=((0.0, 0.0), (10.5, 0.0), (10.5, 8.25)), height_m=33.0, id="t1"),
    sf.AddBuilding(
        lonlat=((-0.0951234567891, 51.51), (-0.095, 51.51), (-0.095, 51.5104)),
        floors=7,
        storey_m=3.5,
    ),
    sf.RemoveBuilding(buildings=("way/123", "relation/4")),
    sf.AddIfc(
        ifc=SAMPLE_DIR / "AC20-FZK-Haus.ifc", at=(-0.1045052, 51.5226353), rotate_deg=15.9, id="h"
    ),
    sf.SetHeight(buildings=("way/123",), height_m=44.5),
    sf.AddSource(id="chp", xy=(12.0, -3.5), q_g_s=2.5, height_m=30.0),
    sf.RemoveSource(sources=("chp",)),
    sf.SetSource(sources=("chp", "boiler"), height_m=45.0),
    sf.CutTraffic(links=("way/1",), factor=0.5),
    sf.AddRobots(count=4, depot=(-0.09, 51.515)),
    sf.RemoveRobots(count=2),
    sf.SetFleet(speed_m_s=1.5, charge_h=4.0),
    sf.PatrolRoute(links=("way/1", "way/2#3")),
    AddStation(id="s9", on_roof="way/77", mast_m=5.0, azimuths_deg=(10.0, 130.0), scenario="UMi"),
    AddStation(id="s10", xy=(1.0, 2.0), height_m=25.0),
    RemoveStation(stations=("s1", "s2")),
    SetStation(stations=("s1",), azimuths_deg=(0.0, 90.0, 180.0, 270.0)),
]


def test_form_round_trips_every_new_kind(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin_app.ui.intervention_form import QtInterventionForm
    from twin_app.ui.scenario_panel import ADD_KINDS, _spec_class

    assert set(ADD_KINDS) == set(sf.ALL_KINDS)
    for kind in ADD_KINDS:  # every kind opens an empty form
        blank = QtInterventionForm(_spec_class(kind), None)
        qtbot.addWidget(blank)
        assert blank.windowTitle() == f"Add {kind}"
    for spec in EXAMPLES:
        form = QtInterventionForm(type(spec), spec)
        qtbot.addWidget(form)
        form.accept()
        assert form.spec == spec, (spec.kind, form.error.text())
    # typed by hand: a footprint as "x, y; x, y; ...", the enum from its drop-down
    form = QtInterventionForm(sf.AddBuilding, None)
    qtbot.addWidget(form)
    form.edits["footprint"].setText("0, 0; 20, 0; 20, 10; 0, 10")
    form.edits["floors"].setText("6")
    form.accept()
    assert form.spec == sf.AddBuilding(footprint=((0, 0), (20, 0), (20, 10), (0, 10)), floors=6)
    st = QtInterventionForm(AddStation, None)
    qtbot.addWidget(st)
    combo = st.choices["scenario"]
    assert [combo.itemText(i) for i in range(combo.count())] == ["UMa", "UMi"]
    st.edits["id"].setText("x1")
    st.edits["xy"].setText("5, 6")
    st.edits["height_m"].setText("20")
    combo.setCurrentText("UMi")
    st.accept()
    assert st.spec == AddStation(id="x1", xy=(5, 6), height_m=20, scenario="UMi")
    # a file field: typed, or chosen with Browse…; it must exist
    from PySide6.QtWidgets import QFileDialog, QPushButton

    house = SAMPLE_DIR / "AC20-FZK-Haus.ifc"
    ifc = QtInterventionForm(sf.AddIfc, None)
    qtbot.addWidget(ifc)
    ifc.edits["ifc"].setText(str(house.parent / "nothere.ifc"))
    ifc.accept()
    assert ifc.spec is None and ifc.error.text().startswith("ifc: no such file")
    (browse,) = [b for b in ifc.findChildren(QPushButton) if b.text() == "Browse…"]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(house), ""))
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    ifc.edits["at"].setText("-0.1045, 51.5226")
    ifc.accept()
    assert ifc.spec == sf.AddIfc(ifc=house, at=(-0.1045, 51.5226))
    bad = QtInterventionForm(sf.AddBuilding, None)
    qtbot.addWidget(bad)
    bad.edits["footprint"].setText("0, 0; 10, 10; 10, 0; 0, 10")  # a bow tie
    bad.edits["height_m"].setText("10")
    bad.accept()
    assert bad.spec is None and "not a simple polygon" in bad.error.text()


def _pixel(w: Any, xyz: Any) -> QPoint:
    renderer = w.view.scene.plotter.renderer
    x, y, depth = project_points(renderer, np.asarray(xyz, dtype=float).reshape(1, 3))[0]
    assert depth > 0
    _, height = renderer.GetSize()
    ratio = w.view.interactor.devicePixelRatioF()
    return QPoint(round(x / ratio), round((height - 1 - y) / ratio))


def _single_click(qtbot: Any, view: Any, pos: QPoint) -> None:
    """A click that cannot pair with the one before into a double click (QTest's event clock
    runs only as far as its delays say)."""
    from PySide6.QtWidgets import QApplication

    delay = QApplication.doubleClickInterval() + 50
    qtbot.mouseMove(view, pos)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pos, delay=delay)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pos, delay=10)


def _look_down(w: Any, x: float, y: float, up_m: float = 300.0) -> None:
    """Look straight down with (x, y) right of the middle: the legends fill the view's left
    side, and a click on a legend is the legend's (a VTK widget takes it)."""
    off = 0.19 * up_m
    w.session.camera.set_pose(CameraPose((x - off, y, up_m), (x - off, y, 0.0), (0.0, 1.0, 0.0)))
    w.view.scene.render()


def test_draw_a_building_and_place_stations_with_the_mouse(qtbot: Any, window: Any) -> None:
    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) >= 6, timeout=90_000)
    w.show_scenario_panel()
    qtbot.wait(100)
    panel, tool, view = w.scenario_panel, w.place_tool, w.view.interactor
    items = w.scenario_menu.actions()
    assert w.scenario_draw_action in items and w.scenario_station_action in items
    cx, cy = SQUARE.mean(axis=0)
    _look_down(w, cx, cy)
    corners = [_pixel(w, (x, y, 0.0)) for x, y in SQUARE]

    # Esc cancels: two corners drawn, Enter refuses to finish, Esc drops them
    qtbot.mouseClick(panel.draw_button, Qt.MouseButton.LeftButton)
    assert tool.mode == "building" and w.scenario_draw_action.isChecked()
    before = w.session.scenario.interventions
    for p in corners[:2]:
        _single_click(qtbot, view, p)
    assert len(tool.corners) == 2
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert tool.dialog is None and "at least 3 corners" in panel.status.text()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert tool.mode == "" and not tool.corners and not tool.sketch.visible
    assert not panel.draw_button.isChecked() and not w.scenario_draw_action.isChecked()
    assert w.session.scenario.interventions == before
    assert "cancelled" in panel.status.text()
    assert w.session.selection.empty  # the clicks placed corners, they selected nothing

    # Draw: three corners, the rubber band to the cursor, a wrong click taken back
    w.scenario_draw_action.trigger()  # from the Scenario menu this time
    assert tool.mode == "building" and panel.draw_button.isChecked()
    for p in corners[:3]:
        _single_click(qtbot, view, p)
    qtbot.mouseMove(view, corners[3])
    qtbot.wait(120)  # hover read-outs are rate limited to 20 a second
    qtbot.mouseMove(view, corners[3] + QPoint(1, 0))
    qtbot.wait(50)
    w.view.scene.render()
    w.grab().save(PNG_DRAWING)
    img = w.view.grab_image()
    orange = (img[:, :, 0] > 200) & (img[:, :, 1] > 70) & (img[:, :, 1] < 160) & (img[:, :, 2] < 60)
    assert orange.sum() > 200  # the outline is drawn
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=corners[0] + QPoint(-60, 40))
    assert len(tool.corners) == 4
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert len(tool.corners) == 3
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=corners[3])  # last corner, finish
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=corners[3])  # the button goes up
    qtbot.waitUntil(lambda: tool.dialog is not None and tool.dialog.isVisible(), timeout=3_000)
    dialog = tool.dialog
    dialog.height_spin.setValue(45.0)
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: tool.mode == "", timeout=3_000)
    spec = w.session.scenario.interventions[-1]
    assert spec.kind == "add_building" and spec.height_m == 45.0
    frame = w.session.frame
    got = frame.lonlat_to_local(*np.asarray(spec.lonlat).T)[:, :2]
    # within a pixel of the corners clicked (about 0.3 m at this zoom)
    m_per_px = 40.0 / abs(corners[1].x() - corners[0].x())
    np.testing.assert_allclose(got, SQUARE, atol=1.5 * m_per_px)
    assert w.session.commands.undo_text == "Add add_building"
    assert panel.list.item(panel.list.count() - 1).text().startswith("add_building:")

    # A robot depot where clicked (from the Scenario menu)
    w.scenario_depot_action.trigger()
    assert tool.mode == "depot"
    centre = _pixel(w, (cx, cy, 0.0))
    _single_click(qtbot, view, centre)
    qtbot.waitUntil(lambda: tool.mode == "", timeout=3_000)
    depot = w.session.scenario.interventions[-1]
    assert depot.kind == "add_robots" and depot.count == 2
    xy = frame.lonlat_to_local(np.array([depot.depot[0]]), np.array([depot.depot[1]]))[0, :2]
    np.testing.assert_allclose(xy, (cx, cy), atol=2 * m_per_px)
    assert not w.scenario_depot_action.isChecked()

    # A station on a roof: the camera straight above a building's centroid
    blds = next(x for x in w.session.layers if x.kind == "buildings")
    fs = blds.feature_set()
    h = fs.table["height_m"].to_numpy(float)
    order = np.argsort(-np.nan_to_num(h))
    cen = fs.feature_centroids()
    for row in order[:20]:  # a tall one whose centroid lies on its own roof
        _look_down(w, cen[row, 0], cen[row, 1], h[row] + 250.0)
        p = _pixel(w, (cen[row, 0], cen[row, 1], h[row]))
        ratio = view.devicePixelRatioF()
        hit = w.view.picker.pick(p.x() * ratio, (view.height() - 1 - p.y()) * ratio)
        if hit is not None and hit.layer_uid == blds.uid and hit.feature_index == row:
            break
    else:
        pytest.fail("no tall building with its centroid on its roof")
    qtbot.mouseClick(panel.station_button, Qt.MouseButton.LeftButton)
    assert tool.mode == "station"
    _single_click(qtbot, view, p)
    qtbot.waitUntil(lambda: tool.mode == "", timeout=3_000)
    roof = w.session.scenario.interventions[-1]
    assert roof.kind == "add_station" and roof.on_roof == str(fs.ids[row])
    assert not panel.station_button.isChecked()
    assert f"on the roof of {roof.on_roof}" in panel.status.text()

    # ... and a ground mast where there is no building (the middle of the drawn footprint,
    # which is not in the session's buildings layer)
    _look_down(w, cx, cy)
    p = _pixel(w, (cx, cy, 0.0))
    hit = w.view.picker.pick(p.x() * ratio, (view.height() - 1 - p.y()) * ratio)
    assert hit is None or hit.layer_uid != blds.uid
    w.scenario_station_action.trigger()
    _single_click(qtbot, view, p)
    qtbot.waitUntil(lambda: tool.mode == "", timeout=3_000)
    mast = w.session.scenario.interventions[-1]
    assert mast.kind == "add_station" and mast.on_roof is None and mast.height_m == 25.0
    assert mast.id != roof.id
    xy = frame.lonlat_to_local(np.array([mast.lonlat[0]]), np.array([mast.lonlat[1]]))[0, :2]
    np.testing.assert_allclose(xy, (cx, cy), atol=2 * m_per_px)

    # Selected buildings: demolish, or a new height
    w.session.select_features(blds, [int(row)])
    qtbot.mouseClick(panel.demolish_button, Qt.MouseButton.LeftButton)
    assert w.session.scenario.interventions[-1] == sf.RemoveBuilding(buildings=(roof.on_roof,))
    panel.set_height_selected(52.0)  # what "Set height…" does with the height asked
    assert w.session.scenario.interventions[-1] == sf.SetHeight(
        buildings=(roof.on_roof,), height_m=52.0
    )
    w.session.select(type(w.session.selection)())
    qtbot.mouseClick(panel.demolish_button, Qt.MouseButton.LeftButton)
    assert "select buildings on the map first" in panel.status.text()

    # The sample's IFC house proposed as a building, from the Scenario menu
    w.scenario_ifc_action.trigger()
    prop = w.session.scenario.interventions[-1]
    assert prop.kind == "add_ifc" and prop.ifc.name == "AC20-FZK-Haus.ifc"
    assert prop.at is not None  # where the twin's manifest put it
    assert "AC20-FZK-Haus.ifc) to the scenario as a building" in panel.status.text()

    # Esc in station mode: nothing placed
    n = len(w.session.scenario.interventions)
    qtbot.mouseClick(panel.station_button, Qt.MouseButton.LeftButton)
    assert w.focusWidget() is view  # the keys reach the view at once
    qtbot.keyClick(w.focusWidget(), Qt.Key.Key_Escape)
    assert tool.mode == "" and len(w.session.scenario.interventions) == n
    # navigation is back: a click selects again
    _single_click(qtbot, view, p)
    assert w.view.navigator.on_click == w.view.viewer.click


def test_add_menu_groups_every_kind_by_study(qtbot: Any) -> None:
    from twin_app.session import Session
    from twin_app.ui.scenario_panel import QtScenarioPanel, describe

    panel = QtScenarioPanel(Session())
    qtbot.addWidget(panel)
    menu = panel.add_button.menu()
    groups = {a.text(): [b.text() for b in a.menu().actions()] for a in menu.actions()}
    assert list(groups) == ["Traffic", "Water", "Buildings && sun", "Air", "Patrol", "5G"]
    assert groups["Buildings && sun"] == [
        "add building",
        "add ifc",
        "remove building",
        "set height",
    ]
    assert groups["5G"] == ["add station", "remove station", "set station"]
    assert sorted(panel.add_actions) == sorted(sf.ALL_KINDS)
    # the list names a drawn footprint by its corner count, not 4 pairs of 15-digit degrees
    assert describe(EXAMPLES[1]) == ("add_building: lonlat=3 corners, floors=7, storey_m=3.5")
    assert describe(EXAMPLES[2]) == "remove_building: way/123, relation/4"
    assert describe(EXAMPLES[3]) == (
        "add_ifc: ifc=AC20-FZK-Haus.ifc, at=(-0.104505, 51.5226), rotate_deg=15.9, id=h"
    )
