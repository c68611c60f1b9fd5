"""Sensor layers: traffic, air quality, pipelines and movers, all driven by one clock.

Each layer turns the clock time into per-element arrays with whole-array numpy operations (no
loop over sensors): ``update(t_ns)`` sets ``values`` (and friends), which emits an event the
render adapter answers by writing into its existing VTK arrays.

The data sources are injected through small protocols (a store, tracks, an interpolator, a
simulation result), so this module stays free of file formats, engines and rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from psygnal import SignalGroup, evented

from twin_app.model.layers import COLOR_SOLID, TimeLayer
from twin_app.model.style import CONGESTION, ClassScale

if TYPE_CHECKING:
    from twin_app.model.city import FeatureSet

F32 = np.ndarray[Any, np.dtype[np.float32]]
F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]


class ValueStore(Protocol):
    """What a sensor layer needs from a time-series store (see ``twin_app.feeds.store``)."""

    @property
    def sensor_ids(self) -> Any:
        """Id of every store column (sensor), in column order."""
        ...

    def values_at(self, t_ns: int, mode: str = "last", max_staleness_s: float | None = None) -> Any:
        """Value of every sensor at a time (NaN = no data)."""
        ...

    def time_range(self) -> tuple[int, int] | None:
        """First and last sample time, UTC ns (None when empty)."""
        ...


@runtime_checkable
class LiveValueStore(ValueStore, Protocol):
    """A store that live samples can be appended to (see ``twin_app.feeds.store``)."""

    def index_of(self, ids: Any) -> Any:
        """Store column of every id (-1 for ids the store does not know)."""
        ...

    def append(self, sensor_id: Any, t: Any, value: Any) -> Any:
        """Append samples (ids, datetime64[ns] times, values)."""
        ...


class TrackStore(Protocol):
    """What a mover layer needs from its tracks (see ``twin_app.feeds.tracks``)."""

    def positions_at(self, t_ns: int, max_gap_s: float | None = None) -> tuple[Any, Any, Any]:
        """(xyz, heading_rad, valid) of every mover at a time."""
        ...

    def trail(self, t_ns: int, length_s: float, n_points: int) -> Any:
        """Positions at evenly spaced times back from t: (n_movers, n_points, 3)."""
        ...

    def time_range(self) -> tuple[int, int] | None:
        """First and last fix time, UTC ns (None when empty)."""
        ...


class GridInterpolator(Protocol):
    """Station values -> grid (see ``twin_app.geometry.interpolate.IDWGrid``)."""

    def interpolate(self, values: Any) -> Any:
        """(ny, nx) grid of interpolated values (NaN outside the search radius)."""
        ...


@evented
@dataclass(eq=False)
class SensorLayer(TimeLayer):
    """Base of layers whose values come from a store at the clock's time.

    Attributes
    ----------
    store
        The samples (sensor x time).
    values
        Current value per drawn element (float32; NaN = no data), set by :meth:`update`.
    interpolation
        ``"last"`` (last known value) or ``"linear"`` (between samples).
    max_staleness_s
        Older samples count as "no data".
    unit
        Unit of `values`, for legends and the inspector.
    """

    store: ValueStore | None = None
    values: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    interpolation: str = "linear"
    max_staleness_s: float | None = 1800.0
    unit: str = ""

    kind: ClassVar[str] = "sensors"
    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def sensor_values(self, t_ns: int) -> F32:
        """Raw store values at `t_ns` (one per store sensor)."""
        if self.store is None:
            return np.zeros(0, np.float32)
        return np.asarray(
            self.store.values_at(t_ns, self.interpolation, self.max_staleness_s), np.float32
        )

    def update(self, t_ns: int) -> None:
        """Compute `values` for a time (subclasses map sensors to drawn elements)."""
        self.values = self.sensor_values(t_ns)
        self.time_ns = int(t_ns)

    def time_range(self) -> tuple[int, int] | None:
        """Range of the layer's data, if any."""
        return self.store.time_range() if self.store is not None else None

    def kpi_at(self, t_ns: int) -> float:
        """The headline KPI at a time, computed without touching the layer's state."""
        v = self.sensor_values(t_ns)
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")


