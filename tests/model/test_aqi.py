"""US EPA AQI (TAD 2024) and China HJ 633-2012 IAQI: every breakpoint, rules, shapes, units.

The expected values below are read from the documents themselves, not from the module's tables:
the worked example and Table 6 of EPA's Technical Assistance Document for the Reporting of Daily
Air Quality (EPA-454/B-24-002, May 2024), and Table 1 with formula (1) of HJ 633-2012; values
between breakpoints are computed by hand from those formulas (see the module docstring for the
sources).
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

#: Points read from EPA TAD EPA-454/B-24-002 (May 2024), Table 6 "Breakpoints for the AQI", one
#: line per table row: (pollutant, averaging, C_lo, I_lo, C, I, C_hi, I_hi). (C_lo, I_lo) and
#: (C_hi, I_hi) are the printed breakpoints; C is a concentration about a third into the row on
#: the table's precision and I the index that equation 1 of the TAD gives for it, rounded to the
#: nearest integer (the unrounded value is in the comment), computed by hand from the document,
#: not from the module.
EPA_POINTS: list[tuple[str, str, float, int, float, int, float, int]] = [
    ("pm25", "24h", 0.0, 0, 3.0, 17, 9.0, 50),  # 16.67
    ("pm25", "24h", 9.1, 51, 17.8, 67, 35.4, 100),  # 67.21
    ("pm25", "24h", 35.5, 101, 42.1, 117, 55.4, 150),  # 117.25
    ("pm25", "24h", 55.5, 151, 78.8, 167, 125.4, 200),  # 167.33
    ("pm25", "24h", 125.5, 201, 158.8, 234, 225.4, 300),  # 234.00
    ("pm25", "24h", 225.5, 301, 258.8, 367, 325.4, 500),  # 367.33
    ("pm10", "24h", 0, 0, 18, 17, 54, 50),  # 16.67
    ("pm10", "24h", 55, 51, 88, 67, 154, 100),  # 67.33
    ("pm10", "24h", 155, 101, 188, 117, 254, 150),  # 117.33
    ("pm10", "24h", 255, 151, 288, 167, 354, 200),  # 167.33
    ("pm10", "24h", 355, 201, 378, 234, 424, 300),  # 234.00
    ("pm10", "24h", 425, 301, 484, 367, 604, 500),  # 366.59
    ("o3", "8h", 0.000, 0, 0.018, 17, 0.054, 50),  # 16.67
    ("o3", "8h", 0.055, 51, 0.060, 67, 0.070, 100),  # 67.33
    ("o3", "8h", 0.071, 101, 0.075, 115, 0.085, 150),  # 115.00
    ("o3", "8h", 0.086, 151, 0.092, 166, 0.105, 200),  # 166.47
    ("o3", "8h", 0.106, 201, 0.137, 234, 0.200, 300),  # 233.65
    ("o3", "1h", 0.125, 101, 0.138, 117, 0.164, 150),  # 117.33
    ("o3", "1h", 0.165, 151, 0.178, 167, 0.204, 200),  # 167.33
    ("o3", "1h", 0.205, 201, 0.271, 234, 0.404, 300),  # 233.83
    ("o3", "1h", 0.405, 301, 0.471, 367, 0.604, 500),  # 367.00
    ("co", "8h", 0.0, 0, 1.4, 16, 4.4, 50),  # 15.91
    ("co", "8h", 4.5, 51, 6.1, 67, 9.4, 100),  # 67.00
    ("co", "8h", 9.5, 101, 10.4, 116, 12.4, 150),  # 116.21
    ("co", "8h", 12.5, 151, 13.4, 166, 15.4, 200),  # 166.21
    ("co", "8h", 15.5, 201, 20.4, 234, 30.4, 300),  # 233.56
    ("co", "8h", 30.5, 301, 37.1, 367, 50.4, 500),  # 367.00
    ("so2", "1h", 0, 0, 11, 16, 35, 50),  # 15.71
    ("so2", "1h", 36, 51, 49, 67, 75, 100),  # 67.33
    ("so2", "1h", 76, 101, 112, 117, 185, 150),  # 117.18
    ("so2", "1h", 186, 151, 225, 167, 304, 200),  # 167.19
    ("so2", "24h", 305, 201, 404, 234, 604, 300),  # 233.78
    ("so2", "24h", 605, 301, 738, 367, 1004, 500),  # 367.33
    ("no2", "1h", 0, 0, 17, 16, 53, 50),  # 16.04
    ("no2", "1h", 54, 51, 69, 67, 100, 100),  # 66.98
    ("no2", "1h", 101, 101, 187, 117, 360, 150),  # 117.27
    ("no2", "1h", 361, 151, 457, 167, 649, 200),  # 167.33
    ("no2", "1h", 650, 201, 849, 234, 1249, 300),  # 233.89
    ("no2", "1h", 1250, 301, 1516, 367, 2049, 500),  # 367.25
]

#: Points read from HJ 633-2012 Table 1 (ug/m3; CO mg/m3), one line per pair of neighbouring
#: columns: (pollutant, averaging, BP_lo, IAQI_lo, C, IAQI, BP_hi, IAQI_hi). C lies about a
#: third into the interval and IAQI is formula (1) of HJ 633 for it, rounded up (unrounded in
#: the comment), computed by hand from the document, not from the module.
HJ_POINTS: list[tuple[str, str, float, int, float, int, float, int]] = [
    ("so2", "24h", 0, 0, 16.6, 17, 50, 50),  # 16.600
    ("so2", "24h", 50, 50, 83.3, 67, 150, 100),  # 66.650
    ("so2", "24h", 150, 100, 258.3, 117, 475, 150),  # 116.662
    ("so2", "24h", 475, 150, 583.3, 167, 800, 200),  # 166.662
    ("so2", "24h", 800, 200, 1066.6, 234, 1600, 300),  # 233.325
    ("so2", "24h", 1600, 300, 1766.6, 334, 2100, 400),  # 333.320
    ("so2", "24h", 2100, 400, 2273.3, 434, 2620, 500),  # 433.327
    ("so2", "1h", 0, 0, 50, 17, 150, 50),  # 16.667
    ("so2", "1h", 150, 50, 266.6, 67, 500, 100),  # 66.657
    ("so2", "1h", 500, 100, 550, 117, 650, 150),  # 116.667
    ("so2", "1h", 650, 150, 700, 167, 800, 200),  # 166.667
    ("no2", "24h", 0, 0, 13.3, 17, 40, 50),  # 16.625
    ("no2", "24h", 40, 50, 53.3, 67, 80, 100),  # 66.625
    ("no2", "24h", 80, 100, 113.3, 117, 180, 150),  # 116.650
    ("no2", "24h", 180, 150, 213.3, 167, 280, 200),  # 166.650
    ("no2", "24h", 280, 200, 375, 234, 565, 300),  # 233.333
    ("no2", "24h", 565, 300, 626.6, 334, 750, 400),  # 333.297
    ("no2", "24h", 750, 400, 813.3, 434, 940, 500),  # 433.316
    ("no2", "1h", 0, 0, 33.3, 17, 100, 50),  # 16.650
    ("no2", "1h", 100, 50, 133.3, 67, 200, 100),  # 66.650
    ("no2", "1h", 200, 100, 366.6, 117, 700, 150),  # 116.660
    ("no2", "1h", 700, 150, 866.6, 167, 1200, 200),  # 166.660
    ("no2", "1h", 1200, 200, 1580, 234, 2340, 300),  # 233.333
    ("no2", "1h", 2340, 300, 2590, 334, 3090, 400),  # 333.333
    ("no2", "1h", 3090, 400, 3340, 434, 3840, 500),  # 433.333
    ("pm10", "24h", 0, 0, 16.6, 17, 50, 50),  # 16.600
    ("pm10", "24h", 50, 50, 83.3, 67, 150, 100),  # 66.650
    ("pm10", "24h", 150, 100, 183.3, 117, 250, 150),  # 116.650
    ("pm10", "24h", 250, 150, 283.3, 167, 350, 200),  # 166.650
    ("pm10", "24h", 350, 200, 373.3, 234, 420, 300),  # 233.286
    ("pm10", "24h", 420, 300, 446.6, 334, 500, 400),  # 333.250
    ("pm10", "24h", 500, 400, 533.3, 434, 600, 500),  # 433.300
    ("co", "24h", 0, 0, 0.6, 15, 2, 50),  # 15.000
    ("co", "24h", 2, 50, 2.6, 65, 4, 100),  # 65.000
    ("co", "24h", 4, 100, 7.3, 117, 14, 150),  # 116.500
    ("co", "24h", 14, 150, 17.3, 167, 24, 200),  # 166.500
    ("co", "24h", 24, 200, 28, 234, 36, 300),  # 233.333
    ("co", "24h", 36, 300, 40, 334, 48, 400),  # 333.333
    ("co", "24h", 48, 400, 52, 434, 60, 500),  # 433.333
    ("co", "1h", 0, 0, 1.6, 16, 5, 50),  # 16.000
    ("co", "1h", 5, 50, 6.6, 66, 10, 100),  # 66.000
    ("co", "1h", 10, 100, 18.3, 117, 35, 150),  # 116.600
    ("co", "1h", 35, 150, 43.3, 167, 60, 200),  # 166.600
    ("co", "1h", 60, 200, 70, 234, 90, 300),  # 233.333
    ("co", "1h", 90, 300, 100, 334, 120, 400),  # 333.333
    ("co", "1h", 120, 400, 130, 434, 150, 500),  # 433.333
    ("o3", "1h", 0, 0, 53.3, 17, 160, 50),  # 16.656
    ("o3", "1h", 160, 50, 173.3, 67, 200, 100),  # 66.625
    ("o3", "1h", 200, 100, 233.3, 117, 300, 150),  # 116.650
    ("o3", "1h", 300, 150, 333.3, 167, 400, 200),  # 166.650
    ("o3", "1h", 400, 200, 533.3, 234, 800, 300),  # 233.325
    ("o3", "1h", 800, 300, 866.6, 334, 1000, 400),  # 333.300
    ("o3", "1h", 1000, 400, 1066.6, 434, 1200, 500),  # 433.300
    ("o3", "8h", 0, 0, 33.3, 17, 100, 50),  # 16.650
    ("o3", "8h", 100, 50, 120, 67, 160, 100),  # 66.667
    ("o3", "8h", 160, 100, 178.3, 117, 215, 150),  # 116.636
    ("o3", "8h", 215, 150, 231.6, 167, 265, 200),  # 166.600
    ("o3", "8h", 265, 200, 443.3, 234, 800, 300),  # 233.327
    ("pm25", "24h", 0, 0, 11.6, 17, 35, 50),  # 16.571
    ("pm25", "24h", 35, 50, 48.3, 67, 75, 100),  # 66.625
    ("pm25", "24h", 75, 100, 88.3, 117, 115, 150),  # 116.625
    ("pm25", "24h", 115, 150, 126.6, 167, 150, 200),  # 166.571
    ("pm25", "24h", 150, 200, 183.3, 234, 250, 300),  # 233.300
    ("pm25", "24h", 250, 300, 283.3, 334, 350, 400),  # 333.300
    ("pm25", "24h", 350, 400, 400, 434, 500, 500),  # 433.333
]


# ----- breakpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(("pol", "avg", "c_lo", "i_lo", "c", "i", "c_hi", "i_hi"), EPA_POINTS)
def test_epa_table_6_rows(
    pol: str, avg: str, c_lo: float, i_lo: int, c: float, i: int, c_hi: float, i_hi: int
) -> None:
    got = aqi(pol, [c_lo, c, c_hi], "us_epa", avg)
    np.testing.assert_array_equal(got, [i_lo, i, i_hi])


@pytest.mark.parametrize(("pol", "avg", "c_lo", "i_lo", "c", "i", "c_hi", "i_hi"), HJ_POINTS)
def test_hj633_table_1_intervals(
    pol: str, avg: str, c_lo: float, i_lo: int, c: float, i: int, c_hi: float, i_hi: int
) -> None:
    got = aqi(pol, [c_lo, c, c_hi], "china_hj633", avg)
    np.testing.assert_array_equal(got, [i_lo, i, i_hi])


def test_every_published_table_is_tested() -> None:
    epa = {(p, a) for p, a, *_ in EPA_POINTS}
    hj = {(p, a) for p, a, *_ in HJ_POINTS}
    assert {(p, a) for s, p, a in BREAKPOINTS if s == "us_epa"} == epa
    assert {(p, a) for s, p, a in BREAKPOINTS if s == "china_hj633"} == hj
    # one row of the module per row of the documents
    for standard, points in (("us_epa", EPA_POINTS), ("china_hj633", HJ_POINTS)):
        for p, a in {(p, a) for p, a, *_ in points}:
            n_rows = sum(1 for q, b, *_ in points if (q, b) == (p, a))
            assert breakpoint_table(p, standard, a).conc_lo.size == n_rows, (standard, p, a)


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
    """The worked example of the TAD, section "Using the table and the equation and
    concentration data to calculate the AQI" (EPA-454/B-18-007, September 2018; the 8-h ozone
    and PM2.5 rows it uses are the same in Table 6 of the 2024 TAD, EPA-454/B-24-002).

    An 8-hour ozone value of 0.078 ppm, a 1-hour ozone value of 0.104 ppm and a PM2.5 value of
    35.9 ug/m3. 8-h ozone: (150-101)/(0.085-0.071)*(0.078-0.071)+101 = 125.5 -> 126. 1-h ozone:
    0.104 ppm is below the lowest 1-h breakpoint (0.125), so it has no index. PM2.5:
    (150-101)/(55.4-35.5)*(35.9-35.5)+101 = 101.98 -> 102. The AQI is 126, ozone. (The same
    answers, 126 ozone and 102 PM2.5 without the 8-h value, are in the documentation of the
    ``aqstandards`` R package, B-Nilson/aqstandards, for this example.) A not-yet-truncated
    8-h average of 0.07853 ppm gives the same index, and a CO 8-h value of 8.4 ppm,
    (100-51)/(9.4-4.5)*(8.4-4.5)+51 = 90, does not change it.
    """
    assert aqi("o3", 0.078, averaging="8h").item() == 126
    assert np.isnan(aqi("o3", 0.104, averaging="1h")).all()
    assert aqi("pm25", 35.9).item() == 102
    assert overall_aqi({"o3_8h": 0.078, "o3_1h": 0.104, "pm25": 35.9}).item() == 126
    assert overall_aqi({"o3_1h": 0.104, "pm25": 35.9}).item() == 102
    assert aqi("o3", 0.07853, averaging="8h").item() == 126
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
    assert len(rows) == len(HJ_POINTS) == 65
    assert len(tables()) == len(rows) + len(EPA_POINTS) == 65 + 39
