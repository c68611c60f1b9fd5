"""Water distribution hydraulics: EPANET 2.2 through wntr (the only module that imports wntr).

:func:`simulate` reads an EPANET ``.inp`` file with wntr, applies the run settings and any
closed links to that private copy of the model (the file and any caller's object are never
touched), runs wntr's ``EpanetSimulator`` (the EPANET 2.2 toolkit solving the whole period in C)
and returns a :class:`WaterResult`: per-step, per-element arrays in SI units and KPIs.

Why EPANET and not wntr's own ``WNTRSimulator``: on this machine the EPANET path runs Net3 for
24 h in about 16 ms, the Python one 9-30x slower, and the two disagree badly once pressures go
negative (DESIGN.md section 8). Reference: L. A. Rossman et al., *EPANET 2.2 User Manual*,
EPA/600/R-20/133 (2020); the pressure-driven demand model is its section 3.1 (Wagner's relation)::

    d = D                                  if p >= P_req
    d = D * ((p - P_min) / (P_req - P_min)) ** e   if P_min < p < P_req
    d = 0                                  if p <= P_min

with D the requested demand, p the node pressure, ``e`` the pressure exponent.

Scenarios: :class:`WaterChanges` (closed links, leaks and breaks, pump outages, demand
changes) are built into the private model with EPANET's own elements (see :func:`simulate`:
a leak is an emitter behind a time-switched pipe, an outage a time-switched pipe in series with
the pump); :func:`isolation` proposes the valves that isolate a break (wntr's valve segments)
and :func:`isolation_changes` shuts them. KPIs (:func:`kpis_of`): ``min_pressure_m``,
``junctions_below_service_pressure``, ``demand_not_served_m3``, ``customers_affected``
(customer equivalents of :data:`CUSTOMER_M3_PER_DAY`), ``leak_volume_m3``, and older ones.

Validation: ``tests/engines/test_water.py`` runs the same files through the EPANET toolkit
directly (``ENopenH/ENrunH/ENnextH``, values read with ``ENgetnodevalue/ENgetlinkvalue`` in the
file's units and converted by the test) and checks every reported step;
``tests/engines/test_water_scenarios.py`` checks each kind of change against wntr runs of the
network changed with plain wntr calls, and leaks against wntr's own leak model.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import EngineError
from twin_app.io.epanet import _empty_link_rows, _link_table, _node_table
from twin_app.io.source import LoadReport
from twin_app.model.mesh import FloatArray
from twin_app.model.network import JUNCTION, PIPE, PUMP, RESERVOIR, TANK, VALVE, PipeNetwork

Float32Array = np.ndarray[Any, np.dtype[np.float32]]
Int64Array = np.ndarray[Any, np.dtype[np.int64]]
Int8Array = np.ndarray[Any, np.dtype[np.int8]]
ObjArray = np.ndarray[Any, np.dtype[np.object_]]

#: Pressure below which a junction counts as under-served in the ``nodes_below_20m`` KPI.
SERVICE_PRESSURE_M = 20.0

#: Newton trials of the second run when the file's setting leaves a step unbalanced.
RETRY_TRIALS = 500

#: Unit of every KPI in :attr:`WaterResult.kpis`.
KPI_UNITS: dict[str, str] = {
    "min_pressure_m": "m",
    "junctions_below_service_pressure": "junctions",
    "demand_not_served_m3": "m³",
    "customers_affected": "customers",
    "leak_volume_m3": "m³",
    "nodes_below_20m": "junctions",
    "total_demand_m3": "m³",
    "delivered_demand_m3": "m³",
    "unmet_demand_m3": "m³",
    "unmet_demand_pct": "%",
    "max_velocity_ms": "m/s",
}

#: Codes of :attr:`WaterResult.status` (as wntr reads them from EPANET's output file).
STATUS_CLOSED = 0
STATUS_OPEN = 1
STATUS_ACTIVE = 2


@dataclass(frozen=True)
class Leak:
    """A pipe break or leak: an orifice of ``area_m2`` opening at ``start_s``.

    ``element`` is a junction id or a pipe id (a pipe is split at its middle and the leak
    placed on the new node). Discharge follows the orifice law ``q = Cd * A * sqrt(2 g p)``.
    """

    element: str
    area_m2: float
    start_s: float = 0.0
    discharge_coeff: float = 0.75
    #: ``junction``, ``pipe``, or ``auto``: a junction when one has the id, else a pipe
    #: (EPANET keeps node and link ids apart, so a file may use "22" for both).
    kind: str = "auto"


@dataclass(frozen=True)
class PumpOutage:
    """A pump switched off from ``start_s`` to ``end_s`` (None: to the end of the run)."""

    pump: str
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True)
class DemandChange:
    """Base demands of ``junctions`` (empty: every junction) multiplied by ``factor``."""

    junctions: tuple[str, ...]
    factor: float


@dataclass(frozen=True)
class WaterChanges:
    """Everything a scenario changes in a water network, applied to a private copy."""

    closed_links: tuple[str, ...] = ()
    leaks: tuple[Leak, ...] = ()
    pump_outages: tuple[PumpOutage, ...] = ()
    demand_changes: tuple[DemandChange, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is changed."""
        return not (self.closed_links or self.leaks or self.pump_outages or self.demand_changes)


#: Gravity in the orifice law of a leak, m/s²: the value of wntr's own leak model
#: (``WNTRSimulator``), so that both give the same discharge for the same area.
G_M_S2 = 9.81

#: One customer (a household service connection), m³/day: 2.3 persons x 150 L per person and
#: day (EU mean household size, Eurostat 2021; a typical European domestic use). Junction
#: demands in .inp files carry no customer counts, so ``customers_affected`` counts
#: customer equivalents: the junction's mean requested volume a day / this.
CUSTOMER_M3_PER_DAY = 0.35

#: A consumer junction counts in ``customers_affected`` when its unmet volume exceeds this
#: share of its requested volume (or it stays below the service pressure long enough).
UNSERVED_SHARE = 0.01

#: Length and diameter of the short pipe that switches a leak or a pump outage, m: its
#: head loss (a few mm at most at the flows of a break) is below EPANET's own accuracy.
_SWITCH_LENGTH_M = 0.001
_SWITCH_DIAMETER_M = 1.0


