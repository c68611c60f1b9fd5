"""The Messages panel: every warning and error the session reports, newest at the bottom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from twin_app.session import Session

#: Filter keys of the combo box and the lowest level each one shows.
FILTERS = {"all": 0, "warnings": 1, "errors": 2}
_FILTER_LABELS = {"all": "All", "warnings": "Warnings and errors", "errors": "Errors"}
_RANK = {"debug": 0, "info": 0, "warning": 1, "error": 2, "critical": 2}
_COLOURS = {1: "#b26a00", 2: "#c62828"}


@dataclass(frozen=True)
class _Entry:
    time_utc: datetime
    level: str
    text: str

    @property
    def rank(self) -> int:
        return _RANK.get(self.level, 0)

    def local_time(self) -> str:
        return self.time_utc.astimezone().strftime("%H:%M:%S")

    def line(self) -> str:
        return f"{self.local_time()} {self.level}: {self.text}"


class QtMessagesPanel(QWidget):
    """A non-blocking log of ``session.messages``: time, level icon and colour, the whole text
    wrapped to the panel's width (and in the row's tooltip).

    Parameters
    ----------
    session
        The session whose ``messages(level, text)`` signal is shown.
    max_messages
        Oldest rows are dropped beyond this many.

    Signals
    -------
    count_changed(int)
        Number of messages held changed (for a badge on the panel's tab or button).
    """

    count_changed = Signal(int)
    # Messages may be emitted on a worker thread: this hop queues them to the GUI thread.
    _received = Signal(str, str, object)

    def __init__(
        self, session: Session, parent: QWidget | None = None, max_messages: int = 10_000
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.max_messages = max_messages
        self._entries: list[_Entry] = []
        self._min_rank = 0

        self.filter_combo = QComboBox()
        for key, label in _FILTER_LABELS.items():
            self.filter_combo.addItem(label, key)
        self.filter_combo.currentIndexChanged.connect(self._on_filter_change)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the shown messages to the clipboard")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.count_label = QLabel("0 messages")

        self.list = QListWidget()
        # Whole messages, wrapped to the panel's width (issue 10: long errors were cut off).
        self.list.setWordWrap(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setAlternatingRowColors(True)

        bar = QHBoxLayout()
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)

        style = self.style()
        self._icons = {
            0: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation),
            1: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            2: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
        }
        self._received.connect(self._append)
        session.messages.connect(self._on_message)

    # -- public ----------------------------------------------------------------------------
    def count(self) -> int:
        """Number of messages held (whatever the filter shows)."""
        return len(self._entries)

    def visible_lines(self) -> list[str]:
        """The rows the filter shows, oldest first, as ``hh:mm:ss level: text``."""
        return [e.line() for e in self._entries if e.rank >= self._min_rank]

    def set_filter(self, key: str) -> None:
        """Show ``all`` messages, ``warnings`` (and errors) or ``errors`` only."""
        if key not in FILTERS:
            raise ValueError(f"filter must be one of {', '.join(FILTERS)}, not {key!r}")
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(key))

    def clear(self) -> None:
        """Forget every message."""
        self._entries.clear()
        self.list.clear()
        self._count_changed()

    def copy_to_clipboard(self) -> str:
        """Copy the shown rows, one per line, and return the text."""
        text = "\n".join(self.visible_lines())
        QGuiApplication.clipboard().setText(text)
        return text

    def stop_listening(self) -> None:
        """Show no more of the session's messages (the panel is closing: a worker thread must
        not post to it while the GUI thread deletes it)."""
        self.session.messages.disconnect(self._on_message)

    # -- internals -------------------------------------------------------------------------
    def _on_message(self, level: str, text: str) -> None:
        if not shiboken6.isValid(self):  # deleted on the C++ side: stop listening
            self.session.messages.disconnect(self._on_message)
            return
        # A direct call on the GUI thread, a queued one from a worker (AutoConnection).
        self._received.emit(level, text, datetime.now(UTC))

    def _append(self, level: str, text: str, stamp: datetime) -> None:
        entry = _Entry(stamp, str(level).lower(), " ".join(str(text).split()))
        bar = self.list.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        self._entries.append(entry)
        item = self._item(entry)
        self.list.addItem(item)
        item.setHidden(entry.rank < self._min_rank)  # only works once the item is in the list
        overflow = len(self._entries) - self.max_messages
        if overflow > 0:
            del self._entries[:overflow]
            for _ in range(overflow):
                self.list.takeItem(0)
        # Follow new rows unless the user scrolled up to read older ones.
        if at_bottom and entry.rank >= self._min_rank:
            self.list.scrollToBottom()
        self._count_changed()

    def _item(self, entry: _Entry) -> QListWidgetItem:
        item = QListWidgetItem(self._icons[entry.rank], f"{entry.local_time()}  {entry.text}")
        item.setToolTip(
            f"{entry.time_utc.astimezone():%Y-%m-%d %H:%M:%S %Z} — {entry.level}\n{entry.text}"
        )
        colour = _COLOURS.get(entry.rank)
        if colour is not None:
            item.setForeground(QBrush(QColor(colour)))
        return item

    def _on_filter_change(self, _index: int) -> None:
        self._min_rank = FILTERS[str(self.filter_combo.currentData())]
        for row, entry in enumerate(self._entries):
            self.list.item(row).setHidden(entry.rank < self._min_rank)
        self.list.scrollToBottom()

    def _count_changed(self) -> None:
        n = len(self._entries)
        self.count_label.setText(f"{n:,} message{'s' if n != 1 else ''}")
        self.count_changed.emit(n)
