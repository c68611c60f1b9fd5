"""Session files (``*.twin.toml``): sources, frame, layer styles, camera, bookmarks, view.

The schema is versioned and validated with pydantic, so a hand-edited or damaged file gets a
message naming the offending key. A file written by a newer twin_app is refused, never
rewritten. Writes are atomic (:func:`twin_app.atomic.atomic_write_text`); saving or opening a
session removes the temporary files an interrupted save of it left behind.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from twin_app import __version__
from twin_app.atomic import atomic_write_text, clean_stale_temporaries
from twin_app.errors import SessionFileError

SCHEMA_VERSION = 1
SUFFIX = ".twin.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_crs(text: str) -> str:
    """`text` if pyproj accepts it as a CRS, else a ValueError saying so."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        CRS.from_user_input(text)
    except (ProjCRSError, TypeError, ValueError) as exc:
        shown = text if len(text) < 60 else text[:57] + "..."
        raise ValueError(f"the projection library rejects the CRS {shown!r} ({exc})") from None
    return text


def _check_lonlat(value: Any) -> tuple[float, float]:
    """``[lon, lat]`` in degrees (where an IFC file without georeference was placed)."""
    import math

    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"read option 'at_lonlat' must be [lon, lat] in degrees, not {value!r}"
        ) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"read option 'at_lonlat' must be [lon, lat] in degrees, not {value!r}")
    return (lon, lat)


def _check_read_options(options: dict[str, Any]) -> dict[str, Any]:
    """The read options as ReadOptions takes them; an unknown or mistyped one is a ValueError."""
    import dataclasses
    import math

    from twin_app.io.source import ReadOptions

    known = {f.name: f for f in dataclasses.fields(ReadOptions)}
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"unknown read option {key!r}; known: {', '.join(known)}")
        if key in ("default_height_m", "storey_m"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(float(value)) or float(value) <= 0.0:
                raise ValueError(f"read option {key!r} must be a positive number, not {value!r}")
        elif key == "rotate_deg":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(float(value)):
                raise ValueError(
                    f"read option 'rotate_deg' must be a number of degrees, not {value!r}"
                )
        elif key == "at_lonlat":
            if value is not None:
                options[key] = _check_lonlat(value)
        elif key == "ifc_cache":
            if not isinstance(value, bool):
                raise ValueError(f"read option 'ifc_cache' must be true or false, not {value!r}")
        elif value is not None and not isinstance(value, str):
            raise ValueError(f"read option {key!r} must be text, not {value!r}")
    if options.get("as_kind") not in (None, "buildings", "roads", "areas"):
        raise ValueError(
            f"read option 'as_kind' must be buildings, roads or areas, not {options['as_kind']!r}"
        )
    if options.get("crs"):
        _check_crs(str(options["crs"]))
    return options


class SourceEntry(_Strict):
    """A file the session loads, with its read options."""

    path: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _options(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_read_options(v)


class FrameEntry(_Strict):
    """The local frame, so camera poses and bookmarks stay valid."""

    crs_wkt: str
    origin: tuple[float, float, float]

    @field_validator("crs_wkt")
    @classmethod
    def _crs(cls, v: str) -> str:
        return _check_crs(v)

    @field_validator("origin")
    @classmethod
    def _origin(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        import math

        if not all(math.isfinite(c) for c in v):
            raise ValueError(f"the frame origin must be finite, not {v}")
        return v


class StyleEntry(_Strict):
    """How one layer is drawn."""

    visible: bool = True
    opacity: float = Field(1.0, ge=0.0, le=1.0)
    color_by: str = "solid"
    colormap: str = "viridis"
    clim: tuple[float, float] | None = None
    color: str = "#d9d4c7"
    #: IFC layers only (None elsewhere): storeys hidden, section storey, explode gap (m),
    #: spaces shown.
    hidden_storeys: list[int] | None = None
    section_storey: int | None = Field(None, ge=0)
    explode: float | None = Field(None, ge=0.0, le=1000.0)
    show_spaces: bool | None = None

    @field_validator("colormap")
    @classmethod
    def _colormap(cls, v: str) -> str:
        from twin_app.model.style import ColormapError, colormap_table

        try:
            colormap_table(v, 2)
        except ColormapError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("color")
    @classmethod
    def _color(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"#[0-9a-fA-F]{6}", v):
            raise ValueError(f"unknown colour {v!r}: use #rrggbb, e.g. '#d9d4c7'")
        return v

    @field_validator("clim")
    @classmethod
    def _clim(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        import math

        if v is not None and not (math.isfinite(v[0]) and math.isfinite(v[1])):
            return None  # limits of all-missing data: automatic again
        if v is not None and v[0] > v[1]:
            raise ValueError(f"colour limits must be low first, not {v}")
        return v


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
    parallel_scale: float = Field(0.0, ge=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _pose(self) -> PoseEntry:
        """The pose must be one a camera can take (finite, not degenerate)."""
        from twin_app.errors import CameraError
        from twin_app.model.camera import CameraPose

        try:
            CameraPose.from_dict(self.model_dump())
        except (CameraError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return self


class BookmarkEntry(PoseEntry):
    """A named pose."""

    name: str


class ViewEntry(_Strict):
    """View options saved with the session."""

    underground: str = "off"
    shadows: bool = False
    #: UTC ns; datetime64[ns] holds years 1678 to 2261 (0: leave the clock where it is).
    clock_ns: int = Field(0, gt=-(2**63) + 1, lt=2**63 - 1)
    clock_rate: float = Field(1.0, allow_inf_nan=False)

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
    except RecursionError as exc:
        raise SessionFileError(f"{p}: not a valid session file: nested too deeply") from exc
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
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SessionFileError(f"{p}: key {loc!r}: {msg}; the file was not changed") from exc
