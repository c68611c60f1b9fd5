"""The Alerts panel and the timeline in the real window: one row per rule and element with its
episodes, acknowledge and the severity filter with real clicks and keys, timeline marks, and a
click on the timeline seeks the clock (issue 10)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from twin_app.feeds.store import SensorStore
from twin_app.model.alerts import Alert, AlertRule
from twin_app.model.sensors import AirQualityLayer
from twin_app.session import Session
from twin_app.ui.alerts_panel import QtAlertsPanel

pytestmark = pytest.mark.ui

T0 = pd.Timestamp("2026-03-02T00:00Z").value
MIN = 60 * 10**9


def _gauges(window: Any) -> AirQualityLayer:
    """Three gauges sampled each minute for two hours: g0 crosses 100 three times (three
    episodes), g1 crosses 50 once, g2 never."""
    minutes = np.arange(120)
    g0 = np.where((minutes // 20) % 2 == 1, 150.0, 10.0)  # high 20-39, 60-79, 100-119
    g1 = np.where(minutes >= 90, 80.0, 0.0)
    g2 = np.zeros(120)
    ids = np.repeat(np.array(["g0/PM2.5", "g1/PM2.5", "g2/PM2.5"], object), 120)
    t = np.tile(T0 + minutes * MIN, 3).astype("datetime64[ns]")
    store, _ = SensorStore.from_long(ids, t, np.concatenate([g0, g1, g2]))
    layer = AirQualityLayer(
        name="Gauges",
        store=store,
        interpolation="last",
        max_staleness_s=None,
        station_ids=np.array(["g0", "g1", "g2"], object),
        station_xyz=np.array([[0.0, 0, 0], [10, 0, 0], [20, 0, 0]]),
        pollutants=("PM2.5",),
        columns=np.array([[0], [1], [2]], np.int64),
        grid_bounds=(-50.0, 50.0, -50.0, 50.0),
        show_surface=False,
    )
    s = window.session
    s.add_layers([layer], "add gauges")
    s.alerts.add_rule(AlertRule("Gauge above 100", layer.uid, 100.0, severity="critical"))
    s.alerts.add_rule(AlertRule("Gauge above 50", layer.uid, 50.0, severity="info"))
    return layer


def _play(window: Any, t_end: int) -> None:
    c = window.session.clock
    while c.t_ns < t_end:
        c.seek(c.t_ns + MIN)


def _show_alerts(qtbot: QtBot, window: Any) -> Any:
    window.alerts_dock.show()
    window.alerts_dock.raise_()
    panel = window.alerts_panel
    qtbot.waitUntil(lambda: panel.list.isVisible() and panel.list.viewport().height() > 40)
    return panel


def test_one_row_per_rule_and_element_acknowledge_and_filter(qtbot: QtBot, window: Any) -> None:
    _gauges(window)
    window.session.clock.seek(T0)
    _play(window, T0 + 95 * MIN)
    panel = _show_alerts(qtbot, window)
    alerts = list(window.session.alerts.alerts)
    # g0 for both rules (3 and 2 episodes so far), g1 for the lower rule: three rows, not nine
    assert [(a.rule, a.element_id, a.count) for a in alerts] == [
        ("Gauge above 100", "g0", 2),
        ("Gauge above 50", "g0", 2),
        ("Gauge above 50", "g1", 1),
    ]
    assert panel.count() == 3 and panel.visible_rows() == [0, 1, 2]
    assert "×2" in panel.list.item(0).text() and "[critical]" in panel.list.item(0).text()
    text = panel.list.item(0).text()
    assert text.startswith("○") and "g0 = 150.0" in text  # cleared; its last value in alarm
    assert "00:20:00 UTC … 2026-03-02 01:19:00 UTC" in text  # first raised … last held

    # filter by severity: a real key press on the combo
    combo = panel.filter_combo
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == "warning"
    assert panel.visible_rows() == [0]
    qtbot.keyClick(combo, Qt.Key.Key_Up)
    assert panel.visible_rows() == [0, 1, 2]

    # acknowledge the g1 row: click it, then the button
    item = panel.list.item(2)
    rect = panel.list.visualItemRect(item)
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert item.isSelected()
    assert window.session.clock.t_ns == alerts[2].episode_ns  # the click went to its time
    qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    acked = [a.acknowledged for a in window.session.alerts.alerts]
    assert acked == [False, False, True]
    dim = panel.dim_colour()
    text_lightness = panel.list.palette().color(panel.list.palette().ColorRole.Text).lightness()
    base_lightness = panel.list.palette().color(panel.list.palette().ColorRole.Base).lightness()
    assert (
        min(text_lightness, base_lightness) < dim.lightness() < max(text_lightness, base_lightness)
    )
    assert panel.list.item(2).foreground().color() == dim
    assert panel.list.item(2).font().italic()
    assert panel.list.item(0).foreground().color() != dim

    # acknowledge everything shown (nothing selected), then a new episode re-opens g0's rows
    panel.list.clearSelection()
    qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    assert all(a.acknowledged for a in window.session.alerts.alerts)
    window.session.clock.seek(T0 + 95 * MIN)
    _play(window, T0 + 119 * MIN)
    rows = list(window.session.alerts.alerts)
    assert [(a.element_id, a.count, a.acknowledged) for a in rows] == [
        ("g0", 3, False),
        ("g0", 3, False),
        ("g1", 1, True),  # still the same episode: stays acknowledged
    ]
    assert panel.list.item(0).foreground().color() != dim
    assert panel.count() == 3

    # the timeline marks each entry's first raise and its latest episode, by severity
    spark = window.timeline.spark
    marks = sorted(zip(spark.alerts.tolist(), spark.alert_levels.tolist(), strict=True))
    assert marks == [
        (T0 + 20 * MIN, 0),
        (T0 + 20 * MIN, 2),
        (T0 + 90 * MIN, 0),
        (T0 + 100 * MIN, 0),
        (T0 + 100 * MIN, 2),
    ]
    if os.environ.get("TWIN_SHOTS"):
        window.grab().save(os.path.join(os.environ["TWIN_SHOTS"], "alerts_panel.png"))


def test_clicking_the_timeline_seeks_the_clock_to_the_clicked_time(
    qtbot: QtBot, window: Any
) -> None:
    _gauges(window)
    c = window.session.clock
    c.seek(T0)
    spark = window.timeline.spark
    qtbot.waitUntil(lambda: spark.isVisible() and spark.width() > 100)
    assert (spark.start_ns, spark.end_ns) == (c.start_ns, c.end_ns)
    x = 1 + round(0.75 * (spark.width() - 2))
    qtbot.mouseClick(spark, Qt.MouseButton.LeftButton, pos=QPoint(x, spark.height() // 2))
    expect = c.start_ns + 0.75 * (c.end_ns - c.start_ns)
    assert abs(c.t_ns - expect) <= (c.end_ns - c.start_ns) / (spark.width() - 2)
    assert window.timeline.time_label.text().startswith("2026-03-02 01:")


def _alert(k: int) -> Alert:
    return Alert(k * 10**9, "slow", 1, "Traffic", k, f"road-{k}", 0.3, (0.0, 0.0, 0.0))


def test_new_alerts_are_listed_and_the_list_scrolls_to_the_newest_once(qtbot: QtBot) -> None:
    """A tick's batch of alerts is listed at once; the list scrolls to the newest after it."""
    session = Session()
    panel = QtAlertsPanel(session)
    qtbot.addWidget(panel)
    panel.resize(400, 120)
    panel.show()
    qtbot.waitExposed(panel)
    session.alerts.alerts.extend([_alert(k) for k in range(200)])  # one tick's batch
    assert panel.count() == 200
    bar = panel.list.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert "road-199" in panel.list.item(199).text()
    session.alerts.alerts.clear()
    assert panel.count() == 0
