"""US EPA AQI (TAD 2024) and China HJ 633-2012 IAQI: every breakpoint, rules, shapes, units.

The expected values below are transcribed independently of the module's tables, from EPA TAD
EPA-454/B-24-002 (May 2024) Table 6 and HJ 633-2012 Table 1 (see the module docstring).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin_app.errors import TwinError
from twin_app.model.aqi import (
    BREAKPOINTS,
    CATEGORY_COLORS,
    CATEGORY_NAMES,
    CATEGORY_NAMES_EN,
    MOLAR_VOLUME_L_MOL,
    AQIError,
    aqi,
    breakpoint_table,
    category,
    category_colors,
    convert_units,
    overall_aqi,
    tables,
)

# (pollutant, averaging, [(C_lo, C_hi, I_lo, I_hi), ...]) -- EPA TAD 2024 Table 6.
EPA_ROWS = [
    (
        "pm25",
        "24h",
        [
            (0.0, 9.0, 0, 50),
            (9.1, 35.4, 51, 100),
            (35.5, 55.4, 101, 150),
            (55.5, 125.4, 151, 200),
            (125.5, 225.4, 201, 300),
            (225.5, 325.4, 301, 500),
        ],
    ),
    (
        "pm10",
        "24h",
        [
            (0, 54, 0, 50),
            (55, 154, 51, 100),
            (155, 254, 101, 150),
            (255, 354, 151, 200),
            (355, 424, 201, 300),
            (425, 604, 301, 500),
        ],
    ),
    (
        "o3",
        "8h",
        [
            (0.000, 0.054, 0, 50),
            (0.055, 0.070, 51, 100),
            (0.071, 0.085, 101, 150),
            (0.086, 0.105, 151, 200),
            (0.106, 0.200, 201, 300),
        ],
    ),
    (
        "o3",
        "1h",
        [
            (0.125, 0.164, 101, 150),
            (0.165, 0.204, 151, 200),
            (0.205, 0.404, 201, 300),
            (0.405, 0.604, 301, 500),
        ],
    ),
    (
        "co",
        "8h",
        [
            (0.0, 4.4, 0, 50),
            (4.5, 9.4, 51, 100),
            (9.5, 12.4, 101, 150),
            (12.5, 15.4, 151, 200),
            (15.5, 30.4, 201, 300),
            (30.5, 50.4, 301, 500),
        ],
    ),
    ("so2", "1h", [(0, 35, 0, 50), (36, 75, 51, 100), (76, 185, 101, 150), (186, 304, 151, 200)]),
    ("so2", "24h", [(305, 604, 201, 300), (605, 1004, 301, 500)]),
    (
        "no2",
        "1h",
        [
            (0, 53, 0, 50),
            (54, 100, 51, 100),
            (101, 360, 101, 150),
            (361, 649, 151, 200),
            (650, 1249, 201, 300),
            (1250, 2049, 301, 500),
        ],
    ),
]

# (pollutant, averaging, concentration limits at IAQI 0, 50, 100, 150, 200, 300, 400, 500)
# -- HJ 633-2012 Table 1 (ug/m3; CO mg/m3).
HJ_LIMITS = [
    ("so2", "24h", [0, 50, 150, 475, 800, 1600, 2100, 2620]),
    ("so2", "1h", [0, 150, 500, 650, 800]),
    ("no2", "24h", [0, 40, 80, 180, 280, 565, 750, 940]),
    ("no2", "1h", [0, 100, 200, 700, 1200, 2340, 3090, 3840]),
    ("pm10", "24h", [0, 50, 150, 250, 350, 420, 500, 600]),
    ("co", "24h", [0, 2, 4, 14, 24, 36, 48, 60]),
    ("co", "1h", [0, 5, 10, 35, 60, 90, 120, 150]),
    ("o3", "1h", [0, 160, 200, 300, 400, 800, 1000, 1200]),
    ("o3", "8h", [0, 100, 160, 215, 265, 800]),
    ("pm25", "24h", [0, 35, 75, 115, 150, 250, 350, 500]),
]
HJ_IAQI = [0, 50, 100, 150, 200, 300, 400, 500]


def _epa_edges() -> list[tuple[str, str, float, float]]:
    return [
        (pol, avg, c, i)
        for pol, avg, rows in EPA_ROWS
        for lo, hi, ilo, ihi in rows
        for c, i in ((lo, ilo), (hi, ihi))
    ]


def _hj_edges() -> list[tuple[str, str, float, float]]:
    return [
        (pol, avg, c, HJ_IAQI[n]) for pol, avg, limits in HJ_LIMITS for n, c in enumerate(limits)
    ]


# ----- breakpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(("pollutant", "averaging", "conc", "expected"), _epa_edges())
def test_epa_every_breakpoint_edge(
    pollutant: str, averaging: str, conc: float, expected: float
) -> None:
    assert aqi(pollutant, conc, "us_epa", averaging).item() == expected


@pytest.mark.parametrize(("pollutant", "averaging", "conc", "expected"), _hj_edges())
def test_hj633_every_breakpoint_edge(
    pollutant: str, averaging: str, conc: float, expected: float
) -> None:
    assert aqi(pollutant, conc, "china_hj633", averaging).item() == expected


def test_module_tables_match_the_transcription() -> None:
    epa = {(p, a): rows for p, a, rows in EPA_ROWS}
    hj = {(p, a): limits for p, a, limits in HJ_LIMITS}
    assert {(p, a) for s, p, a in BREAKPOINTS if s == "us_epa"} == set(epa)
    assert {(p, a) for s, p, a in BREAKPOINTS if s == "china_hj633"} == set(hj)
    for (p, a), rows in epa.items():
        t = breakpoint_table(p, "us_epa", a)
        got = np.column_stack([t.conc_lo, t.conc_hi, t.index_lo, t.index_hi])
        np.testing.assert_array_equal(got, np.asarray(rows, dtype=float))
    for (p, a), limits in hj.items():
        t = breakpoint_table(p, "china_hj633", a)
        np.testing.assert_array_equal(np.append(t.conc_lo, t.conc_hi[-1]), limits)
        np.testing.assert_array_equal(np.append(t.index_lo, t.index_hi[-1]), HJ_IAQI[: len(limits)])


def test_epa_pm25_2024_table_as_in_the_brief() -> None:
    conc = [9.0, 9.1, 35.4, 35.5, 55.4, 125.4, 225.4, 325.4]
    np.testing.assert_array_equal(aqi("PM2.5", conc), [50, 51, 100, 101, 150, 200, 300, 500])


def test_epa_2024_revision_changed_pm25_good_bound() -> None:
    # Before May 2024, 12.0 ug/m3 was AQI 50; now 9.0 is, and 12.0 is Moderate.
    expected = round((100 - 51) / (35.4 - 9.1) * (12.0 - 9.1) + 51)  # 56.4 -> 56
    assert aqi("pm25", 12.0).item() == expected == 56
    assert category(aqi("pm25", 12.0)).item() == 1


def test_hj633_pm25_as_in_the_brief() -> None:
    conc = [35, 75, 115, 150, 250, 350, 500]
    np.testing.assert_array_equal(
        aqi("pm25", conc, "china_hj633", "24h"), [50, 100, 150, 200, 300, 400, 500]
    )


# ----- worked examples, truncation and rounding ----------------------------------------------


def test_epa_tad_worked_example() -> None:
    """Multi-pollutant example in the style of the TAD's "Using the table and the equation".

    8-h O3 0.07853 ppm truncates to 0.078: (150-101)/(0.085-0.071)*(0.078-0.071)+101 = 125.5
    -> 126. PM2.5 35.9: (150-101)/(55.4-35.5)*(35.9-35.5)+101 = 101.98 -> 102. CO 8.4 ppm:
    (100-51)/(9.4-4.5)*(8.4-4.5)+51 = 90. The AQI is the maximum, 126 (ozone).
    """
    assert aqi("o3", 0.07853, averaging="8h").item() == 126
    assert aqi("pm25", 35.9).item() == 102
    assert aqi("co", 8.4).item() == 90
    assert overall_aqi({"o3_8h": 0.07853, "pm25": 35.9, "co": 8.4}).item() == 126


def test_epa_unrounded_values_follow_equation_1() -> None:
    assert aqi("o3", 0.07853, averaging="8h", rounded=False).item() == pytest.approx(125.5)
    assert aqi("pm25", 35.9, rounded=False).item() == pytest.approx(
        (150 - 101) / (55.4 - 35.5) * 0.4 + 101
    )


@pytest.mark.parametrize(
    ("pollutant", "averaging", "conc", "expected"),
    [
        ("pm25", "24h", 9.09, 50),  # truncated to 9.0, not rounded to 9.1
        ("pm25", "24h", 35.49, 100),
        ("pm25", "24h", 325.49, 500),  # 325.4 after truncation: still inside the table
        ("pm10", "24h", 54.9, 50),
        ("pm10", "24h", 154.99, 100),
        ("o3", "8h", 0.0549, 50),
        ("o3", "8h", 0.0709, 100),
        ("o3", "1h", 0.1649, 150),
        ("co", "8h", 4.49, 50),
        ("co", "8h", 9.49, 100),
        ("so2", "1h", 35.9, 50),
        ("no2", "1h", 53.9, 50),
        ("no2", "1h", 100.7, 100),
    ],
)
def test_epa_truncation(pollutant: str, averaging: str, conc: float, expected: float) -> None:
    assert aqi(pollutant, conc, "us_epa", averaging).item() == expected


def test_epa_rounds_half_up() -> None:
    # 0.078 ppm 8-h O3 gives exactly 125.5 -> 126; NO2 77 ppb gives 51 + 49/46*23 = 75.5 -> 76.
    assert aqi("o3", 0.078, averaging="8h").item() == 126
    assert aqi("no2", 77).item() == 76


def test_hj633_rounds_up_and_does_not_truncate() -> None:
    # 35.1 ug/m3 PM2.5: 50 + 50/40 * 0.1 = 50.125 -> 51 (rounded up).
    assert aqi("pm25", 35.1, "china_hj633").item() == 51
    assert aqi("pm25", 35.1, "china_hj633", rounded=False).item() == pytest.approx(50.125)
    # 36.0: 51.25 -> 52; CO 2.5 mg/m3 (24 h): 50 + 25 * 0.5 = 62.5 -> 63.
    assert aqi("pm25", 36.0, "china_hj633").item() == 52
    assert aqi("co", 2.5, "china_hj633", "24h").item() == 63


def test_breakpoint_values_do_not_pick_up_float_noise() -> None:
    # 0.1 + 0.2 style noise must neither push 35.4 into the next EPA row nor 35 above HJ 50.
    assert aqi("pm25", 35.4 + 1e-12).item() == 100
    assert aqi("pm25", 35.4 - 1e-12).item() == 100
    assert aqi("pm25", 35.0 + 1e-12, "china_hj633").item() == 50


# ----- NaN, out of range, beyond the index ---------------------------------------------------


def test_nan_and_negative_give_nan() -> None:
    out = aqi("pm25", [np.nan, -1.0, -0.2, 5.0])
    assert np.isnan(out[:3]).all()
    assert out[3] == round(50 / 9.0 * 5.0)
    assert np.isnan(aqi("no2", [np.nan, -3.0], "china_hj633", "1h")).all()
    # EPA truncation is toward zero: -0.04 ug/m3 truncates to 0.0 and is AQI 0.
    assert aqi("pm25", -0.04).item() == 0


def test_beyond_the_top_is_nan_or_500() -> None:
    assert np.isnan(aqi("pm25", 325.5)).all()
    assert aqi("pm25", 325.5, beyond="clip").item() == 500
    assert aqi("pm25", 800.0, beyond="clip").item() == 500
    assert np.isnan(aqi("pm25", 500.1, "china_hj633")).all()
    assert aqi("pm25", 500.1, "china_hj633", beyond="clip").item() == 500
    assert aqi("no2", 2050, beyond="clip").item() == 500
    assert aqi("o3", 0.605, averaging="1h", beyond="clip").item() == 500


@pytest.mark.parametrize(
    ("standard", "pollutant", "averaging", "conc"),
    [
        ("us_epa", "o3", "1h", 0.124),  # 1-h ozone starts at AQI 101
        ("us_epa", "o3", "8h", 0.201),  # 8-h ozone stops at 300
        ("us_epa", "so2", "1h", 305),  # 1-h SO2 stops at 200
        ("us_epa", "so2", "24h", 304),  # 24-h SO2 starts at 201
        ("china_hj633", "so2", "1h", 801),
        ("china_hj633", "o3", "8h", 801),
    ],
)
def test_blank_table_parts_are_nan_even_with_clip(
    standard: str, pollutant: str, averaging: str, conc: float
) -> None:
    assert np.isnan(aqi(pollutant, conc, standard, averaging)).all()
    assert np.isnan(aqi(pollutant, conc, standard, averaging, beyond="clip")).all()


# ----- shapes --------------------------------------------------------------------------------


def test_vectorised_shapes_are_kept() -> None:
    grid = np.linspace(0.0, 400.0, 24).reshape(2, 3, 4)
    out = aqi("pm25", grid)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.float64
    flat = np.array([aqi("pm25", c).item() for c in grid.ravel()])
    np.testing.assert_array_equal(out.ravel(), flat)
    assert aqi("pm25", 10.0).shape == ()
    assert aqi("pm25", [[1.0], [2.0]], "china_hj633").shape == (2, 1)
    assert category(out).shape == (2, 3, 4)


def test_monotone_in_concentration() -> None:
    for (standard, pollutant, averaging), t in BREAKPOINTS.items():
        c = np.linspace(t.conc_lo[0], t.conc_hi[-1], 2001)
        out = aqi(pollutant, c, standard, averaging)
        assert np.isfinite(out).all(), (standard, pollutant, averaging)
        assert (np.diff(out) >= 0).all(), (standard, pollutant, averaging)


# ----- categories and colours ------------------------------------------------------------------


def test_categories_at_the_edges() -> None:
    values = [0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, np.nan, -1]
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, -1, -1]
    for standard in ("us_epa", "china_hj633"):
        codes = category(values, standard)
        assert codes.dtype == np.int8
        np.testing.assert_array_equal(codes, expected)
    assert category(50.4).item() == 1  # unrounded values above 50 are no longer Good


def test_category_names_and_colours() -> None:
    assert CATEGORY_NAMES["us_epa"] == (
        "Good",
        "Moderate",
        "Unhealthy for Sensitive Groups",
        "Unhealthy",
        "Very Unhealthy",
        "Hazardous",
    )
    assert CATEGORY_NAMES["china_hj633"] == (
        "优",
        "良",
        "轻度污染",
        "中度污染",
        "重度污染",
        "严重污染",
    )
    assert CATEGORY_NAMES_EN["china_hj633"] == (
        "Excellent",
        "Good",
        "Lightly polluted",
        "Moderately polluted",
        "Heavily polluted",
        "Severely polluted",
    )
    assert CATEGORY_COLORS["us_epa"] == (
        (0, 228, 0),
        (255, 255, 0),
        (255, 126, 0),
        (255, 0, 0),
        (143, 63, 151),
        (126, 0, 35),
    )
    assert CATEGORY_COLORS["china_hj633"][4] == (153, 0, 76)
    assert CATEGORY_COLORS["china_hj633"][5] == (126, 0, 35)
    rgba = category_colors(np.array([[0, 5, -1]]), "china_hj633")
    assert rgba.shape == (1, 3, 4)
    np.testing.assert_array_equal(rgba[0], [[0, 228, 0, 255], [126, 0, 35, 255], [0, 0, 0, 0]])


# ----- overall index ---------------------------------------------------------------------------


def test_overall_is_nan_ignoring_max() -> None:
    out = overall_aqi(
        {
            "pm25": [10.0, np.nan, np.nan],
            "o3_8h": [0.06, 0.03, np.nan],
            "o3_1h": [0.13, np.nan, np.nan],  # 1-h ozone below 0.125 is blank, never 0
        }
    )
    # PM2.5 10 -> 53; O3 8-h 0.060 -> 66; O3 1-h 0.130 -> 107.3 -> 107; 0.030 -> 28.
    np.testing.assert_array_equal(out[:2], [107, 28])
    assert np.isnan(out[2])


def test_overall_broadcasts_and_parses_keys() -> None:
    out = overall_aqi({"PM2.5": np.full((2, 2), 20.0), "so2_1h": 40.0, "SO2-24h": 400.0})
    expected = max(
        aqi("pm25", 20.0).item(), aqi("so2", 40.0).item(), aqi("so2", 400.0, averaging="24h").item()
    )
    assert out.shape == (2, 2)
    assert (out == expected).all()


def test_overall_china_with_beijing_units() -> None:
    # The Beijing multi-site dataset reports every gas in ug/m3, CO included.
    conc = {"pm25": 80.0, "pm10": 100.0, "so2": 10.0, "no2": 50.0, "co": 1200.0, "o3": 60.0}
    out = overall_aqi(conc, "china_hj633", unit="ug/m3")
    assert out.item() == aqi("pm25", 80.0, "china_hj633").item() == 107  # 100 + 50/40*5 = 106.25
    co = aqi("co", 1200.0, "china_hj633", unit="ug/m3").item()
    assert co == aqi("co", 1.2, "china_hj633").item() == 30


def test_overall_needs_input() -> None:
    with pytest.raises(AQIError):
        overall_aqi({})


# ----- units -----------------------------------------------------------------------------------


def test_unit_conversion_factors() -> None:
    # ug/m3 per ppb = M / 24.45 at 25 degC, 1 atm.
    assert MOLAR_VOLUME_L_MOL == 24.45
    assert convert_units("no2", 1.0, "ppb", "ug/m3").item() == pytest.approx(46.005 / 24.45)
    assert convert_units("o3", 1.0, "ppb", "ug/m3").item() == pytest.approx(47.997 / 24.45)
    assert convert_units("so2", 1.0, "ppb", "ug/m3").item() == pytest.approx(64.058 / 24.45)
    assert convert_units("co", 1.0, "ppm", "mg/m3").item() == pytest.approx(28.010 / 24.45)
    assert convert_units("no2", 1.0, "ppb", "ug/m3").item() == pytest.approx(1.8816, abs=1e-4)
    assert convert_units("co", 1000.0, "µg/m³", "mg/m3").item() == pytest.approx(1.0)
    assert convert_units("o3", 1.0, "ppm", "ppb").item() == pytest.approx(1000.0)
    c = np.array([[1.0, 2.0], [np.nan, 4.0]])
    back = convert_units("so2", convert_units("so2", c, "ppb", "mg/m3"), "mg/m3", "ppb")
    np.testing.assert_allclose(back, c)
    assert np.isnan(back[1, 0])
    assert convert_units("pm25", 5.0, "mg/m3", "ug/m3").item() == pytest.approx(5000.0)
    with pytest.raises(AQIError):
        convert_units("pm25", 5.0, "ug/m3", "ppb")
    with pytest.raises(AQIError):
        convert_units("no2", 5.0, "ug/m3", "furlongs")


def test_aqi_with_unit_argument() -> None:
    # 100 ppb NO2 is exactly AQI 100; the round trip through ug/m3 must not truncate to 99.
    ug = convert_units("no2", 100.0, "ppb", "ug/m3")
    assert aqi("no2", ug, unit="ug/m3").item() == 100
    # 8-h ozone of 140 ug/m3 = 0.0713 ppm -> 0.071 ppm -> AQI 101.
    assert aqi("o3", 140.0, averaging="8h", unit="ug/m3").item() == 101
    # HJ 633 O3 in ppb: 80 ppb = 157.0 ug/m3 (8 h) -> 50 + 50/60*57.0 = 97.5 -> 98.
    assert aqi("o3", 80.0, "china_hj633", "8h", unit="ppb").item() == 98


# ----- errors and helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pollutant", "standard", "averaging"),
    [
        ("pm1", "us_epa", None),
        ("pm25", "who", None),
        ("pm25", "us_epa", "1h"),
        ("pm25", "china_hj633", "1h"),
        ("co", "us_epa", "24h"),
        ("o3", "china_hj633", "24h"),
    ],
)
def test_unknown_inputs_raise(pollutant: str, standard: str, averaging: str | None) -> None:
    with pytest.raises(AQIError) as info:
        aqi(pollutant, 1.0, standard, averaging)
    assert isinstance(info.value, TwinError)
    assert isinstance(info.value, ValueError)


def test_bad_beyond_raises() -> None:
    with pytest.raises(AQIError):
        aqi("pm25", 1.0, beyond="extrapolate")  # type: ignore[arg-type]


def test_tables_listing() -> None:
    rows = tables("china_hj633")
    assert all(r["standard"] == "china_hj633" for r in rows)
    assert len(rows) == sum(len(limits) - 1 for _, _, limits in HJ_LIMITS)
    assert len(tables()) == len(rows) + sum(len(r) for _, _, r in EPA_ROWS)
