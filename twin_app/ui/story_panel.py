"""The Story panel: the steps of the session's story, to record, edit, reorder and preview.

Thin: every change is a session verb (one undo step each: ``record_step``, ``edit_step``,
``move_step``, ``remove_step``); the list follows ``session.story_state``. A double-click (or
Enter) previews a step: the player shows its start.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.errors import TwinError
from twin_app.session import Session


class QtStoryPanel(QWidget):
    """Steps of the story with Record, Remove, Up, Down, and the selected step's caption and
    duration.

    Parameters
    ----------
    session
        The session whose story is shown.
    report
        ``report(level, text)``: where refused edits are told (the window's messages).
    compare
        ``compare() -> "side_by_side" | "swipe" | None``: how the window shows a comparison
        now (a recorded step shows it the same way).
    """

    def __init__(
        self,
        session: Session,
        report: Any = None,
        parent: QWidget | None = None,
        compare: Any = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self._compare = compare or (lambda: None)
        self._report = report or (lambda level, text: None)
        self.steps = QListWidget()
        self.steps.itemActivated.connect(self._preview)
        self.steps.currentRowChanged.connect(self._on_row)
        self.caption = QLineEdit()
        self.caption.setPlaceholderText("Caption of the selected step")
        self.caption.editingFinished.connect(self._apply_caption)
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.5, 3600.0)
        self.duration.setSuffix(" s")
        self.duration.setDecimals(1)
        self.duration.editingFinished.connect(self._apply_duration)
        buttons = QHBoxLayout()
        self.record_button = self._button("Record", self.record, "Add the current view as a step")
        self.remove_button = self._button("Remove", self.remove, "Remove the selected step")
        self.up_button = self._button("Up", lambda: self.move_step(-1), "Move the step earlier")
        self.down_button = self._button("Down", lambda: self.move_step(1), "Move the step later")
        for b in (self.record_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        edit = QHBoxLayout()
        edit.addWidget(self.caption, 1)
        edit.addWidget(self.duration)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.steps, 1)
        layout.addLayout(edit)
        session.story_state.events.story.connect(self.refresh)
        session.story_player_changed.connect(self._bind)
        self._player: Any = None
        self.refresh()

    def _button(self, text: str, slot: Any, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def _bind(self, player: Any) -> None:
        if self._player is not None:
            self._player.step_changed.disconnect(self._on_step)
        self._player = player
        if player is not None:
            player.step_changed.connect(self._on_step)

    def _on_step(self, index: int) -> None:
        if 0 <= index < self.steps.count() and index != self.steps.currentRow():
            self.steps.blockSignals(True)
            self.steps.setCurrentRow(index)
            self.steps.blockSignals(False)
            self._on_row(index)

    def refresh(self, *_: Any) -> None:
        """Rebuild the list from the session's story (keeping the selected row)."""
        row = self.steps.currentRow()
        self.steps.blockSignals(True)
        self.steps.clear()
        for i, step in enumerate(self.session.story.steps):
            what = step.caption or "(no caption)"
            extra = " · scenario" if step.scenario is not None else ""
            item = QListWidgetItem(f"{i + 1}. {what}  [{step.duration_s:g} s{extra}]")
            item.setToolTip(step.caption)
            self.steps.addItem(item)
        n = self.steps.count()
        self.steps.setCurrentRow(min(row, n - 1) if n else -1)
        self.steps.blockSignals(False)
        self._on_row(self.steps.currentRow())

    def _on_row(self, row: int) -> None:
        steps = self.session.story.steps
        ok = 0 <= row < len(steps)
        for w in (self.caption, self.duration, self.remove_button, self.up_button,
                  self.down_button):  # fmt: skip
            w.setEnabled(ok)
        if ok:
            self.caption.setText(steps[row].caption)
            self.duration.setValue(steps[row].duration_s)

    def _guard(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except TwinError as exc:
            self._report("error", str(exc))
            return None

    def record(self) -> None:
        """Add the current view after the selected step (at the end when none is)."""
        row = self.steps.currentRow()
        at = self._guard(
            self.session.record_step,
            "",
            index=row + 1 if row >= 0 else None,
            compare=self._compare(),
        )
        if at is not None:
            self.steps.setCurrentRow(at)
            self.caption.setFocus()

    def remove(self) -> None:
        """Remove the selected step."""
        row = self.steps.currentRow()
        if row >= 0:
            self._guard(self.session.remove_step, row)

    def move_step(self, by: int) -> None:
        """Move the selected step `by` places."""
        row = self.steps.currentRow()
        to = row + by
        if row >= 0 and 0 <= to < self.steps.count():
            self._guard(self.session.move_step, row, to)
            self.steps.setCurrentRow(to)

    def _apply_caption(self) -> None:
        row = self.steps.currentRow()
        if row >= 0 and self.caption.text() != self.session.story.steps[row].caption:
            self._guard(self.session.edit_step, row, caption=self.caption.text())

    def _apply_duration(self) -> None:
        row = self.steps.currentRow()
        if row >= 0 and self.duration.value() != self.session.story.steps[row].duration_s:
            self._guard(self.session.edit_step, row, duration_s=self.duration.value())

    def _preview(self, item: QListWidgetItem) -> None:
        row = self.steps.row(item)
        self._guard(self.session.story_player.go_to_step, row)


__all__ = ["QtStoryPanel"]
