"""OpenStreetMap extracts (``.osm.pbf``, ``.osm``) through GDAL's OSM driver.

Buildings are the ``multipolygons`` layer rows with a ``building`` tag; heights come from the
``height`` / ``building:height`` tags, else ``building:levels`` x storey height. Roads are the
``lines`` layer rows with a ``highway`` tag, with class, name, lanes, maxspeed and oneway.
The ground context (:func:`read_ground`) is the ``multipolygons`` rows with land use, park,
green or water tags (closed ways and multipolygon relations alike) and the ``lines`` rows of
surface railways, each with its ground class.
GDAL drops multipolygons whose rings cannot be assembled; rings that assemble but are invalid
are repaired, empty ones skipped, and both counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.io.attributes import hstore_value, to_number
from twin_app.io.source import LoadReport, ReadOptions, SourceData
from twin_app.io.vector import prepare_buildings, prepare_roads, read_layer

_SKIP_BUILDING = ("no",)


def _osm_ids(df: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.object_]]:
    way = df["osm_way_id"].astype("string") if "osm_way_id" in df.columns else None
    rel = df["osm_id"].astype("string") if "osm_id" in df.columns else None
    if way is not None and rel is not None:
        ids = ("way/" + way).fillna("relation/" + rel)
    elif rel is not None:
        ids = "relation/" + rel
    else:
        ids = pd.Series(np.arange(len(df)).astype(str), dtype="string")
    return np.asarray(ids.fillna("#"), dtype=object)


def read_osm(path: Path, options: ReadOptions) -> list[SourceData]:
    """Read buildings and roads of an OSM extract into one source of kind ``osm``."""
    from pyproj import CRS

    report = LoadReport(source=str(path))
    src = SourceData(path, None, "osm", CRS.from_epsg(4326), report)
    want = options.as_kind
    # The OSM driver parses the whole file for every layer read: read each layer once.
    layers: dict[str, Any] = {}
    if want in (None, "buildings"):
        polys = layers["multipolygons"] = read_layer(path, "multipolygons")
        tags = (
            polys["other_tags"]
            if "other_tags" in polys.columns
            else pd.Series(pd.NA, index=polys.index)
        )
        tagged = polys["building"].notna()
        is_building = tagged & ~polys["building"].isin(_SKIP_BUILDING)
        if (tagged & ~is_building).any():
            report.skip("features tagged building=no", int((tagged & ~is_building).sum()))
        b = polys.loc[is_building]
        bt = tags.loc[is_building]
        height = to_number(hstore_value(bt, "height"))
        bh = to_number(hstore_value(bt, "building:height"))
        height = np.where(np.isnan(height), bh, height)
        levels = to_number(hstore_value(bt, "building:levels"))
        ids = _osm_ids(b)
        b = b.assign(
            **{
                "building:levels": hstore_value(bt, "building:levels").to_numpy(),
                "height_tag": hstore_value(bt, "height").to_numpy(),
            }
        )
        src.buildings = prepare_buildings(b, ids, report, options, height=height, levels=levels)
        src.counts["buildings"] = len(src.buildings)
    if want in (None, "roads"):
        lines = layers["lines"] = read_layer(path, "lines")
        r = lines.loc[lines["highway"].notna()]
        rt = r["other_tags"] if "other_tags" in r.columns else pd.Series(pd.NA, index=r.index)
        ids = np.asarray("way/" + r["osm_id"].astype("string").fillna("#"), dtype=object)
        # junction=roundabout implies one-way (OSM wiki, Key:oneway): kept for traffic models
        r = r.assign(junction=hstore_value(rt, "junction").to_numpy())
        src.roads = prepare_roads(
            r,
            ids,
            report,
            road_class=r["highway"],
            name=r["name"] if "name" in r.columns else None,
            lanes=hstore_value(rt, "lanes"),
            maxspeed=hstore_value(rt, "maxspeed"),
            oneway=hstore_value(rt, "oneway"),
        )
        src.counts["roads"] = len(src.roads)
    if want in (None, "ground"):
        src.ground = read_ground(path, report, layers)
        if len(src.ground):
            src.counts["ground"] = len(src.ground)
    return [src]


#: Surface railways drawn as flat ribbons (``railway=*`` values of the ``lines`` layer);
#: subways, disused lines, platforms and lines in tunnels are not ground.
RAIL_VALUES = ("rail", "light_rail", "narrow_gauge")
_WATER_LANDUSE = ("reservoir", "basin")
_PARK_LEISURE = ("park", "garden")
_PARK_LANDUSE = ("grass", "village_green", "recreation_ground", "meadow")
_WOOD_NATURAL = ("wood", "scrub")
#: OSM columns the ground table keeps (the Inspector shows them).
_GROUND_TAGS = ("name", "landuse", "leisure", "natural", "water", "waterway")


def _column(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    if name in df.columns:
        return df[name].astype("string")
    tags = df["other_tags"] if "other_tags" in df.columns else pd.Series(pd.NA, index=df.index)
    return hstore_value(tags, name).astype("string")


def ground_classes(polys: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.object_]]:
    """The ground class of every ``multipolygons`` row ("" for rows that are not ground).

    In priority order (a row with several tags takes the first): ``water`` (natural=water,
    waterway=riverbank, any water=*, landuse=reservoir/basin), ``park`` (leisure=park/garden,
    landuse=grass/village_green/recreation_ground/meadow, natural=grassland), ``vegetation``
    (natural=wood/scrub, landuse=forest), ``railway land`` (landuse=railway), ``residential``,
    ``commercial`` (landuse=commercial/retail), ``industrial``, then ``landuse`` for any
    other landuse=* value.
    """
    landuse = _column(polys, "landuse")
    leisure = _column(polys, "leisure")
    natural = _column(polys, "natural")
    conditions = [
        (natural == "water")
        | (_column(polys, "waterway") == "riverbank")
        | _column(polys, "water").notna()
        | landuse.isin(_WATER_LANDUSE),
        leisure.isin(_PARK_LEISURE) | landuse.isin(_PARK_LANDUSE) | (natural == "grassland"),
        natural.isin(_WOOD_NATURAL) | (landuse == "forest"),
        landuse == "railway",
        landuse == "residential",
        landuse.isin(("commercial", "retail")),
        landuse == "industrial",
        landuse.notna(),
    ]
    names = ["water", "park", "vegetation", "railway land", "residential", "commercial"]
    names += ["industrial", "landuse"]
    masks = [c.fillna(False).to_numpy(bool) for c in conditions]
    return np.asarray(np.select(masks, names, default=""), dtype=object)


def _city_extent(polys: Any, lines: Any) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of the extract's buildings and highways, or None without."""
    parts = []
    if "building" in polys.columns:
        parts.append(polys.geometry.values[polys["building"].notna().to_numpy(bool)])
    if "highway" in lines.columns:
        parts.append(lines.geometry.values[lines["highway"].notna().to_numpy(bool)])
    boxes = np.array([p.total_bounds for p in parts if len(p)], dtype=np.float64)
    boxes = boxes[np.isfinite(boxes).all(axis=1)] if boxes.size else boxes
    if not boxes.size:
        return None
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    )


