"""Colours and colour rules shared by the render adapters and the Qt legends (pure data).

Keeping them here, below both, means the legend in the Layers panel and the colours in the 3D
view cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Semantic surface colours: ground, wall, roof, other.
SURFACE_PALETTE = ("#7d7a73", "#ece7dc", "#b5523b", "#a9a9a9")
SURFACE_NAMES = ("ground", "wall", "roof", "other")
#: Colours for categorical values (city object types ...), cycled.
CATEGORY_PALETTE = (
    "#4e79a7", "#59a14f", "#9c755f", "#f28e2b", "#edc948",
    "#76b7b2", "#e15759", "#b07aa1", "#ff9da7", "#bab0ac",
)  # fmt: skip
#: Fixed colours for well-known CityJSON types, so Delft looks like Delft.
TYPE_COLORS = {
    "Building": "#e8e2d4",
    "BuildingPart": "#e8e2d4",
    "Road": "#6b6f75",
    "TransportSquare": "#8a8d91",
    "Railway": "#5b4f45",
    "PlantCover": "#6f9e55",
    "SolitaryVegetationObject": "#4f7f3a",
    "LandUse": "#c9c29a",
    "WaterBody": "#5b8fc7",
    "Bridge": "#9c8f80",
    "TINRelief": "#a7b49a",
    "GenericCityObject": "#b0a8a0",
    "CityFurniture": "#8c6d5a",
    "Tunnel": "#555555",
}
#: Colour of "unknown" values (NaN) in numeric colouring.
NAN_COLOR = "#d9d6cf"


def auto_clim(values: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Colour limits from the 2nd to 98th percentile of the finite values.

    Outliers (one 300 m tower among 10 m houses) do not wash out the rest; when the
    percentiles coincide the full range is used, and an empty or constant input gets a unit
    range.
    """
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(values, [2.0, 98.0])
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))


def surface_categories(codes: np.ndarray[Any, Any]) -> list[tuple[str, str]]:
    """(label, colour) of the semantic surface codes present."""
    present = np.unique(np.minimum(np.asarray(codes, np.int64), 3)).tolist() if len(codes) else []
    return [(SURFACE_NAMES[int(c)], SURFACE_PALETTE[int(c)]) for c in present]


def type_categories(types: Any) -> list[tuple[str, str]]:
    """(label, colour) per distinct type, sorted: fixed colours for known types, else cycled."""
    names = sorted({str(t) for t in types})
    return [
        (t, TYPE_COLORS.get(t, CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)]))
        for i, t in enumerate(names)
    ]
