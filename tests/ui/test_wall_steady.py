"""The wall stays put for days (issue 11): changing texts never resize its 3D view (each resize
made the renderer allocate new frame buffers, and a soaked wall's heap grew with them), and a
thousand tile updates make no lasting Python objects."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from twin_app.session import Session
from twin_app.session.wall import WallKpi

pytestmark = pytest.mark.ui


class _Resizes(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.count += 1
        return False


@pytest.fixture
def wall(qtbot: Any) -> Any:
    from twin_app.ui.wall import QtWallWindow

    w = QtWallWindow(Session(), drive_clock=False, tour_s=0)
    qtbot.addWidget(w)
    w.show_on(0, (1280, 720))
    qtbot.waitExposed(w)
    yield w
    w.close()


def _kpi(k: int, i: int) -> WallKpi:
    # values from 1 digit to 12, names short and long: the label widths swing widely
    return WallKpi(f"KPI {k}" + " long name" * (i % 4), float(7 * 10 ** (i % 12)), "veh·h")


def test_changing_texts_do_not_resize_the_3d_view(qtbot: Any, wall: Any) -> None:
    side = wall.side_panel.width()
    size = wall.view.size()
    assert abs(side - round(0.38 * 1280)) <= 1 and size.width() > 0
    probe = _Resizes()
    wall.view.installEventFilter(probe)
    for i in range(24):
        for k, tile in enumerate(wall.tiles):
            tile.show_kpi(_kpi(k, i + k), stale=bool(i % 2))
        wall.caption.setText("Tour stop " + "x" * (7 * i))
        wall.ticker.set_stale("STALE: " + "feed silent " * (i % 5))
        wall.set_status("loading " * (i % 3))
        QApplication.processEvents()
    wall.view.removeEventFilter(probe)
    assert probe.count == 0, f"the 3D view was resized {probe.count} times by text changes"
    assert wall.view.size() == size
    assert wall.side_panel.width() == side


def test_a_thousand_tile_updates_make_no_lasting_objects(qtbot: Any, wall: Any) -> None:
    def burst(n: int) -> None:
        for i in range(n):
            for k, tile in enumerate(wall.tiles):
                tile.show_kpi(_kpi(k, i), stale=bool(i % 3 == 0))
            wall._show_clock()
        QApplication.processEvents()

    burst(50)  # warm caches (fonts, style polish)
    gc.collect()
    before = len(gc.get_objects())
    burst(1000)
    gc.collect()
    assert len(gc.get_objects()) - before < 200
