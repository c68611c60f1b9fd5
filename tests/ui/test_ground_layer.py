"""The ground context in the real window: a click on a park inspects it, its check box hides it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin_app.model.layers import GroundLayer
from twin_app.model.style import GROUND_COLORS
from twin_app.render.picking import project_points

pytestmark = pytest.mark.ui


def _ground(w: Any) -> GroundLayer:
    return next(layer for layer in w.session.layers if isinstance(layer, GroundLayer))


def _park_on_screen(w: Any) -> tuple[int, int, int]:
    """Row and widget pixel (Qt, y down) of the largest park triangle's centre in view."""
    layer = _ground(w)
    fs = layer.features
    assert fs is not None
    m = fs.mesh
    rows = np.flatnonzero(fs.table["type"].to_numpy(object) == "park")
    tri = np.flatnonzero(np.isin(m.cell_data["feature_index"], rows))
    tri = tri[np.argsort(-m.areas()[tri])]
    centres = m.points[m.triangles[tri]].mean(axis=1)
    renderer = w.view.scene.plotter.renderer
    px = project_points(renderer, centres)
    width, height = renderer.GetSize()
    ratio = w.view.interactor.devicePixelRatioF()
    for t, (x, y, depth) in zip(tri, px, strict=False):
        if depth > 0 and 20 < x < width - 20 and 20 < y < height - 20:
            row = int(m.cell_data["feature_index"][t])
            return row, round(x / ratio), round((height - 1 - y) / ratio)
    raise AssertionError("no park in view")


def test_click_on_a_park_shows_its_tags_and_the_check_box_hides_the_ground(
    qtbot: Any, loaded: Any
) -> None:
    from PySide6.QtCore import QPoint, Qt

    w = loaded
    ground = _ground(w)
    assert ground.name == "Ground (london.osm.pbf)"
    # Parks and gardens stand out from the streets round them: only the buildings, which
    # stand on them here and there, are hidden for a clear click.
    buildings = next(layer for layer in w.session.layers if layer.kind == "buildings")
    w.session.set_style(buildings, visible=False)
    w.view.preset("top")
    w.view.scene.render()
    row, x, y = _park_on_screen(w)
    qtbot.mouseClick(w.view.interactor, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.waitUntil(lambda: w.session.selection.layer_uid == ground.uid, timeout=5000)
    assert w.session.selection.indices == (row,)
    fs = ground.features
    assert fs is not None
    assert w.inspector.id_label.text() == str(fs.ids[row])
    table = w.inspector.attributes
    shown = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert shown["type"] == "park"
    assert shown["leisure"] in ("park", "garden") or shown["landuse"] == "grass"
    # The Layers panel lists the ground with its classes in the 3D view's colours.
    from twin_app.ui.layers_panel import categories

    assert dict(categories(ground))["park"] == GROUND_COLORS["park"]
    # Hideable: its check box in the Layers panel (what a click on the box does).
    panel = w.layers_panel
    item = next(
        panel.layer_list.item(i)
        for i in range(panel.layer_list.count())
        if panel.layer_list.item(i).text() == ground.name
    )
    item.setCheckState(Qt.CheckState.Unchecked)
    assert ground.visible is False
    w.session.select_features(ground, [])
    w.view.scene.render()
    qtbot.mouseClick(w.view.interactor, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.wait(200)
    assert w.session.selection.layer_uid != ground.uid or not w.session.selection.indices