@dataclass(frozen=True, eq=False)
class WaterResult:
    """Hydraulics of one run, one row per reported step; arrays are read-only.

    Only the elements of the file are reported: the nodes and links a leak or a pump outage
    adds to the model copy (see :func:`simulate`) are left out; a split pipe is reported by
    its first half, which keeps its id.

    Attributes
    ----------
    source
        The ``.inp`` file.
    start_ns
        UTC start of the simulated period, ns since the epoch (0 when not given).
    times_ns
        (T,) int64 UTC times of the reported steps: ``start_ns + elapsed_s * 1e9``.
    elapsed_s
        (T,) int64 seconds since the start of the run.
    node_ids, node_types
        (N,) node ids and ``junction``/``reservoir``/``tank``; junctions first, then
        reservoirs and tanks (the order of :class:`~twin_app.model.network.PipeNetwork`).
    link_ids, link_types
        (L,) link ids and ``pipe``/``pump``/``valve``; pipes, pumps, valves.
    pressure_m
        (T, N) float32 pressure head, m (``head - elevation``; 0 at reservoirs; tank level).
    head_m
        (T, N) float32 hydraulic head, m above the file's datum.
    demand_m3s
        (T, N) float32 delivered demand, m³/s: consumption at junctions (under the
        pressure-driven model, what the pressure allows); at reservoirs and tanks the net
        inflow (negative when they supply the network). Leak outflow is not in it (see
        `leak_m3s`).
    expected_demand_m3s
        (T, N) float32 requested demand (base demands x demand changes x patterns x demand
        multiplier; 0 at reservoirs and tanks).
    flow_m3s
        (T, L) float32 flow, m³/s, positive from start to end node.
    velocity_ms
        (T, L) float32 mean velocity, m/s (unsigned, as EPANET reports it).
    status
        (T, L) int8: 0 closed, 1 open, 2 active (a valve regulating); a pump is 0 while an
        outage holds it off.
    kpis
        Named KPIs, units in :data:`KPI_UNITS` (see :func:`kpis_of`).
    closed_links
        Links closed for this run.
    demand_model
        ``PDD`` (pressure-driven) or ``DDA`` (demand-driven).
    warnings
        EPANET and wntr warnings of the run (one line each).
    run_time_s
        Wall time of the run (read, solve, read back).
    leak_m3s
        (T, K) float32 outflow of each leak of ``changes.leaks``, m³/s (EPANET's emitter flow;
        it may turn slightly negative, an inflow, where the pressure at the break is negative).
    changes
        The changes this run applied.
    """

    source: str
    start_ns: int
    times_ns: Int64Array
    elapsed_s: Int64Array
    node_ids: ObjArray
    node_types: ObjArray
    link_ids: ObjArray
    link_types: ObjArray
    pressure_m: Float32Array
    head_m: Float32Array
    demand_m3s: Float32Array
    expected_demand_m3s: Float32Array
    flow_m3s: Float32Array
    velocity_ms: Float32Array
    status: Int8Array
    kpis: dict[str, float]
    closed_links: tuple[str, ...] = ()
    demand_model: str = "PDD"
    warnings: tuple[str, ...] = ()
    run_time_s: float = 0.0
    leak_m3s: Float32Array = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    changes: WaterChanges = field(default_factory=WaterChanges)
    _node_row: dict[str, int] = field(default_factory=dict, repr=False)
    _link_row: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for value in self.__dict__.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        self._node_row.update({str(n): i for i, n in enumerate(self.node_ids)})
        self._link_row.update({str(n): i for i, n in enumerate(self.link_ids)})

    def node_index(self, node_id: str) -> int:
        """Column of a node in the (T, N) arrays."""
        return self._node_row[node_id]

    def link_index(self, link_id: str) -> int:
        """Column of a link in the (T, L) arrays."""
        return self._link_row[link_id]

    def kpi_table(self) -> pd.DataFrame:
        """KPIs as rows of ``kpi``, ``value``, ``unit``."""
        return pd.DataFrame(
            {
                "kpi": list(self.kpis),
                "value": list(self.kpis.values()),
                "unit": [KPI_UNITS.get(k, "") for k in self.kpis],
            }
        )


def longest_run_s(below: np.ndarray[Any, np.dtype[np.bool_]], dt_s: FloatArray) -> FloatArray:
    """Longest stretch of consecutive True rows of `below` (T, N), in seconds, per column.

    Row k stands for the interval ``[t_k, t_k + dt_s[k])`` (the last report closes the period,
    ``dt = 0``). Vectorised: the running sum of ``below * dt`` minus its value at the last
    False row before.
    """
    if below.shape[0] == 0:
        return np.zeros(below.shape[1])
    inc = np.where(below, dt_s[:, None], 0.0)
    total = np.cumsum(inc, axis=0)
    reset = np.maximum.accumulate(np.where(below, 0.0, total), axis=0)
    return np.asarray((total - reset).max(axis=0), np.float64)


def kpis_of(
    node_types: ObjArray,
    elapsed_s: Int64Array,
    pressure_m: Float32Array,
    demand_m3s: Float32Array,
    expected_m3s: Float32Array,
    velocity_ms: Float32Array,
    *,
    base_demand_m3s: FloatArray | None = None,
    leak_m3s: Float32Array | None = None,
    service_pressure_m: float = SERVICE_PRESSURE_M,
    service_duration_s: float = 3600.0,
) -> dict[str, float]:
    """KPIs of a run.

    Volumes integrate each reported rate over the interval up to the next report
    (``V = sum_k q_k * (t_{k+1} - t_k)``; the last step closes the period), which is exact when
    demands change only at report times (patterns stepping on multiples of the report step).
    Only junctions with a positive requested demand count as consumers (negative demands
    are inflows).

    Parameters
    ----------
    base_demand_m3s
        (N,) the file's base demand of each node (before any demand change), m³/s, for the
        customer equivalents of ``customers_affected``; None: the mean requested demand.
    leak_m3s
        (T, K) outflow of each leak, m³/s.
    service_pressure_m, service_duration_s
        A junction is under-served when its pressure stays below `service_pressure_m` for at
        least `service_duration_s` in a row (a report step lasts until the next one).

    Returns
    -------
    dict
        ``min_pressure_m`` lowest junction pressure over all steps;
        ``junctions_below_service_pressure`` junctions under-served as above;
        ``demand_not_served_m3`` = sum over consumers of ``max(requested - delivered, 0) * dt``
        (also as ``unmet_demand_m3``, with ``unmet_demand_pct`` its share of the requested
        ``total_demand_m3`` and ``delivered_demand_m3`` = total - unmet);
        ``customers_affected``: customer equivalents (mean requested rate without the
        scenario's demand changes, per day, / ``CUSTOMER_M3_PER_DAY``)
        summed over consumer junctions whose unmet volume exceeds ``UNSERVED_SHARE`` of their
        requested volume or that are under-served, rounded to a whole number;
        ``leak_volume_m3`` volume lost through leaks; ``nodes_below_20m`` junctions below
        :data:`SERVICE_PRESSURE_M` at any step; ``max_velocity_ms`` over all links and steps.
    """
    junction = node_types == "junction"
    p = pressure_m[:, junction].astype(np.float64)
    q = demand_m3s[:, junction].astype(np.float64)
    e = expected_m3s[:, junction].astype(np.float64)
    dt = np.append(np.diff(elapsed_s).astype(np.float64), 0.0)
    requested_j = (np.clip(e, 0.0, None) * dt[:, None]).sum(axis=0)
    consumer = requested_j > 0
    # delivered in [0, requested]: an unconverged step can report any value at all
    served = np.clip(q, 0.0, np.clip(e, 0.0, None))
    unmet_j = np.where(consumer, ((np.clip(e, 0.0, None) - served) * dt[:, None]).sum(axis=0), 0.0)
    total = float(requested_j.sum())
    unmet = float(unmet_j.sum())
    below = p < float(service_pressure_m)
    under = below.any(axis=0) & (longest_run_s(below, dt) >= float(service_duration_s))
    affected = consumer & ((unmet_j > UNSERVED_SHARE * requested_j) | under)
    if base_demand_m3s is None:
        period = float(dt.sum())
        base = requested_j / period if period > 0 else np.clip(e[0], 0.0, None)
    else:
        base = np.clip(np.asarray(base_demand_m3s, np.float64)[junction], 0.0, None)
    customers = base * 86400.0 / CUSTOMER_M3_PER_DAY
    leak = 0.0
    if leak_m3s is not None and leak_m3s.size:
        leak = float((np.clip(leak_m3s.astype(np.float64), 0.0, None) * dt[:, None]).sum())
    return {
        "min_pressure_m": float(p.min()) if p.size else float("nan"),
        "junctions_below_service_pressure": float(int(under.sum())),
        "demand_not_served_m3": unmet,
        "customers_affected": float(round(float(customers[affected].sum()))),
        "leak_volume_m3": leak,
        "nodes_below_20m": float(int((p < SERVICE_PRESSURE_M).any(axis=0).sum())),
        "total_demand_m3": total,
        "delivered_demand_m3": total - unmet,
        "unmet_demand_m3": unmet,
        "unmet_demand_pct": 100.0 * unmet / total if total > 0 else 0.0,
        "max_velocity_ms": float(velocity_ms.max()) if velocity_ms.size else 0.0,
    }


