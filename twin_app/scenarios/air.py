"""Air-quality scenarios: the ``[air]`` section's plume run over a twin, baseline and scenario.

Sources
-------
- Stacks: ``[[air.sources]]`` of the section, changed by the ``add_source``,
  ``remove_source`` and ``set_source`` interventions (:func:`apply_air`, pure).
- Roads (``traffic_emissions = true``): every link of the traffic assignment is a line source
  from its tail node to its head node (a straight line between the link's nodes, not the road's
  own polyline: a simplification that moves the emission of a curved road by at most the
  road's sagitta), of strength :func:`twin_app.engines.air.road_emission_g_s_m` of its flow
  (the model's demand period is the morning peak hour, so flows are veh/h). The baseline uses
  the baseline flows, the scenario the scenario flows, so a ``close_road`` changes the air too;
  ``cut_traffic`` scales the emissions of its links by ``factor`` without re-solving traffic.
  Only links built from a road of the twin (``segment_row >= 0``) emit: zone connectors are
  bookkeeping, not streets, and links a scenario adds (``add_link``) or TNTP networks (no node
  positions) have no geometry.

Residents (``population_over_limit``)
-------------------------------------
Residential floor area per raster cell: each building's floor area (footprint area of its
roof triangles x levels, as :func:`twin_app.scenarios.twin_traffic.building_masses_from_set`)
times its residential share, added into the cell of its centroid (``np.add.at``). The share is
1 for OSM ``building`` tags of dwellings (:data:`RESIDENTIAL_TAGS`), 0 for other explicit tags,
and :data:`DEFAULT_RESIDENTIAL_SHARE` for ``building=yes`` or no tag (an assumption for
untagged mixed-use city blocks, not a measured value). Residents are floor area /
:data:`twin_app.engines.air.M2_PER_RESIDENT`.

Weather: ``wind = "replay"`` takes the wind speed and direction at ``at`` from the twin's
replayed weather (:func:`twin_app.scenarios.air_wind.replay_wind`: the sample twin's Beijing
PRSA ``wd`` and ``WSPM`` columns); otherwise ``wind_speed_ms`` and ``wind_from_deg`` as given.
``stability = "auto"`` is :func:`twin_app.engines.air.stability_class` of that wind speed, the
sun's elevation at ``at`` over the twin's centre and ``cloud_oktas``.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.errors import InputError
from twin_app.scenarios.file import AirSection, Scenario
from twin_app.scenarios.model import FloatArray, TrafficModel
from twin_app.scenarios.twin_city import twin_buildings

Bounds = tuple[float, float, float, float]

#: The air KPIs in the order they are shown, with their units.
AIR_KPIS = {
    "area_over_limit_m2": "m2",
    "population_over_limit": "residents",
    "max_concentration_ug_m3": "ug/m3",
    "mean_concentration_ug_m3": "ug/m3",
}

#: OSM ``building`` values counted as wholly residential.
RESIDENTIAL_TAGS = frozenset(
    {
        "residential", "apartments", "house", "detached", "semidetached_house", "terrace",
        "dormitory", "bungalow", "flats", "houseboat", "static_caravan", "cabin", "farm",
    }
)  # fmt: skip
#: Residential share of buildings tagged ``building=yes`` or untagged (assumed).
DEFAULT_RESIDENTIAL_SHARE = 0.25


@dataclass(frozen=True, eq=False)
class AirTwin:
    """What the air run needs of a twin's buildings: ``xy`` (n, 2) centroids, m,
    ``residential_m2`` (n,) residential floor area, the local ``frame`` and the
    buildings' ``extent`` (xmin, ymin, xmax, ymax)."""

    xy: FloatArray
    residential_m2: FloatArray
    frame: Any
    extent: Bounds
    folder: Path | None = None


@dataclass(frozen=True, eq=False)
class AirSources:
    """Point sources of a scenario snapshot: ``ids``, ``xy`` (n, 2) m, ``q_g_s``, ``height_m``,
    and ``link_factor``: ``(link names, factor)`` cuts of road emissions in file order."""

    ids: tuple[str, ...]
    xy: FloatArray
    q_g_s: FloatArray
    height_m: FloatArray
    link_factor: tuple[tuple[tuple[str, ...], float], ...] = ()


