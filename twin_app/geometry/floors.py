"""Per-floor slabs of LoD1 buildings: each floor as a prism cut from its building's mesh.

A slab is the building's walls (and, on its top floor, its roof) with every vertex's height
moved into the floor's band, pushed a little outward along the walls' normals so the slabs
cover the building's own walls (no two surfaces on one plane), with a thin gap below each
floor's ceiling through which the building shows as a floor line. All slabs are built at
once with numpy: no loop over buildings or floors.
"""

from __future__ import annotations

import numpy as np

from twin_app.model.mesh import SURFACE_ROOF, SURFACE_WALL, FloatArray, IntArray, TriMesh

#: Slabs stand this far outside their building's walls, m.
OUTSET_M = 0.3
#: Buildings with different floor counts stand a little further out (this much per floor,
#: modulo :data:`STAGGER_CYCLE` floors): OpenStreetMap maps many stepped blocks as nested
#: buildings sharing facades, whose slabs would otherwise lie on one plane and z-fight.
STAGGER_M = 0.03
STAGGER_CYCLE = 8
#: Gap under each floor's ceiling (but the top floor's), m: the floor lines.
GAP_M = 0.35
#: The top floor's roof is lifted this far above the building's, m.
CAP_M = 0.15
#: A triangle steeper than this (degrees from horizontal) is a wall: it adds nothing to a
#: plan but slivers.
PLAN_STEEP_DEG = 80.0
#: An outline's vertices off the line of their neighbours by less than this are dropped, m.
PLAN_TOLERANCE_M = 0.05


def wall_normals_xy(mesh: TriMesh) -> FloatArray:
    """(n_points, 2) outward horizontal offset direction at every wall point, for a unit
    offset of every wall: the angle-weighted mean of the adjacent wall normals (points at one
    place of one building count together: a ring's closing point is its first), scaled as a
    miter (1 / cos of the half angle, at most 2). Zero for points on no wall."""
    tri = mesh.triangles
    surf = np.asarray(mesh.cell_data.get("surface", np.full(tri.shape[0], SURFACE_WALL)))
    bidx = np.asarray(mesh.cell_data.get("building_index", np.zeros(tri.shape[0])), np.int64)
    pt_b = np.full(mesh.n_points, -1, np.int64)
    pt_b[tri.ravel()] = np.repeat(bidx, 3)
    key = np.column_stack(
        [pt_b, np.round(mesh.points[:, 0] * 1e3), np.round(mesh.points[:, 1] * 1e3)]
    ).astype(np.int64)
    _, grp = np.unique(key, axis=0, return_inverse=True)
    grp = grp.ravel()
    n_grp = int(grp.max()) + 1 if grp.size else 0
    wall = tri[surf == SURFACE_WALL]
    p = mesh.points[wall]  # (w, 3, 3)
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])[:, :2]
    ln = np.linalg.norm(n, axis=1)
    ok = ln > 1e-12
    unit = np.zeros_like(n)
    unit[ok] = n[ok] / ln[ok, None]
    # interior angle at each corner: a quad's two triangles weigh its corner by 90 degrees
    e1 = np.roll(p, -1, axis=1) - p
    e2 = np.roll(p, 1, axis=1) - p
    den = np.linalg.norm(e1, axis=2) * np.linalg.norm(e2, axis=2)
    cos = np.divide((e1 * e2).sum(axis=2), den, out=np.ones_like(den), where=den > 0)
    angle = np.arccos(np.clip(cos, -1.0, 1.0))  # (w, 3)
    g = grp[wall]  # (w, 3)
    acc = np.zeros((n_grp, 2))
    np.add.at(acc, g.ravel(), (angle[:, :, None] * unit[:, None, :]).reshape(-1, 2))
    la = np.linalg.norm(acc, axis=1)
    avg = np.zeros_like(acc)
    has = la > 1e-9
    avg[has] = acc[has] / la[has, None]
    # miter: the offset along the mean keeps every adjacent wall OUTSET away
    dot = np.full(n_grp, np.inf)
    face = np.repeat(unit, 3, axis=0)
    np.minimum.at(dot, g.ravel(), (avg[g.ravel()] * face).sum(axis=1))
    scale = 1.0 / np.clip(np.where(np.isfinite(dot), dot, 1.0), 0.5, 1.0)
    return np.asarray((avg * scale[:, None])[grp], np.float64)