def read_ground(path: Path, report: LoadReport, layers: dict[str, Any] | None = None) -> Any:
    """The ground context of an OSM extract: land use, parks and green, water, railways.

    Parameters
    ----------
    path
        The extract.
    report
        Gets the repaired and skipped counts (invalid rings repaired with ``make_valid``;
        empty or zero-area polygons and empty railway lines skipped).
    layers
        GDAL layers already read (``multipolygons``, ``lines``), reused instead of parsing the
        file again.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (``way/..`` or ``relation/..``), ``type`` (the ground class, see
        :func:`ground_classes`; ``railway`` for rail lines), ``name``, the OSM tags
        ``landuse``, ``leisure``, ``natural``, ``water``, ``waterway``, ``railway``, and the
        geometry: polygons for areas, lines for railways (drawn as ribbons).
    """
    import geopandas as gpd
    import shapely

    from twin_app.io.vector import clean_footprints

    have = layers if layers is not None else {}
    polys = have.get("multipolygons")
    if polys is None:
        polys = read_layer(path, "multipolygons")
    lines = have.get("lines")
    if lines is None:
        lines = read_layer(path, "lines")
    cls = ground_classes(polys)
    is_ground = cls != ""
    extent = _city_extent(polys, lines)
    if extent is not None:
        # Extracts hold whole relations: the Thames polygon of a City of London extract runs
        # 16 km upstream. Context beyond the city's buildings and streets only shrinks the city;
        # what lies wholly outside is left out (not a defect of the data: no warning).
        inside = shapely.intersects(
            np.asarray(polys.geometry.values), shapely.box(*extent)
        ) & ~shapely.is_empty(np.asarray(polys.geometry.values))
        is_ground &= inside
    g = polys.loc[is_ground]
    if extent is not None:
        g = g.set_geometry(shapely.clip_by_rect(np.asarray(g.geometry.values), *extent))
    ids = _osm_ids(g)
    geoms, keep, _ = clean_footprints(g, ids, report, "ground areas")
    areas = pd.DataFrame({"id": ids, "type": cls[is_ground]})
    for tag in _GROUND_TAGS:
        areas[tag] = _column(g, tag).to_numpy(object)
    areas["railway"] = pd.Series(pd.NA, index=areas.index, dtype="string").to_numpy(object)
    areas = areas.loc[keep]
    area_geoms = geoms[keep]

    rail = _column(lines, "railway")
    tunnel = _column(lines, "tunnel").fillna("no")
    is_rail = np.array(rail.isin(RAIL_VALUES) & tunnel.isin(("no",)), dtype=bool)
    if extent is not None:
        is_rail &= shapely.intersects(np.asarray(lines.geometry.values), shapely.box(*extent))
    r = lines.loc[is_rail]
    if extent is not None:
        r = r.set_geometry(shapely.clip_by_rect(np.asarray(r.geometry.values), *extent))
    rail_ids = np.asarray("way/" + r["osm_id"].astype("string").fillna("#"), dtype=object)
    rail_geoms = np.asarray(r.geometry.values)
    ok = ~shapely.is_empty(rail_geoms) & (shapely.length(rail_geoms) > 0)
    if not ok.all():
        report.skip(
            "empty railway lines", int((~ok).sum()), str(rail_ids[int(np.flatnonzero(~ok)[0])])
        )
    rails = pd.DataFrame({"id": rail_ids, "type": "railway"})
    for tag in _GROUND_TAGS:
        rails[tag] = _column(r, tag).to_numpy(object)
    rails["railway"] = rail.loc[is_rail].to_numpy(object)
    table = pd.concat([areas, rails.loc[ok]], ignore_index=True)
    geometry = np.concatenate([area_geoms, rail_geoms[ok]])
    return gpd.GeoDataFrame(table, geometry=geometry, crs=polys.crs)
