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
    # The event loop kept turning while the worker read and extruded the city.
    assert len(ticks) >= 5
    gaps = np.diff(ticks)
    assert gaps.max() < 1.0
    kinds = sorted(type(layer).__name__ for layer in window.session.layers)
    assert kinds == ["BuildingLayer", "RoadLayer"]
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
    text = window.message_label.text()
    assert "broken.geojson" in text and "\n" not in text
    assert len(window.session.layers) == 0
