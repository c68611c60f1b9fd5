"""Local frame: CRS parsing, UTM choice for lon/lat, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

from twin_app.errors import CRSError
from twin_app.model.frame import LocalFrame, horizontal_crs, looks_like_lonlat, parse_crs


@pytest.mark.parametrize(
    "text",
    [
        "EPSG:7415",
        "7415",
        "urn:ogc:def:crs:EPSG::7415",
        "https://www.opengis.net/def/crs/EPSG/0/7415",
    ],
)
def test_parse_crs_accepts_cityjson_forms(text: str) -> None:
    assert parse_crs(text).to_epsg() == 7415


def test_parse_crs_unknown_is_a_clear_error() -> None:
    with pytest.raises(CRSError, match="--crs"):
        parse_crs("EPSG:99999999", "x.json")


def test_compound_crs_horizontal_part() -> None:
    assert horizontal_crs(CRS.from_epsg(7415)).to_epsg() == 28992


def test_lonlat_data_gets_a_utm_frame_centred_on_the_data() -> None:
    frame = LocalFrame.for_data(CRS.from_epsg(4326), (-0.124, 51.502, -0.090, 51.525))
    assert frame.epsg == 32630  # London: UTM zone 30 north
    local = frame.lonlat_to_local(np.array([-0.107]), np.array([51.5135]))
    assert np.abs(local[0, :2]).max() < 1500  # the centre is near the origin
    back = frame.to_lonlat(local)
    assert back[0] == pytest.approx([-0.107, 51.5135], abs=1e-9)


def test_projected_frame_keeps_crs_and_shifts_origin() -> None:
    frame = LocalFrame.for_data(
        CRS.from_epsg(28992), (84616.0, 447423.0, 85136.0, 447753.0), z0=-0.45
    )
    assert frame.epsg == 28992
    assert frame.origin == (84876, 447588, 0)
    p = frame.to_local(np.array([84876.5]), np.array([447588.25]), z=np.array([10.0]))
    assert p[0] == pytest.approx([0.5, 0.25, 10.0])
    # Delft in lon/lat lands where RD New puts it (pyproj round trip within a millimetre)
    ll = frame.to_lonlat(p)
    again = frame.lonlat_to_local(ll[:, 0], ll[:, 1])
    assert again[0, :2] == pytest.approx([0.5, 0.25], abs=1e-3)


def test_looks_like_lonlat() -> None:
    assert looks_like_lonlat((4.3, 52.0, 4.4, 52.1))
    assert not looks_like_lonlat((84616.0, 447423.0, 85136.0, 447753.0))
