"""Stories played through the session core, and the session's story verbs (issue 11). No Qt.

A :class:`~twin_app.io.story_file.Story` is resolved against a session into a
:class:`Timeline`: one :class:`Beat` per step with its start and end on the story's clock, the
pose it flies from and to, the clock time and rate it shows, and the full layer styles it
leaves (each step's layer settings laid over the ones before it, over the styles the layers had
when the story started). Everything a step shows at story time ``t`` is then a pure function of
``t``: :meth:`Timeline.pose_at`, :meth:`Timeline.clock_at`, so a seek lands on the same picture
whichever way the story got there, and ``twin video`` is frame-exact (frame ``k`` is the story
at ``t = k / fps``).

:class:`StoryPlayer` drives a session with it: it is moved by an explicit time step
(:meth:`StoryPlayer.advance`, the app's frame timer; :meth:`StoryPlayer.seek`, video export) and
writes the camera pose, the layers' styles, the clock and, for a scenario step, the scenario's
result into the session; the front ends follow the session as they do for a user's changes.

:class:`StoryVerbs` gives the :class:`~twin_app.session.core.Session` its story verbs:
``new_story``, ``open_story``, ``save_story`` (atomic), the authoring verbs ``record_step``,
``edit_step``, ``move_step``, ``remove_step`` (each one undoable command), and the presenting
verbs ``play_story``, ``pause_story``, ``next_step``, ``previous_step``, ``seek_story``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from psygnal import Signal, SignalGroup, evented

from twin_app.errors import TwinError
from twin_app.io.story_file import CompareMode, PoseSpec, Show, Step, Story
from twin_app.model.camera import CameraPose, ease_in_out, orbit
from twin_app.model.commands import Command, CommandStack

if TYPE_CHECKING:
    from psygnal.containers import EventedList

    from twin_app.model.camera import Bookmark, Camera
    from twin_app.model.clock import Clock
    from twin_app.model.layers import Layer
    from twin_app.scenarios.model import ScenarioResult
    from twin_app.session.core import Session

#: Layer fields a story step sets (and a recorded step saves).
STORY_STYLE_KEYS = ("visible", "opacity", "color_by", "colormap")
#: Length of a recorded step unless told, seconds.
RECORD_S = 6.0
NS = 1_000_000_000

#: ``progress(fraction 0..1, message)``.
Progress = Callable[[float, str], None]


class StoryError(TwinError):
    """A story that cannot be played on the open session (unknown bookmark, bad step index)."""


def _smoother(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * t * (t * (6.0 * t - 15.0) + 10.0)


def _linear(t: float) -> float:
    return min(max(t, 0.0), 1.0)


#: Easing of a flight: smooth-step (slow start and end), Perlin's smoother-step, linear.
EASINGS: dict[str, Callable[[float], float]] = {
    "smooth": ease_in_out,
    "smoother": _smoother,
    "linear": _linear,
}


@dataclass(frozen=True)
class CompareState:
    """How a scenario step shows its scenario: the mode, the quantity and the swipe's split."""

    mode: CompareMode
    show: Show
    split: float
    scenario: Path


