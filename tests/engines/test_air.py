"""The plume engine against published values, an independent implementation and exact properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.typing import ArrayLike

from twin_app.engines.air import (
    DEFAULT_EMISSION_FACTORS,
    AirInputs,
    EmissionFactors,
    LineSources,
    Met,
    PointSources,
    ReceptorGrid,
    briggs_sigmas,
    compass_deg,
    fleet_emission_factors,
    grid_concentration,
    insolation_category,
    non_exhaust_g_km,
    pasquill_class,
    plume_concentration,
    point_concentration,
    road_emission_g_s_m,
    simulate,
    split_lines,
    stability_class,
)
from twin_app.engines.sun import sun_position
from twin_app.errors import EngineError
from twin_app.model import aqi


def _P(xy: ArrayLike, q: ArrayLike, h: ArrayLike) -> PointSources:
    return PointSources(np.asarray(xy, float), np.asarray(q, float), np.asarray(h, float))


def _L(a: ArrayLike, b: ArrayLike, q: ArrayLike, height_m: float = 0.0) -> LineSources:
    return LineSources(np.asarray(a, float), np.asarray(b, float), np.asarray(q, float), height_m)


def _stack(q: float = 100.0, h: float = 90.0) -> PointSources:
    return _P(np.array([[0.0, 0.0]]), np.array([q]), np.array([h]))


# ---------------------------------------------------------------- published worked example


def test_de_visscher_example_2_1() -> None:
    """De Visscher (2014) Example 2.1: Q 100 g/s, H 90 m, u 7 m/s, class D, rural, x 1500 m."""
    met = Met(7.0, 270.0, "D", "rural")  # from the west: the plume runs east along +x
    c = point_concentration(_stack(), [[1500.0, 0.0], [1500.0, 100.0]], met, receptor_z_m=0.0)
    assert round(float(c[0]), 1) == 160.3
    assert round(float(c[1]), 1) == 107.5


@pytest.mark.parametrize("wind_from", [0.0, 45.0, 123.4, 200.0, 315.0])
def test_wind_direction_rotates_the_plume(wind_from: float) -> None:
    """The example's receptor moved 1500 m downwind of any wind direction sees the same value."""
    met = Met(7.0, wind_from, "D", "rural")
    ex, ey = met.downwind
    r = [[1500.0 * ex, 1500.0 * ey], [1500.0 * ex - 100.0 * ey, 1500.0 * ey + 100.0 * ex]]
    c = point_concentration(_stack(), r, met, receptor_z_m=0.0)
    assert c == pytest.approx([160.284, 107.516], abs=1e-3)


# ---------------------------------------------------------------- Briggs coefficients


# Values at x = 1.2 m of aefarrell/GasDispersion.jl (test/utils/ccps_tests.jl), an independent
# implementation of the same Briggs formulas (CCPS 1999 / Hanna, Briggs and Hosker 1982).
_GASDISPERSION_URBAN = {
    "A": (0.38390787316433456, 0.2881727481910807),
    "B": (0.38390787316433456, 0.2881727481910807),
    "C": (0.26393666280048, 0.24),
    "D": (0.19195393658216728, 0.16796976816235135),
    "E": (0.13196833140024, 0.09591371646531512),
    "F": (0.13196833140024, 0.09591371646531512),
}
_GASDISPERSION_RURAL = {
    "A": (0.2639841614254575, 0.24),
    "B": (0.19198848103669636, 0.144),
    "C": (0.13199208071272875, 0.09598848207318536),
    "D": (0.09599424051834818, 0.07193528734898633),
    "E": (0.07199568038876113, 0.03598704466392099),
    "F": (0.04799712025917409, 0.019193090487424527),
}


@pytest.mark.parametrize(
    ("terrain", "cls", "expected"),
    [("urban", k, v) for k, v in _GASDISPERSION_URBAN.items()]
    + [("rural", k, v) for k, v in _GASDISPERSION_RURAL.items()],
)
def test_briggs_against_gasdispersion_jl(
    terrain: str, cls: str, expected: tuple[float, float]
) -> None:
    sy, sz = briggs_sigmas(1.2, cls, terrain)  # type: ignore[arg-type]
    assert float(sy) == pytest.approx(expected[0], rel=1e-12)
    assert float(sz) == pytest.approx(expected[1], rel=1e-12)


