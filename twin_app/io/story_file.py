"""Story files: TOML, schema 1, validated with pydantic (issue 11, "Stories").

A story is a list of steps a presenter (or ``twin video``) goes through: where the camera is,
which layers show and how, what the clock shows, an optional scenario shown against its
baseline, and a caption::

    schema = 1
    name = "A tour of the City of London"
    description = "optional text"
    twin = ".."                         # optional: the twin folder the story is told on
    timezone = "Europe/London"          # optional: zone of naive step times (default: the twin's)

    [[bookmarks]]                       # optional: named poses of the story's own
    name = "St Paul's"                  # (steps may also name the session's bookmarks)
    position = [-600.0, -900.0, 500.0]  # local metres of the twin's frame
    focal_point = [-300.0, 0.0, 0.0]
    view_up = [0.0, 0.0, 1.0]           # optional
    view_angle_deg = 30.0               # optional

    [[steps]]
    caption = "The morning peak"        # shown at the bottom of the picture
    duration_s = 6.0                    # seconds the step lasts (transition included)
    camera = "St Paul's"                # a bookmark name, or an inline pose:
                                        # camera = { position = [...], focal_point = [...] }
    orbit_deg = 20.0                    # optional: turn about the focal point during the step
    transition = "fly"                  # "fly" (eased flight from the previous view) or "cut"
    transition_s = 2.0                  # length of the flight (default min(2, duration_s))
    easing = "smooth"                   # "smooth" (smooth-step), "smoother" or "linear"
    time = "2026-03-02T08:00"           # optional clock time (the story's zone unless an offset)
    rate = 600                          # optional: simulated seconds per story second (0: still)
    scenario = "scenarios/close_road.toml"   # optional: shown against its baseline
    compare = "side_by_side"            # "side_by_side" or "swipe" (with a scenario)
    show = "delta"                      # "delta" or "value" on the scenario side
    split = 0.5                         # where a swipe splits the picture (0..1)
    [steps.layers."Traffic"]            # a layer's name (or an unambiguous start of it)
    visible = true                      # any of visible, opacity, color_by, colormap
    opacity = 1.0

What a step does not say it keeps from the steps before it (the camera, layer styles, the clock
and its rate), so a step at any time is the same whichever way the story got there.

Paths are relative to the story file; a loaded :class:`Story` holds them absolute and
:func:`save_story` writes them relative to the file it writes (atomically). Every bad file gives
a one-line :class:`~twin_app.errors.InputError` naming the file and the key
(``steps[2].duration_s``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from twin_app.errors import InputError, TwinError
from twin_app.io.toml_model import (
    FileModel,
    RelativePath,
    error_text,
    model_from_dict,
    norm_path,
    read_toml_file,
    validation_message,
    write_toml_file,
)
from twin_app.io.toml_model import StrictModel as _Strict
from twin_app.model.camera import CameraPose

#: The schema version this code reads and writes.
SCHEMA_VERSION: Literal[1] = 1
#: Default length of a step's flight, seconds (shorter steps fly for their whole length).
DEFAULT_FLY_S = 2.0
#: The longest step, seconds.
MAX_STEP_S = 3600.0
#: Clock rates a step may ask for (the Clock's own limit).
MAX_RATE = 10_000.0

Easing = Literal["smooth", "smoother", "linear"]
CompareMode = Literal["side_by_side", "swipe"]
Show = Literal["delta", "value"]


def _time_text(value: Any) -> Any:
    """TOML datetimes (``time = 2026-03-02T08:00:00``) are kept as their ISO text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


Vec3 = tuple[float, float, float]


class PoseSpec(_Strict):
    """A camera pose written out (fields of :class:`~twin_app.model.camera.CameraPose`)."""

    position: Vec3
    focal_point: Vec3
    view_up: Vec3 = (0.0, 0.0, 1.0)
    view_angle_deg: float = 30.0
    parallel_scale: float = 0.0

    @model_validator(mode="after")
    def _showable(self) -> PoseSpec:
        self.pose()  # CameraError is a ValueError: pydantic reports it at this key
        return self

    def pose(self) -> CameraPose:
        """The :class:`CameraPose`."""
        return CameraPose(
            self.position, self.focal_point, self.view_up, self.view_angle_deg, self.parallel_scale
        )

    @classmethod
    def of(cls, pose: CameraPose) -> PoseSpec:
        """The spec of a pose."""
        return cls(
            position=pose.position,
            focal_point=pose.focal_point,
            view_up=pose.view_up,
            view_angle_deg=pose.view_angle_deg,
            parallel_scale=pose.parallel_scale,
        )


