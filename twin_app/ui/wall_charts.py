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
#: A step forward of more than this many of the clock's usual steps between refreshes is a
#: jump (a story step or a seek setting the time), not the clock running: the window starts
#: afresh. Large enough that a GUI stalled for seconds (a scenario shown) does not count.
JUMP_STEPS = 20.0
#: The usual step follows a slower clock down by this factor a push (a partial step, as
#: play resumes between two refreshes, must not make the next whole one look like a jump).
STEP_DECAY = 0.9


def is_jump(
    t_s: float, last_t: float, step_s: float | None, jump_steps: float = JUMP_STEPS
) -> bool:
    """True when clock time `t_s` does not continue a window whose newest sample is at
    `last_t`: it lies before it (replay looping, a seek or story step back), or more than
    `jump_steps` x `step_s` (the usual step between samples; None: not known yet) after it.
    """
    if t_s < last_t:
        return True
    return step_s is not None and t_s - last_t > jump_steps * step_s


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
        #: The clock's usual step between two pushes: the largest positive one of the window,
        #: decaying by STEP_DECAY a step (None after a jump, until the clock moves again).
        self.step_s: float | None = None
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

        A jump of the clock (:func:`is_jump`: time going back as replay loops or a seek or
        story step sets it earlier, or far forward) starts the window afresh: the buffers are
        cleared in place, so the axis shows one continuous stretch of time, never a line
        across hours nobody saw.
        """
        if is_jump(t_s, self._last_t, self.step_s):
            for s in self.series.values():
                s.clear()
            self.step_s = None
        elif t_s > self._last_t and math.isfinite(self._last_t):
            dt = t_s - self._last_t
            self.step_s = dt if self.step_s is None else max(dt, STEP_DECAY * self.step_s)
        self._last_t = t_s
        for name, curve in zip(self.names, self.curves, strict=True):
            s = self.series[name]
            s.push(t_s, values.get(name, math.nan))
            t, v = s.view()
            curve.setData(t, v, connect="finite")
