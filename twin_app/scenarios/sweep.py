"""Sweeps: close each selected road (or pipe) in turn and rank the closures by their harm.

"Which closure hurts most?" :func:`run_sweep` takes a scenario (its own interventions
applied first: that is the sweep's baseline), selects elements (``--where``), and runs one
closure per element:

``each="road"``
    closes one link (TNTP: each link id; twin roads: each road segment, both directions),
    re-solves the user equilibrium warm-started from the baseline solution and returns the
    KPI deltas; ranked by ``tstt_veh_h_delta`` (largest first).
``each="pipe"``
    closes one pipe for the whole run (a break isolated by its valves), runs EPANET and
    returns the KPI deltas; ranked by ``demand_not_served_m3_delta``.

Ties are broken by id, so the ranking is the same on every run and every machine.

The closures run on Dask (DESIGN.md section 5): a ``LocalCluster`` of worker processes with
one thread each by default, an existing scheduler given by address (the same command then
runs on a cluster), or in this process (``scheduler="none"``: tests and tiny sweeps). The
baseline snapshot and result go to the workers once (``Client.scatter(broadcast=True)``);
each task is a pure module-level function of (context, element) returning a small dict, so a
task gives the same numbers wherever it runs. Water tasks carry the ``.inp`` text, not its
path, so workers on other machines need no shared file system.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.engines.traffic import AssignmentResult
from twin_app.errors import Cancelled, InputError
from twin_app.scenarios.file import Scenario
from twin_app.scenarios.model import TrafficModel
from twin_app.scenarios.run import (
    TRAFFIC_KPIS,
    WATER_KPIS,
    Progress,
    apply_traffic,
    apply_water,
    assign_model,
    baseline_traffic_model,
    baseline_water_model,
    check_water_ids,
    simulate_model,
    traffic_kpis,
    water_kpis,
)

#: The KPI a sweep ranks by (largest delta first).
MAIN_KPI = {"road": "tstt_veh_h", "pipe": "demand_not_served_m3"}
#: ``scheduler`` values that run the closures in this process.
IN_PROCESS = ("none", "inprocess", "in-process")


@dataclasses.dataclass(frozen=True, eq=False)
class RoadContext:
    """What every road task needs (scattered to the workers once)."""

    scenario: Scenario
    model: TrafficModel
    base: AssignmentResult
    base_kpis: dict[str, float]


@dataclasses.dataclass(frozen=True, eq=False)
class PipeContext:
    """What every pipe task needs (scattered once): the network text, not its path."""

    scenario: Scenario
    inp_name: str
    inp_text: str
    changes: Any
    base_kpis: dict[str, float]


@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """A ranking of closures.

    Attributes
    ----------
    ranking
        One row per element: ``rank, id`` then the KPI deltas (``<kpi>_delta``), sorted by the
        main KPI's delta (largest first), ties by id.
    each
        ``road`` or ``pipe``.
    main_kpi
        The KPI ranked by.
    baseline
        KPI name -> baseline value.
    elapsed_s
        Wall time, baseline (and cluster start) included.
    tasks_s
        Wall time from the first closure submitted to the last one back.
    workers
        Worker processes used (0 in process).
    """

    ranking: pd.DataFrame
    each: str
    main_kpi: str
    baseline: dict[str, float]
    elapsed_s: float
    tasks_s: float
    workers: int


# --- element selection -------------------------------------------------------------------

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Tuple,
)  # fmt: skip


def select(table: pd.DataFrame, where: str | None, label: str = "--where") -> pd.DataFrame:
    """Rows of ``table`` where the expression holds (:meth:`pandas.DataFrame.query`).

    Only comparisons, ``and``/``or``/``not``, arithmetic, column names, numbers, strings and
    lists are allowed (no calls, attributes or ``@`` variables), so an expression cannot run
    code. Examples: ``capacity > 4000``, ``link_type == 1 and length > 2``, ``id in ["P1",
    "P2"]``.

    Raises
    ------
    InputError
        A syntax error, a construct that is not allowed, or an unknown column (the message
        lists the columns).
    """
    if where is None or not where.strip():
        return table
    cols = ", ".join(table.columns)
    try:
        tree = ast.parse(where.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(
            f"{label} {where!r}: not an expression ({exc.msg}); columns: {cols}"
        ) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise InputError(
                f"{label} {where!r}: {type(node).__name__} is not allowed (use comparisons, "
                f"and/or/not, numbers and strings over the columns {cols})"
            )
        if isinstance(node, ast.Name) and node.id not in table.columns:
            raise InputError(f"{label} {where!r}: unknown column {node.id!r}; columns: {cols}")
    try:
        out = table.query(where, engine="python")
    except Exception as exc:  # pandas raises many kinds: one line for the user
        raise InputError(
            f"{label} {where!r}: cannot evaluate ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(out, pd.DataFrame):
        raise InputError(f"{label} {where!r}: must be a condition (true or false per row)")
    return out


def road_elements(model: TrafficModel, base: AssignmentResult | None = None) -> pd.DataFrame:
    """One row per closable road element with its attributes (for ``--where``).

    TNTP networks: one per open link. Twin roads (links with a ``segment_row``): one per
    OSM way (``way/123``: every part, both directions); zone connectors are not closable.
    Columns: ``id, from_node, to_node, capacity, length, free_flow_time, b, power, speed,
    toll, link_type, flow_baseline`` (the first link of a segment) and ``positions``.
    """
    ids = np.asarray([str(v) for v in model.link_ids], dtype=object)
    open_ = ~model.closed
    twin = bool((model.segment_row >= 0).any())
    if twin:  # a way in both directions, all its parts (``way/123#2@r`` -> ``way/123``)
        keep = open_ & (model.segment_row >= 0)
        element = np.asarray([i.split("#")[0].removesuffix("@r") for i in ids], dtype=object)
    else:
        keep = open_
        element = ids
    pos = np.flatnonzero(keep)
    names, first, inverse = np.unique(element[pos], return_index=True, return_inverse=True)
    groups: list[list[int]] = [[] for _ in range(len(names))]
    for p, g in zip(pos.tolist(), inverse.tolist(), strict=True):
        groups[g].append(p)
    lead = pos[first]
    net = model.network
    flow = base.flow[lead] if base is not None else np.zeros(lead.size)
    table = pd.DataFrame(
        {
            "id": names.astype(str),
            "from_node": net.init_node[lead] + 1,
            "to_node": net.term_node[lead] + 1,
            "capacity": net.capacity[lead],
            "length": net.length[lead],
            "free_flow_time": net.free_flow_time[lead],
            "b": net.b[lead],
            "power": net.power[lead],
            "speed": net.speed[lead],
            "toll": net.toll[lead],
            "link_type": net.link_type[lead],
            "flow_baseline": flow,
            "positions": [tuple(g) for g in groups],
        }
    )
    # link file order, not string order: the sweep submits in the order a planner reads them
    return table.iloc[np.argsort(lead, kind="stable")].reset_index(drop=True)


def pipe_elements(inp_path: Path, base: Any) -> pd.DataFrame:
    """One row per pipe: ``id, type, diameter_m, length_m, roughness, status`` (SI units)."""
    from twin_app.io.epanet import read_inp

    pipes = [str(i) for i, t in zip(base.link_ids, base.link_types, strict=True) if t == "pipe"]
    try:
        links = read_inp(inp_path).links
    except InputError:  # a file drawn without coordinates still sweeps: ids only
        return pd.DataFrame({"id": pipes, "type": "pipe"})
    links = links.loc[links["type"] == "pipe"]
    cols = ["id", "type", "diameter_m", "length_m", "roughness", "status"]
    table = pd.DataFrame(links.loc[:, cols]).reset_index(drop=True)
    table["id"] = table["id"].astype(str)
    return table


# --- the tasks (pure, module level: they run on the workers) ----------------------------


def road_task(ctx: RoadContext, element: str, positions: tuple[int, ...]) -> dict[str, Any]:
    """Close one road element on the baseline and return the KPI deltas."""
    import logging

    closed = ctx.model.closed.copy()
    closed[list(positions)] = True
    closed.flags.writeable = False
    model = dataclasses.replace(ctx.model, closed=closed)
    # A closure that cuts OD pairs is counted in the KPIs; its per-pair log lines are noise
    # in a sweep of hundreds.
    logger = logging.getLogger("twin_app.engines.traffic")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        res = assign_model(model, ctx.scenario, warm_start=ctx.base)
    finally:
        logger.setLevel(level)
    k = traffic_kpis(model, res)
    row: dict[str, Any] = {"id": element}
    for name in TRAFFIC_KPIS:
        if name != "relative_gap":
            row[f"{name}_delta"] = float(k[name][0]) - ctx.base_kpis[name]
    row["relative_gap"] = float(res.relative_gap)
    row["iterations"] = int(res.iterations)
    return row


def _inp_file(ctx: PipeContext) -> Path:
    """The network text written once per worker process (a temporary file)."""
    digest = hashlib.sha256(ctx.inp_text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"twin_sweep_{os.getpid()}"
    path = folder / f"{digest}_{Path(ctx.inp_name).name}"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(ctx.inp_text, encoding="utf-8")
        tmp.replace(path)
    return path


def pipe_task(ctx: PipeContext, element: str) -> dict[str, Any]:
    """Close one pipe for the whole run and return the KPI deltas."""
    from twin_app.scenarios.model import WaterModel

    changes = dataclasses.replace(ctx.changes, closed_links=(*ctx.changes.closed_links, element))
    res = simulate_model(WaterModel(_inp_file(ctx), changes), ctx.scenario)
    k = water_kpis(res)
    row: dict[str, Any] = {"id": element}
    for name in WATER_KPIS:
        row[f"{name}_delta"] = float(k[name]) - ctx.base_kpis[name]
    return row


# --- running ------------------------------------------------------------------------------


def _rank(rows: list[dict[str, Any]], main: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    key = f"{main}_delta"
    # largest harm first; NaN last; ties by id
    frame = frame.sort_values([key, "id"], ascending=[False, True], na_position="last")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def _client(scheduler: str | None, workers: int | None) -> tuple[Any, Any, int]:
    """A dask Client (and the LocalCluster it owns, if any) and its worker count."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise InputError(f"--scheduler {scheduler}: cannot reach it ({exc})") from None
        return client, None, len(client.scheduler_info().get("workers", {}))
    n = workers or max(1, min(os.cpu_count() or 1, 8))
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster, n  # type: ignore[no-untyped-call]


