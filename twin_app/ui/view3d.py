"""The 3D view: a thin Qt host around the viewer binding.

It makes the pyvistaqt QtInteractor and a :class:`~twin_app.render.viewer.Viewer` on it (the
binding of scene, layers, selection and Camera model), and adds only what needs Qt: the timers
that coalesce renders and sample fly-to animations, the rubber band, keys for walking, and the
hover read-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QRubberBand, QVBoxLayout, QWidget

from twin_app.model.camera import FLY_S, Camera, CameraPose, Flight
from twin_app.model.layers import Layer
from twin_app.render.picking import Picker
from twin_app.render.plotter import gl_info
from twin_app.render.scene import Scene
from twin_app.render.viewer import EYE_M, Viewer, ViewSource

#: Walking step per key press, metres; shift walks 5x faster.
STEP_M = 4.0


class QtView3D(QWidget):
    """Hosts the interactor and the viewer binding that keeps the Scene in step with the session.

    Render requests from adapters are coalesced by a zero-delay single-shot timer: any number
    of layer events in one event-loop turn give one render. While the Camera flies, a 16 ms
    timer samples the flight.

    Signals
    -------
    cursor_info(object)
        ``(lon, lat, z_m)`` of the surface under the mouse, or None off the city.
    frame_time(float)
        Milliseconds the last render took.
    camera_moved()
        The camera changed (navigation, preset, fly-to, follow, another view on the same Camera).
    """

    cursor_info = Signal(object)
    frame_time = Signal(float)
    camera_moved = Signal()

    def __init__(
        self, session: ViewSource, parent: QWidget | None = None, camera: Camera | None = None
    ) -> None:
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
        self._fly_timer = QTimer(self)
        self._fly_timer.setInterval(16)
        self._fly_timer.timeout.connect(self._fly_step)
        self._locator_timer = QTimer(self)
        self._locator_timer.setSingleShot(True)
        self._locator_timer.setInterval(50)
        self.viewer = Viewer(session, self.interactor, camera=camera, schedule=self._timer.start)
        self.camera = self.viewer.camera
        self._locator_timer.timeout.connect(self.picker.build_locators)
        self.navigator = self.viewer.navigate(self.interactor.iren.interactor)
        # Keys never reach VTK (its default bindings turn the city into wireframe on `w`,
        # reset to continent scale on `r`, quit on `q`): the app's shortcuts and this view's
        # walking handler own the keyboard.
        self.interactor.iren.clear_key_event_callbacks()
        self.interactor.installEventFilter(self)
        self.navigator.on_click = self.viewer.click
        self.navigator.on_double_click = self.viewer.fly_to_point
        self.navigator.on_band = self._on_band
        self.navigator.on_hover = self._on_hover
        self.active_layer: Callable[[], Layer | None] = self.viewer.default_active_layer
        self.street_mode = False
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self.interactor)
        self._hover_clock = QElapsedTimer()
        self._hover_clock.start()
        self._render_start = 0.0
        ren_win = self.interactor.ren_win
        ren_win.AddObserver("StartEvent", self._on_render_start)
        ren_win.AddObserver("EndEvent", self._on_render_end)
        # built just after the first frame, so the first click does not pay for it
        self.viewer.layers_changed.connect(self._on_layers_changed)
        self.camera.events.pose.connect(self._on_pose_change)
        self.camera.events.flight.connect(self._on_flight_change)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @property
    def scene(self) -> Scene:
        """The scene drawn into the interactor."""
        return self.viewer.scene

    @property
    def picker(self) -> Picker:
        """Picking against the scene."""
        return self.viewer.picker

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

    def _on_layers_changed(self) -> None:
        self._locator_timer.start()

    # -- picking and selection ----------------------------------------------------------------------
    def pick_at(self, x: int, y: int) -> None:
        """Select what is under display pixel (x, y) as a click would (VTK coordinates)."""
        self.viewer.click(x, y, False)

    def _default_active_layer(self) -> Layer | None:
        return self.viewer.default_active_layer()

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
        """Select features of the active layer whose centre projects inside a pixel rectangle."""
        return self.viewer.select_in_rect(self.active_layer(), x0, y0, x1, y1)

    def _on_hover(self, x: int, y: int) -> None:
        if self._hover_clock.elapsed() < 50:  # at most 20 read-outs a second
            return
        self._hover_clock.restart()
        self.cursor_info.emit(self.viewer.lonlat_at(x, y))

    # -- camera ---------------------------------------------------------------------------------
    def _on_pose_change(self, pose: CameraPose | None) -> None:
        if pose is not None:
            self.camera_moved.emit()

    def pose(self) -> CameraPose:
        """The current camera pose."""
        return self.viewer.pose()

    def set_pose(self, pose: CameraPose) -> None:
        """Jump to a pose (the Camera model's pose; every view on it follows)."""
        self.camera.set_pose(pose)

    def fly_to(self, pose: CameraPose) -> None:
        """Animate the camera to a pose (eased, about 0.8 s)."""
        self.camera.fly_to(pose, FLY_S)

    @property
    def flying(self) -> bool:
        """True while a fly-to animation runs."""
        return self.camera.flying

    def _on_flight_change(self, flight: Flight | None) -> None:
        if flight is None:
            self._fly_timer.stop()
        elif not self._fly_timer.isActive():
            self._fly_timer.start()

    def _fly_step(self) -> None:
        if not self.camera.animate():
            self._fly_timer.stop()

    def zoom_to_layer(self, layer: Layer) -> bool:
        """Fly to frame a layer's data; False when it draws nothing to frame."""
        return self.viewer.zoom_to_layer(layer)

    def preset(self, view: str, azimuth_deg: float = 0.0) -> None:
        """``top``, ``oblique`` (from the south rotated by `azimuth_deg`) or ``street``."""
        self.street_mode = view == "street"
        self.viewer.preset(view, azimuth_deg=azimuth_deg)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.interactor and event.type() in (
            QEvent.Type.KeyPress,
            QEvent.Type.KeyRelease,
        ):
            if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                self.keyPressEvent(event)
            return True
        return super().eventFilter(watched, event)

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
        self.set_pose(self.viewer.walk(fwd * fast, right * fast, turn, EYE_M))

    def close_view(self) -> None:
        """Release the VTK window (call before the widget is destroyed)."""
        self._timer.stop()
        self._fly_timer.stop()
        self._locator_timer.stop()
        self.camera.events.pose.disconnect(self._on_pose_change)
        self.camera.events.flight.disconnect(self._on_flight_change)
        self.viewer.close()
        self.interactor.close()
        # pyvistaqt keeps the wrapper of its GL context's surface until the context's
        # aboutToBeDestroyed, which the parent window's deletion can sever. A QSurface is not a
        # QObject, so the binding never learns that it was freed, and hands the stale wrapper
        # out for whatever Qt object later takes that address (a list's model came back as a
        # QSurface in the test run). The view is done with GL here: let go of it now.
        forget = getattr(self.interactor, "_forget_context", None)
        if callable(forget):
            forget()
