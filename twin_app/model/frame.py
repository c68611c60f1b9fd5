"""The local metric frame every twin is drawn and simulated in.

Coordinates are converted once, at load, from the source CRS to metres in a local frame
(x east, y north, z up) whose origin sits near the centre of the data. Rendering raw projected
coordinates (UTM, RD New, LV95: values of 10^5..10^6 m) in float32 jitters by decimetres; local
coordinates keep millimetre precision over tens of kilometres.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.errors import CRSError

if TYPE_CHECKING:
    from pyproj import CRS, Transformer

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def parse_crs(value: Any, where: str = "") -> CRS:
    """Turn an EPSG code, URN/URL, WKT or :class:`pyproj.CRS` into a CRS.

    Parameters
    ----------
    value
        ``"EPSG:28992"``, ``28992``, ``"urn:ogc:def:crs:EPSG::7415"``,
        ``"https://www.opengis.net/def/crs/EPSG/0/7415"``, WKT, or a CRS.
    where
        File or key named in the error message.

    Raises
    ------
    CRSError
        If the value is not a CRS pyproj knows.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    if isinstance(value, CRS):
        return value
    text = str(value).strip()
    # OGC URL / URN forms used by CityJSON: .../EPSG/0/7415 and urn:ogc:def:crs:EPSG::7415
    lowered = text.lower()
    if "epsg" in lowered and ("opengis.net" in lowered or lowered.startswith("urn:")):
        code = text.replace("::", ":").rstrip("/").split("/")[-1].split(":")[-1]
        text = f"EPSG:{code}"
    elif text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except ProjCRSError as exc:
        prefix = f"{where}: " if where else ""
        raise CRSError(
            f"{prefix}unknown coordinate reference system {value!r}; pass --crs EPSG:NNNN"
        ) from exc


def horizontal_crs(crs: CRS) -> CRS:
    """Return the horizontal (2D) part of a compound CRS such as EPSG:7415 (RD New + NAP)."""
    if crs.is_compound:
        for sub in crs.sub_crs_list:
            if not sub.is_vertical:
                return sub
    return crs


