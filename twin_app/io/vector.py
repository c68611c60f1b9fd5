"""Vector files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet) via pyogrio/geopandas.

Every layer of a multi-layer file is reported. A layer whose name says what it holds is read as
that (buildings, roads, pipes); a single-layer file of polygons is buildings and of lines is roads;
other polygon layers in multi-layer files are areas (plots, parcels, land use). ``--layer`` and
``--as`` override the guess.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin_app.errors import CRSError, InputError
from twin_app.io.attributes import (
    HEIGHT_KEYS,
    LEVEL_KEYS,
    building_heights,
    first_present,
    oneway_flags,
    road_widths,
    speed_kmh,
    to_number,
)
from twin_app.io.crs_sanity import check_not_lonlat
from twin_app.io.gdal_errors import vector_error
from twin_app.io.source import LoadReport, ReadOptions, SourceData
from twin_app.model.frame import looks_like_lonlat, parse_crs

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

KINDS = ("buildings", "roads", "areas")
_NAME_HINTS = (
    ("buildings", re.compile(r"build|bldg|gebouw|pand|footprint|bauwerk|edific", re.I)),
    ("roads", re.compile(r"road|street|highway|weg|strass|stras|rua|carriage", re.I)),
    ("pipes", re.compile(r"pipe|main|sewer|leiding|water_?net", re.I)),
)
ID_COLUMNS = (
    "id",
    "gml_id",
    "identificatie",
    "identificatiebagpnd",
    "osm_id",
    "osm_way_id",
    "uuid",
    "fid",
)


def _geom_family(geom_type: str | None) -> str:
    g = (geom_type or "").lower()
    if "polygon" in g:
        return "polygon"
    if "line" in g:
        return "line"
    if "point" in g:
        return "point"
    return "unknown"


def guess_kind(layer: str, geom_type: str | None, n_layers: int) -> str | None:
    """Kind of a layer from its name and geometry type (None: not city geometry we draw)."""
    family = _geom_family(geom_type)
    for kind, pattern in _NAME_HINTS:
        if pattern.search(layer):
            if kind == "buildings" and family != "polygon":
                continue
            if kind in ("roads", "pipes") and family != "line":
                continue
            return kind
    if family == "polygon":
        return "buildings" if n_layers == 1 else "areas"
    if family == "line" and n_layers == 1:
        return "roads"
    return None


def list_layers(path: Path) -> list[tuple[str, str | None]]:
    """(name, geometry type) of every layer of a vector file."""
    import pyogrio

    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return [(path.stem, None)]
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise InputError(vector_error(path, exc)) from exc
    return [(str(name), None if gt is None else str(gt)) for name, gt in layers]


def read_layer(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read one layer with Arrow (about 3x faster than without), fid kept as the index."""
    import geopandas as gpd
    import pyogrio

    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=True, fid_as_index=True)
    except Exception as exc:
        lenient = (
            None
            if path.suffix.lower() in (".parquet", ".geoparquet")
            else _read_lenient(path, layer)
        )
        if lenient is None:
            raise InputError(vector_error(path, exc, layer)) from exc
        gdf = lenient
    return gdf


def _read_lenient(path: Path, layer: str | None) -> gpd.GeoDataFrame | None:
    """Read a layer whose geometries shapely refuses (an unclosed ring, a ring of two points)
    with those geometries as null, so that the rest loads and the nulls are counted as skipped.
    None when the file cannot be read this way either."""
    import warnings

    import geopandas as gpd
    import pyogrio
    import shapely

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, table = pyogrio.read_arrow(path, layer=layer, return_fids=True)
            gname = meta.get("geometry_name") or "wkb_geometry"
            wkb = table.column(gname).to_numpy(zero_copy_only=False)
            geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    except Exception:
        return None
    attrs = table.drop_columns([gname]).to_pandas()
    fid = meta.get("fid_column") or "fid"
    if fid in attrs.columns:
        attrs = attrs.set_index(fid)
    return gpd.GeoDataFrame(attrs, geometry=np.asarray(geoms, dtype=object), crs=meta.get("crs"))


