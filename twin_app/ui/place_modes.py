"""Click-to-place modes of the 3D view (issue 9): draw a building, place a 5G station.

While a mode is on, a click (press and release without dragging) in the 3D view places
instead of selecting; dragging still orbits and pans, the wheel still zooms.

- **Draw building**: each click adds a footprint corner where the ray under the cursor meets
  the ground; the outline so far, closed back to the first corner, follows the cursor
  (:class:`~twin_app.render.sketch.SketchOverlay`). Enter or a double click finishes and asks
  the height (metres) or the floors; Backspace takes the last corner back; Esc cancels.
- **Place station**: one click on a roof puts a station on that building (its mast above the
  roof), on the ground a ground mast; the mode then ends. Esc cancels.
- **Place robot depot**: one click on the ground buys :data:`DEPOT_ROBOTS` patrol robots kept
  there (``add_robots`` with a ``depot``); the count can be edited in the list afterwards.

The geometry and its checks are the session's (:meth:`Session.add_building_at`,
:meth:`Session.add_station_at`); this module only turns clicks into world points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from twin_app.errors import TwinError

if TYPE_CHECKING:
    from twin_app.render.sketch import SketchOverlay
    from twin_app.session import Session
    from twin_app.ui.view3d import QtView3D

#: The modes: "" (none), "building", "station", "depot".
MODES = ("", "building", "station", "depot")
#: Robots bought with a depot placed by clicking: one patrol post manned around the clock
#: (8 h per charge, 6 h to recharge: ceil(14 / 8) = 2 robots; issue 9, "Patrols").
DEPOT_ROBOTS = 2
#: Keys a drawing mode owns while it is on.
MODE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Backspace)
#: Default new building: 30 m, or 10 floors.
DEFAULT_HEIGHT_M = 30.0
DEFAULT_FLOORS = 10


class QtBuildingHeightDialog(QDialog):
    """Asks the height of a drawn building: metres or floors (of ``storey_m`` each)."""

    def __init__(self, corners: int, area_m2: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New building")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{corners} corners, {area_m2:,.0f} m² footprint"))
        form = QFormLayout()
        self.height_radio = QRadioButton("Height (m)")
        self.floors_radio = QRadioButton("Floors")
        self.height_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.height_radio)
        group.addButton(self.floors_radio)
        self.height_spin = QDoubleSpinBox()
        self.height_spin.setRange(1.0, 2000.0)
        self.height_spin.setDecimals(1)
        self.height_spin.setValue(DEFAULT_HEIGHT_M)
        self.floors_spin = QSpinBox()
        self.floors_spin.setRange(1, 500)
        self.floors_spin.setValue(DEFAULT_FLOORS)
        self.storey_spin = QDoubleSpinBox()
        self.storey_spin.setRange(1.0, 20.0)
        self.storey_spin.setDecimals(2)
        self.storey_spin.setValue(3.0)
        form.addRow(self.height_radio, self.height_spin)
        form.addRow(self.floors_radio, self.floors_spin)
        form.addRow("Storey height (m)", self.storey_spin)
        self.height_spin.valueChanged.connect(lambda _: self.height_radio.setChecked(True))
        self.floors_spin.valueChanged.connect(lambda _: self.floors_radio.setChecked(True))
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def values(self) -> dict[str, Any]:
        """``height_m`` or ``floors`` (with ``storey_m``) as :meth:`add_building_at` takes."""
        if self.floors_radio.isChecked():
            return {"floors": self.floors_spin.value(), "storey_m": self.storey_spin.value()}
        return {"height_m": self.height_spin.value()}


class QtPlaceTool(QObject):
    """The place modes of one 3D view (see the module docstring).

    Signals
    -------
    mode_changed(str)
        The mode now on ("" for none).
    placed(object)
        An intervention was added (the spec).
    status(str)
        A line for the status: what to do next, what was added, or why not.
    """

    mode_changed = Signal(str)
    placed = Signal(object)
    status = Signal(str)

    def __init__(self, session: Session, view: QtView3D, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = view
        self.mode = ""
        #: The footprint's corners so far, local metres.
        self.corners: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None
        self._sketch: SketchOverlay | None = None
        #: The height dialog while it is open (non-blocking).
        self.dialog: QtBuildingHeightDialog | None = None
        self._saved: tuple[Any, Any, Any] | None = None
        self._finish_pending = False

    # -- modes ---------------------------------------------------------------------------------
    @property
    def sketch(self) -> SketchOverlay:
        """The outline overlay (made on first use)."""
        if self._sketch is None:
            from twin_app.render.sketch import SketchOverlay

            self._sketch = SketchOverlay(self.view.scene)
        return self._sketch

    def start(self, mode: str) -> None:
        """Turn a mode on ("building" or "station"; "" turns the current one off)."""
        if mode not in MODES:
            raise ValueError(f"unknown place mode {mode!r}; one of {MODES[1:]}")
        if mode == self.mode:
            return
        self.stop(quiet=True)
        if not mode:
            self.mode_changed.emit("")
            return
        nav = self.view.navigator
        self._saved = (nav.on_click, nav.on_double_click, nav.on_hover)
        nav.on_click = self._click
        nav.on_double_click = self._double_click
        nav.on_hover = self._hover
        for w in (self.view.interactor, self.view):
            w.installEventFilter(self)
        self.view.interactor.setCursor(Qt.CursorShape.CrossCursor)
        self.view.interactor.setFocus()  # Esc, Enter and Backspace work before the first click
        self.mode = mode
        self.mode_changed.emit(mode)
        self.status.emit(
            "click the footprint's corners on the ground; Enter or double-click finishes, "
            "Backspace takes a corner back, Esc cancels"
            if mode == "building"
            else "click a roof (rooftop station) or the ground (ground mast); Esc cancels"
            if mode == "station"
            else "click the ground where the robots are kept; Esc cancels"
        )

    def stop(self, quiet: bool = False) -> None:
        """Turn the mode off (a footprint being drawn is dropped)."""
        if not self.mode:
            return
        nav = self.view.navigator
        if self._saved is not None:
            nav.on_click, nav.on_double_click, nav.on_hover = self._saved
            self._saved = None
        for w in (self.view.interactor, self.view):
            w.removeEventFilter(self)
        self.view.interactor.unsetCursor()
        self.corners.clear()
        self._cursor = None
        self._finish_pending = False
        if self._sketch is not None:
            self._sketch.clear()
        if self.dialog is not None:
            self.dialog.reject()
            self.dialog = None
        self.mode = ""
        if not quiet:
            self.mode_changed.emit("")

    def cancel(self) -> None:
        """Esc: drop what is being drawn and leave the mode."""
        was = self.mode
        self.stop()
        if was:
            self.status.emit("cancelled: nothing added")

    # -- mouse -------------------------------------------------------------------------------
    def _ground(self, x: float, y: float) -> tuple[float, float] | None:
        from twin_app.render.picking import ray_ground

        p = ray_ground(self.view.scene.plotter.renderer, x, y, 0.0)
        return None if p is None else (p[0], p[1])

    def _click(self, x: int, y: int, extend: bool = False) -> None:
        if self.dialog is not None:
            return
        if self.mode == "building":
            p = self._ground(x, y)
            if p is None:
                self.status.emit("click on the ground (below the horizon)")
                return
            self.corners.append(p)
            self._redraw()
        elif self.mode == "station":
            self._place_station(x, y)
        elif self.mode == "depot":
            self._place_depot(x, y)

    def _double_click(self, x: int, y: int) -> None:
        if self.mode in ("station", "depot"):
            self._click(x, y)  # a click soon after the last one, at the same place
            return
        if self.mode == "building" and self.dialog is None:
            # The first click of a double click added this corner already; a double click
            # that arrives alone (some platforms, synthetic events) adds it here.
            p = self._ground(x, y)
            if p is not None and (not self.corners or self.corners[-1] != p):
                self.corners.append(p)
            # The double click arrives on its second press: a dialog opened now would take
            # the release, and VTK, which counts pointers down, would then read the next
            # clicks as a two-finger gesture and drop their releases. Finish on the release.
            self._finish_pending = True
            from PySide6.QtCore import QTimer

            QTimer.singleShot(400, self._finish_if_pending)  # no release came: finish anyway

    def _finish_if_pending(self) -> None:
        if self._finish_pending:
            self._finish_pending = False
            self.finish()

    def _hover(self, x: int, y: int) -> None:
        if self._saved is not None and self._saved[2] is not None:
            self._saved[2](x, y)  # the cursor read-out goes on
        if self.mode == "building" and self.corners and self.dialog is None:
            self._cursor = self._ground(x, y)
            self._redraw()

    def _redraw(self) -> None:
        self.sketch.show(self.corners, self._cursor)

    def add_corner_at(self, x: float, y: float) -> None:
        """Add a footprint corner at a ground point (local metres), as a click there does."""
        self.corners.append((float(x), float(y)))
        self._redraw()

    def undo_corner(self) -> None:
        """Backspace: take the last corner back."""
        if self.corners:
            self.corners.pop()
            self._redraw()

    # -- finishing ---------------------------------------------------------------------------
    def finish(self) -> None:
        """Enter or double-click: ask the height (a non-blocking dialog), then add."""
        import shapely

        if self.mode != "building" or self.dialog is not None:
            return
        self._cursor = None
        self._redraw()
        n = len(dict.fromkeys(self.corners))
        if n < 3:
            self.status.emit(f"a footprint needs at least 3 corners ({n} so far)")
            return
        area = float(shapely.Polygon(list(dict.fromkeys(self.corners))).area)
        self.dialog = QtBuildingHeightDialog(n, area, self.view.window())
        self.dialog.accepted.connect(self._commit_building)
        self.dialog.rejected.connect(self._dialog_closed)
        self.dialog.open()

    def _dialog_closed(self) -> None:
        self.dialog = None
        if self.mode == "building":
            self.status.emit("no building added; go on drawing, or Esc to cancel")

    def _commit_building(self) -> None:
        dialog, self.dialog = self.dialog, None
        assert dialog is not None
        try:
            spec = self.session.add_building_at(list(self.corners), **dialog.values())
        except TwinError as exc:
            self._warn(str(exc))
            return
        self.stop()
        self.placed.emit(spec)
        n = len(spec.lonlat or ())
        self.status.emit(f"added a building, {spec.height:g} m high, {n} corners")

    def _place_station(self, x: int, y: int) -> None:
        from twin_app.session import Selection

        hit = self.view.picker.pick(x, y)
        if hit is not None:
            where: Any = hit.position
            on = Selection(hit.layer_uid, (hit.feature_index,))
        else:
            g = self._ground(x, y)
            if g is None:
                self.status.emit("click a roof or the ground")
                return
            where, on = (g[0], g[1], 0.0), None
        try:
            spec = self.session.add_station_at(where, on=on)
        except TwinError as exc:
            self._warn(str(exc))
            return
        self.stop()
        self.placed.emit(spec)
        self.status.emit(
            f"added station {spec.id} on the roof of {spec.on_roof}"
            if spec.on_roof
            else f"added station {spec.id}, a {spec.height_m:g} m ground mast"
        )

    def _place_depot(self, x: int, y: int) -> None:
        g = self._ground(x, y)
        if g is None:
            self.status.emit("click the ground (below the horizon)")
            return
        try:
            spec = self.session.add_robots_at((g[0], g[1], 0.0), count=DEPOT_ROBOTS)
        except TwinError as exc:
            self._warn(str(exc))
            return
        self.stop()
        self.placed.emit(spec)
        self.status.emit(f"added {spec.count} patrol robots kept at the clicked depot")

    def add_ifc_building(self) -> Any:
        """Propose an IFC model as a new building (:meth:`Session.add_building_from_ifc`): the
        one selected on the map, else the topmost IFC layer. Returns the spec, or None."""
        session = self.session
        picked = session.find_layer(session.selection.layer_uid)
        layer = (
            picked
            if picked is not None and picked.kind == "ifc"
            else next((x for x in reversed(session.layers) if x.kind == "ifc"), None)
        )
        if layer is None:
            self._warn("open an IFC model first (File > Open), then place it on the map")
            return None
        try:
            spec = session.add_building_from_ifc(layer)
        except TwinError as exc:
            self._warn(str(exc))
            return None
        self.placed.emit(spec)
        self.status.emit(f"added {layer.name} to the scenario as a building: the model's own body")
        return spec

    def _warn(self, text: str) -> None:
        self.session.messages.emit("warning", text)
        self.status.emit(text)

    # -- keys ----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonRelease and self._finish_pending:
            from PySide6.QtCore import QTimer

            self._finish_pending = False
            QTimer.singleShot(0, self.finish)  # after VTK has seen the release
            return False
        if (
            self.mode
            and kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride)
            and isinstance(event, QKeyEvent)
            and event.key() in MODE_KEYS
        ):
            if kind == QEvent.Type.ShortcutOverride:
                event.accept()  # the key comes here, not to a window shortcut
                return True
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.cancel()
            elif key == Qt.Key.Key_Backspace:
                self.undo_corner()
            else:
                self.finish()
            return True
        return super().eventFilter(watched, event)


def _toggle(tool: QtPlaceTool, mode: str, on: bool) -> None:
    if on:
        tool.start(mode)
    elif tool.mode == mode:
        tool.stop()


def install_place_modes(window: Any) -> QtPlaceTool:
    """Give a main window its place modes: the Scenario panel's "Draw building" and "Place
    station" buttons and the same two entries in the Scenario menu (before Run), all kept in
    step with the tool's mode."""
    tool = QtPlaceTool(window.session, window.view, window)
    panel = window.scenario_panel
    buttons = {"building": panel.draw_button, "station": panel.station_button}
    actions: dict[str, QAction] = {}
    for mode, text, tip in (
        ("building", "&Draw building", "Click a new building's corners on the ground"),
        ("station", "Place 5G s&tation", "Click a roof or the ground to place a base station"),
        ("depot", "Place robot de&pot", "Click the ground to keep new patrol robots there"),
    ):
        a = QAction(text, window)
        a.setCheckable(True)
        a.setStatusTip(tip)
        a.setToolTip(tip)
        a.toggled.connect(lambda on, m=mode: _toggle(tool, m, on))
        if mode in buttons:
            buttons[mode].toggled.connect(a.setChecked)
        actions[mode] = a
        window.addAction(a)
    ifc = QAction("Add &IFC model as a building", window)
    ifc.setStatusTip("Propose the IFC model as a new building: its plan's hull and height")
    ifc.triggered.connect(tool.add_ifc_building)
    window.addAction(ifc)
    window.scenario_ifc_action = ifc
    window.scenario_menu.insertActions(window.scenario_run_action, [*actions.values(), ifc])

    def follow(mode: str) -> None:
        for m in actions:
            for w in (actions[m], buttons.get(m)):
                if w is None:
                    continue
                w.blockSignals(True)
                w.setChecked(m == mode)
                w.blockSignals(False)

    tool.mode_changed.connect(follow)
    tool.status.connect(panel.status.setText)
    window.scenario_draw_action = actions["building"]
    window.scenario_station_action = actions["station"]
    window.scenario_depot_action = actions["depot"]
    return tool


__all__ = [
    "DEFAULT_FLOORS",
    "DEFAULT_HEIGHT_M",
    "DEPOT_ROBOTS",
    "QtBuildingHeightDialog",
    "QtPlaceTool",
    "install_place_modes",
]
