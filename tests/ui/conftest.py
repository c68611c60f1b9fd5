"""The real main window under Xvfb, with throw-away settings and app-data folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    from PySide6.QtCore import QSettings, QStandardPaths

    from twin_app.session import Session
    from twin_app.ui.main_window import QtMainWindow

    QStandardPaths.setTestModeEnabled(True)  # autosave goes to a test location, not ~/.local
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = QtMainWindow(Session(), settings)
    # Closing at teardown must not wait for an answer; tests of quitting turn the question on.
    w.ask_before_quit = False
    qtbot.addWidget(w)
    try:
        w.show()
        qtbot.waitExposed(w)
        yield w
    finally:
        # Whatever failed (this fixture included), the window closes here: its background
        # work is cancelled and detached before pytest-qt deletes it.
        w.ask_before_quit = False  # a test that failed half-way must not leave a question open
        w.close()


@pytest.fixture
def loaded(qtbot: Any, window: Any) -> Any:
    """The window with the bundled sample twin (City of London) loaded."""
    from twin_app.io.manifest import SAMPLE_DIR, read_manifest

    window.load_paths(read_manifest(SAMPLE_DIR).paths())
    qtbot.waitUntil(lambda: not window.loading and len(window.session.layers) == 4, timeout=60_000)
    window.view.scene.render()
    return window


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread() -> Iterator[None]:
    """Free each test's Qt/VTK reference cycles here, on the GUI thread, as the app's
    collector does (twin_app.ui.gui_gc): left to the automatic collection, a closed wall's
    view was freed on a later test's worker thread, which aborts ("Cannot make
    QOpenGLContext current in a different thread")."""
    import gc

    yield
    gc.collect()
