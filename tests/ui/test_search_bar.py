"""Search bar: Enter searches ids and attributes, hits in a popup, choosing one selects and flies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.io.load import LoadResult
from twin_app.model.camera import CameraPose
from twin_app.model.city import BUILDINGS, ROADS, CityModel, FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.mesh import TriMesh
from twin_app.session import Selection, Session
from twin_app.ui.search_bar import PLACEHOLDER, QtSearchBar

pytestmark = pytest.mark.ui


def _set(name: str, kind: str, table: pd.DataFrame, heights: np.ndarray) -> FeatureSet:
    n = len(table)
    x = np.arange(n) * 20.0
    geoms = shapely.box(x, 0.0, x + 10.0, 10.0)
    mesh = extrude(polygon_arrays(np.asarray(geoms, dtype=object)), heights)
    if kind == ROADS:  # roads name their per-triangle feature index differently
        mesh = TriMesh(
            mesh.points, mesh.triangles, {"segment_index": mesh.cell_data["building_index"]}
        )
    return FeatureSet(name, kind, "t", table["id"].to_numpy(object), table, mesh)


def _session() -> Session:
    heights = np.array([12.0, 61.5, 120.0, 9.0])
    buildings = pd.DataFrame(
        {
            "id": ["B12", "b1", "tower-12", "x9"],
            "height_m": heights,
            "name": ["Town Hall", "Office", "Tower", "Annex of B12"],
        }
    )
    roads = pd.DataFrame({"id": ["r1", "r2"], "highway": ["primary", "residential"]})
    frame = LocalFrame(CRS.from_epsg(28992).to_wkt(), (85000.0, 447000.0, 0.0))
    s = Session()
    s.add_result(
        LoadResult(
            CityModel(
                frame,
                [
                    _set("Buildings (t)", BUILDINGS, buildings, heights),
                    _set("Roads (t)", ROADS, roads, np.full(2, 0.2)),
                ],
            ),
            [],
        )
    )
    return s


@pytest.fixture
def window(qtbot: QtBot) -> QMainWindow:
    w = QMainWindow()
    w.setCentralWidget(QtSearchBar(_session()))
    qtbot.addWidget(w)
    w.resize(600, 200)
    w.show()
    qtbot.waitExposed(w)
    return w


def _bar(w: QMainWindow) -> QtSearchBar:
    bar = w.centralWidget()
    assert isinstance(bar, QtSearchBar)
    return bar


def _search(qtbot: QtBot, bar: QtSearchBar, text: str) -> list[str]:
    bar.line_edit.clear()
    qtbot.keyClicks(bar.line_edit, text)
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Return)
    return [bar.popup.item(i).text() for i in range(bar.popup.count())]


def test_enter_searches_ids_first_and_lists_hits(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    assert bar.line_edit.placeholderText() == PLACEHOLDER
    rows = _search(qtbot, bar, "b12")
    assert rows == ["Buildings (t) · B12 · id=B12", "Buildings (t) · x9 · name=Annex of B12"]
    assert bar.popup.isVisible()
    assert bar.status_label.text() == "2 matches"
    assert _search(qtbot, bar, "FICE") == ["Buildings (t) · b1 · name=Office"]
    bar.popup.hide()
    assert _search(qtbot, bar, "12")[:2] == [
        "Buildings (t) · B12 · id=B12",
        "Buildings (t) · tower-12 · id=tower-12",
    ]


def test_conditions(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    assert _search(qtbot, bar, "height_m>50") == [
        "Buildings (t) · b1 · height_m=61.5",
        "Buildings (t) · tower-12 · height_m=120",
    ]
    assert _search(qtbot, bar, "highway=primary") == ["Roads (t) · r1 · highway=primary"]
    assert bar.status_label.text() == "1 match"


def test_no_match_and_limit(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    assert _search(qtbot, bar, "nowhere") == []
    assert bar.status_label.text() == "no match" and not bar.popup.isVisible()
    bar.limit = 2
    assert len(_search(qtbot, bar, "height_m>0")) == 2
    assert bar.status_label.text() == "4 matches (showing 2)"


def test_clicking_a_hit_selects_and_flies(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    s = bar.session
    poses: list[CameraPose] = []
    s.camera.events.flight.connect(lambda f: poses.append(f.end) if f is not None else None)
    _search(qtbot, bar, "height_m>50")
    item = bar.popup.item(1)
    with qtbot.waitSignal(bar.hit_chosen) as chosen:
        qtbot.mouseClick(
            bar.popup.viewport(),
            Qt.MouseButton.LeftButton,
            pos=bar.popup.visualItemRect(item).center(),
        )
    assert chosen.args is not None and chosen.args[0].feature_id == "tower-12"
    assert s.selection == Selection(s.layers[0].uid, (2,))
    assert len(poses) == 1
    assert poses[0].focal_point == pytest.approx((45.0, 5.0, 60.0))
    assert not bar.popup.isVisible()


def test_keyboard_down_and_enter_in_the_popup(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    s = bar.session
    _search(qtbot, bar, "r")
    assert bar.popup.isVisible() and bar.popup.currentRow() == 0
    qtbot.keyClick(bar.popup, Qt.Key.Key_Down)
    assert bar.popup.currentRow() == 1
    qtbot.keyClick(bar.popup, Qt.Key.Key_Return)
    hit = bar.hits[1]
    layer = s.find_layer(hit.layer_uid)
    assert layer is not None and s.selection == Selection(layer.uid, (hit.index,))
    assert not bar.popup.isVisible()


def test_typing_in_the_open_popup_goes_on_in_the_field(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    _search(qtbot, bar, "r")
    assert bar.popup.isVisible()
    qtbot.keyClick(bar.popup, Qt.Key.Key_1)
    assert not bar.popup.isVisible() and bar.line_edit.text() == "r1"
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Return)
    assert bar.popup.isVisible() and bar.hits[0].feature_id == "r1"
    qtbot.keyClick(bar.popup, Qt.Key.Key_Escape)
    assert not bar.popup.isVisible() and bar.line_edit.text() == "r1"


def test_ctrl_f_focuses_the_field(qtbot: QtBot, window: QMainWindow) -> None:
    bar = _bar(window)
    bar.line_edit.setText("old query")
    other = bar.status_label
    other.setFocus()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(bar.line_edit.hasFocus, timeout=3000)
    assert bar.line_edit.selectedText() == "old query"
    bar.line_edit.clearFocus()
    bar.focus_search()
    qtbot.waitUntil(bar.line_edit.hasFocus, timeout=3000)


def test_empty_session_says_nothing_loaded(qtbot: QtBot) -> None:
    bar = QtSearchBar(Session())
    qtbot.addWidget(bar)
    assert bar.run_search("x") == [] and bar.status_label.text() == "nothing loaded to search"
    assert bar.run_search("") == [] and bar.status_label.text() == ""