@dataclass
class _Added:
    """What :func:`_apply_changes` added to the model copy, to read back and to hide."""

    leak_nodes: list[str] = field(default_factory=list)
    switches: list[tuple[str, str]] = field(default_factory=list)  # (pump, switch pipe)
    messages: list[str] = field(default_factory=list)


def simulate(
    inp_path: str | Path,
    duration_h: float = 24,
    timestep_s: int = 3600,
    closed_links: Iterable[str] = (),
    demand_multiplier: float = 1.0,
    *,
    start: np.datetime64 | pd.Timestamp | str | None = None,
    demand_model: str = "PDD",
    minimum_pressure_m: float = 0.0,
    required_pressure_m: float = SERVICE_PRESSURE_M,
    pressure_exponent: float = 0.5,
    changes: WaterChanges | None = None,
    service_pressure_m: float = SERVICE_PRESSURE_M,
    service_duration_s: float = 3600.0,
) -> WaterResult:
    """Run EPANET 2.2 hydraulics on a network file, with a scenario's changes.

    The changes are made on wntr's private model of the file, in EPANET's own terms:

    * closed links: initial status CLOSED, the controls and rules that would operate them
      dropped (a warning names them);
    * demand changes: base demands of the listed junctions (all when none is listed)
      multiplied by the factor (factors of several changes multiply);
    * a leak or break at a junction, or at the middle of a pipe (``wntr.morph.split_pipe``
      adds the node, the pipe's first half keeps the id): EPANET has no leak with a start
      time, so the leak node ``L`` gets a short pipe (1 mm long, 1 m wide, so its head loss
      is negligible) to a new junction ``E`` at ``L``'s elevation that carries an emitter
      ``q = C p^0.5`` with ``C = Cd * A * sqrt(2 g)`` -- the orifice law
      ``q = Cd A sqrt(2 g p)`` (p pressure head, m; g = :data:`G_M_S2`; A area, m²) -- and
      the short pipe is closed until a time control ``OPEN AT TIME start_s`` (no switch
      when ``start_s`` is 0), followed by a second such pipe with a check valve, so that a
      break at negative pressure draws nothing in (EPANET 2.2's emitters would; wntr's leak
      model gives 0 there). The emitter exponent of the file must be 0.5. Keeping the
      emitter off ``L`` keeps the leak out of ``L``'s demand;
    * a pump outage: the pump's downstream end is moved to a new junction joined to the old
      end by the same kind of short pipe, which time controls close at ``start_s`` and
      reopen at ``end_s``. The pump's own controls stay untouched, so before and after the
      outage it runs exactly as in the baseline; during it no water can pass (EPANET then
      shuts the pump for exceeding its shut-off head, or it is idle).

    Parameters
    ----------
    inp_path
        The EPANET ``.inp`` file (any units; results are SI).
    duration_h
        Simulated period, hours (replaces the file's duration; 0 = one steady state).
    timestep_s
        Report step, seconds: results come every `timestep_s` from t = 0. The hydraulic step
        is the file's, capped at this. Must divide the duration.
    closed_links
        Ids of links (pipes, pumps, valves) closed for the whole run; controls and rules
        that would operate them are dropped, and a warning says which.
    demand_multiplier
        Scales every demand (on top of the file's own multiplier).
    start
        Time of t = 0 for :attr:`WaterResult.times_ns`; naive values are taken as UTC
        (default: none, the ns are relative to the start of the run).
    demand_model
        ``PDD`` (default: pressure-driven, EPANET 2.2's PDA, so that low pressure shows as
        unmet demand instead of impossible deliveries at negative pressure) or ``DDA``.
    minimum_pressure_m, required_pressure_m, pressure_exponent
        PDD parameters (see the module docstring); they replace the file's.
    changes
        A scenario's changes (closed links, leaks, pump outages, demand changes) as above;
        its ``closed_links`` add to `closed_links`. Times are seconds from the start of the
        run.
    service_pressure_m, service_duration_s
        A junction counts in ``junctions_below_service_pressure`` when its pressure stays
        below `service_pressure_m` for at least `service_duration_s` in a row.

    Returns
    -------
    WaterResult

    Raises
    ------
    EngineError
        One line naming the file and what failed: wntr cannot read the file (with the line
        and section where known), an unknown element id, bad settings, or an EPANET error.
    """
    import wntr  # heavy: imported on first run only

    path = Path(inp_path)
    t0 = time.perf_counter()
    duration_s = round(float(duration_h) * 3600.0)
    if timestep_s <= 0 or duration_s < 0 or duration_s % int(timestep_s):
        raise EngineError(
            f"{path}: the duration ({duration_h} h) must be a non-negative multiple of "
            f"the time step ({timestep_s} s)"
        )
    model = demand_model.upper()
    if model not in ("PDD", "DDA"):
        raise EngineError(f"{path}: demand model must be PDD or DDA, not {demand_model!r}")
    if not demand_multiplier >= 0:
        raise EngineError(f"{path}: demand multiplier must be >= 0, got {demand_multiplier}")
    if not path.is_file():
        raise EngineError(f"{path}: no such file")
    chg = changes if changes is not None else WaterChanges()
    notes: list[str] = []
    with wntr_messages() as caught_msgs:
        wn = read_model(path, notes)
        # the file's elements, in PipeNetwork order, before anything is added
        node_ids = np.array(
            wn.junction_name_list + wn.reservoir_name_list + wn.tank_name_list, object
        )
        link_ids = np.array(wn.pipe_name_list + wn.pump_name_list + wn.valve_name_list, object)
        node_types = np.array(
            ["junction"] * wn.num_junctions
            + ["reservoir"] * wn.num_reservoirs
            + ["tank"] * wn.num_tanks,
            object,
        )
        link_types = np.array(
            ["pipe"] * wn.num_pipes + ["pump"] * wn.num_pumps + ["valve"] * wn.num_valves,
            object,
        )
        demands = _demand_rows(wn, node_ids, node_types)
        closed = tuple(dict.fromkeys([str(c) for c in closed_links] + list(chg.closed_links)))
        removed = _close_links(wn, closed, path)
        factor = _apply_demand_changes(wn, chg.demand_changes, path)
        added = _add_leaks_and_outages(wn, chg, path)
        _configure(
            wn,
            duration_s,
            int(timestep_s),
            model,
            demand_multiplier,
            minimum_pressure_m,
            required_pressure_m,
            pressure_exponent,
        )
        _, results, en_warnings = _run_epanet(wntr, wn, path)
        retry_note = ""
        if _unbalanced(en_warnings):
            # A closure can leave the file's Newton settings short of a solution; with
            # "UNBALANCED CONTINUE" EPANET then goes on from an unconverged state and reports
            # pressures of -1e6 m. More trials is what the EPANET 2.2 manual (section 8.4,
            # [OPTIONS] TRIALS) advises; say so, and say if even that did not converge.
            trials = int(wn.options.hydraulic.trials or 40)
            wn.options.hydraulic.trials = max(RETRY_TRIALS, trials)
            _, results, en_warnings = _run_epanet(wntr, wn, path)
            retry_note = (
                f"EPANET did not converge in {trials} trials; re-run with "
                f"{wn.options.hydraulic.trials}"
                + (
                    ", still unbalanced: results at those steps are not a hydraulic solution"
                    if _unbalanced(en_warnings)
                    else ", converged"
                )
            )
    if retry_note:
        if not _unbalanced(en_warnings):  # the first run's complaints are answered
            caught_msgs = [
                m
                for m in caught_msgs
                if not _unbalanced([m]) and "Warnings were issued during simulation" not in m
            ]
        caught_msgs.append(retry_note)
    # wntr repeats EPANET's own warnings as "EPANET warning N - <text>" and adds "Warnings
    # were issued during simulation": say each once, in EPANET's words
    en_said = [" ".join(str(w).split()) for w in en_warnings]
    caught_msgs = [
        m
        for m in caught_msgs
        if not (en_said and "Warnings were issued during simulation" in m)
        and re.sub(r"^EPANET warning \d+ - ", "", m) not in en_said
    ]
    msgs = [f"{path}: {m}" for m in dict.fromkeys(notes + caught_msgs + en_said)]
    if removed:
        msgs.append(f"{path}: dropped controls that operate closed links: {', '.join(removed)}")
    msgs.extend(f"{path}: {m}" for m in added.messages)

    # columns of the file's elements in wntr's tables (added elements sit among them)
    node_cols = _columns(results.node["pressure"], node_ids)
    link_cols = _columns(results.link["flowrate"], link_ids)

    def nodes(key: str, dtype: Any = np.float32) -> np.ndarray[Any, Any]:
        return _take(results.node[key], node_cols, dtype)

    def links(key: str, dtype: Any = np.float32) -> np.ndarray[Any, Any]:
        return _take(results.link[key], link_cols, dtype)

    elapsed = results.node["pressure"].index.to_numpy().astype(np.int64)
    if elapsed.shape[0] == 0 or elapsed[-1] < duration_s:
        got = int(elapsed[-1]) if elapsed.shape[0] else 0
        raise EngineError(
            f"{path}: EPANET stopped at {got} s of {duration_s} s; see its warnings: "
            + "; ".join(msgs[-3:])
        )
    f32 = np.float32
    demand_all = results.node["demand"]
    status = links("status", np.float64).round().astype(np.int8)
    if added.switches:
        switch = results.link["status"][[s for _, s in added.switches]].to_numpy(np.float64)
        for k, (pump, _) in enumerate(added.switches):
            col = int(np.flatnonzero(link_ids == pump)[0])
            status[:, col] = np.where(switch[:, k] < 0.5, 0, status[:, col])
    expected = _expected_demand(wn, demands, node_ids.shape[0], elapsed, factor)
    # customers from the file's own mean requested rate (patterns and multiplier, no change):
    # base demands alone overcount where the patterns average below 1
    unchanged = _expected_demand(wn, demands, node_ids.shape[0], elapsed)
    dt_s = np.append(np.diff(elapsed), 0).astype(np.float64)
    base = (unchanged * dt_s[:, None]).sum(axis=0) / dt_s.sum() if dt_s.sum() > 0 else unchanged[0]
    leak_m3s = (
        demand_all[added.leak_nodes].to_numpy(f32)
        if added.leak_nodes
        else np.zeros((elapsed.shape[0], 0), f32)
    )
    # naive times are UTC; aware ones are converted (Timestamp.value is UTC ns)
    start_ns = 0 if start is None else int(pd.Timestamp(start).value)
    pressure_m = nodes("pressure")
    demand_m3s = nodes("demand")
    velocity_ms = links("velocity")
    expected32 = expected.astype(f32)
    return WaterResult(
        source=str(path),
        start_ns=start_ns,
        times_ns=start_ns + elapsed * 1_000_000_000,
        elapsed_s=elapsed,
        node_ids=node_ids,
        node_types=node_types,
        link_ids=link_ids,
        link_types=link_types,
        pressure_m=pressure_m,
        head_m=nodes("head"),
        demand_m3s=demand_m3s,
        expected_demand_m3s=expected32,
        flow_m3s=links("flowrate"),
        velocity_ms=velocity_ms,
        status=status,
        kpis=kpis_of(
            node_types,
            elapsed,
            pressure_m,
            demand_m3s,
            expected32,
            velocity_ms,
            base_demand_m3s=base,
            leak_m3s=leak_m3s,
            service_pressure_m=service_pressure_m,
            service_duration_s=service_duration_s,
        ),
        closed_links=closed,
        demand_model=model,
        warnings=tuple(msgs),
        run_time_s=time.perf_counter() - t0,
        leak_m3s=leak_m3s,
        changes=chg,
    )


