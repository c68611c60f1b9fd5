"""5G coverage: 3GPP TR 38.901 path loss, antenna pattern and building entry loss, with line of
sight decided by ray casting through the twin's buildings.

Reference: 3GPP TR 38.901 V17.0.0 (2022-03), *Study on channel model for frequencies from 0.5 to
100 GHz* (ETSI TR 138 901 V17.0.0). Units: distances and heights in metres, frequencies ``fc`` in
GHz (the TR's "centre frequency normalised by 1 GHz"), powers in dBm, gains and losses in dB.

Path loss (Table 7.4.1-1), with ``d3D = sqrt(d2D^2 + (hBS - hUT)^2)``:

* UMa LOS: ``PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc)`` for ``10 m <= d2D <= d'BP``,
  ``PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS - hUT)^2)`` for
  ``d'BP <= d2D <= 5 km``; shadow fading ``sigma_SF = 4 dB``.
* UMa NLOS: ``max(PL_UMa-LOS, PL'_UMa-NLOS)``, ``PL' = 13.54 + 39.08 log10(d3D) + 20 log10(fc)
  - 0.6 (hUT - 1.5)``; ``sigma_SF = 6 dB``.
* UMi-Street Canyon LOS: ``PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)``,
  ``PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'BP^2 + (hBS - hUT)^2)``;
  ``sigma_SF = 4 dB``.
* UMi-Street Canyon NLOS: ``max(PL_UMi-LOS, PL'_UMi-NLOS)``, ``PL' = 35.3 log10(d3D) + 22.4
  + 21.3 log10(fc) - 0.3 (hUT - 1.5)``; ``sigma_SF = 7.82 dB``.

Breakpoint (note 1 of the table): ``d'BP = 4 h'BS h'UT fc / c`` with ``fc`` in Hz,
``c = 3.0e8 m/s`` and effective heights ``h' = h - hE``. For UMi ``hE = 1 m``. For UMa the TR
draws ``hE = 1 m`` with probability ``1 / (1 + C(d2D, hUT))`` and otherwise from
``{12, 15, ..., hUT - 1.5}``; ``C = 0`` for ``hUT < 13 m``, so for UTs at street level and on
the lower four floors ``hE = 1 m`` is exact. The twin uses the deterministic ``hE = 1 m``
everywhere (:func:`uma_c` gives ``C`` for whoever wants the odds).

Validity (the table's ranges): ``10 m <= d2D <= 5 km``, ``1.5 m <= hUT <= 22.5 m``,
``0.5 <= fc <= 100 GHz``. :func:`path_loss_db` returns NaN outside them by default; with
``out_of_range="clip"`` (what the coverage functions use) ``d2D`` below 10 m is raised to 10 m
and ``hUT`` is clipped into 1.5-22.5 m (an upper floor is taken as a 22.5 m UT), while points
beyond 5 km stay NaN: a station does not serve them. The nominal station heights of the table
(25 m UMa, 10 m UMi) are not enforced; the height enters through the breakpoint and ``d3D``.

LOS probability (Table 7.4.2-1) is in :func:`los_probability`; the twin itself decides LOS by
casting the ray between antenna and receptor through the building mesh
(:class:`twin_app.geometry.raycast.Occluder`).

Antenna (Table 7.3-1, one sector element): ``A_V(theta) = -min(12 ((theta - 90)/65)^2, 30)``,
``A_H(phi) = -min(12 (phi/65)^2, 30)``, ``A = -min(-(A_V + A_H), 30)``, gain
``G = 8 dBi + A``, in the sector's local frame, reached from the global one by the bearing and
the mechanical downtilt (section 7.1, eqs. 7.1-7 and 7.1-8 with slant 0).

Building entry loss (section 7.4.3): material losses of Table 7.4.3-1 (standard glass
``2 + 0.2 f``, IRR glass ``23 + 0.3 f``, concrete ``5 + 4 f``, wood ``4.85 + 0.12 f``) and the
O2I models of Table 7.4.3-2: low loss ``PL_tw = 5 - 10 log10(0.3 10^(-L_glass/10) + 0.7
10^(-L_concrete/10))``, ``sigma_P = 4.4 dB``; high loss ``PL_tw = 5 - 10 log10(0.7
10^(-L_IRRglass/10) + 0.3 10^(-L_concrete/10))``, ``sigma_P = 6.5 dB``; indoor loss
``PL_in = 0.5 d2D-in``. The TR draws ``d2D-in`` as the minimum of two uniform 0-25 m values; the
twin measures it instead (from the receptor to where the ray to the station leaves its
building), capped at 25 m.

Received power: ``P_rx = P_tx + G_sector(theta, phi) - PL - O2I`` (UT antenna 0 dBi), where
``P_tx`` is the conducted power of one sector over the carrier; the RSRP-like metric spreads it
over the carrier's resource elements, ``RSRP = P_rx - 10 log10(12 N_PRB)`` (273 PRB: 100 MHz
at 30 kHz spacing). A receptor is covered when its best server's RSRP reaches the threshold
(default -100 dBm, a common planning edge for 5G NR outdoor coverage; configurable). Shadow
fading is returned as its standard deviation and only drawn when a seed is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from twin_app.errors import EngineError
from twin_app.geometry.raycast import Occluder

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

UMA = "UMa"
UMI = "UMi"
SCENARIOS = (UMA, UMI)

#: Speed of light as TR 38.901 writes it in the breakpoint formula, m/s.
C_LIGHT = 3.0e8
#: Effective environment height used for the breakpoint (see the module notes), m.
H_E = 1.0
D2D_MIN, D2D_MAX = 10.0, 5000.0
HUT_MIN, HUT_MAX = 1.5, 22.5
FC_MIN, FC_MAX = 0.5, 100.0

#: Shadow fading standard deviation, dB, Table 7.4.1-1: (scenario, los) -> sigma_SF.
SHADOW_FADING_DB = {(UMA, True): 4.0, (UMA, False): 6.0, (UMI, True): 4.0, (UMI, False): 7.82}

#: Table 7.3-1
G_E_MAX_DBI = 8.0
A_MAX_DB = 30.0
SLA_V_DB = 30.0
BEAMWIDTH_3DB_DEG = 65.0

#: Table 7.4.3-1: material -> (a, b) of ``L = a + b f`` dB, f in GHz.
MATERIALS = {
    "glass": (2.0, 0.2),
    "irr_glass": (23.0, 0.3),
    "concrete": (5.0, 4.0),
    "wood": (4.85, 0.12),
}
#: Table 7.4.3-2 standard deviation of the O2I penetration loss, dB.
O2I_SIGMA_DB = {"low": 4.4, "high": 6.5}
#: Section 7.4.3.1: d2D-in of UMa and UMi is at most 25 m.
D2D_IN_MAX = 25.0

DEFAULT_THRESHOLD_DBM = -100.0

Scenario = Literal["UMa", "UMi"]
O2IModel = Literal["low", "high"]


def _check_scenario(scenario: str) -> None:
    if scenario not in SCENARIOS:
        raise EngineError(f"radio: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")


def breakpoint_distance_m(h_bs_m: Any, h_ut_m: Any, fc_ghz: Any, h_e_m: float = H_E) -> FloatArray:
    """Breakpoint distance ``d'BP = 4 (hBS - hE)(hUT - hE) fc / c`` (Table 7.4.1-1 note 1).

    Parameters
    ----------
    h_bs_m, h_ut_m
        Antenna heights above ground, m.
    fc_ghz
        Centre frequency, GHz.
    h_e_m
        Effective environment height, m (1 m; see the module notes for UMa).

    Returns
    -------
    numpy.ndarray
        ``d'BP`` in metres.
    """
    hb = np.asarray(h_bs_m, dtype=float) - h_e_m
    hu = np.asarray(h_ut_m, dtype=float) - h_e_m
    return np.asarray(4.0 * hb * hu * np.asarray(fc_ghz, dtype=float) * 1e9 / C_LIGHT)


def uma_c(d2d_m: Any, h_ut_m: Any) -> FloatArray:
    """``C(d2D, hUT)`` of Table 7.4.1-1 note 1 (UMa): ``hE = 1 m`` with probability ``1/(1+C)``.

    ``g(d2D) = 1.25 (d2D/100)^3 exp(-d2D/150)`` for ``d2D > 18 m`` (else 0) and
    ``C = ((hUT - 13)/10)^1.5 g(d2D)`` for ``13 <= hUT <= 23 m`` (else 0).
    """
    d = np.asarray(d2d_m, dtype=float)
    h = np.asarray(h_ut_m, dtype=float)
    g = np.where(d > 18.0, 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0), 0.0)
    return np.asarray(np.where(h >= 13.0, (np.clip(h, 13.0, 23.0) - 13.0) / 10.0, 0.0) ** 1.5 * g)


def path_loss_db(
    scenario: str,
    los: Any,
    d2d_m: Any,
    h_bs_m: Any,
    h_ut_m: Any,
    fc_ghz: float,
    *,
    out_of_range: Literal["nan", "clip"] = "nan",
) -> FloatArray:
    """Basic path loss of TR 38.901 Table 7.4.1-1 for UMa or UMi-Street Canyon.

    Parameters
    ----------
    scenario
        ``"UMa"`` or ``"UMi"``.
    los
        Bool (scalar or array): line of sight. NLOS is ``max(PL_LOS, PL'_NLOS)``.
    d2d_m
        Horizontal distance between base station and UT, m.
    h_bs_m, h_ut_m
        Antenna heights above ground, m.
    fc_ghz
        Centre frequency, GHz.
    out_of_range
        ``"nan"``: NaN outside the validity ranges; ``"clip"``: raise ``d2D`` to 10 m and clip
        ``hUT`` to 1.5-22.5 m (beyond 5 km and outside 0.5-100 GHz is still NaN).

    Returns
    -------
    numpy.ndarray
        Path loss, dB (broadcast shape of the inputs).
    """
    _check_scenario(scenario)
    d2d = np.asarray(d2d_m, dtype=float)
    hbs = np.asarray(h_bs_m, dtype=float)
    hut = np.asarray(h_ut_m, dtype=float)
    fc = float(fc_ghz)
    if out_of_range == "clip":
        d2d = np.maximum(d2d, D2D_MIN)
        hut = np.clip(hut, HUT_MIN, HUT_MAX)
        bad = d2d > D2D_MAX
    elif out_of_range == "nan":
        bad = (d2d < D2D_MIN) | (d2d > D2D_MAX) | (hut < HUT_MIN) | (hut > HUT_MAX)
    else:
        raise EngineError(f"radio: out_of_range must be 'nan' or 'clip', got {out_of_range!r}")
    if not FC_MIN <= fc <= FC_MAX:
        bad = np.ones_like(d2d, dtype=bool)
    dh2 = (hbs - hut) ** 2
    d3d = np.sqrt(d2d**2 + dh2)
    dbp = breakpoint_distance_m(hbs, hut, fc)
    lf, ld = 20.0 * math.log10(fc), np.log10(d3d)
    with np.errstate(divide="ignore", invalid="ignore"):
        lbp = np.log10(dbp**2 + dh2)
    if scenario == UMA:
        pl1 = 28.0 + 22.0 * ld + lf
        pl2 = 28.0 + 40.0 * ld + lf - 9.0 * lbp
        nlos = 13.54 + 39.08 * ld + lf - 0.6 * (hut - 1.5)
    else:
        pl1 = 32.4 + 21.0 * ld + lf
        pl2 = 32.4 + 40.0 * ld + lf - 9.5 * lbp
        nlos = 35.3 * ld + 22.4 + 21.3 * math.log10(fc) - 0.3 * (hut - 1.5)
    pl_los = np.where(d2d <= dbp, pl1, pl2)
    pl = np.where(np.asarray(los, dtype=bool), pl_los, np.maximum(pl_los, nlos))
    return np.asarray(np.where(bad, np.nan, pl), dtype=float)


def shadow_fading_db(scenario: str, los: Any, seed: int | None = None) -> FloatArray:
    """Shadow fading of Table 7.4.1-1: its standard deviation, or a draw when a seed is given.

    Parameters
    ----------
    scenario
        ``"UMa"`` or ``"UMi"``.
    los
        Bool scalar or array.
    seed
        None: return ``sigma_SF`` (dB) per element; an int: one log-normal draw per element,
        ``N(0, sigma_SF^2)`` dB, from ``numpy.random.default_rng(seed)``.
    """
    _check_scenario(scenario)
    flag = np.asarray(los, dtype=bool)
    sigma = np.where(flag, SHADOW_FADING_DB[(scenario, True)], SHADOW_FADING_DB[(scenario, False)])
    if seed is None:
        return np.asarray(sigma, dtype=float)
    return np.asarray(np.random.default_rng(seed).normal(0.0, 1.0, sigma.shape) * sigma)


def los_probability(scenario: str, d2d_out_m: Any, h_ut_m: Any = 1.5) -> FloatArray:
    """LOS probability of Table 7.4.2-1 (for reference; the twin casts rays instead).

    UMi-Street Canyon: 1 for ``d2D-out <= 18 m``, else ``18/d + exp(-d/36)(1 - 18/d)``.
    UMa: 1 for ``d <= 18 m``, else ``[18/d + exp(-d/63)(1 - 18/d)] [1 + C'(hUT) 1.25
    (d/100)^3 exp(-d/150)]`` with ``C' = 0`` for ``hUT <= 13 m`` and ``((hUT - 13)/10)^1.5`` up
    to 23 m.
    """
    _check_scenario(scenario)
    d = np.maximum(np.asarray(d2d_out_m, dtype=float), 1e-9)
    h = np.asarray(h_ut_m, dtype=float)
    if scenario == UMI:
        p = 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d)
    else:
        c = np.where(h > 13.0, ((np.clip(h, 13.0, 23.0) - 13.0) / 10.0) ** 1.5, 0.0)
        p = (18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)) * (
            1.0 + c * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0)
        )
    return np.asarray(np.where(d <= 18.0, 1.0, p))


def element_gain_dbi(theta_lcs_deg: Any, phi_lcs_deg: Any) -> FloatArray:
    """Gain of one 3-sector antenna element, Table 7.3-1, in its local frame.

    Parameters
    ----------
    theta_lcs_deg
        Zenith angle in the element's frame, degrees (90 = boresight elevation).
    phi_lcs_deg
        Azimuth in the element's frame, degrees (0 = boresight), any range.

    Returns
    -------
    numpy.ndarray
        ``8 dBi - min(-(A_V + A_H), 30 dB)``: 8 dBi at boresight, 5 dBi at 32.5 degrees off,
        -22 dBi at the floor.
    """
    th = np.asarray(theta_lcs_deg, dtype=float)
    ph = (np.asarray(phi_lcs_deg, dtype=float) + 180.0) % 360.0 - 180.0
    a_v = -np.minimum(12.0 * ((th - 90.0) / BEAMWIDTH_3DB_DEG) ** 2, SLA_V_DB)
    a_h = -np.minimum(12.0 * (ph / BEAMWIDTH_3DB_DEG) ** 2, A_MAX_DB)
    return np.asarray(G_E_MAX_DBI - np.minimum(-(a_v + a_h), A_MAX_DB))


def to_local_angles(
    theta_deg: Any, phi_deg: Any, bearing_deg: float, downtilt_deg: float
) -> tuple[FloatArray, FloatArray]:
    """Global zenith/azimuth to a sector's local ones (TR 38.901 eqs. 7.1-7, 7.1-8, slant 0).

    ``theta' = arccos(cos(b) cos(theta) + sin(b) cos(phi - a) sin(theta))`` and
    ``phi' = arg(cos(b) sin(theta) cos(phi - a) - sin(b) cos(theta) + j sin(theta) sin(phi - a))``
    with ``a`` the sector's azimuth and ``b`` its mechanical downtilt (positive down). Angles
    are in the TR's convention: ``phi`` counter-clockwise from the x axis (east), degrees.
    """
    th = np.radians(np.asarray(theta_deg, dtype=float))
    dp = np.radians(np.asarray(phi_deg, dtype=float) - bearing_deg)
    b = math.radians(downtilt_deg)
    cos_t = np.clip(math.cos(b) * np.cos(th) + math.sin(b) * np.cos(dp) * np.sin(th), -1.0, 1.0)
    re = math.cos(b) * np.sin(th) * np.cos(dp) - math.sin(b) * np.cos(th)
    im = np.sin(th) * np.sin(dp)
    return np.degrees(np.arccos(cos_t)), np.degrees(np.arctan2(im, re))


def material_loss_db(material: str, fc_ghz: Any) -> FloatArray:
    """Material penetration loss of Table 7.4.3-1, dB: glass, irr_glass, concrete or wood."""
    if material not in MATERIALS:
        raise EngineError(
            f"radio: unknown material {material!r}; known: {', '.join(sorted(MATERIALS))}"
        )
    a, b = MATERIALS[material]
    return np.asarray(a + b * np.asarray(fc_ghz, dtype=float))


def o2i_loss_db(model: str, fc_ghz: float, d2d_in_m: Any = 0.0) -> FloatArray:
    """O2I building penetration loss ``PL_tw + PL_in`` of Table 7.4.3-2 (without ``PL_b``).

    Parameters
    ----------
    model
        ``"low"`` (30 % standard glass, 70 % concrete) or ``"high"`` (70 % IRR glass, 30 %
        concrete).
    fc_ghz
        Centre frequency, GHz.
    d2d_in_m
        Indoor horizontal distance, m (``PL_in = 0.5 d2D-in``).
    """
    conc = 10.0 ** (-material_loss_db("concrete", fc_ghz) / 10.0)
    if model == "low":
        mix = 0.3 * 10.0 ** (-material_loss_db("glass", fc_ghz) / 10.0) + 0.7 * conc
    elif model == "high":
        mix = 0.7 * 10.0 ** (-material_loss_db("irr_glass", fc_ghz) / 10.0) + 0.3 * conc
    else:
        raise EngineError(f"radio: O2I model must be 'low' or 'high', got {model!r}")
    return np.asarray(5.0 - 10.0 * np.log10(mix) + 0.5 * np.asarray(d2d_in_m, dtype=float))


@dataclass(frozen=True)
class BaseStation:
    """One base station site.

    Attributes
    ----------
    x_m, y_m
        Position in the twin's local frame, m.
    height_m
        Antenna height above ground (``hBS``), m; the antenna sits at ``ground_z_m + height_m``.
    tx_power_dbm
        Conducted transmit power of each sector over the carrier, dBm (46 dBm = 40 W).
    frequency_ghz
        Carrier centre frequency, GHz (0.5-100).
    azimuths_deg
        Boresight of each sector as a compass bearing, degrees clockwise from north; empty for
        an omnidirectional 0 dBi antenna.
    downtilt_deg
        Mechanical downtilt, degrees (positive tilts the beam down).
    scenario
        ``"UMa"`` or ``"UMi"`` (picks the path loss model).
    ground_z_m
        Ground height at the station, m.
    n_prb
        Physical resource blocks of the carrier (RSRP = power per resource element).
    name
        Label.
    """

    x_m: float
    y_m: float
    height_m: float = 25.0
    tx_power_dbm: float = 46.0
    frequency_ghz: float = 3.5
    azimuths_deg: tuple[float, ...] = (0.0, 120.0, 240.0)
    downtilt_deg: float = 6.0
    scenario: str = UMA
    ground_z_m: float = 0.0
    n_prb: int = 273
    name: str = ""

    def __post_init__(self) -> None:
        label = self.name or f"({self.x_m:.1f}, {self.y_m:.1f})"
        _check_scenario(self.scenario)
        if not FC_MIN <= self.frequency_ghz <= FC_MAX:
            raise EngineError(
                f"base station {label}: frequency {self.frequency_ghz} GHz outside TR 38.901's "
                f"{FC_MIN}-{FC_MAX} GHz"
            )
        if not self.height_m > H_E:
            raise EngineError(f"base station {label}: antenna height must exceed {H_E} m")
        if self.n_prb < 1:
            raise EngineError(f"base station {label}: n_prb must be at least 1")
        vals = (self.x_m, self.y_m, self.height_m, self.tx_power_dbm, self.downtilt_deg)
        if not all(math.isfinite(v) for v in (*vals, self.ground_z_m, *self.azimuths_deg)):
            raise EngineError(f"base station {label}: non-finite position, height or angle")

    @property
    def antenna_xyz(self) -> FloatArray:
        """Antenna position in local metres."""
        return np.array([self.x_m, self.y_m, self.ground_z_m + self.height_m])

    @property
    def re_offset_db(self) -> float:
        """``10 log10(12 N_PRB)``: total carrier power to power per resource element."""
        return 10.0 * math.log10(12.0 * self.n_prb)


def sector_gain_dbi(station: BaseStation, points: Any) -> FloatArray:
    """Best sector's element gain toward each point, dBi (Table 7.3-1 with downtilt).

    Parameters
    ----------
    station
        The base station.
    points
        (n, 3) receptor positions, local metres.
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    v = p - station.antenna_xyz
    if not station.azimuths_deg:
        return np.zeros(p.shape[0])
    theta = np.degrees(np.arctan2(np.hypot(v[:, 0], v[:, 1]), v[:, 2]))
    phi = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    best = np.full(p.shape[0], -np.inf)
    for bearing in station.azimuths_deg:  # a site has one to a few sectors
        th, ph = to_local_angles(theta, phi, 90.0 - bearing, station.downtilt_deg)
        best = np.maximum(best, element_gain_dbi(th, ph))
    return best


@dataclass(frozen=True, eq=False)
class StationField:
    """What one station delivers at a set of receptors.

    Attributes
    ----------
    rx_power_dbm
        Received carrier power, dBm (NaN beyond the model's range).
    rsrp_dbm
        ``rx_power_dbm - 10 log10(12 N_PRB)``, dBm.
    los
        Line of sight between the antenna and the receptor (indoor: its facade).
    path_loss_db, o2i_db, gain_dbi
        The terms of the budget.
    """

    rx_power_dbm: FloatArray
    rsrp_dbm: FloatArray
    los: BoolArray
    path_loss_db: FloatArray
    o2i_db: FloatArray
    gain_dbi: FloatArray


#: Receptors are lifted this far off the surfaces they sit on before casting, m.
RAY_EPS = 0.05


def station_field(
    station: BaseStation,
    points: Any,
    occluder: Occluder | None,
    *,
    indoor: Any = False,
    o2i_model: str = "low",
    ground_z_m: Any = None,
    seed: int | None = None,
) -> StationField:
    """Link budget of one station to many receptors, LOS by ray casting.

    Parameters
    ----------
    station
        The base station.
    points
        (n, 3) receptors, local metres (street points 1.5 m above ground; indoor points inside
        their building at UT height).
    occluder
        The buildings' mesh for line of sight (None: everything LOS).
    indoor
        Bool scalar or (n,): the receptor is inside a building. Its ``d2D-in`` is measured from
        the receptor to where the ray toward the station leaves the mesh (capped at 25 m), the
        outdoor path is LOS when that exit point sees the antenna, and the O2I loss of
        `o2i_model` is added.
    o2i_model
        ``"low"`` or ``"high"`` (Table 7.4.3-2).
    ground_z_m
        Ground height under each receptor (scalar or (n,)); default the station's ground.
        ``hUT`` is the receptor's height above it.
    seed
        None: no shadow fading (median values). An int: shadow fading and O2I variation drawn.

    Returns
    -------
    StationField
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    n = p.shape[0]
    ind = np.broadcast_to(np.asarray(indoor, dtype=bool), (n,))
    tx = station.antenna_xyz
    v = tx - p
    d3 = np.linalg.norm(v, axis=1)
    d2 = np.hypot(v[:, 0], v[:, 1])
    ground = station.ground_z_m if ground_z_m is None else ground_z_m
    h_ut = p[:, 2] - np.broadcast_to(np.asarray(ground, dtype=float), (n,))
    h_bs = station.height_m + station.ground_z_m - np.broadcast_to(np.asarray(ground, float), (n,))
    d_in = np.zeros(n)
    los = np.ones(n, dtype=bool)
    if occluder is not None and n:
        safe = np.where(d3 > 0.0, d3, 1.0)
        u = v / safe[:, None]
        start = p.copy()
        if ind.any():
            exit_t = occluder.first_hit(p[ind], u[ind], d3[ind])
            exit_t = np.where(np.isfinite(exit_t), exit_t, 0.0)
            d_in[ind] = exit_t
            start[ind] = p[ind] + (exit_t + RAY_EPS)[:, None] * u[ind]
        remaining = np.maximum(d3 - (d_in + RAY_EPS) - RAY_EPS, 0.0)
        los = ~occluder.occluded(start, u, remaining)
        los &= d3 > 0.0
        los |= d3 == 0.0
    pl = path_loss_db(
        station.scenario, los, d2, h_bs, h_ut, station.frequency_ghz, out_of_range="clip"
    )
    d2_in = np.minimum(d_in * np.divide(d2, d3, out=np.zeros(n), where=d3 > 0.0), D2D_IN_MAX)
    o2i = np.where(ind, o2i_loss_db(o2i_model, station.frequency_ghz, d2_in), 0.0)
    if seed is not None:
        rng = np.random.default_rng(seed)
        pl = pl + rng.normal(0.0, 1.0, n) * shadow_fading_db(station.scenario, los)
        o2i = o2i + np.where(ind, rng.normal(0.0, O2I_SIGMA_DB[o2i_model], n), 0.0)
    gain = sector_gain_dbi(station, p)
    rx = station.tx_power_dbm + gain - pl - o2i
    return StationField(
        rx_power_dbm=rx,
        rsrp_dbm=rx - station.re_offset_db,
        los=los,
        path_loss_db=pl,
        o2i_db=o2i,
        gain_dbi=gain,
    )


@dataclass(frozen=True, eq=False)
class Coverage:
    """Best-server coverage of a receptor set.

    Attributes
    ----------
    rsrp_dbm
        (n,) best server's RSRP-like power, dBm (-inf where no station reaches).
    server
        (n,) index of the best station, -1 where none.
    los
        (n,) LOS to the best server.
    """

    rsrp_dbm: FloatArray
    server: IntArray
    los: BoolArray

    def covered(self, threshold_dbm: float = DEFAULT_THRESHOLD_DBM) -> BoolArray:
        """Receptors whose best server reaches `threshold_dbm`."""
        return np.asarray(self.rsrp_dbm >= threshold_dbm)


def coverage(
    stations: Sequence[BaseStation],
    points: Any,
    occluder: Occluder | None,
    **kwargs: Any,
) -> Coverage:
    """Best server over `stations` at every receptor (keyword arguments as :func:`station_field`).

    The loop runs over stations (a handful), each one vectorised over all receptors.
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    best = np.full(p.shape[0], -np.inf)
    server = np.full(p.shape[0], -1, dtype=np.int64)
    los = np.zeros(p.shape[0], dtype=bool)
    for k, st in enumerate(stations):
        f = station_field(st, p, occluder, **kwargs)
        r = np.where(np.isnan(f.rsrp_dbm), -np.inf, f.rsrp_dbm)
        better = r > best
        best = np.where(better, r, best)
        server[better] = k
        los = np.where(better, f.los, los)
    return Coverage(rsrp_dbm=best, server=server, los=los)


def street_receptors(
    occluder: Occluder | None,
    bounds: tuple[float, float, float, float],
    spacing_m: float,
    *,
    ground_z_m: float = 0.0,
    height_m: float = 1.5,
) -> tuple[FloatArray, tuple[int, int], BoolArray]:
    """A street-level receptor grid with the points under buildings marked.

    Parameters
    ----------
    occluder
        The buildings' mesh: a point whose upward ray hits it is under (inside) a building.
    bounds
        (xmin, xmax, ymin, ymax), local metres.
    spacing_m
        Cell size, m; receptors at the cell centres.
    ground_z_m, height_m
        Receptors stand `height_m` above the ground.

    Returns
    -------
    points
        (ny * nx, 3) cell centres, row-major over y then x.
    shape
        (ny, nx) of the raster.
    outdoor
        (ny * nx,) False under a building.
    """
    if not spacing_m > 0.0:
        raise EngineError(f"radio: grid spacing must be positive, got {spacing_m}")
    xmin, xmax, ymin, ymax = bounds
    xs = np.arange(xmin + spacing_m / 2.0, xmax, spacing_m)
    ys = np.arange(ymin + spacing_m / 2.0, ymax, spacing_m)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, ground_z_m + height_m)])
    if occluder is None or not pts.shape[0]:
        outdoor = np.ones(pts.shape[0], dtype=bool)
    else:
        outdoor = ~occluder.occluded(pts, np.array([0.0, 0.0, 1.0]))
    return pts, (ys.size, xs.size), outdoor


