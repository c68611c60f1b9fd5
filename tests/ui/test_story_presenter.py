"""Presenting a story in the real window under Xvfb: Page Down / Page Up (a presenter remote)
move through the steps, the arrow keys do so only while presenting full screen, and the caption
is drawn over the 3D view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.box_buildings import box_buildings

pytestmark = pytest.mark.ui

STORY = """schema = 1
name = "keys"
[[steps]]
caption = "First"
duration_s = 3
transition = "cut"
camera = { position = [0, -300, 200], focal_point = [0, 0, 0] }
[[steps]]
caption = "Second"
duration_s = 3
transition = "cut"
camera = { position = [300, -100, 150], focal_point = [0, 0, 0] }
[[steps]]
caption = "Third"
duration_s = 3
transition = "cut"
camera = { position = [-200, 200, 300], focal_point = [0, 0, 0] }
"""


def _layer() -> Any:
    return box_buildings([(-30, -30, 30, 30)], [40.0])


def test_page_keys_move_through_the_steps(qtbot: Any, window: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    window.session.layers.append(_layer())
    path = tmp_path / "keys.toml"
    path.write_text(STORY)
    window.story.open_story(path)
    player = window.session.story_player
    assert player.index == 0 and window.story.caption.text == "First"
    window.activateWindow()
    view = window.view.interactor
    view.setFocus()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert player.index == 1
    assert window.story.caption.text == "Second"
    assert window.session.camera.pose.position == (300.0, -100.0, 150.0)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert player.index == 2
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert player.index == 1
    # outside a presentation the arrows walk the view; presenting, they are the remote's
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert player.index == 1
    window.story.present()
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5000)
    assert not window.menuBar().isVisible()
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_Right)
    assert player.index == 2
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_Left)
    assert player.index == 1
    # the caption is drawn: dark band at the bottom centre of the 3D view
    img = window.view.grab_image()
    h, w = img.shape[:2]
    band = img[int(0.915 * h) : int(0.94 * h), int(0.48 * w) : int(0.52 * w)].astype(int)
    assert (band.max(axis=2) < 100).mean() > 0.4  # the caption's box (the view is ~216 grey)
    qtbot.keyClick(window.view.interactor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert window.menuBar().isVisible()
    assert not window.story.presenting


def test_story_panel_records_edits_reorders_and_previews(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import Qt

    from twin_app.model.camera import CameraPose

    session = window.session
    session.layers.append(_layer())
    window.story.show_panel()
    panel = window.story.panel
    a = CameraPose((0.0, -300.0, 200.0), (0.0, 0.0, 0.0))
    b = CameraPose((300.0, -100.0, 150.0), (0.0, 0.0, 0.0))
    session.camera.set_pose(a)
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    session.camera.set_pose(b)
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    assert panel.steps.count() == 2 and panel.steps.currentRow() == 1
    panel.caption.setText("From the east")
    panel.caption.editingFinished.emit()
    assert session.story.steps[1].caption == "From the east"
    assert "From the east" in panel.steps.item(1).text()
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert [s.caption for s in session.story.steps] == ["From the east", ""]
    assert panel.steps.currentRow() == 0
    # preview: activating a step shows its start
    session.camera.set_pose(CameraPose((1.0, 2.0, 500.0), (0.0, 0.0, 0.0)))
    panel.steps.itemActivated.emit(panel.steps.item(1))
    assert session.camera.pose == a
    session.commands.undo()  # the move
    assert [s.caption for s in session.story.steps] == ["", "From the east"]
    assert "From the east" in panel.steps.item(1).text()


def test_export_video_from_the_window(qtbot: Any, window: Any, tmp_path: Path) -> None:
    import imageio_ffmpeg

    window.session.layers.append(_layer())
    path = tmp_path / "keys.toml"
    path.write_text(STORY.replace("duration_s = 3", "duration_s = 0.2"))
    window.story.open_story(path)
    info = window.story.export_video(tmp_path / "out.mp4", size=(160, 90))
    assert info is not None and info.frames == 19
    gen = imageio_ffmpeg.read_frames(str(tmp_path / "out.mp4"))
    assert tuple(next(gen)["size"]) == (160, 90)
    assert sum(1 for _ in gen) == 19


def test_a_story_that_does_not_fit_is_a_message(qtbot: Any, window: Any, tmp_path: Path) -> None:
    told: list[str] = []
    window.session.messages.connect(lambda level, text: told.append(f"{level}: {text}"))
    path = tmp_path / "bad.toml"
    path.write_text('schema = 1\nname = "b"\n[[steps]]\nduration_s = 1\ncamera = "Nowhere"\n')
    window.story.open_story(path)  # the file is fine; the session has no such bookmark
    assert len(told) == 1  # once, not once per place that asked for the player
    assert told[0].startswith("error: ") and "no bookmark 'Nowhere'" in told[0]
    assert window.session.story.name == "b"
