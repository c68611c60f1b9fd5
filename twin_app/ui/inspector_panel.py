"""The Inspector: what the selected feature is, where it is, and all its source attributes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.model.camera import pose_for_bounds
from twin_app.model.city import FeatureSet
from twin_app.model.layers import IfcLayer, Layer
from twin_app.model.search import format_value
from twin_app.session import Selection, Session

#: Attribute values longer than this are cut with an ellipsis (full text in the tooltip).
MAX_VALUE_CHARS = 80
#: Size of the sensor sparkline, logical pixels.
SPARKLINE_SIZE = (180, 36)
_SPARK_PAD = 3.0


#: IFC table columns shown in their own rows (or folded into others) by :func:`ifc_rows`.
_IFC_OWN = (
    "id",
    "type",
    "name",
    "ifc_class",
    "storey",
    "storey_index",
    "storey_elevation_m",
    "psets",
)


def ifc_rows(fs: FeatureSet, index: int) -> list[tuple[str, str]]:
    """(key, value) rows of an IFC element: class, name, storey (with its elevation),
    GlobalId, the other table columns, then every property as ``Pset › Property``."""
    import json

    t = fs.table
    row = t.iloc[index]

    def get(col: str) -> str:
        return format_value(row[col]) if col in t.columns else ""

    storey = get("storey")
    elev = row["storey_elevation_m"] if "storey_elevation_m" in t.columns else None
    if storey and elev is not None and np.isfinite(float(elev)):
        storey = f"{storey} ({float(elev):+.2f} m)"
    rows = [
        ("Class", get("ifc_class")),
        ("Name", get("name")),
        ("Storey", storey or "none"),
        ("GlobalId", str(fs.ids[index])),
    ]
    rows += [
        (str(c), format_value(row[c]))
        for c in t.columns
        if c not in _IFC_OWN and format_value(row[c]) != ""
    ]
    text = row["psets"] if "psets" in t.columns else None
    psets: Any = {}
    if isinstance(text, str) and text:
        try:
            psets = json.loads(text)
        except ValueError:
            rows.append(("psets", text))
    if isinstance(psets, dict):
        for pset, props in psets.items():
            if isinstance(props, dict):
                rows += [(f"{pset} › {k}", format_value(v)) for k, v in props.items()]
            else:
                rows.append((str(pset), format_value(props)))
    return rows


def _grouped(rows: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Rows as shown: ``Pset › Property`` rows under one title row per property set (value
    None), keyed by the property alone, so long set names do not push the values out."""
    out: list[tuple[str, str | None]] = []
    current = None
    for key, value in rows:
        pset, sep, prop = key.partition(" › ")
        if not sep:
            out.append((key, value))
            current = None
            continue
        if pset != current:
            out.append((pset, None))
            current = pset
        out.append((f"    {prop}", value))
    return out


def _reading(value: float) -> str:
    a = abs(value)
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