def _columns(frame: pd.DataFrame, ids: ObjArray) -> Int64Array | None:
    """Positions of `ids` among the frame's columns (None: they are the columns, in order)."""
    cols = frame.columns
    if cols.shape[0] == ids.shape[0] and np.array_equal(cols.to_numpy(object), ids):
        return None
    return np.asarray(cols.get_indexer(pd.Index(ids)), np.int64)


def _take(frame: pd.DataFrame, cols: Int64Array | None, dtype: Any) -> np.ndarray[Any, Any]:
    values = frame.to_numpy(dtype)
    return values if cols is None else np.ascontiguousarray(values[:, cols])


def read_model(path: Path, notes: list[str] | None = None) -> Any:
    """wntr's model of an .inp file, or an :class:`EngineError` naming the line and section.

    The file's text first goes through :func:`twin_app.io.inp_legacy.sanitise_inp`, which
    reads the legacy and default cases that EPANET 2.2 accepts and wntr refuses as EPANET
    does (no UNITS line: GPM, the manual's default; the obsolete SEGMENTS option dropped;
    sources without a type: CONCEN; tanks with only an elevation: reservoirs; EPANET 1.1 pump
    lines: a power or a curve; a pipe status in place of the minor loss; ``[REPORT] FILE``). When it changes anything, wntr
    reads a private copy (every line on the line number it has in the file; the file itself
    is never written) and one line per kind of change goes to `notes`.

    wntr wraps a parse error (which carries ``at line N``) in an ``EpanetException(200)``; the
    line is taken from the chain of causes and its section from the file. Errors with no line
    (a truncated file can end in an ``AttributeError`` deep in wntr) are located by the own
    parser of :mod:`twin_app.io.epanet` when it finds the fault.
    """
    import wntr

    with _wntr_readable(path) as (source, said):
        try:
            wn = wntr.network.WaterNetworkModel(str(source))
        except Exception as exc:
            where, own = _locate(path, exc)
            if type(exc).__name__ == "EpanetException" and where is None:
                text = _one_line(exc).replace(str(source), str(path))
                raise EngineError(f"{path}: EPANET rejects the file: {text}") from exc
            detail = f"{where}: " if where else ""
            outcome = "it cannot be simulated" if own else "it can be drawn but not simulated"
            text = _one_line(_innermost(exc)).replace(str(source), str(path))
            raise EngineError(
                f"{path}: {detail}wntr cannot read this network ({text}); " + outcome
            ) from exc
    wn.name = str(path)
    if notes is not None:
        notes.extend(said)
    return wn


