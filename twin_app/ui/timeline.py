"""The timeline: play/pause/reverse/speed/seek, local-time label, KPI sparkline with alert marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph.functions as pg_functions
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.model.alerts import SEVERITIES
from twin_app.model.clock import NS
from twin_app.model.layers import TimeLayer
from twin_app.session import Session

RATES = (1, 10, 60, 300, 600, 3600, 10_000)
#: Alert mark colour per severity (info, warning, critical), the most severe drawn last.
MARK_COLOURS = ("#3d7bd9", "#f59a23", "#e3261b")
SPARK_SAMPLES = 400


def local_time_text(t_ns: int, tz: ZoneInfo) -> str:
    """``2012-03-05 08:15:00 PST`` in the twin's time zone."""
    t = dt.datetime.fromtimestamp(t_ns / NS, tz=dt.UTC).astimezone(tz)
    return t.strftime("%Y-%m-%d %H:%M:%S %Z")


def polygon_from_xy(xs: np.ndarray[Any, Any], ys: np.ndarray[Any, Any]) -> QPolygonF:
    """A QPolygonF filled from two arrays through its memory, without a call per point.

    Few Qt calls per paint keep the painter cheap, and keep us clear of bindings that leak a
    reference on each call (PySide6 6.12.0 on Python 3.11 decrements None's count per call).
    """
    poly: QPolygonF = pg_functions.create_qpolygonf(len(xs))
    view = pg_functions.ndarray_from_qpolygonf(poly)
    view[:, 0] = xs
    view[:, 1] = ys
    return poly


class QtSparkline(QWidget):
    """A KPI over the clock range with the current time and alerts marked; click to seek."""

    seek_requested = Signal(object)  # UTC ns overflow a 32-bit int signal argument

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.times = np.zeros(0, np.int64)
        self.values = np.zeros(0)
        self.alerts = np.zeros(0, np.int64)
        self.alert_levels = np.zeros(0, np.int8)  # index into MARK_COLOURS per mark
        self.t_ns = 0
        self.start_ns = 0
        self.end_ns = 1

    def set_series(self, times: np.ndarray[Any, Any], values: np.ndarray[Any, Any]) -> None:
        """The KPI samples (times in UTC ns)."""
        self.times, self.values = np.asarray(times, np.int64), np.asarray(values, np.float64)
        self.update()

    def _x(self, t: np.ndarray[Any, Any] | int) -> Any:
        span = max(self.end_ns - self.start_ns, 1)
        return (np.asarray(t, np.float64) - self.start_ns) / span * (self.width() - 2) + 1

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, self.palette().base())
        ok = np.isfinite(self.values)
        if ok.sum() >= 2:
            v = self.values[ok]
            lo, hi = float(v.min()), float(v.max())
            hi = hi if hi > lo else lo + 1.0
            xs = self._x(self.times[ok])
            ys = h - 4 - (v - lo) / (hi - lo) * (h - 8)
            p.setPen(QPen(QColor("#3d7bd9"), 1.5))
            p.drawPolyline(polygon_from_xy(xs, ys))
        levels = self.alert_levels
        if levels.size != self.alerts.size:  # marks without severities: the most severe colour
            levels = np.full(self.alerts.size, len(MARK_COLOURS) - 1, np.int8)
        for level, colour in enumerate(MARK_COLOURS):
            at = self.alerts[levels == level]
            if not at.size:
                continue
            ax = self._x(at)
            # one drawLines call per severity: point pairs (x, h - 8) -> (x, h)
            p.setPen(QPen(QColor(colour), 2))
            marks = polygon_from_xy(np.repeat(ax, 2), np.tile([h - 8.0, float(h)], ax.size))
            p.drawLines(cast("Sequence[QPointF]", marks))  # a QPolygonF is a QList<QPointF>
        p.setPen(QPen(QColor("#f59a23"), 2))
        x = float(self._x(self.t_ns))
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.setPen(self.palette().mid().color())
        p.drawRect(QRectF(0, 0, w - 1, h - 1))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        frac = min(max((event.position().x() - 1) / max(self.width() - 2, 1), 0.0), 1.0)
        self.seek_requested.emit(int(self.start_ns + frac * (self.end_ns - self.start_ns)))


