"""Run a scenario: baseline and scenario side by side, with KPIs and per-element tables.

:func:`run_scenario` builds the baseline snapshots from the scenario's networks, applies the
interventions (pure functions, :mod:`twin_app.scenarios.interventions`), runs the engines on
both and fills a :class:`~twin_app.scenarios.model.ScenarioResult`:

Traffic (:func:`twin_app.engines.traffic.assign`, user equilibrium to the file's relative gap):
the baseline cold, then the scenario warm-started from the baseline flows. KPIs
``tstt_veh_h, vkt_km, mean_speed_kmh, relative_gap, delay_veh_h, od_pairs_disconnected,
links_over_capacity`` (:func:`twin_app.engines.traffic.kpis`). The links table has ``id, from,
to, flow_baseline, flow_scenario, flow_delta, vc_baseline, vc_scenario, time_baseline,
time_scenario, segment_row``: flows in vehicles per demand period, ``vc = flow / capacity``
(each run's own capacity), times in minutes (NaN on closed links and, for the baseline, on
links the scenario adds; their baseline flow is 0), ``from``/``to`` the 1-based node numbers.

Water (:func:`twin_app.engines.water.simulate`, EPANET 2.2 pressure-driven): KPIs
``min_pressure_m, junctions_below_service_pressure, demand_not_served_m3,
customers_affected``. The nodes table has one row per junction of the baseline network: ``id,
min_pressure_baseline, min_pressure_scenario, min_pressure_delta`` (m, lowest over the run)
and ``demand_served_baseline, demand_served_scenario`` (m³ delivered over the run,
``sum_k q_k (t_{k+1} - t_k)`` as in :func:`twin_app.engines.water.kpis_of`).

Sun (:mod:`twin_app.scenarios.massing`, when the scenario has a ``[sun]`` section or a massing
intervention): the twin's buildings as one LoD1 mesh, the massing interventions applied, and
one day's sun-hours study of each over the study area; KPIs ``sun_hours_lost_public_m2h`` (m2
h), ``buildings_losing_1h_sun`` and ``shadow_area_noon_m2`` (m2)
(:func:`twin_app.scenarios.massing.sun_kpis`). ``extra`` keeps ``sun_hours_baseline`` and
``sun_hours_scenario`` (ground rasters, row 0 north, NaN under roofs), ``sun_transform``
(their affine), ``sun_bounds``, ``sun_baseline`` / ``sun_scenario``
(:class:`~twin_app.scenarios.massing.SunStudy`) and ``massing_baseline`` /
``massing_scenario`` (:class:`~twin_app.scenarios.model.MassingModel`, their meshes).

Air (:mod:`twin_app.scenarios.air`, when the scenario has an ``[air]`` section or an air
intervention): a Gaussian plume run of the baseline (stacks of ``[[air.sources]]``, roads from
the baseline flows) and of the scenario (source kinds applied, roads from the scenario flows
scaled by ``cut_traffic``); KPIs ``area_over_limit_m2``, ``population_over_limit``,
``max_concentration_ug_m3`` and ``mean_concentration_ug_m3``
(:func:`twin_app.engines.air.kpis_of`).

Patrol (:mod:`twin_app.scenarios.patrol`, when the scenario has a ``[patrol]`` section or a
patrol intervention): the twin's streets, their postman tour (once per baseline,
:meth:`Baselines.patrol_tour`), the baseline fleet's and the scenario fleet's routes; KPIs
``street_coverage_pct`` (%), ``worst_revisit_min``, ``mean_response_min`` (min),
``robots_needed_for_target`` (robots) and ``capex`` (the ``[patrol] currency``). ``extra``
keeps ``patrol_routes_baseline`` / ``patrol_routes_scenario`` (per route ``edges``, ``xy``,
``length_m``), ``patrol_positions_baseline`` / ``patrol_positions_scenario`` (``times_s``
every minute over the horizon, ``xy`` (t, post, 2), ``running`` (t, post)),
``patrol_baseline`` / ``patrol_scenario`` (:class:`~twin_app.scenarios.patrol.PatrolPlan`),
``patrol_streets``, ``patrol_tour`` and ``patrol_tour_cached``.

Radio (:mod:`twin_app.scenarios.radio`, when the scenario has a ``[radio]`` section or a
station intervention): the stations placed on the same building mesh (massing interventions
applied, so they change line of sight), best-server RSRP at street level and on every floor of
the buildings in the area, for the baseline stations and the scenario's; KPIs
``area_covered_pct``, ``buildings_covered_pct`` (%), ``stations_needed_for_target`` (NaN
without ``plan = true``) and ``capex`` (in the section's currency).
``extra`` keeps every floor's RSRP (``radio_floors_baseline`` / ``radio_floors_scenario``,
:class:`~twin_app.scenarios.radio.RadioFloors`) beside each building's worst floor.

The same file gives the same numbers: both engines are deterministic and nothing depends on
the clock or on dictionary order.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.engines.traffic import AssignmentResult
from twin_app.engines.water import KPI_UNITS as WATER_UNITS
from twin_app.errors import Cancelled, InputError
from twin_app.io.source import reading_with
from twin_app.io.tntp import TntpDemand, TntpNetwork
from twin_app.scenarios.air import (
    AIR_KPIS,
    AirTwin,
    air_bounds,
    air_key,
    air_run,
    apply_air,
    baseline_air_twin,
    link_factors,
    met_conditions,
    road_lines,
    section_sources,
)
from twin_app.scenarios.file import DEFAULT_LENGTH_UNIT_KM, DEFAULT_TIME_UNIT_H, Scenario
from twin_app.scenarios.interventions import (
    TRAFFIC_INTERVENTIONS,
    WATER_INTERVENTIONS,
    UnknownElementError,
    suggest,
)
from twin_app.scenarios.massing import (
    SUN_KPIS,
    Bounds,
    SunStudy,
    apply_massing,
    baseline_massing_model,
    study_bounds,
    sun_key,
    sun_kpis,
    sun_study,
)
from twin_app.scenarios.model import (
    Kpi,
    MassingModel,
    ScenarioResult,
    TrafficModel,
    WaterModel,
)
from twin_app.scenarios.radio import (
    RADIO_KPIS,
    RadioStudy,
    radio_bounds,
    radio_key,
    radio_kpis,
    radio_section,
    radio_study,
    scenario_stations,
)

#: ``progress(fraction 0..1, message)``, as in :mod:`twin_app.io.load`.
Progress = Callable[[float, str], None]
#: Answers True when the user asked to stop.
CancelCheck = Callable[[], bool]

#: Traffic KPIs in the order they are shown.
TRAFFIC_KPIS = (
    "tstt_veh_h",
    "vkt_km",
    "mean_speed_kmh",
    "relative_gap",
    "delay_veh_h",
    "od_pairs_disconnected",
    "links_over_capacity",
)
#: Water KPIs in the order they are shown, with their units.
WATER_KPIS = {
    name: WATER_UNITS[name]
    for name in (
        "min_pressure_m",
        "junctions_below_service_pressure",
        "demand_not_served_m3",
        "customers_affected",
    )
}
#: Columns of the links table (and of ``links.csv``).
LINK_COLUMNS = (
    "id",
    "from",
    "to",
    "flow_baseline",
    "flow_scenario",
    "flow_delta",
    "vc_baseline",
    "vc_scenario",
    "time_baseline",
    "time_scenario",
)
#: Columns of the nodes table (and of ``nodes.csv``).
NODE_COLUMNS = (
    "id",
    "min_pressure_baseline",
    "min_pressure_scenario",
    "min_pressure_delta",
    "demand_served_baseline",
    "demand_served_scenario",
)


def traffic_model_from_tntp(
    network: TntpNetwork,
    demand: TntpDemand,
    time_unit_h: float = DEFAULT_TIME_UNIT_H,
    length_unit_km: float = DEFAULT_LENGTH_UNIT_KM,
    description: str = "",
) -> TrafficModel:
    """A :class:`TrafficModel` of a TNTP network: link ids ``"from-to"`` (file numbers).

    Parameters
    ----------
    network, demand
        From :func:`twin_app.io.tntp.read_net` and :func:`~twin_app.io.tntp.read_trips`.
    time_unit_h, length_unit_km
        Hours per file time unit and km per file length unit (TNTP files do not say; Sioux
        Falls: 0.01 h; Anaheim: minutes, feet = 0.0003048 km).
    """
    ids = np.char.add(
        np.char.add((network.init_node + 1).astype(str), "-"), (network.term_node + 1).astype(str)
    ).astype(object)
    n = network.n_links
    return TrafficModel(
        network=network,
        demand=demand,
        link_ids=ids,
        segment_row=np.full(n, -1, dtype=np.int64),
        closed=np.zeros(n, dtype=bool),
        node_xy=np.full((network.n_nodes, 2), np.nan),
        time_unit_h=float(time_unit_h),
        length_unit_km=float(length_unit_km),
        description=description or f"TNTP network {network.source} with demand {demand.source}",
    )


def baseline_traffic_model(scenario: Scenario) -> TrafficModel:
    """The scenario's road network and demand, before any intervention.

    A TNTP ``network`` is read with its ``demand``; an OSM file or no network at all uses the
    twin's roads through :mod:`twin_app.scenarios.twin_traffic`.

    Raises
    ------
    InputError
        No network and no twin, a TNTP network without demand, or a file that cannot be read.
    """
    from twin_app.io.tntp import read_net, read_trips

    label = scenario.label
    t = scenario.traffic
    if t is not None and t.network is not None and t.is_tntp:
        if t.demand is None:
            raise InputError(
                f"{label}: key 'traffic.demand': a TNTP network needs a TNTP trips file"
            )
        net = read_net(t.network)
        trips = read_trips(t.demand)
        if trips.n_zones != net.n_zones:
            raise InputError(
                f"{label}: key 'traffic.demand': {t.demand} has {trips.n_zones} zones, the "
                f"network {t.network} has {net.n_zones}"
            )
        return traffic_model_from_tntp(net, trips, t.time_unit_h, t.length_unit_km)
    try:
        twin_traffic = importlib.import_module("twin_app.scenarios.twin_traffic")
    except ModuleNotFoundError as exc:
        if exc.name != "twin_app.scenarios.twin_traffic":
            raise
        raise InputError(
            f"{label}: roads of a twin or an OSM file cannot be assigned yet (the twin road "
            "model is not installed); use a TNTP network in [traffic]"
        ) from None
    if t is not None and t.network is not None:
        if t.demand is not None:
            raise InputError(
                f"{label}: key 'traffic.demand': an OSM road network takes its demand from "
                "its buildings (the gravity model of twin_app/scenarios/twin_traffic.py); "
                "leave demand out"
            )
        return _osm_traffic_model(twin_traffic, t.network, label)
    if scenario.twin is None:
        raise InputError(
            f"{label}: key 'traffic.network': no road network (give a TNTP file, or a 'twin' "
            "folder whose roads are used)"
        )
    twin_model: TrafficModel = twin_traffic.traffic_model_for_twin(scenario.twin)
    return twin_model


def _osm_traffic_model(twin_traffic: Any, path: Path, label: str) -> TrafficModel:
    """The twin road model of a bare OSM file: its roads and, for demand, its buildings."""
    from twin_app.io.load import load_city

    sets = load_city([path]).city.sets
    roads = [x for x in sets if x.kind == "roads" and x.lines is not None]
    buildings = [x for x in sets if x.kind == "buildings"]
    if not roads or not buildings:
        raise InputError(
            f"{label}: key 'traffic.network': {path} has no "
            f"{'roads' if not roads else 'buildings'} to build a traffic model from"
        )
    model: TrafficModel = twin_traffic.traffic_model_from_sets(
        roads[0], max(buildings, key=lambda x: x.n_features), source=path.name
    )
    return model


def twin_water_network(twin: Path, label: str) -> Path:
    """The ``.inp`` file of a twin: its manifest's ``kind = "pipes"`` series."""
    from twin_app.io.manifest import read_manifest

    manifest = read_manifest(twin)
    for s in manifest.series:
        if s.kind == "pipes":
            return manifest.folder / s.path
    raise InputError(
        f"{label}: key 'water.network': the twin {twin} has no water network (no series of "
        "kind 'pipes' in its manifest)"
    )


