"""Layer builders keyed by series kind: how a twin's replay series becomes a time-driven layer.

Each builder takes one manifest series and the twin it lands on (:class:`SeriesContext`) and
returns the layer with the warnings its data produced. Builders only glue: readers in ``io`` and
``feeds`` read, ``geometry`` places and snaps, ``engines`` run; the builder wraps their tables in a
layer model. :data:`BUILDERS` is the registry, filled in this module: a new series kind is one
new function and one entry.

When a series was measured in another city than the geometry (the sample twin replays Los
Angeles traffic on London streets), a :class:`~twin_app.geometry.placement.Placement` lays its
positions onto the district with one uniform scale and a translation, and every layer's
``description`` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import InputError, TwinError
from twin_app.geometry.network import line_adjacency, nearest_lines, nearest_source
from twin_app.geometry.placement import Placement, district_bounds, to_local
from twin_app.io.manifest import ManifestSeries
from twin_app.model.city import FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.model.times import parse_time

#: OSM classes treated as main roads (traffic sensors snap to these).
MAIN_ROADS = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link",
)  # fmt: skip

#: Metres of margin around the district for the air-quality surface.
AIR_GRID_PAD_M = 150.0


@dataclass
class SeriesContext:
    """The twin a series is built on.

    Attributes
    ----------
    folder
        The twin folder (series paths are relative to it).
    frame
        The twin's local frame.
    sets
        The twin's geometry (roads to snap to, buildings that define the district).
    start_ns
        The twin's replay start, UTC ns (0: the series keep their own times).
    """

    folder: Path
    frame: LocalFrame
    sets: list[FeatureSet]
    start_ns: int = 0
    warnings: list[str] = field(default_factory=list)

    @cached_property
    def district(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the district that ``placement = "fit"`` series fill."""
        return district_bounds(self.sets)

    @property
    def roads(self) -> FeatureSet | None:
        """The twin's roads, if it has any."""
        return next((s for s in self.sets if s.kind == "roads"), None)

    def shift_ns(self, series: ManifestSeries) -> int:
        """How far a series' own times move so its ``source_start`` shows at the replay start."""
        if not (series.source_start and self.start_ns):
            return 0
        return self.start_ns - utc_ns(series.source_start)

    def describe(self, series: ManifestSeries) -> str:
        """Where the series was measured and, when shifted, which of its days shows when."""
        shift = self.shift_ns(series)
        if not series.source_start:
            return str(series.measured_in)
        shown = pd.Timestamp(self.start_ns, tz="UTC").strftime("%d %b %Y")
        orig = pd.Timestamp(self.start_ns - shift, tz="UTC").strftime("%d %b %Y")
        return (
            f"{series.measured_in}; replayed on this twin's clock from {shown} "
            f"(recorded from {orig})"
        )

    def placement_for(self, series: ManifestSeries, lon: Any, lat: Any) -> Placement | None:
        """A lon/lat fit into the district for ``placement = "fit"`` series, else None."""
        if series.placement != "fit":
            return None
        return Placement.for_lonlat(lon, lat, self.district)


#: A builder: one manifest series on a twin -> its layer.
SeriesBuilder = Callable[[ManifestSeries, SeriesContext], Layer]


def utc_ns(text: str) -> int:
    """UTC ns of an ISO time; a time without an offset is taken as UTC."""
    return parse_time(text, assume_tz="UTC")


def _shifted(df: pd.DataFrame, shift_ns: int) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """The table's times moved by `shift_ns`, as UTC datetime64[ns]; missing and
    out-of-range times stay missing (counted by the cleaning)."""
    from twin_app.feeds.longformat import shift_times

    return shift_times(df["t"], shift_ns)


def _read_store(series: ManifestSeries, ctx: SeriesContext) -> Any:
    """A SensorStore of a long (``sensor_id``, ``t``, ``value``) series, shifted to the twin."""
    from twin_app.feeds.longformat import read_long
    from twin_app.feeds.store import SensorStore

    df = read_long(ctx.folder / series.path)
    store, report = SensorStore.from_long(
        df["sensor_id"].astype(str).to_numpy(),
        _shifted(df, ctx.shift_ns(series)),
        df["value"].to_numpy(),
        source=str(ctx.folder / series.path),
    )
    ctx.warnings.extend(report.warnings)
    return store


def _needs_sensors(series: ManifestSeries) -> Path:
    if not series.sensors:
        raise InputError(f"{series.path}: a {series.kind} series needs a 'sensors' positions file")
    return Path(series.sensors)


