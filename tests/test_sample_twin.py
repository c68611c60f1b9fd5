"""The bundled sample twin: real replay series on all four layer kinds, on one clock."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.geometry.placement import Placement
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.session import Session


@pytest.fixture(scope="module")
def twin() -> Any:
    session = Session()
    series = session.open_twin(SAMPLE_DIR)
    session.add_twin(series)
    return series.manifest, series, session


def test_every_layer_kind_is_there_and_says_where_it_was_measured(twin: Any) -> None:
    manifest, series, _ = twin
    kinds = [type(layer) for layer in series.layers]
    assert kinds == [TrafficLayer, AirQualityLayer, MoverLayer, PipeLayer]
    for layer, entry in zip(series.layers, manifest.series, strict=True):
        assert entry.measured_in in layer.description
    assert (
        "Los Angeles" in series.layers[0].description
        and "mapped onto this district" in series.layers[0].description
    )
    assert "Beijing" in series.layers[1].description
    assert "Liverpool" in series.layers[2].description
    assert "not its real location" in series.layers[3].description
    assert series.timezone == "Europe/London"


def test_series_are_aligned_on_the_twin_clock(twin: Any) -> None:
    _, series, session = twin
    start = pd.Timestamp("2026-03-02T00:00Z").value
    assert session.clock.start_ns == start
    assert session.clock.end_ns == pd.Timestamp("2026-03-05T00:00Z").value
    tr = series.layers[0]
    # METR-LA row 0 of 5 March 2012 00:00 PST is what the twin shows at its replay start
    raw = pd.read_parquet(SAMPLE_DIR / "traffic_metr_la.parquet")
    first = raw[raw["t"] == raw["t"].min()].set_index("sensor_id")["value"]
    got = tr.store.values_at(start, "last")
    ids = [str(i) for i in tr.store.sensor_ids]
    assert np.allclose(got, first.reindex(ids).to_numpy(), equal_nan=True)


def test_values_move_with_the_clock(twin: Any) -> None:
    _, series, session = twin
    tr, air, buses, pipes = series.layers
    night = pd.Timestamp("2026-03-02T03:00Z").value
    peak = pd.Timestamp("2026-03-02T17:30Z").value  # LA evening peak, shifted to London time
    session.clock.seek(night)
    calm = np.nanmean(tr.values), air.aqi_values.copy(), buses.valid.sum(), pipes.values.copy()
    session.clock.seek(peak)
    assert np.nanmean(tr.values) < calm[0] - 0.05  # slower at the peak
    assert not np.allclose(air.aqi_values, calm[1], equal_nan=True)
    assert calm[2] == 0 and buses.valid.sum() >= 2  # the buses run 15:55-18:19 only
    assert not np.allclose(pipes.values, calm[3])  # hourly EPANET demand patterns
    assert (tr.segment_sensor >= 0).sum() > 500  # main roads carry the detectors' speeds
    assert np.isfinite(air.grid).any()  # the interpolated surface is there


def test_alerts_over_the_replay(twin: Any) -> None:
    session = twin[2]
    c = session.clock
    c.seek(c.start_ns)
    session.alerts.alerts.clear()
    c.play()
    c.set_rate(10_000)
    c.loop = False
    while c.playing:
        c.advance(0.05)
    rules = {a.rule for a in session.alerts.alerts}
    assert any("congestion" in r for r in rules)
    assert any("PM2.5" in r for r in rules)
    first = session.alerts.alerts[0]
    assert c.start_ns <= first.t_ns <= c.end_ns and first.element_id


def test_placement_keeps_shape_and_fits_the_district() -> None:
    p = Placement.fit_lonlat((-118.5, 33.9, -117.9, 34.3), (-800.0, -600.0, 800.0, 600.0))
    corners = p.apply(np.array([-118.5, -117.9]), np.array([33.9, 34.3]))
    assert corners[:, 0].min() >= -800 and corners[:, 0].max() <= 800
    assert corners[:, 1].min() >= -600 and corners[:, 1].max() <= 600
    # one uniform scale: a 0.1 degree step east in LA is about 9.2 km there
    d = p.apply(np.array([-118.2, -118.1]), np.array([34.1, 34.1]))
    assert np.linalg.norm(d[1] - d[0]) / p.scale == pytest.approx(
        0.1 * np.cos(np.radians(34.1)) * 111_320, rel=1e-3
    )
    assert "not real" in p.describe()
