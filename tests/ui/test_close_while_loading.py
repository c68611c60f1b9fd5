"""A window closed while its twin loads: the load is cancelled and detached, its thread stops,
and nothing of it reaches the closed (then deleted) window, even through garbage collection
while the thread ends. (A closed test window's late load once crashed the next test.)"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

from twin_app.io.manifest import SAMPLE_DIR

pytestmark = pytest.mark.ui


def test_closing_while_the_twin_loads_stops_the_load_and_drops_it(
    qtbot: Any, tmp_path: Path
) -> None:
    from twin_app.session import Session
    from twin_app.ui.main_window import CLOSE_WAIT_S, QtMainWindow

    QStandardPaths.setTestModeEnabled(True)
    session = Session()
    w = QtMainWindow(session, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w.ask_before_quit = False
    try:
        w.show()
        qtbot.waitExposed(w)
        w.open_any([SAMPLE_DIR])
        task = w.background_task
        assert task is not None and w.loading
        bar = w.progress
        qtbot.waitUntil(lambda: bar.value() > 0, timeout=10_000)  # the thread is at work
        t0 = time.monotonic()
        assert w.close()
        closed_s = time.monotonic() - t0
        assert not w.loading and task.detached
        assert closed_s < CLOSE_WAIT_S + 3.0  # bounded: it does not wait for the whole load
    finally:
        w.ask_before_quit = False
        w.close()
    # as pytest-qt does after a test: the window's C++ side goes at the next event-loop turn
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    del w
    deadline = time.monotonic() + 30
    while (task.running or not task.delivered) and time.monotonic() < deadline:
        gc.collect()
        qtbot.wait(20)
    assert not task.running and task.delivered  # cancelled (or done), and dropped
    for _ in range(3):
        gc.collect()
        qtbot.wait(10)
    # nothing of the load reached the closed window's session; no slot raised (pytest-qt
    # fails the test on an exception in the Qt event loop)
    assert len(session.layers) == 0
    # and a message the thread posts late has no widget of the window left to reach
    assert len(session.messages) == 0


def test_closing_a_wall_while_its_twin_loads_drops_the_load(qtbot: Any) -> None:
    from twin_app.session import Session
    from twin_app.ui.wall import QtWallWindow, WallLoader

    session = Session()
    wall = QtWallWindow(session, drive_clock=False, tour_s=0)
    ready: list[bool] = []
    loader = WallLoader(wall, lambda: ready.append(True))
    try:
        wall.show_on(0, (800, 450))
        loader.start(SAMPLE_DIR)
        task = loader.task
        assert task is not None and loader.busy
    finally:
        wall.close()
    assert not loader.busy and task.detached
    wall.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    del wall
    qtbot.waitUntil(lambda: task.delivered, timeout=30_000)
    gc.collect()
    qtbot.wait(10)
    assert ready == [] and len(session.layers) == 0 and not loader.error
