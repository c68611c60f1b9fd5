"""Broken series files in a twin (issue 10, "Bad input still leaks").

A tiny twin folder (two buildings in London, one series) is opened through the session and the
CLI with series files that hold times outside what the store can hold, infinite values, list- or
object-valued columns, movers without a usable position, or nothing. Each either loads with the
bad rows counted in a one-line warning naming the file's full path, or fails with one line naming
it; no series ever loads silently wrong (samples at a wrapped-around date, infinities as data).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twin_app.errors import TwinError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.session import Session

BUILDINGS = (
    '{"type":"FeatureCollection","features":['
    '{"type":"Feature","properties":{"id":"b1","height":20},"geometry":{"type":"Polygon",'
    '"coordinates":[[[-0.1,51.51],[-0.099,51.51],[-0.099,51.511],[-0.1,51.511],[-0.1,51.51]]]}},'
    '{"type":"Feature","properties":{"id":"b2","height":20},"geometry":{"type":"Polygon",'
    '"coordinates":[[[-0.095,51.515],[-0.094,51.515],[-0.094,51.516],[-0.095,51.516],'
    "[-0.095,51.515]]]}}]}"
)

MANIFEST = """name = "Tiny"
timezone = "Europe/London"
replay_start = "2026-03-02T00:00:00Z"
[[sources]]
path = "b.geojson"
licence = "x"
attribution = "x"
[[series]]
kind = "{kind}"
name = "Series"
path = "{path}"
{sensors}
source_start = "2016-12-18T16:00:00Z"
what = "x"
measured_in = "x"
placement = "fit"
source = "x"
licence = "x"
attribution = "x"
"""

AIR_HEAD = "sensor_id,t,value\n"
A = "Aotizhongxin/PM2.5"


def make_twin(folder: Path, name: str, content: str | bytes, kind: str = "air") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "b.geojson").write_text(BUILDINGS)
    sensors = ""
    if kind == "air":
        shutil.copy(SAMPLE_DIR / "beijing_stations.csv", folder / "stations.csv")
        sensors = 'sensors = "stations.csv"'
    (folder / "manifest.toml").write_text(MANIFEST.format(kind=kind, path=name, sensors=sensors))
    target = folder / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    return folder


def _parquet(**columns: object) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)  # type: ignore[arg-type]
    return buf.getvalue()


def _times(*hours: int) -> object:
    import pyarrow as pa

    base = np.datetime64("2016-12-18T16:00", "ns").astype(np.int64)
    return pa.array([int(base) + h * 3600 * 10**9 for h in hours], pa.timestamp("ns", tz="UTC"))


#: name -> (file name, content, kind, warning fragment expected)
LOADS: dict[str, tuple[str, str | bytes, str, str]] = {
    "times_out_of_range": (
        "air.csv",
        AIR_HEAD
        + f"{A},2016-12-18T16:00:00Z,50\n{A},2016-12-18T17:00:00Z,60\n"
        + f"{A},2300-01-01T00:00:00Z,70\n{A},1500-01-01T00:00:00Z,70\n",
        "air",
        "out-of-range time",
    ),
    "infinite_values": (
        "air.csv",
        AIR_HEAD + f"{A},2016-12-18T16:00:00Z,inf\n{A},2016-12-18T17:00:00Z,-Infinity\n"
        f"{A},2016-12-18T18:00:00Z,7\n",
        "air",
        "infinite",
    ),
    "empty_rows": ("air.csv", AIR_HEAD, "air", "no usable samples"),
    "movers_some_positions": (
        "mov.csv",
        "sensor_id,t,lon,lat\nbus1,2026-01-26T15:57:02Z,-2.9,53.4\n"
        "bus1,2026-01-26T15:58:02Z,nan,nan\nbus2,2026-01-26T15:58:02Z,inf,53\n",
        "movers",
        "infinite",
    ),
}


@pytest.mark.parametrize("case", list(LOADS))
def test_bad_rows_are_counted_and_named_with_the_full_path(case: str, tmp_path: Path) -> None:
    name, content, kind, fragment = LOADS[case]
    folder = make_twin(tmp_path / "twin", name, content, kind)
    load = Session().open_twin(folder)
    path = str(folder / name)
    hits = [w for w in load.warnings if fragment in w]
    assert hits, load.warnings
    assert all(path in w for w in hits), hits
    layer = load.layers[0]
    store = getattr(layer, "store", None)
    if store is not None and store.n_times:
        t0, t1 = store.time_range()
        # nothing wrapped around to the 17th century or beyond 2262
        assert np.datetime64("2000-01-01") < np.datetime64(t0, "ns") <= np.datetime64(t1, "ns")
        values = np.concatenate([store.series(j)[1] for j in range(store.n_sensors)])
        assert np.isfinite(values).all()


#: name -> (file name, content, kind, error fragment)
FAILS: dict[str, tuple[str, str | bytes, str, str]] = {
    "list_values": (
        "air.parquet",
        _parquet(sensor_id=[A, A], t=_times(0, 1), value=[[1.0, 2.0], [3.0]]),
        "air",
        "column 'value' holds list",
    ),
    "object_values": (
        "air.parquet",
        _parquet(sensor_id=[A, A], t=_times(0, 1), value=[{"x": 1.0}, {"x": 2.0}]),
        "air",
        "column 'value' holds struct",
    ),
    "list_ids": (
        "air.parquet",
        _parquet(sensor_id=[[A], [A]], t=_times(0, 1), value=[1.0, 2.0]),
        "air",
        "column 'sensor_id' holds list",
    ),
    "movers_without_positions": (
        "mov.csv",
        "sensor_id,t,lon,lat\nbus1,2026-01-26T15:57:02Z,,\nbus1,2026-01-26T15:58:02Z,nan,nan\n",
        "movers",
        "no row has a usable position",
    ),
    "empty_file": ("air.csv", "", "air", "empty file"),
}


@pytest.mark.parametrize("case", list(FAILS))
def test_unusable_series_is_one_line_error_naming_the_file(case: str, tmp_path: Path) -> None:
    name, content, kind, fragment = FAILS[case]
    folder = make_twin(tmp_path / "twin", name, content, kind)
    with pytest.raises(TwinError) as info:
        Session().open_twin(folder)
    msg = str(info.value)
    assert fragment in msg and str(folder / name) in msg and "\n" not in msg


def _twin(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "default"
    return subprocess.run(
        [sys.executable, "-m", "twin_app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("case", ["times_out_of_range", "list_values", "movers_without_positions"])
def test_cli_info_and_render_on_bad_series(case: str, tmp_path: Path) -> None:
    name, content, kind, fragment = {**LOADS, **FAILS}[case]
    folder = make_twin(tmp_path / "twin", name, content, kind)
    info = _twin("info", str(folder))
    out = tmp_path / "x.png"
    render = _twin("render", str(folder), "-o", str(out), "--size", "64x48")
    for res in (info, render):
        assert "Traceback" not in res.stderr and "Warning:" not in res.stderr, res.stderr
        if case in FAILS:
            assert res.returncode == 2
            (line,) = res.stderr.splitlines()
            assert line.startswith("twin: error: ") and str(folder / name) in line
        else:
            assert res.returncode == 0, res.stderr
    if case in LOADS:
        assert fragment in info.stdout
        assert out.is_file()


def test_series_builder_boundary_counts_warnings_and_names_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a builder meets, open_twin gives a layer with counted one-line warnings or a
    one-line error naming the series file, never a raw warning or another exception."""
    import warnings

    from twin_app.errors import InputError
    from twin_app.session import builders

    name, content, kind, _ = LOADS["infinite_values"]
    folder = make_twin(tmp_path / "twin", name, content, kind)
    real = builders.BUILDERS["air"]

    def noisy(series: object, ctx: object) -> object:
        warnings.warn("a library said something odd", RuntimeWarning, stacklevel=1)
        return real(series, ctx)  # type: ignore[arg-type]

    monkeypatch.setitem(builders.BUILDERS, "air", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would fail the test
        load = Session().open_twin(folder)
    (line,) = [w for w in load.warnings if "something odd" in w]
    assert line.startswith(str(folder / name)) and "1x" in line

    def broken(series: object, ctx: object) -> object:
        return 1 / 0

    monkeypatch.setitem(builders.BUILDERS, "air", broken)
    with pytest.raises(InputError) as info:
        Session().open_twin(folder)
    assert str(folder / name) in str(info.value) and "ZeroDivisionError" in str(info.value)