@dataclass(frozen=True)
class Beat:
    """A step resolved against a session.

    Attributes
    ----------
    index, step
        The step and its index in the story.
    start_s, end_s
        When it starts and ends on the story's clock, seconds.
    from_pose, pose
        The pose its flight starts from (where the step before ended) and the step's pose
        (None: the session had no pose and no step gave one).
    fly_s, easing
        Length of the flight (0: a cut) and its easing.
    orbit_deg
        Turn about the focal point after the flight, degrees (clockwise seen from above
        for positive values, as :func:`~twin_app.model.camera.orbit` turns).
    clock_ns, rate
        Clock time at the step's start (None: the story never sets the clock) and simulated
        seconds per story second.
    styles
        Layer uid -> the styles every layer has during the step.
    """

    index: int
    step: Step
    start_s: float
    end_s: float
    from_pose: CameraPose | None
    pose: CameraPose | None
    fly_s: float
    easing: str
    orbit_deg: float
    clock_ns: int | None
    rate: float
    styles: dict[int, dict[str, Any]]

    @property
    def duration_s(self) -> float:
        """Length of the step, seconds."""
        return self.end_s - self.start_s

    def pose_at(self, tau: float) -> CameraPose | None:
        """The pose `tau` seconds into the step.

        During the flight the pose is ``from_pose.interpolate(pose, easing(tau / fly_s))``
        (focal point linear, offset direction spherical, distance geometric: see
        :meth:`~twin_app.model.camera.CameraPose.interpolate`); afterwards the pose turns
        linearly in time about its focal point by ``orbit_deg`` until the step ends.
        """
        if self.pose is None:
            return None
        if self.fly_s > 0.0 and tau < self.fly_s and self.from_pose is not None:
            frac = EASINGS[self.easing](tau / self.fly_s)
            return self.from_pose.interpolate(self.pose, frac)
        if self.orbit_deg == 0.0:
            return self.pose
        rest = self.duration_s - self.fly_s
        frac = 1.0 if rest <= 0.0 else min(max((tau - self.fly_s) / rest, 0.0), 1.0)
        if frac == 0.0:
            return self.pose
        return orbit(self.pose, self.pose.focal_point, self.orbit_deg * frac, 0.0)

    @property
    def end_pose(self) -> CameraPose | None:
        """Where the step leaves the camera."""
        return self.pose_at(self.duration_s)

    def clock_at(self, tau: float) -> int | None:
        """Clock time `tau` seconds into the step, UTC ns (None: the clock is left alone)."""
        if self.clock_ns is None:
            return None
        return self.clock_ns + round(self.rate * tau * NS)


@dataclass(frozen=True)
class Timeline:
    """A story resolved against a session: one :class:`Beat` per step, end to end."""

    story: Story
    beats: tuple[Beat, ...]

    @property
    def duration_s(self) -> float:
        """Length of the story, seconds."""
        return self.beats[-1].end_s if self.beats else 0.0

    def index_at(self, t: float) -> int:
        """Index of the step shown at story time `t` (-1 for an empty story); a step's start
        belongs to it, the story's end to the last step."""
        if not self.beats:
            return -1
        starts = [b.start_s for b in self.beats]
        return max(0, min(bisect.bisect_right(starts, t) - 1, len(self.beats) - 1))

    def beat_at(self, t: float) -> tuple[Beat, float] | None:
        """The beat at story time `t` and the time into it (None for an empty story)."""
        i = self.index_at(t)
        if i < 0:
            return None
        beat = self.beats[i]
        return beat, min(max(t - beat.start_s, 0.0), beat.duration_s)

    def pose_at(self, t: float) -> CameraPose | None:
        """The camera pose at story time `t`."""
        found = self.beat_at(t)
        return None if found is None else found[0].pose_at(found[1])

    def clock_at(self, t: float) -> int | None:
        """The clock time at story time `t`, UTC ns (None: the story leaves the clock)."""
        found = self.beat_at(t)
        return None if found is None else found[0].clock_at(found[1])


@dataclass
class Baseline:
    """What the session showed when a story started: what its steps are laid over."""

    pose: CameraPose | None
    clock_ns: int
    rate: float
    playing: bool
    styles: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, layers: list[Layer], camera: Camera, clock: Clock) -> Baseline:
        """Snapshot a session's layers, camera and clock."""
        styles = {x.uid: {k: getattr(x, k) for k in STORY_STYLE_KEYS} for x in layers}
        return cls(camera.pose, int(clock.t_ns), float(clock.rate), bool(clock.playing), styles)


def find_layer(layers: list[Layer], name: str) -> Layer | None:
    """The layer called `name`; else the only one whose name starts with it (any case)."""
    for layer in layers:
        if layer.name == name:
            return layer
    low = name.casefold()
    hits = [x for x in layers if x.name.casefold().startswith(low)]
    return hits[0] if len(hits) == 1 else None


