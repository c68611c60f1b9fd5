"""File > Save screenshot…: the dialog's size choice, title and attribution reach the PNG, and
the window keeps its own size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.compare_fixtures import building_set, road_set
from tests.ui.dialogs import _when_modal
from twin_app.model.layers import BuildingLayer, RoadLayer

pytestmark = pytest.mark.ui


def test_save_screenshot_at_full_hd_with_a_title(qtbot: Any, window: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from twin_app.ui.screenshot_dialog import ScreenshotDialog

    window.session.layers.append(BuildingLayer(name="Buildings", features=building_set()))
    window.session.layers.append(RoadLayer(name="Roads", features=road_set()))
    before = tuple(window.view.scene.plotter.window_size)
    out = tmp_path / "wall"
    seen: list[str] = []

    def act(dlg: ScreenshotDialog) -> None:
        seen.append(dlg.size_box.itemText(0))
        dlg.size_box.setCurrentIndex(1)  # 1920 x 1080
        dlg.title_edit.clear()
        qtbot.keyClicks(dlg.title_edit, "Test city")
        dlg.path_edit.setText(str(out))
        box = dlg.findChild(QDialogButtonBox)
        qtbot.mouseClick(
            box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )

    said: list[str] = []
    window.session.messages.connect(lambda level, text: said.append(text))
    _when_modal(ScreenshotDialog, act, seen)
    window.screenshot_action.trigger()
    assert f"({before[0]} × {before[1]})" in seen[0]  # "As the view" offers the view's size
    import imageio.v3 as iio

    img = np.asarray(iio.imread(out.with_suffix(".png")))
    assert img.shape[:2] == (1080, 1920)
    # the title's letters at the top centre
    assert (img[:60, 700:1220, :3].max(axis=2) < 90).sum() > 400
    assert tuple(window.view.scene.plotter.window_size) == before
    assert any("wrote" in m and "wall.png" in m for m in said)
