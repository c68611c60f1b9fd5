"""Interventions as pure functions: ``(snapshot, frozen params) -> snapshot`` (DESIGN.md section 5).

Each function takes a :class:`~twin_app.scenarios.model.TrafficModel` or a
:class:`~twin_app.scenarios.model.WaterModel` and one frozen parameter record of
:mod:`twin_app.scenarios.file`, and returns a new snapshot. Nothing is mutated: arrays that
change are copied (and made read-only), the rest are shared with the input, so the baseline
stays the baseline.

Road ids: TNTP links are ``"from-to"`` with the file's node numbers; twin roads name an OSM
way: ``way/123`` means its links along the digitised direction (every part of a way split at
junctions), ``way/123@r`` those against it, so closing a two-way road names both.

Water changes are composed into a :class:`twin_app.engines.water.WaterChanges` that the
engine applies to its private copy of the network (the ``.inp`` file is never edited); their
ids are checked against the network when the scenario runs.

Massing interventions take a :class:`~twin_app.scenarios.model.MassingModel` (the twin's
buildings as one LoD1 mesh) and rebuild its mesh with
:func:`twin_app.engines.sunhours.add_buildings`, :func:`~twin_app.engines.sunhours.remove_buildings`
and :func:`~twin_app.engines.sunhours.set_height`; buildings are named by their twin ids
(``way/123``) or, for added ones, by the ``id`` the scenario gave them.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.engines.water import DemandChange, Leak, PumpOutage, WaterChanges
from twin_app.errors import InputError, TwinError
from twin_app.io.tntp import TntpNetwork
from twin_app.model.frame import LocalFrame
from twin_app.model.mesh import TriMesh
from twin_app.scenarios.file import (
    AddBuilding,
    AddIfc,
    AddLink,
    ClosePipe,
    CloseRoad,
    LeakSpec,
    PumpOutageSpec,
    RemoveBuilding,
    SetCapacity,
    SetDemand,
    SetHeight,
    SetSpeed,
)
from twin_app.scenarios.model import MassingModel, TrafficModel, WaterModel


class UnknownElementError(InputError):
    """An intervention names an element the network does not have (or one it cannot change).

    ``key`` is the intervention's key that named it (``links``, ``pipes`` ...), so the caller
    can say ``interventions[1].links`` in its message.
    """

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def suggest(name: str, valid: Sequence[str], what: str) -> str:
    """``unknown link '10-99'; did you mean '10-9'? (76 links: '1-2', '1-3', ...)``."""
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    head = ", ".join(repr(v) for v in list(valid)[:3])
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} ({len(valid)} {what}s: {head}, ...)"


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def link_positions(model: TrafficModel, names: Sequence[str], key: str = "links") -> np.ndarray:
    """Positions of the named links (:meth:`TrafficModel.links_named`).

    A TNTP link by its ``"from-to"`` id; a twin road by its way id: ``way/123`` its links
    along the digitised direction (all parts of a way split at junctions), ``way/123@r``
    those against it.

    Raises
    ------
    UnknownElementError
        A name matches no link (the message suggests near and first valid ids).
    """
    out: list[np.ndarray] = []
    for name in names:
        found = model.links_named(name)
        if found.size == 0:
            raise UnknownElementError(suggest(name, _way_ids(model), "link"), key)
        out.append(found)
    return np.unique(np.concatenate(out)).astype(np.int64)


def _way_ids(model: TrafficModel) -> list[str]:
    """The ids a scenario can name: link ids with the ``#part`` of split ways folded."""
    ids = [str(v) for v in model.link_ids]
    names = [i.split("#")[0] + ("@r" if "#" in i and i.endswith("@r") else "") for i in ids]
    return list(dict.fromkeys(names))


def close_road(model: TrafficModel, params: CloseRoad) -> TrafficModel:
    """Close links: they carry no flow and no shortest path uses them."""
    pos = link_positions(model, params.links)
    closed = model.closed.copy()
    closed[pos] = True
    return dataclasses.replace(model, closed=_frozen(closed))


def _with_network(
    model: TrafficModel,
    capacity: np.ndarray | None = None,
    free_flow_time: np.ndarray | None = None,
    speed: np.ndarray | None = None,
) -> TrafficModel:
    net = model.network
    net = dataclasses.replace(
        net,
        capacity=net.capacity if capacity is None else _frozen(capacity),
        free_flow_time=net.free_flow_time if free_flow_time is None else _frozen(free_flow_time),
        speed=net.speed if speed is None else _frozen(speed),
    )
    return dataclasses.replace(model, network=net)


