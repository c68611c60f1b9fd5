"""BackgroundTask: results reach the GUI thread, a detached task delivers nothing, and a task
(with its bridge QObject) outlives every reference but its thread and is freed on the GUI
thread, never by a garbage collection while the thread still emits on it."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt

from twin_app.ui.background import BackgroundTask

pytestmark = pytest.mark.ui


def _gated_work(gate: threading.Event) -> Any:
    """Work that ignores cancel until `gate` opens (a load past its last cancel check)."""

    def work(progress: Any, cancelled: Any) -> str:
        progress(0.5, "half way")
        assert gate.wait(10)
        progress(0.9, "nearly")
        return f"cancelled={cancelled()}"

    return work


def test_result_arrives_on_the_gui_thread(qtbot: Any) -> None:
    seen: list[tuple[Any, Any, int]] = []
    gate = threading.Event()
    task = BackgroundTask(
        _gated_work(gate), lambda r, e: seen.append((r, e, threading.get_ident()))
    ).start()
    gate.set()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [("cancelled=False", None, threading.get_ident())]
    assert task.delivered and not task.detached and task.join(1)


def test_a_detached_task_delivers_nothing(qtbot: Any) -> None:
    done: list[Any] = []
    progress: list[Any] = []
    gate = threading.Event()
    task = BackgroundTask(
        _gated_work(gate), lambda r, e: done.append(r), lambda f, m: progress.append(m)
    ).start()
    qtbot.waitUntil(lambda: progress == ["half way"], timeout=5000)
    task.cancel()
    task.detach()
    gate.set()  # the work finishes anyway, after its owner let go
    assert task.join(5)
    qtbot.waitUntil(lambda: task.delivered, timeout=5000)
    qtbot.wait(20)
    assert done == [] and progress == ["half way"]
    assert task.detached


def test_a_dropped_task_lives_until_delivered_and_dies_on_the_gui_thread(qtbot: Any) -> None:
    done: list[Any] = []
    freed_on: list[int] = []
    gate = threading.Event()
    task = BackgroundTask(_gated_work(gate), lambda r, e: done.append(r)).start()
    task._bridge.destroyed.connect(
        lambda *_: freed_on.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    del task
    for _ in range(3):
        gc.collect()  # nothing of the running task may go
    qtbot.wait(20)
    assert freed_on == []
    gate.set()
    qtbot.waitUntil(lambda: bool(done) and bool(freed_on), timeout=5000)
    assert done == ["cancelled=False"]
    assert freed_on == [threading.get_ident()]
