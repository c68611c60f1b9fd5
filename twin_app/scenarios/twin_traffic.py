"""A traffic model of a twin, built from its OpenStreetMap roads and buildings.

:func:`traffic_model` turns the twin's road table and building footprints into a
:class:`~twin_app.scenarios.model.TrafficModel` for :func:`twin_app.engines.traffic.assign`;
:func:`traffic_model_for_twin` reads a twin folder headless (no Qt) and caches the result.

Network
-------
Ways are split at junctions (:func:`twin_app.geometry.road_graph.split_at_junctions`). Classes
kept (``highway=*``, see :data:`ROAD_CLASSES`): motorway, trunk, primary, secondary, tertiary and
their ``_link`` ramps, unclassified, residential, living_street, service (low capacity) and the
untyped ``road``. Dropped: footway, cycleway, path, steps, pedestrian, bridleway, track, corridor,
busway, construction, proposed and any other value (no general motor traffic). Only the largest
strongly connected part of the drivable graph is kept, so every zone can reach every other.

One-way: ``oneway=yes/true/1`` is one link along the digitised direction, ``-1/reverse`` one link
against it, anything else two links. ``highway=motorway`` and ``junction=roundabout/circular`` are
one-way when the tag says nothing (OSM wiki, *Key:oneway*, implied values); the road table keeps
only the parsed flag, so an explicit ``oneway=no`` on those is read as missing too.

Link ids: ``way/123`` along the digitised direction, ``way/123@r`` against it. A way split at
junctions into k > 1 edges gives ``way/123#1`` ... ``way/123#k`` (and ``#i@r``) in digitised
order, so ids stay unique; :meth:`TrafficModel.links_named` maps ``way/123`` to all its forward
links and ``way/123@r`` to all its reverse ones, so a scenario closes a whole way by its segment
id. Zone connectors are ``zone/K>N`` and ``N>zone/K`` (K the zone, N the 0-based model node).

Capacity (veh/h, the demand period is the morning peak hour) is lanes per direction times a
per-lane flow (:data:`ROAD_CLASSES`): the busiest-direction flows of a two-lane 7.3 m single
carriageway in DMRB TA 79/99 *Traffic Capacity of Urban Roads* (Highways Agency 1999, Table 2):
UAP1 1590, UAP2 1470, UAP3 1300, UAP4 1140 veh/h; urban motorway (UM) 4000 veh/h for a two-lane
carriageway (2000 a lane). OSM classes map to these road types as trunk: UAP1, primary: UAP2,
secondary and tertiary: UAP3, unclassified, residential and road: UAP4; living_street and service
are not TA 79/99 types and get half of UAP4 (570 veh/h a lane, our assumption for shared space and
access roads). Lanes: the ``lanes`` tag counts both directions of a two-way road, so a direction
gets ``lanes / 2`` (at least 1) and a one-way road all of them; without the tag, 2 for motorway and
trunk directions, 1 otherwise.

Free-flow speed (km/h): the ``maxspeed`` tag (mph converted) where present, at least 5 km/h;
otherwise the UK limits for the class: motorway 70 mph (112.7 km/h), every other public road in a
built-up area 30 mph (48.3 km/h, a "restricted road", Road Traffic Regulation Act 1984 s. 81);
living_street and service 10 mph (16.1 km/h, our assumption: home zones and car parks). Link cost
is BPR ``t = t0 (1 + 0.15 (v/c)^4)`` (Bureau of Public Roads, *Traffic Assignment Manual*, 1964)
with t0 in minutes (``time_unit_h = 1/60``) and lengths in km (``length_unit_km = 1``).

Zones and demand
----------------
Buildings are grouped into the cells of a regular grid (:attr:`TrafficParams.zone_cell_m`, 350 m)
over the local frame; every cell with floor area is a zone whose centroid is the floor-area
weighted mean of its buildings' centroids. Floor area is footprint area times levels (the
``building:levels`` tag, else ``max(1, round(height_m / 3 m))``). Each zone centroid is a node
``0 .. n_zones - 1`` (``first_thru_node = n_zones``: no path runs through a zone) joined both ways
to the nearest :attr:`TrafficParams.connectors` road nodes (not motorway-only nodes) by connectors
at 25 km/h over the straight distance (at least 10 m), with no congestion (BPR b = 0).

Morning-peak trip ends are ``rate * floor area`` with ``rate`` = 1.16 vehicle trips per 1000 ft²
(0.01249 per m²) of gross floor area, the AM peak hour rate of a general office building (ITE
*Trip Generation Manual*, 10th ed., 2017, land use 710), times the calibrated
``demand_scale``. The district is closed (no external zones), so each zone produces and attracts
half of its trip ends. Trips are distributed by a doubly constrained gravity model::

    T_ij = a_i b_j P_i A_j f(c_ij),   f(c) = exp(-beta c),   f(c_ii) = 0

with ``c_ij`` the free-flow network time (minutes), the negative exponential deterrence function
(Ortuzar & Willumsen, *Modelling Transport*, 4th ed., 2011, chapter 5; NCHRP Report 716,
*Travel Demand Forecasting: Parameters and Techniques*, 2012, describes it with the gamma
function it is a special case of), and ``beta`` = 0.1 / min (our choice: trips inside the
district take a few minutes; the calibration sets the level of demand, beta only its spread).
Rows and columns are balanced by Furness iterations (``a = P / (F b)``, ``b = A / (F^T a)``)
until they match to 1e-9; the sample twin's mean free-flow trip is 2.2 minutes.

Calibration
-----------
The sample twin replays METR-LA detector speeds. :func:`observed_peak_speed_ratio` takes the
first morning-peak hour the twin opens at (08:00-09:00 local of the first day, the series' own
08:00-09:00) and averages ``speed / free-flow speed`` over the detectors, the free-flow speed of a
detector being the 95th percentile of its night speeds (00:00-05:00 of every replayed day; zero
readings are missing data in METR-LA and left out): 0.709 for the sample (207 detectors).
:func:`calibrate_demand_scale` then finds the demand scale (regula falsi on its logarithm) at which
the assigned network's flow-weighted mean of ``t0 / t`` over road links
(:func:`model_speed_ratio`, assignment at relative gap 1e-4) matches it within 0.002: 1.275 for
the sample. The result is stored in the twin's manifest as ``[traffic] demand_scale`` and read
from there (``scripts/calibrate_traffic.py --write`` re-derives it; a test checks the sample
twin's assigned ratio lies within 0.02 of the observed one). The detectors are Los Angeles
freeway loops laid onto London streets: the calibration makes the district as congested,
relative to free flow, as the replayed detectors are at that hour, not a forecast of London
traffic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin_app.errors import InputError
from twin_app.geometry.road_graph import (
    directed_links,
    largest_strong_component,
    split_at_junctions,
)
from twin_app.io.tntp import TntpDemand, TntpNetwork
from twin_app.scenarios.model import TrafficModel

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MPH = 1.609344  # km/h per mph


@dataclass(frozen=True)
class RoadClass:
    """How one OSM ``highway`` class is modelled.

    Attributes
    ----------
    code
        ``link_type`` of its links (1-based; 0 is a zone connector).
    road_type
        The DMRB TA 79/99 road type its capacity comes from (``-`` for none).
    capacity_per_lane
        veh/h per lane and direction.
    lanes
        Lanes per direction when the way has no ``lanes`` tag.
    speed_kmh
        Free-flow speed when the way has no ``maxspeed`` tag.
    """

    code: int
    road_type: str
    capacity_per_lane: float
    lanes: float
    speed_kmh: float


_UAP1, _UAP2, _UAP3, _UAP4 = 1590.0, 1470.0, 1300.0, 1140.0
_BUILT_UP = 30 * MPH
_ACCESS = 10 * MPH

#: Drivable OSM ``highway`` classes (every other class is dropped); see the module docstring.
ROAD_CLASSES: dict[str, RoadClass] = {
    "motorway": RoadClass(1, "UM", 2000.0, 2, 70 * MPH),
    "motorway_link": RoadClass(2, "UM", 2000.0, 1, 70 * MPH),
    "trunk": RoadClass(3, "UAP1", _UAP1, 2, _BUILT_UP),
    "trunk_link": RoadClass(4, "UAP1", _UAP1, 1, _BUILT_UP),
    "primary": RoadClass(5, "UAP2", _UAP2, 1, _BUILT_UP),
    "primary_link": RoadClass(6, "UAP2", _UAP2, 1, _BUILT_UP),
    "secondary": RoadClass(7, "UAP3", _UAP3, 1, _BUILT_UP),
    "secondary_link": RoadClass(8, "UAP3", _UAP3, 1, _BUILT_UP),
    "tertiary": RoadClass(9, "UAP3", _UAP3, 1, _BUILT_UP),
    "tertiary_link": RoadClass(10, "UAP3", _UAP3, 1, _BUILT_UP),
    "unclassified": RoadClass(11, "UAP4", _UAP4, 1, _BUILT_UP),
    "residential": RoadClass(12, "UAP4", _UAP4, 1, _BUILT_UP),
    "road": RoadClass(13, "UAP4", _UAP4, 1, _BUILT_UP),
    "living_street": RoadClass(14, "-", _UAP4 / 2, 1, _ACCESS),
    "service": RoadClass(15, "-", _UAP4 / 2, 1, _ACCESS),
}
#: Classes zones are not connected to (no frontage access).
NO_ACCESS_CLASSES = ("motorway", "motorway_link")
#: Classes one-way without a tag (OSM implied value); roundabouts come from ``junction``.
IMPLIED_ONEWAY_CLASSES = ("motorway",)
ROUNDABOUT_JUNCTIONS = ("roundabout", "circular")

#: BPR parameters (Bureau of Public Roads 1964).
BPR_B = 0.15
BPR_POWER = 4.0
#: AM peak hour vehicle trip ends per m² of gross floor area: ITE Trip Generation Manual,
#: 10th ed., land use 710 (general office), 1.16 per 1000 ft².
TRIPS_PER_M2 = 1.16 / (1000.0 * 0.3048**2)
#: Minimum free-flow speed (km/h): "5 mph" tags are walking-pace access roads, not zero.
MIN_SPEED_KMH = 5.0
#: Bumped whenever the model a given input produces changes (invalidates the disk cache).
MODEL_VERSION = 1


@dataclass(frozen=True)
class TrafficParams:
    """Parameters of :func:`traffic_model` (all documented in the module docstring).

    Attributes
    ----------
    zone_cell_m
        Side of the square zone grid cells, metres.
    connectors
        Road nodes each zone centroid is joined to.
    connector_speed_kmh
        Speed on connectors.
    beta_per_min
        Gravity model deterrence ``exp(-beta c)``, c in minutes.
    trips_per_m2
        Peak hour trip ends per m² of floor area before ``demand_scale``.
    demand_scale
        Calibration factor on the demand; None: the twin manifest's ``[traffic] demand_scale``
        (:func:`traffic_model_for_twin`), 1.0 for :func:`traffic_model`.
    storey_m
        Storey height for levels from a building's height.
    tolerance_m
        Vertices this close are one road node.
    """

    zone_cell_m: float = 350.0
    connectors: int = 3
    connector_speed_kmh: float = 25.0
    beta_per_min: float = 0.1
    trips_per_m2: float = TRIPS_PER_M2
    demand_scale: float | None = None
    storey_m: float = 3.0
    tolerance_m: float = 0.01


# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingMasses:
    """Buildings as points with a floor area: ``xy`` (n, 2) metres, ``floor_m2`` (n,)."""

    xy: FloatArray
    floor_m2: FloatArray


def _levels(table: pd.DataFrame, storey_m: float) -> FloatArray:
    """Levels from ``building:levels`` where it is a sane number, else ``round(height / storey)``."""
    from twin_app.io.attributes import to_number

    n = len(table)
    if "height_m" in table.columns:
        h = pd.to_numeric(table["height_m"], errors="coerce").to_numpy(np.float64)
    else:
        h = np.full(n, np.nan)
    from_height = np.maximum(1.0, np.round(np.nan_to_num(h, nan=storey_m) / storey_m))
    if "building:levels" in table.columns:
        lv = to_number(table["building:levels"].astype("string"))
        ok = np.isfinite(lv) & (lv >= 1) & (lv < 300)
        return np.where(ok, lv, from_height)
    return np.asarray(from_height, np.float64)


def building_masses(buildings: Any, storey_m: float = 3.0) -> BuildingMasses:
    """Floor area and position of every building of a footprint table.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints (polygons in local metres) with ``height_m`` and optionally
        ``building:levels``.
    storey_m
        Storey height for levels from the height.
    """
    import shapely

    geoms = np.asarray(buildings.geometry.values, dtype=object)
    area = np.nan_to_num(np.asarray(shapely.area(geoms), np.float64))
    cent = shapely.centroid(geoms)
    xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)]).astype(np.float64)
    floor = area * _levels(pd.DataFrame(buildings), storey_m)
    keep = (area > 0) & np.isfinite(xy).all(axis=1)
    return BuildingMasses(xy[keep], floor[keep])


def building_masses_from_set(buildings: Any, storey_m: float = 3.0) -> BuildingMasses:
    """Floor area and position of every building of a loaded buildings FeatureSet.

    Footprint area is the plan area of each building's roof triangles (the extruded mesh the
    twin draws), so no footprint has to be read again.
    """
    from twin_app.model.mesh import SURFACE_ROOF

    mesh = buildings.mesh
    idx = np.asarray(mesh.cell_data[buildings.index_array], np.int64)
    roof = np.asarray(mesh.cell_data["surface"]) == SURFACE_ROOF
    tri = mesh.triangles[roof]
    p = mesh.points[:, :2]
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    area = 0.5 * np.abs(
        (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    )
    owner = idx[roof]
    n = buildings.n_features
    footprint = np.bincount(owner, area, minlength=n)
    cx = np.bincount(owner, area * (a[:, 0] + b[:, 0] + c[:, 0]) / 3.0, minlength=n)
    cy = np.bincount(owner, area * (a[:, 1] + b[:, 1] + c[:, 1]) / 3.0, minlength=n)
    ok = footprint > 0
    xy = np.column_stack([cx[ok] / footprint[ok], cy[ok] / footprint[ok]])
    floor = footprint * _levels(buildings.table, storey_m)
    return BuildingMasses(xy, floor[ok])


# -- network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Links:
    tail: IntArray
    head: IntArray
    row: IntArray
    length_km: FloatArray
    capacity: FloatArray
    speed_kmh: FloatArray
    code: IntArray
    ids: NDArray[np.object_]
    node_xy: FloatArray
    access_node: BoolArray


def _road_links(
    table: pd.DataFrame,
    coords: FloatArray,
    offsets: IntArray,
    line_row: IntArray,
    tolerance_m: float,
) -> _Links:
    """Directed road links of the drivable classes, restricted to the largest strong component."""
    n_rows = len(table)
    cls = table["class"].astype("string").fillna("").to_numpy(dtype=object)
    names = list(ROAD_CLASSES)
    uniq, inverse = np.unique(cls.astype(str), return_inverse=True)
    # one lookup per distinct class, not per road
    cls_idx = np.array([names.index(u) if u in names else -1 for u in uniq], np.int64)[inverse]
    drivable = cls_idx >= 0
    if not drivable.any():
        raise InputError("the road table has no drivable roads (motorway .. service)")
    keep_line = drivable[line_row]
    counts = np.diff(offsets)
    keep_vertex = np.repeat(keep_line, counts)
    sub_coords = coords[keep_vertex]
    sub_offsets = np.concatenate([[0], np.cumsum(counts[keep_line])]).astype(np.int64)
    edges = split_at_junctions(sub_coords, sub_offsets, line_row[keep_line], tolerance_m)

    def column(name: str, default: float) -> FloatArray:
        if name not in table.columns:
            return np.full(n_rows, default)
        return pd.to_numeric(table[name], errors="coerce").to_numpy(np.float64)

    oneway = np.nan_to_num(column("oneway", 0.0)).astype(np.int64)
    junction = (
        table["junction"].astype("string").fillna("").to_numpy(dtype=object)
        if "junction" in table.columns
        else np.full(n_rows, "", dtype=object)
    )
    implied = np.isin(cls, IMPLIED_ONEWAY_CLASSES) | np.isin(junction, ROUNDABOUT_JUNCTIONS)
    oneway = np.where((oneway == 0) & implied, 1, oneway)
    edge, reverse = directed_links(oneway[edges.row])
    tail = np.where(reverse, edges.head[edge], edges.tail[edge])
    head = np.where(reverse, edges.tail[edge], edges.head[edge])
    row = edges.row[edge]

    # ids: way/123, way/123#i when the way has several edges, @r against its direction
    n_edges_of_row = np.bincount(edges.row, minlength=n_rows)
    order = np.lexsort((edges.start, edges.row))
    rank = np.empty(edges.n_edges, np.int64)
    first_of_row = np.searchsorted(edges.row[order], edges.row[order])
    rank[order] = np.arange(edges.n_edges) - first_of_row + 1
    ids_col = table["id"].astype("string").to_numpy(dtype=object)
    base = ids_col[row].astype(str)
    split = n_edges_of_row[row] > 1
    suffix = np.where(split, np.char.add("#", rank[edge].astype(str)), "")
    ids = np.char.add(np.char.add(base, suffix), np.where(reverse, "@r", ""))

    keep_node = largest_strong_component(edges.n_nodes, tail, head)
    on = keep_node[tail] & keep_node[head]
    new_id = np.cumsum(keep_node) - 1
    tail, head, row, edge, ids = new_id[tail[on]], new_id[head[on]], row[on], edge[on], ids[on]

    specs = list(ROAD_CLASSES.values())
    ci = cls_idx[row]
    cap_lane = np.array([c.capacity_per_lane for c in specs])[ci]
    dflt_lanes = np.array([c.lanes for c in specs], np.float64)[ci]
    dflt_speed = np.array([c.speed_kmh for c in specs])[ci]
    codes = np.array([c.code for c in specs], np.int64)[ci]

    lanes_tag = column("lanes", np.nan)[row]
    lanes_ok = np.isfinite(lanes_tag) & (lanes_tag >= 1) & (lanes_tag <= 16)
    one_dir = oneway[row] != 0
    lanes = np.where(
        lanes_ok, np.where(one_dir, lanes_tag, np.maximum(lanes_tag / 2.0, 1.0)), dflt_lanes
    )
    speed_tag = column("maxspeed_kmh", np.nan)[row]
    speed = np.where(np.isfinite(speed_tag) & (speed_tag > 0), speed_tag, dflt_speed)
    speed = np.maximum(speed, MIN_SPEED_KMH)
    access = ~np.isin(ci, [names.index(c) for c in NO_ACCESS_CLASSES])
    n_nodes = int(keep_node.sum())
    access_node = np.zeros(n_nodes, bool)
    access_node[tail[access]] = True
    access_node[head[access]] = True
    return _Links(
        tail=tail.astype(np.int64),
        head=head.astype(np.int64),
        row=row.astype(np.int64),
        length_km=np.maximum(edges.length_m[edge], tolerance_m) / 1000.0,
        capacity=lanes * cap_lane,
        speed_kmh=speed,
        code=codes,
        ids=np.asarray(ids, dtype=object),
        node_xy=edges.node_xy[keep_node],
        access_node=access_node,
    )


# -- zones and demand -----------------------------------------------------------------------


def zones_from_buildings(
    masses: BuildingMasses, cell_m: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Grid-cell zones: centroid (n_zones, 2), floor area (n_zones,), zone of each building.

    Cells are ``floor(xy / cell_m)``; zones are the cells holding floor area, in (x, y) cell
    order; a zone's centroid is the floor-area weighted mean of its buildings.
    """
    cell = np.floor(masses.xy / cell_m).astype(np.int64)
    _, zone, _ = np.unique(cell, axis=0, return_inverse=True, return_counts=True)
    zone = zone.ravel()
    nz = int(zone.max()) + 1 if zone.size else 0
    w = masses.floor_m2
    floor = np.asarray(np.bincount(zone, w, minlength=nz), np.float64)
    cx = np.bincount(zone, w * masses.xy[:, 0], minlength=nz)
    cy = np.bincount(zone, w * masses.xy[:, 1], minlength=nz)
    keep = floor > 0
    remap = np.cumsum(keep) - 1
    xy = np.column_stack([cx[keep] / floor[keep], cy[keep] / floor[keep]])
    return xy, floor[keep], np.where(keep[zone], remap[zone], -1).astype(np.int64)