def set_capacity(model: TrafficModel, params: SetCapacity) -> TrafficModel:
    """Capacity of the links times ``factor``, or set to ``capacity`` (vehicles per period)."""
    pos = link_positions(model, params.links)
    cap = np.array(model.network.capacity, dtype=np.float64)
    if params.factor is not None:
        cap[pos] = cap[pos] * params.factor
    else:
        cap[pos] = float(params.capacity or 0.0)
    return _with_network(model, capacity=cap)


def set_speed(model: TrafficModel, params: SetSpeed) -> TrafficModel:
    """Free-flow speed of the links set to ``speed_kmh`` or multiplied by ``factor``.

    ``t0 = length * length_unit_km / speed_kmh / time_unit_h`` (network time units), or
    ``t0 / factor``; the ``speed`` column follows (network length units per time unit).

    Raises
    ------
    UnknownElementError
        Unknown link, or ``speed_kmh`` on a link without a length (use ``factor`` there).
    """
    pos = link_positions(model, params.links)
    net = model.network
    t0 = np.array(net.free_flow_time, dtype=np.float64)
    speed = np.array(net.speed, dtype=np.float64)
    if params.factor is not None:
        t0[pos] = t0[pos] / params.factor
        speed[pos] = speed[pos] * params.factor
    else:
        kmh = float(params.speed_kmh or 0.0)
        length = net.length[pos]
        if np.any(length <= 0):
            bad = str(model.link_ids[pos[np.flatnonzero(length <= 0)[0]]])
            raise UnknownElementError(
                f"link {bad!r} has no length, so a speed cannot set its time; use factor", "links"
            )
        t0[pos] = length * model.length_unit_km / kmh / model.time_unit_h
        speed[pos] = kmh / model.length_unit_km * model.time_unit_h
    return _with_network(model, free_flow_time=t0, speed=speed)


def add_link(model: TrafficModel, params: AddLink) -> TrafficModel:
    """Append a directed link between two existing nodes (1-based numbers as in the file).

    The new link has ``free_flow_time`` or ``length * length_unit_km / speed_kmh /
    time_unit_h``, BPR ``b`` and ``power`` as given; it is open, with no road segment.
    """
    net = model.network
    for key, node in (("from", params.from_node), ("to", params.to_node)):
        if not 1 <= node <= net.n_nodes:
            raise UnknownElementError(
                f"node {node} does not exist (the network has nodes 1 .. {net.n_nodes})", key
            )
    link_id = params.link_id
    if link_id in model.link_index():
        raise UnknownElementError(
            f"link {link_id!r} already exists; give the new link another id", "id"
        )
    if params.free_flow_time is not None:
        t0 = params.free_flow_time
    else:
        t0 = params.length * model.length_unit_km / float(params.speed_kmh or 1.0)
        t0 /= model.time_unit_h
    speed = params.length / t0 if t0 > 0 else 0.0

    def cat(a: np.ndarray, v: float | int) -> np.ndarray:
        return _frozen(np.append(a, np.asarray([v], dtype=a.dtype)))

    new_net = TntpNetwork(
        init_node=cat(net.init_node, params.from_node - 1),
        term_node=cat(net.term_node, params.to_node - 1),
        capacity=cat(net.capacity, params.capacity),
        length=cat(net.length, params.length),
        free_flow_time=cat(net.free_flow_time, t0),
        b=cat(net.b, params.b),
        power=cat(net.power, params.power),
        speed=cat(net.speed, speed),
        toll=cat(net.toll, params.toll),
        link_type=cat(net.link_type, params.link_type),
        n_zones=net.n_zones,
        n_nodes=net.n_nodes,
        first_thru_node=net.first_thru_node,
        source=net.source,
    )
    return dataclasses.replace(
        model,
        network=new_net,
        link_ids=_frozen(np.append(model.link_ids, np.asarray([link_id], dtype=object))),
        segment_row=cat(model.segment_row, -1),
        closed=cat(model.closed, False),
    )


def _with_changes(model: WaterModel, **more: tuple[Any, ...]) -> WaterModel:
    chg: WaterChanges = model.changes if model.changes is not None else WaterChanges()
    merged = {k: (*getattr(chg, k), *v) for k, v in more.items()}
    return dataclasses.replace(model, changes=dataclasses.replace(chg, **merged))


