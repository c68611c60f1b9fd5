"""The session's sun follows the clock over the twin's place (engines/sun.py through pvlib)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import CRS

from twin_app.engines.sun import sun_position
from twin_app.model.city import CityModel
from twin_app.model.frame import LocalFrame
from twin_app.session import Session

#: British National Grid, origin in the City of London (about lon -0.092, lat 51.514).
CITY = LocalFrame(CRS.from_epsg(27700).to_wkt(), (532500.0, 181300.0, 0.0))


def _ns(text: str) -> int:
    return int(pd.Timestamp(text).value)


@pytest.fixture
def session() -> Session:
    s = Session()
    s.city = CityModel(CITY)
    return s


def test_sun_follows_the_clock_over_the_frame(session: Session) -> None:
    changes: list[float] = []
    session.sun.events.elevation_deg.connect(changes.append)
    assert not session.sun.known
    session.clock.seek(_ns("2026-03-02T12:00Z"))
    lon, lat = CITY.to_lonlat(np.zeros((1, 2)))[0]
    want = sun_position(float(lon), float(lat), _ns("2026-03-02T12:00Z"))
    sun = session.sun
    assert sun.known and sun.above_horizon
    assert sun.azimuth_deg == pytest.approx(want.azimuth_deg, abs=1e-9)
    assert sun.elevation_deg == pytest.approx(want.elevation_deg, abs=1e-9)
    assert 170 < sun.azimuth_deg < 185 and 25 < sun.elevation_deg < 35  # noon, early March
    x, y, z = sun.direction
    assert y < -0.8 and z > 0.4 and abs(x) < 0.2  # towards the south, up
    session.clock.seek(_ns("2026-03-02T12:00:30Z"))  # under a minute: no recomputation
    assert len(changes) == 1
    session.clock.seek(_ns("2026-03-02T23:00Z"))
    assert not session.sun.above_horizon and len(changes) == 2


def test_no_sun_before_a_place_is_known() -> None:
    s = Session()
    s.clock.seek(_ns("2026-03-02T12:00Z"))
    assert not s.sun.known
