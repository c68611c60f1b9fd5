"""Composition root: a Session, the QApplication and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from twin_app.io.manifest import SAMPLE_DIR, read_manifest
from twin_app.io.source import ReadOptions


def run_app(paths: list[str], options: ReadOptions | None = None) -> int:
    """Open the main window on `paths` (default: the bundled sample twin) and run the event loop."""
    from PySide6.QtWidgets import QApplication

    from twin_app.session import Session
    from twin_app.ui.main_window import QtMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("twin_app")
    app.setOrganizationName("twin_app")
    session = Session()
    window = QtMainWindow(session)
    window.show()
    targets = [Path(p) for p in paths]
    if not targets:
        manifest = read_manifest(SAMPLE_DIR)
        window.setWindowTitle(f"twin_app — {manifest.name}")
        targets = manifest.paths()
    window.load_paths(targets, options)
    return int(app.exec())
