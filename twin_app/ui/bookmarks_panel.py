"""Named camera bookmarks: add the current view, fly to one, remove one (all undoable)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.errors import TwinError
from twin_app.session import Session


class QtBookmarksPanel(QWidget):
    """A list bound to ``session.bookmarks``; "Add" bookmarks the session's Camera pose.

    Parameters
    ----------
    session
        The session whose bookmarks are shown and whose camera they fly.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.list = QListWidget()
        self.list.setToolTip("Double-click a bookmark to fly there")
        self.list.itemActivated.connect(self._on_activated)
        self.add_button = QPushButton("Add view…")
        self.add_button.setToolTip("Bookmark the current view (Ctrl+B)")
        self.add_button.clicked.connect(self._ask_and_add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_current)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        session.bookmarks.events.changed.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_: object) -> None:
        self.list.clear()
        for b in self.session.bookmarks:
            item = QListWidgetItem(b.name)
            item.setData(Qt.ItemDataRole.UserRole, b.name)
            self.list.addItem(item)

    def add_current(self, name: str) -> None:
        """Bookmark the current view (the camera's pose) under `name`."""
        pose = self.session.camera.pose
        if pose is None:
            raise TwinError("nothing to bookmark yet: open a twin first")
        self.session.add_bookmark(name, pose)

    def _ask_and_add(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            "Add bookmark",
            "Name of this view:",
            text=f"View {len(self.session.bookmarks) + 1}",
        )
        if ok:
            try:
                self.add_current(name)
            except TwinError as err:
                self.session.messages.emit("warning", str(err))

    def _remove_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.session.remove_bookmark(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.session.go_to_bookmark(str(item.data(Qt.ItemDataRole.UserRole)))
