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
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkRenderer, vtkTextActor

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)

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
) -> tuple[vtkPolyData, vtkActor2D]:
    pd = vtkPolyData()
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(pd)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetLineWidth(width)
    return pd, actor


def _set_polys(
    pd: vtkPolyData, pts: np.ndarray[Any, Any], lines: list[list[int]], polys: list[list[int]]
) -> None:
    from vtkmodules.util.numpy_support import numpy_to_vtk

    p = vtkPoints()
    p.SetData(
        numpy_to_vtk(np.column_stack([pts, np.zeros(len(pts))]).astype(np.float64), deep=True)
    )
    pd.SetPoints(p)
    la = vtkCellArray()
    for ln in lines:
        la.InsertNextCell(len(ln), ln)
    pa = vtkCellArray()
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

    def __init__(self, renderer: vtkRenderer, dark: bool = False) -> None:
        self.renderer = renderer
        fg = (0.95, 0.95, 0.95) if dark else (0.1, 0.1, 0.1)
        self.bar_pd, self.bar = _poly_actor(fg, 2.0)
        self.arrow_pd, self.arrow = _poly_actor(fg, 1.5)
        self.bar_text = vtkTextActor()
        self.north_text = vtkTextActor()
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
        #: While True the overlays keep their layout (a tiled snapshot: see Scene.layout_frozen).
        self.frozen = False
        for a in (self.bar, self.arrow, self.bar_text, self.north_text):
            renderer.AddViewProp(a)
        self._tag = renderer.AddObserver("StartEvent", self._update)

    def north_box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) display pixels (origin bottom left) the north arrow and its "N"
        can take at any heading: the top-right corner that legends keep free."""
        w, h = self.renderer.GetSize()
        dpi_scale = max(1.0, h / 1080.0)
        # the arrow (26 px) and the N (14 px further, 16 px text) round its centre
        # (44, 56) px in from the corner
        return (w - 96.0 * dpi_scale, h - 108.0 * dpi_scale, float(w), float(h))

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
        if self.frozen:
            return
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


# -- legend panels ---------------------------------------------------------------------------
#: Panel background and text colours per theme: (background rgb, background opacity, text rgb).
LEGEND_THEME = {
    False: ((1.0, 1.0, 1.0), 0.82, (0.08, 0.08, 0.1)),
    True: ((0.07, 0.09, 0.13), 0.8, (0.93, 0.94, 0.96)),
}


class LegendPanel:
    """One layer's legend in the 3D view: a translucent panel titled with the layer's name,
    holding colour swatches with labels (classes, types) or a colour bar with its limits.

    The Scene stacks the panels (:meth:`place`) so that they never overlap; the theme
    (:meth:`set_dark`) sets light text on a dark panel or dark text on a light one.

    Parameters
    ----------
    renderer
        The renderer to draw on.
    title
        The layer's name (first line, bold).
    subtitle
        What the colours show (the coloured column), or empty.
    entries
        (label, hex colour) swatches, or None for a colour bar.
    lut
        The colour bar's vtkLookupTable (with `entries` None).
    dark
        Dark theme.
    """

    BAR_CELLS = 64

    def __init__(
        self,
        renderer: vtkRenderer,
        title: str,
        subtitle: str = "",
        entries: list[tuple[str, str]] | None = None,
        lut: vtkLookupTable | None = None,
        dark: bool = False,
    ) -> None:
        from vtkmodules.util.numpy_support import numpy_to_vtk

        from twin_app.model.style import palette_rgb

        self.renderer = renderer
        self.title = title
        self.subtitle = subtitle
        self.entries = list(entries or [])
        self.lut = lut
        #: (x0, y0, x1, y1) of the panel in display pixels (origin bottom left), after place.
        self.box = (0.0, 0.0, 0.0, 0.0)
        #: False when the view had no room left for it.
        self.visible = True
        self.bg_pd, self.bg = _poly_actor((1.0, 1.0, 1.0))
        # Swatches or colour bar: one 2D polydata with a colour per cell.
        self.swatch_pd = vtkPolyData()
        if lut is not None:
            lo, hi = lut.GetTableRange()
            values = np.linspace(lo, hi, self.BAR_CELLS)
            from vtkmodules.util.numpy_support import vtk_to_numpy

            mapped = lut.MapScalars(numpy_to_vtk(values, deep=True), 0, -1)
            rgb8 = np.asarray(vtk_to_numpy(mapped))[:, :3].astype(np.uint8)
            n_cells = self.BAR_CELLS
        else:
            rgb8 = palette_rgb([c for _, c in self.entries])
            n_cells = len(self.entries)
        colors = numpy_to_vtk(np.ascontiguousarray(rgb8), deep=True)
        colors.SetName("rgb")
        self.swatch_pd.GetCellData().SetScalars(colors)
        polys = vtkCellArray()
        for i in range(n_cells):  # a handful of swatches or 64 bar cells, built once
            polys.InsertNextCell(4, [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3])
        self.swatch_pd.SetPolys(polys)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.swatch_pd)
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUseCellData()
        self.swatches = vtkActor2D()
        self.swatches.SetMapper(mapper)
        self.title_text = self._text(title + (f"  ·  {subtitle}" if subtitle else ""), bold=True)
        if lut is not None:
            lo, hi = lut.GetTableRange()
            self.labels = [self._text(f"{lo:.4g}"), self._text(f"{hi:.4g}")]
            if lo < 0.0 < hi and abs(lo + hi) <= 1e-9 * hi:  # a change: where "no change" is
                self.labels.append(self._text("0"))
        else:
            self.labels = [self._text(label) for label, _ in self.entries]
        self.props: list[Any] = [self.bg, self.swatches, self.title_text, *self.labels]
        for a in self.props:
            renderer.AddViewProp(a)
        self.set_dark(dark)

    @staticmethod
    def _text(text: str, bold: bool = False) -> vtkTextActor:
        t = vtkTextActor()
        t.SetInput(text)
        tp = t.GetTextProperty()
        tp.SetBold(bold)
        tp.SetShadow(False)
        tp.SetItalic(False)
        tp.SetVerticalJustificationToBottom()
        return t

    @property
    def texts(self) -> list[vtkTextActor]:
        """Title first, then the labels."""
        return [self.title_text, *self.labels]

    @property
    def label_texts(self) -> list[str]:
        """What the labels say (classes, or the colour bar's limits)."""
        return [str(t.GetInput()) for t in self.labels]

    def set_dark(self, dark: bool) -> None:
        """Light text on a dark panel (dark theme) or dark text on a light panel."""
        bg, alpha, fg = LEGEND_THEME[bool(dark)]
        self.dark = bool(dark)
        self.bg.GetProperty().SetColor(*bg)
        self.bg.GetProperty().SetOpacity(alpha)
        for t in self.texts:
            t.GetTextProperty().SetColor(*fg)

    def _text_size(self, t: vtkTextActor) -> tuple[float, float]:
        bb = [0.0, 0.0, 0.0, 0.0]
        t.GetBoundingBox(self.renderer, bb)
        return bb[1] - bb[0], bb[3] - bb[2]

    def place(self, x0: float, top: float, scale: float) -> tuple[float, float]:
        """Lay the panel out with its top-left corner at (x0, top) display pixels; returns its
        (width, height)."""
        from vtkmodules.util.numpy_support import numpy_to_vtk

        pad, line, box = 8.0 * scale, 20.0 * scale, 14.0 * scale
        for t in self.texts:
            t.GetTextProperty().SetFontSize(round(14 * scale))
        tw, th = self._text_size(self.title_text)
        y = top - pad - th
        self.title_text.SetPosition(x0 + pad, y)
        y -= 6.0 * scale
        pts: list[list[float]] = []
        width = tw
        if self.lut is not None:
            bar_w, bar_h = max(180.0 * scale, tw), 12.0 * scale
            y_bar = y - bar_h
            xs = x0 + pad + np.arange(self.BAR_CELLS + 1) * bar_w / self.BAR_CELLS
            for i in range(self.BAR_CELLS):  # 64 cells, laid out on resize only
                pts += [
                    [xs[i], y_bar, 0],
                    [xs[i + 1], y_bar, 0],
                    [xs[i + 1], y, 0],
                    [xs[i], y, 0],
                ]
            lo_t, hi_t = self.labels[:2]
            lw, lh = self._text_size(lo_t)
            hw, _ = self._text_size(hi_t)
            lo_t.SetPosition(x0 + pad, y_bar - 3 * scale - lh)
            hi_t.SetPosition(x0 + pad + bar_w - hw, y_bar - 3 * scale - lh)
            for mid in self.labels[2:]:
                mw, _ = self._text_size(mid)
                mid.SetPosition(x0 + pad + (bar_w - mw) / 2, y_bar - 3 * scale - lh)
            y = y_bar - 3 * scale - lh
            width = max(width, bar_w)
        else:
            for t in self.labels:
                lw, lh = self._text_size(t)
                yc = y - line / 2
                pts += [
                    [x0 + pad, yc - box / 2, 0],
                    [x0 + pad + box, yc - box / 2, 0],
                    [x0 + pad + box, yc + box / 2, 0],
                    [x0 + pad, yc + box / 2, 0],
                ]
                t.SetPosition(x0 + pad + box + 6 * scale, yc - lh / 2)
                width = max(width, box + 6 * scale + lw)
                y -= line
        w, h = width + 2 * pad, top - (y - pad)
        p = vtkPoints()
        p.SetData(numpy_to_vtk(np.asarray(pts, np.float64).reshape(-1, 3), deep=True))
        self.swatch_pd.SetPoints(p)
        self.swatch_pd.Modified()
        _set_polys(
            self.bg_pd,
            np.array([[x0, top - h], [x0 + w, top - h], [x0 + w, top], [x0, top]]),
            [],
            [[0, 1, 2, 3]],
        )
        self.box = (x0, top - h, x0 + w, top)
        return w, h

    def fit(self, x0: float, top: float, scale: float, room: float) -> tuple[float, float]:
        """:meth:`place`, shortening the layer name (``Roads (london.osm.pbf) (Close...``)
        until the panel is at most `room` pixels wide: the quantity and unit stay, and a
        compare side half a small video frame wide still gets its change legend."""
        name = self.title
        sub = f"  ·  {self.subtitle}" if self.subtitle else ""
        self.title_text.SetInput(name + sub)
        w, h = self.place(x0, top, scale)
        while w > room and len(name) > 8:
            keep = max(8, min(len(name) - 1, int(len(name) * room / w) - 3))
            name = name[:keep]
            self.title_text.SetInput(name.rstrip() + "..." + sub)
            w, h = self.place(x0, top, scale)
        return w, h

    def set_visible(self, on: bool) -> None:
        """Show or hide the whole panel."""
        self.visible = bool(on)
        for a in self.props:
            a.SetVisibility(self.visible)

    def remove(self) -> None:
        """Take the panel off the renderer."""
        for a in self.props:
            self.renderer.RemoveViewProp(a)