class BookmarkSpec(PoseSpec):
    """A named pose of the story's own."""

    name: str = Field(min_length=1)


class LayerStyleSpec(_Strict):
    """What a step sets on one layer (unset fields keep their value)."""

    visible: bool | None = None
    opacity: float | None = Field(None, ge=0.0, le=1.0)
    color_by: str | None = Field(None, min_length=1)
    colormap: str | None = Field(None, min_length=1)

    def values(self) -> dict[str, Any]:
        """The fields set, as layer attributes."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Step(_Strict):
    """One step of a story (see the module docstring for each key)."""

    caption: str = ""
    duration_s: float = Field(gt=0.0, le=MAX_STEP_S)
    camera: str | PoseSpec | None = None
    orbit_deg: float = Field(0.0, ge=-3600.0, le=3600.0)
    transition: Literal["fly", "cut"] = "fly"
    transition_s: float | None = Field(None, ge=0.0, le=MAX_STEP_S)
    easing: Easing = "smooth"
    time: Annotated[str | None, BeforeValidator(_time_text)] = None
    rate: float | None = Field(None, ge=-MAX_RATE, le=MAX_RATE)
    layers: dict[str, LayerStyleSpec] = Field(default_factory=dict)
    scenario: RelativePath | None = None
    compare: CompareMode | None = None
    show: Show = "delta"
    split: float = Field(0.5, ge=0.01, le=0.99)

    @field_validator("camera", mode="before")
    @classmethod
    def _camera(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():
            raise ValueError("a bookmark name must not be empty")
        return v

    @field_validator("time", mode="after")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from twin_app.model.times import parse_time

        try:
            parse_time(v, assume_tz="UTC")
        except TwinError as exc:
            raise ValueError(f"not a time like 2026-03-02T08:00 ({exc})") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Step:
        if self.transition_s is not None and self.transition_s > self.duration_s:
            raise ValueError(
                f"transition_s {self.transition_s} is longer than the step's duration_s "
                f"{self.duration_s}"
            )
        if self.compare is not None and self.scenario is None:
            raise ValueError("'compare' needs a 'scenario' to compare with its baseline")
        return self

    @property
    def fly_s(self) -> float:
        """Seconds the flight into this step lasts (0 for a cut)."""
        if self.transition == "cut":
            return 0.0
        return (
            self.transition_s
            if self.transition_s is not None
            else min(DEFAULT_FLY_S, self.duration_s)
        )

    @property
    def compare_mode(self) -> CompareMode | None:
        """How the scenario is shown (side by side unless said), None without one."""
        if self.scenario is None:
            return None
        return self.compare or "side_by_side"


class Story(FileModel):
    """A story file's content (frozen). Paths are absolute (see the module docstring).

    ``file`` is where it was read from (None when built in code); it is not compared.
    """

    schema_version: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    name: str = Field(min_length=1)
    description: str = ""
    twin: RelativePath | None = None
    timezone: str | None = None
    bookmarks: tuple[BookmarkSpec, ...] = ()
    steps: tuple[Step, ...] = ()
    file: Path | None = Field(None, exclude=True, repr=False)

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name like Europe/London)") from None
        return v

    @model_validator(mode="after")
    def _unique_bookmarks(self) -> Story:
        seen: set[str] = set()
        for b in self.bookmarks:
            if b.name in seen:
                raise ValueError(f"bookmark {b.name!r} is defined twice")
            seen.add(b.name)
        return self

    @property
    def label(self) -> str:
        """The file for messages (or the name when built in code)."""
        return str(self.file) if self.file is not None else f"story {self.name!r}"

    @property
    def duration_s(self) -> float:
        """Length of the whole story, seconds."""
        return float(math.fsum(s.duration_s for s in self.steps))

    def bookmark(self, name: str) -> CameraPose | None:
        """The story's own bookmark `name`, or None."""
        for b in self.bookmarks:
            if b.name == name:
                return b.pose()
        return None


