"""What a scenario changes in the city, drawn on the two sides of a comparison (issue 9).

:func:`show_scene` turns the study parts of a :class:`~twin_app.scenarios.model.ScenarioResult`
(``extra``, see :mod:`twin_app.scenarios.run`) into layers:

Massing (``massing_scenario.changed`` not empty): the scenario side draws, in place of the
session's building layer, a :class:`~twin_app.model.layers.BuildingLayer` over the scenario's
mesh whose rows are the session layer's rows (same ids, same order, same table: picking and
selection mean the same building on both sides; a removed building keeps its row and loses
its triangles). The buildings the scenario added or re-extruded are drawn by a layer of their
own in :data:`CHANGED_COLOR` (their triangles are left out of the substitute, so no two
surfaces overlap), and removed buildings as a translucent :data:`REMOVED_COLOR` ghost of
their baseline mass.

Patrol (``patrol_positions_*``): one :class:`~twin_app.model.sensors.MoverLayer` per side
over a :class:`~twin_app.feeds.tracks.MoverTracks` of the patrol slots' positions (one fix a
minute while a robot runs in the slot; a slot whose robots are all charging is hidden). The
positions' ``times_s`` count from the start of the patrol horizon (time 0 of
:func:`twin_app.engines.patrol.robot_positions`: every route starts at its depot), which is
anchored at 00:00 UTC of the session clock's day (:func:`patrol_anchor_ns`) and the clock's
range grows to cover the horizon, so pressing play replays the shift. The routes are one
ribbon mesh per side, one colour per route.

Radio (``radio_study_*``): the stations as one glyph mesh per side (a mast from the ground to
the antenna and a flat 60-degree wedge per sector along its azimuth), the stations the
scenario added or changed in :data:`ADDED_STATION_COLOR` on the scenario side; and every
floor's RSRP as slabs (:mod:`twin_app.session.radio_floors`), or, for a study without indoor
floors, each building's worst-floor RSRP as the ``rsrp_dbm`` result of the building layer
(:meth:`~twin_app.session.compare.Comparison.set_result`), mapped to the layer's rows by id.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.model.city import BUILDINGS, FeatureSet, Polylines, index_array_name
from twin_app.model.layers import COLOR_SOLID, BuildingLayer, FeatureLayer, Layer
from twin_app.model.mesh import TriMesh, concat_meshes
from twin_app.scenarios.model import MassingModel, ScenarioResult

if TYPE_CHECKING:
    from twin_app.model.clock import Clock
    from twin_app.model.sensors import MoverLayer
    from twin_app.session.compare import CompareSide, Comparison
    from twin_app.session.core import Session

F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]

#: Buildings a scenario added or changed (an orange no map colour of the city uses).
CHANGED_COLOR = "#ff7f0e"
#: Ghosts of removed buildings.
REMOVED_COLOR = "#d62728"
#: Patrol robots (a magenta none of the first route colours of the category palette is).
ROBOT_COLOR = "#e4007c"
#: Robot glyph length, m. A street robot is about 1 m long; at city scale (hundreds of metres
#: in view) that is sub-pixel, so the glyph is drawn at a few metres, like a map symbol.
ROBOT_GLYPH_M = 14.0
#: Trail behind each robot, s (at 1.2 m/s about 290 m), and its points (one every 15 s).
ROBOT_TRAIL_S = 240.0
ROBOT_TRAIL_POINTS = 17
#: Time step of the replayed positions, s. The result keeps one a minute (72 m at walking
#: pace: a glyph interpolated between two would cut corners across blocks), so the positions
#: are sampled again from the plan's routes (one vectorised engine call per side).
REPLAY_STEP_S = 10.0
#: Robot glyphs ride this far above the street (the cone is centred on the position).
ROBOT_LIFT_M = 4.0
#: Route ribbons: width and height above the ground (over the road ribbons), and their
#: colours: a warm map by route number, apart from the road classes' greens, blues and purples.
ROUTE_WIDTH_M = 5.0
ROUTE_COLORMAP = "autumn"
ROUTE_Z_M = 1.2
#: Stations: mast radius, sector wedge radius and half-width.
STATION_COLOR = "#6a3d9a"
ADDED_STATION_COLOR = "#e7298a"
MAST_RADIUS_M = 2.5
SECTOR_RADIUS_M = 45.0
SECTOR_HALF_DEG = 30.0
#: RSRP shown for a building no station reaches (-inf in the study): below any receiver's
#: sensitivity, so it takes the bottom colour instead of "no data".
RSRP_FLOOR_DBM = -150.0  # below the "no coverage" class bound (-140 dBm)

_DAY_NS = 86_400 * 1_000_000_000


def show_scene(cmp: Comparison, result: ScenarioResult) -> list[str]:
    """Add the massing, patrol and radio layers of `result` to both sides of `cmp`.

    Returns
    -------
    list of str
        What could not be shown, one line each.
    """
    extra = result.extra or {}
    notes: list[str] = []
    # A comparison is reused for the next run: what this result does not have goes.
    clear_stale(cmp, extra)
    notes += show_massing(cmp, extra.get("massing_baseline"), extra.get("massing_scenario"))
    if "patrol_positions_scenario" in extra:
        notes += show_patrol(cmp, extra)
    if "radio_study_scenario" in extra:
        notes += show_radio(cmp, extra)
    return notes


def clear_stale(cmp: Comparison, extra: dict[str, Any]) -> None:
    """Remove the layers an earlier result showed that this one (`extra`) has no part for:
    the indoor RSRP and stations, the scenario's buildings, the patrol robots."""
    layer = buildings_layer(cmp.session)
    shown = cmp.scenario.results.get(layer.uid) if layer is not None else None
    if "radio_study_scenario" not in extra:
        cmp.set_extras("radio_stations", [], [])
        cmp.set_extras("radio_floors", [], [])
        fs = shown.features if shown is not None else None
        if layer is not None and fs is not None and "rsrp_dbm" in fs.table:
            cmp.drop_result(layer)
    scen = extra.get("massing_scenario")
    if scen is None or not scen.changed:
        cmp.set_extras("massing", [], [])
        shown = cmp.scenario.results.get(layer.uid) if layer is not None else None
        # a stand-in of ours draws a mesh of its own (a result layer shares the base's)
        if (
            layer is not None
            and layer.features is not None
            and shown is not None
            and shown.features is not None
            and shown.features.mesh is not layer.features.mesh
        ):
            cmp.scenario.drop(layer)
    if "patrol_positions_scenario" not in extra:
        cmp.set_extras("patrol", [], [])


