"""The Session: city + layers + bookmarks + selection + undo stack (+ clock, scenario). Pure Python.

The UI and the render Scene observe the session's evented containers and signals; nothing here
knows Qt or VTK, so a session runs the same in the app, the CLI and a notebook. Every change a
user makes goes through a :class:`~twin_app.model.commands.Command` so it can be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal
from psygnal.containers import EventedList

from twin_app.errors import TwinError
from twin_app.io.load import LoadResult
from twin_app.io.session_file import (
    SCHEMA_VERSION,
    BookmarkEntry,
    FrameEntry,
    LayerEntry,
    PoseEntry,
    SessionFile,
    SourceEntry,
    StyleEntry,
    ViewEntry,
    read_session,
    write_session,
)
from twin_app.io.source import ReadOptions
from twin_app.model.alerts import AlertEngine
from twin_app.model.camera import Bookmark, Camera, CameraPose, finite_bounds, pose_for_bounds
from twin_app.model.city import CityModel
from twin_app.model.clock import Clock
from twin_app.model.commands import Command, CommandStack
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import IfcLayer, Layer, TimeLayer, layer_for
from twin_app.model.sensors import LiveValueStore, MoverLayer, SensorLayer
from twin_app.model.sun import Sun
from twin_app.session.bim import BimVerbs
from twin_app.session.live import Live
from twin_app.session.scenario import ScenarioVerbs
from twin_app.session.story import StoryVerbs

if TYPE_CHECKING:
    from twin_app.io.load import Cancelled, Progress
    from twin_app.io.manifest import Manifest
    from twin_app.session.series_file import SeriesLoad
    from twin_app.session.twin import TwinLoad

STYLE_KEYS = ("visible", "opacity", "color_by", "colormap", "clim", "color")

#: A file whose data lies farther than this from the twin's frame origin gets a warning (and
#: the view is framed on it): two cities opened together are otherwise specks on a huge plane.
FAR_M = 5_000.0


@dataclass
class SourceRef:
    """A file the session loaded, with the options it was read with (saved in sessions)."""

    path: Path
    options: dict[str, Any] = field(default_factory=dict)

    def read_options(self) -> ReadOptions:
        """The :class:`ReadOptions` to read it again."""
        return ReadOptions(**self.options)


@dataclass
class SessionLoad:
    """A session file read with everything it names, ready for :meth:`Session.restore`.

    Attributes
    ----------
    path
        The session file.
    data
        Its validated content.
    results
        Each source as loaded, with its read options, in the saved frame.
    twins
        Each twin's replay series on that geometry.
    """

    path: Path
    data: SessionFile
    results: list[tuple[LoadResult, ReadOptions]]
    twins: list[TwinLoad]


@dataclass(frozen=True)
class Selection:
    """Picked or rubber-banded features of one layer (empty: nothing selected)."""

    layer_uid: int = 0
    indices: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is selected."""
        return not self.indices