@contextlib.contextmanager
def _wntr_readable(path: Path) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """The file wntr should read for `path` and what was changed: `path` itself, or a private
    copy rewritten by :func:`twin_app.io.inp_legacy.sanitise_inp` (removed on exit)."""
    from twin_app.io.inp_legacy import sanitise_inp

    try:
        raw = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise EngineError(f"{path}: cannot read the file ({exc.strerror})") from exc
    fixed = sanitise_inp(raw)
    if not fixed.changed:
        yield path, ()
        return
    with tempfile.TemporaryDirectory(prefix="twin_inp_") as tmp:
        source = Path(tmp) / path.name
        source.write_text(fixed.text, encoding="utf-8", errors="surrogateescape", newline="")
        yield source, fixed.notes


def _innermost(exc: BaseException) -> BaseException:
    """The deepest EPANET exception in the chain of causes (it says what and where), else
    the deepest cause."""
    chain = [exc]
    while chain[-1].__cause__ is not None and chain[-1].__cause__ not in chain:
        chain.append(chain[-1].__cause__)
    epanet = [e for e in chain if "EpanetException" in {t.__name__ for t in type(e).__mro__}]
    return epanet[-1] if epanet else chain[-1]


def _locate(path: Path, exc: BaseException) -> tuple[str | None, bool]:
    """``line N in [SECTION]`` of a wntr parse error, or what the own parser says; and
    whether the own parser failed too."""
    import re

    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__

    def where(line: int) -> str:
        section = ""
        with contextlib.suppress(OSError):
            lines = path.read_text(errors="replace").splitlines()[:line]
            heads = [s.strip().split()[0].upper() for s in lines if s.strip().startswith("[")]
            section = f" in {heads[-1]}" if heads else ""
        return f"line {line}{section}"

    for err in chain:
        found = re.search(r"at line (\d+)", str(err))
        if found:
            return where(int(found.group(1))), True
    # wntr names an option it does not know ("'segments' is not a valid member of ..."):
    # the first line that starts with that word is where it stands
    from twin_app.io.epanet import fill_placeholders

    word = re.match(r"'([^'\s]+)' is not a valid member", fill_placeholders(exc))
    if word:
        with contextlib.suppress(OSError):
            rows = path.read_text(errors="replace").splitlines()
            key = word.group(1).upper()
            hit = next((i for i, t in enumerate(rows) if t.strip().upper().startswith(key)), -1)
            if hit >= 0:
                return f"{where(hit + 1)} (option {word.group(1).upper()})", False
    from twin_app.errors import InputError
    from twin_app.io.epanet import read_inp

    try:
        read_inp(path)
    except InputError as own:
        text = str(own)
        prefix = f"{path}: "
        text = text[len(prefix) :] if text.startswith(prefix) else text
        # only a fault the own parser places on a line (not, say, a missing layout)
        if re.search(r"\bline \d+", text):
            return text, True
        own_failed = True
    except Exception:  # the own parser has nothing better to say
        own_failed = True
    else:
        own_failed = False
    return None, own_failed


def _unique(wn: Any, stem: str, nodes: bool) -> str:
    taken = wn.node_name_list if nodes else wn.link_name_list
    name, k = stem, 0
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    return name


def _add_switch(
    wn: Any, name: str, start: str, end: str, open_at: float | None, check_valve: bool = False
) -> Any:
    """A 1 mm pipe from `start` to `end`, open from the start or from `open_at` s on
    (EPANET allows no control on a check valve: a timed switch and a check valve are two
    pipes)."""
    from wntr.network import LinkStatus
    from wntr.network.controls import Control, ControlAction, SimTimeCondition

    wn.add_pipe(
        name,
        start,
        end,
        length=_SWITCH_LENGTH_M,
        diameter=_SWITCH_DIAMETER_M,
        roughness=wn.get_link(wn.pipe_name_list[0]).roughness if wn.num_pipes else 100.0,
        minor_loss=0.0,
        initial_status="CLOSED" if open_at else "OPEN",
        check_valve=check_valve,
    )
    pipe = wn.get_link(name)
    if open_at:
        act = ControlAction(pipe, "status", LinkStatus.Open)
        wn.add_control(name + "_on", Control(SimTimeCondition(wn, "=", float(open_at)), act))
    return pipe


