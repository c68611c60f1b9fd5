"""The selection table: every selected feature as one row, sortable, fast for 10k+ rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableView, QVBoxLayout, QWidget

from twin_app.model.camera import pose_for_bounds
from twin_app.model.city import FeatureSet
from twin_app.model.layers import Layer
from twin_app.model.search import format_value
from twin_app.session import Selection, Session

#: Extra table columns shown after ``id`` and ``height_m``.
MAX_EXTRA_COLUMNS = 6
#: Columns preferred when choosing the extra ones (in this order), if present and not empty.
PREFERRED_COLUMNS = (
    "name",
    "type",
    "class",
    "highway",
    "building",
    "use",
    "function",
    "height_source",
    "levels",
    "building:levels",
    "lanes",
    "width_m",
    "length_m",
    "maxspeed",
    "lod",
    "addr:street",
    "addr:housenumber",
)
#: Rows looked at when judging which columns are useful.
_SAMPLE_ROWS = 2000
#: Role returning the feature row (dense index) of a table row.
FEATURE_INDEX_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: Rows measured when sizing columns to their contents.
_RESIZE_ROWS = 200

# data() runs for every visible cell and role: compare plain ints, not enum members.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _ALIGN, FEATURE_INDEX_ROLE})
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

_ModelIndex = QModelIndex | QPersistentModelIndex


def useful_columns(table: pd.DataFrame, limit: int = MAX_EXTRA_COLUMNS) -> list[str]:
    """Up to `limit` informative columns besides ``id`` and ``height_m``.

    Columns that are empty in a sample of the table are skipped; preferred names come first,
    then columns whose values vary, in table order.
    """
    sample = table.iloc[:_SAMPLE_ROWS]
    scored: list[tuple[int, int, int, str]] = []
    for pos, col in enumerate(table.columns):
        name = str(col)
        if name in ("id", "height_m") or not sample[col].notna().any():
            continue
        try:
            varies = int(sample[col].nunique(dropna=True) > 1)
        except TypeError:  # unhashable cells (lists, dicts)
            varies = 0
        pref = (
            PREFERRED_COLUMNS.index(name) if name in PREFERRED_COLUMNS else len(PREFERRED_COLUMNS)
        )
        scored.append((pref, -varies, pos, name))
    return [name for *_, name in sorted(scored)[:limit]]


class _SelectionTableModel(QAbstractTableModel):
    """Rows = selected features of one layer; cells read from the layer's table on demand."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.features: FeatureSet | None = None
        self.columns: list[str] = []
        self.rows = np.zeros(0, dtype=np.int64)
        self._arrays: dict[str, np.ndarray[Any, Any]] = {}
        self._numeric: dict[str, bool] = {}

    def set_rows(self, features: FeatureSet | None, rows: np.ndarray[Any, Any]) -> None:
        self.beginResetModel()
        self.features = features
        self.rows = np.asarray(rows, dtype=np.int64)
        self._arrays = {}
        if features is None:
            self.columns = []
        else:
            table = features.table
            self.columns = ["id"]
            if "height_m" in table.columns:
                self.columns.append("height_m")
            self.columns += useful_columns(table)
            self._numeric = {
                c: c in table.columns
                and pd.api.types.is_numeric_dtype(table[c].dtype)
                and not pd.api.types.is_bool_dtype(table[c].dtype)
                for c in self.columns
            }
        self.endResetModel()

    def _column(self, name: str) -> np.ndarray[Any, Any]:
        """The whole layer column as an array (no copy for numpy dtypes), fetched once."""
        arr = self._arrays.get(name)
        if arr is None:
            assert self.features is not None
            if name == "id" and "id" not in self.features.table.columns:
                arr = np.asarray(self.features.ids)
            else:
                arr = self.features.table[name].to_numpy()
            self._arrays[name] = arr
        return arr

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self.rows.size)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: _ModelIndex, role: int = _DISPLAY) -> Any:
        role = int(role)
        if role not in _ROLES or not index.isValid():
            return None
        feature = int(self.rows[index.row()])
        if role == FEATURE_INDEX_ROLE:
            return feature
        name = self.columns[index.column()]
        if role == _ALIGN:
            return _RIGHT if self._numeric.get(name) else None
        text = format_value(self._column(name)[feature])
        if role == _TOOLTIP:
            return text if len(text) > 40 else None
        return text

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section] if 0 <= section < len(self.columns) else None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self.features is None or self.rows.size == 0:
            return
        if column < 0 or column >= len(self.columns):
            new = np.sort(self.rows)
        else:
            values = self._column(self.columns[column])[self.rows]
            series = pd.Series(values)
            if not self._numeric.get(self.columns[column]):
                series = series.astype("string").str.casefold()
            ordered = series.sort_values(
                ascending=order == Qt.SortOrder.AscendingOrder,
                kind="stable",
                na_position="last",
            )
            new = self.rows[ordered.index.to_numpy()]
        self.layoutAboutToBeChanged.emit()
        self.rows = new
        self.layoutChanged.emit()

    def row_of_feature(self, feature: int) -> int:
        """Table row showing a feature row, or -1."""
        hit = np.flatnonzero(self.rows == feature)
        return int(hit[0]) if hit.size else -1


