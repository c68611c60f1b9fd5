"""Sun-hours studies by ray casting, shadow area at noon, and massing edits (issue 9).

A receptor is *sunlit* at a time when the sun's centre is above the horizon (apparent elevation
from NREL SPA through :mod:`twin_app.engines.sun`), the segment from the receptor toward the sun
crosses no triangle of the city mesh (:class:`twin_app.geometry.raycast.Occluder`) and, for a
facade receptor with outward normal ``n``, the sun stands in front of the facade
(``n . s > 0``). Over a time range sampled every ``step`` minutes (sample times at the middle of
each step, so the sum is the midpoint rule), the sun hours of a receptor are::

    H = step_h * sum_t sunlit(t)

the discrete form of the "probable sunlight hours" count of BRE 209, *Site layout planning for
daylight and sunlight* (P. J. Littlefair, 3rd ed. 2022), which judges open spaces on 21 March.
Receptors are lifted off the surface they sit on by ``lift_m`` along their normal (up for the
ground) so that their own triangle never shades them.

Receptors
---------
* Ground: the cell centres of a north-up raster (:class:`twin_app.engines.air.ReceptorGrid`
  conventions: row 0 north, affine transform of the cell corners) at ``ground_z + lift_m``;
  a cell is *public* (outdoor) unless a vertical ray from it hits a triangle (a roof above it).
* Facades: points on the wall triangles of the building mesh (cell array ``surface`` = 1, else
  triangles with a near-horizontal normal), each triangle split into ``k^2`` congruent
  sub-triangles with ``k = ceil(sqrt(area) / spacing)``; a point stands at each sub-triangle's
  centroid and carries its area and ``building_index``.

KPIs (baseline against scenario, same receptors)
------------------------------------------------
``sun_hours_lost_public_m2h``
    ``sum over cells outdoor in both runs of max(0, H_base - H_scen) * cell_area`` (m2 h): the
    sun lost on public ground, gains elsewhere not netted off.
``buildings_losing_1h_sun``
    Number of buildings present in both runs with a facade receptor (a wall patch, matched by
    position) whose sun hours drop by at least 1 h.
``shadow_area_noon_m2``
    Outdoor ground area (m2) in the shadow of the buildings at solar noon (the time of the
    highest sun on the date, found to the minute), ``cells shaded * cell_area``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin_app.engines.air import ReceptorGrid
from twin_app.engines.sun import sun_directions, sun_positions
from twin_app.errors import EngineError
from twin_app.geometry.raycast import Occluder
from twin_app.model.mesh import SURFACE_WALL, TriMesh

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Rays handed to the occluder per call (several time steps at once).
RAYS_PER_BATCH = 1 << 21

NS_PER_MIN = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000

TimeSpan = dt.date | tuple[Any, Any]


def _ns(t: Any) -> int:
    """UTC nanoseconds of an int (ns), a datetime (naive = UTC) or anything pandas parses."""
    if isinstance(t, (int, np.integer)):
        return int(t)
    import pandas as pd

    ts = pd.Timestamp(t)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def time_span(when: TimeSpan, lon_deg: float = 0.0) -> tuple[int, int]:
    """``(start, end)`` UTC ns of a date or of a ``(start, end)`` pair.

    A date is its local mean solar day at longitude `lon_deg`: midnight to midnight of
    ``UTC + lon_deg / 15`` hours, so the whole daylight of that date falls inside it anywhere
    on Earth.
    """
    if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
        start = _ns(dt.datetime(when.year, when.month, when.day))
        start -= round(lon_deg / 360.0 * NS_PER_DAY)
        return start, start + NS_PER_DAY
    if isinstance(when, tuple) and len(when) == 2:
        start, end = _ns(when[0]), _ns(when[1])
        if end <= start:
            raise EngineError(f"sun hours: time range ends ({when[1]}) before it starts")
        return start, end
    raise EngineError(f"sun hours: {when!r} is neither a date nor a (start, end) pair")


def sun_samples(
    lat_deg: float, lon_deg: float, when: TimeSpan, step_min: float = 10.0
) -> tuple[IntArray, FloatArray, float]:
    """Sample times with the sun above the horizon and the sun's direction at each.

    Times are the middles of ``step_min`` steps from the start of the span.

    Returns
    -------
    tuple
        (k,) UTC ns, (k, 3) unit vectors toward the sun (x east, y north, z up) and the step
        length in hours.
    """
    if not (math.isfinite(step_min) and step_min > 0):
        raise EngineError(f"sun hours: step {step_min} min must be positive")
    start, end = time_span(when, lon_deg)
    step_ns = round(step_min * NS_PER_MIN)
    n = max(1, round((end - start) / step_ns))
    t = start + step_ns // 2 + step_ns * np.arange(n, dtype=np.int64)
    az, el = sun_positions(lon_deg, lat_deg, t)
    up = el > 0.0
    return t[up], sun_directions(az[up], el[up]), step_ns / 3.6e12


def _check_receptors(receptors_xyz: Any, normals: Any) -> tuple[FloatArray, FloatArray | None]:
    xyz = np.asarray(receptors_xyz, dtype=np.float64).reshape(-1, 3)
    if normals is None:
        return xyz, None
    nrm = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
    if nrm.shape != xyz.shape:
        raise EngineError(
            f"sun hours: {nrm.shape[0]} normals for {xyz.shape[0]} receptors; give one each"
        )
    return xyz, nrm


def sunlit_counts(
    occluder: Occluder,
    receptors_xyz: Any,
    sun_dirs: FloatArray,
    normals: Any = None,
    lift_m: float = 0.05,
) -> tuple[IntArray, int]:
    """How many of the given sun directions reach each receptor, and the rays cast.

    Parameters
    ----------
    occluder
        The city mesh.
    receptors_xyz
        (n, 3) receptor positions, metres.
    sun_dirs
        (k, 3) unit vectors toward the sun (all above the horizon).
    normals
        Optional (n, 3) outward unit normals (facades): a receptor only counts a direction in
        front of it (``n . s > 0``), and no ray is cast otherwise. Without normals the
        receptors face up (lifted along z).
    lift_m
        Offset of the ray origins along the normal (or up), metres.

    Returns
    -------
    tuple
        (n,) int64 sunlit counts and the number of rays cast.
    """
    xyz, nrm = _check_receptors(receptors_xyz, normals)
    n = xyz.shape[0]
    origins = xyz + lift_m * (nrm if nrm is not None else np.array([0.0, 0.0, 1.0]))
    counts = np.zeros(n, dtype=np.int64)
    k = sun_dirs.shape[0]
    if n == 0 or k == 0:
        return counts, 0
    rays = 0
    # several time steps per call: a (receptor, time) block, flattened time-major
    per = max(1, RAYS_PER_BATCH // n)
    for a in range(0, k, per):
        d = sun_dirs[a : a + per]
        if nrm is None:
            ri = np.tile(np.arange(n), d.shape[0])
            di = np.repeat(np.arange(d.shape[0]), n)
        else:
            front = (nrm @ d.T) > 0.0  # (n, kk)
            ri, di = np.nonzero(front)
        hit = occluder.occluded(origins[ri], d[di])
        counts += np.bincount(ri[~hit], minlength=n)
        rays += int(ri.shape[0])
    return counts, rays


def sun_hours(
    occluder: Occluder,
    receptors_xyz: Any,
    lat_deg: float,
    lon_deg: float,
    when: TimeSpan,
    normals: Any = None,
    step_min: float = 10.0,
    lift_m: float = 0.05,
    stats: dict[str, float] | None = None,
) -> FloatArray:
    """Hours of direct sun at each receptor over a date or a UTC time range.

    ``H = step_h * (number of sample times at which the receptor is sunlit)``; see the module
    docstring for *sunlit* and the references.

    Parameters
    ----------
    occluder
        The city mesh (buildings, and the terrain if it should cast shadows).
    receptors_xyz
        (n, 3) receptor positions in the twin's local frame (x east, y north, z up), metres.
    lat_deg, lon_deg
        The place (WGS 84 degrees), e.g. the twin's frame origin.
    when
        A :class:`datetime.date` (its local mean solar day at `lon_deg`, see :func:`time_span`)
        or a ``(start, end)`` pair of UTC times (ns ints, datetimes (naive ones read as UTC), or
        strings pandas parses).
    normals
        Optional (n, 3) outward unit normals for facade receptors.
    step_min
        Sampling step, minutes.
    lift_m
        Offset of the ray origins off their surface, metres.
    stats
        When given, filled with ``rays`` (rays cast) and ``steps`` (sun-up sample times).

    Returns
    -------
    numpy.ndarray
        (n,) sun hours.
    """
    _, dirs, step_h = sun_samples(lat_deg, lon_deg, when, step_min)
    counts, rays = sunlit_counts(occluder, receptors_xyz, dirs, normals, lift_m)
    if stats is not None:
        stats["rays"] = float(rays)
        stats["steps"] = float(dirs.shape[0])
    return np.asarray(counts * step_h, dtype=np.float64)


# -- receptors -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GroundReceptors:
    """Ground receptors at the cell centres of a raster.

    Attributes
    ----------
    grid
        The raster (row 0 north).
    xyz
        (ny * nx, 3) receptor positions in raster order (row-major from the north-west).
    public
        (ny, nx) True where the cell is outdoor (no triangle above it).
    """

    grid: ReceptorGrid
    xyz: FloatArray
    public: BoolArray

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell, m2."""
        return self.grid.cell_m**2

    def raster(self, values: FloatArray, fill: float = math.nan) -> FloatArray:
        """(ny, nx) raster of per-receptor values, `fill` inside buildings."""
        out = np.asarray(values, dtype=np.float64).reshape(self.grid.shape).copy()
        out[~self.public] = fill
        return out


