"""The wall's charts while the clock stands still (a wall opened from the window before Space,
a paused replay): the same instant pushed again replaces its sample instead of piling up
duplicates, the time axis shows a window of minutes ending now (not ±0.25 s around one
instant), and a flat series gets a y range its labels can be read on. A running clock still
scrolls the window with the data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from twin_app.ui.wall_charts import MIN_SPAN_S

pytestmark = pytest.mark.ui

T0 = 1_772_438_400.0  # 2026-03-02 08:00 UTC
NAMES = ["Mean traffic speed", "Mean AQI (pm25)"]


def _grab(w: Any, name: str) -> None:
    out = os.environ.get("TWIN_TEST_GRABS")
    if out:
        w.grab().save(str(Path(out) / name))


def _settled(qtbot: Any, charts: Any) -> None:
    """Let the views apply their ranges (pyqtgraph updates them on the next paint)."""
    qtbot.wait(50)
    for p in charts.plots:
        p.getViewBox().updateAutoRange()


def _tick_labels(plot: Any, side: str) -> list[str]:
    axis = plot.getAxis(side)
    lo, hi = axis.range
    out: list[str] = []
    for spacing, values in axis.tickValues(lo, hi, axis.size().width() or 300):
        out += axis.tickStrings(values, axis.autoSIPrefixScale, spacing)
    return out


@pytest.fixture
def charts(qtbot: Any) -> Any:
    from twin_app.ui.wall_charts import QtWallCharts

    c = QtWallCharts(NAMES, capacity=100)
    qtbot.addWidget(c)
    c.resize(600, 500)
    c.set_unit_px(16)
    c.show()
    qtbot.waitExposed(c)
    return c


def test_a_paused_clock_shows_minutes_ending_now_without_duplicates(
    qtbot: Any, charts: Any
) -> None:
    # paused from the start: the wall refreshes twice a second at one instant, for long
    for k in range(500):  # more refreshes than the buffer holds
        charts.push(T0, {NAMES[0]: 31.25, NAMES[1]: 48.0 + (k == 499)})
    for name in NAMES:
        t, _ = charts.series[name].view()
        assert len(t) == 1 and t[0] == T0
    assert charts.series[NAMES[1]].view()[1][0] == 49.0  # the newest value replaced it
    # one sample draws no line: a dot marks it, where it is (a pixel of its colour there)
    dot = charts.dots[0]
    assert dot.isVisible() and (dot.pos().x(), dot.pos().y()) == (T0, 31.25)
    _settled(qtbot, charts)
    _grab(charts, "wall_charts_paused.png")
    img = charts.plots[0].grab().toImage()
    vb = charts.plots[0].getViewBox()
    p = charts.plots[0].mapFromScene(vb.mapViewToScene(QPointF(T0, 31.25)))
    c = img.pixelColor(p.x(), p.y())
    assert (c.red(), c.green(), c.blue()) == (0x4F, 0xC3, 0xF7), c.name()
    for plot in charts.plots:
        (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
        assert x1 - x0 >= 0.95 * MIN_SPAN_S, (x0, x1)
        assert abs(x1 - T0) <= 0.05 * MIN_SPAN_S  # the window ends at the clock's time
        assert y1 - y0 >= 1.0, (y0, y1)  # a flat series: a range its labels fit on
    ys = _tick_labels(charts.plots[0], "left")
    assert len(ys) >= 2 and len(set(ys)) == len(ys), ys
    for label in ys:  # short labels, not 31.250000001-like steps of a zero-height range
        assert len(label) <= 6, ys


def test_a_pause_in_a_running_window_keeps_its_history(qtbot: Any, charts: Any) -> None:
    step = 60.0  # a replay at x120 refreshed twice a second
    for k in range(40):
        charts.push(T0 + k * step, {NAMES[0]: 30.0 + k, NAMES[1]: 50.0})
    t_end = T0 + 39 * step
    for _ in range(300):  # paused for 2.5 minutes of wall time
        charts.push(t_end, {NAMES[0]: 68.5, NAMES[1]: 50.0})
    t, v = charts.series[NAMES[0]].view()
    assert len(t) == 40 and t[0] == T0 and np.all(np.diff(t) > 0) and v[-1] == 68.5
    # playing again: it scrolls on as before, the window following the data
    for k in range(1, 80):
        charts.push(t_end + k * step, {NAMES[0]: 70.0, NAMES[1]: 50.0})
    t, _ = charts.series[NAMES[0]].view()
    assert len(t) == 100 and t[-1] == t_end + 79 * step
    _settled(qtbot, charts)
    _grab(charts, "wall_charts_running.png")
    x0, x1 = charts.plots[0].getViewBox().viewRange()[0]
    span = t[-1] - t[0]
    assert t[0] - 0.1 * span <= x0 <= t[0] + 0.1 * span
    assert t[-1] - 0.1 * span <= x1 <= t[-1] + 0.1 * span
    y0, y1 = charts.plots[0].getViewBox().viewRange()[1]
    assert 45.0 <= y0 <= 49.0 and 70.0 <= y1 <= 73.0  # the data's own range (49 to 70)


def test_f11_wall_on_a_paused_twin(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """Open the sample twin, press F11 without Space: the wall has the twin's name top left
    and charts of a readable window."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from twin_app.io.manifest import SAMPLE_DIR

    window.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not window.loading and bool(window.session.twins), timeout=60_000)
    assert not window.session.clock.playing

    def active() -> bool:
        window.activateWindow()
        return QApplication.activeWindow() is window

    qtbot.waitUntil(active, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.wall is not None and window.wall.isVisible(), timeout=5000)
    wall = window.wall
    try:
        assert wall.title.text() == "City of London"
        qtbot.waitUntil(lambda: wall.charts is not None, timeout=5000)
        for _ in range(6):
            wall.refresh()
        charts = wall.charts
        t_now = window.session.clock.t_ns / 1e9
        for name in charts.names:
            t, _ = charts.series[name].view()
            assert len(t) == 1 and t[0] == t_now
        _settled(qtbot, charts)
        _grab(wall, "wall_f11_paused.png")
        for plot in charts.plots:
            (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
            assert x1 - x0 >= 0.95 * MIN_SPAN_S and abs(x1 - t_now) <= 0.05 * MIN_SPAN_S
            assert y1 - y0 > 0.0
            ys = _tick_labels(plot, "left")
            assert len(set(ys)) == len(ys), ys
    finally:
        wall.close()
    qtbot.waitUntil(lambda: window.wall is None, timeout=5000)
