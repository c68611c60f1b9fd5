"""Opening a twin: a folder with ``manifest.toml``, its geometry, replay series and networks.

:func:`open_twin` reads everything and builds every layer without touching a session: it is
pure (no Qt, no VTK) and safe on a worker thread. :meth:`twin_app.session.Session.add_twin` then
adds the :class:`TwinLoad` to a session as one undoable step. The window, the CLI, the tests and
the video exporter all open twins this way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twin_app.errors import CancelledError, InputError
from twin_app.io.load import Cancelled, LoadResult, Progress, load_city
from twin_app.io.manifest import (
    MANIFEST_NAME,
    Manifest,
    SeriesAlert,
    check_files,
    read_manifest,
)
from twin_app.io.source import ReadOptions
from twin_app.model.alerts import AlertRule, SilenceRule
from twin_app.model.city import FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.session.builders import BUILDERS, SeriesContext, build_series

#: Share of the progress bar the geometry takes (the series take the rest).
GEOMETRY_SHARE = 0.5


@dataclass
class TwinLoad:
    """What opening a twin produced, ready to be added to a session.

    Attributes
    ----------
    manifest
        The twin's manifest (its folder, time zone, attributions).
    result
        The geometry as loaded (None when the geometry was already in the session, e.g. when a
        session file restores its sources first).
    options
        Read options of the geometry.
    file_options
        Options of single geometry files that differ (an IFC file the manifest places), by
        resolved path.
    layers
        One time-driven layer per manifest series, in manifest order.
    rules
        ``(index into layers, alert)`` per alert the manifest ships with a series.
    warnings
        What the series' data produced (cleaning, unknown ids ...).
    start_ns
        The clock time the twin opens at, UTC ns (None: leave the clock where it is).
    rate
        The playback rate it opens with.
    """

    manifest: Manifest
    result: LoadResult | None
    options: ReadOptions = field(default_factory=ReadOptions)
    file_options: dict[Path, ReadOptions] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    rules: list[tuple[int, SeriesAlert]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    start_ns: int | None = None
    rate: float = 600.0

    @property
    def folder(self) -> Path:
        """The twin folder, absolute."""
        return Path(self.manifest.folder).resolve()

    @property
    def timezone(self) -> str:
        """The twin's time zone (IANA name): local times in the UI."""
        return self.manifest.timezone

    @property
    def replay_start_ns(self) -> int:
        """The manifest's replay start, UTC ns (0: none)."""
        return self.manifest.replay_start_ns

    def alert_rules(self) -> list[AlertRule | SilenceRule]:
        """The shipped alerts as rules on this load's layers (threshold or silence rules)."""
        rules: list[AlertRule | SilenceRule] = []
        for i, a in self.rules:
            uid = self.layers[i].uid
            if a.silent_s is not None:
                rules.append(SilenceRule(a.name, uid, a.silent_s, a.severity, a.min_duration_s))
            else:
                assert a.threshold is not None
                rules.append(
                    AlertRule(
                        a.name, uid, a.threshold, a.above, a.min_duration_s, a.field, a.severity
                    )
                )
        return rules

    def summary(self) -> dict[str, Any]:
        """The ``twin info`` fields: name, geometry files summarised, series with kinds,
        counts and time ranges (UTC ISO)."""
        from twin_app.io.info import source_summary

        geometry = [source_summary(src) for src in self.result.sources] if self.result else []
        series = []
        for layer, entry in zip(self.layers, self.manifest.series, strict=True):
            span = layer.time_range() if callable(getattr(layer, "time_range", None)) else None  # type: ignore[attr-defined]
            count, unit = _element_count(layer)
            series.append(
                {
                    "kind": entry.kind,
                    "name": layer.name,
                    "path": entry.path,
                    "count": count,
                    "unit": unit,
                    "start": _iso(span[0]) if span else None,
                    "end": _iso(span[1]) if span else None,
                    "measured_in": entry.measured_in,
                }
            )
        return {
            "path": str(self.folder),
            "kind": "twin",
            "name": self.manifest.name,
            "description": self.manifest.description,
            "timezone": self.timezone,
            "opens_at": (
                pd.Timestamp(self.start_ns, tz="UTC").tz_convert(self.timezone).isoformat()
                if self.start_ns is not None
                else None
            ),
            "rate": self.rate,
            "geometry": geometry,
            "series": series,
            "warnings": list(self.warnings),
        }


