"""Undo/redo: every user action that changes the session is a Command on a CommandStack."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

_uids = itertools.count(1)


@dataclass
class Command:
    """A reversible change.

    Attributes
    ----------
    text
        What the user did, for the Edit menu ("Undo Set opacity of Buildings").
    do, undo
        Apply and revert the change.
    merge_key
        Commands with the same non-empty key pushed within `MERGE_WINDOW_S` of each other merge
        into one undo step (a slider drag is one step, not fifty).
    """

    text: str
    do: Callable[[], None]
    undo: Callable[[], None]
    merge_key: str = ""
    stamp: float = field(default_factory=time.monotonic)
    uid: int = field(default_factory=lambda: next(_uids))


class CommandStack:
    """A linear undo history with redo; emits ``changed`` after every push, undo and redo."""

    MERGE_WINDOW_S = 1.5
    changed = Signal()

    def __init__(self, limit: int = 500) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self.limit = limit
        self._clean_uid = 0  # uid of the top command when last saved (0: the empty history)

    def push(self, cmd: Command) -> None:
        """Apply `cmd` and record it (merging it into the previous step when allowed)."""
        cmd.do()
        last = self._done[-1] if self._done else None
        if (
            last is not None
            and cmd.merge_key
            and cmd.merge_key == last.merge_key
            and cmd.stamp - last.stamp < self.MERGE_WINDOW_S
            and last.uid != self._clean_uid
        ):
            # Keep the oldest undo and the newest do.
            self._done[-1] = Command(
                cmd.text, cmd.do, last.undo, cmd.merge_key, cmd.stamp, last.uid
            )
        else:
            self._done.append(cmd)
            if len(self._done) > self.limit:
                self._done.pop(0)
        self._undone.clear()
        self.changed.emit()

    def undo(self) -> bool:
        """Revert the last step; False if there is none."""
        if not self._done:
            return False
        cmd = self._done.pop()
        cmd.undo()
        self._undone.append(cmd)
        self.changed.emit()
        return True

    def redo(self) -> bool:
        """Re-apply the last undone step; False if there is none."""
        if not self._undone:
            return False
        cmd = self._undone.pop()
        cmd.do()
        cmd.stamp = 0.0  # never merge into a redone step
        self._done.append(cmd)
        self.changed.emit()
        return True

    @property
    def can_undo(self) -> bool:
        """Something to undo."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """Something to redo."""
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        """Text of the step undo would revert."""
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        """Text of the step redo would re-apply."""
        return self._undone[-1].text if self._undone else ""

    def mark_clean(self) -> None:
        """Remember the current step as saved."""
        self._clean_uid = self._done[-1].uid if self._done else 0
        self.changed.emit()

    @property
    def is_clean(self) -> bool:
        """True when the history is back at the step last marked clean (saved)."""
        return (self._done[-1].uid if self._done else 0) == self._clean_uid

    def clear(self) -> None:
        """Forget the history."""
        self._done.clear()
        self._undone.clear()
        self._clean_uid = 0
        self.changed.emit()

    def texts(self) -> dict[str, Any]:
        """Undo and redo texts (for tests and menus)."""
        return {"undo": [c.text for c in self._done], "redo": [c.text for c in self._undone]}
