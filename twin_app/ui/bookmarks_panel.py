"""Named camera bookmarks: add the current view, fly to one, rename or remove one (all undoable)."""

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

#: ``session.bookmarks`` events after which the list is rebuilt: ``changed`` alone fires only when
#: an item is replaced in place (an update or a rename), not on append, insert or remove.
BOOKMARK_EVENTS = ("inserted", "removed", "changed", "moved", "reordered")


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
        self.list.setToolTip("Double-click (or Enter on) a bookmark to fly there")
        self.list.itemActivated.connect(self._on_activated)
        self.add_button = QPushButton("Add view…")
        self.add_button.setToolTip("Bookmark the current view (Ctrl+B)")
        self.add_button.clicked.connect(self._ask_and_add)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Rename the chosen bookmark")
        self.rename_button.clicked.connect(self._ask_and_rename)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the chosen bookmark (undo brings it back)")
        self.remove_button.clicked.connect(self._remove_current)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        for name in BOOKMARK_EVENTS:
            getattr(session.bookmarks.events, name).connect(self._refresh)
        self._refresh()

    def names(self) -> list[str]:
        """The bookmark names listed, top to bottom."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _refresh(self, *_: object) -> None:
        current = self._current_name()
        self.list.clear()
        for b in self.session.bookmarks:
            item = QListWidgetItem(b.name)
            item.setData(Qt.ItemDataRole.UserRole, b.name)
            self.list.addItem(item)
            if b.name == current:
                self.list.setCurrentItem(item)
        has = bool(len(self.session.bookmarks))
        self.rename_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def _current_name(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

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
                return
            self._select(name.strip())

    def _ask_and_rename(self) -> None:
        old = self._current_name()
        if old is None:
            if not len(self.session.bookmarks):
                return
            old = self.session.bookmarks[0].name
        name, ok = QInputDialog.getText(self, "Rename bookmark", "New name:", text=old)
        if ok:
            try:
                self.session.rename_bookmark(old, name)
            except TwinError as err:
                self.session.messages.emit("warning", str(err))
                return
            self._select(name.strip())

    def _select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                self.list.setCurrentRow(i)
                return

    def _remove_current(self) -> None:
        name = self._current_name()
        if name is not None:
            self.session.remove_bookmark(name)

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.session.go_to_bookmark(str(item.data(Qt.ItemDataRole.UserRole)))
