"""BIM facts of an IFC file drawn in the twin: storeys, georeference, what was meshed how.

An IFC file becomes ONE :class:`~twin_app.model.city.FeatureSet` of kind ``ifc``: one feature
per IFC product with geometry (``ids`` are GlobalIds), ONE triangle mesh with the per-triangle
arrays

``element_index`` (int32)
    Row of the element in the table.
``ifc_class_code`` (int16)
    Position of the element's class in :data:`IFC_CLASSES` (``-1``: another class; the table
    has the exact name).
``storey_index`` (int16)
    Position of the element's storey in :attr:`IfcInfo.storeys` (``-1``: none).
``rgb`` (uint8, shape (m, 3))
    The element's material or style colour, or the class colour when the file has none.

and a table with the columns ``name``, ``ifc_class``, ``storey``, ``storey_index``,
``storey_elevation_m``, ``material``, ``color`` (``#rrggbb``), ``psets`` (the property sets as
a JSON object string) and ``predefined_type``. ``FeatureSet.meta`` is an :class:`IfcInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: IFC classes with their own code in the ``ifc_class_code`` cell array (order is the code).
IFC_CLASSES: tuple[str, ...] = (
    "IfcWall",
    "IfcWallStandardCase",
    "IfcCurtainWall",
    "IfcSlab",
    "IfcRoof",
    "IfcWindow",
    "IfcDoor",
    "IfcSpace",
    "IfcColumn",
    "IfcBeam",
    "IfcStair",
    "IfcStairFlight",
    "IfcRailing",
    "IfcRamp",
    "IfcRampFlight",
    "IfcCovering",
    "IfcPlate",
    "IfcMember",
    "IfcFooting",
    "IfcPile",
    "IfcBuildingElementProxy",
    "IfcFurnishingElement",
    "IfcFurniture",
    "IfcFlowTerminal",
    "IfcFlowSegment",
    "IfcFlowFitting",
    "IfcOpeningElement",
    "IfcSite",
)


@dataclass(frozen=True)
class Georef:
    """Where the IFC file's engineering origin lies on the Earth.

    Attributes
    ----------
    method
        ``map_conversion`` (IFC4 IfcMapConversion + IfcProjectedCRS), ``site`` (IfcSite
        RefLatitude/RefLongitude/RefElevation with the context's true north), ``user`` (placed
        by the user: a click, or ``--at LON,LAT --rotate DEG``) or ``none``.
    crs
        The CRS of ``x``/``y`` (``EPSG:...`` or a WKT); ``EPSG:4326`` for ``site`` and ``user``.
    x, y, z
        The origin: eastings/northings/height in ``crs`` (map conversion), or longitude,
        latitude (degrees) and elevation (m).
    rotation_deg
        Counter-clockwise angle from the CRS's east axis (grid east, or true east for lon/lat)
        to the IFC x axis, degrees.
    scale
        Map units per IFC length unit after the file's unit conversion (1 for metres).
    """

    method: str = "none"
    crs: str | None = None
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    rotation_deg: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class IfcStorey:
    """One IfcBuildingStorey."""

    index: int
    name: str
    elevation_m: float
    global_id: str = ""


@dataclass(frozen=True, eq=False)
class IfcInfo:
    """What an IFC file holds beyond its elements, and how it was meshed.

    Attributes
    ----------
    schema
        ``IFC2X3``, ``IFC4`` or ``IFC4X3`` (as the file declares it).
    storeys
        Building storeys, lowest first (``storey_index`` refers to this order).
    georef
        The georeference used to place the file (see :class:`Georef`).
    class_counts
        Elements with geometry per IFC class.
    missing
        One line per element whose geometry no geometry library produced.
    geometry_library
        The library that meshed most elements (``cgal-simple``, ``opencascade`` ...).
    fallback_elements
        Elements meshed again by the fallback library.
    cache_hit
        True when the mesh came from the cache.
    """

    schema: str
    storeys: tuple[IfcStorey, ...] = ()
    georef: Georef = field(default_factory=Georef)
    class_counts: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    geometry_library: str = ""
    fallback_elements: int = 0
    cache_hit: bool = False