def ground_receptors(
    occluder: Occluder,
    bounds: tuple[float, float, float, float],
    cell_m: float = 2.0,
    ground_z: float = 0.0,
    lift_m: float = 0.05,
) -> GroundReceptors:
    """A ground raster over ``(xmin, ymin, xmax, ymax)`` with its outdoor mask.

    Receptors stand at ``ground_z + lift_m``; a cell is indoor when a vertical ray from its
    receptor hits a triangle (its roof), so ground under bridges or overhangs counts as indoor.
    """
    grid = ReceptorGrid.covering(bounds, cell_m)
    xs, ys = grid.centres()
    xyz = np.column_stack([xs.ravel(), ys.ravel(), np.full(xs.size, ground_z + lift_m)])
    roofed = occluder.occluded(xyz, np.array([0.0, 0.0, 1.0]))
    return GroundReceptors(grid, xyz, ~roofed.reshape(grid.shape))


@dataclass(frozen=True, eq=False)
class FacadeReceptors:
    """Points on building walls.

    Attributes
    ----------
    xyz, normals
        (p, 3) positions and outward unit normals.
    area_m2
        (p,) wall area each point stands for.
    building_index
        (p,) ``building_index`` of the wall (-1 when the mesh has none).
    """

    xyz: FloatArray
    normals: FloatArray
    area_m2: FloatArray
    building_index: IntArray

    def per_building(self, values: FloatArray, n_buildings: int) -> FloatArray:
        """Area-weighted mean of per-point values for buildings ``0..n_buildings-1`` (NaN
        where a building has no facade point)."""
        ok = self.building_index >= 0
        b = self.building_index[ok]
        w = self.area_m2[ok]
        s = np.bincount(b, weights=w * np.asarray(values)[ok], minlength=n_buildings)
        a = np.bincount(b, weights=w, minlength=n_buildings)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a > 0, s / np.where(a > 0, a, 1.0), np.nan)[:n_buildings]


