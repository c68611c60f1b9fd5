"""Long work off the GUI thread, with the result delivered back on the GUI thread.

A plain Python thread per task, not a pooled QThread: PROJ (through pyproj) keeps per-thread
state that dangles when a pooled thread re-enters Python for a second task, which crashed the
second load of a session in testing. Results, errors and progress cross back through Qt
signals, which Qt queues to the receiver's (GUI) thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Bridge(QObject):
    finished = Signal(object, object)  # result, error
    progress = Signal(float, str)


class BackgroundTask:
    """Run `work(progress, cancelled)` in a thread; call `on_done(result, error)` on the GUI thread.

    Parameters
    ----------
    work
        ``work(progress, cancelled) -> result``; ``progress(fraction, message)`` may be called
        from the thread; ``cancelled()`` tells whether :meth:`cancel` was requested.
    on_done
        Receives ``(result, None)`` or ``(None, exception)`` on the GUI thread.
    on_progress
        Receives ``(fraction, message)`` on the GUI thread.
    """

    def __init__(
        self,
        work: Callable[[Callable[[float, str], None], Callable[[], bool]], Any],
        on_done: Callable[[Any, BaseException | None], None],
        on_progress: Callable[[float, str], None] | None = None,
    ) -> None:
        self._bridge = _Bridge()
        self._bridge.finished.connect(on_done)
        if on_progress is not None:
            self._bridge.progress.connect(on_progress)
        self._cancel = threading.Event()
        self._work = work
        self._thread = threading.Thread(target=self._run, name="twin-background", daemon=True)

    def start(self) -> BackgroundTask:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        """True until the work has returned or raised."""
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (tests, shutdown)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            result = self._work(self._bridge.progress.emit, self._cancel.is_set)
        except Exception as exc:
            self._bridge.finished.emit(None, exc)
            return
        self._bridge.finished.emit(result, None)