def test_briggs_is_vectorised_and_intermediate_classes_average() -> None:
    x = np.array([[0.0, 100.0], [1000.0, 5000.0]])
    sy, sz = briggs_sigmas(x, "C-D", "urban")
    syc, szc = briggs_sigmas(x, "C", "urban")
    syd, szd = briggs_sigmas(x, "D", "urban")
    assert sy.shape == x.shape
    np.testing.assert_allclose(sy, 0.5 * (syc + syd))
    np.testing.assert_allclose(sz, 0.5 * (szc + szd))
    assert sy[0, 0] == 0.0 and sz[0, 0] == 0.0
    with pytest.raises(EngineError, match="stability class"):
        briggs_sigmas(x, "G")


# ---------------------------------------------------------------- stability classes


# Pasquill (1961) as printed in Turner (1970), key to stability categories: (wind, column, class).
_PASQUILL_CELLS = [
    (1.5, "strong", "A"),
    (1.5, "moderate", "A-B"),
    (1.5, "slight", "B"),
    (2.0, "strong", "A-B"),
    (2.5, "moderate", "B"),
    (2.5, "slight", "C"),
    (2.5, "night_cloudy", "E"),
    (2.5, "night_clear", "F"),
    (4.0, "strong", "B"),
    (4.0, "moderate", "B-C"),
    (4.0, "slight", "C"),
    (4.0, "night_cloudy", "D"),
    (4.0, "night_clear", "E"),
    (5.5, "strong", "C"),
    (5.5, "moderate", "C-D"),
    (5.5, "slight", "D"),
    (5.5, "night_clear", "D"),
    (8.0, "strong", "C"),
    (8.0, "moderate", "D"),
    (8.0, "night_clear", "D"),
    (8.0, "overcast", "D"),
    (1.0, "overcast", "D"),
    # Turner (1964): calm nights are F (G merged into F).
    (0.5, "night_cloudy", "F"),
    (0.5, "night_clear", "F"),
]


@pytest.mark.parametrize(("wind", "column", "expected"), _PASQUILL_CELLS)
def test_pasquill_table_cells(wind: float, column: str, expected: str) -> None:
    assert pasquill_class(wind, column) == expected


@pytest.mark.parametrize(
    ("elev", "oktas", "expected"),
    [
        (65.0, 0, "strong"),
        (45.0, 2, "moderate"),
        (25.0, 0, "slight"),
        (8.0, 0, "slight"),
        (65.0, 6, "moderate"),
        (45.0, 5, "slight"),
        (25.0, 7, "slight"),
        (-10.0, 2, "night_clear"),
        (-10.0, 4, "night_cloudy"),
        (30.0, 8, "overcast"),
        (-30.0, 8, "overcast"),
    ],
)
def test_insolation_from_sun_and_cloud(elev: float, oktas: int, expected: str) -> None:
    assert insolation_category(elev, oktas) == expected
    assert insolation_category(elev, oktas / 8.0, cloud_unit="fraction") == expected


def test_stability_class_with_the_twins_sun() -> None:
    """London, midsummer noon: the sun stands about 62 degrees high (strong insolation)."""
    t = int(pd.Timestamp("2026-06-21 12:00:00Z").value)
    elev = sun_position(-0.1, 51.51, t).elevation_deg
    assert 61.0 < elev < 63.0
    assert stability_class(1.5, elev, 0) == "A"
    assert stability_class(4.0, elev, 0) == "B"
    assert stability_class(4.0, elev, 6) == "B-C"
    night = sun_position(-0.1, 51.51, int(pd.Timestamp("2026-06-21 00:00:00Z").value))
    assert stability_class(2.5, night.elevation_deg, 1) == "F"


def test_compass_points() -> None:
    deg = compass_deg(["N", "NNE", "E", "SW", "NNW", "CV", None, "x"])
    np.testing.assert_array_equal(deg[:5], [0.0, 22.5, 90.0, 225.0, 337.5])
    assert np.isnan(deg[5:]).all()
    assert compass_deg([["S", "W"]]).shape == (1, 2)


