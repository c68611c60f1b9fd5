"""5G coverage scenarios: the ``[radio]`` section, the station interventions and the study.

A ``[radio]`` section lists base stations (``[[radio.stations]]``) and the study's settings;
the interventions ``add_station``, ``remove_station`` and ``set_station`` change the stations;
:func:`radio_study` computes best-server coverage (:mod:`twin_app.engines.radio`, 3GPP TR
38.901 path loss, antenna pattern and building entry loss) at street level and inside the
buildings, with line of sight cast through the twin's buildings as the massing interventions
leave them (:func:`twin_app.scenarios.massing.apply_massing`), so a scenario that adds a
building also shadows the stations behind it.

Study area: ``[radio] bounds`` (xmin, ymin, xmax, ymax, the twin's local metres), else the
whole twin's buildings' bounding box. Street receptors stand 1.5 m above the ground every
``spacing_m`` metres (those under roofs left out of the area KPI); indoor receptors (``indoor =
true``) sit at each building's roof centroid on every floor (3 m storeys, floors from the
height) with the O2I model ``o2i_model`` (TR 38.901 Table 7.4.3-2, ``"low"`` or ``"high"``).
Every floor's value is kept (:class:`RadioFloors`: building, floor, its bottom and ceiling
heights and a slab mesh of the floors, :func:`twin_app.geometry.floors.floor_slabs`) for the
compare view's per-floor colours; the building's worst floor decides its coverage.

KPIs (:data:`RADIO_KPIS`): ``area_covered_pct``, ``buildings_covered_pct`` (a building is
covered when every floor's best-server RSRP reaches ``threshold_dbm``), and
``stations_needed_for_target``: stations (existing plus added) a greedy placement over the
roofs of the ``candidates`` tallest buildings in the area needs to bring ``area_covered_pct``
to ``target_pct``. That placement computes one link budget per candidate over every street
receptor (seconds to tens of seconds), so it runs only with ``plan = true``; otherwise, and when
every candidate together does not reach the target, the KPI is NaN. ``capex`` is the number of
stations the interventions add times ``station_unit_cost`` (``currency``). The default unit
cost is 700,000 RMB, the midpoint of the 600,000-800,000 RMB per 5G base station the 5G
smart-city whitepaper this project follows gives (issue 9, "Costs").

The default threshold of -100 dBm RSRP is a common planning edge for 5G NR outdoor coverage
(:data:`twin_app.engines.radio.DEFAULT_THRESHOLD_DBM`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin_app.errors import InputError
from twin_app.io.toml_model import StrictModel as _Strict
from twin_app.io.toml_model import check_lonlat

if TYPE_CHECKING:
    from twin_app.scenarios.file import Scenario
    from twin_app.scenarios.model import FloatArray, MassingModel

Bounds = tuple[float, float, float, float]

#: Storey height of the indoor receptors, m.
FLOOR_HEIGHT_M = 3.0

#: Names of the station interventions.
RADIO_KINDS = ("add_station", "remove_station", "set_station")
#: The radio KPIs in the order they are shown, with their units (capex's is the currency).
RADIO_KPIS = {
    "area_covered_pct": "%",
    "buildings_covered_pct": "%",
    "stations_needed_for_target": "stations",
    "capex": "",
}
#: Default cost of one 5G base station: midpoint of the whitepaper's 600,000-800,000 RMB.
DEFAULT_STATION_UNIT_COST = 700_000.0
DEFAULT_CURRENCY = "RMB"


def check_bounds(v: Bounds | None) -> Bounds | None:
    """A study area's ``bounds`` as validated by every scenario section that has one."""
    if v is not None and not (v[0] < v[2] and v[1] < v[3]):
        raise ValueError("bounds must be [xmin, ymin, xmax, ymax] with xmin < xmax, ymin < ymax")
    return v


