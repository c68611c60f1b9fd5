"""Twin manifests: the clock a twin opens with, and one-line errors for bad times and zones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import DEFAULT_RATE, SAMPLE_DIR, read_manifest

HEAD = """
schema_version = 1
name = "Test twin"
timezone = "{tz}"
{extra}

[[sources]]
path = "city.osm.pbf"
licence = "ODbL"
attribution = "OSM"
"""


def write(tmp_path: Path, tz: str = "UTC", extra: str = "", tail: str = "") -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(HEAD.format(tz=tz, extra=extra) + tail, encoding="utf-8")
    return path


def test_the_sample_twin_opens_at_eight_london_time_at_600x() -> None:
    m = read_manifest(SAMPLE_DIR)
    assert m.start_ns == pd.Timestamp("2026-03-02T08:00", tz="Europe/London").value
    assert m.clock.rate == 600
    assert m.replay_start_ns == pd.Timestamp("2026-03-02T00:00Z").value


def test_clock_start_is_the_twins_local_time_unless_it_has_an_offset(tmp_path: Path) -> None:
    la = 'replay_start = "2026-03-02T08:00:00Z"\n[clock]\nstart = "2026-03-02T08:00"\nrate = 60'
    m = read_manifest(write(tmp_path, "America/Los_Angeles", la))
    assert m.start_ns == pd.Timestamp("2026-03-02T16:00Z").value  # 08:00 PST = 16:00 UTC
    assert m.clock.rate == 60
    offset = '[clock]\nstart = "2026-03-02T08:00+01:00"'
    m = read_manifest(write(tmp_path, "America/Los_Angeles", offset))
    assert m.start_ns == pd.Timestamp("2026-03-02T07:00Z").value


def test_defaults_keep_the_old_behaviour(tmp_path: Path) -> None:
    m = read_manifest(write(tmp_path, "UTC", 'replay_start = "2026-03-02T00:00:00Z"'))
    assert m.start_ns == pd.Timestamp("2026-03-02T08:00Z").value  # replay start + 8 h
    assert m.clock.rate == DEFAULT_RATE == 600
    assert read_manifest(write(tmp_path)).start_ns is None  # nothing to seek to


@pytest.mark.parametrize(
    ("tz", "extra", "key"),
    [
        ("Europe/Londres", "", "'timezone'"),
        ("UTC", '[clock]\nstart = "next monday"', "'clock.start'"),
        ("UTC", '[clock]\nstart = "2026-13-45T08:00"', "'clock.start'"),
        ("UTC", 'replay_start = "yesterday"', "'replay_start'"),
        ("UTC", "[clock]\nrate = 0", "'clock.rate'"),
        ("UTC", '[clock]\nstarts = "2026-03-02T08:00"', "'clock.starts'"),
    ],
)
def test_bad_times_and_zones_are_one_line_naming_file_and_key(
    tmp_path: Path, tz: str, extra: str, key: str
) -> None:
    path = write(tmp_path, tz, extra)
    with pytest.raises(InputError) as err:
        read_manifest(path)
    text = str(err.value)
    assert text.startswith(str(path)) and key in text and "\n" not in text


def test_bad_series_start_names_the_series(tmp_path: Path) -> None:
    series = """
[[series]]
kind = "traffic"
path = "t.parquet"
name = "T"
source_start = "2012-02-30T08:00:00Z"
what = "w"
measured_in = "m"
source = "s"
licence = "l"
attribution = "a"
"""
    with pytest.raises(InputError) as err:
        read_manifest(write(tmp_path, tail=series))
    assert "'series.0.source_start'" in str(err.value)


SERIES_WITH_ALERTS = """
[[series]]
kind = "air"
path = "a.parquet"
name = "A"
what = "w"
measured_in = "m"
source = "s"
licence = "l"
attribution = "a"
alerts = [{alerts}]
"""


def test_alert_severity_and_silence_keys(tmp_path: Path) -> None:
    alerts = (
        '{ name = "high", threshold = 1.0, severity = "critical" }, '
        '{ name = "quiet", silent_s = 600 }, { name = "plain", threshold = 2.0 }'
    )
    m = read_manifest(write(tmp_path, tail=SERIES_WITH_ALERTS.format(alerts=alerts)))
    got = [(a.name, a.threshold, a.silent_s, a.severity) for a in m.series[0].alerts]
    assert got == [
        ("high", 1.0, None, "critical"),
        ("quiet", None, 600.0, "warning"),
        ("plain", 2.0, None, "warning"),
    ]
    sample = {a.severity for s in read_manifest(SAMPLE_DIR).series for a in s.alerts}
    assert sample == {"info", "warning", "critical"}


@pytest.mark.parametrize(
    ("alert", "key"),
    [
        ('{ name = "x", threshold = 1.0, severity = "urgent" }', "series.0.alerts.0.severity"),
        ('{ name = "x" }', "series.0.alerts.0"),
        ('{ name = "x", threshold = 1.0, silent_s = 60 }', "series.0.alerts.0"),
        ('{ name = "x", silent_s = -5 }', "series.0.alerts.0.silent_s"),
    ],
)
def test_bad_alert_keys_are_one_line_naming_the_key(tmp_path: Path, alert: str, key: str) -> None:
    with pytest.raises(InputError) as err:
        read_manifest(write(tmp_path, tail=SERIES_WITH_ALERTS.format(alerts=alert)))
    assert f"key {key!r}" in str(err.value) and "\n" not in str(err.value)