def baseline_water_model(scenario: Scenario) -> WaterModel:
    """The scenario's water network file with no changes."""
    from twin_app.engines.water import WaterChanges

    w = scenario.water
    if w is not None and w.network is not None:
        return WaterModel(inp_path=w.network, changes=WaterChanges())
    if scenario.twin is None:
        raise InputError(
            f"{scenario.label}: key 'water.network': no water network (give an .inp file, or "
            "a 'twin' folder whose water network is used)"
        )
    return WaterModel(
        inp_path=twin_water_network(scenario.twin, scenario.label), changes=WaterChanges()
    )


def apply_traffic(scenario: Scenario, model: TrafficModel) -> TrafficModel:
    """The scenario's road interventions applied in file order (the input is not changed)."""
    for i, item in scenario.road_interventions():
        try:
            model = TRAFFIC_INTERVENTIONS[item.kind](model, item)
        except UnknownElementError as exc:
            raise InputError(
                f"{scenario.label}: key 'interventions[{i}].{exc.key}': {exc}"
            ) from None
    return model


def check_water_ids(scenario: Scenario, result: Any) -> None:
    """Every element a water intervention names exists in the network (as a baseline
    :class:`~twin_app.engines.water.WaterResult` lists them) and is of the right type."""
    links = [str(v) for v in result.link_ids]
    link_type = dict(zip(links, (str(v) for v in result.link_types), strict=True))
    junctions = [str(n) for n, k in zip(result.node_ids, result.node_types, strict=True)
                 if k == "junction"]  # fmt: skip
    junction_set = set(junctions)
    pumps = [k for k, v in link_type.items() if v == "pump"]
    pipes = [k for k, v in link_type.items() if v == "pipe"]

    def fail(i: int, key: str, msg: str) -> None:
        raise InputError(f"{scenario.label}: key 'interventions[{i}].{key}': {msg}")

    for i, item in scenario.water_interventions():
        if item.kind == "close_pipe":
            for name in item.pipes:
                if name not in link_type:
                    fail(i, "pipes", suggest(name, links, "link"))
        elif item.kind == "leak":
            if item.pipe is not None and item.pipe not in pipes:
                fail(i, "pipe", suggest(item.pipe, pipes, "pipe"))
            if item.node is not None and item.node not in junction_set:
                fail(i, "node", suggest(item.node, junctions, "junction"))
        elif item.kind == "pump_outage":
            for name in item.pumps:
                if link_type.get(name) != "pump":
                    fail(i, "pumps", suggest(name, pumps, "pump"))
        elif item.kind == "set_demand":
            for name in item.junctions:
                if name not in junction_set:
                    fail(i, "junctions", suggest(name, junctions, "junction"))