def test_stability_inputs_are_checked() -> None:
    with pytest.raises(EngineError, match="oktas"):
        insolation_category(30.0, 9)
    with pytest.raises(EngineError, match="fraction"):
        insolation_category(30.0, 1.5, cloud_unit="fraction")
    with pytest.raises(EngineError, match="wind speed"):
        pasquill_class(-1.0, "strong")
    with pytest.raises(EngineError, match="insolation"):
        pasquill_class(3.0, "dusk")


# ---------------------------------------------------------------- exact properties


def test_mass_flux_through_a_downwind_plane_is_q() -> None:
    """With total reflection, the flux u * integral of C over y and z >= 0 equals Q."""
    q, u, h, x = 10.0, 4.0, 30.0, 800.0
    met = Met(u, 270.0, "C", "urban")
    sy, sz = briggs_sigmas(x, "C", "urban")
    ys = np.linspace(-8 * float(sy), 8 * float(sy), 801)
    zs = np.linspace(0.0, h + 10 * float(sz), 1201)
    yy, zz = np.meshgrid(ys, zs)
    c = plume_concentration(q, met.u_ms, sy, sz, yy, zz, h) * 1e-6  # g/m3
    flux = u * np.trapezoid(np.trapezoid(c, ys, axis=1), zs)
    assert flux == pytest.approx(q, rel=1e-4)


def test_crosswind_integral_of_a_ground_source() -> None:
    """Ground source, ground receptor: integral of C dy = 2 Q / (sqrt(2 pi) u sz)."""
    q, u, x = 5.0, 3.0, 400.0
    sy, sz = briggs_sigmas(x, "D", "rural")
    ys = np.linspace(-10 * float(sy), 10 * float(sy), 4001)
    met = Met(u, 0.0, "D", "rural")  # from the north: the plume runs south (-y)
    rec = np.column_stack([ys, np.full_like(ys, -x)])
    c = point_concentration(_P([[0.0, 0.0]], [q], [0.0]), rec, met, receptor_z_m=0.0)
    expected = 1e6 * 2.0 * q / (math.sqrt(2.0 * math.pi) * u * float(sz))
    assert np.trapezoid(c, ys) == pytest.approx(expected, rel=1e-6)


def test_reflection_doubles_a_ground_level_source() -> None:
    q, u, x, y = 1.0, 2.0, 250.0, 7.0
    sy, sz = (float(s) for s in briggs_sigmas(x, "E", "urban"))
    once = 1e6 * q / (2 * math.pi * u * sy * sz) * math.exp(-(y * y) / (2 * sy * sy))
    c = plume_concentration(q, u, sy, sz, y, 0.0, 0.0)
    assert float(c) == pytest.approx(2.0 * once, rel=1e-12)


def test_linear_in_q_and_additive_over_sources() -> None:
    met = Met(3.0, 250.0, "B", "urban")
    rec = np.random.default_rng(0).uniform(-500, 500, (200, 2))
    a = _P([[0.0, 0.0]], [2.0], [10.0])
    b = _P([[50.0, -20.0]], [7.0], [25.0])
    ab = _P([[0.0, 0.0], [50.0, -20.0]], [2.0, 7.0], [10.0, 25.0])
    a3 = _P([[0.0, 0.0]], [6.0], [10.0])
    ca, cb, cab = (point_concentration(s, rec, met) for s in (a, b, ab))
    np.testing.assert_allclose(point_concentration(a3, rec, met), 3.0 * ca, rtol=1e-12)
    np.testing.assert_allclose(cab, ca + cb, rtol=1e-12)


def test_nothing_upwind_or_crosswind_of_the_source() -> None:
    met = Met(5.0, 90.0, "D", "urban")  # from the east: plume runs west (-x)
    rec = [[100.0, 0.0], [0.0, 100.0], [0.0, -100.0], [2000.0, 3.0], [0.0, 0.0], [-100.0, 0.0]]
    c = point_concentration(_stack(1.0, 0.0), rec, met)
    assert np.all(c[:5] == 0.0)
    assert c[5] > 0.0


