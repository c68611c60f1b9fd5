"""Navigation in the real window, driven by real key and wheel events on the 3D view's widget."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from twin_app.io.manifest import SAMPLE_DIR

pytestmark = pytest.mark.ui


@pytest.fixture
def twin(qtbot: Any, window: Any) -> Any:
    """The window with the sample twin open, active, the 3D view holding the keyboard focus."""
    window.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not window.loading and len(window.session.layers) >= 6, timeout=90_000)
    window.activateWindow()
    window.view.interactor.setFocus()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    window.view.scene.render()
    return window


def _key(qtbot: Any, w: Any, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(w.view.interactor, key, modifier)
    qtbot.wait(20)


def _city_pixels(w: Any) -> float:
    """Share of the view that is not sky (the city and its ground)."""
    img = w.view.grab_image().astype(int)
    top = img[2:6].reshape(-1, 3).mean(axis=0)  # the sky gradient's top rows
    differs = np.abs(img - top).sum(axis=2) > 60
    return float(differs.mean())


def _finite(pose: Any) -> bool:
    return bool(np.isfinite([*pose.position, *pose.focal_point, *pose.view_up]).all())


def test_keys_1_2_3_frame_the_sample_twin_with_a_finite_camera(qtbot: Any, twin: Any) -> None:
    from twin_app.model.sensors import MoverLayer

    w = twin
    movers = next(layer for layer in w.session.layers if isinstance(layer, MoverLayer))
    assert np.isnan(movers.positions).any()  # buses off service: the case that broke framing
    seen = {}
    for key, view in ((Qt.Key.Key_1, "top"), (Qt.Key.Key_2, "oblique"), (Qt.Key.Key_3, "street")):
        _key(qtbot, w, key)
        pose = w.session.camera.pose
        assert pose is not None and _finite(pose), view
        vtk_pose = w.view.pose()
        assert (
            _finite(vtk_pose) and np.isfinite(w.view.scene.plotter.camera.GetClippingRange()).all()
        )
        seen[view] = pose
        if view != "street":
            assert _city_pixels(w) > 0.3, view  # the city fills the view, not a blank sky
    assert seen["top"].view_up[2] == 0.0 and seen["top"].position[2] > 500
    assert seen["oblique"] != seen["top"]
    # View > Oblique from the east, from the menu action
    w.oblique_dirs[3].trigger()
    assert _finite(w.session.camera.pose) and _city_pixels(w) > 0.3


def test_vtk_default_key_bindings_do_not_act(qtbot: Any, twin: Any) -> None:
    w = twin
    _key(qtbot, w, Qt.Key.Key_2)
    before = w.session.camera.pose
    actors = [a.actor for a in w.view.scene.adapters.values() if a.actor is not None]
    assert actors
    img0 = w.view.grab_image()
    for key in ("W", "R", "F", "J", "T", "P", "E", "Q", "V", "Up", "Plus"):
        _key(qtbot, w, getattr(Qt.Key, f"Key_{key}"))
    # w (wireframe) did not act: every actor still draws surfaces
    assert all(a.GetProperty().GetRepresentation() == 2 for a in actors)  # VTK_SURFACE
    # r (reset to the whole ground plane, continent scale) did not act, nor did Up (zoom)
    assert w.session.camera.pose == before
    assert not w.view.scene.plotter.ren_win.GetStereoRender()
    assert w.isVisible()  # e / q did not quit
    img1 = w.view.grab_image()
    assert np.abs(img1.astype(int) - img0.astype(int)).sum(axis=2).mean() < 1.0


def test_street_view_eye_stands_on_the_ground_and_w_walks_forward(qtbot: Any, twin: Any) -> None:
    w = twin
    _key(qtbot, w, Qt.Key.Key_3)
    pose = w.session.camera.pose
    # the sample twin's ground is z = 0 (the pipes below it must not pull the eye down)
    assert pose.position[2] == pytest.approx(1.7, abs=1e-6)
    # and the ground (plane or ground layer) fills the view below the horizon down to the
    # bottom edge, where the near clipping plane used to cut it away and leave the sky showing
    from twin_app.render.scene import SKY_BOTTOM

    sky = np.array([int(SKY_BOTTOM[i : i + 2], 16) for i in (1, 3, 5)])
    img = w.view.grab_image().astype(int)
    h, width = img.shape[:2]
    bottom = img[int(h * 0.9) : h - 2, width // 3 : 2 * width // 3].reshape(-1, 3)
    assert (np.abs(bottom - sky).sum(axis=1) > 40).mean() > 0.9
    for key, fwd, right in (
        (Qt.Key.Key_W, 4.0, 0.0),
        (Qt.Key.Key_Up, 4.0, 0.0),
        (Qt.Key.Key_S, -4.0, 0.0),
        (Qt.Key.Key_D, 0.0, 4.0),
        (Qt.Key.Key_A, 0.0, -4.0),
    ):
        before = w.session.camera.pose
        _key(qtbot, w, key)
        after = w.session.camera.pose
        d = np.subtract(before.focal_point, before.position)
        f = np.array([d[0], d[1], 0.0]) / math.hypot(d[0], d[1])
        r = np.cross(f, [0.0, 0.0, 1.0])
        moved = np.subtract(after.position, before.position)
        assert moved == pytest.approx(f * fwd + r * right, abs=1e-6), key
        assert after.position[2] == pytest.approx(1.7, abs=1e-6)
    before = w.session.camera.pose
    _key(qtbot, w, Qt.Key.Key_E)  # turn right 10 degrees in place
    after = w.session.camera.pose
    h0 = math.degrees(math.atan2(*np.subtract(before.focal_point, before.position)[:2]))
    h1 = math.degrees(math.atan2(*np.subtract(after.focal_point, after.position)[:2]))
    assert (h1 - h0) % 360 == pytest.approx(10.0, abs=1e-6)
    assert after.position == pytest.approx(before.position)


def _wheel(w: Any, notches: int) -> None:
    widget = w.view.interactor
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    for _ in range(abs(notches)):
        ev = QWheelEvent(
            centre,
            QPointF(widget.mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 if notches > 0 else -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, ev)


def _expected_m_per_px(w: Any) -> float:
    """Metres per pixel where the ray through the middle of the view meets the ground (z = 0)."""
    pose = w.session.camera.pose
    eye = np.array(pose.position)
    d = np.subtract(pose.focal_point, eye)
    d = d / np.linalg.norm(d)
    t = -eye[2] / d[2]
    h = w.view.scene.plotter.renderer.GetSize()[1]
    return float(2 * t * math.tan(math.radians(pose.view_angle_deg / 2)) / h)


def test_scale_bar_follows_wheel_zoom(qtbot: Any, twin: Any) -> None:
    from twin_app.render.overlays import format_length, nice_length

    w = twin
    _key(qtbot, w, Qt.Key.Key_2)
    widget = w.view.interactor
    qtbot.mouseMove(widget, QPoint(widget.width() // 2, widget.height() // 2))
    w.view.scene.render()
    overlays = w.view.scene.overlays
    labels = [overlays.bar_text.GetInput()]
    for notches in (6, 6, -6):
        before = w.session.camera.pose
        _wheel(w, notches)
        qtbot.waitUntil(lambda b=before: w.session.camera.pose != b, timeout=5_000)
        qtbot.wait(50)  # the coalesced render
        m_per_px = _expected_m_per_px(w)
        assert overlays.m_per_px == pytest.approx(m_per_px, rel=0.01)
        width = w.view.scene.plotter.renderer.GetSize()[0]
        length = nice_length(0.22 * width * m_per_px)
        assert overlays.scale_m == pytest.approx(length)
        assert overlays.bar_text.GetInput() == format_length(length)
        pts = np.asarray(overlays.bar_pd.GetPoints().GetData())
        assert pts[1, 0] - pts[0, 0] == pytest.approx(length / m_per_px, rel=0.01)
        labels.append(overlays.bar_text.GetInput())
    # six notches in make the bar shorter in metres, six out longer again
    assert labels[0] != labels[1] != labels[2] and labels[3] != labels[2]


def test_files_from_two_cities_warn_frame_one_and_zoom_to_layer(
    qtbot: Any, window: Any, shared_file: Any, tmp_path: Any
) -> None:
    den_haag = shared_file("cityjson/DenHaag_01.city.json")
    london = shared_file("osm/london.osm.pbf")
    w = window
    w.load_paths([den_haag, london])
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) >= 4, timeout=90_000)
    w.activateWindow()
    w.view.interactor.setFocus()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=5_000)
    lines = [ln for ln in w.messages_panel.visible_lines() if "km from the twin's centre" in ln]
    assert len(lines) == 2  # one warning per far file, naming it in full and the distance
    assert any(str(den_haag) in ln and "155 km" in ln for ln in lines)
    assert any(str(london) in ln and "154 km" in ln for ln in lines)
    assert all("Zoom to layer (Z)" in ln for ln in lines)

    def layer(name: str) -> Any:
        return next(lay for lay in w.session.layers if lay.name == name)

    def box(name: str) -> Any:
        return w.view.viewer.layer_bounds(layer(name))

    def inside(p: Any, b: Any) -> bool:
        return bool(b[0] <= p[0] <= b[1] and b[2] <= p[1] <= b[3])

    # the view shows the first file's buildings, not two specks on a plane
    pose = w.session.camera.pose
    assert inside(pose.focal_point, box("Buildings (DenHaag_01.city.json)"))
    w.view.scene.render()
    w.view.scene.screenshot(str(tmp_path / "den_haag.png"))
    assert _city_pixels(w) > 0.1
    # Z with London's buildings selected in the Layers panel flies there
    w.layers_panel.select_layer(layer("Buildings (london.osm.pbf)"))
    w.view.interactor.setFocus()
    _key(qtbot, w, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: not w.view.flying, timeout=5_000)
    assert inside(w.session.camera.pose.focal_point, box("Buildings (london.osm.pbf)"))
    w.view.scene.screenshot(str(tmp_path / "london.png"))
    assert _city_pixels(w) > 0.1
    # the layer's context menu offers the same
    zoom = w.layers_panel.zoom_action
    assert zoom in w.layers_panel.layer_list.actions()
    w.layers_panel.select_layer(layer("Terrain (DenHaag_01.city.json)"))
    zoom.trigger()
    qtbot.waitUntil(lambda: not w.view.flying, timeout=5_000)
    assert inside(w.session.camera.pose.focal_point, box("Terrain (DenHaag_01.city.json)"))
    w.view.scene.render()
    assert _city_pixels(w) > 0.1


def test_about_lists_the_zoom_to_layer_key_and_the_view_menu_has_it(window: Any) -> None:
    from twin_app.ui.about_dialog import QtAboutDialog

    about = QtAboutDialog([], window)
    text = about.text.toPlainText()
    assert "zoom to the layer selected in the Layers panel" in text
    assert window.zoom_layer_action.shortcut().toString() == "Z"
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.zoom_layer_action in view_menu.actions()
    # Z is nobody else's key
    keys = [a.shortcut().toString() for a in window.findChildren(type(window.zoom_layer_action))]
    assert keys.count("Z") == 1
    about.close()
