"""The long format of replay files and recordings: one row per sample, CSV or Parquet.

Columns
-------
Sensors:

``sensor_id``
    String id of the sensor (kept verbatim; ``"007"`` stays ``"007"``).
``t``
    UTC time. In CSV an ISO 8601 string with ``Z`` or a UTC offset
    (``2012-03-01T08:00:00Z``, ``2013-03-01T00:00:00+08:00``), nanoseconds allowed; a time
    without an offset is rejected because its zone is unknown. In Parquet a
    ``timestamp[ns, tz=UTC]`` column (other units and zones are converted; a timestamp column
    without a zone is read as UTC).
``value``
    Float, in the unit of the feed (the layer documents it). Empty = missing.
``quality`` (optional)
    Float, higher is better (see :class:`twin_app.feeds.store.SensorStore`).

Movers (vehicles, robots, drones) use ``sensor_id`` for the mover id and add:

``lon``, ``lat``
    WGS 84 degrees.
``z`` (optional)
    Metres above ground.
``value`` (optional)
    Any per-fix reading (battery, load ...); NaN if absent.

A table is a mover table when it has ``lon`` and ``lat`` (:func:`is_mover_table`). Files are
``.csv``, ``.csv.gz`` or ``.parquet`` / ``.pq``. Other columns are ignored on read and not
written. Writing is atomic (a temporary file beside the target, then :func:`os.replace`), and a
write/read round trip is exact: the same ids, int64 ns times and float64 values (CSV floats are
written with the shortest repr that reads back to the same double).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.errors import FeedError
from twin_app.model.times import NAT_NS, format_iso_array, to_utc_ns, utc_series

if TYPE_CHECKING:
    import pandas as pd

_FLOAT_COLUMNS = ("value", "quality", "lon", "lat", "z")
_ORDER = ("sensor_id", "t", "value", "quality", "lon", "lat", "z")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise FeedError(f"{path}: unknown long-format file type; use .csv, .csv.gz, .parquet or .pq")


def is_mover_table(df: pd.DataFrame) -> bool:
    """True if the table holds mover fixes (has ``lon`` and ``lat`` columns)."""
    return "lon" in df.columns and "lat" in df.columns


def _check_columns(path: Path | str, columns: Any) -> None:
    cols = [str(c) for c in columns]
    mover = "lon" in cols or "lat" in cols
    required = ["sensor_id", "t", "lon", "lat"] if mover else ["sensor_id", "t", "value"]
    for c in required:
        if c not in cols:
            shown = ", ".join(cols[:8]) + (" ..." if len(cols) > 8 else "")
            kind = "mover" if mover else "sensor"
            raise FeedError(
                f"{path}: missing column '{c}' (found: {shown or 'none'}); a {kind} table needs "
                f"{', '.join(required)}"
            )


def _finish(path: Path, raw: dict[str, Any], line_offset: int | None) -> pd.DataFrame:
    """Typed frame from raw columns: str ids, UTC ns times, float64 numbers."""
    import pandas as pd

    out: dict[str, Any] = {}
    ids = pd.Series(raw["sensor_id"], dtype=object)
    out["sensor_id"] = ids.where(ids.notna(), "").astype(str)
    ns, ok = to_utc_ns(raw["t"], source=str(path), line_offset=line_offset)
    out["t"] = utc_series(np.where(ok, ns, NAT_NS))
    for c in _ORDER[2:]:
        if c in raw:
            out[c] = pd.to_numeric(pd.Series(raw[c]), errors="coerce").astype(np.float64)
    if "lon" in out and "value" not in out:
        out["value"] = np.full(len(ids), np.nan)
    cols = [c for c in _ORDER if c in out]
    return pd.DataFrame({c: out[c] for c in cols})


def read_long(path: str | Path) -> pd.DataFrame:
    """Read a long-format CSV or Parquet file and validate its columns.

    Rows are not cleaned here: unparseable times come back as NaT and bad numbers as NaN,
    so that :meth:`SensorStore.from_long` / :meth:`MoverTracks.from_long` count them.

    Returns
    -------
    pandas.DataFrame
        ``sensor_id`` (str), ``t`` (datetime64[ns, UTC]), ``value`` (float64) and, when
        present, ``quality``, ``lon``, ``lat``, ``z`` (float64); mover tables without
        ``value`` get a NaN one.

    Raises
    ------
    FeedError
        Missing file, unknown extension, unreadable content, a missing column (named), or a
        CSV time without a UTC offset (named with its line).
    """
    p = Path(path)
    kind = _kind(p)
    if not p.is_file():
        raise FeedError(f"{p}: file not found")
    df = _read_csv(p) if kind == "csv" else _read_parquet(p)
    if is_mover_table(df) and len(df):
        usable = np.isfinite(df["lon"].to_numpy()) & np.isfinite(df["lat"].to_numpy())
        if not usable.any():
            raise FeedError(
                f"{p}: no row has a usable position (lon and lat are missing or not finite in "
                f"all {len(df)} rows); a mover table needs WGS 84 lon/lat"
            )
    return df


def _read_csv(p: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError as exc:
        raise FeedError(f"{p}: empty file; expected a CSV with a header line") from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"{p}: not a UTF-8 text CSV file ({exc.reason})") from exc
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FeedError(f"{p}: cannot read as CSV ({first})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    _check_columns(p, df.columns)
    raw = {c: df[c].to_numpy(dtype=object) for c in df.columns if c in _ORDER}
    # Empty cells are missing: '' -> None for ids and times, NaN for numbers (to_numeric).
    for c in ("sensor_id", "t"):
        col = raw[c]
        col[col == ""] = None
        raw[c] = col
    return _finish(p, raw, line_offset=2)


def _read_parquet(p: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FeedError(f"{p}: cannot read as Parquet ({first})") from exc
    _check_columns(p, table.column_names)
    _check_nested(p, table)
    raw: dict[str, Any] = {}
    for c in table.column_names:
        if c not in _ORDER:
            continue
        col = table.column(c)
        if c == "t" and pa.types.is_timestamp(col.type):
            # Stored instants are UTC whatever the zone tag; keep the file's unit so that
            # to_utc_ns range-checks a time an arrow cast to ns would overflow on.
            unit = col.type.unit
            mask = col.is_null().to_numpy(zero_copy_only=False)
            ints = col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            raw[c] = np.where(mask, NAT_NS, ints).astype(np.int64).view(f"datetime64[{unit}]")
        elif c == "sensor_id":
            raw[c] = np.asarray(col.cast(pa.string()).to_pylist(), dtype=object)
        else:
            raw[c] = np.asarray(col.to_pylist(), dtype=object)
    return _finish(p, raw, line_offset=None)


def shift_times(t: Any, shift_ns: int) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """UTC times (a long table's ``t``) moved by `shift_ns`, as datetime64[ns].

    Missing times stay missing, and a time the shift would carry outside what datetime64[ns]
    holds (years 1678 to 2261) becomes missing, so that cleaning counts it as out of range
    instead of wrapping it around to a wrong date.
    """
    import pandas as pd

    ts = pd.to_datetime(pd.Series(t), utc=True).dt.tz_convert(None)
    v = ts.to_numpy().astype("datetime64[ns]").view(np.int64)
    shift = int(shift_ns)
    info = np.iinfo(np.int64)
    ok = v != NAT_NS
    ok &= (v <= info.max - shift) if shift >= 0 else (v > info.min - shift)
    moved = np.where(ok, v + np.where(ok, shift, 0), NAT_NS)
    out: np.ndarray[Any, np.dtype[np.datetime64]] = moved.astype(np.int64).view("datetime64[ns]")
    return out


def _check_nested(path: Path, table: Any) -> None:
    """A one-line error for a column that holds lists, structs or maps instead of scalars."""
    import pyarrow as pa

    for c in table.column_names:
        if c not in _ORDER:
            continue
        typ = table.schema.field(c).type
        if pa.types.is_nested(typ) or (
            pa.types.is_dictionary(typ) and pa.types.is_nested(typ.value_type)
        ):
            raise FeedError(
                f"{path}: column '{c}' holds {typ} values, not single "
                f"{'times' if c == 't' else 'ids' if c == 'sensor_id' else 'numbers'}; "
                "write one sample per row"
            )


def write_long(path: str | Path, df: pd.DataFrame) -> None:
    """Write a long table atomically as CSV (``.csv``, ``.csv.gz``) or Parquet.

    The table needs ``sensor_id``, ``t`` and ``value`` (sensors) or ``sensor_id``, ``t``,
    ``lon``, ``lat`` (movers); ``t`` may be any form :func:`to_utc_ns` reads. Parquet stores
    ``t`` as ``timestamp[ns, tz=UTC]`` (pyarrow) and numbers as float64; CSV writes ISO 8601
    UTC times with ``Z`` (nanoseconds only when needed) and shortest-repr floats.

    Raises
    ------
    FeedError
        Missing columns, or the file cannot be written (the previous file is then unchanged).
    """
    import pandas as pd

    p = Path(path)
    kind = _kind(p)
    _check_columns(p, df.columns)
    ns, ok = to_utc_ns(df["t"], source=str(p))
    ns = np.where(ok, ns, NAT_NS)
    cols = [c for c in _ORDER if c in df.columns]
    ids = df["sensor_id"]
    ids_str = ids.astype(object).where(ids.notna(), "").astype(str).to_numpy(dtype=object)
    nums = {
        c: pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64)
        for c in cols
        if c in _FLOAT_COLUMNS
    }
    from twin_app.atomic import replacing
    from twin_app.errors import SessionFileError

    try:
        with replacing(p) as tmp:
            if kind == "csv":
                out = pd.DataFrame({"sensor_id": ids_str, "t": format_iso_array(ns)})
                for c in cols[2:]:
                    out[c] = nums[c]
                if p.name.lower().endswith(".gz"):
                    out.to_csv(tmp, index=False, compression="gzip", lineterminator="\n")
                else:
                    out.to_csv(tmp, index=False, lineterminator="\n")
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                arrays = {
                    "sensor_id": pa.array(ids_str, pa.string()),
                    "t": pa.array(ns, pa.int64(), mask=~ok).cast(pa.timestamp("ns", tz="UTC")),
                }
                for c in cols[2:]:
                    arrays[c] = pa.array(nums[c], pa.float64())
                pq.write_table(pa.table(arrays), tmp)
    except SessionFileError as exc:
        raise FeedError(str(exc)) from exc
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        raise FeedError(f"{p}: cannot write ({reason}); the previous file is unchanged") from exc
