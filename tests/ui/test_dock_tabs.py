"""The real window under Xvfb shows one tab bar per tabified dock pair: Qt left a stale
second "Inspector | Scenario" bar over the Scenario panel's buttons, and a "Messages |
Alerts" one over the Bookmarks panel once the compare view opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QTabBar

pytestmark = pytest.mark.ui


def _visible_bars(w: Any) -> list[tuple[str, ...]]:
    from PySide6.QtCore import Qt

    bars = w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
    return sorted(tuple(b.tabText(i) for i in range(b.count())) for b in bars if b.isVisible())


def test_one_tab_bar_per_tabified_pair(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings, QStandardPaths

    from twin_app.session import Session
    from twin_app.ui.dock_tabs import stray_tab_bars
    from twin_app.ui.main_window import QtMainWindow

    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = QtMainWindow(Session(), settings)
    w.ask_before_quit = False
    qtbot.addWidget(w)
    w.resize(1600, 1000)  # sized before it is first shown, as a user's saved geometry is
    w.show()
    qtbot.waitExposed(w)
    w.show_scenario_panel()
    qtbot.wait(100)
    # What Qt leaves behind (seen when the window is built by a script, not under pytest):
    # a second bar of the same pair, visible, away from the docks.
    ghost = QTabBar(w)
    ghost.addTab("Inspector")
    ghost.addTab("Scenario")
    ghost.setGeometry(500, 350, 300, 26)
    ghost.show()
    assert stray_tab_bars(w) == [ghost]
    w.resize(1500, 1000)  # any relayout of the docks hides it
    qtbot.waitUntil(lambda: not ghost.isVisible(), timeout=2_000)
    assert _visible_bars(w) == [("Inspector", "Scenario"), ("Messages", "Alerts")]
    w.compare_action.trigger()  # a dock added at the top: the docks are laid out again
    qtbot.wait(100)
    assert _visible_bars(w) == [("Inspector", "Scenario"), ("Messages", "Alerts")]
    assert stray_tab_bars(w) == []
    w.inspector_dock.raise_()  # the live bar still follows the tabs
    qtbot.wait(50)
    bars = [b for b in w.findChildren(QTabBar) if b.isVisible() and b.tabText(0) == "Inspector"]
    assert [b.tabText(b.currentIndex()) for b in bars] == ["Inspector"]


def test_the_compare_view_keeps_the_window_on_a_1080_line_screen(qtbot: Any, window: Any) -> None:
    """The Layers and Scenario panels' own minimum heights with the compare view's made the
    window 1,344 px tall on a 1,000 px one: the status bar and messages fell off the screen."""
    w = window
    w.resize(1600, 1000)
    w.show_scenario_panel()
    qtbot.wait(50)
    w.compare_action.trigger()
    qtbot.wait(100)
    assert w.compare_dock.isVisible()
    assert w.minimumSizeHint().height() <= 1000
    assert w.height() <= 1000
