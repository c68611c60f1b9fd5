"""The wall's charts when the clock jumps (a story step sets the time back or hours ahead): the
window starts afresh in place, so the time axis shows one continuous stretch, not a line across
the jump; the clock running (with a stalled refresh or a pause) keeps its window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin_app.ui.wall_charts import JUMP_STEPS, MIN_SPAN_S, is_jump

pytestmark = pytest.mark.ui

T0 = 1_772_438_400.0  # 2026-03-02 08:00 UTC
STEP = 60.0  # a replay at x120 refreshed twice a second


def _x_range(qtbot: Any, charts: Any, lo: float, hi: float) -> tuple[float, float]:
    """The first plot's x range once it has followed the data to about [lo, hi]."""
    vb = charts.plots[0].getViewBox()

    def near() -> bool:
        a, b = vb.viewRange()[0]
        pad = 0.1 * max(hi - lo, 1.0)
        return lo - pad <= a <= lo + pad and hi - pad <= b <= hi + pad

    qtbot.waitUntil(near, timeout=3000)
    a, b = vb.viewRange()[0]
    return float(a), float(b)


def test_is_jump() -> None:
    assert is_jump(T0 - 1.0, T0, STEP)  # back
    assert not is_jump(T0 + STEP, T0, STEP)
    assert not is_jump(T0 + 5 * STEP, T0, STEP)  # a refresh stalled for a few seconds
    assert is_jump(T0 + (JUMP_STEPS + 1) * STEP, T0, STEP)
    assert not is_jump(T0 + 9 * 3600.0, T0, None)  # no usual step known yet


def test_a_clock_jump_starts_a_fresh_window_in_place(qtbot: Any) -> None:
    from twin_app.ui.wall_charts import QtWallCharts

    charts = QtWallCharts(["Mean traffic speed", "Mean AQI (pm25)"], capacity=100)
    qtbot.addWidget(charts)
    charts.resize(600, 500)
    charts.show()
    qtbot.waitExposed(charts)
    curves = list(charts.curves)
    for k in range(30):
        charts.push(T0 + k * STEP, {"Mean traffic speed": 30.0 + k, "Mean AQI (pm25)": 50.0})
    charts.push(T0 + 30 * STEP, {})  # paused a while: the same time again replaces it
    charts.push(T0 + 30 * STEP, {})
    charts.push(T0 + 35 * STEP, {"Mean traffic speed": 1.0})  # a refresh 2.5 s late
    t, v = charts.series["Mean traffic speed"].view()
    assert len(t) == 32 and t[0] == T0
    a, b = _x_range(qtbot, charts, T0, T0 + 35 * STEP)
    assert b - a < 1.2 * 35 * STEP

    # a story step nine hours ahead: the axis shows the new stretch only
    t1 = T0 + 9 * 3600.0
    for k in range(10):
        charts.push(t1 + k * STEP, {"Mean traffic speed": 40.0 + k})
    t, v = charts.series["Mean traffic speed"].view()
    assert len(t) == 10 and t[0] == t1 and v[-1] == 49.0
    assert np.isnan(charts.series["Mean AQI (pm25)"].view()[1]).all()
    xs, _ = charts.curves[0].getData()
    assert xs is not None and xs.min() == t1
    a, b = _x_range(qtbot, charts, t1, t1 + 9 * STEP)
    assert b - a < 1.2 * 9 * STEP, (a, b)

    # the next step back to the morning: fresh again, four minutes of it shown in the
    # shortest window, ending now
    for k in range(5):
        charts.push(T0 + 3600.0 + k * STEP, {"Mean traffic speed": 20.0})
    t, _ = charts.series["Mean traffic speed"].view()
    assert len(t) == 5 and t[0] == T0 + 3600.0
    t_end = T0 + 3600.0 + 4 * STEP
    a, b = _x_range(qtbot, charts, t_end - MIN_SPAN_S, t_end)
    assert b - a < 1.2 * MIN_SPAN_S
    assert charts.curves == curves  # the same curve objects throughout