# -- the layer factories (plain tables in, layer out) ------------------------------------------
def build_traffic_layer(
    store: Any,
    sensors: pd.DataFrame,
    roads: FeatureSet,
    frame: LocalFrame,
    placement: Placement | None = None,
    free_flow: Any = None,
    inherit_hops: int = 3,
    max_snap_m: float = 250.0,
    name: str = "Traffic",
    description: str = "",
) -> TrafficLayer:
    """Snap sensors to main roads and let nearby main roads inherit along the network.

    Parameters
    ----------
    store
        Speeds, one column per sensor, in the order of ``store.sensor_ids``.
    sensors
        ``sensor_id``, ``lon``, ``lat`` per sensor.
    roads
        The twin's road FeatureSet (with centre lines).
    frame
        The twin's local frame (true positions).
    placement
        Lays positions measured elsewhere onto the district (None: true positions).
    free_flow
        Free-flow speed per sensor, in the store's order.
    inherit_hops
        Main roads up to this many junctions from a sensor road take its value; others stay
        grey (0 = only roads with their own sensor).
    max_snap_m
        Sensors farther than this from every main road are left unmapped (counted).
    name, description
        Shown in the Layers panel.

    Returns
    -------
    TrafficLayer
        The layer, not yet brought to any time.
    """
    from scipy.spatial import cKDTree

    if roads.lines is None:
        raise InputError(f"{roads.name}: no centre lines to snap traffic sensors to")
    ids = [str(s) for s in store.sensor_ids]
    table = sensors.set_index(sensors["sensor_id"].astype(str)).reindex(ids)
    xyz = to_local(frame, table["lon"].to_numpy(), table["lat"].to_numpy(), placement)
    line_road = roads.lines.line_feature()
    classes = (
        roads.table["class"].astype(str).to_numpy()
        if "class" in roads.table
        else np.array(["road"] * roads.n_features)
    )
    main_lines = np.flatnonzero(np.isin(classes[line_road], MAIN_ROADS))
    if main_lines.size == 0:
        main_lines = np.arange(roads.lines.n_lines)
    line, dist = nearest_lines(xyz[:, :2], roads.lines, candidates=main_lines)
    ok = np.isfinite(table["lon"].to_numpy(np.float64)) & (dist <= max_snap_m) & (line >= 0)
    # One sensor per road: the nearest of those snapped to it.
    seg_sensor_line = np.full(roads.lines.n_lines, -1, np.int64)
    order = np.argsort(-dist)  # farthest first so the nearest writes last
    order = order[ok[order]]
    seg_sensor_line[line[order]] = order
    if inherit_hops > 0:
        adj = line_adjacency(roads.lines)
        keep = np.zeros(roads.lines.n_lines, bool)
        keep[main_lines] = True
        adj = adj.multiply(keep[:, None]).multiply(keep[None, :]).tocsr()
        sources = np.flatnonzero(seg_sensor_line >= 0)
        src, _ = nearest_source(adj, sources, max_hops=inherit_hops)
        inherited = np.where(src >= 0, seg_sensor_line[sources[np.maximum(src, 0)]], -1)
        seg_sensor_line = np.where(seg_sensor_line >= 0, seg_sensor_line, inherited)
    segment_sensor = np.full(roads.n_features, -1, np.int64)
    segment_sensor[line_road] = np.maximum(segment_sensor[line_road], seg_sensor_line)
    ff = np.asarray(free_flow if free_flow is not None else np.full(len(ids), np.nan), np.float32)
    text = description or f"{len(ids)} sensors, {int(ok.sum())} snapped to main roads"
    if placement is not None:
        text += f"; {placement.describe()}"
    # where the sensor sits: the closest centre-line vertex of its road
    snapped = xyz.copy()
    vertex = cKDTree(roads.lines.coords[:, :2]).query(xyz[:, :2])[1]
    snapped[ok] = roads.lines.coords[vertex[ok]]
    return TrafficLayer(
        name=name,
        store=store,
        roads=roads,
        segment_sensor=segment_sensor,
        sensor_xyz=snapped,
        free_flow=ff,
        description=text,
    )