class QtTimeline(QWidget):
    """Bound to ``session.clock``; the KPI sparkline shows one time-driven layer's headline KPI."""

    def __init__(
        self, session: Session, timezone: str = "UTC", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.clock = session.clock
        self.tz = ZoneInfo(timezone)

        style = self.style()
        icons = {"play": QStyle.StandardPixmap.SP_MediaPlay}
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)

        def button(text: str, tip: str, slot: Any, checkable: bool = False) -> QToolButton:
            b = QToolButton()
            if text in icons:
                b.setIcon(style.standardIcon(icons[text]))
            else:
                b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(checkable)
            b.clicked.connect(slot)
            return b

        self.back_button = button("−5 min", "Step back five minutes", lambda: self.clock.step(-300))
        self.play_button = button("play", "Play / pause (Space)", self.clock.toggle, checkable=True)
        self.reverse_button = button(
            "Reverse", "Play backwards", self.clock.reverse, checkable=True
        )
        self.forward_button = button(
            "+5 min", "Step forward five minutes", lambda: self.clock.step(300)
        )
        self.live_button = button(
            "LIVE", "Follow wall time (live feeds)", self._on_live, checkable=True
        )
        self.rate_combo = QComboBox()
        self.rate_combo.setToolTip("Playback speed: simulated seconds per second")
        for r in RATES:
            self.rate_combo.addItem(f"x{r:,}", r)
        self.rate_combo.currentIndexChanged.connect(self._on_rate_combo)
        self.time_label = QLabel("—")
        # A fixed size (as wide as the widest time it shows): a label whose size may change
        # asks for a new layout of the window on every tick, which repaints the 3D view too.
        widest = self.time_label.fontMetrics().horizontalAdvance("2088-08-28 08:08:08 WWWWW")
        self.time_label.setFixedSize(max(210, widest + 8), self.time_label.sizeHint().height())
        self.time_label.setToolTip("Clock time in the twin's local time zone")
        self.kpi_combo = QComboBox()
        self.kpi_combo.setToolTip("KPI drawn along the timeline")
        self.kpi_combo.currentIndexChanged.connect(lambda *_: self.refresh_kpi())
        self.spark = QtSparkline()
        self.spark.seek_requested.connect(self.clock.seek)
        top = QHBoxLayout()
        for wdg in (
            self.back_button,
            self.play_button,
            self.reverse_button,
            self.forward_button,
            self.rate_combo,
            self.live_button,
            self.time_label,
        ):
            top.addWidget(wdg)
        top.addStretch(1)
        top.addWidget(QLabel("KPI"))
        top.addWidget(self.kpi_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.spark)
        ev = self.clock.events
        ev.t_ns.connect(self._on_time)
        ev.playing.connect(self._sync_buttons)
        ev.rate.connect(self._sync_buttons)
        ev.live.connect(self._sync_buttons)
        ev.start_ns.connect(lambda *_: self.refresh_kpi())
        ev.end_ns.connect(lambda *_: self.refresh_kpi())
        session.layers.events.inserted.connect(self._refresh_kpi_choices)
        session.layers.events.removed.connect(self._refresh_kpi_choices)
        alert_events = session.alerts.alerts.events
        alert_events.inserted.connect(self._on_alerts)
        alert_events.changed.connect(self._on_alerts)
        alert_events.removed.connect(self._on_alerts)
        self._refresh_kpi_choices()
        self._sync_buttons()
        self._on_time(self.clock.t_ns)

    def set_timezone(self, name: str) -> None:
        """Show times in this IANA time zone (the twin's)."""
        self.tz = ZoneInfo(name)
        self._on_time(self.clock.t_ns)

    def _on_time(self, t_ns: int, *_: object) -> None:
        self.time_label.setText(local_time_text(int(t_ns), self.tz) if t_ns else "—")
        self.spark.t_ns = int(t_ns)
        self.spark.update()

    def _sync_buttons(self, *_: object) -> None:
        c = self.clock
        for b, on in (
            (self.play_button, c.playing),
            (self.reverse_button, c.rate < 0),
            (self.live_button, c.live),
        ):
            b.blockSignals(True)
            b.setChecked(on)
            b.blockSignals(False)
        self.play_button.setIcon(self._pause_icon if c.playing else self._play_icon)
        i = self.rate_combo.findData(int(abs(c.rate)))
        if i >= 0 and i != self.rate_combo.currentIndex():
            self.rate_combo.blockSignals(True)
            self.rate_combo.setCurrentIndex(i)
            self.rate_combo.blockSignals(False)

    def _on_rate_combo(self, i: int) -> None:
        r = float(self.rate_combo.itemData(i))
        self.clock.set_rate(-r if self.clock.rate < 0 else r)

    def _on_live(self, on: bool) -> None:
        if on:
            self.clock.go_live()
        else:
            self.clock.live = False

    def _refresh_kpi_choices(self, *_: object) -> None:
        current = self.kpi_combo.currentData()
        self.kpi_combo.blockSignals(True)
        self.kpi_combo.clear()
        for layer in self.session.time_layers():
            name = layer.kpi_name
            if name:
                self.kpi_combo.addItem(f"{layer.name}: {name}", layer.uid)
        i = self.kpi_combo.findData(current)
        self.kpi_combo.setCurrentIndex(max(i, 0))
        self.kpi_combo.blockSignals(False)
        self.refresh_kpi()

    def refresh_kpi(self) -> None:
        """Recompute the sparkline of the chosen KPI over the clock range."""
        c = self.clock
        self.spark.start_ns, self.spark.end_ns = c.start_ns, max(c.end_ns, c.start_ns + 1)
        layer = (
            self.session.find_layer(self.kpi_combo.currentData())
            if self.kpi_combo.count()
            else None
        )
        if not isinstance(layer, TimeLayer) or c.end_ns <= c.start_ns:
            self.spark.set_series(np.zeros(0, np.int64), np.zeros(0))
            return
        times = np.linspace(c.start_ns, c.end_ns, SPARK_SAMPLES).astype(np.int64)
        values = np.array([layer.kpi_at(int(t)) for t in times])
        self.spark.set_series(times, values)

    def _on_alerts(self, *_: object) -> None:
        """Mark when each alert entry was first raised and when its latest episode began."""
        alerts = list(self.session.alerts.alerts)
        first = np.array([a.t_ns for a in alerts], np.int64)
        latest = np.array([a.episode_ns or a.t_ns for a in alerts], np.int64)
        level = np.array([SEVERITIES.index(a.severity) for a in alerts], np.int8)
        again = latest != first
        times = np.concatenate([first, latest[again]])
        if np.array_equal(times, self.spark.alerts):
            return  # a refresh of last times and values: the marks stay
        self.spark.alerts = times
        self.spark.alert_levels = np.concatenate([level, level[again]])
        self.spark.update()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Space:
            self.clock.toggle()
        else:
            super().keyPressEvent(event)
