"""Colours, colour maps and class scales: the one colour module of the twin (pure numpy).

Everything that turns values into colours lives here, below both the render adapters and the
Qt panels, so the 3D view, its legends and the Layers panel cannot drift apart:

- palettes and fixed colours (semantic surfaces, city object types, "no data");
- colour-map sampling (:func:`colormap_table`, :func:`colormap_colors`, :func:`map_colors`),
  a thin layer over matplotlib's registry so that a map name means the same colours
  everywhere;
- class scales (:class:`ClassScale`): values split by bounds into named, coloured classes.
  :data:`CONGESTION` is the traffic one; the AQI categories of both standards are made from
  the official tables in :mod:`twin_app.model.aqi` (:func:`twin_app.model.aqi.category_scale`).

No VTK here: ``twin_app.render.colors`` builds vtkLookupTables from these tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from twin_app.errors import TwinError

RGB8 = np.ndarray[Any, np.dtype[np.uint8]]
F64 = np.ndarray[Any, np.dtype[np.float64]]
I8 = np.ndarray[Any, np.dtype[np.int8]]

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
#: Ground context classes (OSM land use, parks, water, railways; CityJSON LandUse, PlantCover,
#: WaterBody), drawn from the top down: where two overlap, the earlier class is shown. Muted,
#: light map tones: none is one of the saturated traffic or AQI class colours, and all are
#: paler than the buildings, so the ground reads as context under the data.
GROUND_CLASSES: tuple[tuple[str, str], ...] = (
    ("water", "#9cc3e0"),
    ("park", "#b5d3a0"),
    ("vegetation", "#8fb58a"),
    ("railway", "#8b7f77"),
    ("railway land", "#d5cdc5"),
    ("residential", "#e6ded0"),
    ("commercial", "#ead7d3"),
    ("industrial", "#dcd4df"),
    ("landuse", "#dedbc6"),
)
#: Ground class -> colour.
GROUND_COLORS = dict(GROUND_CLASSES)
#: Fixed colours of IFC classes (BIM layers coloured by class): warm light walls, grey slabs,
#: red-brown roofs, glass-blue windows, wood doors; the rest muted so the shell reads first.
IFC_CLASS_COLORS: dict[str, str] = {
    "IfcWall": "#e9e4d8",
    "IfcWallStandardCase": "#e9e4d8",
    "IfcCurtainWall": "#7fb0d6",
    "IfcSlab": "#a6a29a",
    "IfcRoof": "#b5523b",
    "IfcWindow": "#6fa8dc",
    "IfcDoor": "#a0703f",
    "IfcSpace": "#f2c14e",
    "IfcColumn": "#8d8d8d",
    "IfcBeam": "#7f7468",
    "IfcStair": "#c49a6c",
    "IfcStairFlight": "#c49a6c",
    "IfcRailing": "#5f6b73",
    "IfcRamp": "#b9a37e",
    "IfcRampFlight": "#b9a37e",
    "IfcCovering": "#d2c4b0",
    "IfcPlate": "#6fa3d6",
    "IfcMember": "#9a6b3f",
    "IfcFooting": "#77736b",
    "IfcPile": "#77736b",
    "IfcBuildingElementProxy": "#b7a9c9",
    "IfcFurnishingElement": "#c98f6b",
    "IfcFurniture": "#c98f6b",
    "IfcFlowTerminal": "#7fb58f",
    "IfcFlowSegment": "#7fb58f",
    "IfcFlowFitting": "#7fb58f",
    "IfcOpeningElement": "#dddddd",
    "IfcSite": "#8fb573",
}
#: Colour of elements of a class without its own colour (``ifc_class_code`` -1).
IFC_OTHER_COLOR = "#b0aaa0"


def ifc_class_palette() -> RGB8:
    """(len(IFC_CLASSES) + 1, 3) uint8 colours indexed by ``ifc_class_code + 1`` (row 0: other)."""
    from twin_app.model.bim import IFC_CLASSES

    return palette_rgb([IFC_OTHER_COLOR, *(IFC_CLASS_COLORS[c] for c in IFC_CLASSES)])


def ifc_class_categories(codes: Any) -> list[tuple[str, str]]:
    """(class, colour) of the ``ifc_class_code`` values present, in code order (other last)."""
    from twin_app.model.bim import IFC_CLASSES

    present = np.unique(np.asarray(codes, np.int64)).tolist() if len(codes) else []
    out = [(IFC_CLASSES[c], IFC_CLASS_COLORS[IFC_CLASSES[c]]) for c in present if c >= 0]
    if -1 in present:
        out.append(("other", IFC_OTHER_COLOR))
    return out


#: Colour of "unknown" values (NaN) in numeric colouring of feature columns.
NAN_COLOR = "#d9d6cf"
#: Colour of elements without data in the time-driven layers (a road without a sensor ...).
NO_DATA_COLOR = "#a8a8a8"


class ColormapError(TwinError, ValueError):
    """A colour map name that matplotlib does not know."""


# -- colours ---------------------------------------------------------------------------------
def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` to floats in 0..1."""
    c = color.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


