"""The compare view: a scenario beside its baseline, side by side or swiped, on one Camera.

Side by side, it hosts two 3D views (:class:`~twin_app.ui.view3d.QtView3D`), one per side of
a :class:`~twin_app.session.compare.Comparison`, both bound to the session's Camera: orbiting,
panning or zooming in one moves the other. Swiped, it hosts one 3D view of the baseline with
the scenario's renderer over it right of a split (:class:`~twin_app.render.compare.SwipeView`);
the split follows a handle dragged with the mouse on the view and a slider in the toolbar. The
legends (the change's diverging colour bar, titled with quantity and unit) are the views' own
legend panels. A toolbar switches side by side and swipe, and change and values.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QMouseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from twin_app.render.compare import SwipeView
from twin_app.session.compare import Comparison
from twin_app.ui.view3d import QtView3D

Mode = Literal["side", "swipe"]

#: The swipe handle grabs the mouse this close to the split, in logical pixels.
HANDLE_PX = 8
#: The slider's steps over the width.
SLIDER_STEPS = 1000


class QtCompareView(QWidget):
    """Baseline and scenario of a comparison in one widget.

    Public API: :meth:`show_comparison`, :meth:`set_mode`, :meth:`set_split`,
    :meth:`set_show`, :meth:`close_views`; :attr:`views` (the hosted 3D views, baseline
    first) and :attr:`swipe` (the swipe binding in swipe mode).

    Signals
    -------
    mode_changed(str)
        ``"side"`` or ``"swipe"``.
    """

    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, mode: Mode = "side") -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.mode: Mode = mode
        self.views: list[QtView3D] = []
        self.swipe: SwipeView | None = None
        self.split = 0.5
        self._dragging = False

        self.toolbar = QToolBar("Compare", self)
        group = QActionGroup(self)
        group.setExclusive(True)
        self.side_action = QAction("Side by side", self)
        self.side_action.setToolTip("Baseline left, scenario right, moving together")
        self.swipe_action = QAction("Swipe", self)
        self.swipe_action.setToolTip("One picture: baseline left of the handle, scenario right")
        for action, m in ((self.side_action, "side"), (self.swipe_action, "swipe")):
            action.setCheckable(True)
            group.addAction(action)
            self.toolbar.addAction(action)
            action.triggered.connect(lambda _c=False, m=m: self.set_mode(m))
        self.toolbar.addSeparator()
        self.change_action = QAction("Show change", self)
        self.change_action.setCheckable(True)
        self.change_action.setChecked(True)
        self.change_action.setToolTip(
            "Colour the scenario by its change from the baseline (blue less, red more); "
            "off: both sides by value, on one colour range"
        )
        self.change_action.toggled.connect(lambda on: self.set_show("delta" if on else "value"))
        self.toolbar.addAction(self.change_action)
        self.toolbar.addSeparator()
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(1, SLIDER_STEPS - 1)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setToolTip("Where the scenario starts (or drag the line in the view)")
        self.slider.setMaximumWidth(220)
        self.slider.valueChanged.connect(lambda v: self.set_split(v / SLIDER_STEPS))
        self.slider_action = self.toolbar.addWidget(self.slider)

        self.left_label = QLabel("Baseline")
        self.right_label = QLabel("Scenario")
        self.right_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = QHBoxLayout()
        header.setContentsMargins(6, 0, 6, 0)
        header.addWidget(self.left_label)
        header.addStretch(1)
        header.addWidget(self.right_label)
        self.placeholder = QLabel("No scenario to compare yet: run one, then compare.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.area = QVBoxLayout()
        self.area.setContentsMargins(0, 0, 0, 0)
        self.area.addWidget(self.placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toolbar)
        layout.addLayout(header)
        layout.addLayout(self.area, 1)
        self._sync_actions()

    # -- public API ------------------------------------------------------------------------
    def show_comparison(self, comparison: Comparison | None) -> None:
        """Show a comparison (None: nothing, the placeholder) in the current mode."""
        self.close_views()
        self.comparison = comparison
        self.right_label.setText(comparison.name if comparison is not None else "Scenario")
        if comparison is not None:
            self.change_action.blockSignals(True)
            self.change_action.setChecked(comparison.show == "delta")
            self.change_action.blockSignals(False)
        self._build()

    def set_mode(self, mode: Mode) -> None:
        """``"side"`` (two views) or ``"swipe"`` (one picture, split)."""
        if mode not in ("side", "swipe"):
            raise ValueError(f"unknown compare mode {mode!r}")
        if mode != self.mode:
            self.close_views()
            self.mode = mode
            self._build()
            self.mode_changed.emit(mode)
        self._sync_actions()

    def set_split(self, fraction: float) -> None:
        """Move the swipe's split to a fraction of the width (kept in mind when side by side)."""
        self.split = min(max(float(fraction), 0.01), 0.99)
        if self.swipe is not None:
            self.swipe.set_split(self.split)
        value = round(self.split * SLIDER_STEPS)
        if self.slider.value() != value:
            self.slider.blockSignals(True)
            self.slider.setValue(value)
            self.slider.blockSignals(False)

    def set_show(self, show: Literal["delta", "value"]) -> None:
        """Colour the scenario by change (``"delta"``) or both sides by value."""
        if self.comparison is not None:
            self.comparison.set_show(show)

    def grab_images(self) -> list[object]:
        """Render now and return each hosted view's pixels ((h, w, 3) arrays)."""
        return [v.grab_image() for v in self.views]

    def close_views(self) -> None:
        """Release the 3D views (the comparison stays)."""
        if self.swipe is not None:
            self.swipe.close()
            self.swipe = None
        for view in self.views:
            view.interactor.removeEventFilter(self)
            view.close_view()
            view.setParent(None)
            view.deleteLater()
        self.views = []
        while self.area.count():
            item = self.area.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None and w is not self.placeholder:
                w.setParent(None)
                w.deleteLater()
        self.area.addWidget(self.placeholder)

    # -- building ----------------------------------------------------------------------------
    def _sync_actions(self) -> None:
        self.side_action.setChecked(self.mode == "side")
        self.swipe_action.setChecked(self.mode == "swipe")
        self.slider_action.setVisible(self.mode == "swipe")

    def _build(self) -> None:
        cmp = self.comparison
        if cmp is None:
            self.placeholder.show()
            return
        self.area.removeWidget(self.placeholder)
        self.placeholder.hide()
        if self.mode == "side":
            splitter = QSplitter(Qt.Orientation.Horizontal, self)
            splitter.setChildrenCollapsible(False)
            for side in cmp.sides:
                view = QtView3D(side, splitter, camera=cmp.camera)
                # half-width views: the legends of what is compared, not of every layer twice
                view.viewer.scene.legend_filter = cmp.is_result
                view.viewer.scene.legends_changed()
                splitter.addWidget(view)
                self.views.append(view)
            self.area.addWidget(splitter, 1)
        else:
            view = QtView3D(cmp.baseline, self, camera=cmp.camera)
            self.area.addWidget(view, 1)
            self.views.append(view)
            self.swipe = SwipeView(view.interactor, cmp, split=self.split, baseline=view.viewer)
            view.interactor.installEventFilter(self)
            view.interactor.setMouseTracking(True)
            view.scene.request_render()

    # -- the swipe handle ------------------------------------------------------------------------
    def _near_split(self, x: float) -> bool:
        view = self.views[0] if self.views else None
        return view is not None and abs(x - self.split * view.interactor.width()) <= HANDLE_PX

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.swipe is None or not self.views or watched is not self.views[0].interactor:
            return super().eventFilter(watched, event)
        widget = self.views[0].interactor
        kind = event.type()
        if isinstance(event, QMouseEvent):
            x = event.position().x()
            if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                if self._near_split(x):
                    self._dragging = True
                    return True  # the handle, not the navigation, takes this drag
            elif kind == QEvent.Type.MouseMove:
                if self._dragging:
                    self.set_split(x / max(widget.width(), 1))
                    return True
                if self._near_split(x):
                    widget.setCursor(Qt.CursorShape.SplitHCursor)
                else:
                    widget.unsetCursor()
            elif kind == QEvent.Type.MouseButtonRelease and self._dragging:
                self._dragging = False
                return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_views()
        super().closeEvent(event)