def _add_leaks_and_outages(wn: Any, chg: WaterChanges, path: Path) -> _Added:
    """Leaks (emitters behind time-switched pipes) and pump outages (series switches)."""
    import wntr
    from wntr.network import LinkStatus
    from wntr.network.controls import Control, ControlAction, SimTimeCondition

    added = _Added()
    if chg.leaks:
        exponent = float(wn.options.hydraulic.emitter_exponent)
        if abs(exponent - 0.5) > 1e-12:
            raise EngineError(
                f"{path}: leaks need EMITTER EXPONENT 0.5 (the orifice law); the file sets "
                f"{exponent:g}"
            )
    junctions = set(wn.junction_name_list)
    pipes = set(wn.pipe_name_list)
    for i, leak in enumerate(chg.leaks):
        if not (leak.area_m2 > 0 and math.isfinite(leak.area_m2)):
            raise EngineError(f"{path}: leak at '{leak.element}': area must be > 0 m²")
        if not 0 < leak.discharge_coeff <= 1:
            raise EngineError(f"{path}: leak at '{leak.element}': discharge coeff not in (0, 1]")
        if not leak.start_s >= 0:
            raise EngineError(f"{path}: leak at '{leak.element}': start must be >= 0 s")
        kind = leak.kind.lower()
        if kind not in ("auto", "junction", "pipe"):
            raise EngineError(f"{path}: leak kind must be auto, junction or pipe, not {kind!r}")
        if leak.element in junctions and kind != "pipe":
            node = leak.element
        elif leak.element in pipes and kind != "junction":
            node = _unique(wn, f"TWLN{i}", True)
            wntr.morph.split_pipe(
                wn, leak.element, _unique(wn, f"TWLB{i}", False), node, return_copy=False
            )
            # the split and the id of the second half, for the record
            added.messages.append(
                f"leak on pipe '{leak.element}': split at its middle at node '{node}'"
            )
        else:
            raise EngineError(
                f"{path}: cannot place a leak at '{leak.element}': no junction or pipe with that id"
            )
        at = wn.get_node(node)
        emitter = _unique(wn, f"TWLE{i}", True)
        wn.add_junction(emitter, 0.0, elevation=at.elevation, coordinates=at.coordinates)
        wn.get_node(emitter).emitter_coefficient = (
            leak.discharge_coeff * leak.area_m2 * math.sqrt(2.0 * G_M_S2)
        )
        if leak.start_s > 0:
            mid = _unique(wn, f"TWLM{i}", True)
            wn.add_junction(mid, 0.0, elevation=at.elevation, coordinates=at.coordinates)
            _add_switch(wn, _unique(wn, f"TWLS{i}", False), node, mid, leak.start_s)
            node = mid
        # a check valve: a break at negative pressure lets nothing in (as wntr's leak model)
        _add_switch(wn, _unique(wn, f"TWLC{i}", False), node, emitter, None, check_valve=True)
        added.leak_nodes.append(emitter)
    pumps = set(wn.pump_name_list)
    for i, out in enumerate(chg.pump_outages):
        if out.pump not in pumps:
            raise EngineError(f"{path}: no pump '{out.pump}' to take out of service")
        if not out.start_s >= 0 or (out.end_s is not None and not out.end_s > out.start_s):
            raise EngineError(
                f"{path}: outage of pump '{out.pump}': need 0 <= start_s < end_s, got "
                f"{out.start_s}, {out.end_s}"
            )
        pump = wn.get_link(out.pump)
        end = pump.end_node
        mid = _unique(wn, f"TWPX{i}", True)
        z: Any = getattr(end, "elevation", None)  # a reservoir has a head, no elevation
        elev = float(z if z is not None else getattr(end, "base_head", 0.0))
        wn.add_junction(mid, 0.0, elevation=elev, coordinates=end.coordinates)
        pump.end_node = wn.get_node(mid)
        name = _unique(wn, f"TWPS{i}", False)
        switch = _add_switch(wn, name, mid, end.name, None)
        if out.start_s > 0:
            act = ControlAction(switch, "status", LinkStatus.Closed)
            cond = SimTimeCondition(wn, "=", float(out.start_s))
            wn.add_control(name + "_off", Control(cond, act))
        else:
            switch.initial_status = LinkStatus.Closed
        if out.end_s is not None:
            act = ControlAction(switch, "status", LinkStatus.Open)
            cond = SimTimeCondition(wn, "=", float(out.end_s))
            wn.add_control(name + "_on", Control(cond, act))
        added.switches.append((out.pump, name))
    return added


def _one_line(exc: BaseException) -> str:
    from twin_app.io.epanet import fill_placeholders

    text = " ".join(fill_placeholders(exc).split()) or "no message"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


def _close_links(wn: Any, closed: tuple[str, ...], path: Path) -> list[str]:
    """Close links on the model copy and drop the controls that act on them."""
    from wntr.network import LinkStatus

    links = set(wn.link_name_list)
    unknown = [c for c in closed if c not in links]
    if unknown:
        raise EngineError(f"{path}: cannot close '{unknown[0]}': no link with that id")
    if not closed:
        return []
    targets = set(closed)
    removed = []
    for name, control in list(wn.controls()):
        if any(getattr(a.target()[0], "name", None) in targets for a in control.actions()):
            wn.remove_control(name)
            removed.append(str(name))
    for name in closed:
        link = wn.get_link(name)
        link.initial_status = LinkStatus.Closed
        if link.link_type == "Pipe" and link.check_valve:
            # a CV pipe's status line would read "CV"; a closed pipe must say CLOSED
            link.check_valve = False
    return removed


def _apply_demand_changes(
    wn: Any, changes: tuple[DemandChange, ...], path: Path
) -> dict[str, float]:
    """Multiply the base demands of the listed junctions (all when none are listed).

    Returns the factor of each changed junction.
    """
    if not changes:
        return {}
    junctions = wn.junction_name_list
    known = set(junctions)
    factor: dict[str, float] = {}
    for change in changes:
        if not (math.isfinite(change.factor) and change.factor >= 0):
            raise EngineError(f"{path}: demand factor must be >= 0, got {change.factor}")
        names = change.junctions or tuple(junctions)
        for name in names:
            if name not in known:
                raise EngineError(f"{path}: cannot change demand of '{name}': no such junction")
            factor[name] = factor.get(name, 1.0) * float(change.factor)
    for name, f in factor.items():
        if f != 1.0:
            for d in wn.get_node(name).demand_timeseries_list:
                d.base_value = d.base_value * f
    return factor


def _run_epanet(wntr: Any, wn: Any, path: Path) -> tuple[Any, Any, list[str]]:
    """One EPANET 2.2 run of ``wn``; its results and warnings (one line each)."""
    sim = wntr.sim.EpanetSimulator(wn)
    try:
        with tempfile.TemporaryDirectory(prefix="twin_epanet_") as tmp:
            results = sim.run_sim(file_prefix=str(Path(tmp) / "run"), version=2.2)
    except Exception as exc:
        raise EngineError(f"{path}: EPANET run failed: {_one_line(exc)}") from exc
    return sim, results, list(getattr(getattr(sim, "enData", None), "errcodelist", []) or [])


def _unbalanced(warnings: list[str]) -> bool:
    """True when EPANET reported a step it could not balance (its warning 1)."""
    return any("hydraulically unbalanced" in str(w) for w in warnings)


def _configure(
    wn: Any,
    duration_s: int,
    timestep_s: int,
    model: str,
    demand_multiplier: float,
    minimum_pressure_m: float,
    required_pressure_m: float,
    pressure_exponent: float,
) -> None:
    t = wn.options.time
    t.duration = duration_s
    t.hydraulic_timestep = int(min(int(t.hydraulic_timestep or timestep_s), timestep_s))
    t.report_timestep = timestep_s
    t.report_start = 0
    wn.options.quality.parameter = "NONE"
    h = wn.options.hydraulic
    h.demand_multiplier = float(h.demand_multiplier or 1.0) * float(demand_multiplier)
    h.demand_model = model
    if model == "PDD":
        h.minimum_pressure = float(minimum_pressure_m)
        h.required_pressure = float(required_pressure_m)
        h.pressure_exponent = float(pressure_exponent)