def resolve_crs(gdf: gpd.GeoDataFrame, label: str, options: ReadOptions, report: LoadReport) -> CRS:
    """The layer's CRS, checked against its coordinates (see :func:`check_crs`)."""
    xy = finite_coordinates(gdf.geometry.values) if len(gdf) else np.zeros((0, 2))
    tb = _box(xy)
    return check_crs(
        gdf.crs,
        (float(tb[0]), float(tb[1]), float(tb[2]), float(tb[3])),
        label,
        options,
        report,
        xy=xy,
    )


def finite_coordinates(geoms: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(n, 2) finite x, y of every vertex of `geoms`, in order."""
    import shapely

    xy = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    return np.asarray(xy[np.isfinite(xy).all(axis=1)], dtype=np.float64)


def _box(xy: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    if not len(xy):
        return np.zeros(4)
    return np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])


def finite_bounds(geoms: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(xmin, ymin, xmax, ymax) of the finite coordinates of `geoms` (zeros when there are none)."""
    return _box(finite_coordinates(geoms))


def check_crs(
    declared: Any,
    bounds: tuple[float, float, float, float],
    label: str,
    options: ReadOptions,
    report: LoadReport,
    xy: np.ndarray[Any, np.dtype[np.float64]] | None = None,
) -> CRS:
    """The layer's CRS, checked against its coordinates' bounds (and `xy`, its finite vertices).

    A file with no CRS is read as ``--crs`` if given; as EPSG:4326 (with a warning) if its
    coordinates look like lon/lat; otherwise it is an error asking for ``--crs``. A geographic
    CRS whose coordinates cannot be lon/lat (for example metres mislabelled as EPSG:4326) is an
    error too, and so is its mirror: a projected CRS whose coordinates are lon/lat degrees
    (see :func:`twin_app.io.crs_sanity.check_not_lonlat`; only when `xy` is given).
    """
    from pyproj import CRS

    finite = all(np.isfinite(bounds))
    if options.crs:
        return parse_crs(options.crs, label)
    if declared is None:
        if finite and looks_like_lonlat(bounds):
            report.warn(
                "no CRS declared (no .prj?); coordinates look like lon/lat, reading as EPSG:4326"
            )
            return CRS.from_epsg(4326)
        raise CRSError(
            f"{label}: no CRS declared (no .prj?) and coordinates "
            f"({bounds[0]:.0f}, {bounds[1]:.0f}) are not lon/lat; pass --crs EPSG:NNNN"
        )
    crs = CRS.from_user_input(declared)
    if crs.is_geographic and finite and not looks_like_lonlat(bounds):
        raise CRSError(
            f"{label}: declared CRS {crs.to_string()} is geographic but coordinates "
            f"({bounds[0]:.0f}, {bounds[1]:.0f}) are not lon/lat; pass the right --crs EPSG:NNNN"
        )
    if xy is not None:
        check_not_lonlat(crs, bounds, xy, label)
    return crs


def feature_ids(gdf: gpd.GeoDataFrame, prefix: str = "") -> np.ndarray[Any, np.dtype[np.object_]]:
    """A string id per row from the first id-like column, else the fid/row number.

    Duplicated or missing ids are made unique by appending ``#row``.
    """
    ids: pd.Series[Any] | None = None
    for col in ID_COLUMNS:
        if col in gdf.columns and gdf[col].notna().any():
            ids = gdf[col].astype("string")
            break
    if ids is None:
        ids = pd.Series(gdf.index.astype(str), index=gdf.index, dtype="string")
    if ids.isna().any() or not ids.is_unique:
        row = pd.Series(np.arange(len(gdf)).astype(str), index=gdf.index, dtype="string")
        ids = ids.fillna("#" + row)
        dup = ids.duplicated(keep=False).to_numpy(dtype=bool)
        if dup.any():
            ids = ids.where(~dup, ids + "#" + row)
    return np.asarray(prefix + ids if prefix else ids, dtype=object)


def clean_footprints(
    gdf: gpd.GeoDataFrame,
    ids: np.ndarray[Any, Any],
    report: LoadReport,
    what: str = "footprints",
    cleaned: Any = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.bool_]], pd.DataFrame]:
    """Repair polygons with ``shapely.make_valid`` and find rows to skip.

    Returns the cleaned geometries, the mask of rows kept and the attribute table (all rows).
    Repaired and skipped rows are counted in `report` with an example id.
    """
    from twin_app.geometry.clean import clean_polygons

    clean = cleaned if cleaned is not None else clean_polygons(np.asarray(gdf.geometry.values))
    if clean.repaired.any():
        report.repair(
            f"invalid {what} (self-intersections, bad rings) with make_valid",
            int(clean.repaired.sum()),
            str(ids[int(np.flatnonzero(clean.repaired)[0])]),
        )
    nonfinite = clean.nonfinite if clean.nonfinite.size else np.zeros(len(ids), bool)
    missing = np.asarray(gdf.geometry.isna().to_numpy(), bool)
    for why, rows in (
        (f"{what} with NaN or infinite coordinates", nonfinite),
        (
            f"{what} without usable geometry (null, unclosed or under 3 points)",
            missing & ~nonfinite,
        ),
        (f"empty, zero-area or non-polygon {what}", clean.dropped & ~nonfinite & ~missing),
    ):
        if rows.any():
            report.skip(why, int(rows.sum()), str(ids[int(np.flatnonzero(rows)[0])]))
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    return clean.geoms, ~clean.dropped, attrs


