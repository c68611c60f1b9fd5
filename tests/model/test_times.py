"""The one time-conversion module: ISO 8601, zones, epochs, ranges, vectorised == scalar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin_app.errors import FeedError, TwinError
from twin_app.feeds.longformat import read_long
from twin_app.feeds.store import SensorStore
from twin_app.model.times import (
    MAX_NS,
    MIN_NS,
    NAT_NS,
    format_iso_array,
    format_iso_ns,
    local_to_utc_ns,
    parse_iso_ns,
    parse_time,
    scalar_ns,
    to_utc_ns,
    utc_series,
)

S = 1_000_000_000
#: 2024-05-01T12:00:00Z, worked out by hand: 19844 days after 1970-01-01, plus 12 h.
T0 = (19844 * 86400 + 12 * 3600) * S


def test_t0_is_what_it_claims() -> None:
    assert dt.date(2024, 5, 1).toordinal() - dt.date(1970, 1, 1).toordinal() == 19844
    assert parse_time("2024-05-01T12:00:00Z") == T0


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00z",
        "2024-05-01T12:00Z",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T14:00:00+0200",
        "2024-05-01T07:30:00-04:30",
        "2024-05-01 04:00:00-08:00",
        "2024-05-01T12:00:00.000Z",
    ],
)
def test_iso_with_offsets_and_z(text: str) -> None:
    assert parse_time(text) == T0
    assert parse_iso_ns(text) == T0
    ns, ok = to_utc_ns([text])
    assert ok.all() and int(ns[0]) == T0


def test_fractions_to_the_nanosecond() -> None:
    text = "2024-05-01T12:00:00.123456789Z"
    assert parse_time(text) == parse_iso_ns(text) == T0 + 123_456_789
    assert parse_time("2024-05-01T13:00:00.5+01:00") == T0 + S // 2


def test_naive_needs_a_zone() -> None:
    with pytest.raises(FeedError, match="no UTC offset"):
        parse_time("2024-05-01T12:00:00")
    with pytest.raises(FeedError, match=r"twin\.toml: time '2024-05-01T12:00' has no UTC offset"):
        parse_time("2024-05-01T12:00", source="twin.toml")
    # British Summer Time in May: 13:00 in London is 12:00 UTC; in January GMT = UTC.
    assert parse_time("2024-05-01T13:00:00", assume_tz="Europe/London") == T0
    jan = parse_time("2024-01-15T08:00", assume_tz="Europe/London")
    assert jan == parse_time("2024-01-15T08:00Z")
    # An offset in the text wins over the zone given for naive times.
    assert parse_time("2024-05-01T12:00:00Z", assume_tz="Asia/Tokyo") == T0
    with pytest.raises(FeedError, match="unknown time zone 'Mars/Olympus'"):
        parse_time("2024-05-01T12:00", assume_tz="Mars/Olympus")


def test_local_times_that_do_not_exist_or_repeat() -> None:
    # 2024-03-31 01:30 never happened in London (clocks jumped 01:00 -> 02:00);
    # 2024-10-27 01:30 happened twice.
    ns, ok = to_utc_ns(
        ["2024-03-31T01:30", "2024-10-27T01:30", "2024-10-27T03:00"], assume_tz="Europe/London"
    )
    assert ok.tolist() == [False, False, True]
    assert int(ns[2]) == parse_time("2024-10-27T03:00Z")
    with pytest.raises(FeedError, match="cannot read '2024-03-31T01:30' as a time"):
        parse_time("2024-03-31T01:30", assume_tz="Europe/London")


def test_local_to_utc_ns() -> None:
    wall = np.array(["2012-03-01T00:00", "2012-03-11T02:30", "2012-03-11T03:00"], "datetime64[m]")
    ns, ok = local_to_utc_ns(wall, "America/Los_Angeles")
    assert ok.tolist() == [True, False, True]  # 02:30 on 11 March 2012 did not exist in LA
    assert int(ns[0]) == parse_time("2012-03-01T08:00Z")  # PST = UTC-8
    assert int(ns[2]) == parse_time("2012-03-11T10:00Z")  # PDT = UTC-7
    with pytest.raises(FeedError, match="datetime64"):
        local_to_utc_ns(["2012-03-01"], "UTC")


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (T0 // S, "s"),
        (T0 / S, "s"),
        (T0 // 1_000_000, "ms"),
        (T0 / 1_000_000, "ms"),
        (T0 // 1_000, "us"),
        (T0, "ns"),
    ],
)
def test_epoch_numbers(value: float, unit: str) -> None:
    assert parse_time(value, epoch_unit=unit) == T0  # type: ignore[arg-type]
    ns, ok = to_utc_ns(np.array([value, value]), epoch_unit=unit)  # type: ignore[arg-type]
    assert ok.all() and ns.tolist() == [T0, T0]


def test_epoch_seconds_keep_sub_microsecond_fractions() -> None:
    assert parse_time(1.5) == int(1.5 * S)
    assert parse_time(T0 / S + 0.25) == T0 + S // 4
    # An object column of Python ints beyond float64 precision stays exact.
    ns, ok = to_utc_ns(np.array([T0 + 1, None], dtype=object), epoch_unit="ns")
    assert ok.tolist() == [True, False] and int(ns[0]) == T0 + 1


@pytest.mark.parametrize(
    "value",
    [
        "2300-01-01T00:00:00Z",
        "1600-01-01T00:00:00Z",
        "2300-01-01T00:00:00",  # naive, with a zone: still out of range
        np.datetime64("2300-01-01T00:00:00", "s"),
        np.datetime64("1600-01-01", "D"),
        dt.datetime(2300, 1, 1, tzinfo=dt.UTC),
        pd.Timestamp("1600-01-01").as_unit("s"),
        10_413_792_000,  # 2300-01-01 in epoch seconds
        -11_676_096_000,  # 1600-01-01 in epoch seconds
        10_413_792_000.0,
    ],
)
def test_out_of_range_is_a_twin_error_not_an_overflow(value: object) -> None:
    with pytest.raises(TwinError, match=r"outside the range a time can hold \(1677-09-21"):
        parse_time(value, assume_tz="UTC")
    ns, ok = to_utc_ns([value], assume_tz="UTC")
    assert not ok[0] and int(ns[0]) == NAT_NS  # unreadable, never wrapped around


def test_out_of_range_in_arrays_is_marked_not_wrapped() -> None:
    # datetime64[s] of 2300 used to wrap to 1715 on the cast to ns.
    a = np.array(["2024-05-01T12:00:00", "2300-01-01T00:00:00", "NaT"], "datetime64[s]")
    ns, ok = to_utc_ns(a)
    assert ok.tolist() == [True, False, False] and int(ns[0]) == T0
    assert ns[1] == NAT_NS and ns[2] == NAT_NS
    # Integer epochs used to overflow silently in the multiplication to ns.
    ns, ok = to_utc_ns(np.array([T0 // S, 10_413_792_000], np.int64))
    assert ok.tolist() == [True, False]
    # ISO text used to raise pandas' OutOfBoundsDatetime (pandas 3 parses into us).
    ns, ok = to_utc_ns(["2300-01-01T00:00Z", "2024-05-01T12:00:00Z"])
    assert ok.tolist() == [False, True] and int(ns[1]) == T0
    with pytest.raises(FeedError, match=r"f\.csv: line 2: time '2300-01-01T00:00Z' is outside"):
        to_utc_ns(
            ["2300-01-01T00:00Z", "2024-05-01T12:00:00Z"],
            errors="raise",
            source="f.csv",
            line_offset=2,
        )


def test_range_edges() -> None:
    assert parse_time("2262-04-11T23:47:16.854775807Z") == MAX_NS
    assert parse_time("1677-09-21T00:12:43.145224193Z") == MIN_NS
    for past_the_edge in ("2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224192Z"):
        with pytest.raises(TwinError, match="outside the range"):
            parse_time(past_the_edge)
        with pytest.raises(ValueError, match="outside the range"):
            parse_iso_ns(past_the_edge)


def test_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(7)
    ns_true = rng.integers(-2 * 10**18, 4 * 10**18, 300)
    offsets_min = rng.choice([-480, -270, 0, 60, 330, 840], 300)
    texts = []
    for t, off in zip(ns_true.tolist(), offsets_min.tolist(), strict=True):
        local = pd.Timestamp(t + off * 60 * S, unit="ns").strftime("%Y-%m-%dT%H:%M:%S.%f")
        sign = "-" if off < 0 else "+"
        frac_ns = f"{t % 1000:03d}"
        texts.append(f"{local}{frac_ns}{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}")
    ns, ok = to_utc_ns(texts)
    assert ok.all()
    assert ns.tolist() == ns_true.tolist()
    assert ns.tolist() == [parse_time(x) for x in texts]
    assert ns.tolist() == [parse_iso_ns(x) for x in texts]
    # Numbers, datetime64 and datetime objects the same way.
    secs = (ns_true // S).astype(np.float64)
    assert to_utc_ns(secs)[0].tolist() == [parse_time(x) for x in secs.tolist()]
    d64 = ns_true.view("datetime64[ns]")
    assert to_utc_ns(d64)[0].tolist() == [parse_time(x) for x in d64]
    naive = ["2024-05-01T13:00", "2024-12-01T13:00", "", "garbage"]
    ns2, ok2 = to_utc_ns(naive, assume_tz="Europe/London")
    assert ok2.tolist() == [True, True, False, False]
    assert ns2[:2].tolist() == [parse_time(x, assume_tz="Europe/London") for x in naive[:2]]


def test_scalar_ns_takes_ints_as_nanoseconds() -> None:
    assert scalar_ns(T0) == T0
    assert scalar_ns(np.int64(T0)) == T0
    assert scalar_ns(np.datetime64(T0, "ns")) == T0
    assert scalar_ns("2024-05-01T12:00:00Z") == T0
    with pytest.raises(FeedError, match="outside the range"):
        scalar_ns(np.datetime64("2300-01-01", "D"))


def test_parse_time_refuses_arrays_booleans_and_nonsense() -> None:
    with pytest.raises(FeedError, match="expected one time"):
        parse_time(["2024-05-01T12:00Z", "2024-05-01T13:00Z"])
    with pytest.raises(FeedError, match="booleans"):
        parse_time(True)
    with pytest.raises(FeedError, match="cannot read 'yesterday' as a time"):
        parse_time("yesterday")


def test_formatting_round_trips() -> None:
    times = np.array([T0, T0 + 1, NAT_NS, MIN_NS, MAX_NS], np.int64)
    text = format_iso_array(times)
    assert text[2] == ""
    assert [parse_iso_ns(str(x)) for x in text[[0, 1, 3, 4]]] == times[[0, 1, 3, 4]].tolist()
    assert format_iso_array([T0, T0 + S]).tolist() == [format_iso_ns(T0), format_iso_ns(T0 + S)]
    series = utc_series(times)
    assert str(series.dtype) == "datetime64[ns, UTC]" and series.isna().tolist()[2]
    assert to_utc_ns(series)[0][[0, 1, 3, 4]].tolist() == times[[0, 1, 3, 4]].tolist()


def test_out_of_range_rows_of_files_are_counted_not_fatal(tmp_path: Path) -> None:
    csv = tmp_path / "far.csv"
    csv.write_text(
        "sensor_id,t,value\n"
        "a,2024-05-01T12:00:00Z,1\n"
        "a,2300-01-01T00:00:00Z,2\n"
        "b,1600-01-01T00:00:00Z,3\n"
    )
    df = read_long(csv)
    assert df["t"].isna().tolist() == [False, True, True]
    _, rep = SensorStore.from_long(df.sensor_id, df.t, df.value, source="far.csv")
    assert (rep.rows_kept, rep.unparseable_times) == (1, 2)
    assert "out-of-range" in rep.warnings[0]
    # Parquet with a microsecond column: the year 2300 used to overflow arrow's cast to ns.
    us = pa.array([T0 // 1000, 10_413_792_000 * 10**6, None], pa.timestamp("us", tz="UTC"))
    table = pa.table({"sensor_id": ["a", "a", "a"], "t": us, "value": [1.0, 2.0, 3.0]})
    pq.write_table(table, tmp_path / "far.parquet")
    df = read_long(tmp_path / "far.parquet")
    assert df["t"].isna().tolist() == [False, True, True]
    assert to_utc_ns(df["t"])[0][0] == T0
