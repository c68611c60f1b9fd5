"""Layer kinds are types: every time-driven layer is a TimeLayer."""

from __future__ import annotations

import numpy as np
import pytest

from twin_app.model.layers import BuildingLayer, Layer, RoadLayer, TimeLayer
from twin_app.model.sensors import (
    AirQualityLayer,
    MoverLayer,
    PipeLayer,
    SensorLayer,
    TrafficLayer,
)

TIME_LAYERS = (TrafficLayer, AirQualityLayer, PipeLayer, MoverLayer)


@pytest.mark.parametrize("cls", TIME_LAYERS)
def test_every_time_layer_is_a_time_layer(cls: type[TimeLayer]) -> None:
    layer = cls(name="x")
    assert isinstance(layer, TimeLayer)
    assert isinstance(layer, Layer)
    # the base's contract works on an empty layer: no data, no time range
    layer.update(0)
    assert layer.time_range() is None
    assert np.isnan(layer.kpi_at(0))
    assert len(layer.element_ids()) == 0
    # the base's fields are evented like every other field
    seen: list[int] = []
    layer.events.time_ns.connect(seen.append)
    layer.time_ns = 5
    assert seen == [5]


def test_feature_layers_are_not_time_layers() -> None:
    assert not isinstance(BuildingLayer(name="b"), TimeLayer)
    assert not isinstance(RoadLayer(name="r"), TimeLayer)


def test_the_base_and_the_sensor_base_are_abstract() -> None:
    with pytest.raises(TypeError):
        TimeLayer(name="t")  # type: ignore[abstract]
    with pytest.raises(TypeError):
        SensorLayer(name="s")  # type: ignore[abstract]


def test_kpis_are_named_on_the_types() -> None:
    assert TrafficLayer.kpi_name == "mean speed / free flow"
    assert AirQualityLayer.kpi_name == "worst AQI"
    assert PipeLayer.kpi_name == "lowest pressure (m)"
    assert MoverLayer.kpi_name == ""  # no KPI: the timeline does not offer it
