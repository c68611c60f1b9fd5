"""Plotter factories and GL capability detection (shared by the CLI, tests and the app)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import pyvista as pv

AA = Literal["auto", "off", "msaa", "ssaa"]


@dataclass(frozen=True)
class GLInfo:
    """What OpenGL this process renders with."""

    renderer: str
    software: bool

    @property
    def multi_samples(self) -> int:
        """MSAA samples to request for interactive windows: none on software GL."""
        return 0 if self.software else 4


def _renderer_string(caps: str) -> str:
    for line in caps.splitlines():
        if "renderer string" in line.lower():
            return line.split(":", 1)[1].strip()
    return ""


def is_software_gl(name: str) -> bool:
    """True for Mesa's CPU rasterisers, where 8x MSAA costs 3-4x per frame."""
    low = name.lower()
    return not low or any(k in low for k in ("llvmpipe", "softpipe", "swrast", "software"))


def quiet_vtk() -> None:
    """Keep VTK's warnings (such as "bad X server connection" before it falls back to EGL
    offscreen) off the terminal; errors still show."""
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)


@cache
def gl_info() -> GLInfo:
    """Probe the GL renderer once per process with a 1x1 offscreen window (about 50 ms)."""
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow

    import twin_app.render._vtk  # noqa: F401  (the OpenGL render window behind vtkRenderWindow)

    quiet_vtk()
    rw = vtkRenderWindow()
    rw.SetOffScreenRendering(True)
    rw.SetSize(1, 1)
    rw.AddRenderer(vtkRenderer())
    rw.Render()
    name = _renderer_string(rw.ReportCapabilities())
    rw.Finalize()
    return GLInfo(name, is_software_gl(name))


def offscreen_plotter(width: int = 1920, height: int = 1080, aa: AA = "auto") -> pv.Plotter:
    """An offscreen plotter with anti-aliasing suited to the GL renderer.

    ``auto``: 4x MSAA on hardware GL, none on software GL (llvmpipe: 8x MSAA costs 3-4x per
    frame). ``ssaa``: supersampling, for final images where time does not matter.
    """
    info = gl_info()
    plotter = pv.Plotter(off_screen=True, window_size=(int(width), int(height)))
    samples = {"auto": info.multi_samples, "off": 0, "msaa": 4, "ssaa": 0}[aa]
    plotter.ren_win.SetMultiSamples(samples)
    plotter.disable_anti_aliasing()
    if aa == "ssaa":
        plotter.enable_anti_aliasing("ssaa")
    return plotter
