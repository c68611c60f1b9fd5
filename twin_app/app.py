"""Composition root: a Session, the QApplication and the main window."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.source import ReadOptions


def _log_file() -> Path:
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    folder = Path(base) if base else Path.home() / ".twin_app"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "twin_app.log"


def run_app(
    paths: list[str], options: ReadOptions | None = None, screenshot: Path | None = None
) -> int:
    """Open the main window on `paths` (default: the bundled sample twin) and run the event loop.

    Tracebacks go to the log file (``twin_app.log`` in the application data folder); the user
    sees one-line messages in the window. With `screenshot`, the 3D view is saved there as a PNG
    once the load has finished and the application quits: exit status 0, or 2 when the load
    reported an error or the image could not be written.
    """
    from PySide6.QtWidgets import QApplication

    from twin_app.session import Session
    from twin_app.ui.main_window import QtMainWindow
    from twin_app.ui.resources import icon

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("twin_app")
    app.setOrganizationName("twin_app")
    app.setWindowIcon(icon("app"))
    handler = logging.FileHandler(_log_file(), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("twin_app").addHandler(handler)
    session = Session()
    from twin_app.session.heap import tune_malloc

    tune_malloc()  # freed render-sized buffers go back to the system (issue 11's growth)
    from twin_app.ui.gui_gc import collect_on_gui_thread

    collect_on_gui_thread()  # Qt/VTK cycles are never freed on a worker thread
    # compile the traffic solver while the planner looks around (cached on disk after once)
    threading.Thread(target=session.prepare_engines, name="prepare-engines", daemon=True).start()
    window = QtMainWindow(session)
    window.show()
    errors: list[str] = []
    if screenshot is not None:
        session.messages.connect(
            lambda level, text: errors.append(text) if level == "error" else None
        )
    # With no paths, an autosave newer than its session is offered before the sample twin.
    window.start([Path(p) for p in paths], options, default=SAMPLE_DIR)
    if screenshot is not None:
        _screenshot_when_loaded(app, window, screenshot, errors)
    return int(app.exec())


def _screenshot_when_loaded(app: Any, window: Any, path: Path, errors: list[str]) -> None:
    """Poll until the window's load has finished, let it draw, save the 3D view to `path` and
    leave the event loop (``exit``, not ``quit``: no closing questions, no autosave)."""
    from PySide6.QtCore import QTimer

    def save() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        window.view.scene.screenshot(str(path))
        print(f"wrote {path}", flush=True)
        app.exit(2 if errors or not path.is_file() else 0)

    def poll() -> None:
        if not window.loading:
            timer.stop()
            QTimer.singleShot(500, save)  # the layers added on load draw on the next frames

    timer = QTimer(window)
    timer.timeout.connect(poll)
    timer.start(100)
