"""Messages panel: every session message as a row, filter, clear, copy, count signal, threads."""

from __future__ import annotations

import re
import threading

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from twin_app.session import Session
from twin_app.ui.messages_panel import QtMessagesPanel

pytestmark = pytest.mark.ui

TIME = r"\d\d:\d\d:\d\d"


@pytest.fixture
def panel(qtbot: QtBot) -> QtMessagesPanel:
    w = QtMessagesPanel(Session())
    qtbot.addWidget(w)
    w.resize(500, 200)
    w.show()
    qtbot.waitExposed(w)
    return w


def _rows(panel: QtMessagesPanel) -> list[str]:
    return [
        panel.list.item(i).text()
        for i in range(panel.list.count())
        if not panel.list.item(i).isHidden()
    ]


def test_every_message_becomes_a_one_line_row_newest_last(panel: QtMessagesPanel) -> None:
    s = panel.session
    counts: list[int] = []
    panel.count_changed.connect(counts.append)
    s.messages.emit("info", "loaded 12 features")
    s.messages.emit("warning", "roads.gpkg: 3 features\nhad no geometry")
    s.messages.emit("error", "broken.geojson: not valid JSON at line 1")
    rows = _rows(panel)
    assert len(rows) == 3 and counts == [1, 2, 3]
    assert re.fullmatch(rf"{TIME}  loaded 12 features", rows[0])
    assert rows[1].endswith("roads.gpkg: 3 features had no geometry")  # one line
    assert rows[2].endswith("broken.geojson: not valid JSON at line 1")
    # level colour and icon
    warn, err = panel.list.item(1), panel.list.item(2)
    assert warn.foreground().color().name() != err.foreground().color().name()
    assert not warn.icon().isNull() and not err.icon().isNull()
    assert panel.count() == 3 and panel.count_label.text() == "3 messages"


def test_filter_clear_and_copy(panel: QtMessagesPanel) -> None:
    s = panel.session
    for level, text in [("info", "a"), ("warning", "b"), ("error", "c"), ("warning", "d")]:
        s.messages.emit(level, text)
    panel.set_filter("warnings")
    assert [r[-1] for r in _rows(panel)] == ["b", "c", "d"]
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("errors"))
    assert [r[-1] for r in _rows(panel)] == ["c"]
    s.messages.emit("warning", "e")  # arrives hidden under the errors filter
    assert [r[-1] for r in _rows(panel)] == ["c"]
    panel.copy_button.click()
    assert re.fullmatch(rf"{TIME} error: c", QGuiApplication.clipboard().text())
    panel.set_filter("all")
    assert [r[-1] for r in _rows(panel)] == ["a", "b", "c", "d", "e"]
    lines = panel.copy_to_clipboard().splitlines()
    assert len(lines) == 5 and lines[1].endswith(" warning: b")
    counts: list[int] = []
    panel.count_changed.connect(counts.append)
    panel.clear_button.click()
    assert _rows(panel) == [] and panel.count() == 0 and counts == [0]
    with pytest.raises(ValueError, match="filter"):
        panel.set_filter("debug")


def test_auto_scrolls_to_the_newest_row(qtbot: QtBot, panel: QtMessagesPanel) -> None:
    for i in range(300):
        panel.session.messages.emit("warning", f"message {i}")
    qtbot.wait(10)
    bar = panel.list.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    # Scrolled up to read: new rows do not yank the view away.
    bar.setValue(0)
    panel.session.messages.emit("warning", "later")
    assert bar.value() == 0


def test_messages_from_a_worker_thread_arrive_on_the_gui_thread(
    qtbot: QtBot, panel: QtMessagesPanel
) -> None:
    t = threading.Thread(target=lambda: panel.session.messages.emit("error", "from a worker"))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: panel.count() == 1, timeout=2000)
    assert _rows(panel)[0].endswith("from a worker")


def test_oldest_rows_dropped_beyond_the_cap(qtbot: QtBot) -> None:
    w = QtMessagesPanel(Session(), max_messages=5)
    qtbot.addWidget(w)
    for i in range(8):
        w.session.messages.emit("info", str(i))
    assert w.count() == 5 and [r[-1] for r in _rows(w)] == ["3", "4", "5", "6", "7"]


def test_a_deleted_panel_stops_listening() -> None:
    import shiboken6

    s = Session()
    w = QtMessagesPanel(s)
    shiboken6.delete(w)
    s.messages.emit("error", "after the panel is gone")  # no RuntimeError
    s.messages.emit("error", "and again")
