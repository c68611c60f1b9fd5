"""The main window of the planner's application."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QProgressBar, QPushButton

from twin_app.errors import CancelledError, TwinError
from twin_app.io.load import LoadResult, load_city
from twin_app.io.source import ReadOptions
from twin_app.session import Session
from twin_app.ui.view3d import QtView3D

log = logging.getLogger(__name__)

FILE_FILTER = "City data (*.city.json *.json *.osm.pbf *.osm *.gpkg *.geojson *.shp *.fgb *.parquet);;All files (*)"


class QtMainWindow(QMainWindow):
    """3D view in the centre; loading in a worker thread with progress and cancel."""

    def __init__(self, session: Session | None = None) -> None:
        super().__init__()
        self.session = session or Session()
        self.setWindowTitle("twin_app")
        self.resize(1600, 1000)
        self.view = QtView3D(self.session, self)
        self.setCentralWidget(self.view)
        self._worker: Any = None
        self._cancel = False
        self._build_status_bar()
        self._build_menus()
        self.session.messages.connect(self._on_message)

    # -- chrome ------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_load)
        self.message_label = QLabel()
        sb.addWidget(self.message_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._on_open)
        m.addAction(self.open_action)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        m.addAction(quit_action)

    def _on_open(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open city data", "", FILE_FILTER)
        if files:
            self.load_paths([Path(f) for f in files])

    def _on_message(self, level: str, text: str) -> None:
        self.message_label.setText(text)
        (log.warning if level == "warning" else log.error)(text)

    # -- loading ---------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        """True while a load runs in the background."""
        return self._worker is not None

    def load_paths(self, paths: list[Path], options: ReadOptions | None = None) -> None:
        """Load files in a worker thread; the result becomes layers on the GUI thread."""
        from superqt.utils import create_worker

        if self._worker is not None:
            self._on_message("warning", "a load is already running; wait or cancel it")
            return
        opts = options or ReadOptions()
        frame = self.session.frame
        self._cancel = False

        def work() -> tuple[LoadResult | None, BaseException | None]:
            # Errors come back as values: superqt re-raises a raised (or returned) exception
            # into sys.excepthook.
            try:
                result = load_city(
                    paths,
                    opts,
                    frame=frame,
                    progress=self._report_progress,
                    cancelled=lambda: self._cancel,
                )
            except Exception as exc:
                return None, exc
            return result, None

        worker = create_worker(work, _start_thread=False)
        worker.returned.connect(lambda outcome: self._on_worker_returned(outcome, opts))
        worker.finished.connect(lambda *_: self._on_load_finished())
        self._worker = worker
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.message_label.setText(f"loading {', '.join(p.name for p in paths)}…")
        worker.start()

    def _report_progress(self, fraction: float, message: str) -> None:
        # Called on the worker thread: hop to the GUI thread through a queued invocation.
        from superqt.utils import ensure_main_thread

        ensure_main_thread(self._show_progress)(fraction, message)

    def _show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self.message_label.setText(message)

    def cancel_load(self) -> None:
        """Ask the running load to stop at its next step."""
        self._cancel = True

    def _on_worker_returned(
        self, outcome: tuple[LoadResult | None, BaseException | None], options: ReadOptions
    ) -> None:
        result, error = outcome
        if error is not None:
            self._on_load_error(error)
        elif result is not None:
            self._on_loaded(result, options)

    def _on_loaded(self, result: LoadResult, options: ReadOptions) -> None:
        layers = self.session.add_result(result, options)
        n = sum(len(s.ids) for s in result.city.sets)
        self.message_label.setText(f"loaded {n:,} features in {len(layers)} layers")

    def _on_load_error(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            self._on_message("warning", "loading cancelled; nothing was added")
        elif isinstance(exc, TwinError):
            self._on_message("error", str(exc))
        else:
            log.error("load failed", exc_info=exc)
            self._on_message("error", f"load failed: {type(exc).__name__}: {exc}")

    def _on_load_finished(self) -> None:
        self._worker = None
        self.progress.hide()
        self.cancel_button.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel = True
        self.view.close_view()
        super().closeEvent(event)


__all__ = ["Qt", "QtMainWindow"]
