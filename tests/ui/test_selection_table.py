"""Selection table: one row per selected feature, sortable, row click selects, fast for 10k rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.io.load import LoadResult
from twin_app.model.camera import CameraPose
from twin_app.model.city import BUILDINGS, CityModel, FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.session import Selection, Session
from twin_app.ui.selection_table import QtSelectionTable, _SelectionTableModel, useful_columns

pytestmark = pytest.mark.ui


def _session(n: int) -> Session:
    """`n` 8 x 8 m buildings on a 10 m grid; heights 3, 4, 5 ... metres."""
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = (i % side) * 10.0, (i // side) * 10.0
    geoms = shapely.box(x, y, x + 8.0, y + 8.0)
    heights = 3.0 + (i % 50)
    mesh = extrude(polygon_arrays(np.asarray(geoms, dtype=object)), heights)
    table = pd.DataFrame(
        {
            "id": np.array([f"b{k:05d}" for k in i], dtype=object),
            "height_m": heights,
            "empty": np.full(n, np.nan),
            "constant": np.full(n, "same", dtype=object),
            "use": np.where(i % 2 == 0, "office", "housing").astype(object),
            "name": np.array([f"Building {k}" for k in i], dtype=object),
            "levels": (heights // 3).astype(np.int64),
        }
    )
    fs = FeatureSet("Buildings (t)", BUILDINGS, "t", table["id"].to_numpy(object), table, mesh)
    frame = LocalFrame(CRS.from_epsg(28992).to_wkt(), (85000.0, 447000.0, 0.0))
    s = Session()
    s.add_result(LoadResult(CityModel(frame, [fs]), []))
    return s


@pytest.fixture
def table(qtbot: QtBot) -> QtSelectionTable:
    w = QtSelectionTable(_session(100))
    qtbot.addWidget(w)
    w.resize(700, 400)
    w.show()
    qtbot.waitExposed(w)
    return w


def _cell(t: QtSelectionTable, row: int, col: str) -> str:
    m = t.table_model
    return str(m.data(m.index(row, t.columns().index(col))))


def test_lists_the_selected_features_with_useful_columns(table: QtSelectionTable) -> None:
    s = table.session
    assert table.row_count() == 0
    s.select_features(s.layers[0], [5, 7, 60])
    assert table.row_count() == 3
    cols = table.columns()
    assert cols[:2] == ["id", "height_m"]
    assert "name" in cols and "use" in cols and "levels" in cols
    assert "empty" not in cols  # all NaN: skipped
    assert cols.index("constant") > cols.index("levels")  # varying columns first
    assert [_cell(table, r, "id") for r in range(3)] == ["b00005", "b00007", "b00060"]
    assert _cell(table, 2, "height_m") == "13"
    assert table.count_label.text() == "3 features of Buildings (t)"
    s.select_features(s.layers[0], [])
    assert table.row_count() == 0


def test_selecting_a_row_selects_that_feature_and_keeps_the_list(
    qtbot: QtBot, table: QtSelectionTable
) -> None:
    s = table.session
    s.select_features(s.layers[0], [5, 7, 60])
    rect = table.view.visualRect(table.table_model.index(1, 0))
    qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert s.selection == Selection(s.layers[0].uid, (7,))
    assert table.row_count() == 3  # the list stays for the next pick
    table.select_row(2)
    assert s.selection == Selection(s.layers[0].uid, (60,))
    # A new selection from elsewhere (the 3D view) replaces the list.
    s.select_features(s.layers[0], [1, 2])
    assert table.row_count() == 2


def test_sorting_by_a_column(table: QtSelectionTable) -> None:
    s = table.session
    s.select_features(s.layers[0], [0, 49, 10, 51])  # heights 3, 52, 13, 4
    h = table.columns().index("height_m")
    table.view.sortByColumn(h, Qt.SortOrder.DescendingOrder)
    assert [table.feature_at(r) for r in range(4)] == [49, 10, 51, 0]
    table.view.sortByColumn(table.columns().index("name"), Qt.SortOrder.AscendingOrder)
    # text order: "Building 0" < "Building 10" < "Building 49" < "Building 51"
    assert [table.feature_at(r) for r in range(4)] == [0, 10, 49, 51]
    table.select_row(0)
    assert s.selection.indices == (0,)
    # The sort persists for the next selection.
    s.select_features(s.layers[0], [3, 2, 1])
    assert [table.feature_at(r) for r in range(3)] == [1, 2, 3]


def test_double_click_flies_to_the_feature(qtbot: QtBot, table: QtSelectionTable) -> None:
    s = table.session
    s.select_features(s.layers[0], [0, 11])
    poses: list[CameraPose] = []
    s.camera.events.flight.connect(lambda f: poses.append(f.end) if f is not None else None)
    rect = table.view.visualRect(table.table_model.index(1, 0))
    # A real double-click is press, release, double-click: the view wants the first press.
    qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(poses) == 1, "double-click did not ask for one fly-to"
    # feature 11: grid side 10, so x = 10, y = 10; 8 m box, height 14 m
    assert poses[-1].focal_point == pytest.approx((14.0, 14.0, 7.0))


def test_ten_thousand_rows_populate_lazily(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fast because lazy: a selection of 10.5k rows asks the model only for the rows in view,
    # and sorting is one argsort, not a Python loop over rows (the times are in the benchmarks)
    s = _session(12_000)
    w = QtSelectionTable(s)
    qtbot.addWidget(w)
    w.resize(800, 500)
    w.show()
    qtbot.waitExposed(w)
    asked: list[int] = []
    real_data = _SelectionTableModel.data

    def data_spy(self: _SelectionTableModel, index: Any, role: int = 0) -> Any:
        asked.append(index.row())
        return real_data(self, index, role)

    monkeypatch.setattr(_SelectionTableModel, "data", data_spy)
    rows = np.arange(10_500)
    s.select_features(s.layers[0], rows)
    w.view.viewport().repaint()
    assert w.row_count() == 10_500
    assert asked, "the view never asked the model for a cell"
    # the rows in view, plus those Qt samples to size columns to their contents (at most
    # resizeContentsPrecision, 1000 by default): never all 10.5k
    assert len(set(asked)) <= 1000, f"the model was asked for {len(set(asked))} rows"
    asked.clear()
    w.view.sortByColumn(w.columns().index("height_m"), Qt.SortOrder.DescendingOrder)
    w.view.viewport().repaint()
    assert len(set(asked)) <= 1000
    assert _cell(w, 0, "height_m") == "52"


def test_useful_columns_prefers_named_columns() -> None:
    t = pd.DataFrame(
        {
            "id": ["a", "b"],
            "zz": [1, 2],
            "highway": ["primary", "service"],
            "blank": [None, None],
            "lanes": [2, 2],
        }
    )
    assert useful_columns(t) == ["highway", "lanes", "zz"]
    assert useful_columns(t, limit=1) == ["highway"]


def test_a_deleted_table_stops_listening() -> None:
    import shiboken6

    s = _session(3)
    w = QtSelectionTable(s)
    shiboken6.delete(w)
    s.select_features(s.layers[0], [0, 1])  # no RuntimeError
    assert s.selection.indices == (0, 1)
