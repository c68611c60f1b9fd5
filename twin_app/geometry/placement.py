"""Where positions without a usable location go in the twin: one :class:`Placement`.

Data that carry no CRS (EPANET files) or that were measured in another city than the geometry
(the sample twin replays Los Angeles traffic on London streets) are put into the twin's local frame
in one of two ways:

- their coordinates *are* in a known CRS (an EPSG code): converting needs the twin's
  :class:`~twin_app.model.frame.LocalFrame`;
- they are *laid out* into given local bounds by an affine map, one uniform scale plus a
  translation that keeps their shape (:meth:`Placement.affine`). Lon/lat positions are first put
  in local tangent-plane metres around their own centre (:meth:`Placement.apply`). Shapes are kept;
  distances are not real, and every layer's description says so (:meth:`Placement.describe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twin_app.errors import InputError
from twin_app.model.city import FeatureSet
from twin_app.model.frame import LocalFrame

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQ = 111_320.0

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Placement:
    """How coordinates measured elsewhere (or without a CRS) reach the twin's local frame.

    Exactly one of `crs` and `fit_bounds` is given.

    Attributes
    ----------
    crs
        The CRS the coordinates are in (``"EPSG:3003"``, ``3003``, WKT ...), when it is known.
    fit_bounds
        Local ``(xmin, ymin, xmax, ymax)`` in metres to lay the data out in. The map is
        ``local = scale * (xy - c_src) + c_dst`` with ``c`` the centres of the source and target
        boxes and ``scale = min(w_dst / w_src, h_dst / h_src)`` (aspect kept, fits inside), the
        target box first shrunk by `margin` on each side.
    label
        Words for the target in messages, e.g. ``"this district"``.
    margin
        Fraction of the target box left free on each side.
    src_lonlat_bounds
        ``(lon_min, lat_min, lon_max, lat_max)`` of lon/lat source data laid out with
        :meth:`apply` (set by :meth:`fit_lonlat`); planar data give their bounds to :meth:`affine`.
    """

    crs: str | None = None
    fit_bounds: Bounds | None = None
    label: str = "this district"
    margin: float = 0.0
    src_lonlat_bounds: Bounds | None = None

    def __post_init__(self) -> None:
        if (self.crs is None) == (self.fit_bounds is None):
            raise ValueError("Placement needs exactly one of crs and fit_bounds")
        if self.fit_bounds is not None:
            xmin, ymin, xmax, ymax = (float(v) for v in self.fit_bounds)
            if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmax > xmin and ymax > ymin):
                raise ValueError(f"fit_bounds must be a non-empty box, got {self.fit_bounds}")
        if not 0.0 <= self.margin < 0.5:
            raise ValueError(f"margin must be in [0, 0.5), got {self.margin}")

    @classmethod
    def from_crs(cls, crs: str | int) -> Placement:
        """Coordinates are in `crs` (an EPSG code or anything pyproj understands)."""
        text = str(crs)
        return cls(crs=f"EPSG:{text}" if text.isdigit() else text)

    @classmethod
    def fit(cls, bounds: Bounds, label: str = "this district", margin: float = 0.0) -> Placement:
        """Lay planar data out inside local ``(xmin, ymin, xmax, ymax)`` (metres)."""
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        return cls(fit_bounds=(xmin, ymin, xmax, ymax), label=label, margin=margin)

    @classmethod
    def fit_lonlat(
        cls,
        src_lonlat_bounds: Bounds,
        bounds: Bounds,
        margin: float = 0.08,
        label: str = "this district",
    ) -> Placement:
        """Lay lon/lat positions inside ``src_lonlat_bounds`` out inside local `bounds`."""
        lon0, lat0, lon1, lat1 = (float(v) for v in src_lonlat_bounds)
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        return cls(
            fit_bounds=(xmin, ymin, xmax, ymax),
            label=label,
            margin=margin,
            src_lonlat_bounds=(lon0, lat0, lon1, lat1),
        )

    @classmethod
    def for_lonlat(cls, lon: Any, lat: Any, bounds: Bounds, margin: float = 0.08) -> Placement:
        """A lon/lat fit for the finite positions given (their bounding box into `bounds`)."""
        lo = np.asarray(lon, np.float64)
        la = np.asarray(lat, np.float64)
        ok = np.isfinite(lo) & np.isfinite(la)
        if not ok.any():
            raise ValueError("no finite lon/lat positions to place")
        src = (float(lo[ok].min()), float(la[ok].min()), float(lo[ok].max()), float(la[ok].max()))
        return cls.fit_lonlat(src, bounds, margin)

    def affine(self, src_bounds: Bounds) -> tuple[float, float, float]:
        """``(scale, tx, ty)`` with ``local = scale * xy + (tx, ty)`` for data in `src_bounds`.

        A source box of zero width or height (one node, or all nodes on a line) is scaled by
        its other side; a single point is put at the target centre with scale 1.
        """
        if self.fit_bounds is None:
            raise ValueError("affine() needs a fit placement")
        sxmin, symin, sxmax, symax = src_bounds
        dxmin, dymin, dxmax, dymax = self.fit_bounds
        sw, sh = sxmax - sxmin, symax - symin
        f = 1.0 - 2.0 * self.margin
        dw, dh = (dxmax - dxmin) * f, (dymax - dymin) * f
        ratios = [d / s for d, s in ((dw, sw), (dh, sh)) if s > 0]
        scale = min(ratios) if ratios else 1.0
        tx = (dxmin + dxmax) / 2.0 - scale * (sxmin + sxmax) / 2.0
        ty = (dymin + dymax) / 2.0 - scale * (symin + symax) / 2.0
        return float(scale), float(tx), float(ty)

    # -- lon/lat data laid out elsewhere ------------------------------------------------------
    def _lonlat_src(self) -> Bounds:
        if self.src_lonlat_bounds is None:
            raise ValueError("this placement has no lon/lat source bounds; use fit_lonlat()")
        return self.src_lonlat_bounds

    def _tangent(self, lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]:
        """Local tangent-plane metres around the source centre (x = dlon cos(lat0) 111,320 m,
        y = dlat 110,540 m)."""
        lon0, lat0, lon1, lat1 = self._lonlat_src()
        clon, clat = (lon0 + lon1) / 2, (lat0 + lat1) / 2
        x = (np.asarray(lon, np.float64) - clon) * np.cos(np.radians(clat)) * M_PER_DEG_LON_EQ
        y = (np.asarray(lat, np.float64) - clat) * M_PER_DEG_LAT
        return x, y

    def _tangent_bounds(self) -> Bounds:
        lon0, lat0, lon1, lat1 = self._lonlat_src()
        x, y = self._tangent(np.array([lon0, lon1]), np.array([lat0, lat1]))
        return (float(x[0]), float(y[0]), float(x[1]), float(y[1]))

    @property
    def scale(self) -> float:
        """Local metres per source metre (lon/lat placements)."""
        return self.affine(self._tangent_bounds())[0]

    def apply(self, lon: Any, lat: Any) -> FloatArray:
        """(n, 3) local metres (z = 0) of source lon/lat."""
        x, y = self._tangent(lon, lat)
        s, tx, ty = self.affine(self._tangent_bounds())
        out = np.zeros((np.size(x), 3))
        out[:, 0] = tx + np.ravel(x) * s
        out[:, 1] = ty + np.ravel(y) * s
        return out

    def describe(self) -> str:
        """One line for the UI: what was done to the positions."""
        return (
            f"positions scaled by {self.scale:.4g} and moved into {self.label}; "
            "distances are not real"
        )


def to_local(frame: LocalFrame, lon: Any, lat: Any, placement: Placement | None) -> FloatArray:
    """(n, 3) positions in the twin's frame: true positions, or laid on with a lon/lat placement."""
    if placement is not None:
        return placement.apply(lon, lat)
    return frame.lonlat_to_local(np.asarray(lon, np.float64), np.asarray(lat, np.float64))


def district_bounds(sets: list[FeatureSet], kind: str = "buildings") -> Bounds:
    """(xmin, ymin, xmax, ymax) of the 5th-95th percentile box of a kind of features.

    Raises
    ------
    InputError
        No features of that kind are loaded.
    """
    pts = [s.feature_centroids() for s in sets if s.kind == kind and s.n_features]
    if not pts:
        raise InputError(f"no {kind} loaded to place the data on")
    c = np.concatenate(pts)
    c = c[np.isfinite(c[:, 0])]
    lo = np.percentile(c[:, :2], 5, axis=0)
    hi = np.percentile(c[:, :2], 95, axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
