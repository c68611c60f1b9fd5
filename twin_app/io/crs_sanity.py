"""Catch lon/lat degrees in files that declare a projected CRS.

A GeoJSON (or GeoPackage, shapefile, CityJSON) that says "EPSG:28992" but holds WGS 84 degrees
loads without complaint: the numbers are valid metres, so the city shrinks to a 0.1 mm speck near
the CRS's false origin. This is the mirror of the "geographic CRS but metre-sized coordinates"
check in :func:`twin_app.io.vector.check_crs`, and runs at the same boundary (once per layer,
on the layer's coordinate bounds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin_app.errors import CRSError
from twin_app.model.frame import horizontal_crs, looks_like_lonlat

if TYPE_CHECKING:
    from pyproj import CRS

    from twin_app.model.frame import FloatArray

# Typical edge (median step between consecutive coordinates) under which the numbers are taken
# for degrees: 5 cm as metres, 5.5 km as degrees.
MAX_STEP = 0.05
_STEP_SAMPLE = 100_000
# Real buildings, roads and plots of a layer span more than this (metres of the declared CRS).
MIN_EXTENT_M = 1.0
# Margin around the CRS's area of use (projected): this fraction of its width/height per axis,
# so data just across a border is still inside.
AREA_MARGIN = 0.10


def projected_area_box(crs: CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use as an (xmin, ymin, xmax, ymax) box in its own projected units.

    ``CRS.area_of_use.bounds`` is (west, south, east, north) in degrees; its outline is
    projected with :meth:`pyproj.Transformer.transform_bounds` (densified edges), so the box
    holds every projected point of the area. None when the CRS has no area of use or PROJ
    cannot project it.
    """
    from pyproj import Transformer

    area = crs.area_of_use
    if area is None:
        return None
    try:
        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        box = tr.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
    except Exception:  # PROJ refuses (area crossing a pole, odd CRS): no area evidence
        return None
    out = tuple(float(v) for v in box)
    return (out[0], out[1], out[2], out[3]) if all(np.isfinite(out)) else None


def _unit(crs: CRS) -> tuple[str, float]:
    """(plural unit name, metres per unit) of the CRS's first axis."""
    if not crs.axis_info:
        return "metres", 1.0
    info = crs.axis_info[0]
    name = info.unit_name or "metre"
    plural = "metres" if name in ("metre", "meter") else name
    return plural, float(info.unit_conversion_factor or 1.0)


def _name(crs: CRS) -> str:
    """``EPSG:28992`` when the CRS has a code, else its name (never a page of WKT)."""
    auth = crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else str(crs.name)


def _step(xy: FloatArray) -> float:
    """Median non-zero step between consecutive coordinates (max of |dx|, |dy|), in CRS units.

    Consecutive coordinates are mostly neighbours along one ring or line, so this is a typical
    edge length. At most the first ``_STEP_SAMPLE`` coordinates are looked at.
    """
    head = xy[:_STEP_SAMPLE, :2]
    steps = np.abs(np.diff(head, axis=0)).max(axis=1) if len(head) > 1 else np.zeros(0)
    steps = steps[steps > 0.0]
    return float(np.median(steps)) if steps.size else 0.0


def check_not_lonlat(
    crs: CRS, bounds: tuple[float, float, float, float], xy: FloatArray, label: str
) -> None:
    """Raise when a layer declared in a projected CRS holds lon/lat degrees instead.

    The layer's coordinates (in the declared CRS's units) are taken for degrees when all three
    hold:

    * their box fits longitude/latitude ranges, [-180, 180] x [-90, 90];
    * the typical edge (:func:`_step`) is under ``MAX_STEP`` units: 5 cm as metres, but 5 km
      as degrees, so any building or road edge in degrees is far under it while a model in
      local metres near the origin (a 1 m test cube) is not;
    * read as the declared units, either the box is not inside the CRS's area of use
      (:func:`projected_area_box`, widened by ``AREA_MARGIN`` of its size per axis), or the
      whole layer spans less than ``MIN_EXTENT_M`` metres, which no real set of buildings does
      (this catches CRSs whose area of use holds such numbers, such as the British National
      Grid at its false origin or world-wide Web Mercator).

    Coordinates with no extent (none, or a single point) give no evidence and pass. The
    box test is first and cheap, so real projected data costs one min/max.

    Parameters
    ----------
    crs
        The declared CRS (compound CRSs are checked on their horizontal part).
    bounds
        (xmin, ymin, xmax, ymax) of `xy`; not finite means no check.
    xy
        (n, >=2) coordinates of the layer, in file order (finite when `bounds` are); only
        read when the box fits lon/lat ranges.
    label
        File (and layer) named in the message.

    Raises
    ------
    CRSError
        One line naming the file, the declared CRS and where the coordinates lie.
    """
    h = horizontal_crs(crs)
    if h.is_geographic or not h.is_projected or len(xy) < 2:
        return
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return
    if not looks_like_lonlat((xmin, ymin, xmax, ymax)):
        return
    span = max(xmax - xmin, ymax - ymin)
    if span <= 0.0 or _step(xy) >= MAX_STEP:
        return
    unit, factor = _unit(h)
    why = ""
    if span * factor < MIN_EXTENT_M:
        why = f"the whole layer would be {span * factor * 1000.0:.3g} mm across"
    box = projected_area_box(h)
    if not why and box is not None:
        mx = AREA_MARGIN * (box[2] - box[0])
        my = AREA_MARGIN * (box[3] - box[1])
        inside = (
            xmin >= box[0] - mx
            and xmax <= box[2] + mx
            and ymin >= box[1] - my
            and ymax <= box[3] + my
        )
        if not inside:
            area = h.area_of_use.name if h.area_of_use else ""
            short = area.split(" - ")[0].split(",")[0].split(";")[0].rstrip(".")
            why = f"they would lie outside its area of use ({short})"
    if not why:
        return
    raise CRSError(
        f"{label}: coordinates look like lon/lat degrees (x {xmin:.4f} .. {xmax:.4f}, "
        f"y {ymin:.4f} .. {ymax:.4f}); the file declares {_name(crs)} ({unit}), and as "
        f"{unit} {why}; reproject the file or pass --crs EPSG:4326"
    )
