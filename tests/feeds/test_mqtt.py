"""Live feeds over MQTT against a real mosquitto broker (see ``conftest.py``)."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin_app.errors import FeedError
from twin_app.feeds.longformat import read_long
from twin_app.feeds.mqtt import FeedState, LiveFeed, parse_broker
from twin_app.feeds.publish import publish_file, record
from twin_app.feeds.recorder import Recorder
from twin_app.feeds.sensorthings import (
    REASONS,
    DatastreamMap,
    FeedStats,
    Sample,
    load_datastream_map,
    observation_topic,
    parse_observation,
)
from twin_app.model.times import format_iso_ns, parse_iso_ns

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Broker

pytestmark = pytest.mark.mqtt

OBS = "v1.1/Datastreams(17)/Observations"
T0 = parse_iso_ns("2024-05-01T12:00:00Z")


# --------------------------------------------------------------------------------------------
# helpers


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.02) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout_s`` passes; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A long-format Parquet file (t as timestamp[ns, tz=UTC]) from dict rows; a missing
    ``quality`` or ``z`` is NaN, as the long format writes it."""
    cols: dict[str, Any] = {
        "sensor_id": pa.array([r["sensor_id"] for r in rows], pa.string()),
        "t": pa.array([r["t"] for r in rows], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        "value": pa.array([r["value"] for r in rows], pa.float64()),
    }
    for name in ("quality", "lon", "lat", "z"):
        if any(name in r for r in rows):
            cols[name] = pa.array([r.get(name, math.nan) for r in rows], pa.float64())
    pq.write_table(pa.table(cols), path)
    return path


def obs_rows(n: int, sensors: tuple[str, ...] = ("773869", "A12 north"), step_ns: int = 0) -> list:
    """``n`` observation rows with nanosecond times and awkward float values."""
    return [
        {
            "sensor_id": sensors[i % len(sensors)],
            "t": T0 + i * (step_ns or 1_000_000_007) + 123_456_789,
            "value": (i + 1) / 3.0 * (-1) ** i,
        }
        for i in range(n)
    ]


def canon(table: pa.Table) -> list[tuple[Any, ...]]:
    """Rows of a long table as sorted tuples (times as int ns, NaN as the string 'nan')."""
    names = table.column_names
    t = table.column("t").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_pylist()
    out = []
    for i, row in enumerate(table.to_pylist()):
        row["t"] = t[i]
        out.append(
            tuple(
                "nan" if isinstance(row[c], float) and math.isnan(row[c]) else row[c] for c in names
            )
        )
    return sorted(out, key=repr)


def collect(
    feed: LiveFeed, n: int, timeout_s: float = 5.0, times: set[int] | None = None
) -> list[Sample]:
    """Drain ``feed`` until ``n`` samples (or samples at all of ``times``) arrived, or timeout."""
    got: list[Sample] = []
    deadline = time.monotonic() + timeout_s

    def done() -> bool:
        if times is not None:
            return times <= {s.t_ns for s in got}
        return len(got) >= n

    while not done() and time.monotonic() < deadline:
        got += feed.drain()
        time.sleep(0.01)
    time.sleep(0.05)  # and whatever else comes right behind
    return got + feed.drain()


def key(s: Sample) -> tuple[Any, ...]:
    return (s.sensor_id, s.t_ns, s.value, s.quality, s.lon, s.lat, s.z)


# --------------------------------------------------------------------------------------------
# pure parsing


def test_iso_times_parse_exactly_to_the_nanosecond() -> None:
    assert parse_iso_ns("1970-01-01T00:00:00Z") == 0
    assert parse_iso_ns("2024-05-01T12:00:00.123456789Z") == T0 + 123_456_789
    assert parse_iso_ns("2024-05-01T14:00:00.5+02:00") == T0 + 500_000_000
    assert parse_iso_ns("2024-05-01T07:30:00-0430") == T0
    assert parse_iso_ns("2024-05-01T12:00:00", assume_utc=True) == T0
    assert parse_iso_ns("2024-05-01T12:00Z") == T0
    assert parse_iso_ns("2024-05-01T12:00:00Z/2024-05-01T12:15:00Z") == T0  # interval: start
    assert parse_iso_ns("2024-05-01T12:00:00.1234567891234Z") == T0 + 123_456_789  # truncated
    for t in (0, 1, -1, T0 + 7, T0 + 120_000_000, -(2**63) + 1, 2**63 - 1, 1_500_000_000_000):
        assert parse_iso_ns(format_iso_ns(t)) == t
    assert format_iso_ns(T0 + 120_000_000) == "2024-05-01T12:00:00.120Z"
    assert format_iso_ns(T0 + 1) == "2024-05-01T12:00:00.000000001Z"
    assert format_iso_ns(T0) == "2024-05-01T12:00:00Z"
    for bad in (
        "yesterday",
        "2024-05-01T12:00:00",
        "2024-13-01T00:00:00Z",
        "2024-05-01T25:00:00Z",
        "2300-01-01T00:00Z",
    ):
        with pytest.raises(ValueError):
            parse_iso_ns(bad)


def test_parse_good_observations_and_movers() -> None:
    s = parse_observation(OBS, b'{"phenomenonTime": "2024-05-01T12:00:00.000000001Z", "result": 4}')
    assert s == Sample("17", T0 + 1, 4.0)
    assert not s.is_mover
    s = parse_observation(OBS, '{"resultTime": "2024-05-01T12:00:00Z", "result": -0.5}')
    assert s is not None and (s.t_ns, s.value) == (T0, -0.5)
    s = parse_observation(
        "v1.1/Datastreams('A12 ''north''')/Observations",
        b'{"phenomenonTime": null, "resultTime": "2024-05-01T12:00:00Z", "result": 1e3,'
        b' "resultQuality": {"level": 2}}',
    )
    assert s is not None and s.sensor_id == "A12 'north'" and s.quality is None  # not a number
    for q, expected in ((0.75, 0.75), (1, 1.0), ("0.5", 0.5), ("good", None), (True, None)):
        payload = json.dumps(
            {"phenomenonTime": "2024-05-01T12:00:00Z", "result": 1, "resultQuality": q}
        )
        s = parse_observation(OBS, payload)
        assert s is not None and s.quality == expected, q
    assert observation_topic("A12 'north'") == "v1.1/Datastreams('A12 ''north''')/Observations"
    assert observation_topic("17", "") == "Datastreams(17)/Observations"

    s = parse_observation(
        "twin/movers/bus-42",
        b'{"id": "bus-42", "t": "2024-05-01T12:00:00Z", "lon": 4.895, "lat": 52.37, "z": 12.5}',
    )
    assert s is not None and s.is_mover and math.isnan(s.value)
    assert (s.sensor_id, s.t_ns, s.lon, s.lat, s.z, s.layer) == (
        "bus-42",
        T0,
        4.895,
        52.37,
        12.5,
        None,
    )
    s = parse_observation(
        "twin/movers/7", b'{"t": "2024-05-01T12:00:00Z", "lon": 0, "lat": 0, "value": 3}'
    )
    assert s is not None and (s.sensor_id, s.value, s.z) == ("7", 3.0, None)


def test_mapping_ties_datastreams_to_sensor_ids() -> None:
    mapping = DatastreamMap.from_dict({"17": "773869"}, layer="traffic")
    stats = FeedStats()
    payload = b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": 1}'
    s = parse_observation(OBS, payload, mapping, stats)
    assert s is not None and (s.sensor_id, s.layer) == ("773869", "traffic")
    assert parse_observation("v1.1/Datastreams(18)/Observations", payload, mapping, stats) is None
    assert stats.rejected == {"unknown_datastream": 1}
    assert stats.unknown_datastreams == {"18": 1}
    assert mapping.datastream_for("773869") == "17"


MALFORMED = [
    (OBS, b"{not json", "bad_json"),
    (OBS, b"\xff\xfe\x00", "bad_json"),
    (OBS, b"", "bad_json"),
    (OBS, b"[1, 2]", "not_object"),
    (OBS, b'"text"', "not_object"),
    (OBS, b'{"result": 1}', "missing_time"),
    (OBS, b'{"phenomenonTime": null, "result": 1}', "missing_time"),
    (OBS, b'{"phenomenonTime": "yesterday", "result": 1}', "bad_time"),
    (OBS, b'{"phenomenonTime": "2024-02-30T00:00:00Z", "result": 1}', "bad_time"),
    (OBS, b'{"phenomenonTime": 1714564800, "result": 1}', "bad_time"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00", "result": 1}', "bad_time"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z"}', "missing_result"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": null}', "missing_result"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": "12.5"}', "non_numeric"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": true}', "non_numeric"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": [1]}', "non_numeric"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": NaN}', "not_finite"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": -Infinity}', "not_finite"),
    (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": 1e999}', "not_finite"),
    ("v1.1/Things(1)/Locations", b'{"result": 1}', "bad_topic"),
    ("v1.1/Datastreams()/Observations", b'{"result": 1}', "bad_topic"),
    ("twin/movers/", b'{"t": "2024-05-01T12:00:00Z", "lon": 1, "lat": 2}', "missing_id"),
    ("twin/movers/a", b'{"id": "a", "lon": 1, "lat": 2}', "missing_time"),
    ("twin/movers/a", b'{"id": "a", "t": "2024-05-01T12:00:00Z", "lat": 2}', "bad_position"),
    ("twin/movers/a", b'{"t": "2024-05-01T12:00:00Z", "lon": "4.9", "lat": 2}', "bad_position"),
    ("twin/movers/a", b'{"t": "2024-05-01T12:00:00Z", "lon": 1, "lat": 95}', "bad_position"),
    ("twin/movers/a", b'{"t": "2024-05-01T12:00:00Z", "lon": 1, "lat": 2, "z": "hi"}', "bad_position"),
    ("twin/movers/a", b'{"t": "2024-05-01T12:00:00Z", "lon": 1, "lat": 2, "value": "x"}', "non_numeric"),
    ("twin/movers/a", b'{"t": "2024-05-01T12:00:00Z", "lon": 1, "lat": 2, "value": NaN}', "not_finite"),
]  # fmt: skip