@dataclass(frozen=True)
class _DemandRows:
    """One row per demand of a junction: its column, base value (m³/s) and pattern."""

    col: Int64Array
    base: FloatArray
    pattern: tuple[str | None, ...]
    names: tuple[str, ...]


def _demand_rows(wn: Any, node_ids: ObjArray, node_types: ObjArray) -> _DemandRows:
    col: list[int] = []
    base: list[float] = []
    pattern: list[str | None] = []
    for i, (nid, kind) in enumerate(zip(node_ids, node_types, strict=True)):
        if kind != "junction":
            continue
        for d in wn.get_node(nid).demand_timeseries_list:
            col.append(i)
            base.append(float(d.base_value))
            pattern.append(d.pattern_name)
    return _DemandRows(
        np.asarray(col, np.int64),
        np.asarray(base, np.float64),
        tuple(pattern),
        tuple(str(n) for n in node_ids),
    )


def _expected_demand(
    wn: Any,
    rows: _DemandRows,
    n_nodes: int,
    elapsed_s: Int64Array,
    factor: dict[str, float] | None = None,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Requested demand (T, N), m³/s: base x change factor x pattern x demand multiplier.

    EPANET's rule: the pattern period at time t is ``(t + pattern_start) // pattern_step``,
    wrapped around the pattern's length; a demand without a pattern uses the default pattern
    when it exists, else 1.
    """
    t = wn.options.time
    step = int(t.pattern_timestep) or 3600
    period = (elapsed_s + int(t.pattern_start)) // step
    default = wn.options.hydraulic.pattern
    default_mult = (
        np.asarray(wn.get_pattern(default).multipliers, np.float64)
        if default and default in wn.pattern_name_list
        else None
    )

    def factor_of(name: str | None) -> np.ndarray[Any, np.dtype[np.float64]]:
        mult: np.ndarray[Any, np.dtype[np.float64]] | None
        if name is not None and name in wn.pattern_name_list:
            mult = np.asarray(wn.get_pattern(name).multipliers, np.float64)
        else:
            mult = default_mult
        if mult is None or mult.size == 0:
            return np.ones(period.shape[0])
        return np.asarray(mult[period % mult.size], np.float64)

    out = np.zeros((period.shape[0], n_nodes))
    if rows.col.size:
        names = list(dict.fromkeys(rows.pattern))
        fmat = np.stack([factor_of(n) for n in names])  # (P, T)
        index = {n: k for k, n in enumerate(names)}
        which = np.array([index[p] for p in rows.pattern])
        base = rows.base
        if factor:
            node_f = np.ones(n_nodes)
            column = {n: k for k, n in enumerate(rows.names)}
            for name, f in factor.items():
                node_f[column[name]] = f
            base = base * node_f[rows.col]
        contrib = fmat[which] * base[:, None]  # (D, T)
        np.add.at(out.T, rows.col, contrib)
    multiplier = float(wn.options.hydraulic.demand_multiplier)
    return out * multiplier


class _Collect(logging.Handler):
    """Keeps wntr's log records (it logs, for example, every curve no element uses)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def wntr_messages() -> Iterator[list[str]]:
    """Collect wntr's Python warnings and log messages instead of letting them reach the
    terminal; yields a list that, on exit, holds them as counted one-line messages."""
    out: list[str] = []
    handler = _Collect()
    logger = logging.getLogger("wntr")
    propagate, level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)  # the CLI raises it to quieten wntr: collect anyway
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield out
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)
        out.extend(_counted([str(w.message) for w in caught] + handler.messages))


def _counted(messages: list[str]) -> list[str]:
    """One line per kind of message (quoted names taken out), with a count and an example.

    wntr says twice, once per curve and once in all, that curves no pump, tank or valve uses
    were kept: that becomes one line.
    """
    import re

    texts = list(dict.fromkeys(" ".join(m.split()) for m in messages))
    unused = [t for t in texts if t.startswith("Curve was not used")]
    texts = [t for t in texts if not t.startswith(("Curve was not used", "Not all curves"))]
    groups: dict[str, list[str]] = {}
    for text in texts:
        groups.setdefault(re.sub(r"\"[^\"]*\"|'[^']*'", "…", text), []).append(text)
    out = [
        ms[0] if len(ms) == 1 else f"{ms[0]} (and {len(ms) - 1} more like it)"
        for ms in groups.values()
    ]
    if unused:
        names = [m.split('"')[1] for m in unused if m.count('"') >= 2]
        example = f" (e.g. {names[0]!r})" if names else ""
        out.append(f"{len(unused)} curves are used by no pump, tank or valve{example}; ignored")
    return out


def wntr_tables(
    path: Path, report: LoadReport
) -> tuple[pd.DataFrame, pd.DataFrame, FloatArray, np.ndarray[Any, Any], str, str]:
    """Node and link tables of an .inp file as wntr parses it (for :func:`read_inp_wntr`)."""
    import wntr

    with wntr_messages() as caught, _wntr_readable(path) as (source, said):
        try:
            wn = wntr.network.WaterNetworkModel(str(source))
        except Exception as exc:
            if source == path:
                raise
            # the private copy is not the user's file: name theirs
            text = _one_line(_innermost(exc)).replace(str(source), str(path))
            raise EngineError(f"{path}: {text}") from exc
    for note in said:
        report.warn(note)
    for message in caught:
        report.warn(f"wntr: {message}")

    ids: list[str] = []
    types: list[str] = []
    elev: list[float] = []
    demand: list[float] = []
    for name in wn.junction_name_list:
        j = wn.get_node(name)
        ids.append(name)
        types.append(JUNCTION)
        elev.append(float(j.elevation))
        demand.append(float(sum(d.base_value for d in j.demand_timeseries_list)))
    for name in wn.reservoir_name_list:
        ids.append(name)
        types.append(RESERVOIR)
        elev.append(float(wn.get_node(name).base_head))
        demand.append(0.0)
    for name in wn.tank_name_list:
        ids.append(name)
        types.append(TANK)
        elev.append(float(wn.get_node(name).elevation))
        demand.append(0.0)
    nodes = _node_table(ids, types, elev, demand)
    row = {nid: i for i, nid in enumerate(ids)}

    rows = _empty_link_rows()
    vertices: list[tuple[float, float]] = []
    counts: list[int] = []
    groups = (
        (PIPE, wn.pipe_name_list),
        (PUMP, wn.pump_name_list),
        (VALVE, wn.valve_name_list),
    )
    for kind, names in groups:
        for name in names:
            link = wn.get_link(name)
            status = str(link.initial_status.name).lower()
            if kind == PIPE and link.check_valve and status != "closed":
                status = "cv"
            rows["id"].append(name)
            rows["type"].append(kind)
            rows["start"].append(row[link.start_node_name])
            rows["end"].append(row[link.end_node_name])
            rows["diameter_m"].append(float(link.diameter) if kind != PUMP else math.nan)
            rows["length_m"].append(float(link.length) if kind == PIPE else math.nan)
            rows["roughness"].append(float(link.roughness) if kind == PIPE else math.nan)
            rows["status"].append(status)
            rows["valve_type"].append(str(link.valve_type) if kind == VALVE else "")
            verts = list(link.vertices)
            counts.append(len(verts))
            vertices.extend((float(vx), float(vy)) for vx, vy in verts)
    links = _link_table(rows)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    vxy = np.asarray(vertices, np.float64).reshape(-1, 2)
    units = str(wn.options.hydraulic.inpfile_units).upper()
    return nodes, links, vxy, offsets, units, str(wn.options.hydraulic.headloss).upper()


