"""Live sensor feeds over MQTT: SensorThings observations and mover positions.

The MQTT network thread never touches a model. It parses each message into a :class:`Sample`
and appends it to a thread-safe buffer; the GUI (or the CLI recorder) calls
:meth:`LiveFeed.drain` once per tick and hands the samples to the store on its own thread.

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
digits, parsed exactly to the nanosecond; a time without an offset is rejected (``bad_time``):
its zone is unknown, as in the long-format files (:mod:`twin_app.feeds.longformat`).

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

Reliability
-----------
:class:`LiveFeed` subscribes with QoS 1 on a persistent MQTT 3.1.1 session
(``clean_session=False`` with a stable client id), so the broker queues what is published while
the twin is away (closed, network down, broker restarting) and delivers it on reconnect. paho
reconnects by itself with exponential backoff from 1 s to 30 s. Mosquitto queues at most
``max_queued_messages`` (default 1000) per offline client; raise it in ``mosquitto.conf`` for
long outages or fast replays, and enable ``persistence`` so sessions survive a broker restart.
QoS 1 is "at least once": after a broker crash a few messages may arrive twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import getpass
import hashlib
import json
import logging
import math
import re
import socket
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin_app.errors import FeedError

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt
    import pandas as pd
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

#: Topics a live feed subscribes to unless told otherwise.
DEFAULT_TOPICS: tuple[str, ...] = ("v1.1/#", "twin/movers/#")
#: Default SensorThings topic prefix (the API version).
DEFAULT_PREFIX = "v1.1"
#: Default prefix of mover topics.
MOVER_PREFIX = "twin/movers"
#: Default MQTT port.
DEFAULT_PORT = 1883

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

_NS = 1_000_000_000
_I64_MAX = 2**63 - 1
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_OBS_TOPIC_RE = re.compile(r"(?:.*/)?Datastreams\((.+)\)/Observations")
_NUMERIC_ID_RE = re.compile(r"\d+")


# --------------------------------------------------------------------------------------------
# Time


def parse_iso_ns(text: str, *, assume_utc: bool = False) -> int:
    """Parse an ISO 8601 date-time into UTC nanoseconds since the epoch, exactly.

    Parameters
    ----------
    text
        ``YYYY-MM-DDTHH:MM[:SS[.fffffffff]](Z|±HH[:MM])``. Fractions beyond nine digits are
        truncated. A SensorThings interval ``start/end`` gives its start.
    assume_utc
        Take a time without ``Z`` or offset as UTC instead of refusing it.

    Returns
    -------
    int
        Nanoseconds since 1970-01-01T00:00:00Z (int64 range, years 1677 to 2262).

    Raises
    ------
    ValueError
        If the text is not such a date-time, has no offset (unless `assume_utc`), or falls
        outside the int64 nanosecond range.
    """
    text = text.strip()
    if "/" in text:
        text = text.split("/", 1)[0].strip()
    m = _ISO_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = m.group(7) or ""
    zone = m.group(8)
    if not zone and not assume_utc:
        raise ValueError(f"no UTC offset in {text!r}; add Z or +HH:MM")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"time of day out of range: {text!r}")
    days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    offset_s = 0
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:4] or 0)
        if oh > 23 or om > 59:
            raise ValueError(f"zone offset out of range: {text!r}")
        offset_s = sign * (oh * 3600 + om * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s
    ns = seconds * _NS + int(frac[:9].ljust(9, "0"))
    if not -_I64_MAX <= ns <= _I64_MAX:
        raise ValueError(f"date-time outside the int64 nanosecond range: {text!r}")
    return ns


def format_iso_ns(t_ns: int) -> str:
    """Format UTC nanoseconds as ISO 8601 with a ``Z`` zone, losing nothing.

    The fraction has 0, 3, 6 or 9 digits, the fewest that hold the value exactly, so
    ``parse_iso_ns(format_iso_ns(t)) == t`` for every int64 ``t``.
    """
    seconds, frac = divmod(int(t_ns), _NS)
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = f"{frac:09d}"
        while digits.endswith("000"):
            digits = digits[:-3]
        text += "." + digits
    return text + "Z"


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
        sample = _parse(topic, payload, mapping, mover_prefix)
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


# --------------------------------------------------------------------------------------------
# Broker addresses and client ids


def parse_broker(broker: str) -> tuple[str, int]:
    """``"host:port"``, ``"host"`` (port 1883), ``"[::1]:1883"`` or ``"mqtt://host:port"``.

    Raises
    ------
    FeedError
        If the port is not an integer in 1..65535 or the host is empty.
    """
    text = broker.strip()
    for scheme in ("mqtt://", "tcp://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.rstrip("/")
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        port = -1
    if not host or not 1 <= port <= 65535:
        raise FeedError(
            f"broker {broker!r}: expected HOST:PORT with a port in 1..65535, e.g. localhost:1883"
        )
    return host, port


def default_client_id(kind: str = "live") -> str:
    """A client id that is stable for this user on this machine (so the session persists).

    Two twins run by the same user on the same machine share it; give one of them its own
    ``client_id`` or the broker will keep disconnecting the other.
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha1(f"{user}@{socket.gethostname()}".encode(), usedforsecurity=False)
    return f"twin-{kind}-{digest.hexdigest()[:10]}"


