"""Air quality indices from pollutant concentrations: US EPA AQI and China HJ 633-2012 (pure, vectorised).

Both indices turn a concentration ``C`` of one pollutant into a sub-index ``I`` by piecewise-linear
interpolation in a breakpoint table, and report the maximum sub-index over pollutants as the
overall index:

.. math::

    I = \\frac{I_{hi} - I_{lo}}{C_{hi} - C_{lo}} (C - C_{lo}) + I_{lo},
    \\qquad \\mathrm{AQI} = \\max_p I_p

where ``C_lo <= C <= C_hi`` are the table's concentration breakpoints around ``C`` and ``I_lo``,
``I_hi`` the index values that belong to them (EPA TAD 2024, equation 1; HJ 633-2012, formula 1).
Everything here works on whole numpy arrays (one ``searchsorted`` per call, no Python loop over
stations or cells), so a city grid of sub-indices costs a few array passes.

US EPA AQI (``standard="us_epa"``)
----------------------------------
Breakpoints of Table 6 of the EPA *Technical Assistance Document for the Reporting of Daily Air
Quality - the Air Quality Index (AQI)*, EPA-454/B-24-002, May 2024, i.e. **after the 2024 revision**
that came with the PM NAAQS reconsideration (final rule signed 7 February 2024, 89 FR 16202,
6 March 2024; the new AQI took effect on **6 May 2024**). The revision lowered the PM2.5 "Good"
upper breakpoint from 12.0 to **9.0 ug/m3**, moved the 150/200/300 PM2.5 breakpoints to
55.4/125.4/225.4 ug/m3, and merged the two "Hazardous" rows (301-400, 401-500) of every pollutant
into one row 301-500 (PM2.5 225.5-325.4 ug/m3).

============================  ===========  ==========  ==========  ==========  ===========  ===========
pollutant (averaging, unit)   0-50         51-100      101-150     151-200     201-300      301-500
============================  ===========  ==========  ==========  ==========  ===========  ===========
PM2.5 (24 h, ug/m3)           0.0-9.0      9.1-35.4    35.5-55.4   55.5-125.4  125.5-225.4  225.5-325.4
PM10 (24 h, ug/m3)            0-54         55-154      155-254     255-354     355-424      425-604
O3 (8 h, ppm)                 0.000-0.054  .055-.070   .071-.085   .086-.105   .106-.200    (1)
O3 (1 h, ppm)                 (2)          (2)         .125-.164   .165-.204   .205-.404    .405-.604
CO (8 h, ppm)                 0.0-4.4      4.5-9.4     9.5-12.4    12.5-15.4   15.5-30.4    30.5-50.4
SO2 (1 h, ppb)                0-35         36-75       76-185      186-304     (3)          (3)
SO2 (24 h, ppb)               (3)          (3)         (3)         (3)         305-604      605-1004
NO2 (1 h, ppb)                0-53         54-100      101-360     361-649     650-1249     1250-2049
============================  ===========  ==========  ==========  ==========  ===========  ===========

(1) 8-h ozone does not define AQI values of 301 and above: above 0.200 ppm the 1-h table is used.
(2) 1-h ozone only defines AQI values of 101 and above (it is reported where it is more
precautionary than the 8-h value). (3) 1-h SO2 only defines AQI values up to 200; above 304 ppb
the 24-h SO2 average is used, and the 24-h table only covers 201-500. Where the table is blank
this module returns NaN, so callers combine averagings with :func:`overall_aqi` (NaN-ignoring max).

Before the look-up each concentration is **truncated** (not rounded) to the table's precision:
PM2.5 to 0.1 ug/m3, PM10 to 1 ug/m3, O3 to 0.001 ppm, CO to 0.1 ppm, SO2 and NO2 to 1 ppb; the
resulting index is **rounded to the nearest integer** (halves up). With truncation every
concentration falls inside exactly one row, although the rows leave gaps of one precision step
(9.0 | 9.1). To absorb binary floating-point error (``35.4 * 10 == 353.99999999999994``), scaled
concentrations are rounded to 6 decimals before they are truncated.

Category names and colours are those of TAD 2024 Tables 1-2: Good (0, 228, 0), Moderate
(255, 255, 0), Unhealthy for Sensitive Groups (255, 126, 0), Unhealthy (255, 0, 0), Very
Unhealthy (143, 63, 151), Hazardous (126, 0, 35), as 8-bit RGB.

China AQI (``standard="china_hj633"``)
--------------------------------------
Table 1 of HJ 633-2012 *Technical Regulation on Ambient Air Quality Index (on trial)*
(环境空气质量指数（AQI）技术规定（试行）), Ministry of Environmental Protection, issued
2012-02-29 together with GB 3095-2012, nationwide in force from 2016-01-01. Units are ug/m3
(CO: mg/m3); IAQI breakpoints 0, 50, 100, 150, 200, 300, 400, 500 and the rows share their end
points (no gaps):

=====================  ==  ===  ===  ====  ====  ====  ====  ====
IAQI                   0   50   100  150   200   300   400   500
=====================  ==  ===  ===  ====  ====  ====  ====  ====
SO2 24 h (ug/m3)       0   50   150  475   800   1600  2100  2620
SO2 1 h (ug/m3) (a)    0   150  500  650   800   -     -     -
NO2 24 h (ug/m3)       0   40   80   180   280   565   750   940
NO2 1 h (ug/m3)        0   100  200  700   1200  2340  3090  3840
PM10 24 h (ug/m3)      0   50   150  250   350   420   500   600
CO 24 h (mg/m3)        0   2    4    14    24    36    48    60
CO 1 h (mg/m3)         0   5    10   35    60    90    120   150
O3 1 h (ug/m3)         0   160  200  300   400   800   1000  1200
O3 8 h (ug/m3) (b)     0   100  160  215   265   800   -     -
PM2.5 24 h (ug/m3)     0   35   75   115   150   250   350   500
=====================  ==  ===  ===  ====  ====  ====  ====  ====

(a) 1-h SO2 above 800 ug/m3 gets no IAQI; the 24-h IAQI is reported instead. (b) 8-h O3 above
800 ug/m3 gets no IAQI; the 1-h IAQI is reported instead. HJ 633 uses the 1-h SO2, NO2 and CO
limits for hourly (real-time) reports only; daily reports use the 24-h rows. Both cases return
NaN here. IAQI values are rounded **up** to the next integer (进位取整): this is what the
reference implementations do, and the 2026 revision of HJ 633 states it in 4.2.6.

Categories (HJ 633-2012 Table 2 and Appendix A): 优 Excellent (0, 228, 0), 良 Good (255, 255, 0),
轻度污染 Lightly polluted (255, 126, 0), 中度污染 Moderately polluted (255, 0, 0), 重度污染
Heavily polluted (153, 0, 76), 严重污染 Severely polluted (126, 0, 35), over AQI ranges 0-50,
51-100, 101-150, 151-200, 201-300 and above 300.

Beyond the top of a table
-------------------------
EPA calls concentrations above the highest breakpoint "beyond the AQI" (AQI > 500) and gives no
formula for them; HJ 633 likewise stops at 500. By default :func:`aqi` returns **NaN** for them,
so an index is never silently invented; pass ``beyond="clip"`` to report 500 instead (what
AirNow-style displays show as "500+"). ``"clip"`` applies only to tables that reach 500; blank
table regions (notes 1-3, a, b) stay NaN. Negative concentrations (after truncation) are NaN.

Units and conversions
---------------------
Each table has one native unit (:data:`NATIVE_UNITS`). Data in other units, for example the
Beijing multi-site dataset with every gas (CO included) in ug/m3, are converted with
:func:`convert_units` (or the ``unit=`` argument of :func:`aqi`) at 25 degC and 1 atm, where an
ideal gas occupies ``V_m = 24.45 L/mol``:

.. math::

    c\\,[\\mu g/m^3] = c\\,[ppb] \\cdot M / V_m, \\qquad c\\,[mg/m^3] = c\\,[ppm] \\cdot M / V_m

with the molar mass ``M`` in g/mol (:data:`MOLAR_MASS_G_MOL`, from IUPAC standard atomic
weights C 12.011, N 14.007, O 15.999, S 32.06). 25 degC is also the reference state of the
gaseous limits of GB 3095-2012 since its 2018 amendment, so Chinese ug/m3 data need no
temperature correction.

Sources
-------
- U.S. EPA (2024). *Technical Assistance Document for the Reporting of Daily Air Quality - the
  Air Quality Index (AQI)*. EPA-454/B-24-002, May 2024 (nepis.epa.gov, Dockey P101AP0Q; also
  document.airnow.gov). Tables 1, 2 and 6, equation 1, truncation and rounding rules.
- 40 CFR Part 58, Appendix G (Uniform AQI and daily reporting), Table 2 as revised by
  89 FR 16202 (2024); earlier text 74 FR 30469 (2009) for the rows the revision left unchanged.
- AirNow, "The AQI Equation (2024 - Valid Beginning May 6th, 2024)",
  forum.airnowtech.org/t/453 (truncation to 0.001 ppm / 0.1 ug/m3 / 1 ug/m3, rounding).
- HJ 633-2012, 环境空气质量指数（AQI）技术规定（试行）, Table 1, formula (1), Table 2,
  Appendix A (mee.gov.cn, W020120410332725219541.pdf).
- Cross-checks of the transcribed tables against public code: caiyunapp/aqi-hub
  (``src/aqi_hub/aqi_usa/common.py``, ``docs/breaking_points.md``: the 2024 EPA rows;
  ``src/aqi_hub/aqi_cn/common.py``: HJ 633 rows and RGB colours), hrbonz/python-aqi
  (``aqi/algos/epa.py``: pre-2015 EPA rows; ``aqi/algos/mep.py``: HJ 633 rows), MazamaScience
  AirMonitor (``R/AirMonitor.R``: EPA RGB colours; ``R/monitor_aqi.R``: the 2024 PM2.5 breaks),
  airgradienthq/arduino PR 208 (PM2.5 top breakpoint 325.4 after 2024). Note that aqi-hub's
  24-h SO2 row for China repeats the 1-h limits (150/500/650/800): python-aqi and other HJ 633
  transcriptions agree on 50/150/475/800/1600/2100/2620, which is what is used here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin_app.errors import TwinError
from twin_app.model.style import ClassScale, rgb_to_hex

Standard = Literal["us_epa", "china_hj633"]
Beyond = Literal["nan", "clip"]
FloatArray = NDArray[np.float64]

#: The two index standards this module implements.
STANDARDS: tuple[str, ...] = ("us_epa", "china_hj633")

#: How each standard is named in legends.
STANDARD_TITLES: dict[str, str] = {"us_epa": "US EPA 2024", "china_hj633": "China HJ 633-2012"}

#: Pollutant keys (see :func:`normalize_pollutant` for the accepted spellings).
POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "o3", "no2", "so2", "co")

#: Molar volume of an ideal gas at 25 degC (298.15 K) and 1 atm (101.325 kPa), L/mol.
MOLAR_VOLUME_L_MOL = 24.45

#: Molar masses in g/mol from IUPAC standard atomic weights (C 12.011, N 14.007, O 15.999,
#: S 32.06).
MOLAR_MASS_G_MOL: dict[str, float] = {
    "o3": 3 * 15.999,
    "no2": 14.007 + 2 * 15.999,
    "so2": 32.06 + 2 * 15.999,
    "co": 12.011 + 15.999,
}

#: Unit in which each standard's breakpoint table is written.
NATIVE_UNITS: dict[str, dict[str, str]] = {
    "us_epa": {
        "pm25": "ug/m3",
        "pm10": "ug/m3",
        "o3": "ppm",
        "co": "ppm",
        "so2": "ppb",
        "no2": "ppb",
    },
    "china_hj633": {
        "pm25": "ug/m3",
        "pm10": "ug/m3",
        "o3": "ug/m3",
        "co": "mg/m3",
        "so2": "ug/m3",
        "no2": "ug/m3",
    },
}

#: Averaging period used when :func:`aqi` is called without one (the period of each standard's
#: daily index: 24 h for particles, 8 h for ozone; EPA: 8 h CO and 1 h SO2/NO2).
DEFAULT_AVERAGING: dict[str, dict[str, str]] = {
    "us_epa": {"pm25": "24h", "pm10": "24h", "o3": "8h", "co": "8h", "so2": "1h", "no2": "1h"},
    "china_hj633": {
        "pm25": "24h",
        "pm10": "24h",
        "o3": "8h",
        "co": "24h",
        "so2": "24h",
        "no2": "24h",
    },
}

#: Category names in the standard's own language, lowest category first (index = category code).
CATEGORY_NAMES: dict[str, tuple[str, ...]] = {
    "us_epa": (
        "Good",
        "Moderate",
        "Unhealthy for Sensitive Groups",
        "Unhealthy",
        "Very Unhealthy",
        "Hazardous",
    ),
    "china_hj633": ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"),
}

#: Category names in English for both standards.
CATEGORY_NAMES_EN: dict[str, tuple[str, ...]] = {
    "us_epa": CATEGORY_NAMES["us_epa"],
    "china_hj633": (
        "Excellent",
        "Good",
        "Lightly polluted",
        "Moderately polluted",
        "Heavily polluted",
        "Severely polluted",
    ),
}

#: Official category colours as 8-bit RGB (EPA TAD 2024 Table 2; HJ 633-2012 Appendix A).
CATEGORY_COLORS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "us_epa": (
        (0, 228, 0),
        (255, 255, 0),
        (255, 126, 0),
        (255, 0, 0),
        (143, 63, 151),
        (126, 0, 35),
    ),
    "china_hj633": (
        (0, 228, 0),
        (255, 255, 0),
        (255, 126, 0),
        (255, 0, 0),
        (153, 0, 76),
        (126, 0, 35),
    ),
}

#: Upper AQI bound of categories 0-4 (both standards); above the last one is category 5.
CATEGORY_UPPER_BOUNDS: tuple[float, ...] = (50.0, 100.0, 150.0, 200.0, 300.0)


@lru_cache(maxsize=8)
def category_scale(standard: str = "us_epa", english: bool = True) -> ClassScale:
    """The AQI categories of a standard as a class scale (for colouring and legends).

    Bounds :data:`CATEGORY_UPPER_BOUNDS` (a bound belongs to the category below it: AQI 50 is
    "Good"), names :data:`CATEGORY_NAMES_EN` (or :data:`CATEGORY_NAMES` in the standard's own
    language) and colours :data:`CATEGORY_COLORS`; render adapters and legends use this rather
    than copies of the tables. :func:`category` is the same classification with the index's
    own edge cases (negative values are invalid, +inf is the top category).

    Parameters
    ----------
    standard
        ``"us_epa"`` or ``"china_hj633"`` (any spelling :func:`normalize_standard` accepts).
    english
        English category names (else the standard's own language).
    """
    std = normalize_standard(standard)
    names = CATEGORY_NAMES_EN[std] if english else CATEGORY_NAMES[std]
    return ClassScale(
        bounds=CATEGORY_UPPER_BOUNDS,
        names=names,
        colors=tuple(rgb_to_hex(c) for c in CATEGORY_COLORS[std]),
        upper_inclusive=True,
        title=f"AQI ({STANDARD_TITLES[std]})",
    )


class AQIError(TwinError, ValueError):
    """An unknown standard, pollutant, averaging period or unit was asked for."""


@dataclass(frozen=True, eq=False)
class BreakpointTable:
    """One pollutant/averaging row set of a breakpoint table.

    Row ``i`` maps concentrations ``conc_lo[i] <= C <= conc_hi[i]`` linearly onto
    ``index_lo[i] .. index_hi[i]``.

    Attributes
    ----------
    standard, pollutant, averaging
        Keys of the table (``"us_epa"``, ``"pm25"``, ``"24h"`` ...).
    unit
        Unit of the concentration breakpoints (``"ug/m3"``, ``"mg/m3"``, ``"ppb"``, ``"ppm"``).
    conc_lo, conc_hi, index_lo, index_hi
        The rows, as float64 arrays of equal length, increasing.
    resolution
        Truncation step applied before the look-up (EPA), or ``None`` (HJ 633: none).
    """

    standard: str
    pollutant: str
    averaging: str
    unit: str
    conc_lo: FloatArray
    conc_hi: FloatArray
    index_lo: FloatArray
    index_hi: FloatArray
    resolution: float | None


def _table(
    standard: str,
    pollutant: str,
    averaging: str,
    rows: list[tuple[float, float, float, float]],
    resolution: float | None,
) -> BreakpointTable:
    arr = np.asarray(rows, dtype=np.float64)
    return BreakpointTable(
        standard=standard,
        pollutant=pollutant,
        averaging=averaging,
        unit=NATIVE_UNITS[standard][pollutant],
        conc_lo=arr[:, 0].copy(),
        conc_hi=arr[:, 1].copy(),
        index_lo=arr[:, 2].copy(),
        index_hi=arr[:, 3].copy(),
        resolution=resolution,
    )


def _chained(standard: str, pollutant: str, averaging: str, limits: list[float]) -> BreakpointTable:
    """HJ 633 rows from a list of concentration limits at IAQI 0, 50, 100, 150, 200, 300 ..."""
    iaqi = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0][: len(limits)]
    rows = [(limits[i], limits[i + 1], iaqi[i], iaqi[i + 1]) for i in range(len(limits) - 1)]
    return _table(standard, pollutant, averaging, rows, None)


_EPA = "us_epa"
_HJ = "china_hj633"

#: Every breakpoint table, keyed by ``(standard, pollutant, averaging)``.
BREAKPOINTS: dict[tuple[str, str, str], BreakpointTable] = {
    (t.standard, t.pollutant, t.averaging): t
    for t in (
        # --- US EPA, TAD EPA-454/B-24-002 (May 2024) Table 6 ---
        _table(
            _EPA,
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
            0.1,
        ),
        _table(
            _EPA,
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
            1.0,
        ),
        _table(
            _EPA,
            "o3",
            "8h",
            [
                (0.000, 0.054, 0, 50),
                (0.055, 0.070, 51, 100),
                (0.071, 0.085, 101, 150),
                (0.086, 0.105, 151, 200),
                (0.106, 0.200, 201, 300),
            ],
            0.001,
        ),
        _table(
            _EPA,
            "o3",
            "1h",
            [
                (0.125, 0.164, 101, 150),
                (0.165, 0.204, 151, 200),
                (0.205, 0.404, 201, 300),
                (0.405, 0.604, 301, 500),
            ],
            0.001,
        ),
        _table(
            _EPA,
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
            0.1,
        ),
        _table(
            _EPA,
            "so2",
            "1h",
            [(0, 35, 0, 50), (36, 75, 51, 100), (76, 185, 101, 150), (186, 304, 151, 200)],
            1.0,
        ),
        _table(_EPA, "so2", "24h", [(305, 604, 201, 300), (605, 1004, 301, 500)], 1.0),
        _table(
            _EPA,
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
            1.0,
        ),
        # --- China, HJ 633-2012 Table 1 ---
        _chained(_HJ, "so2", "24h", [0, 50, 150, 475, 800, 1600, 2100, 2620]),
        _chained(_HJ, "so2", "1h", [0, 150, 500, 650, 800]),
        _chained(_HJ, "no2", "24h", [0, 40, 80, 180, 280, 565, 750, 940]),
        _chained(_HJ, "no2", "1h", [0, 100, 200, 700, 1200, 2340, 3090, 3840]),
        _chained(_HJ, "pm10", "24h", [0, 50, 150, 250, 350, 420, 500, 600]),
        _chained(_HJ, "co", "24h", [0, 2, 4, 14, 24, 36, 48, 60]),
        _chained(_HJ, "co", "1h", [0, 5, 10, 35, 60, 90, 120, 150]),
        _chained(_HJ, "o3", "1h", [0, 160, 200, 300, 400, 800, 1000, 1200]),
        _chained(_HJ, "o3", "8h", [0, 100, 160, 215, 265, 800]),
        _chained(_HJ, "pm25", "24h", [0, 35, 75, 115, 150, 250, 350, 500]),
    )
}

_UNIT_ALIASES: dict[str, str] = {
    "ug/m3": "ug/m3",
    "ugm3": "ug/m3",
    "ug/m^3": "ug/m3",
    "mg/m3": "mg/m3",
    "mgm3": "mg/m3",
    "mg/m^3": "mg/m3",
    "ppb": "ppb",
    "ppm": "ppm",
}
_AVERAGING_KEY = re.compile(r"^(?P<pollutant>.+?)[\s_\-]*(?P<averaging>\d+\s*-?\s*h)$")


def normalize_standard(standard: str) -> str:
    """Return the canonical standard key for ``standard``.

    Parameters
    ----------
    standard
        ``"us_epa"`` or ``"china_hj633"`` (case-insensitive; ``"epa"`` and ``"hj633"`` too).

    Raises
    ------
    AQIError
        For any other name.
    """
    key = standard.strip().lower().replace("-", "_").replace(" ", "_")
    key = {"epa": "us_epa", "hj633": "china_hj633", "hj_633": "china_hj633"}.get(key, key)
    if key not in STANDARDS:
        raise AQIError(f"unknown AQI standard {standard!r}: use one of {', '.join(STANDARDS)}")
    return key


def normalize_pollutant(pollutant: str) -> str:
    """Return the canonical pollutant key (``pm25``, ``pm10``, ``o3``, ``no2``, ``so2``, ``co``).

    Case, dots, underscores, dashes and spaces are ignored, so ``"PM2.5"``, ``"pm_2.5"`` and
    ``"PM25"`` all give ``"pm25"``.

    Raises
    ------
    AQIError
        For a pollutant that neither index covers.
    """
    key = re.sub(r"[\s._\-]", "", pollutant.lower())
    if key not in POLLUTANTS:
        raise AQIError(f"unknown pollutant {pollutant!r}: use one of {', '.join(POLLUTANTS)}")
    return key


def normalize_unit(unit: str) -> str:
    """Return the canonical unit key (``ug/m3``, ``mg/m3``, ``ppb``, ``ppm``).

    ``µg/m³``, ``μg/m3`` and ``ug m-3``-like spellings without spaces are accepted.

    Raises
    ------
    AQIError
        For any other unit.
    """
    key = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("³", "3")
    key = key.replace(" ", "")
    if key not in _UNIT_ALIASES:
        raise AQIError(f"unknown concentration unit {unit!r}: use ug/m3, mg/m3, ppb or ppm")
    return _UNIT_ALIASES[key]


def _normalize_averaging(averaging: str) -> str:
    return re.sub(r"[\s\-]", "", averaging.lower())


def breakpoint_table(
    pollutant: str, standard: str = "us_epa", averaging: str | None = None
) -> BreakpointTable:
    """Return the breakpoint table of ``pollutant`` under ``standard`` and ``averaging``.

    Parameters
    ----------
    pollutant
        Pollutant name (see :func:`normalize_pollutant`).
    standard
        ``"us_epa"`` or ``"china_hj633"``.
    averaging
        ``"24h"``, ``"8h"`` or ``"1h"``; ``None`` picks :data:`DEFAULT_AVERAGING`.

    Raises
    ------
    AQIError
        If the standard defines no table for that pollutant and averaging period (for example
        EPA PM2.5 1 h or HJ 633 PM2.5 1 h); the message lists the periods that exist.
    """
    std = normalize_standard(standard)
    pol = normalize_pollutant(pollutant)
    avg = DEFAULT_AVERAGING[std][pol] if averaging is None else _normalize_averaging(averaging)
    table = BREAKPOINTS.get((std, pol, avg))
    if table is None:
        have = sorted(a for (s, p, a) in BREAKPOINTS if s == std and p == pol)
        raise AQIError(
            f"{std} defines no {avg} index for {pol}: available averaging periods are "
            f"{', '.join(have)}"
        )
    return table


def convert_units(
    pollutant: str,
    concentration: ArrayLike,
    from_unit: str,
    to_unit: str,
    *,
    molar_volume_l_mol: float = MOLAR_VOLUME_L_MOL,
) -> FloatArray:
    """Convert concentrations between ug/m3, mg/m3, ppb and ppm.

    Mass concentration and mixing ratio are related by the ideal-gas molar volume ``V_m``:

    .. math::

        c_{\\mu g/m^3} = c_{ppb} \\, M / V_m, \\qquad c_{mg/m^3} = c_{ppm} \\, M / V_m

    with ``M`` the molar mass in g/mol (:data:`MOLAR_MASS_G_MOL`) and ``V_m`` in L/mol
    (24.45 L/mol at 25 degC and 1 atm by default). For NO2 this gives 1 ppb = 1.8816 ug/m3,
    for O3 1.9631, SO2 2.6200 and for CO 1 ppm = 1.1456 mg/m3.

    Parameters
    ----------
    pollutant
        Pollutant name; particles (PM2.5, PM10) only convert between mass units.
    concentration
        Values in ``from_unit`` (any shape; NaN stays NaN).
    from_unit, to_unit
        ``"ug/m3"``, ``"mg/m3"``, ``"ppb"`` or ``"ppm"``.
    molar_volume_l_mol
        ``V_m`` in L/mol, for example 22.41 at 0 degC.

    Returns
    -------
    numpy.ndarray
        float64 array of the converted values, same shape.

    Raises
    ------
    AQIError
        For an unknown unit, or a mixing ratio asked of a particle mass.
    """
    pol = normalize_pollutant(pollutant)
    src, dst = normalize_unit(from_unit), normalize_unit(to_unit)
    c = np.asarray(concentration, dtype=np.float64)
    if src == dst:
        return c.copy()
    mass_ug_m3 = {"ug/m3": 1.0, "mg/m3": 1000.0}
    if src in mass_ug_m3 and dst in mass_ug_m3:
        return np.asarray(c * (mass_ug_m3[src] / mass_ug_m3[dst]), dtype=np.float64)
    if pol not in MOLAR_MASS_G_MOL:
        raise AQIError(f"{pol} is a particle mass: it cannot be converted from {src} to {dst}")
    # Express both units as "ppb per unit": ppb = value * factor.
    ppb_per_ug_m3 = molar_volume_l_mol / MOLAR_MASS_G_MOL[pol]
    to_ppb = {"ppb": 1.0, "ppm": 1000.0, "ug/m3": ppb_per_ug_m3, "mg/m3": 1000.0 * ppb_per_ug_m3}
    return np.asarray(c * (to_ppb[src] / to_ppb[dst]), dtype=np.float64)


def _truncate(c: FloatArray, resolution: float) -> FloatArray:
    """Truncate toward zero to multiples of ``resolution`` (EPA TAD "truncate" rule)."""
    scale = round(1.0 / resolution)
    # Round the scaled value first so that 35.4 * 10 = 353.99999999999994 truncates to 354.
    return np.asarray(np.trunc(np.round(c * scale, 6)) / scale, dtype=np.float64)


def aqi(
    pollutant: str,
    concentration: ArrayLike,
    standard: str = "us_epa",
    averaging: str | None = None,
    *,
    unit: str | None = None,
    beyond: Beyond = "nan",
    rounded: bool = True,
) -> FloatArray:
    """Sub-index (EPA AQI or HJ 633 IAQI) of one pollutant, element by element.

    Applies, per element, ``I = (I_hi - I_lo) / (C_hi - C_lo) * (C - C_lo) + I_lo`` with the row
    of the breakpoint table (:data:`BREAKPOINTS`) that contains ``C`` (see the module docstring
    for the tables, units and sources). For ``"us_epa"`` the concentration is first truncated to
    the table precision and the index rounded to the nearest integer (halves up); for
    ``"china_hj633"`` the index is rounded up to the next integer.

    Parameters
    ----------
    pollutant
        ``"pm25"`` (``"PM2.5"``), ``"pm10"``, ``"o3"``, ``"no2"``, ``"so2"`` or ``"co"``.
    concentration
        Concentrations, any shape, in the table's native unit (:data:`NATIVE_UNITS`) unless
        ``unit`` says otherwise. NaN gives NaN.
    standard
        ``"us_epa"`` (TAD 2024) or ``"china_hj633"`` (HJ 633-2012).
    averaging
        ``"24h"``, ``"8h"`` or ``"1h"``: the averaging period of the concentrations. ``None``
        uses :data:`DEFAULT_AVERAGING` (24 h particles, 8 h ozone; EPA 8 h CO, 1 h SO2/NO2;
        HJ 633 24 h CO/SO2/NO2).
    unit
        Unit of ``concentration`` if it is not the native one (``"ug/m3"``, ``"mg/m3"``,
        ``"ppb"``, ``"ppm"``); converted with :func:`convert_units` at 25 degC, 1 atm.
    beyond
        What to return above the highest breakpoint: ``"nan"`` (default; EPA's "beyond the
        AQI") or ``"clip"`` (500, only for tables whose top row reaches 500).
    rounded
        ``False`` returns the unrounded piecewise-linear value (truncation still applies to EPA
        concentrations, because it selects the table row).

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``concentration``: the sub-index, or NaN for NaN input,
        negative concentrations, blank parts of a table (EPA 1-h O3 below 0.125 ppm, 8-h O3
        above 0.200 ppm, 1-h SO2 above 304 ppb, 24-h SO2 below 305 ppb; HJ 633 1-h SO2 and 8-h
        O3 above 800 ug/m3) and, with ``beyond="nan"``, values above the table.

    Raises
    ------
    AQIError
        For an unknown pollutant, standard, averaging period or unit.

    Examples
    --------
    >>> aqi("pm25", [9.0, 9.1, 35.4, 35.5]).tolist()
    [50.0, 51.0, 100.0, 101.0]
    >>> aqi("pm25", 75.0, "china_hj633").item()
    100.0
    """
    table = breakpoint_table(pollutant, standard, averaging)
    if beyond not in ("nan", "clip"):
        raise AQIError(f"beyond must be 'nan' or 'clip', not {beyond!r}")
    c = np.asarray(concentration, dtype=np.float64)
    if unit is not None:
        c = convert_units(table.pollutant, c, unit, table.unit)
    if table.resolution is not None:
        c = _truncate(c, table.resolution)

    lo, hi, ilo, ihi = table.conc_lo, table.conc_hi, table.index_lo, table.index_hi
    # Absolute tolerance for comparing with breakpoints (far below every table's precision).
    tol = 1e-9 * max(1.0, float(hi[-1]))
    with np.errstate(invalid="ignore"):
        row = np.searchsorted(lo, c + tol, side="right") - 1
        row_c = np.clip(row, 0, lo.size - 1)
        finite = np.isfinite(c) & (c >= 0.0)
        inside = finite & (row >= 0) & (c <= hi[row_c] + tol)
        above = finite & (c > hi[-1] + tol)
    slope = (ihi - ilo) / (hi - lo)
    index = slope[row_c] * (c - lo[row_c]) + ilo[row_c]
    if rounded:
        # Round the value first to 6 decimals so that 50.000000000000007 is 50 (not 51).
        index = np.round(index, 6)
        index = np.ceil(index) if table.resolution is None else np.floor(index + 0.5)
    out = np.where(inside, index, np.nan)
    if beyond == "clip" and ihi[-1] >= 500.0:
        out = np.where(above, 500.0, out)
    return np.asarray(out, dtype=np.float64)


def _split_key(key: str) -> tuple[str, str | None]:
    """``"o3_8h"`` -> ``("o3", "8h")``; ``"PM2.5"`` -> ``("PM2.5", None)``."""
    match = _AVERAGING_KEY.match(key.strip().lower())
    if match is None:
        return key, None
    return match.group("pollutant"), match.group("averaging")


def overall_aqi(
    concentrations: Mapping[str, ArrayLike],
    standard: str = "us_epa",
    *,
    unit: str | Mapping[str, str] | None = None,
    beyond: Beyond = "nan",
    rounded: bool = True,
) -> FloatArray:
    """Overall index: the element-wise maximum of the sub-indices, ``AQI = max_p I_p``.

    NaN sub-indices are ignored (:func:`numpy.fmax`), so a missing pollutant or a blank part of
    one table does not blank the whole index; the result is NaN only where every sub-index is.
    This is also how the EPA combines 8-h and 1-h ozone (the larger of the two) and how 1-h SO2
    above 304 ppb hands over to the 24-h value.

    Parameters
    ----------
    concentrations
        ``{key: array}``. A key is a pollutant (``"pm25"``, ``"CO"`` ...) using its default
        averaging, or ``pollutant_averaging`` such as ``"o3_8h"``, ``"o3_1h"``, ``"so2_24h"``.
        The arrays broadcast against each other.
    standard
        ``"us_epa"`` or ``"china_hj633"``.
    unit
        One unit for every array (for example ``"ug/m3"`` for the Beijing dataset, where
        CO is in ug/m3 too), or ``{key: unit}`` for some of them; ``None``: native units.
    beyond, rounded
        As in :func:`aqi`.

    Returns
    -------
    numpy.ndarray
        float64 array of the broadcast shape.

    Raises
    ------
    AQIError
        If ``concentrations`` is empty or names an unknown pollutant, averaging or unit.
    """
    if not concentrations:
        raise AQIError("overall_aqi needs at least one pollutant concentration")
    result: FloatArray | None = None
    for key, values in concentrations.items():
        pollutant, averaging = _split_key(key)
        key_unit = unit.get(key) if isinstance(unit, Mapping) else unit
        sub = aqi(
            pollutant,
            values,
            standard,
            averaging,
            unit=key_unit,
            beyond=beyond,
            rounded=rounded,
        )
        result = sub if result is None else np.fmax(result, sub)
    assert result is not None
    return np.asarray(result, dtype=np.float64)


def category(aqi_values: ArrayLike, standard: str = "us_epa") -> NDArray[np.int8]:
    """Category code 0..5 of AQI values (-1 for NaN or negative values).

    Both standards use the ranges 0-50, 51-100, 101-150, 151-200, 201-300 and above 300; an
    unrounded value such as 50.4 belongs to the category whose upper bound it does not exceed
    (50.4 > 50, so category 1). Use the code to index :data:`CATEGORY_NAMES`,
    :data:`CATEGORY_NAMES_EN` or :data:`CATEGORY_COLORS` of the same standard.

    Parameters
    ----------
    aqi_values
        Index values, any shape.
    standard
        ``"us_epa"`` or ``"china_hj633"`` (checked; the thresholds are the same).

    Returns
    -------
    numpy.ndarray
        int8 array of the shape of ``aqi_values``.
    """
    normalize_standard(standard)
    a = np.asarray(aqi_values, dtype=np.float64)
    codes = np.searchsorted(np.asarray(CATEGORY_UPPER_BOUNDS), a, side="left").astype(np.int8)
    with np.errstate(invalid="ignore"):
        invalid = ~np.isfinite(a) | (a < 0.0)
    # +inf means "beyond the index": still the top category.
    codes = np.where(np.isposinf(a), np.int8(5), codes)
    return np.asarray(np.where(invalid & ~np.isposinf(a), np.int8(-1), codes), dtype=np.int8)


def category_colors(codes: ArrayLike, standard: str = "us_epa") -> NDArray[np.uint8]:
    """RGBA colours (uint8, shape ``codes.shape + (4,)``) for category codes; -1 is transparent.

    A look-up table made from :data:`CATEGORY_COLORS`, handy for painting an AQI grid as a
    texture: ``category_colors(category(aqi_grid, "us_epa"))``.
    """
    std = normalize_standard(standard)
    lut = np.zeros((7, 4), dtype=np.uint8)  # row 6 (reached by code -1) stays transparent
    lut[:6, :3] = np.asarray(CATEGORY_COLORS[std], dtype=np.uint8)
    lut[:6, 3] = 255
    idx = np.asarray(codes, dtype=np.int64)
    return np.asarray(lut[np.where((idx >= 0) & (idx <= 5), idx, 6)], dtype=np.uint8)


def tables(standard: str | None = None) -> list[dict[str, Any]]:
    """The breakpoint tables as plain rows (for a legend or a report).

    Returns
    -------
    list of dict
        One dict per table row with keys ``standard``, ``pollutant``, ``averaging``, ``unit``,
        ``conc_lo``, ``conc_hi``, ``index_lo``, ``index_hi``.
    """
    std = None if standard is None else normalize_standard(standard)
    out: list[dict[str, Any]] = []
    for (s, p, a), t in BREAKPOINTS.items():
        if std is not None and s != std:
            continue
        for i in range(t.conc_lo.size):
            out.append(
                {
                    "standard": s,
                    "pollutant": p,
                    "averaging": a,
                    "unit": t.unit,
                    "conc_lo": float(t.conc_lo[i]),
                    "conc_hi": float(t.conc_hi[i]),
                    "index_lo": float(t.index_lo[i]),
                    "index_hi": float(t.index_hi[i]),
                }
            )
    return out


def concentration_scale(
    pollutant: str = "pm25",
    standard: str = "us_epa",
    unit: str = "ug/m3",
    averaging: str | None = None,
) -> ClassScale:
    """The AQI categories of a standard as a class scale over *concentrations* of one pollutant.

    A concentration raster (a plume run) is coloured by the category its value falls into: the
    class bounds are the concentrations at which the index reaches the category bounds
    :data:`CATEGORY_UPPER_BOUNDS` (the ``conc_hi`` of the breakpoint rows ending at AQI 50,
    100, 150, 200 and 300), converted to `unit`. EPA tables truncate concentrations to their
    precision before the look-up, so a value below ``conc_hi + resolution`` still belongs to
    the lower category (PM2.5 9.05 ug/m3 is "Good"); HJ 633 rows share their end points and
    an end point belongs to the lower category. Colours and names are those of
    :func:`category_scale`.

    Parameters
    ----------
    pollutant, standard, averaging
        As for :func:`breakpoint_table` (default averaging: the standard's daily index).
    unit
        Unit of the values to classify (``"ug/m3"``, ``"mg/m3"``, ``"ppb"``, ``"ppm"``).
    """
    table = breakpoint_table(pollutant, standard, averaging)
    std = table.standard
    rows = np.isin(table.index_hi, CATEGORY_UPPER_BOUNDS)
    conc = table.conc_hi[rows]
    step = float(table.resolution) if table.resolution else 0.0
    bounds = conc + step
    out_unit = normalize_unit(unit)
    if out_unit != table.unit:
        bounds = np.asarray(convert_units(table.pollutant, bounds, table.unit, out_unit))
    cats = category_scale(std)
    fmt = "{:.4g}"
    names = [
        f"{name} (< {fmt.format(b)})" if step else f"{name} (<= {fmt.format(b)})"
        for name, b in zip(cats.names, bounds, strict=False)
    ]
    names.append(cats.names[-1])
    return ClassScale(
        bounds=tuple(float(b) for b in bounds),
        names=tuple(names),
        colors=cats.colors,
        upper_inclusive=not step,
        title=f"{table.pollutant.upper()} ({out_unit}), AQI {STANDARD_TITLES[std]}",
    )
