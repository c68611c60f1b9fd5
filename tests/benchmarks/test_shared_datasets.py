"""Loaders of the real shared datasets (METR-LA, Beijing PRSA, Liverpool buses).

They live in ``benchmarks/shared_datasets.py``: only the benchmarks and the maintainers' script
that cuts the sample twin's series use them, so they are not part of the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.feeds.store import SensorStore
from twin_app.feeds.tracks import MoverTracks

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from shared_datasets import (
    BEIJING_STATIONS,
    load_beijing_prsa,
    load_liverpool_bus,
    load_metr_la,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data {DATA} not available")


def utc(s: str) -> int:
    return int(pd.Timestamp(s).tz_convert("UTC").as_unit("ns").value)


@pytest.fixture(scope="module")
def metr() -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_metr_la(DATA)


def test_metr_la_shape_and_times(metr: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    long, sensors = metr
    assert len(long) == 207 * 2016 and len(sensors) == 207
    store, rep = SensorStore.from_long(
        long.sensor_id, long.t, long.value, sensors=sensors.sensor_id
    )
    assert (store.n_sensors, store.n_times) == (207, 2016)
    assert rep.rows_kept == 207 * 2016 and not rep.warnings
    first, last = store.time_range()  # type: ignore[misc]
    assert first == utc("2012-03-01T08:00:00Z")
    assert last == utc("2012-03-07T23:55:00-08:00")  # PST all week: DST starts 2012-03-11
    local = long["t"].dt.tz_convert("America/Los_Angeles").dt.tz_localize(None)
    assert ((local - long["t"].dt.tz_localize(None)) == pd.Timedelta(hours=-8)).all()
    assert local.iloc[0] == pd.Timestamp("2012-03-01T00:00") and local.iloc[-1] == pd.Timestamp(
        "2012-03-07T23:55"
    )
    assert (np.diff(store.times) == 300 * 10**9).all()


def test_metr_la_values_and_positions(metr: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    long, sensors = metr
    assert list(sensors.columns) == ["sensor_id", "lat", "lon", "free_flow_mph"]
    assert sensors.sensor_id.iloc[0] == "773869"
    assert sensors.lat.between(33.9, 34.4).all() and sensors.lon.between(-118.6, -118.1).all()
    assert long.value.between(1, 71).all()  # mph
    assert (sensors.free_flow_mph <= 71).all() and sensors.free_flow_mph.median() > 55
    v = long[long.sensor_id == "773869"].value
    assert sensors.free_flow_mph.iloc[0] == pytest.approx(np.percentile(v, 95))


def test_beijing_prsa() -> None:
    long, stations = load_beijing_prsa(DATA, pollutants=("PM2.5", "CO"))
    assert len(stations) == 12 and set(stations.station) == set(BEIJING_STATIONS)
    assert stations.lat.between(39.8, 40.4).all() and stations.lon.between(116.1, 116.7).all()
    assert len(long) == 12 * 35064 * 2
    pm = long[long.sensor_id.str.endswith("/PM2.5")]
    per_station = pm.groupby("sensor_id").size()
    assert (per_station == 35064).all()
    nan_counts = pm.value.isna().groupby(pm.sensor_id).sum()
    assert nan_counts.min() == 382 and nan_counts.max() == 953
    assert pm.t.min() == pd.Timestamp("2013-03-01T00:00:00+08:00")
    assert pm.t.min() == pd.Timestamp("2013-02-28T16:00:00Z")
    assert pm.t.max() == pd.Timestamp("2017-02-28T23:00:00+08:00")
    co = long[long.sensor_id.str.endswith("/CO")].value
    assert co.min() >= 100 and co.max() <= 10000  # ug/m3 (0.1 .. 10 mg/m3)
    store, rep = SensorStore.from_long(long.sensor_id, long.t, long.value)
    assert rep.nan_values == int(long.value.isna().sum())
    assert store.n_sensors == 24


def test_beijing_prsa_time_window() -> None:
    long, _ = load_beijing_prsa(
        DATA, pollutants=("NO2",), start="2016-01-01T00:00:00Z", end="2016-01-01T23:00:00Z"
    )
    assert len(long) == 12 * 24
    assert long.t.min() == pd.Timestamp("2016-01-01T00:00:00Z")


def test_liverpool_bus() -> None:
    df = load_liverpool_bus(DATA / "trajectories" / "liverpool_bus_route14_outbound.csv")
    assert len(df) == 1533 and df.sensor_id.nunique() == 8
    rep = df.attrs["report"]
    assert rep.rows_in == 1533 and rep.duplicates == 0 and rep.out_of_order == 0
    assert df.t.min() == pd.Timestamp("2026-01-26T15:55:12Z")
    assert df.t.max() == pd.Timestamp("2026-01-26T18:19:36Z")
    # lon/lat -> local metres with the twin's frame (UTM zone of the data, origin at its centre)
    from pyproj import CRS

    from twin_app.model.frame import LocalFrame

    bounds = (df.lon.min(), df.lat.min(), df.lon.max(), df.lat.max())
    frame = LocalFrame.for_data(CRS.from_epsg(4326), bounds)
    xyz = frame.lonlat_to_local(df.lon.to_numpy(), df.lat.to_numpy())
    tracks, _ = MoverTracks.from_long(df.sensor_id, df.t, xyz[:, 0], xyz[:, 1])
    assert tracks.n_movers == 8 and tracks.n_fixes == 1533
    pos, heading, valid = tracks.positions_at(pd.Timestamp("2026-01-26T16:30:00Z"))
    assert 1 <= valid.sum() <= 8
    assert (np.abs(pos[valid, :2]) < 20_000).all()  # within 20 km of the centre
    assert ((heading[valid] >= 0) & (heading[valid] < 2 * np.pi)).all()
    # The feed's own bearing (degrees clockwise from north) agrees with our travel heading:
    # heading of each segment of more than 50 m, at its midpoint, vs the bearing at its end.
    raw = pd.read_csv(DATA / "trajectories" / "liverpool_bus_route14_outbound.csv")
    diffs = []
    for m in range(tracks.n_movers):  # 8 movers; the query itself is vectorised
        t, p = tracks.fixes(m)
        sel = (raw["vehicle_id"].astype(str) == tracks.mover_ids[m]).to_numpy()
        bearing = raw["bearing"].to_numpy()[sel]  # file order is time order here
        moving = (np.hypot(*(p[1:, :2] - p[:-1, :2]).T) > 50) & np.isfinite(bearing[1:])
        for k in np.flatnonzero(moving):
            h = tracks.positions_at(int((t[k] + t[k + 1]) // 2))[1][m]
            diffs.append((np.degrees(h) - bearing[k + 1] + 180) % 360 - 180)
    assert len(diffs) > 500
    assert np.median(np.abs(diffs)) < 10
