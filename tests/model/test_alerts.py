"""Alerts fire once after the condition has held long enough, clear, and re-arm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from psygnal import evented

from twin_app.errors import TwinError
from twin_app.model.alerts import AlertEngine, AlertRule
from twin_app.model.layers import TimeLayer

NS = 1_000_000_000


@evented
@dataclass(eq=False)
class FakeLayer(TimeLayer):
    name: str = "air"
    values: np.ndarray = field(default_factory=lambda: np.zeros(3))
    ids: tuple[str, ...] = ("a", "b", "c")

    def update(self, t_ns: int) -> None:
        self.time_ns = t_ns

    def time_range(self) -> tuple[int, int] | None:
        return None

    def element_ids(self, field: str = "values") -> Any:
        return np.array(self.ids, object)

    def element_position(self, i: int, field: str = "values") -> np.ndarray:
        return np.array([float(i), 0.0, 0.0])


def test_duration_threshold_and_rearm() -> None:
    layer = FakeLayer()
    eng = AlertEngine()
    eng.add_rule(AlertRule("high", 1, threshold=100.0, min_duration_s=600))
    layers = {1: layer}
    layer.values = np.array([150.0, 50.0, np.nan])
    assert eng.evaluate(0, layers) == []
    assert eng.evaluate(300 * NS, layers) == []
    fired = eng.evaluate(600 * NS, layers)
    assert [(a.element_id, a.value, a.position) for a in fired] == [("a", 150.0, (0.0, 0.0, 0.0))]
    assert eng.evaluate(900 * NS, layers) == []  # raised once, not every tick
    layer.values = np.array([80.0, 50.0, 300.0])
    assert eng.evaluate(1000 * NS, layers) == []  # c just started; a cleared
    layer.values = np.array([120.0, 50.0, 300.0])
    assert [a.element_id for a in eng.evaluate(1600 * NS, layers)] == ["c"]
    assert [a.element_id for a in eng.evaluate(2200 * NS, layers)] == ["a"]  # a re-armed
    # one entry per rule and element: a counts its two episodes (issue 10)
    assert [(a.element_id, a.count) for a in eng.alerts] == [("a", 2), ("c", 1)]
    a = eng.alerts[0]
    assert (a.t_ns, a.episode_ns, a.last_ns, a.value, a.peak) == (
        600 * NS,
        2200 * NS,
        2200 * NS,
        120.0,
        150.0,
    )


def test_going_back_in_time_resets() -> None:
    layer = FakeLayer(values=np.array([200.0, 0.0, 0.0]))
    eng = AlertEngine()
    eng.add_rule(AlertRule("high", 1, 100.0, min_duration_s=0))
    assert len(eng.evaluate(10 * NS, {1: layer})) == 1
    assert (
        len(eng.evaluate(5 * NS, {1: layer})) == 0
    )  # seek back: the same episode is not listed twice
    assert len(eng.evaluate(3600 * NS, {1: layer})) == 0  # still the same episode (condition held)
    layer.values = np.array([0.0, 0.0, 0.0])
    eng.evaluate(3700 * NS, {1: layer})
    layer.values = np.array([200.0, 0.0, 0.0])
    assert len(eng.evaluate(3800 * NS, {1: layer})) == 1  # a new episode
    below = AlertEngine()
    below.add_rule(AlertRule("low pressure", 1, 20.0, above=False))
    layer.values = np.array([25.0, 10.0, np.nan])
    assert [a.element for a in below.evaluate(0, {1: layer})] == [1]
    with pytest.raises(TwinError):
        AlertRule("bad", 1, float("nan"))


def test_one_entry_per_rule_and_element_with_episodes_acknowledge_and_severity() -> None:
    layer = FakeLayer(values=np.array([200.0, 0.0, 0.0]))
    eng = AlertEngine()
    eng.add_rule(AlertRule("high", 1, 100.0, severity="critical"))
    raised: list[Any] = []
    eng.raised.connect(raised.append)
    for k in range(10):  # five separate episodes of the same element
        layer.values = np.array([200.0 + k, 0.0, 0.0]) if k % 2 == 0 else np.zeros(3)
        eng.evaluate(k * 600 * NS, {1: layer})
    assert len(eng.alerts) == 1 and len(raised) == 5
    a = eng.alerts[0]
    assert (a.count, a.severity, a.active, a.peak, a.value) == (5, "critical", False, 208.0, 208.0)
    assert (a.t_ns, a.episode_ns, a.last_ns) == (0, 4800 * NS, 4800 * NS)
    eng.acknowledge([0])
    assert eng.alerts[0].acknowledged
    layer.values = np.array([150.0, 0.0, 0.0])
    assert [x.count for x in eng.evaluate(7200 * NS, {1: layer})] == [6]
    assert not eng.alerts[0].acknowledged and eng.alerts[0].active  # re-opened
    with pytest.raises(TwinError, match="severity"):
        AlertRule("bad", 1, 1.0, severity="urgent")


def test_a_held_condition_follows_last_time_latest_and_peak_value() -> None:
    layer = FakeLayer(values=np.array([0.0, 10.0, 0.0]))
    eng = AlertEngine()
    eng.add_rule(AlertRule("low", 1, 20.0, above=False))
    for k, v in enumerate([10.0, 5.0, 8.0, 12.0]):
        layer.values = np.array([50.0, v, 50.0])
        eng.evaluate(k * 3600 * NS, {1: layer})
    a = eng.alerts[0]
    assert (a.element_id, a.count, a.last_ns, a.value, a.peak) == ("b", 1, 3 * 3600 * NS, 12.0, 5.0)


def test_silence_rule_uses_each_sensors_last_sample() -> None:
    from twin_app.feeds.store import SensorStore
    from twin_app.model.alerts import SilenceRule
    from twin_app.model.sensors import SensorLayer

    t = np.array([0, 0, 0, 600, 600, 1200], np.int64) * NS
    store, _ = SensorStore.from_long(
        np.array(["a", "b", "c", "a", "b", "a"], object),
        t.astype("datetime64[ns]"),
        np.array([1.0, 2.0, 3.0, 1.0, 2.0, 1.0]),
    )

    @dataclass(eq=False)
    class Sensors(SensorLayer):
        def element_ids(self, field: str = "values") -> Any:
            return store.sensor_ids

        def element_position(self, i: int, field: str = "values") -> np.ndarray[Any, Any]:
            return np.zeros(3)

    layer = Sensors(name="s", store=store)
    eng = AlertEngine()
    eng.add_rule(SilenceRule("silent 15 min", 1, 900.0, severity="info"))
    assert eng.evaluate(600 * NS, {1: layer}) == []
    assert [a.element_id for a in eng.evaluate(1200 * NS, {1: layer})] == ["c"]  # c: 1200 s
    assert [a.element_id for a in eng.evaluate(1600 * NS, {1: layer})] == ["b"]  # b: 1000 s
    fired = eng.evaluate(2200 * NS, {1: layer})  # a: 1000 s since its last sample, at the end
    assert [(a.element_id, a.value, a.severity) for a in fired] == [("a", 1000.0, "info")]
    store.append(np.array(["c"], object), np.array([2300 * NS]).astype("datetime64[ns]"), [4.0])
    eng.evaluate(2300 * NS, {1: layer})
    assert {a.element_id: a.active for a in eng.alerts} == {"c": False, "b": True, "a": True}
    with pytest.raises(TwinError):
        SilenceRule("bad", 1, 0.0)


def test_reported_condition_counts_spells() -> None:
    eng = AlertEngine()
    assert eng.report("feed silent", "broker", True, 0, 60.0) is not None
    assert eng.report("feed silent", "broker", True, 10 * NS, 70.0) is None  # same spell
    eng.report("feed silent", "broker", False, 20 * NS)
    assert not eng.alerts[0].active
    again = eng.report("feed silent", "broker", True, 900 * NS, 60.0)
    assert again is not None and again.count == 2 and len(eng.alerts) == 1