def gravity_od(
    productions: FloatArray,
    attractions: FloatArray,
    cost: FloatArray,
    beta: float,
    tol: float = 1e-9,
    max_iterations: int = 1000,
) -> tuple[FloatArray, int]:
    """Doubly constrained gravity model balanced by Furness (IPF) iterations.

    ``T_ij = a_i b_j P_i A_j f(c_ij)`` with ``f(c) = exp(-beta c)``, zero on the diagonal and for
    unreachable pairs (``c`` infinite); ``a = 1 / (F (b A))`` and ``b = 1 / (F^T (a P))``
    alternate until every row and column sum is within ``tol`` (relative) of ``P`` and ``A``
    (Ortuzar & Willumsen, *Modelling Transport*, 4th ed., 2011, chapter 5: the Furness method).

    Parameters
    ----------
    productions, attractions
        (n,) trip ends; their totals must agree.
    cost
        (n, n) generalised cost between zones (minutes).
    beta
        Deterrence parameter (per minute).

    Returns
    -------
    od, iterations
        The (n, n) trip matrix and the Furness iterations it took.
    """
    p = np.asarray(productions, np.float64)
    a_ = np.asarray(attractions, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.where(np.isfinite(cost), np.exp(-beta * np.asarray(cost, np.float64)), 0.0)
    np.fill_diagonal(f, 0.0)
    fa = f * a_[None, :]
    bal_a = np.ones(p.size)
    bal_b = np.ones(p.size)
    it = 0
    for it in range(1, max_iterations + 1):  # noqa: B007 - iterations of a vector update
        row = fa @ bal_b
        bal_a = np.divide(1.0, row, out=np.zeros_like(row), where=row > 0)
        col = (f * (bal_a * p)[:, None]).sum(axis=0)
        bal_b = np.divide(1.0, col, out=np.zeros_like(col), where=col > 0)
        od = f * np.outer(bal_a * p, bal_b * a_)
        err_r = np.abs(od.sum(axis=1) - p) / np.maximum(p, 1e-300)
        if float(np.max(err_r[p > 0], initial=0.0)) <= tol:
            break
    od = f * np.outer(bal_a * p, bal_b * a_)
    if not np.allclose(od.sum(axis=1), p, rtol=1e-6):
        # infeasible margins, e.g. one zone producing more than all others attract
        log.warning("gravity model: row sums off by up to %.3g", np.abs(od.sum(1) - p).max())
    return od, it


def _skim(
    n_zones: int,
    n_road: int,
    road: _Links,
    conn_zone: IntArray,
    conn_node: IntArray,
    conn_min: FloatArray,
    t0_min: FloatArray,
) -> FloatArray:
    """Free-flow zone-to-zone times (minutes); zones leave from sources and end in sinks."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    nv = n_road + 2 * n_zones
    src = n_road + np.arange(n_zones)
    snk = n_road + n_zones + np.arange(n_zones)
    tail = np.concatenate([road.tail, src[conn_zone], conn_node])
    head = np.concatenate([road.head, conn_node, snk[conn_zone]])
    w = np.maximum(np.concatenate([t0_min, conn_min, conn_min]), 1e-9)
    # csr_matrix sums duplicate entries: keep the cheapest of parallel links
    order = np.lexsort((w, head, tail))
    first = np.r_[True, (np.diff(tail[order]) != 0) | (np.diff(head[order]) != 0)]
    sel = order[first]
    g = csr_matrix((w[sel], (tail[sel], head[sel])), shape=(nv, nv))
    dist = dijkstra(g, directed=True, indices=src)
    return np.asarray(dist[:, snk], np.float64)


def _freeze(*arrays: np.ndarray[Any, Any]) -> None:
    for a in arrays:
        a.flags.writeable = False


def traffic_model_from_arrays(
    roads: pd.DataFrame,
    coords: FloatArray,
    offsets: IntArray,
    line_row: IntArray,
    masses: BuildingMasses,
    params: TrafficParams = TrafficParams(),
    source: str = "",
) -> TrafficModel:
    """The traffic model from road lines as ragged arrays (see :func:`traffic_model`).

    Parameters
    ----------
    roads
        Road table (``id``, ``class``, ``lanes``, ``maxspeed_kmh``, ``oneway``, optionally
        ``junction``), one row per road.
    coords, offsets, line_row
        The road centre lines in local metres: vertices, start of each line, table row of each
        line.
    masses
        Buildings as floor areas at points.
    params
        Model parameters.
    source
        Named in the description.
    """
    from scipy.spatial import cKDTree

    scale = 1.0 if params.demand_scale is None else float(params.demand_scale)
    road = _road_links(
        roads,
        np.asarray(coords, np.float64)[:, :2],
        np.asarray(offsets, np.int64),
        np.asarray(line_row, np.int64),
        params.tolerance_m,
    )
    n_road = road.node_xy.shape[0]
    zone_xy, zone_floor, _ = zones_from_buildings(masses, params.zone_cell_m)
    nz = zone_xy.shape[0]
    if nz < 2:
        raise InputError(f"{source or 'the twin'}: fewer than two zones with buildings")
    cand = np.flatnonzero(road.access_node)
    k = min(params.connectors, cand.size)
    dist, idx = cKDTree(road.node_xy[cand]).query(zone_xy, k=k)
    dist = np.asarray(dist, np.float64).reshape(nz, k)
    conn_node = cand[np.asarray(idx).reshape(nz, k)].ravel()
    conn_zone = np.repeat(np.arange(nz), k)
    conn_km = np.maximum(dist.ravel(), 10.0) / 1000.0
    conn_min = conn_km / params.connector_speed_kmh * 60.0

    t0_road = road.length_km / road.speed_kmh * 60.0
    cost = _skim(nz, n_road, road, conn_zone, conn_node, conn_min, t0_road)
    ends = params.trips_per_m2 * zone_floor
    base_od, furness_it = gravity_od(ends / 2.0, ends / 2.0, cost, params.beta_per_min)
    od = base_od * scale

    # model node numbering: zones 0 .. nz - 1, road node j is nz + j
    node = nz + conn_node
    n_conn = conn_node.size
    init = np.concatenate([nz + road.tail, conn_zone, node])
    term = np.concatenate([nz + road.head, node, conn_zone])
    length = np.concatenate([road.length_km, conn_km, conn_km])
    t0 = np.concatenate([t0_road, conn_min, conn_min])
    cap = np.concatenate([road.capacity, np.full(2 * n_conn, 1e6)])
    b = np.concatenate([np.full(t0_road.size, BPR_B), np.zeros(2 * n_conn)])
    power = np.full(init.size, BPR_POWER)
    speed = np.concatenate([road.speed_kmh, np.full(2 * n_conn, params.connector_speed_kmh)])
    code = np.concatenate([road.code, np.zeros(2 * n_conn, np.int64)])
    zone_lbl = np.char.add("zone/", conn_zone.astype(str))
    node_lbl = node.astype(str)
    ids = np.concatenate(
        [
            road.ids,
            np.char.add(np.char.add(zone_lbl, ">"), node_lbl).astype(object),
            np.char.add(np.char.add(node_lbl, ">"), zone_lbl).astype(object),
        ]
    ).astype(object)
    seg_row = np.concatenate([road.row, np.full(2 * n_conn, -1, np.int64)])
    toll = np.zeros(init.size)
    arrays = [init, term, cap, length, t0, b, power, speed, toll, code]
    arrays = [np.ascontiguousarray(x) for x in arrays]
    _freeze(*arrays)
    net = TntpNetwork(
        init_node=arrays[0].astype(np.int64),
        term_node=arrays[1].astype(np.int64),
        capacity=arrays[2],
        length=arrays[3],
        free_flow_time=arrays[4],
        b=arrays[5],
        power=arrays[6],
        speed=arrays[7],
        toll=arrays[8],
        link_type=arrays[9].astype(np.int64),
        n_zones=nz,
        n_nodes=nz + n_road,
        first_thru_node=nz,
        source=source,
    )
    _freeze(net.init_node, net.term_node, net.link_type)
    od = np.ascontiguousarray(od)
    _freeze(od)
    node_xy = np.vstack([zone_xy, road.node_xy])
    mean_cost = float(np.sum(base_od * np.where(np.isfinite(cost), cost, 0.0)) / base_od.sum())
    description = (
        f"{source + ': ' if source else ''}{road.tail.size} road links on {n_road} nodes "
        f"(OSM ways split at junctions), {nz} zones of {params.zone_cell_m:g} m with "
        f"{params.connectors} connectors each; demand {od.sum():.0f} veh/h in the morning peak "
        f"(ITE 710 rate x {scale:.4g} on {zone_floor.sum():.0f} m2 floor area, gravity model "
        f"exp(-{params.beta_per_min:g} t), mean free-flow trip {mean_cost:.1f} min, "
        f"{furness_it} Furness iterations)"
    )
    return TrafficModel(
        network=net,
        demand=TntpDemand(od=od, source=source),
        link_ids=ids,
        segment_row=seg_row,
        closed=np.zeros(init.size, bool),
        node_xy=node_xy,
        time_unit_h=1.0 / 60.0,
        length_unit_km=1.0,
        description=description,
    )


def traffic_model(
    roads: Any, buildings: Any, params: TrafficParams = TrafficParams(), source: str = ""
) -> TrafficModel:
    """The traffic model of a district from its road and building tables.

    Parameters
    ----------
    roads
        GeoDataFrame of road centre lines in local metres with ``id`` (``way/123``), ``class``,
        ``lanes``, ``maxspeed_kmh``, ``oneway`` (1, -1, 0) and optionally ``junction``, as
        :func:`twin_app.io.vector.prepare_roads` makes it (projected to the local frame).
    buildings
        GeoDataFrame of footprints in local metres with ``height_m`` and optionally
        ``building:levels``.
    params
        Model parameters (``demand_scale`` None means 1.0 here).
    source
        Named in the description.

    Returns
    -------
    TrafficModel
        Links in veh/h, minutes and km; ``segment_row`` is the row of ``roads``.
    """
    from twin_app.geometry.lines import line_arrays

    coords, offsets, part_row = line_arrays(np.asarray(roads.geometry.values, dtype=object))
    masses = building_masses(buildings, params.storey_m)
    return traffic_model_from_arrays(
        pd.DataFrame(roads), coords, offsets, part_row, masses, params, source
    )


def traffic_model_from_sets(
    roads: Any, buildings: Any, params: TrafficParams = TrafficParams(), source: str = ""
) -> TrafficModel:
    """The traffic model from a loaded twin's road and buildings FeatureSets (no file read).

    ``segment_row`` is the row of the road FeatureSet's table (what the app colours).
    """
    if roads.lines is None:
        raise InputError(f"{roads.name}: no centre lines to build a road network from")
    lines = roads.lines
    masses = building_masses_from_set(buildings, params.storey_m)
    return traffic_model_from_arrays(
        roads.table,
        lines.coords[:, :2],
        lines.offsets,
        lines.line_feature(),
        masses,
        params,
        source,
    )


# -- twins, cache ---------------------------------------------------------------------------

_MEMORY: dict[str, TrafficModel] = {}


def default_cache_dir() -> Path:
    """``$TWIN_APP_CACHE/traffic`` or ``~/.cache/twin_app/traffic``."""
    root = os.environ.get("TWIN_APP_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "twin_app"
    return base / "traffic"


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, mtime, size) so a warm lookup reads nothing."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[memo] = h.hexdigest()
    return _DIGESTS[memo]


def manifest_traffic(twin_dir: Path) -> dict[str, Any]:
    """The ``[traffic]`` table of a twin's manifest ({} when it has none)."""
    from twin_app.io.manifest import read_manifest

    extra = read_manifest(twin_dir).model_extra or {}
    table = extra.get("traffic", {})
    if not isinstance(table, Mapping):
        raise InputError(f"{twin_dir}: manifest key 'traffic' must be a table")
    return dict(table)


def _resolved_params(twin_dir: Path, params: TrafficParams) -> TrafficParams:
    if params.demand_scale is not None:
        return params
    value = manifest_traffic(twin_dir).get("demand_scale", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InputError(
            f"{twin_dir}: manifest key 'traffic.demand_scale' must be a positive number"
        )
    return replace(params, demand_scale=float(value))


def _cache_key(paths: list[Path], params: TrafficParams) -> str:
    h = hashlib.sha256(f"v{MODEL_VERSION}|{sorted(asdict(params).items())}".encode())
    for p in paths:
        h.update(p.name.encode())
        h.update(_file_digest(p).encode())
    return h.hexdigest()[:32]


def _save(model: TrafficModel, path: Path) -> None:
    net = model.network
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        init_node=net.init_node,
        term_node=net.term_node,
        capacity=net.capacity,
        length=net.length,
        free_flow_time=net.free_flow_time,
        b=net.b,
        power=net.power,
        speed=net.speed,
        toll=net.toll,
        link_type=net.link_type,
        meta=np.array([net.n_zones, net.n_nodes, net.first_thru_node], np.int64),
        units=np.array([model.time_unit_h, model.length_unit_km]),
        od=model.demand.od,
        link_ids=model.link_ids.astype(str),
        segment_row=model.segment_row,
        node_xy=model.node_xy,
        text=np.array([net.source, model.description]),
    )
    tmp.replace(path)


def _load(path: Path) -> TrafficModel:
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    nz, nn, ft = (int(v) for v in d["meta"])
    arrays = {
        k: d[k]
        for k in (
            "init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power",
            "speed", "toll", "link_type",
        )
    }  # fmt: skip
    _freeze(*arrays.values())
    source, description = (str(s) for s in d["text"])
    net = TntpNetwork(**arrays, n_zones=nz, n_nodes=nn, first_thru_node=ft, source=source)
    od = d["od"]
    _freeze(od)
    return TrafficModel(
        network=net,
        demand=TntpDemand(od=od, source=source),
        link_ids=d["link_ids"].astype(object),
        segment_row=d["segment_row"].astype(np.int64),
        closed=np.zeros(net.n_links, bool),
        node_xy=d["node_xy"],
        time_unit_h=float(d["units"][0]),
        length_unit_km=float(d["units"][1]),
        description=description,
    )


def _load_sets(paths: list[Path], label: str) -> tuple[Any, Any]:
    """Road and building FeatureSets of some files, read headless (the frame the app uses)."""
    from twin_app.io.load import load_city

    result = load_city(paths)
    roads = [s for s in result.city.sets if s.kind == "roads" and s.lines is not None]
    blds = [s for s in result.city.sets if s.kind == "buildings"]
    if not roads:
        raise InputError(f"{label}: no roads to build a traffic network from")
    if not blds:
        raise InputError(f"{label}: no buildings to make traffic demand from")
    # The first road layer is the one scenario link ids and segment rows refer to.
    return roads[0], max(blds, key=lambda s: s.n_features)


def traffic_model_for_paths(
    paths: list[Path],
    params: TrafficParams = TrafficParams(),
    cache: bool = True,
    cache_dir: Path | None = None,
    source: str = "",
) -> TrafficModel:
    """The traffic model of geometry files (an OSM extract ...), read headless and cached.

    The files are read with :func:`twin_app.io.load.load_city` (the frame the app chooses for
    them, so ``node_xy`` and ``segment_row`` match the drawn roads), then
    :func:`traffic_model_from_sets` builds the model (``demand_scale`` None means 1.0).

    Parameters
    ----------
    paths
        Geometry files holding the roads and the buildings.
    params
        Model parameters.
    cache
        Reuse a model built before for the same files (SHA-256 of each) and parameters: in
        this process, else from ``cache_dir``. Building the sample twin's model takes about
        1 s, nearly all of it reading the extract (from FeatureSets already loaded,
        :func:`traffic_model_from_sets` takes about 25 ms), a cached one about 15 ms in
        process and 30-100 ms from disk.
    cache_dir
        Where built models are kept (default :func:`default_cache_dir`).
    source
        Named in the description (default: the first file's name).

    Returns
    -------
    TrafficModel
    """
    files = [Path(p) for p in paths]
    label = source or (files[0].name if files else "")
    if params.demand_scale is None:
        params = replace(params, demand_scale=1.0)
    key = _cache_key(files, params) if cache else ""
    if cache and key in _MEMORY:
        return _MEMORY[key]
    path = (cache_dir or default_cache_dir()) / f"{key}.npz"
    if cache and path.exists():
        try:
            model = _load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("traffic model cache %s unreadable (%s): rebuilding", path, exc)
        else:
            _MEMORY[key] = model
            return model
    t = time.perf_counter()
    roads, buildings = _load_sets(files, label)
    model = traffic_model_from_sets(roads, buildings, params, source=label)
    log.info("traffic model of %s built in %.2f s", label, time.perf_counter() - t)
    if cache:
        try:
            _save(model, path)
        except OSError as exc:
            log.warning("traffic model cache %s not written (%s)", path, exc)
        _MEMORY[key] = model
    return model


def traffic_model_for_twin(
    twin_dir: Path | str,
    params: TrafficParams = TrafficParams(),
    cache: bool = True,
    cache_dir: Path | None = None,
) -> TrafficModel:
    """The traffic model of a twin folder (its manifest's geometry files), headless and cached.

    ``params.demand_scale`` None takes the manifest's ``[traffic] demand_scale`` (1.0 without);
    the rest is :func:`traffic_model_for_paths`.

    Parameters
    ----------
    twin_dir
        The twin folder (or its manifest).
    params, cache, cache_dir
        As for :func:`traffic_model_for_paths`.
    """
    from twin_app.io.manifest import read_manifest

    folder = Path(twin_dir)
    if folder.name == "manifest.toml":
        folder = folder.parent
    params = _resolved_params(folder, params)
    # BIM files (an IFC proposal) hold no roads and no city buildings: the traffic model, its
    # cache key and its calibration stay those of the city geometry
    paths = [p for p in read_manifest(folder).paths() if p.suffix.lower() != ".ifc"]
    return traffic_model_for_paths(paths, params, cache, cache_dir, source=folder.name)


# -- calibration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedSpeeds:
    """Morning-peak speed ratio of a replayed traffic series.

    Attributes
    ----------
    ratio
        Mean over detectors of (peak-hour mean speed / free-flow speed).
    detectors
        Detectors with data in the window.
    window_start, window_end
        The series' own UTC times of the peak hour.
    """

    ratio: float
    detectors: int
    window_start: pd.Timestamp
    window_end: pd.Timestamp


def observed_peak_speed_ratio(
    twin_dir: Path | str, night_hours: tuple[float, float] = (0.0, 5.0), percentile: float = 95.0
) -> ObservedSpeeds:
    """Observed morning-peak ``speed / free-flow`` of the twin's first traffic series.

    The peak hour is the hour the twin's clock opens at (``[clock] start``, 08:00 local on the
    first day for the sample), moved to the series' own time by ``source_start``; a
    detector's free-flow speed is the ``percentile`` of its readings in ``night_hours`` of every
    replayed day (hours after ``source_start``, modulo 24 h); zero readings are missing data.
    """
    from twin_app.io.manifest import read_manifest

    m = read_manifest(twin_dir)
    series = [s for s in m.series if s.kind == "traffic"]
    if not series:
        raise InputError(f"{twin_dir}: the twin replays no traffic series to calibrate against")
    s = series[0]
    if not s.source_start or not m.replay_start or m.start_ns is None:
        raise InputError(
            f"{twin_dir}: manifest keys 'replay_start', 'clock.start' and the traffic series' "
            "'source_start' are needed to find the morning peak"
        )
    src0 = pd.Timestamp(s.source_start)
    src0 = src0.tz_localize("UTC") if src0.tzinfo is None else src0.tz_convert("UTC")
    shift = m.replay_start_ns - src0.value
    start = pd.Timestamp(m.start_ns - shift, tz="UTC")
    end = start + pd.Timedelta(hours=1)
    data = pd.read_parquet(Path(m.folder) / s.path, columns=["sensor_id", "t", "value"])
    speeds = data.pivot_table(index="t", columns="sensor_id", values="value", aggfunc="mean")
    v = np.array(speeds.to_numpy(np.float64), copy=True)
    v[~(v > 0)] = np.nan
    t = pd.DatetimeIndex(speeds.index)
    t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
    hours = ((t - src0) / pd.Timedelta(hours=1)).to_numpy(np.float64) % 24.0
    night = (hours >= night_hours[0]) & (hours < night_hours[1])
    peak = (t >= start) & (t < end)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN detectors
        free = np.nanpercentile(v[night], percentile, axis=0)
        mean_peak = np.nanmean(v[peak], axis=0)
    ratio = mean_peak / free
    ok = np.isfinite(ratio) & (free > 0)
    if not ok.any():
        raise InputError(f"{Path(m.folder) / s.path}: no detector has speeds in the morning peak")
    return ObservedSpeeds(float(np.mean(ratio[ok])), int(ok.sum()), start, end)


def model_speed_ratio(model: TrafficModel, flow: FloatArray, time_: FloatArray) -> float:
    """Flow-weighted mean of ``t0 / t`` over road links (``segment_row >= 0``).

    ``sum_a x_a (t0_a / t_a) / sum_a x_a``: the mean ratio of congested to free-flow speed a
    vehicle sees, per link crossed.
    """
    road = model.segment_row >= 0
    x = np.asarray(flow)[road]
    if not x.sum() > 0:
        return 1.0
    r = model.network.free_flow_time[road] / np.asarray(time_)[road]
    return float(np.dot(x, r) / x.sum())


def _with_demand(model: TrafficModel, factor: float) -> TrafficModel:
    od = np.ascontiguousarray(model.demand.od * factor)
    _freeze(od)
    return replace(model, demand=TntpDemand(od=od, source=model.demand.source))


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate_demand_scale`."""

    demand_scale: float
    observed: ObservedSpeeds
    model_ratio: float
    evaluations: int


def calibrate_demand_scale(
    twin_dir: Path | str,
    params: TrafficParams = TrafficParams(),
    relative_gap: float = 1e-4,
    tolerance: float = 0.002,
    bounds: tuple[float, float] = (0.1, 4.0),
    max_evaluations: int = 30,
    cache_dir: Path | None = None,
) -> Calibration:
    """The demand scale at which the twin's assigned speed ratio matches the observed one.

    The ratio falls as demand grows, so the root of ``model_ratio(s) - observed`` is bracketed
    by ``bounds`` and found by the Illinois variant of regula falsi on ``log(s)`` (Dowell &
    Jarratt 1971, *BIT* 11, pp. 168-174: the retained end's value is halved when the same end
    is kept twice, which keeps bisection's safety with superlinear convergence). Each
    evaluation builds nothing: the model at scale 1 is built once and ``s * od`` is assigned
    with :func:`twin_app.engines.traffic.assign` at ``relative_gap``; the model ratio is
    :func:`model_speed_ratio`, the observed one :func:`observed_peak_speed_ratio`. Stops when
    they agree within ``tolerance``. ``cache_dir`` is passed to :func:`traffic_model_for_twin`.
    """
    from twin_app.engines.traffic import assign

    observed = observed_peak_speed_ratio(twin_dir)
    base = traffic_model_for_twin(twin_dir, replace(params, demand_scale=1.0), cache_dir=cache_dir)
    target = observed.ratio

    def excess(log_scale: float) -> float:
        m = _with_demand(base, float(np.exp(log_scale)))
        r = assign(m.network, m.demand, relative_gap=relative_gap)
        return model_speed_ratio(m, r.flow, r.time) - target

    lo, hi = float(np.log(bounds[0])), float(np.log(bounds[1]))
    f_lo, f_hi = excess(lo), excess(hi)
    n = 2
    if not (f_hi <= 0.0 <= f_lo):
        raise InputError(
            f"{twin_dir}: observed speed ratio {target:.3f} is outside what demand scales "
            f"{bounds[0]:g}..{bounds[1]:g} give ({f_hi + target:.3f}..{f_lo + target:.3f})"
        )
    x, f_x = (lo, f_lo) if abs(f_lo) < abs(f_hi) else (hi, f_hi)
    side = 0
    while abs(f_x) > tolerance and n < max_evaluations:
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        f_x = excess(x)
        n += 1
        if f_x > 0.0:  # still too fast: more demand
            lo, f_lo = x, f_x
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = x, f_x
            if side == 1:
                f_lo *= 0.5
            side = 1
    return Calibration(float(np.exp(x)), observed, f_x + target, n)
