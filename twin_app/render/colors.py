"""Colour maps and categorical palettes as VTK lookup tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import vtk

#: Semantic surface colours: ground, wall, roof, other.
SURFACE_PALETTE = ("#7d7a73", "#ece7dc", "#b5523b", "#a9a9a9")
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


def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` to floats in 0..1."""
    c = color.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


def palette_rgb(colors: tuple[str, ...] | list[str]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """(n, 3) uint8 array of hex colours."""
    return np.array([[round(v * 255) for v in hex_to_rgb(c)] for c in colors], np.uint8)


def lookup_table(
    cmap: str, clim: tuple[float, float], n: int = 256, nan_color: str = "#d9d6cf"
) -> vtk.vtkLookupTable:
    """A vtkLookupTable sampled from a matplotlib colour map over `clim`."""
    import matplotlib

    cm = matplotlib.colormaps[cmap].resampled(n)
    rgba = cm(np.linspace(0.0, 1.0, n))
    lut = vtk.vtkLookupTable()
    lut.SetNumberOfTableValues(n)
    for i in range(n):  # n = 256 table entries, not per feature
        lut.SetTableValue(i, *rgba[i])
    lo, hi = float(clim[0]), float(clim[1])
    if hi <= lo:
        hi = lo + 1.0
    lut.SetTableRange(lo, hi)
    lut.SetNanColor(*hex_to_rgb(nan_color), 1.0)
    lut.Build()
    return lut