def _subdivision_centroids(k: int) -> FloatArray:
    """(k*k, 3) barycentric coordinates of the centroids of a triangle's k-split."""
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    up = i + j <= k - 1  # upward sub-triangles (i, j), (i+1, j), (i, j+1)
    iu, ju = i[up], j[up]
    dn = i + j <= k - 2  # downward ones (i+1, j), (i, j+1), (i+1, j+1)
    idn, jdn = i[dn], j[dn]
    b1 = np.concatenate([iu + 1.0 / 3.0, idn + 2.0 / 3.0]) / k
    b2 = np.concatenate([ju + 1.0 / 3.0, jdn + 2.0 / 3.0]) / k
    return np.column_stack([1.0 - b1 - b2, b1, b2])


def facade_receptors(mesh: TriMesh, spacing_m: float = 3.0, max_split: int = 64) -> FacadeReceptors:
    """Sample points on the wall triangles of a building mesh.

    Each wall triangle is split into ``k^2`` congruent sub-triangles,
    ``k = clip(ceil(sqrt(area) / spacing_m), 1, max_split)``, and a receptor stands at each
    sub-triangle's centroid. Walls are the triangles with ``surface == 1`` when the mesh has
    that array, else those whose normal is within 10 degrees of horizontal.
    """
    if not spacing_m > 0:
        raise EngineError(f"sun hours: facade spacing {spacing_m} m must be positive")
    nrm = mesh.face_normals()
    if "surface" in mesh.cell_data:
        wall = np.asarray(mesh.cell_data["surface"]) == SURFACE_WALL
    else:
        wall = np.abs(nrm[:, 2]) < math.sin(math.radians(10.0))
    wall &= np.einsum("ij,ij->i", nrm, nrm) > 0.5
    tri = mesh.triangles[wall]
    corners = mesh.points[tri]  # (m, 3, 3)
    area = mesh.areas()[wall]
    bidx = (
        np.asarray(mesh.cell_data["building_index"], dtype=np.int64)[wall]
        if "building_index" in mesh.cell_data
        else np.full(tri.shape[0], -1, dtype=np.int64)
    )
    k = np.clip(np.ceil(np.sqrt(area) / spacing_m), 1, max_split).astype(np.int64)
    xyz, nn, aa, bb = [], [], [], []
    for kk in np.unique(k):  # a handful of split levels, each done for all its triangles
        sel = np.flatnonzero(k == kk)
        bary = _subdivision_centroids(int(kk))  # (s, 3)
        pts = np.einsum("sv,mvc->msc", bary, corners[sel]).reshape(-1, 3)
        s = bary.shape[0]
        xyz.append(pts)
        nn.append(np.repeat(nrm[wall][sel], s, axis=0))
        aa.append(np.repeat(area[sel] / s, s))
        bb.append(np.repeat(bidx[sel], s))
    if not xyz:
        z = np.zeros((0, 3))
        return FacadeReceptors(z, z, np.zeros(0), np.zeros(0, dtype=np.int64))
    return FacadeReceptors(
        np.concatenate(xyz), np.concatenate(nn), np.concatenate(aa), np.concatenate(bb)
    )