@pytest.mark.parametrize(("topic", "payload", "reason"), MALFORMED)
def test_malformed_payload_is_counted_by_reason(topic: str, payload: bytes, reason: str) -> None:
    stats = FeedStats()
    assert parse_observation(topic, payload, stats=stats) is None
    assert stats.rejected == {reason: 1}
    assert reason in REASONS
    assert (stats.received, stats.accepted) == (1, 0)


def test_many_malformed_payloads_are_counted_together() -> None:
    stats = FeedStats()
    good = b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": 1}'
    results = [parse_observation(t, p, stats=stats) for t, p, _ in MALFORMED]
    results.append(parse_observation(OBS, good, stats=stats))
    assert results[:-1] == [None] * len(MALFORMED) and results[-1] is not None
    expected: dict[str, int] = {}
    for _, _, reason in MALFORMED:
        expected[reason] = expected.get(reason, 0) + 1
    assert stats.rejected == expected
    assert (stats.received, stats.accepted) == (len(MALFORMED) + 1, 1)
    assert "dropped" in stats.summary() and "\n" not in stats.summary()


def test_mapping_file_is_validated_with_precise_messages(tmp_path: Path) -> None:
    good = tmp_path / "map.toml"
    good.write_text(
        '[[datastreams]]\nid = "17"\nsensor_id = "773869"\nlayer = "traffic"\n\n'
        "[[datastreams]]\nid = 18\nsensor_id = 773870\n"
    )
    m = load_datastream_map(good)
    assert len(m) == 2
    entry = m.lookup("18")
    assert entry is not None and (entry.sensor_id, entry.layer) == ("773870", None)
    cases = {
        '[[datastreams]]\nid = "1"\nsensor = "x"\n':
            "key 'datastreams[0].sensor': unknown key; did you mean 'sensor_id'?",
        '[[datastreams]]\nid = "1"\n': "key 'datastreams[0].sensor_id': Field required",
        'datastream = []\n': "key 'datastream': unknown key; did you mean 'datastreams'?",
        '[[datastreams]]\nid = "1"\nsensor_id = "a"\n[[datastreams]]\nid = "1"\nsensor_id = "b"\n':
            "key 'datastreams[1].id': duplicate datastream id '1'",
        "schema_version = 2\ndatastreams = []\n": "key 'schema_version'",
        "[[datastreams]\n": "not valid TOML",
    }  # fmt: skip
    for i, (text, message) in enumerate(cases.items()):
        p = tmp_path / f"bad{i}.toml"
        p.write_text(text)
        with pytest.raises(FeedError) as err:
            load_datastream_map(p)
        assert message in str(err.value) and str(p) in str(err.value)
        assert "\n" not in str(err.value)
    with pytest.raises(FeedError, match="no such"):
        load_datastream_map(tmp_path / "missing.toml")


