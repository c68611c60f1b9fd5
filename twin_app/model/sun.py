"""Where the sun stands over the twin now: the evented model the render Scene lights from.

The session computes it (``twin_app.engines.sun``, NREL SPA through pvlib) from the frame's
longitude/latitude and the clock; the Scene only reads :attr:`Sun.direction` and
:attr:`Sun.above_horizon`, so the render layer never imports an engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from psygnal import SignalGroup, evented


@evented
@dataclass(eq=False)
class Sun:
    """The sun seen from the twin's place at the clock's time.

    Attributes
    ----------
    azimuth_deg
        Compass bearing of the sun, degrees clockwise from north (180 = south).
    elevation_deg
        Apparent elevation above the horizon, degrees (negative at night).
    time_ns
        The UTC time (ns) the position belongs to; 0 while unknown (nothing open yet).
    known
        False until a twin with a place and a clock time has set it: the Scene then lights
        from a fixed afternoon sun in the south-west (azimuth 220, elevation 45 degrees).
    """

    azimuth_deg: float = 220.0
    elevation_deg: float = 45.0
    time_ns: int = 0
    known: bool = False

    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    @property
    def above_horizon(self) -> bool:
        """True when the sun is up (elevation above 0 degrees)."""
        return self.elevation_deg > 0.0

    @property
    def direction(self) -> tuple[float, float, float]:
        """Unit vector from the ground towards the sun: x east, y north, z up.

        ``(cos(el) sin(az), cos(el) cos(az), sin(el))``.
        """
        az, el = math.radians(self.azimuth_deg), math.radians(self.elevation_deg)
        return (math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el))

    def set_position(self, azimuth_deg: float, elevation_deg: float, time_ns: int) -> None:
        """Move the sun (one event per changed field; elevation last, listeners redraw on it)."""
        self.known = True
        self.time_ns = int(time_ns)
        self.azimuth_deg = float(azimuth_deg)
        self.elevation_deg = float(elevation_deg)