def apply_water(scenario: Scenario, model: WaterModel) -> WaterModel:
    """The scenario's water interventions composed in file order (the input is not changed)."""
    for _, item in scenario.water_interventions():
        model = WATER_INTERVENTIONS[item.kind](model, item)
    return model


def padded_warm_start(base: AssignmentResult, n_links: int) -> AssignmentResult:
    """The baseline flows for a network with links appended (no flow on the new ones)."""
    if base.flow.shape[0] == n_links:
        return base
    extra = n_links - base.flow.shape[0]
    pad = np.zeros(extra)
    nan = np.full(extra, np.nan)
    return dataclasses.replace(
        base,
        flow=np.concatenate([base.flow, pad]),
        time=np.concatenate([base.time, nan]),
        cost=np.concatenate([base.cost, nan]),
        closed=None,
        state=None,
    )


def assign_model(
    model: TrafficModel,
    scenario: Scenario,
    warm_start: AssignmentResult | None = None,
    progress: Callable[[float], None] | None = None,
    cancelled: CancelCheck | None = None,
) -> AssignmentResult:
    """User equilibrium on a snapshot with the scenario's assignment settings."""
    from twin_app.engines.traffic import assign

    t = scenario.traffic
    return assign(
        model.network,
        model.demand,
        relative_gap=t.relative_gap if t else 1e-5,
        max_iterations=t.max_iterations if t else 2000,
        distance_weight=t.distance_weight if t else 0.0,
        toll_weight=t.toll_weight if t else 0.0,
        closed=model.closed,
        warm_start=None
        if warm_start is None
        else padded_warm_start(warm_start, model.network.n_links),
        progress=progress,
        cancelled=cancelled,
    )


def stranded_trips_warning(base: AssignmentResult, scen: AssignmentResult, total: float) -> str:
    """One line when the scenario assigns the trips of other OD pairs than the baseline (a
    closure cut pairs off every route, or a change joined them up), else ``""``.

    Unassigned trips travel no time and no distance, so the totals then compare different
    sets of trips (:data:`twin_app.session.scenario.TRIP_TOTALS` are not judged).
    """
    dn = scen.od_pairs_disconnected - base.od_pairs_disconnected
    if dn == 0:
        return ""
    dq = scen.demand_disconnected - base.demand_disconnected
    share = f", {100.0 * abs(dq) / total:.2g}% of all trips" if total > 0 else ""
    if dn > 0:
        what = (
            f"the scenario cuts {dn} OD pairs off every route ({dq:,.0f} trips{share}); they are "
            "not assigned"
        )
    else:
        what = (
            f"the scenario joins up {-dn} OD pairs the baseline could not route ({-dq:,.0f} "
            f"trips{share}); they are assigned"
        )
    return (
        f"traffic: {what}, so travel time, distance, delay, speed and links over capacity count "
        "different trips in baseline and scenario and are not judged better or worse"
    )


