"""City model manifests (``city_models/<name>/manifest.toml``): what, where, source, licence."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twin_app.errors import InputError

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


class SeriesAlert(BaseModel):
    """An alert rule shipped with a series (see :class:`twin_app.model.alerts.AlertRule`)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    threshold: float
    above: bool = True
    min_duration_s: float = 0.0
    field: str = "values"


class ManifestSeries(BaseModel):
    """A replayable time series of a twin, with where it was really measured.

    ``source_start`` is the series' own time that the twin's ``replay_start`` shows; the data
    keep their original timestamps in the file.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern="^(traffic|air|movers|pipes)$")
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
    try:
        m = Manifest.model_validate({**data, "folder": p.parent})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise InputError(f"{p}: key {loc!r}: {err['msg']}") from exc
    return m


def find_manifest(path: Path) -> Manifest | None:
    """The manifest of the folder a data file lies in, if there is one."""
    m = path.resolve().parent / MANIFEST_NAME
    return read_manifest(m) if m.exists() else None
