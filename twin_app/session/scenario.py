"""The scenario a session edits, runs and compares with its baseline (issue 8). No Qt.

A :class:`ScenarioState` (evented with psygnal, like the layers and the Camera) holds the
current :class:`~twin_app.scenarios.file.Scenario` (frozen pydantic), the file it was read from
or saved to, the last :class:`~twin_app.scenarios.model.ScenarioResult`, its KPI rows and the
:class:`~twin_app.session.compare.Comparison` built from it. :class:`ScenarioVerbs` gives the
:class:`~twin_app.session.core.Session` its scenario verbs, each edit one undoable command on
the session's command stack:

- :meth:`~ScenarioVerbs.new_scenario`, :meth:`~ScenarioVerbs.open_scenario`,
  :meth:`~ScenarioVerbs.save_scenario` (atomic, through
  :func:`twin_app.scenarios.file.save_scenario`);
- :meth:`~ScenarioVerbs.add_intervention`, :meth:`~ScenarioVerbs.replace_intervention`,
  :meth:`~ScenarioVerbs.remove_intervention`; :meth:`~ScenarioVerbs.close_roads_at` and
  :meth:`~ScenarioVerbs.close_pipes_at` make a ``close_road`` / ``close_pipe`` from selected
  features (a road's ``id`` is its OSM way id ``way/123``; a pipe's is its EPANET link id);
- :meth:`~ScenarioVerbs.run_scenario`: pure, safe on a worker thread. It runs on a snapshot (the
  frozen scenario and the session's :class:`BaselineCache`): the baseline traffic model, its
  equilibrium and the baseline water run are computed once per session and settings, so a
  second run only solves the scenario, warm-started from the baseline flows;
- :meth:`~ScenarioVerbs.show_result` (GUI thread): the comparison's road result layer carries
  ``flow_veh_h`` per road segment (found through ``segment_row``) and its change
  ``flow_delta_veh_h``; the pipes carry ``pressure_m``, the mean of the lowest pressures of
  each pipe's end junctions over the run, and its change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from psygnal import Signal, SignalGroup, evented

from twin_app.errors import TwinError
from twin_app.model.commands import Command, CommandStack
from twin_app.scenarios.run import BaselineCache
from twin_app.session.scenario_place import PlaceVerbs

if TYPE_CHECKING:
    from psygnal.containers import EventedList

    from twin_app.engines.water import Isolation
    from twin_app.model.layers import Layer
    from twin_app.scenarios.file import ClosePipe, CloseRoad, Scenario
    from twin_app.scenarios.model import ScenarioResult
    from twin_app.scenarios.sweep import SweepResult
    from twin_app.session.compare import Comparison
    from twin_app.session.core import Selection

#: ``progress(fraction 0..1, message)``.
Progress = Callable[[float, str], None]

#: KPIs where a rise is bad (the rest of the known ones: a rise is good).
WORSE_WHEN_HIGHER = frozenset(
    {
        "tstt_veh_h",
        "vkt_km",
        "delay_veh_h",
        "od_pairs_disconnected",
        "links_over_capacity",
        "junctions_below_service_pressure",
        "demand_not_served_m3",
        "customers_affected",
        "sun_hours_lost_public_m2h",
        "buildings_losing_1h_sun",
        "shadow_area_noon_m2",
        "area_over_limit_m2",
        "population_over_limit",
        "max_concentration_ug_m3",
        "mean_concentration_ug_m3",
        "worst_revisit_min",
        "mean_response_min",
        "robots_needed_for_target",
        "stations_needed_for_target",
    }
)
#: KPIs where a rise is good.
BETTER_WHEN_HIGHER = frozenset(
    {
        "mean_speed_kmh",
        "min_pressure_m",
        "street_coverage_pct",
        "area_covered_pct",
        "buildings_covered_pct",
    }
)
#: KPIs summed over the trips assigned: when the scenario strands trips the baseline routes
#: (or routes trips it stranded), they compare different trips and are not judged.
TRIP_TOTALS = frozenset(
    {"tstt_veh_h", "vkt_km", "mean_speed_kmh", "delay_veh_h", "links_over_capacity"}
)
#: Changes smaller than this (relative to the baseline's magnitude) are shown as no change.
NEUTRAL_REL = 1e-9


class ScenarioError(TwinError):
    """A scenario edit that cannot be made (bad index, nothing selected to close)."""


@dataclass(frozen=True)
class KpiRow:
    """One row of the KPI table.

    Attributes
    ----------
    name, unit
        The KPI's name (``tstt_veh_h`` ...) and unit.
    baseline, scenario, delta
        Values; ``delta = scenario - baseline`` (NaN when either is NaN).
    good
        True when the change is an improvement, False when it is worse, None for no change, a
        KPI without a direction (``relative_gap``) or one not comparable (see `note`).
    note
        Why the change is not judged (``"other trips assigned"``), else ``""``.
    """

    name: str
    baseline: float
    scenario: float
    delta: float
    unit: str
    good: bool | None
    note: str = ""


def kpi_rows(result: ScenarioResult) -> tuple[KpiRow, ...]:
    """The KPI table of a result, each change judged good or bad by the KPI's direction.

    When the scenario leaves a different number of OD pairs without a route than the baseline
    (``od_pairs_disconnected`` changed), the :data:`TRIP_TOTALS` sum different trips: their
    changes are not judged (``note = "other trips assigned"``).
    """
    cut = next((k.delta != 0 for k in result.kpis if k.name == "od_pairs_disconnected"), False)
    rows = []
    for k in result.kpis:
        d = k.delta
        good: bool | None = None
        note = "other trips assigned" if cut and k.name in TRIP_TOTALS else ""
        small = not np.isfinite(d) or abs(d) <= NEUTRAL_REL * max(abs(k.baseline), 1.0)
        if note or small:
            pass
        elif k.name in WORSE_WHEN_HIGHER:
            good = d < 0
        elif k.name in BETTER_WHEN_HIGHER:
            good = d > 0
        rows.append(KpiRow(k.name, k.baseline, k.scenario, d, k.unit, good, note))
    return tuple(rows)


@evented
@dataclass(eq=False)
class ScenarioState:
    """The scenario a session edits (one signal per field: ``state.events.<field>``).

    Attributes
    ----------
    scenario
        The current :class:`~twin_app.scenarios.file.Scenario` (frozen; an edit replaces it),
        or None before :meth:`ScenarioVerbs.new_scenario` / first edit.
    path
        The file it was opened from or last saved to (None: never saved).
    saved
        The scenario as last opened or saved (``dirty`` compares with it).
    result
        The last :class:`~twin_app.scenarios.model.ScenarioResult` shown, or None.
    kpis
        Its KPI table rows.
    comparison
        The :class:`~twin_app.session.compare.Comparison` built from it, or None.
    sweep
        The last :class:`~twin_app.scenarios.sweep.SweepResult` shown (its ranking), or None.
    """

    scenario: Any = None
    path: Path | None = None
    saved: Any = None
    result: Any = None
    kpis: tuple[KpiRow, ...] = ()
    comparison: Any = None
    sweep: Any = None

    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    @property
    def dirty(self) -> bool:
        """True when the scenario differs from the file it was opened from or saved to."""
        return self.scenario is not None and self.scenario != self.saved

    @property
    def stale(self) -> bool:
        """True when the result shown was run on another version of the scenario than the
        one being edited (an intervention added, changed or undone since): its KPIs and
        comparison are then out of date until the next run."""
        ran = getattr(self.result, "scenario", None)
        return ran is not None and ran != self.scenario

    @property
    def interventions(self) -> tuple[Any, ...]:
        """The current interventions (empty without a scenario)."""
        return () if self.scenario is None else tuple(self.scenario.interventions)


# -- the baseline, computed once per session ----------------------------------------------------
def run_with_baseline(
    scenario: Scenario,
    cache: BaselineCache,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ScenarioResult:
    """:func:`twin_app.scenarios.run.run_scenario` against the session's cached baselines."""
    from twin_app.scenarios.run import run_scenario

    return run_scenario(scenario, progress, cancelled, baselines=cache)