def _iso(t_ns: int) -> str:
    return pd.Timestamp(int(t_ns), tz="UTC").isoformat()


def _element_count(layer: Layer) -> tuple[int, str]:
    """How many elements a series layer has, and what they are."""
    if isinstance(layer, TrafficLayer):
        return len(layer.sensor_xyz), "sensors"
    if isinstance(layer, AirQualityLayer):
        return len(layer.station_ids), "stations"
    if isinstance(layer, MoverLayer):
        return len(layer.mover_ids), "movers"
    fs = layer.feature_set()
    if isinstance(layer, PipeLayer):
        return (int(fs.n_features) if fs is not None else 0), "links"
    return (int(fs.n_features) if fs is not None else 0), "features"


def format_twin_summary(s: dict[str, Any]) -> str:
    """Human-readable text of :meth:`TwinLoad.summary`."""
    from twin_app.io.info import format_summary

    lines = [f"{s['name']}  [twin]  {s['path']}", f"  time zone  {s['timezone']}"]
    if s.get("opens_at"):
        lines.append(f"  opens at   {s['opens_at']}, x{s['rate']:g}")
    for g in s["geometry"]:
        lines.append("  geometry   " + format_summary(g).replace("\n", "\n           "))
    for r in s["series"]:
        span = f"{r['start']} .. {r['end']}" if r["start"] else "no data"
        lines.append(
            f"  series     {r['kind']}: {r['name']} ({r['path']}), "
            f"{r['count']:,} {r['unit']}, {span}"
        )
    for w in s["warnings"]:
        lines.append(f"  warning    {w}")
    return "\n".join(lines)


def is_twin(path: Path | str) -> bool:
    """True for a twin folder (holding ``manifest.toml``) or a manifest file itself."""
    p = Path(path)
    return p.name == MANIFEST_NAME or (p.is_dir() and (p / MANIFEST_NAME).exists())


def _check_kinds(manifest: Manifest) -> None:
    for i, series in enumerate(manifest.series):
        if series.kind not in BUILDERS:
            raise InputError(
                f"{Path(manifest.folder) / MANIFEST_NAME}: key 'series.{i}.kind': unknown series "
                f"kind {series.kind!r}; known kinds: {', '.join(sorted(BUILDERS))}"
            )