def resolve(
    story: Story,
    layers: list[Layer],
    bookmarks: list[Bookmark],
    base: Baseline,
    timezone: str = "UTC",
    warn: Callable[[str], None] | None = None,
) -> Timeline:
    """Resolve a story against a session's layers and bookmarks, over `base`.

    Parameters
    ----------
    story
        The story.
    layers, bookmarks
        The session's layers (steps name them) and bookmarks (a step's camera may name one
        after the story's own bookmarks).
    base
        The session as the story started (pose, clock, layer styles).
    timezone
        Zone of step times written without an offset.
    warn
        Told about each layer name no layer answers to (the step is played without it).

    Raises
    ------
    StoryError
        A step names a bookmark neither the story nor the session has, or a time the clock
        cannot show (one line naming the file and the key).
    """
    from twin_app.model.times import parse_time

    marks = {b.name: b.pose for b in bookmarks}
    pose = base.pose
    clock_ns: int | None = base.clock_ns if base.clock_ns else None
    rate = 0.0
    styles = {uid: dict(s) for uid, s in base.styles.items()}
    beats: list[Beat] = []
    start = 0.0
    told: set[str] = set()
    for i, step in enumerate(story.steps):
        key = f"{story.label}: key 'steps[{i}]"
        target = pose
        if isinstance(step.camera, PoseSpec):
            target = step.camera.pose()
        elif isinstance(step.camera, str):
            target = story.bookmark(step.camera) or marks.get(step.camera)
            if target is None:
                known = [b.name for b in story.bookmarks] + list(marks)
                raise StoryError(
                    f"{key}.camera': no bookmark {step.camera!r} in the story or the session "
                    f"(known: {', '.join(known) or 'none'})"
                )
        if step.time is not None:
            try:
                clock_ns = parse_time(step.time, assume_tz=timezone, source=story.label)
            except TwinError as exc:
                raise StoryError(f"{key}.time': {exc}") from None
        if step.rate is not None:
            rate = float(step.rate)
        for name, spec in step.layers.items():
            layer = find_layer(layers, name)
            if layer is None:
                if warn is not None and name not in told:
                    told.add(name)
                    names = ", ".join(x.name for x in layers) or "none open"
                    warn(f"{key}.layers': no layer {name!r} (layers: {names})")
                continue
            styles.setdefault(layer.uid, {}).update(spec.values())
        fly = step.fly_s if pose is not None and target is not None else 0.0
        beat = Beat(
            index=i,
            step=step,
            start_s=start,
            end_s=start + step.duration_s,
            from_pose=pose,
            pose=target,
            fly_s=fly,
            easing=step.easing,
            orbit_deg=step.orbit_deg,
            clock_ns=clock_ns,
            rate=rate,
            styles={uid: dict(s) for uid, s in styles.items()},
        )
        beats.append(beat)
        start = beat.end_s
        pose = beat.end_pose
        end_clock = beat.clock_at(step.duration_s)
        clock_ns = end_clock if end_clock is not None else clock_ns
    return Timeline(story, tuple(beats))


