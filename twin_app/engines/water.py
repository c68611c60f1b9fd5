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

Validation: ``tests/engines/test_water.py`` runs the same files through the EPANET toolkit
directly (``ENopenH/ENrunH/ENnextH``, values read with ``ENgetnodevalue/ENgetlinkvalue`` in the
file's units and converted by the test) and checks every reported step.
"""

from __future__ import annotations

import contextlib
import logging
import math
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

#: Unit of every KPI in :attr:`WaterResult.kpis`.
KPI_UNITS: dict[str, str] = {
    "min_pressure_m": "m",
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


_NODE_TYPES = {"Junction": "junction", "Reservoir": "reservoir", "Tank": "tank"}
_LINK_TYPES = {"Pipe": "pipe", "Pump": "pump", "Valve": "valve"}


@dataclass(frozen=True, eq=False)
class WaterResult:
    """Hydraulics of one run, one row per reported step; arrays are read-only.

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
        inflow (negative when they supply the network).
    expected_demand_m3s
        (T, N) float32 requested demand (base demands x patterns x demand multiplier; 0 at
        reservoirs and tanks).
    flow_m3s
        (T, L) float32 flow, m³/s, positive from start to end node.
    velocity_ms
        (T, L) float32 mean velocity, m/s (unsigned, as EPANET reports it).
    status
        (T, L) int8: 0 closed, 1 open, 2 active (a valve regulating).
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


def kpis_of(
    node_types: ObjArray,
    elapsed_s: Int64Array,
    pressure_m: Float32Array,
    demand_m3s: Float32Array,
    expected_m3s: Float32Array,
    velocity_ms: Float32Array,
) -> dict[str, float]:
    """KPIs of a run.

    Volumes integrate each reported rate over the interval up to the next report
    (``V = sum_k q_k * (t_{k+1} - t_k)``; the last step closes the period), which is exact when
    demands change only at report times (patterns stepping on multiples of the report step).
    Only junctions with a positive requested demand count as consumers (negative demands
    are inflows).

    Returns
    -------
    dict
        ``min_pressure_m`` lowest junction pressure over all steps; ``nodes_below_20m``
        junctions below :data:`SERVICE_PRESSURE_M` at any step; ``total_demand_m3`` requested
        volume; ``delivered_demand_m3`` = total - unmet; ``unmet_demand_m3`` = sum of
        ``max(requested - delivered, 0) * dt``; ``unmet_demand_pct`` its share of the total;
        ``max_velocity_ms`` over all links and steps.
    """
    junction = node_types == "junction"
    p = pressure_m[:, junction].astype(np.float64)
    q = demand_m3s[:, junction].astype(np.float64)
    e = expected_m3s[:, junction].astype(np.float64)
    dt = np.diff(elapsed_s).astype(np.float64)
    dt = np.append(dt, 0.0)[:, None]
    consumer = e > 0
    total = float((np.where(consumer, e, 0.0) * dt).sum())
    unmet = float((np.where(consumer, np.clip(e - q, 0.0, None), 0.0) * dt).sum())
    delivered = total - unmet
    return {
        "min_pressure_m": float(p.min()) if p.size else float("nan"),
        "nodes_below_20m": float(int((p < SERVICE_PRESSURE_M).any(axis=0).sum())),
        "total_demand_m3": total,
        "delivered_demand_m3": delivered,
        "unmet_demand_m3": unmet,
        "unmet_demand_pct": 100.0 * unmet / total if total > 0 else 0.0,
        "max_velocity_ms": float(velocity_ms.max()) if velocity_ms.size else 0.0,
    }


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
) -> WaterResult:
    """Run EPANET 2.2 hydraulics on a network file.

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

    Returns
    -------
    WaterResult

    Raises
    ------
    EngineError
        One line naming the file and what failed: wntr cannot read the file, an unknown
        link id, bad settings, or an EPANET error.
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
    with wntr_messages() as caught_msgs:
        try:
            wn = wntr.network.WaterNetworkModel(str(path))
        except Exception as exc:
            if type(exc).__name__ == "EpanetException":  # wntr has EPANET check the file
                raise EngineError(f"{path}: EPANET rejects the file: {_one_line(exc)}") from exc
            raise EngineError(
                f"{path}: wntr cannot read this network ({_one_line(exc)}); it can be drawn "
                "but not simulated"
            ) from exc
        closed = tuple(dict.fromkeys(str(c) for c in closed_links))
        removed = _close_links(wn, closed, path)
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
        sim = wntr.sim.EpanetSimulator(wn)
        try:
            with tempfile.TemporaryDirectory(prefix="twin_epanet_") as tmp:
                results = sim.run_sim(file_prefix=str(Path(tmp) / "run"), version=2.2)
        except Exception as exc:
            raise EngineError(f"{path}: EPANET run failed: {_one_line(exc)}") from exc
    en_warnings = list(getattr(getattr(sim, "enData", None), "errcodelist", []) or [])
    msgs = [f"{path}: {m}" for m in dict.fromkeys(caught_msgs + en_warnings)]
    if removed:
        msgs.append(f"{path}: dropped controls that operate closed links: {', '.join(removed)}")

    node_ids = np.array(wn.junction_name_list + wn.reservoir_name_list + wn.tank_name_list, object)
    link_ids = np.array(wn.pipe_name_list + wn.pump_name_list + wn.valve_name_list, object)
    node_types = np.array([_NODE_TYPES[wn.get_node(n).node_type] for n in node_ids], object)
    link_types = np.array([_LINK_TYPES[wn.get_link(n).link_type] for n in link_ids], object)

    def table(frame: pd.DataFrame, ids: ObjArray) -> pd.DataFrame:
        if not np.array_equal(frame.columns.to_numpy(object), ids):
            frame = frame.reindex(columns=list(ids))
        return frame

    pressure = table(results.node["pressure"], node_ids)
    elapsed = pressure.index.to_numpy().astype(np.int64)
    if elapsed.shape[0] == 0 or elapsed[-1] < duration_s:
        got = int(elapsed[-1]) if elapsed.shape[0] else 0
        raise EngineError(
            f"{path}: EPANET stopped at {got} s of {duration_s} s; see its warnings: "
            + "; ".join(msgs[-3:])
        )
    head = table(results.node["head"], node_ids)
    demand = table(results.node["demand"], node_ids)
    flow = table(results.link["flowrate"], link_ids)
    velocity = table(results.link["velocity"], link_ids)
    status = table(results.link["status"], link_ids)
    expected = _expected_demand(wn, node_ids, node_types, elapsed)

    # naive times are UTC; aware ones are converted (Timestamp.value is UTC ns)
    start_ns = 0 if start is None else int(pd.Timestamp(start).value)
    f32 = np.float32
    pressure_m = pressure.to_numpy(f32)
    demand_m3s = demand.to_numpy(f32)
    velocity_ms = velocity.to_numpy(f32)
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
        head_m=head.to_numpy(f32),
        demand_m3s=demand_m3s,
        expected_demand_m3s=expected32,
        flow_m3s=flow.to_numpy(f32),
        velocity_ms=velocity_ms,
        status=status.to_numpy(np.float64).round().astype(np.int8),
        kpis=kpis_of(node_types, elapsed, pressure_m, demand_m3s, expected32, velocity_ms),
        closed_links=closed,
        demand_model=model,
        warnings=tuple(msgs),
        run_time_s=time.perf_counter() - t0,
    )


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


def _expected_demand(
    wn: Any, node_ids: ObjArray, node_types: ObjArray, elapsed_s: Int64Array
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Requested demand (T, N), m³/s: base x pattern multiplier x demand multiplier.

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
    factors: dict[str | None, np.ndarray[Any, np.dtype[np.float64]]] = {}

    def factor(name: str | None) -> np.ndarray[Any, np.dtype[np.float64]]:
        if name not in factors:
            mult: np.ndarray[Any, np.dtype[np.float64]] | None
            if name is not None and name in wn.pattern_name_list:
                mult = np.asarray(wn.get_pattern(name).multipliers, np.float64)
            else:
                mult = default_mult
            factors[name] = (
                np.ones(period.shape[0])
                if mult is None or mult.size == 0
                else mult[period % mult.size]
            )
        return factors[name]

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
    out = np.zeros((period.shape[0], node_ids.shape[0]))
    if col:
        names = list(dict.fromkeys(pattern))
        fmat = np.stack([factor(n) for n in names])  # (P, T)
        which = np.array([names.index(p) for p in pattern])
        contrib = fmat[which] * np.asarray(base)[:, None]  # (D, T)
        np.add.at(out.T, np.asarray(col), contrib)
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

    with wntr_messages() as caught:
        wn = wntr.network.WaterNetworkModel(str(path))
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