# -- noon shadow and KPIs -----------------------------------------------------------------


def solar_noon(lat_deg: float, lon_deg: float, date: dt.date) -> tuple[int, FloatArray]:
    """UTC ns of the highest sun on a date (its local mean solar day, to the minute) and the
    direction toward it."""
    start, _ = time_span(date, lon_deg)
    t = start + NS_PER_MIN * np.arange(1440, dtype=np.int64)
    az, el = sun_positions(lon_deg, lat_deg, t)
    i = int(np.argmax(el))
    if el[i] <= 0.0:
        raise EngineError(f"sun hours: the sun does not rise at lat {lat_deg} on {date}")
    return int(t[i]), sun_directions(az[i : i + 1], el[i : i + 1])[0]


def shadow_mask(occluder: Occluder, ground: GroundReceptors, sun_dir: FloatArray) -> BoolArray:
    """(ny, nx) True where an outdoor cell is shaded from the sun direction `sun_dir`."""
    pub = ground.public.ravel()
    hit = np.zeros(pub.shape[0], dtype=bool)
    hit[pub] = occluder.occluded(ground.xyz[pub], np.asarray(sun_dir, dtype=np.float64))
    return hit.reshape(ground.grid.shape)


def shadow_area_noon_m2(
    occluder: Occluder, ground: GroundReceptors, lat_deg: float, lon_deg: float, date: dt.date
) -> float:
    """``shadow_area_noon_m2``: outdoor ground area in shadow at solar noon of `date`, m2."""
    _, d = solar_noon(lat_deg, lon_deg, date)
    return float(shadow_mask(occluder, ground, d).sum()) * ground.cell_area_m2


