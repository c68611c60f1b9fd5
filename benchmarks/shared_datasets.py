"""Loaders for the real sensor datasets of the shared sample data (``shared/data/SOURCES.md`` 3a-3c).

Not part of the package: only the benchmarks (``bench_feeds.py``), the maintainers' script that
cuts the sample twin's series (``scripts/make_sample_series.py``) and their tests use them.

Each loader returns plain long tables in the format of :mod:`twin_app.feeds.longformat`
(``sensor_id``, ``t`` as datetime64[ns, UTC], ``value`` ...) plus a small table of sensor
positions in WGS 84 degrees, ready for :meth:`SensorStore.from_long` and
:meth:`MoverTracks.from_long` (after converting lon/lat with the twin's local frame).

* :func:`load_metr_la`: 207 Los Angeles freeway loop detectors, 5-minute speeds in mph,
  2012-03-01 .. 2012-03-07 (LA local time).
* :func:`load_beijing_prsa`: 12 Beijing national air-quality stations, hourly pollutant
  concentrations in ug/m3, 2013-03-01 .. 2017-02-28 (Beijing time).
* :func:`load_liverpool_bus`: GPS fixes of 8 buses on Liverpool route 14 (UK Bus Open Data).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.errors import FeedError
from twin_app.feeds.cleaning import clean_long
from twin_app.model.times import local_to_utc_ns, parse_time, to_utc_ns, utc_series

if TYPE_CHECKING:
    import pandas as pd

#: METR-LA: local time zone of the loop detectors.
METR_LA_TZ = "America/Los_Angeles"
#: METR-LA (T-GCN "Los-loop" subset): first row, local wall-clock time (Zhao et al. 2019).
METR_LA_START_LOCAL = "2012-03-01T00:00:00"
#: METR-LA sampling step, seconds.
METR_LA_STEP_S = 300

#: Beijing time: UTC+8 all year (China has not used daylight saving time since 1991).
BEIJING_UTC_OFFSET_H = 8
#: Pollutant columns of the PRSA files; all concentrations in ug/m3 (CO included, see below).
PRSA_POLLUTANTS = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")

#: Positions (lon, lat; WGS 84 degrees, 3 decimals, about 100 m) of the 12 national
#: air-quality monitoring sites of the UCI Beijing Multi-Site Air-Quality data (Zhang et al.
#: 2017, Proc. R. Soc. A 473: 20170457). The data files carry no coordinates.
#:
#: Source: the Beijing Municipal Environmental Monitoring Center (BJMEMC) station list as
#: distributed with the KDD Cup 2018 "Beijing_AirQuality_Stations" table; found reproduced in
#: several public repositories (searched with this project's code search, 2025), among them
#: ``hz36amy/IVP`` ``index.js`` (commit 461ab730b72664890cda824655b6ec8a7210224d), which lists
#: exactly these 12 PRSA sites, and BJMEMC 35-station lists keyed by Chinese site names
#: (e.g. 古城 Gucheng 116.184, 39.914; 定陵 Dingling 116.220, 40.292). The copies agree to the
#: 3rd decimal except Gucheng longitude (116.176 in hz36amy/IVP, 116.184 in the others; the
#: latter is used) and Changping (116.230 / 116.234; 116.230 is used, as in the KDD Cup list).
#: The datum is not stated by the sources (Chinese web maps often use GCJ-02, which can be
#: offset by a few hundred metres from WGS 84); treat positions as approximate.
BEIJING_STATIONS: dict[str, tuple[float, float]] = {
    "Aotizhongxin": (116.397, 39.982),
    "Changping": (116.230, 40.217),
    "Dingling": (116.220, 40.292),
    "Dongsi": (116.417, 39.929),
    "Guanyuan": (116.339, 39.929),
    "Gucheng": (116.184, 39.914),
    "Huairou": (116.628, 40.328),
    "Nongzhanguan": (116.461, 39.937),
    "Shunyi": (116.655, 40.127),
    "Tiantan": (116.407, 39.886),
    "Wanliu": (116.287, 39.987),
    "Wanshouxigong": (116.352, 39.878),
}
#: Where :data:`BEIJING_STATIONS` comes from (shown in layer descriptions).
BEIJING_STATIONS_SOURCE = (
    "BJMEMC national monitoring site list (KDD Cup 2018 Beijing_AirQuality_Stations), as "
    "reproduced in public repositories, e.g. github.com/hz36amy/IVP index.js @461ab730; "
    "3 decimals, datum unstated"
)


def _find(folder: Path, relative: str, name: str) -> Path:
    """`folder/name`, or `folder/relative/name` when `folder` is the shared data root."""
    for cand in (folder / name, folder / relative / name):
        if cand.is_file():
            return cand
    raise FeedError(f"{folder}: {name} not found (looked in {folder} and {folder / relative})")


def load_metr_la(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load the METR-LA "Los-loop" speeds (207 detectors x 2016 five-minute steps).

    ``los_speed.csv.gz`` has one column per detector (header = METR-LA sensor id) and one row
    per 5 minutes, but no timestamps. Following the T-GCN paper (Zhao et al. 2019, "Los-loop:
    2012-03-01 to 2012-03-07, 5-minute"), row ``k`` is taken as the local wall-clock time
    ``2012-03-01 00:00 + 5 min * k`` in ``America/Los_Angeles``, converted to UTC with
    :func:`twin_app.model.times.local_to_utc_ns`. The week is before the 2012 DST start (2012-03-11), so every row is PST,
    UTC-8: the first row is 2012-03-01T08:00Z and the last (2012-03-07 23:55 local)
    2012-03-08T07:55Z. This dating comes from the paper, not the file.

    Parameters
    ----------
    folder
        ``traffic/metr-la`` itself or the shared data root that contains it.

    Returns
    -------
    long : pandas.DataFrame
        ``sensor_id`` (str), ``t`` (UTC), ``value``: average speed in **miles per hour**
        (kept in mph, as published; 1 mph = 1.609344 km/h). Time-major order.
    sensors : pandas.DataFrame
        ``sensor_id``, ``lat``, ``lon`` (WGS 84, from ``graph_sensor_locations.csv``) and
        ``free_flow_mph``, the 95th percentile of each detector's speeds: a robust free-flow
        reference for congestion ratios ``speed / free_flow``.
    """
    import pandas as pd

    root = Path(folder)
    speed_path = _find(root, "traffic/metr-la", "los_speed.csv.gz")
    loc_path = _find(root, "traffic/metr-la", "graph_sensor_locations.csv")
    try:
        speed = pd.read_csv(speed_path, dtype=np.float64)
        locs = pd.read_csv(loc_path, dtype={"sensor_id": str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise FeedError(f"{speed_path.parent}: cannot read METR-LA files ({exc})") from exc
    ids = np.asarray([str(c).strip() for c in speed.columns], dtype=object)
    v = speed.to_numpy(np.float64)
    n_t, n_s = v.shape
    local = pd.date_range(METR_LA_START_LOCAL, periods=n_t, freq=f"{METR_LA_STEP_S}s")
    ns, ok = local_to_utc_ns(local.to_numpy(), METR_LA_TZ, source=str(speed_path))
    if not ok.all():
        raise FeedError(f"{speed_path}: a row falls on a daylight-saving change of {METR_LA_TZ}")
    long = pd.DataFrame(
        {
            "sensor_id": pd.Series(np.tile(ids, n_t), dtype=object).astype(str),
            "t": utc_series(np.repeat(ns, n_s)),
            "value": v.ravel(),
        }
    )
    for c in ("sensor_id", "latitude", "longitude"):
        if c not in locs.columns:
            raise FeedError(f"{loc_path}: missing column '{c}'")
    table = locs.assign(sensor_id=locs["sensor_id"].astype(str).str.strip()).set_index("sensor_id")
    table = table.reindex(ids)
    sensors = pd.DataFrame(
        {
            "sensor_id": pd.Series(ids, dtype=object).astype(str),
            "lat": table["latitude"].to_numpy(np.float64),
            "lon": table["longitude"].to_numpy(np.float64),
            "free_flow_mph": np.nanpercentile(v, 95, axis=0),
        }
    )
    return long, sensors


def _time_bound(value: Any) -> int | None:
    return None if value is None else parse_time(value)


def load_beijing_prsa(
    folder: str | Path,
    pollutants: Sequence[str] = ("PM2.5", "PM10", "NO2", "O3", "SO2", "CO"),
    start: Any = None,
    end: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load the 12 station files of the Beijing Multi-Site Air-Quality data (UCI, PRSA).

    Each ``PRSA_Data_<Station>_20130301-20170228.csv.gz`` has 35,064 hourly rows with
    ``year, month, day, hour`` in Beijing time (UTC+8, no daylight saving), so
    ``t_utc = local - 8 h``: the first row, 2013-03-01 00:00+08:00, is 2013-02-28T16:00Z.

    Units: all six pollutants are mass concentrations in **ug/m3**. That holds for CO too:
    its values run from 100 to 10,000 with medians of 600-1,000 per station, i.e. 0.1-10
    mg/m3, typical of urban CO (the same numbers in mg/m3 or ppm would be lethal).
    Missing readings stay as NaN rows (for example PM2.5 is missing in 382 to 953 hours
    per station) so that the store counts them.

    Parameters
    ----------
    folder
        ``airquality/beijing_prsa`` or the shared data root.
    pollutants
        Columns to load, each becoming a sensor ``"<Station>/<pollutant>"``.
    start, end
        Optional UTC bounds (inclusive), any form :func:`twin_app.model.times.parse_time` reads.

    Returns
    -------
    long : pandas.DataFrame
        ``sensor_id`` (``"Dongsi/PM2.5"``), ``t`` (UTC), ``value`` (ug/m3).
    stations : pandas.DataFrame
        ``station``, ``lat``, ``lon`` from :data:`BEIJING_STATIONS` (source in
        :data:`BEIJING_STATIONS_SOURCE`).
    """
    import pandas as pd

    bad = [p for p in pollutants if p not in PRSA_POLLUTANTS]
    if bad:
        raise FeedError(f"unknown pollutant {bad[0]!r}; choose from {', '.join(PRSA_POLLUTANTS)}")
    root = Path(folder)
    base = root if any(root.glob("PRSA_Data_*.csv*")) else root / "airquality" / "beijing_prsa"
    files = sorted(base.glob("PRSA_Data_*_20130301-20170228.csv*"))
    if not files:
        raise FeedError(f"{root}: no PRSA_Data_<Station>_20130301-20170228.csv.gz files found")
    lo, hi = _time_bound(start), _time_bound(end)
    parts = []
    names = []
    offset = np.int64(BEIJING_UTC_OFFSET_H * 3600 * 1_000_000_000)
    for f in files:  # one iteration per station file (12), not per sample
        try:
            df = pd.read_csv(f, usecols=["year", "month", "day", "hour", *pollutants, "station"])
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            raise FeedError(f"{f}: cannot read as a PRSA station file ({exc})") from exc
        station = str(df["station"].iloc[0]) if len(df) else f.name.split("_")[2]
        names.append(station)
        local = pd.to_datetime(df[["year", "month", "day", "hour"]]).astype("datetime64[ns]")
        ns = local.to_numpy().view(np.int64) - offset
        keep = np.ones(ns.size, bool)
        if lo is not None:
            keep &= ns >= lo
        if hi is not None:
            keep &= ns <= hi
        ns = ns[keep]
        vals = df[list(pollutants)].to_numpy(np.float64)[keep]
        sid = np.asarray([f"{station}/{p}" for p in pollutants], dtype=object)
        parts.append((np.tile(sid, ns.size), np.repeat(ns, len(pollutants)), vals.ravel()))
    ids = np.concatenate([p[0] for p in parts])
    long = pd.DataFrame(
        {
            "sensor_id": pd.Series(ids, dtype=object).astype(str),
            "t": utc_series(np.concatenate([p[1] for p in parts])),
            "value": np.concatenate([p[2] for p in parts]),
        }
    )
    missing = [s for s in names if s not in BEIJING_STATIONS]
    if missing:
        raise FeedError(f"{base}: no coordinates known for station {missing[0]!r}")
    stations = pd.DataFrame(
        {
            "station": names,
            "lat": [BEIJING_STATIONS[s][1] for s in names],
            "lon": [BEIJING_STATIONS[s][0] for s in names],
        }
    )
    return long, stations


def load_liverpool_bus(path: str | Path) -> pd.DataFrame:
    """Load the Liverpool route 14 bus positions (UK Bus Open Data Service AVL, 2026-01-26).

    The file's ``timestamp`` has no offset; per ``SOURCES.md`` it is UTC (in January UK civil
    time is GMT = UTC anyway), so it is read with ``assume_tz="UTC"``.

    Parameters
    ----------
    path
        The CSV, or the shared data root (``trajectories/liverpool_bus_route14_outbound.csv``).

    Returns
    -------
    pandas.DataFrame
        A long mover table in file order: ``sensor_id`` (vehicle id), ``t`` (UTC), ``lon``,
        ``lat`` (WGS 84), ``value`` (NaN) and ``trip_id``. ``df.attrs["report"]`` holds the
        :class:`StoreReport` of cleaning it (duplicate and out-of-order fixes per vehicle,
        unparseable times, missing coordinates); :meth:`MoverTracks.from_long` repeats the
        same cleaning.
    """
    import pandas as pd

    p = Path(path)
    if p.is_dir():
        p = _find(p, "trajectories", "liverpool_bus_route14_outbound.csv")
    try:
        df = pd.read_csv(p, dtype={"vehicle_id": str, "trip_id": str, "timestamp": str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise FeedError(f"{p}: cannot read as CSV ({exc})") from exc
    for c in ("vehicle_id", "timestamp", "latitude", "longitude"):
        if c not in df.columns:
            raise FeedError(f"{p}: missing column '{c}'")
    ns, ok = to_utc_ns(df["timestamp"], assume_tz="UTC", source=str(p), line_offset=2)
    out = pd.DataFrame(
        {
            "sensor_id": df["vehicle_id"].astype(str),
            "t": utc_series(np.where(ok, ns, np.iinfo(np.int64).min)),
            "lon": df["longitude"].to_numpy(np.float64),
            "lat": df["latitude"].to_numpy(np.float64),
            "value": np.full(len(df), np.nan),
            "trip_id": df["trip_id"].astype(str) if "trip_id" in df.columns else "",
        }
    )
    clean = clean_long(
        out["sensor_id"],
        out["t"],
        [out["lon"], out["lat"]],
        required=[True, True],
        source=str(p),
        noun="mover",
    )
    out.attrs["report"] = clean.report
    return out
