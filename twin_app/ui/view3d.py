"""The 3D view: a pyvistaqt QtInteractor held by composition, the Scene drawn into it, and the
Qt side of navigation (fly-to animation, presets, walking, rubber band, hover read-out)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QRubberBand, QVBoxLayout, QWidget

from twin_app.model.camera import CameraPose, ease_in_out, walk
from twin_app.model.layers import BuildingLayer, FeatureLayer, Layer
from twin_app.render.navigation import Navigator, apply_pose, pose_of
from twin_app.render.picking import Picker, project_points
from twin_app.render.plotter import gl_info
from twin_app.render.scene import Scene
from twin_app.session import Selection, Session

#: Seconds a fly-to takes.
FLY_S = 0.8
#: Street-level eye height, metres.
EYE_M = 1.7
#: Walking step per key press, metres; shift walks 5x faster.
STEP_M = 4.0


class QtView3D(QWidget):
    """Hosts the interactor and keeps the Scene in step with the session.

    Render requests from adapters are coalesced by a zero-delay single-shot timer: any number
    of layer events in one event-loop turn give one render.

    Signals
    -------
    cursor_info(object)
        ``(lon, lat, z_m)`` of the surface under the mouse, or None off the city.
    frame_time(float)
        Milliseconds the last render took.
    camera_moved()
        The camera changed (navigation, preset, fly-to).
    """

    cursor_info = Signal(object)
    frame_time = Signal(float)
    camera_moved = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from pyvistaqt import QtInteractor

        self.session = session
        self.interactor = QtInteractor(
            self, multi_samples=gl_info().multi_samples, auto_update=False
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.interactor)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._render_now)
        self.scene = Scene(self.interactor, schedule=self._timer.start)
        self.picker = Picker(self.scene)
        self.navigator = Navigator(self.scene, self.interactor.iren.interactor, self.picker)
        self.navigator.on_click = self._on_click
        self.navigator.on_double_click = self._on_double_click
        self.navigator.on_band = self._on_band
        self.navigator.on_hover = self._on_hover
        self.navigator.on_camera_moved = self._on_camera_moved
        self.active_layer: Callable[[], Layer | None] = self._default_active_layer
        self.street_mode = False
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self.interactor)
        self._framed = False
        self._fly: tuple[CameraPose, CameraPose, QElapsedTimer] | None = None
        self._fly_timer = QTimer(self)
        self._fly_timer.setInterval(16)
        self._fly_timer.timeout.connect(self._fly_step)
        self._locator_timer = QTimer(self)
        self._locator_timer.setSingleShot(True)
        self._locator_timer.setInterval(50)
        self._locator_timer.timeout.connect(self.picker.build_locators)
        self._hover_clock = QElapsedTimer()
        self._hover_clock.start()
        self._render_start = 0.0
        ren_win = self.interactor.ren_win
        ren_win.AddObserver("StartEvent", self._on_render_start)
        ren_win.AddObserver("EndEvent", self._on_render_end)
        session.layers.events.inserted.connect(self._on_layer_inserted)
        session.layers.events.removed.connect(self._on_layer_removed)
        session.layers.events.moved.connect(self._on_layer_moved)
        session.selection_changed.connect(self._on_selection_changed)
        session.fly_to_requested.connect(self.fly_to)
        session.camera_set_requested.connect(self.set_pose)
        session.underground_changed.connect(self.scene.set_underground)
        session.clock.events.t_ns.connect(self._follow_mover)
        for layer in session.layers:
            self.scene.add_layer(layer)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- rendering ------------------------------------------------------------------------
    def _render_now(self) -> None:
        self.scene.render()

    def _on_render_start(self, *_: Any) -> None:
        self._render_start = time.perf_counter()

    def _on_render_end(self, *_: Any) -> None:
        self.frame_time.emit(1000.0 * (time.perf_counter() - self._render_start))

    def grab_image(self) -> Any:
        """Render now and return the view's pixels as an (h, w, 3) array."""
        return self.scene.screenshot()

    def sizeHint(self) -> QSize:
        return QSize(1200, 800)

    # -- layers -------------------------------------------------------------------------------
    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        self.scene.add_layer(layer)
        self._locator_timer.start()  # build pick locators just after the first frame
        if not self._framed:
            self._framed = True
            self.preset("oblique")

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        self.scene.remove_layer(layer)
        self._locator_timer.start()

    def _on_layer_moved(self, *_: Any) -> None:
        self.scene.request_render()

    def _default_active_layer(self) -> Layer | None:
        for layer in reversed(self.session.layers):
            if isinstance(layer, BuildingLayer) and layer.visible:
                return layer
        return None

    # -- picking and selection ----------------------------------------------------------------------
    def _on_click(self, x: int, y: int, extend: bool) -> None:
        hit = self.picker.pick(x, y)
        if hit is None:
            if not extend:
                self.session.select(Selection())
            return
        layer = self.session.find_layer(hit.layer_uid)
        if layer is None:
            return
        sel = self.session.selection
        if extend and sel.layer_uid == layer.uid:
            idx = set(sel.indices) ^ {hit.feature_index}
            self.session.select_features(layer, sorted(idx))
        else:
            self.session.select_features(layer, [hit.feature_index])

    def pick_at(self, x: int, y: int) -> None:
        """Select what is under display pixel (x, y) as a click would (VTK coordinates)."""
        self._on_click(x, y, False)

    def _on_double_click(self, x: int, y: int) -> None:
        p = self.picker.world_point(x, y)
        if p is None:
            return
        pose = pose_of(self.scene.plotter.camera)
        offset = np.subtract(pose.position, pose.focal_point) * 0.6
        target = CameraPose(
            tuple(float(v) for v in np.add(p, offset)),  # type: ignore[arg-type]
            p,
            pose.view_up,
            pose.view_angle_deg,
        )
        self.fly_to(target)

    def _on_band(self, x0: int, y0: int, x1: int, y1: int, done: bool) -> None:
        h = self.interactor.height()
        ratio = self.interactor.devicePixelRatioF()
        rect = QRect(
            QPoint(round(min(x0, x1) / ratio), round(h - max(y0, y1) / ratio)),
            QPoint(round(max(x0, x1) / ratio), round(h - min(y0, y1) / ratio)),
        )
        if not done:
            self._band.setGeometry(rect)
            self._band.show()
            return
        self._band.hide()
        self.select_in_rect(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def select_in_rect(self, x0: float, y0: float, x1: float, y1: float) -> int:
        """Select features of the active layer whose centre projects inside a pixel rectangle.

        One projection of all feature centres (numpy), no per-feature picking. Returns the count.
        """
        layer = self.active_layer()
        if not isinstance(layer, FeatureLayer) or layer.features is None:
            return 0
        centres = layer.features.feature_centroids()
        ok = np.isfinite(centres[:, 0])
        px = project_points(self.scene.plotter.renderer, np.nan_to_num(centres))
        inside = (
            ok
            & (px[:, 2] > 0)
            & (px[:, 0] >= x0)
            & (px[:, 0] <= x1)
            & (px[:, 1] >= y0)
            & (px[:, 1] <= y1)
        )
        idx = np.flatnonzero(inside)
        self.session.select_features(layer, idx)
        return int(idx.size)

    def _on_selection_changed(self, sel: Selection) -> None:
        self.scene.highlight(sel.layer_uid, list(sel.indices))

    def _on_hover(self, x: int, y: int) -> None:
        if self._hover_clock.elapsed() < 50:  # at most 20 read-outs a second
            return
        self._hover_clock.restart()
        frame = self.session.frame
        hit = self.picker.pick(x, y)
        if frame is None or hit is None:
            self.cursor_info.emit(None)
            return
        ll = frame.to_lonlat(np.array([hit.position[:2]]))[0]
        self.cursor_info.emit(
            (float(ll[0]), float(ll[1]), float(hit.position[2]) + frame.origin[2])
        )

    # -- camera ---------------------------------------------------------------------------------
    def _on_camera_moved(self) -> None:
        self.session.camera = pose_of(self.scene.plotter.camera)
        self.camera_moved.emit()

    def pose(self) -> CameraPose:
        """The current camera pose."""
        return pose_of(self.scene.plotter.camera)

    def set_pose(self, pose: CameraPose) -> None:
        """Jump to a pose."""
        self._fly_timer.stop()
        self._fly = None
        apply_pose(self.scene.plotter.renderer, pose)
        self.scene.request_render()
        self._on_camera_moved()

    def fly_to(self, pose: CameraPose) -> None:
        """Animate the camera to a pose (eased, about 0.8 s)."""
        clock = QElapsedTimer()
        clock.start()
        self._fly = (self.pose(), pose, clock)
        self._fly_timer.start()

    @property
    def flying(self) -> bool:
        """True while a fly-to animation runs."""
        return self._fly is not None

    def _fly_step(self) -> None:
        if self._fly is None:
            self._fly_timer.stop()
            return
        start, end, clock = self._fly
        t = min(clock.elapsed() / (1000.0 * FLY_S), 1.0)
        apply_pose(self.scene.plotter.renderer, start.interpolate(end, ease_in_out(t)))
        self.scene.request_render()
        if t >= 1.0:
            self._fly = None
            self._fly_timer.stop()
            self._on_camera_moved()

    def _follow_mover(self, *_: object) -> None:
        """Keep the followed mover at the focal point (the camera keeps its offset)."""
        from twin_app.model.sensors import MoverLayer

        for layer in self.session.layers:
            if (
                isinstance(layer, MoverLayer)
                and 0 <= layer.follow < len(layer.mover_ids)
                and layer.valid[layer.follow]
            ):
                target = layer.positions[layer.follow]
                pose = self.pose()
                delta = np.subtract(target, pose.focal_point)
                from twin_app.model.camera import pan

                apply_pose(
                    self.scene.plotter.renderer,
                    pan(pose, (float(delta[0]), float(delta[1]), float(delta[2]))),
                )
                self.scene.request_render()
                return

    def preset(self, view: str, azimuth_deg: float = 0.0) -> None:
        """``top``, ``oblique`` (from the south rotated by `azimuth_deg`) or ``street``."""
        self.street_mode = view == "street"
        self.scene.set_view(view, azimuth_deg=azimuth_deg)
        self._on_camera_moved()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.street_mode:
            super().keyPressEvent(event)
            return
        k = event.key()
        fast = 5.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
        moves = {
            Qt.Key.Key_W: (STEP_M, 0.0, 0.0),
            Qt.Key.Key_Up: (STEP_M, 0.0, 0.0),
            Qt.Key.Key_S: (-STEP_M, 0.0, 0.0),
            Qt.Key.Key_Down: (-STEP_M, 0.0, 0.0),
            Qt.Key.Key_A: (0.0, -STEP_M, 0.0),
            Qt.Key.Key_D: (0.0, STEP_M, 0.0),
            Qt.Key.Key_Left: (0.0, 0.0, -10.0),
            Qt.Key.Key_Right: (0.0, 0.0, 10.0),
            Qt.Key.Key_Q: (0.0, 0.0, -10.0),
            Qt.Key.Key_E: (0.0, 0.0, 10.0),
        }
        if k not in moves:
            super().keyPressEvent(event)
            return
        fwd, right, turn = moves[Qt.Key(k)]
        ground = self.scene.data_bounds(surface_only=True)
        eye = (ground[4] if ground else 0.0) + EYE_M
        self.set_pose(walk(self.pose(), fwd * fast, right * fast, turn, eye_height_m=eye))

    def close_view(self) -> None:
        """Release the VTK window (call before the widget is destroyed)."""
        self._timer.stop()
        self._fly_timer.stop()
        self._locator_timer.stop()
        self.navigator.remove()
        self.interactor.close()
