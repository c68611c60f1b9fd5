"""Immutable model snapshots that interventions take and return, and scenario results.

An intervention is a pure function ``(snapshot, frozen params) -> snapshot`` (DESIGN.md
section 5): it copies what it changes and never mutates its input, so the baseline stays the
baseline and undo is dropping the scenario's snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twin_app.io.tntp import TntpDemand, TntpNetwork

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]


@dataclass(frozen=True, eq=False)
class TrafficModel:
    """A road network with demand, ready for :func:`twin_app.engines.traffic.assign`.

    Attributes
    ----------
    network, demand
        The directed links and the OD matrix (zones are nodes ``0 .. n_zones - 1``).
    link_ids
        (n_links,) the id a scenario file names a link by: ``"from-to"`` with the file's node
        numbers for TNTP networks; the road segment id for twin roads (``way/123`` forward,
        ``way/123@r`` against the digitised direction), ``zone/K>N`` / ``N>zone/K`` for the
        connectors of zone K.
    segment_row
        (n_links,) row of the road layer's feature table each link was built from, -1 for
        zone connectors and TNTP links (used to colour the drawn roads by a result).
    closed
        (n_links,) True for links an intervention closed: they carry no flow and no path uses
        them.
    node_xy
        (n_nodes, 2) node positions in the twin's local metres (NaN for TNTP networks).
    time_unit_h, length_unit_km
        Hours per network time unit and kilometres per length unit (for the KPIs).
    description
        How the network and demand were made (shown in reports).
    """

    network: TntpNetwork
    demand: TntpDemand
    link_ids: ObjArray
    segment_row: IntArray
    closed: BoolArray
    node_xy: FloatArray
    time_unit_h: float
    length_unit_km: float
    description: str = ""

    def __post_init__(self) -> None:
        n = self.network.n_links
        for name in ("link_ids", "segment_row", "closed"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"TrafficModel.{name} has shape {arr.shape}, expected ({n},)")
            arr.flags.writeable = False
        self.node_xy.flags.writeable = False

    def link_index(self) -> dict[str, int]:
        """Map of link id -> position in the link arrays."""
        return {str(k): i for i, k in enumerate(self.link_ids)}

    def links_named(self, name: str) -> IntArray:
        """Positions of the links a scenario means by ``name`` (empty when none).

        The link whose id is ``name``; else, for a twin road split at junctions into links
        ``way/123#1``, ``way/123#2`` ... (``#i@r`` against the digitised direction), all links
        of that way in the direction ``name`` gives: ``way/123`` its forward links,
        ``way/123@r`` its reverse ones.
        """
        ids = self.link_ids.astype(str)
        exact = np.flatnonzero(ids == name)
        if exact.size:
            return exact.astype(np.int64)
        base, at, rest = name.partition("@")
        if "#" in base:
            return np.zeros(0, np.int64)
        parts = np.char.startswith(ids, base + "#")
        if at:
            parts &= np.char.endswith(ids, "@" + rest)
        else:
            parts &= np.char.find(ids, "@", len(base)) < 0
        return np.flatnonzero(parts).astype(np.int64)


@dataclass(frozen=True, eq=False)
class WaterModel:
    """An EPANET network file and the changes a scenario makes to it.

    ``changes`` is a :class:`twin_app.engines.water.WaterChanges` (frozen); the file itself is
    never edited.
    """

    inp_path: Path
    changes: Any


@dataclass(frozen=True)
class Kpi:
    """One KPI of a baseline/scenario pair."""

    name: str
    baseline: float
    scenario: float
    unit: str

    @property
    def delta(self) -> float:
        """``scenario - baseline`` (NaN when either is NaN)."""
        if math.isnan(self.baseline) or math.isnan(self.scenario):
            return math.nan
        return self.scenario - self.baseline


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Baseline and scenario of one scenario file, side by side.

    Attributes
    ----------
    name
        The scenario's name.
    kpis
        KPIs in a stable order (traffic, water, sun, then air, patrol, radio).
    links
        Traffic links: ``id, from, to, flow_baseline, flow_scenario, flow_delta, vc_baseline,
        vc_scenario, time_baseline, time_scenario`` (+ ``segment_row``), or None.
    nodes
        Water junctions: ``id, min_pressure_baseline, min_pressure_scenario,
        min_pressure_delta, demand_served_baseline, demand_served_scenario``, or None.
    pipes
        Water links: ``id, flow_baseline, flow_scenario, flow_delta`` (m³/s, at the step of
        lowest pressure), or None.
    warnings
        One line each.
    elapsed_s
        Wall time of the run.
    extra
        The studies' rasters, models and results for the views and exports.
    conditions
        What the runs assumed, one line per study (the sun study's day and area, the air
        run's wind and where it came from, its stability class): shown beside the KPIs.
    scenario
        The :class:`~twin_app.scenarios.file.Scenario` that was run (a front end tells by it
        whether the result is still that of the scenario being edited), or None.
    """

    name: str
    kpis: tuple[Kpi, ...]
    links: pd.DataFrame | None = None
    nodes: pd.DataFrame | None = None
    pipes: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()
    scenario: Any = None

    def kpi(self, name: str) -> Kpi:
        """The KPI called ``name`` (KeyError if absent)."""
        for k in self.kpis:
            if k.name == name:
                return k
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class MassingModel:
    """The twin's buildings as one LoD1 mesh, for massing interventions and sun studies.

    Attributes
    ----------
    mesh
        The buildings' :class:`~twin_app.model.mesh.TriMesh` (local metres) with the cell
        arrays ``building_index`` (row of ``building_ids``) and ``surface``; its arrays are
        read-only, interventions return new meshes.
    building_ids
        (n,) the id each building index is named by (``way/123`` for the twin's OSM
        buildings, the scenario's ``id`` or ``new/K`` for added ones). A removed building keeps
        its id and index but has no triangles left.
    lat_deg, lon_deg
        The place of the sun studies: the twin's buildings' centre, WGS 84 degrees.
    frame
        The twin's :class:`~twin_app.model.frame.LocalFrame` (lon/lat footprints go through it).
    ground_z
        Height of the ground receptors: the lowest point of the baseline mesh, metres.
    changed
        Building indices the interventions so far added, removed or changed.
    bodies
        Building indices that are a model's own body (an IFC proposal), not LoD1 prisms:
        their height cannot be set.
    body_files
        The resolved file of each of :attr:`bodies` (the views leave that model's own layer
        out of the comparison: the scenario's buildings draw it).
    description
        Where the buildings came from.
    """

    mesh: Any
    building_ids: ObjArray
    lat_deg: float
    lon_deg: float
    frame: Any
    ground_z: float = 0.0
    changed: tuple[int, ...] = ()
    bodies: tuple[int, ...] = ()
    body_files: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        self.building_ids.flags.writeable = False
        self.mesh.points.flags.writeable = False
        self.mesh.triangles.flags.writeable = False
        for arr in self.mesh.cell_data.values():
            np.asarray(arr).flags.writeable = False

    @property
    def n_buildings(self) -> int:
        """Number of building indices (removed ones included)."""
        return int(self.building_ids.shape[0])

    def building_index(self) -> dict[str, int]:
        """Map of building id -> building index."""
        return {str(k): i for i, k in enumerate(self.building_ids)}
