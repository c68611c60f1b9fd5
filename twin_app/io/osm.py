"""OpenStreetMap extracts (``.osm.pbf``, ``.osm``) through GDAL's OSM driver.

Buildings are the ``multipolygons`` layer rows with a ``building`` tag; heights come from the
``height`` / ``building:height`` tags, else ``building:levels`` x storey height. Roads are the
``lines`` layer rows with a ``highway`` tag, with class, name, lanes, maxspeed and oneway.
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
    if want in (None, "buildings"):
        polys = read_layer(path, "multipolygons")
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
        lines = read_layer(path, "lines")
        r = lines.loc[lines["highway"].notna()]
        rt = r["other_tags"] if "other_tags" in r.columns else pd.Series(pd.NA, index=r.index)
        ids = np.asarray("way/" + r["osm_id"].astype("string").fillna("#"), dtype=object)
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
    return [src]