def prepare_areas(
    gdf: gpd.GeoDataFrame, ids: np.ndarray[Any, Any], report: LoadReport
) -> gpd.GeoDataFrame:
    """Clean area polygons (plots, parcels, land use) and return ``id``, attributes, geometry."""
    import geopandas as gpd

    geoms, keep, attrs = clean_footprints(gdf, ids, report, "areas")
    attrs = attrs.loc[keep].reset_index(drop=True)
    attrs = attrs.drop(columns=[c for c in ("id",) if c in attrs.columns])
    attrs.insert(0, "id", ids[keep])
    return gpd.GeoDataFrame(attrs, geometry=geoms[keep], crs=gdf.crs)


def prepare_buildings(
    gdf: gpd.GeoDataFrame,
    ids: np.ndarray[Any, Any],
    report: LoadReport,
    options: ReadOptions,
    height: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    levels: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    cleaned: Any = None,
) -> gpd.GeoDataFrame:
    """Clean footprints, resolve heights and return ``id``, ``height_m``, attributes, geometry.

    Invalid polygons are repaired with ``shapely.make_valid`` (counted); empty, zero-area and
    non-polygonal rows are skipped (counted, with an example id).
    """
    import geopandas as gpd

    geoms, keep, attrs = clean_footprints(gdf, ids, report, cleaned=cleaned)
    if height is None:
        height = first_present(attrs, HEIGHT_KEYS)
    if levels is None:
        levels = first_present(attrs, LEVEL_KEYS)
    h, h_source = building_heights(
        height[keep], levels[keep], ids[keep], report, options.default_height_m, options.storey_m
    )
    attrs = attrs.loc[keep].reset_index(drop=True)
    attrs = attrs.drop(
        columns=[c for c in ("id", "height_m", "height_source") if c in attrs.columns]
    )
    attrs.insert(0, "id", ids[keep])
    attrs.insert(1, "height_m", h)
    attrs.insert(2, "height_source", h_source)
    return gpd.GeoDataFrame(attrs, geometry=geoms[keep], crs=gdf.crs)