class _StationFields(_Strict):
    """Where a station stands and what it radiates (shared by stations and ``add_station``).

    Position: ``xy`` (local metres) or ``lonlat`` (WGS 84), or neither with ``on_roof`` (then
    the roof's centroid). Height: ``height_m`` above the ground, or ``on_roof`` = a building id
    (the antenna ``mast_m`` above that building's roof).
    """

    id: str = Field(min_length=1)
    xy: tuple[float, float] | None = None
    lonlat: tuple[float, float] | None = None
    height_m: float | None = Field(None, gt=1.0, le=1000.0)
    on_roof: str | None = Field(None, min_length=1)
    mast_m: float = Field(3.0, ge=0.0, le=1000.0)
    tx_power_dbm: float = Field(46.0, ge=-30.0, le=80.0)
    frequency_ghz: float = Field(3.5, ge=0.5, le=100.0)
    azimuths_deg: tuple[float, ...] = (0.0, 120.0, 240.0)
    downtilt_deg: float = Field(6.0, ge=-90.0, le=90.0)
    scenario: Literal["UMa", "UMi"] = "UMa"

    @field_validator("lonlat", mode="after")
    @classmethod
    def _lonlat(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        return check_lonlat(v, "lonlat")

    @model_validator(mode="after")
    def _one(self) -> _StationFields:
        if self.xy is not None and self.lonlat is not None:
            raise ValueError("give at most one of xy or lonlat")
        if self.xy is None and self.lonlat is None and self.on_roof is None:
            raise ValueError("give xy, lonlat or on_roof")
        if (self.height_m is None) == (self.on_roof is None):
            raise ValueError("give exactly one of height_m or on_roof")
        return self


class StationSpec(_StationFields):
    """One ``[[radio.stations]]`` entry."""


class AddStation(_StationFields):
    """A new base station (the fields of a ``[[radio.stations]]`` entry)."""

    kind: Literal["add_station"] = "add_station"


class RemoveStation(_Strict):
    """Take base stations (their ids) off the air."""

    kind: Literal["remove_station"] = "remove_station"
    stations: tuple[str, ...] = Field(min_length=1)


class SetStation(_Strict):
    """Change the power, height, downtilt or sector bearings of stations (at least one).

    On a rooftop station (``on_roof``) ``height_m`` sets its mast above the roof.
    """

    kind: Literal["set_station"] = "set_station"
    stations: tuple[str, ...] = Field(min_length=1)
    tx_power_dbm: float | None = Field(None, ge=-30.0, le=80.0)
    height_m: float | None = Field(None, gt=1.0, le=1000.0)
    downtilt_deg: float | None = Field(None, ge=-90.0, le=90.0)
    azimuths_deg: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _some(self) -> SetStation:
        if all(
            v is None
            for v in (self.tx_power_dbm, self.height_m, self.downtilt_deg, self.azimuths_deg)
        ):
            raise ValueError("give tx_power_dbm, height_m, downtilt_deg or azimuths_deg")
        return self


class RadioSection(_Strict):
    """``[radio]``: base stations and a coverage study (see the module docstring)."""

    stations: tuple[StationSpec, ...] = ()
    threshold_dbm: float = Field(-100.0, ge=-200.0, le=0.0)
    spacing_m: float = Field(10.0, gt=0.0, le=1000.0)
    indoor: bool = True
    o2i_model: Literal["low", "high"] = "low"
    target_pct: float = Field(95.0, gt=0.0, le=100.0)
    plan: bool = False
    candidates: int = Field(30, ge=1, le=10000)
    bounds: tuple[float, float, float, float] | None = None
    station_unit_cost: float = Field(DEFAULT_STATION_UNIT_COST, ge=0.0)
    currency: str = Field(DEFAULT_CURRENCY, min_length=1)

    @field_validator("bounds", mode="after")
    @classmethod
    def _bounds(cls, v: Bounds | None) -> Bounds | None:
        return check_bounds(v)

    @model_validator(mode="after")
    def _unique(self) -> RadioSection:
        ids = [s.id for s in self.stations]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"station id {dup[0]!r} is used twice")
        return self


def radio_section(scenario: Scenario) -> RadioSection:
    """The scenario's ``[radio]`` section (defaults when only interventions imply it)."""
    return scenario.radio or RadioSection()