def build_air_layer(
    store: Any,
    stations: pd.DataFrame,
    frame: LocalFrame,
    placement: Placement | None = None,
    grid_bounds: tuple[float, float, float, float] | None = None,
    cell_m: float = 20.0,
    pollutants: tuple[str, ...] = ("PM2.5", "PM10", "NO2", "O3", "SO2", "CO"),
    name: str = "Air quality",
    description: str = "",
) -> AirQualityLayer:
    """Stations with series named ``<station>/<pollutant>`` and an IDW surface over them.

    Parameters
    ----------
    store
        One column per ``<station>/<pollutant>``.
    stations
        ``station``, ``lon``, ``lat`` per station.
    frame, placement
        Where the stations go (see :func:`build_traffic_layer`).
    grid_bounds
        ``(x0, x1, y0, y1)`` of the surface (default: the stations with 200 m around).
    cell_m
        Surface cell size, metres.
    pollutants, name, description
        Pollutants to read, and the panel texts.

    Returns
    -------
    AirQualityLayer
        The layer, not yet brought to any time.
    """
    from twin_app.geometry.interpolate import IDWGrid

    ids = [str(s) for s in store.sensor_ids]
    col = {sid: i for i, sid in enumerate(ids)}
    names = stations["station"].astype(str).to_numpy()
    xyz = to_local(frame, stations["lon"].to_numpy(), stations["lat"].to_numpy(), placement)
    columns = np.array([[col.get(f"{s}/{p}", -1) for p in pollutants] for s in names], np.int64)
    if grid_bounds is None:
        pad = 200.0
        grid_bounds = (
            float(xyz[:, 0].min() - pad),
            float(xyz[:, 0].max() + pad),
            float(xyz[:, 1].min() - pad),
            float(xyz[:, 1].max() + pad),
        )
    x0, x1, y0, y1 = grid_bounds
    gx = np.arange(x0 + cell_m / 2, x1, cell_m)
    gy = np.arange(y0 + cell_m / 2, y1, cell_m)
    idw = IDWGrid(xyz[:, :2], gx, gy)
    text = description or f"{len(names)} stations"
    if placement is not None:
        text += f"; {placement.describe()}"
    return AirQualityLayer(
        name=name,
        store=store,
        station_ids=names.astype(object),
        station_xyz=xyz,
        pollutants=pollutants,
        columns=columns,
        interpolator=idw,
        grid_bounds=(x0, x1, y0, y1),
        grid=np.full((gy.size, gx.size), np.nan, np.float32),
        description=text,
    )


def build_mover_layer(
    movers: pd.DataFrame,
    frame: LocalFrame,
    placement: Placement | None = None,
    altitude_m: dict[str, float] | None = None,
    name: str = "Vehicles",
    description: str = "",
    source: str = "",
) -> tuple[MoverLayer, Any]:
    """Tracks from a long mover table (``sensor_id``, ``t``, ``lon``, ``lat``[, ``z``]).

    Returns
    -------
    tuple
        The layer and the tracks' load report (warnings, counts).
    """
    from twin_app.feeds.tracks import MoverTracks

    xyz = to_local(frame, movers["lon"].to_numpy(), movers["lat"].to_numpy(), placement)
    if "z" in movers:
        xyz[:, 2] = np.nan_to_num(movers["z"].to_numpy(np.float64))
    tracks, report = MoverTracks.from_long(
        movers["sensor_id"].astype(str).to_numpy(),
        movers["t"],
        xyz[:, 0],
        xyz[:, 1],
        xyz[:, 2],
        source=source,
    )
    ids = np.asarray(tracks.mover_ids, dtype=object)
    alt = np.array([float((altitude_m or {}).get(str(i), 0.0)) for i in ids])
    text = description or f"{len(ids)} movers"
    if placement is not None:
        text += f"; {placement.describe()}"
    layer = MoverLayer(name=name, tracks=tracks, mover_ids=ids, altitude_m=alt, description=text)
    return layer, report


def build_pipe_layer(
    inp_path: Path,
    frame: LocalFrame,
    fit_bounds: tuple[float, float, float, float] | None,
    t0_ns: int,
    depth_m: float = 1.5,
    exaggeration: float = 8.0,
    name: str = "Water network",
    description: str = "",
) -> PipeLayer:
    """Read an EPANET network, lay it under the district, wrap 24 h of its hydraulics.

    The hydraulics run in :func:`twin_app.engines.water.simulate` (EPANET 2.2), which returns
    the result tables this layer only wraps. Tubes are drawn `exaggeration` times their real
    diameter so they can be seen at district scale; the table keeps the real diameters.
    """
    from twin_app.engines.water import simulate
    from twin_app.io.epanet import network_glyphs, pipes_feature_set, read_inp

    network = read_inp(inp_path)
    where = fit_bounds if fit_bounds is not None else frame
    fs = pipes_feature_set(network, where, depth_m=depth_m, exaggeration=exaggeration)
    result = simulate(inp_path, start=pd.Timestamp(t0_ns, tz="UTC"))
    glyphs = network_glyphs(network, where, depth_m=depth_m)
    glyphs = glyphs[glyphs["type"].isin(["pump", "valve", "tank", "reservoir"])]
    return PipeLayer(
        name=name,
        features=fs,
        result=result,
        link_nodes=np.asarray(network.link_nodes, np.int64),
        t0_ns=int(t0_ns),
        glyph_xyz=glyphs[["x", "y", "z"]].to_numpy(np.float64),
        glyph_kind=glyphs["type"].astype(str).to_numpy(object),
        description=description or f"{fs.n_features} links",
    )