def test_broker_addresses() -> None:
    assert parse_broker("localhost:1884") == ("localhost", 1884)
    assert parse_broker("mqtt.example.org") == ("mqtt.example.org", 1883)
    assert parse_broker("[::1]:1885") == ("::1", 1885)
    assert parse_broker("mqtt://10.0.0.2:1886/") == ("10.0.0.2", 1886)
    for bad in ("host:port", "host:0", "host:70000", ":1883", ""):
        with pytest.raises(FeedError, match="HOST:PORT"):
            parse_broker(bad)


def test_recorder_writes_long_format_atomically(tmp_path: Path) -> None:
    rec = Recorder()
    rec.add([Sample("s1", T0 + 5, 1.5, 0.9), Sample("bus", T0, math.nan, None, None, 4.9, 52.3)])
    rec.add([Sample("s2", T0 + 7, -2.0)])
    out = tmp_path / "sub" / "rec.parquet"
    movers = tmp_path / "sub" / "rec.movers.parquet"
    assert rec.write(out) == [out, movers]
    sensors = pq.read_table(out)
    assert sensors.schema.field("t").type == pa.timestamp("ns", tz="UTC")
    assert sensors.column_names == ["sensor_id", "t", "value", "quality"]
    assert canon(sensors) == [("s1", T0 + 5, 1.5, 0.9), ("s2", T0 + 7, -2.0, "nan")]
    assert canon(pq.read_table(movers)) == [("bus", T0, "nan", 4.9, 52.3)]
    rec.clear()
    rec.add([Sample("s3", T0, 2.0)])
    assert rec.write(out) == [out]  # replaces the file
    assert canon(pq.read_table(out)) == [("s3", T0, 2.0)]
    (tmp_path / "sub" / "dir.parquet").mkdir()
    with pytest.raises(FeedError, match="cannot write"):
        rec.write(tmp_path / "sub" / "dir.parquet")  # a folder: os.replace fails
    names = sorted(p.name for p in (tmp_path / "sub").iterdir())
    assert names == ["dir.parquet", "rec.movers.parquet", "rec.parquet"]  # no temporary file
    empty = Recorder().write(tmp_path / "empty.csv")
    assert read_long(empty[0]).empty


