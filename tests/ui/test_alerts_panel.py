"""The alerts panel lists raised alerts and shows the newest, once per batch of them."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from twin_app.model.alerts import Alert
from twin_app.session import Session
from twin_app.ui.alerts_panel import QtAlertsPanel

pytestmark = pytest.mark.ui


def _alert(k: int) -> Alert:
    return Alert(k * 10**9, "slow", 1, "Traffic", k, f"road-{k}", 0.3, (0.0, 0.0, 0.0))


def test_new_alerts_are_listed_and_the_list_scrolls_to_the_newest(qtbot: QtBot) -> None:
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