def sun_hours_lost_public_m2h(
    h_base: FloatArray,
    h_scen: FloatArray,
    public_base: BoolArray,
    public_scen: BoolArray,
    cell_area_m2: float,
) -> float:
    """``sun_hours_lost_public_m2h``: ``sum max(0, H_base - H_scen) * cell_area`` over cells
    outdoor in both runs, m2 h."""
    both = (np.asarray(public_base) & np.asarray(public_scen)).ravel()
    loss = np.maximum(0.0, np.ravel(h_base) - np.ravel(h_scen))
    return float(loss[both].sum()) * cell_area_m2


def buildings_losing_1h_sun(
    base: FacadeReceptors,
    hours_base: FloatArray,
    scen: FacadeReceptors,
    hours_scen: FloatArray,
    threshold_h: float = 1.0,
    exclude: Any = (),
) -> int:
    """``buildings_losing_1h_sun``: buildings with some part of a wall that loses at least
    `threshold_h` hours of sun.

    A planner asks whether a window loses sun (the BRE guide's test is per window, not per
    building average), so a building counts when any facade receptor present in both runs
    receives ``H_base - H_scen >= threshold_h``. Receptors are matched by building index and
    position (to the millimetre): walls a scenario leaves alone keep their receptors, whatever
    it adds or removes elsewhere in the mesh.

    Parameters
    ----------
    base, scen
        Facade receptors of the baseline and scenario meshes.
    hours_base, hours_scen
        (p,) sun hours of each receptor, h.
    threshold_h
        Loss that counts, h.
    exclude
        Building indices not counted (buildings the scenario itself added, removed or
        re-heighted: their walls are not the same walls).

    Returns
    -------
    int
    """
    import pandas as pd

    def table(fac: FacadeReceptors, hours: FloatArray) -> pd.DataFrame:
        key = np.round(np.asarray(fac.xyz, np.float64) * 1000.0).astype(np.int64)
        return pd.DataFrame(
            {
                "b": np.asarray(fac.building_index, np.int64),
                "x": key[:, 0],
                "y": key[:, 1],
                "z": key[:, 2],
                "h": np.asarray(hours, np.float64),
            }
        )

    both = table(base, hours_base).merge(
        table(scen, hours_scen), on=["b", "x", "y", "z"], suffixes=("_b", "_s")
    )
    drop = (both["h_b"] - both["h_s"]).to_numpy(np.float64)
    b = both["b"].to_numpy(np.int64)
    hit = np.unique(b[(b >= 0) & (np.nan_to_num(drop, nan=-np.inf) >= threshold_h - 1e-9)])
    return int(np.setdiff1d(hit, np.asarray(list(exclude), np.int64)).size)


# -- massing ------------------------------------------------------------------------------


def _index(mesh: TriMesh) -> IntArray:
    if "building_index" not in mesh.cell_data:
        raise EngineError("massing: the mesh has no 'building_index' cell array")
    return np.asarray(mesh.cell_data["building_index"], dtype=np.int64)


