"""The Scenario panel: interventions, pick on the map, Run with progress and cancel, KPI table.

A thin front end over the session's scenario verbs (:mod:`twin_app.session.scenario`): every
edit is a session verb (undoable), the run is :meth:`Session.run_scenario` on a worker thread
(:class:`~twin_app.ui.background.BackgroundTask`) and its result goes to
:meth:`Session.show_result` on the GUI thread; the list and the KPI table follow the session's
:class:`~twin_app.session.scenario.ScenarioState`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.errors import CancelledError, TwinError
from twin_app.session import Selection, Session

if TYPE_CHECKING:
    from twin_app.ui.background import BackgroundTask

SCENARIO_FILTER = "Scenario files (*.toml);;All files (*)"
GOOD = QColor("#1b7f3b")
BAD = QColor("#b3261e")
#: The numbers of a run made on an earlier version of the scenario.
STALE_GREY = QColor("#8a8a8a")
STALE_TEXT = (
    "Out of date: the scenario changed since this run (the KPIs and the compare view show "
    "the run before). Run (F5) to update."
)
#: Kinds offered by "Add", grouped by study (one submenu each), in menu order.
ADD_GROUPS: dict[str, tuple[str, ...]] = {
    "Traffic": ("close_road", "set_capacity", "set_speed", "add_link"),
    "Water": ("close_pipe", "leak", "pump_outage", "set_demand"),
    "Buildings && sun": ("add_building", "add_ifc", "remove_building", "set_height"),
    "Air": ("add_source", "remove_source", "set_source", "cut_traffic"),
    "Patrol": ("add_robots", "remove_robots", "set_fleet", "patrol_route"),
    "5G": ("add_station", "remove_station", "set_station"),
}
#: Every kind offered by "Add", in menu order.
ADD_KINDS = tuple(k for kinds in ADD_GROUPS.values() for k in kinds)


def _number(v: float) -> str:
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e7):
        return f"{v:.3g}"
    return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"


def _short(v: Any) -> str:
    """A field's value for the list: footprints as a corner count, numbers to 6 digits, a
    file by its name."""
    if isinstance(v, Path):
        return v.name
    if isinstance(v, tuple | list):
        if v and isinstance(v[0], tuple | list):
            return f"{len(v)} corners"
        return "(" + ", ".join(_short(x) for x in v) + ")"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def describe(spec: Any) -> str:
    """One line for the list: the kind and what it acts on."""
    kind = spec.kind
    for key in ("links", "pipes", "pumps", "junctions", "buildings", "sources", "stations"):
        ids = getattr(spec, key, None)
        if ids is not None:
            shown = ", ".join(ids[:3]) + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")
            rest = {
                k: v
                for k, v in spec.model_dump().items()
                if k not in ("kind", key) and v is not None
            }
            extra = ", ".join(f"{k}={_short(v)}" for k, v in rest.items())
            return f"{kind}: {shown or 'all'}" + (f" ({extra})" if extra else "")
    items = {
        k: v
        for k, v in spec.model_dump(by_alias=True).items()
        if k != "kind" and v is not None and v != ()
    }
    return f"{kind}: " + ", ".join(f"{k}={_short(v)}" for k, v in items.items())


class QtScenarioPanel(QWidget):
    """Interventions, Pick on map, Run / Cancel with progress, KPI table, Open/Save, Compare.

    Signals
    -------
    compare_requested()
        The user asked to see the compare view.
    run_finished(bool)
        A run ended (True: a result is shown).
    sweep_finished(bool)
        A sweep ended (True: its ranking is shown).
    isolation_finished(bool)
        The valves isolating a break were found (True) or not.
    """

    compare_requested = Signal()
    run_finished = Signal(bool)
    sweep_finished = Signal(bool)
    isolation_finished = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._task: Any = None
        self.name_label = QLabel()
        self.name_label.setWordWrap(True)

        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a scenario file (.toml)")
        self.open_button.clicked.connect(self._on_open)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the scenario to its file (asks where the first time)")
        self.save_button.clicked.connect(lambda: self.save())
        files = QHBoxLayout()
        files.addWidget(self.open_button)
        files.addWidget(self.save_button)
        files.addStretch(1)

        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.itemDoubleClicked.connect(lambda item: self.edit(self.list.row(item)))
        self.add_button = QToolButton()
        self.add_button.setText("Add")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        #: "Add" menu action of each kind (in its study's submenu).
        self.add_actions: dict[str, Any] = {}
        for group, kinds in ADD_GROUPS.items():
            sub = menu.addMenu(group)
            for kind in kinds:
                action = sub.addAction(kind.replace("_", " "))
                action.triggered.connect(self._adder(kind))
                self.add_actions[kind] = action
        self.add_button.setMenu(menu)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit(self.list.currentRow()))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._on_remove)
        self.pick_button = QPushButton("Pick on map")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip(
            "While on, a click on a road closes it and a click on a pipe or valve shuts it"
        )
        edits = QHBoxLayout()
        for w in (self.add_button, self.edit_button, self.remove_button, self.pick_button):
            edits.addWidget(w)
        # Place modes (twin_app.ui.place_modes: the window wires them to its 3D view).
        self.draw_button = QPushButton("Draw building")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip(
            "Click a new building's corners on the ground; Enter or double-click finishes, "
            "Backspace removes the last corner, Esc cancels"
        )
        self.station_button = QPushButton("Place station")
        self.station_button.setCheckable(True)
        self.station_button.setToolTip("Click a roof or the ground to place a 5G base station")
        self.demolish_button = QPushButton("Demolish selected")
        self.demolish_button.setToolTip("Remove the buildings selected on the map")
        self.demolish_button.clicked.connect(self.demolish_selected)
        self.height_button = QPushButton("Set height…")
        self.height_button.setToolTip("Give the buildings selected on the map a new height")
        self.height_button.clicked.connect(self._on_set_height)
        places = QHBoxLayout()
        for w in (self.draw_button, self.station_button, self.demolish_button, self.height_button):
            places.addWidget(w)
        #: The last isolation found (valves proposed for a pipe break) and the row it is for.
        self.isolation: Any = None
        self._showing = False
        self._isolation_row = -1
        self.isolate_button = QPushButton("Isolate break…")
        self.isolate_button.setToolTip(
            "Find the valves that isolate the selected pipe closure or break, and show the "
            "segment they cut off"
        )
        self.isolate_button.clicked.connect(lambda: self.isolate(self.list.currentRow()))
        self.shut_button = QPushButton("Shut these valves")
        self.shut_button.setToolTip("Replace the closure by shutting the proposed valves")
        self.shut_button.setEnabled(False)
        self.shut_button.clicked.connect(self.shut_valves)
        water = QHBoxLayout()
        water.addWidget(self.isolate_button)
        water.addWidget(self.shut_button)

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the scenario against the baseline (F5)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.compare_button = QPushButton("Compare view")
        self.compare_button.setToolTip("Baseline and scenario side by side, or a swipe")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare_requested.emit)
        self.sweep_button = QPushButton("Sweep…")
        self.sweep_button.setToolTip(
            "Close each road (or pipe) in turn on Dask workers and rank the closures"
        )
        self.sweep_button.clicked.connect(self._on_sweep)
        run = QHBoxLayout()
        run.addWidget(self.run_button)
        run.addWidget(self.progress, 1)
        run.addWidget(self.cancel_button)

        self.kpi_table = QTableWidget(0, 5)
        self.kpi_table.setHorizontalHeaderLabels(["KPI", "Baseline", "Scenario", "Change", "Unit"])
        self.kpi_table.verticalHeader().hide()
        self.kpi_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.kpi_table.horizontalHeader()
        # Every column as wide as its text (KPI names are the ones the CLI and files use); a
        # narrow dock scrolls sideways rather than cutting the names off.
        for c in range(5):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.name_label)
        layout.addLayout(files)
        layout.addWidget(QLabel("Interventions"))
        layout.addWidget(self.list, 1)
        layout.addLayout(edits)
        layout.addLayout(places)
        layout.addLayout(water)
        layout.addLayout(run)
        layout.addWidget(self.status)
        self.stale_label = QLabel(STALE_TEXT)
        self.stale_label.setWordWrap(True)
        self.stale_label.setStyleSheet("QLabel { color: #b26a00; font-weight: 600; }")
        self.stale_label.hide()
        layout.addWidget(self.stale_label)
        self.ranking_table = QTableWidget(0, 0)
        self.ranking_table.verticalHeader().hide()
        self.ranking_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ranking_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.tabs = QTabWidget()
        self.tabs.addTab(self.kpi_table, "KPIs")
        self.tabs.addTab(self.ranking_table, "Sweep ranking")
        layout.addWidget(self.tabs, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.compare_button, 1)
        bottom.addWidget(self.sweep_button)
        layout.addLayout(bottom)

        st = session.scenario_state
        st.events.scenario.connect(self._refresh_list)
        st.events.path.connect(self._refresh_list)
        st.events.kpis.connect(self._refresh_kpis)
        st.events.comparison.connect(self._on_comparison)
        st.events.sweep.connect(self._refresh_ranking)
        session.selection_changed.connect(self._on_selection)
        self._refresh_list()
        self._refresh_kpis()

    # -- the list -----------------------------------------------------------------------------
    def _refresh_list(self, *_: Any) -> None:
        st = self.session.scenario_state
        row = self.list.currentRow()
        self.list.clear()
        for spec in st.interventions:
            QListWidgetItem(describe(spec), self.list)
        if self.list.count():
            self.list.setCurrentRow(min(max(row, 0), self.list.count() - 1))
        name = st.scenario.name if st.scenario is not None else "(new scenario)"
        where = st.path.name if st.path is not None else "not saved"
        self.name_label.setText(f"<b>{name}</b> — {where}{' *' if st.dirty else ''}")
        self._refresh_kpis()  # out of date, or current again after an undo

    def _report(self, level: str, text: str) -> None:
        self.session.messages.emit(level, text)
        self.status.setText(text)

    def _adder(self, kind: str) -> Callable[[], None]:
        return lambda: self.add(kind)

    def add(self, kind: str) -> None:
        """Ask for a new intervention of `kind` in a small form and add it."""
        from twin_app.ui.intervention_form import QtInterventionForm

        form = QtInterventionForm(_spec_class(kind), None, self)
        if form.exec() and form.spec is not None:
            self._try(lambda: self.session.add_intervention(form.spec))

    def edit(self, row: int) -> None:
        """Edit intervention `row` in a small form."""
        from twin_app.ui.intervention_form import QtInterventionForm

        items = self.session.scenario_state.interventions
        if not 0 <= row < len(items):
            return
        spec = items[row]
        form = QtInterventionForm(type(spec), spec, self)
        if form.exec() and form.spec is not None and form.spec != spec:
            self._try(lambda: self.session.replace_intervention(row, form.spec))

    def _on_remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self._try(lambda: self.session.remove_intervention(row))

    def _try(self, fn: Any) -> Any:
        try:
            return fn()
        except TwinError as exc:
            self._report("warning", str(exc))
            return None

    # -- pick on the map ----------------------------------------------------------------------
    @property
    def picking(self) -> bool:
        """True while a click on the map closes a road or shuts a pipe."""
        return self.pick_button.isChecked()

    def _on_selection(self, sel: Selection) -> None:
        if not self.picking or sel.empty or self._showing:
            return
        layer = self.session.find_layer(sel.layer_uid)
        if layer is None:
            return
        if layer.kind == "roads" or getattr(layer, "roads", None) is not None:
            spec = self._try(lambda: self.session.close_roads_at(sel))
        elif layer.kind == "pipes":
            spec = self._try(lambda: self.session.close_pipes_at(sel))
        else:
            self.status.setText(f"{layer.name}: pick a road or a pipe")
            return
        if spec is not None:
            self.status.setText(f"added {describe(spec)}")

    # -- selected buildings ---------------------------------------------------------------------
    def demolish_selected(self) -> None:
        """Remove the buildings selected on the map (one ``remove_building``)."""
        spec = self._try(lambda: self.session.remove_buildings_at(self.session.selection))
        if spec is not None:
            self.status.setText(f"added {describe(spec)}")

    def set_height_selected(self, height_m: float) -> None:
        """Give the buildings selected on the map a new height (one ``set_height``)."""
        sel = self.session.selection
        spec = self._try(lambda: self.session.set_height_at(sel, height_m))
        if spec is not None:
            self.status.setText(f"added {describe(spec)}")

    def _on_set_height(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        height, ok = QInputDialog.getDouble(
            self, "Set height", "Height of the selected buildings (m):", 30.0, 1.0, 2000.0, 1
        )
        if ok:
            self.set_height_selected(float(height))

    # -- files --------------------------------------------------------------------------------
    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", "", SCENARIO_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> None:
        """Open a scenario file (errors go to the messages)."""
        if self._try(lambda: self.session.open_scenario(path)) is not None:
            self.status.setText(f"opened {path.name}")

    def save(self, path: Path | None = None, ask: bool = False) -> Path | None:
        """Save the scenario (to `path`, its file, or a file the user picks)."""
        st = self.session.scenario_state
        if path is None and (ask or st.path is None):
            name, _ = QFileDialog.getSaveFileName(self, "Save scenario", "", SCENARIO_FILTER)
            if not name:
                return None
            path = Path(name)
        saved: Path | None = self._try(lambda: self.session.save_scenario(path))
        if saved is not None:
            self._refresh_list()
            self.status.setText(f"saved {saved.name}")
        return saved

    # -- running ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a run is on its worker thread."""
        return self._task is not None

    def run(self) -> None:
        """Run the scenario on a worker thread; the result is shown when it returns."""
        session = self.session
        snapshot = session.scenario  # what the user sees now (frozen), taken here
        self._start(
            lambda progress, cancelled: session.run_scenario(progress, cancelled, snapshot),
            self._show_run,
            self.run_finished,
            "running…",
        )

    def sweep(
        self,
        each: str,
        where: str | None = None,
        scheduler: str | None = None,
        workers: int | None = None,
    ) -> None:
        """Run a sweep (one closure per road or pipe) on a worker thread; the ranking is shown
        in the "Sweep ranking" tab when it returns."""
        session = self.session
        snapshot = session.scenario
        self._start(
            lambda progress, cancelled: session.run_sweep(
                each, where, scheduler, workers, progress, cancelled, snapshot
            ),
            self._show_sweep,
            self.sweep_finished,
            f"sweeping each {each}… (starting the workers)",
        )

    def isolate(self, row: int) -> None:
        """Find the valves isolating the pipe of intervention `row` (a ``close_pipe``'s first
        pipe or a ``leak`` on a pipe) on a worker thread; the segment is then selected on the
        map and "Shut these valves" offered."""
        items = self.session.scenario_state.interventions
        spec = items[row] if 0 <= row < len(items) else None
        pipe = None
        if spec is not None and spec.kind == "close_pipe":
            pipe = spec.pipes[0]
        elif spec is not None and spec.kind == "leak" and spec.pipe is not None:
            pipe = spec.pipe
        if pipe is None:
            self._report("warning", "select a pipe closure or a pipe break in the list first")
            return
        session = self.session
        self._isolation_row = row
        self._start(
            lambda progress, cancelled: session.isolate_pipe(pipe),
            self._show_isolation,
            self.isolation_finished,
            f"finding the valves that isolate {pipe}…",
        )

    def _show_isolation(self, iso: Any) -> str:
        self.isolation = iso
        self.shut_button.setEnabled(True)
        self._showing = True  # the segment's selection is not a pick
        try:
            self.session.show_isolation(iso)
        finally:
            self._showing = False
        valves = ", ".join(f"{link} at {node}" for link, node in iso.valves)
        return (
            f"{iso.pipe}: shut {len(iso.valves)} valve{'s' if len(iso.valves) != 1 else ''} "
            f"({valves}); the segment has {len(iso.pipes)} pipes and {len(iso.nodes)} "
            f"junctions, {1000 * iso.demand_cut_m3s:.2f} L/s of demand cut"
        )

    def shut_valves(self) -> None:
        """Replace the isolated closure by shutting the proposed valves (undoable)."""
        iso = self.isolation
        if iso is None:
            return
        items = self.session.scenario_state.interventions
        row = self._isolation_row if 0 <= self._isolation_row < len(items) else None
        spec = self._try(lambda: self.session.shut_isolation(iso, row))
        if spec is not None:
            self.status.setText(f"shut the valves: {describe(spec)}")
        self.isolation = None
        self.shut_button.setEnabled(False)

    def _on_sweep(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        each, ok = QInputDialog.getItem(self, "Sweep", "Close each:", ["road", "pipe"], 0, False)
        if not ok:
            return
        where, ok = QInputDialog.getText(
            self,
            "Sweep",
            "Only elements where (empty: all), e.g. flow_baseline > 1000 or diameter_m > 0.2:",
        )
        if ok:
            self.sweep(str(each), where.strip() or None)

    def _start(self, work: Any, show: Callable[[Any], str], finished: Any, label: str) -> None:
        from twin_app.ui.background import BackgroundTask

        if self._task is not None:
            self._report("warning", "a scenario run or sweep is running; wait or cancel it")
            return
        _ = self.session.scenario  # a default scenario is made here, on the GUI thread

        def done(result: Any, error: BaseException | None) -> None:
            self._on_done(result, error, show, finished)

        self._task = BackgroundTask(work, done, self._on_progress)
        for b in (self.run_button, self.sweep_button, self.isolate_button):
            b.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(label)
        self._task.start()

    def cancel(self) -> None:
        """Ask the run or sweep to stop at its next check."""
        if self._task is not None:
            self._task.cancel()

    def stop_task(self) -> BackgroundTask | None:
        """Cancel the run or sweep and show nothing of it (the panel is closing); returns its
        task, whose thread may still be ending, or None."""
        task: BackgroundTask | None = self._task
        self._task = None
        if task is not None:
            task.cancel()
            task.detach()
            for b in (self.run_button, self.sweep_button, self.isolate_button):
                b.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.progress.setValue(0)
        return task

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self.status.setText(message)

    def _show_run(self, result: Any) -> str:
        self.session.show_result(result)
        self.tabs.setCurrentWidget(self.kpi_table)
        return "\n".join([f"{result.name}: ran in {result.elapsed_s:.2f} s", *result.conditions])

    def _show_sweep(self, result: Any) -> str:
        self.session.show_sweep(result)
        self.tabs.setCurrentWidget(self.ranking_table)
        n = len(result.ranking)
        where = f"{result.workers} workers" if result.workers else "in this process"
        return f"swept {n} {result.each}s in {result.elapsed_s:.1f} s ({where})"

    def _on_done(
        self, result: Any, error: BaseException | None, show: Callable[[Any], str], finished: Any
    ) -> None:
        self._task = None
        for b in (self.run_button, self.sweep_button, self.isolate_button):
            b.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(100 if error is None else 0)
        if error is None:
            self.status.setText(show(result))
        elif isinstance(error, CancelledError):
            self._report("info", "cancelled: nothing changed")
        elif isinstance(error, TwinError):
            self._report("error", str(error))
        else:
            self._report("error", f"failed: {type(error).__name__}: {error}")
        finished.emit(error is None)

    def wait(self, timeout_s: float = 60.0) -> None:
        """Block until the running task's thread ends (tests, shutdown)."""
        if self._task is not None:
            self._task.join(timeout_s)

    # -- results ------------------------------------------------------------------------------
    def _refresh_kpis(self, *_: Any) -> None:
        rows = self.session.scenario_state.kpis
        stale = self.session.scenario_state.stale
        self.stale_label.setVisible(stale)
        self.kpi_table.setRowCount(len(rows))
        for r, k in enumerate(rows):
            cells = [k.name, _number(k.baseline), _number(k.scenario), _number(k.delta), k.unit]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (1, 2, 3):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if c in (1, 2, 3) and stale:
                    item.setForeground(QBrush(STALE_GREY))
                    item.setToolTip("out of date: run the scenario (F5)")
                elif c == 3 and k.good is not None:
                    item.setForeground(QBrush(GOOD if k.good else BAD))
                    item.setToolTip("better" if k.good else "worse")
                elif c == 3 and k.note:
                    item.setToolTip(f"not judged: {k.note}")
                self.kpi_table.setItem(r, c, item)

    def _refresh_ranking(self, *_: Any) -> None:
        result = self.session.scenario_state.sweep
        table = self.ranking_table
        if result is None:
            table.setRowCount(0)
            return
        ranking = result.ranking
        main = f"{result.main_kpi}_delta"
        cols = ["rank", "id", main] + [
            c for c in ranking.columns if c.endswith("_delta") and c != main
        ]
        table.setColumnCount(len(cols))
        table.setHorizontalHeaderLabels(cols)
        table.setRowCount(len(ranking))
        data = {c: ranking[c].to_numpy() for c in cols}
        for r in range(len(ranking)):
            for c, name in enumerate(cols):
                v = data[name][r]
                text = str(v) if name in ("rank", "id") else _number(float(v))
                table.setItem(r, c, QTableWidgetItem(text))

    def _on_comparison(self, *_: Any) -> None:
        self.compare_button.setEnabled(self.session.scenario_state.comparison is not None)


def _spec_class(kind: str) -> Any:
    """The pydantic class of an intervention kind (every member of the file's union)."""
    from typing import get_args

    from twin_app.scenarios import file

    union = get_args(file.Intervention)[0]
    classes = {c.model_fields["kind"].default: c for c in get_args(union)}
    return classes[kind]
