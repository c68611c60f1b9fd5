"""The 5G engine against TR 38.901's printed formulas, ns-3's test vectors and ray-cast scenes.

Expected values are written out here from the TR's tables (3GPP TR 38.901 V17.0.0, Tables
7.3-1, 7.4.1-1, 7.4.2-1, 7.4.3-1 and 7.4.3-2), independently of twin_app/engines/radio.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from twin_app.engines import radio
from twin_app.engines.radio import (
    BaseStation,
    breakpoint_distance_m,
    building_receptors,
    coverage,
    coverage_kpis,
    element_gain_dbi,
    greedy_placement,
    los_probability,
    material_loss_db,
    o2i_loss_db,
    path_loss_db,
    sector_gain_dbi,
    shadow_fading_db,
    station_field,
    street_receptors,
    uma_c,
)
from twin_app.errors import EngineError
from twin_app.geometry.raycast import Occluder

lg = math.log10


def _d3(d2: float, hbs: float, hut: float) -> float:
    return math.hypot(d2, hbs - hut)


def _dbp(hbs: float, hut: float, fc: float) -> float:
    return 4.0 * (hbs - 1.0) * (hut - 1.0) * fc * 1e9 / 3.0e8


def uma_los(d2: float, hbs: float, hut: float, fc: float) -> float:
    d3, bp = _d3(d2, hbs, hut), _dbp(hbs, hut, fc)
    if d2 <= bp:
        return 28.0 + 22 * lg(d3) + 20 * lg(fc)
    return 28.0 + 40 * lg(d3) + 20 * lg(fc) - 9 * lg(bp**2 + (hbs - hut) ** 2)


def uma_nlos(d2: float, hbs: float, hut: float, fc: float) -> float:
    nl = 13.54 + 39.08 * lg(_d3(d2, hbs, hut)) + 20 * lg(fc) - 0.6 * (hut - 1.5)
    return max(uma_los(d2, hbs, hut, fc), nl)


def umi_los(d2: float, hbs: float, hut: float, fc: float) -> float:
    d3, bp = _d3(d2, hbs, hut), _dbp(hbs, hut, fc)
    if d2 <= bp:
        return 32.4 + 21 * lg(d3) + 20 * lg(fc)
    return 32.4 + 40 * lg(d3) + 20 * lg(fc) - 9.5 * lg(bp**2 + (hbs - hut) ** 2)


def umi_nlos(d2: float, hbs: float, hut: float, fc: float) -> float:
    nl = 35.3 * lg(_d3(d2, hbs, hut)) + 22.4 + 21.3 * lg(fc) - 0.3 * (hut - 1.5)
    return max(umi_los(d2, hbs, hut, fc), nl)


CASES = [
    (d, hut, fc)
    for d in (10.0, 45.0, 200.0, 640.0, 1500.0, 4900.0)
    for hut in (1.5, 8.0, 22.5)
    for fc in (0.8, 3.5, 28.0)
]


@pytest.mark.parametrize(
    ("scenario", "los", "ref", "hbs"),
    [
        ("UMa", True, uma_los, 25.0),
        ("UMa", False, uma_nlos, 25.0),
        ("UMi", True, umi_los, 10.0),
        ("UMi", False, umi_nlos, 10.0),
    ],
)
def test_path_loss_reproduces_table_7_4_1_1(scenario: str, los: bool, ref: Any, hbs: float) -> None:
    d, hut, fc = (np.array(c) for c in zip(*CASES, strict=True))
    for f in np.unique(fc):
        sel = fc == f
        got = path_loss_db(scenario, los, d[sel], hbs, hut[sel], float(f))
        want = [ref(a, hbs, b, float(f)) for a, b in zip(d[sel], hut[sel], strict=True)]
        assert got == pytest.approx(want, abs=1e-9)


def test_a_worked_uma_value_by_hand() -> None:
    """UMa LOS, 3.5 GHz, hBS 25 m, hUT 1.5 m: d'BP = 4 * 24 * 0.5 * 3.5e9 / 3e8 = 560 m."""
    assert float(breakpoint_distance_m(25.0, 1.5, 3.5)) == pytest.approx(560.0)
    # d2D = 100 m: d3D = sqrt(100^2 + 23.5^2) = 102.7241; 28 + 22 * 2.011672 + 20 * 0.544068
    assert float(path_loss_db("UMa", True, 100.0, 25.0, 1.5, 3.5)) == pytest.approx(
        83.1382, abs=1e-3
    )
    # d2D = 1000 m, beyond the breakpoint: 28 + 40 lg(1000.276) + 10.88136 - 9 lg(560^2 + 23.5^2)
    assert float(path_loss_db("UMa", True, 1000.0, 25.0, 1.5, 3.5)) == pytest.approx(
        28.0 + 40 * lg(1000.2761) + 20 * lg(3.5) - 9 * lg(560.0**2 + 23.5**2), abs=1e-4
    )


