"""Checks every reader's output passes at the boundary (:func:`twin_app.io.registry.read_path`).

Readers validate what their format can get wrong; these checks hold for every format, so a file
the readers have not met yet cannot leak non-finite coordinates into the frame, or load silently
as nothing or as a continent:

- CityJSON vertices with NaN or infinite coordinates: the surfaces using them are skipped and
  counted (the rest of the object stays);
- a source that reads as zero features warns that the file may be truncated or corrupt;
- an extent over :data:`MAX_EXTENT_KM`, CityJSON heights over :data:`MAX_RELIEF_M` and lon/lat
  footprints wider than half the globe (crossing the antimeridian) warn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.io.source import SourceData

#: A city twin wider than this (km) is almost surely a unit or transform error.
MAX_EXTENT_KM = 200.0
#: Height range (m) of CityJSON vertices above which the heights are implausible.
MAX_RELIEF_M = 2000.0


def check_sources(sources: list[SourceData]) -> None:
    """Run the boundary checks on every source a reader returned (in place, warnings counted)."""
    for src in sources:
        _drop_nonfinite_vertices(src)
        _warn_if_nothing_read(src)
        _warn_if_implausible(src)


def _drop_nonfinite_vertices(src: SourceData) -> None:
    obj = src.objects
    if obj is None or not obj.vertices.shape[0]:
        return
    bad_v = ~np.isfinite(obj.vertices).all(axis=1)
    if not bad_v.any():
        return
    finite = np.flatnonzero(~bad_v)
    bad_tri = bad_v[obj.triangles].any(axis=1) if obj.triangles.size else np.zeros(0, bool)
    example = str(obj.ids[int(obj.tri_object[bad_tri][0])]) if bad_tri.any() else None
    src.report.skip(
        f"vertices with NaN or infinite coordinates ({int(bad_tri.sum())} triangles using them)",
        int(bad_v.sum()),
        example,
    )
    keep = ~bad_tri
    obj.triangles = obj.triangles[keep]
    obj.tri_object = obj.tri_object[keep]
    obj.tri_surface = obj.tri_surface[keep]
    # the unused vertices must not reach bounds and the frame: park them on a finite one
    obj.vertices = obj.vertices.copy()
    obj.vertices[bad_v] = obj.vertices[finite[0]] if finite.size else 0.0


def _n_features(src: SourceData) -> int:
    n = sum(len(t) for t in (src.buildings, src.roads, src.areas) if t is not None)
    if src.objects is not None:
        n += int(src.objects.triangles.shape[0])
    return n


def _warn_if_nothing_read(src: SourceData) -> None:
    if _n_features(src) or sum(src.counts.values()):
        return
    if any("empty" in w for w in src.report.warnings) or src.report.skipped.total():
        return  # already said: empty, or everything skipped and counted
    src.report.warn("no features could be read; the file may be truncated or corrupt")


def _bounds(src: SourceData) -> tuple[float, float, float, float] | None:
    boxes: list[Any] = []
    for gdf in (src.buildings, src.roads, src.areas):
        if gdf is not None and len(gdf):
            boxes.append(np.asarray(gdf.total_bounds, np.float64))
    if src.objects is not None and src.objects.triangles.size:
        v = src.objects.vertices[np.unique(src.objects.triangles)]
        boxes.append(np.array([v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max()]))
    if not boxes:
        return None
    b = np.array(boxes)
    out = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
    return out if all(np.isfinite(out)) else None


def _warn_if_implausible(src: SourceData) -> None:
    from pyproj import Geod

    from twin_app.model.frame import horizontal_crs

    b = _bounds(src)
    if b is None:
        return
    crs = horizontal_crs(src.crs)
    _warn_outside_crs_area(src, crs, b)
    if crs.is_geographic:
        geod = Geod(ellps="WGS84")
        lat = min(max((b[1] + b[3]) / 2.0, -89.0), 89.0)
        width = geod.inv(b[0], lat, b[2], lat)[2] if b[2] - b[0] < 180.0 else 2.0e7
        height = geod.inv(b[0], b[1], b[0], b[3])[2]
        _warn_antimeridian(src)
    else:
        factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        width, height = (b[2] - b[0]) * factor, (b[3] - b[1]) * factor
    extent_km = max(width, height) / 1000.0
    if extent_km > MAX_EXTENT_KM:
        src.report.warn(
            f"the data spans {extent_km:,.0f} km, implausible for a city; check the "
            "CRS (--crs) or, for CityJSON, the transform (integer vertices need one)"
        )
    obj = src.objects
    if obj is not None and obj.triangles.size:
        z = obj.vertices[np.unique(obj.triangles), 2]
        relief = float(z.max() - z.min())
        if relief > MAX_RELIEF_M:
            src.report.warn(
                f"heights span {relief / 1000.0:,.1f} km, implausible for a city; "
                "check the vertical unit or the CityJSON transform"
            )


def _warn_antimeridian(src: SourceData) -> None:
    import shapely

    for gdf in (src.buildings, src.roads, src.areas):
        if gdf is None or not len(gdf):
            continue
        g = np.asarray(gdf.geometry.values, dtype=object)
        box = shapely.bounds(g)
        wide = (box[:, 2] - box[:, 0]) > 180.0
        if wide.any():
            example = str(gdf["id"].iloc[int(np.flatnonzero(wide)[0])]) if "id" in gdf else ""
            src.report.warn(
                f"{int(wide.sum())} features cross the antimeridian (180° longitude) "
                f"and would span the globe (e.g. {example}); split them at 180° in the source"
            )


def _warn_outside_crs_area(src: SourceData, crs: Any, b: tuple[float, float, float, float]) -> None:
    """Warn when the data lies far outside the area where its CRS is defined."""
    from pyproj import Transformer

    area = crs.area_of_use
    if area is None or crs.is_geographic:
        return
    try:
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon0, lat0, lon1, lat1 = tr.transform_bounds(*b)
    except Exception:  # pyproj cannot even transform them: the extent check speaks
        return
    margin = 5.0  # degrees: data just across a national border is fine
    inside = (
        lon1 >= area.west - margin
        and lon0 <= area.east + margin
        and lat1 >= area.south - margin
        and lat0 <= area.north + margin
    )
    if not inside:
        src.report.warn(
            f"the data lie at lon {lon0:.1f}, lat {lat0:.1f}, outside the area "
            f"of its CRS {crs.to_string()} ({area.name.rstrip('.')}); check the CRS or, for CityJSON, the "
            "transform"
        )
