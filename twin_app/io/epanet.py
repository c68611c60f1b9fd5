"""EPANET ``.inp`` water networks -> :class:`~twin_app.model.network.PipeNetwork` and pipe meshes.

Reading goes through wntr (``wntr.network.WaterNetworkModel``), which converts every quantity
to SI. EPANET 1 and default cases that wntr refuses and EPANET reads (files written by old
tools: Wolf-Cordera Ranch's SEGMENTS option and pump lines, North Penn's missing UNITS) are
first rewritten the way EPANET reads them (:mod:`twin_app.io.inp_legacy`, on a private copy).
When wntr still cannot read a file, a minimal parser reads just what drawing needs from [JUNCTIONS], [RESERVOIRS], [TANKS], [DEMANDS],
[PIPES], [PUMPS], [VALVES], [STATUS], [COORDINATES], [VERTICES] and the [OPTIONS] ``Units`` and
``Headloss``. Such a network can be drawn but not simulated.

Units. EPANET's flow units fix the others: with US flow units (CFS, GPM, MGD, IMGD, AFD)
elevations and lengths are in feet, diameters in inches and Darcy-Weisbach roughness in
millifeet; with SI flow units (LPS, LPM, MLD, CMH, CMD) they are metres, millimetres and mm.
Everything here is converted to metres and m³/s with wntr's factors (GPM = 6.309e-5 m³/s,
ft = 0.3048 m, in = 0.0254 m), so both parsers give the same tables.

Coordinates. ``.inp`` files declare no CRS, and some have no [COORDINATES] at all (their layout
lived in a separate ``.map`` file): those cannot be drawn and raise :class:`InputError`; no layout
is invented. A :class:`~twin_app.geometry.placement.Placement` says how coordinates reach the local
frame, and the load report says which one was used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import InputError
from twin_app.geometry.placement import Placement
from twin_app.geometry.tubes import tubes
from twin_app.io.source import LoadReport
from twin_app.model.city import PIPES, FeatureSet, Polylines
from twin_app.model.frame import LocalFrame, parse_crs
from twin_app.model.mesh import FloatArray
from twin_app.model.network import (
    JUNCTION,
    LINK_COLUMNS,
    NODE_COLUMNS,
    PIPE,
    PUMP,
    RESERVOIR,
    TANK,
    VALVE,
    PipeNetwork,
)

#: m³/s per unit of each EPANET flow unit (the factors wntr uses).
FLOW_M3S: dict[str, float] = {
    "CFS": 0.0283168466,
    "GPM": 0.003785411784 / 60.0,
    "MGD": 1e6 * 0.003785411784 / 86400.0,
    "IMGD": 1e6 * 0.00454609 / 86400.0,
    "AFD": 1233.48184 / 86400.0,
    "LPS": 0.001,
    "LPM": 0.001 / 60.0,
    "MLD": 1e6 * 0.001 / 86400.0,
    "CMH": 1.0 / 3600.0,
    "CMD": 1.0 / 86400.0,
}
#: Flow units that make the rest of the file US customary (feet, inches, psi).
US_FLOW_UNITS = frozenset({"CFS", "GPM", "MGD", "IMGD", "AFD"})
FOOT_M = 0.3048
INCH_M = 0.0254

#: Depth of the pipe crown below ground, metres (typical cover for water mains).
DEFAULT_DEPTH_M = 1.5
#: Drawn diameter of a pump with no pipe at its nodes, metres.
DEFAULT_PUMP_DIAMETER_M = 0.3
#: Drawn diameter of a link whose diameter is missing or not positive, metres.
FALLBACK_DIAMETER_M = 0.1

Ground = float | Callable[[FloatArray], FloatArray]
#: Where coordinates go: a fit Placement, bare fit bounds ``(xmin, ymin, xmax, ymax)`` in local
#: metres, the twin's LocalFrame (with a CRS placement), or None (the network's own placement).
FrameOrFit = LocalFrame | Placement | tuple[float, float, float, float] | None
Sections = dict[str, list[tuple[int, list[str]]]]


# --------------------------------------------------------------------------------------------
# reading


TablesReader = Callable[
    [Path, LoadReport],
    tuple[pd.DataFrame, pd.DataFrame, FloatArray, np.ndarray[Any, Any], str, str],
]


def read_inp(
    path: str | Path,
    placement: Placement | None = None,
    *,
    tables_from: TablesReader | None = None,
    strict: bool = False,
) -> PipeNetwork:
    """Read an EPANET input file into node and link tables in SI units.

    Parameters
    ----------
    path
        The ``.inp`` file.
    placement
        How its coordinates reach the twin's local frame (a CRS, or local bounds to lay it out
        in); recorded in the network and named in the load report. None: decide later.
    tables_from
        Another reader of the node and link tables (``twin_app.engines.water`` passes wntr's,
        since wntr may only be imported there); None: this module's own parser. If the other
        reader fails, the own parser is used and a warning says so (unless `strict`).
    strict
        Raise instead of falling back when `tables_from` fails.

    Returns
    -------
    PipeNetwork
        See :class:`~twin_app.model.network.PipeNetwork` for the columns and units.

    Raises
    ------
    InputError
        The file is missing, is not an EPANET file, has no coordinates (it cannot be drawn
        without a layout), or has a line the parser cannot use (the message names the line).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an EPANET .inp file")
    sections = _scan(path)
    report = LoadReport(path.name)
    if not any(s in sections for s in ("JUNCTIONS", "PIPES", "RESERVOIRS", "TANKS")):
        raise InputError(
            f"{path}: not an EPANET input file (no [JUNCTIONS], [RESERVOIRS], [TANKS] or "
            "[PIPES] section)"
        )
    # A complete file without coordinates fails at once; a truncated one is parsed first, so
    # that the error names the line where it breaks off.
    if not sections.get("COORDINATES") and "END" in sections:
        raise _no_coordinates(path, sections)
    tables: tuple[pd.DataFrame, pd.DataFrame, FloatArray, np.ndarray[Any, Any], str, str] | None
    tables = None
    used = "minimal"
    if tables_from is not None:
        try:
            tables = tables_from(path, report)
            used = "wntr"
        except Exception as exc:
            reason = _one_line(exc)
            if strict:
                raise InputError(f"{path}: wntr cannot read it: {reason}") from exc
            report.warn(
                f"wntr cannot read it ({reason}); read with the minimal parser: it can be drawn "
                "but not simulated"
            )
    if tables is None:
        tables = _tables_minimal(path, sections, report)
    nodes, links, vertex_xy, vertex_offsets, units, headloss = tables
    if not sections.get("COORDINATES"):
        raise _no_coordinates(path, sections)
    if "END" not in sections:
        report.warn("no [END] section: the file may be truncated")

    # Coordinates come from the file's [COORDINATES] for both parsers; wntr puts (0, 0) on
    # nodes that have none, which would draw pipes to the origin.
    _apply_coordinates(path, sections, nodes, report)
    missing = ~np.isfinite(nodes[["x", "y"]].to_numpy(np.float64)).all(axis=1)
    if missing.any():
        report.skip(
            "nodes without coordinates (their links are not drawn)",
            int(missing.sum()),
            str(nodes["id"].iloc[int(np.argmax(missing))]),
        )
    network = PipeNetwork(
        source=str(path),
        name=path.stem,
        nodes=nodes,
        links=links,
        vertex_xy=vertex_xy,
        vertex_offsets=vertex_offsets,
        flow_units=units,
        headloss=headloss,
        parser=used,
        report=report,
        placement=placement,
    )
    if placement is not None:
        _report_placement(network, placement)
    return network