@evented
@dataclass(eq=False)
class TrafficLayer(SensorLayer):
    """Road segments coloured by speed, speed ratio or congestion class.

    Attributes
    ----------
    roads
        The road FeatureSet whose ribbons are drawn (one value per road row).
    sensor_xyz
        (n_sensors, 3) where each sensor sits in the twin (snapped to its road).
    sensor_ratio
        Speed / free flow per sensor at the current time (alert rules test this per sensor).
    segment_sensor
        (n_roads,) store column feeding each road: its own sensor, else (if `inherit`) the
        nearest sensor along the network within `max_hops`, else -1 (grey).
    free_flow
        (n_sensors,) free-flow speed of each sensor, same unit as the store.
    show
        ``"ratio"`` (speed / free flow, coloured by congestion class) or ``"speed"``.
    """

    roads: FeatureSet | None = None
    segment_sensor: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    sensor_xyz: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    sensor_ratio: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    free_flow: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    show: str = "ratio"
    unit: str = "mph"

    kind: ClassVar[str] = "traffic"
    kpi_name: ClassVar[str] = "mean speed / free flow"

    def kpi_at(self, t_ns: int) -> float:
        """Mean ratio of speed to free-flow speed over the sensors reporting at `t_ns`."""
        v = self.sensor_values(t_ns)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = v / np.where(self.free_flow > 0, self.free_flow, np.nan)
        r = r[np.isfinite(r)]
        return float(r.mean()) if r.size else float("nan")

    def update(self, t_ns: int) -> None:
        raw = self.sensor_values(t_ns)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (raw / np.where(self.free_flow > 0, self.free_flow, np.nan)).astype(np.float32)
        self.sensor_ratio = ratio
        v = ratio if self.show == "ratio" else raw
        seg = self.segment_sensor
        out = np.full(seg.shape[0], np.nan, np.float32)
        has = seg >= 0
        out[has] = v[seg[has]]
        self.values = out
        self.time_ns = int(t_ns)

    def element_ids(self, field: str = "values") -> Any:
        """Road ids for `values`; sensor ids for `sensor_ratio` (alerts, inspector)."""
        if field == "sensor_ratio":
            ids = self.store.sensor_ids if self.store is not None else []
            return np.asarray(ids, dtype=object)
        return self.roads.ids if self.roads is not None else np.zeros(0, object)

    def element_position(self, i: int, field: str = "values") -> F64:
        """Centre of road `i` (or the snapped position of sensor `i` for `sensor_ratio`)."""
        if field == "sensor_ratio":
            return np.asarray(self.sensor_xyz[i], np.float64)
        assert self.roads is not None
        return np.asarray(self.roads.feature_centroids()[i], np.float64)

    def class_scale(self) -> ClassScale | None:
        """:data:`twin_app.model.style.CONGESTION` when showing speed ratios, else None (speeds
        are drawn through a colour map)."""
        return CONGESTION if self.show == "ratio" else None

    def congestion_class(self) -> np.ndarray[Any, np.dtype[np.int8]]:
        """Class per road: 0 severe .. 3 free flow, -1 no data (ratio mode; the classes of
        :data:`twin_app.model.style.CONGESTION`)."""
        return CONGESTION.classify(self.values)

    def mean_speed_ratio(self) -> float:
        """Network KPI: mean value over roads with data (NaN if none)."""
        v = self.values[np.isfinite(self.values)]
        return float(v.mean()) if v.size else float("nan")


