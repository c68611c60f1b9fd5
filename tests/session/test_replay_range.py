"""The sample twin over its whole replay range: every layer shows values wherever its data cover
the clock's time (issue 10: the air-quality layer was blank at 2026-03-04 12:00 although every
station measured then), walked hour by hour through the session core as a planner would play it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.alerts import AlertRule
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, SensorLayer
from twin_app.session import Session

H = 3600 * 10**9


@pytest.fixture(scope="module")
def session() -> Session:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    return s


def _last_sample_within(layer: SensorLayer, t: int) -> np.ndarray[Any, Any]:
    """Per store sensor: a valid sample at or before `t` no older than the layer's staleness
    (computed from each sensor's own samples, independent of the store's look-up)."""
    store: Any = layer.store
    w = None if layer.max_staleness_s is None else round(layer.max_staleness_s * 1e9)
    out = np.zeros(store.n_sensors, bool)
    for i in range(store.n_sensors):
        times, _ = store.series(i)
        before = times[times <= t]
        out[i] = before.size > 0 and (w is None or t - int(before[-1]) <= w)
    return out


def _mover_covered(layer: MoverLayer, t: int) -> np.ndarray[Any, Any]:
    """Per mover: at a fix, or between two fixes no farther apart than the layer's max gap."""
    tracks: Any = layer.tracks
    gap = np.inf if layer.max_gap_s is None else layer.max_gap_s * 1e9
    out = np.zeros(tracks.n_movers, bool)
    for m in range(tracks.n_movers):
        times, _ = tracks.fixes(m)
        k = int(np.searchsorted(times, t, side="right")) - 1
        out[m] = k >= 0 and (
            times[k] == t or (k + 1 < times.size and times[k + 1] - times[k] <= gap)
        )
    return out


def test_every_layer_has_values_wherever_its_data_cover_the_time(session: Session) -> None:
    c = session.clock
    assert c.end_ns - c.start_ns >= 72 * H  # three days of replay
    kinds = {type(layer).__name__ for layer in session.time_layers()}
    assert {"TrafficLayer", "AirQualityLayer", "MoverLayer", "PipeLayer"} <= kinds
    blank: list[str] = []
    hours = range(c.start_ns, c.end_ns + 1, H)
    for t in hours:
        c.seek(t)
        when = pd.Timestamp(t, tz="UTC").isoformat()
        for layer in session.time_layers():
            if isinstance(layer, AirQualityLayer):
                conc = layer.concentrations(t)
                covered = _last_sample_within(layer, t)
                j = layer.pollutants.index(layer.pollutant)
                col = layer.columns[:, j]
                expect = (col >= 0) & covered[np.maximum(col, 0)]
                assert np.isfinite(conc[expect]).all(), f"{layer.name} {when}: concentrations"
                missing = expect & ~np.isfinite(layer.aqi_values)
                if missing.any():
                    blank.append(f"{layer.name} {when}: no AQI at {int(missing.sum())} stations")
                if expect.any() and not np.isfinite(layer.grid).any():
                    blank.append(f"{layer.name} {when}: empty surface")
            elif isinstance(layer, SensorLayer):
                covered = _last_sample_within(layer, t)
                raw = layer.sensor_values(t)
                if (covered & ~np.isfinite(raw)).any():
                    blank.append(f"{layer.name} {when}: sensors without values")
                seg = getattr(layer, "segment_sensor", None)
                if seg is not None:
                    fed = (seg >= 0) & covered[np.maximum(seg, 0)]
                    ff = layer.free_flow[np.maximum(seg, 0)] > 0  # type: ignore[attr-defined]
                    if (fed & ff & ~np.isfinite(layer.values)).any():
                        blank.append(f"{layer.name} {when}: roads without values")
            elif isinstance(layer, MoverLayer):
                if (_mover_covered(layer, t) & ~layer.valid).any():
                    blank.append(f"{layer.name} {when}: movers hidden")
            elif isinstance(layer, PipeLayer) and not np.isfinite(layer.values).all():
                blank.append(f"{layer.name} {when}: pipes without values")
    assert blank == []


def test_the_reported_hour_shows_air_quality(session: Session) -> None:
    # The hour of the report: every station measured PM2.5 above the EPA table (smog).
    t = pd.Timestamp("2026-03-04T12:00", tz="Europe/London").value
    session.clock.seek(t)
    air = next(x for x in session.time_layers() if isinstance(x, AirQualityLayer))
    assert np.isfinite(air.values).all()
    assert np.isfinite(air.aqi_values).all() and air.aqi_values.max() == 500.0
    assert np.isfinite(air.grid).any()
    assert air.kpi_at(t) == 500.0


def test_playing_the_replay_keeps_one_alert_per_rule_and_element() -> None:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    c = s.clock
    severities = {r.name: r.severity for r in s.alerts.rules}
    assert sorted(severities.values()) == ["critical", "info", "warning", "warning"]
    thresholds = {r.name for r in s.alerts.rules if isinstance(r, AlertRule)}
    c.seek(c.start_ns)
    c.loop = False
    c.play()
    ticks = 0
    while c.playing:
        s.tick(0.25)  # 150 clock seconds a tick at x600
        ticks += 1
    assert ticks > 1500
    alerts = list(s.alerts.alerts)
    keys = [(a.rule, a.layer_uid, a.element_id) for a in alerts]
    assert len(keys) == len(set(keys))  # one entry per rule and element
    assert {a.rule for a in alerts} == thresholds  # every threshold fired; no station fell silent
    assert all(a.severity == severities[a.rule] for a in alerts)
    assert sum(a.count for a in alerts) > len(alerts)  # some elements had several episodes
    for a in alerts:
        assert c.start_ns <= a.t_ns <= a.episode_ns <= a.last_ns <= c.end_ns
        assert a.count >= 1 and np.isfinite(a.value) and np.isfinite(a.peak)
    # replaying the same period after a seek back does not count its episodes again
    before = [(a.key, a.count) for a in s.alerts.alerts]
    c.seek(c.start_ns + 24 * H)
    c.play()
    while c.playing:
        s.tick(0.25)
    assert [(a.key, a.count) for a in s.alerts.alerts] == before
