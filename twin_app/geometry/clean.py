"""Vectorised repair of footprint polygons (shapely 2 array functions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ObjArray = np.ndarray[Any, np.dtype[np.object_]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class CleanResult:
    """Outcome of :func:`clean_polygons`.

    Attributes
    ----------
    geoms
        Polygon/MultiPolygon per input row; rows in `dropped` hold ``None``.
    repaired
        Rows that were invalid (self-intersecting, bad rings) and were made valid.
    dropped
        Rows with nothing polygonal left: empty, zero area, or not a polygon at all (and the
        rows of `nonfinite`).
    nonfinite
        Rows with a NaN or infinite coordinate (dropped too: GEOS cannot repair them).
    """

    geoms: ObjArray
    repaired: BoolArray
    dropped: BoolArray
    nonfinite: BoolArray = field(default_factory=lambda: np.zeros(0, bool))


def nonfinite_rows(geoms: ObjArray) -> BoolArray:
    """Rows of `geoms` (shapely geometries or None) with a NaN or infinite coordinate."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    coords, index = shapely.get_coordinates(geoms, include_z=True, return_index=True)
    bad = np.zeros(len(geoms), bool)
    if coords.size:
        # z is NaN for every 2D geometry: only an infinite z is an error
        wrong = ~np.isfinite(coords[:, :2]).all(axis=1) | np.isinf(coords[:, 2])
        bad[index[wrong]] = True
    return bad


def clean_polygons(geoms: ObjArray, min_area: float = 0.0) -> CleanResult:
    """Make footprints valid and polygonal without a Python loop over the clean ones.

    ``shapely.make_valid`` repairs self-intersections (a bow-tie becomes two triangles) and may
    return a GeometryCollection mixing polygons with stray lines; only the polygonal parts are
    kept. Rows whose area is not above `min_area` (in the CRS's squared units) are dropped.
    """
    import shapely
    from shapely import GeometryType as T

    geoms = np.asarray(geoms, dtype=object)
    missing = (
        np.array([g is None for g in geoms], bool)
        if geoms.dtype == object
        else np.zeros(len(geoms), bool)
    )
    nonfinite = nonfinite_rows(geoms)
    work = np.where(missing | nonfinite, shapely.Polygon(), geoms)
    # Repeated points are left alone: they only make zero-area wall quads, and removing them
    # costs more than the whole extrusion (0.15 s per 100k footprints).
    invalid = ~shapely.is_valid(work)
    if invalid.any():
        work[invalid] = shapely.make_valid(work[invalid])
    kinds = shapely.get_type_id(work)
    poly_kind = (kinds == T.POLYGON) | (kinds == T.MULTIPOLYGON)
    mixed = np.flatnonzero(~poly_kind & ~missing)
    if mixed.size:
        parts = shapely.get_parts(work[mixed], return_index=True)
        keep = np.isin(shapely.get_type_id(parts[0]), (T.POLYGON, T.MULTIPOLYGON))
        sub = shapely.get_parts(parts[0][keep], return_index=True)  # MultiPolygon -> Polygons
        owner = parts[1][keep][sub[1]]
        rebuilt = np.full(mixed.size, shapely.Polygon(), dtype=object)
        if owner.size:
            present, dense = np.unique(owner, return_inverse=True)
            rebuilt[present] = shapely.multipolygons(sub[0], indices=dense)
        work[mixed] = rebuilt
    area = shapely.area(work)
    dropped = missing | nonfinite | shapely.is_empty(work) | ~(area > min_area)
    out = work.copy()
    out[dropped] = None
    return CleanResult(out, invalid & ~dropped, dropped, nonfinite)