_CACHE: dict[str, AirTwin] = {}
_LOCK = threading.Lock()


def residential_share(tags: Any) -> FloatArray:
    """Residential share per building from its OSM ``building`` tag (see the module docstring)."""
    arr = np.asarray(tags, dtype=object)
    uniq, inv = np.unique(np.where(arr == None, "", arr).astype(str), return_inverse=True)  # noqa: E711
    share = np.array(
        [
            1.0
            if u.strip().lower() in RESIDENTIAL_TAGS
            else DEFAULT_RESIDENTIAL_SHARE
            if u.strip().lower() in ("", "yes", "nan", "<na>")
            else 0.0
            for u in uniq
        ],
        dtype=np.float64,
    )
    return np.asarray(share[inv], dtype=np.float64)


def air_twin(twin_dir: Path | str) -> AirTwin:
    """The twin's buildings as residential floor area at their centroids (cached in-process)."""
    from twin_app.scenarios.twin_traffic import building_masses_from_set

    key, folder, city, fs = twin_buildings(twin_dir, "an [air] run")
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    masses = building_masses_from_set(fs)
    # building_masses_from_set drops buildings without roof area: keep the same rows
    from twin_app.model.mesh import SURFACE_ROOF

    idx = np.asarray(fs.mesh.cell_data[fs.index_array], np.int64)
    roof = np.asarray(fs.mesh.cell_data["surface"]) == SURFACE_ROOF
    has_roof = np.bincount(idx[roof], minlength=fs.n_features) > 0
    tags = (
        fs.table["building"].to_numpy(dtype=object)
        if "building" in fs.table.columns
        else np.full(fs.n_features, "", dtype=object)
    )
    share = residential_share(tags)[has_roof]
    xmin, xmax, ymin, ymax, _, _ = fs.mesh.bounds()
    twin = AirTwin(
        xy=masses.xy,
        residential_m2=masses.floor_m2 * share,
        frame=city.frame,
        extent=(float(xmin), float(ymin), float(xmax), float(ymax)),
        folder=folder,
    )
    with _LOCK:
        _CACHE[key] = twin
    return twin


def baseline_air_twin(scenario: Scenario) -> AirTwin:
    """The :class:`AirTwin` of the scenario's twin (``twin`` must be set)."""
    if scenario.twin is None:
        raise InputError(
            f"{scenario.label}: key 'twin': an [air] run needs the twin folder it covers"
        )
    return air_twin(scenario.twin)


def _xy(
    frame: Any, xy: tuple[float, float] | None, lonlat: tuple[float, float] | None
) -> FloatArray:
    if xy is not None:
        return np.array([xy], dtype=np.float64)
    assert lonlat is not None  # the section checks exactly one is given
    ll = np.array([lonlat], dtype=np.float64)
    return np.asarray(frame.lonlat_to_local(ll[:, 0], ll[:, 1]), np.float64)[:, :2]


def section_sources(air: AirSection, frame: Any) -> AirSources:
    """The ``[[air.sources]]`` of the section as :class:`AirSources`."""
    srcs = air.sources
    xy = np.concatenate([_xy(frame, s.xy, s.lonlat) for s in srcs]) if srcs else np.zeros((0, 2))
    return AirSources(
        ids=tuple(s.id for s in srcs),
        xy=xy,
        q_g_s=np.array([s.q_g_s for s in srcs], dtype=np.float64),
        height_m=np.array([s.height_m for s in srcs], dtype=np.float64),
    )


def _pick(src: AirSources, names: tuple[str, ...], key: str) -> Any:
    where = {k: i for i, k in enumerate(src.ids)}
    missing = [n for n in names if n not in where]
    if missing:
        raise KeyError(
            f"{key}: unknown source {missing[0]!r} (sources: {', '.join(src.ids) or 'none'})"
        )
    return np.array([where[n] for n in names], dtype=np.int64)


