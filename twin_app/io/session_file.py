"""Session files (``*.twin.toml``): sources, frame, layer styles, camera, bookmarks, view.

The schema is versioned and validated with pydantic, so a hand-edited or damaged file gets a
message naming the offending key. A file written by a newer twin_app is refused, never
rewritten. Writes are atomic (:func:`twin_app.io.atomic.atomic_write_text`); saving or opening a
session removes the temporary files an interrupted save of it left behind.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin_app import __version__
from twin_app.errors import SessionFileError
from twin_app.io.atomic import atomic_write_text, clean_stale_temporaries

SCHEMA_VERSION = 1
SUFFIX = ".twin.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceEntry(_Strict):
    """A file the session loads, with its read options."""

    path: str
    options: dict[str, Any] = Field(default_factory=dict)


class FrameEntry(_Strict):
    """The local frame, so camera poses and bookmarks stay valid."""

    crs_wkt: str
    origin: tuple[float, float, float]


class StyleEntry(_Strict):
    """How one layer is drawn."""

    visible: bool = True
    opacity: float = Field(1.0, ge=0.0, le=1.0)
    color_by: str = "solid"
    colormap: str = "viridis"
    clim: tuple[float, float] | None = None
    color: str = "#d9d4c7"


class LayerEntry(_Strict):
    """A layer, matched on reload by name and kind."""

    name: str
    kind: str
    style: StyleEntry = Field(default_factory=StyleEntry)


class PoseEntry(_Strict):
    """A camera pose (local metres)."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle_deg: float = Field(30.0, gt=0.0, lt=180.0)
    parallel_scale: float = Field(0.0, ge=0.0)


class BookmarkEntry(PoseEntry):
    """A named pose."""

    name: str


class ViewEntry(_Strict):
    """View options saved with the session."""

    underground: str = "off"
    shadows: bool = False
    clock_ns: int = 0
    clock_rate: float = 1.0

    @field_validator("underground")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("off", "translucent", "cutaway"):
            raise ValueError("must be off, translucent or cutaway")
        return v


class SessionFile(_Strict):
    """The whole file."""

    schema_version: int
    app: str = f"twin_app {__version__}"
    sources: list[SourceEntry] = Field(default_factory=list)
    twins: list[str] = Field(default_factory=list)
    frame: FrameEntry | None = None
    layers: list[LayerEntry] = Field(default_factory=list)
    camera: PoseEntry | None = None
    bookmarks: list[BookmarkEntry] = Field(default_factory=list)
    view: ViewEntry = Field(default_factory=ViewEntry)

    def resolved_twins(self, folder: Path) -> list[Path]:
        """Twin folders (manifest.toml: replay series) made absolute against `folder`."""
        return [
            (folder / t).resolve() if not Path(t).is_absolute() else Path(t) for t in self.twins
        ]

    def resolved_sources(self, folder: Path) -> list[tuple[Path, dict[str, Any]]]:
        """Source paths made absolute against the session file's folder."""
        return [
            (
                (folder / s.path).resolve() if not Path(s.path).is_absolute() else Path(s.path),
                s.options,
            )
            for s in self.sources
        ]


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def _relative(target: Path, session_path: Path) -> str:
    if not target.is_absolute():
        return str(target)
    with contextlib.suppress(ValueError):  # another drive on Windows: keep it absolute
        return os.path.relpath(target, session_path.resolve().parent)
    return str(target)


def write_session(path: Path | str, data: SessionFile) -> None:
    """Validate and write a session file atomically; source paths are stored relative when possible."""
    p = Path(path)
    payload = data.model_dump(mode="json")
    payload["twins"] = [_relative(Path(t), p) for t in payload["twins"]]
    for src in payload["sources"]:
        sp = Path(src["path"])
        if sp.is_absolute():
            with contextlib.suppress(ValueError):  # another drive on Windows: keep it absolute
                src["path"] = os.path.relpath(sp, p.resolve().parent)
    clean_stale_temporaries(p)
    atomic_write_text(p, tomli_w.dumps(_drop_none(payload)))


def read_session(path: Path | str) -> SessionFile:
    """Read and validate a session file; every problem is a one-line :class:`SessionFileError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SessionFileError(f"{p}: no such session file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionFileError(f"{p}: cannot read ({exc})") from exc
    clean_stale_temporaries(p)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SessionFileError(f"{p}: not a valid session file: {exc}") from exc
    version = raw.get("schema_version")
    if not isinstance(version, int):
        raise SessionFileError(
            f"{p}: key 'schema_version' missing or not an integer; is this a twin_app session?"
        )
    if version > SCHEMA_VERSION:
        raise SessionFileError(
            f"{p}: written by a newer twin_app (schema {version}, this one reads up to {SCHEMA_VERSION}); "
            "update twin_app to open it. The file was not changed."
        )
    try:
        return SessionFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise SessionFileError(f"{p}: key {loc!r}: {err['msg']}") from exc
