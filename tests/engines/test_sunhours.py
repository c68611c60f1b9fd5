"""Sun hours against pvlib's independent sunrise/transit/sunset and plane geometry.

References: solar transit, sunrise and sunset from
:func:`pvlib.solarposition.sun_rise_set_transit_spa` (NREL SPA, a different pvlib entry point
from the sampled positions the engine uses); shadow length ``L = h / tan(elevation)``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from twin_app.engines import sunhours as sh
from twin_app.engines.sun import sun_position
from twin_app.errors import EngineError
from twin_app.geometry.raycast import Occluder
from twin_app.model.mesh import TriMesh

LAT, LON = 51.5074, -0.1278  # London
EQUINOX = dt.date(2025, 3, 20)


def empty() -> TriMesh:
    return TriMesh.empty(("building_index", np.int32), ("surface", np.uint8))


def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def ground_plane(mesh: TriMesh, half: float = 2000.0) -> Occluder:
    """The mesh plus a ground square at z = 0 (receptors sit above it)."""
    g = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], float)
    pts = np.concatenate([mesh.points, g])
    n = mesh.n_points
    tri = np.concatenate([mesh.triangles, np.array([[n, n + 1, n + 2], [n, n + 2, n + 3]])])
    return Occluder(pts, tri)


def rise_set_transit(lat: float, lon: float, date: dt.date) -> tuple[Any, Any, Any]:
    import pandas as pd
    from pvlib.solarposition import sun_rise_set_transit_spa

    t = pd.DatetimeIndex([pd.Timestamp(date.isoformat(), tz="UTC") + pd.Timedelta(hours=12)])
    r = sun_rise_set_transit_spa(t, lat, lon)
    return r["sunrise"].iloc[0], r["sunset"].iloc[0], r["transit"].iloc[0]


def test_noon_shadow_length_of_a_box_matches_h_over_tan_elevation() -> None:
    h, cell = 30.0, 0.5
    mesh = sh.add_building(empty(), box(-10, -10, 10, 10), h)
    occ = ground_plane(mesh)
    _, _, transit = rise_set_transit(LAT, LON, EQUINOX)
    el = sun_position(LON, LAT, int(transit.value)).elevation_deg
    expected = h / math.tan(math.radians(el))
    ground = sh.ground_receptors(occ, (-2.0, 10.0, 2.0, 100.0), cell)
    noon_t, d = sh.solar_noon(LAT, LON, EQUINOX)
    assert abs(noon_t - transit.value) < 60e9  # the engine's noon is pvlib's transit
    shade = sh.shadow_mask(occ, ground, d)
    _, ys = ground.grid.centres()
    tip = ys[shade].max() + cell / 2 - 10.0  # shadow beyond the north wall
    assert tip == pytest.approx(expected, abs=cell)


def test_shadow_area_noon_of_a_box() -> None:
    h = 30.0
    mesh = sh.add_building(empty(), box(-10, -10, 10, 10), h)
    occ = Occluder(mesh.points, mesh.triangles)
    ground = sh.ground_receptors(occ, (-60, -60, 60, 120), 0.5)
    assert (~ground.public).sum() * 0.25 == pytest.approx(400.0, abs=1.0)  # the footprint
    _, _, transit = rise_set_transit(LAT, LON, EQUINOX)
    pos = sun_position(LON, LAT, int(transit.value))
    # a 20 m wide box lit from (nearly) due south throws a 20 x L rectangle
    expected = 20.0 * h / math.tan(math.radians(pos.elevation_deg))
    area = sh.shadow_area_noon_m2(occ, ground, LAT, LON, EQUINOX)
    assert area == pytest.approx(expected, rel=0.03)


def test_open_receptor_gets_sunrise_to_sunset() -> None:
    occ = ground_plane(empty())
    step = 5.0
    for date in (EQUINOX, dt.date(2025, 6, 21), dt.date(2025, 12, 21)):
        rise, sset, _ = rise_set_transit(LAT, LON, date)
        daylight = (sset - rise).total_seconds() / 3600.0
        h = sh.sun_hours(occ, [[0.0, 0.0, 0.0]], LAT, LON, date, step_min=step)
        # pvlib's sunrise is the upper limb at -0.833 deg; the engine counts the centre above
        # the apparent horizon, a few minutes less per end
        assert h[0] == pytest.approx(daylight, abs=step / 60.0 + 0.1)


def test_receptor_north_of_a_tall_wall_gets_no_winter_sun() -> None:
    lat = 60.0
    mesh = sh.add_building(empty(), box(-200, -2, 200, 0), 60.0)
    occ = ground_plane(mesh)
    h = sh.sun_hours(occ, [[0.0, 5.0, 0.0], [0.0, -5.0, 0.0]], lat, 10.0, dt.date(2025, 12, 21))
    assert h[0] == 0.0
    assert h[1] > 4.0  # south of it, the short winter day in full


def test_south_facade_gets_the_day_north_facade_almost_none_at_equinox() -> None:
    mesh = sh.add_building(empty(), box(-10, -10, 10, 10), 20.0)
    occ = ground_plane(mesh)
    f = sh.facade_receptors(mesh, 2.0)
    h = sh.sun_hours(occ, f.xyz, LAT, LON, EQUINOX, normals=f.normals, step_min=5.0)
    south = f.normals[:, 1] < -0.99
    north = f.normals[:, 1] > 0.99
    rise, sset, _ = rise_set_transit(LAT, LON, EQUINOX)
    daylight = (sset - rise).total_seconds() / 3600.0
    # declination ~0: the sun is south of the east-west line all day but near the horizon;
    # pvlib's day runs from the upper limb at -0.833 deg, about 0.09 h longer at each end
    # (the sun climbs about 15 cos(lat) = 9.3 deg/h there) than the centre above the horizon
    assert h[south].mean() == pytest.approx(daylight, abs=0.35)
    assert h[south].mean() == pytest.approx(12.0, abs=0.5)  # about half of the 24 h day
    assert h[north].max() <= 0.5
    per_b = f.per_building(h, 1)
    assert 0.0 < per_b[0] < 12.0
    assert f.area_m2.sum() == pytest.approx(4 * 20 * 20.0)


def city() -> TriMesh:
    rng = np.random.default_rng(3)
    m = empty()
    fps, hs = [], []
    for i in range(5):
        for j in range(5):
            x, y = 40.0 * i + rng.uniform(0, 10), 40.0 * j + rng.uniform(0, 10)
            fps.append(box(x, y, x + rng.uniform(10, 25), y + rng.uniform(10, 25)))
            hs.append(rng.uniform(8, 40))
    return sh.add_buildings(m, fps, np.array(hs))


def test_adding_a_building_only_removes_sun_and_results_repeat() -> None:
    base = city()
    scen = sh.add_building(base, box(70, 70, 80, 78), 60.0)
    assert scen.cell_data["building_index"].max() == 25
    occ_b = Occluder(base.points, base.triangles)
    occ_s = Occluder(scen.points, scen.triangles)
    bounds = (-20.0, -20.0, 220.0, 220.0)
    gb = sh.ground_receptors(occ_b, bounds, 4.0)
    gs = sh.ground_receptors(occ_s, bounds, 4.0)
    date = dt.date(2025, 6, 21)
    hb = sh.sun_hours(occ_b, gb.xyz, LAT, LON, date, step_min=20.0)
    hs = sh.sun_hours(occ_s, gs.xyz, LAT, LON, date, step_min=20.0)
    assert (hs <= hb).all()
    assert np.array_equal(hb, sh.sun_hours(occ_b, gb.xyz, LAT, LON, date, step_min=20.0))
    fac = sh.facade_receptors(base, 4.0)
    fb = sh.sun_hours(occ_b, fac.xyz, LAT, LON, date, fac.normals, step_min=20.0)
    fs = sh.sun_hours(occ_s, fac.xyz, LAT, LON, date, fac.normals, step_min=20.0)
    assert (fs <= fb).all()
    lost = sh.sun_hours_lost_public_m2h(hb, hs, gb.public, gs.public, 16.0)
    assert lost > 0.0
    n = sh.buildings_losing_1h_sun(fac, fb, fac, fs)
    assert 0 <= n <= 25
    assert sh.buildings_losing_1h_sun(fac, fb, fac, fb) == 0
    drop = fb - fs
    assert n == np.unique(fac.building_index[drop >= 1.0 - 1e-9]).size
    assert sh.sun_hours_lost_public_m2h(hb, hb, gb.public, gb.public, 16.0) == 0.0


def test_kpi_definitions_on_hand_values() -> None:
    hb = np.array([5.0, 3.0, 2.0, 4.0])
    hs = np.array([4.0, 3.5, 0.0, 0.0])
    pub = np.array([True, True, True, False])
    assert sh.sun_hours_lost_public_m2h(hb, hs, pub, pub, 4.0) == pytest.approx((1 + 2) * 4.0)
    # four wall patches of three buildings; building 2's second patch exists only in the
    # scenario's mesh (its wall moved), so it is not compared
    xyz = np.array([[0.0, 0, 1], [5, 0, 1], [9, 0, 1], [9, 0, 4]])
    base = sh.FacadeReceptors(xyz[:3], np.zeros((3, 3)), np.ones(3), np.array([0, 1, 2]))
    scen = sh.FacadeReceptors(xyz[[0, 1, 3]], np.zeros((3, 3)), np.ones(3), np.array([0, 1, 2]))
    hb, hs = np.array([6.0, 5.0, 3.0]), np.array([5.0, 4.5, 0.0])
    assert sh.buildings_losing_1h_sun(base, hb, scen, hs) == 1  # building 0 (1 h); 1 lost 0.5
    assert sh.buildings_losing_1h_sun(base, hb, scen, hs, exclude=[0]) == 0
    assert sh.buildings_losing_1h_sun(base, hb, scen, hs, threshold_h=0.5) == 2


def test_massing_edits() -> None:
    base = city()
    gone = sh.remove_buildings(base, np.array([3, 7]))
    assert not np.isin(gone.cell_data["building_index"], [3, 7]).any()
    assert gone.n_triangles == base.n_triangles - 20
    assert gone.triangles.max() == gone.n_points - 1
    mask = np.zeros(25, bool)
    mask[[3, 7]] = True
    assert np.array_equal(sh.remove_buildings(base, mask).triangles, gone.triangles)
    tall = sh.set_height(base, [4], 75.0)
    sel = tall.triangles[tall.cell_data["building_index"] == 4].ravel()
    assert tall.points[sel, 2].max() == pytest.approx(75.0)
    assert tall.points[sel, 2].min() == pytest.approx(0.0)
    other = tall.triangles[tall.cell_data["building_index"] != 4].ravel()
    assert np.array_equal(tall.points[other], base.points[other])
    # the same as extruding the footprint to that height
    ref = sh.add_building(empty(), box(0, 0, 10, 10), 75.0)
    moved = sh.set_height(sh.add_building(empty(), box(0, 0, 10, 10), 12.0), [0], 75.0)
    assert np.allclose(moved.points, ref.points)
    with pytest.raises(EngineError):
        sh.add_building(base, [(0, 0), (1, 1), (2, 2)], 10.0)
    with pytest.raises(EngineError):
        sh.set_height(base, [1], -3.0)


def test_a_date_is_the_local_solar_day_far_from_greenwich() -> None:
    # Beijing: the sun rises about 22:00 UTC the day before; the whole day is still counted
    lat, lon = 39.9042, 116.4074
    occ = ground_plane(empty())
    date = dt.date(2025, 6, 21)
    rise, sset, _ = rise_set_transit(lat, lon, date)
    daylight = (sset - rise).total_seconds() / 3600.0
    h = sh.sun_hours(occ, [[0.0, 0.0, 0.0]], lat, lon, date, step_min=5.0)
    assert h[0] == pytest.approx(daylight, abs=5.0 / 60.0 + 0.1)


def test_bad_time_range() -> None:
    with pytest.raises(EngineError):
        sh.time_span(("2025-03-20T12:00", "2025-03-20T10:00"))
    t, d, step_h = sh.sun_samples(LAT, LON, ("2025-03-20T10:00", "2025-03-20T12:00"), 30.0)
    assert len(t) == 4 and step_h == 0.5 and (d[:, 2] > 0).all()


def test_vectorised_sun_positions_match_the_scalar_spa() -> None:
    from twin_app.engines.sun import sun_direction, sun_directions, sun_positions

    t = np.array([1_742_470_000, 1_742_490_000, 1_750_500_000], dtype=np.int64) * 10**9
    az, el = sun_positions(LON, LAT, t)
    d = sun_directions(az, el)
    for i, ti in enumerate(t):
        p = sun_position(LON, LAT, int(ti))
        assert az[i] == pytest.approx(p.azimuth_deg, abs=1e-9)
        assert el[i] == pytest.approx(p.elevation_deg, abs=1e-9)
        assert np.allclose(d[i], sun_direction(p.azimuth_deg, p.elevation_deg))