def close_pipe(model: WaterModel, params: ClosePipe) -> WaterModel:
    """Close pipes, valves or pumps for the whole run (controls acting on them are dropped)."""
    return _with_changes(model, closed_links=tuple(params.pipes))


def leak(model: WaterModel, params: LeakSpec) -> WaterModel:
    """A break or leak: orifice ``q = Cd * A * sqrt(2 g p)`` from ``start_h``."""
    record = Leak(
        element=params.element,
        area_m2=params.area_m2,
        start_s=params.start_h * 3600.0,
        discharge_coeff=params.discharge_coeff,
    )
    return _with_changes(model, leaks=(record,))


def pump_outage(model: WaterModel, params: PumpOutageSpec) -> WaterModel:
    """Pumps off from ``start_h`` to ``end_h`` (None: to the end of the run)."""
    end_s = None if params.end_h is None else params.end_h * 3600.0
    records = tuple(PumpOutage(p, params.start_h * 3600.0, end_s) for p in params.pumps)
    return _with_changes(model, pump_outages=records)


def set_demand(model: WaterModel, params: SetDemand) -> WaterModel:
    """Base demands of ``junctions`` (all when empty) times ``factor``."""
    return _with_changes(
        model, demand_changes=(DemandChange(tuple(params.junctions), params.factor),)
    )


def _buildings(model: MassingModel, names: Sequence[str], key: str) -> np.ndarray:
    """Building indices of ids that still have a mesh (UnknownElementError naming `key`)."""
    index = model.building_index()
    present = np.zeros(model.n_buildings, dtype=bool)
    bidx = np.asarray(model.mesh.cell_data["building_index"], dtype=np.int64)
    present[bidx[(bidx >= 0) & (bidx < model.n_buildings)]] = True
    out = []
    for name in names:
        i = index.get(name)
        if i is not None and not present[i]:
            raise UnknownElementError(
                f"building {name!r} is already removed by an earlier intervention", key
            )
        if i is None:
            valid = [str(v) for v in model.building_ids[present]]
            raise UnknownElementError(suggest(name, valid, "building"), key)
        out.append(i)
    return np.asarray(out, dtype=np.int64)


def _changed(model: MassingModel, idx: Any) -> tuple[int, ...]:
    return tuple(sorted(set(model.changed) | {int(i) for i in np.ravel(idx)}))


def add_building(model: MassingModel, params: AddBuilding) -> MassingModel:
    """A new prism from the ground (``ground_z``) to ``ground_z + height``; its index is the
    next free one and its id ``params.id`` or ``new/K`` (K counts the added buildings)."""
    from twin_app.engines.sunhours import add_buildings

    if params.lonlat is not None:
        ll = np.asarray(params.lonlat, dtype=np.float64)
        ring = model.frame.lonlat_to_local(ll[:, 0], ll[:, 1])[:, :2]
    else:
        ring = np.asarray(params.footprint, dtype=np.float64)
    near_twin(ring, "lonlat" if params.lonlat is not None else "footprint", "the building")
    n = model.n_buildings
    name = params.id if params.id is not None else f"new/{_added(model)}"
    if name in model.building_index():
        raise UnknownElementError(f"id {name!r} already names a building of the twin", "id")
    mesh = add_buildings(model.mesh, [ring], params.height, model.ground_z, index=[n])
    ids = np.append(model.building_ids, np.asarray([name], dtype=object))
    return dataclasses.replace(model, mesh=mesh, building_ids=ids, changed=_changed(model, [n]))


def near_twin(xy: Any, key: str, what: str) -> None:
    """Refuse a place more than :data:`twin_app.io.load.IFC_FAR_M` from the twin's centre
    (its local origin): a proposal in another city (lon/lat swapped, a typo) would be
    studied on empty ground and look like a result.

    Raises
    ------
    UnknownElementError
        Naming `key` and the distance.
    """
    from twin_app.io.load import IFC_FAR_M

    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    far = float(np.hypot(*centre))
    if not far <= IFC_FAR_M:
        raise UnknownElementError(
            f"{what} lies {far / 1000:,.0f} km from the twin's centre (at most "
            f"{IFC_FAR_M / 1000:.0f} km): check [lon, lat] (not [lat, lon]) or the local metres",
            key,
        )


