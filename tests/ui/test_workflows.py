"""What a planner does in the real window: pick, inspect, search, select, navigate, save, undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.model.layers import BuildingLayer
from twin_app.render.picking import project_points

pytestmark = pytest.mark.ui


def _buildings(w: Any) -> BuildingLayer:
    return next(layer for layer in w.session.layers if isinstance(layer, BuildingLayer))


def _tallest_on_screen(w: Any) -> tuple[int, float, float]:
    """Row and display pixel of the tallest building whose roof centre is in view."""
    layer = _buildings(w)
    fs = layer.features
    heights = fs.table["height_m"].to_numpy()
    order = np.argsort(-heights)
    tops = fs.feature_centroids().copy()
    tops[:, 2] = heights
    px = project_points(w.view.scene.plotter.renderer, tops[order])
    width, height = w.view.scene.plotter.renderer.GetSize()
    for i, (x, y, depth) in zip(order, px, strict=False):
        if depth > 0 and 20 < x < width - 20 and 20 < y < height - 20:
            return int(i), float(x), float(y)
    raise AssertionError("no building in view")


def test_click_picks_a_building_and_the_inspector_shows_its_id(qtbot: Any, loaded: Any) -> None:
    w = loaded
    w.view.preset("top")
    w.view.scene.render()
    row, x, y = _tallest_on_screen(w)
    w.view.pick_at(int(x), int(y))
    layer = _buildings(w)
    assert w.session.selection.layer_uid == layer.uid
    assert w.session.selection.indices == (row,)
    fid = str(layer.features.ids[row])
    assert w.inspector.id_label.text() == fid
    lon, lat = (float(v) for v in w.inspector.lonlat_label.text().split(","))
    assert -0.13 < lon < -0.08 and 51.50 < lat < 51.53  # the City of London
    assert w.view.scene._highlight is not None


def test_rubber_band_selects_into_the_table_and_search_flies(qtbot: Any, loaded: Any) -> None:
    w = loaded
    width, height = w.view.scene.plotter.renderer.GetSize()
    n = w.view.select_in_rect(0, 0, width, height)
    assert n > 500
    assert w.selection_table.row_count() == n
    w.search_bar.run_search("height_m>100")
    assert w.search_bar.total >= 1
    before = w.view.pose()
    w.search_bar.choose_hit(0)
    qtbot.waitUntil(lambda: not w.view.flying, timeout=5000)
    after = w.view.pose()
    assert after.focal_point != before.focal_point
    assert len(w.session.selection.indices) == 1


def test_presets_walk_and_underground(qtbot: Any, loaded: Any) -> None:
    from PySide6.QtCore import Qt

    w = loaded
    w.view.preset("street")
    start = w.view.pose()
    assert start.position[2] == pytest.approx(1.7, abs=0.2)
    qtbot.keyClick(w.view, Qt.Key.Key_W)
    moved = w.view.pose()
    assert np.linalg.norm(np.subtract(moved.position, start.position)) == pytest.approx(
        4.0, abs=0.01
    )
    assert moved.position[2] == pytest.approx(start.position[2], abs=1e-6)
    w.view.preset("top")
    assert w.view.pose().position[2] > 300
    w.cycle_underground()
    assert w.session.underground == "translucent" and w.underground_combo.currentIndex() == 1
    assert w.view.scene.plotter.renderer.GetUseDepthPeeling()
    w.underground_combo.setCurrentIndex(2)
    assert w.session.underground == "cutaway"


def test_style_undo_redo_through_the_edit_menu(qtbot: Any, loaded: Any) -> None:
    w = loaded
    layer = _buildings(w)
    w.session.set_style(layer, color_by="surface")
    assert "Undo Set color_by" in w.undo_action.text()
    w.undo_action.trigger()
    assert layer.color_by == "height_m"
    assert w.redo_action.isEnabled()
    w.redo_action.trigger()
    assert layer.color_by == "surface"
    w.session.remove_layer(layer)
    assert len(w.session.layers) == 3
    w.undo_action.trigger()
    assert len(w.session.layers) == 4 and layer in w.session.layers


def test_save_and_reopen_restores_the_view_exactly(qtbot: Any, loaded: Any, tmp_path: Path) -> None:
    w = loaded
    layer = _buildings(w)
    w.session.set_style(layer, color_by="surface", opacity=0.8)
    w.view.preset("oblique", 90.0)
    w.bookmarks_panel.add_current("West")
    w.session.underground = "translucent"
    pose = w.view.pose()
    path = tmp_path / "plan.twin.toml"
    assert w.save_session(path)
    assert "plan.twin.toml" in w.windowTitle() and "*" not in w.windowTitle()
    # scramble the view, then reopen
    w.view.preset("top")
    w.session.set_style(layer, opacity=0.2)
    w.open_session(path)
    qtbot.waitUntil(lambda: not w.loading, timeout=60_000)
    restored = _buildings(w)
    assert restored is not layer  # really reloaded from the files
    assert restored.color_by == "surface" and restored.opacity == pytest.approx(0.8)
    got = w.view.pose()
    assert got.position == pytest.approx(pose.position, abs=1e-6)
    assert got.focal_point == pytest.approx(pose.focal_point, abs=1e-6)
    assert [b.name for b in w.session.bookmarks] == ["West"]
    assert w.session.underground == "translucent"
    assert str(path.resolve()) in w.recent_files()


def test_corrupt_session_gives_one_line_and_is_not_touched(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    path = tmp_path / "broken.twin.toml"
    path.write_text("schema_version = 1\n[camera]\nposition = 'north'\n")
    before = path.read_bytes()
    window.open_session(path)
    # the whole line is in the Messages panel, the status bar summarises (issue 10)
    (text,) = window.messages_panel.visible_lines()
    assert "broken.twin.toml" in text and "camera.position" in text and "\n" not in text
    assert window.message_label.text() == "1 error — see Messages"
    assert path.read_bytes() == before


def test_autosave_writes_a_separate_file_when_dirty(qtbot: Any, loaded: Any) -> None:
    w = loaded
    path = w.autosave()
    assert path is not None and path.name == "autosave.twin.toml" and path.exists()
    from twin_app.io.session_file import read_session

    assert len(read_session(path).layers) == 4
    w.session.commands.mark_clean()
    assert w.autosave() is None  # nothing new to save


def test_a_twin_with_replay_series_round_trips_through_a_session(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.model.sensors import AirQualityLayer

    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    # the window opened it through the session core: one step, the manifest's clock
    assert w.session.commands.undo_text == "Open twin City of London"
    assert w.session.clock.rate == 600 and w.session.clock.t_ns == w.session.clock.start_ns + (
        8 * 3600 * 10**9
    )
    assert "4 replay series ready" in w.message_label.text()
    air = next(layer for layer in w.session.layers if isinstance(layer, AirQualityLayer))
    w.session.set_style(air, opacity=0.5)
    w.session.clock.seek(w.session.clock.start_ns + 17 * 3600 * 10**9)
    t = w.session.clock.t_ns
    path = tmp_path / "twin.twin.toml"
    assert w.save_session(path)
    w.open_session(path)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    names = sorted(type(layer).__name__ for layer in w.session.layers)
    assert names == [
        "AirQualityLayer",
        "BuildingLayer",
        "GroundLayer",
        "IfcLayer",
        "MoverLayer",
        "PipeLayer",
        "RoadLayer",
        "TrafficLayer",
    ]
    air2 = next(layer for layer in w.session.layers if isinstance(layer, AirQualityLayer))
    assert air2 is not air and air2.opacity == 0.5
    assert w.session.clock.t_ns == t
    assert len(w.session.alerts.rules) == 4  # three thresholds and a silence rule
    assert w.timeline.tz.key == "Europe/London"
