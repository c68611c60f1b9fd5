"""Python's cyclic garbage collection on the GUI thread only.

A reference cycle that holds Qt widgets or VTK render windows (a closed wall's view, a
compare view) is freed by whichever thread happens to trigger a collection. On a worker
thread (a file loading, a scenario running) freeing them aborts the process: "Cannot make
QOpenGLContext current in a different thread". pyqtgraph's ``GarbageCollector`` (a
dependency already, for the wall's charts) turns the automatic collection off and collects by
the same generation thresholds from a timer on the GUI thread; this module keeps one.
"""

from __future__ import annotations

from typing import Any

_collector: Any = None


def collect_on_gui_thread(interval_s: float = 1.0) -> None:
    """Start collecting cycles every `interval_s` on the calling (GUI) thread, once per
    process; automatic collection is off from then on (``gc.isenabled()`` is False)."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=interval_s)