def apply_stations(scenario: Scenario) -> tuple[tuple[StationSpec, ...], int]:
    """The scenario's stations after its station interventions (file order), and how many
    it added (for ``capex``). Pure: the scenario is not changed.

    Raises
    ------
    InputError
        An unknown station id, or an added id that is taken (naming the intervention's key).
    """
    stations = list(radio_section(scenario).stations)
    added = 0
    for i, item in enumerate(scenario.interventions):
        if not isinstance(item, AddStation | RemoveStation | SetStation):
            continue
        ids = [s.id for s in stations]
        if isinstance(item, AddStation):
            if item.id in ids:
                raise InputError(
                    f"{scenario.label}: key 'interventions[{i}].id': station id {item.id!r} "
                    "is already taken"
                )
            fields = item.model_dump(exclude={"kind"})
            stations.append(StationSpec(**fields))
            added += 1
            continue
        for name in item.stations:
            if name not in ids:
                known = ", ".join(ids) or "none"
                raise InputError(
                    f"{scenario.label}: key 'interventions[{i}].stations': unknown station "
                    f"{name!r} (stations: {known})"
                )
        if isinstance(item, RemoveStation):
            stations = [s for s in stations if s.id not in item.stations]
        else:
            change = {
                k: getattr(item, k)
                for k in ("tx_power_dbm", "height_m", "downtilt_deg", "azimuths_deg")
                if getattr(item, k) is not None
            }
            new = []
            for s in stations:
                if s.id in item.stations:
                    data = s.model_dump() | change
                    if s.on_roof is not None and "height_m" in change:
                        # a rooftop station keeps its roof: the height is its mast's
                        data["mast_m"], data["height_m"] = change["height_m"], None
                    s = StationSpec(**data)
                new.append(s)
            stations = new
    return tuple(stations), added


