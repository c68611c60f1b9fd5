"""Wall mode: a frameless full-screen window for a command-center video wall.

The 3D view (the same viewer binding as the main window, on the session's camera), KPI tiles,
charts of chosen KPIs and sensors over a rolling window, an alert ticker (grouped, with
acknowledge), a clock, a STALE banner when a feed's data is old, and an automatic tour through
the bookmarks and the stories on a loop (:class:`~twin_app.session.wall.WallProgram`; a story's
caption is drawn large under the picture). Where a scenario is shown (``twin wall SCENARIO``, a
story's scenario step) the 3D area is the compare view, baseline and scenario side by side, with
the scenario's KPIs on the tiles. Every number comes from :mod:`twin_app.session.wall`; this
module only lays it out and drives the timers. Type scales with the window height so it reads across a room.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QElapsedTimer, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget

from twin_app.errors import InputError, TwinError
from twin_app.session import Session
from twin_app.session.heap import trim_heap, tune_malloc
from twin_app.session.wall import (
    STALE_FACTOR,
    Freshness,
    Tour,
    WallKpi,
    WallProgram,
    freshness,
    live_kpis,
    orbit_items,
    scenario_kpis,
    tour_items,
    twin_title,
    wall_target_kind,
)
from twin_app.ui.view3d import QtView3D
from twin_app.ui.wall_charts import QtWallCharts
from twin_app.ui.wall_ticker import QtAlertTicker
from twin_app.ui.wall_tile import QtKpiTile, set_type

#: Tiles in the grid (two columns).
TILES = 8
#: Window height (px) per type unit: 2160 px gives 40 px type units, readable across a room.
HEIGHT_PER_UNIT = 54
#: Refreshes of tiles, clock, charts and banner per second.
REFRESH_HZ = 2
#: Seconds between handing free heap memory back to the system.
TRIM_S = 60
#: Share of the window's width the tiles, charts and ticker take (the 3D view the rest).
SIDE_SHARE = 0.38
#: Charts shown when none are chosen: the first live KPIs after the alert count.
DEFAULT_CHARTS = 3
#: Tour timer interval at the stops, ms; while a story plays its frames come every STORY_MS.
TOUR_MS = 250
STORY_MS = 40
#: Scenario comparisons the wall's session keeps for the tour to show again (each with its
#: two 3D views): built once, not every loop.
KEEP_COMPARISONS = 4
#: A story's caption under the picture, in type units.
STORY_CAPTION_UNITS = 1.2
#: Longest wall time one tour step moves a story by, seconds.
MAX_STEP_S = 0.5

STYLE = """
QWidget#wall { background: #0b0e12; color: #eeeeee; }
QLabel { color: #eeeeee; }
QFrame#wallTile { background: #161b22; border: 1px solid #2a3240; border-radius: 6px; }
QLabel#wallStale { background: #c62828; color: white; padding: 2px 8px; border-radius: 4px; }
QLabel#wallCaption { color: #9ecbff; }
QLabel#wallStoryCaption { color: #ffffff; background: rgba(22, 27, 34, 215); padding: 6px 12px; }
QPushButton { color: #eeeeee; background: #1f2630; border: 1px solid #3a4454; padding: 4px; }
"""


def parse_size(text: str) -> tuple[int, int]:
    """``3840x2160`` -> (3840, 2160).

    Raises
    ------
    InputError
        Not two positive integers joined by ``x``.
    """
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size {text!r}: give WIDTHxHEIGHT in pixels, like 3840x2160") from None
    if w <= 0 or h <= 0:
        raise InputError(f"size {text!r}: width and height must be positive")
    return w, h


class QtWallWindow(QWidget):
    """The wall: frameless, full screen on one screen (or a fixed size), no chrome.

    Parameters
    ----------
    session
        The session shown (the main window's own when opened from its View menu).
    drive_clock
        Tick the session (live samples, clock) from this window's timer; False when another
        window already does (the main window).
    tour_s
        Wall seconds at each tour stop (0: no tour).
    charts
        KPI names (as the tiles name them) or sensor ids to chart; default the first live KPIs.
    stale_factor
        Data older than this many of its sampling periods is shown STALE.
    timezone
        IANA zone of the clock and chart axes (the twin's).
    title
        Shown at the top left; default the session's twin's name
        (:func:`~twin_app.session.wall.twin_title`, kept up as twins are opened).

    Signals
    -------
    closed()
        The wall was left (Esc, F11 or closed).
    """

    closed = Signal()

    def __init__(
        self,
        session: Session,
        *,
        drive_clock: bool = True,
        tour_s: float = 30.0,
        charts: Sequence[str] = (),
        stale_factor: float = STALE_FACTOR,
        timezone: str = "UTC",
        title: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("wall")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.setWindowTitle("twin_app — wall")
        self.session = session
        self.drive_clock = drive_clock
        self.stale_factor = float(stale_factor)
        self.tz = ZoneInfo(timezone)
        self.scenario_rows: tuple[Any, ...] = ()
        self.status_text = ""
        self.stale: list[Freshness] = []
        self._chart_names = list(charts)
        self._unit_px = 0
        # -- widgets, made once ---------------------------------------------------------------
        self.view = QtView3D(session, self)
        self.title = QLabel()
        self._title_given = title
        self._title_twins: tuple[Path, ...] | None = None
        self.show_title()
        self.caption = QLabel()
        self.caption.setObjectName("wallCaption")
        self.banner = QLabel()
        self.banner.setObjectName("wallStale")
        self.banner.hide()
        self.clock_label = QLabel()
        self.clock_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.mode_label = QLabel()
        self.mode_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.story_caption = QLabel()
        self.story_caption.setObjectName("wallStoryCaption")
        self.story_caption.setWordWrap(True)
        self.story_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.story_caption.hide()
        #: The compare view (two 3D views), made when a scenario is first shown.
        self.compare_view: Any = None
        self._compare_views: dict[int, Any] = {}
        # a tour shows the same scenario results again and again: keep their comparisons
        self._kept_before = session.keep_comparisons
        session.keep_comparisons = max(self._kept_before, KEEP_COMPARISONS)
        self.tiles = [QtKpiTile() for _ in range(TILES)]
        self.ticker = QtAlertTicker(session)
        self.charts: QtWallCharts | None = None
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(24)
        top.addWidget(self.caption, 1)
        top.addWidget(self.banner)
        top.addSpacing(24)
        top.addWidget(self.mode_label)
        top.addSpacing(24)
        top.addWidget(self.clock_label)
        grid = QGridLayout()
        for k, tile in enumerate(self.tiles):
            grid.addWidget(tile, k // 2, k % 2)
        self.side = QVBoxLayout()
        self.side.addLayout(grid, 3)
        self.side.addWidget(self.ticker, 2)
        # The side panel's width is set from the window's (resizeEvent), not from its texts: a
        # longer tile value or alert line must not resize the 3D view, as every resize makes
        # the renderer allocate new frame buffers (a 4K wall's heap grew with each; issue 11).
        self.side_panel = QWidget()
        self.side_panel.setLayout(self.side)
        self.side.setContentsMargins(0, 0, 0, 0)
        # The 3D view (or the compare view) fills one cell and the story caption lies over its
        # foot: showing, hiding or rewrapping a caption must not resize the picture, as each
        # resize has the renderer allocate its frame buffers anew (at 4K a caption that came
        # and went moved the mapped heap by 100 MB; issue 11).
        self.picture = QGridLayout()
        self.picture.setContentsMargins(0, 0, 0, 0)
        self.picture.addWidget(self.view, 0, 0)
        self.picture.addWidget(self.story_caption, 0, 0, Qt.AlignmentFlag.AlignBottom)
        body = QHBoxLayout()
        body.addLayout(self.picture, 1)
        body.addWidget(self.side_panel, 0)
        self._root = root = QVBoxLayout(self)
        # The wall takes the size it is given: the type follows the height (a minimum from
        # the previous, bigger type would stop it shrinking).
        root.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        root.addLayout(top)
        root.addLayout(body, 1)
        # -- timers ------------------------------------------------------------------------------
        self._tick_clock = QElapsedTimer()
        self._tick_clock.start()
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(40)
        self.tick_timer.timeout.connect(self.tick)
        if drive_clock:
            self.tick_timer.start()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(1000 // REFRESH_HZ)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()
        # Days on a wall: freed memory must go back to the system (see session/heap.py).
        tune_malloc()
        self.trim_timer = QTimer(self)
        self.trim_timer.setInterval(TRIM_S * 1000)
        self.trim_timer.timeout.connect(trim_heap)
        self.trim_timer.start()
        self.tour: Tour | None = None
        self.tour_timer = QTimer(self)
        self.tour_timer.setInterval(TOUR_MS)
        self.tour_timer.timeout.connect(self.step_tour)
        self._tour_clock = QElapsedTimer()
        if tour_s > 0:
            self.tour = Tour(session.camera, self.tour_stops, tour_s)
        self.program = WallProgram(session, self.tour)
        self.program.stop_changed.connect(self._on_stop)
        self.program.story_started.connect(self._on_story_started)
        self.program.story_ended.connect(self._on_story_ended)
        self._prep_task: Any = None
        self._tour_clock.start()
        if self.tour is not None:
            self.tour_timer.start()
        session.scenario_state.events.comparison.connect(self._on_comparison)
        self._orbit: list[Any] = []
        for key in (Qt.Key.Key_Escape, Qt.Key.Key_F11):
            QShortcut(QKeySequence(key), self, self.close)
        self.ticker.set_timezone(timezone)
        self._closed = False

    # -- placement ---------------------------------------------------------------------------------
    def show_on(self, screen: int = 0, size: tuple[int, int] | None = None) -> None:
        """Show on screen `screen` (an index into ``QGuiApplication.screens()``): full screen,
        or `size` pixels at the screen's top left corner.

        Raises
        ------
        InputError
            No such screen.
        """
        screens = QGuiApplication.screens()
        if not 0 <= screen < len(screens):
            raise InputError(f"screen {screen}: there are {len(screens)} (0 to {len(screens) - 1})")
        geo = screens[screen].geometry()
        # type first: a layout sized for a bigger wall's type would not let the window shrink
        self.set_unit_px(max(10, round((size[1] if size else geo.height()) / HEIGHT_PER_UNIT)))
        if size is None:
            self.setGeometry(geo)
            self.show()
            if self.windowHandle() is not None:
                self.windowHandle().setScreen(screens[screen])
            self.showFullScreen()
        else:
            self.setGeometry(QRect(geo.x(), geo.y(), size[0], size[1]))
            self.show()
        self.raise_()
        self.activateWindow()  # Esc and F11 are window shortcuts: the wall takes the keyboard

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.side_panel.setFixedWidth(round(SIDE_SHARE * event.size().width()))
        super().resizeEvent(event)
        unit = max(10, round(self.height() / HEIGHT_PER_UNIT))
        if unit != self._unit_px:
            self.set_unit_px(unit)

    def set_unit_px(self, unit: int) -> None:
        """Scale all type to a unit of `unit` pixels (title 1.1, clock 1.3 units ...)."""
        self._unit_px = unit
        for lab, k, bold in (
            (self.title, 1.1, True),
            (self.caption, 0.9, False),
            (self.banner, 0.9, True),
            (self.mode_label, 0.8, False),
            (self.clock_label, 1.3, True),
        ):
            set_type(lab, round(k * unit), bold)
        # its own sheet: an application style sheet (the main window's theme) would win over
        # a font set in code on a label shown later
        self.story_caption.setStyleSheet(f"font-size: {round(STORY_CAPTION_UNITS * unit)}px;")
        for tile in self.tiles:
            tile.set_unit_px(unit)
        self.ticker.set_unit_px(unit)
        if self.charts is not None:
            self.charts.set_unit_px(unit)
        m = max(4, unit // 3)
        lay = self._root
        lay.setContentsMargins(m, m // 2, m, m)
        lay.setSpacing(m // 2)

    @property
    def unit_px(self) -> int:
        """The type unit in pixels (window height / :data:`HEIGHT_PER_UNIT`)."""
        return self._unit_px

    # -- time ----------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the session by the wall time since the last tick (only when driving it)."""
        self.session.tick(self._tick_clock.restart() / 1000.0)

    def tour_stops(self) -> list[Any]:
        """The tour's stops: the session's (:func:`~twin_app.session.wall.tour_items`), or
        four views around the city when it has none."""
        stops = tour_items(self.session)
        if stops:
            return stops
        if not self._orbit and self.session.camera.pose is not None:
            self._orbit = orbit_items(self.session.camera.pose)
        return list(self._orbit)

    def start_tour(self) -> None:
        """Fly to the first stop now, or play the first story when there are no stops (the
        interval runs from here)."""
        if self.tour is None and not self.program.stories:
            return
        self._tour_clock.start()
        self.program.start()
        if not self.tour_timer.isActive():
            self.tour_timer.start()

    def step_tour(self) -> None:
        """Move the tour (stops, then stories) on by the wall time since the last call (the
        tour timer calls this)."""
        # a stalled GUI (a scenario shown) slows a story down rather than skipping its steps
        self.program.step(min(self._tour_clock.restart() / 1000.0, MAX_STEP_S))

    # -- stories -------------------------------------------------------------------------------
    def add_stories(self, stories: Sequence[Any]) -> None:
        """Add stories (:class:`~twin_app.io.story_file.Story`) to the tour's loop: each plays
        in full after a round of the stops. Their scenarios are run by :meth:`prepare_stories`."""
        self.program.stories.extend(stories)
        if self.tour is None and self.program.stories and self.isVisible():
            self.start_tour()

    def prepare_stories(self) -> None:
        """Run the scenarios the stories show on a worker thread (once); a story joins the
        loop when its scenarios are in."""
        from twin_app.session.story import run_scenarios, scenario_files

        program = self.program
        todo = [s for s in program.stories if any(p not in program.results
                                                  for p in scenario_files(s))]  # fmt: skip
        if not todo or self._prep_task is not None:
            return
        from twin_app.ui.background import BackgroundTask

        session = self.session

        def work(progress: Any, cancelled: Any) -> Any:
            out: dict[Any, Any] = {}
            for story in todo:
                out.update(run_scenarios(session, story, None, cancelled,
                                         set(program.results) | set(out)))  # fmt: skip
            return out

        def done(result: Any, error: BaseException | None) -> None:
            self._prep_task = None
            if error is not None:
                text = str(error) if isinstance(error, TwinError) else repr(error)
                session.messages.emit("warning", f"wall: the stories' scenarios: {text}")
                return
            program.results.update(result)

        self._prep_task = BackgroundTask(work, done).start()

    def _on_stop(self, stop: Any) -> None:
        self.caption.setText(stop.name)

    def _on_story_started(self, player: Any) -> None:
        self.caption.setText(player.story.name)
        self.show_compare(None)
        self.scenario_rows = ()
        player.caption_changed.connect(self._on_story_caption)
        player.compare_changed.connect(self._on_story_compare)
        self.tour_timer.setInterval(STORY_MS)

    def _on_story_ended(self, player: Any) -> None:
        player.caption_changed.disconnect(self._on_story_caption)
        player.compare_changed.disconnect(self._on_story_compare)
        self.tour_timer.setInterval(TOUR_MS)
        self.story_caption.hide()
        self.story_caption.setText("")
        base = self.program.base_result is not None
        self.show_compare(self.session.scenario_state.comparison if base else None)
        self.show_scenario(self.session.scenario_state.kpis if base else ())

    def _on_story_caption(self, text: str) -> None:
        lab = self.story_caption
        lab.setText(text)
        lab.setVisible(bool(text))
        lab.raise_()

    def _on_story_compare(self, state: Any) -> None:
        if state is None:
            self.show_compare(None)
            self.show_scenario(())
            return
        self.show_compare(
            self.session.scenario_state.comparison,
            "swipe" if state.mode == "swipe" else "side",
            state.split,
        )
        self.show_scenario(self.session.scenario_state.kpis)

    # -- compare view --------------------------------------------------------------------------
    def show_compare(self, comparison: Any, mode: str = "side", split: float = 0.5) -> None:
        """Show a :class:`~twin_app.session.compare.Comparison` in the 3D area, baseline and
        scenario side by side (or swiped); None: the plain 3D view again.

        Each comparison keeps its own compare view while the session keeps it
        (:attr:`~twin_app.session.scenario.ScenarioVerbs.keep_comparisons`): a tour that
        shows it again shows the same views, not two scenes built anew."""
        self._release_closed_compares()
        cv: Any = self._compare_views.get(id(comparison)) if comparison is not None else None
        for other in self._compare_views.values():
            if other is not cv and other.isVisible():
                other.hide()
        if comparison is None:
            self.view.show()
            return
        if cv is None:
            from twin_app.ui.compare_view import QtCompareView

            cv = QtCompareView(self)
            cv.toolbar.hide()  # no one clicks a wall
            self.picture.addWidget(cv, 0, 0)
            self.story_caption.raise_()
            cv.show_comparison(comparison)
            self._compare_views[id(comparison)] = cv
        cv.set_mode(mode)
        cv.set_split(split)
        self.compare_view = cv
        self.view.hide()
        cv.show()

    def _release_closed_compares(self) -> None:
        """Let go of the compare views of comparisons the session has closed."""
        for key, cv in list(self._compare_views.items()):
            if cv.comparison is None or cv.comparison.closed:
                del self._compare_views[key]
                cv.hide()
                cv.close_views()
                self.picture.removeWidget(cv)
                cv.setParent(None)
                cv.deleteLater()
                if self.compare_view is cv:
                    self.compare_view = None

    def show_session_scenario(self) -> None:
        """Show the scenario the session shows (its last result) as the wall's own: the
        compare view and its KPI tiles, shown again after each story."""
        st = self.session.scenario_state
        if st.result is None or st.comparison is None:
            return
        self.program.base_result = st.result
        self.show_scenario(st.kpis)
        self.show_compare(st.comparison)

    def _on_comparison(self, comparison: Any, *_: Any) -> None:
        cv = self.compare_view
        if cv is not None and cv.isVisible() and cv.comparison is not comparison:
            self.show_compare(comparison, cv.mode, cv.split)

    # -- refresh -------------------------------------------------------------------------------------
    def kpis(self) -> list[WallKpi]:
        """The tiles' KPIs: the scenario's when one was run, else the live ones."""
        if self.scenario_rows:
            return scenario_kpis(self.scenario_rows)
        return live_kpis(self.session)

    def show_scenario(self, rows: Sequence[Any]) -> None:
        """Show a scenario's KPI rows (:class:`~twin_app.session.scenario.KpiRow`) on the tiles."""
        self.scenario_rows = tuple(rows)
        self.refresh()

    def _ensure_charts(self, live: list[WallKpi]) -> None:
        if self.charts is not None:
            return
        names = self._chart_names or [k.name for k in live[1:]][:DEFAULT_CHARTS]
        if not names:
            return
        t = self.session.clock.t_ns
        off = dt.datetime.fromtimestamp(max(t, 0) / 1e9, tz=self.tz).utcoffset()
        offset_s = off.total_seconds() if off is not None else 0.0
        self.charts = QtWallCharts(names, utc_offset_s=offset_s)
        self.side.insertWidget(1, self.charts, 3)
        if self._unit_px:
            self.charts.set_unit_px(self._unit_px)

    def chart_values(self, live: list[WallKpi]) -> dict[str, float]:
        """The charted values now: live KPIs by name, sensors by id (their layer's value)."""
        from twin_app.model.sensors import SensorLayer

        values = {k.name: k.value for k in live}
        if self.charts is None:
            return values
        t = int(self.session.clock.t_ns)
        for name in self.charts.names:
            if name in values:
                continue
            for layer in self.session.time_layers():
                if not isinstance(layer, SensorLayer) or layer.store is None:
                    continue
                index_of = getattr(layer.store, "index_of", None)
                col = int(index_of([name])[0]) if index_of is not None else -1
                if col >= 0:
                    values[name] = float(layer.sensor_values(t)[col])
                    break
        return values

    def refresh(self) -> None:
        """Tiles, charts, ticker, banner and clock, from the session now."""
        s = self.session
        live = live_kpis(s)
        kpis = scenario_kpis(self.scenario_rows) if self.scenario_rows else live
        self.stale = [f for f in freshness(s, self.stale_factor) if f.stale]
        stale_names = {f.name for f in self.stale}
        for k, tile in enumerate(self.tiles):
            kpi = kpis[k] if k < len(kpis) else None
            tile.setVisible(kpi is not None)
            tile.show_kpi(kpi, stale=kpi is not None and self._kpi_stale(kpi, stale_names))
        self.show_title()
        self._ensure_charts(live)
        if self.charts is not None and s.clock.t_ns > 0:
            self.charts.push(s.clock.t_ns / 1e9, self.chart_values(live))
        banner = (
            "STALE: " + "; ".join(f"{f.name}: {f.note}" for f in self.stale) if self.stale else ""
        )
        if banner != self.banner.text():
            self.banner.setText(banner)
        self.banner.setVisible(bool(banner))
        feed = [f for f in self.stale if f.name.startswith("Live feed")]
        self.ticker.set_stale(f"STALE: {feed[0].note}" if feed else "")
        self.ticker.refresh()
        self._show_clock()

    def show_title(self) -> None:
        """The title top left: the one given, else the name of the session's twin (read again
        only when the session's twins change), the same whether the wall was opened with
        ``twin wall`` or from the main window."""
        twins = tuple(self.session.twins)
        if twins == self._title_twins:
            return
        self._title_twins = twins
        text = self._title_given or twin_title(self.session)
        if text != self.title.text():
            self.title.setText(text)
            self.setWindowTitle(f"{text or 'twin_app'} — wall")

    def _kpi_stale(self, kpi: WallKpi, stale_names: set[str]) -> bool:
        if self.scenario_rows or not stale_names:
            return False
        if kpi.name == "Open alerts":
            return any(n.startswith("Live feed") for n in stale_names)
        words = {"speed": "Traffic", "AQI": "Air", "pressure": "Water", "running": ""}
        for key, layer_word in words.items():
            if key in kpi.name:
                return any(
                    (layer_word and n.startswith(layer_word)) or n.startswith("Live feed")
                    for n in stale_names
                )
        return False

    def _show_clock(self) -> None:
        c = self.session.clock
        if c.t_ns > 0:
            t = dt.datetime.fromtimestamp(c.t_ns / 1e9, tz=dt.UTC).astimezone(self.tz)
            text = t.strftime("%a %d %b  %H:%M:%S")
        else:
            text = time.strftime("%H:%M:%S")
        if text != self.clock_label.text():
            self.clock_label.setText(text)
        if c.live:
            mode = f"LIVE  {self.session.live.status}"
        else:
            mode = f"REPLAY ×{c.rate:g}" + ("" if c.playing else " (paused)")
        if self.status_text:
            mode = f"{self.status_text}   {mode}"
        if mode != self.mode_label.text():
            self.mode_label.setText(mode)

    def set_status(self, text: str) -> None:
        """A short note next to the clock (loading, running the scenario ...)."""
        self.status_text = text
        self._show_clock()

    # -- leaving -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            for timer in (self.tick_timer, self.refresh_timer, self.tour_timer, self.trim_timer):
                timer.stop()
            if self._prep_task is not None:  # its results must not reach a closed wall
                self._prep_task.cancel()
                self._prep_task.detach()
                self._prep_task = None
            self.session.scenario_state.events.comparison.disconnect(self._on_comparison)
            self.program.stop()
            self.ticker.close_ticker()
            for cv in self._compare_views.values():
                cv.close_views()
            self._compare_views.clear()
            self.session.keep_comparisons = self._kept_before
            self.view.close_view()
            self.closed.emit()
        super().closeEvent(event)


# -- opening what the wall shows ------------------------------------------------------------------
class WallLoader:
    """Opens a session file, twin or scenario into a wall's session on worker threads, then
    (for a scenario) runs it through the session core and shows its KPIs on the tiles.

    Parameters
    ----------
    wall
        The wall whose session receives the layers.
    on_ready
        Called on the GUI thread once the layers are in (before a scenario run finishes).
    """

    def __init__(self, wall: QtWallWindow, on_ready: Any = None) -> None:
        self.wall = wall
        self.on_ready = on_ready
        self.task: Any = None
        self.error: str = ""
        self.timezone = "UTC"
        wall.closed.connect(self._on_wall_closed)

    def _on_wall_closed(self) -> None:
        """The wall closed: stop the load or run, and show nothing of it on the closed wall."""
        if self.task is not None:
            self.task.cancel()
            self.task.detach()
            self.task = None

    @property
    def busy(self) -> bool:
        """True while loading or running."""
        return self.task is not None

    def start(self, path: Path) -> None:
        """Open `path` (session, twin or scenario) in the background."""
        from twin_app.ui.background import BackgroundTask

        kind = wall_target_kind(path)
        session = self.wall.session
        scenario: Any = None
        if kind == "scenario":
            from twin_app.scenarios.file import load_scenario

            scenario = load_scenario(path)
            if scenario.twin is None:
                raise InputError(f"{path}: the scenario names no twin (twin = ...) to show")

        def work(progress: Any, cancelled: Any) -> Any:
            if kind == "session":
                data = Session.read_session_file(path)
                return Session.load_session_file(data, path, progress, cancelled)
            twin = scenario.twin if scenario is not None else path
            return session.open_twin(twin, progress, cancelled)  # so closing the wall stops it

        def done(result: Any, error: BaseException | None) -> None:
            self.task = None
            if error is not None:
                self._fail(error)
                return
            if kind == "session":
                session.restore(result)
                twins = result.twins
            else:
                session.add_twin(result, describe=False)
                twins = [result]
            if twins:
                self.timezone = twins[0].timezone
                self.wall.tz = ZoneInfo(self.timezone)
                self.wall.ticker.set_timezone(self.timezone)
                self.wall.show_title()
            self.wall.set_status("")
            if self.on_ready is not None:
                self.on_ready()
            if scenario is not None:
                self._run(path)

        self.wall.set_status(f"opening {Path(path).name}…")
        self.task = BackgroundTask(work, done).start()

    def _run(self, path: Path) -> None:
        from twin_app.ui.background import BackgroundTask

        session = self.wall.session
        scenario = session.open_scenario(path)

        def done(result: Any, error: BaseException | None) -> None:
            self.task = None
            if error is not None:
                self._fail(error)
                return
            session.show_result(result)
            self.wall.show_session_scenario()
            self.wall.caption.setText(scenario.name)
            self.wall.set_status("")
            self.wall.prepare_stories()

        self.wall.set_status(f"running {scenario.name}…")
        self.task = BackgroundTask(
            lambda progress, cancelled: session.run_scenario(progress, cancelled, scenario), done
        ).start()

    def _fail(self, error: BaseException) -> None:
        text = str(error) if isinstance(error, TwinError) else f"{type(error).__name__}: {error}"
        self.error = text
        self.wall.session.messages.emit("error", text)
        self.wall.set_status(f"error: {text[:80]}")


def run_wall(
    target: Path,
    *,
    screen: int = 0,
    size: tuple[int, int] | None = None,
    tour_s: float = 30.0,
    replay_rate: float = 100.0,
    live: str | None = None,
    mapping: Path | None = None,
    charts: Sequence[str] = (),
    stale_factor: float = STALE_FACTOR,
    stories: Sequence[Path] = (),
    twin_stories: bool = True,
) -> int:
    """``twin wall``: open `target` on a wall window and run the event loop until it is left.

    Replay loops over the data at `replay_rate`; with `live` (``host:port``) the session
    subscribes to that MQTT broker (and keeps retrying through outages). The tour plays the
    `stories` after each round of stops, and, with `twin_stories`, the stories a twin target
    ships in its ``stories/`` folder.
    """
    from PySide6.QtWidgets import QApplication

    from twin_app.session.wall import wall_stories

    kind = wall_target_kind(target)  # a bad path fails here, before any window
    loaded = wall_stories(target, stories, twin_stories)  # so does a bad story
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setApplicationName("twin_app")
    from twin_app.ui.gui_gc import collect_on_gui_thread

    collect_on_gui_thread()  # Qt/VTK cycles are never freed on a worker thread
    session = Session()
    wall = QtWallWindow(session, tour_s=tour_s, charts=charts, stale_factor=stale_factor)
    wall.add_stories(loaded)

    def ready() -> None:
        c = session.clock
        c.loop = True
        if not math.isclose(c.rate, replay_rate):
            c.set_rate(replay_rate)
        if live:
            session.live.connect(live, mapping)
        elif not c.playing:
            c.play()
        wall.start_tour()
        if kind != "scenario":  # a scenario target runs its stories' scenarios after its own
            wall.prepare_stories()

    loader = WallLoader(wall, ready)
    wall.show_on(screen, size)
    loader.start(target)
    wall.closed.connect(app.quit)
    code = int(app.exec())
    session.live.disconnect()
    return code if not loader.error else 2
