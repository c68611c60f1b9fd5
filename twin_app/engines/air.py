"""Air quality what-ifs: Gaussian plume dispersion from stacks and roads (pure, vectorised numpy).

The model
---------
A continuous point source of strength ``Q`` (g/s) at effective height ``H`` (m), in a wind of
speed ``u`` (m/s), gives at a receptor ``x`` m downwind, ``y`` m crosswind and ``z`` m above the
ground the concentration (Gaussian plume with total reflection at the ground, i.e. an image
source at ``-H``; De Visscher 2014, ch. 2; Turner 1970, ch. 3)::

    C = Q / (2 pi u sy sz) * exp(-y^2 / 2 sy^2)
          * [exp(-(z - H)^2 / 2 sz^2) + exp(-(z + H)^2 / 2 sz^2)]

in g/m3, reported here in ug/m3 (x 1e6). Only receptors downwind (``x > 0``) see the source.
The wind blows *from* ``wind_from_deg`` (meteorological convention, degrees clockwise from
north); each receptor is rotated into every source's plume frame (``x`` along the wind).
Wind speeds under 1 m/s are raised to 1 m/s, as EPA's ISC3 does (the plume formula diverges
as ``u -> 0``); the given speed is used at every height (no wind profile).

Dispersion coefficients ``sy(x)``, ``sz(x)`` are Briggs' (1973) interpolation formulas for open
country ("rural") and for cities ("urban", from the St. Louis experiments), as tabulated by Hanna,
Briggs and Hosker (1982) and De Visscher (2014, chapter 2); nominally for
100 m < x < 10 km, used here down to a few metres (as regulatory screening models do)::

    sy = a x (1 + b x)^c          sz = d x (1 + e x)^f

    class   rural a  b      c     d      e       f   | urban a  b      c     d     e       f
    A             .22 1e-4 -1/2   .20    0       1   |       .32 4e-4 -1/2   .24   1e-3    +1/2
    B             .16 1e-4 -1/2   .12    0       1   |       .32 4e-4 -1/2   .24   1e-3    +1/2
    C             .11 1e-4 -1/2   .08    2e-4  -1/2  |       .22 4e-4 -1/2   .20   0        1
    D             .08 1e-4 -1/2   .06    1.5e-3 -1/2 |       .16 4e-4 -1/2   .14   3e-4   -1/2
    E             .06 1e-4 -1/2   .03    3e-4   -1   |       .11 4e-4 -1/2   .08   1.5e-3 -1/2
    F             .04 1e-4 -1/2   .016   3e-4   -1   |       .11 4e-4 -1/2   .08   1.5e-3 -1/2

The intermediate classes ``A-B``, ``B-C`` and ``C-D`` of Pasquill's table take the mean of the
two classes' values (Turner 1970, note to the key to stability categories: "for A-B take the
average of values for A and B").

Stability class (:func:`pasquill_class`, :func:`stability_class`) follows Pasquill's (1961)
table as Turner (1970) prints it (key to stability categories), wind speed at 10 m against insolation by day or
cloud cover by night::

    wind (m/s)  strong  moderate  slight | night: thin overcast or >= 4/8 low cloud  <= 3/8 cloud
    < 2         A       A-B       B      |        F (*)                              F (*)
    2 - 3       A-B     B         C      |        E                                  F
    3 - 5       B       B-C       C      |        D                                  E
    5 - 6       C       C-D       D      |        D                                  D
    >= 6        C       D         D      |        D                                  D

    heavy overcast (8/8), day or night: D

(*) Pasquill leaves the calm night cells blank; Turner's (1964) net-radiation table gives F
(and G, merged into F) for winds of 0-1 knot at night, which is what is used. Insolation comes
from the sun's elevation as in Turner's (1964) insolation classes: above 60 degrees strong,
35-60 moderate, 15-35 slight; below 15 degrees (Turner's "weak", which Pasquill's table lacks)
counts as slight. Cloud of 5/8 or more (Turner: more than 5/10) lowers the insolation one step
(Turner lowers it by 1 or 2 depending on the ceiling height, which the twin does not know).
The sun is taken as down (night) below ``night_below_deg`` (0 degrees by default; Turner's night
starts an hour before sunset, which is some 6-10 degrees of elevation at London's latitude).

Line sources (roads)
--------------------
A road segment of emission ``q`` (g/s per metre) is split into ``n = ceil(L / spacing)`` equal
pieces, each a point source of ``q L / n`` at the piece's midpoint (:func:`split_lines`). The
sum is within 1 % of the line integral wherever the plume's width at the receptor's downwind
distance ``d`` is at least 0.6 spacings, ``sigma_y(d) >= 0.6 spacing`` (tested against the
infinite line source for classes A, D and F, urban): with the default 5 m spacing that is from
10 m (class A), 20 m (D) or 30 m (F) downwind of the road. Nearer, the points show through as
ripples (27 % at 10 m in class D); the grid raster (below) averages there anyway.

Two ways to add sources up on a grid:

- :func:`point_concentration`: the direct sum over sources x receptors (chunked so that at most
  about :data:`CHUNK_PAIRS` pairs are held at once), exact for any receptor set;
- :func:`grid_concentration`: all sources that share one release height and one wind give a
  translation-invariant plume, ``C(r) = sum_s Q_s K(r - r_s)``, so the road emissions are binned
  into the grid's cells (sampled at half-cell spacing) and convolved with the kernel ``K``
  evaluated at every cell offset (an FFT convolution: ``O(N log N)`` instead of sources x cells).
  Near the source (offsets within :data:`NEAR_CELLS` cells) the kernel is the mean over 5 x 5
  points of the receptor cell, since the plume of a ground source is singular at ``x -> 0``.
  Each sample's emission is shared bilinearly among the four nearest cell centres
  ("cloud in cell"). Three cells or more from a road the raster agrees with the direct sum at
  the cell centres to about 1 % (median) and 10 % (95th percentile) of the local value, 3 % of
  the raster's maximum at worst (tested); next to a road it is a cell-mean, not a point value.

Road traffic emissions
----------------------
:func:`road_emission_g_s_m` turns link flows (veh/h) into line-source strengths,
``q = flow / 3600 * EF / 1000`` g/s per metre with ``EF`` the fleet-average emission factor in
g/km per vehicle (:class:`EmissionFactors`): the light- and heavy-vehicle factors weighted by the
heavy share. Particles are exhaust plus tyre, brake and road-surface wear; the wear factors
follow the EMEP/EEA 2019 guidebook, chapter 1.A.3.b.vi-vii, Tier 2 (:func:`non_exhaust_g_km`).
The exhaust factors (:data:`EXHAUST_G_KM`) are the EMEP/EEA 2023 guidebook's chapter
1.A.3.b.i-iv Tier 1 factors (Tables 3-5 and 3-6, g/kg fuel, times Table 3-15's fuel per km:
:data:`EMEP_2023_TIER1_G_KM`) of an assumed light mix (:data:`LIGHT_FLEET_SHARES`: 50 % petrol
cars, 35 % diesel cars, 15 % diesel vans) and of diesel heavy-duty vehicles; the chapter's Tier 2
NOx cells by Euro class (Tables 3-17 to 3-23) are in :data:`EMEP_2023_TIER2_NOX_G_KM` for a
fleet whose Euro mix is known (:func:`fleet_emission_factors` takes any exhaust factors).

KPIs
----
``area_over_limit_m2``: grid area whose concentration (background included) exceeds
``limit_ug_m3``; the default limits are the WHO 2021 air quality guidelines' 24-hour levels
(PM2.5 15 ug/m3, NO2 25 ug/m3, PM10 45 ug/m3; WHO global air quality guidelines, 2021,
Table 0.1). The plume gives a concentration for one hour of steady weather, so comparing it with
a 24-h guideline is a screening (worst-hour-persists) comparison, not a compliance test.
``population_over_limit``: residents in those cells, estimated as residential floor area /
:data:`M2_PER_RESIDENT` (40 m2: the English Housing Survey's mean usable floor area of about
94 m2 per dwelling over the ONS mean household size of about 2.4 persons). The floor area per
cell is an input array, so this module stays pure.
``max_concentration_ug_m3``, ``mean_concentration_ug_m3`` and ``emission_g_s`` are reported too.

References
----------
- A. De Visscher, *Air Dispersion Modeling: Foundations and Applications*, Wiley 2014, ch. 2
  (the Gaussian plume with reflection, Briggs' table, Example 2.1: 160.3 and 107.5 ug/m3).
- S. R. Hanna, G. A. Briggs, R. P. Hosker, *Handbook on Atmospheric Diffusion*, DOE/TIC-11223,
  1982 (Briggs' formulas); G. A. Briggs, *Diffusion estimation for small emissions*, ATDL
  contribution 79, NOAA, 1973.
- F. Pasquill, *The estimation of the dispersion of windborne material*, Meteorol. Mag. 90
  (1961) 33-49; D. B. Turner, *A diffusion model for an urban area*, J. Appl. Meteor. 3 (1964)
  83-91; D. B. Turner, *Workbook of Atmospheric Dispersion Estimates*, PHS 999-AP-26, 1970
  (chapter 3, Problem 1: 3 g/s ground source, class D, 7 m/s, 3 km: 1.1e-5 g/m3, a test case).
- U.S. EPA, *User's guide for the Industrial Source Complex (ISC3) dispersion models*,
  EPA-454/B-95-003a, 1995 (1 m/s minimum wind speed).
- WHO, *WHO global air quality guidelines*, 2021.
- EMEP/EEA, *Air pollutant emission inventory guidebook 2023*, chapter 1.A.3.b.i-iv (Road
  transport: passenger cars, light commercial trucks, heavy-duty vehicles including buses and
  motorcycles), update 2025, Tables 3-5, 3-6, 3-15 (Tier 1) and 3-17 to 3-23 (Tier 2 NOx);
  chapter 1.A.3.b.vi-vii (tyre, brake and road wear), 2019, Tier 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin_app.errors import EngineError
from twin_app.model import aqi as aqi_mod

FloatArray = NDArray[np.float64]
Int8Array = NDArray[np.int8]
Terrain = Literal["rural", "urban"]

#: Pasquill-Gifford classes, including the intermediate ones of Pasquill's table.
STABILITY_CLASSES: tuple[str, ...] = ("A", "A-B", "B", "B-C", "C", "C-D", "D", "E", "F")

#: Insolation / night categories of Pasquill's table (columns, in order).
INSOLATION: tuple[str, ...] = ("strong", "moderate", "slight", "night_cloudy", "night_clear")

#: Lower bounds (m/s) of the wind-speed rows of Pasquill's table: <2, 2-3, 3-5, 5-6, >=6.
_WIND_ROWS_MS = np.array([2.0, 3.0, 5.0, 6.0])

#: Pasquill (1961) / Turner (1970) key to stability categories; rows = wind rows, columns = :data:`INSOLATION`.
PASQUILL_TABLE: tuple[tuple[str, ...], ...] = (
    ("A", "A-B", "B", "F", "F"),
    ("A-B", "B", "C", "E", "F"),
    ("B", "B-C", "C", "D", "E"),
    ("C", "C-D", "D", "D", "D"),
    ("C", "D", "D", "D", "D"),
)

#: Briggs (1973) coefficients ``(a, b, c, d, e, f)``: ``sy = a x (1+bx)^c``, ``sz = d x (1+ex)^f``.
BRIGGS: dict[str, dict[str, tuple[float, float, float, float, float, float]]] = {
    "rural": {
        "A": (0.22, 1e-4, -0.5, 0.20, 0.0, 1.0),
        "B": (0.16, 1e-4, -0.5, 0.12, 0.0, 1.0),
        "C": (0.11, 1e-4, -0.5, 0.08, 2e-4, -0.5),
        "D": (0.08, 1e-4, -0.5, 0.06, 1.5e-3, -0.5),
        "E": (0.06, 1e-4, -0.5, 0.03, 3e-4, -1.0),
        "F": (0.04, 1e-4, -0.5, 0.016, 3e-4, -1.0),
    },
    "urban": {
        "A": (0.32, 4e-4, -0.5, 0.24, 1e-3, 0.5),
        "B": (0.32, 4e-4, -0.5, 0.24, 1e-3, 0.5),
        "C": (0.22, 4e-4, -0.5, 0.20, 0.0, 1.0),
        "D": (0.16, 4e-4, -0.5, 0.14, 3e-4, -0.5),
        "E": (0.11, 4e-4, -0.5, 0.08, 1.5e-3, -0.5),
        "F": (0.11, 4e-4, -0.5, 0.08, 1.5e-3, -0.5),
    },
}

#: Wind speeds below this are raised to it (m/s), as in EPA's ISC3.
MIN_WIND_MS = 1.0

#: Source-receptor pairs evaluated at once by :func:`point_concentration` (memory bound:
#: about 10 float64 temporaries of this size).
CHUNK_PAIRS = 2_000_000

#: Kernel offsets (in cells, each axis) averaged over 5 x 5 points of the receptor cell.
NEAR_CELLS = 2

#: Residential floor area per resident, m2 (see the module docstring).
M2_PER_RESIDENT = 40.0

#: Default limits, ug/m3: WHO 2021 air quality guideline levels, 24-hour mean.
WHO_2021_24H_UG_M3: dict[str, float] = {"pm25": 15.0, "pm10": 45.0, "no2": 25.0}

#: Unit of every KPI in :attr:`AirResult.kpis`.
KPI_UNITS: dict[str, str] = {
    "area_over_limit_m2": "m²",
    "population_over_limit": "residents",
    "max_concentration_ug_m3": "µg/m³",
    "mean_concentration_ug_m3": "µg/m³",
    "emission_g_s": "g/s",
}


# --------------------------------------------------------------------------- stability


def insolation_category(
    sun_elevation_deg: float,
    cloud: float,
    *,
    cloud_unit: Literal["oktas", "fraction"] = "oktas",
    night_below_deg: float = 0.0,
) -> str:
    """Column of Pasquill's table from the sun's elevation and the cloud cover.

    Day: strong above 60 degrees, moderate 35-60, slight below 35 (Turner 1964 insolation
    classes; Turner's "weak", below 15 degrees, counts as slight), lowered one step when cloud
    covers 5/8 or more. Night (sun below ``night_below_deg``): ``night_cloudy`` for 4/8 or more
    cloud, else ``night_clear``. Full overcast (8/8) gives ``overcast`` (class D day and night).

    Parameters
    ----------
    sun_elevation_deg
        Apparent elevation of the sun, degrees (see :func:`twin_app.engines.sun.sun_position`).
    cloud
        Total cloud cover, in oktas (0-8) or as a fraction (0-1) per ``cloud_unit``.
    cloud_unit
        ``"oktas"`` or ``"fraction"`` (a fraction is turned into the nearest okta).
    night_below_deg
        Elevation under which it counts as night.

    Returns
    -------
    str
        One of :data:`INSOLATION` or ``"overcast"``.

    Raises
    ------
    EngineError
        For a cloud cover outside its range or a non-finite elevation.
    """
    oktas = _oktas(cloud, cloud_unit)
    if not math.isfinite(sun_elevation_deg):
        raise EngineError(f"air: sun elevation {sun_elevation_deg} is not a number")
    if oktas >= 8:
        return "overcast"
    if sun_elevation_deg < night_below_deg:
        return "night_cloudy" if oktas >= 4 else "night_clear"
    step = 0 if sun_elevation_deg > 60.0 else 1 if sun_elevation_deg > 35.0 else 2
    if oktas >= 5:
        step = min(step + 1, 2)
    return INSOLATION[step]


def _oktas(cloud: float, unit: str) -> int:
    if unit == "fraction":
        if not (0.0 <= cloud <= 1.0):
            raise EngineError(f"air: cloud fraction {cloud} is outside 0..1")
        return math.floor(cloud * 8.0 + 0.5)
    if unit != "oktas":
        raise EngineError(f"air: cloud unit {unit!r} is not 'oktas' or 'fraction'")
    if not (0.0 <= cloud <= 8.0):
        raise EngineError(f"air: cloud cover {cloud} oktas is outside 0..8")
    return math.floor(cloud + 0.5)


def pasquill_class(wind_10m_ms: float, insolation: str) -> str:
    """Pasquill-Gifford class from the 10-m wind speed and a column of Pasquill's table.

    Rows ``< 2``, ``2-3``, ``3-5``, ``5-6``, ``>= 6`` m/s (a bound belongs to the faster row);
    columns :data:`INSOLATION`; ``"overcast"`` is D. See the module docstring for the table.

    Raises
    ------
    EngineError
        For a negative or non-finite wind speed or an unknown column.
    """
    if not (math.isfinite(wind_10m_ms) and wind_10m_ms >= 0.0):
        raise EngineError(f"air: wind speed {wind_10m_ms} m/s is not a speed")
    if insolation == "overcast":
        return "D"
    if insolation not in INSOLATION:
        raise EngineError(
            f"air: insolation {insolation!r} is not one of {', '.join(INSOLATION)}, overcast"
        )
    row = int(np.searchsorted(_WIND_ROWS_MS, wind_10m_ms, side="right"))
    return PASQUILL_TABLE[row][INSOLATION.index(insolation)]


def stability_class(
    wind_10m_ms: float,
    sun_elevation_deg: float,
    cloud: float,
    *,
    cloud_unit: Literal["oktas", "fraction"] = "oktas",
    night_below_deg: float = 0.0,
) -> str:
    """Pasquill-Gifford class from wind at 10 m, sun elevation and cloud cover.

    :func:`insolation_category` then :func:`pasquill_class` (Pasquill 1961, Turner 1964/1970).

    Examples
    --------
    >>> stability_class(4.0, 65.0, 0)
    'B'
    >>> stability_class(2.5, -20.0, 1)
    'F'
    """
    col = insolation_category(
        sun_elevation_deg, cloud, cloud_unit=cloud_unit, night_below_deg=night_below_deg
    )
    return pasquill_class(wind_10m_ms, col)


#: The 16 compass points, clockwise from north (22.5 degrees apart).
COMPASS_POINTS: tuple[str, ...] = (
    "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
    "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW",
)  # fmt: skip


def compass_deg(labels: ArrayLike | Sequence[str | None]) -> FloatArray:
    """Wind directions written as compass points (``"NNE"``) in degrees clockwise from north.

    Weather records such as the Beijing PRSA series (column ``wd``) give the direction the
    wind blows from as one of :data:`COMPASS_POINTS`; ``"CV"`` (calm and variable), other
    strings and missing values give NaN. Vectorised: one dictionary look-up per distinct label.
    """
    obj = np.asarray(labels, dtype=object)
    arr = obj.ravel()
    table = {p: 22.5 * i for i, p in enumerate(COMPASS_POINTS)}
    uniq, inv = np.unique(arr.astype(str), return_inverse=True)
    deg = np.array([table.get(str(u).strip().upper(), np.nan) for u in uniq], dtype=np.float64)
    return np.asarray(deg[inv].reshape(obj.shape), dtype=np.float64)


# --------------------------------------------------------------------------- dispersion


def _parts(stability: str) -> tuple[str, ...]:
    key = stability.strip().upper()
    if key not in STABILITY_CLASSES:
        raise EngineError(
            f"air: stability class {stability!r} is not one of {', '.join(STABILITY_CLASSES)}"
        )
    return tuple(key.split("-"))


def _power(base: FloatArray, exponent: float) -> FloatArray:
    """``base ** exponent`` for Briggs' exponents by sqrt and division (several times faster
    than the general power)."""
    if exponent == 1.0:
        return base
    if exponent == -0.5:
        return np.asarray(1.0 / np.sqrt(base), dtype=np.float64)
    if exponent == 0.5:
        return np.asarray(np.sqrt(base), dtype=np.float64)
    if exponent == -1.0:
        return np.asarray(1.0 / base, dtype=np.float64)
    return np.asarray(base**exponent, dtype=np.float64)


def briggs_sigmas(
    x_m: ArrayLike, stability: str, terrain: Terrain = "rural"
) -> tuple[FloatArray, FloatArray]:
    """Briggs (1973) dispersion coefficients ``sigma_y(x)`` and ``sigma_z(x)``, metres.

    ``sy = a x (1 + b x)^c``, ``sz = d x (1 + e x)^f`` with the coefficients of
    :data:`BRIGGS` (Hanna, Briggs and Hosker 1982; De Visscher 2014, ch. 2); an
    intermediate class (``"A-B"``) takes the mean of its two classes' values.

    Parameters
    ----------
    x_m
        Downwind distances, m (any shape; values <= 0 give 0).
    stability
        ``"A"`` .. ``"F"`` or ``"A-B"``, ``"B-C"``, ``"C-D"``.
    terrain
        ``"rural"`` (open country) or ``"urban"``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``sigma_y``, ``sigma_z`` of the shape of ``x_m``.
    """
    if terrain not in BRIGGS:
        raise EngineError(f"air: terrain {terrain!r} is not 'rural' or 'urban'")
    x = np.maximum(np.asarray(x_m, dtype=np.float64), 0.0)
    parts = _parts(stability)
    sy = np.zeros_like(x)
    sz = np.zeros_like(x)
    for p in parts:
        a, b, c, d, e, f = BRIGGS[terrain][p]
        sy += a * x * _power(1.0 + b * x, c)
        sz += d * x * _power(1.0 + e * x, f)
    n = float(len(parts))
    return sy / n, sz / n


def plume_concentration(
    q_g_s: ArrayLike,
    u_ms: float,
    sigma_y: ArrayLike,
    sigma_z: ArrayLike,
    y_m: ArrayLike,
    z_m: ArrayLike,
    h_m: ArrayLike,
) -> FloatArray:
    """Gaussian plume with ground reflection, ug/m3, in the plume frame.

    ``C = 1e6 Q / (2 pi u sy sz) exp(-y²/2sy²) [exp(-(z-H)²/2sz²) + exp(-(z+H)²/2sz²)]``
    (De Visscher 2014, ch. 2), ``Q`` in g/s, lengths in m, ``u`` in m/s. Elements with a
    zero sigma (a receptor at or upwind of the source) give 0. Arguments broadcast.
    """
    q = np.asarray(q_g_s, dtype=np.float64)
    sy = np.asarray(sigma_y, dtype=np.float64)
    sz = np.asarray(sigma_z, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    z = np.asarray(z_m, dtype=np.float64)
    h = np.asarray(h_m, dtype=np.float64)
    ok = (sy > 0.0) & (sz > 0.0)
    sy_s = np.where(ok, sy, 1.0)
    sz_s = np.where(ok, sz, 1.0)
    inv2y = 0.5 / (sy_s * sy_s)
    inv2z = 0.5 / (sz_s * sz_s)
    vert = np.exp(-((z - h) ** 2) * inv2z) + np.exp(-((z + h) ** 2) * inv2z)
    c = (1e6 / (2.0 * math.pi * max(u_ms, MIN_WIND_MS))) * q / (sy_s * sz_s)
    return np.asarray(np.where(ok, c * np.exp(-(y * y) * inv2y) * vert, 0.0), dtype=np.float64)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Met:
    """Weather of one plume run.

    Attributes
    ----------
    wind_speed_ms
        Wind speed, m/s (at 10 m; used at every height; raised to :data:`MIN_WIND_MS`).
    wind_from_deg
        Direction the wind blows *from*, degrees clockwise from north (grid north).
    stability
        Pasquill-Gifford class (see :func:`stability_class`).
    terrain
        ``"urban"`` or ``"rural"`` Briggs coefficients.
    """

    wind_speed_ms: float
    wind_from_deg: float
    stability: str = "D"
    terrain: Terrain = "urban"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.wind_speed_ms) and self.wind_speed_ms >= 0.0):
            raise EngineError(f"air: wind speed {self.wind_speed_ms} m/s is not a speed")
        if not math.isfinite(self.wind_from_deg):
            raise EngineError(f"air: wind direction {self.wind_from_deg} is not a number")
        _parts(self.stability)
        if self.terrain not in BRIGGS:
            raise EngineError(f"air: terrain {self.terrain!r} is not 'rural' or 'urban'")

    @property
    def u_ms(self) -> float:
        """Wind speed used in the plume formula, m/s."""
        return max(float(self.wind_speed_ms), MIN_WIND_MS)

    @property
    def downwind(self) -> tuple[float, float]:
        """Unit vector the wind blows towards, (east, north)."""
        t = math.radians(self.wind_from_deg)
        return (-math.sin(t), -math.cos(t))


def _f64(a: ArrayLike, shape_tail: tuple[int, ...], what: str) -> FloatArray:
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise EngineError(f"air: {what} has shape {arr.shape}, expected (n, {shape_tail})")
    if not np.all(np.isfinite(arr)):
        raise EngineError(f"air: {what} holds NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class PointSources:
    """Stacks and other point sources (arrays of length n, read-only).

    Attributes
    ----------
    xy
        (n, 2) positions, m (the twin's local frame: x east, y north).
    q_g_s
        (n,) emission rates, g/s.
    height_m
        (n,) effective release heights (stack height plus plume rise), m.
    """

    xy: FloatArray
    q_g_s: FloatArray
    height_m: FloatArray

    def __post_init__(self) -> None:
        xy = _f64(self.xy, (2,), "point source positions")
        n = xy.shape[0]
        q = _f64(np.broadcast_to(np.asarray(self.q_g_s, float), (n,)), (), "point emissions")
        h = _f64(np.broadcast_to(np.asarray(self.height_m, float), (n,)), (), "stack heights")
        if np.any(q < 0) or np.any(h < 0):
            raise EngineError("air: point source emission rates and heights must be >= 0")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "q_g_s", q)
        object.__setattr__(self, "height_m", h)

    @classmethod
    def empty(cls) -> PointSources:
        """No point sources."""
        return cls(np.zeros((0, 2)), np.zeros(0), np.zeros(0))

    def __len__(self) -> int:
        return int(self.q_g_s.shape[0])


@dataclass(frozen=True, eq=False)
class LineSources:
    """Road segments as line sources (arrays of length n, read-only).

    Attributes
    ----------
    start_xy, end_xy
        (n, 2) segment end points, m.
    q_g_s_m
        (n,) emission per metre of segment, g/s/m (:func:`road_emission_g_s_m`).
    height_m
        Release height of every segment, m (exhaust height; 0 by default).
    """

    start_xy: FloatArray
    end_xy: FloatArray
    q_g_s_m: FloatArray
    height_m: float = 0.0

    def __post_init__(self) -> None:
        a = _f64(self.start_xy, (2,), "line source starts")
        b = _f64(self.end_xy, (2,), "line source ends")
        if a.shape != b.shape:
            raise EngineError(f"air: {a.shape[0]} line starts but {b.shape[0]} ends")
        q = _f64(
            np.broadcast_to(np.asarray(self.q_g_s_m, float), (a.shape[0],)), (), "line emissions"
        )
        if np.any(q < 0) or not (math.isfinite(self.height_m) and self.height_m >= 0):
            raise EngineError("air: line emissions and the release height must be >= 0")
        object.__setattr__(self, "start_xy", a)
        object.__setattr__(self, "end_xy", b)
        object.__setattr__(self, "q_g_s_m", q)

    @classmethod
    def empty(cls) -> LineSources:
        """No line sources."""
        return cls(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))

    def __len__(self) -> int:
        return int(self.q_g_s_m.shape[0])

    @property
    def length_m(self) -> FloatArray:
        """(n,) segment lengths, m."""
        return np.asarray(np.hypot(*(self.end_xy - self.start_xy).T), dtype=np.float64)


@dataclass(frozen=True)
class ReceptorGrid:
    """A north-up raster of receptors: ``nx`` x ``ny`` square cells from ``(x0, y0)``.

    ``(x0, y0)`` is the south-west corner, m. Row 0 of every raster is the **north** row
    (image order), as :attr:`transform` says.
    """

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (self.cell_m > 0 and self.nx > 0 and self.ny > 0):
            raise EngineError(f"air: grid {self.nx} x {self.ny} cells of {self.cell_m} m is empty")

    @classmethod
    def covering(cls, bounds: tuple[float, float, float, float], cell_m: float) -> ReceptorGrid:
        """The grid of ``cell_m`` cells covering ``(xmin, ymin, xmax, ymax)``."""
        xmin, ymin, xmax, ymax = bounds
        nx = max(1, math.ceil((xmax - xmin) / cell_m))
        ny = max(1, math.ceil((ymax - ymin) / cell_m))
        return cls(float(xmin), float(ymin), float(cell_m), nx, ny)

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine ``(a, b, c, d, e, f)``: ``x = a col + b row + c``, ``y = d col + e row + f``.

        Cell corners (the ``affine``/rasterio convention); cell centres are at ``col + 0.5``.
        """
        return (self.cell_m, 0.0, self.x0, 0.0, -self.cell_m, self.y0 + self.ny * self.cell_m)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return (self.ny, self.nx)

    def centres(self) -> tuple[FloatArray, FloatArray]:
        """(ny, nx) x and y of the cell centres, row 0 north."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell_m
        ys = self.y0 + (self.ny - 0.5 - np.arange(self.ny)) * self.cell_m
        gx, gy = np.meshgrid(xs, ys)
        return gx, gy


@dataclass(frozen=True)
class EmissionFactors:
    """Fleet emission factors, g/km per vehicle, by pollutant (keys of :data:`aqi.POLLUTANTS`).

    ``light`` for cars and vans, ``heavy`` for lorries and buses; the fleet average is
    ``(1 - heavy_share) * light + heavy_share * heavy``.
    """

    light_g_km: Mapping[str, float]
    heavy_g_km: Mapping[str, float]
    heavy_share: float = 0.05
    source: str = ""

    def fleet_g_km(self, pollutant: str) -> float:
        """Fleet-average factor of ``pollutant``, g/km per vehicle."""
        pol = aqi_mod.normalize_pollutant(pollutant)
        if pol not in self.light_g_km or pol not in self.heavy_g_km:
            raise EngineError(f"air: no road emission factor for {pol}")
        s = float(self.heavy_share)
        if not 0.0 <= s <= 1.0:
            raise EngineError(f"air: heavy vehicle share {s} is outside 0..1")
        return (1.0 - s) * float(self.light_g_km[pol]) + s * float(self.heavy_g_km[pol])


#: Non-exhaust particle emission, EMEP/EEA guidebook 2019, chapter 1.A.3.b.vi-vii (road tyre,
#: brake and surface wear), Tier 2: TSP factors of a passenger car, g/km.
TYRE_TSP_PC_G_KM = 0.0107
BRAKE_TSP_PC_G_KM = 0.0075
#: Road surface wear TSP, g/km: light vehicles (cars, vans) and heavy vehicles.
ROAD_TSP_G_KM: dict[str, float] = {"light": 0.0150, "heavy": 0.0760}
#: Mass fractions of TSP by size class (tyre, brake, road surface).
WEAR_FRACTIONS: dict[str, tuple[float, float, float]] = {
    "pm10": (0.600, 0.980, 0.50),
    "pm25": (0.420, 0.390, 0.27),
}


def non_exhaust_g_km(
    pollutant: str,
    speed_kmh: ArrayLike,
    heavy: bool = False,
    axles: int = 2,
    load: float = 0.5,
) -> FloatArray:
    """Tyre + brake + road-surface wear particles, g/km per vehicle (EMEP/EEA 2019 Tier 2).

    Passenger cars: ``EF = TSP * f * S(v)`` for tyre and brake wear, ``TSP_road * f_road`` for
    the road surface. Heavy vehicles: tyre TSP ``0.5 * axles * (1.41 + 1.38 LF) * 0.0107``,
    brake TSP ``1.956 * (1 + 0.79 LF) * 0.0075``, road 0.0760 g/km. Speed corrections: tyre
    1.39 below 40 km/h, ``1.78 - 0.00974 v`` to 90 km/h, 0.902 above; brake 1.67 below 40,
    ``2.75 - 0.0270 v`` to 95, 0.185 above. Size fractions :data:`WEAR_FRACTIONS`.
    (EMEP/EEA air pollutant emission inventory guidebook 2019, 1.A.3.b.vi-vii, section 3.3;
    the same formulas are in the gtfs2emis R package, ``emi_europe_emep_wear``.)

    Parameters
    ----------
    pollutant
        ``"pm25"`` or ``"pm10"``.
    speed_kmh
        Mean speed, km/h (any shape).
    heavy
        Heavy vehicle (lorry, bus) instead of a passenger car.
    axles, load
        Heavy vehicles: number of axles and load factor (0 empty .. 1 full).
    """
    pol = aqi_mod.normalize_pollutant(pollutant)
    if pol not in WEAR_FRACTIONS:
        raise EngineError(f"air: no wear emission factor for {pol}")
    v = np.asarray(speed_kmh, dtype=np.float64)
    s_tyre = np.where(v < 40, 1.39, np.where(v <= 90, 1.78 - 0.00974 * v, 0.902))
    s_brake = np.where(v < 40, 1.67, np.where(v <= 95, 2.75 - 0.0270 * v, 0.185))
    f_tyre, f_brake, f_road = WEAR_FRACTIONS[pol]
    if heavy:
        tyre = 0.5 * axles * (1.41 + 1.38 * load) * TYRE_TSP_PC_G_KM
        brake = 1.956 * (1.0 + 0.79 * load) * BRAKE_TSP_PC_G_KM
        road = ROAD_TSP_G_KM["heavy"]
    else:
        tyre, brake, road = TYRE_TSP_PC_G_KM, BRAKE_TSP_PC_G_KM, ROAD_TSP_G_KM["light"]
    out = tyre * f_tyre * s_tyre + brake * f_brake * s_brake + road * f_road
    return np.asarray(out, dtype=np.float64)


#: Exhaust factors, g/km per vehicle: EMEP/EEA air pollutant emission inventory guidebook 2023,
#: chapter 1.A.3.b.i-iv (Road transport, update 2025), Tier 1: the pollutant per kg of fuel
#: (Tables 3-5 and 3-6, g/kg fuel) times the typical fuel use per km (Table 3-15, g/km), as
#: transcribed, already multiplied out to g/km, by a public research specification that states it
#: checked these cells against the guidebook PDF ("Physics and numerics specification: pollutant
#: dispersion around ZAGREB-1", 2026, section 7.2); the PDF itself could not be opened here.
#: NOx is NO2-equivalent mass; exhaust PM counts wholly as PM2.5 (= PM10), as the guidebook says.
#: Tier 1 describes an average European fleet (all Euro classes), not a new one.
EMEP_2023_TIER1_G_KM: dict[str, dict[str, float]] = {
    # category: {pollutant: g/km}; fuel g/km (Table 3-15) in brackets
    "pc_petrol": {"nox": 0.246, "pm": 0.0012},  # passenger car, petrol (61.9)
    "pc_diesel": {"nox": 0.668, "pm": 0.0443},  # passenger car, diesel (56.8)
    "pc_lpg": {"nox": 0.318, "pm": 0.0017},  # passenger car, LPG (58.1)
    "lcv_diesel": {"nox": 1.065, "pm": 0.0964},  # light commercial vehicle, diesel (79.0)
    "hdv_diesel": {"nox": 5.63, "pm": 0.119},  # heavy-duty vehicle incl. buses, diesel (216.8)
    "bus_cng": {"nox": 6.93, "pm": 0.0081},  # urban bus, CNG (405.5)
    "l_petrol": {"nox": 0.200, "pm": 0.0141},  # mopeds and motorcycles, petrol (27.7)
}

#: Tier 2 hot NOx factors by Euro class, g/km, same chapter and edition, Tables 3-17 (petrol
#: passenger cars, medium), 3-19 (diesel passenger cars, medium), 3-21 (diesel LCV N1-II/III)
#: and 3-23 (rigid lorry 12-14 t; urban diesel bus 15-18 t), transcribed from the same
#: specification (section 7.2). Euro 6 a/b/c pairs with VI A-C, Euro 6 d with VI D-E.
EMEP_2023_TIER2_NOX_G_KM: dict[str, dict[str, float]] = {
    "pc_petrol": {"euro3": 0.105, "euro4": 0.064, "euro5": 0.047, "euro6abc": 0.032, "euro6d": 0.032},
    "pc_diesel": {"euro3": 0.786, "euro4": 0.599, "euro5": 0.562, "euro6abc": 0.507, "euro6d": 0.074},
    "lcv_diesel": {"euro3": 1.037, "euro4": 0.839, "euro5": 1.374, "euro6abc": 1.108, "euro6d": 0.142},
    "hdv_rigid": {"euro3": 4.128, "euro4": 2.855, "euro5": 2.041, "euro6abc": 0.264, "euro6d": 0.198},
    "bus_diesel": {"euro3": 9.175, "euro4": 5.748, "euro5": 6.170, "euro6abc": 1.343, "euro6d": 1.263},
}  # fmt: skip

#: Shares of the light-vehicle kilometres by category, **assumed** (not from the guidebook): a
#: city fleet of petrol and diesel cars and diesel vans. Heavy vehicles are all ``hdv_diesel``
#: (the guidebook's Tier 1 heavy-duty category includes buses).
LIGHT_FLEET_SHARES: dict[str, float] = {"pc_petrol": 0.50, "pc_diesel": 0.35, "lcv_diesel": 0.15}


def tier1_exhaust_g_km(shares: Mapping[str, float]) -> dict[str, float]:
    """Exhaust factors of a vehicle mix from :data:`EMEP_2023_TIER1_G_KM`, g/km per vehicle.

    ``EF_p = sum_c share_c * EF_{c,p}`` over the categories ``c`` of `shares` (which must add
    up to 1); NOx is returned under ``no2`` and PM under both ``pm25`` and ``pm10``.

    Raises
    ------
    EngineError
        An unknown category or shares that do not add up to 1.
    """
    bad = [c for c in shares if c not in EMEP_2023_TIER1_G_KM]
    if bad:
        known = ", ".join(EMEP_2023_TIER1_G_KM)
        raise EngineError(f"air: unknown vehicle category {bad[0]!r} (known: {known})")
    total = float(sum(shares.values()))
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise EngineError(f"air: vehicle category shares add up to {total:g}, not 1")
    nox = sum(float(w) * EMEP_2023_TIER1_G_KM[c]["nox"] for c, w in shares.items())
    pm = sum(float(w) * EMEP_2023_TIER1_G_KM[c]["pm"] for c, w in shares.items())
    return {"no2": nox, "pm25": pm, "pm10": pm}


#: Exhaust factors of the default fleet, g/km per vehicle: :func:`tier1_exhaust_g_km` of
#: :data:`LIGHT_FLEET_SHARES` (light) and of ``hdv_diesel`` (heavy).
EXHAUST_G_KM: dict[str, dict[str, float]] = {
    "light": tier1_exhaust_g_km(LIGHT_FLEET_SHARES),
    "heavy": tier1_exhaust_g_km({"hdv_diesel": 1.0}),
}


def fleet_emission_factors(
    speed_kmh: float = 30.0,
    heavy_share: float = 0.05,
    exhaust: Mapping[str, Mapping[str, float]] | None = None,
) -> EmissionFactors:
    """Emission factors of an urban fleet: :data:`EXHAUST_G_KM` plus :func:`non_exhaust_g_km`.

    Parameters
    ----------
    speed_kmh
        Mean traffic speed for the wear speed corrections, km/h (30: urban).
    heavy_share
        Share of heavy vehicles in the flow.
    exhaust
        ``{"light": {...}, "heavy": {...}}`` exhaust factors, g/km; None: :data:`EXHAUST_G_KM`.
    """
    ex = EXHAUST_G_KM if exhaust is None else exhaust
    light = dict(ex["light"])
    heavy = dict(ex["heavy"])
    for pol in WEAR_FRACTIONS:
        light[pol] = light.get(pol, 0.0) + float(non_exhaust_g_km(pol, speed_kmh))
        heavy[pol] = heavy.get(pol, 0.0) + float(non_exhaust_g_km(pol, speed_kmh, heavy=True))
    shares = ", ".join(f"{c} {w:g}" for c, w in LIGHT_FLEET_SHARES.items())
    return EmissionFactors(
        light,
        heavy,
        heavy_share,
        source=(
            "exhaust: EMEP/EEA 2023 1.A.3.b.i-iv Tier 1 (Tables 3-5, 3-6 x 3-15)"
            + (
                f", light = {shares} (assumed mix), heavy = hdv_diesel"
                if exhaust is None
                else " replaced by the caller's factors"
            )
            + f"; wear: EMEP/EEA 2019 1.A.3.b.vi-vii Tier 2 at {speed_kmh:g} km/h"
        ),
    )


#: Default factors: :func:`fleet_emission_factors` at 30 km/h with 5 % heavy vehicles.
DEFAULT_EMISSION_FACTORS = fleet_emission_factors()


def road_emission_g_s_m(
    flow_veh_h: ArrayLike,
    pollutant: str = "pm25",
    factors: EmissionFactors = DEFAULT_EMISSION_FACTORS,
) -> FloatArray:
    """Line-source strength of roads from their traffic, g/s per metre.

    ``q = flow / 3600 * EF / 1000`` with ``flow`` in veh/h and ``EF`` the fleet-average factor
    in g/km per vehicle (:meth:`EmissionFactors.fleet_g_km`). NOx is reported under ``no2``
    (all NOx as NO2 mass, the inventory convention): an upper bound for NO2.

    Raises
    ------
    EngineError
        For negative or non-finite flows, or a pollutant without a factor.
    """
    f = np.asarray(flow_veh_h, dtype=np.float64)
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        raise EngineError("air: link flows must be finite and >= 0 veh/h")
    return np.asarray(f * (factors.fleet_g_km(pollutant) / 3.6e6), dtype=np.float64)


# --------------------------------------------------------------------------- summation


def split_lines(lines: LineSources, spacing_m: float = 5.0) -> PointSources:
    """Line sources as point sources at most ``spacing_m`` apart (midpoints of equal pieces).

    A segment of length ``L`` becomes ``n = max(1, ceil(L / spacing))`` points of
    ``q L / n`` g/s each, so the total emission is kept exactly.
    """
    if not spacing_m > 0:
        raise EngineError(f"air: line split spacing {spacing_m} m must be > 0")
    if len(lines) == 0:
        return PointSources.empty()
    length = lines.length_m
    n = np.maximum(1, np.ceil(length / spacing_m)).astype(np.int64)
    seg = np.repeat(np.arange(len(lines)), n)
    # Index of each piece inside its segment: 0..n-1.
    first = np.cumsum(n) - n
    k = np.arange(seg.size) - np.repeat(first, n)
    t = (k + 0.5) / n[seg]
    xy = lines.start_xy[seg] + t[:, None] * (lines.end_xy[seg] - lines.start_xy[seg])
    q = lines.q_g_s_m[seg] * length[seg] / n[seg]
    return PointSources(xy, q, np.full(seg.size, lines.height_m))


def point_concentration(
    sources: PointSources,
    receptors_xy: ArrayLike,
    met: Met,
    receptor_z_m: float = 1.5,
    chunk_pairs: int = CHUNK_PAIRS,
) -> FloatArray:
    """Concentration at receptors from point sources, ug/m3: the direct sum over sources.

    Every receptor is rotated into every source's plume frame (``x`` downwind, ``y``
    crosswind), ``sigma``s come from :func:`briggs_sigmas` and :func:`plume_concentration`
    gives each pair's share; sources are taken in chunks so that at most ``chunk_pairs``
    pairs are held at once.

    Parameters
    ----------
    sources
        Point sources (use :func:`split_lines` for roads).
    receptors_xy
        (m, 2) receptor positions, m.
    met
        Wind, stability and terrain.
    receptor_z_m
        Receptor height above ground, m (1.5 m: breathing height).

    Returns
    -------
    numpy.ndarray
        (m,) concentrations, ug/m3.
    """
    r = np.asarray(receptors_xy, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(r.shape[0])
    if len(sources) == 0 or r.shape[0] == 0:
        return out
    ex, ey = met.downwind
    # Plume-frame coordinates of receptors and sources (a rotation): x' = d.p, y' = d x p.
    rx = r[:, 0] * ex + r[:, 1] * ey
    ry = -r[:, 0] * ey + r[:, 1] * ex
    s = sources.xy
    sx = s[:, 0] * ex + s[:, 1] * ey
    sy_ = -s[:, 0] * ey + s[:, 1] * ex
    step = max(1, int(chunk_pairs) // max(1, r.shape[0]))
    n_rec = r.shape[0]
    for i in range(0, len(sources), step):
        j = slice(i, i + step)
        dx = rx[None, :] - sx[j, None]
        # Only the downwind pairs (about half) go through the plume formula.
        src, rec = np.nonzero(dx > 0.0)
        if src.size == 0:
            continue
        x = dx[src, rec]
        y = ry[rec] - sy_[j][src]
        sig_y, sig_z = briggs_sigmas(x, met.stability, met.terrain)
        c = plume_concentration(
            sources.q_g_s[j][src],
            met.u_ms,
            sig_y,
            sig_z,
            y,
            receptor_z_m,
            sources.height_m[j][src],
        )
        out += np.bincount(rec, weights=c, minlength=n_rec)
    return out


def _plume_kernel(
    grid: ReceptorGrid,
    met: Met,
    height_m: float,
    receptor_z_m: float,
    ox: NDArray[np.int64],
    oy: NDArray[np.int64],
) -> FloatArray:
    """ug/m3 at cell offsets (oy, ox) (cells; +x east, +y north) from 1 g/s at the origin."""
    ex, ey = met.downwind
    c = grid.cell_m
    dxm = ox[None, :] * c
    dym = oy[:, None] * c
    xx = dxm * ex + dym * ey
    yy = -dxm * ey + dym * ex
    sig_y, sig_z = briggs_sigmas(xx, met.stability, met.terrain)
    k = plume_concentration(1.0, met.u_ms, sig_y, sig_z, yy, receptor_z_m, height_m)
    # Near the source: mean over 5 x 5 points of the receptor cell.
    ny0 = int(np.searchsorted(oy, -NEAR_CELLS))
    nx0 = int(np.searchsorted(ox, -NEAR_CELLS))
    sub = (np.arange(5) - 2.0) / 5.0
    wy = oy[ny0 : ny0 + 2 * NEAR_CELLS + 1]
    wx = ox[nx0 : nx0 + 2 * NEAR_CELLS + 1]
    if wy.size and wx.size:
        px = (wx[None, :, None, None] + sub[None, None, None, :]) * c
        py = (wy[:, None, None, None] + sub[None, None, :, None]) * c
        px, py = np.broadcast_arrays(px, py)
        x2 = px * ex + py * ey
        y2 = -px * ey + py * ex
        s2y, s2z = briggs_sigmas(x2, met.stability, met.terrain)
        near = plume_concentration(1.0, met.u_ms, s2y, s2z, y2, receptor_z_m, height_m)
        k[ny0 : ny0 + wy.size, nx0 : nx0 + wx.size] = near.mean(axis=(2, 3))
    return np.asarray(k, dtype=np.float64)


def grid_concentration(
    lines: LineSources,
    grid: ReceptorGrid,
    met: Met,
    receptor_z_m: float = 1.5,
    max_range_m: float = 5000.0,
) -> FloatArray:
    """Concentration raster from line sources (one release height), ug/m3, by FFT convolution.

    The segments are sampled every half cell (:func:`split_lines`), their emissions shared
    bilinearly among the nearest cells of a raster that covers the grid and the sources (at most ``max_range_m`` beyond the
    grid; sources further out are dropped), and that raster convolved with the plume of 1 g/s
    at every cell offset (:func:`scipy.signal.fftconvolve`). See the module docstring.

    Returns
    -------
    numpy.ndarray
        (ny, nx) concentrations, row 0 north.
    """
    from scipy.signal import fftconvolve

    if len(lines) == 0:
        return np.zeros(grid.shape)
    pts = split_lines(lines, 0.5 * grid.cell_m)
    c = grid.cell_m
    # Cloud-in-cell: each sample shares its emission bilinearly among the four cells whose
    # centres surround it (cell-centre coordinates u, v; rows count south-up here).
    u = (pts.xy[:, 0] - grid.x0) / c - 0.5
    v = (pts.xy[:, 1] - grid.y0) / c - 0.5
    i0, j0 = np.floor(u), np.floor(v)
    fu, fv = u - i0, v - j0
    col = np.concatenate([i0, i0 + 1, i0, i0 + 1]).astype(np.int64)
    row = np.concatenate([j0, j0, j0 + 1, j0 + 1]).astype(np.int64)
    w = np.concatenate([(1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv])
    q = np.tile(pts.q_g_s, 4) * w
    m = math.ceil(max_range_m / c)
    keep = (col >= -m) & (col < grid.nx + m) & (row >= -m) & (row < grid.ny + m) & (q > 0)
    col, row, q = col[keep], row[keep], q[keep]
    if q.size == 0:
        return np.zeros(grid.shape)
    c0, r0 = int(min(col.min(), 0)), int(min(row.min(), 0))
    c1, r1 = int(max(col.max(), grid.nx - 1)), int(max(row.max(), grid.ny - 1))
    ex_n, ey_n = c1 - c0 + 1, r1 - r0 + 1
    emis = np.bincount((row - r0) * ex_n + (col - c0), weights=q, minlength=ex_n * ey_n)
    emis = emis.reshape(ey_n, ex_n)
    # Offsets receptor - emission cell, per axis: receptor index i in [0, n), emission cell
    # index j (grid coordinates j + c0): offset = i - j - c0 in [-(N-1) - c0, n - 1 - c0].
    ox = np.arange(-(ex_n - 1) - c0, grid.nx - c0, dtype=np.int64)
    oy = np.arange(-(ey_n - 1) - r0, grid.ny - r0, dtype=np.int64)
    kern = _plume_kernel(grid, met, lines.height_m, receptor_z_m, ox, oy)
    full = fftconvolve(emis, kern, mode="full")
    conc = full[ey_n - 1 : ey_n - 1 + grid.ny, ex_n - 1 : ex_n - 1 + grid.nx]
    # FFT round-off leaves tiny negatives where nothing arrives.
    return np.asarray(np.maximum(conc, 0.0)[::-1], dtype=np.float64)


# --------------------------------------------------------------------------- run


@dataclass(frozen=True, eq=False)
class AirInputs:
    """Everything one air-quality run needs.

    Attributes
    ----------
    grid
        Receptor raster.
    met
        Wind, stability, terrain.
    points, lines
        Point sources (stacks) and line sources (roads), emissions of ``pollutant``.
    pollutant
        ``"pm25"``, ``"pm10"`` or ``"no2"`` (for the AQI and the default limit).
    background_ug_m3
        Concentration added everywhere (e.g. from the twin's monitors), ug/m3.
    limit_ug_m3
        Threshold of ``area_over_limit_m2``; None: :data:`WHO_2021_24H_UG_M3`.
    receptor_z_m
        Receptor height, m.
    aqi_standard
        ``"us_epa"`` or ``"china_hj633"`` (see :mod:`twin_app.model.aqi`).
    """

    grid: ReceptorGrid
    met: Met
    points: PointSources = field(default_factory=PointSources.empty)
    lines: LineSources = field(default_factory=LineSources.empty)
    pollutant: str = "pm25"
    background_ug_m3: float = 0.0
    limit_ug_m3: float | None = None
    receptor_z_m: float = 1.5
    aqi_standard: str = "us_epa"

    @property
    def limit(self) -> float:
        """The limit in force, ug/m3."""
        if self.limit_ug_m3 is not None:
            return float(self.limit_ug_m3)
        pol = aqi_mod.normalize_pollutant(self.pollutant)
        if pol not in WHO_2021_24H_UG_M3:
            raise EngineError(f"air: no default limit for {pol}; set limit_ug_m3")
        return WHO_2021_24H_UG_M3[pol]


@dataclass(frozen=True, eq=False)
class AirResult:
    """Result of :func:`simulate`; arrays are read-only.

    Attributes
    ----------
    concentration_ug_m3
        (ny, nx) concentration, background included, row 0 north.
    transform
        Affine of the raster (:attr:`ReceptorGrid.transform`).
    aqi
        (ny, nx) sub-index of the pollutant (NaN beyond the table).
    aqi_class
        (ny, nx) int8 AQI category 0..5 (-1: no index), :func:`twin_app.model.aqi.category`.
    kpis
        Named KPIs, units in :data:`KPI_UNITS`.
    limit_ug_m3
        The limit the KPIs used.
    """

    concentration_ug_m3: FloatArray
    transform: tuple[float, float, float, float, float, float]
    aqi: FloatArray
    aqi_class: Int8Array
    kpis: dict[str, float]
    limit_ug_m3: float
    pollutant: str
    kpi_units: dict[str, str] = field(default_factory=lambda: dict(KPI_UNITS))


def kpis_of(
    conc: FloatArray,
    cell_m: float,
    limit_ug_m3: float,
    residential_floor_m2: FloatArray | None = None,
    m2_per_resident: float = M2_PER_RESIDENT,
) -> dict[str, float]:
    """KPIs of a concentration raster (see the module docstring; units :data:`KPI_UNITS`)."""
    over = conc > limit_ug_m3
    pop = 0.0
    if residential_floor_m2 is not None:
        floor = np.asarray(residential_floor_m2, dtype=np.float64)
        if floor.shape != conc.shape:
            raise EngineError(
                f"air: residential floor area raster {floor.shape} is not the grid {conc.shape}"
            )
        pop = float(np.nansum(np.where(over, floor, 0.0)) / m2_per_resident)
    return {
        "area_over_limit_m2": float(np.count_nonzero(over)) * cell_m * cell_m,
        "population_over_limit": pop,
        "max_concentration_ug_m3": float(conc.max()) if conc.size else 0.0,
        "mean_concentration_ug_m3": float(conc.mean()) if conc.size else 0.0,
    }


def simulate(
    inputs: AirInputs,
    residential_floor_m2: ArrayLike | None = None,
    *,
    m2_per_resident: float = M2_PER_RESIDENT,
) -> AirResult:
    """Concentration raster, AQI classes and KPIs of one steady-state plume run.

    Roads go through :func:`grid_concentration` (FFT), stacks through
    :func:`point_concentration` (direct sum at the cell centres); the background is added.

    Parameters
    ----------
    inputs
        Sources, weather, grid, pollutant and limit.
    residential_floor_m2
        (ny, nx) residential floor area per cell, m2 (row 0 north), for
        ``population_over_limit``; None: 0 residents.
    m2_per_resident
        Floor area per resident, m2.
    """
    g = inputs.grid
    pol = aqi_mod.normalize_pollutant(inputs.pollutant)
    conc = grid_concentration(inputs.lines, g, inputs.met, inputs.receptor_z_m)
    if len(inputs.points):
        gx, gy = g.centres()
        pts = point_concentration(
            inputs.points,
            np.column_stack([gx.ravel(), gy.ravel()]),
            inputs.met,
            inputs.receptor_z_m,
        )
        conc = conc + pts.reshape(g.shape)
    conc = conc + float(inputs.background_ug_m3)
    floor = None if residential_floor_m2 is None else np.asarray(residential_floor_m2, float)
    kpis = kpis_of(conc, g.cell_m, inputs.limit, floor, m2_per_resident)
    kpis["emission_g_s"] = float(inputs.points.q_g_s.sum()) + float(
        (inputs.lines.q_g_s_m * inputs.lines.length_m).sum()
    )
    unit = "ug/m3"
    index = aqi_mod.aqi(pol, conc, inputs.aqi_standard, unit=unit, beyond="clip")
    classes = aqi_mod.category(index, inputs.aqi_standard)
    for a in (conc, index, classes):
        a.setflags(write=False)
    return AirResult(
        concentration_ug_m3=conc,
        transform=g.transform,
        aqi=index,
        aqi_class=classes,
        kpis=kpis,
        limit_ug_m3=inputs.limit,
        pollutant=pol,
    )
