"""What a reader returns: plain tables in the source CRS, counts and a load report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

_READ_CALLBACKS: ContextVar[
    tuple[Callable[[float, str], None] | None, Callable[[], bool] | None]
] = ContextVar("read_callbacks", default=(None, None))


def read_callbacks() -> tuple[Callable[[float, str], None] | None, Callable[[], bool] | None]:
    """The (progress, cancelled) callbacks of the load in progress (readers that mesh for a
    while, IFC, report through them); (None, None) outside :func:`reading_with`."""
    return _READ_CALLBACKS.get()


@contextmanager
def reading_with(
    progress: Callable[[float, str], None] | None, cancelled: Callable[[], bool] | None
) -> Iterator[None]:
    """Make `progress`/`cancelled` the callbacks readers see (:func:`read_callbacks`)."""
    token = _READ_CALLBACKS.set((progress, cancelled))
    try:
        yield
    finally:
        _READ_CALLBACKS.reset(token)


#: Storey height used to turn levels into metres when no height is given.
DEFAULT_STOREY_M = 3.0
#: Height given to buildings with no usable height.
DEFAULT_HEIGHT_M = 10.0
#: Heights above this are treated as errors (the tallest building is 828 m).
MAX_HEIGHT_M = 1000.0


@dataclass
class ReadOptions:
    """Options every reader understands (the CLI flags of ``twin info``/``render``/``open``).

    Attributes
    ----------
    layer
        Read only this layer of a multi-layer file.
    as_kind
        Force the layer kind: ``buildings``, ``roads`` or ``areas``.
    lod
        CityJSON level of detail to use (default: the highest present per object).
    crs
        CRS to assume for files that declare none.
    default_height_m
        Height of buildings without a usable height attribute.
    storey_m
        Metres per storey when height comes from levels.
    at_lonlat
        Place a file without usable georeference (IFC) with its origin at this
        (longitude, latitude) in degrees; it also overrides the file's own georeference.
    rotate_deg
        With `at_lonlat`: counter-clockwise angle from true east to the file's x axis, degrees.
    ifc_library
        Geometry library of the fast IFC meshing pass (``cgal-simple``; ``manifold`` or
        ``opencascade`` for tests and comparisons).
    ifc_cache
        Keep and reuse IFC meshes in the disk cache.
    """

    layer: str | None = None
    as_kind: str | None = None
    lod: str | None = None
    crs: str | None = None
    default_height_m: float = DEFAULT_HEIGHT_M
    storey_m: float = DEFAULT_STOREY_M
    at_lonlat: tuple[float, float] | None = None
    rotate_deg: float = 0.0
    ifc_library: str = "cgal-simple"
    ifc_cache: bool = True


@dataclass
class LoadReport:
    """Warnings and repair/skip counts gathered while reading one source.

    Every warning is one line naming the source and the feature or line concerned.
    """

    source: str
    warnings: list[str] = field(default_factory=list)
    repaired: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def warn(self, message: str) -> None:
        """Add a one-line warning prefixed with the source."""
        self.warnings.append(f"{self.source}: {' '.join(message.split())}")

    def repair(self, what: str, n: int = 1, example: str | None = None) -> None:
        """Count `n` repaired items of kind `what` and warn once with an example id."""
        if n <= 0:
            return
        self.repaired[what] += n
        ex = f" (e.g. {example})" if example else ""
        self.warn(f"repaired {n} {what}{ex}")

    def skip(self, what: str, n: int = 1, example: str | None = None) -> None:
        """Count `n` skipped items of kind `what` and warn once with an example id."""
        if n <= 0:
            return
        self.skipped[what] += n
        ex = f" (e.g. {example})" if example else ""
        self.warn(f"skipped {n} {what}{ex}")

    def merge(self, other: LoadReport) -> None:
        """Add another report's warnings and counts to this one."""
        self.warnings.extend(other.warnings)
        self.repaired.update(other.repaired)
        self.skipped.update(other.skipped)


