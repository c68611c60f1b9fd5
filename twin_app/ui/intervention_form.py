"""A small form that edits one intervention of a scenario (its fields as text boxes).

The fields come from the intervention's pydantic model (:mod:`twin_app.scenarios.file`): id
lists and number tuples (``xy``, ``azimuths_deg``) are typed comma-separated, footprints as
corners separated by semicolons (``x, y; x, y; x, y``), numbers as numbers, a choice of fixed
words (``scenario = UMa | UMi``) from a drop-down, a file (``add_ifc``'s ``ifc``) typed or
chosen with Browse…; an empty box leaves an optional field out. OK validates the whole
intervention (a file must exist); a bad value keeps the form open with the message.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: Intervention kind -> what the form says about it.
KIND_TEXT = {
    "close_road": "Close roads (way ids, e.g. way/4255394; way/…@r: one direction)",
    "set_capacity": "Change road capacity (factor or capacity in veh/h)",
    "set_speed": "Change free-flow speed (speed_kmh or factor)",
    "add_link": "Add a road link between two model nodes",
    "close_pipe": "Shut pipes, valves or pumps (EPANET ids)",
    "leak": "A pipe break or leak (pipe or junction, area in m²)",
    "pump_outage": "Pumps off (start_h to end_h)",
    "set_demand": "Scale water demand (junctions, empty: all)",
    "add_building": (
        "Add a building: footprint (x, y; x, y; … local metres) or lonlat (lon, lat; …), "
        "and height_m or floors"
    ),
    "add_ifc": (
        "Propose an IFC model as a building, its own body: ifc (the file), and at (lon, lat) "
        "with rotate_deg, or empty: where the twin's manifest or the file places it"
    ),
    "remove_building": "Demolish buildings (ids, e.g. way/123)",
    "set_height": "Change building heights (ids, height_m)",
    "add_source": "Add a point source (stack): xy or lonlat, q_g_s, height_m",
    "remove_source": "Remove point sources (ids)",
    "set_source": "Change point sources' q_g_s and/or height_m",
    "cut_traffic": "Scale the road emissions of links (factor; traffic not re-solved)",
    "add_robots": "Buy patrol robots (count; depot = lon, lat, optional)",
    "remove_robots": "Take patrol robots out of the fleet (count)",
    "set_fleet": "Change robots' speed_m_s, run_h or charge_h",
    "patrol_route": "A patrol route drawn through roads (way ids, in driving order)",
    "add_station": ("Add a 5G base station: xy or lonlat, and height_m or on_roof (a building id)"),
    "remove_station": "Take base stations off the air (ids)",
    "set_station": "Change stations' tx_power_dbm, height_m, downtilt_deg or azimuths_deg",
}


def _bare(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` and ``None`` (and whether None was allowed)."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return annotation, optional
            annotation = args[0]
        else:
            return annotation, optional


def field_shape(annotation: Any) -> tuple[str, tuple[str, ...]]:
    """How a field is typed in the form: ``("choice", words)`` for a Literal, ``("ring", ())``
    for a tuple of (x, y) pairs, ``("list", ())`` for a tuple of scalars, ``("file", ())`` for
    a path, else ``("text", ())``."""
    bare, _ = _bare(annotation)
    if bare is Path:
        return "file", ()
    if get_origin(bare) is Literal:
        return "choice", tuple(str(a) for a in get_args(bare))
    if get_origin(bare) is tuple:
        inner = [a for a in get_args(bare) if a is not Ellipsis]
        if inner and get_origin(_bare(inner[0])[0]) is tuple:
            return "ring", ()
        return "list", ()
    return "text", ()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        if value and isinstance(value[0], tuple | list):
            return "; ".join(", ".join(str(v) for v in p) for p in value)
        return ", ".join(str(v) for v in value)
    return str(value)


class QtInterventionForm(QDialog):
    """Edit (or create) one intervention of kind `cls`; :attr:`spec` holds the result on OK."""

    def __init__(
        self, cls: type[BaseModel], spec: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.cls = cls
        self.spec: Any = None
        kind = str(cls.model_fields["kind"].default)
        self.setWindowTitle(f"{'Edit' if spec is not None else 'Add'} {kind}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(KIND_TEXT.get(kind, kind)))
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        #: Fields with a fixed set of words (drop-downs; "" leaves an optional one out).
        self.choices: dict[str, QComboBox] = {}
        for name, info in cls.model_fields.items():
            if name == "kind":
                continue
            current = getattr(spec, name) if spec is not None else info.default
            if str(current).startswith("PydanticUndefined"):
                current = None
            shape, words = field_shape(info.annotation)
            if shape == "choice":
                combo = QComboBox()
                if not info.is_required() and info.default is None:
                    combo.addItem("")
                combo.addItems(list(words))
                combo.setCurrentText("" if current is None else str(current))
                form.addRow(info.alias or name, combo)
                self.choices[name] = combo
                continue
            edit = QLineEdit()
            if current is not None:
                edit.setText(_text(current))
            hint = {"ring": "x, y; x, y; x, y", "list": "a, b, …"}.get(shape, "")
            need = "required" if info.is_required() else "optional"
            edit.setPlaceholderText(f"{need}: {hint}" if hint else need)
            self.edits[name] = edit
            if shape == "file":
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                browse = QPushButton("Browse…")
                browse.clicked.connect(lambda _=False, n=name: self.browse(n))
                row.addWidget(browse)
                form.addRow(info.alias or name, row)
                continue
            form.addRow(info.alias or name, edit)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def browse(self, name: str) -> None:
        """Choose the file of field `name` (``ifc``: IFC files first)."""
        edit = self.edits[name]
        start = str(Path(edit.text()).parent) if edit.text().strip() else ""
        path, _ = QFileDialog.getOpenFileName(
            self, f"Choose {name}", start, f"{name.upper()} files (*.{name});;All files (*)"
        )
        if path:
            edit.setText(path)

    def values(self) -> dict[str, Any]:
        """The form's content as the intervention's fields (empty boxes left out)."""
        out: dict[str, Any] = {}
        for name, edit in self.edits.items():
            text = edit.text().strip()
            info = self.cls.model_fields[name]
            shape, _ = field_shape(info.annotation)
            if not text:
                if shape != "text" and info.is_required():
                    out[name] = ()  # "must not be empty" rather than "missing"
                continue
            if shape == "ring":
                out[name] = tuple(
                    tuple(v.strip() for v in corner.split(","))
                    for corner in text.split(";")
                    if corner.strip()
                )
            elif shape == "list":
                out[name] = tuple(p.strip() for p in text.split(",") if p.strip())
            elif shape == "file":
                out[name] = str(Path(text).expanduser())
            else:
                out[name] = text
        for name, combo in self.choices.items():
            if combo.currentText():
                out[name] = combo.currentText()
        return out

    def accept(self) -> None:
        values = self.values()
        for name, value in values.items():
            shape, _ = field_shape(self.cls.model_fields[name].annotation)
            if shape == "file" and not Path(value).expanduser().is_file():
                self.error.setText(f"{name}: no such file: {value}")
                return
        try:
            self.spec = self.cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            self.error.setText(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
            return
        super().accept()