@pytest.mark.parametrize("scenario", ["UMa", "UMi"])
@pytest.mark.parametrize("fc", [0.7, 3.5, 6.0])
@pytest.mark.parametrize("hut", [1.5, 2.5])
def test_los_path_loss_is_continuous_at_the_breakpoint(
    scenario: str, fc: float, hut: float
) -> None:
    hbs = 25.0 if scenario == "UMa" else 10.0
    bp = _dbp(hbs, hut, fc)
    assert 10.0 < bp < 5000.0
    below, above = path_loss_db(scenario, True, [bp * (1 - 1e-9), bp * (1 + 1e-9)], hbs, hut, fc)
    assert below == pytest.approx(above, abs=1e-6)
    # PL1 and PL2 meet exactly there: d3D^2 = d'BP^2 + (hBS - hUT)^2
    d3 = _d3(bp, hbs, hut)
    a, c = (28.0, 22.0) if scenario == "UMa" else (32.4, 21.0)
    assert below == pytest.approx(a + c * lg(d3) + 20 * lg(fc), abs=1e-6)


def test_ns3_test_vectors() -> None:
    """ns-3's src/propagation/test/three-gpp-propagation-loss-model-test-suite.cc (SIGNET Lab,
    University of Padova): 5 GHz, hUT 1.5 m, hBS 25 m (UMa) or 10 m (UMi), Pt = 0 dBm, received
    power with shadowing off, tolerance 0.05 dB there."""
    d = [10.0, 100.0, 1000.0, 5000.0]
    vectors = {
        ("UMa", True): [-72.9380, -86.2362, -109.7252, -137.6794],
        ("UMa", False): [-82.5131, -106.1356, -144.7641, -172.0753],
        ("UMi", True): [-69.8591, -88.4122, -119.3114, -147.2696],
        ("UMi", False): [-76.7563, -107.9432, -143.1886, -167.8617],
    }
    for (scenario, los), pr in vectors.items():
        hbs = 25.0 if scenario == "UMa" else 10.0
        assert -path_loss_db(scenario, los, d, hbs, 1.5, 5.0) == pytest.approx(pr, abs=1e-3)


def test_nlos_is_never_below_los() -> None:
    d = np.geomspace(10.0, 5000.0, 200)
    for s, h in (("UMa", 25.0), ("UMi", 10.0)):
        assert (
            path_loss_db(s, False, d, h, 1.5, 3.5) >= path_loss_db(s, True, d, h, 1.5, 3.5)
        ).all()


def test_validity_ranges() -> None:
    got = path_loss_db("UMa", True, [5.0, 10.0, 5000.0, 5001.0], 25.0, 1.5, 3.5)
    assert np.isnan(got[[0, 3]]).all() and np.isfinite(got[[1, 2]]).all()
    assert np.isnan(path_loss_db("UMi", True, 100.0, 10.0, [1.0, 23.0], 3.5)).all()
    assert np.isnan(path_loss_db("UMi", True, 100.0, 10.0, 1.5, 120.0))
    clip = path_loss_db("UMa", False, [2.0, 6000.0], 25.0, 30.0, 3.5, out_of_range="clip")
    assert clip[0] == pytest.approx(uma_nlos(10.0, 25.0, 22.5, 3.5)) and np.isnan(clip[1])
    with pytest.raises(EngineError, match="scenario"):
        path_loss_db("RMa", True, 100.0, 35.0, 1.5, 3.5)


def test_effective_environment_height_odds_for_uma() -> None:
    # C = 0 below 13 m (so hE = 1 m surely); at hUT 23 m and d2D 100 m: 1 * 1.25 * exp(-2/3)
    assert uma_c([100.0, 100.0, 10.0], [12.0, 23.0, 23.0]) == pytest.approx(
        [0.0, 1.25 * math.exp(-100 / 150), 0.0]
    )


def test_shadow_fading_is_returned_not_drawn_unless_seeded() -> None:
    assert shadow_fading_db("UMa", [True, False]) == pytest.approx([4.0, 6.0])
    assert shadow_fading_db("UMi", [True, False]) == pytest.approx([4.0, 7.82])
    a = shadow_fading_db("UMi", np.zeros(20000, bool), seed=5)
    assert np.array_equal(a, shadow_fading_db("UMi", np.zeros(20000, bool), seed=5))
    assert a.std() == pytest.approx(7.82, rel=0.03) and abs(a.mean()) < 0.2