def read_inp_wntr(path: str | Path, placement: Any = None, strict: bool = False) -> PipeNetwork:
    """Read an .inp file with wntr's parser (falls back to the own parser unless `strict`).

    wntr may only be imported in this module (DESIGN.md section 5), so the reader in
    :mod:`twin_app.io.epanet` gets wntr's tables through this function when a caller wants
    them; both parsers give the same tables (tested).
    """
    from twin_app.io.epanet import read_inp

    return read_inp(path, placement, tables_from=wntr_tables, strict=strict)


@dataclass(frozen=True)
class Isolation:
    """The valves that isolate a pipe break and what they cut off.

    Attributes
    ----------
    pipe
        The broken pipe.
    valves
        ``(link, node)`` of each valve to close: the valve sits on ``link`` next to ``node``
        (wntr's valve-layer convention).
    pipes, nodes
        Links and nodes of the isolated segment (the broken pipe's), sorted.
    closed_links
        What shutting the valves closes, hydraulically: the segment's links and the links
        the bounding valves sit on (a pipe shut at one end carries no flow).
    demand_cut_m3s
        Sum of the base demands of the segment's junctions, m³/s (the file's base demands x
        its demand multiplier, no pattern): what its customers lose while the valves are shut.
    valve_layer
        How the valves were placed (``strategic N-1 seed 0`` or ``given``).
    """

    pipe: str
    valves: tuple[tuple[str, str], ...]
    pipes: tuple[str, ...]
    nodes: tuple[str, ...]
    closed_links: tuple[str, ...]
    demand_cut_m3s: float
    valve_layer: str = "given"


#: Seed of the default valve layer: the same file always gives the same valves.
VALVE_LAYER_SEED = 0


def strategic_valve_layer(wn: Any, n: int = 1, seed: int = VALVE_LAYER_SEED) -> pd.DataFrame:
    """wntr's strategic N-``n`` valve layer (``generate_valve_layer``), deterministic.

    At every node a valve sits on all but ``n`` of its links (the ``n`` left out drawn at
    random, seeded). wntr seeds numpy's global generator; its state is restored afterwards.
    Reference: Walski, *Water distribution valve topology for reliability analysis*,
    Reliability Engineering and System Safety 42 (1993); wntr's ``wntr.network.layer``.
    """
    import random

    from wntr.network.layer import generate_valve_layer

    # wntr seeds and draws from numpy's legacy global generator: keep the caller's state
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        layer = generate_valve_layer(wn, placement_type="strategic", n=n, seed=seed)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return pd.DataFrame(layer)


def isolation(
    inp_path: str | Path, pipe_id: str, valve_layer: pd.DataFrame | None = None
) -> Isolation:
    """The valves to close to isolate a break on `pipe_id`, and the segment they cut off.

    Segments are found with wntr's valve segmentation (``wntr.metrics.valve_segments``):
    nodes and links reachable from each other without crossing a valve. The valves to close
    are those of the layer that bound the broken pipe's segment (a valve on a segment link
    next to an outside node, or on an outside link next to a segment node).

    Parameters
    ----------
    inp_path
        The ``.inp`` file.
    pipe_id
        The broken pipe.
    valve_layer
        ``link``, ``node`` columns, one row per valve. ``.inp`` files carry no isolation
        valves, so by default :func:`strategic_valve_layer` places them N-1 (every node has
        valves on all its links but one), seeded by :data:`VALVE_LAYER_SEED`.

    Returns
    -------
    Isolation

    Raises
    ------
    EngineError
        The file cannot be read, or no pipe has that id, or the layer names unknown elements.
    """
    from wntr.metrics import valve_segments

    path = Path(inp_path)
    if not path.is_file():
        raise EngineError(f"{path}: no such file")
    with wntr_messages():
        wn = read_model(path)
    if pipe_id not in set(wn.pipe_name_list):
        raise EngineError(f"{path}: cannot isolate '{pipe_id}': no pipe with that id")
    if valve_layer is None:
        layer = strategic_valve_layer(wn)
        how = f"strategic N-1 seed {VALVE_LAYER_SEED}"
    else:
        layer = pd.DataFrame(valve_layer)[["link", "node"]].astype(str).reset_index(drop=True)
        bad = sorted(set(layer["link"]) - set(wn.link_name_list)) + sorted(
            set(layer["node"]) - set(wn.node_name_list)
        )
        if bad:
            raise EngineError(f"{path}: the valve layer names '{bad[0]}', not in the network")
        how = "given"
    node_seg, link_seg, _ = valve_segments(wn.to_graph(), layer)
    seg = link_seg[pipe_id]
    seg_links = link_seg.index[link_seg.to_numpy() == seg]
    seg_nodes = node_seg.index[node_seg.to_numpy() == seg]
    on_link = link_seg.reindex(layer["link"]).to_numpy() == seg
    at_node = node_seg.reindex(layer["node"]).to_numpy() == seg
    bounding = layer[on_link != at_node]
    rows = _demand_rows(
        wn,
        np.array(seg_nodes, object),
        np.array([wn.get_node(n).node_type.lower() for n in seg_nodes], object),
    )
    cut = float(rows.base.sum()) * float(wn.options.hydraulic.demand_multiplier or 1.0)
    valves = sorted(
        {(str(a), str(b)) for a, b in zip(bounding["link"], bounding["node"], strict=True)}
    )
    return Isolation(
        pipe=pipe_id,
        valves=tuple(valves),
        pipes=tuple(sorted(str(x) for x in seg_links)),
        nodes=tuple(sorted(str(x) for x in seg_nodes)),
        closed_links=tuple(sorted({str(x) for x in seg_links} | {v[0] for v in valves})),
        demand_cut_m3s=cut,
        valve_layer=how,
    )


def isolation_changes(iso: Isolation, base: WaterChanges | None = None) -> WaterChanges:
    """Changes that shut the valves of `iso`: its :attr:`Isolation.closed_links` (the
    segment's links and the links the valves sit on) are closed, added to `base`'s."""
    prior = base if base is not None else WaterChanges()
    closed = tuple(dict.fromkeys(prior.closed_links + iso.closed_links))
    return WaterChanges(closed, prior.leaks, prior.pump_outages, prior.demand_changes)
