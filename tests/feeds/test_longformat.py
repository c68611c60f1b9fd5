"""Long format: validation, exact CSV/Parquet round trips, bad files -> one-line FeedError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.errors import FeedError
from twin_app.feeds.longformat import is_mover_table, read_long, write_long

BAD = Path(__file__).resolve().parents[1] / "data" / "bad" / "feeds"
T0 = int(np.datetime64("2024-05-01T12:00:00", "ns").view(np.int64))


def sample_table(n: int = 50, quality: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ids = ["007", "a,b", 'q"uote', "NA", "ümlaut"]
    t = T0 + rng.integers(0, 10**12, n) * 1000 + rng.integers(0, 999, n)  # ns resolution
    df = pd.DataFrame(
        {
            "sensor_id": [ids[i % len(ids)] for i in range(n)],
            "t": pd.Series(t.view("datetime64[ns]")).dt.tz_localize("UTC"),
            "value": rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n),
        }
    )
    if n > 3:
        df.loc[3, "value"] = np.nan
    if quality:
        df["quality"] = rng.random(n)
    return df


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a["sensor_id"].tolist() == b["sensor_id"].tolist()
    ta = (
        a["t"]
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
        .to_numpy()
        .view(np.int64)
    )
    tb = (
        b["t"]
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
        .to_numpy()
        .view(np.int64)
    )
    assert (ta == tb).all()
    for c in a.columns[2:]:
        assert np.array_equal(
            a[c].to_numpy(np.float64), b[c].to_numpy(np.float64), equal_nan=True
        ), c


@pytest.mark.parametrize("name", ["rec.csv", "rec.csv.gz", "rec.parquet"])
def test_round_trip_is_exact(tmp_path: Path, name: str) -> None:
    df = sample_table()
    path = tmp_path / name
    write_long(path, df)
    back = read_long(path)
    assert_same(df, back)
    assert str(back["t"].dtype) == "datetime64[ns, UTC]"
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind


def test_parquet_schema(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    write_long(tmp_path / "r.parquet", sample_table(5))
    schema = pq.read_schema(tmp_path / "r.parquet")
    assert str(schema.field("t").type) == "timestamp[ns, tz=UTC]"
    assert str(schema.field("sensor_id").type) == "string"
    assert str(schema.field("value").type) == "double"


def test_csv_times_are_iso_with_z(tmp_path: Path) -> None:
    df = pd.DataFrame({"sensor_id": ["a"], "t": ["2024-05-01T14:00:00+02:00"], "value": [1.0]})
    write_long(tmp_path / "r.csv", df)
    text = (tmp_path / "r.csv").read_text()
    assert text == "sensor_id,t,value\na,2024-05-01T12:00:00Z,1.0\n"


def test_mover_table_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "sensor_id": ["bus1", "bus1"],
            "t": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:10.5Z"],
            "lon": [-2.925173, -2.923543],
            "lat": [53.44451, 53.445026],
            "z": [0.0, 1.5],
        }
    )
    assert is_mover_table(df) and not is_mover_table(sample_table(3))
    for name in ("m.csv", "m.parquet"):
        write_long(tmp_path / name, df)
        back = read_long(tmp_path / name)
        assert is_mover_table(back)
        assert back["lon"].tolist() == df["lon"].tolist() and back["z"].tolist() == [0.0, 1.5]
        assert back["value"].isna().all()


def test_write_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_long(path, sample_table(3))
    write_long(path, sample_table(4))
    assert len(read_long(path)) == 4
    with pytest.raises(FeedError, match="missing column 'value'"):
        write_long(path, pd.DataFrame({"sensor_id": ["a"], "t": ["2024-05-01T12:00:00Z"]}))
    assert len(read_long(path)) == 4  # unchanged


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("sensors_missing_value_column.csv", "missing column 'value'"),
        ("sensors_naive_times.csv", "line 3: time '2024-05-01 12:05:00' has no UTC offset"),
        ("garbage.parquet", "cannot read as Parquet"),
        ("binary_garbage.csv", "garbage"),
        ("empty.csv", "empty file"),
    ],
)
def test_bad_files_raise_one_line_feed_error(name: str, pattern: str) -> None:
    with pytest.raises(FeedError) as info:
        read_long(BAD / name)
    msg = str(info.value)
    assert name in msg and "\n" not in msg
    assert pattern in msg


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="file not found"):
        read_long(tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(FeedError, match="unknown long-format file type"):
        read_long(tmp_path / "x.txt")


def test_bad_rows_come_back_for_the_store_to_count() -> None:
    df = read_long(BAD / "sensors_unparseable_times.csv")
    assert df["t"].isna().sum() == 3 and len(df) == 5
    df = read_long(BAD / "sensors_nan_values.csv")
    assert df["value"].isna().sum() == 3