def test_long_line_approaches_the_infinite_line_source() -> None:
    """A 6 km road across the wind, receptor 150 m downwind of its middle: the infinite line
    source C = q / (sqrt(2 pi) u sz) [exp(-(z-H)²/2sz²) + exp(-(z+H)²/2sz²)]."""
    qm, u, x, z, h = 1e-4, 3.0, 150.0, 1.5, 0.5
    met = Met(u, 180.0, "D", "urban")  # from the south: plume runs north (+y)
    line = _L([[-3000.0, 0.0]], [[3000.0, 0.0]], [qm], height_m=h)
    _, sz = briggs_sigmas(x, "D", "urban")
    s = float(sz)
    vert = math.exp(-((z - h) ** 2) / (2 * s * s)) + math.exp(-((z + h) ** 2) / (2 * s * s))
    expected = 1e6 * qm / (math.sqrt(2 * math.pi) * u * s) * vert
    c = point_concentration(split_lines(line, 5.0), [[0.0, x]], met, receptor_z_m=z)
    assert float(c[0]) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(("cls", "x"), [("A", 10.0), ("D", 20.0), ("F", 30.0)])
@pytest.mark.parametrize("along", [0.0, 2.5])
def test_split_spacing_rule(cls: str, x: float, along: float) -> None:
    """5 m pieces are within 1 % of the infinite line once sigma_y(x) >= 0.6 * 5 m, both in
    front of a piece's point and halfway between two."""
    qm, u, z, h = 1e-4, 3.0, 1.5, 0.5
    assert float(briggs_sigmas(x, cls, "urban")[0]) >= 3.0
    met = Met(u, 180.0, cls, "urban")
    line = _L([[-3000.0, 0.0]], [[3000.0, 0.0]], [qm], height_m=h)
    s = float(briggs_sigmas(x, cls, "urban")[1])
    vert = math.exp(-((z - h) ** 2) / (2 * s * s)) + math.exp(-((z + h) ** 2) / (2 * s * s))
    expected = 1e6 * qm / (math.sqrt(2 * math.pi) * u * s) * vert
    c = point_concentration(split_lines(line, 5.0), [[along, x]], met, receptor_z_m=z)
    assert float(c[0]) == pytest.approx(expected, rel=0.01)


def test_split_lines_keeps_the_emission_and_the_spacing() -> None:
    line = _L([[0.0, 0.0], [10.0, 10.0]], [[100.0, 0.0], [10.0, 12.0]], [2e-3, 1e-3])
    pts = split_lines(line, 7.0)
    assert len(pts) == 15 + 1
    assert pts.q_g_s.sum() == pytest.approx(2e-3 * 100.0 + 1e-3 * 2.0)
    np.testing.assert_allclose(np.diff(pts.xy[:15, 0]), 100.0 / 15)
    assert pts.xy[0, 0] == pytest.approx(50.0 / 15)


# ---------------------------------------------------------------- grid (FFT) against direct sum


@pytest.mark.parametrize("wind_from", [270.0, 33.0])
def test_grid_convolution_matches_the_direct_sum(wind_from: float) -> None:
    rng = np.random.default_rng(1)
    grid = ReceptorGrid(0.0, 0.0, 10.0, 60, 50)
    a = rng.uniform(0, 600, (30, 2)) * [1.0, 50 / 60]
    b = a + rng.normal(0, 60, (30, 2))
    lines = _L(a, b, rng.uniform(1e-5, 1e-4, 30))
    met = Met(3.0, wind_from, "D", "urban")
    conv = grid_concentration(lines, grid, met)
    gx, gy = grid.centres()
    rec = np.column_stack([gx.ravel(), gy.ravel()])
    fine = split_lines(lines, 1.0)
    direct = point_concentration(fine, rec, met).reshape(grid.shape)
    dist = np.min(np.hypot(rec[:, :1] - fine.xy[:, 0], rec[:, 1:] - fine.xy[:, 1]), axis=1)
    far = dist.reshape(grid.shape) > 30.0
    sig = far & (direct > 0.01 * direct.max())
    rel = np.abs(conv[sig] / direct[sig] - 1.0)
    assert np.median(rel) < 0.01
    assert np.percentile(rel, 95) < 0.1
    assert np.abs(conv - direct)[far].max() < 0.03 * direct.max()
    assert conv.sum() == pytest.approx(direct.sum(), rel=0.01)


