"""Open a long-format series file (a recording, a replay file) onto the open twin's sensors.

A recording (``twin feed record``, Time > Record) holds ``sensor_id, t, value`` rows, or mover
fixes with ``lon, lat``: no geometry of its own. It becomes a replay series of the twin whose
sensors its ids name: the layer with the most of those ids is the one it binds to, and a new
layer of the same kind (same roads, stations or placement) replays the file's samples beside it
(issue 10, "Messages": File > Open said such a file lacks geo metadata).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.errors import FeedError, TwinError
from twin_app.geometry.placement import Placement
from twin_app.model.city import FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer
from twin_app.model.sensors import MoverLayer, SensorLayer

#: Names of long-format files: CSV (optionally gzipped) or Parquet.
SERIES_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@dataclass
class SeriesLoad:
    """A series file read and bound to a layer of the open twin (nothing added yet).

    Attributes
    ----------
    path
        The file.
    layer
        The new replay layer (same kind and elements as `bound_to`).
    bound_to
        The twin's layer whose sensors (or movers) the file's ids name.
    rows
        Samples in the file.
    rows_used
        Samples that landed in the new layer.
    unknown_ids
        Ids of the file that `bound_to` does not know (their samples are skipped).
    unknown_rows
        Samples of those ids.
    warnings
        One line each: skipped ids and rows the store dropped.
    """

    path: Path
    layer: Layer
    bound_to: Layer
    rows: int
    rows_used: int
    unknown_ids: list[str] = field(default_factory=list)
    unknown_rows: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: what was opened, bound to which layer, with the skipped counts."""
        text = (
            f"{self.path.name}: {self.rows_used:,} of {self.rows:,} samples replayed as "
            f"{self.layer.name!r} on the elements of {self.bound_to.name!r}"
        )
        if self.unknown_ids:
            ex = ", ".join(self.unknown_ids[:3])
            text += (
                f"; {self.unknown_rows:,} samples of {len(self.unknown_ids):,} unknown ids "
                f"skipped (e.g. {ex})"
            )
        return text


def is_series_file(path: Path | str) -> bool:
    """True if `path` is a long-format CSV/Parquet table (``sensor_id`` and ``t`` columns, and
    for Parquet no GeoParquet ``geo`` metadata), i.e. samples rather than geometry."""
    p = Path(path)
    name = p.name.lower()
    if not p.is_file() or not name.endswith(SERIES_SUFFIXES):
        return False
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            schema = pq.read_schema(p)
            if schema.metadata and b"geo" in schema.metadata:
                return False
            columns = set(schema.names)
        else:
            import gzip

            opener: Any = gzip.open if name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8", errors="replace") as f:
                columns = {c.strip() for c in f.readline().split(",")}
    except (OSError, ValueError, EOFError):
        return False
    except Exception:  # pyarrow's ArrowInvalid and friends: not a readable Parquet table
        return False
    return {"sensor_id", "t"} <= columns


def _overlap(ids: np.ndarray[Any, Any], known: Any) -> int:
    return int(np.isin(ids, np.asarray(known, dtype=object).astype(str)).sum())


def _copy_layer(layer: Layer, **changes: Any) -> Layer:
    """A new layer of the same class and fields (arrays copied), with `changes` applied."""
    kwargs: dict[str, Any] = {}
    for f in fields(layer):
        if not f.init or f.name == "uid":
            continue
        value = getattr(layer, f.name)
        kwargs[f.name] = value.copy() if isinstance(value, np.ndarray) else value
    kwargs.update(changes)
    return type(layer)(**kwargs)


def twin_placement(
    layer: Layer, twins: Sequence[Path], sets: Sequence[FeatureSet]
) -> Placement | None:
    """The placement a twin gave the series behind `layer` (``placement = "fit"``: measured
    elsewhere, laid onto the district), rebuilt as the builders build it; None when the layer
    is not such a series.

    Movers of a recording of that series (``twin feed publish`` of its file, then ``twin feed
    record``) carry the positions where they were measured: bound to the same movers, they are
    laid onto the district the same way.
    """
    from twin_app.feeds.longformat import read_long
    from twin_app.geometry.placement import district_bounds
    from twin_app.io.manifest import read_manifest

    for folder in twins:
        try:
            manifest = read_manifest(folder)
        except TwinError:
            continue
        for series in manifest.series:
            if series.name != layer.name or series.placement != "fit":
                continue
            try:
                own = read_long(Path(manifest.folder) / series.path)
                return Placement.for_lonlat(own["lon"], own["lat"], district_bounds(list(sets)))
            except (TwinError, KeyError, ValueError):
                return None
    return None


