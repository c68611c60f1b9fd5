"""The 3D view: a pyvistaqt QtInteractor held by composition, and the Scene drawn into it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from twin_app.model.layers import Layer
from twin_app.render.plotter import gl_info
from twin_app.render.scene import Scene
from twin_app.session import Session


class QtView3D(QWidget):
    """Hosts the interactor and keeps the Scene in step with the session's layer list.

    Render requests from adapters are coalesced by a zero-delay single-shot timer: any number
    of layer events in one event-loop turn give one render.
    """

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
        self._framed = False
        session.layers.events.inserted.connect(self._on_layer_inserted)
        session.layers.events.removed.connect(self._on_layer_removed)
        for layer in session.layers:
            self.scene.add_layer(layer)

    def _render_now(self) -> None:
        self.scene.render()

    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        self.scene.add_layer(layer)
        if not self._framed:
            self._framed = True
            self.scene.set_view("oblique")

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        self.scene.remove_layer(layer)

    def grab_image(self) -> Any:
        """Render now and return the view's pixels as an (h, w, 3) array."""
        return self.scene.screenshot()

    def close_view(self) -> None:
        """Release the VTK window (call before the widget is destroyed)."""
        self._timer.stop()
        self.interactor.close()