class StoryPlayer:
    """Plays a story on a session, moved by explicit time steps (no timers, no Qt).

    Parameters
    ----------
    session
        The session it drives (camera, layers, clock, scenario comparison).
    story
        The story.
    base
        What the steps are laid over (default: the session as it is now).
    timezone
        Zone of naive step times (default: the story's, else the open twin's, else UTC).

    Attributes
    ----------
    t_s
        Story time, seconds from its start.
    playing
        Whether :meth:`advance` moves the story.
    index
        The step shown (-1 before the first :meth:`seek`).
    compare
        How the current step shows its scenario (None: no scenario shown).
    results
        Scenario results by scenario file (run by :meth:`prepare`).

    Signals
    -------
    step_changed(int)
        Another step is shown.
    caption_changed(str)
        Its caption.
    compare_changed(object)
        The :class:`CompareState` of the step, or None.
    time_changed(float)
        Story time moved.
    playing_changed(bool)
        Play or pause.
    finished()
        Playing reached the story's end.
    """

    step_changed = Signal(int)
    caption_changed = Signal(str)
    compare_changed = Signal(object)
    time_changed = Signal(float)
    playing_changed = Signal(bool)
    finished = Signal()

    def __init__(
        self,
        session: Session,
        story: Story,
        base: Baseline | None = None,
        timezone: str | None = None,
    ) -> None:
        self.session = session
        self.story = story
        self.base = base or Baseline.of(list(session.layers), session.camera, session.clock)
        self.timezone = timezone or story.timezone or _twin_timezone(session)
        self.timeline = resolve(
            story,
            list(session.layers),
            list(session.bookmarks),
            self.base,
            self.timezone,
            warn=lambda text: session.messages.emit("warning", text),
        )
        self.t_s = 0.0
        self.playing = False
        self.index = -1
        self.compare: CompareState | None = None
        self.results: dict[Path, ScenarioResult] = {}
        self._shown_result: Path | None = None

    @property
    def duration_s(self) -> float:
        """Length of the story, seconds."""
        return self.timeline.duration_s

    @property
    def caption(self) -> str:
        """The caption of the step shown ("" before the first)."""
        return self.timeline.beats[self.index].step.caption if self.index >= 0 else ""

    def scenario_files(self) -> list[Path]:
        """The scenario files the story's steps show, each once, in order."""
        return scenario_files(self.story)

    def prepare(
        self, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None
    ) -> dict[Path, ScenarioResult]:
        """Run the scenarios the story shows that have not been run (:func:`run_scenarios`)
        and keep them in :attr:`results`; each is shown when its step comes."""
        self.results.update(
            run_scenarios(self.session, self.story, progress, cancelled, skip=set(self.results))
        )
        return self.results

    # -- moving ------------------------------------------------------------------------------
    def seek(self, t_s: float) -> None:
        """Show the story at time `t_s` (clamped to the story): the step's styles and scenario
        when the step changes, then the camera pose and the clock time at `t_s`."""
        tl = self.timeline
        t = min(max(float(t_s), 0.0), tl.duration_s)
        self.t_s = t
        found = tl.beat_at(t)
        if found is None:
            return
        beat, tau = found
        if beat.index != self.index:
            self._enter(beat)
        pose = beat.pose_at(tau)
        camera = self.session.camera
        if pose is not None and pose != camera.pose:
            camera.set_pose(pose)
        t_ns = beat.clock_at(tau)
        clock = self.session.clock
        if t_ns is not None and t_ns != clock.t_ns:
            clock.seek(t_ns)
        self.time_changed.emit(t)

    def _enter(self, beat: Beat) -> None:
        session = self.session
        clock = session.clock
        clock.pause()  # the story moves the clock; the window's timer must not as well
        if beat.clock_ns is not None and beat.rate != 0.0:
            clock.set_rate(min(max(abs(beat.rate), 1.0), 10_000.0) * math.copysign(1, beat.rate))
        for layer in session.layers:
            style = beat.styles.get(layer.uid)
            if style is None:
                continue
            for k, v in style.items():
                if getattr(layer, k) != v and (k != "color_by" or v in layer.color_choices()):
                    setattr(layer, k, v)
        self._show_scenario(beat.step)
        self.index = beat.index
        self.step_changed.emit(beat.index)
        self.caption_changed.emit(beat.step.caption)

    def _show_scenario(self, step: Step) -> None:
        session = self.session
        path = step.scenario
        state: CompareState | None = None
        if path is not None and step.compare_mode is not None:
            result = self.results.get(path)
            if result is None:
                session.messages.emit(
                    "warning",
                    f"{self.story.label}: scenario {path.name} has not been run yet; "
                    "its step is shown without it",
                )
            else:
                if self._shown_result != path or session.scenario_state.comparison is None:
                    session.show_result(result)
                    self._shown_result = path
                cmp = session.scenario_state.comparison
                if cmp is not None:
                    cmp.set_show(step.show)
                state = CompareState(step.compare_mode, step.show, step.split, path)
        elif self._shown_result is not None:
            session.close_comparison()
            self._shown_result = None
        if state != self.compare:
            self.compare = state
            self.compare_changed.emit(state)

    def advance(self, dt_s: float) -> None:
        """Move the story by `dt_s` seconds while playing; at the end it pauses and emits
        ``finished``."""
        if not self.playing or dt_s <= 0.0:
            return
        t = self.t_s + float(dt_s)
        if t >= self.duration_s:
            self.seek(self.duration_s)
            self.pause()
            self.finished.emit()
            return
        self.seek(t)

    def play(self) -> None:
        """Play from the current time (from the start when at the end)."""
        if self.t_s >= self.duration_s or self.index < 0:
            self.seek(0.0 if self.t_s >= self.duration_s else self.t_s)
        if not self.playing:
            self.playing = True
            self.playing_changed.emit(True)

    def pause(self) -> None:
        """Stop moving (the picture stays)."""
        if self.playing:
            self.playing = False
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        """Play if paused, pause if playing."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def go_to_step(self, index: int) -> None:
        """Go to step `index` (clamped to the story): playing, to its start, so that its
        flight plays; paused, to the end of its flight, so that the step's view shows (a
        presenter stepping through a paused story sees each step, not where the last one
        left off)."""
        beats = self.timeline.beats
        if not beats:
            return
        beat = beats[min(max(int(index), 0), len(beats) - 1)]
        self.seek(beat.start_s if self.playing else beat.start_s + beat.fly_s)

    def next(self) -> None:
        """The next step (a presenter's Page Down); at the last step, its end."""
        if self.index + 1 >= len(self.timeline.beats):
            self.seek(self.duration_s)
        else:
            self.go_to_step(self.index + 1)

    def previous(self) -> None:
        """The previous step (Page Up)."""
        self.go_to_step(max(self.index - 1, 0))

    def refresh(self) -> None:
        """Show the current time again from scratch (scenario results arrived, layers changed)."""
        self.index = -1
        self.seek(self.t_s)

    def restore(self) -> None:
        """Put back the camera, styles and clock the session had when the story started, and
        drop the comparison the story showed."""
        self.pause()
        session = self.session
        for layer in session.layers:
            style = self.base.styles.get(layer.uid)
            for k, v in (style or {}).items():
                if getattr(layer, k) != v:
                    setattr(layer, k, v)
        if self.base.pose is not None:
            session.camera.set_pose(self.base.pose)
        if self.base.clock_ns:
            session.clock.seek(self.base.clock_ns)
        if self._shown_result is not None:
            session.close_comparison()
            self._shown_result = None
        self.compare = None
        self.index = -1
        self.compare_changed.emit(None)


def scenario_files(story: Story) -> list[Path]:
    """The scenario files a story's steps show, each once, in order."""
    out: list[Path] = []
    for step in story.steps:
        if step.scenario is not None and step.scenario not in out:
            out.append(step.scenario)
    return out


def run_scenarios(
    session: Session,
    story: Story,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    skip: set[Path] | None = None,
) -> dict[Path, ScenarioResult]:
    """Run the scenarios a story shows (each once) against the session's cached baselines.

    Pure with respect to the session (safe on a worker thread).

    Raises
    ------
    InputError
        A scenario file is bad.
    Cancelled
        `cancelled` answered true.
    """
    from twin_app.scenarios.file import load_scenario

    files = [p for p in scenario_files(story) if p not in (skip or set())]
    out: dict[Path, ScenarioResult] = {}
    for k, path in enumerate(files):
        scenario = load_scenario(path)

        def step(frac: float, msg: str, k: int = k, name: str = scenario.name) -> None:
            if progress is not None:
                progress((k + frac) / len(files), f"{name}: {msg}")

        out[path] = session.run_scenario(step, cancelled, scenario=scenario)
    return out


def _twin_timezone(session: Session) -> str:
    if not session.twins:
        return "UTC"
    from twin_app.io.manifest import read_manifest

    try:
        return read_manifest(session.twins[0]).timezone
    except TwinError:
        return "UTC"


# -- a story for a scenario, and the headless way in ---------------------------------------------
#: Length of the fly-around ``twin video SCENARIO.toml`` makes, seconds.
SCENARIO_TOUR_S = 10.0


#: Half the width of the area a scenario's fly-around frames at least, metres.
CHANGES_MIN_HALF_M = 150.0


def changes_pose(session: Session, share: float = 0.5) -> CameraPose | None:
    """A pose framing where the shown comparison changed most.

    The features of its scenario side's result layers whose change is at least `share` of the
    largest are taken; the box spans the middle 60 % of them on each axis (a re-routing
    reaches across a district: its far ends would shrink the place that matters to a speck),
    at least :data:`CHANGES_MIN_HALF_M` either side of their median. None: no change shown.
    """
    import numpy as np

    from twin_app.model.camera import pose_for_bounds
    from twin_app.model.layers import FeatureLayer

    cmp = session.scenario_state.comparison
    if cmp is None:
        return None
    points = []
    for layer in cmp.scenario.results.values():
        if not isinstance(layer, FeatureLayer) or layer.features is None:
            continue
        if layer.color_by not in layer.numeric_columns():
            continue
        v = np.abs(np.nan_to_num(layer.feature_values(layer.color_by)))
        if not v.size or float(v.max()) <= 0.0:
            continue
        points.append(layer.features.feature_centroids()[v >= share * float(v.max())])
    p = np.concatenate(points) if points else np.zeros((0, 3))
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return None
    lo, mid, hi = np.percentile(p, [20.0, 50.0, 80.0], axis=0)
    half = np.maximum((hi - lo) / 2.0, CHANGES_MIN_HALF_M)
    half[2] = max((hi[2] - lo[2]) / 2.0, 1.0)
    box = tuple(float(x) for pair in zip(mid - half, mid + half, strict=True) for x in pair)
    return pose_for_bounds(box, azimuth_deg=20.0, elevation_deg=45.0)  # type: ignore[arg-type]


def scenario_story(path: Path, session: Session, result: ScenarioResult) -> Story:
    """A short fly-around of a scenario's comparison (baseline | scenario, the change shown),
    framed on where it changed most."""
    from twin_app.scenarios.file import load_scenario

    scenario = load_scenario(path)
    session.show_result(result)
    pose = changes_pose(session)
    session.close_comparison()
    caption = scenario.name + (f": {scenario.description}" if scenario.description else "")
    step = Step(
        caption=caption,
        duration_s=SCENARIO_TOUR_S,
        camera=PoseSpec.of(pose) if pose is not None else None,
        transition="cut",
        orbit_deg=60.0,
        scenario=path,
        compare="side_by_side",
    )
    return Story(name=scenario.name, twin=scenario.twin, steps=(step,))


def open_for_video(
    path: Path | str, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None
) -> tuple[Session, Story, dict[Path, ScenarioResult]]:
    """Open a story file, or a scenario file, with its twin into a new session and run the
    scenarios it shows (what ``twin video`` films). The story becomes the session's story;
    make its player (``session.story_player``) once the view is up, so that the story starts
    from the view's pose, and hand it the results.

    A scenario file becomes :func:`scenario_story`: its comparison, flown around.

    Raises
    ------
    InputError
        A bad file, or a story or scenario that names no twin.
    """
    from twin_app.errors import InputError
    from twin_app.io.story_file import is_story_file, load_story
    from twin_app.scenarios.file import load_scenario
    from twin_app.session.core import Session
    from twin_app.session.opening import open_paths

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such story or scenario file")
    session = Session()
    if is_story_file(p):
        story = load_story(p)
        if story.twin is None:
            raise InputError(f"{story.label}: key 'twin': the story names no twin folder")
        if progress is not None:
            progress(0.0, f"opening {story.twin.name}")
        open_paths(session, [story.twin])
        results = run_scenarios(session, story, _part(progress, 0.1, 1.0), cancelled)
    else:
        scenario = load_scenario(p)
        if scenario.twin is None:
            raise InputError(f"{scenario.label}: key 'twin': a scenario video needs a twin")
        if progress is not None:
            progress(0.0, f"opening {scenario.twin.name}")
        open_paths(session, [scenario.twin])
        result = session.run_scenario(_part(progress, 0.1, 1.0), cancelled, scenario=scenario)
        story = scenario_story(scenario.file or p, session, result)
        results = {scenario.file or p: result}
    st = session.story_state
    st.story = st.saved = story
    st.path = story.file
    return session, story, results


def _part(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None

    def inner(frac: float, msg: str) -> None:
        progress(lo + (hi - lo) * frac, msg)

    return inner


# -- the session's verbs ------------------------------------------------------------------------
@evented
@dataclass(eq=False)
class StoryState:
    """The story a session authors and presents (one signal per field).

    Attributes
    ----------
    story
        The current :class:`~twin_app.io.story_file.Story` (frozen: an edit replaces it).
    path
        The file it was opened from or last saved to.
    saved
        The story as last opened or saved (``dirty`` compares with it).
    """

    story: Any = None
    path: Path | None = None
    saved: Any = None

    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    @property
    def dirty(self) -> bool:
        """True when the story differs from the file it came from or was saved to."""
        return self.story is not None and self.story != self.saved


class StoryVerbs:
    """The story verbs of a :class:`~twin_app.session.core.Session` (a mixin).

    Attributes
    ----------
    story_state
        The evented :class:`StoryState`.

    Signals
    -------
    story_player_changed(object)
        A new :class:`StoryPlayer` plays the current story (front ends connect to it).
    """

    story_player_changed = Signal(object)

    if TYPE_CHECKING:
        layers: EventedList[Layer]
        bookmarks: EventedList[Bookmark]
        camera: Camera
        clock: Clock
        commands: CommandStack
        messages: Signal
        twins: list[Path]
        scenario_state: Any

    def _init_story(self) -> None:
        self.story_state = StoryState()
        self._story_player: StoryPlayer | None = None

    @property
    def story(self) -> Story:
        """The current story (an empty one until one is opened or a step recorded)."""
        st = self.story_state
        if st.story is None:
            st.story = st.saved = Story(name="Story")
        current: Story = st.story
        return current

    @property
    def story_player(self) -> StoryPlayer:
        """The player of the current story (made again, over the same baseline, when the story
        changed; standing at the step the old one stood at, the view left as it is).

        Raises
        ------
        StoryError
            The current story cannot be played on this session (a bookmark neither has). The
            player of the story before it is dropped (paused, the view left as it is), so
            that nothing plays, steps or presents a story that is no longer the current one.
        """
        old = self._story_player
        story = self.story
        if old is not None and old.story is story:
            return old
        session: Session = self  # type: ignore[assignment]
        try:
            player = StoryPlayer(session, story, base=old.base if old is not None else None)
        except Exception:  # whatever stops the new story, the old one's player is stale
            self.drop_story_player()
            raise
        if old is not None:
            player.results = {p: r for p, r in old.results.items() if p in player.scenario_files()}
            player._shown_result = old._shown_result
            player.compare = old.compare
            old.pause()
            # where the old one stood, without moving the view (an edit, a recorded step)
            n = len(player.timeline.beats)
            player.index = min(old.index, n - 1)
            player.t_s = min(old.t_s, player.duration_s)
        self._story_player = player
        self.story_player_changed.emit(player)
        return player

    def drop_story_player(self) -> None:
        """Forget the player (the session was cleared: its baseline's layers are gone); the
        story stays, played afresh over what opens next."""
        if self._story_player is not None:
            self._story_player.pause()
            self._story_player = None
            self.story_player_changed.emit(None)

    def stop_story(self) -> None:
        """Stop presenting: the session shows what it showed before the story started."""
        if self._story_player is not None:
            self._story_player.restore()
            self._story_player = None
            self.story_player_changed.emit(None)

    def _set_story(self, text: str, new: Story, path: Path | None = None,
                   saved: Any = None, reset: bool = False) -> None:  # fmt: skip
        st = self.story_state
        before = (st.story, st.path, st.saved)
        after = (new, path if reset else st.path, saved if reset else st.saved)

        def apply(state: tuple[Any, Path | None, Any]) -> None:
            st.saved = state[2]
            st.path = state[1]
            st.story = state[0]

        self.commands.push(Command(text, lambda: apply(after), lambda: apply(before)))

    def new_story(self, name: str = "Story") -> Story:
        """Start an empty story (undoable)."""
        new = Story(name=name.strip() or "Story")
        self._set_story(f"New story {new.name}", new, None, new, reset=True)
        return new

    def open_story(self, path: Path | str) -> Story:
        """Read a story file and make it the current story (undoable).

        Raises
        ------
        InputError
            The file is not a valid story (one line naming the file and the key).
        """
        from twin_app.io.story_file import load_story

        loaded = load_story(path)
        self._set_story(f"Open story {loaded.name}", loaded, loaded.file, loaded, reset=True)
        return loaded

    def save_story(self, path: Path | str | None = None) -> Path:
        """Write the story atomically to `path` (default: the file it came from).

        Raises
        ------
        StoryError
            No path given and the story was never saved.
        SessionFileError
            The file cannot be written (the old file stays as it was).
        """
        from twin_app.io.story_file import save_story

        st = self.story_state
        target = Path(path) if path is not None else st.path
        if target is None:
            raise StoryError(f"story {self.story.name!r}: choose a file to save it to")
        written = save_story(self.story, target)
        player = self._story_player
        st.story = st.saved = written
        if player is not None:  # same content: the player plays on
            player.story = written
        st.path = written.file
        assert written.file is not None
        return written.file

    # -- authoring -------------------------------------------------------------------------------
    def _with_steps(self, steps: list[Step]) -> Story:
        return self.story.model_copy(update={"steps": tuple(steps)})

    def _check_index(self, i: int, n: int | None = None) -> int:
        count = len(self.story.steps) if n is None else n
        j = i + count if i < 0 else i
        if not 0 <= j < count:
            raise StoryError(f"story {self.story.name!r} has no step {i} (it has {count})")
        return j

    def current_step(
        self,
        caption: str = "",
        duration_s: float = RECORD_S,
        transition: str = "fly",
        compare: str | None = None,
    ) -> Step:
        """The view as a step: the camera pose, every layer's visibility, opacity, colouring
        and colour map, and the clock's time and rate (0 when paused) when a replay is open.

        With `compare` (``"side_by_side"`` or ``"swipe"``: how the front end shows the
        comparison) and a comparison shown of a scenario saved to a file, the step shows that
        scenario the same way (change or values as now).

        Raises
        ------
        StoryError
            Nothing is shown yet (the camera has no pose).
        """
        from twin_app.io.story_file import LayerStyleSpec
        from twin_app.model.times import format_iso_ns

        pose = self.camera.pose
        if pose is None:
            raise StoryError("open something first: the view has no camera pose to record")
        layers: dict[str, LayerStyleSpec] = {}
        for layer in self.layers:
            if layer.name in layers:
                continue
            layers[layer.name] = LayerStyleSpec(**{k: getattr(layer, k) for k in STORY_STYLE_KEYS})
        clock = self.clock
        # a clock with a range shows a replay: its time belongs to the view
        timed = clock.end_ns > clock.start_ns
        shown: dict[str, Any] = {}
        st = self.scenario_state
        if compare is not None and st.comparison is not None and st.path is not None:
            shown = {"scenario": st.path, "compare": compare, "show": st.comparison.show}
        return Step(
            caption=caption,
            duration_s=duration_s,
            camera=PoseSpec.of(pose),
            transition=transition,
            time=format_iso_ns(clock.t_ns) if timed else None,
            rate=(clock.rate if clock.playing else 0.0) if timed else None,
            layers=layers,
            **shown,
        )

    def record_step(
        self,
        caption: str = "",
        duration_s: float = RECORD_S,
        index: int | None = None,
        compare: str | None = None,
    ) -> int:
        """Add the current view (:meth:`current_step`, with `compare`) as a step at `index`
        (default: the end); one undoable command. Returns the new step's index."""
        step = self.current_step(caption, duration_s, compare=compare)
        steps = list(self.story.steps)
        at = len(steps) if index is None else min(max(int(index), 0), len(steps))
        steps.insert(at, step)
        self._set_story(f"Record step {at + 1}", self._with_steps(steps))
        return at

    def edit_step(self, index: int, **changes: Any) -> Step:
        """Change fields of step `index` (caption, duration_s, camera, transition ...),
        validated like a file's; one undoable command.

        Raises
        ------
        StoryError
            No such step.
        InputError
            A value the file format refuses (one line naming the key).
        """
        from twin_app.io.story_file import story_from_dict

        i = self._check_index(index)
        old = self.story.steps[i]
        data = {**old.model_dump(exclude_none=True), **changes}
        data = {k: v for k, v in data.items() if v is not None}
        probe = story_from_dict(
            {"schema": 1, "name": self.story.name, "steps": [data]},
            file=self.story.file,
        )
        new = probe.steps[0]
        if new == old:
            return old
        steps = list(self.story.steps)
        steps[i] = new
        self._set_story(f"Edit step {i + 1}", self._with_steps(steps))
        return new

    def move_step(self, index: int, new_index: int) -> None:
        """Move step `index` to `new_index` (undoable)."""
        i = self._check_index(index)
        j = self._check_index(new_index)
        if i == j:
            return
        steps = list(self.story.steps)
        steps.insert(j, steps.pop(i))
        self._set_story(f"Move step {i + 1} to {j + 1}", self._with_steps(steps))

    def remove_step(self, index: int) -> None:
        """Remove step `index` (undoable)."""
        i = self._check_index(index)
        steps = list(self.story.steps)
        del steps[i]
        self._set_story(f"Remove step {i + 1}", self._with_steps(steps))

    # -- presenting ------------------------------------------------------------------------------
    def play_story(self) -> None:
        """Play the story from where it stands (from the start at its end)."""
        self.story_player.play()

    def pause_story(self) -> None:
        """Pause the story."""
        self.story_player.pause()

    def toggle_story(self) -> None:
        """Play or pause the story."""
        self.story_player.toggle()

    def next_step(self) -> None:
        """Show the next step."""
        self.story_player.next()

    def previous_step(self) -> None:
        """Show the previous step."""
        self.story_player.previous()

    def seek_story(self, t_s: float) -> None:
        """Show the story at time `t_s`."""
        self.story_player.seek(t_s)


__all__ = [
    "Baseline",
    "Beat",
    "CompareState",
    "StoryError",
    "StoryPlayer",
    "StoryState",
    "StoryVerbs",
    "Timeline",
    "changes_pose",
    "find_layer",
    "open_for_video",
    "resolve",
    "run_scenarios",
    "scenario_story",
]
