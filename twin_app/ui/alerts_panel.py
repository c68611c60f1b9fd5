"""Alerts: one row per rule and element (episodes, first and last time, latest and peak value);
acknowledge, filter by severity; clicking one seeks the clock and flies to the place."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.model.alerts import SEVERITIES, Alert
from twin_app.model.camera import pose_for_bounds
from twin_app.session import Session
from twin_app.ui.timeline import local_time_text

#: Filter combo entries: (text, lowest severity shown).
FILTERS = (
    ("All severities", "info"),
    ("Warning and critical", "warning"),
    ("Critical only", "critical"),
)
#: Text colour per severity (acknowledged rows are drawn in the palette's disabled colour).
SEVERITY_COLOURS = {"info": "#3d7bd9", "warning": "#c77700", "critical": "#d0231a"}


def alert_text(a: Alert, tz: ZoneInfo) -> str:
    """One row: severity, first time, rule, element, latest (and peak) value, episodes, last."""
    state = "●" if a.active else "○"
    value = f"{a.value:.1f}" if a.value == a.value else "—"
    peak = f" (peak {a.peak:.1f})" if a.peak == a.peak and a.peak != a.value else ""
    times = f"{local_time_text(a.t_ns, tz)}"
    if a.count > 1 or a.last_ns > a.t_ns:
        times += f" … {local_time_text(max(a.last_ns, a.t_ns), tz)}"
    episodes = f"  ×{a.count}" if a.count > 1 else ""
    return (
        f"{state} [{a.severity}] {a.rule}: {a.element_id} = {value}{peak}{episodes}  "
        f"{times}  ({a.layer_name})"
    )


class QtAlertsPanel(QWidget):
    """A list bound to ``session.alerts.alerts``: one row per entry, in the order raised."""

    def __init__(
        self, session: Session, timezone: str = "UTC", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tz = ZoneInfo(timezone)
        self.list = QListWidget()
        self.list.setToolTip(
            "Click an alert to go to its time and place; ● holds now, ○ cleared; dimmed: "
            "acknowledged (re-opens on a new episode)"
        )
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.setUniformItemSizes(True)  # one line each: no row is measured on its own
        self._scroll_row = -1  # row to show after the tick (-1: none pending)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("Show alerts of this severity and above")
        for text, level in FILTERS:
            self.filter_combo.addItem(text, level)
        self.filter_combo.currentIndexChanged.connect(self._apply_filter)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setToolTip("Acknowledge the selected alerts (all shown when none is)")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.session.alerts.alerts.clear)
        self.summary = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter_combo)
        top.addWidget(self.summary, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.ack_button)
        bottom.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list)
        layout.addLayout(bottom)
        events = session.alerts.alerts.events
        events.inserted.connect(self._on_inserted)
        events.changed.connect(self._on_changed)
        events.removed.connect(self._rebuild)
        self._rebuild()

    def set_timezone(self, name: str) -> None:
        """Show times in this IANA time zone."""
        self.tz = ZoneInfo(name)
        self._rebuild()

    # -- rows ------------------------------------------------------------------------------------
    def _style(self, item: QListWidgetItem, a: Alert) -> None:
        item.setText(alert_text(a, self.tz))
        item.setData(Qt.ItemDataRole.UserRole, a)
        colour = self.dim_colour() if a.acknowledged else QColor(SEVERITY_COLOURS[a.severity])
        item.setForeground(QBrush(colour))
        font = QFont(item.font())
        font.setItalic(a.acknowledged)
        font.setBold(a.active and not a.acknowledged)
        item.setFont(font)
        item.setToolTip(alert_text(a, self.tz))
        item.setHidden(not self._shown(a))

    def dim_colour(self) -> QColor:
        """Text colour of acknowledged rows: halfway between the text and the background, so
        they read as dimmed in the light and the dark theme."""
        pal = self.list.palette()
        t, b = pal.color(pal.ColorRole.Text), pal.color(pal.ColorRole.Base)
        return QColor(
            (t.red() + b.red()) // 2, (t.green() + b.green()) // 2, (t.blue() + b.blue()) // 2
        )

    def _shown(self, a: Alert) -> bool:
        level = str(self.filter_combo.currentData() or "info")
        return SEVERITIES.index(a.severity) >= SEVERITIES.index(level)

    def _on_inserted(self, index: int, alert: Alert) -> None:
        item = QListWidgetItem()
        self._style(item, alert)
        self.list.insertItem(index, item)
        if not item.isHidden():
            # Scrolling lays the list out again (about 3 ms with a few dozen alerts): do it once
            # after the tick that raised the alerts, not inside it once per alert.
            if self._scroll_row < 0:
                QTimer.singleShot(0, self, self._scroll_to_newest)
            self._scroll_row = self.list.row(item)
        self._update_summary()

    def _scroll_to_newest(self) -> None:
        # By row, not item: a rebuild in between deletes the items (Qt owns them).
        row, self._scroll_row = self._scroll_row, -1
        item = self.list.item(row) if 0 <= row < self.list.count() else None
        if item is not None:
            self.list.scrollToItem(item)

    def _on_changed(self, index: object, old: object, new: object) -> None:
        item = self.list.item(index) if isinstance(index, int) else None
        if item is None or not isinstance(new, Alert):
            self._rebuild()
            return
        self._style(item, new)
        self._update_summary()

    def _rebuild(self, *_: object) -> None:
        self.list.clear()
        for a in self.session.alerts.alerts:
            item = QListWidgetItem()
            self._style(item, a)
            self.list.addItem(item)
        self._update_summary()

    def _apply_filter(self, *_: object) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(not self._shown(item.data(Qt.ItemDataRole.UserRole)))
        self._update_summary()

    def _update_summary(self) -> None:
        alerts = list(self.session.alerts.alerts)
        open_ = sum(1 for a in alerts if a.active and not a.acknowledged)
        self.summary.setText(f"{len(alerts)} alerts, {open_} open")

    # -- queries and verbs -----------------------------------------------------------------------
    def count(self) -> int:
        """Number of alerts listed (shown or filtered out)."""
        return int(self.list.count())

    def visible_rows(self) -> list[int]:
        """Rows the filter shows."""
        return [r for r in range(self.list.count()) if not self.list.item(r).isHidden()]

    def acknowledge_selected(self) -> None:
        """Acknowledge the selected rows, or every row shown when none is selected."""
        rows = sorted({self.list.row(item) for item in self.list.selectedItems()})
        rows = [r for r in rows if not self.list.item(r).isHidden()] or self.visible_rows()
        self.session.alerts.acknowledge(rows)

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None and not item.isSelected():
            self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Acknowledge", self.acknowledge_selected)
        menu.addAction(
            "Acknowledge all shown", lambda: self.session.alerts.acknowledge(self.visible_rows())
        )
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def activate(self, row: int) -> None:
        """Go to the time and place of the alert in `row`."""
        item = self.list.item(row)
        if item is not None:
            self._on_activated(item)

    def _on_activated(self, item: QListWidgetItem) -> None:
        a: Alert = item.data(Qt.ItemDataRole.UserRole)
        if a.layer_uid < 0:  # not a place (a live feed): nothing to go to
            return
        self.session.clock.pause()
        self.session.clock.seek(a.episode_ns or a.t_ns)
        x, y, z = a.position
        self.session.camera.fly_to(pose_for_bounds((x - 40, x + 40, y - 40, y + 40, z, z + 20)))
