"""Guard: the installed Qt binding must not leak references to ``None``.

PySide6 6.12.0 decrements ``None``'s reference count on every call of a Qt method that returns
nothing; on Python 3.11, where ``None`` is not immortal, the process aborts with
``none_dealloc`` after minutes of playback (the timeline repaints many times a second).
pyproject.toml excludes that release; this test fails on any binding that does the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter, QPainterPath

CALLS = 500  # few enough that a leaking binding fails here instead of aborting


def _drift(call: Callable[[], None]) -> int:
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        call()
    return sys.getrefcount(None) - before


@pytest.mark.parametrize("what", ["QPainterPath.lineTo", "QPainterPath.moveTo", "drawLine"])
def test_void_qt_calls_keep_the_reference_count_of_none(what: str) -> None:
    path = QPainterPath()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    a, b = QPointF(1.0, 2.0), QPointF(30.0, 40.0)
    calls: dict[str, Callable[[], None]] = {
        "QPainterPath.lineTo": lambda: path.lineTo(3.0, 4.0),
        "QPainterPath.moveTo": lambda: path.moveTo(3.0, 4.0),
        "drawLine": lambda: painter.drawLine(a, b),
    }
    try:
        drift = _drift(calls[what])
    finally:
        painter.end()
    # A sound binding leaves the count where it was (a few references may come and go with
    # the interpreter's own bookkeeping); the broken one loses one per call.
    assert abs(drift) < CALLS // 10, f"{what}: None's reference count moved by {drift}"