def looks_like_lonlat(bounds: FloatArray | tuple[float, float, float, float]) -> bool:
    """True if a (xmin, ymin, xmax, ymax) box fits in longitude/latitude ranges."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    return bool(-180.0 <= xmin <= xmax <= 180.0 and -90.0 <= ymin <= ymax <= 90.0)


@dataclass(frozen=True)
class LocalFrame:
    """A projected CRS plus an origin: local metres = projected metres - origin.

    Parameters
    ----------
    crs_wkt
        WKT of the horizontal, projected CRS in metres that the local frame is aligned with.
    origin
        (x0, y0, z0) in that CRS; z0 is subtracted from heights so the ground sits near z = 0.
    """

    crs_wkt: str
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _cache: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_data(
        cls, crs: CRS, bounds: tuple[float, float, float, float], z0: float = 0.0
    ) -> LocalFrame:
        """Choose a frame for data with `bounds` in `crs`.

        A projected CRS in metres is kept. A geographic CRS (lon/lat) gets the UTM zone of the
        data's centre (WGS 84 / UTM, EPSG:326xx or 327xx), so distances and areas are metric.
        The origin is the centre of the bounds, rounded to the metre.
        """
        from pyproj import CRS as _CRS
        from pyproj import Transformer
        from pyproj.aoi import AreaOfInterest
        from pyproj.database import query_utm_crs_info

        crs = horizontal_crs(crs)
        xmin, ymin, xmax, ymax = bounds
        cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if crs.is_geographic or unit not in ("metre", "meter"):
            to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            lon, lat = to_ll.transform(cx, cy)
            infos = query_utm_crs_info(
                datum_name="WGS 84",
                area_of_interest=AreaOfInterest(lon, lat, lon, lat),
            )
            if not infos:
                raise CRSError(f"no metric UTM zone found for lon {lon:.4f}, lat {lat:.4f}")
            target = _CRS.from_epsg(int(infos[0].code))
            cx, cy = Transformer.from_crs(crs, target, always_xy=True).transform(cx, cy)
            crs = target
        return cls(crs.to_wkt(), (round(cx), round(cy), round(z0)))

    # pyproj objects belong to the PROJ context of the thread that made them: using one from
    # another thread (a load worker, then the GUI thread) can crash once the first thread has
    # ended. So the CRS and transformers are cached per thread.
    def _thread_cache(self) -> dict[str, Any]:
        key = threading.get_ident()
        cache = self._cache.get(key)
        if cache is None:
            cache = self._cache[key] = {}
        return cache

    @property
    def crs(self) -> CRS:
        """The frame's projected CRS (one instance per thread)."""
        from pyproj import CRS

        cache = self._thread_cache()
        crs = cache.get("crs")
        if crs is None:
            crs = cache["crs"] = CRS.from_wkt(self.crs_wkt)
        return crs

    def _transformer(self, src: CRS, inverse: bool = False) -> Transformer:
        from pyproj import Transformer

        cache = self._thread_cache()
        key = f"{'inv' if inverse else 'fwd'}:{src.to_wkt()}"
        tr = cache.get(key)
        if tr is None:
            a, b = (self.crs, src) if inverse else (src, self.crs)
            tr = Transformer.from_crs(horizontal_crs(a), horizontal_crs(b), always_xy=True)
            cache[key] = tr
        return tr

    def same_as_frame(self, src: CRS) -> bool:
        """True when `src` (horizontally) is the frame's CRS, so no reprojection is needed."""
        return bool(horizontal_crs(src) == self.crs)

    def to_local(
        self, x: FloatArray, y: FloatArray, src: CRS | None = None, z: FloatArray | None = None
    ) -> FloatArray:
        """Convert coordinates from `src` (default: the frame CRS) to local metres.

        Returns an (n, 3) float64 array; z is shifted by the origin's z (0 if `z` is None).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if src is not None and not self.same_as_frame(src):
            x, y = self._transformer(src).transform(x, y)
            x = np.asarray(x, dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
        out = np.empty((x.shape[0], 3), dtype=np.float64)
        out[:, 0] = x - self.origin[0]
        out[:, 1] = y - self.origin[1]
        out[:, 2] = 0.0 if z is None else np.asarray(z, dtype=np.float64) - self.origin[2]
        return out

    def to_lonlat(self, xy: FloatArray) -> FloatArray:
        """Local (n, 2+) metres to (n, 2) longitude/latitude in degrees (WGS 84)."""
        from pyproj import CRS

        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        tr = self._transformer(CRS.from_epsg(4326), inverse=True)
        lon, lat = tr.transform(xy[:, 0] + self.origin[0], xy[:, 1] + self.origin[1])
        return np.column_stack([lon, lat])

    def lonlat_to_local(self, lon: FloatArray, lat: FloatArray) -> FloatArray:
        """Longitude/latitude (degrees, WGS 84) to local (n, 3) metres with z = 0."""
        from pyproj import CRS

        return self.to_local(lon, lat, src=CRS.from_epsg(4326))

    def bbox_wgs84(self, local_bounds: tuple[float, float, float, float]) -> list[float]:
        """Local (xmin, ymin, xmax, ymax) to [lon_min, lat_min, lon_max, lat_max]."""
        xmin, ymin, xmax, ymax = local_bounds
        xs = np.array([xmin, xmax, xmax, xmin])
        ys = np.array([ymin, ymin, ymax, ymax])
        ll = self.to_lonlat(np.column_stack([xs, ys]))
        return [
            float(ll[:, 0].min()),
            float(ll[:, 1].min()),
            float(ll[:, 0].max()),
            float(ll[:, 1].max()),
        ]

    @property
    def epsg(self) -> int | None:
        """EPSG code of the frame CRS, if it has one."""
        code = self.crs.to_epsg()
        return int(code) if code is not None else None
