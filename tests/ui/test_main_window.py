"""The real main window under Xvfb: loads the sample twin off the GUI thread and draws it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin_app.io.manifest import SAMPLE_DIR, read_manifest

pytestmark = pytest.mark.ui


def test_sample_twin_loads_in_background_and_is_drawn(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    before = window.view.grab_image()
    ticks: list[float] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    window.load_paths(read_manifest(SAMPLE_DIR).paths())
    assert window.loading
    qtbot.waitUntil(lambda: not window.loading, timeout=60_000)
    timer.stop()
    # The event loop kept turning while the worker read and extruded the city (the sample
    # may load in a fraction of a second: the 100k test below proves it on a long load).
    assert len(ticks) >= 2
    kinds = sorted(type(layer).__name__ for layer in window.session.layers)
    assert kinds == ["BuildingLayer", "GroundLayer", "IfcLayer", "RoadLayer"]
    after = window.view.grab_image()
    h = min(before.shape[0], after.shape[0])  # the status bar may have changed the view's height
    changed = np.abs(after[:h].astype(int) - before[:h].astype(int)).sum(axis=2) > 30
    assert changed.mean() > 0.2  # the city now fills a good part of the view
    assert "loaded" in window.message_label.text()


def test_bad_file_reports_one_line_and_keeps_running(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    window.load_paths([bad])
    qtbot.waitUntil(lambda: not window.loading, timeout=20_000)
    # the status bar summarises; the whole one-line error is in the Messages panel (issue 10)
    text = window.message_label.text()
    assert text == "1 error — see Messages" and "\n" not in text
    assert "broken.geojson" in window.message_label.toolTip()
    (line,) = window.messages_panel.visible_lines()
    assert f"error: {bad}: " in line and "\n" not in line
    assert len(window.session.layers) == 0


def test_window_stays_responsive_while_100k_buildings_load(qtbot, window, shared_data) -> None:  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    from PySide6.QtCore import QTimer

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_city import footprints_file  # real Porto footprints tiled to 100k, cached

    path = footprints_file(100_000)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    progress: list[bool] = []
    timer.timeout.connect(lambda: progress.append(window.loading))
    window.load_paths([path])
    qtbot.waitUntil(lambda: not window.loading, timeout=120_000)
    timer.stop()
    assert window.session.city is not None
    assert sum(s.n_features for s in window.session.city.sets) == 100_000
    # The GUI thread kept running its 100 Hz timer while the worker read and extruded: a count,
    # not durations (the longest stalls are measured by benchmarks/bench_load.py)
    assert len(ticks) == len(progress)
    assert sum(progress) >= 10, f"the event loop turned {sum(progress)} times during the load"
