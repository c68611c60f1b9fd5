"""Sun position for a place and a UTC time: NREL's Solar Position Algorithm through pvlib (the
only module that imports pvlib).

:func:`sun_position` returns the sun's azimuth (degrees clockwise from true north) and its
apparent elevation above the horizon (degrees, with atmospheric refraction) for a longitude,
latitude and UTC time, using :func:`pvlib.solarposition.spa_python`: I. Reda and A. Andreas,
*Solar Position Algorithm for Solar Radiation Applications*, NREL/TP-560-34302 (2003, revised
2008), stated uncertainty +-0.0003 degrees for years -2000 to 6000.

:func:`sun_direction` turns azimuth and elevation into the unit vector pointing at the sun in
a local frame with x east, y north, z up::

    d = (cos(el) * sin(az), cos(el) * cos(az), sin(el))

Grid north of a projected frame differs from true north by the meridian convergence (under 2
degrees inside a UTM zone's central band); the twin's shadows ignore it.

Validation: ``tests/engines/test_sun.py`` reproduces the SPA report's worked example (Golden,
Colorado, 17 October 2003 12:30:30 -07:00; zenith 50.11162 degrees, azimuth 194.34024 degrees)
and NOAA solar calculator values for London.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin_app.errors import EngineError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class SunPosition:
    """Where the sun stands, seen from one place at one time.

    Attributes
    ----------
    azimuth_deg
        Compass bearing of the sun, degrees clockwise from true north (180 = due south).
    elevation_deg
        Apparent elevation above the horizon (refraction included), degrees; negative at night.
    zenith_deg
        Apparent zenith angle, ``90 - elevation_deg``.
    """

    azimuth_deg: float
    elevation_deg: float

    @property
    def zenith_deg(self) -> float:
        """Apparent zenith angle, degrees."""
        return 90.0 - self.elevation_deg

    @property
    def above_horizon(self) -> bool:
        """True when the sun's centre is above the horizon."""
        return self.elevation_deg > 0.0


def sun_position(
    lon_deg: float,
    lat_deg: float,
    t_ns: int,
    altitude_m: float = 0.0,
    pressure_pa: float = 101325.0,
    temperature_c: float = 12.0,
    delta_t_s: float | None = 67.0,
) -> SunPosition:
    """Sun azimuth and apparent elevation at a place and UTC time (NREL SPA through pvlib).

    Parameters
    ----------
    lon_deg, lat_deg
        Place, degrees (WGS 84; east and north positive).
    t_ns
        Time, UTC nanoseconds since 1970.
    altitude_m
        Height of the place above sea level, metres.
    pressure_pa, temperature_c
        Annual mean air pressure (Pa) and temperature (°C) for the refraction correction.
    delta_t_s
        TT - UT1 in seconds (67 s in 2003, about 69 s in the 2020s; a second moves the sun
        by 0.004 degrees). None lets pvlib estimate it from the date.

    Returns
    -------
    SunPosition

    Raises
    ------
    EngineError
        For a place off the globe or a time that is not finite.
    """
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0) or not (
        math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0
    ):
        raise EngineError(
            f"sun position: lon {lon_deg}, lat {lat_deg} is not a place on Earth; "
            "check the twin's coordinate reference system"
        )
    import pandas as pd
    from pvlib.solarposition import spa_python

    times = pd.DatetimeIndex([pd.Timestamp(int(t_ns), unit="ns", tz="UTC")])
    pos = spa_python(
        times,
        latitude=float(lat_deg),
        longitude=float(lon_deg),
        altitude=float(altitude_m),
        pressure=float(pressure_pa),
        temperature=float(temperature_c),
        delta_t=delta_t_s,
        how="numpy",
    )
    return SunPosition(
        azimuth_deg=float(pos["azimuth"].iloc[0]),
        elevation_deg=float(pos["apparent_elevation"].iloc[0]),
    )


def sun_direction(azimuth_deg: float, elevation_deg: float) -> tuple[float, float, float]:
    """Unit vector towards the sun in a local frame (x east, y north, z up).

    ``(cos(el) sin(az), cos(el) cos(az), sin(el))`` with az clockwise from north.
    """
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    d = np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    return (float(d[0]), float(d[1]), float(d[2]))


def sun_positions(
    lon_deg: float,
    lat_deg: float,
    t_ns: np.ndarray[Any, Any],
    altitude_m: float = 0.0,
    delta_t_s: float | None = 67.0,
) -> tuple[FloatArray, FloatArray]:
    """Sun azimuth and apparent elevation at many UTC times in one pvlib call.

    The vectorised form of :func:`sun_position` (same algorithm, defaults and checks).

    Parameters
    ----------
    lon_deg, lat_deg
        Place, degrees (WGS 84).
    t_ns
        (k,) times, UTC nanoseconds since 1970.
    altitude_m, delta_t_s
        As for :func:`sun_position`.

    Returns
    -------
    tuple of numpy.ndarray
        (k,) azimuth (degrees clockwise from north) and (k,) apparent elevation (degrees).
    """
    sun_position(lon_deg, lat_deg, 0, altitude_m)  # validates the place
    import pandas as pd
    from pvlib.solarposition import spa_python

    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(t_ns, dtype=np.int64), unit="ns", utc=True))
    pos = spa_python(
        times,
        latitude=float(lat_deg),
        longitude=float(lon_deg),
        altitude=float(altitude_m),
        delta_t=delta_t_s,
        how="numpy",
    )
    return (
        pos["azimuth"].to_numpy(dtype=np.float64),
        pos["apparent_elevation"].to_numpy(dtype=np.float64),
    )


def sun_directions(azimuth_deg: FloatArray, elevation_deg: FloatArray) -> FloatArray:
    """(k, 3) unit vectors towards the sun (x east, y north, z up); see :func:`sun_direction`."""
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
