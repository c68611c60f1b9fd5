"""Road exhaust emission factors against the EMEP/EEA 2023 guidebook cells (1.A.3.b.i-iv).

The reference values below are typed from the guidebook's tables as transcribed (to g/km)
in the specification cited in :mod:`twin_app.engines.air`: Tier 1, Tables 3-5/3-6 (g/kg fuel)
x Table 3-15 (fuel g/km); Tier 2 NOx, Tables 3-17, 3-19, 3-21, 3-23.
"""

from __future__ import annotations

import pytest

from twin_app.engines import air
from twin_app.errors import EngineError

# (category, NOx g/km, PM exhaust g/km), EMEP/EEA 2023 Tier 1 converted to g/km.
TIER1 = [
    ("pc_petrol", 0.246, 0.0012),
    ("pc_diesel", 0.668, 0.0443),
    ("pc_lpg", 0.318, 0.0017),
    ("lcv_diesel", 1.065, 0.0964),
    ("hdv_diesel", 5.63, 0.119),
    ("bus_cng", 6.93, 0.0081),
    ("l_petrol", 0.200, 0.0141),
]

# Tier 2 NOx g/km, Euro 3 / 4 / 5 / 6 a/b/c (VI A-C) / 6 d (VI D-E).
TIER2_NOX = {
    "pc_petrol": (0.105, 0.064, 0.047, 0.032, 0.032),  # Table 3-17, medium
    "pc_diesel": (0.786, 0.599, 0.562, 0.507, 0.074),  # Table 3-19, medium
    "lcv_diesel": (1.037, 0.839, 1.374, 1.108, 0.142),  # Table 3-21, N1-II/III
    "hdv_rigid": (4.128, 2.855, 2.041, 0.264, 0.198),  # Table 3-23, rigid 12-14 t
    "bus_diesel": (9.175, 5.748, 6.170, 1.343, 1.263),  # Table 3-23, urban bus 15-18 t
}
EUROS = ("euro3", "euro4", "euro5", "euro6abc", "euro6d")


@pytest.mark.parametrize(("cat", "nox", "pm"), TIER1)
def test_tier1_cells(cat: str, nox: float, pm: float) -> None:
    assert air.EMEP_2023_TIER1_G_KM[cat] == {"nox": nox, "pm": pm}


def test_tier2_nox_cells() -> None:
    assert set(air.EMEP_2023_TIER2_NOX_G_KM) == set(TIER2_NOX)
    for cat, row in TIER2_NOX.items():
        assert tuple(air.EMEP_2023_TIER2_NOX_G_KM[cat][e] for e in EUROS) == row
    # the Euro 6d diesel car emits a seventh of a Euro 6 a/b/c one (RDE)
    assert TIER2_NOX["pc_diesel"][4] < TIER2_NOX["pc_diesel"][3] / 6


def test_default_exhaust_is_the_tier1_mix() -> None:
    light = 0.50 * 0.246 + 0.35 * 0.668 + 0.15 * 1.065
    light_pm = 0.50 * 0.0012 + 0.35 * 0.0443 + 0.15 * 0.0964
    assert air.EXHAUST_G_KM["light"]["no2"] == pytest.approx(light, rel=1e-12)
    assert air.EXHAUST_G_KM["light"]["pm25"] == pytest.approx(light_pm, rel=1e-12)
    assert air.EXHAUST_G_KM["heavy"] == {"no2": 5.63, "pm25": 0.119, "pm10": 0.119}
    assert "EMEP/EEA 2023" in air.DEFAULT_EMISSION_FACTORS.source
    assert "assumed" in air.DEFAULT_EMISSION_FACTORS.source


def test_vehicle_km_times_factor_is_grams_per_second() -> None:
    """1 km of road carrying 1000 veh/h (5 % heavy, NOx has no wear term): 1000 veh/h x 1 km
    = 1000 vehicle-km an hour, times the fleet factor in g/km, over 3600 s."""
    fleet = 0.95 * (0.50 * 0.246 + 0.35 * 0.668 + 0.15 * 1.065) + 0.05 * 5.63  # 0.7723 g/km
    q_g_s_m = air.road_emission_g_s_m([1000.0], "no2")
    assert float(q_g_s_m[0]) * 1000.0 == pytest.approx(1000.0 * fleet / 3600.0, rel=1e-12)
    assert float(q_g_s_m[0]) * 1000.0 == pytest.approx(0.21452, abs=5e-5)
    # PM2.5: exhaust plus wear at 30 km/h
    wear_l = float(air.non_exhaust_g_km("pm25", 30.0))
    wear_h = float(air.non_exhaust_g_km("pm25", 30.0, heavy=True))
    pm = 0.95 * (air.EXHAUST_G_KM["light"]["pm25"] + wear_l) + 0.05 * (0.119 + wear_h)
    q = air.road_emission_g_s_m([3600.0], "pm25")
    assert float(q[0]) == pytest.approx(pm / 1000.0, rel=1e-12)


def test_tier1_mix_errors() -> None:
    with pytest.raises(EngineError, match="unknown vehicle category 'tram'"):
        air.tier1_exhaust_g_km({"tram": 1.0})
    with pytest.raises(EngineError, match=r"add up to 0\.9"):
        air.tier1_exhaust_g_km({"pc_petrol": 0.5, "pc_diesel": 0.4})
    assert air.tier1_exhaust_g_km({"bus_cng": 1.0})["no2"] == 6.93