def _no_coordinates(path: Path, sections: Sections) -> InputError:
    map_file = _option(sections, "MAP")
    hint = f"; its layout was in the map file '{map_file}', which is not read" if map_file else ""
    return InputError(
        f"{path}: no coordinates (no [COORDINATES] section{hint}); the network cannot be drawn "
        "without a layout: add node coordinates to the file (EPANET saves them with the map)"
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(fill_placeholders(exc).split()) or "no message"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 160 else text[:157] + "..."


def fill_placeholders(exc: BaseException) -> str:
    """The message of `exc` with an unfilled ``%s`` filled in.

    Some library errors are raised with a format string that was never formatted (wntr:
    ``'%s is not a valid member of WaterNetworkModel'``); the value meant is a local variable
    of the frame that raised it (``name``, ``key`` or ``value``), so the message can still say
    which one.
    """
    text = str(exc)
    if "%s" not in text:
        return text
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    found: Any = None
    if tb is not None:
        local = tb.tb_frame.f_locals
        found = next((local[k] for k in ("name", "key", "value") if k in local), None)
    shown = repr(found) if isinstance(found, str | int | float) else "an unknown option"
    return text.replace("%s", shown, 1).replace("%s", "?")


def _report_placement(network: PipeNetwork, placement: Placement) -> None:
    report: LoadReport = network.report
    if placement.crs is not None:
        message = f"coordinates taken as {placement.crs} (the file declares no CRS)"
    else:
        bounds = network.xy_bounds()
        if bounds is None:
            return
        scale, tx, ty = placement.affine(bounds)
        message = (
            f"{network.name} network laid out under {placement.label} by scaling x{scale:.4g} "
            f"and translating ({tx:.0f} m, {ty:.0f} m); not its real location"
        )
    if not any(w.endswith(message) for w in report.warnings):
        report.warn(message)


def _scan(path: Path) -> Sections:
    """Tokens of every data line, by upper-case section name, with 1-based line numbers.

    NUL padding and DOS end-of-file marks (seen in real files) are dropped; text after ``;``
    is a comment.
    """
    raw = path.read_bytes().replace(b"\x00", b"").replace(b"\x1a", b"")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    sections: Sections = {}
    current: list[tuple[int, list[str]]] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = stripped[1:].split("]", 1)[0].strip().upper()
            current = sections.setdefault(name, [])
            continue
        if current is None:
            continue
        tokens = line.split(";", 1)[0].split()
        if tokens:
            current.append((lineno, tokens))
    return sections


def _option(sections: Sections, key: str) -> str | None:
    """Value of an [OPTIONS] keyword (first token after it), upper-cased keys, or None."""
    for _, tokens in sections.get("OPTIONS", []):
        if tokens[0].upper() == key and len(tokens) > 1:
            return tokens[1]
    return None


def _apply_coordinates(
    path: Path, sections: Sections, nodes: pd.DataFrame, report: LoadReport
) -> None:
    row = {nid: i for i, nid in enumerate(nodes["id"])}
    x = np.full(len(nodes), np.nan)
    y = np.full(len(nodes), np.nan)
    unknown: list[str] = []
    for lineno, tokens in sections.get("COORDINATES", []):
        if len(tokens) < 3:
            raise _line_error(path, sections, lineno, "COORDINATES", "needs: node x y")
        i = row.get(tokens[0])
        if i is None:
            unknown.append(tokens[0])
            continue
        x[i] = _number(path, sections, lineno, "COORDINATES", tokens[1])
        y[i] = _number(path, sections, lineno, "COORDINATES", tokens[2])
    if unknown:
        report.skip("coordinates of undefined nodes", len(unknown), unknown[0])
    nodes["x"] = x
    nodes["y"] = y


def _line_error(path: Path, sections: Sections, lineno: int, section: str, what: str) -> InputError:
    hint = "" if "END" in sections else " (the file has no [END]: is it truncated?)"
    return InputError(f"{path}: line {lineno} in [{section}]: {what}{hint}")


def _number(path: Path, sections: Sections, lineno: int, section: str, token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise _line_error(path, sections, lineno, section, f"'{token}' is not a number") from None
    if not math.isfinite(value):
        raise _line_error(path, sections, lineno, section, f"'{token}' is not a finite number")
    return value


def _node_table(
    ids: list[str], types: list[str], elevation_m: list[float], demand_m3s: list[float]
) -> pd.DataFrame:
    n = len(ids)
    table = pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "type": pd.Series(types, dtype=object),
            "x": np.full(n, np.nan),
            "y": np.full(n, np.nan),
            "elevation_m": np.asarray(elevation_m, np.float64),
            "base_demand_m3s": np.asarray(demand_m3s, np.float64),
        }
    )
    return table[list(NODE_COLUMNS)]