def test_grid_orientation_row_zero_is_north() -> None:
    """A road along the grid's south edge, wind from the south: rows near the road (at the
    bottom of the raster) see more than the far north row (row 0)."""
    grid = ReceptorGrid(0.0, 0.0, 10.0, 20, 30)
    road = _L([[0.0, 5.0]], [[200.0, 5.0]], [1e-4])
    conv = grid_concentration(road, grid, Met(2.0, 180.0, "D", "urban"))
    assert conv[-3].mean() > conv[0].mean() > 0.0
    assert conv[-3].mean() > 10.0 * conv[0].mean()
    assert grid.transform == (10.0, 0.0, 0.0, 0.0, -10.0, 300.0)


# ---------------------------------------------------------------- emissions, AQI, KPIs


def test_road_emission_from_flow() -> None:
    """1000 veh/h at 0.36 g/km per vehicle: 1000/3600 veh/s * 0.36e-3 g/m = 1e-4 g/s/m."""
    ef = EmissionFactors({"no2": 0.36}, {"no2": 0.36}, heavy_share=0.1)
    q = road_emission_g_s_m([0.0, 1000.0], "NO2", ef)
    np.testing.assert_allclose(q, [0.0, 1e-4])
    light = DEFAULT_EMISSION_FACTORS.light_g_km["pm25"]
    heavy = DEFAULT_EMISSION_FACTORS.heavy_g_km["pm25"]
    assert DEFAULT_EMISSION_FACTORS.fleet_g_km("PM2.5") == pytest.approx(
        0.95 * light + 0.05 * heavy
    )
    with pytest.raises(EngineError, match="flows"):
        road_emission_g_s_m([-1.0])
    with pytest.raises(EngineError, match="no road emission factor"):
        road_emission_g_s_m([1.0], "o3")


def test_non_exhaust_wear_factors_emep_eea_2019_tier2() -> None:
    """1.A.3.b.vi-vii Tier 2, as transcribed in gtfs2emis (``emi_europe_emep_wear``): an urban
    bus with 2 axles half loaded at 30 km/h, and a passenger car at 30, 60 and 100 km/h."""
    bus = non_exhaust_g_km("pm25", 30.0, heavy=True, axles=2, load=0.5)
    tyre = 0.5 * 2 * (1.41 + 1.38 * 0.5) * 0.0107 * 0.420 * 1.39
    brake = 1.956 * (1 + 0.79 * 0.5) * 0.0075 * 0.390 * 1.67
    road = 0.0760 * 0.27
    assert float(bus) == pytest.approx(tyre + brake + road, rel=1e-12)
    car = non_exhaust_g_km("PM10", [30.0, 60.0, 100.0])
    expected = [
        0.0107 * 0.6 * s_t + 0.0075 * 0.98 * s_b + 0.0150 * 0.5
        for s_t, s_b in ((1.39, 1.67), (1.78 - 0.00974 * 60, 2.75 - 0.027 * 60), (0.902, 0.185))
    ]
    np.testing.assert_allclose(car, expected, rtol=1e-12)
    with pytest.raises(EngineError, match="wear"):
        non_exhaust_g_km("no2", 30.0)


def test_fleet_factors_add_exhaust_and_wear() -> None:
    ef = fleet_emission_factors(50.0, 0.1, {"light": {"pm25": 0.001}, "heavy": {"pm25": 0.02}})
    assert ef.light_g_km["pm25"] == pytest.approx(0.001 + float(non_exhaust_g_km("pm25", 50.0)))
    heavy = 0.02 + float(non_exhaust_g_km("pm25", 50.0, heavy=True))
    assert ef.fleet_g_km("pm25") == pytest.approx(0.9 * ef.light_g_km["pm25"] + 0.1 * heavy)


