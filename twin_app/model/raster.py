"""Raster layers: a grid of values on the ground (sun hours, air concentration, 5G RSRP).

A :class:`RasterLayer` holds one (ny, nx) float64 grid with a GDAL-style affine transform
``(x0, dx, 0, y0, 0, -dy)`` in the twin's local metres (row 0 north: cell ``(r, c)`` covers
``x0 + c dx .. x0 + (c + 1) dx`` and ``y0 - (r + 1) dy .. y0 - r dy``), drawn as one textured
quad at height :attr:`RasterLayer.z`. Its colour scale comes from the coloured column
(:attr:`~twin_app.model.layers.Layer.color_by`) through :func:`twin_app.model.style.column_scale`;
:func:`raster_rgba` turns the grid into RGBA texels with whole-array numpy operations (the
render adapter writes them into its existing texture).

New values of the same shape are written in place by :meth:`RasterLayer.set_values`, which
emits the ``values`` event: a restyle (the texture is rewritten), never a new mesh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from psygnal import SignalGroup, evented

from twin_app.errors import TwinError
from twin_app.model.layers import Layer
from twin_app.model.style import (
    CONCENTRATION_COLUMN,
    ClassScale,
    ColorScale,
    auto_clim,
    class_range,
    colormap_table,
    column_scale,
    to_rgb8,
)

F64 = np.ndarray[Any, np.dtype[np.float64]]
RGBA8 = np.ndarray[Any, np.dtype[np.uint8]]
Transform = tuple[float, float, float, float, float, float]

#: With ``transparent_zero``, changes smaller than this fraction of the colour range's larger
#: end (``max(|lo|, |hi|)``) are transparent too.
ZERO_FRACTION = 0.02


class RasterError(TwinError, ValueError):
    """A raster whose values or transform do not make a grid."""


def gdal_transform(transform: Any, name: str = "raster") -> Transform:
    """A north-up raster transform in GDAL order ``(x0, dx, 0, y0, 0, -dy)``.

    Accepts GDAL's order and the ``affine``/rasterio order ``(dx, 0, x0, 0, -dy, y0)`` (the
    sun and air engines report that one, the radio study GDAL's): with ``dx > 0`` and
    ``dy > 0`` the two never look alike (GDAL has zeros at 2 and 4, affine at 1 and 3).

    Raises
    ------
    RasterError
        For anything else (rotated, south-up, zero-sized cells).
    """
    t = tuple(float(v) for v in transform)
    if len(t) == 6 and t[2] == 0.0 and t[4] == 0.0 and t[1] > 0.0 and t[5] < 0.0:
        return (t[0], t[1], 0.0, t[3], 0.0, t[5])
    if len(t) == 6 and t[1] == 0.0 and t[3] == 0.0 and t[0] > 0.0 and t[4] < 0.0:
        return (t[2], t[0], 0.0, t[5], 0.0, t[4])
    raise RasterError(
        f"raster {name!r}: transform {t} is not north-up: use (x0, dx, 0, y0, 0, -dy) or "
        "the affine (dx, 0, x0, 0, -dy, y0)"
    )


@evented
@dataclass(eq=False)
class RasterLayer(Layer):
    """A grid of values on the ground, drawn as one textured quad.

    Attributes
    ----------
    values
        (ny, nx) float64, row 0 north. NaN: no value (under a roof, outside the study):
        transparent. ``-inf`` / ``+inf`` take the low / high end of the scale (RSRP ``-inf``:
        no station reaches, the "no coverage" class).
    transform
        GDAL-style ``(x0, dx, 0, y0, 0, -dy)``, local metres (an affine-order transform is
        turned into this one on construction, :func:`gdal_transform`).
    z
        Height of the grid above the twin's ground level, metres (the adapter lifts the quad
        a little over it so that it does not fight with the ground and the roads).
    color_by
        The quantity's column name (``sun_hours_h``, ``sun_hours_delta_h``,
        ``concentration_ug_m3``, ``concentration_delta_ug_m3``, ``rsrp_dbm``,
        ``rsrp_delta_db``): picks the colour scale (:meth:`scale`).
    colormap
        Colour map of a scale that is not classes; empty: the scale's own.
    pollutant, standard
        For ``concentration_ug_m3``: whose AQI categories colour the values.
    transparent_zero
        Cells of 0, and of changes under :data:`ZERO_FRACTION` of the colour range, are
        transparent (a change raster shows where something changed and leaves the city
        visible elsewhere).
    """

    values: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    transform: Transform = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    z: float = 0.0
    color_by: str = "sun_hours_h"
    colormap: str = ""
    opacity: float = 0.85
    pollutant: str = "pm25"
    standard: str = "us_epa"
    transparent_zero: bool = False

    kind: ClassVar[str] = "raster"
    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def __post_init__(self) -> None:
        super().__post_init__()
        v = np.asarray(self.values, np.float64)
        if v.ndim != 2:
            raise RasterError(f"raster {self.name!r}: values must be (ny, nx), not {v.shape}")
        self.values = np.array(v, np.float64)  # own copy: set_values writes into it
        self.transform = gdal_transform(self.transform, self.name)

    # -- geometry --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        ny, nx = self.values.shape
        return (int(ny), int(nx))

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the grid's outer edges, local metres."""
        x0, dx, _, y0, _, ndy = self.transform
        ny, nx = self.shape
        return (x0, x0 + nx * dx, y0 + ny * ndy, y0)

    def cell_of(self, x: Any, y: Any) -> tuple[Any, Any, Any]:
        """(row, col, inside) of the cells holding local points (whole arrays)."""
        x0, dx, _, y0, _, ndy = self.transform
        ny, nx = self.shape
        col = np.floor((np.asarray(x, np.float64) - x0) / dx)
        row = np.floor((np.asarray(y, np.float64) - y0) / ndy)
        with np.errstate(invalid="ignore"):
            inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        r = np.where(inside, row, 0).astype(np.int64)
        c = np.where(inside, col, 0).astype(np.int64)
        return r, c, inside

    def value_at(self, x: Any, y: Any) -> Any:
        """The value of the cell under local point(s) ``(x, y)``; NaN outside the grid.

        Scalars in, a float out; arrays in, an array of their broadcast shape out.
        """
        r, c, inside = self.cell_of(x, y)
        if not self.values.size:
            out = np.full(np.shape(inside), np.nan)
        else:
            out = np.where(inside, self.values[r, c], np.nan)
        return float(out) if np.ndim(out) == 0 else out

    # -- values ----------------------------------------------------------------------------
    def set_values(self, values: Any) -> None:
        """New values: written into the existing array when the shape is the same (one
        ``values`` event: the view rewrites its texture in place), else a new array."""
        v = np.asarray(values, np.float64)
        if v.shape == self.values.shape:
            np.copyto(self.values, v)
            self.events.values.emit(self.values, self.values)
        elif v.ndim == 2:
            self.values = np.array(v, np.float64)
        else:
            raise RasterError(f"raster {self.name!r}: values must be (ny, nx), not {v.shape}")

    # -- colours ---------------------------------------------------------------------------
    def color_choices(self) -> list[str]:
        """The raster's own quantity (a raster is always coloured by its values)."""
        return [self.color_by]

    def scale(self) -> ColorScale | ClassScale | None:
        """The colour scale of :attr:`color_by` (concentrations: the AQI categories of
        :attr:`pollutant` under :attr:`standard`)."""
        if self.color_by == CONCENTRATION_COLUMN:
            from twin_app.model.aqi import concentration_scale

            return concentration_scale(self.pollutant, self.standard)
        return column_scale(self.color_by)

    def color_limits(self) -> tuple[float, float]:
        """:attr:`clim`, else the scale's limits of the finite values (classes: a range past
        the class bounds)."""
        if self.clim is not None:
            return (float(self.clim[0]), float(self.clim[1]))
        scale = self.scale()
        if isinstance(scale, ClassScale):
            return class_range(scale)
        finite = self.values[np.isfinite(self.values)]
        if isinstance(scale, ColorScale):
            return scale.limits(finite)
        return auto_clim(finite)

    def rgba(self) -> RGBA8:
        """(ny, nx, 4) uint8 texels of the values, row 0 north (:func:`raster_rgba`)."""
        return raster_rgba(
            self.values,
            self.scale(),
            self.color_limits(),
            self.colormap,
            transparent_zero=self.transparent_zero,
        )

    def title(self) -> str:
        """Legend subtitle: the scale's quantity and unit."""
        scale = self.scale()
        if scale is None:
            return self.color_by
        return scale.title or self.color_by