class Session(ScenarioVerbs, BimVerbs, StoryVerbs):
    """What the user has open.

    Attributes
    ----------
    city
        All loaded feature sets in one frame (None until something is loaded).
    layers
        Evented list of layers, drawn bottom to top.
    sources
        Files loaded, in order, with their read options.
    bookmarks
        Evented list of named camera poses.
    camera
        The evented :class:`~twin_app.model.camera.Camera` every view shows and writes its
        navigation into (its pose is saved in session files). A stable reference.
    commands
        Undo/redo history of user changes.
    live
        The live feed, recorder and their state (:class:`~twin_app.session.live.Live`).
    scenario_state, baselines
        The scenario being edited, its last result and comparison, and the cached baselines
        (verbs in :class:`~twin_app.session.scenario.ScenarioVerbs`: ``new_scenario``,
        ``open_scenario``, ``save_scenario``, ``add_intervention``, ``close_roads_at``,
        ``run_scenario``, ``show_result`` ...).
    story_state
        The story being authored or presented (verbs in
        :class:`~twin_app.session.story.StoryVerbs`: ``open_story``, ``record_step``,
        ``save_story``, ``next_step`` ...; ``story_player`` plays it).
    IFC verbs
        From :class:`~twin_app.session.bim.BimVerbs`: ``set_storey_visible``, ``set_section``,
        ``set_explode``, ``set_show_spaces``, ``set_ifc_view``, ``replace_buildings_under``.
    sun
        The evented :class:`~twin_app.model.sun.Sun` over the twin's place at the clock's
        time (NREL SPA through ``twin_app.engines.sun``); the render Scene lights and casts
        shadows from it. Updated when the clock moves (at most once per simulated minute).
    underground
        ``off``, ``translucent`` or ``cutaway`` (see the render Scene).

    Signals
    -------
    messages(level, text)
        Warnings and errors a user should see.
    selection_changed(Selection)
        The selection changed.
    underground_changed(str)
        The underground mode changed.
    """

    messages = Signal(str, str)
    selection_changed = Signal(object)
    underground_changed = Signal(str)

    def __init__(self) -> None:
        self.city: CityModel | None = None
        self.layers: EventedList[Layer] = EventedList()
        self.sources: list[SourceRef] = []
        self.bookmarks: EventedList[Bookmark] = EventedList()
        self.camera = Camera()
        self.commands = CommandStack()
        self.selection = Selection()
        self._underground = "off"
        self.path: Path | None = None
        # Restored from an autosave: unsaved although the undo history is fresh.
        self._restored_unsaved = False
        #: Twin folders (with manifest.toml) whose replay series are open.
        self.twins: list[Path] = []
        self.clock = Clock()
        self.alerts = AlertEngine()
        self.live = Live(self)
        self.sun = Sun()
        self.clock.events.t_ns.connect(self._on_time)
        self.layers.events.removed.connect(self._on_layer_removed)
        self._init_scenario()
        self._init_story()

    # -- time --------------------------------------------------------------------------------
    def time_layers(self) -> list[TimeLayer]:
        """Layers whose content follows the clock."""
        return [layer for layer in self.layers if isinstance(layer, TimeLayer)]

    def _on_time(self, t_ns: int) -> None:
        self.update_time_layers(int(t_ns))
        self._follow_mover()
        self.update_sun(int(t_ns))

    #: The sun moves 0.25 degrees a minute: a shadow need not follow it more often.
    SUN_STEP_NS = 60 * 1_000_000_000

    def update_sun(self, t_ns: int | None = None, force: bool = False) -> None:
        """Put :attr:`sun` where it stands over the frame's origin at clock time `t_ns`.

        Nothing happens before a frame exists or while the clock is at 0 (no time known), or
        when the sun was placed less than a simulated minute away from `t_ns` (unless
        `force`).
        """
        t = self.clock.t_ns if t_ns is None else int(t_ns)
        frame = self.frame
        if frame is None or t <= 0:
            return
        if not force and self.sun.known and abs(t - self.sun.time_ns) < self.SUN_STEP_NS:
            return
        from twin_app.engines.sun import sun_position

        lon, lat = (float(v) for v in frame.to_lonlat(np.zeros((1, 2)))[0])
        try:
            pos = sun_position(lon, lat, t)
        except TwinError as exc:
            self.messages.emit("warning", str(exc))
            return
        self.sun.set_position(pos.azimuth_deg, pos.elevation_deg, t)

    def _follow_mover(self) -> None:
        """Keep the camera on the followed mover (after the layers moved to the clock time)."""
        target = self.camera.follow
        if target is None:
            return
        layer = self.find_layer(target.layer_uid)
        if not isinstance(layer, MoverLayer) or not 0 <= target.index < len(layer.valid):
            return
        if layer.valid[target.index]:
            p = layer.positions[target.index]
            self.camera.track((float(p[0]), float(p[1]), float(p[2])))

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        follow = self.camera.follow
        if follow is not None and follow.layer_uid == layer.uid:
            self.camera.follow = None

    def update_time_layers(self, t_ns: int | None = None) -> None:
        """Bring every time-driven layer to the clock's time and evaluate the alert rules."""
        t = self.clock.t_ns if t_ns is None else int(t_ns)
        layers = self.time_layers()
        for layer in layers:
            layer.update(t)
        if self.alerts.rules:
            self.alerts.evaluate(t, {layer.uid: layer for layer in layers})

    def ingest(self, samples: list[Any]) -> tuple[int, int]:
        """Append live samples (``sensor_id``, ``t_ns``, ``value``) to the stores that know
        their sensors; returns (used, unknown). One vectorised append per layer per batch."""
        scalar = [s for s in samples if not s.is_mover]
        if not scalar:
            return 0, len(samples)
        ids = np.array([str(s.sensor_id) for s in scalar], dtype=object)
        t = np.array([int(s.t_ns) for s in scalar], dtype=np.int64).astype("datetime64[ns]")
        v = np.array([float(s.value) for s in scalar], dtype=np.float64)
        used = np.zeros(ids.size, bool)
        for layer in self.time_layers():
            if not isinstance(layer, SensorLayer) or not isinstance(layer.store, LiveValueStore):
                continue
            store = layer.store
            known = np.asarray(store.index_of(ids)) >= 0
            if known.any():
                store.append(ids[known], t[known], v[known])
                used |= known
        if used.any():
            self.update_time_layers()
        return int(used.sum()), int(len(samples) - used.sum())

    def tick(self, dt_s: float) -> tuple[int, int]:
        """One step of the application: take in live samples (recording them), then advance
        the clock by ``dt_s`` wall seconds (``rate x dt_s`` simulated, or to wall time when live).

        Returns the (used, unknown) counts of the live samples taken in.
        """
        counts = self.live.drain()
        self.clock.advance(dt_s)
        return counts

    def _prepare_time_layers(self, layers: list[Layer]) -> None:
        """Grow the clock range to cover the layers' data and bring them to the current time."""
        timed = [layer for layer in layers if isinstance(layer, TimeLayer)]
        for layer in timed:
            span = layer.time_range()
            if span is not None:
                self.clock.extend_range(int(span[0]), int(span[1]))
        for layer in timed:
            layer.update(self.clock.t_ns)

    def add_layers(self, layers: list[Layer], text: str) -> None:
        """Add ready-made layers (sensor layers ...) as one undoable step; the clock range grows
        to cover their data and they are brought to the current time."""
        self._prepare_time_layers(layers)

        def do() -> None:
            self.layers.extend(layers)

        def undo() -> None:
            for layer in layers:
                if layer in self.layers:
                    self.layers.remove(layer)

        self.commands.push(Command(text, do, undo))

    # -- basics ------------------------------------------------------------------------------
    @property
    def frame(self) -> LocalFrame | None:
        """The local frame, once anything is loaded."""
        return self.city.frame if self.city is not None else None

    def find_layer(self, uid: int) -> Layer | None:
        """The layer with this uid, if it is still in the session."""
        for layer in self.layers:
            if layer.uid == uid:
                return layer
        return None

    @property
    def underground(self) -> str:
        """Underground view mode."""
        return self._underground

    @underground.setter
    def underground(self, mode: str) -> None:
        if mode not in ("off", "translucent", "cutaway"):
            raise TwinError(f"underground mode must be off, translucent or cutaway, not {mode!r}")
        if mode != self._underground:
            self._underground = mode
            self.underground_changed.emit(mode)

    # -- loading ------------------------------------------------------------------------------
    def _result_step(
        self,
        result: LoadResult,
        options: ReadOptions | None,
        file_options: dict[Path, ReadOptions] | None = None,
    ) -> tuple[list[Layer], list[SourceRef], Callable[[], None], Callable[[], None]]:
        """New layers and source refs of a load, and the do/undo that add/remove them; the
        load's warnings and the errors of the files it could not read go out as messages.
        A file with its own options in `file_options` (resolved path) is saved with those."""
        if self.city is None:
            self.city = CityModel(result.city.frame)
        opts = options or ReadOptions()
        own_options = {**result.file_options, **(file_options or {})}
        new_refs: list[SourceRef] = []
        seen: set[Path] = {s.path for s in self.sources}
        for src in result.sources:
            if src.path not in seen:
                own = own_options.get(src.path.resolve(), opts)
                new_refs.append(
                    SourceRef(
                        src.path.resolve(), {k: v for k, v in vars(own).items() if v is not None}
                    )
                )
                seen.add(src.path)
            for w in src.report.warnings:
                self.messages.emit("warning", w)
        # Files that could not be read: the others loaded, these are reported one line each.
        for e in result.errors:
            self.messages.emit("error", e)
        new: list[Layer] = [layer_for(fs) for fs in result.city.sets]
        city = self.city
        # An IFC building replaces the city buildings it stands on (found on the first do,
        # redone and undone with the open)
        replaced: list[tuple[int, Callable[[], None], Callable[[], None]]] = []
        found = [False]

        def do() -> None:
            city.sets.extend(layer.features for layer in new if layer.features is not None)  # type: ignore[attr-defined]
            self.sources.extend(new_refs)
            self.layers.extend(new)
            if not found[0]:
                found[0] = True
                for layer in new:
                    step = self.replacement(layer) if isinstance(layer, IfcLayer) else None
                    if step is not None:
                        replaced.append(step)
                        self.messages.emit(
                            "info",
                            f"{layer.name} replaces {step[0]} building(s) it stands on "
                            "(hidden, marked in the replaced_by column)",
                        )
            for _, redo, _ in replaced:
                redo()

        def undo() -> None:
            for _, _, unreplace in reversed(replaced):
                unreplace()
            for layer in new:
                if layer in self.layers:
                    self.layers.remove(layer)
                fs = layer.feature_set()
                if fs is not None and fs in city.sets:
                    city.sets.remove(fs)
            for ref in new_refs:
                if ref in self.sources:
                    self.sources.remove(ref)
            if self.selection.layer_uid in {layer.uid for layer in new}:
                self.select(Selection())

        return new, new_refs, do, undo

    def add_result(self, result: LoadResult, options: ReadOptions | None = None) -> list[Layer]:
        """Add what a load produced as new layers (one undo step), its warnings and errors (files
        that could not be read) as messages.

        A file whose data lies more than :data:`FAR_M` from the frame origin gets a warning
        naming it and the distance, and the camera is framed on the first such file.
        """
        new, new_refs, do, undo = self._result_step(result, options)
        names = ", ".join(sorted({p.path.name for p in new_refs})) or "data"
        self.commands.push(Command(f"Open {names}", do, undo))
        far = far_sources(result)
        for path, dist_m, _ in far:
            self.messages.emit(
                "warning",
                f"{path}: its data lie {dist_m / 1000:,.0f} km from the twin's centre, so "
                "data of other places look like specks beside it; select its layer and use "
                "View > Zoom to layer (Z) to go there",
            )
        if far:
            self.camera.set_pose(pose_for_bounds(far[0][2], margin=1.0))
        return new

    def load_files(
        self,
        paths: list[Path],
        options: ReadOptions | None = None,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> LoadResult:
        """Read data files into this session's frame (or a new one) without changing the
        session: safe on a worker thread. Add the result with :meth:`add_result`.

        A file of a twin folder whose manifest places it (an IFC proposal's ``at`` and
        ``rotate_deg``) is read where the manifest puts it, unless `options` place it.
        """
        from twin_app.io.load import load_city

        return load_city(
            paths,
            options,
            frame=self.frame,
            progress=progress,
            cancelled=cancelled,
            file_options=manifest_placements(paths, options or ReadOptions()),
        )

    # -- series files (recordings, replay files) ------------------------------------------------
    @staticmethod
    def is_series_file(path: Path | str) -> bool:
        """True if `path` is a long-format series table (a recording) rather than geometry."""
        from twin_app.session.series_file import is_series_file

        return is_series_file(path)

    def read_series_file(self, path: Path | str) -> SeriesLoad:
        """Read a long-format file (``sensor_id, t, value``, or mover fixes) bound to the layer
        whose sensors or movers its ids name, without changing the session (worker-thread
        safe). Add it with :meth:`add_series`; see
        :func:`twin_app.session.series_file.read_series_file`."""
        from twin_app.session.series_file import read_series_file

        sets = list(self.city.sets) if self.city is not None else []
        return read_series_file(path, list(self.layers), self.frame, list(self.twins), sets)

    def add_series(self, load: SeriesLoad) -> Layer:
        """Add a read series file as a new replay layer (one undo step); its summary goes out as
        an info message, skipped ids and rows as warnings."""
        self.add_layers([load.layer], f"Open {load.path.name}")
        for w in load.warnings:
            self.messages.emit("warning", w)
        self.messages.emit("info", load.summary())
        return load.layer

    def open_series_file(self, path: Path | str) -> Layer:
        """Open a recording or other long-format file as a replay series of the open twin: the
        layer whose sensors (SensorLayer store ids) or movers (MoverLayer ids) the file names
        gets a sibling layer of the same kind replaying the file's samples.

        Parameters
        ----------
        path
            CSV (``.csv``, ``.csv.gz``) or Parquet file in the long format.

        Returns
        -------
        Layer
            The new layer (already in :attr:`layers`).

        Raises
        ------
        FeedError
            Unreadable file, or no open layer knows its ids.
        """
        return self.add_series(self.read_series_file(path))

    # -- twins ---------------------------------------------------------------------------------
    def open_twin(
        self,
        path: Path | str | Manifest,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> TwinLoad:
        """Read a twin folder (or its manifest) and build every layer, without changing the
        session: safe on a worker thread. Geometry lands in this session's frame when it has
        one. Add the result with :meth:`add_twin`.

        Parameters
        ----------
        path
            A twin folder, its ``manifest.toml``, or a manifest already read.
        progress
            Called with (fraction 0..1, message) between steps.
        cancelled
            Polled between steps; True raises :class:`~twin_app.errors.CancelledError`.

        Returns
        -------
        TwinLoad
            See :func:`twin_app.session.twin.open_twin`.
        """
        from twin_app.session.twin import open_twin

        return open_twin(path, progress, cancelled, frame=self.frame)

    def add_twin(self, load: TwinLoad, describe: bool = True) -> list[Layer]:
        """Add an opened twin as ONE undoable step: its geometry layers, series layers, alert
        rules and folder (saved in sessions); the clock goes to the twin's start time and
        playback rate (undo puts the clock back too).

        Parameters
        ----------
        load
            What :meth:`open_twin` returned.
        describe
            Also post each series layer's description (where its data were measured) as an
            info message.

        Returns
        -------
        list of Layer
            The new layers, geometry first.
        """
        geo: list[Layer] = []
        geo_do: Callable[[], None] = lambda: None  # noqa: E731
        geo_undo: Callable[[], None] = lambda: None  # noqa: E731
        if load.result is not None:
            geo, _, geo_do, geo_undo = self._result_step(
                load.result, load.options, load.file_options
            )
        series = list(load.layers)
        rules = load.alert_rules()
        folder = load.folder
        before = (self.clock.t_ns, self.clock.rate)
        self._prepare_time_layers(series)

        def do() -> None:
            geo_do()
            self.layers.extend(series)
            for rule in rules:
                self.alerts.add_rule(rule)
            if folder not in self.twins:
                self.twins.append(folder)
            if load.start_ns is not None:
                self.clock.seek(load.start_ns)
            self.clock.set_rate(load.rate)

        def undo() -> None:
            for rule in rules:
                if rule in self.alerts.rules:
                    self.alerts.remove_rule(rule)
            for layer in series:
                if layer in self.layers:
                    self.layers.remove(layer)
            if folder in self.twins:
                self.twins.remove(folder)
            if self.selection.layer_uid in {layer.uid for layer in series}:
                self.select(Selection())
            geo_undo()
            self.clock.set_rate(before[1])
            self.clock.seek(before[0])

        self.commands.push(Command(f"Open twin {load.manifest.name}", do, undo))
        for w in load.warnings:
            self.messages.emit("warning", w)
        if describe:
            for layer in series:
                self.messages.emit("info", f"{layer.name}: {getattr(layer, 'description', '')}")
        return [*geo, *series]

    def attributions(self) -> list[tuple[str, str, str]]:
        """(dataset, attribution, licence) of every dataset open: the geometry files and the
        replay series of each twin, from the manifests beside them (About credits them all).

        A broken manifest is skipped: it must not break the credits of the rest.
        """
        from twin_app.io.manifest import find_manifest, read_manifest

        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()

        def add(key: str, row: tuple[str, str, str]) -> None:
            if key not in seen:
                seen.add(key)
                out.append(row)

        manifests = []
        for path in [*self.twins, *(s.path for s in self.sources)]:
            try:
                m = read_manifest(path) if Path(path).is_dir() else find_manifest(Path(path))
            except TwinError:
                continue
            if m is not None:
                manifests.append(m)
        for m in manifests:
            for src in m.sources:
                add(
                    f"{m.folder}/{src.path}",
                    (f"{m.name}: {src.path}", src.attribution, src.licence),
                )
            for series in m.series if Path(m.folder).resolve() in self.twins else []:
                add(
                    f"{m.folder}/{series.path}",
                    (f"{m.name}: {series.name}", series.attribution, series.licence),
                )
        return out

    def clear(self) -> None:
        """Close everything (layers, sources, bookmarks, selection, history): an empty session.

        A live feed stays connected: it is a connection, not part of the twin."""
        self.select(Selection())
        while len(self.layers):
            self.layers.pop()
        self.city = None
        self.sources.clear()
        self.twins.clear()
        self.bookmarks.clear()
        self.camera.clear()
        self.underground = "off"
        self.path = None
        self._restored_unsaved = False
        self.alerts.rules.clear()
        self.alerts.alerts.clear()
        self.alerts.reset()
        self.reset_scenario()
        self.drop_story_player()
        self.commands.clear()

    @property
    def dirty(self) -> bool:
        """True when there are changes since the last save (or open)."""
        return self._restored_unsaved or not self.commands.is_clean

    # -- edits (all undoable) ------------------------------------------------------------------
    def remove_layer(self, layer: Layer) -> None:
        """Remove a layer (undo puts it back at the same place)."""
        index = self.layers.index(layer)

        def do() -> None:
            self.layers.remove(layer)
            if self.selection.layer_uid == layer.uid:
                self.select(Selection())

        self.commands.push(
            Command(f"Remove {layer.name}", do, lambda: self.layers.insert(index, layer))
        )

    def move_layer(self, layer: Layer, new_index: int) -> None:
        """Move a layer in the draw order."""
        old = self.layers.index(layer)
        new_index = max(0, min(new_index, len(self.layers) - 1))
        if new_index == old:
            return

        def move(src: int, dst: int) -> None:
            self.layers.move(src, dst if dst < src else dst + 1)

        self.commands.push(
            Command(
                f"Move {layer.name}", lambda: move(old, new_index), lambda: move(new_index, old)
            )
        )

    def set_style(self, layer: Layer, **style: Any) -> None:
        """Change styling fields of a layer (consecutive changes of one field merge into one step)."""
        bad = set(style) - set(STYLE_KEYS)
        if bad:
            raise TwinError(
                f"unknown style field(s) {', '.join(sorted(bad))}; use {', '.join(STYLE_KEYS)}"
            )
        before = {k: getattr(layer, k) for k in style}
        if all(before[k] == v for k, v in style.items()):
            return
        key = ",".join(sorted(style))
        pretty = ", ".join(f"{k}" for k in style)

        def apply(values: dict[str, Any]) -> None:
            for k, v in values.items():
                setattr(layer, k, v)

        self.commands.push(
            Command(
                f"Set {pretty} of {layer.name}",
                lambda: apply(style),
                lambda: apply(before),
                merge_key=f"style:{layer.uid}:{key}",
            )
        )

    def add_bookmark(self, name: str, pose: CameraPose) -> Bookmark:
        """Add (or replace) a named camera bookmark."""
        name = name.strip()
        if not name:
            raise TwinError("a bookmark needs a name")
        mark = Bookmark(name, pose)
        old = next((i for i, b in enumerate(self.bookmarks) if b.name == name), None)
        if old is None:
            self.commands.push(
                Command(
                    f"Add bookmark {name}",
                    lambda: self.bookmarks.append(mark),
                    lambda: self.bookmarks.remove(mark),
                )
            )
        else:
            prev = self.bookmarks[old]

            def swap(b: Bookmark) -> None:
                i = next(i for i, x in enumerate(self.bookmarks) if x.name == name)
                self.bookmarks[i] = b

            self.commands.push(
                Command(f"Update bookmark {name}", lambda: swap(mark), lambda: swap(prev))
            )
        return mark

    def remove_bookmark(self, name: str) -> None:
        """Remove a bookmark by name."""
        i = next((i for i, b in enumerate(self.bookmarks) if b.name == name), None)
        if i is None:
            raise TwinError(f"no bookmark named {name!r}")
        mark = self.bookmarks[i]
        self.commands.push(
            Command(
                f"Remove bookmark {name}",
                lambda: self.bookmarks.remove(mark),
                lambda: self.bookmarks.insert(i, mark),
            )
        )

    def rename_bookmark(self, name: str, new_name: str) -> Bookmark:
        """Rename a bookmark in place (same pose, same place in the list; undoable).

        Parameters
        ----------
        name
            The bookmark's current name.
        new_name
            Its new name (stripped); it must be non-empty and not name another bookmark.

        Returns
        -------
        Bookmark
            The renamed bookmark (bookmarks are immutable: it replaces the old one in the list,
            which fires ``bookmarks.events.changed``).
        """
        new_name = new_name.strip()
        if not new_name:
            raise TwinError("a bookmark needs a name")
        i = next((i for i, b in enumerate(self.bookmarks) if b.name == name), None)
        if i is None:
            raise TwinError(f"no bookmark named {name!r}")
        old = self.bookmarks[i]
        if new_name == name:
            return old
        if any(b.name == new_name for b in self.bookmarks):
            raise TwinError(
                f"a bookmark named {new_name!r} exists already; choose another name or remove it"
            )
        mark = Bookmark(new_name, old.pose)

        def swap(out: Bookmark, into: Bookmark) -> None:
            self.bookmarks[self.bookmarks.index(out)] = into

        self.commands.push(
            Command(
                f"Rename bookmark {name} to {new_name}",
                lambda: swap(old, mark),
                lambda: swap(mark, old),
            )
        )
        return mark

    def go_to_bookmark(self, name: str) -> None:
        """Fly the camera to a bookmark."""
        for b in self.bookmarks:
            if b.name == name:
                self.camera.fly_to(b.pose)
                return
        raise TwinError(f"no bookmark named {name!r}")

    # -- selection ------------------------------------------------------------------------------
    def select(self, selection: Selection) -> None:
        """Set the selection (not an undo step: selecting does not change the twin)."""
        if selection != self.selection:
            self.selection = selection
            self.selection_changed.emit(selection)

    def select_features(self, layer: Layer, indices: Any) -> None:
        """Select features of a layer by row index."""
        idx = tuple(int(i) for i in np.unique(np.asarray(indices, dtype=np.int64)))
        self.select(Selection(layer.uid, idx) if idx else Selection())

    # -- session files ----------------------------------------------------------------------------
    def to_file(self) -> SessionFile:
        """The session as a :class:`SessionFile` (validated data)."""
        frame = self.frame
        return SessionFile(
            schema_version=SCHEMA_VERSION,
            sources=[SourceEntry(path=str(s.path), options=dict(s.options)) for s in self.sources],
            twins=[str(t) for t in self.twins],
            frame=FrameEntry(crs_wkt=frame.crs_wkt, origin=frame.origin)
            if frame is not None
            else None,
            layers=[
                LayerEntry(name=layer.name, kind=layer.kind, style=StyleEntry(**layer.style()))
                for layer in self.layers
            ],
            camera=PoseEntry(**self.camera.pose.to_dict())
            if self.camera.pose is not None
            else None,
            bookmarks=[BookmarkEntry(**b.to_dict()) for b in self.bookmarks],
            view=ViewEntry(
                underground=self.underground, clock_ns=self.clock.t_ns, clock_rate=self.clock.rate
            ),
        )

    def save(self, path: Path | str) -> Path:
        """Write the session atomically and mark the undo history clean."""
        p = Path(path)
        if not p.name.endswith(".twin.toml"):
            p = p.with_name(p.name + ".twin.toml") if not p.suffix else p
        write_session(p, self.to_file())
        self.path = p
        self._restored_unsaved = False
        self.commands.mark_clean()
        return p

    def write_copy(self, path: Path | str) -> Path:
        """Write the session to `path` (an autosave) without making it the session's file or
        marking the history clean."""
        p = Path(path)
        write_session(p, self.to_file())
        return p

    @staticmethod
    def read_session_file(path: Path | str) -> SessionFile:
        """Read and validate a session file (one-line :class:`SessionFileError` otherwise)."""
        return read_session(path)

    @staticmethod
    def load_session_file(
        data: SessionFile,
        path: Path | str,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> SessionLoad:
        """Load every source and twin a session file names (off the GUI thread; touches no
        session). Restore it with :meth:`restore`."""
        p = Path(path)
        folder = p.resolve().parent
        results = load_session_sources(data, folder, progress=progress, cancelled=cancelled)
        twins = load_session_twins(data, folder, results, cancelled=cancelled)
        return SessionLoad(p, data, results, twins)

    def restore(self, load: SessionLoad) -> list[str]:
        """Replace everything with a loaded session file: its sources, twins, styles, camera,
        bookmarks and view; a clean history. Returns warnings (see :meth:`apply_file`)."""
        self.clear()
        for result, opts in load.results:
            self.add_result(result, opts)
        for twin in load.twins:
            self.add_twin(twin, describe=False)
        warnings = self.apply_file(load.data)
        self.path = load.path
        self.commands.mark_clean()
        return warnings

    def restore_autosave(self, load: SessionLoad, origin: Path | None) -> list[str]:
        """Replace everything with a loaded autosave, as the unsaved state of `origin`.

        Parameters
        ----------
        load
            The autosave file, loaded with :meth:`load_session_file`.
        origin
            The session file the autosave was written for (None: an untitled session). It
            becomes the session's file, so Save writes there and never over the autosave.

        Returns
        -------
        list of str
            Warnings, as from :meth:`restore`. The session stays dirty until it is saved.
        """
        warnings = self.restore(load)
        self.path = origin
        self._restored_unsaved = True
        self.commands.changed.emit()
        return warnings

    def apply_file(self, data: SessionFile) -> list[str]:
        """Restore styles, layer order, camera, bookmarks and view from a file after its sources loaded.

        Returns warnings (layers named in the file that no source produced).
        """
        warnings: list[str] = []
        # Layers of one name and kind (two files called duplex.ifc) pair up in the order the
        # sources produced them, the order they were saved in unless moved past each other.
        by_name: dict[tuple[str, str], list[Layer]] = {}
        for layer in self.layers:
            by_name.setdefault((layer.name, layer.kind), []).append(layer)
        order: list[Layer] = []
        for entry in data.layers:
            alike = by_name.get((entry.name, entry.kind))
            if not alike:
                warnings.append(
                    f"layer {entry.name!r} ({entry.kind}) is in the session file but no source produced it"
                )
                continue
            layer = alike.pop(0)
            layer.apply_style(entry.style.model_dump())
            order.append(layer)
        # Layers the user had removed before saving stay removed.
        for layer in (x for alike in by_name.values() for x in alike):
            self.layers.remove(layer)
        for i, layer in enumerate(order):
            j = self.layers.index(layer)
            if j != i:
                self.layers.move(j, i)
        self.bookmarks.clear()
        self.bookmarks.extend(Bookmark.from_dict(b.model_dump()) for b in data.bookmarks)
        self.underground = data.view.underground
        if data.view.clock_ns:
            self.clock.seek(data.view.clock_ns)
        if 1.0 <= abs(data.view.clock_rate) <= 10_000.0:
            self.clock.set_rate(data.view.clock_rate)
        if data.camera is not None:
            self.camera.set_pose(CameraPose.from_dict(data.camera.model_dump()))
        self.commands.clear()
        return warnings


def manifest_placements(paths: list[Path], options: ReadOptions) -> dict[Path, ReadOptions]:
    """Read options of the files whose twin manifest places them (``at``/``rotate_deg``), by
    resolved path; none when `options` place the files themselves or no manifest is beside
    them (a broken manifest places nothing: opening the files is what was asked)."""
    from twin_app.io.manifest import find_manifest

    if options.at_lonlat is not None:
        return {}
    out: dict[Path, ReadOptions] = {}
    for folder in {Path(p).resolve().parent for p in paths}:
        try:
            manifest = find_manifest(folder / "x")
        except TwinError:
            continue
        if manifest is not None:
            out.update(manifest.file_options(options))
    wanted = {Path(p).resolve() for p in paths}
    return {p: o for p, o in out.items() if p in wanted}


def far_sources(
    result: LoadResult, far_m: float = FAR_M
) -> list[tuple[str, float, tuple[float, float, float, float, float, float]]]:
    """The files of a load whose data centre lies more than `far_m` from the frame origin.

    Returns
    -------
    list of (path, distance_m, bounds)
        Full path (or the source label when unknown), horizontal distance of the centre of
        the file's finite points from the origin in metres, and their local box; in load order.
    """
    paths = {src.label: str(src.path) for src in result.sources}
    boxes: dict[str, list[tuple[float, ...]]] = {}
    for fs in result.city.sets:
        b = finite_bounds(fs.mesh.points)
        if b is not None:
            boxes.setdefault(fs.source, []).append(b)
    out: list[tuple[str, float, tuple[float, float, float, float, float, float]]] = []
    for label, bs in boxes.items():
        a = np.array(bs)
        box = (
            float(a[:, 0].min()),
            float(a[:, 1].max()),
            float(a[:, 2].min()),
            float(a[:, 3].max()),
            float(a[:, 4].min()),
            float(a[:, 5].max()),
        )
        dist = float(np.hypot((box[0] + box[1]) / 2, (box[2] + box[3]) / 2))
        if dist > far_m:
            out.append((paths.get(label, label), dist, box))
    return out


def load_session_sources(
    data: SessionFile,
    folder: Path,
    progress: Any = None,
    cancelled: Any = None,
) -> list[tuple[LoadResult, ReadOptions]]:
    """Load every source of a session file in its saved frame (run it off the GUI thread).

    Each source is read with its own saved options; all share the saved local frame so
    camera poses and bookmarks land where they were.
    """
    from twin_app.io.load import load_city

    frame = LocalFrame(data.frame.crs_wkt, data.frame.origin) if data.frame is not None else None
    out: list[tuple[LoadResult, ReadOptions]] = []
    entries = data.resolved_sources(folder)
    for i, (path, options) in enumerate(entries):
        opts = ReadOptions(**options)

        def step(frac: float, msg: str, i: int = i) -> None:
            if progress is not None:
                progress((i + frac) / max(len(entries), 1), msg)

        result = load_city([path], opts, frame=frame, progress=step, cancelled=cancelled)
        frame = result.city.frame
        out.append((result, opts))
    return out


def load_session_twins(
    data: SessionFile,
    folder: Path,
    results: list[tuple[LoadResult, ReadOptions]],
    progress: Any = None,
    cancelled: Any = None,
) -> list[TwinLoad]:
    """The replay series of the twins a session file names, on its loaded geometry.

    Each twin goes through :func:`twin_app.session.twin.open_twin` on the geometry the
    session's sources produced (not read again): one :class:`~twin_app.session.twin.TwinLoad`
    (with no ``result``) per twin folder.
    """
    from twin_app.io.manifest import read_manifest
    from twin_app.session.twin import open_twin

    sets = [fs for result, _ in results for fs in result.city.sets]
    if not sets:
        return []
    frame = results[0][0].city.frame
    # (the resolved file, its feature set) for every set the session's sources produced
    placed: list[tuple[Path, Any]] = []
    for result, _ in results:
        files = [Path(src.path) for src in result.sources]
        for fs in result.city.sets:
            file = next(
                (f for f in files if fs.source == f.name or fs.source.startswith(f"{f.name}:")),
                None,
            )
            if file is not None:
                placed.append((file.resolve(), fs))
    loads = []
    for twin in data.resolved_twins(folder):
        manifest = read_manifest(twin)
        own = {p.resolve() for p in manifest.paths()}
        # a twin's series are placed on its own geometry, as when the twin was opened: other
        # files of the session (a city far away) must not stretch the fit of its traffic
        mine = [fs for file, fs in placed if file in own] or sets
        loads.append(open_twin(manifest, progress, cancelled, frame=frame, geometry=mine))
    return loads