#: IFC classes left out of a proposed body: the site (terrain) and spaces (room volumes).
IFC_NOT_BODY = ("IfcSite", "IfcSpace")


def ifc_body(
    path: Path | str,
    at: tuple[float, float] | None,
    rotate_deg: float,
    frame: LocalFrame,
    ground_z: float = 0.0,
) -> TriMesh:
    """An IFC model's body in the twin's frame, as one building mesh.

    The file is read as the app reads it (:func:`twin_app.io.ifc.read_ifc`, its meshes
    cached on disk) and placed at `at` ([lon, lat] of its origin) turned by `rotate_deg`;
    else where the twin manifest beside the file puts it (as the app opens it); else by its
    own georeference. Every element but :data:`IFC_NOT_BODY` is kept. A model placed by
    lon/lat stands with its z = 0 on `ground_z` (in a twin of absolute heights too). Each
    triangle's ``surface``: wall where its normal is within 10 degrees of horizontal, roof
    where it faces up, other where it faces down.

    Returns
    -------
    TriMesh
        Local metres, with the ``surface`` cell array.

    Raises
    ------
    UnknownElementError
        One line naming the key to fix (``ifc``: no such file, not readable, no georeference
        and no `at`, no body elements; ``at``: a placement farther than
        :data:`twin_app.io.load.IFC_FAR_M` from the twin's centre).
    """
    from twin_app.io.ifc import read_ifc
    from twin_app.io.load import IFC_FAR_M, ifc_from_source
    from twin_app.io.source import ReadOptions
    from twin_app.model.bim import IFC_CLASSES
    from twin_app.model.mesh import SURFACE_OTHER, SURFACE_ROOF, SURFACE_WALL

    file = Path(path)
    if not file.is_file():
        raise UnknownElementError(f"{file}: no such IFC file", "ifc")
    opts = ReadOptions(
        at_lonlat=None if at is None else (float(at[0]), float(at[1])),
        rotate_deg=float(rotate_deg),
    )
    by = "at"
    if at is None:  # where the app puts it: the manifest beside the file, if it places it
        from twin_app.io.manifest import find_manifest

        try:
            manifest = find_manifest(file)
        except TwinError:  # a broken manifest places nothing (as when the app opens it)
            manifest = None
        placed = manifest.file_options(opts).get(file.resolve()) if manifest else None
        opts, by = (placed, "the twin's manifest") if placed is not None else (opts, "")
    try:
        src = read_ifc(file, opts)
    except InputError as exc:
        raise UnknownElementError(str(exc), "ifc") from None
    data = src.ifc
    assert data is not None
    if not data.placed:
        raise UnknownElementError(
            f"{file}: the IFC model has no georeference; place it with at = [lon, lat] "
            "(and rotate_deg)",
            "ifc",
        )
    by = by or f"its {data.info.georef.method} georeference"
    mesh = ifc_from_source(src, frame).mesh
    code = np.asarray(mesh.cell_data["ifc_class_code"])
    skip = [IFC_CLASSES.index(c) for c in IFC_NOT_BODY if c in IFC_CLASSES]
    keep = ~np.isin(code, skip)
    if not keep.any():
        raise UnknownElementError(
            f"{file}: the IFC model has no building elements (only site or spaces)", "ifc"
        )
    used, inv = np.unique(mesh.triangles[keep].ravel(), return_inverse=True)
    pts = mesh.points[used]
    if data.info.georef.method == "user" and frame.origin[2] != 0.0:
        pts[:, 2] += ground_z + frame.origin[2]  # model z = 0 on the ground, not at sea level
    centre = 0.5 * (pts[:, :2].min(axis=0) + pts[:, :2].max(axis=0))
    far = float(np.hypot(*centre))
    if far > IFC_FAR_M:
        raise UnknownElementError(
            f"{file}: placed by {by}, it lies {far / 1000:.0f} km from the twin's centre "
            f"(at most {IFC_FAR_M / 1000:.0f} km); give at = [lon, lat] on the twin",
            "at",
        )
    body = TriMesh(pts, inv.reshape(-1, 3).astype(np.int64), {})
    nz = body.face_normals()[:, 2]
    flat = float(np.sin(np.radians(10.0)))
    surface = np.where(
        np.abs(nz) < flat, SURFACE_WALL, np.where(nz > 0, SURFACE_ROOF, SURFACE_OTHER)
    ).astype(np.uint8)
    body.cell_data["surface"] = surface
    return body


