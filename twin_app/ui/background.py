"""Long work off the GUI thread, with the result delivered back on the GUI thread.

A plain Python thread per task, not a pooled QThread: PROJ (through pyproj) keeps per-thread
state that dangles when a pooled thread re-enters Python for a second task, which crashed the
second load of a session in testing. Results, errors and progress cross back through Qt
signals of a bridge QObject that lives on the GUI thread, which Qt queues to that thread.

Lifetime: a started task (with its bridge) is held by this module until its result has been
delivered on the GUI thread, so the bridge is never collected, nor destroyed on the worker
thread, while the thread can still emit on it. A window that closes while its task runs
calls :meth:`BackgroundTask.detach`: the result (and further progress) is then dropped on the
GUI thread instead of reaching widgets that may already be deleted (a closed test window's
late load once raised in, and crashed, the tests after it).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

#: Tasks started and not yet delivered; touched on the GUI thread only.
_LIVE: set[BackgroundTask] = set()


class _Bridge(QObject):
    """Carries a task's signals to the GUI thread (it is created, and lives, there)."""

    finished = Signal(object, object)  # result, error
    progress = Signal(float, str)

    def __init__(self, task: BackgroundTask) -> None:
        super().__init__()
        # Weak: no cycle, so the task and this QObject are freed by reference counting where
        # the last reference goes (the GUI thread), never by a garbage collection that may
        # run on any thread.
        self._task = weakref.ref(task)
        # Slots of this object: emitted on the worker thread, so always queued to the GUI one.
        self.finished.connect(self._on_finished)
        self.progress.connect(self._on_progress)

    @Slot(object, object)
    def _on_finished(self, result: Any, error: Any) -> None:
        task = self._task()
        if task is not None:
            task._deliver(result, error)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        task = self._task()
        if task is not None:
            task._deliver_progress(fraction, message)


class BackgroundTask:
    """Run `work(progress, cancelled)` in a thread; call `on_done(result, error)` on the GUI thread.

    Parameters
    ----------
    work
        ``work(progress, cancelled) -> result``; ``progress(fraction, message)`` may be called
        from the thread; ``cancelled()`` tells whether :meth:`cancel` was requested.
    on_done
        Receives ``(result, None)`` or ``(None, exception)`` on the GUI thread, unless the task
        was detached first.
    on_progress
        Receives ``(fraction, message)`` on the GUI thread until the task is detached.
    """

    def __init__(
        self,
        work: Callable[[Callable[[float, str], None], Callable[[], bool]], Any],
        on_done: Callable[[Any, BaseException | None], None],
        on_progress: Callable[[float, str], None] | None = None,
    ) -> None:
        self._on_done: Callable[[Any, BaseException | None], None] | None = on_done
        self._on_progress = on_progress
        self._bridge = _Bridge(self)
        self._cancel = threading.Event()
        self._work = work
        self._delivered = False
        self._detached = False
        self._thread = threading.Thread(target=self._run, name="twin-background", daemon=True)

    def start(self) -> BackgroundTask:
        """Start the thread; returns self."""
        _LIVE.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._cancel.set()

    def detach(self) -> None:
        """Deliver nothing more: `on_done` and `on_progress` will not be called (GUI thread).

        For an owner that goes away (a closed window) while the work runs on: the thread
        finishes on its own and its result is dropped.
        """
        self._detached = True
        self._on_done = None
        self._on_progress = None

    @property
    def detached(self) -> bool:
        """True once :meth:`detach` was called."""
        return self._detached

    @property
    def running(self) -> bool:
        """True until the work has returned or raised."""
        return self._thread.is_alive()

    @property
    def delivered(self) -> bool:
        """True once the result reached the GUI thread (given to `on_done` unless detached)."""
        return self._delivered

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread (tests, shutdown); True when it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._work(self._bridge.progress.emit, self._cancel.is_set)
        except Exception as exc:
            self._bridge.finished.emit(None, exc)
            return
        self._bridge.finished.emit(result, None)

    def _deliver(self, result: Any, error: BaseException | None) -> None:
        on_done, self._on_done, self._on_progress = self._on_done, None, None
        self._delivered = True
        try:
            if on_done is not None:
                on_done(result, error)
        finally:
            # Let go on the next turn of the event loop, not inside the bridge's own slot.
            QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        # The thread emitted its last signal and only has to return: wait for that, so that
        # its own references (Thread._target) are gone and the last one is dropped here.
        self._thread.join(0.1)
        if self._thread.is_alive():
            QTimer.singleShot(10, self._release)
            return
        _LIVE.discard(self)

    def _deliver_progress(self, fraction: float, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(fraction, message)
