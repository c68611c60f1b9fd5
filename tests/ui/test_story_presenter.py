"""Presenting a story in the real window under Xvfb: Page Down / Page Up (a presenter remote)
move through the steps, the arrow keys do so only while presenting full screen, and the caption
is drawn over the 3D view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

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
    from twin_app.geometry.extrude import extrude, polygon_arrays
    from twin_app.model.city import BUILDINGS, FeatureSet
    from twin_app.model.layers import BuildingLayer

    geoms = np.array([box(-30, -30, 30, 30)], dtype=object)
    h = np.array([40.0])
    table = pd.DataFrame({"id": ["a"], "height_m": h, "height_source": ["height"]})
    fs = FeatureSet(
        "b", BUILDINGS, "test", table["id"].to_numpy(object), table,
        extrude(polygon_arrays(geoms), h),
    )  # fmt: skip
    return BuildingLayer(name="Buildings", features=fs)


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
