"""Baseline and scenario drawn together: side by side, or as one picture split by a swipe.

Both bindings work offscreen (tests, CLI, export) and in Qt (the compare widget hosts them).
Each side is an ordinary :class:`~twin_app.render.viewer.Viewer` bound to one side of a
:class:`~twin_app.session.compare.Comparison`, and both Viewers write and follow the session's
one Camera model, so the two pictures always show the same place from the same eye.

The swipe draws one render window with two renderers: the baseline's over the whole window
(its camera, picking and navigation are those of a plain view) and the scenario's over it,
right of the split (viewport ``[s, 1]``, drawn on a second layer, clearing its own part). The
scenario's camera has the same pose; its projection is shifted with
``vtkCamera.SetWindowCenter`` so that its part of the window shows exactly what the baseline
would show there: with a vertical view angle (VTK's default) a viewport of width ``1 - s``
sees ``1 - s`` of the full view's width, centred on its own middle, and a window centre of
``cx`` moves the frustum to ``[(cx - 1), (cx + 1)]`` times its half width. The part right of
the split is ``[2s - 1, 1]`` in the full view's units, so ``cx = s / (1 - s)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkCoordinate,
    vtkPolyDataMapper2D,
    vtkRenderWindow,
)

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.layers import Layer
from twin_app.render.viewer import Viewer
from twin_app.session.compare import Comparison

#: The swipe's split is kept this far from the window's edges (a zero-width viewport).
MIN_SPLIT = 0.01
#: Colour of the line drawn at the swipe's split.
DIVIDER_COLOR = (1.0, 1.0, 1.0)


def is_scenario_result(comparison: Comparison, layer: Layer) -> bool:
    """True for a layer only the scenario side draws: its result layers and extras (study
    rasters ...). The swipe gives these their legends in the scenario's part."""
    side = comparison.scenario
    return any(layer is r for r in side.results.values()) or any(
        layer is x for xs in side.extras.values() for x in xs
    )


class RendererPlotter:
    """The face of a plotter that a :class:`~twin_app.render.scene.Scene` uses, on one
    renderer of a render window that holds more than one (the swipe's scenario renderer).

    Rendering and screenshots are the whole window's; lights, background, camera and props
    are this renderer's.

    Parameters
    ----------
    plotter
        The plotter that owns the render window.
    renderer
        A ``pv.Renderer`` of `plotter` (added to its render window).
    """

    def __init__(self, plotter: pv.BasePlotter, renderer: pv.Renderer) -> None:
        self.parent = plotter
        self.renderer = renderer

    @property
    def camera(self) -> Any:
        """This renderer's camera."""
        return self.renderer.camera

    @property
    def camera_set(self) -> bool:
        """Whether the camera was placed (pyvista does not reset it on the first render)."""
        return bool(self.renderer.camera_set)

    @camera_set.setter
    def camera_set(self, value: bool) -> None:
        self.renderer.camera_set = value

    @property
    def window_size(self) -> Any:
        """The whole window's size: the swipe shows one picture of that shape."""
        return self.parent.window_size

    @property
    def ren_win(self) -> vtkRenderWindow:
        """The shared render window."""
        return self.parent.ren_win

    def set_background(self, color: Any, top: Any = None) -> None:
        """This renderer's background (a vertical gradient with `top`)."""
        self.renderer.set_background(color, top=top)

    def add_light(self, light: pv.Light) -> None:
        """Light this renderer."""
        self.renderer.add_light(light)

    def remove_all_lights(self) -> None:
        """Take this renderer's lights away."""
        self.renderer.remove_all_lights()

    def enable_ssao(self, **kwargs: Any) -> None:
        """Ambient occlusion on this renderer."""
        self.renderer.enable_ssao(**kwargs)

    def disable_ssao(self) -> None:
        """No ambient occlusion on this renderer."""
        self.renderer.disable_ssao()

    def render(self) -> None:
        """Render the whole window."""
        self.parent.render()

    def screenshot(self, filename: Any = None, return_img: bool = True) -> Any:
        """The whole window's image."""
        return self.parent.screenshot(filename, return_img=return_img)