# -- helpers ----------------------------------------------------------------------------------
#: The sides' extras key of the city buildings a proposed IFC model replaces in the view.
REPLACED_KEY = "massing_replaced"


def _replaced_in_baseline(cmp: Comparison, files: set[str]) -> list[Layer]:
    """The city buildings the proposed IFC `files` replace in the session's view (hidden
    there, ``replaced_by`` naming the file), drawn on the baseline side, where they stand:
    one layer of those rows in the buildings layer's style (empty when none)."""
    from twin_app.session.bim import REPLACED_BY

    layer = buildings_layer(cmp.session)
    fs = layer.features if layer is not None else None
    if layer is None or fs is None or not files or REPLACED_BY not in fs.table:
        return []
    names = [Path(f).name for f in files]
    rows = np.flatnonzero(np.isin(fs.table[REPLACED_BY].to_numpy(object), names))
    if not rows.size:
        return []
    index_name = fs.index_array
    idx = np.asarray(fs.mesh.cell_data[index_name], np.int64)
    local = np.full(fs.n_features, -1, np.int64)
    local[rows] = np.arange(rows.size)
    tri = (idx >= 0) & (local[np.clip(idx, 0, None)] >= 0)
    dtype = np.asarray(fs.mesh.cell_data[index_name]).dtype
    sub = FeatureSet(
        f"{fs.name} (replaced by the proposal)",
        fs.kind,
        fs.source,
        fs.ids[rows],
        fs.table.iloc[rows].reset_index(drop=True),
        submesh(fs.mesh, tri, {index_name: local[idx[tri]].astype(dtype)}),
    )
    return [_styled_like(layer, f"{layer.name} (replaced by the proposal)", sub)]