def _loc_text(loc: tuple[int | str, ...]) -> str:
    """``('steps', 1, 'camera', 'PoseSpec', 'position')`` -> ``steps[1].camera.position``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "PoseSpec", "none", "function-after[_showable(), PoseSpec]"):
            continue  # the union member pydantic tried: not a key of the file
        elif isinstance(part, str) and part.startswith("function-"):
            continue
        else:
            out += ("." if out else "") + ("schema" if part == "schema_version" else part)
    return out or "(top level)"


def _pick_error(exc: ValidationError) -> Mapping[str, Any]:
    """The error to show: for ``camera`` (a name or a pose) the pose's, when it was a table."""
    errors = exc.errors()
    for err in errors:
        loc = err.get("loc", ())
        if "camera" in loc and isinstance(err.get("input"), str) and "PoseSpec" in loc:
            continue  # "a string is not a pose": the string branch's error says it better
        if "camera" in loc and "str" in loc and not isinstance(err.get("input"), str):
            continue  # "a table is not a string": the pose branch's error says it better
        return err
    return errors[0]


def _what(err: Mapping[str, Any]) -> str:
    return error_text(err, "story", SCHEMA_VERSION)


def _validation_message(label: str, exc: ValidationError) -> str:
    return validation_message(label, exc, _pick_error(exc), _loc_text, _what)


def story_from_dict(
    data: Mapping[str, Any], base_dir: Path | str | None = None, file: Path | None = None
) -> Story:
    """Validate a story given as a mapping (the parsed TOML).

    Parameters and errors: :func:`~twin_app.io.toml_model.model_from_dict`.
    """
    return model_from_dict(Story, data, base_dir, file, "story", _validation_message)


def check_story_files(story: Story) -> None:
    """Raise a one-line :class:`InputError` for the first file the story names that is missing."""
    if story.twin is not None and not story.twin.is_dir():
        raise InputError(f"{story.label}: key 'twin': {story.twin} is not a folder (a twin folder)")
    for i, step in enumerate(story.steps):
        if step.scenario is not None and not step.scenario.is_file():
            raise InputError(
                f"{story.label}: key 'steps[{i}].scenario': {step.scenario} does not exist "
                "(paths are relative to the story file)"
            )


def load_story(path: Path | str, check: bool = True) -> Story:
    """Read and validate a story file.

    Parameters
    ----------
    path
        The ``.toml`` file.
    check
        Also check that every file it names exists (:func:`check_story_files`).

    Raises
    ------
    InputError
        The file cannot be read, is not TOML, breaks the schema or names a missing file; one
        line naming the file and the key.
    """
    p, data = read_toml_file(path, "story")
    story = story_from_dict(data, file=p)
    if check:
        check_story_files(story)
    return story


def is_story_file(path: Path | str) -> bool:
    """True for a TOML file whose top level has ``steps`` (a story, not a scenario)."""
    p = Path(path)
    if p.suffix.lower() != ".toml" or not p.is_file():
        return False
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False
    return "steps" in data and "interventions" not in data


def story_to_dict(story: Story, folder: Path | str) -> dict[str, Any]:
    """The TOML content of a story, paths relative to ``folder`` (None values left out)."""
    folder = norm_path(folder)

    def clean(obj: Any) -> Any:
        if isinstance(obj, Path):
            return Path(os.path.relpath(obj, folder)).as_posix()
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None and v != {}}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    # defaults left out: a saved file says what its author chose, not every default
    data = story.model_dump(by_alias=True, mode="python", exclude_defaults=True)
    data.pop("schema", None)
    out: dict[str, Any] = clean(data)
    # schema first: a reader sees the version before anything else
    return {"schema": SCHEMA_VERSION, **out}


def save_story(story: Story, path: Path | str) -> Story:
    """Write a story file atomically (temporary file, fsync, ``os.replace``).

    Paths are written relative to the new file's folder. Returns the story as it now reads
    from ``path`` (``load_story(path) == story``).

    Raises
    ------
    SessionFileError
        The file cannot be written (the previous file is unchanged).
    """
    p = write_toml_file(path, lambda folder: story_to_dict(story, folder))
    return story.model_copy(update={"file": p})


__all__ = [
    "BookmarkSpec",
    "LayerStyleSpec",
    "PoseSpec",
    "Step",
    "Story",
    "check_story_files",
    "is_story_file",
    "load_story",
    "save_story",
    "story_from_dict",
    "story_to_dict",
]