class QtInspectorPanel(QWidget):
    """Shows the selected feature: layer, id, height, lon/lat, attributes, and sensor readings.

    Parameters
    ----------
    session
        The session whose ``selection`` is shown.

    Notes
    -----
    For a multi-selection the panel only says how many features are selected; the selection
    table (:class:`~twin_app.ui.selection_table.QtSelectionTable`) lists them.
    :meth:`set_sensor_series` is the hook through which sensor layers show a feature's readings.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.layer: Layer | None = None
        self.index: int | None = None
        self.lonlat: tuple[float, float] | None = None
        self.sensor_latest: tuple[int, float] | None = None
        self._sensor_selection: Selection | None = None
        self._rows: list[tuple[str, str]] = []

        self.title_label = QLabel()
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)

        self.id_label = self._value_label()
        self.height_label = self._value_label()
        self.lonlat_label = self._value_label()
        self.form = QFormLayout()
        self.form.addRow("Id", self.id_label)
        self.form.addRow("Height", self.height_label)
        self.form.addRow("Lon, lat", self.lonlat_label)

        self.copy_action = QAction("Copy", self)
        self.copy_action.setToolTip("Copy the attributes as tab-separated text")
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.copy_attributes)
        self.addAction(self.copy_action)
        self.copy_button = QToolButton()
        self.copy_button.setDefaultAction(self.copy_action)
        self.fly_button = QPushButton("Fly to")
        self.fly_button.setToolTip("Fly the camera to this feature")
        self.fly_button.clicked.connect(self.fly_to)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fly_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)

        self.attributes = QTableWidget(0, 2)
        self.attributes.setHorizontalHeaderLabels(["Attribute", "Value"])
        self.attributes.verticalHeader().hide()
        self.attributes.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.attributes.horizontalHeader().setStretchLastSection(True)
        self.attributes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.attributes.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.attributes.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.attributes.setWordWrap(False)
        self.attributes.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.attributes.addAction(self.copy_action)

        self.sensor_value_label = self._value_label()
        self.sensor_time_label = QLabel()
        self.sparkline_label = QLabel()
        self.sparkline_label.setFixedSize(*SPARKLINE_SIZE)
        self.sensor_box = QWidget()
        sensor_layout = QVBoxLayout(self.sensor_box)
        sensor_layout.setContentsMargins(0, 0, 0, 0)
        sensor_layout.addWidget(QLabel("Sensor"))
        row = QHBoxLayout()
        row.addWidget(self.sensor_value_label)
        row.addWidget(self.sensor_time_label, 1)
        sensor_layout.addLayout(row)
        sensor_layout.addWidget(self.sparkline_label)
        self.sensor_box.hide()

        self.details = QWidget()
        details_layout = QVBoxLayout(self.details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addLayout(self.form)
        details_layout.addLayout(buttons)
        details_layout.addWidget(self.sensor_box)
        details_layout.addWidget(self.attributes, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.details, 1)
        layout.addStretch(0)

        session.selection_changed.connect(self._on_selection_change)
        self._on_selection_change(session.selection)

    @staticmethod
    def _value_label() -> QLabel:
        label = QLabel()
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    # -- public ----------------------------------------------------------------------------
    @property
    def features(self) -> FeatureSet | None:
        """The feature set of the shown feature (None unless exactly one is selected)."""
        return self.layer.feature_set() if self.layer is not None else None

    def attribute_rows(self) -> list[tuple[str, str]]:
        """The (key, full value text) rows of the attribute table."""
        return list(self._rows)

    def copy_attributes(self) -> str:
        """Copy the attributes as ``key<TAB>value`` lines to the clipboard; return the text."""
        text = "\n".join(f"{k}\t{' '.join(v.split())}" for k, v in self._rows)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def fly_to(self) -> None:
        """Ask the view to fly to the shown feature (``session.camera.fly_to``)."""
        fs = self.features
        if fs is None or self.index is None:
            return
        bounds = fs.feature_bounds([self.index])
        if bounds is not None:
            self.session.camera.fly_to(pose_for_bounds(bounds))

    def set_sensor_series(
        self, times_ns: np.ndarray[Any, Any], values: np.ndarray[Any, Any], unit: str
    ) -> None:
        """Show a sensor's readings for the selected feature: latest value and a sparkline.

        Parameters
        ----------
        times_ns
            (n,) sample times, int64 nanoseconds since the epoch, UTC (shown in local time).
        values
            (n,) readings; NaN marks a missing sample (a gap in the line).
        unit
            Unit shown after the value, e.g. ``"µg/m³"``.

        Notes
        -----
        The series stays while the same selection is shown and is cleared when the selection
        changes, whether this is called before or after the panel hears of the change.
        """
        t = np.asarray(times_ns).astype(np.int64, copy=False)
        v = np.asarray(values, dtype=np.float64)
        if t.ndim != 1 or t.shape != v.shape:
            raise ValueError(
                f"times_ns and values must be 1-D of equal length, not {t.shape} and {v.shape}"
            )
        if t.size > 1 and np.any(np.diff(t) < 0):
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
        self._sensor_selection = self.session.selection
        finite = np.flatnonzero(np.isfinite(v))
        if finite.size == 0:
            self.sensor_latest = None
            self.sensor_value_label.setText(f"no data {unit}".strip())
            self.sensor_time_label.setText("")
        else:
            last = int(finite[-1])
            self.sensor_latest = (int(t[last]), float(v[last]))
            self.sensor_value_label.setText(f"{_reading(float(v[last]))} {unit}".strip())
            when = datetime.fromtimestamp(int(t[last]) / 1e9, tz=UTC).astimezone()
            self.sensor_time_label.setText(f"at {when:%Y-%m-%d %H:%M:%S}")
        self.sparkline_label.setPixmap(self._sparkline(t, v))
        self.sensor_box.show()

    def clear_sensor_series(self) -> None:
        """Hide the sensor readings."""
        self._sensor_selection = None
        self.sensor_latest = None
        self.sparkline_label.clear()
        self.sensor_box.hide()

    def sparkline_image(self) -> QImage:
        """The current sparkline as an image (null when none is shown)."""
        return self.sparkline_label.pixmap().toImage()

    # -- internals -------------------------------------------------------------------------
    def _on_selection_change(self, selection: Selection) -> None:
        if not shiboken6.isValid(self):  # deleted on the C++ side: stop listening
            self.session.selection_changed.disconnect(self._on_selection_change)
            return
        if self._sensor_selection is not None and selection != self._sensor_selection:
            self.clear_sensor_series()
        layer = self.session.find_layer(selection.layer_uid) if not selection.empty else None
        fs = layer.feature_set() if layer is not None else None
        if layer is None or fs is None:
            self._show_nothing("Nothing selected")
        elif len(selection.indices) > 1:
            self._show_nothing(f"{len(selection.indices):,} features selected in {layer.name}")
        else:
            self._show_feature(layer, fs, selection.indices[0])

    def _show_nothing(self, title: str) -> None:
        self.layer = None
        self.index = None
        self.lonlat = None
        self._rows = []
        self.title_label.setText(title)
        self.attributes.setRowCount(0)
        self.details.hide()

    def _show_feature(self, layer: Layer, fs: FeatureSet, index: int) -> None:
        self.layer = layer
        self.index = index
        self.title_label.setText(layer.name)
        self.id_label.setText(str(fs.ids[index]))
        table = fs.table
        has_height = "height_m" in table.columns
        self.form.setRowVisible(self.height_label, has_height)
        if has_height:
            h = table["height_m"].to_numpy(dtype=np.float64, na_value=np.nan)[index]
            source = table["height_source"].iat[index] if "height_source" in table else None
            note = " (default)" if source == "default" else ""
            self.height_label.setText(f"{h:.1f} m{note}" if np.isfinite(h) else "unknown")
        self.lonlat = self._lonlat(fs, index)
        self.lonlat_label.setText(
            f"{self.lonlat[0]:.6f}, {self.lonlat[1]:.6f}" if self.lonlat else "unknown"
        )
        self.fly_button.setEnabled(fs.feature_bounds([index]) is not None)
        if isinstance(layer, IfcLayer):
            self._rows = ifc_rows(fs, index)
        else:
            self._rows = [(str(col), format_value(table[col].iat[index])) for col in table.columns]
        self.attributes.clearSpans()
        grouped = isinstance(layer, IfcLayer)
        shown_rows = _grouped(self._rows) if grouped else self._rows
        header = self.attributes.horizontalHeader()
        # Property set titles span both columns: the key column fits the keys, not them.
        header.setSectionResizeMode(
            0,
            QHeaderView.ResizeMode.Interactive
            if grouped
            else QHeaderView.ResizeMode.ResizeToContents,
        )
        if grouped:
            metrics = self.attributes.fontMetrics()
            keys = [k for k, v in shown_rows if v is not None]
            width = max((metrics.horizontalAdvance(k) for k in keys), default=60) + 16
            # half the panel at most (the table itself may not be laid out yet)
            self.attributes.setColumnWidth(0, min(width, max(self.width() // 2, 120)))
        self.attributes.setRowCount(len(shown_rows))
        for row, (key, value) in enumerate(shown_rows):
            if value is None:  # a property set's title row, across both columns
                title = QTableWidgetItem(key)
                font = title.font()
                font.setBold(True)
                title.setFont(font)
                self.attributes.setItem(row, 0, title)
                self.attributes.setItem(row, 1, QTableWidgetItem(""))
                self.attributes.setSpan(row, 0, 1, 2)
                continue
            self.attributes.setItem(row, 0, QTableWidgetItem(key))
            shown = " ".join(value.split())
            if len(shown) > MAX_VALUE_CHARS:
                shown = shown[: MAX_VALUE_CHARS - 1] + "…"
            item = QTableWidgetItem(shown)
            if shown != value or len(value) > 40:
                item.setToolTip(value)
            self.attributes.setItem(row, 1, item)
        self.details.show()

    def _lonlat(self, fs: FeatureSet, index: int) -> tuple[float, float] | None:
        frame = self.session.frame
        centre = fs.feature_centroids()[index]
        if frame is None or not np.all(np.isfinite(centre[:2])):
            return None
        ll = frame.to_lonlat(centre[None, :2])
        return (float(ll[0, 0]), float(ll[0, 1]))

    def _sparkline(self, t: np.ndarray[Any, Any], v: np.ndarray[Any, Any]) -> QPixmap:
        w, h = SPARKLINE_SIZE
        dpr = self.devicePixelRatioF()
        pixmap = QPixmap(round(w * dpr), round(h * dpr))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        t, v = self._decimate(t, v, 2 * w)
        ok = np.isfinite(v)
        if not ok.any():
            return pixmap
        tf = (t - t[0]).astype(np.float64)
        span_t = float(tf[-1]) if tf[-1] > 0 else 1.0
        lo, hi = float(v[ok].min()), float(v[ok].max())
        span_v = hi - lo if hi > lo else 1.0
        x = _SPARK_PAD + tf / span_t * (w - 2 * _SPARK_PAD)
        if t.size == 1 or tf[-1] == 0:
            x[:] = w / 2
        y = h - _SPARK_PAD - (v - lo) / span_v * (h - 2 * _SPARK_PAD)
        if hi == lo:
            y[:] = h / 2
        path = QPainterPath()
        pen_down = False
        for xi, yi, good in zip(x.tolist(), y.tolist(), ok.tolist(), strict=True):
            if not good:
                pen_down = False
            elif pen_down:
                path.lineTo(xi, yi)
            else:
                path.moveTo(xi, yi)
                pen_down = True
        colour = self.palette().highlight().color()
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.5))
        painter.drawPath(path)
        last = int(np.flatnonzero(ok)[-1])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour).darker(130))
        painter.drawEllipse(QPointF(float(x[last]), float(y[last])), 2.5, 2.5)
        painter.end()
        return pixmap

    @staticmethod
    def _decimate(
        t: np.ndarray[Any, Any], v: np.ndarray[Any, Any], bins: int
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Keep each bin's min and max sample (in time order) so long series stay cheap to draw."""
        n = t.size
        if n <= 2 * bins:
            return t, v
        chunk = -(-n // bins)
        pad = bins * chunk - n
        vv = np.concatenate([v, np.full(pad, np.nan)]).reshape(bins, chunk)
        valid = np.isfinite(vv)
        lo = np.where(valid, vv, np.inf).argmin(axis=1)
        hi = np.where(valid, vv, -np.inf).argmax(axis=1)
        pick = np.sort(np.column_stack([lo, hi]), axis=1) + (np.arange(bins) * chunk)[:, None]
        keep = pick[valid.any(axis=1)].ravel()
        keep = np.unique(np.append(keep, n - 1)) if np.isfinite(v[-1]) else np.unique(keep)
        return t[keep], v[keep]
