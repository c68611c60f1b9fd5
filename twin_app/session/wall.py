"""What a command-center wall shows, without Qt: KPI tiles, data freshness, rolling series and
the camera tour.

The wall (``twin wall``, :mod:`twin_app.ui.wall`) is a thin front end over a
:class:`~twin_app.session.Session`. Everything it computes per tick lives here, so a headless
loop, a test or another front end gets the same numbers:

- :func:`live_kpis` / :func:`scenario_kpis`: the tiles (a scenario's KPI table when one was run,
  else live sensor KPIs: open alerts, mean speed, mean and worst AQI, lowest pressure, movers).
- :func:`freshness`: per sensor layer (and the live feed), how old the data shown is against its
  own sampling period; past ``factor`` periods the wall says STALE.
- :class:`RollingSeries`: fixed-size ring buffers for the charts (no growth, no allocation per
  sample).
- :class:`Tour` and :func:`tour_items`: the automatic tour through bookmarks on a loop.
- :class:`WallProgram`: the wall's loop: a round of the tour's stops, then each story played in
  full (:class:`~twin_app.session.story.StoryPlayer`), then the stops again.
- :func:`twin_title`: the twin's name, shown top left.
- :func:`twin_stories`, :func:`wall_stories`, :func:`session_stories`: the stories a twin
  ships (its ``stories/`` folder), the ones ``twin wall`` plays and the ones a wall opened
  from the app plays (the session's current story too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from psygnal import Signal

from twin_app.errors import InputError, TwinError
from twin_app.model.camera import CameraPose
from twin_app.model.sensors import (
    AirQualityLayer,
    MoverLayer,
    PipeLayer,
    SensorLayer,
    TrafficLayer,
)

if TYPE_CHECKING:
    from twin_app.io.story_file import Story
    from twin_app.model.camera import Camera
    from twin_app.scenarios.model import ScenarioResult
    from twin_app.session.core import Session
    from twin_app.session.scenario import KpiRow
    from twin_app.session.story import StoryPlayer

#: Data older than this many sampling periods is shown as stale.
STALE_FACTOR = 3.0
#: Never call data stale sooner than this (wall seconds of clock time): a fast live feed's
#: period is a fraction of a second and one slow tick must not flash the banner.
MIN_STALE_S = 2.0
#: Sampling intervals (the newest ones) the period of a series is judged from.
PERIOD_SAMPLES = 20

NS = 1_000_000_000


# -- what the wall was asked to open -----------------------------------------------------------
def wall_target_kind(path: Path | str) -> str:
    """``"session"``, ``"twin"`` or ``"scenario"``: what `path` is for ``twin wall``.

    A ``*.twin.toml`` file is a session, a folder (or ``manifest.toml``) with a twin manifest a
    twin, any other ``*.toml`` a scenario file (which names its twin).

    Raises
    ------
    InputError
        `path` does not exist or is none of these.
    """
    from twin_app.session.twin import is_twin

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder (give a session, a twin or a scenario)")
    if p.name.endswith(".twin.toml"):
        return "session"
    if is_twin(p):
        return "twin"
    if p.is_file() and p.suffix == ".toml":
        return "scenario"
    raise InputError(
        f"{p}: not a session (*.twin.toml), a twin folder (with manifest.toml) or a scenario "
        "(*.toml)"
    )


def twin_title(session: Session) -> str:
    """The wall's title: the name in the manifest of the session's first twin (``""`` when it
    has none, or its manifest can no longer be read), whichever way the wall was opened."""
    from twin_app.io.manifest import read_manifest

    for folder in list(session.twins):
        try:
            return read_manifest(folder).name
        except TwinError:
            continue
    return ""


# -- KPI tiles -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WallKpi:
    """One KPI tile.

    Attributes
    ----------
    name
        What it measures (a tile's title).
    value
        The number (NaN: no data).
    unit
        Its unit (may be empty).
    detail
        A second line (baseline and change for scenario KPIs; empty otherwise).
    good
        True when the change is an improvement, False when worse, None when neutral.
    """

    name: str
    value: float
    unit: str = ""
    detail: str = ""
    good: bool | None = None

    def text(self) -> str:
        """The value as a tile shows it (3 significant figures, thousands separated)."""
        return format_value(self.value)


def format_value(v: float) -> str:
    """A KPI number for a tile: ``—`` for NaN, integers without decimals, else 3 significant
    figures (``12,345``, ``0.423``, ``57.1``)."""
    if not math.isfinite(v):
        return "—"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _finite(v: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    a = np.asarray(v, np.float64).ravel()
    return a[np.isfinite(a)]


def live_kpis(session: Session) -> list[WallKpi]:
    """The live KPI tiles of a session at the clock's time.

    One tile for the alerts (entries holding now and not acknowledged), then per time layer:
    traffic -> mean detector speed (mean over reporting detectors of speed, the layer's unit);
    air -> mean and worst station AQI (the layer's standard and pollutant); pipes -> lowest
    pressure (m); movers -> movers with a position now. Whole-array reductions over the layers'
    current state: no per-element Python loop.

    Returns
    -------
    list of WallKpi
    """
    alerts = session.alerts.alerts
    n_open = sum(1 for a in alerts if a.active and not a.acknowledged)
    out = [WallKpi("Open alerts", float(n_open), "", f"{len(alerts)} in all")]
    for layer in session.time_layers():
        if isinstance(layer, TrafficLayer):
            speed = _finite(layer.sensor_ratio.astype(np.float64) * layer.free_flow)
            mean = float(speed.mean()) if speed.size else math.nan
            out.append(WallKpi("Mean traffic speed", mean, layer.unit, f"{speed.size} detectors"))
        elif isinstance(layer, AirQualityLayer):
            aqi = _finite(layer.aqi_values)
            mean = float(aqi.mean()) if aqi.size else math.nan
            worst = float(aqi.max()) if aqi.size else math.nan
            out.append(WallKpi(f"Mean AQI ({layer.pollutant})", mean, "", f"{aqi.size} stations"))
            out.append(WallKpi(f"Worst AQI ({layer.pollutant})", worst))
        elif isinstance(layer, PipeLayer):
            p = _finite(layer.values)
            out.append(WallKpi("Lowest pressure", float(p.min()) if p.size else math.nan, "m"))
        elif isinstance(layer, MoverLayer):
            out.append(WallKpi(f"{layer.name.split(' (')[0]} running", float(layer.valid.sum())))
    return out


def scenario_kpis(rows: Sequence[KpiRow]) -> list[WallKpi]:
    """Tiles of a scenario's KPI table: the scenario value, with baseline and change below."""
    out = []
    for r in rows:
        sign = "+" if r.delta > 0 else ""
        detail = f"baseline {format_value(r.baseline)}  ({sign}{format_value(r.delta)})"
        out.append(WallKpi(r.name, float(r.scenario), r.unit, detail, r.good))
    return out


# -- freshness -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Freshness:
    """How old the data of one source is.

    Attributes
    ----------
    name
        The layer's name, or ``Live feed <broker>``.
    age_s
        Clock seconds since its newest sample at or before the clock's time (inf: none yet).
    limit_s
        Older than this is stale: ``max(factor x period, MIN_STALE_S)``.
    note
        Why, in words (empty when fresh).
    """

    name: str
    age_s: float
    limit_s: float
    note: str = ""

    @property
    def stale(self) -> bool:
        """True when the data is older than its limit."""
        return self.age_s > self.limit_s


def sampling_period_s(times_ns: np.ndarray[Any, Any], n: int = PERIOD_SAMPLES) -> float:
    """Median of the newest `n` intervals between sample times, in seconds (NaN with fewer
    than two samples). The newest, so a live feed appended to a replayed series is judged by
    its own cadence."""
    t = np.asarray(times_ns[-(n + 1) :], np.int64)
    if t.size < 2:
        return math.nan
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) / NS if d.size else math.nan


def freshness(
    session: Session, factor: float = STALE_FACTOR, min_stale_s: float = MIN_STALE_S
) -> list[Freshness]:
    """Age of the data of every sensor layer at the clock's time, and of the live feed.

    For a layer: ``age = t - t_last`` where ``t_last`` is its store's newest row at or before
    the clock time ``t`` (in replay the data's own gaps, live the wall clock against the last
    message); its limit is ``max(factor x period, min_stale_s)`` with the period from
    :func:`sampling_period_s`. The live feed is stale while it is not connected (broker down,
    reconnecting) or silent for longer than ``session.live.silent_after_s`` (wall seconds).
    """
    t = int(session.clock.t_ns)
    out: list[Freshness] = []
    limits: list[float] = []
    for layer in session.time_layers():
        if not isinstance(layer, SensorLayer) or layer.store is None:
            continue
        times = getattr(layer.store, "times", None)
        if times is None:
            continue
        i = int(np.searchsorted(times, t, side="right")) - 1
        age = (t - int(times[i])) / NS if i >= 0 else math.inf
        period = sampling_period_s(times[: i + 1] if i >= 0 else times)
        limit = max(factor * period, min_stale_s) if math.isfinite(period) else min_stale_s
        limits.append(limit)
        note = f"no data for {_age_text(age)}" if age > limit else ""
        out.append(Freshness(str(layer.name), age, limit, note))
    feed = session.live.feed
    if feed is not None:
        state = str(feed.state.value)
        silent = session.live.silent_s
        limit = max(session.live.silent_after_s, min_stale_s)
        name = f"Live feed {feed.broker}"
        if state != "connected":
            out.append(Freshness(name, math.inf, limit, f"broker {state}"))
        else:
            note = f"no message for {_age_text(silent)}" if silent > limit else ""
            out.append(Freshness(name, silent, limit, note))
    return out


def _age_text(age_s: float) -> str:
    if not math.isfinite(age_s):
        return "ever"
    if age_s < 120:
        return f"{age_s:.0f} s"
    if age_s < 7200:
        return f"{age_s / 60:.0f} min"
    return f"{age_s / 3600:.1f} h"


# -- rolling series ------------------------------------------------------------------------------
class RollingSeries:
    """The newest `capacity` samples of one series, in fixed memory.

    Each sample is written twice into a buffer of twice the capacity (at ``i`` and
    ``i + capacity``), so the window in time order is always one contiguous slice
    (``buf[i + 1 : i + 1 + capacity]``): pushing allocates nothing and :meth:`view` returns
    views, not copies. A chart sets them on its existing curve each tick.

    Parameters
    ----------
    capacity
        Samples kept.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("a rolling series needs room for 2 samples at least")
        self.capacity = int(capacity)
        self._t = np.full(2 * self.capacity, np.nan)
        self._v = np.full(2 * self.capacity, np.nan)
        self._i = self.capacity - 1  # slot of the newest sample
        self.count = 0

    def push(self, t: float, v: float) -> None:
        """Add one sample (time in any unit the chart uses, value; NaN draws a gap)."""
        i = (self._i + 1) % self.capacity
        self._t[i] = self._t[i + self.capacity] = t
        self._v[i] = self._v[i + self.capacity] = v
        self._i = i
        self.count = min(self.count + 1, self.capacity)

    def set_last(self, v: float) -> None:
        """Replace the newest sample's value (the same instant sampled again: a paused clock
        must not fill the window with copies of one point). No sample yet: nothing to do."""
        if self.count:
            i = self._i
            self._v[i] = self._v[i + self.capacity] = v

    def clear(self) -> None:
        """Forget every sample (a seek back in replay, a new scenario)."""
        self._t.fill(np.nan)
        self._v.fill(np.nan)
        self.count = 0

    def view(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(times, values) of the samples held, oldest first (views into the buffer)."""
        end = self._i + 1 + self.capacity
        start = end - self.count
        return self._t[start:end], self._v[start:end]


# -- tour ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TourItem:
    """One stop of the tour: a name (shown as a caption) and the camera pose to fly to."""

    name: str
    pose: CameraPose


def tour_items(session: Session) -> list[TourItem]:
    """The stops of the wall's tour, in order: the session's camera bookmarks.

    Stories are not stops: :class:`WallProgram` plays them in full between rounds of these.
    """
    return [TourItem(b.name, b.pose) for b in session.bookmarks]


def orbit_items(pose: CameraPose, n: int = 4) -> list[TourItem]:
    """`n` stops around the focal point of `pose`, turned ``360 / n`` degrees apart: the tour
    of a twin without bookmarks."""
    from twin_app.model.camera import orbit

    return [
        TourItem(f"View {k + 1} of {n}", orbit(pose, pose.focal_point, 360.0 * k / n, 0.0))
        for k in range(n)
    ]


class Tour:
    """Flies a Camera through stops on a loop, one every `interval_s` wall seconds.

    Driven by :meth:`step` from the front end's timer (so tests step it with their own
    clock). The stops are read again at each move: bookmarks added or removed while the wall
    runs join or leave the loop.

    Parameters
    ----------
    camera
        The camera to fly (the session's: every view on it follows).
    items
        Called for the current stops (default :func:`tour_items` of a session).
    interval_s
        Wall seconds at each stop.
    fly_s
        Seconds each flight takes.
    now
        Monotonic wall clock in seconds.
    """

    def __init__(
        self,
        camera: Camera,
        items: Callable[[], list[TourItem]],
        interval_s: float = 30.0,
        fly_s: float = 3.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s <= 0:
            raise InputError(f"tour interval {interval_s:g} s: give a positive number of seconds")
        self.camera = camera
        self.items = items
        self.interval_s = float(interval_s)
        self.fly_s = float(fly_s)
        self.now = now
        self.index = -1  # stop shown now (-1: none yet)
        self.current: TourItem | None = None
        self._since = now()

    def due(self) -> bool:
        """True when the interval at the current stop has passed."""
        return self.now() - self._since >= self.interval_s

    def step(self) -> TourItem | None:
        """Move to the next stop when the interval has passed; returns the stop flown to."""
        if not self.due():
            return None
        return self.next()

    def restart(self) -> TourItem | None:
        """Fly to the first stop now (the loop starts again there)."""
        self.index = -1
        return self.next()

    def next(self) -> TourItem | None:
        """Fly to the next stop now (wrapping to the first); None when there is none."""
        self._since = self.now()
        stops = self.items()
        if not stops:
            self.current = None
            return None
        self.index = (self.index + 1) % len(stops)
        self.current = stops[self.index]
        self.camera.fly_to(self.current.pose, self.fly_s)
        return self.current


# -- the wall's program: stops, then stories, on a loop ---------------------------------------
def twin_stories(twin: Path | str) -> list[Path]:
    """The story files a twin ships: ``stories/*.toml`` of its folder, by name (none when
    `twin` is not a folder or has no ``stories/`` folder)."""
    p = Path(twin)
    if p.is_file():
        p = p.parent
    folder = p / "stories"
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def wall_stories(
    target: Path | str, extra: Sequence[Path | str] = (), shipped: bool = True
) -> list[Story]:
    """The stories ``twin wall`` plays: `extra` (``--story``), then, with `shipped` and a twin
    as the target, the twin's own (:func:`twin_stories`); each file once.

    Raises
    ------
    InputError
        A story file is bad (one line naming the file and the key).
    """
    from twin_app.io.story_file import load_story

    files = [Path(f) for f in extra]
    if shipped and wall_target_kind(target) == "twin":
        files += twin_stories(target)
    return [load_story(f) for f in dict.fromkeys(f.resolve() for f in files)]


def session_stories(session: Session, shipped: bool = True) -> list[Story]:
    """The stories a wall opened on `session` plays: the session's current story (the one
    opened or being authored, as it is now, edits included) when it has steps, then, with
    `shipped`, the stories its twins ship (:func:`twin_stories`); a file once (the current
    story stands for its own file when that is one of them).

    A shipped story file that cannot be read is told on ``session.messages`` and left out.
    """
    from twin_app.io.story_file import load_story

    out: list[Story] = []
    seen: set[Path] = set()
    st = session.story_state
    if st.story is not None and st.story.steps:
        out.append(st.story)
        if st.path is not None:
            seen.add(Path(st.path).resolve())
    for twin in list(session.twins) if shipped else []:
        for f in twin_stories(twin):
            p = f.resolve()
            if p in seen:
                continue
            seen.add(p)
            try:
                out.append(load_story(p))
            except TwinError as exc:
                session.messages.emit("warning", f"wall: {exc}")
    return out


class WallProgram:
    """The wall's loop: one round of the tour's stops, then each story played in full, then
    the stops again.

    Driven by :meth:`step` from the front end's timer with the wall seconds since the last
    call (a test passes its own): at a stop the :class:`Tour` moves on after its interval;
    after the round's last stop has had its interval the stories play one after the other,
    each through a :class:`~twin_app.session.story.StoryPlayer` moved by
    :meth:`~twin_app.session.story.StoryPlayer.advance`. At a story's end the player restores
    what the session showed before it (camera, styles, clock time) and the clock's rate and
    play are put back; a scenario result the wall showed before (``twin wall SCENARIO``) is
    shown again. A story whose scenarios have not been run yet (:attr:`results`, filled by the
    front end on a worker thread) waits for a later round.

    Parameters
    ----------
    session
        The session shown.
    tour
        The stops (None: stories only).
    stories
        The stories, in order.

    Attributes
    ----------
    phase
        ``"stops"`` or ``"story"``.
    player
        The story's player while one plays (None at the stops).
    results
        Scenario results by scenario file, shared by every story.

    Signals
    -------
    stop_changed(object)
        A tour stop (:class:`TourItem`) was flown to.
    story_started(object)
        A story's :class:`~twin_app.session.story.StoryPlayer` is about to play (its first
        step follows).
    story_ended(object)
        That player's story has ended (the session is back as it was).
    """

    stop_changed = Signal(object)
    story_started = Signal(object)
    story_ended = Signal(object)

    def __init__(self, session: Session, tour: Tour | None, stories: Sequence[Story] = ()) -> None:
        self.session = session
        self.tour = tour
        self.stories = list(stories)
        self.results: dict[Path, ScenarioResult] = {}
        self.phase: Literal["stops", "story"] = "stops"
        self.player: StoryPlayer | None = None
        self.story_index = -1
        self.base_result: ScenarioResult | None = None
        self._visited = 0
        self._clock: tuple[float, bool] = (1.0, False)

    def ready(self, story: Story) -> bool:
        """True when every scenario the story shows has its result in :attr:`results`."""
        from twin_app.session.story import scenario_files

        return all(p in self.results for p in scenario_files(story))

    def start(self) -> None:
        """Begin the loop: the first stop (or the first story when there are no stops)."""
        if not self._restart_stops():
            self._next_story()

    def step(self, dt_s: float) -> None:
        """Move the program on by `dt_s` wall seconds."""
        if self.phase == "story":
            player = self.player
            if player is None:
                self._next_story()
                return
            player.advance(dt_s)
            if not player.playing:
                self._end_story()
                self._next_story()
            return
        tour = self.tour
        if tour is None or not tour.due():
            if tour is None or tour.current is None:
                self._next_story()
            return
        if self._visited >= len(tour.items()):
            self._next_story()  # a story, or the first stop again
            return
        stop = tour.next()
        self._visited += 1
        if stop is not None:
            self.stop_changed.emit(stop)

    def _restart_stops(self) -> bool:
        self.phase = "stops"
        self.story_index = -1
        if self.tour is None:
            return False
        stop = self.tour.restart()
        self._visited = 1 if stop is not None else 0
        if stop is not None:
            self.stop_changed.emit(stop)
        return stop is not None

    def _next_story(self) -> bool:
        """Play the next ready story of this round; back to the stops after the last.
        Returns True when a story started."""
        from twin_app.session.story import StoryPlayer

        for k in range(self.story_index + 1, len(self.stories)):
            story = self.stories[k]
            if not story.steps or not self.ready(story):
                continue
            self.story_index = k
            clock = self.session.clock
            self._clock = (float(clock.rate), bool(clock.playing))
            try:
                player = StoryPlayer(self.session, story)
            except TwinError as exc:  # a bookmark the session lacks: told, the loop goes on
                self.session.messages.emit("warning", f"wall: {story.label}: {exc}")
                continue
            player.results.update(self.results)
            self.player = player
            self.phase = "story"
            self.story_started.emit(player)  # before it plays: listeners see its first step
            player.play()
            return True
        self.player = None
        self._restart_stops()
        return False

    def _end_story(self) -> None:
        player = self.player
        if player is None:
            return
        player.restore()
        clock = self.session.clock
        rate, playing = self._clock
        if clock.rate != rate:
            clock.set_rate(rate)
        if playing and not clock.playing:
            clock.play()
        st = self.session.scenario_state
        if self.base_result is not None and (
            st.comparison is None or st.result is not self.base_result
        ):
            self.session.show_result(self.base_result)
        self.player = None
        self.story_ended.emit(player)

    def stop(self) -> None:
        """End a story that plays (the session back as it was); the loop stops moving."""
        self._end_story()
        self.phase = "stops"