class QtSelectionTable(QWidget):
    """The selected features of one layer as a sortable table.

    Selecting a row selects that one feature in the session (the list stays); double-clicking
    a row flies the camera to it. Columns: ``id``, ``height_m`` when the layer has it, and up to
    six informative columns of the layer's table (:func:`useful_columns`).

    Parameters
    ----------
    session
        The session whose ``selection`` is listed.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.layer: Layer | None = None
        self._narrowing = False

        self.table_model = _SelectionTableModel(self)
        self.view = QTableView()
        self.view.setModel(self.table_model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 6)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setResizeContentsPrecision(_RESIZE_ROWS)
        # Start in the selection's own order; a header click sorts.
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.selectionModel().selectionChanged.connect(self._on_row_selection_change)
        self.view.doubleClicked.connect(self._on_double_click)
        self.count_label = QLabel()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.count_label)
        layout.addWidget(self.view, 1)

        session.selection_changed.connect(self._on_selection_change)
        self._on_selection_change(session.selection)

    # -- public ----------------------------------------------------------------------------
    def row_count(self) -> int:
        """Number of rows listed."""
        return self.table_model.rowCount()

    def columns(self) -> list[str]:
        """Column names shown."""
        return list(self.table_model.columns)

    def feature_at(self, row: int) -> int:
        """Feature row (dense index) listed at table row `row` (in the current sort)."""
        return int(self.table_model.rows[row])

    def select_row(self, row: int) -> None:
        """Select table row `row` (as a click does): the session selects that feature."""
        self.view.selectRow(row)

    def fly_to_row(self, row: int) -> None:
        """Fly the camera to the feature at table row `row`."""
        fs = self.table_model.features
        if fs is None or not 0 <= row < self.row_count():
            return
        bounds = fs.feature_bounds([self.feature_at(row)])
        if bounds is not None:
            self.session.camera.fly_to(pose_for_bounds(bounds))

    # -- internals -------------------------------------------------------------------------
    def _on_selection_change(self, selection: Selection) -> None:
        if not shiboken6.isValid(self):  # deleted on the C++ side: stop listening
            self.session.selection_changed.disconnect(self._on_selection_change)
            return
        if self._narrowing:
            return  # our own row click: keep the list, the row is already highlighted
        layer = self.session.find_layer(selection.layer_uid) if not selection.empty else None
        fs = layer.feature_set() if layer is not None else None
        if layer is None or fs is None:
            self.layer = None
            self.table_model.set_rows(None, np.zeros(0, dtype=np.int64))
            self.count_label.setText("No features selected")
            return
        new_columns = fs is not self.table_model.features
        self.layer = layer
        rows = np.fromiter(selection.indices, dtype=np.int64, count=len(selection.indices))
        self.table_model.set_rows(fs, rows)
        header = self.view.horizontalHeader()
        if header.sortIndicatorSection() >= 0:
            self.table_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        n = rows.size
        self.count_label.setText(f"{n:,} feature{'s' if n != 1 else ''} of {layer.name}")
        if new_columns:
            self.view.resizeColumnsToContents()

    def _on_row_selection_change(
        self, selected: QItemSelection, _deselected: QItemSelection
    ) -> None:
        indexes = selected.indexes()
        if not indexes or self.layer is None:
            return
        feature = self.feature_at(indexes[0].row())
        self._narrowing = True
        try:
            self.session.select_features(self.layer, [feature])
        finally:
            self._narrowing = False

    def _on_double_click(self, index: QModelIndex) -> None:
        self.fly_to_row(index.row())
