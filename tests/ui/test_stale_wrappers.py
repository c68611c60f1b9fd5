"""Closing a 3D view lets go of the Python wrapper of its GL surface.

A ``QSurface`` is not a ``QObject``: PySide6 never learns when Qt frees one, so a wrapper
kept past that point is handed out for whatever object Qt later puts at the same address.
CI once saw ``QListWidget.model()`` come back as a ``QSurface`` because an earlier test's
closed view still held one.
"""

from __future__ import annotations

import gc
from typing import Any

from PySide6.QtGui import QSurface


def _surface_wrappers() -> list[QSurface]:
    return [o for o in gc.get_objects() if isinstance(o, QSurface)]


def test_closing_the_window_drops_the_views_gl_surface(window: Any, qtbot: Any) -> None:
    window.view.scene.render()
    qtbot.wait(50)
    # the view is realized: its interactor holds the surface its context draws on
    assert _surface_wrappers(), "the realized view should hold its GL surface"
    window.close()
    assert _surface_wrappers() == []
