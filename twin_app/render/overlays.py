"""Map furniture drawn in screen space: a scale bar and a north arrow.

Both are 2D actors whose geometry is recomputed before each render from the camera (one
observer on the renderer's StartEvent; a few dozen floating point operations per frame), so
they follow every camera change: navigation, presets, fly-to, follow.

The scale bar measures at the view centre: the point where the ray through the middle of the
view meets the ground. (The focal point is no measure: zooming towards the cursor moves it
with the camera, so its distance never changes; the bar then kept its label while zooming.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import vtk

NICE_STEPS = (1.0, 2.0, 5.0)


def nice_length(max_m: float) -> float:
    """Largest 1/2/5 x 10^k metres not above `max_m` (at least 1 cm)."""
    if not math.isfinite(max_m) or max_m <= 0:
        return 1.0
    k = math.floor(math.log10(max_m))
    best = 10.0 ** (k - 1)
    for step in NICE_STEPS:
        v = step * 10.0**k
        if v <= max_m:
            best = v
    return max(best, 0.01)


def format_length(m: float) -> str:
    """``250 m``, ``1 km``, ``0.5 m``."""
    if m >= 1000:
        km = m / 1000.0
        return f"{km:g} km"
    return f"{m:g} m"


def _poly_actor(
    color: tuple[float, float, float], width: float = 2.0
) -> tuple[vtk.vtkPolyData, vtk.vtkActor2D]:
    pd = vtk.vtkPolyData()
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(pd)
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetLineWidth(width)
    return pd, actor


def _set_polys(
    pd: vtk.vtkPolyData, pts: np.ndarray[Any, Any], lines: list[list[int]], polys: list[list[int]]
) -> None:
    from vtkmodules.util.numpy_support import numpy_to_vtk

    p = vtk.vtkPoints()
    p.SetData(
        numpy_to_vtk(np.column_stack([pts, np.zeros(len(pts))]).astype(np.float64), deep=True)
    )
    pd.SetPoints(p)
    la = vtk.vtkCellArray()
    for ln in lines:
        la.InsertNextCell(len(ln), ln)
    pa = vtk.vtkCellArray()
    for pl in polys:
        pa.InsertNextCell(len(pl), pl)
    pd.SetLines(la)
    pd.SetPolys(pa)
    pd.Modified()


class MapOverlays:
    """Scale bar (bottom left) and north arrow (top right) of one renderer.

    Parameters
    ----------
    renderer
        The vtkRenderer to draw on and to read the camera from.
    dark
        Draw in light colours (for dark backgrounds).
    """

    def __init__(self, renderer: vtk.vtkRenderer, dark: bool = False) -> None:
        self.renderer = renderer
        fg = (0.95, 0.95, 0.95) if dark else (0.1, 0.1, 0.1)
        self.bar_pd, self.bar = _poly_actor(fg, 2.0)
        self.arrow_pd, self.arrow = _poly_actor(fg, 1.5)
        self.bar_text = vtk.vtkTextActor()
        self.north_text = vtk.vtkTextActor()
        for t in (self.bar_text, self.north_text):
            prop = t.GetTextProperty()
            prop.SetColor(*fg)
            prop.SetFontSize(16)
            prop.SetBold(True)
            prop.SetJustificationToCentered()
            prop.SetShadow(False)
        self.north_text.SetInput("N")
        self.scale_m = 0.0
        #: Metres per pixel at the view centre (on the ground), as of the last render.
        self.m_per_px = 0.0
        #: Height of the ground the scale bar measures on (the scene sets it with the ground).
        self.ground_z = 0.0
        self.north_angle_deg = 0.0
        self._state: tuple[float, ...] = ()
        for a in (self.bar, self.arrow, self.bar_text, self.north_text):
            renderer.AddViewProp(a)
        self._tag = renderer.AddObserver("StartEvent", self._update)

    def set_visible(self, on: bool) -> None:
        """Show or hide both overlays."""
        for a in (self.bar, self.arrow, self.bar_text, self.north_text):
            a.SetVisibility(on)

    def remove(self) -> None:
        """Detach from the renderer."""
        self.renderer.RemoveObserver(self._tag)
        for a in (self.bar, self.arrow, self.bar_text, self.north_text):
            self.renderer.RemoveViewProp(a)

    def _to_display(self, world: tuple[float, float, float]) -> np.ndarray[Any, Any]:
        r = self.renderer
        r.SetWorldPoint(world[0], world[1], world[2], 1.0)
        r.WorldToDisplay()
        return np.array(r.GetDisplayPoint()[:2])

    def view_centre(self) -> tuple[float, float, float]:
        """Where the ray through the middle of the view meets the ground (z = `ground_z`).

        Looking at or above the horizon, the point at the focal distance along that ray.
        """
        cam = self.renderer.GetActiveCamera()
        eye = np.array(cam.GetPosition(), dtype=np.float64)
        d = np.array(cam.GetDirectionOfProjection(), dtype=np.float64)
        dist = float(cam.GetDistance())
        if d[2] < -1e-6:
            t = (self.ground_z - eye[2]) / d[2]
            if 0.0 < t < 1e4 * max(dist, 1.0):
                dist = t
        c = eye + d * dist
        return (float(c[0]), float(c[1]), float(c[2]))

    def _update(self, *_: object) -> None:
        r = self.renderer
        w, h = r.GetSize()
        if w <= 0 or h <= 0:
            return
        cam = r.GetActiveCamera()
        f = self.view_centre()
        # Pixels per metre at the view centre, along the screen's horizontal axis.
        right = np.cross(np.array(cam.GetDirectionOfProjection()), np.array(cam.GetViewUp()))
        norm = np.linalg.norm(right)
        right = right / norm if norm > 0 else np.array([1.0, 0.0, 0.0])
        p0 = self._to_display(f)
        p1 = self._to_display((f[0] + right[0], f[1] + right[1], f[2] + right[2]))
        px_per_m = float(np.linalg.norm(p1 - p0))
        if not math.isfinite(px_per_m):
            return
        dpi_scale = max(1.0, h / 1080.0)
        # North arrow: the screen direction of world +y at the focal point.
        q = self._to_display((f[0], f[1] + 1.0, f[2]))
        d = q - p0
        if np.linalg.norm(d) < 1e-9:
            d = np.array([0.0, 1.0])
        d = d / np.linalg.norm(d)
        # Rebuild the 2D geometry only when what it shows changes (text re-rasterising and
        # buffer uploads are not free on software GL).
        state = (
            round(px_per_m, 4),
            round(float(d[0]), 3),
            round(float(d[1]), 3),
            float(w),
            float(h),
        )
        if state == self._state:
            return
        self._state = state
        if px_per_m > 0:
            length_m = nice_length(0.22 * w / px_per_m)
            L = length_m * px_per_m
            x0, y0 = 24.0 * dpi_scale, 24.0 * dpi_scale
            tick = 7.0 * dpi_scale
            pts = np.array(
                [
                    [x0, y0],
                    [x0 + L, y0],
                    [x0, y0 + tick],
                    [x0 + L, y0 + tick],
                    [x0 + L / 2, y0 + tick * 0.6],
                ]
            )
            _set_polys(self.bar_pd, pts, [[0, 1], [0, 2], [1, 3], [4, 4]], [])
            label = format_length(length_m)
            if self.bar_text.GetInput() != label:
                self.bar_text.SetInput(label)
            self.bar_text.SetPosition(x0 + L / 2, y0 + tick + 6 * dpi_scale)
            if self.bar_text.GetTextProperty().GetFontSize() != round(15 * dpi_scale):
                self.bar_text.GetTextProperty().SetFontSize(round(15 * dpi_scale))
            self.scale_m = length_m
            self.m_per_px = 1.0 / px_per_m
        self.north_angle_deg = math.degrees(math.atan2(-d[0], d[1]))
        n = np.array([-d[1], d[0]])
        size = 26.0 * dpi_scale
        c = np.array([w - 44.0 * dpi_scale, h - 56.0 * dpi_scale])
        tip = c + d * size
        tail = c - d * size * 0.6
        left = c - d * size * 0.25 + n * size * 0.45
        rightp = c - d * size * 0.25 - n * size * 0.45
        pts = np.array([tip, left, c, rightp, tail])
        _set_polys(self.arrow_pd, pts, [[0, 1, 2, 3, 0]], [[0, 1, 2]])
        label = c + d * (size + 14.0 * dpi_scale)
        self.north_text.SetPosition(float(label[0]), float(label[1]) - 8.0 * dpi_scale)
        if self.north_text.GetTextProperty().GetFontSize() != round(16 * dpi_scale):
            self.north_text.GetTextProperty().SetFontSize(round(16 * dpi_scale))