def floor_slabs(
    mesh: TriMesh,
    building: IntArray,
    bottom_m: FloatArray,
    top_m: FloatArray,
    *,
    index_name: str = "feature_index",
    outset_m: float = OUTSET_M,
    gap_m: float = GAP_M,
    cap_m: float = CAP_M,
) -> TriMesh:
    """One prism per floor, cut from its building's triangles.

    Parameters
    ----------
    mesh
        LoD1 buildings with cell arrays ``building_index`` and ``surface`` (1 wall, 2 roof),
        as :func:`twin_app.geometry.extrude.extrude` makes them.
    building
        (f,) building index of each floor.
    bottom_m, top_m
        (f,) the floor's bottom and ceiling heights (local z, m). A floor whose ceiling is its
        building's highest is the top floor. Each roof (a lower wing's too) is drawn
        :data:`CAP_M` above itself on the floor whose band it closes.
    index_name
        The cell array that gets each triangle's floor row (0..f-1).
    outset_m, gap_m, cap_m
        See :data:`OUTSET_M` (plus :data:`STAGGER_M` per floor of the building, modulo
        :data:`STAGGER_CYCLE`), :data:`GAP_M`, :data:`CAP_M`.

    Returns
    -------
    TriMesh
        Unshared points (three per triangle); cell arrays `index_name` (int32) and
        ``surface``. Walls of a building below a floor's band (lower parts) are left out.
    """
    building = np.asarray(building, np.int64)
    bottom = np.asarray(bottom_m, np.float64)
    top = np.asarray(top_m, np.float64)
    n_f = building.size
    if n_f == 0 or mesh.n_triangles == 0:
        return TriMesh.empty((index_name, np.int32))
    bidx = np.asarray(mesh.cell_data["building_index"], np.int64)
    surf = np.asarray(mesh.cell_data["surface"], np.uint8)
    nb = int(max(bidx.max(), building.max())) + 1
    order = np.argsort(bidx, kind="stable")
    counts = np.bincount(bidx, minlength=nb)
    starts = np.cumsum(counts) - counts
    zmax = np.full(nb, -np.inf)
    np.maximum.at(zmax, bidx, mesh.points[mesh.triangles][:, :, 2].max(axis=1))
    is_top = top >= zmax[building] - 1e-6
    nt = counts[building]
    f_of = np.repeat(np.arange(n_f), nt)
    local = np.arange(f_of.size) - np.repeat(np.cumsum(nt) - nt, nt)
    t = order[starts[building][f_of] + local]
    # a roof belongs to the floor whose band it closes (a lower wing's roof too: without it
    # one would look into the wing's slabs from above)
    roof = surf[t] == SURFACE_ROOF
    zr = mesh.points[mesh.triangles[t]][:, :, 2].max(axis=1)
    keep = (
        ~roof
        | ((zr > bottom[f_of] + 1e-6) & (zr <= top[f_of] + 1e-6))
        | (is_top[f_of] & (zr > top[f_of]))
    )
    t, f_of = t[keep], f_of[keep]
    v = mesh.triangles[t]  # (m, 3)
    p = mesh.points[v]  # (m, 3, 3)
    lo = bottom[f_of][:, None]
    hi = top[f_of][:, None]
    ceiling = np.where(is_top[f_of], top[f_of] + cap_m, top[f_of] - gap_m)[:, None]
    z = np.clip(p[:, :, 2], lo, hi)
    z = np.where(z >= hi - 1e-6, ceiling, z)
    on_roof = (surf[t] == SURFACE_ROOF)[:, None]
    z = np.where(on_roof, np.minimum(p[:, :, 2], hi) + cap_m, z)
    flat = np.ptp(z, axis=1) < 1e-6
    ok = (surf[t] == SURFACE_ROOF) | ~flat  # a wall squashed flat lies below the band
    normals = wall_normals_xy(mesh)
    n_of_b = np.bincount(building, minlength=nb)
    out = outset_m + STAGGER_M * (n_of_b[building[f_of]] % STAGGER_CYCLE)
    xy = p[:, :, :2] + out[:, None, None] * normals[v]
    pts = np.concatenate([xy, z[:, :, None]], axis=2)[ok].reshape(-1, 3)
    m = int(ok.sum())
    tris = np.arange(3 * m, dtype=np.int64).reshape(m, 3)
    return TriMesh(
        pts,
        tris,
        {index_name: f_of[ok].astype(np.int32), "surface": surf[t][ok].astype(np.uint8)},
    )


