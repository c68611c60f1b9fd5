"""Sensor position tables: ids stay text, lon/lat are numbers, a missing column is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.sensor_positions import read_sensor_positions


def test_the_sample_detectors_and_stations() -> None:
    det = read_sensor_positions(SAMPLE_DIR / "metr_la_sensors.csv")
    assert len(det) == 207 and det["sensor_id"].iloc[0] == "773869"
    assert det["lon"].dtype == np.float64 and det["lon"].between(-118.6, -118.1).all()
    assert "free_flow_mph" in det
    st = read_sensor_positions(SAMPLE_DIR / "beijing_stations.csv", "station")
    assert len(st) == 12 and st["station"].iloc[0] == "Aotizhongxin"


def test_leading_zeros_and_bad_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sensor_id,lon,lat\n0717,-0.1,51.5\n0718,east,51.6\n", encoding="utf-8")
    t = read_sensor_positions(path)
    assert list(t["sensor_id"]) == ["0717", "0718"]
    assert np.isnan(t["lon"].iloc[1]) and t["lat"].iloc[1] == 51.6


def test_missing_columns_and_files_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,x,y\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_sensor_positions(path)
    assert str(path) in str(err.value) and "sensor_id, lon, lat" in str(err.value)
    with pytest.raises(InputError, match="no such sensor positions file"):
        read_sensor_positions(tmp_path / "none.csv")