def test_los_probability_table_7_4_2_1() -> None:
    d = np.array([10.0, 18.0, 50.0, 200.0])
    umi = 18 / d + np.exp(-d / 36) * (1 - 18 / d)
    assert los_probability("UMi", d) == pytest.approx(np.where(d <= 18, 1.0, umi))
    uma = 18 / d + np.exp(-d / 63) * (1 - 18 / d)
    assert los_probability("UMa", d, 1.5) == pytest.approx(np.where(d <= 18, 1.0, uma))
    c = ((20.0 - 13.0) / 10) ** 1.5
    boost = 1 + c * 1.25 * (d / 100) ** 3 * np.exp(-d / 150)
    assert los_probability("UMa", d, 20.0) == pytest.approx(np.where(d <= 18, 1.0, uma * boost))


def test_antenna_element_table_7_3_1() -> None:
    assert float(element_gain_dbi(90.0, 0.0)) == pytest.approx(8.0)  # boresight: G_E,max
    # half the 65 degree beamwidth off, horizontally or vertically: 3 dB down
    assert element_gain_dbi([90.0, 90.0, 122.5, 57.5], [32.5, -32.5, 0.0, 0.0]) == pytest.approx(
        [5.0] * 4
    )
    # both cuts: -12 (0.5^2) - 12 (0.5^2) = -6 dB
    assert float(element_gain_dbi(122.5, 32.5)) == pytest.approx(2.0)
    # floors: A_max = SLA_V = 30 dB below 8 dBi, combined as well
    assert element_gain_dbi([90.0, 0.0, 150.0], [180.0, 90.0, 100.0]) == pytest.approx([-22.0] * 3)
    # straight up, in the sector's plane: only the vertical cut, -12 (90/65)^2 = -23.0 dB
    assert float(element_gain_dbi(0.0, 0.0)) == pytest.approx(8.0 - 12 * (90 / 65) ** 2)
    assert float(element_gain_dbi(90.0, 360.0 + 32.5)) == pytest.approx(5.0)


def test_downtilt_and_sector_bearings() -> None:
    st = BaseStation(0.0, 0.0, height_m=25.0, azimuths_deg=(90.0,), downtilt_deg=10.0)
    # a point due east (bearing 90), seen 10 degrees below the horizon: boresight
    d = 24.0 / math.tan(math.radians(10.0))
    assert sector_gain_dbi(st, [[d, 0.0, 1.0]]) == pytest.approx([8.0], abs=1e-9)
    # the same point due north is 90 degrees off the sector's bearing
    g = sector_gain_dbi(st, [[0.0, d, 1.0]])[0]
    assert g < 8.0 - 20.0
    # three sectors: a point on any sector's bearing sees boresight gain (in elevation too)
    st3 = BaseStation(0.0, 0.0, height_m=25.0, downtilt_deg=10.0)
    pts = [
        [d * math.sin(math.radians(b)), d * math.cos(math.radians(b)), 1.0] for b in (0, 120, 240)
    ]
    assert sector_gain_dbi(st3, pts) == pytest.approx([8.0] * 3, abs=1e-9)
    omni = BaseStation(0.0, 0.0, azimuths_deg=())
    assert sector_gain_dbi(omni, pts) == pytest.approx([0.0] * 3)


@pytest.mark.parametrize("fc", [3.5, 28.0])
def test_material_and_o2i_losses_tables_7_4_3_1_and_2(fc: float) -> None:
    glass, irr, concrete, wood = 2 + 0.2 * fc, 23 + 0.3 * fc, 5 + 4 * fc, 4.85 + 0.12 * fc
    assert float(material_loss_db("glass", fc)) == pytest.approx(glass)
    assert float(material_loss_db("irr_glass", fc)) == pytest.approx(irr)
    assert float(material_loss_db("concrete", fc)) == pytest.approx(concrete)
    assert float(material_loss_db("wood", fc)) == pytest.approx(wood)
    low = 5 - 10 * lg(0.3 * 10 ** (-glass / 10) + 0.7 * 10 ** (-concrete / 10))
    high = 5 - 10 * lg(0.7 * 10 ** (-irr / 10) + 0.3 * 10 ** (-concrete / 10))
    assert float(o2i_loss_db("low", fc)) == pytest.approx(low)
    assert float(o2i_loss_db("high", fc, 12.0)) == pytest.approx(high + 0.5 * 12.0)
    with pytest.raises(EngineError, match="material"):
        material_loss_db("brick", fc)


