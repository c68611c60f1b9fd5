"""Wind for ``[air] wind = "replay"``: the twin's replayed weather at the scenario's time.

The twin's air series names a wind file in its manifest entry (``options.wind``, a path beside
the manifest, and optionally ``options.wind_station``). The file is the Beijing PRSA format
(UCI Beijing Multi-Site Air-Quality data): one row per station and hour with ``year, month,
day, hour`` in Beijing time (UTC+8, no daylight saving), ``wd`` the compass point the wind
blows from (``"NNE"``; ``"CV"`` calm and variable) and ``WSPM`` the wind speed in m/s, plus
``station``. The sample twin bundles ``wind_beijing_prsa.csv``: those columns of the 12
station files, rows cut unchanged for 19-21 December 2016, the days its air series replays.

Time: the scenario's ``at`` (UTC) is moved into the series' own time the way the replay moves
it (``at - replay_start + source_start`` of the air series) and the hourly row whose hour holds
that instant is taken (a reading stands for its hour). Direction: :func:`compass_deg` (22.5
degrees a point, vectorised). A missing row, a missing or non-compass ``wd`` (``"CV"`` has no
direction) or a missing, negative or non-finite ``WSPM`` is a one-line :class:`InputError`
naming the file, the column, the station and the time.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.errors import InputError

#: Beijing time is UTC+8 all year (no daylight saving since 1991).
BEIJING_UTC_OFFSET_H = 8
#: Station used when neither the scenario nor the manifest names one.
DEFAULT_STATION = "Dongsi"

_HOUR_NS = 3600 * 10**9
_CACHE: dict[tuple[str, float], Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WindSample:
    """One replayed wind reading: ``speed_ms`` (m/s), ``from_deg`` (degrees clockwise from
    north, the direction it blows from), the ``station``, the row's UTC time ``t_utc`` and the
    ``path`` it was read from."""

    speed_ms: float
    from_deg: float
    station: str
    t_utc: dt.datetime
    path: Path


def read_prsa_wind(path: Path | str) -> Any:
    """The wind rows of a PRSA-format file as a DataFrame: ``station``, ``t_ns`` (UTC ns of the
    start of the row's hour), ``wd`` (text), ``WSPM`` (m/s) and ``from_deg`` (NaN where ``wd``
    is not a compass point). Cached in-process by path and modification time.

    Raises
    ------
    InputError
        The file is missing or lacks a column.
    """
    import pandas as pd

    p = Path(path)
    try:
        key = (str(p.resolve()), p.stat().st_mtime)
    except OSError:
        raise InputError(f"{p}: the wind file does not exist") from None
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    need = ["year", "month", "day", "hour", "wd", "WSPM", "station"]
    try:
        df = pd.read_csv(p, usecols=need, dtype={"wd": "string", "station": "string"})
    except ValueError as exc:
        msg = f"{p}: not a PRSA wind file (needs columns {', '.join(need)}): {exc}"
        raise InputError(msg) from None
    from twin_app.engines.air import compass_deg

    local = pd.to_datetime(df[["year", "month", "day", "hour"]]).astype("datetime64[ns]")
    t_ns = local.to_numpy().view(np.int64) - BEIJING_UTC_OFFSET_H * _HOUR_NS
    wd = df["wd"].astype(object).to_numpy()
    out = pd.DataFrame(
        {
            "station": df["station"].astype(str).to_numpy(),
            "t_ns": t_ns,
            "wd": wd,
            "WSPM": pd.to_numeric(df["WSPM"], errors="coerce").to_numpy(np.float64),
            "from_deg": compass_deg(wd),
        }
    )
    with _LOCK:
        _CACHE[key] = out
    return out


def _when(t_ns: int) -> str:
    utc = dt.datetime.fromtimestamp(t_ns / 1e9, dt.UTC)
    local = utc + dt.timedelta(hours=BEIJING_UTC_OFFSET_H)
    return f"{local:%Y-%m-%d %H:%M} Beijing time ({utc:%Y-%m-%dT%H:%MZ})"


def wind_at(path: Path | str, t_ns: int, station: str) -> WindSample:
    """The reading of `station` for the hour holding `t_ns` (UTC ns, the series' own time).

    Raises
    ------
    InputError
        No such station or row, or a bad ``wd`` / ``WSPM`` value (see the module docstring).
    """
    p = Path(path)
    df = read_prsa_wind(p)
    names = df["station"].to_numpy()
    at_station = names == station
    if not at_station.any():
        known = ", ".join(sorted(set(names.tolist())))
        raise InputError(f"{p}: column 'station' has no {station!r} (stations: {known})")
    hour = t_ns - (t_ns % _HOUR_NS)
    rows = np.flatnonzero(at_station & (df["t_ns"].to_numpy() == hour))
    if rows.size == 0:
        raise InputError(
            f"{p}: no wind row for station {station!r} at {_when(hour)}; the file covers "
            f"{_when(int(df['t_ns'].min()))} to {_when(int(df['t_ns'].max()))}"
        )
    r = int(rows[0])
    wd, speed, deg = df["wd"].iat[r], float(df["WSPM"].iat[r]), float(df["from_deg"].iat[r])
    if not np.isfinite(deg):
        text = wd if isinstance(wd, str) else None  # pandas may hold a missing one as NaN
        what = "is missing" if text is None else f"is {text!r}, not a compass point"
        if text is not None and text.strip().upper() == "CV":
            what = "is 'CV' (calm and variable: no direction)"
        raise InputError(f"{p}: column 'wd' {what} for station {station!r} at {_when(hour)}")
    if not (np.isfinite(speed) and speed >= 0.0):
        raise InputError(
            f"{p}: column 'WSPM' is missing or invalid ({df['WSPM'].iat[r]!r}) for station "
            f"{station!r} at {_when(hour)}"
        )
    return WindSample(speed, deg, station, dt.datetime.fromtimestamp(hour / 1e9, dt.UTC), p)


def replay_wind(twin_dir: Path | str, at: dt.datetime, station: str | None = None) -> WindSample:
    """The twin's replayed wind at `at` (the twin's clock, UTC).

    The wind file and default station come from the twin's air series (``kind = "air"`` with
    ``options.wind``); `station` overrides the station.

    Raises
    ------
    InputError
        The twin has no air series with a wind file, or :func:`wind_at` fails.
    """
    from twin_app.io.manifest import MANIFEST_NAME, read_manifest
    from twin_app.model.times import parse_time

    m = read_manifest(twin_dir)
    series = [s for s in m.series if s.kind == "air" and s.options.get("wind")]
    if not series:
        raise InputError(
            f"{m.folder / MANIFEST_NAME}: no air series names a wind file (options.wind); "
            "set [air] wind_speed_ms and wind_from_deg instead of wind = 'replay'"
        )
    s = series[0]
    shift = 0
    if s.source_start and m.replay_start:
        shift = m.replay_start_ns - parse_time(s.source_start, assume_tz="UTC")
    at_ns = int(at.astimezone(dt.UTC).timestamp()) * 10**9 + at.microsecond * 1000
    name = station or str(s.options.get("wind_station", DEFAULT_STATION))
    return wind_at(m.folder / str(s.options["wind"]), at_ns - shift, name)
