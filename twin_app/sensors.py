"""Build the time-driven layers (traffic, air quality, pipes, movers) from data and a twin.

This is the glue between readers/feeds/engines and the layer models: it converts positions
into the twin's local frame, snaps traffic sensors to roads, precomputes interpolation weights,
runs the hydraulic engine, and says where the data really comes from.

When a series was measured in another city than the geometry (the sample twin replays Los
Angeles traffic on London streets), a :class:`Placement` lays its positions onto the district
with one uniform scale and a translation, and every layer's ``description`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import InputError
from twin_app.geometry.network import line_adjacency, nearest_lines, nearest_source
from twin_app.model.city import FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer

#: OSM classes treated as main roads (traffic sensors snap to these).
MAIN_ROADS = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link",
)  # fmt: skip

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True)
class Placement:
    """Lay lon/lat positions measured elsewhere onto this twin: one uniform scale + translation.

    The source positions are first put in local tangent-plane metres around their centre
    (x = dlon * cos(lat0) * 111,320 m, y = dlat * 110,540 m), then scaled uniformly so their
    bounding box fits `dst_bounds` (local metres) with a margin, and centred there. Shapes are
    kept; distances are not real.

    Attributes
    ----------
    src_lonlat_bounds
        (lon_min, lat_min, lon_max, lat_max) of the source data.
    dst_bounds
        (xmin, ymin, xmax, ymax) of the target area in the twin's local frame.
    margin
        Fraction of the target box left free on each side.
    """

    src_lonlat_bounds: tuple[float, float, float, float]
    dst_bounds: tuple[float, float, float, float]
    margin: float = 0.08

    @property
    def _src_centre(self) -> tuple[float, float]:
        lon0, lat0, lon1, lat1 = self.src_lonlat_bounds
        return (lon0 + lon1) / 2, (lat0 + lat1) / 2

    def _tangent(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        clon, clat = self._src_centre
        x = (np.asarray(lon, np.float64) - clon) * np.cos(np.radians(clat)) * M_PER_DEG_LON_EQ
        y = (np.asarray(lat, np.float64) - clat) * M_PER_DEG_LAT
        return x, y

    @property
    def scale(self) -> float:
        """Local metres per source metre."""
        lon0, lat0, lon1, lat1 = self.src_lonlat_bounds
        x, y = self._tangent(np.array([lon0, lon1]), np.array([lat0, lat1]))
        sw, sh = max(float(x[1] - x[0]), 1e-9), max(float(y[1] - y[0]), 1e-9)
        dx0, dy0, dx1, dy1 = self.dst_bounds
        f = 1.0 - 2.0 * self.margin
        return min((dx1 - dx0) * f / sw, (dy1 - dy0) * f / sh)

    def apply(self, lon: Any, lat: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
        """(n, 3) local metres (z = 0) of source lon/lat."""
        x, y = self._tangent(lon, lat)
        dx0, dy0, dx1, dy1 = self.dst_bounds
        s = self.scale
        out = np.zeros((np.size(x), 3))
        out[:, 0] = (dx0 + dx1) / 2 + np.ravel(x) * s
        out[:, 1] = (dy0 + dy1) / 2 + np.ravel(y) * s
        return out

    def describe(self) -> str:
        """One line for the UI: what was done to the positions."""
        return f"positions scaled by {self.scale:.4g} and moved into this district; distances are not real"


def to_local(
    frame: LocalFrame, lon: Any, lat: Any, placement: Placement | None
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Positions in the twin's frame: true positions, or laid on with a placement."""
    if placement is not None:
        return placement.apply(lon, lat)
    return frame.lonlat_to_local(np.asarray(lon, np.float64), np.asarray(lat, np.float64))