@evented
@dataclass(eq=False)
class AirQualityLayer(SensorLayer):
    """Stations coloured by AQI category and an interpolated ground surface.

    Attributes
    ----------
    station_ids
        Station names.
    station_xyz
        (n_stations, 3) local positions.
    pollutants
        Pollutants available (``"PM2.5"``, ``"PM10"``, ``"NO2"``, ``"O3"``, ``"SO2"``, ``"CO"``).
    columns
        (n_stations, n_pollutants) store column of each station's series (-1 if missing).
    pollutant
        The selected pollutant.
    standard
        ``"us_epa"`` or ``"china_hj633"``.
    aqi_values
        AQI (sub-index of the selected pollutant) per station.
    grid
        Interpolated AQI on the surface grid (ny, nx), NaN outside the stations' reach.
    interpolator
        Station -> grid weights, built once for the fixed station positions.
    grid_bounds
        (xmin, xmax, ymin, ymax) of the surface in local metres.
    show_surface
        Draw the interpolated surface.
    """

    station_ids: np.ndarray[Any, np.dtype[np.object_]] = field(
        default_factory=lambda: np.zeros(0, object)
    )
    station_xyz: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    pollutants: tuple[str, ...] = ()
    columns: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    pollutant: str = "PM2.5"
    standard: str = "us_epa"
    aqi_values: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    grid: F32 = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    interpolator: GridInterpolator | None = None
    grid_bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    show_surface: bool = True
    unit: str = "ug/m3"
    max_staleness_s: float | None = 3 * 3600.0

    kind: ClassVar[str] = "air"
    kpi_name: ClassVar[str] = "worst AQI"

    def concentrations(self, t_ns: int) -> F32:
        """Concentration of the selected pollutant at every station at a time (no state change)."""
        raw = self.sensor_values(t_ns)
        j = self.pollutants.index(self.pollutant) if self.pollutant in self.pollutants else -1
        cols = (
            self.columns[:, j]
            if j >= 0 and self.columns.size
            else np.full(len(self.station_ids), -1)
        )
        conc = np.full(cols.shape[0], np.nan, np.float32)
        has = cols >= 0
        conc[has] = raw[cols[has]]
        return conc

    def station_aqi(self, t_ns: int, conc: F32 | None = None) -> F32:
        """AQI of the selected pollutant at every station (no state change).

        Feeds such as the Beijing data report gases in µg/m³; :func:`twin_app.model.aqi.aqi`
        converts to the standard's unit (ppb/ppm for the EPA gases) at 25 °C and 1 atm.
        Concentrations above the top of the table ("beyond the AQI": PM2.5 above 325.4 µg/m³
        since the 2024 EPA revision, reached on most hours of the sample twin's smog episode)
        report 500, the top of the Hazardous category, as AirNow shows "500+": a station that
        measures must never look like one without data (issue 10).
        """
        from twin_app.model.aqi import aqi

        c = self.concentrations(t_ns) if conc is None else conc
        return np.asarray(
            aqi(self.pollutant, c, standard=self.standard, unit=self.unit, beyond="clip"),
            np.float32,
        )

    def class_scale(self) -> ClassScale:
        """The AQI categories of the selected standard (:func:`twin_app.model.aqi.category_scale`)."""
        from twin_app.model.aqi import category_scale

        return category_scale(self.standard)

    def class_legend(self) -> list[tuple[str, str]]:
        """The categories lowest first, as "AQI Good" ... (stations without data are hidden)."""
        return self.class_scale().legend(top_first=False, no_data=False, prefix="AQI ")

    def kpi_at(self, t_ns: int) -> float:
        """Worst station AQI of the selected pollutant at `t_ns`."""
        v = self.station_aqi(t_ns)
        v = v[np.isfinite(v)]
        return float(v.max()) if v.size else float("nan")

    def update(self, t_ns: int) -> None:
        conc = self.concentrations(t_ns)
        index = self.station_aqi(t_ns, conc)
        if self.interpolator is not None and self.show_surface:
            # AQI is a whole number: between samples it often holds at every station, and the
            # grid (the tick's biggest cost, one sparse product per cell) is the same again.
            last = self.__dict__.get("_grid_of")
            if (
                last is None
                or last[0] is not self.grid
                or last[1] is not self.interpolator
                or not np.array_equal(last[2], index, equal_nan=True)
            ):
                self.grid = np.asarray(self.interpolator.interpolate(index), np.float32)
                self.__dict__["_grid_of"] = (self.grid, self.interpolator, index)
        self.values = conc
        self.time_ns = int(t_ns)
        self.aqi_values = index  # last: the adapter redraws stations and surface on this event

    def element_ids(self, field: str = "values") -> Any:
        """Station names."""
        return self.station_ids

    def element_position(self, i: int, field: str = "values") -> F64:
        """Station position."""
        return np.asarray(self.station_xyz[i], np.float64)

    def worst_aqi(self) -> float:
        """KPI: highest AQI over the stations (NaN if none reports)."""
        v = self.aqi_values[np.isfinite(self.aqi_values)]
        return float(v.max()) if v.size else float("nan")


