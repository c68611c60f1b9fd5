"""File > Save screenshot… while the compare view is on screen: the PNG shows what it shows,
baseline and scenario side by side (each side at its share of the picture) or the swipe, with
the title across both (real keys: Ctrl+Shift+C, Ctrl+Shift+E). PNGs kept under /tmp."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.compare_fixtures import show_road_closure
from tests.ui.dialogs import _when_modal
from twin_app.model.camera import CameraPose

pytestmark = pytest.mark.ui

PNG_SIDE = "/tmp/twin_compare_screenshot_side.png"
PNG_SWIPE = "/tmp/twin_compare_screenshot_swipe.png"
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _red(img: np.ndarray) -> np.ndarray:
    rgb = img[..., :3].astype(np.int64)
    return (rgb[..., 0] - rgb[..., 2]) > 60


def _blue(img: np.ndarray) -> np.ndarray:
    rgb = img[..., :3].astype(np.int64)
    return ((rgb[..., 2] - rgb[..., 0]) > 60) & (rgb[..., 2] > 120)  # not the navy tower


def _purple(img: np.ndarray) -> np.ndarray:
    """The viridis low end (the baseline's roads): dark purple, no green."""
    r, g, b = (img[..., k].astype(np.int64) for k in range(3))
    return (r > 35) & (r < 110) & (g < 30) & (b > 50) & (b < 130)


def _save(qtbot: Any, window: Any, out: Path, size_index: int, offered: list[str]) -> np.ndarray:
    """Ctrl+Shift+E, the size at `size_index`, a title, Save; returns the PNG's pixels."""
    import imageio.v3 as iio
    from PySide6.QtWidgets import QDialogButtonBox

    from twin_app.ui.screenshot_dialog import ScreenshotDialog

    def act(dlg: ScreenshotDialog) -> None:
        offered.append(dlg.size_box.itemText(0))
        dlg.size_box.setCurrentIndex(size_index)
        dlg.title_edit.clear()
        qtbot.keyClicks(dlg.title_edit, "Road closure")
        dlg.path_edit.setText(str(out))
        box = dlg.findChild(QDialogButtonBox)
        qtbot.mouseClick(
            box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )

    _when_modal(ScreenshotDialog, act, offered)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL_SHIFT)
    assert out.is_file(), offered
    return np.asarray(iio.imread(out))


def test_save_screenshot_shows_the_compare_view(qtbot: Any, window: Any, tmp_path: Path) -> None:
    session = window.session
    cmp = show_road_closure(session)
    session.camera.set_pose(CameraPose((-40.0, -230.0, 170.0), (0.0, 10.0, 0.0), (0.0, 0.0, 1.0)))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_C, CTRL_SHIFT)  # View > Compare view
    qtbot.waitUntil(lambda: window.compare_view is not None and window.compare_view.isVisible())
    cv = window.compare_view
    assert cv.comparison is cmp and cv.mode == "side" and len(cv.views) == 2
    qtbot.wait(100)
    left_view, right_view = (np.asarray(i) for i in cv.grab_images())
    assert _red(right_view).any() and not _red(left_view[left_view.shape[0] // 4 :]).any()

    # side by side at 1920 x 1080: the baseline left, the scenario right, at their shares
    offered: list[str] = []
    img = _save(qtbot, window, tmp_path / "side.png", 1, offered)
    shutil.copy(tmp_path / "side.png", PNG_SIDE)
    w = sum(v.scene.plotter.window_size[0] for v in cv.views)
    h = max(v.scene.plotter.window_size[1] for v in cv.views)
    assert f"({w} × {h})" in offered[0]  # "As the view" is the compare view's size
    assert img.shape[:2] == (1080, 1920)
    widths = [v.width() for v in cv.views]
    seam = round(1920 * widths[0] / sum(widths))
    body = img[270:960]  # below the title and legends, above the scale bar and attribution
    left, right = body[:, :seam], body[:, seam:]
    # the two halves differ as the two sides do: the change colours on the right only
    assert _red(right).mean() > 0.01 and _blue(right).mean() > 0.01
    assert _red(left).mean() < 0.001 and _blue(left).mean() < 0.001
    # the baseline's roads on the left (the viridis low end, dark purple) not on the right
    purple = _purple
    assert purple(left).mean() > 0.01 and purple(right).mean() < 0.001
    # one title across the picture, its letters dark on both sides of the seam
    top = img[:60, seam - 200 : seam + 200, :3].max(axis=2) < 90
    assert top[:, :200].sum() > 100 and top[:, 200:].sum() > 100

    # swiped: one picture, the scenario right of the split
    cv.swipe_action.trigger()
    cv.set_split(0.5)  # through the roads
    assert cv.mode == "swipe" and cv.swipe is not None
    qtbot.wait(100)
    offered.clear()
    img = _save(qtbot, window, tmp_path / "swipe.png", 0, offered)  # as the view
    shutil.copy(tmp_path / "swipe.png", PNG_SWIPE)
    vw, vh = cv.views[0].scene.plotter.window_size
    assert img.shape[:2] == (vh, vw)
    x = round(0.5 * vw)
    body = img[vh // 2 : vh * 9 // 10]  # the roads, below the baseline's legends
    assert _red(body[:, x + 4 :]).mean() > 0.005 and not _red(body[:, : x - 2]).any()
    assert purple(body[:, : x - 2]).mean() > 0.005
    # the split's line: near white down the picture (across the roads too)
    assert (img[vh // 2 : vh * 9 // 10, x - 1 : x + 3, :3].min(axis=2).max(axis=1) > 225).all()
    # the window's own swipe shows the same picture (the same view, rendered at its size)
    shown = np.asarray(cv.swipe.screenshot())[..., :3].astype(np.int64)
    diff = np.abs(shown - img[..., :3].astype(np.int64)).sum(axis=2)
    core = diff[vh // 2 : vh * 9 // 10]
    assert (core > 60).mean() < 0.02