def read_series_file(
    path: Path | str,
    layers: Sequence[Layer],
    frame: LocalFrame | None,
    twins: Sequence[Path] = (),
    sets: Sequence[FeatureSet] = (),
) -> SeriesLoad:
    """Read a long-format file and bind it to the layer whose sensors or movers it names.

    Parameters
    ----------
    path
        A CSV or Parquet file in the long format (:mod:`twin_app.feeds.longformat`).
    layers
        The open twin's layers.
    frame
        The twin's local frame (mover positions are placed in it).
    twins, sets
        The open twin folders and geometry: mover fixes bound to a series that the twin laid
        onto its district (``placement = "fit"``) are laid the same way (see
        :func:`twin_placement`).

    Returns
    -------
    SeriesLoad
        The new layer and the counts; touches no session (safe on a worker thread).

    Raises
    ------
    FeedError
        The file cannot be read, or no open layer knows any of its ids (one line naming the
        file and what to do).
    """
    from twin_app.feeds.longformat import is_mover_table, read_long

    p = Path(path)
    df = read_long(p)
    ids = df["sensor_id"].astype(str).to_numpy(dtype=object)
    if ids.size == 0:
        raise FeedError(f"{p}: the file holds no samples; record for longer or choose another")
    mover = is_mover_table(df)
    candidates: list[tuple[int, Layer, Any]] = []
    for layer in layers:
        if mover and isinstance(layer, MoverLayer):
            candidates.append((_overlap(ids, layer.mover_ids), layer, layer.mover_ids))
        elif not mover and isinstance(layer, SensorLayer) and layer.store is not None:
            known = layer.store.sensor_ids
            candidates.append((_overlap(ids, known), layer, known))
    best = max(candidates, key=lambda c: c[0], default=None)
    what = "mover" if mover else "sensor"
    if best is None or best[0] == 0:
        ex = ", ".join(sorted({str(i) for i in ids[:200]})[:3])
        raise FeedError(
            f"{p}: none of its {what} ids (e.g. {ex}) belong to a {what} layer of the open "
            "twin; open the twin it was recorded from first"
        )
    _, bound, known_ids = best
    known = np.isin(ids, np.asarray(known_ids, dtype=object).astype(str))
    unknown_ids = sorted({str(i) for i in ids[~known]})
    name = f"{bound.name} ({p.name})"
    description = f"replay of {p.name} on the elements of {bound.name}"
    warnings: list[str] = []
    if mover:
        from twin_app.session.builders import build_mover_layer

        if frame is None:
            raise FeedError(f"{p}: mover fixes need an open twin to be placed in")
        movers, report = build_mover_layer(
            df[known].reset_index(drop=True),
            frame,
            twin_placement(bound, twins, sets),
            name=name,
            description=description,
        )
        movers.color = getattr(bound, "color", movers.color)
        movers.glyph_size_m = getattr(bound, "glyph_size_m", movers.glyph_size_m)
        new: Layer = movers
        used = int(report.rows_kept)
    else:
        from twin_app.feeds.store import SensorStore

        assert isinstance(bound, SensorLayer) and bound.store is not None
        rows = df[known]  # unknown ids are reported once, below
        store, report = SensorStore.from_long(
            ids[known],
            rows["t"],
            rows["value"].to_numpy(np.float64),
            quality=rows["quality"].to_numpy(np.float64) if "quality" in rows else None,
            sensors=list(bound.store.sensor_ids),
            resolution_s=getattr(bound.store, "resolution_s", None),
            source=p.name,
        )
        new = _copy_layer(bound, name=name, store=store, description=description)
        used = int(report.rows_kept)
    warnings.extend(report.warnings)
    load = SeriesLoad(
        p,
        new,
        bound,
        rows=int(ids.size),
        rows_used=used,
        unknown_ids=unknown_ids,
        unknown_rows=int((~known).sum()),
        warnings=warnings,
    )
    if unknown_ids:
        load.warnings.insert(
            0,
            f"{p.name}: {load.unknown_rows:,} samples of {len(unknown_ids):,} ids that "
            f"{bound.name!r} does not know were skipped (e.g. {', '.join(unknown_ids[:3])})",
        )
    return load