def district_bounds(
    sets: list[FeatureSet], kind: str = "buildings"
) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of the 5th-95th percentile box of a kind of features."""
    pts = [s.feature_centroids() for s in sets if s.kind == kind and s.n_features]
    if not pts:
        raise InputError(f"no {kind} loaded to place the data on")
    c = np.concatenate(pts)
    c = c[np.isfinite(c[:, 0])]
    lo = np.percentile(c[:, :2], 5, axis=0)
    hi = np.percentile(c[:, :2], 95, axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


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
    inherit_hops
        Main roads up to this many junctions from a sensor road take its value; others stay
        grey (0 = only roads with their own sensor).
    max_snap_m
        Sensors farther than this from every main road are left unmapped (counted).
    """
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
    snapped = xyz.copy()
    if roads.lines is not None:
        # where the sensor sits: the closest centre-line vertex of its road
        from scipy.spatial import cKDTree

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
    """Stations with series named ``<station>/<pollutant>`` and an IDW surface over them."""
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
) -> tuple[MoverLayer, Any]:
    """Tracks from a long mover table (``sensor_id``, ``t``, ``lon``, ``lat``[, ``z``])."""
    from twin_app.feeds.tracks import MoverTracks

    xyz = to_local(frame, movers["lon"].to_numpy(), movers["lat"].to_numpy(), placement)
    if "z" in movers:
        xyz[:, 2] = np.nan_to_num(movers["z"].to_numpy(np.float64))
    tracks, report = MoverTracks.from_long(
        movers["sensor_id"].astype(str).to_numpy(), movers["t"], xyz[:, 0], xyz[:, 1], xyz[:, 2]
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
    """Read an EPANET network, lay it under the district, run 24 h of hydraulics (EPANET).

    Tubes are drawn `exaggeration` times their real diameter so they can be seen at district
    scale; the table keeps the real diameters.
    """
    from twin_app.engines.water import simulate
    from twin_app.io.epanet import network_glyphs, pipes_feature_set, read_inp

    network = read_inp(inp_path)
    where = fit_bounds if fit_bounds is not None else frame
    fs = pipes_feature_set(network, where, depth_m=depth_m, exaggeration=exaggeration)
    result = simulate(inp_path, start=pd.Timestamp(t0_ns, tz="UTC"))
    link_nodes = np.asarray(network.link_nodes, np.int64)
    glyphs = network_glyphs(network, where, depth_m=depth_m)
    glyphs = glyphs[glyphs["type"].isin(["pump", "valve", "tank", "reservoir"])]
    text = description or f"{fs.n_features} links"
    return PipeLayer(
        name=name,
        features=fs,
        result=result,
        link_nodes=link_nodes,
        t0_ns=int(t0_ns),
        glyph_xyz=glyphs[["x", "y", "z"]].to_numpy(np.float64),
        glyph_kind=glyphs["type"].astype(str).to_numpy(object),
        description=text,
    )


@dataclass
class SeriesLoad:
    """What loading a twin's series produced."""

    layers: list[Any]
    rules: list[tuple[int, Any]]  # (index into layers, SeriesAlert)
    warnings: list[str]
    timezone: str
    replay_start_ns: int
    manifest: Any = None


def _ns(text: str) -> int:
    return (
        int(pd.Timestamp(text).tz_convert("UTC").value)
        if pd.Timestamp(text).tzinfo
        else int(pd.Timestamp(text, tz="UTC").value)
    )


def _shifted(df: pd.DataFrame, shift_ns: int) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """The table's times moved by `shift_ns`, as UTC datetime64[ns] (pandas may hold µs)."""
    t = pd.to_datetime(df["t"], utc=True).dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    out: np.ndarray[Any, np.dtype[np.datetime64]] = (t.view(np.int64) + int(shift_ns)).view(
        "datetime64[ns]"
    )
    return out


def _describe(series: Any, replay_start_ns: int, shift_ns: int) -> str:
    if not series.source_start:
        return str(series.measured_in)
    shown = pd.Timestamp(replay_start_ns, tz="UTC").strftime("%d %b %Y")
    orig = pd.Timestamp(replay_start_ns - shift_ns, tz="UTC").strftime("%d %b %Y")
    return (
        f"{series.measured_in}; replayed on this twin's clock from {shown} (recorded from {orig})"
    )


def load_manifest_series(manifest: Any, sets: list[FeatureSet], frame: LocalFrame) -> SeriesLoad:
    """Build the time-driven layers a manifest lists, on a loaded twin (run off the GUI thread).

    Each series keeps its original timestamps in its file; it is shifted so that its
    ``source_start`` shows at the twin's ``replay_start``. Series measured elsewhere
    (``placement = "fit"``) are laid onto the district with a :class:`Placement`.
    """
    from twin_app.feeds.longformat import read_long
    from twin_app.feeds.store import SensorStore

    folder = Path(manifest.folder)
    start_ns = _ns(manifest.replay_start) if manifest.replay_start else 0
    dst = district_bounds(sets)
    roads = next((s for s in sets if s.kind == "roads"), None)
    layers: list[Any] = []
    rules: list[tuple[int, Any]] = []
    warnings: list[str] = []
    for series in manifest.series:
        path = folder / series.path
        shift = start_ns - _ns(series.source_start) if series.source_start and start_ns else 0
        text = _describe(series, start_ns, shift)
        layer: Any
        if series.kind == "pipes":
            layer = build_pipe_layer(
                path,
                frame,
                dst if series.placement == "fit" else None,
                start_ns,
                name=series.name,
                description=text,
            )
        else:
            df = read_long(path)
            t = _shifted(df, shift)
            if series.kind == "movers":
                placement = (
                    _placement_for(df["lon"], df["lat"], dst) if series.placement == "fit" else None
                )
                layer, report = build_mover_layer(
                    df.assign(t=t), frame, placement, name=series.name, description=text
                )
            else:
                store, report = SensorStore.from_long(
                    df["sensor_id"].astype(str).to_numpy(),
                    t,
                    df["value"].to_numpy(),
                    source=series.path,
                )
                sensors = pd.read_csv(folder / series.sensors, dtype={"sensor_id": str})
                placement = (
                    _placement_for(sensors["lon"], sensors["lat"], dst)
                    if series.placement == "fit"
                    else None
                )
                if series.kind == "traffic":
                    if roads is None:
                        raise InputError(f"{series.path}: a traffic series needs roads in the twin")
                    ff = (
                        sensors.set_index("sensor_id")
                        .reindex([str(i) for i in store.sensor_ids])["free_flow_mph"]
                        .to_numpy()
                    )
                    layer = build_traffic_layer(
                        store,
                        sensors,
                        roads,
                        frame,
                        placement,
                        free_flow=ff,
                        name=series.name,
                        description=text,
                    )
                else:
                    layer = build_air_layer(
                        store,
                        sensors,
                        frame,
                        placement,
                        grid_bounds=(dst[0] - 150, dst[2] + 150, dst[1] - 150, dst[3] + 150),
                        name=series.name,
                        description=text,
                    )
            warnings.extend(report.warnings)
        for alert in series.alerts:
            rules.append((len(layers), alert))
        layers.append(layer)
    return SeriesLoad(layers, rules, warnings, manifest.timezone, start_ns)


def _placement_for(lon: Any, lat: Any, dst: tuple[float, float, float, float]) -> Placement:
    lo = np.asarray(lon, np.float64)
    la = np.asarray(lat, np.float64)
    ok = np.isfinite(lo) & np.isfinite(la)
    return Placement(
        (float(lo[ok].min()), float(la[ok].min()), float(lo[ok].max()), float(la[ok].max())), dst
    )