@dataclass(eq=False)
class CityObjects:
    """Triangulated 3D city objects (CityJSON) in the source CRS.

    Attributes
    ----------
    ids
        (k,) object ids, Buildings and BuildingParts and every other type.
    types
        (k,) CityJSON type per object (``Building``, ``BuildingPart``, ``TINRelief``, ``Road``...).
    parent
        (k,) index of the parent object (a BuildingPart's Building) or -1.
    attributes
        (k rows) the objects' ``attributes``, aligned with `ids`.
    lod
        (k,) LoD string of the geometry used per object ("" when it has none).
    vertices
        (n, 3) float64 vertices with the file's transform applied, in the file CRS.
    triangles
        (m, 3) int64 indices into `vertices`, oriented as in the file (outward for valid solids).
    tri_object
        (m,) int32 index of the object each triangle belongs to.
    tri_surface
        (m,) uint8 semantic surface code (0 ground, 1 wall, 2 roof, 3 other).
    """

    ids: np.ndarray[Any, np.dtype[np.object_]]
    types: np.ndarray[Any, np.dtype[np.object_]]
    parent: np.ndarray[Any, np.dtype[np.int64]]
    attributes: pd.DataFrame
    lod: np.ndarray[Any, np.dtype[np.object_]]
    vertices: np.ndarray[Any, np.dtype[np.float64]]
    triangles: np.ndarray[Any, np.dtype[np.int64]]
    tri_object: np.ndarray[Any, np.dtype[np.int32]]
    tri_surface: np.ndarray[Any, np.dtype[np.uint8]]


@dataclass(eq=False)
class IfcData:
    """One IFC file's elements as one triangle mesh, placed on the Earth.

    Attributes
    ----------
    ids
        (k,) GlobalId of every element with triangles (row i of `table`).
    table
        The element attributes (columns as in :mod:`twin_app.model.bim`).
    points
        (n, 3) float64 vertices: x, y in the source's CRS (the map CRS, or a transverse
        Mercator centred on the site or the user's point), z in metres above the georeference
        height datum (the site's or map conversion's height plus the model z). For an unplaced
        file (``info.georef.method == "none"``) the model coordinates in metres.
    triangles
        (m, 3) int64 indices into `points`.
    cell_data
        ``element_index`` (int32), ``ifc_class_code`` (int16), ``storey_index`` (int16), ``rgb``
        (uint8, (m, 3)).
    info
        An :class:`twin_app.model.bim.IfcInfo`.
    base_z
        Height of the model's z = 0 (the georeference height), metres; flat twins put it on
        their ground.
    """

    ids: np.ndarray[Any, np.dtype[np.object_]]
    table: pd.DataFrame
    points: np.ndarray[Any, np.dtype[np.float64]]
    triangles: np.ndarray[Any, np.dtype[np.int64]]
    cell_data: dict[str, np.ndarray[Any, Any]]
    info: Any
    base_z: float = 0.0

    @property
    def placed(self) -> bool:
        """True when the file (or the user) says where it lies on the Earth."""
        return bool(self.info.georef.method != "none")


@dataclass(eq=False)
class SourceData:
    """One readable unit: a file, or one layer of a multi-layer file.

    Attributes
    ----------
    path
        The file.
    layer
        Layer name for multi-layer formats, else None.
    kind
        What it holds: ``buildings``, ``roads``, ``areas``, ``cityjson`` or ``osm``.
    crs
        Its CRS (as declared, or as assumed with a warning).
    buildings, roads, areas
        GeoDataFrames in `crs`. Buildings have ``id`` and ``height_m``; roads have ``id``,
        ``class``, ``name``, ``lanes``, ``maxspeed_kmh``, ``oneway``, ``width_m``.
    ground
        The ground context (OSM land use, parks, water, railways) in `crs`: ``id``, ``type``
        (the ground class), tags, polygon or line geometry; else None.
    objects
        Triangulated CityJSON objects, else None.
    ifc
        The meshed elements of an IFC file, else None.
    counts
        What was found, e.g. ``{"buildings": 844, "building_parts": 1653, "TINRelief": 1}``.
    report
        Warnings, repaired and skipped counts.
    """

    path: Path
    layer: str | None
    kind: str
    crs: CRS
    report: LoadReport
    buildings: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    areas: gpd.GeoDataFrame | None = None
    ground: gpd.GeoDataFrame | None = None
    objects: CityObjects | None = None
    counts: dict[str, int] = field(default_factory=dict)
    #: Footprints as ragged arrays in `crs` plus the buildings-table row of each feature, when
    #: the reader had them without shapely (the mesh is built from these, faster).
    footprint_arrays: Any = None
    #: The elements of an IFC file (kind ``ifc``), else None.
    ifc: IfcData | None = None

    @property
    def label(self) -> str:
        """``file`` or ``file:layer`` for messages and layer names."""
        return f"{self.path.name}:{self.layer}" if self.layer else self.path.name
