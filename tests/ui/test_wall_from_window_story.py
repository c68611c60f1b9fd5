"""Wall mode from the main window (F11) plays the Story panel's story in its tour, as edited,
once even when it is one of the twin's shipped stories, and the twin's other stories too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.session.test_wall_session_stories import tiny_twin

pytestmark = pytest.mark.ui


def _activate(qtbot: Any, w: Any) -> None:
    def active() -> bool:
        w.activateWindow()
        return QApplication.activeWindow() is w

    qtbot.waitUntil(active, timeout=5000)


def test_f11_wall_plays_the_story_being_authored(qtbot: Any, window: Any, tmp_path: Path) -> None:
    twin = tiny_twin(tmp_path / "twin", ("alpha", "beta"))
    window.open_twin(twin)
    qtbot.waitUntil(lambda: not window.loading and bool(window.session.twins), timeout=30_000)
    # the twin's beta opened in the Story panel, its caption edited with the keyboard
    story = window.story
    story.open_story(twin / "stories" / "beta.toml")
    story.dock.show()
    panel = story.panel
    panel.steps.setCurrentRow(0)
    panel.caption.clear()
    qtbot.keyClicks(panel.caption, "Beta as edited")
    qtbot.keyClick(panel.caption, Qt.Key.Key_Return)
    assert window.session.story_state.dirty

    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.wall is not None and window.wall.isVisible(), timeout=5000)
    wall = window.wall
    try:
        assert [s.name for s in wall.program.stories] == ["beta", "alpha"]  # beta once
        # shorten the round of stops; the edited story then plays, its caption under the picture
        assert wall.tour is not None
        wall.tour.interval_s = 0.2
        wall.tour.fly_s = 0.0
        qtbot.waitUntil(lambda: wall.story_caption.text() == "Beta as edited", timeout=15_000)
        assert wall.caption.text() == "beta" and wall.story_caption.isVisible()
        qtbot.waitUntil(lambda: wall.story_caption.text() == "alpha one", timeout=15_000)
    finally:
        wall.close()
    qtbot.waitUntil(lambda: window.wall is None and window.isVisible(), timeout=5000)
