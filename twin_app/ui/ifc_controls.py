"""Controls of an IFC layer under the Layers panel's style editor: section, explode, spaces,
replacing the buildings under it, and placing a file without georeference on the map.

Every edit goes through a session verb (one undo step); model changes come back through
:meth:`QtIfcControls.show_layer`, called by the Layers panel when the layer's fields change.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from twin_app.model.layers import IfcLayer
from twin_app.session import Session
from twin_app.session.bim import REPLACED_BY


class QtIfcControls(QGroupBox):
    """Section storey, explode gap, spaces, replace buildings, place on map.

    Signals
    -------
    place_requested(IfcLayer)
        The user asked to place the layer's file on the map (the window picks a ground point).
    """

    place_requested = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Building (IFC)", parent)
        self.session = session
        self.layer: IfcLayer | None = None
        form = QFormLayout(self)
        self.section_combo = QComboBox()
        self.section_combo.setToolTip(
            "Section view: show this storey and those below it, cut above it"
        )
        self.section_combo.currentIndexChanged.connect(self._on_section)
        row = QHBoxLayout()
        row.addWidget(self.section_combo, 1)
        row.addWidget(QLabel("Explode"))
        self.explode_spin = QDoubleSpinBox()
        self.explode_spin.setRange(0.0, 50.0)
        self.explode_spin.setSingleStep(1.0)
        self.explode_spin.setDecimals(1)
        self.explode_spin.setSuffix(" m")
        self.explode_spin.setToolTip("Exploded view: gap added between consecutive storeys")
        self.explode_spin.valueChanged.connect(self._on_explode)
        row.addWidget(self.explode_spin)
        form.addRow("Section", row)
        self.spaces_check = QCheckBox("Spaces")
        self.spaces_check.setToolTip("Show the IfcSpace volumes (rooms), see-through")
        self.spaces_check.toggled.connect(self._on_spaces)
        self.replace_check = QCheckBox("Replace buildings under it")
        self.replace_check.setToolTip(
            "Hide the city buildings this building stands on (marked in their table)"
        )
        self.replace_check.toggled.connect(self._on_replace)
        checks = QHBoxLayout()
        checks.addWidget(self.spaces_check)
        checks.addWidget(self.replace_check, 1)
        form.addRow(checks)
        self.place_button = QPushButton("Place on map…")
        self.place_button.setToolTip(
            "Click on the ground where the file's origin goes, then set its rotation"
        )
        self.place_button.clicked.connect(self._on_place)
        form.addRow(self.place_button)

    def show_layer(self, layer: IfcLayer) -> None:
        """Show `layer`'s fields (no edits are made)."""
        self.layer = layer
        with QSignalBlocker(self.section_combo):
            self.section_combo.clear()
            self.section_combo.addItem("Off", None)
            for storey in reversed(layer.storeys()):
                self.section_combo.addItem(storey.name, storey.index)
            self.section_combo.setCurrentIndex(
                max(0, self.section_combo.findData(layer.section_storey))
                if layer.section_storey is not None
                else 0
            )
        with QSignalBlocker(self.explode_spin):
            self.explode_spin.setValue(float(layer.explode))
        with QSignalBlocker(self.spaces_check):
            self.spaces_check.setChecked(bool(layer.show_spaces))
            self.spaces_check.setEnabled(bool(layer.is_space().any()) if layer.features else False)
        with QSignalBlocker(self.replace_check):
            self.replace_check.setChecked(self._replacing(layer))

    def _replacing(self, layer: IfcLayer) -> bool:
        from pathlib import Path

        fs = layer.features
        if fs is None:
            return False
        tag = Path(fs.source).name
        for other in self.session.layers:
            bfs = other.feature_set()
            if (
                bfs is not None
                and bfs.kind == "buildings"
                and REPLACED_BY in bfs.table
                and (bfs.table[REPLACED_BY] == tag).any()
            ):
                return True
        return False

    def _on_section(self, _index: int) -> None:
        if self.layer is not None:
            data = self.section_combo.currentData()
            self.session.set_section(self.layer, None if data is None else int(data))

    def _on_explode(self, value: float) -> None:
        if self.layer is not None:
            self.session.set_explode(self.layer, float(value))

    def _on_spaces(self, on: bool) -> None:
        if self.layer is not None:
            self.session.set_show_spaces(self.layer, on)

    def _on_replace(self, on: bool) -> None:
        if self.layer is not None:
            n = self.session.replace_buildings_under(self.layer, on)
            if on and n == 0:
                self.session.messages.emit(
                    "info", f"{self.layer.name}: no city building lies under it"
                )
                with QSignalBlocker(self.replace_check):
                    self.replace_check.setChecked(False)

    def _on_place(self) -> None:
        if self.layer is not None:
            self.place_requested.emit(self.layer)
