"""Issue 10, "Messages", in the real window: every error and warning reaches the Messages panel
in full, the status bar only summarises; a bad file among good ones is reported, not fatal; About
credits every open dataset; a recording opens as a replay series of the twin's sensors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from twin_app.io.manifest import SAMPLE_DIR

pytestmark = pytest.mark.ui

BAD_DIR = Path(__file__).resolve().parents[1] / "data" / "bad"


def _choose_in_open_dialog(monkeypatch: pytest.MonkeyPatch, files: list[Path]) -> None:
    """The File > Open dialog answers with `files` (as a user picking them would)."""
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileNames",
        staticmethod(lambda *a, **k: ([str(f) for f in files], "")),
    )


def _ctrl_o(qtbot: Any, w: Any) -> None:
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)


def _panel_texts(w: Any) -> list[str]:
    return [line.split(": ", 1)[1] for line in w.messages_panel.visible_lines()]


def _good_files(tmp_path: Path) -> list[Path]:
    a, b = tmp_path / "north.geojson", tmp_path / "south.geojson"
    shutil.copy(BAD_DIR / "geojson_height_nan.geojson", a)
    shutil.copy(BAD_DIR / "geojson_bowtie.geojson", b)
    return [a, b]


def test_open_a_broken_file_lists_the_whole_error_in_messages(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = window
    bad = BAD_DIR / "png_renamed.gpkg"
    _choose_in_open_dialog(monkeypatch, [bad])
    _ctrl_o(qtbot, w)
    qtbot.waitUntil(lambda: not w.loading and w.messages_panel.count() >= 1, timeout=20_000)
    full = (
        f"{bad}: not a GeoPackage or other vector file GDAL can read "
        "(it looks like a PNG image); check the file or choose another"
    )
    assert full in _panel_texts(w)
    assert any(
        full in w.messages_panel.list.item(i).toolTip()
        for i in range(w.messages_panel.list.count())
    )
    # the status bar summarises and points to the panel; the tooltip holds the line
    assert w.message_label.text() == "1 error — see Messages"
    assert full in w.message_label.toolTip()
    assert w.messages_dock.windowTitle() == "Messages (1)"
    assert len(w.session.layers) == 0


def test_every_bad_corpus_file_reaches_messages_without_gdal_wording(
    qtbot: Any, window: Any
) -> None:
    w = window
    names = ["png_renamed.gpkg", "geojson_invalid.geojson", "geojson_truncated.geojson"]
    for name in names:
        before = w.messages_panel.count()
        w.open_any([BAD_DIR / name])
        qtbot.waitUntil(lambda b=before: w.messages_panel.count() > b, timeout=20_000)
        qtbot.waitUntil(lambda: not w.loading, timeout=20_000)
    texts = _panel_texts(w)
    for name in names:
        assert any(t.startswith(f"{BAD_DIR / name}: ") for t in texts), (name, texts)
    for t in texts:
        assert "DRIVER" not in t and "It might help" not in t


def test_long_messages_wrap_in_the_panel(qtbot: Any, window: Any) -> None:
    w = window
    w.messages_dock.setFloating(True)
    w.messages_dock.resize(420, 300)
    qtbot.wait(50)
    long = "district.gpkg: " + " ".join(f"word{i}" for i in range(80))
    w.session.messages.emit("warning", long)
    w.session.messages.emit("warning", "short")
    qtbot.wait(50)
    lst = w.messages_panel.list
    tall = lst.visualItemRect(lst.item(0)).height()
    one = lst.visualItemRect(lst.item(1)).height()
    assert tall >= 3 * one  # wrapped onto several lines, nothing cut off
    assert lst.item(0).text().endswith("word79")
    assert w.message_label.text() == "2 warnings — see Messages"


def test_good_bad_good_loads_two_layers_and_reports_the_bad_one(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    w = window
    a, b = _good_files(tmp_path)
    bad = BAD_DIR / "geojson_truncated.geojson"
    _choose_in_open_dialog(monkeypatch, [a, bad, b])
    _ctrl_o(qtbot, w)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 2, timeout=30_000)
    errors = [line for line in w.messages_panel.visible_lines() if " error: " in line]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert sorted(layer.name for layer in w.session.layers) == [
        "Buildings (north.geojson)",
        "Buildings (south.geojson)",
    ]
    text = w.message_label.text()
    assert text.startswith("loaded ") and "in 2 layers" in text
    assert "1 error — see Messages" in text


def _about_text(qtbot: Any, w: Any) -> str:
    seen: list[str] = []

    def read_and_close() -> None:
        from twin_app.ui.about_dialog import QtAboutDialog

        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QtAboutDialog):
            QTimer.singleShot(20, read_and_close)
            return
        seen.append(dialog.text.toPlainText())
        dialog.accept()

    QTimer.singleShot(0, read_and_close)
    w.about_action.trigger()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    return seen[0]


def test_about_credits_every_dataset_of_the_open_twin(qtbot: Any, window: Any) -> None:
    w = window
    assert "Help" in [a.text().replace("&", "") for a in w.menuBar().actions()]
    empty = _about_text(qtbot, w)
    assert "CC BY 4.0" not in empty and "OpenStreetMap" not in empty
    w.open_any([SAMPLE_DIR])
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    text = _about_text(qtbot, w)
    assert "© OpenStreetMap contributors" in text and "ODbL" in text
    assert "CC BY 4.0" in text  # Beijing air quality
    assert "Open Government Licence v3.0" in text  # Liverpool buses
    assert "METR-LA" in text and "Battle of the Water Networks" in text
    # describes only what exists: no scenario engine ships yet, and superqt is not used
    assert "intervention" not in text.lower() and "superqt" not in text


def _record_traffic(w: Any, path: Path) -> tuple[Any, list[str], list[int], np.ndarray]:
    from twin_app.feeds.recorder import Recorder
    from twin_app.feeds.sensorthings import Sample
    from twin_app.model.sensors import TrafficLayer

    traffic = next(layer for layer in w.session.layers if isinstance(layer, TrafficLayer))
    # sensors that feed a road of their own, so their values show on the map
    fed = np.unique(traffic.segment_sensor[traffic.segment_sensor >= 0])[:3]
    ids = [str(traffic.store.sensor_ids[i]) for i in fed]
    t0 = w.session.clock.t_ns
    times = [t0 + k * 300 * 10**9 for k in range(4)]
    values = np.array([[5.0 + 7 * j + k for j in range(3)] for k in range(4)])
    rec = Recorder()
    rec.add(Sample(ids[j], times[k], float(values[k, j])) for k in range(4) for j in range(3))
    rec.add([Sample("not-a-sensor", t0, 1.0)])
    assert rec.write(path) == [path]
    return traffic, ids, times, values


def test_a_recording_opens_as_a_replay_series_of_the_twins_sensors(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    w = window
    w.open_any([SAMPLE_DIR])
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    rec = tmp_path / "recording.parquet"
    traffic, ids, times, values = _record_traffic(w, rec)
    _choose_in_open_dialog(monkeypatch, [rec])
    _ctrl_o(qtbot, w)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 9, timeout=30_000)
    new = w.session.layers[-1]
    assert type(new) is type(traffic) and new.name == f"{traffic.name} (recording.parquet)"
    assert new.roads is traffic.roads
    np.testing.assert_array_equal(new.segment_sensor, traffic.segment_sensor)
    col = [list(map(str, new.store.sensor_ids)).index(i) for i in ids]
    for k, t in enumerate(times):
        w.session.clock.seek(t)
        raw = new.sensor_values(w.session.clock.t_ns)
        np.testing.assert_allclose(raw[col], values[k], rtol=1e-6)
        # what the map shows on each sensor's own road: the recorded speed / free flow
        for j, c in enumerate(col):
            road = np.flatnonzero(new.segment_sensor == c)[0]
            assert new.values[road] == pytest.approx(values[k, j] / new.free_flow[c], rel=1e-5)
    texts = _panel_texts(w)
    assert any("recording.parquet" in t and "not-a-sensor" in t for t in texts)
    assert w.session.commands.undo_text == "Open recording.parquet"
    w.undo_action.trigger()
    assert len(w.session.layers) == 8


def test_a_recording_without_a_matching_twin_says_what_to_do(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from twin_app.feeds.recorder import Recorder
    from twin_app.feeds.sensorthings import Sample

    w = window
    rec = tmp_path / "alone.parquet"
    r = Recorder()
    r.add([Sample("s1", 1_700_000_000 * 10**9, 3.0)])
    r.write(rec)
    w.open_any([rec])
    qtbot.waitUntil(lambda: not w.loading and w.messages_panel.count() >= 1, timeout=20_000)
    texts = _panel_texts(w)
    assert any(
        t.startswith(f"{rec}: none of its sensor ids") and "open the twin" in t for t in texts
    )
    assert not any("geo metadata" in t for t in texts)


def test_a_csv_recording_dropped_on_the_window_opens_as_a_series(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    w = window
    w.open_any([SAMPLE_DIR])
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=90_000)
    rec = tmp_path / "recording.csv"
    traffic, ids, times, values = _record_traffic(w, rec)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(rec))])
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
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 9, timeout=30_000)
    new = w.session.layers[-1]
    assert new.name == f"{traffic.name} (recording.csv)"
    col = [list(map(str, new.store.sensor_ids)).index(i) for i in ids]
    w.session.clock.seek(times[2])
    np.testing.assert_allclose(new.sensor_values(w.session.clock.t_ns)[col], values[2])
