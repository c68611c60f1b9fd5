"""The wall's numbers without a window: rolling series, freshness, tiles, tour, targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.errors import InputError
from twin_app.feeds.store import SensorStore
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.alerts import AlertRule
from twin_app.model.camera import CameraPose
from twin_app.model.sensors import SensorLayer
from twin_app.session import Session
from twin_app.session.scenario import KpiRow
from twin_app.session.wall import (
    RollingSeries,
    Tour,
    format_value,
    freshness,
    live_kpis,
    sampling_period_s,
    scenario_kpis,
    tour_items,
    wall_target_kind,
)

T0 = pd.Timestamp("2026-03-02T00:00Z").value
S = 10**9


@dataclass(eq=False)
class Speeds(SensorLayer):
    """A plain sensor layer over a store (values at the clock's time)."""

    interpolation: str = "last"

    def element_ids(self, field: str = "values") -> Any:
        return self.store.sensor_ids if self.store is not None else []

    def element_position(self, i: int, field: str = "values") -> np.ndarray[Any, Any]:
        return np.zeros(3)


def _session(times_s: list[int]) -> tuple[Session, Speeds]:
    t = np.array([T0 + k * S for k in times_s])
    store, _ = SensorStore.from_long(
        np.array(["a"] * len(t), object), t.astype("datetime64[ns]"), np.arange(len(t), dtype=float)
    )
    session = Session()
    layer = Speeds(name="Speeds", store=store)
    session.add_layers([layer], "add")
    return session, layer


def test_rolling_series_keeps_the_newest_in_order_without_growing() -> None:
    s = RollingSeries(4)
    assert s.view()[0].size == 0
    s.push(1.0, 10.0)
    s.push(2.0, 20.0)
    t, v = s.view()
    assert t.tolist() == [1.0, 2.0] and v.tolist() == [10.0, 20.0]
    buffers = (s._t, s._v)
    for k in range(3, 11):
        s.push(float(k), 10.0 * k)
    t, v = s.view()
    assert t.tolist() == [7.0, 8.0, 9.0, 10.0]
    assert v.tolist() == [70.0, 80.0, 90.0, 100.0]
    # the same buffers all along, and the window is a view into them (no copy per tick)
    assert s._t is buffers[0] and s._v is buffers[1]
    assert np.shares_memory(t, s._t) and np.shares_memory(v, s._v)
    s.clear()
    assert s.view()[0].size == 0
    with pytest.raises(ValueError):
        RollingSeries(1)


def test_sampling_period_is_the_median_of_the_newest_intervals() -> None:
    t = np.array([0, 300, 600, 900, 901, 902, 903, 904], np.int64) * S
    assert sampling_period_s(t, n=3) == 1.0  # the live tail, not the replayed 5 minutes
    assert sampling_period_s(t, n=20) == 1.0  # median over all seven: four of 1 s
    assert sampling_period_s(t[:5], n=20) == 300.0
    assert math.isnan(sampling_period_s(t[:1]))


def test_data_older_than_three_periods_is_stale() -> None:
    session, _ = _session([0, 60, 120, 180, 600])  # one-minute samples, then a gap
    c = session.clock
    c.seek(T0 + 200 * S)
    (f,) = freshness(session)
    assert f.name == "Speeds" and f.age_s == pytest.approx(20.0)
    assert f.limit_s == pytest.approx(180.0) and not f.stale
    c.seek(T0 + 400 * S)  # 220 s after the last sample at or before the clock
    (f,) = freshness(session)
    assert f.stale and f.note == "no data for 4 min"
    c.seek(T0 + 610 * S)  # the gap is over
    assert not freshness(session)[0].stale
    (f,) = freshness(session, factor=1.0)
    assert f.limit_s == pytest.approx(60.0)


def test_live_kpis_count_open_alerts_and_scenario_kpis_show_the_table() -> None:
    session, layer = _session([0, 60, 120, 180])
    session.alerts.add_rule(AlertRule("high", layer.uid, threshold=1.5, min_duration_s=0))
    session.clock.seek(T0 + 120 * S)  # value 2 > 1.5: an alert holds
    kpis = live_kpis(session)
    assert kpis[0].name == "Open alerts" and kpis[0].value == 1.0
    session.alerts.acknowledge()
    assert live_kpis(session)[0].value == 0.0
    rows = [KpiRow("tstt_veh_h", 1000.0, 1250.5, 250.5, "veh·h", False)]
    (k,) = scenario_kpis(rows)
    assert (k.name, k.value, k.unit, k.good) == ("tstt_veh_h", 1250.5, "veh·h", False)
    assert k.text() == "1,250" and k.detail == "baseline 1,000  (+250)"
    assert format_value(float("nan")) == "—" and format_value(0.4234) == "0.423"


def _target(session: Session) -> CameraPose | None:
    """Where the camera is going (the flight's end), or where it is."""
    flight = session.camera.flight
    return flight.end if flight is not None else session.camera.pose


def test_tour_flies_to_the_next_bookmark_after_the_interval_and_wraps() -> None:
    session = Session()
    poses = [
        CameraPose((0.0, -100.0 * k - 100, 50.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
        for k in range(2)
    ]
    for k, p in enumerate(poses):
        session.add_bookmark(f"stop {k}", p)
    now = [0.0]
    tour = Tour(session.camera, lambda: tour_items(session), interval_s=30.0, now=lambda: now[0])
    assert tour.step() is None  # not yet
    now[0] = 30.0
    assert tour.step().name == "stop 0"  # type: ignore[union-attr]
    assert _target(session) == poses[0]
    now[0] = 45.0
    assert tour.step() is None
    now[0] = 60.0
    assert tour.step().name == "stop 1"  # type: ignore[union-attr]
    assert _target(session) == poses[1]
    now[0] = 90.0
    assert tour.step().name == "stop 0"  # type: ignore[union-attr]  # on a loop
    with pytest.raises(InputError):
        Tour(session.camera, list, interval_s=0)


def test_what_the_wall_opens(tmp_path: Path) -> None:
    assert wall_target_kind(SAMPLE_DIR) == "twin"
    assert wall_target_kind(SAMPLE_DIR / "manifest.toml") == "twin"
    assert wall_target_kind(SAMPLE_DIR / "scenarios" / "close_road.toml") == "scenario"
    sess = tmp_path / "mine.twin.toml"
    sess.write_text("")
    assert wall_target_kind(sess) == "session"
    with pytest.raises(InputError, match="no such file"):
        wall_target_kind(tmp_path / "nothing")
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(InputError, match=r"a\.csv: not a session"):
        wall_target_kind(tmp_path / "a.csv")
