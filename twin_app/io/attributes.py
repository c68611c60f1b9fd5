"""Vectorised parsing of height, levels, lanes and speed attributes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin_app.io.source import MAX_HEIGHT_M, LoadReport

HEIGHT_KEYS = ("height", "measuredHeight", "building:height", "height_m")
LEVEL_KEYS = ("building:levels", "levels", "floors")

#: Default carriageway width per OSM highway class, metres (used when lanes are unknown).
CLASS_WIDTH_M = {
    "motorway": 14.0,
    "trunk": 12.0,
    "primary": 10.0,
    "secondary": 9.0,
    "tertiary": 8.0,
    "unclassified": 6.0,
    "residential": 6.0,
    "living_street": 5.0,
    "service": 4.0,
    "pedestrian": 5.0,
    "track": 3.0,
    "busway": 4.0,
    "cycleway": 2.0,
    "footway": 2.0,
    "path": 1.5,
    "steps": 2.0,
    "bridleway": 2.0,
    "corridor": 2.0,
}
LANE_WIDTH_M = 3.25
DEFAULT_ROAD_WIDTH_M = 5.0

_NUMBER = r"([-+]?\d+(?:[.,]\d+)?)"


def to_number(values: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Leading number of each value as float ("12 m" -> 12, "3,5" -> 3.5, "yes" -> NaN)."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return np.array(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
    text = values.astype("string").str.extract(_NUMBER, expand=False).str.replace(",", ".")
    return np.array(pd.to_numeric(text, errors="coerce"), dtype=np.float64)


def hstore_value(tags: pd.Series[Any], key: str) -> pd.Series[Any]:
    """Value of `key` in GDAL's OSM ``other_tags`` hstore strings (``"k"=>"v","k2"=>"v2"``)."""
    pattern = '"' + key.replace(":", r"\:").replace(".", r"\.") + r'"=>"((?:[^"\\]|\\.)*)"'
    return tags.astype("string").str.extract(pattern, expand=False)


def first_present(
    table: pd.DataFrame, keys: tuple[str, ...]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Per row, the first finite number among the columns `keys` that exist (NaN if none)."""
    out = np.full(len(table), np.nan)
    for key in keys:
        if key in table.columns:
            v = to_number(table[key])
            fill = np.isnan(out) & np.isfinite(v)
            out[fill] = v[fill]
    return out


def building_heights(
    height: np.ndarray[Any, np.dtype[np.float64]],
    levels: np.ndarray[Any, np.dtype[np.float64]],
    ids: np.ndarray[Any, Any],
    report: LoadReport,
    default_height_m: float,
    storey_m: float,
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.object_]]]:
    """Resolve each building's height in metres and count what was repaired.

    Height is the explicit height if it is a finite number in (0, 1000] m, else levels x
    `storey_m`, else `default_height_m`. Negative, zero, NaN and absurd (> 1000 m) values are
    replaced and counted in `report` with an example id.

    Returns
    -------
    height_m, source
        Heights, and where each came from: ``"height"``, ``"levels"`` or ``"default"``.
    """
    h = np.array(height, np.float64)
    source = np.full(h.shape[0], "height", dtype=object)
    bad_h = np.isfinite(h) & ((h <= 0) | (h > MAX_HEIGHT_M))
    if bad_h.any():
        i = int(np.flatnonzero(bad_h)[0])
        report.repair(
            "implausible heights (<= 0 or > 1000 m) replaced",
            int(bad_h.sum()),
            f"{ids[i]} with {height[i]:g} m",
        )
        h[bad_h] = np.nan
    lv = np.asarray(levels, np.float64)
    lv = np.where(np.isfinite(lv) & (lv > 0) & (lv < 300), lv, np.nan)
    from_levels = np.isnan(h) & np.isfinite(lv)
    h[from_levels] = lv[from_levels] * storey_m
    source[from_levels] = "levels"
    missing = np.isnan(h)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        report.warn(
            f"{int(missing.sum())} of {len(h)} buildings have no height or levels; "
            f"using the default {default_height_m:g} m (e.g. {ids[i]})"
        )
        report.repaired["default heights"] += int(missing.sum())
        h[missing] = default_height_m
        source[missing] = "default"
    return h, source


def road_widths(
    road_class: pd.Series[Any], lanes: np.ndarray[Any, np.dtype[np.float64]]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Carriageway width per road: lanes x 3.25 m if lanes are known, else a width per class."""
    by_class = road_class.map(CLASS_WIDTH_M).astype("float64").fillna(DEFAULT_ROAD_WIDTH_M)
    w = np.array(by_class, np.float64)
    ok = np.isfinite(lanes) & (lanes > 0) & (lanes < 20)
    w[ok] = lanes[ok] * LANE_WIDTH_M
    return w


def speed_kmh(values: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """OSM ``maxspeed`` to km/h ("50" -> 50, "30 mph" -> 48.3, "none"/"signals" -> NaN)."""
    v = to_number(values)
    mph = values.astype("string").str.contains("mph", na=False).to_numpy(dtype=bool)
    v[mph] *= 1.609344
    return v


def oneway_flags(values: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """OSM ``oneway`` to 1 (with the way), -1 (against), 0 (both ways)."""
    s = values.astype("string").str.lower()
    out = np.zeros(len(s), np.int8)
    out[s.isin(["yes", "true", "1"]).to_numpy(dtype=bool)] = 1
    out[s.isin(["-1", "reverse"]).to_numpy(dtype=bool)] = -1
    return out
