"""Composition root: a Session, the QApplication and the main window."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.source import ReadOptions


def _log_file() -> Path:
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    folder = Path(base) if base else Path.home() / ".twin_app"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "twin_app.log"


def run_app(paths: list[str], options: ReadOptions | None = None) -> int:
    """Open the main window on `paths` (default: the bundled sample twin) and run the event loop.

    Tracebacks go to the log file (``twin_app.log`` in the application data folder); the user
    sees one-line messages in the window.
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
    # compile the traffic solver while the planner looks around (cached on disk after once)
    threading.Thread(target=session.prepare_engines, name="prepare-engines", daemon=True).start()
    window = QtMainWindow(session)
    window.show()
    # With no paths, an autosave newer than its session is offered before the sample twin.
    window.start([Path(p) for p in paths], options, default=SAMPLE_DIR)
    return int(app.exec())
