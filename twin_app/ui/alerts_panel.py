"""Alerts: time, rule, place, value; clicking one seeks the clock and flies to the place."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from twin_app.model.alerts import Alert
from twin_app.model.camera import pose_for_bounds
from twin_app.session import Session
from twin_app.ui.timeline import local_time_text


class QtAlertsPanel(QWidget):
    """A list bound to ``session.alerts.alerts`` (newest at the bottom)."""

    def __init__(
        self, session: Session, timezone: str = "UTC", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tz = ZoneInfo(timezone)
        self.list = QListWidget()
        self.list.setToolTip("Click an alert to go to its time and place")
        self.list.setUniformItemSizes(True)  # one line each: no row is measured on its own
        self._scroll_pending = False
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.session.alerts.alerts.clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addWidget(self.clear_button)
        session.alerts.alerts.events.inserted.connect(self._on_inserted)
        session.alerts.alerts.events.removed.connect(self._rebuild)
        self._rebuild()

    def set_timezone(self, name: str) -> None:
        """Show times in this IANA time zone."""
        self.tz = ZoneInfo(name)
        self._rebuild()

    def _item(self, a: Alert) -> QListWidgetItem:
        item = QListWidgetItem(
            f"{local_time_text(a.t_ns, self.tz)}  {a.rule}: {a.element_id} = {a.value:.1f}  ({a.layer_name})"
        )
        item.setData(Qt.ItemDataRole.UserRole, a)
        return item

    def _on_inserted(self, index: int, alert: Alert) -> None:
        self.list.addItem(self._item(alert))
        # Scrolling lays the list out again (about 3 ms with a few dozen alerts): do it once
        # after the tick that raised the alerts, not inside it once per alert.
        if not self._scroll_pending:
            self._scroll_pending = True
            QTimer.singleShot(0, self, self._scroll_to_newest)

    def _scroll_to_newest(self) -> None:
        self._scroll_pending = False
        self.list.scrollToBottom()

    def _rebuild(self, *_: object) -> None:
        self.list.clear()
        for a in self.session.alerts.alerts:
            self.list.addItem(self._item(a))

    def count(self) -> int:
        """Number of alerts listed."""
        return int(self.list.count())

    def activate(self, row: int) -> None:
        """Go to the time and place of the alert in `row`."""
        item = self.list.item(row)
        if item is not None:
            self._on_activated(item)

    def _on_activated(self, item: QListWidgetItem) -> None:
        a: Alert = item.data(Qt.ItemDataRole.UserRole)
        self.session.clock.pause()
        self.session.clock.seek(a.t_ns)
        x, y, z = a.position
        self.session.fly_to_requested.emit(
            pose_for_bounds((x - 40, x + 40, y - 40, y + 40, z, z + 20))
        )
