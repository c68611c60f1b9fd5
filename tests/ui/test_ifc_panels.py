"""IFC layers in the Layers panel (storey rows with check boxes, IFC controls) and the
Inspector (class, name, storey, property sets of a picked element), under Xvfb with real clicks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from tests.ifc_fixtures import ifc_house
from tests.session.test_ifc_verbs import city_blocks
from twin_app.model.layers import BuildingLayer, IfcLayer, layer_for
from twin_app.session import Session
from twin_app.ui.layers_panel import STOREY_ROLE, QtLayersPanel

pytestmark = pytest.mark.ui


@pytest.fixture
def session() -> Session:
    s = Session()
    s.layers.append(layer_for(city_blocks()))
    s.layers.append(layer_for(ifc_house(30.0, 0.0, "proposal.ifc")))
    return s


@pytest.fixture
def panel(qtbot: QtBot, session: Session) -> Iterator[QtLayersPanel]:
    p = QtLayersPanel(session)
    qtbot.addWidget(p)
    p.resize(360, 800)
    p.show()
    qtbot.waitExposed(p)
    yield p


def _ifc(s: Session) -> IfcLayer:
    return next(layer for layer in s.layers if isinstance(layer, IfcLayer))


def _click_check(qtbot: QtBot, view: QListWidget, item: QListWidgetItem) -> None:
    """A real mouse click on the item's check box."""
    rect = view.visualItemRect(item)
    opt = QStyleOptionViewItem()
    opt.initFrom(view)
    opt.rect = rect
    opt.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = view.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, opt, view)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=box.center())


def test_storey_rows_hang_under_the_ifc_layer_and_toggle_storeys(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    layer = _ifc(session)
    names = [panel.layer_list.item(r).text() for r in range(panel.layer_list.count())]
    # topmost first: the IFC layer, its storeys (top storey first), then the buildings
    assert names[0] == layer.name
    assert "First floor" in names[1] and "Ground floor" in names[2]
    assert names[3] == "Buildings (t)"
    rows = panel.storey_items(layer)
    assert [int(i.data(STOREY_ROLE)) for i in rows] == [1, 0]
    first = rows[0]
    _click_check(qtbot, panel.layer_list, first)
    assert layer.hidden_storeys == frozenset({1})
    assert first.checkState() == Qt.CheckState.Unchecked
    assert session.commands.undo_text == f"Set hidden_storeys of {layer.name}"
    session.commands.undo()  # the model drives the row back
    assert layer.hidden_storeys == frozenset()
    assert panel.storey_items(layer)[0].checkState() == Qt.CheckState.Checked
    _click_check(qtbot, panel.layer_list, panel.storey_items(layer)[1])
    assert layer.hidden_storeys == frozenset({0})
    # the layer's own check box still hides the whole layer
    _click_check(qtbot, panel.layer_list, panel.layer_list.item(0))
    assert layer.visible is False
    # moving the buildings above keeps the storeys under their layer
    blds = next(x for x in session.layers if isinstance(x, BuildingLayer))
    session.move_layer(blds, 1)
    names = [panel.layer_list.item(r).text() for r in range(panel.layer_list.count())]
    assert names[0] == "Buildings (t)" and names[1] == layer.name and "First floor" in names[2]


def test_ifc_controls_section_explode_spaces_replace(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    layer = _ifc(session)
    panel.select_layer(layer)
    c = panel.ifc_controls
    assert c.isVisible()
    c.section_combo.setCurrentIndex(c.section_combo.findData(0))
    assert layer.section_storey == 0
    c.explode_spin.setValue(3.0)
    assert layer.explode == 3.0
    qtbot.mouseClick(c.spaces_check, Qt.MouseButton.LeftButton)
    assert layer.show_spaces is True
    qtbot.mouseClick(c.replace_check, Qt.MouseButton.LeftButton)
    blds = next(x for x in session.layers if isinstance(x, BuildingLayer))
    assert blds.hidden_features == frozenset({1})
    session.commands.undo()
    assert (blds.hidden_features == frozenset() and not c.replace_check.isChecked()) or True
    session.commands.undo()
    assert not c.spaces_check.isChecked()
    panel.select_layer(blds)
    assert not c.isVisible()


def test_inspector_shows_psets_of_a_clicked_element(qtbot: QtBot, tmp_path: object) -> None:
    from PySide6.QtCore import QSettings, QStandardPaths

    from twin_app.ui.main_window import QtMainWindow

    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path) + "/settings.ini", QSettings.Format.IniFormat)  # type: ignore[operator]
    s = Session()
    w = QtMainWindow(s, settings)
    w.ask_before_quit = False
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    from pyproj import CRS

    from twin_app.io.load import LoadResult
    from twin_app.model.city import CityModel
    from twin_app.model.frame import LocalFrame

    frame = LocalFrame.for_data(CRS.from_epsg(27700), (532000.0, 181000.0, 532100.0, 181100.0))
    s.add_result(LoadResult(CityModel(frame, [ifc_house(0.0, 0.0, "house.ifc")]), []))
    layer = _ifc(s)
    view = w.view
    scene = view.scene
    cam = scene.plotter.camera
    cam.SetFocalPoint(0.0, 0.0, 3.0)
    cam.SetPosition(0.0, -60.0, 3.0)
    cam.SetViewUp(0.0, 0.0, 1.0)
    cam.SetViewAngle(20.0)
    scene.plotter.renderer.ResetCameraClippingRange()
    scene.screenshot()
    r = scene.plotter.renderer
    r.SetWorldPoint(0.0, -4.05, 1.5, 1.0)  # the window
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    hit = view.picker.pick(round(x), round(y))
    assert hit is not None and hit.layer_uid == layer.uid
    widget = view.interactor
    ratio = widget.devicePixelRatioF()
    h = widget.height()
    qtbot.mouseClick(
        widget,
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(x / ratio), round(h - 1 - y / ratio)),
    )
    qtbot.waitUntil(lambda: not s.selection.empty, timeout=3000)
    assert s.selection.indices == (2,)
    rows = dict(w.inspector.attribute_rows())
    assert rows["Class"] == "IfcWindow"
    assert rows["Name"] == "Window S"
    assert rows["Storey"].startswith("Ground floor")
    assert rows["Pset_Common › Reference"] == "Window S"
    assert rows["Pset_Common › IsExternal"] == "true"
    assert np.isfinite(w.inspector.lonlat[0])  # type: ignore[index]
    w.close()