def test_o2i_values_at_3_5_and_28_ghz() -> None:
    """By hand. Low loss, 3.5 GHz: glass 2.7 dB, concrete 19 dB,
    5 - 10 lg(0.3 * 0.53703 + 0.7 * 0.012589) = 5 + 7.6975. 28 GHz: glass 7.6 dB, concrete
    117 dB (negligible), 5 - 10 lg(0.3 * 0.17378) = 5 + 12.8288. High loss, 3.5 GHz: IRR glass
    24.05 dB, 5 - 10 lg(0.7 * 0.0039355 + 0.3 * 0.012589) = 5 + 21.8498; 28 GHz: IRR glass
    31.4 dB, 5 - 10 lg(0.7 * 7.2444e-4) = 5 + 32.9490."""
    assert float(o2i_loss_db("low", 3.5)) == pytest.approx(12.6975, abs=1e-3)
    assert float(o2i_loss_db("low", 28.0)) == pytest.approx(17.8288, abs=1e-3)
    assert float(o2i_loss_db("high", 3.5)) == pytest.approx(26.8498, abs=1e-3)
    assert float(o2i_loss_db("high", 28.0, 10.0)) == pytest.approx(37.9490 + 5.0, abs=1e-3)


def test_base_station_validation() -> None:
    with pytest.raises(EngineError, match="frequency"):
        BaseStation(0.0, 0.0, frequency_ghz=150.0, name="roof 3")
    with pytest.raises(EngineError, match="scenario"):
        BaseStation(0.0, 0.0, scenario="RMa")
    with pytest.raises(EngineError, match="height"):
        BaseStation(0.0, 0.0, height_m=0.5)


def _box(x0: float, x1: float, y0: float, y1: float, h: float) -> tuple[Any, Any]:
    p = np.array([[x, y, z] for z in (0.0, h) for y in (y0, y1) for x in (x0, x1)])
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tri = [[a, b, c] for a, b, c, _ in quads] + [[a, c, d] for a, _, c, d in quads]
    return p, np.array(tri)


def test_line_of_sight_by_ray_casting_and_the_link_budget() -> None:
    # a 30 m tall block between x = 100 and 120; the station at x = 0, 25 m up
    occ = Occluder(*_box(100.0, 120.0, -10.0, 10.0, 30.0))
    st = BaseStation(0.0, 0.0, height_m=25.0, azimuths_deg=(90.0,), downtilt_deg=0.0)
    pts = np.array([[80.0, 0.0, 1.5], [200.0, 0.0, 1.5], [200.0, 40.0, 1.5]])
    f = station_field(st, pts, occ)
    assert f.los.tolist() == [True, False, True]
    d2 = np.array([80.0, 200.0, math.hypot(200.0, 40.0)])
    want_pl = [
        uma_los(80.0, 25.0, 1.5, 3.5),
        uma_nlos(200.0, 25.0, 1.5, 3.5),
        uma_los(d2[2], 25.0, 1.5, 3.5),
    ]
    assert f.path_loss_db == pytest.approx(want_pl)
    theta = np.degrees(np.arctan2(d2, -23.5))
    phi = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    a_v = -np.minimum(12 * ((theta - 90) / 65) ** 2, 30)
    a_h = -np.minimum(12 * (phi / 65) ** 2, 30)
    gain = 8.0 - np.minimum(-(a_v + a_h), 30)
    assert f.gain_dbi == pytest.approx(gain)
    assert f.rx_power_dbm == pytest.approx(46.0 + gain - np.array(want_pl))
    assert f.rsrp_dbm == pytest.approx(f.rx_power_dbm - 10 * lg(12 * 273))


def test_indoor_receptors_measure_their_way_out() -> None:
    occ = Occluder(*_box(100.0, 140.0, -10.0, 10.0, 30.0))
    st = BaseStation(0.0, 0.0, height_m=25.0, azimuths_deg=(90.0,), downtilt_deg=0.0)
    # indoors 8 m behind the facade facing the station, first floor
    p = np.array([[108.0, 0.0, 4.5]])
    f = station_field(st, p, occ, indoor=True, o2i_model="high")
    d3 = math.dist((0.0, 0.0, 25.0), (108.0, 0.0, 4.5))
    d_in_3d = d3 * 8.0 / 108.0  # where the straight ray crosses the x = 100 facade
    d2_in = d_in_3d * 108.0 / d3
    assert f.los.tolist() == [True]
    assert f.o2i_db == pytest.approx([float(o2i_loss_db("high", 3.5, 0.0)) + 0.5 * d2_in])
    assert f.path_loss_db == pytest.approx([uma_los(108.0, 25.0, 4.5, 3.5)])
    # a receptor deeper than 25 m gets the capped indoor loss
    deep = station_field(st, [[135.0, 0.0, 4.5]], occ, indoor=True)
    assert deep.o2i_db == pytest.approx([float(o2i_loss_db("low", 3.5, 25.0))])