def prepare_roads(
    gdf: gpd.GeoDataFrame,
    ids: np.ndarray[Any, Any],
    report: LoadReport,
    road_class: pd.Series[Any] | None = None,
    name: pd.Series[Any] | None = None,
    lanes: pd.Series[Any] | None = None,
    maxspeed: pd.Series[Any] | None = None,
    oneway: pd.Series[Any] | None = None,
) -> gpd.GeoDataFrame:
    """Normalise road lines to ``id, class, name, lanes, maxspeed_kmh, oneway, width_m``.

    Empty and non-linear rows are skipped and counted.
    """
    import geopandas as gpd
    import shapely
    from shapely import GeometryType as T

    geoms = np.asarray(gdf.geometry.values)
    from twin_app.geometry.clean import nonfinite_rows

    nonfinite = nonfinite_rows(geoms)
    if nonfinite.any():
        report.skip(
            "roads with NaN or infinite coordinates",
            int(nonfinite.sum()),
            str(ids[int(np.flatnonzero(nonfinite)[0])]),
        )
        geoms = geoms.copy()
        geoms[nonfinite] = None
    kinds = shapely.get_type_id(geoms)
    ok = ((kinds == T.LINESTRING) | (kinds == T.MULTILINESTRING)) & ~shapely.is_empty(geoms)
    ok &= shapely.length(geoms) > 0
    if not (ok | nonfinite).all():
        ok_or_counted = ok | nonfinite
        report.skip(
            "empty or non-line road geometries",
            int((~ok_or_counted).sum()),
            str(ids[int(np.flatnonzero(~ok_or_counted)[0])]),
        )
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)

    def col(series: pd.Series[Any] | None, *names: str) -> pd.Series[Any]:
        if series is not None:
            return series.reset_index(drop=True)
        for n in names:
            if n in attrs.columns:
                return attrs[n]
        return pd.Series(pd.NA, index=attrs.index, dtype="string")

    cls = col(road_class, "class", "highway", "fclass", "type").astype("string")
    lanes_n = to_number(col(lanes, "lanes"))
    out = pd.DataFrame(
        {
            "id": ids,
            "class": cls.fillna("road"),
            "name": col(name, "name", "naam", "street").astype("string"),
            "lanes": lanes_n,
            "maxspeed_kmh": speed_kmh(col(maxspeed, "maxspeed", "maxspeed_kmh", "speed")),
            "oneway": oneway_flags(col(oneway, "oneway")),
            "width_m": road_widths(cls, lanes_n),
        }
    )
    extra = attrs.drop(columns=[c for c in attrs.columns if c in out.columns or c == "other_tags"])
    out = pd.concat([out, extra], axis=1).loc[ok].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=geoms[ok], crs=gdf.crs)


def read_buildings_arrow(
    path: Path, layer: str | None, label: str, options: ReadOptions, report: LoadReport
) -> tuple[gpd.GeoDataFrame, CRS, Any] | None:
    """Buildings of one layer through pyogrio's Arrow stream, without a shapely detour for the
    mesh: the ring coordinates come straight from the WKB bytes (:mod:`twin_app.geometry.wkb`),
    while a second thread builds the shapely geometries and checks and repairs their validity
    (shapely releases the GIL, so both cores work). Invalid footprints are repaired and their
    repaired rings replace the raw ones.

    Returns (buildings table, CRS, (ragged arrays in the source CRS, table row of each
    feature)), or None when the geometry is not plain 2D (Multi)Polygon WKB (the caller then
    takes the GeoDataFrame path).
    """
    import threading

    import geopandas as gpd
    import pyogrio
    import shapely

    from twin_app.geometry.clean import CleanResult, clean_polygons
    from twin_app.geometry.extrude import polygon_arrays
    from twin_app.geometry.wkb import concat, polygons_from_wkb, subset

    try:
        meta, table = pyogrio.read_arrow(path, layer=layer, return_fids=True)
    except Exception as exc:
        raise InputError(vector_error(path, exc, layer)) from exc
    gname = meta.get("geometry_name") or "wkb_geometry"
    if gname not in table.column_names or len(table) == 0:
        return None
    col = table.column(gname).combine_chunks()
    if col.null_count:
        return None
    bufs = col.buffers()
    off_type = np.int64 if "large" in str(col.type) else np.int32
    offs = np.frombuffer(bufs[1], dtype=off_type)[col.offset : col.offset + len(col) + 1].astype(
        np.int64
    )
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    result: dict[str, Any] = {}

    def validate() -> None:
        try:
            geoms = shapely.from_wkb(col.to_numpy(zero_copy_only=False))
            result["clean"] = clean_polygons(geoms)
        except Exception as exc:  # reported below on the calling thread
            result["error"] = exc

    worker = threading.Thread(target=validate, name="twin-validate")
    worker.start()
    arr = polygons_from_wkb(data, offs[:-1], offs[1:])
    fid = meta.get("fid_column") or "fid"
    attrs = table.drop_columns([gname]).to_pandas()
    if fid in attrs.columns:
        attrs = attrs.set_index(fid)
    worker.join()
    if "error" in result or arr is None:
        return None
    clean: CleanResult = result["clean"]
    c = arr.coords[:, :2]
    c = c[np.isfinite(c).all(axis=1)]
    bounds = (
        (float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max()))
        if c.size
        else (0.0, 0.0, 0.0, 0.0)
    )
    crs = check_crs(meta.get("crs"), bounds, label, options, report, xy=c)
    frame = gpd.GeoDataFrame(attrs, geometry=clean.geoms, crs=crs)
    ids = feature_ids(frame)
    buildings = prepare_buildings(frame, ids, report, options, cleaned=clean)
    keep = ~clean.dropped
    row = np.cumsum(keep) - 1  # row of each kept input feature in the buildings table
    raw = keep & ~clean.repaired
    fixed = keep & clean.repaired
    arrays = concat([subset(arr, raw), polygon_arrays(clean.geoms[fixed])])
    index = np.concatenate([row[raw], row[fixed]]).astype(np.int64)
    return buildings, crs, (arrays, index)


