"""Bookmarks in the real window: the panel and the Bookmarks menu follow the session's list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dialogs import answer_text
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidgetItem

pytestmark = pytest.mark.ui


def _panel_names(w: Any) -> list[str]:
    lst = w.bookmarks_panel.list
    return [lst.item(i).text() for i in range(lst.count())]


def _menu_names(w: Any) -> list[str]:
    return [a.text() for a in w.bookmarks_menu.actions()[1:] if not a.isSeparator()]


def _click_item(qtbot: Any, w: Any, name: str, double: bool = False) -> None:
    lst = w.bookmarks_panel.list
    item: QListWidgetItem = lst.findItems(name, Qt.MatchFlag.MatchExactly)[0]
    pos = lst.visualItemRect(item).center()
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    if double:
        qtbot.mouseDClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _add_with_button(qtbot: Any, w: Any, name: str) -> None:
    asked = answer_text(qtbot, name)
    qtbot.mouseClick(w.bookmarks_panel.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert asked == ["Name of this view:"]


def _recall_from_menu(qtbot: Any, w: Any, name: str) -> None:
    """Open the Bookmarks menu with the mouse on the menu bar and click the bookmark's entry."""
    bar = w.menuBar()
    menu = w.bookmarks_menu
    qtbot.mouseClick(
        bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center()
    )
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    act = next(a for a in menu.actions() if a.text() == name)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5000)


def _wait_landed(qtbot: Any, w: Any) -> None:
    qtbot.waitUntil(lambda: not w.session.camera.flying, timeout=10_000)


def test_add_rename_remove_show_in_panel_and_menu(qtbot: Any, loaded: Any) -> None:
    w = loaded
    w.view.preset("oblique", 90.0)
    tower = w.session.camera.pose
    _add_with_button(qtbot, w, "Tower")
    assert _panel_names(w) == ["Tower"]
    assert _menu_names(w) == ["Tower"]
    # recall from the menu flies the camera back
    w.view.preset("top")
    assert w.session.camera.pose != tower
    _recall_from_menu(qtbot, w, "Tower")
    _wait_landed(qtbot, w)
    assert w.session.camera.pose.position == pytest.approx(tower.position, abs=1e-6)
    # a second one, then rename the first through the panel
    _add_with_button(qtbot, w, "Top")
    assert _panel_names(w) == ["Tower", "Top"] and _menu_names(w) == ["Tower", "Top"]
    _click_item(qtbot, w, "Tower")
    asked = answer_text(qtbot, "Bank junction")
    qtbot.mouseClick(w.bookmarks_panel.rename_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert _panel_names(w) == ["Bank junction", "Top"]
    assert _menu_names(w) == ["Bank junction", "Top"]
    assert w.session.bookmarks[0].pose == tower
    # remove, and undo brings it back in both places
    _click_item(qtbot, w, "Top")
    qtbot.mouseClick(w.bookmarks_panel.remove_button, Qt.MouseButton.LeftButton)
    assert _panel_names(w) == ["Bank junction"] and _menu_names(w) == ["Bank junction"]
    qtbot.mouseClick(w.toolbar.widgetForAction(w.undo_action), Qt.MouseButton.LeftButton)
    assert _panel_names(w) == ["Bank junction", "Top"]
    assert _menu_names(w) == ["Bank junction", "Top"]


def test_bookmarks_are_listed_after_reopening_and_recall_moves_the_camera(
    qtbot: Any, loaded: Any, tmp_path: Path
) -> None:
    w = loaded
    w.view.preset("oblique", 180.0)
    north = w.session.camera.pose
    _add_with_button(qtbot, w, "From the north")
    w.view.preset("top")
    _add_with_button(qtbot, w, "Overhead")
    path = tmp_path / "marks.twin.toml"
    assert w.save_session(path)
    w.open_session(path)
    qtbot.waitUntil(lambda: not w.loading, timeout=60_000)
    assert _panel_names(w) == ["From the north", "Overhead"]
    assert _menu_names(w) == ["From the north", "Overhead"]
    assert w.session.camera.pose != north
    _click_item(qtbot, w, "From the north", double=True)
    _wait_landed(qtbot, w)
    got = w.session.camera.pose
    assert got.position == pytest.approx(north.position, abs=1e-6)
    assert got.focal_point == pytest.approx(north.focal_point, abs=1e-6)
