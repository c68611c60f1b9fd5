"""Drive the modal dialogs the window opens, as a user does: find the dialog on screen, type, click.

A modal dialog runs its own event loop, so the answer is scheduled before the action that opens it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

POLL_MS = 50
GIVE_UP = 200  # polls (10 s): a dialog that never came is a failure, not a hang


def _when_modal(kind: type[QWidget], act: Any, seen: list[str]) -> None:
    tries = [0]

    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, kind) and dlg.isVisible():
            act(dlg)
            return
        tries[0] += 1
        if tries[0] < GIVE_UP:
            QTimer.singleShot(POLL_MS, poll)
        else:
            seen.append(f"no {kind.__name__} appeared")

    QTimer.singleShot(POLL_MS, poll)


def answer_text(qtbot: Any, text: str, seen: list[str] | None = None) -> list[str]:
    """Type `text` into the next QInputDialog (replacing its proposal) and click OK.

    Returns a list that receives the dialog's label text once answered.
    """
    out = seen if seen is not None else []

    def act(dlg: QInputDialog) -> None:
        out.append(dlg.labelText())
        line = dlg.findChild(QLineEdit)
        assert line is not None
        line.selectAll()
        qtbot.keyClick(line, Qt.Key.Key_Delete)
        qtbot.keyClicks(line, text)
        box = dlg.findChild(QDialogButtonBox)
        assert box is not None
        qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    _when_modal(QInputDialog, act, out)
    return out


def click_message_button(qtbot: Any, label: str, seen: list[str] | None = None) -> list[str]:
    """Click the button whose text is `label` (``&`` ignored) in the next QMessageBox.

    Returns a list that receives the box's text and its button labels once clicked.
    """
    out = seen if seen is not None else []

    def act(box: QMessageBox) -> None:
        labels = [b.text().replace("&", "") for b in box.buttons()]
        out.append(box.text())
        out.append("|".join(labels))
        button = next((b for b in box.buttons() if b.text().replace("&", "") == label), None)
        if button is None:  # answer anyway so the test fails instead of hanging
            out.append(f"no button {label!r}")
            box.reject()
            return
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    _when_modal(QMessageBox, act, out)
    return out