class PipeResult(Protocol):
    """What a pipe layer needs from a hydraulic result (see ``twin_app.engines.water``)."""

    @property
    def times_ns(self) -> Any:
        """Step times, UTC ns."""
        ...

    @property
    def pressure_m(self) -> Any:
        """(steps, nodes) pressure, metres of water."""
        ...

    @property
    def flow_m3s(self) -> Any:
        """(steps, links) flow, m³/s."""
        ...


@evented
@dataclass(eq=False)
class PipeLayer(TimeLayer):
    """Pipes as tubes below ground, coloured by pressure or flow over time, with alarms.

    Attributes
    ----------
    features
        The PIPES FeatureSet (tubes, one row per link).
    result
        Simulated (or replayed) node pressures and link flows over time.
    link_nodes
        (n_links, 2) start and end node index of each link.
    field_name
        ``"pressure_m"`` (mean of the link's end nodes) or ``"flow_m3s"`` (absolute).
    alarm_below_m
        Links whose end-node pressure is below this are in alarm.
    glyph_xyz, glyph_kind
        Positions and types (pump, valve, tank, reservoir) of the network's special elements.
    values
        Current value per link.
    alarm
        Current alarm flag per link.
    t0_ns
        Clock time of the result's first step (the result repeats daily if `repeat_s` > 0).
    """

    features: FeatureSet | None = None
    result: PipeResult | None = None
    link_nodes: I64 = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    field_name: str = "pressure_m"
    alarm_below_m: float = 20.0
    values: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    alarm: np.ndarray[Any, np.dtype[np.bool_]] = field(default_factory=lambda: np.zeros(0, bool))
    t0_ns: int = 0
    repeat_s: float = 86400.0
    glyph_xyz: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    glyph_kind: np.ndarray[Any, np.dtype[np.object_]] = field(
        default_factory=lambda: np.zeros(0, object)
    )
    color_by: str = "value"
    colormap: str = "viridis"

    kind: ClassVar[str] = "pipes"
    kpi_name: ClassVar[str] = "lowest pressure (m)"
    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def color_choices(self) -> list[str]:
        """By the current value (:attr:`field_name`), or one colour (:attr:`color`); links in
        alarm keep the alarm colour either way."""
        return ["value", COLOR_SOLID]

    def feature_set(self) -> FeatureSet | None:
        """The pipes (one feature per link)."""
        return self.features

    def kpi_at(self, t_ns: int) -> float:
        """Lowest junction pressure at `t_ns`, metres of water."""
        if self.result is None:
            return float("nan")
        p = np.asarray(self.result.pressure_m[self.step_index(t_ns)], np.float64)
        p = p[np.isfinite(p)]
        return float(p.min()) if p.size else float("nan")

    def element_ids(self, field: str = "values") -> Any:
        """Link ids."""
        return self.features.ids if self.features is not None else np.zeros(0, object)

    def element_position(self, i: int, field: str = "values") -> F64:
        """Centre of link `i`."""
        assert self.features is not None
        return np.asarray(self.features.feature_centroids()[i], np.float64)

    def time_range(self) -> tuple[int, int] | None:
        """The result's span starting at `t0_ns` (it repeats when `repeat_s` > 0)."""
        if self.result is None:
            return None
        times = np.asarray(self.result.times_ns, np.int64)
        return (self.t0_ns, self.t0_ns + int(times[-1] - times[0]))

    def step_index(self, t_ns: int) -> int:
        """Result step in force at clock time `t_ns` (steps hold until the next one)."""
        assert self.result is not None
        times = np.asarray(self.result.times_ns, np.int64)
        rel = int(t_ns) - self.t0_ns
        if self.repeat_s > 0:
            rel %= round(self.repeat_s * 1e9)
        return int(
            np.clip(np.searchsorted(times - times[0], rel, side="right") - 1, 0, times.size - 1)
        )

    def update(self, t_ns: int) -> None:
        """Values and alarms of every link at the clock time (one row of the result)."""
        if self.result is None:
            return
        k = self.step_index(t_ns)
        pressure = np.asarray(self.result.pressure_m[k], np.float32)
        p_link = (
            pressure[self.link_nodes].mean(axis=1)
            if self.link_nodes.size
            else np.zeros(0, np.float32)
        )
        if self.field_name == "flow_m3s":
            self.values = np.abs(np.asarray(self.result.flow_m3s[k], np.float32))
        else:
            self.values = p_link.astype(np.float32)
        low = pressure[self.link_nodes].min(axis=1) if self.link_nodes.size else np.zeros(0)
        self.alarm = np.asarray(low < self.alarm_below_m)
        self.time_ns = int(t_ns)


