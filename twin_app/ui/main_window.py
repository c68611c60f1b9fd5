"""The main window of the planner's application: 3D view, dockable panels, menus, sessions."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolBar,
    QWidget,
)

from twin_app.errors import CancelledError, SessionFileError, TwinError
from twin_app.model.layers import Layer
from twin_app.model.sensors import MoverLayer
from twin_app.session import ReadOptions, Session, SessionLoad, TwinLoad, is_twin
from twin_app.ui.resources import icon, stylesheet
from twin_app.ui.view3d import QtView3D

log = logging.getLogger(__name__)


def _scrolled(panel: QWidget) -> QScrollArea:
    """`panel` in a scroll area: the Layers (448 px) and Scenario (465 px) panels' own
    minimum heights with the compare view's made the window taller than a 1080-line screen,
    its status bar off the bottom; scrolled, a dock can be shorter than its panel."""
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


FILE_FILTER = (
    "City data (*.city.json *.json *.osm.pbf *.osm *.ifc *.gpkg *.geojson *.shp *.fgb *.parquet *.geoparquet);;"
    "BIM (IFC) buildings (*.ifc);;"
    "Recordings and series (*.parquet *.pq *.csv *.csv.gz);;"
    "All files (*)"
)
SESSION_FILTER = "twin_app sessions (*.twin.toml);;All files (*)"
MAX_RECENT = 10
AUTOSAVE_MS = 120_000
UNDERGROUND_MODES = ("off", "translucent", "cutaway")
#: Longest text the status bar shows; the Messages panel and the tooltip hold the whole line.
STATUS_CHARS = 120
#: Width the Scenario dock takes when shown: its KPI table has five columns.
SCENARIO_DOCK_PX = 540
#: Longest a closing window waits for its cancelled background work to stop, seconds.
CLOSE_WAIT_S = 5.0


class QtMainWindow(QMainWindow):
    """3D view in the centre; Layers, Inspector, Bookmarks and Messages docks; menus and toolbar.

    Loading runs in a worker thread with progress and cancel; results become layers on the GUI
    thread. Window layout, theme and recent files persist with QSettings.
    """

    _message_received = Signal(str, str)

    def __init__(self, session: Session | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self._message_counts = {"warning": 0, "error": 0}
        self.session = session or Session()
        self.settings = settings or QSettings()
        self.setWindowTitle("twin_app")
        self.setWindowIcon(icon("app"))
        self.resize(1600, 1000)
        self.setAcceptDrops(True)
        self.view = QtView3D(self.session, self)
        self.setCentralWidget(self.view)
        self._worker: Any = None
        self._frame_times: list[float] = []
        #: Ask Save / Discard / Cancel when the window closes with unsaved changes.
        self.ask_before_quit = True
        self._quit_decided = False
        self._build_docks()
        self._build_actions()
        self._build_menus()
        from twin_app.ui.place_modes import install_place_modes

        self.place_tool = install_place_modes(self)  # Draw building / Place station
        from twin_app.ui.story_presenter import StoryPresenter

        #: The Story menu, presenter keys and caption (issue 11).
        self.story = StoryPresenter(self)
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        from PySide6.QtCore import QElapsedTimer

        self._tick_clock = QElapsedTimer()
        self._tick_clock.start()
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(40)  # 25 ticks a second; rendering coalesces behind it
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        from twin_app.session.heap import trim_heap

        self.trim_timer = QTimer(self)  # hand free heap pages back (see session/heap.py)
        self.trim_timer.setInterval(60_000)
        self.trim_timer.timeout.connect(trim_heap)
        self.trim_timer.start()
        self.apply_theme(str(self.settings.value("theme", "light")))
        self._restore_layout()

    # -- docks -------------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        from twin_app.ui.bookmarks_panel import QtBookmarksPanel
        from twin_app.ui.inspector_panel import QtInspectorPanel
        from twin_app.ui.layers_panel import QtLayersPanel
        from twin_app.ui.messages_panel import QtMessagesPanel
        from twin_app.ui.selection_table import QtSelectionTable

        self.layers_panel = QtLayersPanel(self.session)
        self.inspector = QtInspectorPanel(self.session)
        self.selection_table = QtSelectionTable(self.session)
        self.messages_panel = QtMessagesPanel(self.session)
        self.bookmarks_panel = QtBookmarksPanel(self.session)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.inspector)
        split.addWidget(self.selection_table)
        split.setSizes([560, 240])
        self.layers_dock = self._dock(
            "Layers", _scrolled(self.layers_panel), Qt.DockWidgetArea.LeftDockWidgetArea, "layers"
        )
        self.bookmarks_dock = self._dock(
            "Bookmarks",
            _scrolled(self.bookmarks_panel),
            Qt.DockWidgetArea.LeftDockWidgetArea,
            "bookmarks",
        )
        self.inspector_dock = self._dock(
            "Inspector", split, Qt.DockWidgetArea.RightDockWidgetArea, "inspector"
        )
        self.messages_dock = self._dock(
            "Messages", self.messages_panel, Qt.DockWidgetArea.BottomDockWidgetArea, "messages"
        )
        from twin_app.ui.alerts_panel import QtAlertsPanel
        from twin_app.ui.timeline import QtTimeline

        self.timeline = QtTimeline(self.session)
        self.alerts_panel = QtAlertsPanel(self.session)
        self.timeline_dock = self._dock(
            "Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea, "timeline"
        )
        self.alerts_dock = self._dock(
            "Alerts", _scrolled(self.alerts_panel), Qt.DockWidgetArea.BottomDockWidgetArea, "alerts"
        )
        self.splitDockWidget(self.timeline_dock, self.messages_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.messages_dock, self.alerts_dock)
        self.messages_dock.raise_()
        from twin_app.ui.scenario_panel import QtScenarioPanel

        self.scenario_panel = QtScenarioPanel(self.session)
        self.scenario_dock = self._dock(
            "Scenario", _scrolled(self.scenario_panel), Qt.DockWidgetArea.RightDockWidgetArea,
            "scenario",
        )  # fmt: skip
        self.tabifyDockWidget(self.inspector_dock, self.scenario_dock)
        self.inspector_dock.raise_()
        from twin_app.ui.dock_tabs import watch_tab_bars

        watch_tab_bars(self)  # Qt leaves a stale second tab bar of a tabified pair in view
        #: The compare view and its dock, made when first shown (two 3D views).
        self.compare_view: Any = None
        self.compare_dock: QDockWidget | None = None
        self._heights_before_compare: list[tuple[QDockWidget, int]] = []
        self.view.active_layer = self._active_layer
        self.layers_panel.ifc_controls.place_requested.connect(self.place_ifc_layer)
        self.resizeDocks(
            [self.timeline_dock, self.messages_dock], [80, 160], Qt.Orientation.Vertical
        )
        self.resizeDocks(
            [self.layers_dock, self.inspector_dock], [300, 340], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.layers_dock, self.bookmarks_dock], [620, 160], Qt.Orientation.Vertical
        )

    def zoom_to_layer(self, layer: Any = None) -> None:
        """Frame a layer (default: the one selected in the Layers panel, else the topmost)."""
        if not isinstance(layer, Layer):
            layer = self.layers_panel.current_layer()
        if layer is None and len(self.session.layers):
            layer = self.session.layers[-1]
        if layer is not None and not self.view.zoom_to_layer(layer):
            self._on_message("warning", f"{layer.name}: nothing drawn to zoom to")

    def _active_layer(self) -> Any:
        current = self.layers_panel.current_layer()
        return current if current is not None else self.view._default_active_layer()

    # -- actions ------------------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: Any = None,
        icon_name: str = "",
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        a = QAction(text, self)
        if icon_name:
            a.setIcon(icon(icon_name))
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(
            f"{tip or text.replace('&', '').rstrip('…')}"
            + (f" ({QKeySequence(shortcut).toString()})" if shortcut is not None else "")
        )
        a.setStatusTip(tip or text.replace("&", ""))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_action = self._action(
            "&Open data…", self._on_open, K.Open, "open", "Open city files (several at once)"
        )
        self.open_session_action = self._action(
            "Open &session…", self._on_open_session, "Ctrl+Shift+O", tip="Open a .twin.toml session"
        )
        self.save_action = self._action("&Save session", self._on_save, K.Save, "save")
        self.save_as_action = self._action("Save session &as…", self._on_save_as, K.SaveAs)
        self.export_action = self._action(
            "&Export image…", self._on_export, "Ctrl+E", "screenshot", "Save the 3D view as a PNG"
        )
        self.screenshot_action = self._action(
            "Save scree&nshot…",
            self._on_screenshot,
            "Ctrl+Shift+E",
            tip="Save the 3D view as a PNG up to 7680 x 4320 with title, legends and attribution",
        )
        self.quit_action = self._action("&Quit", self.close, K.Quit)
        self.undo_action = self._action("&Undo", self.session.commands.undo, K.Undo, "undo")
        self.redo_action = self._action("&Redo", self.session.commands.redo, K.Redo, "redo")
        # Ctrl+F itself belongs to the search bar's window-wide shortcut (one owner, no ambiguity).
        self.find_action = self._action(
            "&Find…", self._focus_search, None, "search", "Search ids and attributes (Ctrl+F)"
        )
        self.top_action = self._action(
            "&Top view", lambda: self.view.preset("top"), "1", "view-top"
        )
        self.oblique_action = self._action(
            "&Oblique view", lambda: self.view.preset("oblique"), "2", "view-oblique"
        )
        self.street_action = self._action(
            "&Street view",
            lambda: self.view.preset("street"),
            "3",
            "view-street",
            "Eye height; walk with W A S D, turn with Q E",
        )
        self.oblique_dirs = [
            self._action(
                f"Oblique from the {name}", lambda _=False, az=az: self.view.preset("oblique", az)
            )
            for name, az in (("south", 0.0), ("west", 90.0), ("north", 180.0), ("east", 270.0))
        ]
        self.zoom_layer_action = self._action(
            "&Zoom to layer",
            self.zoom_to_layer,
            "Z",
            tip="Frame the layer selected in the Layers panel",
        )
        self.layers_panel.zoom_to_layer_requested.connect(self.zoom_to_layer)
        self.underground_action = self._action(
            "&Underground view",
            self.cycle_underground,
            "U",
            "underground",
            "Cycle: off, translucent, cut-away",
        )
        self.shadows_action = self._action(
            "S&hadows",
            self._on_shadows,
            checkable=True,
            tip="Sun shadows (slow on software OpenGL)",
        )
        self.ssao_action = self._action(
            "Ambient &occlusion",
            self._on_ssao,
            checkable=True,
            tip="Screen-space ambient occlusion (slow on software OpenGL)",
        )
        self.bookmark_action = self._action(
            "&Bookmark this view…", self.bookmarks_panel._ask_and_add, "Ctrl+B", "bookmark"
        )
        self.about_action = self._action("&About twin_app", self._on_about, icon_name="info")
        self.play_action = self._action(
            "&Play / pause", self.session.clock.toggle, "Space", tip="Play or pause the clock"
        )
        self.live_connect_action = self._action(
            "&Connect live feed…",
            self._on_connect_live,
            tip="Subscribe to an MQTT broker (SensorThings observations)",
        )
        self.live_disconnect_action = self._action("&Disconnect live feed", self.disconnect_live)
        self.follow_action = self._action(
            "&Follow a mover…",
            self._on_follow,
            tip="Keep a vehicle, robot or drone in the middle of the view",
        )
        self.record_action = self._action(
            "&Record live feed…",
            self._on_record,
            checkable=True,
            tip="Write what arrives live to a Parquet file",
        )
        sp = self.scenario_panel
        self.scenario_new_action = self._action(
            "&New scenario", self.new_scenario, tip="Start a scenario over the open twin"
        )
        self.scenario_open_action = self._action(
            "&Open scenario…", sp._on_open, tip="Open a scenario file (.toml)"
        )
        self.scenario_save_action = self._action(
            "&Save scenario", lambda: sp.save(), tip="Save the scenario to its file"
        )
        self.scenario_save_as_action = self._action(
            "Save scenario &as…", lambda: sp.save(ask=True), tip="Save the scenario to a new file"
        )
        self.scenario_run_action = self._action(
            "&Run scenario", sp.run, "F5", tip="Run the scenario against the baseline"
        )
        self.scenario_cancel_action = self._action("&Cancel run", sp.cancel)
        self.sweep_action = self._action(
            "S&weep…", sp._on_sweep, tip="Close each road or pipe in turn and rank the closures"
        )
        self.scenario_panel_action = self._action(
            "Scenario &panel", self.show_scenario_panel, tip="Show the Scenario panel"
        )
        self.scenario_pick_action = self._action(
            "&Pick on map",
            self._on_pick_action,
            checkable=True,
            tip="A click on a road closes it, on a pipe or valve shuts it",
        )
        sp.pick_button.toggled.connect(self.scenario_pick_action.setChecked)
        self.compare_action = self._action(
            "&Compare view",
            self.show_compare,
            "Ctrl+Shift+C",
            checkable=True,
            tip="Baseline and scenario side by side, or a swipe",
        )
        sp.compare_requested.connect(lambda: self.show_compare(True))
        self.session.scenario_state.events.comparison.connect(self._on_comparison)
        self.theme_group = QActionGroup(self)
        self.theme_actions = {}
        for theme in ("light", "dark"):
            a = self._action(
                f"{theme.title()} theme",
                lambda _=False, t=theme: self.apply_theme(t),
                checkable=True,
            )
            self.theme_group.addAction(a)
            self.theme_actions[theme] = a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for a in (self.open_action, self.open_session_action):
            f.addAction(a)
        self.recent_menu = f.addMenu("Open &recent")
        f.addSeparator()
        for a in (self.save_action, self.save_as_action, self.export_action):
            f.addAction(a)
        f.addAction(self.screenshot_action)
        f.addSeparator()
        f.addAction(self.quit_action)
        e = mb.addMenu("&Edit")
        for a in (self.undo_action, self.redo_action, self.find_action):
            e.addAction(a)
        v = mb.addMenu("&View")
        for a in (self.top_action, self.oblique_action, self.street_action):
            v.addAction(a)
        sub = v.addMenu("Oblique from")
        for a in self.oblique_dirs:
            sub.addAction(a)
        v.addAction(self.zoom_layer_action)
        v.addSeparator()
        v.addAction(self.underground_action)
        v.addAction(self.shadows_action)
        v.addAction(self.ssao_action)
        v.addSeparator()
        self.wall_action = v.addAction("&Wall mode", self.show_wall)
        self.wall_action.setShortcut(QKeySequence(Qt.Key.Key_F11))
        self.wall_action.setToolTip("Full screen for a video wall: tiles, charts, alerts, tour")
        self.wall: Any = None
        v.addSeparator()
        for a in self.theme_actions.values():
            v.addAction(a)
        v.addSeparator()
        panels = v.addMenu("&Panels")
        for d in (
            self.layers_dock,
            self.inspector_dock,
            self.bookmarks_dock,
            self.messages_dock,
            self.timeline_dock,
            self.alerts_dock,
            self.scenario_dock,
        ):
            panels.addAction(d.toggleViewAction())
        t = mb.addMenu("&Time")
        for a in (
            self.play_action,
            self.follow_action,
            self.live_connect_action,
            self.live_disconnect_action,
            self.record_action,
        ):
            t.addAction(a)
        sc = mb.addMenu("&Scenario")
        items: tuple[QAction | None, ...] = (
            self.scenario_panel_action,
            self.scenario_new_action,
            self.scenario_open_action,
            self.scenario_save_action,
            self.scenario_save_as_action,
            None,
            self.scenario_pick_action,
            self.scenario_run_action,
            self.scenario_cancel_action,
            None,
            self.compare_action,
            self.sweep_action,
        )
        for item in items:
            if item is None:
                sc.addSeparator()
            else:
                sc.addAction(item)
        self.scenario_menu = sc
        b = mb.addMenu("&Bookmarks")
        b.addAction(self.bookmark_action)
        self.bookmarks_menu = b
        h = mb.addMenu("&Help")
        h.addAction(self.about_action)
        self._refresh_recent()

    def _build_toolbar(self) -> None:
        from twin_app.ui.search_bar import QtSearchBar

        tb = QToolBar("Main", self)
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        for a in (
            self.open_action,
            self.save_action,
            None,
            self.undo_action,
            self.redo_action,
            None,
            self.top_action,
            self.oblique_action,
            self.street_action,
            None,
        ):
            if a is None:
                tb.addSeparator()
            else:
                tb.addAction(a)
        self.underground_combo = QComboBox()
        self.underground_combo.addItems(
            ["Ground: opaque", "Ground: translucent", "Ground: cut-away"]
        )
        self.underground_combo.setToolTip(
            "Underground view: see pipes and other geometry below the ground (U)"
        )
        self.underground_combo.currentIndexChanged.connect(
            lambda i: setattr(self.session, "underground", UNDERGROUND_MODES[i])
        )
        tb.addWidget(self.underground_combo)
        tb.addSeparator()
        tb.addAction(self.export_action)
        tb.addSeparator()
        self.search_bar = QtSearchBar(self.session)
        tb.addWidget(self.search_bar)
        self.addToolBar(tb)
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.message_label = QLabel()
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cursor_label = QLabel("lon —, lat —")
        self.cursor_label.setMinimumWidth(300)
        self.cursor_label.setToolTip(
            "Longitude, latitude (WGS 84) and height of the surface under the cursor"
        )
        self.fps_label = QLabel("— fps")
        # A fixed size: a label whose size may change asks for a new layout of the window on
        # each render's new text, which repaints the 3D view, i.e. renders again.
        widest = self.fps_label.fontMetrics().horizontalAdvance("8888 ms/frame · 88 fps")
        self.fps_label.setFixedSize(max(110, widest + 8), self.fps_label.sizeHint().height())
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading (nothing is added)")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_load)
        self.live_label = QLabel("")
        self.live_label.setToolTip("Live feed connection")
        sb.addWidget(self.message_label, 1)
        sb.addPermanentWidget(self.live_label)
        sb.addPermanentWidget(self.cursor_label)
        sb.addPermanentWidget(self.fps_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        s = self.session
        self._message_received.connect(self._show_message)
        s.messages.connect(self._on_message)
        s.commands.changed.connect(self._on_history_changed)
        s.underground_changed.connect(self._on_underground_changed)
        from twin_app.ui.bookmarks_panel import BOOKMARK_EVENTS

        for name in BOOKMARK_EVENTS:
            getattr(s.bookmarks.events, name).connect(self._refresh_bookmarks_menu)
        self._refresh_bookmarks_menu()
        self.messages_panel.count_changed.connect(
            lambda n: self.messages_dock.setWindowTitle(f"Messages ({n})" if n else "Messages")
        )
        self.view.cursor_info.connect(self._on_cursor_info)
        self.view.frame_time.connect(self._on_frame_time)
        s.live.changed.connect(self._on_live_changed)
        self._on_history_changed()

    # -- status ------------------------------------------------------------------------------
    def _report(self, level: str, text: str) -> None:
        """Post a message the user should see: the Messages panel lists it in full, the status
        bar summarises (issue 10: errors were cut off in the status bar, the panel empty)."""
        self.session.messages.emit(level, text)

    def _on_message(self, level: str, text: str) -> None:
        import shiboken6

        if not shiboken6.isValid(self):  # the window is gone on the C++ side: stop listening
            self.session.messages.disconnect(self._on_message)
            return
        # psygnal calls on the emitting thread; the hop queues worker messages to the GUI thread.
        self._message_received.emit(level, text)

    def _show_message(self, level: str, text: str) -> None:
        level = "error" if level == "critical" else level
        (log.warning if level == "warning" else log.error if level == "error" else log.info)(text)
        if level in self._message_counts:
            self._message_counts[level] += 1
            self.message_label.setToolTip(text)
            self._set_status("")
        else:
            self._set_status(text)

    def _reset_summary(self) -> None:
        """Start counting afresh: the summary speaks of the open that begins now."""
        for level in self._message_counts:
            self._message_counts[level] = 0

    def message_summary(self) -> str:
        """``2 warnings, 1 error — see Messages`` for the messages since the last open began
        (empty when there were none)."""
        parts = [
            f"{n} {level}{'s' if n != 1 else ''}" for level, n in self._message_counts.items() if n
        ]
        return f"{', '.join(parts)} — see Messages" if parts else ""

    def _set_status(self, text: str) -> None:
        """One short status line: `text` (shortened; the tooltip holds it whole) and the
        summary of warnings and errors."""
        summary = self.message_summary()
        short = text if len(text) <= STATUS_CHARS else text[: STATUS_CHARS - 1] + "…"
        self.message_label.setText(" · ".join(t for t in (short, summary) if t))
        if text:
            self.message_label.setToolTip(text)

    def _on_cursor_info(self, info: Any) -> None:
        if info is None:
            self.cursor_label.setText("lon —, lat —")
        else:
            lon, lat, z = info
            self.cursor_label.setText(f"lon {lon:.6f}, lat {lat:.6f}, z {z:.1f} m")

    def _on_frame_time(self, ms: float) -> None:
        now = time.perf_counter()
        self._frame_times = [t for t in self._frame_times if now - t < 1.0] + [now]
        # frames drawn in the last second (the view only renders when something changes)
        self.fps_label.setText(f"{ms:.0f} ms/frame · {len(self._frame_times)} fps")

    def _on_history_changed(self) -> None:
        c = self.session.commands
        self.undo_action.setEnabled(c.can_undo)
        self.redo_action.setEnabled(c.can_redo)
        self.undo_action.setText(f"&Undo {c.undo_text}" if c.can_undo else "&Undo")
        self.redo_action.setText(f"&Redo {c.redo_text}" if c.can_redo else "&Redo")
        name = self.session.path.name if self.session.path else "untitled"
        self.setWindowTitle(f"{name}{' *' if self.session.dirty else ''} — twin_app")

    def _on_underground_changed(self, mode: str) -> None:
        i = UNDERGROUND_MODES.index(mode)
        if self.underground_combo.currentIndex() != i:
            self.underground_combo.blockSignals(True)
            self.underground_combo.setCurrentIndex(i)
            self.underground_combo.blockSignals(False)

    def cycle_underground(self) -> None:
        """Off -> translucent -> cut-away -> off."""
        i = UNDERGROUND_MODES.index(self.session.underground)
        self.session.underground = UNDERGROUND_MODES[(i + 1) % len(UNDERGROUND_MODES)]

    def _on_shadows(self, on: bool) -> None:
        self.view.scene.set_shadows(on)

    def _on_ssao(self, on: bool) -> None:
        self.view.scene.set_ssao(on)

    def apply_theme(self, theme: str) -> None:
        """Apply the light or dark style sheet and remember it."""
        if theme not in self.theme_actions:
            theme = "light"
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyleSheet(stylesheet(theme))
        self.theme_actions[theme].setChecked(True)
        self.view.scene.set_dark(theme == "dark")
        self.settings.setValue("theme", theme)
        self.theme = theme

    def _focus_search(self) -> None:
        self.search_bar.focus_search()

    def _refresh_bookmarks_menu(self, *_: Any) -> None:
        menu = self.bookmarks_menu
        for a in menu.actions()[1:]:
            menu.removeAction(a)
            a.deleteLater()
        if len(self.session.bookmarks):
            menu.addSeparator()
        for b in self.session.bookmarks:
            act = menu.addAction(b.name)
            act.setStatusTip(f"Fly to {b.name}")
            act.triggered.connect(partial(self._go_to_bookmark, b.name))

    def _go_to_bookmark(self, name: str, *_: Any) -> None:
        try:
            self.session.go_to_bookmark(name)
        except TwinError as err:
            self._report("warning", str(err))

    def _on_about(self) -> None:
        from twin_app.ui.about_dialog import QtAboutDialog

        QtAboutDialog(self.session.attributions(), self).exec()

    # -- files -------------------------------------------------------------------------------
    def _on_open(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open city data", str(self.settings.value("last_dir", "")), FILE_FILTER
        )
        if files:
            self.settings.setValue("last_dir", str(Path(files[0]).parent))
            self.open_any([Path(f) for f in files])

    def _on_open_session(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open session", str(self.settings.value("last_dir", "")), SESSION_FILTER
        )
        if path:
            self.open_session(Path(path))

    def _on_save(self) -> None:
        if self.session.path is None:
            self._on_save_as()
        else:
            self.save_session(self.session.path)

    def _on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save session", str(self.settings.value("last_dir", "")), SESSION_FILTER
        )
        if path:
            self.save_session(Path(path))

    def save_session(self, path: Path) -> bool:
        """Save atomically; a failure leaves the previous file as it was."""
        try:
            saved = self.session.save(path)
        except TwinError as err:
            self._report("error", str(err))
            return False
        self._add_recent(saved)
        self._report("info", f"saved {saved}")
        return True

    def autosave_path(self) -> Path:
        """Where autosave writes (never over the user's own session file)."""
        base = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppDataLocation
        ) or str(Path.home() / ".twin_app")
        return Path(base) / "autosave.twin.toml"

    def autosave(self) -> Path | None:
        """Write the session to the autosave file if it has unsaved changes."""
        if not (self.session.sources or self.session.twins) or not self.session.dirty:
            return None
        path = self.autosave_path()
        try:
            self.session.write_copy(path)
        except TwinError as err:
            self._report("warning", f"autosave failed: {err}")
            return None
        origin = self.session.path
        self.settings.setValue("autosave_origin", str(origin.resolve()) if origin else "")
        return path

    def autosave_offer(self, for_path: Path | None = None) -> tuple[Path, Path | None] | None:
        """The autosave and the session file it belongs to (None: untitled), when it holds
        changes newer than that file; None when there is nothing to offer.

        With `for_path`, only an autosave of that session file counts.
        """
        auto = self.autosave_path()
        if not auto.is_file():
            return None
        text = str(self.settings.value("autosave_origin", "") or "")
        origin = Path(text) if text else None
        if for_path is not None and (origin is None or origin != for_path.resolve()):
            return None
        try:
            if (
                origin is not None
                and origin.is_file()
                and auto.stat().st_mtime <= origin.stat().st_mtime
            ):
                return None
        except OSError:
            return None
        return auto, origin

    def ask_restore_autosave(self, autosave: Path, origin: Path | None) -> str:
        """Ask whether to restore the autosave: ``restore``, ``saved`` (open the saved file) or
        ``cancel``."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(autosave.stat().st_mtime))
        what = origin.name if origin is not None else "an untitled session"
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved changes?", "", parent=self)
        box.setText(f"There are unsaved changes to {what}, autosaved {when}.")
        box.setInformativeText(
            "Restore them (they stay unsaved until you save), open the saved session instead, "
            "or cancel."
        )
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        saved = None
        if origin is not None and origin.is_file():
            saved = box.addButton("Open saved", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is restore:
            return "restore"
        if saved is not None and clicked is saved:
            return "saved"
        return "cancel"

    def discard_autosave(self) -> None:
        """Forget the autosave (the user saved or threw away its changes)."""
        with contextlib.suppress(OSError):
            self.autosave_path().unlink(missing_ok=True)
        self.settings.remove("autosave_origin")

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export image", "twin.png", "PNG images (*.png)"
        )
        if path:
            self.view.scene.screenshot(path)
            self._report("info", f"wrote {path}")

    def _on_screenshot(self) -> None:
        from twin_app.ui.screenshot_dialog import save_screenshot

        # the compare view, when it is on screen, is what the picture shows
        path = save_screenshot(self, self.session, self.view.scene, compare=self.compare_view)
        if path is not None:
            self._report("info", f"wrote {path}")

    def _add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("recent_files", items[:MAX_RECENT])
        self._refresh_recent()

    def recent_files(self) -> list[str]:
        """Most recent first."""
        value: Any = self.settings.value("recent_files", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in (value or [])]

    def _refresh_recent(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        for p in self.recent_files():
            act = menu.addAction(p)
            act.triggered.connect(partial(self.open_any, [Path(p)]))
        menu.setEnabled(bool(self.recent_files()))

    def open_any(self, paths: list[Path]) -> None:
        """Open session files as sessions and everything else as data."""
        sessions = [p for p in paths if p.name.endswith(".twin.toml")]
        twins = [p for p in paths if is_twin(p)]
        series = [p for p in paths if Session.is_series_file(p)]
        data = [
            p
            for p in paths
            if not p.name.endswith(".twin.toml") and not is_twin(p) and p not in series
        ]
        if sessions:
            self.open_session(sessions[0])
        elif twins:
            self.open_twin(twins[0])
        elif data:
            self.load_paths(data)
            if series:
                names = ", ".join(p.name for p in series)
                self._report(
                    "warning",
                    f"{names}: not opened with the data; open recordings once the twin they "
                    "replay on has loaded",
                )
        elif series:
            self.open_series(series)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_any(paths)

    # -- loading -------------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        """True while a load runs in the background."""
        return self._worker is not None

    @property
    def background_task(self) -> Any:
        """The running load's :class:`~twin_app.ui.background.BackgroundTask`, or None."""
        return self._worker

    def _start_worker(self, work: Any, on_done: Any, label: str) -> None:
        from twin_app.ui.background import BackgroundTask

        def finished(result: Any, error: BaseException | None) -> None:
            try:
                self._on_worker_returned((result, error), on_done)
            finally:
                self._on_load_finished()

        self._worker = BackgroundTask(
            lambda progress, cancelled: work(progress, cancelled), finished, self._show_progress
        )
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self._reset_summary()
        self._set_status(label)
        self._worker.start()

    def load_paths(self, paths: list[Path], options: ReadOptions | None = None) -> None:
        """Load files in a worker thread; the result becomes layers on the GUI thread."""
        if self._worker is not None:
            self._report("warning", "a load is already running; wait or cancel it")
            return
        opts = options or ReadOptions()
        session = self.session

        def work(progress: Any, cancelled: Any) -> Any:
            return session.load_files(paths, opts, progress, cancelled)

        def done(result: Any) -> None:
            layers = self.session.add_result(result, opts)
            for p in paths:
                self._add_recent(p)
            n = sum(len(s.ids) for s in result.city.sets)
            k = len(layers)
            self._set_status(f"loaded {n:,} features in {k} layer{'s' if k != 1 else ''}")

        self._start_worker(work, done, f"loading {', '.join(p.name for p in paths)}…")

    # -- placing IFC buildings ------------------------------------------------------------
    def place_ifc_layer(self, layer: Any) -> None:
        """Start "Place on map…" for an IFC layer: the next click on the 3D view picks the
        ground point where the file's origin goes, then :meth:`ask_rotation` asks for its
        rotation and :meth:`finish_place_ifc` reads the file there in the background."""
        nav = self.view.navigator
        previous = nav.on_click
        self._set_status(f"Place {layer.name}: click on the ground where its origin goes")

        def on_click(x: int, y: int, _extend: bool) -> None:
            nav.on_click = previous
            frame = self.session.frame
            point = self.view.picker.world_point(x, y)
            if frame is None or point is None:
                self._report("warning", f"{layer.name}: not placed (no ground under the click)")
                return
            ll = frame.to_lonlat(np.array([point[:2]]))[0]
            rotate = self.ask_rotation(layer)
            if rotate is not None:
                self.finish_place_ifc(layer, (float(ll[0]), float(ll[1])), rotate)

        nav.on_click = on_click

    def ask_rotation(self, layer: Any) -> float | None:
        """Ask for the counter-clockwise rotation (degrees from east) of a placed IFC file;
        None when cancelled."""
        from PySide6.QtWidgets import QInputDialog

        current = 0.0
        fs = layer.features
        if fs is not None and getattr(fs.meta, "georef", None) is not None:
            current = float(fs.meta.georef.rotation_deg) if fs.meta.georef.method == "user" else 0.0
        value, ok = QInputDialog.getDouble(
            self,
            f"Place {layer.name}",
            "Rotation of the building's x axis from east, counter-clockwise (degrees):",
            current,
            -360.0,
            360.0,
            1,
        )
        return float(value) if ok else None

    def finish_place_ifc(self, layer: Any, lonlat: tuple[float, float], rotate_deg: float) -> None:
        """Read the layer's IFC file again with its origin at `lonlat` (degrees) turned by
        `rotate_deg`, in a worker; the layer moves there as one undo step."""
        import dataclasses

        if self._worker is not None:
            self._report("warning", "a load is already running; wait or cancel it")
            return
        fs = layer.features
        ref = next(
            (
                r
                for r in self.session.sources
                if fs is not None and r.path.name == Path(fs.source).name
            ),
            None,
        )
        if fs is None or ref is None:
            self._report("error", f"{layer.name}: its file is not among the session's sources")
            return
        opts = dataclasses.replace(ref.read_options(), at_lonlat=lonlat, rotate_deg=rotate_deg)
        session, path = self.session, ref.path

        def work(progress: Any, cancelled: Any) -> Any:
            return session.load_files([path], opts, progress, cancelled)

        def done(result: Any) -> None:
            self.session.place_ifc(layer, result, opts)
            self._set_status(
                f"placed {layer.name} at {lonlat[0]:.6f}, {lonlat[1]:.6f}, {rotate_deg:g}°"
            )

        self._start_worker(work, done, f"placing {path.name}…")

    def open_series(self, paths: list[Path]) -> None:
        """Open recordings (long-format CSV/Parquet) as replay series of the open twin's
        sensors, in the background; each becomes a layer beside the one it binds to."""
        if self._worker is not None:
            self._report("warning", "a load is already running; wait or cancel it")
            return
        session = self.session

        def work(progress: Any, cancelled: Any) -> list[Any]:
            loads, errors = [], []
            for i, p in enumerate(paths):
                progress(i / len(paths), f"reading {p.name}")
                try:
                    loads.append(session.read_series_file(p))
                except TwinError as err:
                    if len(paths) == 1:
                        raise
                    errors.append(str(err))
            return [loads, errors]

        def done(outcome: list[Any]) -> None:
            loads, errors = outcome
            for load in loads:
                self.session.add_series(load)
                self._add_recent(load.path)
            for e in errors:
                self._report("error", e)
            self._set_status(f"opened {len(loads)} series file{'s' if len(loads) != 1 else ''}")

        self._start_worker(work, done, f"opening {', '.join(p.name for p in paths)}…")

    def open_session(self, path: Path) -> None:
        """Replace the open twin with a session file's sources, styles, camera and bookmarks.

        When the autosave holds newer changes to this file, ask whether to restore them.
        """
        if self._worker is not None:
            self._report("warning", "a load is already running; wait or cancel it")
            return
        offer = self.autosave_offer(path)
        if offer is not None:
            choice = self.ask_restore_autosave(*offer)
            if choice == "cancel":
                return
            if choice == "restore":
                self._load_session(offer[0], restore_as=offer[1])
                return
            self.discard_autosave()
        self._load_session(path)

    def _load_session(self, path: Path, restore_as: Path | bool | None = False) -> None:
        """Load session file `path`; with `restore_as` (a path or None), `path` is an autosave
        restored as the unsaved state of that session file (None: untitled)."""
        self._reset_summary()
        try:
            data = Session.read_session_file(path)
        except SessionFileError as err:
            self._report("error", str(err))
            return

        def work(progress: Any, cancelled: Any) -> SessionLoad:
            return Session.load_session_file(data, path, progress, cancelled)

        def done(load: SessionLoad) -> None:
            if restore_as is False:
                warnings = self.session.restore(load)
            else:
                origin = restore_as if isinstance(restore_as, Path) else None
                warnings = self.session.restore_autosave(load, origin)
            for w in warnings:
                self._report("warning", f"{path.name}: {w}")
            for twin in load.twins:
                self._show_twin_time(twin)
            if restore_as is False:
                self._add_recent(path)
                self._set_status(f"opened session {path.name}")
            else:
                self._on_history_changed()
                self._set_status("restored the unsaved changes from the autosave")

        self._start_worker(work, done, f"opening session {path.name}…")

    def start(
        self, paths: list[Path], options: ReadOptions | None = None, default: Path | None = None
    ) -> None:
        """What the application opens at start: `paths` (twins, sessions or data files) or, with
        none, the autosave's unsaved changes when the user restores them, else `default` (a twin).
        """
        twins = [p for p in paths if is_twin(p)]
        if not paths:
            offer = self.autosave_offer()
            if offer is not None:
                choice = self.ask_restore_autosave(*offer)
                if choice == "restore":
                    self._load_session(offer[0], restore_as=offer[1])
                    return
                if choice == "saved" and offer[1] is not None:
                    self.discard_autosave()
                    self._load_session(offer[1])
                    return
            if default is not None:
                self.open_twin(default)
        elif twins:
            self.open_twin(twins[0])
        elif any(p.name.endswith(".twin.toml") for p in paths):
            self.open_any(paths)
        else:
            self.load_paths(paths, options)

    def _show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self._set_status(message)

    def cancel_load(self) -> None:
        """Ask the running load to stop at its next step."""
        if self._worker is not None:
            self._worker.cancel()

    def _on_worker_returned(self, outcome: tuple[Any, BaseException | None], on_done: Any) -> None:
        result, error = outcome
        if error is None:
            on_done(result)
        elif isinstance(error, CancelledError):
            self._report("warning", "loading cancelled; nothing was added")
        elif isinstance(error, TwinError):
            self._report("error", str(error))
        else:
            log.error("load failed", exc_info=error)
            self._report("error", f"load failed: {type(error).__name__}: {error}")

    def stop_background_work(self, wait_s: float = CLOSE_WAIT_S) -> bool:
        """For a closing window: cancel the running load and scenario run, deliver nothing
        more to this window (results, progress and session messages alike), and wait up to
        `wait_s` seconds for their threads; True when none is still running.

        A load that finished later would otherwise be added to the session of a closed window
        and reach its deleted widgets (and VTK view).
        """
        # Messages the worker posts must not reach this window's (soon deleted) widgets.
        self.session.messages.disconnect(self._on_message)
        self.messages_panel.stop_listening()
        tasks = [t for t in (self._worker, self.scenario_panel.stop_task()) if t is not None]
        if self._worker is not None:
            self._worker.cancel()
            self._worker.detach()
            self._on_load_finished()
        deadline = time.monotonic() + wait_s
        ended = [t.join(max(0.0, deadline - time.monotonic())) for t in tasks]  # join each
        return all(ended)

    def _on_load_finished(self) -> None:
        self._worker = None
        self.progress.hide()
        self.cancel_button.hide()

    # -- time and live feeds ----------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the session by the wall time since the last tick (live samples, clock)."""
        self.session.tick(self._tick_clock.restart() / 1000.0)
        status = self.session.live.status
        if status != self.live_label.text():
            self.live_label.setText(status)

    def follow(self, layer: MoverLayer, index: int) -> None:
        """Follow mover `index` of a mover layer (-1 stops), flying there first."""
        from twin_app.model.camera import pose_for_bounds

        camera = self.session.camera
        camera.follow_mover(layer.uid, index)
        if index >= 0 and layer.valid[index]:
            x, y, z = (float(v) for v in layer.positions[index])
            z = z if math.isfinite(z) else 0.0
            camera.fly_to(pose_for_bounds((x - 60, x + 60, y - 60, y + 60, z, z + 10)))
        elif index >= 0:  # not running now: nothing moves until it appears, so say why
            self._report(
                "info",
                f"{layer.name}: {layer.mover_ids[index]} has no position at this time; the "
                "camera follows it from when it appears (play the clock or seek)",
            )

    def _on_follow(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        movers = [
            (layer, i)
            for layer in self.session.layers
            if isinstance(layer, MoverLayer)
            for i in range(len(layer.mover_ids))
        ]
        if not movers:
            self._report("warning", "no movers in this twin")
            return
        names = ["(stop following)"] + [
            f"{layer.name}: {layer.mover_ids[i]}" for layer, i in movers
        ]
        choice, ok = QInputDialog.getItem(self, "Follow a mover", "Mover:", names, 0, False)
        if not ok:
            return
        if names.index(choice) == 0:
            self.session.camera.follow_mover(0, -1)
        else:
            layer, i = movers[names.index(choice) - 1]
            self.follow(layer, i)

    def connect_live(self, broker: str, mapping: Path | None = None) -> None:
        """Subscribe to a broker; samples flow into the layers whose sensors they name."""
        self.session.live.connect(broker, mapping)

    def disconnect_live(self) -> None:
        """Stop the live feed (and the recording, written to its file)."""
        self.session.live.disconnect()

    def _on_live_changed(self) -> None:
        live = self.session.live
        self.live_label.setText(live.status)
        if self.record_action.isChecked() != live.recording:
            self.record_action.blockSignals(True)
            self.record_action.setChecked(live.recording)
            self.record_action.blockSignals(False)

    def _on_connect_live(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        broker, ok = QInputDialog.getText(
            self,
            "Connect live feed",
            "MQTT broker (host:port):",
            text=str(self.settings.value("broker", "localhost:1883")),
        )
        if ok and broker.strip():
            self.settings.setValue("broker", broker.strip())
            self.connect_live(broker.strip())

    def start_recording(self, path: Path) -> None:
        """Collect every live sample from now on; written to `path` when recording stops."""
        self.session.live.start_recording(path)

    def stop_recording(self) -> list[Path]:
        """Write the recording and stop; the files written."""
        return self.session.live.stop_recording()

    def _on_record(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Record live feed to", "recording.parquet", "Parquet (*.parquet)"
        )
        if path:
            self.start_recording(Path(path))
        else:
            self.record_action.setChecked(False)

    # -- scenarios ---------------------------------------------------------------------------------
    def new_scenario(self) -> None:
        """Start a new scenario over the open twin (undoable) and show the Scenario panel."""
        self.session.new_scenario()
        self.show_scenario_panel()

    def show_scenario_panel(self) -> None:
        """Bring the Scenario panel to the front, wide enough for its KPI table."""
        self.scenario_dock.show()
        self.scenario_dock.raise_()
        width = max(self.scenario_dock.width(), SCENARIO_DOCK_PX)
        self.resizeDocks([self.scenario_dock], [width], Qt.Orientation.Horizontal)

    def _on_pick_action(self) -> None:
        # triggered's checked argument does not reach a bound C++ slot: read the action's
        self.scenario_panel.pick_button.setChecked(self.scenario_pick_action.isChecked())

    def _title_compare(self, *_: Any) -> None:
        """The compare dock says when it shows a run of an earlier version of the scenario."""
        if self.compare_dock is not None:
            stale = self.session.scenario_state.stale
            self.compare_dock.setWindowTitle(
                "Compare (out of date: run the scenario, F5)" if stale else "Compare"
            )

    def show_compare(self, on: bool = True) -> None:
        """Show (or hide) the compare view of the last scenario result in a dock."""
        if not on:
            if self.compare_dock is not None and self.compare_dock.isVisible():
                self.compare_dock.hide()
                # the other docks get the heights they had before it opened
                before = [(d, h) for d, h in self._heights_before_compare if d.isVisible()]
                if before:
                    docks, heights = zip(*before, strict=True)
                    self.resizeDocks(list(docks), list(heights), Qt.Orientation.Vertical)
            self.compare_action.setChecked(False)
            return
        if self.compare_view is None:
            from twin_app.ui.compare_view import QtCompareView

            self.compare_view = QtCompareView()
            self.compare_dock = self._dock(
                "Compare", self.compare_view, Qt.DockWidgetArea.TopDockWidgetArea, "compare"
            )
            self.compare_dock.visibilityChanged.connect(self.compare_action.setChecked)
            self.compare_view.show_comparison(self.session.scenario_state.comparison)
            st = self.session.scenario_state
            for event in (st.events.scenario, st.events.result):
                event.connect(self._title_compare)
        self._title_compare()
        dock = self.compare_dock
        assert dock is not None
        room = self.height()
        if not dock.isVisible():
            self._heights_before_compare = self._dock_heights()
            # the window's least height with it docked (the hints before it shows: shown,
            # Qt grows the window to them at once)
            room -= self.minimumSizeHint().height() + dock.minimumSizeHint().height() + 8
        if room < 0:
            # No room left in a window this short: over its lower half, in a window of its
            # own, rather than a main window grown past the screen.
            dock.hide()
            dock.setFloating(True)
            area = self.geometry().intersected(self.screen().availableGeometry())
            area.setTop(area.center().y())
            dock.setGeometry(area)
        dock.show()
        dock.raise_()
        if not dock.isFloating():
            # Its share comes from the window's own room (the 3D view first): a minimum height
            # on the view made Qt grow the window past the screen and never shrink it back.
            self.resizeDocks([dock], [self.height() // 2], Qt.Orientation.Vertical)
        self.compare_action.setChecked(True)

    def _dock_heights(self) -> list[tuple[QDockWidget, int]]:
        """The heights of the docks on screen (what closing the compare view gives back)."""
        return [(d, d.height()) for d in self.findChildren(QDockWidget) if d.isVisible()]

    def _on_comparison(self, comparison: Any, *_: Any) -> None:
        if self.compare_view is not None and self.compare_view.comparison is not comparison:
            self.compare_view.show_comparison(comparison)

    # -- wall mode ------------------------------------------------------------------------------------
    def show_wall(self) -> None:
        """Wall mode on the screen this window is on: the same session (this window keeps
        ticking it); Esc or F11 come back here."""
        from twin_app.ui.wall import QtWallWindow

        if self.wall is not None:
            return
        # a story this window plays would move the camera against the wall's tour: it ends,
        # the session as it was before it (the wall plays it in its loop)
        self.session.stop_story()
        tz = str(getattr(self.alerts_panel.tz, "key", "UTC"))
        self.wall = QtWallWindow(self.session, drive_clock=False, timezone=tz)
        screens = QApplication.screens()
        screen = self.screen()
        self.wall.closed.connect(self._on_wall_closed)
        self.wall.show_on(screens.index(screen) if screen in screens else 0)
        self.wall.show_session_scenario()  # a scenario shown here: its comparison there
        from twin_app.session.wall import session_stories

        # the Story panel's story (edits included) and the twins' own play in the tour
        self.wall.add_stories(session_stories(self.session))
        self.wall.prepare_stories()
        self.wall.start_tour()
        self.hide()

    def _on_wall_closed(self) -> None:
        self.wall = None
        self.show()

    # -- twins with replay series ------------------------------------------------------------------
    def open_twin(self, path: Path | str) -> None:
        """Open a twin folder (or its manifest) in the background: geometry, replay series and
        networks are built on a worker thread and added as one undoable step."""
        if self._worker is not None:
            self._report("warning", "a load is already running; wait or cancel it")
            return
        target = Path(path)
        session = self.session

        def work(progress: Any, cancelled: Any) -> TwinLoad:
            return session.open_twin(target, progress, cancelled)

        def done(load: TwinLoad) -> None:
            self.session.add_twin(load)
            self._show_twin_time(load)
            self.setWindowTitle(f"{load.manifest.name} — twin_app")
            self._add_recent(load.folder)
            self._set_status(
                f"{load.manifest.name}: {len(load.layers)} replay series ready; press Space to play"
            )

        self._start_worker(work, done, f"opening {target.name}…")

    def _show_twin_time(self, load: TwinLoad) -> None:
        self.timeline.set_timezone(load.timezone)
        self.alerts_panel.set_timezone(load.timezone)
        self.timeline.refresh_kpi()

    # -- lifetime ------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geom = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def has_unsaved_changes(self) -> bool:
        """True when closing now would lose changes (an open twin or bookmarks, not saved)."""
        s = self.session
        return s.dirty and bool(len(s.layers) or len(s.bookmarks))

    def ask_save_changes(self) -> str:
        """Ask before quitting with unsaved changes: ``save``, ``discard`` or ``cancel``."""
        what = self.session.path.name if self.session.path else "this untitled session"
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes", "", parent=self)
        box.setText(f"Save the changes to {what} before quitting?")
        box.setInformativeText("If you discard them, they are lost.")
        save = box.addButton("Save", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(save)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if clicked is discard else "cancel"

    def _save_before_quit(self) -> bool:
        if self.session.path is not None:
            return self.save_session(self.session.path)
        path, _ = QFileDialog.getSaveFileName(
            self, "Save session", str(self.settings.value("last_dir", "")), SESSION_FILTER
        )
        return bool(path) and self.save_session(Path(path))

    def closeEvent(self, event: QCloseEvent) -> None:
        decided = self._quit_decided
        if self.ask_before_quit and not decided and self.has_unsaved_changes():
            choice = self.ask_save_changes()
            if choice == "cancel" or (choice == "save" and not self._save_before_quit()):
                event.ignore()
                return
            # saved, or thrown away on purpose: nothing to offer at the next start
            self._quit_decided = decided = True
            self.discard_autosave()
        self.stop_background_work()
        self.tick_timer.stop()
        self.trim_timer.stop()
        self.disconnect_live()
        if not decided:
            self.autosave()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.autosave_timer.stop()
        if self.compare_view is not None:
            self.compare_view.close_views()
        self.view.close_view()
        super().closeEvent(event)
