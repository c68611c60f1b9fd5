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
    assert len(eng.alerts) == 3


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