class CompareView:
    """Baseline left, scenario right, in two plotters: two Viewers on one Camera.

    Parameters
    ----------
    left, right
        The plotters (offscreen ``pv.Plotter`` or ``QtInteractor``) for the baseline and
        the scenario.
    comparison
        What is compared.
    schedule_left, schedule_right
        Render requests of each side (see :class:`~twin_app.render.scene.Scene`); None:
        render on demand (:meth:`screenshots`).
    """

    def __init__(
        self,
        left: pv.BasePlotter,
        right: pv.BasePlotter,
        comparison: Comparison,
        schedule_left: Callable[[], None] | None = None,
        schedule_right: Callable[[], None] | None = None,
    ) -> None:
        self.comparison = comparison
        camera = comparison.camera
        self.baseline = Viewer(comparison.baseline, left, camera=camera, schedule=schedule_left)
        self.scenario = Viewer(comparison.scenario, right, camera=camera, schedule=schedule_right)
        # Two views side by side are half as wide as the main view: each shows the legends of
        # what is compared (its result layers), not those of every context layer twice.
        for viewer in self.viewers:
            viewer.scene.legend_filter = comparison.is_result
            viewer.scene.legends_changed()

    @property
    def viewers(self) -> tuple[Viewer, Viewer]:
        """(baseline, scenario)."""
        return (self.baseline, self.scenario)

    def screenshots(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Render both and return their (h, w, 3) images."""
        return (self.baseline.scene.screenshot(), self.scenario.scene.screenshot())

    def close(self) -> None:
        """Unbind both viewers (the plotters stay open)."""
        for viewer in self.viewers:
            viewer.close()


class SwipeView:
    """Baseline and scenario as one picture split at a movable fraction of its width.

    Parameters
    ----------
    plotter
        The plotter whose window shows the picture (offscreen or a ``QtInteractor``); its
        own renderer draws the baseline over the whole window.
    comparison
        What is compared.
    split
        Where the scenario starts, as a fraction of the width from the left (0..1).
    schedule
        Render requests (one window: one render draws both sides).
    divider
        Draw a line at the split.
    baseline
        A Viewer of ``comparison.baseline`` already bound to `plotter` (a Qt view's) to use
        instead of making one; `schedule` is then its own.

    Notes
    -----
    The scenario's render requests go to the baseline's scene: whoever renders the
    baseline (a Qt view's coalescing timer, :meth:`render`, :meth:`screenshot`) renders
    the whole window, both sides.
    """

    def __init__(
        self,
        plotter: pv.BasePlotter,
        comparison: Comparison,
        split: float = 0.5,
        schedule: Callable[[], None] | None = None,
        divider: bool = True,
        baseline: Viewer | None = None,
    ) -> None:
        self.plotter = plotter
        self.comparison = comparison
        ren_win = plotter.ren_win
        ren_win.SetNumberOfLayers(max(2, ren_win.GetNumberOfLayers()))
        overlay = pv.Renderer(plotter, border=False)
        overlay.SetLayer(1)
        # A renderer on a higher layer keeps the colour and depth below by default; this one
        # draws a whole picture of its own over its part of the window.
        overlay.SetPreserveColorBuffer(False)
        overlay.SetPreserveDepthBuffer(False)
        # Mouse events go to the baseline renderer under it (one navigation, one picking).
        overlay.InteractiveOff()
        ren_win.AddRenderer(overlay)
        self.overlay = overlay
        camera = comparison.camera
        self._own_baseline = baseline is None
        self.baseline = (
            baseline
            if baseline is not None
            else Viewer(comparison.baseline, plotter, camera=camera, schedule=schedule)
        )
        self.scenario = Viewer(
            comparison.scenario,
            RendererPlotter(plotter, overlay),  # stands in for a plotter
            camera=camera,
            schedule=self.baseline.scene.request_render,
        )
        # One scale bar (the baseline's, bottom left); the north arrow in the top-right
        # corner is the scenario's, drawn over the baseline's.
        over = self.scenario.scene.overlays
        over.bar.SetVisibility(False)
        over.bar_text.SetVisibility(False)
        # The shared layers' legends are the baseline's (top left); the scenario's own result
        # layers get theirs at the top left of its part, moving with the split.
        scenario_scene = self.scenario.scene
        scenario_scene.legend_filter = self._is_result
        scenario_scene.legends_changed()
        self._divider = self._make_divider() if divider else None
        self.split = -1.0
        self.set_split(split)

    @property
    def viewers(self) -> tuple[Viewer, Viewer]:
        """(baseline, scenario)."""
        return (self.baseline, self.scenario)

    def _is_result(self, layer: Layer) -> bool:
        return is_scenario_result(self.comparison, layer)

    def _make_divider(self) -> vtkActor2D:
        pts = vtkPoints()
        pts.InsertNextPoint(0.0, 0.0, 0.0)
        pts.InsertNextPoint(0.0, 1.0, 0.0)
        lines = vtkCellArray()
        lines.InsertNextCell(2, [0, 1])
        poly = vtkPolyData()
        poly.SetPoints(pts)
        poly.SetLines(lines)
        coord = vtkCoordinate()
        coord.SetCoordinateSystemToNormalizedViewport()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coord)
        actor = vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*DIVIDER_COLOR)
        actor.GetProperty().SetLineWidth(4.0)  # half of it lies left of the viewport
        self.overlay.AddViewProp(actor)  # the overlay's left edge is the split
        return actor

    def set_split(self, split: float) -> None:
        """Move the split to a fraction of the width (clamped to [0.01, 0.99])."""
        s = min(max(float(split), MIN_SPLIT), 1.0 - MIN_SPLIT)
        if s == self.split:
            return
        self.split = s
        self.overlay.SetViewport(s, 0.0, 1.0, 1.0)
        # The scenario's part shows what the whole view shows right of the split (module
        # docstring): same pose, frustum moved right by s / (1 - s) half widths.
        self.overlay.GetActiveCamera().SetWindowCenter(s / (1.0 - s), 0.0)
        self.scenario.scene.relayout_legends()

    def split_at_pixel(self, x: float) -> None:
        """Move the split to display pixel column `x` (VTK: from the window's left)."""
        w = max(int(self.plotter.window_size[0]), 1)
        self.set_split(float(x) / w)

    def render(self) -> None:
        """Render the window once if either side asked for it."""
        self.baseline.scene.render()

    def screenshot(self, path: str | None = None) -> np.ndarray[Any, Any]:
        """Render and return (and optionally save) the picture as an (h, w, 3) uint8 array."""
        return self.baseline.scene.screenshot(path)

    def close(self) -> None:
        """Unbind the viewers (a baseline Viewer passed in stays bound) and take the
        scenario's renderer out of the window."""
        self.scenario.close()
        if self._own_baseline:
            self.baseline.close()
        if self._divider is not None:
            self.overlay.RemoveViewProp(self._divider)
        self.plotter.ren_win.RemoveRenderer(self.overlay)