def test_street_grid_and_building_receptors() -> None:
    occ = Occluder(*_box(10.0, 30.0, 10.0, 30.0, 20.0))
    pts, shape, outdoor = street_receptors(occ, (0.0, 40.0, 0.0, 40.0), 5.0)
    assert shape == (8, 8) and pts.shape == (64, 3)
    assert np.allclose(pts[:, 2], 1.5)
    inside = (pts[:, 0] > 10) & (pts[:, 0] < 30) & (pts[:, 1] > 10) & (pts[:, 1] < 30)
    assert np.array_equal(~outdoor, inside)
    rp, b, fl = building_receptors([[20.0, 20.0], [50.0, 50.0]], [20.0, 7.0], [np.nan, 3])
    assert b.tolist() == [0] * 6 + [1] * 3 and fl.tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2]
    assert rp[:, 2].tolist() == [1.5, 4.5, 7.5, 10.5, 13.5, 16.5, 1.5, 4.5, 7.5]


def test_coverage_best_server_and_kpis() -> None:
    occ = Occluder(*_box(100.0, 120.0, -10.0, 10.0, 30.0))
    pts, _, outdoor = street_receptors(occ, (-300.0, 500.0, -100.0, 100.0), 20.0)
    a = BaseStation(0.0, 0.0, azimuths_deg=(), name="a")
    b = BaseStation(400.0, 0.0, azimuths_deg=(), name="b")
    cov = coverage([a, b], pts, occ)
    fa, fb = station_field(a, pts, occ), station_field(b, pts, occ)
    assert cov.rsrp_dbm == pytest.approx(np.fmax(fa.rsrp_dbm, fb.rsrp_dbm))
    assert np.array_equal(cov.server, np.where(fb.rsrp_dbm > fa.rsrp_dbm, 1, 0))
    rp, bld, _ = building_receptors([[110.0, 0.0]], [30.0])
    indoor = coverage([a, b], rp, occ, indoor=True)
    thr = float(np.median(cov.rsrp_dbm[outdoor]))
    k = coverage_kpis(cov, outdoor, indoor, bld, 1, threshold_dbm=thr)
    assert k["area_covered_pct"] == pytest.approx(100.0 * np.mean(cov.rsrp_dbm[outdoor] >= thr))
    want_b = 100.0 * float((indoor.rsrp_dbm >= thr).all())
    assert k["buildings_covered_pct"] == pytest.approx(want_b)


def test_greedy_placement_reaches_the_target_with_the_fewest_obvious_stations() -> None:
    # two clusters of receptors 3 km apart; candidates near each and one far away
    rng = np.random.default_rng(0)
    c1 = np.column_stack([rng.uniform(-50, 50, (100, 2)), np.full(100, 1.5)])
    c2 = c1 + np.array([3000.0, 0.0, 0.0])
    pts = np.concatenate([c1, c2])
    cand = np.array([[9000.0, 0.0, 20.0], [0.0, 0.0, 20.0], [3000.0, 0.0, 20.0]])
    tpl = BaseStation(0.0, 0.0, azimuths_deg=(), tx_power_dbm=40.0)
    thr = -95.0
    # one station covers its own cluster but not the other, 3 km away
    near = station_field(radio.station_on_roof(tpl, cand[1], 3.0), pts, None).rsrp_dbm
    assert (near[:100] >= thr).all() and (near[100:] < thr).all()
    res = greedy_placement([], cand, tpl, pts, None, target_pct=99.0, threshold_dbm=thr)
    assert res.reached and res.stations_needed == 2.0
    assert sorted(res.chosen.tolist()) == [1, 2]
    assert res.covered_pct == pytest.approx([0.0, 50.0, 100.0])
    # an unreachable target: NaN stations needed
    res = greedy_placement([], cand[:1], tpl, pts, None, target_pct=50.0, threshold_dbm=thr)
    assert not res.reached and math.isnan(res.stations_needed)
    # existing stations count
    existing = [radio.station_on_roof(tpl, cand[1], 3.0)]
    res = greedy_placement(existing, cand, tpl, pts, None, target_pct=99.0, threshold_dbm=thr)
    assert res.stations_needed == 2.0 and res.chosen.tolist() == [2]
