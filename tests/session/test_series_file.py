"""Session.open_series_file: a recording opens as a replay series bound to the open twin's
sensors or movers (issue 10, "Messages": File > Open said it lacks geo metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.errors import FeedError
from twin_app.feeds.longformat import read_long, write_long
from twin_app.feeds.recorder import Recorder
from twin_app.feeds.sensorthings import Sample
from twin_app.io.manifest import SAMPLE_DIR, read_manifest
from twin_app.model.sensors import AirQualityLayer, MoverLayer, TrafficLayer
from twin_app.session import Session

MIN_NS = 60 * 10**9


@pytest.fixture(scope="module")
def twin_session() -> Session:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    return s


def _fresh(twin_session: Session) -> Session:
    """A session with the sample twin's layers (opened once per module: it takes seconds)."""
    s = Session()
    s.city = twin_session.city
    s.twins = list(twin_session.twins)
    s.layers.extend(twin_session.layers)
    s.clock.extend_range(twin_session.clock.start_ns, twin_session.clock.end_ns)
    s.clock.seek(twin_session.clock.t_ns)
    return s


def test_traffic_recording_replays_on_the_twins_roads(
    twin_session: Session, tmp_path: Path
) -> None:
    s = _fresh(twin_session)
    traffic = next(layer for layer in s.layers if isinstance(layer, TrafficLayer))
    ids = [str(i) for i in traffic.store.sensor_ids[[0, 5, 9]]]
    t0 = s.clock.t_ns
    rec = Recorder()
    rec.add(
        Sample(ids[j], t0 + k * 5 * MIN_NS, 20.0 + j + 3 * k) for k in range(3) for j in range(3)
    )
    rec.add([Sample("ghost-1", t0, 1.0), Sample("ghost-2", t0, 2.0)])
    path = tmp_path / "rec.parquet"
    rec.write(path)
    assert Session.is_series_file(path)
    seen: list[tuple[str, str]] = []
    s.messages.connect(lambda level, text: seen.append((level, text)))
    new = s.open_series_file(path)
    assert isinstance(new, TrafficLayer) and new in s.layers and new is not traffic
    assert new.roads is traffic.roads and new.uid != traffic.uid
    cols = [list(map(str, new.store.sensor_ids)).index(i) for i in ids]
    for k in range(3):
        s.clock.seek(t0 + k * 5 * MIN_NS)
        np.testing.assert_allclose(
            new.sensor_values(s.clock.t_ns)[cols], [20.0 + j + 3 * k for j in range(3)]
        )
    warnings = [t for level, t in seen if level == "warning"]
    assert any("2 samples of 2 ids" in w and "ghost-1" in w for w in warnings)
    assert any(level == "info" and "9 of 11 samples" in t for level, t in seen)
    s.commands.undo()
    assert new not in s.layers


def test_csv_recording_of_air_quality_binds_to_the_air_layer(
    twin_session: Session, tmp_path: Path
) -> None:
    s = _fresh(twin_session)
    air = next(layer for layer in s.layers if isinstance(layer, AirQualityLayer))
    sid = str(air.store.sensor_ids[0])
    t = pd.Timestamp(s.clock.t_ns, tz="UTC")
    path = tmp_path / "air.csv"
    write_long(
        path,
        pd.DataFrame(
            {"sensor_id": [sid, sid], "t": [t, t + pd.Timedelta("1h")], "value": [42.0, 43.0]}
        ),
    )
    new = s.open_series_file(path)
    assert isinstance(new, AirQualityLayer) and new.name == f"{air.name} (air.csv)"
    assert new.sensor_values(s.clock.t_ns)[0] == pytest.approx(42.0)


def test_bus_recording_is_laid_onto_the_district_like_the_twins_buses(
    twin_session: Session, tmp_path: Path
) -> None:
    s = _fresh(twin_session)
    buses = next(layer for layer in s.layers if isinstance(layer, MoverLayer))
    manifest = read_manifest(SAMPLE_DIR)
    series = next(x for x in manifest.series if x.kind == "movers")
    shift = manifest.replay_start_ns - pd.Timestamp(series.source_start).value
    own = read_long(SAMPLE_DIR / series.path)
    # what `twin feed publish` of the bus file then `twin feed record` would hold, at twin times
    one = own[own["sensor_id"] == own["sensor_id"].iloc[0]].iloc[:40]
    rec = one.assign(t=one["t"] + pd.Timedelta(shift, "ns"))
    path = tmp_path / "buses.parquet"
    write_long(path, rec)
    new = s.open_series_file(path)
    assert isinstance(new, MoverLayer) and list(new.mover_ids) == [one["sensor_id"].iloc[0]]
    t = int(rec["t"].iloc[10].value)
    s.clock.seek(t)
    j = list(buses.mover_ids).index(new.mover_ids[0])
    assert new.valid[0] and buses.valid[j]
    np.testing.assert_allclose(new.positions[0, :2], buses.positions[j, :2], atol=0.5)


def test_a_recording_no_layer_knows_says_what_to_do(twin_session: Session, tmp_path: Path) -> None:
    s = _fresh(twin_session)
    rec = Recorder()
    rec.add([Sample("elsewhere", s.clock.t_ns, 1.0)])
    path = tmp_path / "other.parquet"
    rec.write(path)
    with pytest.raises(
        FeedError, match=r"none of its sensor ids \(e.g. elsewhere\).*open the twin"
    ):
        s.open_series_file(path)
    with pytest.raises(FeedError, match="open the twin"):
        Session().open_series_file(path)


def test_geometry_files_are_not_series_files(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    geo = tmp_path / "points.parquet"
    gpd.GeoDataFrame({"sensor_id": ["a"], "t": [1]}, geometry=[Point(0, 0)], crs=4326).to_parquet(
        geo
    )
    assert not Session.is_series_file(geo)
    assert not Session.is_series_file(SAMPLE_DIR / "london.osm.pbf")
    assert not Session.is_series_file(SAMPLE_DIR / "metr_la_sensors.csv")
    assert Session.is_series_file(SAMPLE_DIR / "traffic_metr_la.parquet")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet")
    assert not Session.is_series_file(garbage)