# -- builders by series kind ----------------------------------------------------------------
def traffic_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
    """``kind = "traffic"``: speeds per detector, snapped to the twin's main roads."""
    from twin_app.io.sensor_positions import read_sensor_positions

    roads = ctx.roads
    if roads is None:
        raise InputError(f"{series.path}: a traffic series needs roads in the twin")
    store = _read_store(series, ctx)
    sensors = read_sensor_positions(ctx.folder / _needs_sensors(series), "sensor_id")
    free_flow = (
        sensors.set_index("sensor_id")
        .reindex([str(i) for i in store.sensor_ids])["free_flow_mph"]
        .to_numpy()
        if "free_flow_mph" in sensors
        else None
    )
    return build_traffic_layer(
        store,
        sensors,
        roads,
        ctx.frame,
        ctx.placement_for(series, sensors["lon"], sensors["lat"]),
        free_flow=free_flow,
        name=series.name,
        description=ctx.describe(series),
    )


def air_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
    """``kind = "air"``: pollutant concentrations per station and a surface over them."""
    from twin_app.io.sensor_positions import read_sensor_positions

    store = _read_store(series, ctx)
    stations = read_sensor_positions(ctx.folder / _needs_sensors(series), "station")
    placement = ctx.placement_for(series, stations["lon"], stations["lat"])
    grid: tuple[float, float, float, float] | None = None  # no buildings: around the stations
    if any(s.kind == "buildings" and s.n_features for s in ctx.sets):
        x0, y0, x1, y1 = ctx.district
        pad = AIR_GRID_PAD_M
        grid = (x0 - pad, x1 + pad, y0 - pad, y1 + pad)
    return build_air_layer(
        store,
        stations,
        ctx.frame,
        placement,
        grid_bounds=grid,
        name=series.name,
        description=ctx.describe(series),
    )


def mover_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
    """``kind = "movers"``: GPS fixes of vehicles (``sensor_id``, ``t``, ``lon``, ``lat``)."""
    from twin_app.feeds.longformat import read_long

    df = read_long(ctx.folder / series.path)
    layer, report = build_mover_layer(
        df.assign(t=_shifted(df, ctx.shift_ns(series))),
        ctx.frame,
        ctx.placement_for(series, df["lon"], df["lat"]),
        name=series.name,
        description=ctx.describe(series),
        source=str(ctx.folder / series.path),
    )
    ctx.warnings.extend(report.warnings)
    return layer


def pipe_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
    """``kind = "pipes"``: an EPANET network under the district with 24 h of hydraulics."""
    return build_pipe_layer(
        ctx.folder / series.path,
        ctx.frame,
        ctx.district if series.placement == "fit" else None,
        ctx.start_ns,
        name=series.name,
        description=ctx.describe(series),
    )


#: Series kind -> builder. A new kind is one function above and one entry here.
BUILDERS: dict[str, SeriesBuilder] = {
    "traffic": traffic_series,
    "air": air_series,
    "movers": mover_series,
    "pipes": pipe_series,
}


def builder_for(kind: str) -> SeriesBuilder:
    """The builder of a series kind.

    Raises
    ------
    InputError
        No builder knows that kind (the message lists those that exist).
    """
    try:
        return BUILDERS[kind]
    except KeyError:
        raise InputError(
            f"unknown series kind {kind!r}; known kinds: {', '.join(sorted(BUILDERS))}"
        ) from None


def build_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
    """Build one series' layer with the builder of its kind.

    Whatever the series file holds, the caller gets the layer or a one-line
    :class:`TwinError` naming the file's full path, never another exception.
    """
    import warnings

    from twin_app.io.registry import library_warnings

    builder = builder_for(series.kind)
    path = ctx.folder / series.path
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = builder(series, ctx)
        ctx.warnings.extend(f"{path}: {w}" for w in library_warnings(caught))
        return layer
    except TwinError as err:
        if str(path) in str(err) or str(Path(series.path)) not in str(err):
            raise
        raise type(err)(str(err).replace(str(series.path), str(path), 1)) from err
    except Exception as exc:
        raise InputError(
            f"{path}: cannot build the {series.kind} series ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]})"
        ) from exc
