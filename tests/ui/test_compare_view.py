"""The compare widget under Xvfb, driven by real mouse events: a drag in the baseline view moves
the scenario view (one Camera); the swipe's handle moves the split; pictures saved under /tmp."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.compare_fixtures import ROAD_Y, ROAD_Z, building_set, road_set
from twin_app.model.camera import CameraPose
from twin_app.model.layers import BuildingLayer, RoadLayer
from twin_app.render.scene import Scene
from twin_app.session import Session
from twin_app.session.compare import Comparison

pytestmark = pytest.mark.ui

PNG_SIDE = ("/tmp/twin_compare_side_left.png", "/tmp/twin_compare_side_right.png")
PNG_SWIPE = "/tmp/twin_compare_swipe.png"


def _drag(qtbot: Any, widget: Any, start: QPoint, end: QPoint, steps: int = 10) -> None:
    """Press, move with the left button held, release: real QMouseEvents to the widget."""
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        ev = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(p),
            QPointF(widget.mapToGlobal(p)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, ev)
        qtbot.wait(5)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def _road_pixels(img: np.ndarray, scene: Scene, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Columns and colours of the image along a road's centre line."""
    r = scene.plotter.renderer
    h = img.shape[0]
    cols, rgbs = [], []
    for x in np.linspace(-55.0, 55.0, 45):
        r.SetWorldPoint(float(x), y, ROAD_Z, 1.0)
        r.WorldToDisplay()
        dx, dy, _ = r.GetDisplayPoint()
        c, row = round(dx), round(h - 1 - dy)
        if 0 <= c < img.shape[1] and 0 <= row < h:
            cols.append(c)
            rgbs.append(img[row, c].astype(int))
    return np.array(cols), np.array(rgbs)


def _red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] - rgb[..., 2]) > 60


def _blue(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 2] - rgb[..., 0]) > 60


def test_drag_moves_both_views_and_the_swipe_splits_one_picture(qtbot: Any) -> None:
    from twin_app.ui.compare_view import QtCompareView

    session = Session()
    session.layers.append(BuildingLayer(name="Buildings", features=building_set()))
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    cmp = Comparison(session, "Road closure")
    cmp.set_result(roads, "flow_veh_h", np.full(3, 500.0), np.array([800.0, 200.0, 500.0]))
    session.camera.set_pose(CameraPose((-40.0, -230.0, 170.0), (0.0, 10.0, 0.0), (0.0, 0.0, 1.0)))

    w = QtCompareView()
    qtbot.addWidget(w)
    w.resize(1200, 520)
    w.show()
    qtbot.waitExposed(w)
    w.show_comparison(cmp)
    qtbot.wait(100)
    left, right = w.views
    assert w.side_action.isChecked() and not w.slider_action.isVisible()
    assert w.right_label.text() == "Road closure"

    # A drag in the left view orbits; the right view follows through the one Camera.
    before = right.pose()
    widget = left.interactor
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    _drag(qtbot, widget, centre, centre + QPoint(120, 0))
    qtbot.waitUntil(lambda: right.pose() != before, timeout=5_000)
    a, b = left.pose(), right.pose()
    assert a.position == pytest.approx(b.position) and a.focal_point == pytest.approx(b.focal_point)
    assert np.linalg.norm(np.subtract(b.position, before.position)) > 10.0

    imgs = []
    for view, path in zip(w.views, PNG_SIDE, strict=True):
        imgs.append(view.scene.screenshot(path))
    # the scenario's roads: red where flow grew, blue where it fell; the baseline's neither
    _, plus_right = _road_pixels(imgs[1], right.scene, ROAD_Y[0])
    _, minus_right = _road_pixels(imgs[1], right.scene, ROAD_Y[1])
    _, plus_left = _road_pixels(imgs[0], left.scene, ROAD_Y[0])
    assert _red(plus_right).mean() > 0.8 and _blue(minus_right).mean() > 0.8
    assert not _red(plus_left).any() and not _blue(plus_left).any()
    titles = [(p.title, p.subtitle) for p in right.scene.legends]
    assert ("Roads (Road closure)", "Flow change (veh/h)") in titles

    # Swipe: one view, the split dragged by its handle (the camera stays put meanwhile).
    w.swipe_action.trigger()
    assert w.mode == "swipe" and w.swipe is not None and len(w.views) == 1
    assert w.slider_action.isVisible()
    view = w.views[0]
    qtbot.wait(100)
    widget = view.interactor
    pose = session.camera.pose
    y = widget.height() // 2
    _drag(qtbot, widget, QPoint(widget.width() // 2, y), QPoint(round(widget.width() * 0.35), y))
    assert w.split == pytest.approx(0.35, abs=0.01)
    assert w.swipe.split == pytest.approx(w.split)
    assert round(w.slider.value() / 10) == 35
    assert session.camera.pose == pose
    img = w.swipe.screenshot(PNG_SWIPE)
    seam = w.swipe.split * img.shape[1]
    cols, rgb = _road_pixels(img, view.scene, ROAD_Y[0])
    assert _red(rgb[cols > seam + 3]).mean() > 0.8
    assert not _red(rgb[cols < seam - 3]).any()
    # the slider moves it too; a drag away from the handle still navigates
    w.slider.setValue(700)
    assert w.swipe.split == pytest.approx(0.7)
    _drag(qtbot, widget, QPoint(widget.width() // 4, y), QPoint(widget.width() // 4, y - 60))
    qtbot.waitUntil(lambda: session.camera.pose != pose, timeout=5_000)
    # back to side by side: two views again, on the same pose
    w.side_action.trigger()
    assert len(w.views) == 2 and w.swipe is None
    assert w.views[1].pose().position == pytest.approx(session.camera.pose.position)
    w.close_views()
    cmp.close()