def building_receptors(
    centroids_xy: Any,
    heights_m: Any,
    floors: Any = None,
    *,
    ground_z_m: Any = 0.0,
    floor_height_m: float = 3.0,
    ut_height_m: float = 1.5,
) -> tuple[FloatArray, IntArray, IntArray]:
    """One indoor receptor per floor of each building, at its centroid.

    Parameters
    ----------
    centroids_xy
        (b, 2) a point inside each building (footprint centroid), local metres.
    heights_m
        (b,) building heights, m.
    floors
        (b,) floor counts; missing (None or NaN) entries become ``max(1, height // floor_height)``.
    ground_z_m
        Ground under each building, scalar or (b,).
    floor_height_m, ut_height_m
        Storey height, and the UT's height above its floor (1.5 m as in TR 38.901 7.4.3.1).

    Returns
    -------
    points
        (n, 3) receptors at ``ground + floor * floor_height + ut_height``.
    building
        (n,) building row of each receptor.
    floor
        (n,) floor number (0 = ground floor).
    """
    c = np.asarray(centroids_xy, dtype=float).reshape(-1, 2)
    b = c.shape[0]
    h = np.broadcast_to(np.asarray(heights_m, dtype=float), (b,))
    guess = np.maximum(1, np.floor(np.nan_to_num(h, nan=0.0) / floor_height_m)).astype(np.int64)
    if floors is None:
        nf = guess
    else:
        f = np.broadcast_to(np.asarray(floors, dtype=float), (b,))
        nf = np.where(np.isfinite(f) & (f >= 1), np.nan_to_num(f, nan=1.0), guess).astype(np.int64)
    g = np.broadcast_to(np.asarray(ground_z_m, dtype=float), (b,))
    building = np.repeat(np.arange(b, dtype=np.int64), nf)
    floor = np.arange(building.size, dtype=np.int64) - np.repeat(np.cumsum(nf) - nf, nf)
    z = g[building] + floor * floor_height_m + ut_height_m
    return np.column_stack([c[building], z]), building, floor


