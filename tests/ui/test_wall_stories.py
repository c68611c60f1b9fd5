"""Stories in the wall's tour under Xvfb: after a round of bookmarks a story plays in full
(camera at each step's pose, its caption large under the picture), then the bookmarks again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QFontInfo

from twin_app.io.story_file import load_story
from twin_app.model.camera import CameraPose
from twin_app.session import Session

pytestmark = pytest.mark.ui

STORY = """schema = 1
name = "Short story"
[[steps]]
caption = "Step one: the river"
duration_s = 0.8
transition = "cut"
camera = { position = [10.0, -300.0, 200.0], focal_point = [10.0, 0.0, 0.0] }
[[steps]]
caption = "Step two: the towers"
duration_s = 0.8
transition = "cut"
camera = { position = [400.0, 0.0, 250.0], focal_point = [20.0, 0.0, 0.0] }
"""


def test_the_tour_plays_a_story_then_returns_to_the_bookmarks(qtbot: Any, tmp_path: Path) -> None:
    from twin_app.ui.wall import QtWallWindow

    session = Session()
    poses = [
        CameraPose((0.0, -600.0, 400.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
        CameraPose((500.0, 0.0, 300.0), (100.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ]
    for k, p in enumerate(poses):
        session.add_bookmark(f"tour {k}", p)
    session.camera.set_pose(poses[0])
    (tmp_path / "short.toml").write_text(STORY)
    w = QtWallWindow(session, drive_clock=False, tour_s=0.5)
    qtbot.addWidget(w)
    try:
        assert w.tour is not None
        w.tour.fly_s = 0.1
        w.add_stories([load_story(tmp_path / "short.toml")])
        w.show_on(0, (1280, 720))
        qtbot.waitExposed(w)
        w.start_tour()
        assert w.caption.text() == "tour 0"
        qtbot.waitUntil(lambda: w.caption.text() == "tour 1", timeout=5000)
        picture = w.view.size()
        # after the round's last stop: the story, its first step's pose and caption
        qtbot.waitUntil(lambda: w.caption.text() == "Short story", timeout=5000)
        step1 = (10.0, -300.0, 200.0)
        qtbot.waitUntil(lambda: w.story_caption.text() == "Step one: the river", timeout=5000)
        assert w.story_caption.isVisible()
        # the caption lies over the picture's foot: the 3D view keeps its size (a resize
        # makes the renderer allocate its frame buffers anew)
        assert w.view.size() == picture
        cap = w.story_caption.geometry()
        assert w.view.geometry().contains(cap) and cap.bottom() == w.view.geometry().bottom()
        assert QFontInfo(w.story_caption.font()).pixelSize() == round(1.2 * w.unit_px)
        assert session.camera.pose is not None and session.camera.pose.position == step1
        qtbot.waitUntil(lambda: w.story_caption.text() == "Step two: the towers", timeout=5000)
        step2 = (400.0, 0.0, 250.0)
        assert session.camera.pose.position == step2
        w.view.scene.request_render()
        qtbot.wait(50)
        cam = w.view.interactor.renderer.GetActiveCamera()  # the view shows it
        assert np.allclose(cam.GetPosition(), step2)
        w.grab().save(str(tmp_path / "wall_story.png"))
        # the story over: back to the bookmarks, the caption gone
        qtbot.waitUntil(lambda: w.caption.text() == "tour 0", timeout=5000)
        assert not w.story_caption.isVisible()
        assert w.view.size() == picture
        assert w.program.phase == "stops"
        qtbot.waitUntil(lambda: session.camera.pose == poses[0], timeout=5000)
    finally:
        w.close()
