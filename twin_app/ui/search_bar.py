"""The search bar: find features by id or attribute, pick a hit, select it and fly there."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twin_app.model.camera import pose_for_bounds
from twin_app.model.search import SearchHit, find_features
from twin_app.session import Session

PLACEHOLDER = "Search id or attribute, e.g. height_m>50"
_HIT_ROLE = Qt.ItemDataRole.UserRole + 1
_POPUP_ROWS = 12


class QtSearchBar(QWidget):
    """A search field over ``session.layers`` with a popup list of hits and a status line.

    Enter runs :func:`~twin_app.model.search.find_features` (syntax in its module docstring);
    choosing a hit (click, or Up/Down and Enter in the popup) selects the feature in the
    session and flies the camera to it. Ctrl+F (the platform's Find key) focuses the field.

    Parameters
    ----------
    session
        The session to search and select in.
    limit
        Most hits listed.

    Signals
    -------
    hit_chosen(SearchHit)
        The user chose a hit (after it was selected and the fly-to requested).
    """

    hit_chosen = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None, limit: int = 200) -> None:
        super().__init__(parent)
        self.session = session
        self.limit = limit
        self.hits: list[SearchHit] = []
        self.total = 0

        self.line_edit = QLineEdit()
        self.line_edit.setPlaceholderText(PLACEHOLDER)
        self.line_edit.setClearButtonEnabled(True)
        self.line_edit.setToolTip(
            "Enter: search ids (exact first, then containing) and attribute values.\n"
            "Conditions: column=value, column>value, column<value (>=, <=, != too),\n"
            "e.g. height_m>50 or highway=primary. Case does not matter."
        )
        self.line_edit.returnPressed.connect(self.run_search)
        self.line_edit.installEventFilter(self)
        self.status_label = QLabel()

        self.popup = QListWidget(self)
        self.popup.setWindowFlags(Qt.WindowType.Popup)
        self.popup.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.popup.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.popup.setUniformItemSizes(True)
        self.popup.itemClicked.connect(self._on_item_chosen)
        self.popup.itemActivated.connect(self._on_item_chosen)
        self.popup.installEventFilter(self)

        self.shortcut = QShortcut(QKeySequence.StandardKey.Find, self)
        self.shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.shortcut.activated.connect(self.focus_search)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.line_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.status_label)

    # -- public ----------------------------------------------------------------------------
    def focus_search(self) -> None:
        """Put the cursor in the search field with its text selected (Ctrl+F)."""
        self.line_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.line_edit.selectAll()

    def run_search(self, query: str | None = None) -> list[SearchHit]:
        """Search for `query` (default: the field's text), list the hits and return them."""
        if query is not None:
            self.line_edit.setText(query)
        text = self.line_edit.text().strip()
        self.popup.hide()
        self.popup.clear()
        if not text:
            self.hits, self.total = [], 0
            self.status_label.setText("")
            return []
        if not any(layer.feature_set() is not None for layer in self.session.layers):
            self.hits, self.total = [], 0
            self.status_label.setText("nothing loaded to search")
            return []
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            result = find_features(self.session.layers, text, self.limit)
        finally:
            QApplication.restoreOverrideCursor()
        self.hits, self.total = result.hits, result.total
        if not self.hits:
            self.status_label.setText("no match")
            return []
        shown = len(self.hits)
        word = "match" if self.total == 1 else "matches"
        more = f" (showing {shown})" if self.total > shown else ""
        self.status_label.setText(f"{self.total:,} {word}{more}")
        for hit in self.hits:
            item = QListWidgetItem(
                f"{hit.layer_name} · {hit.feature_id} · {hit.column}={hit.value}"
            )
            item.setData(_HIT_ROLE, hit)
            self.popup.addItem(item)
        self.popup.setCurrentRow(0)
        self._show_popup()
        return list(self.hits)

    def choose_hit(self, row: int) -> None:
        """Choose hit `row` of the list: select its feature and fly to it."""
        if not 0 <= row < len(self.hits):
            return
        hit = self.hits[row]
        self.popup.hide()
        layer = self.session.find_layer(hit.layer_uid)
        fs = layer.feature_set() if layer is not None else None
        if layer is None or fs is None or hit.index >= fs.n_features:
            self.status_label.setText(f"{hit.layer_name} is no longer loaded")
            return
        self.session.select_features(layer, [hit.index])
        bounds = fs.feature_bounds([hit.index])
        if bounds is not None:
            self.session.camera.fly_to(pose_for_bounds(bounds))
        self.status_label.setText(f"{hit.layer_name} · {hit.feature_id}")
        self.hit_chosen.emit(hit)

    # -- internals -------------------------------------------------------------------------
    def _show_popup(self) -> None:
        rows = min(self.popup.count(), _POPUP_ROWS)
        height = self.popup.sizeHintForRow(0) * rows + 2 * self.popup.frameWidth()
        width = max(self.line_edit.width(), self.popup.sizeHintForColumn(0) + 24)
        self.popup.resize(min(width, 3 * self.line_edit.width() + 200), height)
        self.popup.move(self.line_edit.mapToGlobal(QPoint(0, self.line_edit.height())))
        self.popup.show()

    def _on_item_chosen(self, item: QListWidgetItem) -> None:
        self.choose_hit(self.popup.row(item))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.line_edit:
            if key == Qt.Key.Key_Down and self.popup.count():
                self._show_popup()
                return True
            if key == Qt.Key.Key_Escape and self.line_edit.text():
                self.line_edit.clear()
                self.status_label.setText("")
                return True
            return False
        if watched is self.popup:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_hit(self.popup.currentRow())
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                return False  # the list moves its current row
            if key == Qt.Key.Key_Escape:
                self.popup.hide()
                self.line_edit.setFocus()
                return True
            # Typing goes on in the field, as in a completer popup.
            self.popup.hide()
            self.line_edit.setFocus()
            QApplication.sendEvent(self.line_edit, event)
            return True
        return super().eventFilter(watched, event)
