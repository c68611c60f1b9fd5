"""Opening the compare view on a small screen: its dock takes its share from the window's own
room and never makes the window taller than it was (nor than the screen); closing it gives
the other docks their heights back. (A minimum height on the view grew a 1280 x 720 window to
894 lines, its status bar off a 768-line screen, and it stayed that tall.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QDockWidget

from tests.compare_fixtures import road_set, show_road_closure
from twin_app.model.layers import RoadLayer
from twin_app.session.compare import Comparison

pytestmark = pytest.mark.ui


def _heights(window: Any) -> dict[str, int]:
    return {
        d.objectName(): d.height()
        for d in window.findChildren(QDockWidget)
        if d.isVisible() and d.objectName() != "compare"
    }


@pytest.mark.parametrize("size", [(1280, 720), (1600, 0)])
def test_compare_view_never_resizes_the_window(
    qtbot: Any, window: Any, size: tuple[int, int]
) -> None:
    session = window.session
    show_road_closure(session)

    screen = window.screen().availableGeometry()
    # (1600, 0): as tall as the screen lets it be (a maximised window on a 1000-line screen)
    w, h = size[0], size[1] or screen.height() - (window.frameGeometry().height() - window.height())
    window.resize(w, h)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (w, h))
    qtbot.wait(50)
    before = _heights(window)
    central = window.centralWidget().height()

    for _ in range(2):  # a second opening is no different
        window.show_compare(True)
        qtbot.waitUntil(lambda: window.compare_view.isVisible())
        qtbot.wait(100)  # the layout settles (and a too-tall one would have grown the window)
        assert (window.width(), window.height()) == (w, h)
        assert screen.contains(window.frameGeometry())
        # the compare view gets a real share of the height, out of the 3D view's
        dock = window.compare_dock
        assert dock.height() >= 0.2 * h, (dock.height(), h)
        assert window.centralWidget().height() < central

        window.show_compare(False)
        qtbot.waitUntil(lambda: not window.compare_dock.isVisible())
        qtbot.wait(100)
        assert (window.width(), window.height()) == (w, h)
        assert screen.contains(window.frameGeometry())
        assert abs(window.centralWidget().height() - central) <= 2
        after = _heights(window)
        assert after.keys() == before.keys()
        assert all(abs(after[k] - before[k]) <= 2 for k in before), (before, after)


def test_a_window_too_short_for_the_compare_dock_floats_it(qtbot: Any, window: Any) -> None:
    session = window.session
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    cmp = Comparison(session, "Road closure")
    cmp.set_result(roads, "flow_veh_h", np.full(3, 500.0), np.array([800.0, 200.0, 500.0]))
    session.scenario_state.comparison = cmp
    window.resize(1280, 560)
    qtbot.waitUntil(lambda: window.height() == 560)
    window.show_compare(True)
    qtbot.waitUntil(lambda: window.compare_view.isVisible())
    qtbot.wait(100)
    assert (window.width(), window.height()) == (1280, 560)
    dock = window.compare_dock
    assert dock.isFloating()
    assert window.screen().availableGeometry().contains(dock.frameGeometry())
    assert dock.height() >= 200
    window.show_compare(False)
    qtbot.waitUntil(lambda: not dock.isVisible())
    assert (window.width(), window.height()) == (1280, 560)