def apply_air(scenario: Scenario, src: AirSources, frame: Any) -> AirSources:
    """The scenario's air interventions applied in file order (pure: `src` is not changed).

    Raises
    ------
    InputError
        An unknown or duplicate source id (naming the key).
    """
    for i, item in scenario.air_interventions():
        key = f"interventions[{i}]"
        try:
            if item.kind == "add_source":
                if item.id in src.ids:
                    raise KeyError(f"{key}.id: source {item.id!r} already exists")
                src = replace(
                    src,
                    ids=(*src.ids, item.id),
                    xy=np.concatenate([src.xy, _xy(frame, item.xy, item.lonlat)]),
                    q_g_s=np.append(src.q_g_s, item.q_g_s),
                    height_m=np.append(src.height_m, item.height_m),
                )
            elif item.kind == "remove_source":
                keep = np.ones(len(src.ids), bool)
                keep[_pick(src, item.sources, f"{key}.sources")] = False
                src = replace(
                    src,
                    ids=tuple(np.asarray(src.ids, dtype=object)[keep].tolist()),
                    xy=src.xy[keep],
                    q_g_s=src.q_g_s[keep],
                    height_m=src.height_m[keep],
                )
            elif item.kind == "set_source":
                sel = _pick(src, item.sources, f"{key}.sources")
                q, h = src.q_g_s.copy(), src.height_m.copy()
                if item.q_g_s is not None:
                    q[sel] = item.q_g_s
                if item.height_m is not None:
                    h[sel] = item.height_m
                src = replace(src, q_g_s=q, height_m=h)
            elif item.kind == "cut_traffic":
                src = replace(src, link_factor=(*src.link_factor, (tuple(item.links), item.factor)))
        except KeyError as exc:
            raise InputError(f"{scenario.label}: key {exc.args[0]}") from None
    return src


def link_factors(scenario: Scenario, model: TrafficModel, cuts: AirSources) -> FloatArray:
    """(n_links,) emission factor per link from the ``cut_traffic`` interventions."""
    f = np.ones(len(model.link_ids), dtype=np.float64)
    cut_items = [(i, v) for i, v in scenario.air_interventions() if v.kind == "cut_traffic"]
    for (i, _), (names, factor) in zip(cut_items, cuts.link_factor, strict=True):
        for name in names:
            rows = model.links_named(name)
            if len(rows) == 0:
                raise InputError(
                    f"{scenario.label}: key 'interventions[{i}].links': unknown link {name!r}"
                )
            f[rows] *= factor
    return f


def road_lines(
    model: TrafficModel, flow_veh_h: FloatArray, pollutant: str, factor: FloatArray
) -> Any:
    """Links as straight line sources between their nodes (see the module docstring)."""
    from twin_app.engines import air

    net = model.network
    n = min(len(flow_veh_h), len(net.init_node))
    # node numbers are 0-based indices into node_xy
    a = model.node_xy[np.asarray(net.init_node[:n], np.int64)]
    b = model.node_xy[np.asarray(net.term_node[:n], np.int64)]
    q = air.road_emission_g_s_m(np.asarray(flow_veh_h[:n], np.float64), pollutant) * factor[:n]
    seg = np.asarray(model.segment_row[:n], np.int64)
    if seg.shape[0] < n:  # links a scenario added have no road row
        seg = np.concatenate([seg, np.full(n - seg.shape[0], -1, np.int64)])
    ok = (
        (seg >= 0)
        & np.isfinite(a).all(axis=1)
        & np.isfinite(b).all(axis=1)
        & (np.hypot(*(b - a).T) > 0)
    )
    return air.LineSources(a[ok], b[ok], q[ok])


def air_bounds(air: AirSection, twin: AirTwin) -> Bounds:
    """``[air] bounds`` or the twin's buildings' extent."""
    return air.bounds if air.bounds is not None else twin.extent


def met_of(air: AirSection, twin: AirTwin) -> Any:
    """The :class:`twin_app.engines.air.Met` of the section (``wind = "replay"`` and
    ``stability = "auto"`` resolved)."""
    return met_conditions(air, twin)[0]