def add_buildings(
    mesh: TriMesh,
    footprints_xy: list[Any],
    height_m: Any,
    base_z: Any = 0.0,
    index: Any = None,
) -> TriMesh:
    """The mesh with LoD1 prisms extruded from new footprints appended.

    Parameters
    ----------
    mesh
        Building mesh with ``building_index`` (and ``surface``) cell arrays.
    footprints_xy
        One (v, 2) exterior ring (local metres, any orientation) or shapely polygon per building.
    height_m, base_z
        Scalars or one value per footprint, metres.
    index
        ``building_index`` of each new building (default: after the mesh's largest).

    Returns
    -------
    TriMesh
        The merged mesh (walls and roofs from :func:`twin_app.geometry.extrude.extrude`).
    """
    import shapely

    from twin_app.geometry.extrude import extrude, polygon_arrays

    g = len(footprints_xy)
    geoms = np.array(
        [f if isinstance(f, shapely.Geometry) else shapely.Polygon(f) for f in footprints_xy],
        dtype=object,
    )
    if g == 0 or not shapely.is_valid(geoms).all() or (shapely.area(geoms) <= 0).any():
        raise EngineError("massing: a new building's footprint is empty or not a valid polygon")
    h = np.broadcast_to(np.asarray(height_m, dtype=np.float64), (g,))
    if not (np.isfinite(h) & (h > 0)).all():
        raise EngineError(f"massing: building heights {h.tolist()} must be positive")
    if index is None:
        old = _index(mesh) if mesh.n_triangles else np.zeros(0, dtype=np.int64)
        start = int(old.max()) + 1 if old.size else 0
        index = np.arange(start, start + g)
    z0 = np.broadcast_to(np.asarray(base_z, dtype=np.float64), (g,))
    new = extrude(polygon_arrays(geoms), h, z0, np.asarray(index, dtype=np.int64))
    if mesh.n_triangles == 0:
        return new
    from twin_app.model.mesh import concat_meshes

    return concat_meshes([mesh, new])


def add_building(mesh: TriMesh, footprint_xy: Any, height_m: float, base_z: float = 0.0) -> TriMesh:
    """One new building: :func:`add_buildings` with a single footprint."""
    return add_buildings(mesh, [footprint_xy], height_m, base_z)


def remove_buildings(mesh: TriMesh, remove: Any) -> TriMesh:
    """The mesh without the buildings flagged in `remove` (bool over ``building_index``
    values, or an array of indices); unused points are dropped."""
    bidx = _index(mesh)
    r = np.asarray(remove)
    if r.dtype == bool:
        gone = np.zeros(bidx.shape[0], dtype=bool)
        ok = (bidx >= 0) & (bidx < r.shape[0])
        gone[ok] = r[bidx[ok]]
    else:
        gone = np.isin(bidx, r.astype(np.int64))
    keep = ~gone
    tri = mesh.triangles[keep]
    used, inv = np.unique(tri.ravel(), return_inverse=True)
    cells = {k: np.asarray(v)[keep] for k, v in mesh.cell_data.items()}
    return TriMesh(mesh.points[used], inv.reshape(-1, 3).astype(np.int64), cells)


def set_height(mesh: TriMesh, buildings: Any, height_m: Any) -> TriMesh:
    """The mesh with LoD1 prisms re-extruded to new heights above their bases.

    For a prism of :func:`twin_app.geometry.extrude.extrude` (own points, a bottom ring at the
    base and a top ring at the roof), re-extruding the same footprint to ``h`` moves the top
    ring to ``base + h``, which is what this does: per building, points above its lowest point
    go to ``base + h``.

    Parameters
    ----------
    mesh
        Building mesh with ``building_index``.
    buildings
        (b,) ``building_index`` values to change.
    height_m
        Scalar or (b,) new heights, metres.
    """
    bidx = _index(mesh)
    b = np.asarray(buildings, dtype=np.int64).ravel()
    h = np.broadcast_to(np.asarray(height_m, dtype=np.float64), b.shape)
    if not (np.isfinite(h) & (h > 0)).all():
        raise EngineError(f"massing: building heights {h.tolist()} must be positive")
    size = int(max(bidx.max(initial=-1), b.max(initial=-1))) + 1
    new_h = np.full(size, np.nan)
    new_h[b] = h
    # the building of every point (points are not shared between buildings)
    pb = np.full(mesh.n_points, -1, dtype=np.int64)
    pb[mesh.triangles.ravel()] = np.repeat(bidx, 3)
    sel = pb >= 0
    sel[sel] = np.isfinite(new_h[pb[sel]])
    z = mesh.points[:, 2]
    base = np.full(size, np.inf)
    np.minimum.at(base, pb[sel], z[sel])
    top = sel.copy()
    top[sel] = z[sel] > base[pb[sel]] + 1e-6
    pts = mesh.points.copy()
    pts[top, 2] = base[pb[top]] + new_h[pb[top]]
    return TriMesh(pts, mesh.triangles, dict(mesh.cell_data))