def _styled_like(layer: BuildingLayer, name: str, features: FeatureSet) -> BuildingLayer:
    """A buildings layer of `features` drawn as `layer` is (shown, faded and coloured alike)."""
    return BuildingLayer(
        name=name,
        features=features,
        visible=layer.visible,
        opacity=layer.opacity,
        color=layer.color,
        color_by=layer.color_by,
        colormap=layer.colormap,
        clim=layer.clim,
    )


def _source_file(session: Session, layer: Layer) -> str | None:
    """The resolved file a layer was read from (None when the session did not read it)."""
    fs = layer.feature_set()
    if fs is None:
        return None
    name = Path(fs.source).name
    refs = [r for r in session.sources if r.path.name == name]
    return str(refs[0].path.resolve()) if len(refs) == 1 else None


def buildings_layer(session: Session) -> BuildingLayer | None:
    """The session's main building layer: the one with the most buildings (the one a massing
    model is made of, :func:`twin_app.scenarios.massing.massing_model_for_twin`)."""
    layers = [
        x
        for x in session.layers
        if isinstance(x, BuildingLayer) and x.features is not None and x.features.kind == BUILDINGS
    ]
    if not layers:
        return None
    return max(layers, key=lambda x: x.features.n_features if x.features else 0)


def _rows(ids: Any, of: Any) -> I64:
    """Position of every id of `of` in `ids` (-1 where absent), by string value."""
    import pandas as pd

    a = pd.Index(np.asarray(ids).astype(str))
    b = pd.Index(np.asarray(of).astype(str))
    return np.asarray(a.get_indexer(b), np.int64)


def submesh(mesh: TriMesh, keep: Any, cells: dict[str, Any]) -> TriMesh:
    """The triangles flagged in `keep` over their own points (unused points dropped), with the
    cell arrays `cells` (already cut to the kept triangles) and the mesh's ``surface``."""
    keep = np.asarray(keep, bool)
    tri = mesh.triangles[keep]
    used, inv = np.unique(tri.ravel(), return_inverse=True)
    out = dict(cells)
    if "surface" in mesh.cell_data:
        out["surface"] = np.asarray(mesh.cell_data["surface"])[keep]
    return TriMesh(mesh.points[used], inv.reshape(-1, 3).astype(np.int64), out)


def building_heights(mesh: TriMesh, n: int) -> F64:
    """(n,) top minus base of each ``building_index`` of the mesh, m (NaN for none)."""
    bidx = np.asarray(mesh.cell_data["building_index"], np.int64)
    z = mesh.points[mesh.triangles][:, :, 2]  # (t, 3)
    top = np.full(n, -np.inf)
    base = np.full(n, np.inf)
    ok = (bidx >= 0) & (bidx < n)
    np.maximum.at(top, bidx[ok], z[ok].max(axis=1))
    np.minimum.at(base, bidx[ok], z[ok].min(axis=1))
    h = top - base
    h[~np.isfinite(h)] = np.nan
    return np.asarray(h, np.float64)


