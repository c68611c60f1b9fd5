"""City model manifests (``city_models/<name>/manifest.toml``): what, where, source, licence.

A manifest also says how the twin's clock opens: ``replay_start`` (the UTC time its replay series
are aligned on) and a ``[clock]`` table with ``start`` (the twin's local time unless it carries an
offset) and ``rate`` (simulated seconds per wall second). Every time and the time zone are checked
when the file is read, so a bad one is a one-line error naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
import zoneinfo
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin_app.errors import InputError, TwinError
from twin_app.io.source import ReadOptions
from twin_app.model.times import parse_time

MANIFEST_NAME = "manifest.toml"
#: The bundled sample twin, package data of ``twin_app`` (a folder in a wheel or a checkout).
SAMPLE_DIR = Path(str(resources.files("twin_app") / "city_models" / "city_of_london"))


class ManifestSource(BaseModel):
    """One data file of a twin with its provenance."""

    model_config = ConfigDict(extra="allow")

    path: str
    kind: str = ""
    what: str = ""
    where: str = ""
    source: str = ""
    licence: str
    attribution: str
    licence_url: str = ""
    #: Where the file's origin goes, ``[lon, lat]`` in degrees (an IFC file whose own
    #: georeference is elsewhere, or missing): read with ``ReadOptions.at_lonlat``.
    at: tuple[float, float] | None = None
    #: With ``at``: counter-clockwise angle from true east to the file's x axis, degrees.
    rotate_deg: float | None = Field(None, allow_inf_nan=False)

    @field_validator("at")
    @classmethod
    def _lonlat(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (-180.0 <= v[0] <= 180.0 and -90.0 <= v[1] <= 90.0):
            raise ValueError(f"at must be [lon, lat] in degrees, not {list(v)}")
        return v


class SeriesAlert(BaseModel):
    """An alert rule shipped with a series.

    With ``threshold``: a threshold rule (:class:`twin_app.model.alerts.AlertRule`). With
    ``silent_s`` instead: a silence rule (:class:`twin_app.model.alerts.SilenceRule`), raised
    for a sensor that sent no sample for that many seconds of clock time. ``severity`` is
    ``info``, ``warning`` (default) or ``critical``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    threshold: float | None = None
    above: bool = True
    min_duration_s: float = Field(0.0, ge=0.0)
    field: str = "values"
    severity: str = Field("warning", pattern="^(info|warning|critical)$")
    silent_s: float | None = Field(None, gt=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_kind(self) -> SeriesAlert:
        if (self.threshold is None) == (self.silent_s is None):
            raise ValueError("give either 'threshold' (a threshold alert) or 'silent_s' (silence)")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError("'threshold' must be a finite number")
        return self


class ManifestSeries(BaseModel):
    """A replayable time series of a twin, with where it was really measured.

    ``source_start`` is the series' own time that the twin's ``replay_start`` shows; the data
    keep their original timestamps in the file.
    """

    model_config = ConfigDict(extra="forbid")

    #: Which builder makes its layer (``traffic``, ``air``, ``movers``, ``pipes`` ...: the
    #: registry in :mod:`twin_app.session.builders` decides which kinds exist).
    kind: str = Field(min_length=1)
    path: str
    name: str
    sensors: str = ""
    source_start: str = ""
    what: str
    measured_in: str
    placement: str = Field("true", pattern="^(true|fit)$")
    source: str
    licence: str
    attribution: str
    alerts: list[SeriesAlert] = Field(default_factory=list)
    options: dict[str, float | str | bool] = Field(default_factory=dict)


#: Hours after ``replay_start`` the clock opens at when the manifest has no ``[clock] start``
#: (the morning peak of a replay that starts at midnight).
DEFAULT_START_OFFSET_H = 8
#: Playback rate when the manifest has no ``[clock] rate``: ten simulated minutes a second.
DEFAULT_RATE = 600.0


class ManifestClock(BaseModel):
    """How the twin's clock opens.

    Attributes
    ----------
    start
        The time shown first, e.g. ``"2026-03-02T08:00"``: the twin's local time (``timezone``)
        unless it carries an offset. Empty: ``replay_start`` + 8 h.
    rate
        Simulated seconds per wall second (1 .. 10,000).
    """

    model_config = ConfigDict(extra="forbid")

    start: str = ""
    rate: float = Field(DEFAULT_RATE, ge=1.0, le=10_000.0)


class Manifest(BaseModel):
    """A bundled twin: its files, and how to credit them."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = 1
    name: str
    description: str = ""
    where: str = ""
    view: str = "oblique"
    timezone: str = "UTC"
    replay_start: str = ""
    clock: ManifestClock = Field(default_factory=ManifestClock)
    sources: list[ManifestSource] = Field(min_length=1)
    series: list[ManifestSeries] = Field(default_factory=list)
    folder: Path = Path()

    def paths(self) -> list[Path]:
        """Absolute paths of the geometry files."""
        return [
            self.folder / s.path
            for s in self.sources
            if s.kind not in ("series", "feed", "mapping")
        ]

    def file_options(self, base: ReadOptions) -> dict[Path, ReadOptions]:
        """Read options of the geometry files placed by the manifest (``at``,
        ``rotate_deg``), by resolved path: `base` with the placement."""
        import dataclasses

        out: dict[Path, ReadOptions] = {}
        for s in self.sources:
            if s.at is not None or s.rotate_deg is not None:
                out[(self.folder / s.path).resolve()] = dataclasses.replace(
                    base,
                    at_lonlat=s.at if s.at is not None else base.at_lonlat,
                    rotate_deg=s.rotate_deg if s.rotate_deg is not None else base.rotate_deg,
                )
        return out

    @property
    def replay_start_ns(self) -> int:
        """``replay_start`` as UTC ns (0 when the manifest has none)."""
        return _utc_ns(self.replay_start, "UTC") if self.replay_start else 0

    @property
    def start_ns(self) -> int | None:
        """The clock time the twin opens at, UTC ns (None: leave the clock where it is)."""
        if self.clock.start:
            return _utc_ns(self.clock.start, self.timezone)
        if self.replay_start:
            return self.replay_start_ns + DEFAULT_START_OFFSET_H * 3600 * 10**9
        return None

    def attributions(self) -> list[str]:
        """One line per source: ``what — attribution (licence)``."""
        items: list[ManifestSource | ManifestSeries] = [*self.sources, *self.series]
        return [f"{s.path}: {s.attribution} ({s.licence})" for s in items]


def read_manifest(path: Path | str) -> Manifest:
    """Read a manifest file or a folder holding ``manifest.toml``."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{p}: no such manifest") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{p}: not valid TOML (nested too deeply)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the manifest ({type(exc).__name__})") from exc
    try:
        m = Manifest.model_validate({**data, "folder": p.parent})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise InputError(f"{p}: key {loc!r}: {err['msg']}") from exc
    _check_times(m, p)
    return m


