"""SensorThings observations and mover fixes as MQTT messages: parsing, topics, the mapping file.

Pure parsing, no network: :func:`parse_observation` turns one message (topic + payload) into a
:class:`Sample` or counts why it cannot (:class:`FeedStats`, :data:`REASONS`). The live client
(:mod:`twin_app.feeds.mqtt`), the recorder (:mod:`twin_app.feeds.recorder`) and the publisher
(:mod:`twin_app.feeds.publish`) all speak through it.

Topics and payloads
-------------------
Observations follow the MQTT extension of OGC SensorThings API 1.1::

    topic    v1.1/Datastreams(<id>)/Observations          (any prefix before "Datastreams")
    payload  {"phenomenonTime": "2024-05-01T12:00:00.123456789Z", "result": 412.0,
              "resultQuality": 0.9}                        (resultQuality optional)

``<id>`` is either a bare integer, ``Datastreams(17)``, or a quoted string,
``Datastreams('A12-north')`` with ``''`` for a quote inside it. When ``phenomenonTime`` is
missing or null, ``resultTime`` is used. A SensorThings interval (``"start/end"``) gives its
start. ``result`` must be a JSON number (not a string, not a boolean) and finite.
``resultQuality`` becomes the long format's float ``quality`` (higher is better) when it is a
number or numeric text; other forms (a DQ_Element object, free text) are ignored.

Movers (vehicles, buses, drones) use a topic of our own::

    topic    twin/movers/<id>
    payload  {"id": "bus-42", "t": "2024-05-01T12:00:00Z", "lon": 4.895, "lat": 52.370,
              "z": 12.5, "value": 31.0, "quality": 0.8}    (z, value, quality optional)

``lon``/``lat`` are WGS 84 degrees, ``z`` metres above ground. When ``id`` is missing the last
topic level is used. Times are ISO 8601 with ``Z`` or a UTC offset and up to nine fractional
digits, parsed exactly to the nanosecond by :func:`twin_app.model.times.parse_iso_ns`; a time
without an offset is rejected (``bad_time``): its zone is unknown, as in the long-format files
(:mod:`twin_app.feeds.longformat`).

Mapping file
------------
A TOML file ties datastream ids to the sensor ids of the twin's layers::

    schema_version = 1            # optional

    [[datastreams]]
    id = "17"                     # SensorThings datastream id (string or integer)
    sensor_id = "773869"          # the sensor's id in the layer
    layer = "traffic"             # optional: the layer the sensor belongs to

Without a mapping the datastream id is the sensor id. With one, observations of datastreams it
does not list are counted (reason ``unknown_datastream``) and dropped, never fatal.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin_app.errors import FeedError
from twin_app.model.times import parse_iso_ns

log = logging.getLogger(__name__)

#: Topics a live feed subscribes to unless told otherwise.
DEFAULT_TOPICS: tuple[str, ...] = ("v1.1/#", "twin/movers/#")
#: Default SensorThings topic prefix (the API version).
DEFAULT_PREFIX = "v1.1"
#: Default prefix of mover topics.
MOVER_PREFIX = "twin/movers"

#: Why a message was dropped (the keys of :attr:`FeedStats.rejected`).
REASONS: tuple[str, ...] = (
    "bad_topic",  # neither a SensorThings Observations topic nor a mover topic
    "bad_json",  # not UTF-8 or not JSON
    "not_object",  # JSON, but not an object
    "unknown_datastream",  # a mapping is in use and does not list the datastream
    "missing_time",  # no phenomenonTime / resultTime (observations) or t (movers)
    "bad_time",  # a time that is not ISO 8601 or out of the int64 ns range
    "missing_result",  # no result (observations)
    "non_numeric",  # result / value is a string, boolean, object ...
    "not_finite",  # result / value is NaN or infinite
    "missing_id",  # mover without id (in payload or topic)
    "bad_position",  # mover lon/lat missing, not numbers or out of range; z not a number
    "queue_full",  # the GUI did not drain the buffer in time
    "internal_error",  # a bug in this module; see the log
)

_OBS_TOPIC_RE = re.compile(r"(?:.*/)?Datastreams\((.+)\)/Observations")
_NUMERIC_ID_RE = re.compile(r"\d+")


# --------------------------------------------------------------------------------------------
# Samples, stats and the mapping


@dataclass(frozen=True, slots=True)
class Sample:
    """One parsed message: a sensor value or a mover fix at a time.

    Attributes
    ----------
    sensor_id
        The sensor's id in its layer (after the datastream mapping) or the mover id.
    t_ns
        Phenomenon time, UTC nanoseconds since the epoch.
    value
        The result (float64). NaN for a mover fix without a value.
    quality
        ``resultQuality`` / ``quality`` as a float (higher is better), or None.
    layer
        The layer named by the mapping file, or None.
    lon, lat, z
        Mover position: WGS 84 degrees and metres above ground; None for fixed sensors
        (``z`` is None when the fix has no height).
    """

    sensor_id: str
    t_ns: int
    value: float
    quality: float | None = None
    layer: str | None = None
    lon: float | None = None
    lat: float | None = None
    z: float | None = None

    @property
    def is_mover(self) -> bool:
        """True for a mover fix (it has a position)."""
        return self.lon is not None and self.lat is not None


@dataclass
class FeedStats:
    """Counts of messages seen, accepted and dropped (by reason), for the status bar and log.

    Attributes
    ----------
    received
        Messages handed to :func:`parse_observation`.
    accepted
        Messages that gave a :class:`Sample`.
    rejected
        Dropped messages by reason (see :data:`REASONS`).
    unknown_datastreams
        Dropped messages per datastream id that the mapping does not list (at most 1000 ids).
    """

    received: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unknown_datastreams: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        """All dropped messages."""
        return sum(self.rejected.values())

    def reject(self, reason: str) -> int:
        """Count one dropped message; returns how many have been dropped for this reason."""
        n = self.rejected.get(reason, 0) + 1
        self.rejected[reason] = n
        return n

    def copy(self) -> FeedStats:
        """An independent snapshot."""
        return FeedStats(
            self.received, self.accepted, dict(self.rejected), dict(self.unknown_datastreams)
        )

    def summary(self) -> str:
        """One line, e.g. ``120 received, 117 accepted, 3 dropped (bad_json 2, bad_time 1)``."""
        text = f"{self.received} received, {self.accepted} accepted"
        if self.rejected:
            why = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items()))
            text += f", {self.rejected_total} dropped ({why})"
        return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatastreamEntry(_Strict):
    """One ``[[datastreams]]`` table of the mapping file."""

    id: str = Field(min_length=1)
    sensor_id: str = Field(min_length=1)
    layer: str | None = None

    @field_validator("id", "sensor_id", mode="before")
    @classmethod
    def _int_as_text(cls, v: object) -> object:
        # TOML users write `id = 17` as often as `id = "17"`; both mean the same datastream.
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class _MappingFile(_Strict):
    schema_version: int = Field(1, ge=1, le=1)
    datastreams: list[DatastreamEntry]


class DatastreamMap:
    """Datastream id <-> (sensor id, layer), as read from a mapping file.

    Parameters
    ----------
    entries
        The datastreams; ids must be unique.
    source
        Where the entries came from, for messages.
    """

    def __init__(self, entries: Iterable[DatastreamEntry], source: str = "mapping") -> None:
        self.source = source
        self.entries = list(entries)
        self._by_ds: dict[str, DatastreamEntry] = {}
        self._by_sensor: dict[str, str] = {}
        for i, e in enumerate(self.entries):
            if e.id in self._by_ds:
                first = self.entries.index(self._by_ds[e.id])
                raise FeedError(
                    f"{source}: key 'datastreams[{i}].id': duplicate datastream id {e.id!r} "
                    f"(first at datastreams[{first}]); each datastream maps to one sensor"
                )
            self._by_ds[e.id] = e
            self._by_sensor.setdefault(e.sensor_id, e.id)

    @classmethod
    def from_dict(cls, mapping: dict[str, str], layer: str | None = None) -> DatastreamMap:
        """A map from ``{datastream_id: sensor_id}``."""
        return cls(
            (DatastreamEntry(id=k, sensor_id=v, layer=layer) for k, v in mapping.items()),
            source="mapping",
        )

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, datastream_id: str) -> DatastreamEntry | None:
        """The entry of a datastream, or None when the file does not list it."""
        return self._by_ds.get(datastream_id)

    def datastream_for(self, sensor_id: str) -> str | None:
        """The datastream id that publishes a sensor (the first listed), or None."""
        return self._by_sensor.get(sensor_id)


def load_datastream_map(path: Path | str) -> DatastreamMap:
    """Read and validate a mapping file (see the module docstring for the format).

    Raises
    ------
    FeedError
        One line naming the file and the offending key, e.g.
        ``map.toml: key 'datastreams[2].sensor_id': Field required``.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FeedError(f"{p}: no such datastream mapping file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"{p}: cannot read the datastream mapping ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FeedError(f"{p}: not valid TOML ({exc})") from exc
    try:
        parsed = _MappingFile.model_validate(raw)
    except ValidationError as exc:
        raise FeedError(f"{p}: {_validation_message(exc)}") from exc
    return DatastreamMap(parsed.datastreams, source=str(p))


def _validation_message(exc: ValidationError) -> str:
    # A misspelt key shows up as "extra" plus "missing"; the misspelling is the root cause.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"]).lstrip(".")
    if err["type"] != "extra_forbidden":
        return f"key {loc!r}: {err['msg']}"
    model: type[BaseModel] = _MappingFile if len(err["loc"]) == 1 else DatastreamEntry
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"key {loc!r}: unknown key; {hint}(allowed: {', '.join(allowed)})"


# --------------------------------------------------------------------------------------------
# Parsing


class _Reject(Exception):  # control flow inside the parser; never escapes it
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _number(v: object, reason_missing: str, what: str) -> float:
    if v is None:
        raise _Reject(reason_missing, f"no {what}")
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Reject("non_numeric", f"{what} is {type(v).__name__}, not a number")
    try:
        x = float(v)
    except OverflowError:
        raise _Reject("not_finite", f"{what} too large") from None
    if not math.isfinite(x):
        raise _Reject("not_finite", f"{what} is {x}")
    return x


def _time(v: object) -> int:
    if v is None:
        raise _Reject("missing_time", "no time")
    if not isinstance(v, str):
        raise _Reject("bad_time", f"time is {type(v).__name__}, not an ISO 8601 string")
    try:
        return parse_iso_ns(v)
    except ValueError as exc:
        raise _Reject("bad_time", str(exc)) from None


def _quality(v: object) -> float | None:
    # The long format's quality is a float; SensorThings allows anything, so keep what is a
    # number (or numeric text) and ignore the rest rather than drop a good result.
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        q = float(v)
    except (ValueError, OverflowError):
        return None
    return q if math.isfinite(q) else None


def _load_object(payload: bytes | bytearray | str) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Reject("bad_json", str(exc)) from None
    except RecursionError:  # nested deeper than the parser's recursion limit: hostile input
        raise _Reject("bad_json", "JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise _Reject("not_object", f"payload is a JSON {type(obj).__name__}, not an object")
    return obj


def datastream_id_from_topic(topic: str) -> str | None:
    """The datastream id in ``.../Datastreams(<id>)/Observations``, or None."""
    m = _OBS_TOPIC_RE.fullmatch(topic)
    if m is None:
        return None
    ds = m.group(1)
    if len(ds) >= 2 and ds[0] == ds[-1] == "'":
        ds = ds[1:-1].replace("''", "'")
    return ds or None


def observation_topic(datastream_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The SensorThings topic of a datastream (integers bare, other ids quoted)."""
    ds = datastream_id if _NUMERIC_ID_RE.fullmatch(datastream_id) else _quote(datastream_id)
    head = f"{prefix.rstrip('/')}/" if prefix else ""
    return f"{head}Datastreams({ds})/Observations"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parse(
    topic: str, payload: bytes | bytearray | str, mapping: DatastreamMap | None, mover_prefix: str
) -> Sample:
    ds = datastream_id_from_topic(topic)
    if ds is not None:
        layer = None
        if mapping is not None:
            entry = mapping.lookup(ds)
            if entry is None:
                raise _Reject("unknown_datastream", ds)
            sensor_id, layer = entry.sensor_id, entry.layer
        else:
            sensor_id = ds
        obj = _load_object(payload)
        t_raw = obj.get("phenomenonTime")
        if t_raw is None:
            t_raw = obj.get("resultTime")
        t_ns = _time(t_raw)
        value = _number(obj.get("result"), "missing_result", "result")
        return Sample(sensor_id, t_ns, value, _quality(obj.get("resultQuality")), layer)

    head = mover_prefix.rstrip("/") + "/"
    if topic.startswith(head):
        obj = _load_object(payload)
        mid = obj.get("id")
        if mid is None or mid == "":
            mid = topic[len(head) :].rsplit("/", 1)[-1]
        if isinstance(mid, bool) or not isinstance(mid, str | int) or mid == "":
            raise _Reject("missing_id", f"id is {mid!r}")
        t_ns = _time(obj.get("t"))
        try:
            lon = _number(obj.get("lon"), "bad_position", "lon")
            lat = _number(obj.get("lat"), "bad_position", "lat")
            z_raw = obj.get("z")
            z = None if z_raw is None else _number(z_raw, "bad_position", "z")
        except _Reject as exc:
            raise _Reject("bad_position", exc.detail) from None
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise _Reject("bad_position", f"lon {lon}, lat {lat} outside WGS 84 range")
        v_raw = obj.get("value")
        value = math.nan if v_raw is None else _number(v_raw, "non_numeric", "value")
        return Sample(str(mid), t_ns, value, _quality(obj.get("quality")), None, lon, lat, z)

    raise _Reject("bad_topic", "not a SensorThings Observations topic or a mover topic")


def parse_observation(
    topic: str,
    payload: bytes | bytearray | str,
    mapping: DatastreamMap | None = None,
    stats: FeedStats | None = None,
    *,
    mover_prefix: str = MOVER_PREFIX,
) -> Sample | None:
    """Turn one MQTT message into a :class:`Sample`, or None when it cannot be used.

    Never raises for bad input: the reason is counted in ``stats`` (see :data:`REASONS`) and
    logged (a warning the first time per reason, debug after that).

    Parameters
    ----------
    topic
        ``<prefix>/Datastreams(<id>)/Observations`` or ``<mover_prefix>/<id>``.
    payload
        The message body, JSON as described in the module docstring.
    mapping
        Datastream id -> sensor id; None means the datastream id is the sensor id.
    stats
        Counts to update (not thread-safe by itself; :class:`LiveFeed` holds a lock).
    mover_prefix
        Topic prefix of mover messages.
    """
    if stats is not None:
        stats.received += 1
    try:
        try:
            sample = _parse(topic, payload, mapping, mover_prefix)
        except _Reject:
            raise
        except Exception as exc:  # never a traceback for a message: count it and log it
            log.debug("parsing the MQTT message on %r failed", topic, exc_info=True)
            raise _Reject("internal_error", f"{type(exc).__name__}: {exc}") from None
    except _Reject as exc:
        n = 1
        if stats is not None:
            n = stats.reject(exc.reason)
            if exc.reason == "unknown_datastream":
                per = stats.unknown_datastreams
                if exc.detail in per or len(per) < 1000:
                    per[exc.detail] = per.get(exc.detail, 0) + 1
        level = logging.WARNING if n == 1 else logging.DEBUG
        log.log(level, "dropped MQTT message on %r: %s (%s)", topic, exc.reason, exc.detail)
        return None
    if stats is not None:
        stats.accepted += 1
    return sample