# -- massing ----------------------------------------------------------------------------------
def show_massing(
    cmp: Comparison, base: MassingModel | None, scen: MassingModel | None
) -> list[str]:
    """The scenario's buildings on the scenario side (see the module notes); an IFC model
    the scenario proposes (``add_ifc``) is left out of both sides as a layer of its own: the
    baseline has no such building and the scenario's changed buildings draw its body. The
    city buildings it replaces in the view are drawn on the baseline side, where they stand."""
    proposed = set(scen.body_files) if scen is not None else set()
    omit = [
        x
        for x in cmp.session.layers
        if x.kind == "ifc" and proposed and _source_file(cmp.session, x) in proposed
    ]
    for side in cmp.sides:
        side.omit(omit)
    cmp.set_extras(REPLACED_KEY, _replaced_in_baseline(cmp, proposed), [])
    if scen is None or not scen.changed:
        return []
    layer = buildings_layer(cmp.session)
    if layer is None or layer.features is None:
        return ["massing: the session has no building layer to show the scenario's buildings on"]
    fs = layer.features
    n_b = scen.n_buildings
    row_of = _rows(fs.ids, scen.building_ids)  # building index -> session row (-1: new)
    mesh = scen.mesh
    bidx = np.asarray(mesh.cell_data["building_index"], np.int64)
    changed = np.zeros(n_b, bool)
    changed[np.asarray(scen.changed, np.int64)] = True
    tri_row = row_of[bidx]
    index_name = fs.index_array
    dtype = np.asarray(fs.mesh.cell_data[index_name]).dtype
    keep = (tri_row >= 0) & ~changed[bidx]
    sub = dataclasses.replace(
        fs,
        name=f"{fs.name} ({cmp.name})",
        table=fs.table.copy(deep=False),
        mesh=submesh(mesh, keep, {index_name: tri_row[keep].astype(dtype)}),
    )
    stand_in = _styled_like(layer, f"{layer.name} ({cmp.name})", sub)
    heights = building_heights(mesh, n_b)
    present = np.isfinite(heights)
    idx = np.flatnonzero(changed & present)
    scen_layers: list[Layer] = []
    if idx.size:
        local = np.full(n_b, -1, np.int64)
        local[idx] = np.arange(idx.size)
        tri = changed[bidx]
        import pandas as pd

        table = pd.DataFrame(
            {
                "id": scen.building_ids[idx].astype(str),
                "height_m": heights[idx],
                "change": np.where(row_of[idx] >= 0, "changed", "added"),
            }
        )
        mfs = FeatureSet(
            f"Changed buildings ({cmp.name})",
            BUILDINGS,
            "scenario",
            table["id"].to_numpy(object),
            table,
            submesh(mesh, tri, {"building_index": local[bidx[tri]].astype(np.int32)}),
        )
        scen_layers.append(
            BuildingLayer(
                name=f"Changed buildings ({cmp.name})",
                features=mfs,
                color=CHANGED_COLOR,
                color_by=COLOR_SOLID,
            )
        )
    removed = np.flatnonzero(changed & ~present)
    if removed.size and base is not None:
        bb = np.asarray(base.mesh.cell_data["building_index"], np.int64)
        gone = np.isin(bb, removed)
        if gone.any():
            local = np.full(max(base.n_buildings, n_b), -1, np.int64)
            local[removed] = np.arange(removed.size)
            import pandas as pd

            table = pd.DataFrame({"id": scen.building_ids[removed].astype(str)})
            rfs = FeatureSet(
                f"Removed buildings ({cmp.name})",
                BUILDINGS,
                "scenario",
                table["id"].to_numpy(object),
                table,
                submesh(base.mesh, gone, {"building_index": local[bb[gone]].astype(np.int32)}),
            )
            scen_layers.append(
                BuildingLayer(
                    name=f"Removed buildings ({cmp.name})",
                    features=rfs,
                    color=REMOVED_COLOR,
                    color_by=COLOR_SOLID,
                    opacity=0.3,
                )
            )
    cmp.scenario.substitute(layer, stand_in)
    cmp.set_extras("massing", [], scen_layers)
    return []