@evented
@dataclass(eq=False)
class MoverLayer(TimeLayer):
    """Robots, drones and vehicles as oriented glyphs with fading trails.

    Attributes
    ----------
    tracks
        Positions over time (local metres).
    mover_ids
        Id of each mover.
    altitude_m
        Extra height per mover (drones fly; vehicles 0).
    positions, headings, valid
        State at the clock time, set by :meth:`update`.
    trail_s, trail_points
        Length of the fading trail and its resolution.
    max_gap_s
        Fixes farther apart than this are not interpolated across (the mover is hidden).
    """

    tracks: TrackStore | None = None
    mover_ids: np.ndarray[Any, np.dtype[np.object_]] = field(
        default_factory=lambda: np.zeros(0, object)
    )
    altitude_m: F64 = field(default_factory=lambda: np.zeros(0))
    positions: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    headings: F64 = field(default_factory=lambda: np.zeros(0))
    valid: np.ndarray[Any, np.dtype[np.bool_]] = field(default_factory=lambda: np.zeros(0, bool))
    trail_s: float = 120.0
    trail_points: int = 8
    max_gap_s: float | None = 600.0
    color: str = "#0a4dff"
    glyph_size_m: float = 28.0

    kind: ClassVar[str] = "movers"

    def update(self, t_ns: int) -> None:
        """Positions, headings and trails at the clock time."""
        if self.tracks is None:
            return
        xyz, heading, valid = self.tracks.positions_at(t_ns, self.max_gap_s)
        xyz = np.array(xyz, np.float64)
        if self.altitude_m.size == xyz.shape[0]:
            xyz[:, 2] += self.altitude_m
        self._advance_trail(int(t_ns), xyz.shape[0])
        self.headings = np.asarray(heading, np.float64)
        self.valid = np.asarray(valid, bool)
        self.time_ns = int(t_ns)
        self.positions = xyz  # last: the adapter redraws glyphs and trails on this event

    @property
    def trail(self) -> F64:
        """(n_movers, trail_points, 3) trail points, oldest first, the newest being the current
        position; NaN where a mover was not valid at that time. Assembled on demand from
        :attr:`trail_ring` (the renderer reads the ring directly)."""
        ring = self.trail_ring
        n = self.positions.shape[0]
        if ring.data.shape[1] != n:
            return np.zeros((n, 0, 3))
        older = ring.data[ring.order]  # (k - 1, n, 3)
        return np.concatenate([older, self.positions[None]], axis=0).transpose(1, 0, 2).copy()

    @property
    def trail_ring(self) -> TrailRing:
        """The trail's older points as a ring of time slots (see :class:`TrailRing`)."""
        ring: TrailRing | None = self.__dict__.get("_ring")
        return ring if ring is not None else TrailRing.empty(0, max(int(self.trail_points), 2))

    def _advance_trail(self, t_ns: int, n: int) -> None:
        """Bring the ring of older trail points to the clock time.

        The older points sit on a fixed grid of times (multiples of trail_s / (points - 1)),
        and each grid time ("slot") lives in ring position ``slot % (points - 1)`` until it
        leaves the trail. A tick at normal playback samples the tracks at one new slot or
        none, and writes that one (n_movers, 3) column; nothing else is copied.
        """
        k = max(int(self.trail_points), 2)
        step = max(round(self.trail_s * 1e9 / (k - 1)), 1)
        ring = self.__dict__.get("_ring")
        if (
            not isinstance(ring, TrailRing)
            or ring.data.shape[:2] != (k - 1, n)
            or (ring.step_ns != step)
        ):
            ring = TrailRing.empty(n, k, step)
            self.__dict__["_ring"] = ring
        last_slot = t_ns // step
        slots = np.arange(last_slot - (k - 2), last_slot + 1, dtype=np.int64)
        pos = slots % (k - 1)
        need = ring.slots[pos] != slots
        ring.order = pos
        if not need.any() or self.tracks is None:
            return
        times = slots[need] * step
        sample = getattr(self.tracks, "sample", None)
        if callable(sample):
            got = np.asarray(sample(times, self.max_gap_s), np.float64)  # (n, q, 3)
        else:  # a store without batch sampling: one call per grid time
            got = np.stack(
                [np.asarray(self.tracks.positions_at(int(s), self.max_gap_s)[0]) for s in times],
                axis=1,
            )
        if self.altitude_m.size == n:
            got[..., 2] += self.altitude_m[:, None]
        cols = pos[need]
        ring.data[cols] = got.transpose(1, 0, 2)
        ring.ok[cols] = np.isfinite(ring.data[cols]).all(axis=2)
        ring.slots[cols] = slots[need]
        ring.version[cols] = ring.next_version + np.arange(cols.size)
        ring.next_version += cols.size

    def element_ids(self, field: str = "values") -> Any:
        """Mover ids."""
        return self.mover_ids

    def element_position(self, i: int, field: str = "values") -> F64:
        """Current position of mover `i`."""
        return np.asarray(self.positions[i], np.float64)

    def time_range(self) -> tuple[int, int] | None:
        """Range of the tracks."""
        return self.tracks.time_range() if self.tracks is not None else None