def open_twin(
    path: Path | str | Manifest,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    *,
    frame: LocalFrame | None = None,
    geometry: list[FeatureSet] | None = None,
    options: ReadOptions | None = None,
) -> TwinLoad:
    """Read a twin and build every layer (pure: safe on a worker thread, touches no session).

    Parameters
    ----------
    path
        A twin folder, its ``manifest.toml``, or a manifest already read.
    progress
        Called with (fraction 0..1, message) between steps.
    cancelled
        Polled between steps; when it returns True a :class:`CancelledError` is raised.
    frame
        Load the geometry in this local frame (adding a twin to an open session).
    geometry
        The twin's geometry, already loaded (a session file restores its sources itself): the
        manifest's geometry files are not read again and :attr:`TwinLoad.result` is None.
    options
        Read options for the geometry files.

    Returns
    -------
    TwinLoad
        Geometry, series layers, alert rules, warnings, and how the clock opens.

    Raises
    ------
    TwinError
        The manifest or a data file is bad (one line naming the file and key), or an unknown
        series kind is listed.
    """
    manifest = path if isinstance(path, Manifest) else read_manifest(path)
    _check_kinds(manifest)
    check_files(manifest)
    opts = options or ReadOptions()
    file_options = manifest.file_options(opts)

    def step(frac: float, msg: str) -> None:
        if cancelled is not None and cancelled():
            raise CancelledError("loading cancelled")
        if progress is not None:
            progress(frac, msg)

    result: LoadResult | None = None
    share = 0.0
    if geometry is None:
        share = GEOMETRY_SHARE

        def geometry_step(frac: float, msg: str) -> None:
            step(share * frac, msg)

        result = load_city(
            manifest.paths(),
            opts,
            frame=frame,
            progress=geometry_step,
            cancelled=cancelled,
            file_options=file_options,
        )
        sets = list(result.city.sets)
        frame = result.city.frame
    else:
        sets = list(geometry)
        if frame is None:
            raise InputError(
                f"{manifest.folder}: opening a twin on loaded geometry needs its frame"
            )
    assert frame is not None
    ctx = SeriesContext(Path(manifest.folder), frame, sets, manifest.replay_start_ns)
    load = TwinLoad(
        manifest=manifest,
        result=result,
        options=opts,
        file_options=file_options,
        start_ns=manifest.start_ns,
        rate=manifest.clock.rate,
    )
    n = max(len(manifest.series), 1)
    for i, series in enumerate(manifest.series):
        step(share + (1.0 - share) * i / n, f"building {series.name}")
        for alert in series.alerts:
            load.rules.append((len(load.layers), alert))
        load.layers.append(build_series(series, ctx))
    load.warnings.extend(ctx.warnings)
    step(1.0, f"{manifest.name}: {len(load.layers)} replay series ready")
    return load


def summarize(path: Path | str, options: ReadOptions | None = None) -> dict[str, Any]:
    """The ``twin info`` summary of anything ``twin open`` takes.

    A twin folder or its manifest is opened with :func:`open_twin` (kind ``twin``); a
    ``.twin.toml`` session file lists its twins that way and its other sources as files (kind
    ``session``); any other path is one data file (:func:`twin_app.io.info.file_summary`).
    """
    from twin_app.io.info import file_summary
    from twin_app.io.session_file import read_session

    p = Path(path)
    if is_twin(p):
        return open_twin(p, options=options).summary()
    if p.is_dir():
        raise InputError(
            f"{p}: a folder without {MANIFEST_NAME}; give a twin folder, data files or a "
            ".twin.toml session"
        )
    if p.name.endswith(".twin.toml"):
        data = read_session(p)
        folder = p.resolve().parent
        twins = [open_twin(t).summary() for t in data.resolved_twins(folder)]
        in_twins = {g["path"] for t in twins for g in t["geometry"]}
        files = [
            file_summary(src, ReadOptions(**opts))
            for src, opts in data.resolved_sources(folder)
            if str(src) not in in_twins
        ]
        return {
            "path": str(p),
            "kind": "session",
            "twins": twins,
            "files": files,
            "layers": [f"{entry.name} ({entry.kind})" for entry in data.layers],
            "bookmarks": [b.name for b in data.bookmarks],
        }
    return file_summary(p, options)


def format_any_summary(s: dict[str, Any]) -> str:
    """Human-readable text of a :func:`summarize` result."""
    from twin_app.io.info import format_summary

    if s.get("kind") == "twin":
        return format_twin_summary(s)
    if s.get("kind") == "session":
        lines = [f"{s['path']}  [session]"]
        lines += [f"  layer      {name}" for name in s["layers"]]
        if s["bookmarks"]:
            lines.append(f"  bookmarks  {', '.join(s['bookmarks'])}")
        parts = ["\n".join(lines)]
        parts += [format_twin_summary(t) for t in s["twins"]]
        parts += [format_summary(f) for f in s["files"]]
        return "\n\n".join(parts)
    return format_summary(s)
