"""The one clock every time-dependent part of the twin reads.

Replay, live feeds, simulation results, the sun and camera tours all read ``clock.t_ns``; the
UI timer only calls :meth:`Clock.advance`. Time is UTC nanoseconds since the Unix epoch
(int64); local time exists only in the UI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from psygnal import SignalGroup, evented

from twin_app.errors import TwinError

NS = 1_000_000_000
MAX_RATE = 10_000.0


def now_ns() -> int:
    """Wall-clock time, UTC ns."""
    return time.time_ns()


@evented
@dataclass(eq=False)
class Clock:
    """Simulation time with play/pause, rate, reverse, seek, step, loop range and live mode.

    Attributes
    ----------
    t_ns
        Current time, UTC ns since the epoch.
    rate
        Simulated seconds per wall second: 1 (real time) up to 10,000; negative plays backwards.
    playing
        Whether :meth:`advance` moves time.
    live
        Follow wall time (live feeds); play/rate/seek are ignored while live.
    start_ns, end_ns
        The range of the data (the timeline's extent); 0/0 when nothing is loaded.
    loop
        At the end of the range (or the loop range) jump back to its start (or end when
        playing backwards) instead of pausing.
    loop_start_ns, loop_end_ns
        An optional sub-range to loop over (0/0 = the whole range).
    """

    t_ns: int = 0
    rate: float = 1.0
    playing: bool = False
    live: bool = False
    start_ns: int = 0
    end_ns: int = 0
    loop: bool = True
    loop_start_ns: int = 0
    loop_end_ns: int = 0

    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def __post_init__(self) -> None:
        self._check_rate(self.rate)

    @staticmethod
    def _check_rate(rate: float) -> None:
        if not (1.0 <= abs(rate) <= MAX_RATE):
            raise TwinError(
                f"clock rate must be between 1 and {MAX_RATE:,.0f} (negative to reverse), not {rate}"
            )

    # -- range ---------------------------------------------------------------------------------
    def set_range(self, start_ns: int, end_ns: int) -> None:
        """Set the data range; the current time is clamped into it."""
        if end_ns < start_ns:
            raise TwinError("clock range ends before it starts")
        self.start_ns, self.end_ns = int(start_ns), int(end_ns)
        if not self.live:
            self.t_ns = min(max(self.t_ns, self.start_ns), self.end_ns)

    def extend_range(self, start_ns: int, end_ns: int) -> None:
        """Grow the range to cover another series (the first series sets it)."""
        if self.start_ns == self.end_ns == 0:
            self.set_range(start_ns, end_ns)
            self.t_ns = int(start_ns)
        else:
            self.set_range(min(self.start_ns, start_ns), max(self.end_ns, end_ns))

    def _bounds(self) -> tuple[int, int]:
        if self.loop_end_ns > self.loop_start_ns:
            return self.loop_start_ns, self.loop_end_ns
        return self.start_ns, self.end_ns

    # -- control -------------------------------------------------------------------------------
    def play(self) -> None:
        """Start moving time."""
        self.playing = True

    def pause(self) -> None:
        """Stop moving time."""
        self.playing = False

    def toggle(self) -> None:
        """Play if paused, pause if playing."""
        self.playing = not self.playing

    def set_rate(self, rate: float) -> None:
        """Set the rate (1 .. 10,000; negative = reverse)."""
        self._check_rate(rate)
        self.rate = float(rate)

    def reverse(self) -> None:
        """Play the other way."""
        self.rate = -self.rate

    def seek(self, t_ns: int) -> None:
        """Jump to a time (clamped to the range); leaves live mode."""
        self.live = False
        lo, hi = self.start_ns, self.end_ns
        self.t_ns = int(min(max(int(t_ns), lo), hi)) if hi > lo else int(t_ns)

    def step(self, seconds: float) -> None:
        """Move by a signed number of simulated seconds."""
        self.seek(self.t_ns + round(seconds * NS))

    def advance(self, wall_dt_s: float, wall_now_ns: int | None = None) -> None:
        """Called by the UI timer: move time by ``rate x wall_dt_s`` (or follow wall time when live).

        At the end of the range the clock loops (``loop``) or pauses at the end.
        """
        if self.live:
            self.t_ns = int(wall_now_ns if wall_now_ns is not None else now_ns())
            return
        if not self.playing or wall_dt_s <= 0:
            return
        lo, hi = self._bounds()
        t = self.t_ns + round(self.rate * wall_dt_s * NS)
        if hi > lo:
            span = hi - lo
            if t > hi:
                if self.loop:
                    t = lo + (t - hi) % span
                else:
                    t, self.playing = hi, False
            elif t < lo:
                if self.loop:
                    t = hi - (lo - t) % span
                else:
                    t, self.playing = lo, False
        self.t_ns = int(t)

    def go_live(self) -> None:
        """Follow wall time."""
        self.live = True
        self.t_ns = now_ns()