# -- the session's verbs ------------------------------------------------------------------------
class ScenarioVerbs(PlaceVerbs):
    """The scenario verbs of a :class:`~twin_app.session.core.Session` (a mixin: the session
    keeps its layers, twins, command stack and messages; this adds the scenario).

    Attributes
    ----------
    scenario_state
        The evented :class:`ScenarioState`.
    baselines
        The session's :class:`BaselineCache`.
    """

    if TYPE_CHECKING:
        layers: EventedList[Layer]
        twins: list[Path]
        commands: CommandStack
        messages: Signal

        def find_layer(self, uid: int) -> Layer | None: ...

        def select_features(self, layer: Layer, indices: Any) -> None: ...

    def _init_scenario(self) -> None:
        self.scenario_state = ScenarioState()
        self.baselines = BaselineCache()
        #: Comparisons set aside by :meth:`close_comparison` while :attr:`keep_comparisons`
        #: > 0, by the id of the result they show (with the result, so the id stays its own).
        self.parked_comparisons: dict[int, tuple[ScenarioResult, Any]] = {}
        self._keep_comparisons = 0

    @property
    def keep_comparisons(self) -> int:
        """How many closed comparisons are kept for their results to be shown again (0: none).

        A wall's tour shows the same few scenario results over and over; building a
        comparison's two scenes anew each time and dropping them after made the wall's memory
        swing by hundreds of MB a loop (issue 11). With this above 0, :meth:`close_comparison`
        sets the comparison aside (the oldest beyond the count is closed) and
        :meth:`show_result` of the same result object takes it back, views and all.
        """
        return self._keep_comparisons

    @keep_comparisons.setter
    def keep_comparisons(self, n: int) -> None:
        self._keep_comparisons = max(int(n), 0)
        self._evict_parked(self._keep_comparisons)

    def _evict_parked(self, keep: int) -> None:
        while len(self.parked_comparisons) > keep:
            _, cmp = self.parked_comparisons.pop(next(iter(self.parked_comparisons)))
            cmp.close()

    def prepare_engines(self) -> float:
        """Compile (or load from numba's disk cache) the traffic solver; seconds taken.

        The first run on a new machine compiles for about 10-15 s; the window calls this on a
        background thread at start so that the planner's first Run is not the one that pays.
        Safe on any thread; later calls cost nothing.
        """
        from twin_app.engines.traffic import compile_solver

        return compile_solver()

    # -- the current scenario ---------------------------------------------------------------
    def default_scenario(self, name: str = "Scenario") -> Scenario:
        """A scenario over the open twin (its roads and, when it has one, its water network)
        with no interventions; without a twin, one with no networks."""
        from twin_app.scenarios.file import Scenario, TrafficSection, WaterSection

        twin = self.twins[0] if self.twins else None
        if twin is None:
            return Scenario(name=name)
        water = WaterSection() if any(x.kind == "pipes" for x in self.layers) else None
        return Scenario(name=name, twin=twin, traffic=TrafficSection(), water=water)

    @property
    def scenario(self) -> Scenario:
        """The current scenario (a default one over the open twin until one is made)."""
        st = self.scenario_state
        cur = st.scenario
        if cur is None or (
            # the untouched default made before a twin was open: follow the twin
            cur.twin is None and not cur.interventions and st.path is None and self.twins
        ):
            name = cur.name if cur is not None else "Scenario"
            st.scenario = st.saved = self.default_scenario(name)
        current: Scenario = st.scenario
        return current

    def _set_scenario(self, text: str, new: Scenario, path: Path | None = None,
                      saved: Any = None, reset_saved: bool = False) -> None:  # fmt: skip
        """Replace the scenario as one undoable step (path and saved copy follow)."""
        st = self.scenario_state
        before = (st.scenario, st.path, st.saved)
        after = (
            new,
            path if reset_saved else st.path,
            saved if reset_saved else st.saved,
        )

        def apply(state: tuple[Any, Path | None, Any]) -> None:
            st.saved = state[2]
            st.path = state[1]
            st.scenario = state[0]

        self.commands.push(Command(text, lambda: apply(after), lambda: apply(before)))

    def new_scenario(self, name: str = "Scenario") -> Scenario:
        """Start a new scenario over the open twin (undoable; the old one comes back on undo)."""
        new = self.default_scenario(name.strip() or "Scenario")
        self._set_scenario(f"New scenario {new.name}", new, None, new, reset_saved=True)
        return new

    def open_scenario(self, path: Path | str) -> Scenario:
        """Read a scenario file and make it the current scenario (undoable).

        Raises
        ------
        InputError
            The file is not a valid scenario (one line naming the file and the key).
        """
        from twin_app.scenarios.file import load_scenario

        loaded = load_scenario(path)
        self._set_scenario(
            f"Open scenario {loaded.name}", loaded, loaded.file, loaded, reset_saved=True
        )
        return loaded

    def save_scenario(self, path: Path | str | None = None) -> Path:
        """Write the scenario atomically to `path` (default: the file it came from).

        Not an undo step (saving changes no content); the saved copy and the path are updated.

        Raises
        ------
        ScenarioError
            No path given and the scenario was never saved.
        SessionFileError
            The file cannot be written (the old file stays as it was).
        """
        from twin_app.scenarios.file import save_scenario

        st = self.scenario_state
        target = Path(path) if path is not None else st.path
        if target is None:
            raise ScenarioError(f"scenario {self.scenario.name!r}: choose a file to save it to")
        written = save_scenario(self.scenario, target)
        st.scenario = written  # equal content (the file is not compared): no event
        st.saved = written
        st.path = written.file
        assert written.file is not None
        return written.file

    def rename_scenario(self, name: str) -> None:
        """Give the scenario a new name (undoable)."""
        name = name.strip()
        if not name:
            raise ScenarioError("a scenario needs a name")
        if name != self.scenario.name:
            new = self.scenario.model_copy(update={"name": name})
            self._set_scenario(f"Rename scenario to {name}", new)

    def _with_interventions(self, items: list[Any]) -> Scenario:
        from twin_app.scenarios.file import scenario_from_dict

        s = self.scenario
        data = s.model_dump(by_alias=True)
        data["interventions"] = [x.model_dump(by_alias=True) for x in items]
        # Validate the whole scenario again: a spec is only valid inside a valid scenario.
        return scenario_from_dict(data, file=s.file)

    def add_intervention(self, spec: Any) -> int:
        """Append an intervention (a spec of :mod:`twin_app.scenarios.file`); returns its
        index. Undo removes it."""
        items = [*self.scenario.interventions, spec]
        self._set_scenario(f"Add {spec.kind}", self._with_interventions(items))
        return len(items) - 1

    def _index(self, i: int) -> int:
        n = len(self.scenario.interventions)
        if not -n <= i < n:
            raise ScenarioError(
                f"scenario {self.scenario.name!r}: no intervention {i} (it has {n})"
            )
        return i % n

    def replace_intervention(self, i: int, spec: Any) -> None:
        """Replace intervention `i` (undo puts the old one back)."""
        i = self._index(i)
        items = list(self.scenario.interventions)
        items[i] = spec
        self._set_scenario(f"Edit {spec.kind}", self._with_interventions(items))

    def remove_intervention(self, i: int) -> None:
        """Remove intervention `i` (undo puts it back at the same place)."""
        i = self._index(i)
        items = list(self.scenario.interventions)
        gone = items.pop(i)
        self._set_scenario(f"Remove {gone.kind}", self._with_interventions(items))

    def _selected(self, selection: Selection, kind: str) -> tuple[Layer, list[str]]:
        layer = self.find_layer(selection.layer_uid)
        over = getattr(layer, "roads", None)
        if kind == "roads" and layer is not None and layer.kind != kind and over is not None:
            # A layer drawn over the roads (a traffic replay) picks by road row.
            layer = next((x for x in self.layers if x.feature_set() is over), layer)
        if layer is None or layer.kind != kind or selection.empty:
            what = "roads" if kind == "roads" else "pipes or valves"
            raise ScenarioError(f"select {what} on the map first")
        fs = layer.feature_set()
        assert fs is not None
        ids = [str(fs.ids[i]) for i in selection.indices]
        return layer, list(dict.fromkeys(ids))

    def close_roads_at(self, selection: Selection) -> CloseRoad:
        """Close the selected roads (both directions of each way) as one ``close_road``.

        Roads that carry no motor traffic in the traffic model (footways, cycleways, paths:
        see :data:`twin_app.scenarios.twin_traffic.ROAD_CLASSES`) are left out; when the
        baseline network is known already, so are roads outside it.

        Raises
        ------
        ScenarioError
            Nothing selected, not roads, or none of them is drivable.
        """
        from twin_app.scenarios.file import CloseRoad
        from twin_app.scenarios.twin_traffic import ROAD_CLASSES

        layer, ids = self._selected(selection, "roads")
        fs = layer.feature_set()
        assert fs is not None
        if "class" in fs.table:
            classes = fs.table["class"].astype(str).to_numpy(object)
            wanted = {str(fs.ids[i]) for i in selection.indices if classes[i] in ROAD_CLASSES}
            ids = [x for x in ids if x in wanted]
        cached = self.baselines.cached_traffic(self.scenario)
        if cached is not None:
            ids = [x for x in ids if cached[0].links_named(x).size]
        if not ids:
            raise ScenarioError(
                "the selected road carries no motor traffic in the model (a footway, a path, "
                "or cut off from the network); pick a street"
            )
        spec = CloseRoad(links=tuple(ids))
        self.add_intervention(spec)
        return spec

    def close_pipes_at(self, selection: Selection) -> ClosePipe:
        """Shut the selected pipes, valves or pumps (EPANET link ids) as one ``close_pipe``.

        Raises
        ------
        ScenarioError
            Nothing selected or not the water network.
        """
        from twin_app.scenarios.file import ClosePipe

        _, ids = self._selected(selection, "pipes")
        spec = ClosePipe(pipes=tuple(ids))
        self.add_intervention(spec)
        return spec

    # -- running and showing ------------------------------------------------------------------
    def run_scenario(
        self,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        scenario: Scenario | None = None,
    ) -> ScenarioResult:
        """Run a scenario against its (cached) baseline. Pure: safe on a worker thread; the
        session is not changed (show the result with :meth:`show_result`).

        Parameters
        ----------
        progress, cancelled
            See :func:`run_with_baseline`.
        scenario
            The snapshot to run (default: the current scenario). A front end takes it on the
            GUI thread when the user clicks Run, so edits made while it runs do not leak in.
        """
        snapshot = self.scenario if scenario is None else scenario
        return run_with_baseline(snapshot, self.baselines, progress, cancelled)

    def show_result(self, result: ScenarioResult) -> Comparison:
        """Show a result (GUI thread): the KPI rows, and the comparison's result layers.

        Through :meth:`~twin_app.session.compare.Comparison.show_result`: roads get
        ``flow_veh_h`` per road segment (via ``segment_row``), coloured on the scenario side by
        ``flow_delta_veh_h`` (diverging map, symmetric range); pipes ``pressure_m`` and
        ``pressure_delta_m`` from their end junctions. A second result writes into the same
        comparison's columns (the views recolour in place).

        Returns
        -------
        Comparison
        """
        from twin_app.model.layers import FeatureLayer
        from twin_app.model.sensors import PipeLayer
        from twin_app.session.compare import Comparison

        st = self.scenario_state
        parked = self.parked_comparisons.get(id(result))
        if parked is not None and parked[0] is result:
            # the same result shown again (a wall's tour): its comparison as it was left
            self.close_comparison()
            del self.parked_comparisons[id(result)]
            st.result, st.kpis, st.comparison = result, kpi_rows(result), parked[1]
            return parked[1]  # type: ignore[no-any-return]
        cmp: Comparison | None = st.comparison
        if cmp is not None and cmp.name != result.name:
            # Another scenario: its result layers are named for the old one and the views'
            # title too; start afresh (a re-run of the same scenario recolours in place).
            self.close_comparison()
            cmp = None
        if cmp is None:
            cmp = Comparison(self, result.name)  # type: ignore[arg-type]
        roads = next(
            (x for x in self.layers if x.kind == "roads" and isinstance(x, FeatureLayer)), None
        )
        pipes = next((x for x in self.layers if isinstance(x, PipeLayer)), None)
        # A study this run did not solve shows nothing: not a result of an earlier run.
        for base, solved in ((roads, result.links), (pipes, result.nodes)):
            if base is not None and solved is None:
                cmp.drop_result(base)
        notes = cmp.show_result(
            result,
            roads if result.links is not None else None,
            pipes if result.nodes is not None else None,
        )
        for note in notes:
            self.messages.emit("warning", note)
        st.result = result
        st.kpis = kpi_rows(result)
        st.comparison = cmp
        for w in result.warnings:
            self.messages.emit("warning", f"scenario {result.name!r}: {w}")
        return cmp

    # -- isolating a break ---------------------------------------------------------------------
    def isolate_pipe(self, pipe: str) -> Isolation:
        """The valves that isolate a break on `pipe` in the scenario's water network, and the
        segment they cut off (:func:`twin_app.engines.water.isolation`: wntr's valve segments
        over a strategic N-1 valve layer, as ``.inp`` files carry no isolation valves). Pure:
        safe on a worker thread.

        Raises
        ------
        InputError
            The scenario has no water network.
        EngineError
            No pipe with that id.
        """
        from twin_app.engines.water import isolation
        from twin_app.scenarios.run import baseline_water_model

        return isolation(baseline_water_model(self.scenario).inp_path, str(pipe))

    def show_isolation(self, iso: Isolation) -> int:
        """Select the isolated segment's pipes on the water layer (GUI thread); returns how
        many are selected (0 without a water layer)."""
        from twin_app.model.sensors import PipeLayer

        pipes = next((x for x in self.layers if isinstance(x, PipeLayer)), None)
        if pipes is None or pipes.features is None:
            return 0
        ids = np.asarray(pipes.features.ids).astype(str)
        rows = np.flatnonzero(np.isin(ids, np.asarray(iso.pipes, dtype=str)))
        self.select_features(pipes, rows)
        return int(rows.size)

    def shut_isolation(self, iso: Isolation, replace: int | None = None) -> ClosePipe:
        """Shut the valves that isolate a break: one ``close_pipe`` of the segment's links and
        the links the valves sit on (:attr:`Isolation.closed_links`), added, or standing in for
        intervention `replace` (one undoable step either way)."""
        from twin_app.scenarios.file import ClosePipe

        spec = ClosePipe(pipes=tuple(iso.closed_links))
        if replace is None:
            self.add_intervention(spec)
        else:
            self.replace_intervention(replace, spec)
        return spec

    def run_sweep(
        self,
        each: str,
        where: str | None = None,
        scheduler: str | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        scenario: Scenario | None = None,
    ) -> SweepResult:
        """Close each selected road (``each="road"``) or pipe (``"pipe"``) of the current
        scenario in turn and rank the closures (:func:`twin_app.scenarios.sweep.run_sweep`:
        Dask, a LocalCluster by default, ``scheduler="none"`` in this process, or a scheduler
        address). Pure, like :meth:`run_scenario`: safe on a worker thread."""
        from twin_app.scenarios.sweep import run_sweep

        return run_sweep(
            self.scenario if scenario is None else scenario,
            each,
            where=where or None,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            cancelled=cancelled,
        )

    def show_sweep(self, result: SweepResult) -> None:
        """Keep a sweep's ranking for the panels (GUI thread)."""
        self.scenario_state.sweep = result

    def close_comparison(self) -> None:
        """Drop the comparison (its result layers go with it), or set it aside for its result
        while :attr:`keep_comparisons` > 0."""
        st = self.scenario_state
        if st.comparison is not None:
            if self._keep_comparisons > 0 and st.result is not None:
                self.parked_comparisons.pop(id(st.result), None)
                self.parked_comparisons[id(st.result)] = (st.result, st.comparison)
                self._evict_parked(self._keep_comparisons)
            else:
                st.comparison.close()
            st.comparison = None

    def reset_scenario(self) -> None:
        """Forget the scenario, its result and the baselines (the session was cleared)."""
        self.close_comparison()
        self._evict_parked(0)
        st = self.scenario_state
        st.scenario = st.saved = st.result = st.sweep = None
        st.path = None
        st.kpis = ()
        self.baselines.clear()


__all__ = [
    "BaselineCache",
    "KpiRow",
    "ScenarioError",
    "ScenarioState",
    "ScenarioVerbs",
    "kpi_rows",
    "run_with_baseline",
]