def outline_prisms(mesh: TriMesh, buildings: IntArray, base_z: float) -> TriMesh:
    """`mesh` with each of `buildings` (detailed bodies, such as an IFC model's every slab,
    stair and window) replaced by an LoD1 prism of its plan.

    The plan is the union of the building's triangles seen from above (those steeper than
    :data:`PLAN_STEEP_DEG` are left out: walls add only slivers), holes kept, simplified
    within :data:`PLAN_TOLERANCE_M`; the prism stands from `base_z` to the building's highest
    point. :func:`floor_slabs` of the result cuts a few dozen triangles per floor of such a
    body instead of all of its thousands.

    Parameters
    ----------
    mesh
        Buildings with cell arrays ``building_index`` and ``surface``.
    buildings
        Indices (``building_index`` values) of the bodies to replace; absent ones are ignored.
    base_z
        The prisms' base height (local z, m).

    Returns
    -------
    TriMesh
        Cell arrays ``building_index`` and ``surface`` only; the other buildings' triangles
        unchanged.
    """
    import shapely

    from twin_app.geometry.extrude import extrude, polygon_arrays
    from twin_app.model.mesh import concat_meshes

    bidx = np.asarray(mesh.cell_data["building_index"], np.int64)
    cells = {"building_index": bidx.astype(np.int32), "surface": mesh.cell_data["surface"]}
    wanted = np.intersect1d(np.asarray(buildings, np.int64), bidx)
    if wanted.size == 0:
        return TriMesh(mesh.points, mesh.triangles, cells)
    cos_min = np.cos(np.radians(PLAN_STEEP_DEG))
    plans, tops, index = [], [], []
    # one union per body: a scenario has a handful of IFC proposals, each thousands of triangles
    for b in wanted:
        p = mesh.points[mesh.triangles[bidx == b]]  # (t, 3, 3)
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        sel = np.abs(n[:, 2]) > cos_min * np.linalg.norm(n, axis=1)
        if not sel.any():
            continue
        tri = shapely.polygons(np.concatenate([p[sel, :, :2], p[sel, :1, :2]], axis=1))
        tri = tri[shapely.area(tri) > 1e-6]
        try:
            plan = shapely.union_all(tri)
        except shapely.errors.GEOSException:  # a robustness failure of the floating overlay
            plan = shapely.union_all(tri, grid_size=1e-3)
        # the union keeps every vertex of every window reveal along a straight wall
        plan = shapely.simplify(plan, PLAN_TOLERANCE_M)
        parts = [g for g in shapely.get_parts(plan) if g.geom_type == "Polygon" and g.area > 0]
        if not parts:
            continue
        plans.append(shapely.multipolygons(parts))
        tops.append(float(p[:, :, 2].max()))
        index.append(int(b))
    keep = ~np.isin(bidx, np.asarray(index, np.int64))
    rest = TriMesh(mesh.points, mesh.triangles[keep], {k: v[keep] for k, v in cells.items()})
    if not plans:
        return rest
    top = np.asarray(tops)
    prisms = extrude(
        polygon_arrays(np.asarray(plans, dtype=object)),
        top - base_z,
        base_z,
        np.asarray(index, np.int64),
    )
    return concat_meshes([rest, prisms])
