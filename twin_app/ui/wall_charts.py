"""The wall's time-series charts (pyqtgraph): one plot per chosen KPI or sensor over a rolling
window, updated in place (``setData`` on the curve made at start, nothing new per tick)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QVBoxLayout, QWidget

from twin_app.session.wall import RollingSeries

#: Curve colours, in order.
COLOURS = ("#4fc3f7", "#ffb74d", "#e57373", "#81c784")


class QtWallCharts(QWidget):
    """Stacked plots sharing the clock's time axis (local time of the twin).

    Parameters
    ----------
    names
        One plot per name (a KPI tile's name or a sensor id).
    capacity
        Samples each plot keeps (the rolling window is ``capacity`` refreshes long).
    utc_offset_s
        The twin's offset from UTC, seconds east (the axis shows local clock time).
    """

    def __init__(
        self,
        names: Sequence[str],
        capacity: int = 600,
        utc_offset_s: float = 0.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.names = list(names)
        self.series = {n: RollingSeries(capacity) for n in self.names}
        self.plots = []
        self.curves = []
        self._last_t = -math.inf
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for k, name in enumerate(self.names):
            # pyqtgraph's DateAxisItem shows the local time of its utcOffset (seconds WEST).
            axis = pg.DateAxisItem(orientation="bottom", utcOffset=-utc_offset_s)
            plot = pg.PlotWidget(axisItems={"bottom": axis}, background="#101418")
            plot.setTitle(name, color="#dddddd")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.getPlotItem().setMenuEnabled(False)
            curve = plot.plot(pen=pg.mkPen(COLOURS[k % len(COLOURS)], width=3), connect="finite")
            layout.addWidget(plot)
            self.plots.append(plot)
            self.curves.append(curve)

    def set_unit_px(self, unit_px: int) -> None:
        """Scale titles and tick labels (0.7 and 0.55 type units)."""
        for plot, name in zip(self.plots, self.names, strict=True):
            plot.setTitle(name, color="#dddddd", size=f"{max(8, round(0.7 * unit_px))}px")
            f = QFont()
            f.setPixelSize(max(8, round(0.55 * unit_px)))
            for side in ("bottom", "left"):
                ax = plot.getAxis(side)
                ax.setStyle(tickFont=f)
                ax.setTextPen("#cccccc")

    def push(self, t_s: float, values: dict[str, float]) -> None:
        """Add one sample per plot at clock time `t_s` (UTC seconds) and redraw the curves.

        Time going back (replay looping to its start, a seek) starts the window afresh.
        """
        if t_s < self._last_t:
            for s in self.series.values():
                s.clear()
        self._last_t = t_s
        for name, curve in zip(self.names, self.curves, strict=True):
            s = self.series[name]
            s.push(t_s, values.get(name, math.nan))
            t, v = s.view()
            curve.setData(t, v, connect="finite")
