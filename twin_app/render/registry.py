"""Which adapter draws which layer: one explicit table, filled here and nowhere else.

A new layer kind is one new adapter class and one new line in :data:`ADAPTERS`; nothing
registers itself by being imported.
"""

from __future__ import annotations

from typing import Any

from twin_app.model.layers import FeatureLayer, GroundLayer, IfcLayer, Layer
from twin_app.model.raster import RasterLayer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.render.adapters import Adapter, FeatureAdapter, GroundAdapter, IfcAdapter
from twin_app.render.raster_adapter import RasterAdapter
from twin_app.render.sensor_adapters import (
    AirQualityAdapter,
    MoverAdapter,
    PipeAdapter,
    TrafficAdapter,
)

#: Layer class -> adapter class; a layer class not listed takes its nearest listed base's.
ADAPTERS: dict[type[Layer], type[Adapter[Any]]] = {
    FeatureLayer: FeatureAdapter,
    GroundLayer: GroundAdapter,
    IfcLayer: IfcAdapter,
    TrafficLayer: TrafficAdapter,
    AirQualityLayer: AirQualityAdapter,
    PipeLayer: PipeAdapter,
    MoverLayer: MoverAdapter,
    RasterLayer: RasterAdapter,
}


def adapter_class(layer: Layer | type[Layer]) -> type[Adapter[Any]]:
    """The adapter class for a layer (or layer class): its own entry or its nearest base's.

    Raises
    ------
    KeyError
        If no class in the layer's MRO has an adapter.
    """
    cls = layer if isinstance(layer, type) else type(layer)
    for base in cls.__mro__:
        adapter = ADAPTERS.get(base)
        if adapter is not None:
            return adapter
    raise KeyError(f"no render adapter for {cls.__name__}")
