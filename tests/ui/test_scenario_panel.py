"""The Scenario panel in the real window under Xvfb: open the sample twin, turn Pick on, click a
road in the 3D view with real mouse events, Run on the worker, read the KPI table, open the
compare view. Pictures are saved under /tmp (``twin_scenario_*.png``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.render.picking import project_points
from twin_app.scenarios.file import CloseRoad

pytestmark = pytest.mark.ui

#: St Martin's Le Grand, the one-way street the shipped road closure closes.
WAY = "way/4255394"
PNG_WINDOW = "/tmp/twin_scenario_window.png"
PNG_PANEL = "/tmp/twin_scenario_sweep_panel.png"
PNG_ISOLATE = "/tmp/twin_scenario_isolate.png"
PNG_SIDES = ("/tmp/twin_scenario_compare_left.png", "/tmp/twin_scenario_compare_right.png")


def _road_midpoint(fs: Any, row: int) -> np.ndarray:
    """A point on the road's centre line: the middle of its middle piece."""
    lines = fs.lines
    line = int(np.flatnonzero(lines.line_feature() == row)[0])
    pts = lines.coords[lines.offsets[line] : lines.offsets[line + 1]]
    k = max(len(pts) // 2 - 1, 0)
    return np.asarray((pts[k] + pts[k + 1]) / 2.0, np.float64)


def test_pick_a_road_run_and_compare(qtbot: Any, window: Any) -> None:
    import imageio.v3 as iio

    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) >= 6, timeout=90_000)
    roads = next(x for x in w.session.layers if x.kind == "roads")
    fs = roads.feature_set()
    row = int(np.flatnonzero(fs.ids.astype(str) == WAY)[0])
    mid = _road_midpoint(fs, row)
    mid[2] = 0.3  # the ribbon lies just above the ground
    w.show_scenario_panel()  # docks settle before the pixel is found
    qtbot.wait(100)
    w.session.camera.set_pose(
        CameraPose((mid[0], mid[1], 350.0), (mid[0], mid[1], 0.0), (0.0, 1.0, 0.0))
    )
    w.view.scene.render()
    renderer = w.view.scene.plotter.renderer
    x, y, depth = project_points(renderer, mid[None, :])[0]
    _, height = renderer.GetSize()
    assert depth > 0
    ratio = w.view.interactor.devicePixelRatioF()
    pos = QPoint(round(x / ratio), round((height - 1 - y) / ratio))

    panel = w.scenario_panel
    qtbot.mouseClick(panel.pick_button, Qt.MouseButton.LeftButton)
    assert panel.picking and w.scenario_pick_action.isChecked()
    qtbot.mouseClick(w.view.interactor, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=5_000)
    assert w.session.scenario.interventions == (CloseRoad(links=(WAY,)),)
    assert panel.list.item(0).text() == f"close_road: {WAY}"
    # one undo step, named for the menu
    assert w.session.commands.undo_text == "Add close_road"
    qtbot.mouseClick(panel.pick_button, Qt.MouseButton.LeftButton)  # Pick off again
    assert not panel.picking

    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as done:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        assert panel.running and panel.cancel_button.isEnabled()
    assert done.args == [True]
    table = panel.kpi_table
    assert table.rowCount() == 11
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    r = names.index("tstt_veh_h")
    assert float(table.item(r, 3).text().replace(",", "")) > 0
    assert table.item(r, 3).foreground().color().name() == "#b3261e"  # worse: red
    assert panel.progress.value() == 100

    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    cmp_view = w.compare_view
    assert cmp_view is not None and w.compare_dock.isVisible()
    assert w.compare_action.isChecked()
    assert cmp_view.comparison is w.session.scenario_state.comparison
    assert len(cmp_view.views) == 2
    qtbot.wait(200)
    images = cmp_view.grab_images()
    for img, path in zip(images, PNG_SIDES, strict=True):
        iio.imwrite(path, np.asarray(img, np.uint8))
    # the scenario side shows the closed road in the change colours: it differs from the left
    left, right = (np.asarray(i, np.int64) for i in images)
    assert left.shape == right.shape
    assert (np.abs(left - right).sum(axis=2) > 60).mean() > 0.001
    w.grab().save(PNG_WINDOW)

    # A sweep over the busiest roads, in this process, ranked in the panel.
    with qtbot.waitSignal(panel.sweep_finished, timeout=120_000) as swept:
        panel.sweep("road", "flow_baseline > 3000", scheduler="none")
    assert swept.args == [True]
    ranking = panel.ranking_table
    assert panel.tabs.currentWidget() is ranking and ranking.rowCount() >= 3
    assert ranking.horizontalHeaderItem(2).text() == "tstt_veh_h_delta"
    assert ranking.item(0, 0).text() == "1"
    panel.grab().save(PNG_PANEL)

    # The shipped pipe closure: find the valves that isolate the break and shut them.
    panel.open(SAMPLE_DIR / "scenarios" / "close_pipe.toml")
    pipe = w.session.scenario.interventions[0].pipes[0]
    assert panel.list.count() == 1 and panel.list.item(0).text() == f"close_pipe: {pipe}"
    panel.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.isolation_finished, timeout=60_000) as found:
        qtbot.mouseClick(panel.isolate_button, Qt.MouseButton.LeftButton)
    assert found.args == [True]
    iso = panel.isolation
    assert iso is not None and iso.pipe == pipe and iso.valves
    assert f"{pipe}: shut {len(iso.valves)} valve" in panel.status.text()
    assert panel.shut_button.isEnabled()
    pipes = next(x for x in w.session.layers if x.kind == "pipes")
    assert w.session.selection.layer_uid == pipes.uid  # the segment is selected on the map
    qtbot.mouseClick(panel.shut_button, Qt.MouseButton.LeftButton)
    assert w.session.scenario.interventions[0].pipes == iso.closed_links
    # Look down through the ground at the isolated segment (highlighted: selected).
    w.session.underground = "translucent"
    pfs = pipes.feature_set()
    at = _road_midpoint(pfs, int(np.flatnonzero(pfs.ids.astype(str) == pipe)[0]))
    w.session.camera.set_pose(
        CameraPose((at[0], at[1] - 120.0, at[2] + 160.0), tuple(at), (0.0, 0.0, 1.0))
    )
    w.view.scene.render()
    qtbot.wait(100)
    w.grab().save(PNG_ISOLATE)


