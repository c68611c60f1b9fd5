"""A scenario compared with its baseline: two layer lists over one session (issue 8).

A :class:`Comparison` holds two :class:`CompareSide` objects, the baseline and the scenario.
Each side is what a render :class:`~twin_app.render.viewer.Viewer` draws: a list of layers, a
selection, the underground mode, the sun and the Camera. Both sides share the session's layer
objects for everything the scenario did not change (buildings, ground, terrain: one layer
object drawn by both views, so hiding it hides it in both), the session's Camera (the two
views move together) and its Clock. Only what a scenario changed gets a *result layer* per
side: a layer of the base layer's class over a new :class:`~twin_app.model.city.FeatureSet`
that shares the base's mesh, ids and lines (no copy of the geometry) and whose table adds the
result columns (``flow_veh_h`` and ``flow_delta_veh_h``, ``pressure_m`` and
``pressure_delta_m`` ...). Result layers are coloured through the ordinary colour-by-column
path; the column's :func:`~twin_app.model.style.column_scale` gives the diverging map,
symmetric limits and the legend's "quantity (unit)".

New values (another run, or the next time step of a time series) are written into the
existing columns and the render adapters recolour in place: no mesh is built again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from psygnal import Signal, SignalInstance
from psygnal.containers import EventedList

from twin_app.errors import TwinError
from twin_app.model.camera import Camera
from twin_app.model.city import FeatureSet
from twin_app.model.clock import Clock
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import COLOR_SOLID, FeatureLayer, Layer, TimeLayer
from twin_app.model.style import ClassScale, ColorScale, column_clim, column_scale
from twin_app.model.sun import Sun
from twin_app.scenarios.model import ScenarioResult
from twin_app.session.core import Selection, Session

F64 = np.ndarray[Any, np.dtype[np.float64]]
How = Literal["absmax", "sum", "mean", "max", "min"]
Show = Literal["delta", "value"]

#: Change column of each value column (``<name>_delta`` for any other).
DELTA_COLUMNS = {"flow_veh_h": "flow_delta_veh_h", "pressure_m": "pressure_delta_m"}


class CompareError(TwinError, ValueError):
    """A result that does not fit the layer it is shown on."""


def delta_column(column: str) -> str:
    """The name of the change column of a value column (``flow_veh_h`` ->
    ``flow_delta_veh_h``; others get ``_delta`` appended)."""
    return DELTA_COLUMNS.get(column, f"{column}_delta")


def per_feature(values: Any, rows: Any, n: int, how: How = "absmax") -> F64:
    """Aggregate per-element values (links, node pairs) onto `n` feature rows.

    A scenario runner reports one value per network link, and ``rows[i]`` says which row of
    the drawn layer's feature table link ``i`` lies on (``segment_row``: the two directions
    of a two-way road share one road segment). Rows no element maps to get NaN ("no data");
    elements with a negative or out-of-range row, or a NaN value, are ignored.

    Parameters
    ----------
    values
        (m,) value per element.
    rows
        (m,) feature row per element.
    n
        Number of feature rows.
    how
        ``absmax``: the value of largest magnitude, sign kept (a closure that adds 300 veh/h
        one way and removes 50 the other is shown as +300; on a tie the larger value wins);
        ``sum``, ``mean``, ``max``, ``min``.

    Returns
    -------
    numpy.ndarray
        (n,) float64.

    Notes
    -----
    Node values onto pipes (a pipe's pressure change from its end nodes):
    ``per_feature(node_delta[link_nodes].ravel(), np.repeat(np.arange(n_links), 2), n_links,
    "mean")``.
    """
    v = np.asarray(values, np.float64).ravel()
    r = np.asarray(rows, np.int64).ravel()
    if v.shape != r.shape:
        raise CompareError(f"{v.size} values but {r.size} feature rows")
    ok = (r >= 0) & (r < n) & np.isfinite(v)
    v, r = v[ok], r[ok]
    out = np.full(int(n), np.nan)
    if not r.size:
        return out
    if how in ("sum", "mean"):
        count = np.bincount(r, minlength=n)
        total = np.bincount(r, weights=v, minlength=n)
        has = count > 0
        out[has] = total[has] / (count[has] if how == "mean" else 1)
        return out
    if how == "absmax":
        key = np.abs(v)
    elif how == "max":
        key = v
    elif how == "min":
        key = -v
    else:
        raise CompareError(f"unknown aggregation {how!r}: use absmax, sum, mean, max or min")
    # Sorted by row, then key, then value: the last element of each row's run wins.
    order = np.lexsort((v, key, r))
    rs = r[order]
    last = np.flatnonzero(np.append(rs[1:] != rs[:-1], True))
    out[rs[last]] = v[order][last]
    return out


def directional_sum(links: Any, column: str, n: int) -> F64:
    """A road segment's flow from its links: the two directions summed, each direction's
    flow the largest of its pieces.

    The twin's traffic network splits a way at its junctions into links ``way/1#1``,
    ``way/1#2`` ... (``#k@r`` against the digitised direction) that all lie on the way's
    one drawn segment; summing them would count one vehicle once per piece. A direction is
    a link id with its ``#k`` piece number removed (``way/1``, ``way/1@r``; a TNTP link
    ``3-4`` is its own direction).

    Parameters
    ----------
    links
        The result's links table (``id``, ``segment_row`` and `column`).
    column
        The per-link value column (veh per demand period).
    n
        Number of feature rows of the drawn roads.

    Returns
    -------
    numpy.ndarray
        (n,) float64, NaN where no link lies.
    """
    import pandas as pd

    rows = links["segment_row"].to_numpy(np.int64)
    direction = links["id"].astype(str).str.replace(r"#\d+", "", regex=True)
    key = pd.Series(direction.to_numpy()) + "|" + pd.Series(rows).astype(str)
    codes, uniques = pd.factorize(key)
    per_direction = per_feature(links[column].to_numpy(np.float64), codes, len(uniques), "max")
    direction_row = np.full(len(uniques), -1, np.int64)
    direction_row[codes] = rows
    return per_feature(per_direction, direction_row, n, "sum")


def _shadows(layer: Layer, fs: FeatureSet) -> bool:
    """True when `layer` draws over the features of `fs` (a traffic replay over the roads):
    on a side showing a result for `fs` it would hide the result."""
    return layer.feature_set() is fs or getattr(layer, "roads", None) is fs


class CompareSide:
    """One side of a comparison: what one view draws.

    It offers what a :class:`~twin_app.render.viewer.Viewer` reads from a session (layers,
    selection, underground mode, sun, frame, Camera) without being a second session: the
    layers are the session's own except where a result layer stands in for a changed one; the
    selection is the session's, with the uids of changed layers mapped to their result
    layers (picking a road on either side selects it in both).

    Attributes
    ----------
    session
        The session compared.
    name
        ``"Baseline"`` or the scenario's name.
    layers
        Evented list drawn bottom to top (the Viewer follows its events).

    Signals
    -------
    selection_changed(Selection)
        The session's selection changed (uids as this side draws them).
    """

    selection_changed = Signal(object)

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name
        self.layers: EventedList[Layer] = EventedList()
        #: base layer uid -> result layer of this side.
        self.results: dict[int, FeatureLayer] = {}
        #: key -> layers only this side draws (study rasters, movers, stations), drawn above
        #: the session's layers in key order of insertion.
        self.extras: dict[str, list[Layer]] = {}
        #: uids of session layers this side does not draw (:meth:`omit`).
        self.omitted: frozenset[int] = frozenset()
        self._links: list[tuple[SignalInstance, Callable[..., Any]]] = []
        session.selection_changed.connect(self._on_session_selection)
        self.sync()

    # -- what a Viewer reads -----------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        """The session's Camera (both sides move together)."""
        return self.session.camera

    @property
    def clock(self) -> Clock:
        """The session's Clock."""
        return self.session.clock

    @property
    def sun(self) -> Sun:
        """The session's sun."""
        return self.session.sun

    @property
    def frame(self) -> LocalFrame | None:
        """The session's local frame."""
        return self.session.frame

    @property
    def underground(self) -> str:
        """The session's underground mode."""
        return self.session.underground

    @property
    def underground_changed(self) -> SignalInstance:
        """The session's underground-mode signal."""
        return self.session.underground_changed

    def update_sun(self, t_ns: int | None = None, force: bool = False) -> None:
        """Place the session's sun (see :meth:`Session.update_sun`)."""
        self.session.update_sun(t_ns, force)

    def find_layer(self, uid: int) -> Layer | None:
        """The layer with this uid on this side."""
        for layer in self.layers:
            if layer.uid == uid:
                return layer
        return None

    # -- selection, shared with the session ---------------------------------------------------
    def _to_side(self, sel: Selection) -> Selection:
        result = self.results.get(sel.layer_uid)
        return Selection(result.uid, sel.indices) if result is not None else sel

    def _to_session(self, sel: Selection) -> Selection:
        for base_uid, result in self.results.items():
            if result.uid == sel.layer_uid:
                return Selection(base_uid, sel.indices)
        return sel

    @property
    def selection(self) -> Selection:
        """The session's selection, as this side draws it."""
        return self._to_side(self.session.selection)

    def _on_session_selection(self, sel: Selection) -> None:
        self.selection_changed.emit(self._to_side(sel))

    def select(self, selection: Selection) -> None:
        """Select in the session (a result layer's features select its base layer's)."""
        self.session.select(self._to_session(selection))

    def select_features(self, layer: Layer, indices: Any) -> None:
        """Select features of a layer by row (see :meth:`Session.select_features`)."""
        idx = tuple(int(i) for i in np.unique(np.asarray(indices, dtype=np.int64)))
        self.select(Selection(layer.uid, idx) if idx else Selection())

    # -- layers ----------------------------------------------------------------------------------
    def wanted(self) -> list[Layer]:
        """The layers this side should draw: the session's, result layers standing in for
        changed ones, layers drawing over a changed layer's features left out."""
        out: list[Layer] = []
        changed = [
            fs
            for layer in self.session.layers
            if layer.uid in self.results and (fs := layer.feature_set()) is not None
        ]
        # A study raster (sun, air, 5G) on the ground: the sensors' AQI surface would lie over
        # it in its own reds and purples, and lost sun hours would read as gained.
        rasters = any(x.kind == "raster" for xs in self.extras.values() for x in xs)
        for layer in self.session.layers:
            result = self.results.get(layer.uid)
            if layer.uid in self.omitted:
                continue
            if result is not None:
                out.append(result)
            elif rasters and layer.kind == "air" and getattr(layer, "show_surface", False):
                continue
            elif not any(_shadows(layer, fs) for fs in changed):
                out.append(layer)
        for layers in self.extras.values():
            out.extend(layers)
        return out

    def omit(self, layers: list[Layer]) -> None:
        """Leave these session layers out of this side (an IFC model the scenario proposes:
        not in the baseline, and drawn by the scenario's own buildings); an empty list brings
        every layer back."""
        self.omitted = frozenset(x.uid for x in layers)
        self.sync()

    def set_extras(self, key: str, layers: list[Layer]) -> None:
        """Draw `layers` on this side only, under `key` (a second call with the same key
        replaces them; an empty list removes them)."""
        if layers:
            self.extras[key] = list(layers)
        else:
            self.extras.pop(key, None)
        self.sync()

    def substitute(self, base: Layer, layer: FeatureLayer) -> None:
        """Draw `layer` in place of the session's `base` on this side (the scenario's
        buildings in place of the twin's); :meth:`drop` shows `base` again. Its visibility
        and opacity follow the base layer's from then on."""
        self.results[base.uid] = layer
        self._follow(base, layer)
        self.sync()

    def _follow(self, base: Layer, layer: Layer) -> None:
        """Hiding or fading `base` (the Layers panel) hides or fades `layer` too."""
        for name in ("visible", "opacity"):
            signal: SignalInstance = getattr(base.events, name)

            def follow(value: Any, *_: Any, _name: str = name) -> None:
                setattr(layer, _name, value)

            signal.connect(follow)
            self._links.append((signal, follow))

    def sync(self) -> None:
        """Bring :attr:`layers` in line with :meth:`wanted` by removals, insertions and moves
        (the views keep every adapter that stays: no mesh is built again)."""
        want = self.wanted()
        ids = {id(x) for x in want}
        for layer in [x for x in self.layers if id(x) not in ids]:
            self.layers.remove(layer)
        for i, layer in enumerate(want):
            have = [id(x) for x in self.layers]
            if id(layer) not in have:
                self.layers.insert(i, layer)
            elif have.index(id(layer)) != i:
                self.layers.move(have.index(id(layer)), i)

    def result_for(self, base: Layer) -> FeatureLayer:
        """This side's result layer for `base`, made on first use (shares the geometry).

        Its class is the base's when that is a feature layer (roads stay roads: the
        underground view fades them), else :class:`FeatureLayer` (pipes); visibility and
        opacity follow the base layer.
        """
        result = self.results.get(base.uid)
        if result is not None:
            return result
        fs = base.feature_set()
        if fs is None:
            raise CompareError(f"layer {base.name!r} draws no features to show a result on")
        # Same mesh, ids and lines; a table of its own (pandas copies columns on write).
        table = fs.table.copy(deep=False)
        features = dataclasses.replace(fs, name=f"{fs.name} ({self.name})", table=table)
        cls = type(base) if isinstance(base, FeatureLayer) else FeatureLayer
        result = cls(
            name=f"{base.name} ({self.name})",
            features=features,
            visible=base.visible,
            opacity=base.opacity,
            color=base.color,
            color_by=COLOR_SOLID,
        )
        self._follow(base, result)
        self.results[base.uid] = result
        self.sync()
        return result

    def drop(self, base: Layer) -> None:
        """Show `base` itself again (its result layer goes)."""
        if self.results.pop(base.uid, None) is not None:
            self.sync()

    def close(self) -> None:
        """Disconnect from the session (the side's layers stay as they are)."""
        self.session.selection_changed.disconnect(self._on_session_selection)
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links.clear()


