"""Stray dock tab bars: Qt 6 (seen on 6.11) leaves a second, stale tab bar visible when a
window tabifies two pairs of docks before it is shown (the Messages/Alerts and
Inspector/Scenario pairs here); it stays where it was first laid out, over the panels or the
3D view ("Inspector | Scenario" across the Scenario panel's buttons). The live tab bar of a
group always touches its current dock's edge; a visible one that touches none is stale."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar

#: Pixels between a dock's edge and its tab bar that still count as touching.
TOUCH_PX = 4


def stray_tab_bars(window: QMainWindow) -> list[QTabBar]:
    """The visible dock tab bars of `window` that touch none of the docks they name."""
    docks = [
        d
        for d in window.findChildren(QDockWidget)
        if d.isVisible() and not d.isFloating() and window.rect().intersects(d.geometry())
    ]
    out: list[QTabBar] = []
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if not bar.isVisible() or bar.count() == 0:
            continue
        names = {bar.tabText(i).replace("&", "") for i in range(bar.count())}
        g = bar.geometry()
        touching = any(
            d.windowTitle().replace("&", "") in names
            and g.left() < d.geometry().right()
            and d.geometry().left() < g.right()
            and (
                abs(g.top() - d.geometry().bottom() - 1) <= TOUCH_PX
                or abs(d.geometry().top() - g.bottom() - 1) <= TOUCH_PX
            )
            for d in docks
        )
        if not touching:
            out.append(bar)
    return out


def hide_stray_tab_bars(window: QMainWindow) -> int:
    """Hide :func:`stray_tab_bars`; returns how many were hidden."""
    bars = stray_tab_bars(window)
    for bar in bars:
        bar.hide()
    return len(bars)


def watch_tab_bars(window: QMainWindow) -> None:
    """Hide stray tab bars after every layout of `window`'s docks (once the event loop has
    laid them out)."""
    from PySide6.QtCore import QEvent

    class _Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Show):
                QTimer.singleShot(0, self, lambda: hide_stray_tab_bars(window))
            return False

    watch = _Watch(window)
    window.installEventFilter(watch)
