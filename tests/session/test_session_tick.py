"""Session.tick: the live feed is drained, recorded and ingested, then the clock advances; the
Live verbs (connect, disconnect, record) without a window."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.feeds.longformat import read_long
from twin_app.feeds.sensorthings import Sample
from twin_app.feeds.store import SensorStore
from twin_app.model.sensors import SensorLayer
from twin_app.session import Session

T0 = pd.Timestamp("2026-03-02T00:00Z").value
H = 3600 * 10**9


@dataclass(eq=False)
class StoreLayer(SensorLayer):
    """The smallest sensor layer: a store and the values at the clock's time, with a log of
    the times it was brought to."""

    interpolation: str = "last"
    updates: list[int] = field(default_factory=list)

    def update(self, t_ns: int) -> None:
        self.updates.append(int(t_ns))
        super().update(t_ns)

    def element_ids(self, field: str = "values") -> Any:
        return self.store.sensor_ids if self.store is not None else []

    def element_position(self, i: int, field: str = "values") -> np.ndarray[Any, Any]:
        return np.zeros(3)


class FakeFeed:
    """What Live needs of a LiveFeed: a broker, a state, drain and stop."""

    broker = "localhost:1883"

    class state:
        value = "connected"

    def __init__(self) -> None:
        self.buffer: list[Sample] = []
        self.stopped = False

    def drain(self) -> list[Sample]:
        out, self.buffer = self.buffer, []
        return out

    def stop(self, wait: bool = True) -> None:
        self.stopped = True


def _session() -> tuple[Session, StoreLayer]:
    store, _ = SensorStore.from_long(
        np.array(["a", "b", "a", "b"], object),
        np.array([T0, T0, T0 + 2 * H, T0 + 2 * H]).astype("datetime64[ns]"),
        np.array([1.0, 2.0, 3.0, 4.0]),
    )
    session = Session()
    layer = StoreLayer(name="speeds", store=store)
    session.add_layers([layer], "add")
    return session, layer


def test_tick_advances_the_clock_by_dt_times_rate() -> None:
    session, layer = _session()
    c = session.clock
    c.seek(T0)
    c.set_rate(600)
    c.play()
    session.tick(0.5)
    assert c.t_ns == T0 + 300 * 10**9
    session.tick(0.25)
    assert c.t_ns == T0 + 450 * 10**9
    assert layer.updates[-1] == c.t_ns  # the layers follow the clock
    c.pause()
    session.tick(1.0)
    assert c.t_ns == T0 + 450 * 10**9  # paused: time stands still


def test_tick_drains_records_and_ingests_live_samples(tmp_path: Path) -> None:
    session, layer = _session()
    feed = FakeFeed()
    session.live.feed = feed  # as connect() would, without a broker
    assert session.live.status == "MQTT localhost:1883: connected"
    session.live.start_recording(tmp_path / "rec.parquet")
    assert session.live.recording
    t = T0 + 1 * H
    feed.buffer = [Sample("a", t, 7.0), Sample("zz", t, 9.0)]
    assert session.tick(0.04) == (1, 1)  # one known sensor, one unknown
    assert layer.store.values_at(t, "last")[0] == 7.0
    assert feed.buffer == [] and session.tick(0.04) == (0, 0)
    paths = session.live.stop_recording()
    assert paths == [tmp_path / "rec.parquet"] and not session.live.recording
    rec = read_long(tmp_path / "rec.parquet")
    assert sorted(rec["sensor_id"].astype(str)) == ["a", "zz"]
    assert sorted(rec["value"]) == [7.0, 9.0]


def test_disconnect_stops_feed_and_recording_and_leaves_live_mode(tmp_path: Path) -> None:
    session, _ = _session()
    feed = FakeFeed()
    changes: list[None] = []
    session.live.changed.connect(lambda: changes.append(None))
    session.live.feed = feed
    session.clock.go_live()
    session.live.start_recording(tmp_path / "rec.parquet")
    feed.buffer = [Sample("b", T0, 5.0)]
    session.tick(0.04)
    messages: list[tuple[str, str]] = []
    session.messages.connect(lambda level, text: messages.append((level, text)))
    session.live.disconnect()
    assert feed.stopped and session.live.feed is None and not session.live.recording
    assert not session.clock.live and session.live.status == ""
    assert (tmp_path / "rec.parquet").exists()
    assert any("recorded 1 samples" in text for _, text in messages)
    assert len(changes) == 3  # recording started, recording stopped, disconnected


def test_a_bad_broker_is_a_message_not_an_exception() -> None:
    session = Session()
    messages: list[tuple[str, str]] = []
    session.messages.connect(lambda level, text: messages.append((level, text)))
    assert session.live.connect("no-such-host:notaport") is False
    assert session.live.feed is None
    assert messages and messages[-1][0] == "error" and "\n" not in messages[-1][1]


@pytest.mark.parametrize("rate", [1.0, 10_000.0])
def test_tick_uses_the_rate(rate: float) -> None:
    session, _ = _session()
    session.clock.seek(T0)
    session.clock.set_rate(rate)
    session.clock.play()
    session.tick(0.1)
    assert session.clock.t_ns == T0 + round(rate * 0.1 * 10**9)


def test_a_live_feed_gone_silent_raises_one_alert_that_clears_when_messages_flow() -> None:
    session, _ = _session()
    feed = FakeFeed()
    session.live.feed = feed
    session.live.silent_after_s = 60.0
    wall = [1000.0]
    session.live.now = lambda: wall[0]
    messages: list[tuple[str, str]] = []
    session.messages.connect(lambda level, text: messages.append((level, text)))
    feed.buffer = [Sample("a", T0, 1.0)]
    session.tick(0.04)
    for _ in range(5):  # 50 s of quiet: not yet
        wall[0] += 10.0
        session.tick(0.04)
    assert len(session.alerts.alerts) == 0
    for _ in range(5):  # past 60 s: one alert, however many ticks
        wall[0] += 10.0
        session.tick(0.04)
    assert len(session.alerts.alerts) == 1
    a = session.alerts.alerts[0]
    assert (a.rule, a.element_id, a.active, a.count) == (
        "Live feed silent for 60 s",
        "localhost:1883",
        True,
        1,
    )
    assert [lvl for lvl, text in messages if "no message for 60 s" in text] == ["warning"]
    feed.buffer = [Sample("a", T0 + H, 2.0)]  # messages flow again
    session.tick(0.04)
    assert not session.alerts.alerts[0].active
    wall[0] += 61.0  # silent again: the same entry counts a second spell
    session.tick(0.04)
    assert len(session.alerts.alerts) == 1 and session.alerts.alerts[0].count == 2
    assert session.alerts.alerts[0].active
    session.live.disconnect()
    assert not session.alerts.alerts[0].active


def test_sensor_silence_in_a_live_store() -> None:
    from twin_app.model.alerts import SilenceRule

    session, layer = _session()
    session.alerts.add_rule(SilenceRule("Sensor silent for 10 min", layer.uid, 600.0))
    feed = FakeFeed()
    session.live.feed = feed
    c = session.clock
    c.extend_range(T0, T0 + 3 * H)  # as live time runs past the replayed data
    c.seek(T0 + 2 * H)
    feed.buffer = [Sample("a", T0 + 2 * H + 300 * 10**9, 5.0)]
    c.seek(T0 + 2 * H + 300 * 10**9)
    session.tick(0.04)
    c.seek(T0 + 2 * H + 700 * 10**9)  # b: silent 700 s, a: 400 s
    got = {a.element_id: a.value for a in session.alerts.alerts}
    assert got == {"b": 700.0}