def buildings_covered(
    covered: Any, building: Any, n_buildings: int, min_floor_share: float = 1.0
) -> BoolArray:
    """Buildings whose share of covered floor receptors reaches `min_floor_share` (1 = all)."""
    cov = np.asarray(covered, dtype=float)
    bld = np.asarray(building, dtype=np.int64)
    tot = np.bincount(bld, minlength=n_buildings)
    hit = np.bincount(bld, weights=cov, minlength=n_buildings)
    return np.asarray((tot > 0) & (hit >= min_floor_share * tot - 1e-9))


def coverage_kpis(
    street: Coverage,
    street_outdoor: Any,
    indoor: Coverage,
    indoor_building: Any,
    n_buildings: int,
    *,
    threshold_dbm: float = DEFAULT_THRESHOLD_DBM,
    min_floor_share: float = 1.0,
) -> dict[str, float]:
    """``area_covered_pct`` and ``buildings_covered_pct``.

    ``area_covered_pct``: covered street receptors (equal cells, those under buildings left
    out) over all street receptors, %. ``buildings_covered_pct``: buildings with at least
    `min_floor_share` of their floors covered (default every floor), over buildings that have
    receptors, %. Coverage means a best-server RSRP at or above `threshold_dbm`.
    """
    out = np.asarray(street_outdoor, dtype=bool)
    cov = street.covered(threshold_dbm)[out]
    bc = buildings_covered(
        indoor.covered(threshold_dbm), indoor_building, n_buildings, min_floor_share
    )
    with_rx = np.bincount(np.asarray(indoor_building, dtype=np.int64), minlength=n_buildings) > 0
    return {
        "area_covered_pct": 100.0 * float(cov.mean()) if cov.size else float("nan"),
        "buildings_covered_pct": (
            100.0 * float(bc[with_rx].mean()) if with_rx.any() else float("nan")
        ),
    }