@dataclass(eq=False)
class TrailRing:
    """Older trail points of every mover, one column per time slot, reused as a ring.

    Attributes
    ----------
    data
        (k - 1, n_movers, 3) positions; column ``r`` holds slot ``slots[r]`` (time
        ``slots[r] * step_ns``), NaN where a mover was not valid then.
    ok
        (k - 1, n_movers) finite positions.
    slots
        Slot held by each column (a very negative number: none yet).
    order
        Columns from the oldest slot to the newest at the last update.
    version
        Increases each time a column is rewritten, so a renderer copies only changed columns.
    step_ns
        Time between slots.
    """

    data: F64
    ok: np.ndarray[Any, np.dtype[np.bool_]]
    slots: I64
    order: I64
    version: I64
    step_ns: int
    next_version: int = 1

    @classmethod
    def empty(cls, n: int, k: int, step_ns: int = 1) -> TrailRing:
        """A ring of k - 1 unfilled columns for n movers."""
        m = max(k - 1, 1)
        return cls(
            data=np.full((m, n, 3), np.nan),
            ok=np.zeros((m, n), bool),
            slots=np.full(m, np.iinfo(np.int64).min, np.int64),
            order=np.arange(m, dtype=np.int64),
            version=np.zeros(m, np.int64),
            step_ns=int(step_ns),
        )