def rgb_to_hex(rgb: Sequence[int]) -> str:
    """8-bit ``(r, g, b)`` to ``"#rrggbb"``."""
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def palette_rgb(colors: Sequence[str]) -> RGB8:
    """(n, 3) uint8 array of hex colours."""
    return np.array([[round(v * 255) for v in hex_to_rgb(c)] for c in colors], np.uint8).reshape(
        -1, 3
    )


def to_rgb8(rgba: Any) -> RGB8:
    """Float colours in 0..1 to uint8, rounded half up as VTK rounds ``SetTableValue``."""
    return np.floor(np.clip(np.asarray(rgba, np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# -- colour maps -----------------------------------------------------------------------------
def _colormap(name: str) -> Any:
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except (KeyError, ValueError) as exc:
        raise ColormapError(
            f"unknown colour map {name!r}: use a matplotlib colour map name such as 'viridis'"
        ) from exc


def colormap_colors(name: str, x: Any) -> F64:
    """RGBA (floats in 0..1, shape ``x.shape + (4,)``) of a colour map at positions `x` in 0..1.

    Exactly what matplotlib returns for ``matplotlib.colormaps[name](x)``: the map's own
    table (256 entries for the built-in maps) looked up by ``floor(x * N)``, clipped to the
    ends; NaN gets the map's "bad" colour (transparent).

    Raises
    ------
    ColormapError
        For a name matplotlib does not know.
    """
    return np.asarray(_colormap(name)(np.asarray(x, np.float64)), np.float64)


@lru_cache(maxsize=64)
def _table(name: str, n: int) -> F64:
    table = np.asarray(_colormap(name).resampled(n)(np.linspace(0.0, 1.0, n)), np.float64)
    table.setflags(write=False)
    return table


def colormap_table(name: str, n: int = 256) -> F64:
    """(n, 4) RGBA floats: a colour map resampled to `n` evenly spaced entries.

    Entry ``i`` is the map at ``i / (n - 1)`` (matplotlib's ``resampled(n)``), so the first
    and last entries are the map's ends. The result is cached and read-only: a lookup table
    per tick costs no matplotlib call.
    """
    return _table(str(name), max(int(n), 2))


def colormap_rgb8(name: str, n: int = 256) -> RGB8:
    """(n, 3) uint8 samples of a colour map (see :func:`colormap_table`)."""
    return to_rgb8(colormap_table(name, n)[:, :3])


def map_colors(
    values: Any,
    clim: tuple[float, float],
    table: RGB8,
    nan_rgb: Any,
) -> RGB8:
    """Values to (n, 3) uint8 through a colour table over `clim` (vectorised; NaN -> `nan_rgb`).

    Value ``v`` takes entry ``floor((v - lo) / (hi - lo) * (n - 1))`` clipped to the table:
    the ends of `clim` get the ends of the table, and every entry is within one step of the
    one VTK's lookup table picks for the same table and range.
    """
    values = np.asarray(values)
    lo, hi = clim
    n = table.shape[0]
    with np.errstate(invalid="ignore"):
        idx = np.clip(((values - lo) / max(hi - lo, 1e-12) * (n - 1)), 0, n - 1)
    out: RGB8 = table[np.nan_to_num(idx).astype(np.int64)]
    out[~np.isfinite(values)] = nan_rgb
    return out


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


# -- categories ------------------------------------------------------------------------------
def surface_categories(codes: np.ndarray[Any, Any]) -> list[tuple[str, str]]:
    """(label, colour) of the semantic surface codes present."""
    present = np.unique(np.minimum(np.asarray(codes, np.int64), 3)).tolist() if len(codes) else []
    return [(SURFACE_NAMES[int(c)], SURFACE_PALETTE[int(c)]) for c in present]


#: The label of a feature whose type is missing (None, NaN, an empty text).
NO_TYPE = "(no type)"


def type_labels(types: Any) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Each feature's type as text, a missing one (None, NaN, ``pd.NA``, empty) as
    :data:`NO_TYPE`: the one labelling :func:`type_categories` and the colours share."""
    import pandas as pd

    col = pd.Series(types, dtype=object)
    text = col.astype(str).str.strip()
    missing = col.isna().to_numpy() | (text == "").to_numpy()
    labels = text.to_numpy(dtype=object)
    labels[missing] = NO_TYPE
    return labels


def type_categories(types: Any) -> list[tuple[str, str]]:
    """(label, colour) per distinct type (:func:`type_labels`), sorted: fixed colours for
    known types, the unknown-value colour for :data:`NO_TYPE`, else cycled."""
    names = sorted(set(type_labels(types)))
    return [
        (
            t,
            NAN_COLOR
            if t == NO_TYPE
            else TYPE_COLORS.get(t, CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)]),
        )
        for i, t in enumerate(names)
    ]


def ground_categories(classes: Any) -> list[tuple[str, str]]:
    """(label, colour) of the ground classes present, in :data:`GROUND_CLASSES` order.

    A class not in the table (a CityJSON LandUse ``class`` attribute, say) gets the generic
    ``landuse`` colour rather than a colour that might mean something elsewhere.
    """
    present = set(type_labels(classes))
    known = [(name, color) for name, color in GROUND_CLASSES if name in present]
    other = sorted(present - set(GROUND_COLORS))
    return known + [(name, GROUND_COLORS["landuse"]) for name in other]


@dataclass(frozen=True, eq=False)
class ClassScale:
    """Values split into named, coloured classes by increasing bounds.

    Class ``k`` (0-based) holds the values between ``bounds[k - 1]`` and ``bounds[k]``; the
    last class has no upper bound, NaN has class -1 ("no data").

    Attributes
    ----------
    bounds
        Upper bound of every class but the last, increasing.
    names
        Class names, lowest class first (``len(bounds) + 1`` of them).
    colors
        Class colours (hex), lowest class first.
    upper_inclusive
        True when a value equal to a bound belongs to the class below it (AQI: 50 is "Good");
        False when it opens the class above (congestion: a ratio of 0.4 is "heavy", not
        "severe").
    no_data_name, no_data_color
        How NaN is labelled and drawn.
    title
        What is classified, for a legend's title.
    """

    bounds: tuple[float, ...]
    names: tuple[str, ...]
    colors: tuple[str, ...]
    upper_inclusive: bool = False
    title: str = ""
    no_data_name: str = "no data"
    no_data_color: str = NO_DATA_COLOR
    _rgb: RGB8 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.bounds) + 1
        if len(self.names) != n or len(self.colors) != n:
            raise TwinError(
                f"a class scale with {len(self.bounds)} bounds needs {n} names and colours, "
                f"not {len(self.names)} and {len(self.colors)}"
            )
        if np.any(np.diff(np.asarray(self.bounds, np.float64)) <= 0):
            raise TwinError(f"class bounds must increase: {self.bounds}")
        rgb = palette_rgb((self.no_data_color, *self.colors))
        rgb.setflags(write=False)
        object.__setattr__(self, "_rgb", rgb)  # frozen: set once, read each tick

    @property
    def n_classes(self) -> int:
        """Number of classes (without "no data")."""
        return len(self.names)

    def classify(self, values: Any) -> I8:
        """Class of every value (int8, the shape of `values`): 0 .. n_classes - 1, -1 for NaN."""
        v = np.asarray(values, np.float64)
        side: Literal["left", "right"] = "left" if self.upper_inclusive else "right"
        cls = np.searchsorted(np.asarray(self.bounds, np.float64), v, side=side)
        return np.asarray(np.where(np.isnan(v), -1, cls), np.int8)

    def rgb(self, no_data: bool = False) -> RGB8:
        """(n_classes, 3) uint8 class colours (read-only); with `no_data`, the no-data colour
        first, so that ``scale.rgb(True)[scale.classify(v) + 1]`` colours any values."""
        return self._rgb if no_data else self._rgb[1:]

    def step_table(self, lo: float, hi: float, n: int = 1024) -> RGB8:
        """(n, 3) uint8: the class colour of each of `n` equal bins over [lo, hi] (at the bin
        centre), for a lookup table that steps at the bounds."""
        w = (float(hi) - float(lo)) / n
        centres = float(lo) + (np.arange(n) + 0.5) * w
        return self.rgb()[np.clip(self.classify(centres), 0, self.n_classes - 1)]

    def legend(
        self, top_first: bool = True, no_data: bool = True, prefix: str = ""
    ) -> list[tuple[str, str]]:
        """(label, hex colour) per class, for a legend: highest class first by default, then
        the no-data entry."""
        entries = [(f"{prefix}{n}", c) for n, c in zip(self.names, self.colors, strict=True)]
        if top_first:
            entries.reverse()
        if no_data:
            entries.append((self.no_data_name, self.no_data_color))
        return entries


#: Colour map of building heights: a blue sequential map, so that no height shares a colour
#: with the traffic classes or the AQI categories shown beside it (issue 10: the same dark red
#: meant a tall building, severe traffic and hazardous air).
HEIGHT_COLORMAP = "Blues"

#: Traffic congestion classes by the ratio of speed to free-flow speed: severe below 0.4,
#: heavy from 0.4, moderate from 0.6, free flow from 0.8. Teal and light orange, then pink
#: and deep violet rather than the usual red and dark red: the AQI categories (drawn beside
#: them) own red and maroon. Every class is at least 60 (RGB distance) from every AQI
#: colour and every height colour (tests/render/test_looks.py).
CONGESTION = ClassScale(
    bounds=(0.4, 0.6, 0.8),
    names=("severe", "heavy", "moderate", "free flow"),
    colors=("#3f007d", "#e7298a", "#fdb863", "#1b9e77"),
    upper_inclusive=False,
    title="Congestion (speed / free flow)",
)


# -- per-column colour scales ----------------------------------------------------------------
#: Diverging colour map of every change ("delta") column: blue for a decrease, red for an
#: increase, a light grey at zero (matplotlib's ``coolwarm``: its middle is #dddddd, so an
#: unchanged road reads as "no change", not as white paint on a light background).
DELTA_COLORMAP = "coolwarm"


@dataclass(frozen=True)
class ColorScale:
    """How a numeric feature column is coloured: its quantity, unit and colour limits rule.

    A layer coloured by a column that has a scale (:func:`column_scale`) takes its limits from
    the scale (unless the layer sets ``clim``) and shows ``"quantity (unit)"`` as the legend's
    subtitle. The colour map stays the layer's own ``colormap`` (a comparison sets it to
    :attr:`colormap` when it makes the layer), so a user may still pick another one.

    Attributes
    ----------
    quantity
        What the values are, e.g. ``"Flow change"``.
    unit
        Their unit, e.g. ``"veh/h"`` (empty: no unit).
    colormap
        The colour map a layer coloured by this column should start with.
    diverging
        True for changes: the limits are symmetric about `centre`, ``+-`` the robust
        maximum of ``|value - centre|`` (:meth:`limits`), so zero sits in the middle of the
        map and a decrease and an increase of one size get colours of one strength.
    centre
        The neutral value of a diverging scale.
    percentile
        The robust maximum: this percentile of the non-zero ``|value - centre|`` (one
        outlier does not wash out every other change).
    fixed
        Limits that hold whatever the values (a ratio with a meaning at 1), or None.
    """

    quantity: str
    unit: str = ""
    colormap: str = DELTA_COLORMAP
    diverging: bool = True
    centre: float = 0.0
    percentile: float = 98.0
    fixed: tuple[float, float] | None = None

    @property
    def title(self) -> str:
        """``"Flow change (veh/h)"``: quantity and unit, for a legend."""
        return f"{self.quantity} ({self.unit})" if self.unit else self.quantity

    def limits(self, values: Any) -> tuple[float, float]:
        """Colour limits for `values` (NaN ignored).

        Diverging: ``(c - m, c + m)`` with ``m`` the :attr:`percentile` of the non-zero
        ``|v - c|`` rounded up to two significant digits (1 when every value is `centre` or
        NaN, so that "no change anywhere" is drawn in the neutral colour). Otherwise
        :func:`auto_clim`. :attr:`fixed` limits win over both.
        """
        if self.fixed is not None:
            return (float(self.fixed[0]), float(self.fixed[1]))
        v = np.asarray(values, np.float64)
        v = v[np.isfinite(v)]
        if not self.diverging:
            return auto_clim(v)
        dev = np.abs(v - self.centre)
        dev = dev[dev > 0]
        m = float(np.percentile(dev, self.percentile)) if dev.size else 1.0
        if not m > 0:
            m = 1.0
        # Up to two significant digits, so that the legend reads 15, not 14.82.
        step = 10.0 ** (math.floor(math.log10(m)) - 1)
        m = math.ceil(round(m / step, 9)) * step
        return (self.centre - m, self.centre + m)


#: Per-feature changes and values of a scenario against its baseline (issue 8, compare view).
FLOW_CHANGE = ColorScale("Flow change", "veh/h")
PRESSURE_CHANGE = ColorScale("Pressure change", "m")
#: Values are sequential maps without red or blue ends, so that nothing in a value view reads
#: as a change.
FLOW = ColorScale("Flow", "veh/h", colormap="viridis", diverging=False)
PRESSURE = ColorScale("Pressure", "m", colormap="viridis", diverging=False)
#: Volume over capacity: a sequential map over fixed limits 0 .. 1.5, so that one colour is
#: one ratio in every scenario (1 = at capacity, two thirds up the map).
VC_RATIO = ColorScale("Volume / capacity", "", colormap="YlOrRd", diverging=False, fixed=(0.0, 1.5))
VC_CHANGE = ColorScale("Volume / capacity change")
SPEED_RATIO_CHANGE = ColorScale("Speed / free flow change")

#: Column name -> how it is coloured. ``speed_ratio`` (free-flow time over congested time,
#: i.e. speed over free-flow speed, per road segment from an assignment) is drawn on the
#: :data:`CONGESTION` classes the replayed traffic uses, so an assigned scenario and the
#: measured traffic read alike. Volume over capacity does not fit those classes (it grows
#: as traffic worsens and has no bound at 1), so it has its own sequential scale.
COLUMN_SCALES: dict[str, ColorScale | ClassScale] = {
    "flow_delta_veh_h": FLOW_CHANGE,
    "flow_veh_h": FLOW,
    "pressure_delta_m": PRESSURE_CHANGE,
    "pressure_m": PRESSURE,
    "vc_ratio": VC_RATIO,
    "vc_ratio_delta": VC_CHANGE,
    "speed_ratio": CONGESTION,
    "speed_ratio_delta": SPEED_RATIO_CHANGE,
}

# -- study rasters on the ground (sun hours, air, 5G coverage; issue 9) ----------------------
#: Sun hours: dark where the ground stays in shade, bright yellow in full sun.
SUN_HOURS = ColorScale("Sun hours", "h", colormap="inferno", diverging=False)
SUN_HOURS_CHANGE = ColorScale("Sun hours change", "h")
CONCENTRATION_CHANGE = ColorScale("Concentration change", "ug/m3")
RSRP_CHANGE = ColorScale("RSRP change", "dB")
#: 5G street coverage by reference signal received power (RSRP, dBm). -100 dBm is the
#: coverage threshold the radio study's KPIs use by default; below -140 dBm (the bottom of
#: the range a 3GPP UE reports, TS 38.133) and where no station reaches (-inf) there is
#: "no coverage", drawn dark grey so that it reads as a hole, not as a weak signal. The
#: classes are ColorBrewer's BrBG steps split at the threshold: sand and tan below it (not
#: covered), light to dark teal above; no blue (the building heights own the blues) and
#: every class away from the AQI and congestion colours.
RSRP_CLASSES = ClassScale(
    bounds=(-140.0, -110.0, -100.0, -90.0, -80.0),
    names=(
        "no coverage",
        "< -110 dBm",
        "-110 to -100 dBm",
        "-100 to -90 dBm",
        "-90 to -80 dBm",
        ">= -80 dBm",
    ),
    colors=("#3a3a3a", "#f6e8c3", "#dfc27d", "#c7eae5", "#5ab4ac", "#01665e"),
    upper_inclusive=False,
    title="5G RSRP (dBm)",
)
COLUMN_SCALES.update(
    {
        "sun_hours_h": SUN_HOURS,
        "sun_hours_delta_h": SUN_HOURS_CHANGE,
        "concentration_delta_ug_m3": CONCENTRATION_CHANGE,
        "rsrp_dbm": RSRP_CLASSES,
        "rsrp_delta_db": RSRP_CHANGE,
        "rsrp_dbm_delta": RSRP_CHANGE,
    }
)
#: Concentration columns coloured by the AQI categories of PM2.5 (US EPA) unless a raster
#: layer names its pollutant and standard (:func:`twin_app.model.aqi.concentration_scale`).
CONCENTRATION_COLUMN = "concentration_ug_m3"


def column_scale(column: str) -> ColorScale | ClassScale | None:
    """The scale a feature column is coloured on, or None for a plain column (the layer's
    colour map over :func:`auto_clim`). A change column not in :data:`COLUMN_SCALES`
    (``<name>_delta``) is diverging all the same."""
    name = str(column)
    if name == CONCENTRATION_COLUMN:
        from twin_app.model.aqi import concentration_scale

        return concentration_scale()
    scale = COLUMN_SCALES.get(name)
    if scale is None and name.endswith("_delta"):
        return ColorScale(f"{name[: -len('_delta')]} change")
    return scale


def class_range(scale: ClassScale) -> tuple[float, float]:
    """A value range reaching past a class scale's first and last bounds by their spread (the
    end classes are open: values beyond the range take the end colours anyway), for a lookup
    table that steps at the bounds."""
    b = np.asarray(scale.bounds, np.float64)
    span = float(b[-1] - b[0]) if b.size > 1 else 1.0
    return (float(b[0] - span), float(b[-1] + span))


def column_clim(column: str, values: Any) -> tuple[float, float]:
    """The automatic colour limits of a feature column: its scale's (:func:`column_scale`:
    symmetric about zero for changes, past the class bounds for classes), else
    :func:`auto_clim` of the finite values. The 3D view and the Layers panel both use it."""
    scale = column_scale(column)
    if isinstance(scale, ClassScale):
        return class_range(scale)
    if scale is not None:
        return scale.limits(values)
    v = np.asarray(values, np.float64)
    return auto_clim(v[np.isfinite(v)])