def test_simulate_raster_aqi_and_kpis() -> None:
    grid = ReceptorGrid(-200.0, -200.0, 10.0, 40, 40)
    flow = np.array([1800.0, 900.0])
    q = road_emission_g_s_m(flow, "pm25")
    roads = _L([[-200.0, 0.0], [0.0, -200.0]], [[200.0, 0.0], [0.0, 200.0]], q)
    stack = _P([[-100.0, -100.0]], [0.5], [20.0])
    inputs = AirInputs(
        grid, Met(1.5, 225.0, "E", "urban"), stack, roads, "pm25", background_ug_m3=12.0
    )
    floor = np.full(grid.shape, 400.0)  # 10 residents a cell at 40 m² each
    res = simulate(inputs, floor)
    c = res.concentration_ug_m3
    assert c.shape == (40, 40) and c.min() >= 12.0
    assert not c.flags.writeable
    over = c > 15.0
    assert 0 < over.sum() < c.size
    assert res.kpis["area_over_limit_m2"] == pytest.approx(100.0 * over.sum())
    assert res.kpis["population_over_limit"] == pytest.approx(10.0 * over.sum())
    assert res.kpis["emission_g_s"] == pytest.approx(0.5 + 400.0 * q.sum())
    assert res.limit_ug_m3 == 15.0
    np.testing.assert_array_equal(res.aqi, aqi.aqi("pm25", c, beyond="clip"))
    np.testing.assert_array_equal(res.aqi_class, aqi.category(res.aqi))
    # Closing the busier road lowers the peak and the area over the limit.
    closed = AirInputs(
        grid,
        inputs.met,
        stack,
        LineSources(roads.start_xy, roads.end_xy, q * [0.0, 1.0]),
        "pm25",
        background_ug_m3=12.0,
    )
    res2 = simulate(closed, floor)
    assert res2.kpis["area_over_limit_m2"] < res.kpis["area_over_limit_m2"]
    assert res2.kpis["max_concentration_ug_m3"] < res.kpis["max_concentration_ug_m3"]


def test_grid_geometry_and_far_sources() -> None:
    grid = ReceptorGrid.covering((100.0, 200.0, 149.0, 221.0), 10.0)
    assert (grid.nx, grid.ny) == (5, 3)
    gx, gy = grid.centres()
    a, b, c, d, e, f = grid.transform
    rows, cols = np.mgrid[0:3, 0:5] + 0.5
    np.testing.assert_allclose(gx, a * cols + b * rows + c)
    np.testing.assert_allclose(gy, d * cols + e * rows + f)
    far = _L([[1e5, 0.0]], [[1e5 + 50.0, 0.0]], [1.0])
    met = Met(2.0, 90.0, "D", "urban")  # blows west, towards the grid, but 100 km away
    assert not grid_concentration(far, grid, met, max_range_m=5000.0).any()


def test_simulate_stack_only_no2_index() -> None:
    grid = ReceptorGrid(0.0, -500.0, 25.0, 80, 40)
    stack = _P([[0.0, 0.0]], [20.0], [40.0])
    met = Met(4.0, 270.0, "C", "urban")
    res = simulate(AirInputs(grid, met, stack, pollutant="NO2"))
    c = res.concentration_ug_m3
    gx, gy = grid.centres()
    direct = point_concentration(stack, np.column_stack([gx.ravel(), gy.ravel()]), met)
    np.testing.assert_allclose(c.ravel(), direct)
    assert res.limit_ug_m3 == 25.0 and res.pollutant == "no2"
    np.testing.assert_array_equal(res.aqi, aqi.aqi("no2", c, unit="ug/m3", beyond="clip"))
    assert res.kpis["population_over_limit"] == 0.0


def test_inputs_are_checked() -> None:
    with pytest.raises(EngineError, match="wind speed"):
        Met(-1.0, 0.0)
    with pytest.raises(EngineError, match="terrain"):
        Met(1.0, 0.0, "D", "suburban")  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="NaN"):
        _P([[0.0, np.nan]], [1.0], [1.0])
    with pytest.raises(EngineError, match="empty"):
        ReceptorGrid(0.0, 0.0, 10.0, 0, 3)
    with pytest.raises(EngineError, match="floor area"):
        simulate(AirInputs(ReceptorGrid(0.0, 0.0, 10.0, 3, 3), Met(2.0, 0.0)), np.zeros((2, 2)))