def traffic_kpis(model: TrafficModel, result: AssignmentResult) -> dict[str, tuple[float, str]]:
    """The named traffic KPIs of one run (:func:`twin_app.engines.traffic.kpis`)."""
    from twin_app.engines.traffic import kpis

    return kpis(model.network, result, model.time_unit_h, model.length_unit_km)


def links_table(
    base_model: TrafficModel,
    base: AssignmentResult,
    scen_model: TrafficModel,
    scen: AssignmentResult,
) -> pd.DataFrame:
    """One row per link of the scenario network (see the module docstring for the columns)."""
    n_base = base_model.network.n_links
    n = scen_model.network.n_links
    net = scen_model.network
    minutes = scen_model.time_unit_h * 60.0

    def pad(a: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([np.asarray(a, np.float64), np.full(n - n_base, fill)])

    flow_b = pad(base.flow, 0.0)
    vc_b = pad(base.flow / base_model.network.capacity, np.nan)
    time_b = pad(base.time, np.nan) * base_model.time_unit_h * 60.0
    return pd.DataFrame(
        {
            "id": scen_model.link_ids.astype(str),
            "from": net.init_node + 1,
            "to": net.term_node + 1,
            "flow_baseline": flow_b,
            "flow_scenario": np.asarray(scen.flow, np.float64),
            "flow_delta": np.asarray(scen.flow, np.float64) - flow_b,
            "vc_baseline": vc_b,
            "vc_scenario": scen.flow / net.capacity,
            "time_baseline": time_b,
            "time_scenario": np.asarray(scen.time, np.float64) * minutes,
            "segment_row": scen_model.segment_row,
        }
    )


def _served_m3(result: Any) -> np.ndarray:
    dt = np.append(np.diff(result.elapsed_s), 0).astype(np.float64)
    return np.asarray((result.demand_m3s.astype(np.float64) * dt[:, None]).sum(axis=0))


def nodes_table(base: Any, scen: Any) -> pd.DataFrame:
    """One row per junction of the baseline network (see the module docstring)."""
    junction = np.asarray(base.node_types == "junction")
    ids = [str(v) for v in base.node_ids[junction]]
    cols = np.asarray([scen.node_index(i) for i in ids], dtype=np.int64)
    pmin_b = base.pressure_m[:, junction].astype(np.float64).min(axis=0)
    pmin_s = scen.pressure_m[:, cols].astype(np.float64).min(axis=0)
    return pd.DataFrame(
        {
            "id": ids,
            "min_pressure_baseline": pmin_b,
            "min_pressure_scenario": pmin_s,
            "min_pressure_delta": pmin_s - pmin_b,
            "demand_served_baseline": _served_m3(base)[junction],
            "demand_served_scenario": _served_m3(scen)[cols],
        }
    )


def pipes_table(base: Any, scen: Any) -> pd.DataFrame:
    """Link flows (m³/s) of both runs at the scenario's step of lowest junction pressure."""
    junction = np.asarray(scen.node_types == "junction")
    step = int(np.argmin(scen.pressure_m[:, junction].min(axis=1))) if junction.any() else 0
    ids = [str(v) for v in base.link_ids]
    cols = np.asarray([scen.link_index(i) for i in ids], dtype=np.int64)
    fb = base.flow_m3s[min(step, base.flow_m3s.shape[0] - 1)].astype(np.float64)
    fs = scen.flow_m3s[step, cols].astype(np.float64)
    return pd.DataFrame(
        {"id": ids, "flow_baseline": fb, "flow_scenario": fs, "flow_delta": fs - fb}
    )


def water_kpis(result: Any) -> dict[str, float]:
    """The named water KPIs of one run (:attr:`WaterResult.kpis`, see
    :func:`twin_app.engines.water.kpis_of` for the definitions)."""
    return {name: float(result.kpis[name]) for name in WATER_KPIS}


def simulate_model(
    model: WaterModel, scenario: Scenario, cancelled: CancelCheck | None = None
) -> Any:
    """EPANET 2.2 hydraulics of a snapshot with the scenario's run settings."""
    from twin_app.engines.water import simulate

    if cancelled is not None and cancelled():
        raise Cancelled(f"{scenario.label}: cancelled")
    w = scenario.water
    duration_h = w.duration_h if w else 24.0
    timestep_s = w.timestep_s if w else 3600
    service = w.service_pressure_m if w else 20.0
    return simulate(
        model.inp_path,
        duration_h=duration_h,
        timestep_s=timestep_s,
        minimum_pressure_m=w.minimum_pressure_m if w else 0.0,
        required_pressure_m=service,
        changes=model.changes,
        service_pressure_m=service,
        service_duration_s=w.service_duration_s if w else 3600.0,
    )


def _kpi_rows(base: dict[str, tuple[float, str]], scen: dict[str, tuple[float, str]],
              names: tuple[str, ...]) -> list[Kpi]:  # fmt: skip
    return [Kpi(n, float(base[n][0]), float(scen[n][0]), base[n][1]) for n in names]


class Baselines:
    """Where :func:`run_scenario` gets its baselines: solved afresh on every call.

    :class:`BaselineCache` keeps them instead (the app's session holds one), so a second
    scenario over the same twin and settings only solves the scenario.
    """

    def traffic(
        self,
        scenario: Scenario,
        progress: Callable[[float], None] | None = None,
        cancelled: CancelCheck | None = None,
    ) -> tuple[TrafficModel, AssignmentResult, bool]:
        """The baseline model and its user equilibrium; the flag is True when it was cached."""
        model = baseline_traffic_model(scenario)
        return model, assign_model(model, scenario, None, progress, cancelled), False

    def water(
        self, scenario: Scenario, cancelled: CancelCheck | None = None
    ) -> tuple[WaterModel, Any, bool]:
        """The baseline water model and its EPANET run; the flag is True when it was cached."""
        model = baseline_water_model(scenario)
        return model, simulate_model(model, scenario, cancelled), False

    def massing(self, scenario: Scenario) -> MassingModel:
        """The twin's buildings (read headless; kept in-process by file, see
        :func:`twin_app.scenarios.massing.massing_model_for_twin`)."""
        return baseline_massing_model(scenario)

    def sun(self, scenario: Scenario, bounds: Bounds) -> tuple[SunStudy, bool]:
        """The baseline sun study over `bounds`; the flag is True when it was cached."""
        return sun_study(self.massing(scenario), _sun_section(scenario), bounds), False

    def air_twin(self, scenario: Scenario) -> AirTwin:
        """The twin's buildings for an air run (kept in-process by file)."""
        return baseline_air_twin(scenario)

    def air(self, scenario: Scenario, traffic: tuple[TrafficModel, Any] | None) -> tuple[Any, bool]:
        """The baseline air run (:class:`~twin_app.engines.air.AirResult`); flag: cached."""
        return _air_baseline(self.air_twin(scenario), scenario, traffic), False

    def patrol_tour(self, scenario: Scenario) -> tuple[Any, Any, bool]:
        """The twin's patrol streets and their postman tour; the flag is True when cached
        (:mod:`twin_app.scenarios.patrol`)."""
        from twin_app.scenarios.patrol import baseline_street_network, street_tour

        net = baseline_street_network(scenario)
        return net, street_tour(net), False

    def radio(self, scenario: Scenario, bounds: Bounds) -> tuple[RadioStudy, bool]:
        """The baseline coverage study (the ``[radio]`` stations on the twin's buildings) over
        `bounds`; the flag is True when it was cached."""
        return _radio_baseline(self.massing(scenario), scenario, bounds), False


def _air_lines(
    scenario: Scenario, traffic: tuple[TrafficModel, Any] | None, factor: Any = None
) -> Any:
    air = _air_section(scenario)
    if not air.traffic_emissions or traffic is None:
        return None
    import numpy as np

    model, res = traffic
    f = np.ones(len(model.link_ids)) if factor is None else factor
    return road_lines(model, np.asarray(res.flow, np.float64), air.pollutant, f)


def _air_section(scenario: Scenario) -> Any:
    from twin_app.scenarios.file import AirSection

    return scenario.air or AirSection()


def _air_baseline(
    twin: AirTwin, scenario: Scenario, traffic: tuple[TrafficModel, Any] | None
) -> Any:
    air = _air_section(scenario)
    return air_run(
        air,
        twin,
        section_sources(air, twin.frame),
        _air_lines(scenario, traffic),
        air_bounds(air, twin),
    )


def _radio_baseline(model: MassingModel, scenario: Scenario, bounds: Bounds) -> RadioStudy:
    from twin_app.scenarios.radio import base_stations

    sec = radio_section(scenario)
    return radio_study(model, base_stations(sec.stations, model, scenario.label), sec, bounds)


def _sun_section(scenario: Scenario) -> Any:
    from twin_app.scenarios.file import SunSection

    return scenario.sun or SunSection()


def _traffic_key(scenario: Scenario) -> str:
    t = scenario.traffic
    return f"{scenario.twin}|{t.model_dump_json() if t is not None else ''}"


def _water_key(scenario: Scenario) -> str:
    w = scenario.water
    return f"{scenario.twin}|{w.model_dump_json() if w is not None else ''}"


class BaselineCache(Baselines):
    """Baseline traffic models, equilibria and water runs of one session, by settings.

    Thread-safe: a worker thread fills it while the GUI thread may read it. Entries depend only
    on the scenario's twin and its ``[traffic]`` / ``[water]`` sections, never on its
    interventions, so every scenario over the same twin and settings shares one baseline.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traffic: dict[str, tuple[TrafficModel, AssignmentResult]] = {}
        self._water: dict[str, tuple[WaterModel, Any]] = {}
        self._sun: dict[str, SunStudy] = {}
        self._air: dict[str, Any] = {}
        self._tour: dict[str, tuple[Any, Any]] = {}
        self._radio: dict[str, RadioStudy] = {}

    def clear(self) -> None:
        """Forget every baseline (the twin changed)."""
        with self._lock:
            self._traffic.clear()
            self._water.clear()
            self._sun.clear()
            self._air.clear()
            self._tour.clear()
            self._radio.clear()

    def sun(self, scenario: Scenario, bounds: Bounds) -> tuple[SunStudy, bool]:
        """The baseline sun study over `bounds`, cached by twin, ``[sun]`` settings and area."""
        key = sun_key(scenario, bounds)
        with self._lock:
            hit = self._sun.get(key)
        if hit is not None:
            return hit, True
        study = sun_study(self.massing(scenario), _sun_section(scenario), bounds)
        with self._lock:
            self._sun[key] = study
        return study, False

    def air(self, scenario: Scenario, traffic: tuple[TrafficModel, Any] | None) -> tuple[Any, bool]:
        """The baseline air run, cached by twin, ``[air]`` and ``[traffic]`` settings."""
        key = air_key(scenario)
        with self._lock:
            hit = self._air.get(key)
        if hit is not None:
            return hit, True
        result = _air_baseline(self.air_twin(scenario), scenario, traffic)
        with self._lock:
            self._air[key] = result
        return result, False

    def patrol_tour(self, scenario: Scenario) -> tuple[Any, Any, bool]:
        """The patrol streets and postman tour, cached by twin and ``[patrol]`` streets."""
        from twin_app.scenarios.patrol import tour_key

        key = tour_key(scenario)
        with self._lock:
            hit = self._tour.get(key)
        if hit is not None:
            return hit[0], hit[1], True
        net, tour, _ = super().patrol_tour(scenario)
        with self._lock:
            self._tour[key] = (net, tour)
        return net, tour, False

    def radio(self, scenario: Scenario, bounds: Bounds) -> tuple[RadioStudy, bool]:
        """The baseline coverage study over `bounds`, cached by twin, ``[radio]`` and area."""
        key = radio_key(scenario, bounds)
        with self._lock:
            hit = self._radio.get(key)
        if hit is not None:
            return hit, True
        study = _radio_baseline(self.massing(scenario), scenario, bounds)
        with self._lock:
            self._radio[key] = study
        return study, False

    def cached_traffic(self, scenario: Scenario) -> tuple[TrafficModel, AssignmentResult] | None:
        """The cached baseline traffic model and equilibrium, or None."""
        with self._lock:
            return self._traffic.get(_traffic_key(scenario))

    def traffic(
        self,
        scenario: Scenario,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[TrafficModel, AssignmentResult, bool]:
        """The baseline model and its user equilibrium; the flag is True when it was cached."""
        hit = self.cached_traffic(scenario)
        if hit is not None:
            return hit[0], hit[1], True
        model = baseline_traffic_model(scenario)
        result = assign_model(model, scenario, None, progress, cancelled)
        with self._lock:
            self._traffic[_traffic_key(scenario)] = (model, result)
        return model, result, False

    def water(
        self, scenario: Scenario, cancelled: Callable[[], bool] | None = None
    ) -> tuple[WaterModel, Any, bool]:
        """The baseline water model and its EPANET run; the flag is True when it was cached."""
        key = _water_key(scenario)
        with self._lock:
            hit = self._water.get(key)
        if hit is not None:
            return hit[0], hit[1], True
        model = baseline_water_model(scenario)
        result = simulate_model(model, scenario, cancelled)
        with self._lock:
            self._water[key] = (model, result)
        return model, result, False


def run_scenario(
    scenario: Scenario,
    progress: Progress | None = None,
    cancelled: CancelCheck | None = None,
    baselines: Baselines | None = None,
) -> ScenarioResult:
    """Run the baseline and the scenario and compare them.

    Parameters
    ----------
    scenario
        From :func:`twin_app.scenarios.file.load_scenario` (or built in code).
    progress
        ``progress(fraction, message)`` now and then.
    cancelled
        Checked between and inside the engine runs; when it answers True,
        :class:`~twin_app.errors.Cancelled` is raised.
    baselines
        Where the baselines come from (default: solved now; a :class:`BaselineCache` keeps
        them between runs). The scenario is warm-started from the baseline equilibrium; with
        no road (or water) intervention the scenario is the baseline, nothing is solved.

    Returns
    -------
    ScenarioResult
        KPIs (traffic, water, sun, then air, patrol, radio), the links table, the nodes
        and pipes tables;
        the engine results are in ``extra`` (``traffic_baseline``, ``traffic_scenario``,
        ``traffic_model_baseline``, ``traffic_model_scenario``, ``water_baseline``,
        ``water_scenario``; for sun ``sun_hours_baseline``, ``sun_hours_scenario``,
        ``sun_transform``, ``sun_bounds``, ``sun_baseline``, ``sun_scenario``,
        ``massing_baseline``, ``massing_scenario``, ``sun_baseline_cached``; for air
        ``air_baseline``, ``air_scenario`` (ug/m3 rasters, row 0 north), ``air_transform``,
        ``air_bounds``, ``air_result_baseline`` / ``air_result_scenario``
        (:class:`~twin_app.engines.air.AirResult`) and ``air_baseline_cached``; for patrol
        see the module docstring; for radio
        ``radio_baseline`` / ``radio_scenario`` (street RSRP rasters, dBm, row 0 north, NaN
        under roofs), ``radio_transform``, ``radio_bounds``, ``radio_buildings_baseline`` /
        ``radio_buildings_scenario`` (worst floor's best-server RSRP per building, rows of
        ``radio_building_ids_baseline`` / ``radio_building_ids_scenario``),
        ``radio_floors_baseline`` / ``radio_floors_scenario``
        (:class:`~twin_app.scenarios.radio.RadioFloors`: every floor's RSRP, its building,
        floor number, bottom and ceiling and a slab mesh; None without indoor receptors),
        ``radio_study_baseline`` / ``radio_study_scenario``
        (:class:`~twin_app.scenarios.radio.RadioStudy`) and ``radio_baseline_cached``).

    Raises
    ------
    InputError
        Missing networks or unknown element ids (naming the file and the key).
    EngineError
        An engine failed on the inputs.
    """
    t0 = time.perf_counter()
    source = baselines if baselines is not None else Baselines()
    parts = [
        p
        for p, on in (
            ("traffic", scenario.has_traffic),
            ("water", scenario.has_water),
            ("sun", scenario.has_sun),
            ("air", scenario.has_air),
            ("patrol", scenario.has_patrol),
            ("radio", scenario.has_radio),
        )
        if on
    ]
    if not parts:
        raise InputError(
            f"{scenario.label}: nothing to run: add a [traffic], [water], [sun], [air], "
            "[patrol] or [radio] section or an intervention"
        )
    share = 1.0 / len(parts)
    kpis: list[Kpi] = []
    warnings: list[str] = []
    conditions: list[str] = []
    extra: dict[str, Any] = {}
    links = nodes = pipes = None
    made: list[MassingModel] = []

    def massing() -> tuple[MassingModel, MassingModel]:
        """The baseline and scenario massing, made once for the sun and the radio study (an
        IFC proposal is read and meshed once)."""
        if not made:
            base = source.massing(scenario)
            with reading_with(None, cancelled):  # an IFC proposal's meshing can be cancelled
                made.extend((base, apply_massing(scenario, base)))
        return made[0], made[1]

    shown = [0.0]

    def report(start: float, span: float, text: str) -> Callable[[float], None]:
        def step(frac: float) -> None:
            # the solver's own fraction may step back when its gap does: never show that
            shown[0] = max(shown[0], min(start + span * frac, 1.0))
            if progress is not None:
                progress(shown[0], text)

        return step

    done = 0.0
    starts: list[tuple[str, int]] = []  # (part, index of its first KPI)
    if scenario.has_traffic:
        starts.append(("traffic", len(kpis)))
        base_model, base, cached = source.traffic(
            scenario, report(done, share * 0.6, "traffic: baseline"), cancelled
        )
        extra["traffic_baseline_cached"] = cached
        scen_model = apply_traffic(scenario, base_model)
        scen = (
            assign_model(
                scen_model,
                scenario,
                base,
                report(done + share * 0.6, share * 0.4, "traffic: scenario"),
                cancelled,
            )
            if scenario.road_interventions()
            else base
        )
        for label, res in (("baseline", base), ("scenario", scen)):
            if not res.converged:
                warnings.append(
                    f"traffic {label}: relative gap {res.relative_gap:.3g} after "
                    f"{res.iterations} iterations (asked for "
                    f"{scenario.traffic.relative_gap if scenario.traffic else 1e-5:g})"
                )
        cut = stranded_trips_warning(base, scen, base_model.demand.total)
        if cut:
            warnings.append(cut)
        kpis += _kpi_rows(
            traffic_kpis(base_model, base), traffic_kpis(scen_model, scen), TRAFFIC_KPIS
        )
        links = links_table(base_model, base, scen_model, scen)
        extra.update(
            traffic_baseline=base,
            traffic_scenario=scen,
            traffic_model_baseline=base_model,
            traffic_model_scenario=scen_model,
        )
        done += share
    if scenario.has_water:
        starts.append(("water", len(kpis)))
        report(done, 0.0, "water: baseline")(0.0)
        wbase_model, wbase, wcached = source.water(scenario, cancelled)
        extra["water_baseline_cached"] = wcached
        check_water_ids(scenario, wbase)
        wscen_model = apply_water(scenario, wbase_model)
        report(done, share, "water: scenario")(0.5)
        wscen = (
            wbase if wscen_model.changes.empty else simulate_model(wscen_model, scenario, cancelled)
        )
        kb, ks = water_kpis(wbase), water_kpis(wscen)
        kpis += [Kpi(n, kb[n], ks[n], unit) for n, unit in WATER_KPIS.items()]
        nodes = nodes_table(wbase, wscen)
        pipes = pipes_table(wbase, wscen)
        warnings += list(dict.fromkeys(wscen.warnings))
        extra.update(water_baseline=wbase, water_scenario=wscen)
        done += share
    if scenario.has_sun:
        starts.append(("sun", len(kpis)))
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, 0.0, "sun: baseline")(0.0)
        mbase, mscen = massing()
        bounds = study_bounds(scenario, mbase, mscen)
        sbase, scached = source.sun(scenario, bounds)
        extra["sun_baseline_cached"] = scached
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, share * 0.5, "sun: scenario")(1.0)
        sscen = sun_study(mscen, _sun_section(scenario), bounds) if mscen.changed else sbase
        sk = sun_kpis(sbase, sscen, mscen.changed)
        sec = _sun_section(scenario)
        area = (
            "its bounds"
            if sec.bounds is not None
            else f"the changed buildings + {sec.buffer_m:g} m"
            if mscen.changed
            else "the whole twin"
        )
        conditions.append(
            f"sun: {sec.date.isoformat()}, every {sec.step_min:g} min; ground cells of "
            f"{sec.cell_m:g} m over {bounds[2] - bounds[0]:.0f} m x {bounds[3] - bounds[1]:.0f} m "
            f"({area}); facade points every {sec.facade_spacing_m:g} m"
        )
        kpis += [Kpi(n, sk[n][0], sk[n][1], unit) for n, unit in SUN_KPIS.items()]
        extra.update(
            sun_hours_baseline=sbase.ground_hours,
            sun_hours_scenario=sscen.ground_hours,
            sun_transform=sbase.transform,
            sun_bounds=bounds,
            sun_baseline=sbase,
            sun_scenario=sscen,
            massing_baseline=mbase,
            massing_scenario=mscen,
        )
        done += share
    if scenario.has_air:
        starts.append(("air", len(kpis)))
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, 0.0, "air: baseline")(0.0)
        atwin = source.air_twin(scenario)
        asec = _air_section(scenario)
        tb = ts = None
        if "traffic_model_baseline" in extra:
            tb = (extra["traffic_model_baseline"], extra["traffic_baseline"])
            ts = (extra["traffic_model_scenario"], extra["traffic_scenario"])
        abase, acached = source.air(scenario, tb)
        conditions.append(met_conditions(asec, atwin)[1])
        extra["air_baseline_cached"] = acached
        report(done, share * 0.5, "air: scenario")(1.0)
        asrc = apply_air(scenario, section_sources(asec, atwin.frame), atwin.frame)
        factor = link_factors(scenario, ts[0], asrc) if ts is not None else None
        if asrc.link_factor and ts is None:
            raise InputError(f"{scenario.label}: cut_traffic needs [air] traffic_emissions = true")
        ascen = (
            air_run(asec, atwin, asrc, _air_lines(scenario, ts, factor), air_bounds(asec, atwin))
            if scenario.air_interventions() or scenario.road_interventions()
            else abase
        )
        kpis += [
            Kpi(n, float(abase.kpis[n]), float(ascen.kpis[n]), unit) for n, unit in AIR_KPIS.items()
        ]
        extra.update(
            air_baseline=abase.concentration_ug_m3,
            air_scenario=ascen.concentration_ug_m3,
            air_transform=abase.transform,
            air_bounds=air_bounds(asec, atwin),
            air_result_baseline=abase,
            air_result_scenario=ascen,
        )
        done += share
    if scenario.has_patrol:
        starts.append(("patrol", len(kpis)))
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, 0.0, "patrol: baseline")(0.0)
        warnings += _run_patrol(scenario, source, kpis, extra)
        done += share
    if scenario.has_radio:
        starts.append(("radio", len(kpis)))
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, 0.0, "radio: baseline")(0.0)
        if scenario.twin is None:
            raise InputError(
                f"{scenario.label}: key 'twin': a [radio] study or a station intervention needs "
                "the twin folder whose buildings the stations stand on"
            )
        rmbase, rmscen = massing()
        rbounds = radio_bounds(scenario, rmbase)
        stations, added = scenario_stations(scenario, rmscen)  # bad ids fail before a study
        rbase, rcached = source.radio(scenario, rbounds)
        extra["radio_baseline_cached"] = rcached
        if cancelled is not None and cancelled():
            raise Cancelled("scenario run cancelled")
        report(done, share * 0.5, "radio: scenario")(1.0)
        rsec = radio_section(scenario)
        rscen = (
            radio_study(rmscen, stations, rsec, rbounds)
            if scenario.radio_interventions() or rmscen.changed
            else rbase
        )
        rk = radio_kpis(rbase, rscen, added, rsec)
        units = dict(RADIO_KPIS, capex=rsec.currency)
        kpis += [Kpi(n, rk[n][0], rk[n][1], units[n]) for n in RADIO_KPIS]
        extra.update(
            radio_baseline=rbase.street_rsrp,
            radio_scenario=rscen.street_rsrp,
            radio_transform=rbase.transform,
            radio_bounds=rbounds,
            radio_buildings_baseline=rbase.building_rsrp,
            radio_buildings_scenario=rscen.building_rsrp,
            radio_building_ids_baseline=rmbase.building_ids,
            radio_building_ids_scenario=rmscen.building_ids,
            radio_floors_baseline=rbase.floors,
            radio_floors_scenario=rscen.floors,
            radio_study_baseline=rbase,
            radio_study_scenario=rscen,
        )
        done += share
    if progress is not None:
        progress(1.0, "done")
    return ScenarioResult(
        name=scenario.name,
        kpis=tuple(_unique_names(kpis, starts)),
        links=links,
        nodes=nodes,
        pipes=pipes,
        warnings=tuple(warnings),
        elapsed_s=time.perf_counter() - t0,
        extra=extra,
        conditions=tuple(conditions),
        scenario=scenario,
    )


def _unique_names(kpis: list[Kpi], starts: list[tuple[str, int]]) -> list[Kpi]:
    """KPIs named alike by two parts (``capex`` of patrol and of radio) with the part's name in
    front (``patrol_capex``, ``radio_capex``), so ``--json`` and the tables keep both; a name
    only one part uses is left as it is."""
    from collections import Counter

    count = Counter(k.name for k in kpis)
    if all(n == 1 for n in count.values()):
        return kpis
    ends = [*starts[1:], ("", len(kpis))]
    return [
        dataclasses.replace(k, name=f"{part}_{k.name}") if count[k.name] > 1 else k
        for (part, a), (_, b) in zip(starts, ends, strict=True)
        for k in kpis[a:b]
    ]


def _run_patrol(
    scenario: Scenario, source: Baselines, kpis: list[Kpi], extra: dict[str, Any]
) -> list[str]:
    """Patrol KPIs and extras of the baseline fleet and the scenario's (see
    :mod:`twin_app.scenarios.patrol`); returns the warnings."""
    from twin_app.scenarios import patrol as sp

    net, tour, cached = source.patrol_tour(scenario)
    fbase = sp.baseline_fleet(scenario)
    fscen = sp.apply_patrol(scenario, fbase)
    # a misspelt road fails before the baseline is simulated
    sp.hand_routes(scenario, net, fscen, int(sp.depot_nodes(net, fscen)[0]))
    pbase = sp.patrol_plan(scenario, net, tour, fbase)
    reuse = pbase.kpis["robots_needed_for_target"] if sp.same_robot(fbase, fscen) else None
    pscen = pbase if fscen == fbase else sp.patrol_plan(scenario, net, tour, fscen, reuse)
    cost, currency = sp.capex(scenario, fscen)
    for name, unit in sp.PATROL_KPIS.items():
        if name == "capex":
            kpis.append(Kpi(name, 0.0, cost, currency))
        else:
            kpis.append(Kpi(name, pbase.kpis[name], pscen.kpis[name], unit))
    horizon = scenario.patrol.horizon_h if scenario.patrol is not None else 24.0
    extra.update(
        patrol_tour_cached=cached,
        patrol_streets=net,
        patrol_tour=tour,
        patrol_routes_baseline=sp.routes_extra(net, pbase),
        patrol_routes_scenario=sp.routes_extra(net, pscen),
        patrol_positions_baseline=sp.positions_extra(net, pbase, horizon),
        patrol_positions_scenario=sp.positions_extra(net, pscen, horizon),
        patrol_baseline=pbase,
        patrol_scenario=pscen,
    )
    plans = [(pbase, "baseline")] + ([(pscen, "scenario")] if pscen is not pbase else [])
    return [w for plan, name in plans for w in sp.plan_warnings(plan, name)]


def kpi_dict(result: ScenarioResult) -> dict[str, dict[str, float | str | None]]:
    """``{name: {"baseline", "scenario", "delta", "unit"}}``; NaN and inf become None (JSON)."""

    def num(v: float) -> float | None:
        return v if math.isfinite(v) else None

    out: dict[str, dict[str, float | str | None]] = {}
    for k in result.kpis:
        out[k.name] = {
            "baseline": num(k.baseline),
            "scenario": num(k.scenario),
            "delta": num(k.delta),
            "unit": k.unit,
        }
    return out
