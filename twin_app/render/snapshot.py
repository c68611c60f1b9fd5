"""Screenshots at any size up to 16384 pixels a side: title, legends and data attribution
laid out for the picture's own size, the 3D scene rendered in tiles where the picture is
larger than the GL's largest framebuffer (or :data:`TILE_SIDE`, whichever is smaller).

Tiles and the picture are one projection: a tile ``th`` pixels high whose centre sits
``(dx, dy)`` pixels off the picture's centre is drawn with the view angle shrunk to
``2 atan(tan(va / 2) th / H)`` (parallel cameras: the parallel scale times ``th / H``) and its
frustum moved by ``vtkCamera.SetWindowCenter(dx / (tw / 2), dy / (th / 2))`` half-widths
(the swipe view in :mod:`twin_app.render.compare` moves its part of the picture the same
way), so each tile's pixel centres are the picture's own. The 2D overlays (legends, scale
bar, north arrow, title, attribution) are laid out once for the whole picture, in its pixels
(fonts sized for its height, so they are rasterised at the output scale, never upscaled), and
each tile draws them shifted by its offset. A vertical sky gradient is cut per tile: each
tile's bottom and top colours are the picture's at the tile's bottom and top rows.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from vtkmodules.vtkRenderingCore import (
    VTK_DISPLAY,
    VTK_VIEWPORT,
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkProp,
    vtkRenderer,
    vtkRenderWindow,
    vtkTextActor,
)

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.layers import Layer
from twin_app.render import plotter as plotters
from twin_app.render.plotter import AA
from twin_app.render.scene import Scene
from twin_app.render.viewer import Viewer, ViewSource

#: Largest framebuffer side assumed when the GL cannot be asked (any GL 3.2 offers 4096).
FALLBACK_MAX_SIDE = 4096
#: Largest tile side used even where the GL allows more: one 16384 x 9216 window takes
#: several GB of framebuffers and copies on software GL; tiles of 8192 keep it to a fraction.
TILE_SIDE = 8192
#: vtkSSAAPass renders sqrt(5) times larger in each direction.
SSAA_FACTOR = math.sqrt(5.0)
#: Pictures up to this many pixels get supersampling by default (``aa="auto"``); larger ones
#: have pixels small enough that it costs far more than it shows.
SSAA_MAX_PIXELS = 3840 * 2160
#: Title and attribution font sizes in pixels at 1080 lines (scaled with the height).
TITLE_PT = 30
ATTRIBUTION_PT = 13
MARGIN_PX = 12.0

U8 = np.ndarray[Any, np.dtype[np.uint8]]


@cache
def max_render_size() -> int:
    """The largest framebuffer side this process's GL renders (``GL_MAX_RENDERBUFFER_SIZE``
    and ``GL_MAX_VIEWPORT_DIMS``, the smaller); :data:`FALLBACK_MAX_SIDE` if it cannot tell.

    Mesa's llvmpipe (EGL or GLX) reports 16384.
    """
    import ctypes

    rw = vtkRenderWindow()
    rw.SetOffScreenRendering(True)
    rw.SetSize(1, 1)
    rw.AddRenderer(vtkRenderer())
    try:
        rw.Render()
        rw.MakeCurrent()
        for name in ("libOpenGL.so.0", "libGL.so.1", "libGL.so", "opengl32"):
            try:
                gl = ctypes.CDLL(name)
            except OSError:
                continue
            values = []
            for pname in (0x84E8, 0x0D3A):  # GL_MAX_RENDERBUFFER_SIZE, GL_MAX_VIEWPORT_DIMS
                v = (ctypes.c_int * 2)(0, 0)
                gl.glGetIntegerv(pname, v)
                values.append(int(v[0]))
            if min(values) > 0:
                return min(values)
    except (OSError, AttributeError):
        pass
    finally:
        rw.Finalize()
    return FALLBACK_MAX_SIDE


@dataclass(frozen=True)
class Tile:
    """One tile of a picture in VTK display pixels (origin bottom left); the last column and
    row may reach past the picture (the overhang is cut off)."""

    x0: int
    y0: int
    w: int
    h: int


def tiles(width: int, height: int, max_side: int) -> list[Tile]:
    """Equal tiles, each at most `max_side` a side, covering a `width` x `height` picture,
    bottom row first, left to right."""
    nx = max(1, math.ceil(width / max_side))
    ny = max(1, math.ceil(height / max_side))
    tw, th = math.ceil(width / nx), math.ceil(height / ny)
    return [Tile(i * tw, j * th, tw, th) for j in range(ny) for i in range(nx)]


class Caption:
    """A title (top centre, bold) and a data attribution (bottom right, wrapped to the
    picture's width) on a renderer, sized for the picture's height.

    Parameters
    ----------
    renderer
        Where to draw.
    title, attribution
        The texts (empty: not drawn).
    dark
        Light text on dark boxes.
    """

    def __init__(
        self, renderer: vtkRenderer, title: str, attribution: str, dark: bool = False
    ) -> None:
        self.renderer = renderer
        self.title_text = title
        self.attribution_text = attribution
        fg = (0.95, 0.95, 0.96) if dark else (0.08, 0.08, 0.1)
        bg = (0.07, 0.09, 0.13) if dark else (1.0, 1.0, 1.0)
        self.title = vtkTextActor()
        self.attribution = vtkTextActor()
        for actor, bold in ((self.title, True), (self.attribution, False)):
            tp = actor.GetTextProperty()
            tp.SetBold(bold)
            tp.SetShadow(False)
            tp.SetColor(*fg)
            tp.SetBackgroundColor(*bg)
            tp.SetBackgroundOpacity(0.78)
            renderer.AddViewProp(actor)
        self.title.GetTextProperty().SetJustificationToCentered()
        self.title.GetTextProperty().SetVerticalJustificationToTop()
        self.attribution.GetTextProperty().SetJustificationToRight()
        self.attribution.GetTextProperty().SetVerticalJustificationToBottom()
        self.title.SetVisibility(bool(title))
        self.attribution.SetVisibility(bool(attribution))

    def layout(self, width: int, height: int) -> float:
        """Place and size both texts for a `width` x `height` picture; returns the height of
        the band the title takes at the top (0 without a title), margins included."""
        scale = max(0.75, height / 1080.0)
        margin = MARGIN_PX * scale
        title_pt = round(TITLE_PT * scale)
        self.title.GetTextProperty().SetFontSize(title_pt)
        # A title never runs into the north arrow: wrapped to the middle 70 % of the width.
        self.title.SetInput(_wrap(self.title_text, 0.7 * width, title_pt))
        self.title.SetPosition(width / 2.0, height - margin)
        attr_pt = round(ATTRIBUTION_PT * scale)
        self.attribution.GetTextProperty().SetFontSize(attr_pt)
        # Right of the scale bar (about a quarter of the width from the left).
        self.attribution.SetInput(_wrap(self.attribution_text, 0.68 * width, attr_pt))
        self.attribution.SetPosition(width - margin, margin * 0.5)
        if not self.title_text:
            return 0.0
        bb = [0.0, 0.0, 0.0, 0.0]
        self.title.GetBoundingBox(self.renderer, bb)
        return float(bb[3] - bb[2]) + margin

    def remove(self) -> None:
        """Take both texts off the renderer."""
        for actor in (self.title, self.attribution):
            self.renderer.RemoveViewProp(actor)


def _wrap(text: str, width_px: float, font_px: int) -> str:
    """`text` in lines of at most `width_px` at `font_px` (about 0.55 em a character)."""
    chars = max(20, int(width_px / (0.55 * font_px)))
    return "\n".join(textwrap.wrap(text, chars)) if text else ""


def attribution_line(source: Any) -> str:
    """``Data: A; B; ...``: the distinct attributions of what `source` has open (a session's
    :meth:`~twin_app.session.core.Session.attributions`), or empty."""
    get = getattr(source, "attributions", None)
    if get is None:
        return ""
    seen: list[str] = []
    for _, attribution, _ in get():
        if attribution and attribution not in seen:
            seen.append(attribution)
    return ("Data: " + "; ".join(seen)) if seen else ""


@contextmanager
def _frozen(scene: Scene) -> Iterator[None]:
    scene.layout_frozen = scene.overlays.frozen = True
    try:
        yield
    finally:
        scene.layout_frozen = scene.overlays.frozen = False
        scene.relayout_legends()
        scene.overlays._state = ()


def _actors_2d(renderer: vtkRenderer) -> list[vtkActor2D]:
    """The 2D actors placed in pixels (not those whose mapper maps normalised coordinates)."""
    out = []
    props = renderer.GetViewProps()
    props.InitTraversal()
    for _ in range(props.GetNumberOfItems()):
        a = props.GetNextProp()
        if not isinstance(a, vtkActor2D):
            continue
        mapper = a.GetMapper()
        if isinstance(mapper, vtkPolyDataMapper2D) and mapper.GetTransformCoordinate():
            continue
        if a.GetPositionCoordinate().GetCoordinateSystem() in (
            VTK_DISPLAY,
            VTK_VIEWPORT,
        ):
            out.append(a)
    return out


def render_picture(
    scene: Scene,
    width: int,
    height: int,
    max_side: int | None = None,
    view: tuple[int, int] | None = None,
) -> U8:
    """Render `scene` as a `width` x `height` picture, in tiles when either side is larger
    than `max_side` (default :func:`max_render_size`); returns (height, width, 3) uint8.

    With `view` ``(x0, view_width)`` the picture is the columns from `x0` of a view
    `view_width` wide (as high): its camera's frustum is that part's (a tile of that view,
    module docstring), so pictures of neighbouring parts join into that view's picture.

    The scene's overlays are laid out for the whole picture; the plotter's window is left at
    the last tile's size and its camera as it was.
    """
    plotter = scene.plotter
    ren = plotter.renderer
    rw = plotter.ren_win
    limit = int(max_side or min(max_render_size(), TILE_SIDE))
    vx0, vw = view if view is not None else (0, width)
    rw.SetSize(int(width), int(height))
    if width <= limit and height <= limit and view is None:
        return scene.screenshot()
    # Lay the overlays out for the whole picture (the window's size is the picture's until
    # the first tile's render).
    ren.InvokeEvent("StartEvent")
    cam = ren.GetActiveCamera()
    view_angle, scale = cam.GetViewAngle(), cam.GetParallelScale()
    centre = cam.GetWindowCenter()
    gradient = bool(ren.GetGradientBackground())
    bottom, top = np.array(ren.GetBackground()), np.array(ren.GetBackground2())
    actors = _actors_2d(ren)
    placed = [tuple(a.GetPosition()) for a in actors]
    out = np.zeros((height, width, 3), np.uint8)
    try:
        with _frozen(scene):
            for t in tiles(width, height, limit):
                rw.SetSize(t.w, t.h)
                f = t.h / height
                cam.SetViewAngle(
                    math.degrees(2.0 * math.atan(math.tan(math.radians(view_angle) / 2) * f))
                )
                cam.SetParallelScale(scale * f)
                cam.SetWindowCenter(
                    (vx0 + t.x0 + t.w / 2 - vw / 2) / (t.w / 2),
                    (t.y0 + t.h / 2 - height / 2) / (t.h / 2),
                )
                if gradient:
                    ren.SetBackground(*(bottom + (top - bottom) * (t.y0 / height)))
                    ren.SetBackground2(*(bottom + (top - bottom) * ((t.y0 + t.h) / height)))
                for a, (x, y) in zip(actors, placed, strict=True):
                    a.SetPosition(x - t.x0, y - t.y0)
                img = scene.screenshot()
                # image rows run top down; the tile's top row is the picture's row H - y0 - h
                r0 = height - t.y0 - t.h
                rows = slice(max(r0, 0), height - t.y0)
                cols = slice(t.x0, min(t.x0 + t.w, width))
                out[rows, cols] = img[max(-r0, 0) :, : cols.stop - cols.start, :3]
    finally:
        cam.SetViewAngle(view_angle)
        cam.SetParallelScale(scale)
        cam.SetWindowCenter(*centre)
        if gradient:
            ren.SetBackground(*bottom)
            ren.SetBackground2(*top)
        for a, (x, y) in zip(actors, placed, strict=True):
            a.SetPosition(x, y)
    return out


def default_aa(width: int, height: int) -> AA:
    """Supersampling up to 4K (:data:`SSAA_MAX_PIXELS`), none above."""
    return "ssaa" if width * height <= SSAA_MAX_PIXELS else "off"


def snapshot(
    source: ViewSource,
    size: tuple[int, int] = (1920, 1080),
    *,
    title: str = "",
    attribution: str | None = None,
    path: Path | str | None = None,
    view: str | None = None,
    azimuth_deg: float = 0.0,
    aa: AA | None = None,
    dark: bool = False,
    shadows: bool = False,
    max_side: int | None = None,
    legend_filter: Callable[[Layer], bool] | None = None,
    part: tuple[int, int] | None = None,
    view_part: bool = False,
    scale_bar: bool = True,
    north_arrow: bool = True,
    props: Sequence[vtkProp] = (),
) -> U8:
    """Draw a session (or one side of a comparison) offscreen at `size` with its legends, a
    title and the data attribution; optionally save it as a PNG.

    Parameters
    ----------
    source
        What to draw (:class:`~twin_app.render.viewer.ViewSource`): its layers, and the pose
        of its Camera (the app's view: the same eye, the picture's own aspect).
    size
        (width, height) in pixels, each up to 16384; a side larger than the GL's framebuffer
        (:func:`max_render_size`) or :data:`TILE_SIDE` is rendered in tiles (module
        docstring).
    title
        Drawn at the top centre (empty: none).
    attribution
        Drawn at the bottom right; None: :func:`attribution_line` of `source` (its data's
        attributions from the twins' manifests), empty: none.
    path
        Write the picture here as a PNG (folders made).
    view, azimuth_deg
        A preset view to frame (``oblique``, ``top``, ``street``; written to the camera);
        None keeps the camera's pose (framing the data if it has none).
    aa
        Anti-aliasing (see :func:`~twin_app.render.plotter.offscreen_plotter`); None:
        :func:`default_aa`. Supersampling renders sqrt(5) times larger, so its tiles are
        that much smaller.
    dark, shadows
        The scene's dark theme and sun shadows.
    max_side
        Largest tile side (default: the GL's :func:`max_render_size`, at most
        :data:`TILE_SIDE`).
    legend_filter
        Only layers it is true for get a legend (a compare view's sides: what is compared).
    part
        ``(x0, canvas_width)``: the picture is the columns from `x0` of a picture
        `canvas_width` wide (as high) put together from parts (a compare view's sides): the
        title and attribution are laid out for that whole picture, each part drawing its
        share of them. Legends, scale bar and north arrow are the part's own.
    view_part
        With `part`: the 3D view, too, is that part of the whole picture's view (the swipe's
        scenario side, continuing the baseline's picture across the split).
    scale_bar, north_arrow
        Draw the scale bar (bottom left) and the north arrow (top right).
    props
        More 2D props to draw, placed in this picture's pixels, under the title and
        attribution (the swipe's line).

    Returns
    -------
    numpy.ndarray
        (height, width, 3) uint8.
    """
    w, h = int(size[0]), int(size[1])
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        from twin_app.errors import TwinError

        raise TwinError(f"screenshot size {w}x{h} out of range 16..16384")
    aa = aa or default_aa(w, h)
    limit = int(max_side or min(max_render_size(), TILE_SIDE))
    if aa == "ssaa":
        limit = int(limit / SSAA_FACTOR)
    first = (min(w, limit), min(h, limit))
    plotter = plotters.offscreen_plotter(*first, aa=aa)
    caption: Caption | None = None
    try:
        viewer = Viewer(source, plotter)
        scene = viewer.scene
        if legend_filter is not None:
            scene.legend_filter = legend_filter
            scene.legends_changed()
        if dark:
            scene.set_dark(True)
        if shadows:
            scene.set_shadows(True)
        plotter.ren_win.SetSize(w, h)  # presets frame the picture's aspect
        if view is not None:
            viewer.preset(view, azimuth_deg=azimuth_deg)
        text = attribution_line(source) if attribution is None else attribution
        for prop in props:
            plotter.renderer.AddViewProp(prop)
        caption = Caption(plotter.renderer, title, text, dark=dark)
        x0, canvas_w = part if part is not None else (0, w)
        scene.legend_top_px = caption.layout(canvas_w, h)  # legends start below the title
        for actor in (caption.title, caption.attribution):
            x, y = actor.GetPosition()
            actor.SetPosition(x - x0, y)  # in this part's pixels
        scene.relayout_legends()
        o = scene.overlays
        line_scale = max(1.0, h / 1080.0)
        o.bar.GetProperty().SetLineWidth(2.0 * line_scale)
        o.arrow.GetProperty().SetLineWidth(1.5 * line_scale)
        for actor, on in (
            (o.bar, scale_bar),
            (o.bar_text, scale_bar),
            (o.arrow, north_arrow),
            (o.north_text, north_arrow),
        ):
            actor.SetVisibility(on and actor.GetVisibility())
        img = render_picture(scene, w, h, limit, (x0, canvas_w) if view_part else None)
        caption.remove()
        for prop in props:
            plotter.renderer.RemoveViewProp(prop)
        viewer.close()
    finally:
        plotter.close()
    if path is not None:
        save_png(img, path)
    return img


def save_png(img: U8, path: Path | str) -> Path:
    """Write an (h, w, 3) uint8 picture as a PNG (folders made; a temporary file, then a
    rename, so a reader never sees half a picture: :func:`twin_app.atomic.replacing`, whose
    one-line error it raises when the file cannot be written)."""
    import imageio.v3 as iio

    from twin_app.atomic import replacing

    out = Path(path)
    with replacing(out) as tmp:
        iio.imwrite(tmp, img, extension=".png")
    return out
