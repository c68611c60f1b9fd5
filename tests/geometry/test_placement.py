"""One Placement for everything laid out elsewhere: EPANET networks (planar) and lon/lat series."""

from __future__ import annotations

import numpy as np
import pytest

from twin_app.geometry.placement import Placement

DST = (-800.0, -600.0, 800.0, 600.0)


def test_planar_fit_keeps_aspect_and_centres() -> None:
    scale, tx, ty = Placement.fit(DST).affine((0.0, 0.0, 100.0, 50.0))
    assert scale == pytest.approx(16.0)  # width-bound: 1600 / 100
    assert (tx, ty) == pytest.approx((-800.0, -400.0))


def test_margin_shrinks_the_target_box() -> None:
    full = Placement.fit(DST).affine((0.0, 0.0, 100.0, 100.0))[0]
    inset = Placement.fit(DST, margin=0.1).affine((0.0, 0.0, 100.0, 100.0))[0]
    assert inset == pytest.approx(full * 0.8)


def test_lonlat_fit_is_the_planar_fit_of_tangent_plane_metres() -> None:
    src = (-118.5, 33.9, -117.9, 34.3)
    p = Placement.fit_lonlat(src, DST, margin=0.08)
    lon = np.array([-118.5, -118.2, -117.9])
    lat = np.array([33.9, 34.1, 34.3])
    got = p.apply(lon, lat)
    clon, clat = -118.2, 34.1
    x = (lon - clon) * np.cos(np.radians(clat)) * 111_320.0
    y = (lat - clat) * 110_540.0
    s, tx, ty = p.affine((x[0], y[0], x[-1], y[-1]))
    assert np.allclose(got[:, 0], s * x + tx) and np.allclose(got[:, 1], s * y + ty)
    assert np.allclose(got[:, 2], 0.0)
    assert got[1, :2] == pytest.approx((0.0, 0.0), abs=1e-6)  # source centre -> target centre
    assert p.scale == pytest.approx(s)
    assert "moved into this district" in p.describe() and "not real" in p.describe()


def test_for_lonlat_ignores_missing_positions() -> None:
    p = Placement.for_lonlat([np.nan, 1.0, 2.0], [0.0, 50.0, 51.0], DST)
    assert p.src_lonlat_bounds == (1.0, 50.0, 2.0, 51.0)


def test_exactly_one_of_crs_and_fit() -> None:
    assert Placement.from_crs(3003).crs == "EPSG:3003"
    with pytest.raises(ValueError, match="exactly one"):
        Placement()
    with pytest.raises(ValueError, match="exactly one"):
        Placement(crs="EPSG:3003", fit_bounds=DST)
    with pytest.raises(ValueError, match="lon/lat source bounds"):
        Placement.fit(DST).apply([0.0], [0.0])