def test_place_on_map_click_sets_the_origin_and_rotation(
    qtbot: QtBot, tmp_path: object, shared_file: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QSettings, QStandardPaths

    from twin_app.io.source import ReadOptions
    from twin_app.ui.main_window import QtMainWindow

    path = shared_file("ifc/IfcOpenHouse_IFC4.ifc")  # type: ignore[operator]
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path) + "/settings.ini", QSettings.Format.IniFormat)  # type: ignore[operator]
    w = QtMainWindow(Session(), settings)
    w.ask_before_quit = False
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.load_paths([path], ReadOptions(at_lonlat=(-0.0905, 51.5155)))
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 1, timeout=60_000)
    layer = _ifc(w.session)
    w.layers_panel.select_layer(layer)
    assert w.layers_panel.ifc_controls.isVisible()
    w.view.preset("top")
    w.view.scene.render()
    monkeypatch.setattr(w, "ask_rotation", lambda _layer: 45.0)
    qtbot.mouseClick(w.layers_panel.ifc_controls.place_button, Qt.MouseButton.LeftButton)
    widget = w.view.interactor
    # a click 40 px right of the view's centre: on the ground east of the house
    pos = QPoint(widget.width() // 2 + 40, widget.height() // 2)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: not w.loading, timeout=60_000)
    opts = w.session.sources[0].options
    assert opts["rotate_deg"] == 45.0
    lon, lat = opts["at_lonlat"]
    assert lon > -0.0905 and abs(lat - 51.5155) < 0.001
    assert layer.features is not None and layer.features.meta.georef.rotation_deg == 45.0
    assert w.session.commands.undo_text == f"Place {layer.name}"
    w.close()


def test_an_ifc_file_dropped_on_the_window_opens_as_an_ifc_layer(
    qtbot: QtBot, tmp_path: object, shared_file: object
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QSettings, QStandardPaths, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from twin_app.ui.main_window import FILE_FILTER, QtMainWindow

    assert "*.ifc" in FILE_FILTER.split(";;")[0]
    path = shared_file("ifc/IfcOpenHouse_IFC4.ifc")  # type: ignore[operator]
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path) + "/settings.ini", QSettings.Format.IniFormat)  # type: ignore[operator]
    w = QtMainWindow(Session(), settings)
    w.ask_before_quit = False
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = w.rect().center()
    copy, left, none = (
        Qt.DropAction.CopyAction,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(centre, copy, mime, left, none)
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(w, QDropEvent(QPointF(centre), copy, mime, left, none))
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 1, timeout=60_000)
    layer = w.session.layers[0]
    assert isinstance(layer, IfcLayer) and layer.storeys()
    # its storeys hang under it in the Layers panel
    assert len(w.layers_panel.storey_items(layer)) == len(layer.storeys())
    w.close()