def check_files(m: Manifest) -> None:
    """Raise a one-line :class:`InputError` naming the manifest, the key and the full path of
    the first data file it lists that does not exist (checked before anything is read)."""
    path = m.folder / MANIFEST_NAME
    keys: list[tuple[str, str]] = [(f"sources.{i}.path", s.path) for i, s in enumerate(m.sources)]
    for i, s in enumerate(m.series):
        keys.append((f"series.{i}.path", s.path))
        if s.sensors:
            keys.append((f"series.{i}.sensors", s.sensors))
    for key, rel in keys:
        if not rel.strip():
            raise InputError(f"{path}: key {key!r} is empty; name a file beside the manifest")
        full = m.folder / rel
        if not full.exists():
            raise InputError(
                f"{path}: key {key!r}: {full} does not exist; fix the path or add the file"
            )


def _utc_ns(text: str, timezone: str) -> int:
    """UTC ns of an ISO time; without an offset it is local time in `timezone`."""
    return parse_time(text, assume_tz=timezone)


def _check_times(m: Manifest, path: Path) -> None:
    """One-line errors, naming the file and key, for an unknown time zone or unparseable time."""
    try:
        zoneinfo.ZoneInfo(m.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{path}: key 'timezone': unknown time zone {m.timezone!r} "
            "(use an IANA name such as 'Europe/London')"
        ) from None
    keys = [("replay_start", m.replay_start, "UTC"), ("clock.start", m.clock.start, m.timezone)]
    keys += [(f"series.{i}.source_start", s.source_start, "UTC") for i, s in enumerate(m.series)]
    for key, text, tz in keys:
        if not text:
            continue
        try:
            _utc_ns(text, tz)
        except TwinError as exc:
            raise InputError(
                f"{path}: key {key!r}: cannot read {text!r} as a time "
                f"(use ISO 8601, e.g. 2026-03-02T08:00): {exc}"
            ) from None


def find_manifest(path: Path) -> Manifest | None:
    """The manifest of the folder a data file lies in, if there is one."""
    m = path.resolve().parent / MANIFEST_NAME
    return read_manifest(m) if m.exists() else None