def read_vector(path: Path, options: ReadOptions) -> list[SourceData]:
    """Read every city layer of a vector file (or the one named by ``options.layer``)."""
    layers = list_layers(path)
    n_layers = len(layers)
    if options.layer is not None:
        names = [n for n, _ in layers]
        if options.layer not in names:
            raise InputError(f"{path}: no layer {options.layer!r}; layers are {', '.join(names)}")
        layers = [(n, g) for n, g in layers if n == options.layer]
    multi = len(layers) > 1 or (options.layer is not None and len(list_layers(path)) > 1)
    out: list[SourceData] = []
    for name, geom_type in layers:
        layer_arg = None if path.suffix.lower() in (".parquet", ".geoparquet") else name
        label = f"{path}:{name}" if multi else str(path)
        report = LoadReport(source=label)
        guess = options.as_kind or guess_kind(name, _geom_family(geom_type), n_layers)
        if guess == "buildings" and path.suffix.lower() not in (".parquet", ".geoparquet"):
            fast = read_buildings_arrow(path, layer_arg, label, options, report)
            if fast is not None:
                buildings, crs, arrays = fast
                src = SourceData(path, name if multi else None, "buildings", crs, report)
                src.buildings = buildings
                src.footprint_arrays = arrays
                src.counts = {"buildings": len(buildings)}
                out.append(src)
                continue
            report = LoadReport(source=label)
        gdf = read_layer(path, layer_arg)
        family = _geom_family(geom_type)
        if family == "unknown":  # e.g. GeoJSON mixing Polygon and MultiPolygon: look at the rows
            family = _family_of(gdf)
        kind = options.as_kind or guess_kind(name, family, n_layers)
        src_layer = name if multi else None
        if len(gdf) and bool(gdf.geometry.isna().all()):
            report.skip("features without geometry (null)", len(gdf), str(feature_ids(gdf)[0]))
            report.warn("no feature has a geometry; nothing to draw")
            out.append(SourceData(path, src_layer, "other", _crs_or_wgs84(gdf), report))
            continue
        if kind is None or kind == "pipes" or len(gdf) == 0:
            why = (
                "empty layer"
                if len(gdf) == 0
                else f"{family} layer not drawn; use --as buildings|roads|areas"
            )
            report.warn(why)
            crs = _crs_or_wgs84(gdf)
            out.append(
                SourceData(
                    path, src_layer, kind or "other", crs, report, counts={"features": len(gdf)}
                )
            )
            continue
        if kind not in KINDS:
            raise InputError(f"{path}: --as must be one of {', '.join(KINDS)}, not {kind!r}")
        crs = resolve_crs(gdf, label, options, report)
        ids = feature_ids(gdf)
        src = SourceData(path, src_layer, kind, crs, report)
        if kind == "roads":
            src.roads = prepare_roads(gdf, ids, report)
            src.counts = {"roads": len(src.roads)}
        elif kind == "areas":
            src.areas = prepare_areas(gdf, ids, report)
            src.counts = {"areas": len(src.areas)}
        else:
            src.buildings = prepare_buildings(gdf, ids, report, options)
            src.counts = {"buildings": len(src.buildings)}
        out.append(src)
    return out


def _family_of(gdf: gpd.GeoDataFrame) -> str:
    types = gdf.geometry.geom_type.dropna()
    if len(types) == 0:  # no rows, or every geometry null
        return "unknown"
    return _geom_family(str(types.mode().iloc[0]))


def _crs_or_wgs84(gdf: gpd.GeoDataFrame) -> CRS:
    from pyproj import CRS

    return CRS.from_user_input(gdf.crs) if gdf.crs is not None else CRS.from_epsg(4326)
