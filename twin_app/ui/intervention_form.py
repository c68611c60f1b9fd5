"""A small form that edits one intervention of a scenario (its fields as text boxes).

The fields come from the intervention's pydantic model (:mod:`twin_app.scenarios.file`): id
lists are typed comma-separated, numbers as numbers, an empty box leaves an optional field
out. OK validates the whole intervention; a bad value keeps the form open with the message.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
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
}


def _is_ids(annotation: Any) -> bool:
    return "tuple" in str(annotation)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
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
        for name, info in cls.model_fields.items():
            if name == "kind":
                continue
            edit = QLineEdit()
            current = getattr(spec, name) if spec is not None else info.default
            if current is not None and not str(current).startswith("PydanticUndefined"):
                edit.setText(_text(current))
            edit.setPlaceholderText("required" if info.is_required() else "optional")
            form.addRow(info.alias or name, edit)
            self.edits[name] = edit
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

    def values(self) -> dict[str, Any]:
        """The form's content as the intervention's fields (empty boxes left out)."""
        out: dict[str, Any] = {}
        for name, edit in self.edits.items():
            text = edit.text().strip()
            ann = self.cls.model_fields[name].annotation
            if _is_ids(ann) or any(_is_ids(a) for a in get_args(ann)):
                out[name] = tuple(p.strip() for p in text.split(",") if p.strip())
            elif text:
                out[name] = text
        return out

    def accept(self) -> None:
        try:
            self.spec = self.cls.model_validate(self.values())
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            self.error.setText(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
            return
        super().accept()
