"""vtkLookupTables from the model's colour maps and class scales (the sampling itself is in
:mod:`twin_app.model.style`; this module only hands its tables to VTK)."""

from __future__ import annotations

from typing import Any

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkLookupTable

from twin_app.model.style import (
    CATEGORY_PALETTE,
    NAN_COLOR,
    SURFACE_PALETTE,
    TYPE_COLORS,
    ClassScale,
    colormap_table,
    hex_to_rgb,
    palette_rgb,
    to_rgb8,
)

__all__ = [
    "CATEGORY_PALETTE",
    "SURFACE_PALETTE",
    "TYPE_COLORS",
    "class_lookup_table",
    "hex_to_rgb",
    "lookup_table",
    "palette_rgb",
    "vtk_lookup_table",
]


def vtk_lookup_table(
    rgba: np.ndarray[Any, Any],
    clim: tuple[float, float],
    nan_color: str = NAN_COLOR,
    nan_alpha: float = 1.0,
) -> vtkLookupTable:
    """A vtkLookupTable over `clim` holding a ready (n, 3|4) colour table (floats in 0..1 or
    uint8; alpha 1 where none is given); values outside `clim` take the end colours."""
    table = np.asarray(rgba)
    if table.dtype != np.uint8:
        table = to_rgb8(table)
    if table.shape[1] == 3:
        table = np.column_stack([table, np.full(table.shape[0], 255, np.uint8)])
    lut = vtkLookupTable()
    lut.SetNumberOfTableValues(table.shape[0])
    lut.SetTable(numpy_to_vtk(np.ascontiguousarray(table), deep=True, array_type=VTK_UNSIGNED_CHAR))
    lo, hi = float(clim[0]), float(clim[1])
    if hi <= lo:
        hi = lo + 1.0
    lut.SetTableRange(lo, hi)
    lut.SetNanColor(*hex_to_rgb(nan_color), nan_alpha)
    lut.SetUseBelowRangeColor(False)
    lut.SetUseAboveRangeColor(False)
    lut.Build()
    return lut


def lookup_table(
    cmap: str, clim: tuple[float, float], n: int = 256, nan_color: str = NAN_COLOR
) -> vtkLookupTable:
    """A vtkLookupTable of a matplotlib colour map over `clim` (:func:`colormap_table`)."""
    return vtk_lookup_table(colormap_table(cmap, n), clim, nan_color)


def class_lookup_table(
    scale: ClassScale,
    lo: float,
    hi: float,
    n: int = 1024,
    alpha: float = 1.0,
    nan_alpha: float = 1.0,
) -> vtkLookupTable:
    """A lookup table over [lo, hi] whose colour steps at the class bounds of `scale`, NaN in
    its no-data colour.

    Per tick the adapters write one float per point; VTK maps it through this table at render
    time, so a tick costs one gather of floats instead of building RGB triples in numpy.
    """
    rgba = np.empty((n, 4), np.uint8)
    rgba[:, :3] = scale.step_table(lo, hi, n)
    rgba[:, 3] = to_rgb8(alpha)
    return vtk_lookup_table(rgba, (lo, hi), scale.no_data_color, nan_alpha)
