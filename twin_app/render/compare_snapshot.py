"""Screenshots of the compare view: baseline and scenario side by side, or swiped, as one
picture with the title, legends and data attribution.

Each side is drawn through the one offscreen snapshot path (:func:`~twin_app.render.snapshot.
snapshot`, tiled where large) as a part of the whole picture: the title and attribution are
laid out once for the whole picture and each part draws its share, so they read across the
seam. Side by side, each side is a whole view of its share of the width (as the two views in
the window), with the legends of what is compared and its scale bar; the one north arrow is the
scenario's (top right). Swiped, the baseline is drawn over the
whole picture and the scenario's part right of the split is a tile of the same view (the
camera's frustum moved as :class:`~twin_app.render.compare.SwipeView` moves it), with its
own result layers' legends at its top left and no second scale bar; a line marks the split
(under the title).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.errors import TwinError
from twin_app.render.compare import DIVIDER_COLOR, MIN_SPLIT, is_scenario_result
from twin_app.render.plotter import AA
from twin_app.render.snapshot import U8, attribution_line, default_aa, save_png, snapshot
from twin_app.session.compare import Comparison

#: The narrowest a side may be, in pixels (the snapshot's own minimum).
MIN_SIDE_PX = 16
#: Width of the swipe's line at 1080 lines, in pixels (as the window draws it).
DIVIDER_PX = 2.0


def divider(height: int) -> vtkActor2D:
    """The swipe's line for a part `height` pixels high: its left :data:`DIVIDER_PX` columns
    (at 1080 lines), in pixels so tiles place it, drawn under the title."""
    lw = max(2.0, DIVIDER_PX * height / 1080.0)
    pts = vtkPoints()
    pts.InsertNextPoint(0.0, 0.0, 0.0)
    pts.InsertNextPoint(lw, 0.0, 0.0)
    pts.InsertNextPoint(lw, float(height), 0.0)
    pts.InsertNextPoint(0.0, float(height), 0.0)
    quad = vtkCellArray()
    quad.InsertNextCell(4, [0, 1, 2, 3])
    poly = vtkPolyData()
    poly.SetPoints(pts)
    poly.SetPolys(quad)
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*DIVIDER_COLOR)
    actor.SetPosition(0.0, 0.0)
    return actor


def compare_snapshot(
    comparison: Comparison,
    size: tuple[int, int] = (1920, 1080),
    *,
    mode: Literal["side", "swipe"] = "side",
    share: float = 0.5,
    split: float = 0.5,
    title: str = "",
    attribution: str | None = None,
    path: Path | str | None = None,
    aa: AA | None = None,
    dark: bool = False,
    shadows: bool = False,
    max_side: int | None = None,
) -> U8:
    """Draw a comparison offscreen at `size` as the compare view shows it; optionally save it
    as a PNG.

    Parameters
    ----------
    comparison
        Baseline and scenario, on the session's Camera (the views' pose).
    size
        (width, height) of the whole picture in pixels.
    mode
        ``"side"``: baseline left, scenario right, each a view of its share; ``"swipe"``: one
        view, the scenario right of `split`.
    share
        Side by side: the baseline's share of the width (the window's splitter).
    split
        Swiped: where the scenario starts, a fraction of the width (kept in [0.01, 0.99]).
    title, attribution, aa, dark, shadows, max_side
        As :func:`~twin_app.render.snapshot.snapshot` (attribution None: the session's data
        attributions). Both sides get the anti-aliasing the whole picture's size calls for.

    Returns
    -------
    numpy.ndarray
        (height, width, 3) uint8.

    Raises
    ------
    TwinError
        A size out of range, or a side narrower than :data:`MIN_SIDE_PX`.
    """
    w, h = int(size[0]), int(size[1])
    if mode not in ("side", "swipe"):
        raise TwinError(f"compare screenshot: unknown mode {mode!r} (side or swipe)")
    text = attribution_line(comparison.session) if attribution is None else attribution
    shot = partial(
        snapshot,
        title=title,
        attribution=text,
        aa=aa or default_aa(w, h),
        dark=dark,
        shadows=shadows,
        max_side=max_side,
    )
    if mode == "side":
        x = round(w * float(share))
    else:
        x = round(w * min(max(float(split), MIN_SPLIT), 1.0 - MIN_SPLIT))
    x = min(max(x, MIN_SIDE_PX), w - MIN_SIDE_PX)
    if x < MIN_SIDE_PX:
        raise TwinError(f"compare screenshot {w}x{h}: too narrow for two sides")
    if mode == "side":
        # one north arrow (the scenario's, top right): the baseline's would sit under the title
        left = shot(
            comparison.baseline,
            (x, h),
            legend_filter=comparison.is_result,
            part=(0, w),
            north_arrow=False,
        )
        right = shot(
            comparison.scenario, (w - x, h), legend_filter=comparison.is_result, part=(x, w)
        )
        img = np.concatenate([left, right], axis=1)
    else:
        img = shot(comparison.baseline, (w, h))
        img[:, x:] = shot(
            comparison.scenario,
            (w - x, h),
            legend_filter=partial(is_scenario_result, comparison),
            part=(x, w),
            view_part=True,
            scale_bar=False,
            props=[divider(h)],
        )
    if path is not None:
        save_png(img, path)
    return img