def run_sweep(
    scenario: Scenario,
    each: str,
    where: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    elements: Sequence[str] | None = None,
    client: Any = None,
) -> SweepResult:
    """Close each selected element in turn and rank the closures (see the module docstring).

    Parameters
    ----------
    scenario
        Its networks and own interventions make the sweep's baseline.
    each
        ``"road"`` or ``"pipe"``.
    where
        Selects elements by their attributes (:func:`select`), e.g. ``capacity > 4000``.
    scheduler
        None: a LocalCluster of ``workers`` processes (one thread each); ``"none"``: in this
        process; otherwise the address of a running dask scheduler (``tcp://host:8786``).
    workers
        LocalCluster size (default: the CPU count, at most 8).
    progress
        ``progress(fraction, element id)`` as closures finish.
    cancelled
        Polled while waiting; when it answers True the futures are cancelled, the cluster is
        closed and :class:`~twin_app.errors.Cancelled` is raised. KeyboardInterrupt does the
        same.
    elements
        Explicit element ids (after ``where``), in this order; default all selected.
    client
        A ``distributed.Client`` to run on (kept open afterwards); overrides ``scheduler``
        and ``workers``. The app and the benchmark reuse one cluster for many sweeps.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    if each not in MAIN_KPI:
        raise InputError(f"--each {each!r}: choose road or pipe")
    ctx: RoadContext | PipeContext
    jobs: list[tuple[Any, ...]]
    if each == "road":
        if not scenario.has_traffic:
            raise InputError(f"{scenario.label}: a road sweep needs [traffic] or a twin's roads")
        model = apply_traffic(scenario, baseline_traffic_model(scenario))
        base = assign_model(model, scenario)
        base_kpis = {k: float(v[0]) for k, v in traffic_kpis(model, base).items()}
        ctx = RoadContext(scenario, model, base, base_kpis)
        closure_s = 0.5 * base.elapsed_s  # a warm re-solve: about half a cold one
        table = select(road_elements(model, base), where)
        func: Callable[..., dict[str, Any]] = road_task
        jobs = [(i, tuple(p)) for i, p in zip(table["id"], table["positions"], strict=True)]
    else:
        if not scenario.has_water:
            raise InputError(f"{scenario.label}: a pipe sweep needs [water] or a twin's pipes")
        wmodel = baseline_water_model(scenario)
        wbase0 = simulate_model(wmodel, scenario)
        check_water_ids(scenario, wbase0)
        wmodel = apply_water(scenario, wmodel)
        wbase = simulate_model(wmodel, scenario) if not wmodel.changes.empty else wbase0
        base_kpis = water_kpis(wbase)
        inp = Path(wmodel.inp_path)
        ctx = PipeContext(scenario, inp.name, inp.read_text(encoding="utf-8", errors="replace"),
                          wmodel.changes, base_kpis)  # fmt: skip
        table = select(pipe_elements(inp, wbase), where)
        closure_s = wbase.run_time_s
        already = set(wmodel.changes.closed_links)
        table = table.loc[~table["id"].isin(already)]
        func = pipe_task
        jobs = [(i,) for i in table["id"]]
    if elements is not None:
        order = {str(e): n for n, e in enumerate(elements)}
        unknown = [e for e in order if e not in {str(j[0]) for j in jobs}]
        if unknown:
            raise InputError(f"{scenario.label}: no {each} {unknown[0]!r} among the selected ones")
        jobs = sorted((j for j in jobs if str(j[0]) in order), key=lambda j: order[str(j[0])])
    if not jobs:
        raise InputError(f"{scenario.label}: --where {where!r} selects no {each}")

    rows: list[dict[str, Any]] = []
    n_workers = 0

    def tick(done: int, element: str) -> None:
        if progress is not None:
            progress(done / len(jobs), element)

    t_tasks = time.perf_counter()
    if client is None and scheduler is not None and scheduler.lower() in IN_PROCESS:
        for n, job in enumerate(jobs):
            if cancelled is not None and cancelled():
                raise Cancelled(f"{scenario.label}: sweep cancelled after {n} of {len(jobs)}")
            rows.append(func(ctx, *job))
            tick(n + 1, str(job[0]))
    else:
        rows, n_workers, t_tasks = _run_dask(
            ctx, func, jobs, scheduler, workers, tick, cancelled, scenario.label, client, closure_s
        )
    tasks_s = time.perf_counter() - t_tasks
    base_values = {k: float(v) for k, v in base_kpis.items()}
    return SweepResult(
        ranking=_rank(rows, MAIN_KPI[each]),
        each=each,
        main_kpi=MAIN_KPI[each],
        baseline=base_values,
        elapsed_s=time.perf_counter() - t0,
        tasks_s=tasks_s,
        workers=n_workers,
    )


#: Seconds of work one Dask task of a sweep aims at (several closures in a row).
TASK_S = 0.25


def chunk_size(n_jobs: int, n_workers: int, closure_s: float) -> int:
    """Closures per task: about :data:`TASK_S` of work (`closure_s` each, estimated from the
    baseline run), at most an equal share per worker, at least one."""
    share = max(1, math.ceil(n_jobs / max(n_workers, 1)))
    by_time = max(1, int(TASK_S / max(closure_s, 1e-6)))
    return min(share, by_time)


def run_chunk(
    func: Callable[..., dict[str, Any]], ctx: Any, jobs: tuple[tuple[Any, ...], ...]
) -> list[dict[str, Any]]:
    """Run ``func(ctx, *job)`` for each job in order (one Dask task; pure)."""
    return [func(ctx, *job) for job in jobs]


def _run_dask(
    ctx: Any,
    func: Callable[..., dict[str, Any]],
    jobs: list[tuple[Any, ...]],
    scheduler: str | None,
    workers: int | None,
    tick: Callable[[int, str], None],
    cancelled: Callable[[], bool] | None,
    label: str,
    given: Any = None,
    closure_s: float = 0.0,
) -> tuple[list[dict[str, Any]], int, float]:
    """Submit one task per job, gather as they complete; cancel and close cleanly.

    Returns the rows, the worker count and when the first task was submitted.
    """
    from distributed import as_completed

    if given is not None:
        client, cluster = given, None
        n_workers = len(client.scheduler_info().get("workers", {}))
    else:
        client, cluster, n_workers = _client(scheduler, workers)
    futures: list[Any] = []
    try:
        shared = client.scatter(ctx, broadcast=True)
        t_tasks = time.perf_counter()
        # A warm re-solve takes milliseconds, the scheduler's round trip a few: several
        # closures per task, about TASK_S of work each (so cancel answers within that),
        # never fewer tasks than workers.
        size = chunk_size(len(jobs), n_workers, closure_s)
        chunks = [tuple(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        futures = [client.submit(run_chunk, func, shared, c, pure=False) for c in chunks]
        rows: list[dict[str, Any]] = []
        # Cancel is checked as each task finishes (a task takes well under a second).
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            if cancelled is not None and cancelled():
                raise Cancelled(f"{label}: sweep cancelled after {len(rows)} of {len(jobs)}")
            for row in fut.result():
                rows.append(row)
                tick(len(rows), str(row["id"]))
        return rows, n_workers, t_tasks
    except (Cancelled, KeyboardInterrupt):
        client.cancel(futures)
        raise
    finally:
        if given is None:
            client.close()
        if cluster is not None:
            cluster.close()


def write_ranking(result: SweepResult, path: Path | str) -> Path:
    """Write the ranking as CSV atomically."""
    from twin_app.atomic import atomic_write_text

    p = Path(path)
    atomic_write_text(p, result.ranking.to_csv(index=False))
    return p
