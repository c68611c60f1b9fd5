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
from twin_app.model.bim import IFC_CLASSES, IfcInfo, IfcStorey
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
from twin_app.model.style import HEIGHT_COLORMAP, ClassScale, ifc_class_categories

_ids = itertools.count(1)

#: Colour-by choices that are not table columns.
COLOR_SOLID = "solid"
COLOR_SURFACE = "surface"
COLOR_TYPE = "type"
#: IFC layers: colour by IFC class (a fixed palette) or by the file's material colours.
COLOR_IFC_CLASS = "ifc_class"
COLOR_MATERIAL = "material"


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
    #: Rows not drawn (buildings an IFC proposal replaces); picking and search skip nothing
    #: else, the table keeps them.
    hidden_features: frozenset[int] = frozenset()

    def feature_set(self) -> FeatureSet | None:
        """The drawn features."""
        return self.features

    def drawn_triangles(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Per triangle of the mesh: False for triangles of :attr:`hidden_features`."""
        fs = self.features
        if fs is None:
            return np.zeros(0, bool)
        if not self.hidden_features or not fs.mesh.n_triangles:
            return np.ones(fs.mesh.n_triangles, bool)
        idx = np.asarray(fs.mesh.cell_data[fs.index_array], np.int64)
        return ~np.isin(idx, np.fromiter(self.hidden_features, np.int64))

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


@evented
@dataclass(eq=False)
class IfcLayer(FeatureLayer):
    """The elements of one IFC file (kind ``ifc``, see :mod:`twin_app.model.bim`).

    Attributes
    ----------
    hidden_storeys
        Storey indices (positions in :attr:`IfcInfo.storeys`) not drawn.
    section_storey
        Show this storey and those below it only, cut at the lowest point of the storeys above
        (a section view into the building); None = off.
    explode
        Vertical gap in metres added between consecutive storeys (storey ``i`` is lifted by
        ``i * explode``); 0 = off.
    show_spaces
        Draw the IfcSpace volumes (translucent); hidden by default.
    color_by
        ``ifc_class`` (fixed class palette), ``material`` (the file's colours, ``rgb`` cell
        array) or ``solid``.
    """

    color_by: str = COLOR_IFC_CLASS
    hidden_storeys: frozenset[int] = frozenset()
    section_storey: int | None = None
    explode: float = 0.0
    show_spaces: bool = False
    kind: ClassVar[str] = IFC

    #: IFC_CLASSES code of IfcSpace.
    SPACE_CODE: ClassVar[int] = IFC_CLASSES.index("IfcSpace")

    def style(self) -> dict[str, Any]:
        """The styling fields and the storey, section, explode and spaces view."""
        return {
            **super().style(),
            "hidden_storeys": sorted(int(i) for i in self.hidden_storeys),
            "section_storey": self.section_storey,
            "explode": float(self.explode),
            "show_spaces": bool(self.show_spaces),
        }

    def apply_style(self, style: dict[str, Any]) -> None:
        super().apply_style(style)
        n = len(self.storeys())
        if style.get("hidden_storeys") is not None:
            self.hidden_storeys = frozenset(
                int(i) for i in style["hidden_storeys"] if 0 <= int(i) < n
            )
        if "section_storey" in style:
            s = style["section_storey"]
            self.section_storey = int(s) if s is not None and 0 <= int(s) < n else None
        if style.get("explode") is not None:
            self.explode = max(float(style["explode"]), 0.0)
        if style.get("show_spaces") is not None:
            self.show_spaces = bool(style["show_spaces"])

    def info(self) -> IfcInfo | None:
        """The file's :class:`IfcInfo` (None when the set carries none)."""
        fs = self.features
        meta = fs.meta if fs is not None else None
        return meta if isinstance(meta, IfcInfo) else None

    def storeys(self) -> tuple[IfcStorey, ...]:
        """Building storeys, lowest first."""
        info = self.info()
        return info.storeys if info is not None else ()

    def color_choices(self) -> list[str]:
        extra = [COLOR_MATERIAL] if self._cells("rgb") is not None else []
        return [COLOR_IFC_CLASS, *extra, COLOR_SOLID]

    def class_legend(self) -> list[tuple[str, str]]:
        """(class, colour) of the classes present (spaces only when shown)."""
        codes = self._cells("ifc_class_code")
        if codes is None:
            return []
        cats = ifc_class_categories(codes)
        if not self.show_spaces:
            cats = [c for c in cats if c[0] != "IfcSpace"]
        return cats

    def material_legend(self, most: int = 10) -> list[tuple[str, str]]:
        """(material, colour) of the `most` commonest materials by element, for colouring by
        the file's colours (a material may come in several colours, each its own entry; an
        element without one is "(no material)")."""
        fs = self.features
        if fs is None or not {"material", "color"} <= set(fs.table.columns):
            return []
        t = fs.table[["material", "color"]].astype(str)
        t = t.assign(material=t["material"].str.strip().replace("", "(no material)"))
        counts = t.value_counts(sort=True).head(most)
        return [(str(m), str(c)) for m, c in counts.index]

    def _cells(self, name: str) -> np.ndarray[Any, Any] | None:
        fs = self.features
        if fs is None:
            return None
        return fs.mesh.cell_data.get(name)

    def _cell_storey(self) -> np.ndarray[Any, Any]:
        s = self._cells("storey_index")
        assert self.features is not None
        n = self.features.mesh.n_triangles
        return np.full(n, -1, np.int64) if s is None else np.asarray(s, np.int64)

    def is_space(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Per triangle: True for IfcSpace triangles."""
        codes = self._cells("ifc_class_code")
        assert self.features is not None
        if codes is None:
            return np.zeros(self.features.mesh.n_triangles, bool)
        out: np.ndarray[Any, np.dtype[np.bool_]] = np.asarray(codes) == self.SPACE_CODE
        return out

    def point_z_offset(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Per point: the explode lift ``max(storey, 0) * explode`` (m) of its triangle's storey."""
        fs = self.features
        assert fs is not None
        out = np.zeros(fs.mesh.n_points)
        if self.explode and fs.mesh.n_triangles:
            lift = np.maximum(self._cell_storey(), 0) * float(self.explode)
            out[fs.mesh.triangles.ravel()] = np.repeat(lift, 3)
        return out

    def section_z(self) -> float | None:
        """Local z (m, before explode) where the section cuts: the lowest point of the storeys
        above :attr:`section_storey` (None when off or nothing lies above)."""
        fs = self.features
        if self.section_storey is None or fs is None or not fs.mesh.n_triangles:
            return None
        above = self._cell_storey() > int(self.section_storey)
        if not above.any():
            return None
        return float(fs.mesh.points[fs.mesh.triangles[above].ravel(), 2].min())

    def cell_masks(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(elements, spaces): per triangle, drawn as an opaque element / as a translucent
        space, from the hidden storeys, the section, :attr:`show_spaces` and the layer's
        hidden rows. Triangles wholly above the section cut go too (elements without a
        storey)."""
        fs = self.features
        assert fs is not None
        storey = self._cell_storey()
        keep = np.ones(fs.mesh.n_triangles, bool)
        if self.hidden_storeys:
            keep &= ~np.isin(storey, np.fromiter(self.hidden_storeys, np.int64))
        if self.section_storey is not None:
            keep &= storey <= int(self.section_storey)
            cut = self.section_z()
            if cut is not None and fs.mesh.n_triangles:
                low = fs.mesh.points[fs.mesh.triangles, 2].min(axis=1)
                keep &= low < cut - 1e-3
        keep &= self.drawn_triangles()
        space = self.is_space()
        return keep & ~space, keep & space & bool(self.show_spaces)


LAYER_FOR_KIND: dict[str, type[FeatureLayer]] = {
    BUILDINGS: BuildingLayer,
    ROADS: RoadLayer,
    AREAS: AreaLayer,
    TERRAIN: TerrainLayer,
    OBJECTS: ObjectLayer,
    GROUND: GroundLayer,
    IFC: IfcLayer,
}


def layer_for(features: FeatureSet) -> FeatureLayer:
    """A new layer of the right class for a feature set."""
    cls = LAYER_FOR_KIND.get(features.kind, FeatureLayer)
    return cls(name=features.name, features=features)
