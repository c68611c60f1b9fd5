"""Colour maps and categorical palettes as VTK lookup tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import vtk

from twin_app.model.style import CATEGORY_PALETTE, NAN_COLOR, SURFACE_PALETTE, TYPE_COLORS

__all__ = [
    "CATEGORY_PALETTE",
    "SURFACE_PALETTE",
    "TYPE_COLORS",
    "hex_to_rgb",
    "lookup_table",
    "palette_rgb",
]


def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` to floats in 0..1."""
    c = color.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


def palette_rgb(colors: tuple[str, ...] | list[str]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """(n, 3) uint8 array of hex colours."""
    return np.array([[round(v * 255) for v in hex_to_rgb(c)] for c in colors], np.uint8)


def lookup_table(
    cmap: str, clim: tuple[float, float], n: int = 256, nan_color: str = NAN_COLOR
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