# -- patrol -----------------------------------------------------------------------------------
def patrol_anchor_ns(clock: Clock) -> int:
    """UTC ns that patrol time 0 is drawn at: 00:00 UTC of the clock's day (of its start when
    the clock is at 0; of today when it has no time at all)."""
    t = int(clock.t_ns) or int(clock.start_ns)
    if t <= 0:
        import time

        t = time.time_ns()
    return (t // _DAY_NS) * _DAY_NS


def patrol_tracks(positions: dict[str, Any], anchor_ns: int) -> Any:
    """:class:`~twin_app.feeds.tracks.MoverTracks` of the patrol slots, fixes where a robot
    runs in the slot; ids ``post 1`` ...; z = 0 (the layer lifts them)."""
    from twin_app.feeds.tracks import MoverTracks

    t_s = np.asarray(positions["times_s"], np.float64)
    xy = np.asarray(positions["xy"], np.float64)
    running = np.asarray(positions["running"], bool)
    n_t, n_s = running.shape
    ok = running & np.isfinite(xy).all(axis=2)  # (t, s)
    # mover-major, time ascending within a mover (the CSR layout MoverTracks wants)
    okm = ok.T
    t_ns = np.broadcast_to(anchor_ns + np.round(t_s * 1e9).astype(np.int64), (n_s, n_t))[okm]
    pts = xy.transpose(1, 0, 2)[okm]
    xyz = np.column_stack([pts, np.zeros(pts.shape[0])])
    offsets = np.concatenate([[0], np.cumsum(okm.sum(axis=1))]).astype(np.int64)
    ids = [f"post {k + 1}" for k in range(n_s)]
    return MoverTracks(ids, t_ns.astype(np.int64), xyz, offsets)


def route_layer(routes: list[dict[str, Any]], name: str) -> FeatureLayer | None:
    """The routes as one ribbon mesh, coloured by route (``type`` ``route 1`` ...)."""
    import pandas as pd

    from twin_app.geometry.lines import ribbons

    xys = [np.asarray(r["xy"], np.float64).reshape(-1, 2) for r in routes]
    xys = [x for x in xys if x.shape[0] >= 2]
    if not xys:
        return None
    counts = np.array([x.shape[0] for x in xys], np.int64)
    coords = np.column_stack([np.concatenate(xys), np.zeros(int(counts.sum()))])
    lines = Polylines(coords, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    k = len(xys)
    index_name = index_array_name("objects")
    mesh = ribbons(
        lines, np.full(k, ROUTE_WIDTH_M), np.arange(k), z_m=ROUTE_Z_M, index_name=index_name
    )
    # Routes sharing a street would z-fight in stripes: each route 10 cm above the previous.
    route_of_pt = np.zeros(mesh.n_points, np.int64)
    route_of_pt[mesh.triangles.ravel()] = np.repeat(
        np.asarray(mesh.cell_data[index_name], np.int64), 3
    )
    pts = mesh.points.copy()
    pts[:, 2] += 0.1 * route_of_pt
    mesh = TriMesh(pts, mesh.triangles, dict(mesh.cell_data))
    # Labels that sort in route order (route 01 .. route 12): the legend lists them so.
    width = len(str(k))
    labels = [f"route {i + 1:0{width}d}" for i in range(k)]
    table = pd.DataFrame(
        {
            "id": labels,
            "route": np.arange(1, k + 1, dtype=np.float64),
            "length_m": [float(r["length_m"]) for r in routes if np.size(r["xy"]) >= 4],
        }
    )
    fs = FeatureSet(name, "objects", "scenario", table["id"].to_numpy(object), table, mesh)
    return FeatureLayer(
        name=name,
        features=fs,
        color_by="route",
        colormap=ROUTE_COLORMAP,
        clim=(1.0, float(max(k, 2))),
    )


def replay_positions(extra: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The patrol slots' positions of one side (``key``: ``baseline`` or ``scenario``) every
    :data:`REPLAY_STEP_S` over the result's horizon, from its plan and streets
    (:func:`twin_app.engines.patrol.robot_positions`); the result's own minute positions
    when the plan is not there."""
    pos: dict[str, Any] | None = extra.get(f"patrol_positions_{key}")
    net = extra.get("patrol_streets")
    plan = extra.get(f"patrol_{key}")
    if pos is None or net is None or plan is None or not plan.routes:
        return pos
    if getattr(net.graph, "node_xy", None) is None:
        return pos
    from twin_app.engines.patrol import robot_positions

    t_end = float(np.asarray(pos["times_s"], np.float64)[-1])
    t = np.arange(0.0, t_end + 0.5, REPLAY_STEP_S)
    _, _, running, xy = robot_positions(
        net.graph,
        plan.routes,
        plan.fleet.engine_fleet(),
        t,
        robots_per_slot=plan.robots_per_slot,
    )
    return {"times_s": t, "xy": xy, "running": running}


def show_patrol(cmp: Comparison, extra: dict[str, Any]) -> list[str]:
    """Patrol robots replaying on the session clock, with their routes, on each side."""
    from twin_app.model.sensors import MoverLayer

    clock = cmp.session.clock
    anchor = patrol_anchor_ns(clock)
    out: dict[str, list[Layer]] = {}
    end = anchor
    for key, side in (("baseline", cmp.baseline), ("scenario", cmp.scenario)):
        positions = replay_positions(extra, key)
        layers: list[Layer] = []
        routes = route_layer(
            extra.get(f"patrol_routes_{key}") or [], f"Patrol routes ({side.name})"
        )
        if routes is not None:
            layers.append(routes)
        if positions is not None:
            tracks = patrol_tracks(positions, anchor)
            t_s = np.asarray(positions["times_s"], np.float64)
            if t_s.size:
                end = max(end, anchor + round(float(t_s[-1]) * 1e9))
            n = tracks.n_movers
            movers = MoverLayer(
                name=f"Patrol robots ({side.name})",
                tracks=tracks,
                mover_ids=tracks.mover_ids,
                altitude_m=np.full(n, ROBOT_LIFT_M),
                trail_s=ROBOT_TRAIL_S,
                trail_points=ROBOT_TRAIL_POINTS,
                # fixes are 10 s (or a minute) apart: a longer gap is a slot with no robot
                max_gap_s=90.0,
                color=ROBOT_COLOR,
                glyph_size_m=ROBOT_GLYPH_M,
            )
            layers.append(movers)
        out[key] = layers
    if end > anchor:
        clock.extend_range(anchor, end)
    for layers in out.values():
        for layer in layers:
            if isinstance(layer, MoverLayer):
                layer.update(clock.t_ns)
    cmp.set_extras("patrol", out.get("baseline", []), out.get("scenario", []))
    return []


def mover_layers(side: CompareSide) -> list[MoverLayer]:
    """The patrol robot layers a side draws."""
    from twin_app.model.sensors import MoverLayer

    return [x for x in side.extras.get("patrol", []) if isinstance(x, MoverLayer)]


# -- radio ------------------------------------------------------------------------------------
def station_mesh(stations: list[Any]) -> TriMesh:
    """One mesh of station glyphs: an 8-sided mast from the ground to the antenna and a flat
    wedge (``SECTOR_HALF_DEG`` either side of the azimuth, ``SECTOR_RADIUS_M`` long) per sector
    at the antenna's height; cell array ``feature_index`` = the station's row."""
    from twin_app.geometry.tubes import tubes

    index_name = index_array_name("objects")
    n = len(stations)
    if n == 0:
        return TriMesh.empty((index_name, np.int32))
    x = np.array([s.x_m for s in stations], np.float64)
    y = np.array([s.y_m for s in stations], np.float64)
    z0 = np.array([s.ground_z_m for s in stations], np.float64)
    top = z0 + np.array([s.height_m for s in stations], np.float64)
    coords = np.stack([np.column_stack([x, y, z0]), np.column_stack([x, y, top])], axis=1).reshape(
        -1, 3
    )
    mast = tubes(
        Polylines(coords, np.arange(0, 2 * n + 1, 2, dtype=np.int64)),
        MAST_RADIUS_M,
        np.arange(n, dtype=np.int32),
        index_name=index_name,
    )
    mast = TriMesh(
        mast.points, mast.triangles, {index_name: np.asarray(mast.cell_data[index_name], np.int32)}
    )
    az_list = [np.asarray(s.azimuths_deg, np.float64) for s in stations]
    counts = np.array([a.size for a in az_list], np.int64)
    if counts.sum() == 0:
        return mast
    az = np.radians(np.concatenate(az_list))
    row = np.repeat(np.arange(n), counts)
    half = np.radians(SECTOR_HALF_DEG)
    # A fan of 4 triangles per sector: apex at the mast top, arc points along the compass
    # bearings az - half .. az + half (x = sin, y = cos: clockwise from north).
    k = 5
    ang = az[:, None] + np.linspace(-half, half, k)[None, :]  # (m, k)
    m = az.size
    apex = np.column_stack([x[row], y[row], top[row]])  # (m, 3)
    arc = np.stack(
        [
            x[row][:, None] + SECTOR_RADIUS_M * np.sin(ang),
            y[row][:, None] + SECTOR_RADIUS_M * np.cos(ang),
            np.broadcast_to(top[row][:, None], ang.shape),
        ],
        axis=2,
    )  # (m, k, 3)
    pts = np.concatenate([apex[:, None, :], arc], axis=1).reshape(-1, 3)
    base = (np.arange(m) * (k + 1))[:, None]
    j = np.arange(k - 1)[None, :]
    tri = np.stack([base + 0 * j, base + 1 + j, base + 2 + j], axis=2).reshape(-1, 3)
    wedges = TriMesh(
        pts, tri.astype(np.int64), {index_name: np.repeat(row, k - 1).astype(np.int32)}
    )
    return concat_meshes([mast, wedges])


def station_layer(stations: list[Any], name: str, color: str) -> FeatureLayer | None:
    """A layer of station glyphs in one colour (None for no stations)."""
    import pandas as pd

    if not stations:
        return None
    table = pd.DataFrame(
        {
            "id": [s.name for s in stations],
            "height_m": [s.height_m for s in stations],
            "tx_power_dbm": [s.tx_power_dbm for s in stations],
            "frequency_ghz": [s.frequency_ghz for s in stations],
            "scenario": [s.scenario for s in stations],
        }
    )
    fs = FeatureSet(
        name, "objects", "scenario", table["id"].to_numpy(object), table, station_mesh(stations)
    )
    return FeatureLayer(name=name, features=fs, color=color, color_by=COLOR_SOLID)


def building_rsrp(layer: FeatureLayer, ids: Any, values: Any) -> F64:
    """Per-building RSRP (dBm, rows of `ids`) on the layer's rows (NaN where the study has no
    value); -inf (no station reaches) becomes :data:`RSRP_FLOOR_DBM`."""
    fs = layer.features
    assert fs is not None
    v = np.asarray(values, np.float64)
    at = _rows(ids, fs.ids)
    out = np.where(at >= 0, v[np.maximum(at, 0)], np.nan)
    out[np.isneginf(out)] = RSRP_FLOOR_DBM
    return np.asarray(out, np.float64)


def show_radio(cmp: Comparison, extra: dict[str, Any]) -> list[str]:
    """Stations on each side (added and changed ones highlighted on the scenario side) and the
    indoor RSRP per floor (slabs), else per building (a result of the building layer)."""
    notes: list[str] = []
    base = extra.get("radio_study_baseline")
    scen = extra.get("radio_study_scenario")
    b_st = list(getattr(base, "stations", ()) or ())
    s_st = list(getattr(scen, "stations", ()) or ())
    before = {s.name: s for s in b_st}
    new = [s for s in s_st if before.get(s.name) != s]
    kept = [s for s in s_st if before.get(s.name) == s]
    b_layer = station_layer(b_st, "Stations (Baseline)", STATION_COLOR)
    k_layer = station_layer(kept, f"Stations ({cmp.name})", STATION_COLOR)
    n_layer = station_layer(new, f"Added stations ({cmp.name})", ADDED_STATION_COLOR)
    cmp.set_extras(
        "radio_stations",
        [x for x in (b_layer,) if x is not None],
        [x for x in (k_layer, n_layer) if x is not None],
    )
    layer = buildings_layer(cmp.session)
    from twin_app.session.radio_floors import show_floors

    if show_floors(cmp, extra):
        # the floors replace the building's one worst-floor colour
        shown = cmp.scenario.results.get(layer.uid) if layer is not None else None
        fs = shown.features if shown is not None else None
        if layer is not None and fs is not None and "rsrp_dbm" in fs.table:
            cmp.drop_result(layer)
        return notes
    vb = extra.get("radio_buildings_baseline")
    vs = extra.get("radio_buildings_scenario")
    if layer is None or vb is None or vs is None:
        notes.append("radio: no building layer or per-building RSRP to show indoor coverage on")
        return notes
    b = building_rsrp(layer, extra["radio_building_ids_baseline"], vb)
    s = building_rsrp(layer, extra["radio_building_ids_scenario"], vs)
    cmp.set_result(layer, "rsrp_dbm", b, s)
    return notes