def _os_error_text(exc: BaseException | None) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return "cannot connect"


def _new_client(client_id: str, persistent: bool) -> mqtt.Client:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
    )


# --------------------------------------------------------------------------------------------
# The live feed


class FeedState(StrEnum):
    """Connection state of a :class:`LiveFeed`."""

    CONNECTING = "connecting"  # started, first connection not yet made
    CONNECTED = "connected"  # connected (subscriptions may still be on their way)
    RECONNECTING = "reconnecting"  # lost an established connection, retrying with backoff
    DISCONNECTED = "disconnected"  # stopped, or never started
    REFUSED = "refused"  # the broker cannot be reached or refused us; retrying with backoff


class LiveFeed:
    """Subscribe to a broker and buffer parsed samples until the GUI drains them.

    Parameters
    ----------
    broker
        ``"host:port"`` (see :func:`parse_broker`).
    topics
        Topic filters to subscribe to with QoS 1.
    mapping
        Datastream id -> sensor id; None means the datastream id is the sensor id.
    client_id
        Stable MQTT client id; the broker keeps the session (subscriptions and queued QoS 1
        messages) under it. Default: :func:`default_client_id`.
    persistent
        Keep the session on the broker while disconnected (``clean_session=False``).
    username, password
        Broker credentials, if it requires them.
    keepalive_s
        MQTT keep-alive; a dead connection is noticed after about 1.5 times this.
    min_delay_s, max_delay_s
        Reconnect backoff: the wait doubles from ``min_delay_s`` up to ``max_delay_s``.
    max_buffer
        Samples kept until :meth:`drain`; more are dropped and counted as ``queue_full``.
    mover_prefix
        Topic prefix of mover messages.

    Attributes
    ----------
    state_changed : psygnal.Signal
        Emitted with the new :class:`FeedState` on every change. It fires on the MQTT network
        thread: connect with ``thread=`` (psygnal) or hop to the GUI thread yourself.

    Examples
    --------
    >>> feed = LiveFeed("localhost:1883")          # doctest: +SKIP
    >>> feed.start()                                # doctest: +SKIP
    >>> for sample in feed.drain():                 # each GUI tick  # doctest: +SKIP
    ...     store.append(sample)
    """

    state_changed = Signal(str)

    def __init__(
        self,
        broker: str = f"localhost:{DEFAULT_PORT}",
        *,
        topics: Sequence[str] = DEFAULT_TOPICS,
        mapping: DatastreamMap | None = None,
        client_id: str | None = None,
        persistent: bool = True,
        username: str | None = None,
        password: str | None = None,
        keepalive_s: int = 30,
        min_delay_s: int = 1,
        max_delay_s: int = 30,
        max_buffer: int = 1_000_000,
        mover_prefix: str = MOVER_PREFIX,
    ) -> None:
        self.host, self.port = parse_broker(broker)
        if not topics:
            raise FeedError(f"broker {self.broker}: no topics to subscribe to")
        self.topics = tuple(topics)
        self.mapping = mapping
        self.client_id = client_id or default_client_id("live")
        self.persistent = persistent
        self.username = username
        self.password = password
        self.keepalive_s = keepalive_s
        self.min_delay_s = min_delay_s
        self.max_delay_s = max_delay_s
        self.max_buffer = max_buffer
        self.mover_prefix = mover_prefix
        self._lock = threading.Lock()
        self._buffer: list[Sample] = []
        self._stats = FeedStats()
        self._state = FeedState.DISCONNECTED
        self._last_error: str | None = None
        self._ever_connected = False
        self._pending_subs: set[int] = set()
        self._ready = threading.Event()
        self._client: mqtt.Client | None = None

    # -- public state ------------------------------------------------------------------------

    @property
    def broker(self) -> str:
        """``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def state(self) -> FeedState:
        """The connection state."""
        return self._state

    @property
    def last_error(self) -> str | None:
        """The last connection problem as a one-line message; None once connected."""
        return self._last_error

    @property
    def stats(self) -> FeedStats:
        """A snapshot of the message counts."""
        with self._lock:
            return self._stats.copy()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._client is not None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and keep connected until :meth:`stop`. Never raises on
        network problems: watch :attr:`state` and :attr:`last_error`."""
        if self._client is not None:
            return
        client = _new_client(self.client_id, self.persistent)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        client.reconnect_delay_set(min_delay=self.min_delay_s, max_delay=self.max_delay_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._ever_connected = False
        self._ready.clear()
        self._client = client
        self._set_state(FeedState.CONNECTING)
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        client.loop_start()

    def stop(self, wait: bool = True) -> None:
        """Disconnect (the broker keeps a persistent session) and stop the network thread.

        Parameters
        ----------
        wait
            Join the network thread before returning. When paho is sleeping before a retry,
            joining takes up to 1 s, so the GUI passes ``wait=False``: the thread then ends in
            the background, and samples it still receives land in the buffer for the next
            :meth:`drain`. The CLI recorder waits, so that nothing arrives after its last drain.
        """
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            client.disconnect()
        if wait:
            client.loop_stop()
        else:
            threading.Thread(target=client.loop_stop, name="mqtt-stop", daemon=True).start()
        self._ready.clear()
        self._set_state(FeedState.DISCONNECTED)

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Block until connected and every subscription is acknowledged; False on timeout."""
        return self._ready.wait(timeout_s)

    def drain(self) -> list[Sample]:
        """All samples received since the last call, in arrival order (thread-safe)."""
        with self._lock:
            out, self._buffer = self._buffer, []
        return out

    def __enter__(self) -> LiveFeed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- paho callbacks (network thread) -------------------------------------------------------

    def _set_state(self, state: FeedState, error: str | None = None) -> None:
        # The error first: a reader that sees the new state must also see its reason.
        if error is not None or state == FeedState.CONNECTED:
            if error is not None and error != self._last_error:
                log.warning("%s", error)
            self._last_error = error
        changed = state != self._state
        self._state = state
        if changed:
            log.info("MQTT feed %s: %s", self.broker, state.value)
            self.state_changed.emit(state)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return  # a stopped client still winding down
        if reason_code.is_failure:
            self._set_state(
                FeedState.REFUSED,
                f"broker {self.broker} refused the connection ({reason_code}); check the "
                "user name, password and the broker's access rules",
            )
            return
        self._ever_connected = True
        with self._lock:
            self._pending_subs.clear()
            for topic in self.topics:
                _rc, mid = client.subscribe(topic, qos=1)
                if mid is not None:
                    self._pending_subs.add(mid)
        self._set_state(FeedState.CONNECTED)
        log.info(
            "MQTT feed %s: connected as %r (session %s)",
            self.broker,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        if client is not self._client:
            return
        # paho calls this from inside its `except OSError:` block, so the error is at hand.
        why = _os_error_text(sys.exception())
        state = FeedState.RECONNECTING if self._ever_connected else FeedState.REFUSED
        self._set_state(
            state,
            f"broker {self.broker}: {why}; is the broker running and is HOST:PORT right? "
            f"retrying every {self.min_delay_s}..{self.max_delay_s} s",
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return  # stop() is in charge
        self._ready.clear()
        if self._state == FeedState.REFUSED:
            return  # keep the refusal message while paho retries
        self._set_state(
            FeedState.RECONNECTING,
            f"broker {self.broker}: connection lost ({reason_code}); reconnecting",
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            self._last_error = (
                f"broker {self.broker} refused a subscription ({failed[0]}); check its access "
                f"rules for {', '.join(self.topics)}"
            )
            log.warning("%s", self._last_error)
        with self._lock:
            self._pending_subs.discard(mid)
            done = not self._pending_subs
        if done:
            self._ready.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        # An exception escaping a paho callback would kill the network thread: catch all.
        try:
            with self._lock:
                sample = parse_observation(
                    message.topic,
                    message.payload,
                    self.mapping,
                    self._stats,
                    mover_prefix=self.mover_prefix,
                )
                if sample is None:
                    return
                if len(self._buffer) >= self.max_buffer:
                    self._stats.accepted -= 1
                    if self._stats.reject("queue_full") == 1:
                        log.warning("MQTT feed %s: buffer full, dropping samples", self.broker)
                    return
                self._buffer.append(sample)
        except Exception:
            log.exception("MQTT feed %s: cannot handle a message on %r", self.broker, message.topic)
            with self._lock:
                self._stats.reject("internal_error")


# --------------------------------------------------------------------------------------------
# Recording


class Recorder:
    """Collect drained samples and write them in the long format (:mod:`~.longformat`).

    Sensor samples make a sensor table (``sensor_id``, ``t``, ``value`` [, ``quality``]);
    mover fixes make a mover table (``sensor_id``, ``t``, ``value``, [``quality``,] ``lon``,
    ``lat`` [, ``z``]). When a recording holds both, the movers go to a second file beside the
    first, ``<name>.movers.<ext>`` (see :func:`movers_path`). Rows keep arrival order; ``t`` is
    ``timestamp[ns, tz=UTC]`` in Parquet.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def add(self, samples: Iterable[Sample]) -> int:
        """Append samples (e.g. the result of :meth:`LiveFeed.drain`); returns how many."""
        batch = list(samples)
        with self._lock:
            self._samples.extend(batch)
        return len(batch)

    def __len__(self) -> int:
        return len(self._samples)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._samples = []

    def to_frames(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(sensor table, mover table) as pandas frames; None where there are no samples."""
        with self._lock:
            samples = list(self._samples)
        sensors = [s for s in samples if not s.is_mover]
        movers = [s for s in samples if s.is_mover]
        return (
            samples_to_frame(sensors) if sensors else None,
            samples_to_frame(movers) if movers else None,
        )

    def write(self, path: Path | str) -> list[Path]:
        """Write the samples atomically (temp file + ``os.replace``) as Parquet or CSV.

        Returns
        -------
        list of Path
            ``[path]``, or ``[path, movers_path(path)]`` when there are sensors and movers. An
            empty recording writes an empty sensor table to ``path``.

        Raises
        ------
        FeedError
            If a file cannot be written; a previous file at that path is then unchanged.
        """
        from twin_app.feeds.longformat import write_long

        p = Path(path)
        sensors, movers = self.to_frames()
        if sensors is None and movers is None:
            sensors = samples_to_frame([])
        written: list[Path] = []
        if sensors is not None:
            write_long(p, sensors)
            written.append(p)
        if movers is not None:
            target = movers_path(p) if sensors is not None else p
            write_long(target, movers)
            written.append(target)
        return written


def movers_path(path: Path | str) -> Path:
    """Where :class:`Recorder` puts the movers of a mixed recording: ``rec.movers.parquet``."""
    p = Path(path)
    name = p.name
    for ext in (".csv.gz", ".parquet", ".csv", ".pq"):
        if name.lower().endswith(ext):
            return p.with_name(name[: -len(ext)] + ".movers" + name[-len(ext) :])
    return p.with_name(name + ".movers")


def samples_to_frame(samples: Sequence[Sample]) -> pd.DataFrame:
    """Samples -> one long-format frame (a mover table if the first sample is a mover fix).

    ``quality`` and ``z`` columns are added only when some sample has them.
    """
    import numpy as np
    import pandas as pd

    t = np.fromiter((s.t_ns for s in samples), np.int64, len(samples))
    cols: dict[str, Any] = {
        "sensor_id": pd.Series([s.sensor_id for s in samples], dtype=object),
        "t": pd.Series(t.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "value": np.fromiter((s.value for s in samples), np.float64, len(samples)),
    }
    nan = math.nan
    if any(s.quality is not None for s in samples):
        cols["quality"] = np.array([nan if s.quality is None else s.quality for s in samples])
    if samples and samples[0].is_mover:
        cols["lon"] = np.array([s.lon for s in samples], np.float64)
        cols["lat"] = np.array([s.lat for s in samples], np.float64)
        if any(s.z is not None for s in samples):
            cols["z"] = np.array([nan if s.z is None else s.z for s in samples], np.float64)
    return pd.DataFrame(cols)


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.02) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout_s`` passes; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