def met_conditions(air: AirSection, twin: AirTwin) -> tuple[Any, str]:
    """:func:`met_of` and one line saying what weather the run used and where it came from
    (the replayed reading's station, time and file; the sun and cloud an ``auto`` stability
    class was found from), for the KPI table's readers."""
    from twin_app.engines import air as engine

    speed, from_deg = air.wind_speed_ms, air.wind_from_deg
    where = "as set in the file"
    if air.wind == "replay":
        from twin_app.scenarios.air_wind import replay_wind

        if twin.folder is None:
            raise InputError("[air] wind = 'replay' needs the twin folder")
        assert air.at is not None  # the section checks it
        w = replay_wind(twin.folder, air.at, air.wind_station)
        speed, from_deg = w.speed_ms, w.from_deg
        where = (
            f"replayed at {air.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC: {w.station}'s "
            f"reading of {w.t_utc:%Y-%m-%d %H:%M} UTC in {w.path.name}"
        )
    stab: str = air.stability
    how = "as set in the file"
    if stab == "auto":
        from twin_app.engines.sun import sun_position

        cx = 0.5 * (twin.extent[0] + twin.extent[2])
        cy = 0.5 * (twin.extent[1] + twin.extent[3])
        lon, lat = np.asarray(twin.frame.to_lonlat(np.array([[cx, cy]])))[0]
        assert air.at is not None  # the section checks it
        t_ns = int(air.at.timestamp() * 1e9)
        elev = sun_position(float(lon), float(lat), t_ns).elevation_deg
        stab = engine.stability_class(speed, float(elev), air.cloud_oktas)
        how = f"from that wind, a sun {elev:.0f} deg high and {air.cloud_oktas:g} oktas of cloud"
    met = engine.Met(speed, from_deg % 360.0, stab, air.terrain)
    point = engine.COMPASS_POINTS[round(met.wind_from_deg / 22.5) % 16]
    line = (
        f"air: wind from {point} ({met.wind_from_deg:.0f} deg) at {speed:.1f} m/s, {where}; "
        f"stability class {stab} ({how}); {air.terrain} Briggs coefficients"
    )
    return met, line


def residential_raster(twin: AirTwin, grid: Any) -> FloatArray:
    """(ny, nx) residential floor area per cell, m2, row 0 north (buildings by centroid)."""
    col = np.floor((twin.xy[:, 0] - grid.x0) / grid.cell_m).astype(np.int64)
    row = grid.ny - 1 - np.floor((twin.xy[:, 1] - grid.y0) / grid.cell_m).astype(np.int64)
    ok = (col >= 0) & (col < grid.nx) & (row >= 0) & (row < grid.ny)
    out = np.zeros(grid.shape, dtype=np.float64)
    np.add.at(out, (row[ok], col[ok]), twin.residential_m2[ok])
    return out


def air_run(
    air: AirSection,
    twin: AirTwin,
    points: AirSources,
    lines: Any,
    bounds: Bounds,
) -> Any:
    """One plume run (:func:`twin_app.engines.air.simulate`) over `bounds`."""
    from twin_app.engines import air as engine

    grid = engine.ReceptorGrid.covering(bounds, air.cell_m)
    inputs = engine.AirInputs(
        grid=grid,
        met=met_of(air, twin),
        points=engine.PointSources(points.xy, points.q_g_s, points.height_m),
        lines=lines if lines is not None else engine.LineSources.empty(),
        pollutant=air.pollutant,
        background_ug_m3=air.background_ug_m3,
        limit_ug_m3=air.limit_ug_m3,
    )
    return engine.simulate(inputs, residential_raster(twin, grid))


def air_key(scenario: Scenario) -> str:
    """Cache key of a baseline air run: the twin, ``[air]`` and ``[traffic]`` settings."""
    a = scenario.air or AirSection()
    t = scenario.traffic
    return f"{scenario.twin}|{a.model_dump_json()}|{t.model_dump_json() if t else ''}"
