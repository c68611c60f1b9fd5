"""Evented layer models: what is drawn and how it is styled.

Layers are dataclasses made evented with psygnal (one signal per field, ``layer.events.<field>``).
Render adapters listen to them; widgets bind to them. Styling fields (visibility, opacity,
colouring) are *restyle* changes; replacing ``features`` is a *rebuild*.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from psygnal import SignalGroup, evented

from twin_app.errors import TwinError
from twin_app.model.city import (
    AREAS,
    BUILDINGS,
    GROUND,
    IFC,
    OBJECTS,
    ROADS,
    TERRAIN,
    FeatureSet,
)
from twin_app.model.style import HEIGHT_COLORMAP, ClassScale

_ids = itertools.count(1)

#: Colour-by choices that are not table columns.
COLOR_SOLID = "solid"
COLOR_SURFACE = "surface"
COLOR_TYPE = "type"


@evented
@dataclass(eq=False)
class Layer:
    """Base of every layer.

    Attributes
    ----------
    name
        Display name (unique names are not required).
    visible
        Drawn or hidden.
    opacity
        0 (invisible) .. 1 (opaque).
    color_by
        ``"solid"``, ``"surface"`` (semantic surface), ``"type"`` or a numeric table column.
    colormap
        Matplotlib colour map name for numeric colouring.
    clim
        Colour limits for numeric colouring; None = the data range.
    color
        Solid colour (hex) when ``color_by == "solid"``.
    kind
        Class attribute: the layer's kind as session files store it (``"buildings"``,
        ``"traffic"`` ...). Code asks for a kind with ``isinstance``, never by this string.
    """

    name: str
    visible: bool = True
    opacity: float = 1.0
    color_by: str = COLOR_SOLID
    colormap: str = "viridis"
    clim: tuple[float, float] | None = None
    color: str = "#d9d4c7"
    uid: int = field(default_factory=lambda: next(_ids), repr=False)

    kind: ClassVar[str] = "layer"
    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise TwinError(
                f"layer {self.name!r}: opacity must be between 0 and 1, not {self.opacity}"
            )

    def color_choices(self) -> list[str]:
        """What this layer can be coloured by."""
        return [COLOR_SOLID]

    def feature_set(self) -> FeatureSet | None:
        """The FeatureSet whose features this layer draws one per row (search, selection,
        inspector, highlight), or None for a layer without one."""
        return None

    def style(self) -> dict[str, Any]:
        """The styling fields, as saved in a session file."""
        return {
            "visible": self.visible,
            "opacity": self.opacity,
            "color_by": self.color_by,
            "colormap": self.colormap,
            "clim": list(self.clim) if self.clim is not None else None,
            "color": self.color,
        }

    def apply_style(self, style: dict[str, Any]) -> None:
        """Set styling fields from a dict such as :meth:`style` returns (unknown keys ignored)."""
        for key in ("visible", "opacity", "color_by", "colormap", "color"):
            if key in style and style[key] is not None:
                setattr(self, key, style[key])
        if "clim" in style:
            c = style["clim"]
            self.clim = (float(c[0]), float(c[1])) if c else None


@evented
@dataclass(eq=False)
class FeatureLayer(Layer):
    """A layer drawing one :class:`FeatureSet` as one mesh."""

    features: FeatureSet | None = None

    def feature_set(self) -> FeatureSet | None:
        """The drawn features."""
        return self.features

    def numeric_columns(self) -> list[str]:
        """Numeric columns of the feature table (colour-by candidates)."""
        if self.features is None:
            return []
        t = self.features.table
        import pandas as pd

        return [
            str(c)
            for c in t.columns
            if pd.api.types.is_numeric_dtype(t[c].dtype)
            and not pd.api.types.is_bool_dtype(t[c].dtype)
            and t[c].notna().any()
        ]

    def color_choices(self) -> list[str]:
        extra = (
            [COLOR_SURFACE]
            if self.features is not None and "surface" in self.features.mesh.cell_data
            else []
        )
        if self.features is not None and "type" in self.features.table:
            extra.append(COLOR_TYPE)
        return [COLOR_SOLID, *extra, *self.numeric_columns()]

    def feature_values(self, column: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Per-feature values of a numeric column as float64 (NaN = unknown).

        Heights that are only the configured default (no height or levels in the data) are
        reported as NaN so that colouring by height shows them as "unknown", not as data.
        """
        assert self.features is not None
        t = self.features.table
        values = np.array(t[column].to_numpy(dtype=np.float64, na_value=np.nan))
        if column == "height_m" and "height_source" in t:
            values[(t["height_source"] == "default").to_numpy(dtype=bool)] = np.nan
        return values


