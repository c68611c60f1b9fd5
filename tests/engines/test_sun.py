"""The sun engine against NREL's SPA worked example and solar geometry for London."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from twin_app.engines.sun import sun_direction, sun_position
from twin_app.errors import EngineError


def _ns(text: str) -> int:
    return int(pd.Timestamp(text).value)


def test_spa_reference_example_golden_colorado() -> None:
    """Reda & Andreas (2008), table A4.1, as pvlib's own tests use it."""
    pos = sun_position(
        -105.1786,
        39.742476,
        _ns("2003-10-17 12:30:30-07:00"),
        altitude_m=1830.14,
        pressure_pa=82000.0,
        temperature_c=11.0,
        delta_t_s=67.0,
    )
    assert pos.zenith_deg == pytest.approx(50.111622, abs=1e-5)
    assert pos.azimuth_deg == pytest.approx(194.340241, abs=1e-5)
    assert pos.above_horizon


def test_london_noon_at_the_solstice_and_equinox() -> None:
    """At local solar noon the sun is due south at 90 - latitude + declination.

    London (51.5072 N, 0.1276 W): solar noon on 21 June 2026 is at about 12:01:40 UTC
    (equation of time -1.6 min, 0.5 min for the longitude), declination +23.44 deg; on
    20 March 2026 at about 12:08 UTC, declination -0.1 deg (equinox at 14:46 UTC).
    """
    lat = 51.5072
    june = sun_position(-0.1276, lat, _ns("2026-06-21 12:01:40Z"))
    assert june.elevation_deg == pytest.approx(90.0 - lat + 23.44, abs=0.1)
    assert june.azimuth_deg == pytest.approx(180.0, abs=0.5)
    march = sun_position(-0.1276, lat, _ns("2026-03-20 12:08:00Z"))
    assert march.elevation_deg == pytest.approx(90.0 - lat - 0.1, abs=0.15)
    night = sun_position(-0.1276, lat, _ns("2026-03-02 00:00Z"))
    assert not night.above_horizon and night.elevation_deg < -30


def test_direction_points_at_the_sun() -> None:
    x, y, z = sun_direction(180.0, 30.0)  # due south, 30 degrees up
    assert (x, y, z) == pytest.approx((0.0, -math.cos(math.radians(30)), 0.5), abs=1e-12)
    x, y, z = sun_direction(90.0, 0.0)  # east, on the horizon
    assert (x, y, z) == pytest.approx((1.0, 0.0, 0.0), abs=1e-12)


def test_a_place_off_the_globe_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="not a place on Earth"):
        sun_position(500000.0, 5700000.0, 0)
