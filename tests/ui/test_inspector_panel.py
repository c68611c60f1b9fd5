"""Inspector panel: the selected feature's id, height, lon/lat, attributes, fly-to and sensor hook."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.io.load import LoadResult
from twin_app.model.camera import CameraPose
from twin_app.model.city import BUILDINGS, CityModel, FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.session import Session
from twin_app.ui.inspector_panel import MAX_VALUE_CHARS, QtInspectorPanel

pytestmark = pytest.mark.ui

ORIGIN = (85000.0, 447000.0, 0.0)  # RD New (EPSG:28992), Amsterdam
LONG = "A very long description " * 10


def _session() -> Session:
    # Three 10 x 20 m footprints (local metres), 30 m apart, heights 12, 61.5, 8.
    x = np.array([0.0, 30.0, 60.0])
    geoms = shapely.box(x, 0.0, x + 10.0, 20.0)
    heights = np.array([12.0, 61.5, 8.0])
    mesh = extrude(polygon_arrays(np.asarray(geoms, dtype=object)), heights)
    table = pd.DataFrame(
        {
            "id": ["b0", "b1", "b2"],
            "height_m": heights,
            "height_source": ["data", "data", "default"],
            "name": ["Town Hall", None, LONG],
            "levels": [4.0, np.nan, 2.0],
        }
    )
    fs = FeatureSet("Buildings (t)", BUILDINGS, "t", table["id"].to_numpy(object), table, mesh)
    frame = LocalFrame(CRS.from_epsg(28992).to_wkt(), ORIGIN)
    s = Session()
    s.add_result(LoadResult(CityModel(frame, [fs]), []))
    return s


@pytest.fixture
def panel(qtbot: QtBot) -> QtInspectorPanel:
    w = QtInspectorPanel(_session())
    qtbot.addWidget(w)
    w.show()
    return w


def test_one_feature_shows_id_height_and_lonlat(panel: QtInspectorPanel) -> None:
    s = panel.session
    s.select_features(s.layers[0], [1])
    assert panel.title_label.text() == "Buildings (t)"
    assert panel.id_label.text() == "b1"
    assert panel.height_label.text() == "61.5 m"
    # The footprint centre in RD New, projected independently to WGS 84.
    to_ll = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(ORIGIN[0] + 35.0, ORIGIN[1] + 10.0)
    assert panel.lonlat == pytest.approx((lon, lat), abs=1e-9)
    assert panel.lonlat_label.text() == f"{lon:.6f}, {lat:.6f}"
    assert 4.0 < lon < 5.5 and 52.0 < lat < 52.6  # Amsterdam
    s.select_features(s.layers[0], [2])
    assert panel.height_label.text() == "8.0 m (default)"


def test_attributes_table_blank_nan_and_elided_long_text(panel: QtInspectorPanel) -> None:
    s = panel.session
    s.select_features(s.layers[0], [1])
    table = panel.attributes
    keys = [table.item(r, 0).text() for r in range(table.rowCount())]
    values = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert keys == ["id", "height_m", "height_source", "name", "levels"]
    assert values == ["b1", "61.5", "data", "", ""]  # None and NaN shown empty
    s.select_features(s.layers[0], [2])
    item = panel.attributes.item(3, 1)
    assert len(item.text()) == MAX_VALUE_CHARS and item.text().endswith("…")
    assert item.toolTip() == LONG


def test_copy_puts_tab_separated_attributes_on_the_clipboard(panel: QtInspectorPanel) -> None:
    s = panel.session
    s.select_features(s.layers[0], [0])
    panel.copy_action.trigger()
    text = QGuiApplication.clipboard().text()
    assert text.splitlines() == [
        "id\tb0",
        "height_m\t12",
        "height_source\tdata",
        "name\tTown Hall",
        "levels\t4",
    ]


def test_fly_to_emits_a_pose_looking_at_the_feature_centre(
    qtbot: QtBot, panel: QtInspectorPanel
) -> None:
    s = panel.session
    s.select_features(s.layers[0], [1])
    poses: list[CameraPose] = []
    s.camera.events.flight.connect(lambda f: poses.append(f.end) if f is not None else None)
    qtbot.mouseClick(panel.fly_button, Qt.MouseButton.LeftButton)
    assert len(poses) == 1
    assert poses[0].focal_point == pytest.approx((35.0, 10.0, 61.5 / 2))
    assert poses[0].position[2] > 61.5  # looking down at it


def test_multi_selection_and_nothing(panel: QtInspectorPanel) -> None:
    s = panel.session
    assert panel.title_label.text() == "Nothing selected"
    s.select_features(s.layers[0], [0, 1, 2])
    assert panel.title_label.text().startswith("3 features selected")
    assert panel.details.isHidden() and panel.index is None
    s.select_features(s.layers[0], [])
    assert panel.title_label.text() == "Nothing selected"


def _ns(*stamps: str) -> np.ndarray:
    return np.array([np.datetime64(t, "ns") for t in stamps]).astype(np.int64)


def test_sensor_series_shows_latest_value_in_local_time_and_a_sparkline(
    panel: QtInspectorPanel,
) -> None:
    s = panel.session
    s.select_features(s.layers[0], [0])
    t = _ns("2024-05-01T10:00", "2024-05-01T10:10", "2024-05-01T10:20", "2024-05-01T10:30")
    v = np.array([10.0, 20.0, 42.3, np.nan])  # the last sample is missing
    panel.set_sensor_series(t[::-1], v[::-1], "µg/m³")  # unordered input is sorted
    assert not panel.sensor_box.isHidden()
    assert panel.sensor_value_label.text() == "42.3 µg/m³"
    assert panel.sensor_latest == (int(t[2]), 42.3)
    local = datetime(2024, 5, 1, 10, 20, tzinfo=UTC).astimezone()
    assert panel.sensor_time_label.text() == f"at {local:%Y-%m-%d %H:%M:%S}"
    img = panel.sparkline_image()
    assert not img.isNull()
    alpha = np.array(
        [[img.pixelColor(x, y).alpha() for x in range(img.width())] for y in range(img.height())]
    )
    drawn = alpha > 0
    assert drawn.any()
    # Rising series: the right end of the line is near the top, the left end near the bottom.
    ys, xs = np.nonzero(drawn)
    right = ys[xs > 0.6 * img.width()]
    left = ys[xs < 0.2 * img.width()]
    assert right.size and left.size and right.mean() < left.mean()


def test_sensor_series_is_cleared_by_a_new_selection_in_either_order(
    qtbot: QtBot, panel: QtInspectorPanel
) -> None:
    s = panel.session
    s.select_features(s.layers[0], [0])
    panel.set_sensor_series(_ns("2024-01-01T00:00"), np.array([3.0]), "°C")
    assert panel.sensor_value_label.text() == "3.00 °C"
    s.select_features(s.layers[0], [1])
    assert panel.sensor_box.isHidden() and panel.sensor_latest is None

    # A listener connected before the panel sets the series for the new feature before the
    # panel hears of the change: the series stays.
    fresh = _session()
    panels: list[QtInspectorPanel] = []
    fresh.selection_changed.connect(
        lambda _sel: panels[0].set_sensor_series(_ns("2024-01-01T00:00"), np.array([1.0]), "m")
    )
    panels.append(QtInspectorPanel(fresh))
    qtbot.addWidget(panels[0])
    fresh.select_features(fresh.layers[0], [2])
    assert not panels[0].sensor_box.isHidden() and panels[0].sensor_latest is not None
    # ... and one connected after the panel does the same.
    fresh.selection_changed.connect(
        lambda _sel: panels[0].set_sensor_series(_ns("2024-01-01T00:00"), np.array([2.0]), "m")
    )
    fresh.select_features(fresh.layers[0], [0])
    assert panels[0].sensor_latest is not None and panels[0].sensor_latest[1] == 2.0


def test_sensor_series_edge_cases(panel: QtInspectorPanel) -> None:
    panel.set_sensor_series(np.zeros(0, np.int64), np.zeros(0), "kW")
    assert panel.sensor_value_label.text() == "no data kW"
    many = np.arange(100_000, dtype=np.int64) * 1_000_000_000
    panel.set_sensor_series(many, np.sin(np.arange(100_000) / 1000.0), "kW")
    assert panel.sensor_latest is not None and panel.sensor_latest[0] == int(many[-1])
    with pytest.raises(ValueError, match="equal length"):
        panel.set_sensor_series(np.zeros(3, np.int64), np.zeros(2), "kW")
    panel.clear_sensor_series()
    assert panel.sensor_box.isHidden()