def _restyle(layer: FeatureLayer) -> None:
    """Tell the views a layer's coloured column changed in place: they recolour the existing
    mesh (the colour-by signal is the restyle path; no field changes, so nothing rebuilds)."""
    layer.events.color_by.emit(layer.color_by, layer.color_by)


@dataclasses.dataclass(eq=False)
class _Result:
    """Per-feature values of one quantity on one base layer, over time or not."""

    base: Layer
    column: str
    baseline: F64  # (steps, n)
    scenario: F64  # (steps, n)
    delta: F64  # (steps, n)
    times_ns: np.ndarray[Any, np.dtype[np.int64]] | None
    step: int = -1


class Comparison:
    """A scenario beside its baseline: two sides over one session, one Camera, one Clock.

    Parameters
    ----------
    session
        The session whose layers are the baseline.
    name
        The scenario's name (the scenario side's result layers carry it).

    Attributes
    ----------
    baseline, scenario
        The two :class:`CompareSide` objects (bind one Viewer to each).
    show
        ``"delta"``: the scenario side shows the change, the baseline side the baseline
        values; ``"value"``: both sides show values, on one colour range.
    """

    def __init__(self, session: Session, name: str = "Scenario") -> None:
        self.session = session
        self.name = name
        self.baseline = CompareSide(session, "Baseline")
        self.scenario = CompareSide(session, name)
        self.show: Show = "delta"
        self._closed = False
        self._results: dict[tuple[int, str], _Result] = {}
        events = session.layers.events
        self._links: list[tuple[SignalInstance, Callable[..., Any]]] = [
            (events.inserted, self._on_layers),
            (events.removed, self._on_layer_removed),
            (events.moved, self._on_layers),
            (events.changed, self._on_layers),
            (session.clock.events.t_ns, self._on_time),
        ]
        for signal, slot in self._links:
            signal.connect(slot)

    @property
    def sides(self) -> tuple[CompareSide, CompareSide]:
        """(baseline, scenario)."""
        return (self.baseline, self.scenario)

    def changes(self) -> list[tuple[FeatureLayer, str]]:
        """The scenario side's result layers of :meth:`set_result`, each with the column of
        its change (:func:`delta_column`); not the layers a side only draws in place of the
        session's (:meth:`CompareSide.substitute`: the scenario's buildings), whose colours
        are values, not changes."""
        out = []
        for uid, column in self._results:
            layer = self.scenario.results.get(uid)
            if layer is not None:
                out.append((layer, delta_column(column)))
        return out

    def is_result(self, layer: Layer) -> bool:
        """True for a result layer or an extra (study raster, ...) of either side: what the
        comparison compares (the compare views give these a legend)."""
        return any(layer is r for side in self.sides for r in side.results.values()) or any(
            layer is x for side in self.sides for xs in side.extras.values() for x in xs
        )

    @property
    def camera(self) -> Camera:
        """The one Camera both sides show."""
        return self.session.camera

    @property
    def clock(self) -> Clock:
        """The one Clock both sides follow."""
        return self.session.clock

    def _on_layers(self, *_: Any) -> None:
        for side in self.sides:
            side.sync()

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        self.drop_result(layer)
        for side in self.sides:
            side.sync()

    def set_result(
        self,
        base: Layer,
        column: str,
        baseline: Any,
        scenario: Any,
        times_ns: Any = None,
        delta: Any = None,
    ) -> None:
        """Show per-feature values of one quantity on a layer's features.

        Parameters
        ----------
        base
            The session layer the values belong to (the roads, the pipes): row ``i`` of the
            values is row ``i`` of its feature table (use :func:`per_feature` to get there
            from per-link tables).
        column
            The quantity's column name, ideally one with a scale (``flow_veh_h``,
            ``pressure_m``, ``speed_ratio`` ...); the change goes to :func:`delta_column`.
        baseline, scenario
            (n,) values, or (steps, n) with `times_ns`; NaN where unknown.
        times_ns
            (steps,) UTC ns at which each row starts holding; the sides follow the session's
            Clock (each new step is written into the existing columns).
        delta
            The change per feature when it is not ``scenario - baseline`` (values summed
            over a segment's two directions, changes taken as the larger one; see
            :meth:`show_result`); same shape.
        """
        fs = base.feature_set()
        if fs is None:
            raise CompareError(f"layer {base.name!r} draws no features to show {column} on")
        b = np.atleast_2d(np.asarray(baseline, np.float64))
        s = np.atleast_2d(np.asarray(scenario, np.float64))
        n = fs.n_features
        if b.shape != s.shape or b.shape[1] != n:
            raise CompareError(
                f"{column} for layer {base.name!r}: baseline {b.shape} and scenario {s.shape} "
                f"values for {n} features"
            )
        t = None
        if times_ns is not None:
            t = np.asarray(times_ns, np.int64).ravel()
            if t.size != b.shape[0]:
                raise CompareError(f"{column}: {t.size} times for {b.shape[0]} steps")
        elif b.shape[0] != 1:
            raise CompareError(f"{column}: {b.shape[0]} steps need times_ns")
        self._results = {k: r for k, r in self._results.items() if k[0] != base.uid}
        d = s - b if delta is None else np.atleast_2d(np.asarray(delta, np.float64))
        if d.shape != s.shape:
            raise CompareError(f"{column}: delta {d.shape} for values {s.shape}")
        result = _Result(base, column, b, s, d, t)
        self._results[(base.uid, column)] = result
        self.baseline.result_for(base)
        self.scenario.result_for(base)
        self._write(result, self._step(result, self.session.clock.t_ns), force=True)
        self._apply_show(result)

    def drop_result(self, base: Layer) -> None:
        """Show `base` itself again on both sides (its results go)."""
        for key in [k for k in self._results if k[0] == base.uid]:
            del self._results[key]
        for side in self.sides:
            side.drop(base)

    def show_result(
        self,
        result: ScenarioResult,
        roads: Layer | None = None,
        pipes: Layer | None = None,
        traffic: Literal["flow", "vc"] = "flow",
    ) -> list[str]:
        """Show a scenario run's per-link and per-node tables on the session's layers.

        Roads (``result.links`` with ``segment_row``): ``flow``: a segment's flow is the sum
        of its two directions (:func:`directional_sum`: a direction split at junctions into
        pieces counts its busiest piece once), its change the larger change of the links
        (:func:`per_feature` ``absmax``: closing one direction of a two-way road moves
        traffic to the other, and a sum would show no change); ``vc``: the larger volume /
        capacity of the two. Pipes (``result.nodes``, for a layer with ``link_nodes`` and a
        hydraulic ``result`` naming its nodes): a pipe's lowest pressure is the mean of its
        two end nodes' (the same rule the pipe layer draws pressures by).

        Returns
        -------
        list of str
            What could not be shown, one line each (a table or a mapping missing).
        """
        notes: list[str] = []
        links = result.links
        if roads is not None:
            fs = roads.feature_set()
            if fs is None or links is None or "segment_row" not in links:
                notes.append(f"{roads.name}: no per-segment traffic result to show")
            else:
                rows = links["segment_row"].to_numpy(np.int64)
                n = fs.n_features

                def agg(col: str, how: How) -> F64:
                    return per_feature(links[col].to_numpy(np.float64), rows, n, how)

                if traffic == "vc":
                    self.set_result(
                        roads, "vc_ratio", agg("vc_baseline", "max"), agg("vc_scenario", "max")
                    )
                else:
                    self.set_result(
                        roads,
                        "flow_veh_h",
                        directional_sum(links, "flow_baseline", n),
                        directional_sum(links, "flow_scenario", n),
                        delta=agg("flow_delta", "absmax"),
                    )
        if pipes is not None:
            note = self._show_pipes(result, pipes)
            if note:
                notes.append(note)
        from twin_app.session.studies import show_studies

        notes += show_studies(self, result)
        return notes

    def set_extras(self, key: str, baseline: list[Layer], scenario: list[Layer]) -> None:
        """Draw layers on one side only: `baseline` on the baseline side, `scenario` on the
        scenario side, under `key` (a later call with the same key replaces them)."""
        self.baseline.set_extras(key, baseline)
        self.scenario.set_extras(key, scenario)

    def _show_pipes(self, result: ScenarioResult, pipes: Layer) -> str:
        fs = pipes.feature_set()
        nodes = result.nodes
        link_nodes = np.asarray(getattr(pipes, "link_nodes", np.zeros((0, 2))), np.int64)
        node_ids = getattr(getattr(pipes, "result", None), "node_ids", None)
        if fs is None or nodes is None or node_ids is None:
            return f"{pipes.name}: no per-node water result to show"
        if link_nodes.shape != (fs.n_features, 2):
            return f"{pipes.name}: {link_nodes.shape[0]} end-node pairs for {fs.n_features} pipes"
        import pandas as pd

        at = pd.Index(nodes["id"].astype(str)).get_indexer(
            pd.Index(np.asarray(node_ids).astype(str))
        )
        pairs = np.repeat(np.arange(fs.n_features), 2)

        def per_pipe(col: str) -> F64:
            v = nodes[col].to_numpy(np.float64)
            per_node = np.where(at >= 0, v[np.maximum(at, 0)], np.nan)
            ends = per_node[np.clip(link_nodes, 0, per_node.size - 1)].ravel()
            return per_feature(ends, pairs, fs.n_features, "mean")

        self.set_result(
            pipes,
            "pressure_m",
            per_pipe("min_pressure_baseline"),
            per_pipe("min_pressure_scenario"),
        )
        return ""

    def set_show(self, show: Show) -> None:
        """Colour the scenario side by change (``"delta"``) or by value (``"value"``)."""
        if show not in ("delta", "value"):
            raise CompareError(f"unknown comparison view {show!r}: use delta or value")
        self.show = show
        for result in self._results.values():
            self._apply_show(result)
        from twin_app.session.study_rasters import apply_show

        apply_show(self)
        from twin_app.session.radio_floors import apply_show as floors_show

        floors_show(self)

    def _step(self, result: _Result, t_ns: int) -> int:
        if result.times_ns is None:
            return 0
        i = int(np.searchsorted(result.times_ns, int(t_ns), side="right")) - 1
        return min(max(i, 0), result.times_ns.size - 1)

    def _write(self, result: _Result, step: int, force: bool = False) -> None:
        """Write one step's values into the result layers' columns (in place)."""
        if step == result.step and not force:
            return
        result.step = step
        b, s = result.baseline[step], result.scenario[step]
        base_layer = self.baseline.result_for(result.base)
        scen_layer = self.scenario.result_for(result.base)
        assert base_layer.features is not None and scen_layer.features is not None
        base_layer.features.table[result.column] = b
        scen_layer.features.table[result.column] = s
        scen_layer.features.table[delta_column(result.column)] = result.delta[step]
        for layer in (base_layer, scen_layer):
            if layer.color_by != COLOR_SOLID:
                _restyle(layer)

    def _clims(self, result: _Result) -> tuple[tuple[float, float] | None, ...]:
        """Colour limits of the (baseline, scenario) result layers.

        In value view both sides share one range (else equal colours would not mean equal
        values) from both sides' values. A time series keeps one range over all its steps
        (a colour means the same value at every time, and a step only rewrites values).
        Otherwise, and for classified columns (their classes are the range), None: the
        column's automatic limits of the values shown.
        """
        if isinstance(column_scale(result.column), ClassScale):
            return (None, None)
        b, s = result.baseline, result.scenario
        if self.show == "value":
            both = column_clim(result.column, np.concatenate([b.ravel(), s.ravel()]))
            return (both, both)
        if result.times_ns is None:
            return (None, None)
        return (
            column_clim(result.column, b.ravel()),
            column_clim(delta_column(result.column), result.delta.ravel()),
        )

    def _apply_show(self, result: _Result) -> None:
        col = result.column
        right = col if self.show == "value" else delta_column(col)
        clims = self._clims(result)
        for side, by, clim in zip(self.sides, (col, right), clims, strict=True):
            layer = side.result_for(result.base)
            scale = column_scale(by)
            # Set together, then one restyle: the views recolour once.
            with layer.events.blocked():
                if isinstance(scale, ColorScale):
                    layer.colormap = scale.colormap
                layer.clim = clim
                layer.color_by = by
            _restyle(layer)

    def _on_time(self, t_ns: int) -> None:
        for result in self._results.values():
            self._write(result, self._step(result, int(t_ns)))
        # Side-only time layers (patrol robots) are not the session's: it does not move them.
        for side in self.sides:
            for layers in side.extras.values():
                for layer in layers:
                    if isinstance(layer, TimeLayer):
                        layer.update(int(t_ns))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run (views showing it should let it go)."""
        return self._closed

    def close(self) -> None:
        """Disconnect everything from the session."""
        self._closed = True
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links.clear()
        for side in self.sides:
            side.close()