def _link_table(rows: dict[str, list[Any]]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "id": pd.Series(rows["id"], dtype=object),
            "type": pd.Series(rows["type"], dtype=object),
            "start": np.asarray(rows["start"], np.int64),
            "end": np.asarray(rows["end"], np.int64),
            "diameter_m": np.asarray(rows["diameter_m"], np.float64),
            "length_m": np.asarray(rows["length_m"], np.float64),
            "roughness": np.asarray(rows["roughness"], np.float64),
            "status": pd.Series(rows["status"], dtype=object),
            "valve_type": pd.Series(rows["valve_type"], dtype=object),
        }
    )
    return table[list(LINK_COLUMNS)]


def _empty_link_rows() -> dict[str, list[Any]]:
    return {c: [] for c in LINK_COLUMNS}


def _tables_minimal(
    path: Path, sections: Sections, report: LoadReport
) -> tuple[pd.DataFrame, pd.DataFrame, FloatArray, np.ndarray[Any, Any], str, str]:
    """The fallback parser: enough of the file to draw it (EPANET 2.2 input rules)."""
    units = (_option(sections, "UNITS") or "GPM").upper()
    if units not in FLOW_M3S:
        raise InputError(f"{path}: unknown flow units '{units}' in [OPTIONS]")
    headloss = (_option(sections, "HEADLOSS") or "H-W").upper()
    us = units in US_FLOW_UNITS
    flow = FLOW_M3S[units]
    length_m = FOOT_M if us else 1.0
    diam_m = INCH_M if us else 0.001
    dw_rough_m = 0.001 * FOOT_M if us else 0.001

    def num(lineno: int, section: str, token: str) -> float:
        return _number(path, sections, lineno, section, token)

    def need(lineno: int, section: str, tokens: list[str], n: int, fields: str) -> None:
        if len(tokens) < n:
            raise _line_error(
                path,
                sections,
                lineno,
                section,
                f"{len(tokens)} fields, needs at least {n}: {fields}",
            )

    # Nodes: junctions, then reservoirs (including [TANKS] lines with <= 3 fields, which
    # EPANET reads as reservoirs), then tanks.
    entries: dict[str, list[tuple[str, float, float, int]]] = {
        JUNCTION: [],
        RESERVOIR: [],
        TANK: [],
    }
    seen: dict[str, int] = {}

    def add_node(kind: str, nid: str, elev: float, dem: float, lineno: int, section: str) -> None:
        if nid in seen:
            raise _line_error(
                path,
                sections,
                lineno,
                section,
                f"node '{nid}' is already defined on line {seen[nid]}",
            )
        seen[nid] = lineno
        entries[kind].append((nid, elev, dem, lineno))

    for lineno, t in sections.get("JUNCTIONS", []):
        need(lineno, "JUNCTIONS", t, 2, "id elevation [demand] [pattern]")
        dem = num(lineno, "JUNCTIONS", t[2]) * flow if len(t) > 2 else 0.0
        add_node(
            JUNCTION, t[0], num(lineno, "JUNCTIONS", t[1]) * length_m, dem, lineno, "JUNCTIONS"
        )
    for lineno, t in sections.get("RESERVOIRS", []):
        need(lineno, "RESERVOIRS", t, 2, "id head [pattern]")
        add_node(
            RESERVOIR, t[0], num(lineno, "RESERVOIRS", t[1]) * length_m, 0.0, lineno, "RESERVOIRS"
        )
    for lineno, t in sections.get("TANKS", []):
        need(lineno, "TANKS", t, 2, "id elevation init min max diameter minvol [curve]")
        elev = num(lineno, "TANKS", t[1]) * length_m
        if len(t) <= 3:
            add_node(RESERVOIR, t[0], elev, 0.0, lineno, "TANKS")
        elif len(t) < 6:
            need(lineno, "TANKS", t, 6, "id elevation init min max diameter [minvol] [curve]")
        else:
            add_node(TANK, t[0], elev, 0.0, lineno, "TANKS")
    ordered = entries[JUNCTION] + entries[RESERVOIR] + entries[TANK]
    ids = [e[0] for e in ordered]
    types = [JUNCTION] * len(entries[JUNCTION])
    types += [RESERVOIR] * len(entries[RESERVOIR]) + [TANK] * len(entries[TANK])
    demand = [e[2] for e in ordered]
    row = {nid: i for i, nid in enumerate(ids)}

    # [DEMANDS] replaces the demand given on a junction's line.
    replaced: set[str] = set()
    for lineno, t in sections.get("DEMANDS", []):
        need(lineno, "DEMANDS", t, 2, "junction demand [pattern]")
        i = row.get(t[0])
        if i is None or types[i] != JUNCTION:
            raise _line_error(path, sections, lineno, "DEMANDS", f"'{t[0]}' is not a junction")
        if t[0] not in replaced:
            replaced.add(t[0])
            demand[i] = 0.0
        demand[i] += num(lineno, "DEMANDS", t[1]) * flow
    nodes = _node_table(ids, types, [e[1] for e in ordered], demand)

    rows = _empty_link_rows()
    link_row: dict[str, int] = {}

    def add_link(section: str, lineno: int, t: list[str], kind: str, **values: Any) -> None:
        lid = t[0]
        if lid in link_row:
            raise _line_error(path, sections, lineno, section, f"link '{lid}' is defined twice")
        ends = []
        for nid in (t[1], t[2]):
            i = row.get(nid)
            if i is None:
                raise _line_error(
                    path,
                    sections,
                    lineno,
                    section,
                    f"link '{lid}' refers to undefined node '{nid}'",
                )
            ends.append(i)
        link_row[lid] = len(rows["id"])
        rows["id"].append(lid)
        rows["type"].append(kind)
        rows["start"].append(ends[0])
        rows["end"].append(ends[1])
        for key in ("diameter_m", "length_m", "roughness"):
            rows[key].append(values.get(key, math.nan))
        rows["status"].append(values["status"])
        rows["valve_type"].append(values.get("valve_type", ""))

    for lineno, t in sections.get("PIPES", []):
        need(lineno, "PIPES", t, 6, "id node1 node2 length diameter roughness [minorloss] [status]")
        status = "open"
        flag = t[7] if len(t) > 7 else (t[6] if len(t) == 7 else "")
        if flag.upper() in ("CV", "CLOSED", "OPEN"):
            status = flag.lower()
        rough = num(lineno, "PIPES", t[5])
        add_link(
            "PIPES",
            lineno,
            t,
            PIPE,
            length_m=num(lineno, "PIPES", t[3]) * length_m,
            diameter_m=num(lineno, "PIPES", t[4]) * diam_m,
            roughness=rough * dw_rough_m if headloss == "D-W" else rough,
            status=status,
        )
    for lineno, t in sections.get("PUMPS", []):
        need(lineno, "PUMPS", t, 4, "id node1 node2 parameters")
        add_link("PUMPS", lineno, t, PUMP, status="open")
    for lineno, t in sections.get("VALVES", []):
        need(lineno, "VALVES", t, 6, "id node1 node2 diameter type setting [minorloss]")
        add_link(
            "VALVES",
            lineno,
            t,
            VALVE,
            diameter_m=num(lineno, "VALVES", t[3]) * diam_m,
            status="active",
            valve_type=t[4].upper(),
        )
    for lineno, t in sections.get("STATUS", []):
        need(lineno, "STATUS", t, 2, "link status|setting")
        i = link_row.get(t[0])
        if i is None:
            raise _line_error(path, sections, lineno, "STATUS", f"undefined link '{t[0]}'")
        word = t[1].upper()
        if word in ("OPEN", "CLOSED", "ACTIVE"):
            rows["status"][i] = word.lower()
        elif rows["type"][i] == PUMP:
            # a pump's number is its relative speed; 0 stops it
            rows["status"][i] = "closed" if num(lineno, "STATUS", t[1]) == 0.0 else "open"
        else:
            num(lineno, "STATUS", t[1])
    links = _link_table(rows)

    per_link: list[list[tuple[float, float]]] = [[] for _ in range(len(links))]
    unknown: list[str] = []
    for lineno, t in sections.get("VERTICES", []):
        need(lineno, "VERTICES", t, 3, "link x y")
        i = link_row.get(t[0])
        if i is None:
            unknown.append(t[0])
            continue
        per_link[i].append((num(lineno, "VERTICES", t[1]), num(lineno, "VERTICES", t[2])))
    if unknown:
        report.skip("vertices of undefined links", len(unknown), unknown[0])
    counts = np.array([len(v) for v in per_link], np.int64)
    offsets = np.zeros(len(per_link) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    vxy = np.array([p for v in per_link for p in v], np.float64).reshape(-1, 2)
    return nodes, links, vxy, offsets, units, headloss


# --------------------------------------------------------------------------------------------
# placing and meshing


def local_positions(
    network: PipeNetwork, frame_or_fit: FrameOrFit = None
) -> tuple[FloatArray, FloatArray]:
    """Node and vertex positions in local metres, ``(n_nodes, 2)`` and ``(m, 2)``.

    Parameters
    ----------
    network
        The network.
    frame_or_fit
        A fit :class:`Placement` or bare bounds ``(xmin, ymin, xmax, ymax)`` (lay out into
        these local bounds), or the twin's :class:`LocalFrame` (the coordinates are then in the
        CRS of ``network.placement``, or laid out by it if that is a fit), or None
        (``network.placement`` must be a fit). A fit that ``read_inp`` was not given is added
        to ``network.report`` (once), so the report always says how the network was placed.

    Raises
    ------
    InputError
        No placement is known, or a CRS placement has no frame to convert into.
    """
    if isinstance(frame_or_fit, tuple):
        frame_or_fit = Placement.fit(frame_or_fit)
    placement = frame_or_fit if isinstance(frame_or_fit, Placement) else network.placement
    frame = frame_or_fit if isinstance(frame_or_fit, LocalFrame) else None
    if placement is not None and placement != network.placement:
        _report_placement(network, placement)
    nxy = network.nodes[["x", "y"]].to_numpy(np.float64)
    vxy = network.vertex_xy
    if placement is None:
        raise InputError(
            f"{network.source}: EPANET coordinates have no CRS; give a placement: the EPSG code "
            "they are in, or local bounds to lay the network out in"
        )
    if placement.crs is not None:
        if frame is None:
            raise InputError(
                f"{network.source}: coordinates in {placement.crs} need the twin's local frame"
            )
        src = parse_crs(placement.crs, network.source)
        return _to_frame(frame, nxy, src), _to_frame(frame, vxy, src)
    bounds = network.xy_bounds()
    if bounds is None:
        return nxy.copy(), vxy.copy()
    scale, tx, ty = placement.affine(bounds)
    shift = np.array([tx, ty])
    return nxy * scale + shift, vxy * scale + shift


def _to_frame(frame: LocalFrame, xy: FloatArray, src: Any) -> FloatArray:
    out = np.full(xy.shape, np.nan)
    ok = np.isfinite(xy).all(axis=1)
    if ok.any():
        out[ok] = frame.to_local(xy[ok, 0], xy[ok, 1], src=src)[:, :2]
    return out


def _ground_at(xy: FloatArray, ground_z_m: Ground) -> FloatArray:
    if callable(ground_z_m):
        return np.asarray(ground_z_m(xy), np.float64).reshape(xy.shape[0])
    return np.full(xy.shape[0], float(ground_z_m))


def drawn_diameters_m(network: PipeNetwork) -> FloatArray:
    """Diameter each link is drawn with, metres.

    Pipes and valves use their own; a pump (EPANET gives none) takes the largest pipe at its
    two nodes, else :data:`DEFAULT_PUMP_DIAMETER_M`; missing or non-positive ones get
    :data:`FALLBACK_DIAMETER_M`.
    """
    links = network.links
    d = links["diameter_m"].to_numpy(np.float64).copy()
    kind = links["type"].to_numpy(object)
    start = links["start"].to_numpy(np.int64)
    end = links["end"].to_numpy(np.int64)
    pipe = (kind == PIPE) & np.isfinite(d)
    node_max = np.zeros(network.n_nodes)
    np.maximum.at(node_max, start[pipe], d[pipe])
    np.maximum.at(node_max, end[pipe], d[pipe])
    pump = kind == PUMP
    pump_d = np.maximum(node_max[start[pump]], node_max[end[pump]])
    d[pump] = np.where(pump_d > 0, pump_d, DEFAULT_PUMP_DIAMETER_M)
    bad = ~(np.isfinite(d) & (d > 0))
    d[bad] = FALLBACK_DIAMETER_M
    return d


def _drop_incomplete(lines: Polylines) -> Polylines:
    """Empty the lines that have a non-finite point (links at nodes without coordinates)."""
    counts = np.diff(lines.offsets)
    line_of_pt = np.repeat(np.arange(counts.shape[0]), counts)
    bad_pt = ~np.isfinite(lines.coords).all(axis=1)
    if not bad_pt.any():
        return lines
    bad_line = np.bincount(line_of_pt[bad_pt], minlength=counts.shape[0]) > 0
    keep = ~bad_line[line_of_pt]
    new_counts = np.where(bad_line, 0, counts)
    offsets = np.zeros_like(lines.offsets)
    np.cumsum(new_counts, out=offsets[1:])
    return Polylines(lines.coords[keep], offsets)


def pipes_feature_set(
    network: PipeNetwork,
    frame_or_fit: FrameOrFit = None,
    depth_m: float = DEFAULT_DEPTH_M,
    ground_z_m: Ground = 0.0,
    n_sides: int = 8,
    exaggeration: float = 1.0,
) -> FeatureSet:
    """All links of a network as buried tubes, one feature per link (kind ``pipes``).

    Parameters
    ----------
    network
        From :func:`read_inp`.
    frame_or_fit
        Where the coordinates go (see :func:`local_positions`).
    exaggeration
        Draw tubes this many times thicker than the real diameter (a 200 mm main is invisible
        at district scale); the centre line is lowered so the top stays at `depth_m`.
    depth_m
        Cover above the pipe crown: the centre line lies at
        ``z = ground - depth_m - diameter / 2``.
    ground_z_m
        Ground height in local metres, one value or a function of (n, 2) local x, y that
        returns (n,) heights (a terrain sampler).
    n_sides
        Sides of each tube.

    Returns
    -------
    FeatureSet
        Row i is link i of the network (same order as ``network.links`` and the engine's
        results). ``table`` has ``id``, ``type``, ``diameter_m``, ``length_m``, ``status``,
        ``valve_type``, ``start_node``, ``end_node``; ``lines`` are the centre lines in local
        metres (empty for links at nodes without coordinates); the mesh carries
        ``pipe_index``.
    """
    node_xy, vertex_xy = local_positions(network, frame_or_fit)
    lines = network.link_lines(node_xy, vertex_xy)
    diameter = drawn_diameters_m(network) * float(exaggeration)
    counts = np.diff(lines.offsets)
    line_of_pt = np.repeat(np.arange(counts.shape[0]), counts)
    ok = np.isfinite(lines.coords[:, :2]).all(axis=1)
    z = np.full(lines.coords.shape[0], np.nan)
    z[ok] = _ground_at(lines.coords[ok, :2], ground_z_m) - depth_m - diameter[line_of_pt[ok]] / 2
    coords = lines.coords.copy()
    coords[:, 2] = z
    centre = _drop_incomplete(Polylines(coords, lines.offsets))
    mesh = tubes(centre, diameter / 2.0, n_sides=n_sides, index_name="pipe_index")

    links = network.links
    node_ids = network.nodes["id"].to_numpy(object)
    table = pd.DataFrame(
        {
            "id": links["id"].to_numpy(object),
            "type": links["type"].to_numpy(object),
            "diameter_m": links["diameter_m"].to_numpy(np.float64),
            "length_m": links["length_m"].to_numpy(np.float64),
            "status": links["status"].to_numpy(object),
            "valve_type": links["valve_type"].to_numpy(object),
            "start_node": node_ids[links["start"].to_numpy(np.int64)],
            "end_node": node_ids[links["end"].to_numpy(np.int64)],
        }
    )
    return FeatureSet(
        name=f"Pipes ({Path(network.source).name})",
        kind=PIPES,
        source=network.source,
        ids=links["id"].to_numpy(object).copy(),
        table=table,
        mesh=mesh,
        lines=centre,
    )


def network_glyphs(
    network: PipeNetwork,
    frame_or_fit: FrameOrFit = None,
    depth_m: float = DEFAULT_DEPTH_M,
    ground_z_m: Ground = 0.0,
) -> pd.DataFrame:
    """Positions for glyphs: every node, and every pump and valve (links in EPANET).

    Junctions sit at pipe depth (``ground - depth_m``), reservoirs and tanks on the ground;
    pumps and valves at the midpoint of their end nodes, on their centre line.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``element`` (``node``/``link``), ``type`` (``junction``, ``reservoir``,
        ``tank``, ``pump``, ``valve``), ``index`` (row in the network's node or link table),
        ``x``, ``y``, ``z`` in local metres. Nodes without coordinates are left out.
    """
    node_xy, _ = local_positions(network, frame_or_fit)
    nodes, links = network.nodes, network.links
    ntype = nodes["type"].to_numpy(object)
    ok = np.isfinite(node_xy).all(axis=1)
    nz = np.full(len(nodes), np.nan)
    nz[ok] = _ground_at(node_xy[ok], ground_z_m)
    nz = np.where(ntype == JUNCTION, nz - depth_m, nz)

    ltype = links["type"].to_numpy(object)
    sel = np.flatnonzero((ltype == PUMP) | (ltype == VALVE))
    start = links["start"].to_numpy(np.int64)[sel]
    end = links["end"].to_numpy(np.int64)[sel]
    mid = (node_xy[start] + node_xy[end]) / 2.0
    lok = np.isfinite(mid).all(axis=1)
    lz = np.full(sel.shape[0], np.nan)
    radius = drawn_diameters_m(network)[sel] / 2.0
    lz[lok] = _ground_at(mid[lok], ground_z_m) - depth_m - radius[lok]

    node_part = pd.DataFrame(
        {
            "id": nodes["id"].to_numpy(object),
            "element": "node",
            "type": ntype,
            "index": np.arange(len(nodes), dtype=np.int64),
            "x": node_xy[:, 0],
            "y": node_xy[:, 1],
            "z": nz,
        }
    )[ok]
    link_part = pd.DataFrame(
        {
            "id": links["id"].to_numpy(object)[sel],
            "element": "link",
            "type": ltype[sel],
            "index": sel.astype(np.int64),
            "x": mid[:, 0],
            "y": mid[:, 1],
            "z": lz,
        }
    )[lok]
    out: pd.DataFrame = pd.concat([node_part, link_part], ignore_index=True)
    return out
