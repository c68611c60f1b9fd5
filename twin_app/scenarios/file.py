"""Scenario files: TOML, schema 1, validated with pydantic (DESIGN.md section 5).

A scenario file names the networks a scenario runs on and the interventions it makes::

    schema = 1
    name = "Close 10-16 for works"
    description = "optional text"
    twin = "../city_of_london"          # optional: a twin folder whose roads/pipes are used

    [traffic]                           # optional; road interventions need it or a twin
    network = "SiouxFalls_net.tntp"     # a TNTP *_net.tntp file, an OSM file, or omitted: the twin's roads
    demand = "SiouxFalls_trips.tntp"    # TNTP trips (needed with a TNTP network)
    relative_gap = 1e-5                 # stop the assignment at this relative gap
    max_iterations = 2000
    distance_weight = 0.0               # generalised cost, TNTP convention: time units per length unit
    toll_weight = 0.0
    time_unit_h = 0.01                  # hours per network time unit (default 1/60: minutes)
    length_unit_km = 1.609344           # km per network length unit (default: miles)

    [water]                             # optional; pipe interventions need it or a twin
    network = "d-town.inp"              # an EPANET file, or omitted: the twin's water network
    service_pressure_m = 20.0           # a junction below this ...
    service_duration_s = 3600.0         # ... for at least this long (in a row) is under-served
    duration_h = 24.0                   # simulated period
    timestep_s = 3600                   # report step

    [[interventions]]
    kind = "close_road"                 # links = [...]
    [[interventions]]
    kind = "set_capacity"               # links = [...], factor = 0.5 or capacity = 1200
    [[interventions]]
    kind = "set_speed"                  # links = [...], speed_kmh = 30 or factor = 0.5
    [[interventions]]
    kind = "add_link"                   # from = 3, to = 12, capacity = 1800, free_flow_time = 4
                                        # (or speed_kmh + length), b = 0.15, power = 4, toll = 0
    [[interventions]]
    kind = "close_pipe"                 # pipes = [...]: pipes or valves (or pumps)
    [[interventions]]
    kind = "leak"                       # pipe = "P1" or node = "J1", area_m2 = 0.01, start_h = 0
    [[interventions]]
    kind = "pump_outage"                # pumps = [...], start_h = 0, end_h = 6 (omitted: to the end)
    [[interventions]]
    kind = "set_demand"                 # junctions = [...] (empty: all), factor = 1.2

    [sun]                               # optional; massing interventions imply it
    date = 2026-03-21                   # the day studied (default the spring equinox, BRE 209)
    step_min = 10.0                     # sampling step of the day, minutes
    cell_m = 2.0                        # ground raster cell, metres
    bounds = [xmin, ymin, xmax, ymax]   # study area, twin's local metres (default: around
    buffer_m = 150.0                    # the changed buildings, buffered by buffer_m)
    facade_spacing_m = 3.0              # facade receptor spacing, metres

    [[interventions]]
    kind = "add_building"               # footprint = [[x, y], ...] (local metres) or
                                        # lonlat = [[lon, lat], ...]; height_m = 60 or
                                        # floors = 20 (storey_m = 3); id = "new/tower"
    [[interventions]]
    kind = "add_ifc"                    # ifc = "proposal.ifc": an IFC model's own body as a new
                                        # building; at = [lon, lat] and rotate_deg = 15 place it
                                        # (else the twin's manifest, else its georeference);
                                        # replaces = ["way/1"]: demolished for it
    [[interventions]]
    kind = "remove_building"            # buildings = ["way/123", ...]
    [[interventions]]
    kind = "set_height"                 # buildings = [...], height_m = 30

    [air]                               # optional; air interventions imply it
    pollutant = "pm25"                  # pm25 | pm10 | no2
    wind_speed_ms = 3.0                 # at 10 m
    wind_from_deg = 225.0               # direction the wind blows from, clockwise from north
    stability = "D"                     # Pasquill class A..F (A-B, B-C, C-D), or "auto":
    at = 2026-03-21T12:00:00Z           # from the sun's elevation at `at` and
    cloud_oktas = 4                     # the cloud cover (0..8)
    terrain = "urban"                   # urban | rural Briggs coefficients
    cell_m = 10.0                       # raster cell, metres
    background_ug_m3 = 0.0              # added everywhere
    limit_ug_m3 = 15.0                  # default: the WHO 2021 24-hour guideline
    bounds = [xmin, ymin, xmax, ymax]   # default: the twin's buildings' extent
    traffic_emissions = true            # roads as line sources from the assignment's flows
    [[air.sources]]                     # stacks: id, xy = [x, y] or lonlat = [lon, lat],
    id = "chp"                          # q_g_s, height_m (effective release height)
    xy = [0.0, 0.0]
    q_g_s = 1.0
    height_m = 30.0

    [[interventions]]
    kind = "add_source"                 # id, xy or lonlat, q_g_s, height_m
    [[interventions]]
    kind = "remove_source"              # sources = ["chp"]
    [[interventions]]
    kind = "set_source"                 # sources = [...], q_g_s and/or height_m
    [[interventions]]
    kind = "cut_traffic"                # links = [...], factor = 0.5 (emissions only)

    [patrol]                            # optional; patrol interventions imply it
    robots = 10                         # robots in the baseline fleet (charging ones included)
    depots = [[lon, lat], ...]          # default: the street node nearest the streets' centre
    speed_m_s = 1.2                     # patrol speed
    run_h = 8.0                         # hours of patrol per charge
    charge_h = 6.0                      # hours to recharge
    target_revisit_min = 60.0           # revisit target of robots_needed_for_target
    within_min = 60.0                   # street_coverage_pct: revisited within this (default: target)
    horizon_h = 24.0                    # simulated period
    streets = ["residential", ...]      # road classes patrolled (default: all but motorways, steps,
                                        # unbuilt roads)
    bounds = [xmin, ymin, xmax, ymax]   # only streets inside (twin's local metres)
    robot_unit_cost = 300000.0          # capex per robot added (whitepaper: 200,000-400,000 RMB)
    currency = "RMB"

    [[interventions]]
    kind = "add_robots"                 # count = 10, depot = [lon, lat] (optional)
    [[interventions]]
    kind = "remove_robots"              # count = 2
    [[interventions]]
    kind = "set_fleet"                  # speed_m_s, run_h, charge_h (any of them)
    [[interventions]]
    kind = "patrol_route"               # links = ["way/123", "way/456#2", ...]: one post

    [radio]                             # optional; station interventions imply it
    threshold_dbm = -100.0              # (see twin_app.scenarios.radio for every key)
    [[radio.stations]]                  # id, xy or lonlat, height_m or on_roof = "way/1", ...

    [[interventions]]
    kind = "add_station"                # the keys of a [[radio.stations]] entry
    [[interventions]]
    kind = "remove_station"             # stations = ["s1", ...]
    [[interventions]]
    kind = "set_station"                # stations = [...], tx_power_dbm / height_m /
                                        # downtilt_deg / azimuths_deg

Paths are relative to the scenario file; a loaded :class:`Scenario` holds them as absolute
paths, and :func:`save_scenario` writes them relative to the file it writes, so a saved
scenario still names the same files. Every bad file gives a one-line
:class:`~twin_app.errors.InputError` naming the file, the key (``interventions[1].links``) and
what is wrong: unknown keys, non-finite numbers, missing files. Ids of links and pipes are
checked against the networks when the scenario runs (:mod:`twin_app.scenarios.run`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from twin_app.errors import InputError
from twin_app.io.toml_model import (
    FileModel,
    RelativePath,
    check_lonlat,
    error_text,
    model_from_dict,
    norm_path,
    read_toml_file,
    validation_message,
    write_toml_file,
)
from twin_app.io.toml_model import StrictModel as _Strict
from twin_app.scenarios.radio import (
    DEFAULT_CURRENCY,
    RADIO_KINDS,
    AddStation,
    Bounds,
    RadioSection,
    RemoveStation,
    SetStation,
    check_bounds,
)

#: The schema version this code reads and writes.
SCHEMA_VERSION: Literal[1] = 1
#: Default hours per TNTP time unit (minutes, the most common TNTP time unit).
DEFAULT_TIME_UNIT_H = 1.0 / 60.0
#: Default km per TNTP length unit (miles, the most common TNTP length unit).
DEFAULT_LENGTH_UNIT_KM = 1.609344

#: Names of the road and the water interventions.
ROAD_KINDS = ("close_road", "set_capacity", "set_speed", "add_link")
WATER_KINDS = ("close_pipe", "leak", "pump_outage", "set_demand")
#: Names of the massing (buildings) interventions.
MASSING_KINDS = ("add_building", "add_ifc", "remove_building", "set_height")
#: Names of the air-quality interventions (:mod:`twin_app.scenarios.air`).
AIR_KINDS = ("add_source", "remove_source", "set_source", "cut_traffic")
#: Names of the patrol (robot fleet) interventions.
PATROL_KINDS = ("add_robots", "remove_robots", "set_fleet", "patrol_route")
#: Every intervention kind, in the KPI order of the parts (air, patrol, radio after sun).
ALL_KINDS = ROAD_KINDS + WATER_KINDS + MASSING_KINDS + AIR_KINDS + PATROL_KINDS + RADIO_KINDS
#: Default price of one street patrol robot package: the midpoint of the 200,000-400,000 RMB
#: the 5G smart-city whitepaper the project follows gives (issue 9, "Costs").
DEFAULT_ROBOT_UNIT_COST = 300_000.0
#: The default study date: the spring equinox, the date BRE 209 judges open spaces on.
DEFAULT_SUN_DATE = dt.date(2026, 3, 21)


def _ids(value: Any) -> Any:
    """Ids may be written as numbers (TNTP node numbers, EPANET ids): keep them as text."""
    if isinstance(value, list | tuple):
        return tuple(str(v) if isinstance(v, int | str) and not isinstance(v, bool) else v
                     for v in value)  # fmt: skip
    return value


def _id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


#: Element ids: text (numbers written without quotes are read as their text).
Ids = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_ids)]
IdText = Annotated[str, Field(min_length=1), BeforeValidator(_id)]


class TrafficSection(_Strict):
    """``[traffic]``: the road network, its demand and the assignment settings."""

    network: RelativePath | None = None
    demand: RelativePath | None = None
    relative_gap: float = Field(1e-5, gt=0.0, lt=1.0)
    max_iterations: int = Field(2000, ge=1)
    distance_weight: float = Field(0.0, ge=0.0)
    toll_weight: float = Field(0.0, ge=0.0)
    time_unit_h: float = Field(DEFAULT_TIME_UNIT_H, gt=0.0)
    length_unit_km: float = Field(DEFAULT_LENGTH_UNIT_KM, gt=0.0)

    @property
    def is_tntp(self) -> bool:
        """True when the network is a TNTP file."""
        return self.network is not None and self.network.name.lower().endswith(".tntp")


class WaterSection(_Strict):
    """``[water]``: the EPANET network and the hydraulic run settings."""

    network: RelativePath | None = None
    service_pressure_m: float = Field(20.0, ge=0.0)
    service_duration_s: float = Field(3600.0, ge=0.0)
    duration_h: float = Field(24.0, ge=0.0, le=24.0 * 366)
    timestep_s: int = Field(3600, gt=0)
    minimum_pressure_m: float = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _pressures(self) -> WaterSection:
        if self.minimum_pressure_m >= self.service_pressure_m:
            raise ValueError("minimum_pressure_m must be below service_pressure_m")
        if round(self.duration_h * 3600) % self.timestep_s:
            raise ValueError("duration_h must be a whole number of timestep_s steps")
        return self


class CloseRoad(_Strict):
    """Close road links: they carry no flow and no path uses them."""

    kind: Literal["close_road"] = "close_road"
    links: Ids = Field(min_length=1)


class SetCapacity(_Strict):
    """Multiply link capacities by ``factor`` or set them to ``capacity`` (vehicles per period)."""

    kind: Literal["set_capacity"] = "set_capacity"
    links: Ids = Field(min_length=1)
    factor: float | None = Field(None, gt=0.0)
    capacity: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _one(self) -> SetCapacity:
        if (self.factor is None) == (self.capacity is None):
            raise ValueError("give exactly one of factor or capacity")
        return self


class SetSpeed(_Strict):
    """Set the free-flow speed of links to ``speed_kmh`` or multiply it by ``factor``.

    Free-flow time ``t0 = length * length_unit_km / speed_kmh / time_unit_h``; with a factor,
    ``t0 / factor``.
    """

    kind: Literal["set_speed"] = "set_speed"
    links: Ids = Field(min_length=1)
    speed_kmh: float | None = Field(None, gt=0.0)
    factor: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _one(self) -> SetSpeed:
        if (self.factor is None) == (self.speed_kmh is None):
            raise ValueError("give exactly one of speed_kmh or factor")
        return self


class AddLink(_Strict):
    """A new directed link between two existing nodes, 1-based: the TNTP file's node numbers
    (for twin roads, the model's node numbers as ``links.csv`` gives them in ``from``/``to``).

    Give ``free_flow_time`` (network time units) or ``speed_kmh``; ``length`` is in network
    length units. BPR ``b`` and ``power`` default to the traditional 0.15 and 4.
    """

    kind: Literal["add_link"] = "add_link"
    from_node: int = Field(alias="from", ge=1)
    to_node: int = Field(alias="to", ge=1)
    capacity: float = Field(gt=0.0)
    free_flow_time: float | None = Field(None, gt=0.0)
    speed_kmh: float | None = Field(None, gt=0.0)
    length: float = Field(0.0, ge=0.0)
    b: float = Field(0.15, ge=0.0)
    power: float = Field(4.0, ge=0.0)
    toll: float = Field(0.0, ge=0.0)
    link_type: int = 1
    id: str | None = None

    @model_validator(mode="after")
    def _time(self) -> AddLink:
        if (self.free_flow_time is None) == (self.speed_kmh is None):
            raise ValueError("give exactly one of free_flow_time or speed_kmh (with length)")
        if self.speed_kmh is not None and self.length <= 0:
            raise ValueError("speed_kmh needs a positive length")
        if self.from_node == self.to_node:
            raise ValueError("from and to must differ")
        return self

    @property
    def link_id(self) -> str:
        """The id of the new link (``id`` or ``"from-to"``)."""
        return self.id or f"{self.from_node}-{self.to_node}"


class ClosePipe(_Strict):
    """Close pipes, valves or pumps for the whole run."""

    kind: Literal["close_pipe"] = "close_pipe"
    pipes: Ids = Field(min_length=1)


class LeakSpec(_Strict):
    """A break or leak: an orifice of ``area_m2`` at a junction or the middle of a pipe."""

    kind: Literal["leak"] = "leak"
    pipe: IdText | None = None
    node: IdText | None = None
    area_m2: float = Field(gt=0.0, le=100.0)
    start_h: float = Field(0.0, ge=0.0)
    discharge_coeff: float = Field(0.75, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _one(self) -> LeakSpec:
        if (self.pipe is None) == (self.node is None):
            raise ValueError("give exactly one of pipe or node")
        return self

    @property
    def element(self) -> str:
        """The pipe or junction id."""
        return str(self.pipe if self.pipe is not None else self.node)


class PumpOutageSpec(_Strict):
    """Pumps off from ``start_h`` to ``end_h`` (omitted: to the end of the run)."""

    kind: Literal["pump_outage"] = "pump_outage"
    pumps: Ids = Field(min_length=1)
    start_h: float = Field(0.0, ge=0.0)
    end_h: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _order(self) -> PumpOutageSpec:
        if self.end_h is not None and self.end_h <= self.start_h:
            raise ValueError("end_h must be after start_h")
        return self


class SetDemand(_Strict):
    """Multiply the base demands of ``junctions`` (empty: every junction) by ``factor``."""

    kind: Literal["set_demand"] = "set_demand"
    junctions: Ids = ()
    factor: float = Field(ge=0.0, le=1000.0)


class SunSection(_Strict):
    """``[sun]``: a sun-hours study of one day (:mod:`twin_app.engines.sunhours`).

    ``bounds`` (xmin, ymin, xmax, ymax in the twin's local metres) limit the study area;
    without them the study covers the bounding box of the buildings the interventions change,
    buffered by ``buffer_m``, or the whole twin when nothing changes.
    """

    date: dt.date = DEFAULT_SUN_DATE
    step_min: float = Field(10.0, gt=0.0, le=120.0)
    cell_m: float = Field(2.0, gt=0.0, le=100.0)
    bounds: tuple[float, float, float, float] | None = None
    buffer_m: float = Field(150.0, ge=0.0)
    facade_spacing_m: float = Field(3.0, gt=0.0, le=100.0)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        # a TOML date is a date; a datetime (or its text) is not a day
        if isinstance(v, dt.datetime):
            raise ValueError("give a date (2026-03-21), not a date and time")
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError("give a date as YYYY-MM-DD") from None
        return v

    @field_validator("bounds", mode="after")
    @classmethod
    def _bounds(cls, v: Bounds | None) -> Bounds | None:
        return check_bounds(v)


Ring = tuple[tuple[float, float], ...]


def _check_ring(ring: Ring | None) -> Ring | None:
    """At least 3 distinct corners and a simple (not self-intersecting) ring."""
    if ring is None:
        return None
    import shapely

    pts = list(ring)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]  # a closed ring: the last corner repeats the first
    if len(set(pts)) < 3:
        raise ValueError("a footprint needs at least 3 distinct corners")
    poly = shapely.Polygon(pts)
    if not poly.is_valid:
        raise ValueError(f"the footprint is not a simple polygon ({shapely.is_valid_reason(poly)})")
    if poly.area <= 0.0:
        raise ValueError("the footprint has no area")
    return tuple(pts)


class AddBuilding(_Strict):
    """A new LoD1 building: a footprint extruded from the ground to ``height_m``.

    The footprint is ``footprint`` (the twin's local metres, x east, y north) or ``lonlat``
    (WGS 84 degrees); the height ``height_m`` or ``floors * storey_m``. ``id`` names it
    (default ``new/K``, K its position among the scenario's added buildings).
    """

    kind: Literal["add_building"] = "add_building"
    footprint: Ring | None = None
    lonlat: Ring | None = None
    height_m: float | None = Field(None, gt=0.0, le=2000.0)
    floors: int | None = Field(None, ge=1, le=500)
    storey_m: float = Field(3.0, gt=0.0, le=20.0)
    id: IdText | None = None

    @field_validator("footprint", mode="after")
    @classmethod
    def _footprint(cls, v: Ring | None) -> Ring | None:
        return _check_ring(v)

    @field_validator("lonlat", mode="after")
    @classmethod
    def _lonlat(cls, v: Ring | None) -> Ring | None:
        if v is not None and not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in v):
            raise ValueError("lonlat corners must be [lon, lat] in degrees")
        return _check_ring(v)

    @model_validator(mode="after")
    def _one(self) -> AddBuilding:
        if (self.footprint is None) == (self.lonlat is None):
            raise ValueError("give exactly one of footprint or lonlat")
        if (self.height_m is None) == (self.floors is None):
            raise ValueError("give exactly one of height_m or floors")
        return self

    @property
    def height(self) -> float:
        """The building's height, metres."""
        return (
            self.height_m if self.height_m is not None else float(self.floors or 0) * self.storey_m
        )


class AddIfc(_Strict):
    """An IFC model (a BIM proposal) as a new building: its own triangles, not a prism.

    ``ifc`` is the file (relative to the scenario file). Placement: ``at`` (the model's origin
    as [lon, lat], WGS 84 degrees) and ``rotate_deg`` (its x axis, counter-clockwise from east)
    when given; else where the twin's manifest puts that file; else the file's own
    georeference (``IfcMapConversion`` or the site's reference point). ``id`` names it (default
    ``new/K``, as :class:`AddBuilding`); ``replaces`` lists the twin's buildings it stands in
    place of (demolished with it).
    """

    kind: Literal["add_ifc"] = "add_ifc"
    ifc: RelativePath
    at: tuple[float, float] | None = None
    rotate_deg: float = Field(0.0, ge=-360.0, le=360.0)
    id: IdText | None = None
    replaces: Ids = ()

    @field_validator("at", mode="after")
    @classmethod
    def _at(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        return check_lonlat(v, "at")

    @model_validator(mode="after")
    def _suffix(self) -> AddIfc:
        if self.ifc.suffix.lower() != ".ifc":
            raise ValueError(f"{self.ifc.name} is not an .ifc file")
        if self.at is None and self.rotate_deg != 0.0:
            raise ValueError("rotate_deg turns the model about at = [lon, lat]: give at too")
        return self


class RemoveBuilding(_Strict):
    """Demolish buildings of the twin (their ids, e.g. ``way/123``)."""

    kind: Literal["remove_building"] = "remove_building"
    buildings: Ids = Field(min_length=1)


class SetHeight(_Strict):
    """Re-extrude buildings of the twin (or added ones, by their ``id``) to ``height_m``."""

    kind: Literal["set_height"] = "set_height"
    buildings: Ids = Field(min_length=1)
    height_m: float = Field(gt=0.0, le=2000.0)


class AirSource(_Strict):
    """A point source (stack): ``xy`` (local metres) or ``lonlat``, rate and release height.

    ``height_m`` is the effective release height (stack height plus plume rise), metres.
    """

    id: IdText
    xy: tuple[float, float] | None = None
    lonlat: tuple[float, float] | None = None
    q_g_s: float = Field(ge=0.0, le=1e6)
    height_m: float = Field(0.0, ge=0.0, le=2000.0)

    @model_validator(mode="after")
    def _where(self) -> AirSource:
        if (self.xy is None) == (self.lonlat is None):
            raise ValueError("give exactly one of xy or lonlat")
        if self.lonlat is not None and not (
            -180 <= self.lonlat[0] <= 180 and -90 <= self.lonlat[1] <= 90
        ):
            raise ValueError("lonlat must be [lon, lat] in degrees")
        return self


class AirSection(_Strict):
    """``[air]``: a steady Gaussian plume run (:mod:`twin_app.engines.air`).

    ``stability = "auto"`` takes the Pasquill class from the wind, the sun's elevation at
    ``at`` (UTC) over the twin and ``cloud_oktas``; it needs ``at``. ``wind = "replay"`` takes
    the wind speed and direction at ``at`` from the twin's replayed weather
    (:mod:`twin_app.scenarios.air_wind`, station ``wind_station`` or the manifest's); it needs
    ``at``, and ``wind_speed_ms`` / ``wind_from_deg`` are then not used.
    """

    pollutant: Literal["pm25", "pm10", "no2"] = "pm25"
    wind: Literal["user", "replay"] = "user"
    wind_station: str | None = None
    wind_speed_ms: float = Field(3.0, ge=0.0, le=60.0)
    wind_from_deg: float = Field(225.0, ge=0.0, le=360.0)
    stability: Literal["A", "A-B", "B", "B-C", "C", "C-D", "D", "E", "F", "auto"] = "D"
    at: dt.datetime | None = None
    cloud_oktas: float = Field(4.0, ge=0.0, le=8.0)
    terrain: Literal["urban", "rural"] = "urban"
    cell_m: float = Field(10.0, gt=0.0, le=1000.0)
    background_ug_m3: float = Field(0.0, ge=0.0)
    limit_ug_m3: float | None = Field(None, gt=0.0)
    bounds: tuple[float, float, float, float] | None = None
    traffic_emissions: bool = True
    sources: tuple[AirSource, ...] = ()

    @field_validator("bounds", mode="after")
    @classmethod
    def _bounds(cls, v: Bounds | None) -> Bounds | None:
        return check_bounds(v)

    @model_validator(mode="after")
    def _auto(self) -> AirSection:
        if self.stability == "auto" and self.at is None:
            raise ValueError("stability = 'auto' needs `at` (a UTC date and time)")
        if self.wind == "replay" and self.at is None:
            raise ValueError("wind = 'replay' needs `at` (a UTC date and time)")
        if self.at is not None and self.at.tzinfo is None:
            object.__setattr__(self, "at", self.at.replace(tzinfo=dt.UTC))
        ids = [s.id for s in self.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("sources ids must be unique")
        return self


class AddSource(AirSource):
    """A new point source (stack); see :class:`AirSource`."""

    kind: Literal["add_source"] = "add_source"


class RemoveSource(_Strict):
    """Remove point sources by id."""

    kind: Literal["remove_source"] = "remove_source"
    sources: Ids = Field(min_length=1)


class SetSource(_Strict):
    """Change the emission rate and/or release height of point sources."""

    kind: Literal["set_source"] = "set_source"
    sources: Ids = Field(min_length=1)
    q_g_s: float | None = Field(None, ge=0.0, le=1e6)
    height_m: float | None = Field(None, ge=0.0, le=2000.0)

    @model_validator(mode="after")
    def _some(self) -> SetSource:
        if self.q_g_s is None and self.height_m is None:
            raise ValueError("give q_g_s and/or height_m")
        return self


class CutTraffic(_Strict):
    """Scale the road emissions of links by ``factor`` (the traffic is not re-solved)."""

    kind: Literal["cut_traffic"] = "cut_traffic"
    links: Ids = Field(min_length=1)
    factor: float = Field(ge=0.0, le=100.0)


LonLat = tuple[float, float]


def _check_lonlat(v: LonLat | None) -> LonLat | None:
    return check_lonlat(v, "a depot")


class PatrolSection(_Strict):
    """``[patrol]``: a fleet of street patrol robots (:mod:`twin_app.engines.patrol`).

    ``robots`` counts every robot, charging ones included; a patrol post takes
    ``ceil((run_h + charge_h) / run_h)`` robots to stay manned around the clock, so the street
    network's postman tour is split into ``robots // that`` routes. ``robot_unit_cost``
    defaults to 300,000 RMB, the midpoint of the 200,000-400,000 RMB per street patrol robot
    package of the 5G smart-city whitepaper the project follows.
    """

    robots: int = Field(10, ge=1, le=10_000)
    depots: tuple[LonLat, ...] | None = None
    speed_m_s: float = Field(1.2, gt=0.0, le=50.0)
    run_h: float = Field(8.0, gt=0.0, le=1000.0)
    charge_h: float = Field(6.0, ge=0.0, le=1000.0)
    target_revisit_min: float = Field(60.0, gt=0.0)
    within_min: float | None = Field(None, gt=0.0)
    horizon_h: float = Field(24.0, gt=0.0, le=24.0 * 31)
    streets: tuple[IdText, ...] | None = None
    bounds: tuple[float, float, float, float] | None = None
    robot_unit_cost: float = Field(DEFAULT_ROBOT_UNIT_COST, ge=0.0)
    currency: str = Field(DEFAULT_CURRENCY, min_length=1, max_length=16)

    @field_validator("depots", mode="after")
    @classmethod
    def _depots(cls, v: tuple[LonLat, ...] | None) -> tuple[LonLat, ...] | None:
        if v is not None:
            if not v:
                raise ValueError("give at least one depot, or leave depots out")
            for d in v:
                _check_lonlat(d)
        return v

    @field_validator("bounds", mode="after")
    @classmethod
    def _bounds(cls, v: Bounds | None) -> Bounds | None:
        return check_bounds(v)

    @property
    def coverage_min(self) -> float:
        """``within_min``, or the revisit target without it."""
        return self.within_min if self.within_min is not None else self.target_revisit_min


class AddRobots(_Strict):
    """Buy ``count`` more robots (kept at ``depot``, [lon, lat], when given)."""

    kind: Literal["add_robots"] = "add_robots"
    count: int = Field(ge=1, le=10_000)
    depot: LonLat | None = None

    @field_validator("depot", mode="after")
    @classmethod
    def _depot(cls, v: LonLat | None) -> LonLat | None:
        return _check_lonlat(v)


class RemoveRobots(_Strict):
    """Take ``count`` robots out of the fleet."""

    kind: Literal["remove_robots"] = "remove_robots"
    count: int = Field(ge=1, le=10_000)


class SetFleet(_Strict):
    """Change what a robot can do: patrol speed, hours per charge, hours to recharge."""

    kind: Literal["set_fleet"] = "set_fleet"
    speed_m_s: float | None = Field(None, gt=0.0, le=50.0)
    run_h: float | None = Field(None, gt=0.0, le=1000.0)
    charge_h: float | None = Field(None, ge=0.0, le=1000.0)

    @model_validator(mode="after")
    def _some(self) -> SetFleet:
        if self.speed_m_s is None and self.run_h is None and self.charge_h is None:
            raise ValueError("give at least one of speed_m_s, run_h or charge_h")
        return self


class PatrolRoute(_Strict):
    """A route drawn by hand through roads (``way/123``: all its edges; ``way/123#2``: one),
    in driving order; one patrol post, manned by robots of the fleet."""

    kind: Literal["patrol_route"] = "patrol_route"
    links: Ids = Field(min_length=1)


Intervention = Annotated[
    CloseRoad
    | SetCapacity
    | SetSpeed
    | AddLink
    | ClosePipe
    | LeakSpec
    | PumpOutageSpec
    | SetDemand
    | AddBuilding
    | AddIfc
    | RemoveBuilding
    | SetHeight
    | AddSource
    | RemoveSource
    | SetSource
    | CutTraffic
    | AddRobots
    | RemoveRobots
    | SetFleet
    | PatrolRoute
    | AddStation
    | RemoveStation
    | SetStation,
    Field(discriminator="kind"),
]


class Scenario(FileModel):
    """A scenario file's content (frozen). Paths are absolute (see the module docstring).

    ``file`` is where the scenario was read from (None when built in code); it is not part of
    the file and not compared: two scenarios are equal when they say the same thing about the
    same files.
    """

    schema_version: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    name: str = Field(min_length=1)
    description: str = ""
    twin: RelativePath | None = None
    traffic: TrafficSection | None = None
    water: WaterSection | None = None
    sun: SunSection | None = None
    air: AirSection | None = None
    patrol: PatrolSection | None = None
    radio: RadioSection | None = None
    interventions: tuple[Intervention, ...] = ()
    file: Path | None = Field(None, exclude=True, repr=False)

    @property
    def label(self) -> str:
        """The file for messages (or the name when built in code)."""
        return str(self.file) if self.file is not None else f"scenario {self.name!r}"

    def road_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the road kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in ROAD_KINDS]

    def water_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the water kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in WATER_KINDS]

    def massing_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the massing kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in MASSING_KINDS]

    @property
    def has_sun(self) -> bool:
        """A ``[sun]`` section or a massing intervention."""
        return self.sun is not None or bool(self.massing_interventions())

    def air_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the air kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in AIR_KINDS]

    @property
    def has_air(self) -> bool:
        """An ``[air]`` section or an air intervention."""
        return self.air is not None or bool(self.air_interventions())

    def patrol_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the patrol kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in PATROL_KINDS]

    @property
    def has_patrol(self) -> bool:
        """A ``[patrol]`` section or a patrol intervention."""
        return self.patrol is not None or bool(self.patrol_interventions())

    def radio_interventions(self) -> list[tuple[int, Any]]:
        """``(index in interventions, intervention)`` of the station kinds."""
        return [(i, v) for i, v in enumerate(self.interventions) if v.kind in RADIO_KINDS]

    @property
    def has_radio(self) -> bool:
        """A ``[radio]`` section or a station intervention."""
        return self.radio is not None or bool(self.radio_interventions())

    @property
    def has_traffic(self) -> bool:
        """A ``[traffic]`` section, a road intervention or ``[air] traffic_emissions``."""
        return (
            self.traffic is not None
            or bool(self.road_interventions())
            or (self.has_air and (self.air is None or self.air.traffic_emissions))
        )

    @property
    def has_water(self) -> bool:
        """A ``[water]`` section or a water intervention."""
        return self.water is not None or bool(self.water_interventions())


def _loc_text(loc: tuple[int | str, ...]) -> str:
    """``('interventions', 1, 'close_road', 'links', 0)`` -> ``interventions[1].links[0]``."""
    out = ""
    prev: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif prev is not None and isinstance(prev, int) and part in ALL_KINDS:
            pass  # the union member pydantic tried: not a key of the file
        else:
            out += ("." if out else "") + ("schema" if part == "schema_version" else part)
        prev = part
    return out or "(top level)"


def _what(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "union_tag_not_found":
        return f"'kind' missing; one of {', '.join(ALL_KINDS)}"
    if kind == "union_tag_invalid":
        import difflib

        tag = str(err.get("ctx", {}).get("tag", ""))
        near = difflib.get_close_matches(tag, ALL_KINDS, n=1, cutoff=0.75)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return f"unknown kind {tag!r}; {hint}one of {', '.join(ALL_KINDS)}"
    if kind == "too_short":
        return "must not be empty"
    return error_text(err, "scenario", SCHEMA_VERSION)


def _validation_message(label: str, exc: ValidationError) -> str:
    return validation_message(label, exc, exc.errors()[0], _loc_text, _what, count_others=True)


def scenario_from_dict(
    data: Mapping[str, Any], base_dir: Path | str | None = None, file: Path | None = None
) -> Scenario:
    """Validate a scenario given as a mapping (the parsed TOML).

    Parameters and errors: :func:`~twin_app.io.toml_model.model_from_dict`.
    """
    return model_from_dict(Scenario, data, base_dir, file, "scenario", _validation_message)


def check_files(scenario: Scenario) -> None:
    """Raise a one-line :class:`InputError` for the first referenced file that is missing."""
    label = scenario.label
    keys: list[tuple[str, Path | None, bool]] = [("twin", scenario.twin, True)]
    if scenario.traffic is not None:
        keys += [
            ("traffic.network", scenario.traffic.network, False),
            ("traffic.demand", scenario.traffic.demand, False),
        ]
    if scenario.water is not None:
        keys.append(("water.network", scenario.water.network, False))
    keys += [
        (f"interventions[{i}].ifc", v.ifc, False)
        for i, v in enumerate(scenario.interventions)
        if isinstance(v, AddIfc)
    ]
    for key, path, folder in keys:
        if path is None:
            continue
        if folder and not path.is_dir():
            raise InputError(f"{label}: key {key!r}: {path} is not a folder (a twin folder)")
        if not folder and not path.is_file():
            raise InputError(
                f"{label}: key {key!r}: {path} does not exist (paths are relative to the "
                "scenario file)"
            )


def load_scenario(path: Path | str, check: bool = True) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        The ``.toml`` file.
    check
        Also check that every file it names exists (:func:`check_files`).

    Raises
    ------
    InputError
        The file cannot be read, is not TOML, breaks the schema, or names a missing file;
        one line naming the file and the key.
    """
    p, data = read_toml_file(path, "scenario")
    scenario = scenario_from_dict(data, file=p)
    if check:
        check_files(scenario)
    return scenario


def scenario_to_dict(scenario: Scenario, folder: Path | str) -> dict[str, Any]:
    """The TOML content of a scenario, paths relative to ``folder`` (None values left out)."""
    folder = norm_path(folder)

    def rel(p: Any) -> Any:
        if isinstance(p, Path):
            return Path(os.path.relpath(p, folder)).as_posix()
        return p

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(rel(v)) for k, v in obj.items() if v is not None}
        if isinstance(obj, list | tuple):
            return [clean(rel(v)) for v in obj]
        if isinstance(obj, float) and not math.isfinite(obj):  # cannot happen: validated
            raise InputError(f"{scenario.label}: a non-finite number cannot be saved")
        return rel(obj)

    data = scenario.model_dump(by_alias=True, mode="python")
    out: dict[str, Any] = clean(data)
    # schema first: a reader sees the version before anything else
    return {"schema": out.pop("schema"), **out}


def save_scenario(scenario: Scenario, path: Path | str) -> Scenario:
    """Write a scenario file atomically (temporary file, fsync, ``os.replace``).

    Paths are written relative to the new file's folder. Returns the scenario as it now
    reads from ``path`` (equal to ``scenario``: ``load_scenario(path) == scenario``).

    Raises
    ------
    SessionFileError
        The file cannot be written (the previous file is unchanged).
    """
    p = write_toml_file(path, lambda folder: scenario_to_dict(scenario, folder))
    return scenario.model_copy(update={"file": p})
