"""Presenting under Xvfb with real keys, the ways it can go wrong: a story that cannot be played
(a bookmark neither it nor the session has) is never presented and leaves nothing of the story
before it; Esc ends a presentation and the playing with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.box_buildings import box_buildings

pytestmark = pytest.mark.ui

GOOD = """schema = 1
name = "good"
[[steps]]
caption = "Step 1: south"
duration_s = 3
transition = "cut"
camera = { position = [0, -300, 200], focal_point = [0, 0, 0] }
[[steps]]
caption = "Step 2: east"
duration_s = 3
transition = "cut"
camera = { position = [300, -100, 150], focal_point = [0, 0, 0] }
[[steps]]
caption = "Step 3: north"
duration_s = 3
transition = "fly"
camera = { position = [-200, 200, 300], focal_point = [0, 0, 0] }
"""

BAD = """schema = 1
name = "bad"
[[steps]]
caption = "Nowhere at all"
duration_s = 2
camera = "Nowhere"
"""


def _ready(qtbot: Any, window: Any, tmp_path: Path) -> Any:
    window.session.layers.append(box_buildings([(-30, -30, 30, 30)], [40.0]))
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    window.story.open_story(good)
    window.activateWindow()
    view = window.view.interactor
    view.setFocus()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    return view


def test_a_story_that_cannot_be_played_is_not_presented(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt

    view = _ready(qtbot, window, tmp_path)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert window.story.caption.text == "Step 3: north"
    pose = window.session.camera.pose
    told: list[str] = []
    window.session.messages.connect(lambda level, text: told.append(f"{level}: {text}"))
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    window.story.open_story(bad)
    assert len(told) == 1 and told[0].startswith("error: ")
    assert "no bookmark 'Nowhere'" in told[0] and "bad.toml" in told[0]
    # the Story panel shows the new story; nothing of the old one plays or is captioned
    assert window.session.story.name == "bad"
    assert "Nowhere at all" in window.story.panel.steps.item(0).text()
    assert window.story.caption.text == ""
    assert window.session.camera.pose == pose  # a story that cannot be played moves nothing
    qtbot.keyClick(view, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.wait(300)  # time for a full screen switch to show, were there one
    assert len(told) == 2 and told[1].startswith("error: ") and "'Nowhere'" in told[1]
    assert "\n" not in told[1]
    assert not window.story.presenting and not window.isFullScreen()
    assert window.menuBar().isVisible() and window.statusBar().isVisible()
    assert window.story.caption.text == ""
    # F6 and Page Down say why too, and move nothing
    qtbot.keyClick(view, Qt.Key.Key_F6)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert len(told) == 4 and all(t.startswith("error: ") for t in told)
    assert not window.story.timer.isActive()
    assert window.session.camera.pose == pose
    # undoing the open brings the good story back, playable and presentable
    window.session.commands.undo()
    assert window.session.story.name == "good"
    qtbot.keyClick(view, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5_000)
    assert window.story.presenting and window.story.caption.text == "Step 1: south"
    assert len(told) == 4
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5_000)


def test_esc_ends_the_presentation_and_the_playing(qtbot: Any, window: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    view = _ready(qtbot, window, tmp_path)
    qtbot.keyClick(view, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5_000)
    player = window.session.story_player
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_F6)
    assert player.playing and window.story.timer.isActive()
    qtbot.waitUntil(lambda: player.t_s > 0.1, timeout=5_000)
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5_000)
    assert not window.story.presenting and window.menuBar().isVisible()
    assert not player.playing and not window.story.timer.isActive()
    t, pose, clock = player.t_s, window.session.camera.pose, window.session.clock.t_ns
    qtbot.wait(300)  # several player ticks, were it still playing
    assert player.t_s == t and window.session.camera.pose == pose
    assert window.session.clock.t_ns == clock
    # the picture stays where Esc left it; F6 plays on from there in the window
    assert window.story.caption.text == player.caption != ""
    qtbot.keyClick(view, Qt.Key.Key_F6)
    assert player.playing
    qtbot.keyClick(view, Qt.Key.Key_F6)
    assert not player.playing


def test_a_story_with_no_steps_is_not_presented(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import Qt

    told: list[str] = []
    window.session.messages.connect(lambda level, text: told.append(f"{level}: {text}"))
    window.activateWindow()
    window.view.interactor.setFocus()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.wait(300)
    assert told == ["warning: story 'Story' has no steps to present: record one"]
    assert not window.story.presenting and not window.isFullScreen()
    assert window.menuBar().isVisible()