# --------------------------------------------------------------------------------------------
# against a real broker


MOVER_ROWS = [
    {"sensor_id": "bus/42", "t": T0 + 5, "value": 31.0, "lon": 4.895, "lat": 52.37, "z": 2.5},
    {"sensor_id": "drone+1", "t": T0 + 6, "value": math.nan, "lon": -0.1, "lat": 51.5},
    {"sensor_id": "007", "t": T0 + 7, "value": 1e-300, "lon": 180.0, "lat": -90.0, "z": -3.0},
]


def test_publish_to_live_feed_round_trip(mosquitto: Broker, tmp_path: Path) -> None:
    rows = obs_rows(20)
    rows[3]["quality"] = 0.25
    sensors = write_table(tmp_path / "sensors.parquet", rows)
    movers = write_table(tmp_path / "movers.parquet", MOVER_ROWS)
    states: list[str] = []
    feed = LiveFeed(mosquitto.url, client_id="t-roundtrip")
    feed.state_changed.connect(states.append)
    with feed:
        assert feed.wait_connected(5), feed.last_error
        assert feed.state == FeedState.CONNECTED and feed.last_error is None
        res = publish_file(sensors, mosquitto.url, speed=0)
        res_movers = publish_file(movers, mosquitto.url, speed=0)
        got = collect(feed, len(rows) + len(MOVER_ROWS))
        assert feed.stats.accepted == len(got) and feed.stats.rejected == {}
    assert states == ["connecting", "connected", "disconnected"]
    assert (res.published, res.observations, res.movers, res.skipped) == (20, 20, 0, {})
    assert (res_movers.published, res_movers.movers) == (3, 3)

    def nan_to_none(x: Any) -> Any:
        return None if isinstance(x, float) and math.isnan(x) else x

    expected = [
        Sample(r["sensor_id"], r["t"], r["value"], r.get("quality"), None, r.get("lon"),
               r.get("lat"), nan_to_none(r.get("z")))
        for r in sorted(rows, key=lambda r: r["t"]) + MOVER_ROWS
    ]  # fmt: skip
    assert [repr(key(s)) for s in got] == [repr(key(s)) for s in expected]  # arrival = time order
    assert got[-1].sensor_id == "007" and got[-1].value == 1e-300