def raster_rgba(
    values: Any,
    scale: ColorScale | ClassScale | None,
    clim: tuple[float, float],
    colormap: str = "",
    n: int = 256,
    transparent_zero: bool = False,
    out: RGBA8 | None = None,
) -> RGBA8:
    """RGBA texels of a grid of values (whole-array numpy, no loop over cells).

    Class scales: the class colour (:meth:`ClassScale.classify`; ``-inf`` is the lowest
    class, ``+inf`` the highest). Colour scales: `colormap` (empty: the scale's own, or
    viridis without a scale) sampled at `n` entries over `clim`, entry
    ``floor((v - lo) / (hi - lo) * (n - 1))`` clipped to the table (infinities take the ends),
    as :func:`twin_app.model.style.map_colors`. NaN (and, with `transparent_zero`, values
    within :data:`ZERO_FRACTION` of ``max(|lo|, |hi|)`` of zero) get alpha 0, every other texel alpha 255 (the layer's opacity is the actor's).

    Parameters
    ----------
    out
        (ny, nx, 4) uint8 array to write into (the texture's own array), or None for a new one.
    """
    v = np.asarray(values, np.float64)
    if out is None:
        out = np.empty((*v.shape, 4), np.uint8)
    nan = np.isnan(v)
    if isinstance(scale, ClassScale):
        cls = scale.classify(np.where(nan, scale.bounds[0], v))
        out[..., :3] = scale.rgb()[cls.astype(np.int64)]
    else:
        cmap = colormap or (scale.colormap if isinstance(scale, ColorScale) else "viridis")
        table = to_rgb8(colormap_table(cmap, n)[:, :3])
        lo, hi = float(clim[0]), float(clim[1])
        with np.errstate(invalid="ignore", over="ignore"):
            pos = (np.where(nan, lo, v) - lo) / max(hi - lo, 1e-12) * (n - 1)
        idx = np.clip(pos, 0, n - 1).astype(np.int64)
        out[..., :3] = table[idx]
    alpha = ~nan
    if transparent_zero:
        # A change too small to tell from zero on the map (a plume's far tail) would tint
        # the whole study area in the neutral grey: it is left out with the zeros.
        lo, hi = float(clim[0]), float(clim[1])
        tiny = ZERO_FRACTION * max(abs(lo), abs(hi))
        with np.errstate(invalid="ignore"):
            alpha &= np.abs(v) > tiny if tiny > 0 else v != 0.0
    out[..., 3] = np.where(alpha, 255, 0).astype(np.uint8)
    return out
