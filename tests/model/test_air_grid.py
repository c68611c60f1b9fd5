"""The air-quality grid is interpolated again only when a station's AQI changed."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.geometry.interpolate import IDWGrid
from twin_app.model.sensors import AirQualityLayer


class _Store:
    """PM2.5 at two stations, set by the test."""

    def __init__(self) -> None:
        self.now = np.array([10.0, 40.0])

    def values_at(self, t_ns: int, mode: str = "last", max_staleness_s: float | None = None) -> Any:
        return self.now

    def time_range(self) -> tuple[int, int] | None:
        return (0, 10)


class _Counting(IDWGrid):
    calls = 0

    def interpolate(self, values: Any, out: Any = None) -> Any:
        self.calls += 1
        return super().interpolate(values, out)


def _layer(interpolator: IDWGrid) -> AirQualityLayer:
    return AirQualityLayer(
        name="air",
        store=_Store(),
        station_ids=np.array(["a", "b"], object),
        station_xyz=np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]]),
        pollutants=("PM2.5",),
        columns=np.array([[0], [1]]),
        interpolator=interpolator,
        unit="ug/m3",
    )


def test_grid_is_reused_while_every_aqi_holds_and_redone_when_one_moves() -> None:
    g = np.linspace(0.0, 100.0, 11)
    idw = _Counting([[0.0, 0.0], [100.0, 0.0]], g, g[:3])
    layer = _layer(idw)
    layer.update(1)
    first, index = layer.grid, layer.aqi_values.copy()
    assert idw.calls == 1
    layer.store.now = np.array([10.01, 40.01])  # the same whole AQI at both stations
    layer.update(2)
    np.testing.assert_array_equal(layer.aqi_values, index)
    assert idw.calls == 1 and layer.grid is first
    layer.store.now = np.array([10.0, 80.0])
    layer.update(3)
    assert idw.calls == 2
    np.testing.assert_array_equal(layer.grid, idw.interpolate(layer.aqi_values))
    # Another interpolator (or a grid set from outside) is never mistaken for the last one.
    other = _Counting([[0.0, 0.0], [100.0, 0.0]], g, g[:3], power=1.0)
    layer.interpolator = other
    layer.update(4)
    assert other.calls == 1
    np.testing.assert_array_equal(layer.grid, other.interpolate(layer.aqi_values))
    layer.grid = np.zeros_like(layer.grid)
    layer.update(5)
    assert other.calls == 3