def _sleeps_on_this_thread(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every ``time.sleep`` the calling thread makes from now on (they still sleep)."""
    me = threading.current_thread()
    real_sleep = time.sleep
    slept: list[float] = []

    def spy(seconds: float) -> None:
        if threading.current_thread() is me:
            slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", spy)
    return slept


def test_publish_file_scales_real_time(
    mosquitto: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 11 rows over 10 s of data (CSV this time, with ISO text times)
    csv = tmp_path / "ten.csv"
    lines = ["sensor_id,t,value"] + [
        f"{i % 3},{format_iso_ns(T0 + i * 1_000_000_000)},{i}" for i in range(11)
    ]
    csv.write_text("\n".join(lines) + "\n")
    slept = _sleeps_on_this_thread(monkeypatch)
    res = publish_file(csv, mosquitto.url, speed=10)
    assert res.published == 11
    # at speed 10 the last row is due 10 s / 10 after the first: the run cannot end earlier,
    # and it got there by waiting, not by spinning (how much later it ends is the machine's
    # load, not the behaviour: no upper bound)
    assert res.elapsed_s >= 0.95, res.elapsed_s
    assert slept and sum(slept) <= 1.0 + 1e-6, slept
    slept.clear()
    assert publish_file(csv, mosquitto.url, speed=0).published == 11
    # speed 0: as fast as the broker takes them, no pause for a schedule
    assert sum(slept) < 0.5, slept


def test_record_replay_reproduces_the_table(mosquitto: Broker, tmp_path: Path) -> None:
    rows = obs_rows(30, step_ns=33_333_333)
    rows[0]["quality"] = 0.5
    inputs = [
        write_table(tmp_path / "in.parquet", rows),
        write_table(tmp_path / "mv.parquet", MOVER_ROWS),
    ]

    def record_while(files: list[Path], out: Path) -> list[Path]:
        ready = threading.Event()
        box: dict[str, Any] = {}
        th = threading.Thread(
            target=lambda: box.update(r=record(mosquitto.url, 1.0, out, ready=ready)), daemon=True
        )
        th.start()
        assert ready.wait(5)
        for f in files:
            publish_file(f, mosquitto.url, speed=0)
        th.join(10)
        assert box["r"].samples == len(rows) + len(MOVER_ROWS) and box["r"].path == out
        return list(box["r"].paths)

    first = record_while(inputs, tmp_path / "rec1.parquet")
    assert first == [tmp_path / "rec1.parquet", tmp_path / "rec1.movers.parquet"]
    for got, want in zip(first, inputs, strict=True):
        assert pq.read_table(got).column_names == pq.read_table(want).column_names
        assert canon(pq.read_table(got)) == canon(pq.read_table(want))
    second = record_while(first, tmp_path / "rec2.parquet")  # replay the recording
    for got, want in zip(second, first, strict=True):
        assert pq.read_table(got).schema == pq.read_table(want).schema
        assert canon(pq.read_table(got)) == canon(pq.read_table(want))
        assert read_long(got)["t"].tolist() == read_long(want)["t"].tolist()


def test_persistent_session_gets_what_was_published_while_away(
    mosquitto: Broker, tmp_path: Path
) -> None:
    feed = LiveFeed(mosquitto.url, client_id="t-away")
    feed.start()
    assert feed.wait_connected(5)
    feed.stop()
    assert feed.state == FeedState.DISCONNECTED
    data = write_table(tmp_path / "away.parquet", obs_rows(10))
    publish_file(data, mosquitto.url, speed=0)  # nobody listening now
    feed.start()  # same client id: the broker kept the queue
    got = collect(feed, 10)
    feed.stop()
    assert sorted(s.t_ns for s in got) == sorted(r["t"] for r in obs_rows(10))


def test_broker_killed_and_restarted_loses_nothing(mosquitto: Broker, tmp_path: Path) -> None:
    cid = "t-restart"
    states: list[str] = []
    feed = LiveFeed(mosquitto.url, client_id=cid, min_delay_s=2)  # 2 s: room to publish in
    feed.state_changed.connect(states.append)
    feed.start()
    try:
        assert feed.wait_connected(5)
        # mosquitto saves on changes (see conftest); wait until the session is on disk
        assert wait_until(
            lambda: mosquitto.db.is_file() and cid.encode() in mosquitto.db.read_bytes(), 5
        )
        batch_a, batch_b, batch_c = obs_rows(30)[:10], obs_rows(30)[10:20], obs_rows(30)[20:]
        publish_file(write_table(tmp_path / "a.parquet", batch_a), mosquitto.url, speed=0)
        got_a = collect(feed, 10)
        assert len(got_a) == 10

        mosquitto.kill()  # SIGKILL: no goodbye, no final save
        assert wait_until(lambda: feed.state == FeedState.RECONNECTING, 5), feed.state
        assert feed.last_error is not None and "connection lost" in feed.last_error
        mosquitto.start()  # same port, same persistence folder
        publish_file(write_table(tmp_path / "b.parquet", batch_b), mosquitto.url, speed=0)
        assert feed.state == FeedState.RECONNECTING  # still in its backoff
        assert wait_until(lambda: feed.state == FeedState.CONNECTED, 10), feed.last_error
        got_b = collect(feed, 10, times={r["t"] for r in batch_b})
    finally:
        feed.stop()
    # another client publishes while ours is gone; a new LiveFeed with the same id gets it
    publish_file(write_table(tmp_path / "c.parquet", batch_c), mosquitto.url, speed=0)
    with LiveFeed(mosquitto.url, client_id=cid) as feed2:
        got_c = collect(feed2, 10, times={r["t"] for r in batch_c})

    a_keys = {r["t"] for r in batch_a}
    b_keys = {r["t"] for r in batch_b}
    # QoS 1 is at least once: messages of A in flight at the kill may come again, and so may
    # messages of B not yet acknowledged when the first feed stopped; none may miss
    assert sorted(s.t_ns for s in got_b if s.t_ns not in a_keys) == [r["t"] for r in batch_b]
    assert sorted(s.t_ns for s in got_c if s.t_ns not in a_keys | b_keys) == [
        r["t"] for r in batch_c
    ]
    dups = [s.t_ns for s in got_b + got_c if s.t_ns in a_keys]
    print(f"{len(dups)} messages of batch A delivered again after the kill (QoS 1)")
    values = {r["t"]: r["value"] for r in batch_b + batch_c}
    assert all(s.value == values[s.t_ns] for s in got_b + got_c if s.t_ns in values)
    assert states == ["connecting", "connected", "reconnecting", "connected", "disconnected"]


def test_closed_port_reports_refused_and_never_raises(closed_port: str, tmp_path: Path) -> None:
    url = closed_port
    feed = LiveFeed(url, client_id="t-closed")
    feed.start()
    try:
        assert wait_until(lambda: feed.state == FeedState.REFUSED, 5), feed.state
        assert not feed.wait_connected(0.2)
        err = feed.last_error
        assert err is not None and "connection refused" in err and url in err and "\n" not in err
        assert feed.drain() == []
    finally:
        client = feed._client
        assert client is not None
        stopped_on: list[threading.Thread] = []
        done = threading.Event()
        real_loop_stop = client.loop_stop

        def loop_stop_spy() -> Any:
            stopped_on.append(threading.current_thread())
            try:
                return real_loop_stop()
            finally:
                done.set()

        client.loop_stop = loop_stop_spy  # type: ignore[method-assign]
        feed.stop(wait=False)  # as the GUI does: no wait for paho's retry sleep
        assert feed.state == FeedState.DISCONNECTED  # at once, before the thread has ended
    # the join of the network thread (up to paho's 1 s retry sleep) ran elsewhere
    assert done.wait(10)
    assert stopped_on and stopped_on[0] is not threading.current_thread()
    data = write_table(tmp_path / "x.parquet", obs_rows(2))
    with pytest.raises(FeedError, match="connection refused") as err_pub:
        publish_file(data, url)
    assert "\n" not in str(err_pub.value)
    with pytest.raises(FeedError, match="connection refused"):
        record(url, 5, tmp_path / "never.parquet", connect_timeout_s=0.5)
    assert not (tmp_path / "never.parquet").exists()


def test_broker_refusing_us_gives_one_line_errors(make_broker: Any, tmp_path: Path) -> None:
    broker = make_broker(anonymous=False)  # no password file: every client is refused
    feed = LiveFeed(broker.url, client_id="t-auth")
    feed.start()
    try:
        assert wait_until(lambda: feed.state == FeedState.REFUSED, 5), feed.state
        err = feed.last_error
        assert err is not None and "refused the connection" in err and "\n" not in err
        assert "authori" in err.lower() and not feed.wait_connected(0.1)
    finally:
        feed.stop(wait=False)
    data = write_table(tmp_path / "x.parquet", obs_rows(2))
    with pytest.raises(FeedError, match="refused the connection"):
        publish_file(data, broker.url)


def test_malformed_messages_on_the_broker_are_counted(mosquitto: Broker) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    mapping = DatastreamMap.from_dict({"17": "773869", "A12 north": "A12"}, layer="traffic")
    with LiveFeed(mosquitto.url, client_id="t-malformed", mapping=mapping) as feed:
        assert feed.wait_connected(5)
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        pub.connect(mosquitto.host, mosquitto.port)
        pub.loop_start()
        good = [
            (OBS, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": 1}'),
            (observation_topic("A12 north"), b'{"resultTime": "2024-05-01T12:00:01Z", "result": 2}'),
            ("twin/movers/b1", b'{"t": "2024-05-01T12:00:02Z", "lon": 1, "lat": 2, "value": 3}'),
        ]  # fmt: skip
        bad = [(t, p) for t, p, _ in MALFORMED]
        unknown = ("v1.1/Datastreams(99)/Observations", good[0][1])
        msgs = [good[0], *bad[:10], good[1], *bad[10:], unknown, good[2]]
        infos = [pub.publish(t, p, qos=1) for t, p in msgs]
        for info in infos:
            info.wait_for_publish(5)
        pub.disconnect()
        pub.loop_stop()
        got = collect(feed, 3)
        assert wait_until(lambda: feed.stats.received == len(msgs), 5), feed.stats
        time.sleep(0.1)
        got += feed.drain()
        stats = feed.stats
    assert [(s.sensor_id, s.value, s.layer) for s in got] == [
        ("773869", 1.0, "traffic"),
        ("A12", 2.0, "traffic"),
        ("b1", 3.0, None),
    ]
    assert stats.accepted == 3 and stats.rejected_total == len(bad) + 1
    assert stats.rejected["unknown_datastream"] == 1 and stats.unknown_datastreams == {"99": 1}
    assert stats.rejected["bad_json"] == 3 and stats.rejected["bad_position"] == 4


def test_publish_with_map_loop_and_stop(mosquitto: Broker, tmp_path: Path) -> None:
    rows = obs_rows(4, sensors=("773869", "unmapped"), step_ns=10_000_000)
    data = write_table(tmp_path / "in.parquet", rows)
    mapping = {"17": "773869"}
    stop = threading.Event()
    with LiveFeed(
        mosquitto.url, client_id="t-loop", mapping=DatastreamMap.from_dict(mapping)
    ) as feed:
        assert feed.wait_connected(5)
        timer = threading.Timer(0.35, stop.set)
        timer.start()
        res = publish_file(
            data, mosquitto.url, speed=1, datastream_map=mapping, loop=True, stop=stop
        )
        timer.join()
        got = collect(feed, res.published, timeout_s=3)
    assert res.stopped and res.loops >= 3 and res.skipped == {"unmapped": 2}
    assert len(got) == res.published and {s.sensor_id for s in got} == {"773869"}
    times = [s.t_ns for s in got]
    assert times == sorted(set(times))  # each loop moves forward in time
    pq.write_table(
        pa.table({"sensor_id": ["a"], "t": ["2024-01-01T00:00:00Z"]}), tmp_path / "b.parquet"
    )
    with pytest.raises(FeedError, match="missing column 'value'"):
        publish_file(tmp_path / "b.parquet", mosquitto.url)
    with pytest.raises(FeedError, match="speed"):
        publish_file(data, mosquitto.url, speed=-1)
