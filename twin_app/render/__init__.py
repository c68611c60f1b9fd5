"""VTK/PyVista adapters: one per layer kind, a Scene over any ``pv.BasePlotter``. No Qt here."""

import os
import sys

if (
    sys.platform.startswith("linux")
    and not os.environ.get("DISPLAY")
    and not os.environ.get("WAYLAND_DISPLAY")
):
    # No display: VTK would try an X window first, print "bad X server connection" and only
    # then fall back to EGL; go to EGL (headless GPU or Mesa) at once.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
