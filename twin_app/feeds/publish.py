"""Replay a long-format file to an MQTT broker, and record a broker's traffic to Parquet.

``publish_file`` is the test bench of the live feed (and a stand-in for a city's real sensor
broker in demos); ``record`` is what ``twin feed record`` runs. Publishing a recording and
recording it again gives back the same table: ids, times to the nanosecond and values (float64
text round-trips exactly through JSON).

Help text for the CLI (``twin feed publish`` / ``twin feed record``) is in :data:`PUBLISH_HELP`,
:data:`PUBLISH_DESCRIPTION`, :data:`RECORD_HELP` and :data:`RECORD_DESCRIPTION`; the arguments
are added by :func:`add_publish_arguments` / :func:`add_record_arguments` and run by
:func:`run_publish` / :func:`run_record`, which raise :class:`~twin_app.errors.FeedError`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_app.errors import FeedError
from twin_app.feeds.mqtt import LiveFeed, default_client_id, parse_broker
from twin_app.feeds.recorder import Recorder
from twin_app.feeds.sensorthings import (
    DEFAULT_PREFIX,
    DEFAULT_TOPICS,
    MOVER_PREFIX,
    DatastreamMap,
    FeedStats,
    load_datastream_map,
    observation_topic,
)
from twin_app.model.times import NS_PER_S, format_iso_ns, to_utc_ns

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

PUBLISH_HELP = "replay a long-format file (CSV or Parquet) to an MQTT broker"
PUBLISH_DESCRIPTION = (
    "Publish each row of a long-format table (sensor_id, t, value [, quality]; or a mover "
    "table with lon, lat [, z]) at its real-time offset from the first row, divided by --speed "
    "(0 = as fast as possible). Sensor rows are sent with QoS 1 as OGC SensorThings "
    "observations on 'v1.1/Datastreams(<id>)/Observations' "
    '({"phenomenonTime", "result"}), mover rows on \'twin/movers/<id>\' '
    '({"id", "t", "lon", "lat", "z"}).'
)
RECORD_HELP = "record a broker's sensor messages to a long-format Parquet file"
RECORD_DESCRIPTION = (
    "Subscribe with QoS 1 on a persistent session to 'v1.1/#' and 'twin/movers/#' (or --topic), "
    "collect for --seconds and write the samples to OUT in the long format (mover fixes go to "
    "OUT.movers.parquet when sensor samples arrived too). Malformed messages are counted by "
    "reason and skipped."
)


@dataclass
class PublishResult:
    """What :func:`publish_file` did.

    Attributes
    ----------
    rows
        Rows in the file.
    published
        Messages sent and acknowledged by the broker (QoS 1), all loops together.
    observations, movers
        Of those, SensorThings observations and mover fixes.
    skipped
        Rows not sent, by reason (``nan_value``, ``bad_time``, ``missing_id``, ``bad_id``,
        ``bad_position``, ``unmapped``), counted once per file (not per loop).
    loops
        Passes over the file (1 unless ``loop=True``).
    elapsed_s
        Wall time from the first message to the last acknowledgement.
    stopped
        True when ``stop`` was set before the end.
    """

    rows: int = 0
    published: int = 0
    observations: int = 0
    movers: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    loops: int = 0
    elapsed_s: float = 0.0
    stopped: bool = False

    def summary(self) -> str:
        """One line for the CLI."""
        text = (
            f"published {self.published} messages ({self.observations} observations, "
            f"{self.movers} mover fixes) from {self.rows} rows in {self.elapsed_s:.2f} s"
        )
        if self.loops > 1:
            text += f", {self.loops} loops"
        if self.skipped:
            text += ", skipped " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
        return text


@dataclass
class RecordResult:
    """What :func:`record` did.

    Attributes
    ----------
    paths
        The files written: the recording, plus ``<name>.movers.<ext>`` when it held both
        sensor samples and mover fixes (see :class:`~twin_app.feeds.recorder.Recorder`).
    samples
        Samples written, all files together.
    stats
        Message counts (received, accepted, dropped by reason).
    """

    paths: list[Path]
    samples: int
    stats: FeedStats

    @property
    def path(self) -> Path:
        """The main file (the ``out_path`` given)."""
        return self.paths[0]

    def summary(self) -> str:
        """One line for the CLI."""
        where = " and ".join(str(p) for p in self.paths)
        return f"wrote {self.samples} samples to {where} ({self.stats.summary()})"


# --------------------------------------------------------------------------------------------
# Reading long-format tables


@dataclass
class _Rows:
    sensor_id: list[str]
    t_ns: list[int | None]
    value: list[float]
    quality: list[float] | None
    lon: list[float] | None  # None: a sensor table
    lat: list[float] | None
    z: list[float] | None


def _read_rows(path: Path | str) -> _Rows:
    """A long-format file (:func:`twin_app.feeds.longformat.read_long`) as plain columns."""
    import numpy as np

    from twin_app.feeds.longformat import is_mover_table, read_long

    df = read_long(path)
    ns, ok = to_utc_ns(df["t"], source=str(path))
    nat = ~ok
    mover = is_mover_table(df)

    def floats(name: str) -> list[float] | None:
        return df[name].to_numpy(np.float64).tolist() if name in df.columns else None

    return _Rows(
        sensor_id=[str(v) for v in df["sensor_id"].tolist()],
        t_ns=[None if bad else int(v) for v, bad in zip(ns.tolist(), nat.tolist(), strict=True)],
        value=df["value"].to_numpy(np.float64).tolist(),
        quality=floats("quality"),
        lon=floats("lon") if mover else None,
        lat=floats("lat") if mover else None,
        z=floats("z") if mover else None,
    )


# --------------------------------------------------------------------------------------------
# Publishing


class _Publisher:
    """A QoS 1 publishing client that counts broker acknowledgements."""

    def __init__(self, broker: str, client_id: str | None, connect_timeout_s: float) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.host, self.port = parse_broker(broker)
        self.broker = f"{self.host}:{self.port}"
        self.sent = 0
        self.acked = 0
        self._cond = threading.Condition()
        self._connack: ReasonCode | None = None
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"twin-pub-{uuid.uuid4().hex[:12]}",
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            why = "connection refused" if isinstance(exc, ConnectionRefusedError) else exc
            raise FeedError(
                f"broker {self.broker}: cannot connect ({why}); is the broker running and is "
                "--broker HOST:PORT right?"
            ) from exc
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._connack is not None, connect_timeout_s)
        rc = self._connack
        if rc is None or rc.is_failure:
            self.client.loop_stop()
            why = "no answer" if rc is None else str(rc)
            raise FeedError(
                f"broker {self.broker} refused the connection ({why}); check the port, "
                "user name and access rules"
            )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._connack = reason_code
            self._cond.notify_all()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1)
        self.sent += 1

    def close(self, ack_timeout_s: float) -> None:
        """Wait for every acknowledgement, then disconnect."""
        try:
            with self._cond:
                ok = self._cond.wait_for(lambda: self.acked >= self.sent, ack_timeout_s)
            if not ok:
                raise FeedError(
                    f"broker {self.broker}: {self.sent - self.acked} of {self.sent} messages not "
                    f"acknowledged within {ack_timeout_s:g} s; the connection was probably lost"
                )
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def _as_map(datastream_map: DatastreamMap | Path | str | dict[str, str] | None) -> Any:
    if datastream_map is None or isinstance(datastream_map, DatastreamMap):
        return datastream_map
    if isinstance(datastream_map, dict):
        return DatastreamMap.from_dict(datastream_map)
    return load_datastream_map(datastream_map)


def _topic_safe(text: str) -> bool:
    return bool(text) and not any(c in text for c in "+#\0")


def publish_file(
    path: Path | str,
    broker: str = "localhost:1883",
    speed: float = 1.0,
    topic_prefix: str = DEFAULT_PREFIX,
    datastream_map: DatastreamMap | Path | str | dict[str, str] | None = None,
    loop: bool = False,
    stop: threading.Event | None = None,
    *,
    mover_prefix: str = MOVER_PREFIX,
    client_id: str | None = None,
    connect_timeout_s: float = 10.0,
    ack_timeout_s: float = 30.0,
    restamp_now: bool = False,
) -> PublishResult:
    """Replay a long-format table to a broker in (scaled) real time.

    The file is read with :func:`twin_app.feeds.longformat.read_long`. Rows are sent in time
    order (stable sort on ``t``). Row ``i`` leaves at ``(t_i - t_first) / speed`` seconds after
    the first; ``speed=0`` sends as fast as the broker takes them. The rows of a mover table
    (one with ``lon`` and ``lat``) go out as mover fixes on ``<mover_prefix>/<sensor_id>``
    (``+``, ``#`` replaced by ``_`` in the topic; the payload keeps the id), those of a sensor
    table as SensorThings observations on ``<topic_prefix>/Datastreams(<id>)/Observations``;
    all with QoS 1. NaN ``quality``, ``z`` and (for movers) ``value`` are left out of the
    payload.

    Parameters
    ----------
    path
        CSV or Parquet file in the long format.
    broker
        ``"host:port"``.
    speed
        Replay rate: N plays N times faster than real time; 0 plays as fast as possible.
    topic_prefix
        SensorThings topic prefix (the API version).
    datastream_map
        Sensor id -> datastream id, as a :class:`~twin_app.feeds.sensorthings.DatastreamMap`, a mapping
        file, or ``{datastream_id: sensor_id}``. With a map, sensors it does not list are
        skipped (``unmapped``). Without one, the datastream id is the sensor id.
    loop
        Start again at the end until ``stop`` is set. Each pass shifts the times by the span
        of the file plus its shortest step, so the feed keeps moving forward.
    stop
        Set it (from another thread) to stop early; the result has ``stopped=True``.
    mover_prefix
        Topic prefix of mover fixes.
    client_id
        MQTT client id of the publisher (default: a random one; clean session).
    connect_timeout_s, ack_timeout_s
        How long to wait for the broker's CONNACK, and at the end for the last PUBACKs.
    restamp_now
        Stamp each message with the wall-clock time it is sent at (the first row "now", the
        others at their scaled offsets) instead of its recorded time: the live demo, where a
        twin following wall time shows the replay as it arrives.

    Returns
    -------
    PublishResult

    Raises
    ------
    FeedError
        Unreadable file, bad broker address, unreachable or refusing broker, or messages not
        acknowledged in time.
    """
    if not (speed >= 0.0 and math.isfinite(speed)):
        raise FeedError(f"speed {speed!r}: must be 0 (as fast as possible) or a positive number")
    mapping = _as_map(datastream_map)
    rows = _read_rows(path)
    n = len(rows.t_ns)
    result = PublishResult(rows=n)

    # Build the messages once; each loop only shifts the times.
    messages: list[tuple[int, bool, str, dict[str, Any]]] = []  # t_ns, is_mover, topic, body
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    def finite(x: float | None) -> bool:
        return x is not None and math.isfinite(x)

    for i in range(n):
        sid, t, value = rows.sensor_id[i], rows.t_ns[i], rows.value[i]
        if t is None:
            skip("bad_time")
            continue
        if not sid:
            skip("missing_id")
            continue
        q = rows.quality[i] if rows.quality is not None else None
        if rows.lon is not None and rows.lat is not None:
            lon, lat = rows.lon[i], rows.lat[i]
            if not (finite(lon) and finite(lat)):
                skip("bad_position")
                continue
            body: dict[str, Any] = {"id": sid, "t": "", "lon": lon, "lat": lat}
            z = rows.z[i] if rows.z is not None else None
            if finite(z):
                body["z"] = z
            if finite(value):
                body["value"] = value
            if finite(q):
                body["quality"] = q
            safe = "".join("_" if c in "+#\0" else c for c in sid)
            messages.append((t, True, f"{mover_prefix.rstrip('/')}/{safe}", body))
            continue
        if not finite(value):
            skip("nan_value")
            continue
        ds: str | None = sid
        if mapping is not None:
            ds = mapping.datastream_for(sid)
            if ds is None:
                skip("unmapped")
                continue
        if ds is None or not _topic_safe(ds):
            skip("bad_id")
            continue
        body = {"phenomenonTime": "", "result": value}
        if finite(q):
            body["resultQuality"] = q
        messages.append((t, False, observation_topic(ds, topic_prefix), body))
    messages.sort(key=lambda m: m[0])  # stable: equal times keep file order
    result.skipped = skipped
    if not messages:
        log.warning("%s: nothing to publish (%s)", path, skipped)
        return result

    t_first, t_last = messages[0][0], messages[-1][0]
    steps = [b[0] - a[0] for a, b in itertools.pairwise(messages) if b[0] > a[0]]
    period_ns = (t_last - t_first) + (min(steps) if steps else NS_PER_S)

    pub = _Publisher(broker, client_id, connect_timeout_s)
    start = time.monotonic()
    start_wall_ns = time.time_ns()
    try:
        k = 0
        while True:
            shift = k * period_ns
            for t, is_mover, topic, body in messages:
                if speed > 0:
                    due = start + (t + shift - t_first) / NS_PER_S / speed
                    wait = due - time.monotonic()
                    if wait > 0:
                        if stop is not None:
                            if stop.wait(wait):
                                result.stopped = True
                                break
                        else:
                            time.sleep(wait)
                if stop is not None and stop.is_set():
                    result.stopped = True
                    break
                stamp = t + shift
                if restamp_now:
                    offset = stamp - t_first
                    stamp = start_wall_ns + (round(offset / speed) if speed > 0 else 0)
                body["t" if is_mover else "phenomenonTime"] = format_iso_ns(stamp)
                pub.publish(topic, json.dumps(body, allow_nan=False, separators=(",", ":")))
                if is_mover:
                    result.movers += 1
                else:
                    result.observations += 1
            k += 1
            if result.stopped or not loop:
                break
    finally:
        try:
            pub.close(ack_timeout_s)
        finally:
            result.loops = k
            result.published = pub.acked
            result.elapsed_s = time.monotonic() - start
    return result


# --------------------------------------------------------------------------------------------
# Recording


def record(
    broker: str,
    seconds: float,
    out_path: Path | str,
    topics: Sequence[str] = DEFAULT_TOPICS,
    *,
    datastream_map: DatastreamMap | Path | str | dict[str, str] | None = None,
    client_id: str | None = None,
    persistent: bool = True,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    connect_timeout_s: float = 10.0,
) -> RecordResult:
    """Subscribe for ``seconds`` and write what arrives to Parquet in the long format.

    The subscription is a persistent QoS 1 session (stable ``client_id``), so a later run with
    the same id also gets what the broker queued for it in between.

    Parameters
    ----------
    broker
        ``"host:port"``.
    seconds
        How long to collect, counted from the moment the subscriptions are acknowledged.
    out_path
        Parquet (or CSV) file to write atomically; mover fixes go to
        ``<name>.movers.<ext>`` beside it when sensor samples arrived too.
    topics
        Topic filters (QoS 1).
    datastream_map
        Datastream id -> sensor id (see :func:`publish_file`).
    client_id
        Session id; default :func:`~twin_app.feeds.mqtt.default_client_id` ``("record")``.
    persistent
        Keep the session on the broker between runs.
    stop
        Set it to stop collecting early (the file is still written).
    ready
        Set once the subscriptions are acknowledged (useful to start a publisher after it).
    connect_timeout_s
        How long to wait for the broker before giving up.

    Raises
    ------
    FeedError
        Unreachable or refusing broker, or a file that cannot be written.
    """
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise FeedError(f"seconds {seconds!r}: must be a positive number")
    feed = LiveFeed(
        broker,
        topics=topics,
        mapping=_as_map(datastream_map),
        client_id=client_id or default_client_id("record"),
        persistent=persistent,
    )
    recorder = Recorder()
    feed.start()
    try:
        if not feed.wait_connected(connect_timeout_s):
            why = feed.last_error or f"broker {feed.broker}: no answer"
            raise FeedError(f"{why} (gave up after {connect_timeout_s:g} s)")
        if ready is not None:
            ready.set()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            recorder.add(feed.drain())
            if stop is not None and stop.wait(min(left, 0.1)):
                break
            if stop is None:
                time.sleep(min(left, 0.1))
    finally:
        feed.stop()
    recorder.add(feed.drain())
    paths = recorder.write(out_path)
    return RecordResult(paths, len(recorder), feed.stats)


# --------------------------------------------------------------------------------------------
# Command line (the `twin feed ...` sub-commands call these)


def add_publish_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``twin feed publish``."""
    p.add_argument("data", type=Path, help="long-format CSV or Parquet file")
    p.add_argument("--broker", default="localhost:1883", metavar="HOST:PORT")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="N times faster than real time; 0 = as fast as possible (default 1)",
    )
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="SensorThings topic prefix")
    p.add_argument("--map", type=Path, metavar="TOML", help="datastream mapping file")
    p.add_argument("--loop", action="store_true", help="start again at the end (Ctrl+C stops)")
    p.add_argument(
        "--now",
        action="store_true",
        help="stamp messages with the wall-clock time they are sent at (live demo)",
    )