@evented
@dataclass(eq=False)
class BuildingLayer(FeatureLayer):
    """Buildings (prisms from footprints or CityJSON solids)."""

    color_by: str = "height_m"
    colormap: str = HEIGHT_COLORMAP
    kind: ClassVar[str] = BUILDINGS


@evented
@dataclass(eq=False)
class RoadLayer(FeatureLayer):
    """Road ribbons."""

    color: str = "#6e737a"
    kind: ClassVar[str] = ROADS


@evented
@dataclass(eq=False)
class AreaLayer(FeatureLayer):
    """Flat areas (plots, parcels, land use)."""

    color: str = "#b7c9a8"
    opacity: float = 0.8
    kind: ClassVar[str] = AREAS


@evented
@dataclass(eq=False)
class GroundLayer(FeatureLayer):
    """Flat ground context under the city, one colour per ground class.

    The feature table's ``type`` column holds the ground class (``water``, ``park``,
    ``vegetation``, ``railway``, ``railway land``, ``residential``, ``commercial``,
    ``industrial``, ``landuse``; colours in :data:`twin_app.model.style.GROUND_CLASSES`); the other columns are
    the source's tags (OSM ``landuse``, ``leisure``, ``natural`` ..., CityJSON attributes),
    shown by the Inspector.
    """

    color_by: str = COLOR_TYPE
    color: str = "#dedbc6"
    kind: ClassVar[str] = GROUND


@evented
@dataclass(eq=False)
class TerrainLayer(FeatureLayer):
    """Terrain surface (CityJSON TINRelief)."""

    color: str = "#a7b49a"
    kind: ClassVar[str] = TERRAIN


@evented
@dataclass(eq=False)
class ObjectLayer(FeatureLayer):
    """Other city objects (roads as surfaces, vegetation, water, bridges ...)."""

    color_by: str = COLOR_TYPE
    kind: ClassVar[str] = OBJECTS


@evented
@dataclass(eq=False)
class TimeLayer(Layer, ABC):
    """Base of every layer whose content follows the clock (traffic, air quality, pipes,
    movers ...).

    The session brings every TimeLayer to the clock's time with :meth:`update`, grows the
    clock's range by :meth:`time_range`, the timeline draws :meth:`kpi_at` over that range,
    and alerts and the inspector name and place elements with :meth:`element_ids` and
    :meth:`element_position`. A subclass writes its per-element arrays in ``update`` with
    whole-array operations; the render adapter answers the events of those fields.

    Attributes
    ----------
    time_ns
        The clock time (UTC ns) the layer's current state belongs to.
    description
        Where the data comes from (shown in the UI; says so plainly when it was measured in
        another city than the geometry).
    kpi_name
        Name of the layer's headline KPI with its unit (timeline sparkline); empty when the
        layer has none.
    """

    time_ns: int = 0
    description: str = ""

    kpi_name: ClassVar[str] = ""

    @abstractmethod
    def update(self, t_ns: int) -> None:
        """Bring the layer's per-element state to clock time `t_ns` (UTC ns)."""

    @abstractmethod
    def time_range(self) -> tuple[int, int] | None:
        """First and last time (UTC ns) the layer has data for (None: none)."""

    def kpi_at(self, t_ns: int) -> float:
        """The headline KPI (:attr:`kpi_name`) at a time, computed without touching the
        layer's state (NaN when the layer has no KPI or no data then)."""
        return float("nan")

    def class_scale(self) -> ClassScale | None:
        """The classes the layer is coloured by now (congestion, AQI categories), or None
        when it is not coloured by classes. Render adapters and legends read this."""
        return None

    def class_legend(self) -> list[tuple[str, str]]:
        """(label, hex colour) entries of the layer's legend of classes (empty without one),
        the same in the 3D view and in the Layers panel."""
        scale = self.class_scale()
        return scale.legend() if scale is not None else []

    @abstractmethod
    def element_ids(self, field: str = "values") -> Any:
        """Ids of the elements of a per-element field (roads, stations, links, movers)."""

    @abstractmethod
    def element_position(self, i: int, field: str = "values") -> np.ndarray[Any, Any]:
        """Local position (x, y, z metres) of element `i` of a per-element field."""


LAYER_FOR_KIND: dict[str, type[FeatureLayer]] = {
    BUILDINGS: BuildingLayer,
    ROADS: RoadLayer,
    AREAS: AreaLayer,
    TERRAIN: TerrainLayer,
    OBJECTS: ObjectLayer,
    GROUND: GroundLayer,
    # until the IFC layer of issue 12: an object layer, coloured by type (= IFC class)
    IFC: ObjectLayer,
}


def layer_for(features: FeatureSet) -> FeatureLayer:
    """A new layer of the right class for a feature set."""
    cls = LAYER_FOR_KIND.get(features.kind, FeatureLayer)
    return cls(name=features.name, features=features)