def add_ifc(model: MassingModel, params: AddIfc) -> MassingModel:
    """An IFC model's body (:func:`ifc_body`) as a new building, in place of the buildings
    it ``replaces`` (demolished as :func:`remove_building` does): its index is the next free
    one and its id ``params.id`` or ``new/K``, as :func:`add_building`. Its triangles are the
    model's, so the sun, shadow and line-of-sight rays meet its real roofs and walls."""
    from twin_app.engines.sunhours import remove_buildings
    from twin_app.model.mesh import concat_meshes

    gone = (
        _buildings(model, params.replaces, "replaces") if params.replaces else np.zeros(0, np.int64)
    )
    body = ifc_body(params.ifc, params.at, params.rotate_deg, model.frame, model.ground_z)
    n = model.n_buildings
    name = params.id if params.id is not None else f"new/{_added(model)}"
    if name in model.building_index():
        raise UnknownElementError(f"id {name!r} already names a building of the twin", "id")
    cells: dict[str, Any] = {}
    m = body.n_triangles
    for key, arr in model.mesh.cell_data.items():
        a = np.asarray(arr)
        if key == "building_index":
            cells[key] = np.full(m, n, dtype=a.dtype)
        elif key == "surface":
            cells[key] = body.cell_data["surface"].astype(a.dtype)
        elif key == "Normals":
            cells[key] = body.face_normals().astype(a.dtype)
        else:  # another per-triangle array of the twin's mesh: no value for the model
            cells[key] = np.zeros((m, *a.shape[1:]), dtype=a.dtype)
    new = TriMesh(body.points, body.triangles, cells)
    old = remove_buildings(model.mesh, gone) if gone.size else model.mesh
    mesh = concat_meshes([old, new]) if old.n_triangles else new
    ids = np.append(model.building_ids, np.asarray([name], dtype=object))
    return dataclasses.replace(
        model,
        mesh=mesh,
        building_ids=ids,
        changed=_changed(model, [*gone.tolist(), n]),
        bodies=(*model.bodies, n),
        body_files=(*model.body_files, str(Path(params.ifc).resolve())),
    )


def _added(model: MassingModel) -> int:
    """How many buildings the interventions so far added (K of the next ``new/K``)."""
    return sum(1 for i in model.changed if str(model.building_ids[i]).startswith("new/"))


def remove_building(model: MassingModel, params: RemoveBuilding) -> MassingModel:
    """The buildings named are demolished (their triangles dropped; ids and indices kept)."""
    from twin_app.engines.sunhours import remove_buildings

    idx = _buildings(model, params.buildings, "buildings")
    mesh = remove_buildings(model.mesh, idx)
    return dataclasses.replace(
        model, mesh=mesh, building_ids=model.building_ids.copy(), changed=_changed(model, idx)
    )


def set_height(model: MassingModel, params: SetHeight) -> MassingModel:
    """The buildings named re-extruded to ``height_m`` above their lowest point."""
    from twin_app.engines.sunhours import set_height as set_mesh_height

    idx = _buildings(model, params.buildings, "buildings")
    bodies = [str(model.building_ids[i]) for i in idx if int(i) in model.bodies]
    if bodies:
        raise UnknownElementError(
            f"{bodies[0]} is an IFC model: its height is the model's (edit the model, or "
            "propose another)",
            "buildings",
        )
    mesh = set_mesh_height(model.mesh, idx, params.height_m)
    return dataclasses.replace(
        model, mesh=mesh, building_ids=model.building_ids.copy(), changed=_changed(model, idx)
    )


#: Intervention kind -> pure function (traffic kinds take a TrafficModel, water a WaterModel).
TRAFFIC_INTERVENTIONS: dict[str, Callable[[TrafficModel, Any], TrafficModel]] = {
    "close_road": close_road,
    "set_capacity": set_capacity,
    "set_speed": set_speed,
    "add_link": add_link,
}
WATER_INTERVENTIONS: dict[str, Callable[[WaterModel, Any], WaterModel]] = {
    "close_pipe": close_pipe,
    "leak": leak,
    "pump_outage": pump_outage,
    "set_demand": set_demand,
}
MASSING_INTERVENTIONS: dict[str, Callable[[MassingModel, Any], MassingModel]] = {
    "add_building": add_building,
    "add_ifc": add_ifc,
    "remove_building": remove_building,
    "set_height": set_height,
}