def run_publish(args: argparse.Namespace) -> int:
    """Run ``twin feed publish``; raises FeedError on problems."""
    res = publish_file(
        args.data,
        broker=args.broker,
        speed=args.speed,
        topic_prefix=args.prefix,
        datastream_map=args.map,
        loop=args.loop,
        restamp_now=args.now,
    )
    print(res.summary())
    return 0


def add_record_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``twin feed record``."""
    p.add_argument("--broker", default="localhost:1883", metavar="HOST:PORT")
    p.add_argument("--seconds", type=float, default=60.0, metavar="N", help="how long (default 60)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.parquet")
    p.add_argument(
        "--topic",
        action="append",
        metavar="FILTER",
        help=f"topic filter, repeatable (default: {' '.join(DEFAULT_TOPICS)})",
    )
    p.add_argument("--map", type=Path, metavar="TOML", help="datastream mapping file")
    p.add_argument("--client-id", help="MQTT session id (default: stable per user and machine)")


def run_record(args: argparse.Namespace) -> int:
    """Run ``twin feed record``; raises FeedError on problems."""
    res = record(
        args.broker,
        args.seconds,
        args.out,
        topics=tuple(args.topic) if args.topic else DEFAULT_TOPICS,
        datastream_map=args.map,
        client_id=args.client_id,
    )
    print(res.summary())
    return 0