@dataclass(frozen=True, eq=False)
class Placement:
    """Greedy station placement toward a coverage target.

    Attributes
    ----------
    chosen
        Indices into the candidate array, in the order they were added.
    covered_pct
        Coverage after the existing stations (entry 0) and after each addition, %.
    reached
        Whether the target was reached.
    stations_needed
        Existing plus added stations when reached, else NaN.
    """

    chosen: IntArray
    covered_pct: FloatArray
    reached: bool
    stations_needed: float
    stations: tuple[BaseStation, ...] = field(default=())


def station_on_roof(template: BaseStation, roof_xyz: Any, mast_m: float = 3.0) -> BaseStation:
    """`template` moved onto a roof point (x, y, roof z), its antenna `mast_m` above the roof.

    ``hBS`` becomes the roof's height above the template's ground plus the mast.
    """
    x, y, z = (float(v) for v in np.asarray(roof_xyz, dtype=float).reshape(3))
    return replace(template, x_m=x, y_m=y, height_m=z - template.ground_z_m + mast_m)


def greedy_placement(
    existing: Sequence[BaseStation],
    candidates_xyz: Any,
    template: BaseStation,
    points: Any,
    occluder: Occluder | None,
    *,
    target_pct: float,
    weights: Any = None,
    mast_m: float = 3.0,
    threshold_dbm: float = DEFAULT_THRESHOLD_DBM,
    max_added: int | None = None,
    **kwargs: Any,
) -> Placement:
    """Add stations at candidate rooftop points, each time the one covering most new receptors.

    Parameters
    ----------
    existing
        Stations already there.
    candidates_xyz
        (m, 3) candidate roof points (x, y, roof z), local metres; a station there has its
        antenna `mast_m` above the roof and everything else from `template`.
    template
        Power, frequency, sectors, downtilt, scenario and ground of new stations.
    points
        (n, 3) receptors (street and/or indoor).
    occluder
        The buildings' mesh.
    target_pct
        Coverage target, % of the receptors' weight.
    weights
        (n,) receptor weights (default equal).
    max_added
        Stop after this many additions (default: the number of candidates).
    kwargs
        Passed to :func:`station_field` (``indoor``, ``o2i_model``, ``ground_z_m``).

    Returns
    -------
    Placement
        ``stations_needed`` is the KPI ``stations_needed_for_target`` (existing + added; NaN
        when every candidate together cannot reach the target). Greedy max-coverage is within
        ``1 - 1/e`` of the best set of the same size (Nemhauser, Wolsey and Fisher 1978).
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    n = p.shape[0]
    w = np.ones(n) if weights is None else np.broadcast_to(np.asarray(weights, float), (n,))
    total = float(w.sum())
    if total <= 0.0:
        raise EngineError("radio: greedy placement needs receptors with positive weight")
    cand = np.asarray(candidates_xyz, dtype=float).reshape(-1, 3)
    covered = coverage(existing, p, occluder, **kwargs).covered(threshold_dbm)
    news = [
        replace(station_on_roof(template, c, mast_m), name=f"candidate {i}")
        for i, c in enumerate(cand)
    ]
    reach = np.zeros((len(news), n), dtype=bool)
    for i, st in enumerate(news):  # one vectorised budget per candidate
        reach[i] = (
            np.nan_to_num(station_field(st, p, occluder, **kwargs).rsrp_dbm, nan=-np.inf)
            >= threshold_dbm
        )
    chosen: list[int] = []
    pct = [100.0 * float(w[covered].sum()) / total]
    limit = len(news) if max_added is None else min(max_added, len(news))
    while pct[-1] < target_pct and len(chosen) < limit:
        gain = (reach & ~covered) @ w
        k = int(np.argmax(gain))
        if gain[k] <= 0.0:
            break
        chosen.append(k)
        covered |= reach[k]
        pct.append(100.0 * float(w[covered].sum()) / total)
    reached = pct[-1] >= target_pct
    return Placement(
        chosen=np.asarray(chosen, dtype=np.int64),
        covered_pct=np.asarray(pct),
        reached=reached,
        stations_needed=float(len(existing) + len(chosen)) if reached else float("nan"),
        stations=tuple(news[k] for k in chosen),
    )
