"""The wall's alert ticker: open alerts grouped by rule, acknowledge by group, a STALE line."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from twin_app.model.alerts import SEVERITIES, Alert
from twin_app.session import Session
from twin_app.ui.alerts_panel import SEVERITY_COLOURS
from twin_app.ui.timeline import local_time_text
from twin_app.ui.wall_tile import set_type

#: Rows the ticker shows (groups beyond are summed up in the last line).
ROWS = 6


@dataclass(frozen=True)
class AlertGroup:
    """Open alerts of one rule: how many, the worst severity, the newest entry, their rows."""

    rule: str
    severity: str
    newest: Alert
    rows: tuple[int, ...]


def open_groups(alerts: list[Alert]) -> list[AlertGroup]:
    """Group the entries that hold now and are not acknowledged by rule, the most severe and
    then the newest first."""
    by_rule: dict[str, list[int]] = {}
    for i, a in enumerate(alerts):
        if a.active and not a.acknowledged:
            by_rule.setdefault(a.rule, []).append(i)
    groups = []
    for rule, rows in by_rule.items():
        newest = max((alerts[i] for i in rows), key=lambda a: max(a.episode_ns, a.t_ns))
        sev = max((alerts[i].severity for i in rows), key=SEVERITIES.index)
        groups.append(AlertGroup(rule, sev, newest, tuple(rows)))
    groups.sort(key=lambda g: (-SEVERITIES.index(g.severity), -max(g.newest.episode_ns, 0)))
    return groups


class QtAlertTicker(QWidget):
    """Open alerts of the session, one row per rule (``×N`` entries, the newest element and
    value); clicking a row acknowledges that rule's open entries, the button all of them.

    The rows are a fixed pool of buttons made once; :meth:`refresh` only sets their text (and
    runs only when the alert list changed since the last call, or the time zone did).
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tz = ZoneInfo("UTC")
        self._row_font = ""
        self.header = QLabel("Alerts")
        self.stale = QLabel()
        self.stale.setObjectName("wallStale")
        self.stale.setWordWrap(True)
        self.stale.hide()
        self.rows: list[QPushButton] = []
        self.groups: list[AlertGroup] = []
        self.ack_all = QPushButton("Acknowledge all")
        self.ack_all.clicked.connect(self.acknowledge_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.stale)
        for k in range(ROWS):
            b = QPushButton()
            b.setObjectName("wallAlertRow")
            b.setFlat(True)
            b.setStyleSheet("text-align: left;")
            b.setToolTip("Click to acknowledge this rule's open alerts")
            b.clicked.connect(lambda _=False, k=k: self.acknowledge_group(k))
            b.hide()
            layout.addWidget(b)
            self.rows.append(b)
        layout.addStretch(1)
        layout.addWidget(self.ack_all, 0, Qt.AlignmentFlag.AlignRight)
        self._dirty = True
        events = session.alerts.alerts.events
        events.inserted.connect(self._mark)
        events.removed.connect(self._mark)
        events.changed.connect(self._mark)

    def _mark(self, *_: object) -> None:
        self._dirty = True

    def close_ticker(self) -> None:
        """Stop listening to the session's alerts (before the widget goes)."""
        events = self.session.alerts.alerts.events
        for sig in (events.inserted, events.removed, events.changed):
            sig.disconnect(self._mark)

    def set_timezone(self, name: str) -> None:
        """Show times in this IANA time zone."""
        self.tz = ZoneInfo(name)
        self._dirty = True

    def set_unit_px(self, unit_px: int) -> None:
        """Scale the type: header 0.9, rows 0.7 type units."""
        for w, k, bold in (
            (self.header, 0.9, True),
            (self.stale, 0.7, True),
            (self.ack_all, 0.7, False),
            *((b, 0.7, False) for b in self.rows),
        ):
            set_type(w, max(8, round(k * unit_px)), bold, " text-align: left;" if k == 0.7 else "")
        self._row_font = f"font-size: {max(8, round(0.7 * unit_px))}px; font-weight: normal;"

    def set_stale(self, text: str) -> None:
        """Show a STALE line above the alerts (empty text hides it)."""
        if text != self.stale.text():
            self.stale.setText(text)
        self.stale.setVisible(bool(text))

    def refresh(self) -> None:
        """Bring the rows up to the alert list (cheap when nothing changed)."""
        if not self._dirty:
            return
        self._dirty = False
        alerts = list(self.session.alerts.alerts)
        self.groups = open_groups(alerts)
        n_open = sum(len(g.rows) for g in self.groups)
        self.header.setText(f"Alerts: {n_open} open of {len(alerts)}")
        shown = self.groups[:ROWS]
        for k, b in enumerate(self.rows):
            if k >= len(shown):
                b.hide()
                continue
            g = shown[k]
            a = g.newest
            more = f" ×{len(g.rows)}" if len(g.rows) > 1 else ""
            value = f" = {a.value:.1f}" if a.value == a.value else ""
            when = local_time_text(max(a.episode_ns, a.t_ns), self.tz)[11:16]
            text = f"● {g.rule}{more}   {a.element_id}{value}   {when}"
            if k == ROWS - 1 and len(self.groups) > ROWS:
                text = f"… and {len(self.groups) - ROWS + 1} more rules open"
            if b.text() != text:
                b.setText(text)
            style = f"{self._row_font} text-align: left; color: {SEVERITY_COLOURS[g.severity]};"
            if b.styleSheet() != style:  # re-polishing is not free: only on a new colour
                b.setStyleSheet(style)
            b.show()

    def acknowledge_group(self, k: int) -> None:
        """Acknowledge the open entries of the `k`-th row's rule."""
        if 0 <= k < len(self.groups):
            self.session.alerts.acknowledge(list(self.groups[k].rows))
            self.refresh()

    def acknowledge_all(self) -> None:
        """Acknowledge every open entry."""
        rows = [i for g in self.groups for i in g.rows]
        if rows:
            self.session.alerts.acknowledge(rows)
        self.refresh()