def test_intervention_form_builds_and_checks_a_spec(qtbot: Any) -> None:
    from twin_app.scenarios.file import SetCapacity
    from twin_app.ui.intervention_form import QtInterventionForm

    form = QtInterventionForm(SetCapacity, None)
    qtbot.addWidget(form)
    form.edits["links"].setText("way/1, way/2@r")
    form.edits["factor"].setText("0.5")
    form.accept()
    assert form.spec == SetCapacity(links=("way/1", "way/2@r"), factor=0.5)
    edit = QtInterventionForm(SetCapacity, form.spec)
    qtbot.addWidget(edit)
    assert edit.edits["links"].text() == "way/1, way/2@r"
    edit.edits["capacity"].setText("900")  # both factor and capacity: refused, form stays
    edit.accept()
    assert edit.spec is None and "exactly one of factor or capacity" in edit.error.text()


def test_scenario_menu_and_empty_run_message(qtbot: Any, window: Any) -> None:
    w = window
    texts = [a.text() for a in w.scenario_menu.actions() if a.text()]
    for want in ("&New scenario", "&Open scenario…", "&Save scenario", "Save scenario &as…",
                 "&Pick on map", "&Run scenario", "&Compare view"):  # fmt: skip
        assert want in texts
    assert w.scenario_run_action.shortcut().toString() == "F5"
    # No twin open: Run says what is missing instead of failing.
    with qtbot.waitSignal(w.scenario_panel.run_finished, timeout=10_000) as done:
        w.scenario_run_action.trigger()
    assert done.args == [False]
    assert "nothing to run" in w.scenario_panel.status.text()


def test_pick_on_map_from_the_menu_turns_pick_mode_on_and_off(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import Qt

    w = window
    bar = w.menuBar()
    menu = w.scenario_menu

    def click_pick() -> None:
        qtbot.mouseClick(
            bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center()
        )
        qtbot.waitUntil(menu.isVisible, timeout=5000)
        pos = menu.actionGeometry(w.scenario_pick_action).center()
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=pos)
        qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5000)

    click_pick()
    assert w.scenario_panel.pick_button.isChecked() and w.scenario_pick_action.isChecked()
    click_pick()
    assert not w.scenario_panel.pick_button.isChecked()
    assert not w.scenario_pick_action.isChecked()


def test_results_of_an_earlier_version_of_the_scenario_say_so(qtbot: Any, window: Any) -> None:
    """Undoing the intervention that was run leaves its KPIs on show: marked out of date, the
    numbers grey, the compare dock's title too; redo makes them current again."""
    from PySide6.QtCore import Qt

    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) >= 6, timeout=90_000)
    w.session.add_intervention(CloseRoad(links=(WAY,)))
    w.show_scenario_panel()
    panel = w.scenario_panel
    keys = w.view.interactor  # the app's shortcuts, sent where the user's focus is
    w.activateWindow()
    keys.setFocus()
    qtbot.waitUntil(w.isActiveWindow, timeout=5_000)
    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as done:
        qtbot.keyClick(keys, Qt.Key.Key_F5)
    assert done.args == [True]
    w.show_compare(True)
    table = panel.kpi_table
    current = table.item(0, 2).foreground().color().name()
    assert panel.stale_label.isHidden() and w.compare_dock.windowTitle() == "Compare"
    qtbot.keyClick(keys, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the closure
    assert w.session.scenario.interventions == ()
    assert w.session.scenario_state.stale and panel.stale_label.isVisible()
    assert "Out of date" in panel.stale_label.text()
    assert table.rowCount() == 11  # still shown, for reference
    assert table.item(0, 2).foreground().color().name() == "#8a8a8a" != current
    assert "out of date" in w.compare_dock.windowTitle()
    qtbot.keyClick(
        keys, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert not w.session.scenario_state.stale and panel.stale_label.isHidden()
    assert w.compare_dock.windowTitle() == "Compare"
