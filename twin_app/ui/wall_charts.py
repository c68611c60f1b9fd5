"""The wall's time-series charts (pyqtgraph): one plot per chosen KPI or sensor over a rolling
window, updated in place (``setData`` on the curve made at start, nothing new per tick)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
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
#: The shortest time window a chart shows, seconds: while the clock stands still (or has just
#: started) the axis shows this much time ending now, not a fraction of a second around one
#: instant. A live wall's full window (600 refreshes at 2 Hz) is as long.
MIN_SPAN_S = 300.0
#: A flat or nearly flat series is shown over at least this share of its magnitude (over 1
#: around zero): a zero-height range leaves its y labels no room.
MIN_Y_SHARE = 0.1
#: Padding of the time and value ranges, as shares of their lengths.
X_PAD = 0.02
Y_PAD = 0.1


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


def x_range(t0: float, t1: float, min_span_s: float = MIN_SPAN_S) -> tuple[float, float]:
    """The time axis for samples from `t0` to `t1` (seconds): the samples' own stretch, at
    least `min_span_s` long, always ending at `t1` (the clock now)."""
    return min(t0, t1 - min_span_s), t1


def y_range(v: np.ndarray[Any, Any], min_share: float = MIN_Y_SHARE) -> tuple[float, float] | None:
    """The value axis for values `v` (NaN: gaps): their min to max, widened about its middle
    to at least `min_share` x the largest magnitude (1 when that is 0) so a flat series gets a
    range its labels fit on; None when no value is finite."""
    finite = v[np.isfinite(v)]
    if not finite.size:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    need = min_share * max(abs(lo), abs(hi)) or 1.0
    if hi - lo < need:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5 * need, mid + 0.5 * need
    return lo, hi


def _padded(r: tuple[float, float], share: float) -> tuple[float, float]:
    pad = share * (r[1] - r[0])
    return r[0] - pad, r[1] + pad


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
        #: A dot on each plot's newest sample: a paused clock's one sample draws no line.
        self.dots = []
        self._dot_at: list[tuple[float, float] | None] = []
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
            # the ranges follow the clock (x_range, y_range), not pyqtgraph's auto range
            plot.getViewBox().disableAutoRange()
            colour = COLOURS[k % len(COLOURS)]
            curve = plot.plot(pen=pg.mkPen(colour, width=3), connect="finite")
            # one point at the origin, moved (setPos) to the newest sample: cheaper than
            # setting a scatter's data each refresh
            dot = pg.ScatterPlotItem(
                [0.0], [0.0], size=9, brush=pg.mkBrush(colour), pen=None, symbol="o"
            )
            dot.setVisible(False)
            plot.addItem(dot)
            layout.addWidget(plot)
            self.plots.append(plot)
            self.curves.append(curve)
            self.dots.append(dot)
            self._dot_at.append(None)

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
        for dot in self.dots:
            dot.setSize(max(6, round(0.45 * unit_px)))

    def push(self, t_s: float, values: dict[str, float]) -> None:
        """Add one sample per plot at clock time `t_s` (UTC seconds) and redraw the curves.

        A jump of the clock (:func:`is_jump`: time going back as replay loops or a seek or
        story step sets it earlier, or far forward) starts the window afresh: the buffers are
        cleared in place, so the axis shows one continuous stretch of time, never a line
        across hours nobody saw. The same time again (the clock paused: the wall refreshes on,
        for days maybe) replaces the newest samples' values instead of adding copies, so a
        pause keeps the window's history. The axes show :func:`x_range` and :func:`y_range`.
        """
        if t_s == self._last_t:
            for name in self.names:
                self.series[name].set_last(values.get(name, math.nan))
            self._redraw()
            return
        if is_jump(t_s, self._last_t, self.step_s):
            for s in self.series.values():
                s.clear()
            self.step_s = None
        elif t_s > self._last_t and math.isfinite(self._last_t):
            dt = t_s - self._last_t
            self.step_s = dt if self.step_s is None else max(dt, STEP_DECAY * self.step_s)
        self._last_t = t_s
        for name in self.names:
            self.series[name].push(t_s, values.get(name, math.nan))
        self._redraw()

    def _redraw(self) -> None:
        """Set each curve, dot and view range from its series (views, no copies)."""
        for k, (name, plot, curve, dot) in enumerate(
            zip(self.names, self.plots, self.curves, self.dots, strict=True)
        ):
            t, v = self.series[name].view()
            curve.setData(t, v, connect="finite")
            at = (float(t[-1]), float(v[-1])) if len(t) and math.isfinite(v[-1]) else None
            if at != self._dot_at[k]:
                self._dot_at[k] = at
                dot.setVisible(at is not None)
                if at is not None:
                    dot.setPos(*at)
            xr = x_range(float(t[0]), float(t[-1])) if len(t) else None
            yr = y_range(v)
            # one call for both axes: each setRange updates the view and its axes
            plot.getViewBox().setRange(
                xRange=None if xr is None else _padded(xr, X_PAD),
                yRange=None if yr is None else _padded(yr, Y_PAD),
                padding=0.0,
            )
