"""The layers panel under Xvfb: rows follow the session, edits are undoable, the model drives it back."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QColorDialog, QListWidgetItem, QWidget
from pytestqt.qtbot import QtBot
from shapely.geometry import Polygon

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.io.load import LoadResult
from twin_app.model.city import BUILDINGS, OBJECTS, ROADS, CityModel, FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer
from twin_app.session import Session
from twin_app.ui.layers_panel import SHOWN_FIELDS, QtLayersPanel

pytestmark = pytest.mark.ui


def _result() -> LoadResult:
    """Buildings (heights 10, 20, 40, unknown), roads, and typed city objects; 4 features each."""
    geoms = np.array(
        [Polygon([(x, 0), (x + 8, 0), (x + 8, 8), (x, 8)]) for x in (0, 10, 20, 30)], dtype=object
    )
    mesh = extrude(polygon_arrays(geoms), np.array([10.0, 20.0, 40.0, 5.0]))
    ids = np.array(["a", "b", "c", "d"], object)
    table = pd.DataFrame(
        {
            "id": ids,
            "height_m": [10.0, 20.0, 40.0, np.nan],
            "levels": [3.0, 6.0, 12.0, 2.0],
            "type": ["Building", "WaterBody", "Bridge", "Building"],
        }
    )
    b = FeatureSet("Buildings", BUILDINGS, "city.gpkg:buildings", ids, table, mesh)
    r = FeatureSet("Roads", ROADS, "city.gpkg:roads", ids, table.drop(columns="type"), mesh)
    o = FeatureSet("Objects", OBJECTS, "delft.city.json", ids, table.copy(), mesh)
    from pyproj import CRS

    frame = LocalFrame(CRS.from_epsg(28992).to_wkt(), (85000.0, 447000.0, 0.0))
    return LoadResult(CityModel(frame, [b, r, o]), [])


@pytest.fixture
def session() -> Session:
    s = Session()
    s.add_result(_result())
    s.commands.clear()  # tests count their own undo steps
    return s


@pytest.fixture
def panel(qtbot: QtBot, session: Session) -> Iterator[QtLayersPanel]:
    p = QtLayersPanel(session)
    qtbot.addWidget(p)
    p.resize(360, 700)
    p.show()
    qtbot.waitExposed(p)
    yield p


def _names(p: QtLayersPanel) -> list[str]:
    return [p.layer_list.item(r).text() for r in range(p.layer_list.count())]


def _bound_fields(p: QtLayersPanel, layer: Layer) -> list[str]:
    """The layer fields whose signal calls the panel, sorted."""
    return sorted(
        f for f in layer.events if partial(p._on_layer_change, layer, f) in getattr(layer.events, f)
    )


def _layer(s: Session, name: str) -> Layer:
    return next(layer for layer in s.layers if layer.name == name)


def _item(p: QtLayersPanel, layer: Layer) -> QListWidgetItem:
    return next(
        p.layer_list.item(r)
        for r in range(p.layer_list.count())
        if p.layer_list.item(r).text() == layer.name
    )


def _image(item: QListWidgetItem) -> QImage:
    return item.icon().pixmap(24, 16).toImage()


def _focus_list(qtbot: QtBot, p: QtLayersPanel) -> None:
    p.activateWindow()
    p.layer_list.setFocus()
    qtbot.waitUntil(p.layer_list.hasFocus)


def test_rows_show_layers_topmost_first_and_follow_the_list(
    panel: QtLayersPanel, session: Session
) -> None:
    # session.layers is drawn bottom to top; the panel shows the topmost layer first.
    assert [layer.name for layer in session.layers] == ["Buildings", "Roads", "Objects"]
    assert _names(panel) == ["Objects", "Roads", "Buildings"]
    tip = _item(panel, _layer(session, "Roads")).toolTip()
    assert "roads" in tip and "Features: 4" in tip and "city.gpkg:roads" in tip
    assert all(
        _item(panel, layer).checkState() == Qt.CheckState.Checked for layer in session.layers
    )
    # A second load adds rows on top.
    added = session.add_result(_result())
    assert panel.layer_list.count() == 6
    assert _names(panel)[:3] == ["Objects", "Roads", "Buildings"]
    roads = _layer(session, "Roads")
    # The panel listens to the fields it shows, not to the whole group: the group's one
    # listener is the EventedList itself, which re-emits child events.
    shown = sorted(f for f in roads.events if f in SHOWN_FIELDS)
    assert "values" not in shown and "name" in shown
    assert _bound_fields(panel, roads) == shown and len(roads.events.all) == 1
    # Removed from code: the row goes and the panel stops listening to the layer.
    session.remove_layer(roads)
    assert "Roads" not in _names(panel)[3:] and panel.layer_list.count() == 5
    assert _bound_fields(panel, roads) == [] and len(roads.events.all) == 0
    session.commands.undo()
    assert _names(panel)[4] == "Roads" and _bound_fields(panel, roads) == shown
    assert len(roads.events.all) == 1
    session.commands.undo()  # undo the second load
    assert panel.layer_list.count() == 3
    assert all(len(a.events.all) == 0 and _bound_fields(panel, a) == [] for a in added)


def test_checkbox_sets_visible_and_undo_restores_it(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    roads = _layer(session, "Roads")
    item = _item(panel, roads)
    item.setCheckState(Qt.CheckState.Unchecked)  # what a click on the box does
    assert roads.visible is False
    assert session.commands.undo_text == "Set visible of Roads"
    session.commands.undo()
    assert roads.visible is True and item.checkState() == Qt.CheckState.Checked
    # Space on the selected row toggles it too.
    panel.select_layer(roads)
    _focus_list(qtbot, panel)
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Space)
    assert roads.visible is False and item.checkState() == Qt.CheckState.Unchecked
    session.commands.undo()
    assert item.checkState() == Qt.CheckState.Checked


def test_opacity_drag_is_one_undo_step(panel: QtLayersPanel, session: Session) -> None:
    buildings = _layer(session, "Buildings")
    panel.select_layer(buildings)
    assert panel.opacity_slider.value() == 100 and panel.opacity_label.text() == "100 %"
    for value in (90, 75, 60, 42):  # a drag emits valueChanged for every position
        panel.opacity_slider.setValue(value)
    assert buildings.opacity == pytest.approx(0.42)
    assert panel.opacity_label.text() == "42 %"
    assert len(session.commands.texts()["undo"]) == 1
    session.commands.undo()
    assert buildings.opacity == 1.0
    assert panel.opacity_slider.value() == 100 and panel.opacity_label.text() == "100 %"
    assert not session.commands.can_undo


def test_model_changes_update_widgets_without_commands(
    panel: QtLayersPanel, session: Session
) -> None:
    buildings = _layer(session, "Buildings")
    panel.select_layer(buildings)
    buildings.opacity = 0.333
    assert panel.opacity_slider.value() == 33 and panel.opacity_label.text() == "33 %"
    assert buildings.opacity == 0.333  # the slider's rounded value did not echo back
    buildings.visible = False
    assert _item(panel, buildings).checkState() == Qt.CheckState.Unchecked
    buildings.color_by = "levels"
    assert panel.color_by_combo.currentData() == "levels"
    assert panel.legend_title.text().startswith("levels")
    buildings.colormap = "magma"
    assert panel.colormap_combo.currentText() == "magma"
    buildings.clim = (1.0, 9.0)
    assert not panel.clim_auto.isChecked()
    assert (panel.clim_min.value(), panel.clim_max.value()) == (1.0, 9.0)
    assert panel.clim_min.isEnabled()
    buildings.name = "Houses"
    assert "Houses" in _names(panel)
    # A colour map outside the curated list is added so the combo still tells the truth.
    buildings.colormap = "twilight"
    assert panel.colormap_combo.currentText() == "twilight"
    assert not session.commands.can_undo  # nothing the panel did was a user edit


def test_colour_by_and_colormap_update_layer_icon_and_legend(
    panel: QtLayersPanel, session: Session
) -> None:
    buildings = _layer(session, "Buildings")
    panel.select_layer(buildings)
    assert [panel.color_by_combo.itemData(i) for i in range(panel.color_by_combo.count())] == [
        "solid",
        "surface",
        "type",
        "height_m",
        "levels",
    ]
    # Default BuildingLayer: height_m with Blues, auto limits over 10, 20, 40 (NaN left out).
    assert panel.color_by_combo.currentData() == "height_m"
    assert "height_m" in panel.legend_title.text() and "2–98 %" in panel.legend_title.text()
    lo, hi = np.percentile([10.0, 20.0, 40.0], [2, 98])
    assert panel.legend_min.text() == f"{lo:.4g}" and panel.legend_max.text() == f"{hi:.4g}"
    assert panel.legend_nodata.isVisibleTo(panel) and "no data (1)" in panel.legend_nodata.text()
    assert panel.colormap_combo.count() == 12 and not panel.colormap_combo.itemIcon(0).isNull()
    icon_before = _image(_item(panel, buildings))
    bar_before = panel.legend_bar.pixmap().toImage()

    assert buildings.colormap == "Blues"
    panel.colormap_combo.setCurrentIndex(panel.colormap_combo.findData("viridis"))
    assert buildings.colormap == "viridis"
    assert _image(_item(panel, buildings)) != icon_before
    assert panel.legend_bar.pixmap().toImage() != bar_before
    # The gradient's right end is the colour map's last colour (viridis: yellow).
    bar = panel.legend_bar.pixmap().toImage()
    end = bar.pixelColor(bar.width() - 3, bar.height() // 2)
    assert end.red() > 200 and end.green() > 200 and end.blue() < 80

    panel.color_by_combo.setCurrentIndex(panel.color_by_combo.findData("type"))
    assert buildings.color_by == "type"
    assert panel.legend_title.text() == "Object type"
    assert not panel.legend_scalar.isVisibleTo(panel) and panel.legend_list.isVisibleTo(panel)
    legend = {
        panel.legend_list.item(i).text(): panel.legend_list.item(i)
        .icon()
        .pixmap(14, 14)
        .toImage()
        .pixelColor(7, 7)
        .name()
        for i in range(panel.legend_list.count())
    }
    assert legend == {"Bridge": "#9c8f80", "Building": "#e8e2d4", "WaterBody": "#5b8fc7"}
    assert not panel.colormap_combo.isVisibleTo(panel)

    panel.color_by_combo.setCurrentIndex(panel.color_by_combo.findData("surface"))
    labels = [panel.legend_list.item(i).text() for i in range(panel.legend_list.count())]
    assert labels == ["wall", "roof"]
    session.commands.undo()
    session.commands.undo()
    assert buildings.color_by == "height_m" and panel.color_by_combo.currentData() == "height_m"
    assert panel.legend_scalar.isVisibleTo(panel)


def test_solid_colour_button(
    panel: QtLayersPanel, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roads = _layer(session, "Roads")
    buildings = _layer(session, "Buildings")
    panel.select_layer(buildings)
    assert not panel.color_button.isVisibleTo(panel)  # coloured by height
    panel.select_layer(roads)
    assert panel.color_button.isVisibleTo(panel) and panel.color_button.text() == "#6e737a"
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor("#ff0000"))
    panel.color_button.click()
    assert roads.color == "#ff0000"
    item_color = _image(_item(panel, roads)).pixelColor(8, 8)
    assert item_color.name() == "#ff0000"
    assert panel.legend_list.item(0).text() == "Roads"
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor())  # cancelled
    panel.color_button.click()
    assert roads.color == "#ff0000"
    session.commands.undo()
    assert roads.color == "#6e737a" and panel.color_button.text() == "#6e737a"


def test_clim_auto_and_spinboxes(panel: QtLayersPanel, session: Session) -> None:
    buildings = _layer(session, "Buildings")
    panel.select_layer(buildings)
    assert panel.clim_auto.isChecked() and not panel.clim_min.isEnabled()
    auto = (panel.clim_min.value(), panel.clim_max.value())
    panel.clim_auto.setChecked(False)  # fix the limits at the current data range
    assert buildings.clim == pytest.approx(auto)
    assert panel.clim_min.isEnabled() and panel.clim_max.isEnabled()
    panel.clim_max.setValue(100.0)
    assert buildings.clim == pytest.approx((auto[0], 100.0))
    assert panel.legend_max.text() == "100" and "fixed" in panel.legend_title.text()
    panel.clim_min.setValue(150.0)  # min above max pushes max up instead of inverting
    lo, hi = buildings.clim or (0.0, 0.0)
    assert lo == 150.0 and hi > lo and panel.clim_max.value() == pytest.approx(hi)
    panel.clim_auto.setChecked(True)
    assert buildings.clim is None and not panel.clim_max.isEnabled()
    assert panel.clim_max.value() == pytest.approx(auto[1])
    # Edits of one field within 1.5 s are one undo step (session rule): back to the start.
    assert len(session.commands.texts()["undo"]) == 1
    session.commands.undo()
    assert buildings.clim is None and panel.clim_auto.isChecked()
    session.commands.redo()
    assert buildings.clim is None
    session.commands.undo()
    session.set_style(buildings, clim=(1.0, 2.0))
    assert (panel.clim_min.value(), panel.clim_max.value()) == (1.0, 2.0)
    # Changing the column drops limits that belonged to the old one (one undo step).
    panel.color_by_combo.setCurrentIndex(panel.color_by_combo.findData("levels"))
    assert buildings.color_by == "levels" and buildings.clim is None
    assert panel.clim_auto.isChecked() and panel.legend_max.text() != "2"
    session.commands.undo()
    assert buildings.color_by == "height_m" and buildings.clim == (1.0, 2.0)
    assert panel.legend_min.text() == "1" and panel.legend_max.text() == "2"


def test_move_buttons_and_shortcuts_reorder_the_session(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    buildings = _layer(session, "Buildings")  # bottom layer: last row
    panel.select_layer(buildings)
    assert not panel.move_down_button.isEnabled() and panel.move_up_button.isEnabled()
    assert "Ctrl+Up" in panel.move_up_button.toolTip()
    panel.move_up_button.click()
    assert [layer.name for layer in session.layers] == ["Roads", "Buildings", "Objects"]
    assert _names(panel) == ["Objects", "Buildings", "Roads"]
    assert panel.current_layer() is buildings  # the selection follows the layer
    _focus_list(qtbot, panel)
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert session.layers[-1] is buildings and _names(panel)[0] == "Buildings"
    assert not panel.move_up_button.isEnabled()
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert session.layers.index(buildings) == 1
    session.commands.undo()
    session.commands.undo()
    session.commands.undo()
    assert [layer.name for layer in session.layers] == ["Buildings", "Roads", "Objects"]
    assert _names(panel) == ["Objects", "Roads", "Buildings"]


def test_drag_and_drop_moves_the_layer(panel: QtLayersPanel, session: Session) -> None:
    # What QListWidget's internal move does on a drop: move the row in its model.
    model = panel.layer_list.model()
    panel.layer_list.setCurrentRow(2)  # Buildings
    assert model.moveRow(QModelIndex(), 2, QModelIndex(), 0)
    assert [layer.name for layer in session.layers] == ["Roads", "Objects", "Buildings"]
    assert _names(panel) == ["Buildings", "Objects", "Roads"]
    assert session.commands.undo_text == "Move Buildings"
    # Dropped below the last row (insertion point after the move's source).
    assert model.moveRow(QModelIndex(), 0, QModelIndex(), 3)
    assert [layer.name for layer in session.layers] == ["Buildings", "Roads", "Objects"]
    assert _names(panel) == ["Objects", "Roads", "Buildings"]


def test_remove_button_and_delete_key_then_undo(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    roads = _layer(session, "Roads")
    panel.select_layer(roads)
    panel.remove_button.click()
    assert roads not in session.layers and _names(panel) == ["Objects", "Buildings"]
    assert panel.current_layer() is _layer(session, "Buildings")  # the neighbour
    session.commands.undo()
    assert _names(panel) == ["Objects", "Roads", "Buildings"]
    assert _item(panel, roads).checkState() == Qt.CheckState.Checked
    panel.select_layer(_layer(session, "Objects"))
    _focus_list(qtbot, panel)
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Delete)
    assert _names(panel) == ["Roads", "Buildings"]
    # The shortcuts belong to the list: Delete elsewhere in the window removes nothing.
    panel.opacity_slider.setFocus()
    qtbot.waitUntil(panel.opacity_slider.hasFocus)
    qtbot.keyClick(panel.opacity_slider, Qt.Key.Key_Delete)
    qtbot.keyClick(panel.opacity_slider, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert len(session.layers) == 2 and session.commands.undo_text == "Remove Objects"
    session.commands.undo()
    session.commands.undo()
    assert _names(panel) == ["Objects", "Roads", "Buildings"]


def test_removing_the_last_layer_leaves_no_style_of_it(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    panel.select_layer(_layer(session, "Buildings"))
    assert panel.color_by_combo.count() > 0
    for _ in range(len(session.layers)):
        panel.select_layer(session.layers[0])
        panel.remove_button.click()
    assert panel.current_layer() is None and not panel.editor.isEnabled()
    assert panel.color_by_combo.count() == 0 and panel.editor.title() == "Style"


def test_select_layer_current_layer_and_signal(
    qtbot: QtBot, panel: QtLayersPanel, session: Session
) -> None:
    seen: list[Layer | None] = []
    panel.current_layer_changed.connect(seen.append)
    roads = _layer(session, "Roads")
    panel.select_layer(roads)
    assert panel.current_layer() is roads and seen == [roads]
    assert panel.editor.title() == "Style of Roads"
    panel.select_layer(None)
    assert panel.current_layer() is None and seen[-1] is None
    assert not panel.editor.isEnabled() and not panel.remove_button.isEnabled()
    with pytest.raises(ValueError, match="not in the session"):
        panel.select_layer(Layer("stray"))
    # An empty session: no rows, editor off.
    while session.layers:
        session.remove_layer(session.layers[0])
    assert panel.layer_list.count() == 0 and panel.current_layer() is None
    assert panel.legend_title.text() == "No layer selected"


def test_a_deleted_panel_stops_listening(qtbot: QtBot, session: Session) -> None:
    p = QtLayersPanel(session)
    buildings = _layer(session, "Buildings")
    assert len(buildings.events.all) == 1  # the EventedList; the panel binds to fields
    assert "opacity" in _bound_fields(p, buildings)
    p.deleteLater()
    qtbot.waitUntil(lambda panel=p: _bound_fields(panel, buildings) == [])
    buildings.opacity = 0.5  # would raise on a deleted C++ widget if still connected
    session.add_result(_result())
    del p  # kept alive until here: the Python wrapper outlived its C++ widget


def test_legend_and_view_share_one_palette_and_clim_rule() -> None:
    from twin_app.model import style
    from twin_app.render import adapters, colors
    from twin_app.ui import layers_panel

    assert colors.SURFACE_PALETTE is style.SURFACE_PALETTE
    assert layers_panel.column_clim is style.column_clim is adapters.column_clim
    values = np.r_[np.arange(100.0), 10_000.0, np.nan]
    lo, hi = style.auto_clim(values)
    assert lo == pytest.approx(2.0) and hi < 100  # the outlier does not stretch the range


def test_panel_size_does_not_depend_on_the_selected_layer(qtbot: QtBot) -> None:
    # The panel lives in a dock beside the 3D view: if its minimum size followed the selection,
    # the view would be resized (and re-rendered) whenever the user clicks another layer.
    session = Session()
    p = QtLayersPanel(session)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    empty = p.minimumSizeHint()
    session.add_result(_result())
    session.set_style(_layer(session, "Objects"), color_by="type")
    for layer in session.layers:
        p.select_layer(layer)
        assert p.minimumSizeHint() == empty, layer.name
    session.layers[0].name = "A very long layer name that no dock is wide enough to show " * 2
    p.select_layer(session.layers[0])
    assert p.minimumSizeHint() == empty


def _legend_entries(panel: QtLayersPanel) -> list[tuple[str, str]]:
    return [
        (
            panel.legend_list.item(i).text(),
            panel.legend_list.item(i).icon().pixmap(14, 14).toImage().pixelColor(7, 7).name(),
        )
        for i in range(panel.legend_list.count())
    ]


def test_traffic_and_air_legends_show_the_model_classes(
    panel: QtLayersPanel, session: Session
) -> None:
    from twin_app.model.aqi import CATEGORY_COLORS, CATEGORY_NAMES_EN
    from twin_app.model.sensors import AirQualityLayer, TrafficLayer
    from twin_app.model.style import CONGESTION, NO_DATA_COLOR

    traffic = TrafficLayer(name="Traffic")
    air = AirQualityLayer(name="Air")
    session.add_layers([traffic, air], "Add sensors")

    panel.select_layer(traffic)
    assert panel.legend_title.text() == CONGESTION.title
    assert panel.legend_list.isVisibleTo(panel)
    assert _legend_entries(panel) == [
        *zip(CONGESTION.names[::-1], CONGESTION.colors[::-1], strict=True),
        ("no data", NO_DATA_COLOR),
    ]
    icon = _image(_item(panel, traffic))  # stripes of the classes, free flow first
    assert icon.pixelColor(2, 8).name() == CONGESTION.colors[-1]

    traffic.show = "speed"  # drawn through a colour map: no classes to list
    panel.select_layer(air)
    panel.select_layer(traffic)
    assert CONGESTION.names[0] not in [n for n, _ in _legend_entries(panel)]

    panel.select_layer(air)
    for std in ("us_epa", "china_hj633"):
        air.standard = std
        panel.select_layer(traffic)
        panel.select_layer(air)
        hexes = ["#{:02x}{:02x}{:02x}".format(*c) for c in CATEGORY_COLORS[std]]
        assert _legend_entries(panel) == [
            (f"AQI {n}", h) for n, h in zip(CATEGORY_NAMES_EN[std], hexes, strict=True)
        ]


class _PaintCounter(QObject):
    """Counts paint events of the widgets it is installed on."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_a_tick_does_not_repaint_the_layer_tree(qtbot: QtBot, window: Any) -> None:
    """Playing the sample twin in the real window: values change every tick, the panel does not."""
    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.model.sensors import TrafficLayer

    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    panel: QtLayersPanel = w.layers_panel
    traffic = next(layer for layer in w.session.layers if isinstance(layer, TrafficLayer))
    panel.select_layer(traffic)  # the editor and legend show a layer that changes every tick
    counter = _PaintCounter()
    for widget in [panel, *panel.findChildren(QWidget)]:
        widget.installEventFilter(counter)
    for _ in range(50):  # let the load's and the selection's own repaints finish
        seen = counter.paints
        qtbot.wait(200)
        if counter.paints == seen:
            break
    counter.paints = 0
    model = panel.layer_list.model()
    data_changed: list[object] = []
    model.dataChanged.connect(lambda *a: data_changed.append(a))
    ticks: list[int] = []
    w.session.clock.events.t_ns.connect(ticks.append)
    values = traffic.values.copy()
    w.session.clock.play()  # the window's own timer ticks the clock at the default rate
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=20_000)
    w.session.clock.pause()
    qtbot.wait(100)  # any repaint a tick had asked for would arrive now
    assert not np.array_equal(values, traffic.values, equal_nan=True)  # the ticks changed data
    assert data_changed == []
    assert counter.paints == 0

    # The counters do see a change the panel shows.
    w.session.set_style(traffic, colormap="magma")
    qtbot.waitUntil(lambda: counter.paints > 0)
    assert len(data_changed) >= 1