def _roofs(model: MassingModel) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(n, 2) roof centroid, (n,) roof height above ``ground_z`` and (n,) has-triangles.

    The roof of a prism is its flat top; a building without one at its highest point (an IFC
    model's pitched roof, :func:`~twin_app.scenarios.interventions.add_ifc`) is roofed by the
    triangles that reach that point: a mast stands on its ridge.
    """
    mesh = model.mesh
    n = model.n_buildings
    bidx = np.asarray(mesh.cell_data["building_index"], dtype=np.int64)
    tri = mesh.points[mesh.triangles]
    top = tri[:, :, 2].max(axis=1)
    zmax = np.full(n, -np.inf)
    np.maximum.at(zmax, bidx, top)
    cen = tri.mean(axis=1)
    flat = np.ptp(tri[:, :, 2], axis=1) < 1e-6
    at_top = np.abs(top - zmax[bidx]) < 1e-6
    roof = flat & at_top
    ridge = ~np.bincount(bidx[roof], minlength=n).astype(bool)
    roof |= at_top & ridge[bidx]
    cnt = np.bincount(bidx[roof], minlength=n).astype(float)
    sx = np.bincount(bidx[roof], weights=cen[roof, 0], minlength=n)
    sy = np.bincount(bidx[roof], weights=cen[roof, 1], minlength=n)
    present = cnt > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = np.column_stack([sx / cnt, sy / cnt])
    height = np.where(present, zmax - model.ground_z, np.nan)
    return xy, height, present


def base_stations(specs: tuple[StationSpec, ...], model: MassingModel, label: str) -> list[Any]:
    """:class:`~twin_app.engines.radio.BaseStation` of each spec, placed on `model`.

    Raises
    ------
    InputError
        ``on_roof`` names a building the model does not have (or has removed).
    """
    from twin_app.engines.radio import BaseStation
    from twin_app.scenarios.interventions import near_twin

    xy, height, present = _roofs(model)
    index = model.building_index()
    out = []
    for s in specs:
        if s.on_roof is not None:
            i = index.get(s.on_roof)
            if i is None or not present[i]:
                raise InputError(
                    f"{label}: key 'radio.stations.{s.id}.on_roof': no building {s.on_roof!r} "
                    "in the twin"
                )
            h = float(height[i]) + s.mast_m
            pos = xy[i]
        else:
            h = float(s.height_m or 0.0)
            pos = np.array([math.nan, math.nan])
        if s.xy is not None:
            pos = np.asarray(s.xy, dtype=float)
        elif s.lonlat is not None:
            pos = model.frame.lonlat_to_local(np.array([s.lonlat[0]]), np.array([s.lonlat[1]]))[
                0, :2
            ]
        if s.on_roof is None:
            try:
                near_twin(pos, "lonlat" if s.lonlat is not None else "xy", f"station {s.id!r}")
            except InputError as exc:
                raise InputError(f"{label}: key 'radio.stations.{s.id}': {exc}") from None
        out.append(
            BaseStation(
                x_m=float(pos[0]),
                y_m=float(pos[1]),
                height_m=h,
                tx_power_dbm=s.tx_power_dbm,
                frequency_ghz=s.frequency_ghz,
                azimuths_deg=s.azimuths_deg,
                downtilt_deg=s.downtilt_deg,
                scenario=s.scenario,
                ground_z_m=model.ground_z,
                name=s.id,
            )
        )
    return out


def radio_bounds(scenario: Scenario, model: MassingModel) -> Bounds:
    """The study area (xmin, ymin, xmax, ymax): ``[radio] bounds`` or the twin's buildings."""
    sec = radio_section(scenario)
    if sec.bounds is not None:
        return sec.bounds
    xmin, xmax, ymin, ymax, _, _ = model.mesh.bounds()
    return (xmin, ymin, xmax, ymax)


@dataclass(frozen=True, eq=False)
class RadioFloors:
    """Indoor best-server RSRP of every floor of the buildings in a study's area.

    Attributes
    ----------
    building
        (f,) building index of each floor (row of the model's ``building_ids``).
    floor
        (f,) floor number, 0 = ground floor.
    bottom_m, top_m
        (f,) the floor's bottom and ceiling, local z, m (:data:`FLOOR_HEIGHT_M` storeys from
        the ground; the top floor reaches the roof).
    rsrp_dbm
        (f,) best-server RSRP at the floor's receptor (1.5 m above its floor at the roof
        centroid), dBm; -inf where no station reaches.
    mesh
        The floors as slabs (:func:`twin_app.geometry.floors.floor_slabs`), cell array
        ``feature_index`` = the floor's row.
    """

    building: Any
    floor: Any
    bottom_m: FloatArray
    top_m: FloatArray
    rsrp_dbm: FloatArray
    mesh: Any

    @property
    def n_floors(self) -> int:
        """Number of floors."""
        return int(np.asarray(self.building).size)


@dataclass(frozen=True, eq=False)
class RadioStudy:
    """Best-server coverage of one set of stations on one massing model.

    Attributes
    ----------
    bounds
        Study area (xmin, ymin, xmax, ymax), local metres.
    street_rsrp
        (ny, nx) best-server RSRP at street level, dBm, row 0 north; NaN under roofs, -inf
        where no station reaches.
    transform
        Affine of the raster (x0, dx, 0, y0, 0, -dy), local metres.
    building_rsrp
        (n_buildings,) worst floor's best-server RSRP of each building in the area (the value
        that decides ``buildings_covered_pct``), dBm; NaN for buildings outside it or removed.
    kpis
        ``area_covered_pct``, ``buildings_covered_pct``, ``stations_needed_for_target``.
    stations
        The :class:`~twin_app.engines.radio.BaseStation` studied.
    placement
        The greedy :class:`~twin_app.engines.radio.Placement` (``plan = true``) or None.
    elapsed_s
        Wall time.
    floors
        Every floor's RSRP (:class:`RadioFloors`), None without indoor receptors.
    """

    bounds: Bounds
    street_rsrp: FloatArray
    transform: tuple[float, float, float, float, float, float]
    building_rsrp: FloatArray
    kpis: dict[str, float]
    stations: tuple[Any, ...]
    placement: Any
    elapsed_s: float
    floors: RadioFloors | None = None


def radio_study(
    model: MassingModel, stations: list[Any], sec: RadioSection, bounds: Bounds
) -> RadioStudy:
    """Street and indoor coverage of `stations` over `bounds` (see the module docstring).

    ``RSRP = P_tx + G_sector - PL_38.901(LOS by ray casting) - O2I - 10 log10(12 N_PRB)``
    per station and receptor; the best server's value counts
    (:func:`twin_app.engines.radio.coverage`).
    """
    import time

    from twin_app.engines import radio as rd
    from twin_app.geometry.raycast import Occluder

    t0 = time.perf_counter()
    mesh = model.mesh
    occ = Occluder(mesh.points, mesh.triangles) if mesh.n_triangles else None
    xmin, ymin, xmax, ymax = bounds
    pts, (ny, nx), outdoor = rd.street_receptors(
        occ, (xmin, xmax, ymin, ymax), sec.spacing_m, ground_z_m=model.ground_z
    )
    street = rd.coverage(stations, pts, occ, ground_z_m=model.ground_z)
    raster = np.where(outdoor, street.rsrp_dbm, np.nan).reshape(ny, nx)[::-1]
    xy, height, present = _roofs(model)
    inside = (
        present & (xy[:, 0] >= xmin) & (xy[:, 0] <= xmax) & (xy[:, 1] >= ymin) & (xy[:, 1] <= ymax)
    )
    rows = np.flatnonzero(inside)
    nb = model.n_buildings
    brsrp = np.full(nb, np.nan)
    floors = None
    if sec.indoor and rows.size:
        hb = np.maximum(height[rows], 1.5)
        ipts, ib, fl = rd.building_receptors(
            xy[rows], hb, ground_z_m=model.ground_z, floor_height_m=FLOOR_HEIGHT_M
        )
        ind = rd.coverage(
            stations, ipts, occ, indoor=True, o2i_model=sec.o2i_model, ground_z_m=model.ground_z
        )
        worst = np.full(rows.size, np.inf)
        np.minimum.at(worst, ib, ind.rsrp_dbm)
        brsrp[rows] = worst
        floors = _floors(model, rows, hb, ib, fl, ind.rsrp_dbm)
        k = rd.coverage_kpis(street, outdoor, ind, ib, rows.size, threshold_dbm=sec.threshold_dbm)
    else:
        cov = street.covered(sec.threshold_dbm)[outdoor]
        k = {
            "area_covered_pct": 100.0 * float(cov.mean()) if cov.size else math.nan,
            "buildings_covered_pct": math.nan,
        }
    placement = None
    needed = math.nan
    if sec.plan and rows.size:
        order = rows[np.argsort(-height[rows], kind="stable")][: sec.candidates]
        cand = np.column_stack([xy[order], model.ground_z + height[order]])
        template = stations[0] if stations else rd.BaseStation(0.0, 0.0, ground_z_m=model.ground_z)
        placement = rd.greedy_placement(
            stations,
            cand,
            template,
            pts[outdoor],
            occ,
            target_pct=sec.target_pct,
            threshold_dbm=sec.threshold_dbm,
            ground_z_m=model.ground_z,
        )
        needed = placement.stations_needed
    k["stations_needed_for_target"] = needed
    s = sec.spacing_m
    return RadioStudy(
        bounds=bounds,
        street_rsrp=raster,
        transform=(xmin, s, 0.0, ymin + ny * s, 0.0, -s),
        building_rsrp=brsrp,
        kpis=k,
        stations=tuple(stations),
        placement=placement,
        elapsed_s=time.perf_counter() - t0,
        floors=floors,
    )


def _floors(
    model: MassingModel, rows: Any, heights: FloatArray, ib: Any, floor: Any, rsrp: FloatArray
) -> RadioFloors:
    """The receptors' floors (`ib` indexes `rows`) with their bands and slab mesh."""
    from twin_app.geometry.floors import floor_slabs, outline_prisms

    ib = np.asarray(ib, np.int64)
    floor = np.asarray(floor, np.int64)
    n_floors = np.bincount(ib, minlength=rows.size)
    bottom = model.ground_z + floor * FLOOR_HEIGHT_M
    top = np.where(floor == n_floors[ib] - 1, model.ground_z + heights[ib], bottom + FLOOR_HEIGHT_M)
    building = np.asarray(rows, np.int64)[ib]
    # an IFC body's floors are slabs of its plan, not of its every stair and window
    bodies = np.intersect1d(np.asarray(model.bodies, np.int64), building)
    source = outline_prisms(model.mesh, bodies, model.ground_z) if bodies.size else model.mesh
    mesh = floor_slabs(source, building, bottom, top)
    return RadioFloors(building, floor, bottom, top, np.asarray(rsrp, np.float64), mesh)


def radio_kpis(
    base: RadioStudy, scen: RadioStudy, added: int, sec: RadioSection
) -> dict[str, tuple[float, float]]:
    """``{kpi: (baseline, scenario)}`` of :data:`RADIO_KPIS`; ``capex`` is 0 in the baseline
    and ``added * station_unit_cost`` in the scenario."""
    out = {n: (base.kpis[n], scen.kpis[n]) for n in list(RADIO_KPIS)[:3]}
    out["capex"] = (0.0, float(added) * sec.station_unit_cost)
    return out


def radio_key(scenario: Scenario, bounds: Bounds) -> str:
    """Cache key of a baseline study: the twin, the ``[radio]`` section and the area."""
    return f"{scenario.twin}|{radio_section(scenario).model_dump_json()}|{bounds}"


def scenario_stations(scenario: Scenario, model: MassingModel) -> tuple[list[Any], int]:
    """The scenario's :class:`~twin_app.engines.radio.BaseStation` on `model` and the count
    its interventions added."""
    specs, added = apply_stations(scenario)
    return base_stations(specs, model, scenario.label), added
