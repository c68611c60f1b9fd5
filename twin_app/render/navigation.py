"""GIS-style mouse navigation on a VTK interactor.

- left drag: orbit about the point under the cursor (turntable; never below the horizon)
- right or middle drag, or shift + left drag: pan, keeping the grabbed point under the cursor
- wheel: zoom towards the point under the cursor
- ctrl + left drag: rubber-band selection (reported to a callback)
- click without drag: pick (reported to a callback); double click: fly to the point

The maths is in :mod:`twin_app.model.camera` (pure, tested without VTK); this module only reads
events and applies poses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser
from vtkmodules.vtkRenderingCore import vtkCamera, vtkRenderer, vtkRenderWindowInteractor

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.camera import CameraPose, orbit, pan, zoom_towards
from twin_app.render.picking import Picker, ray_ground

if TYPE_CHECKING:
    from twin_app.render.scene import Scene

#: Degrees of orbit per pixel of drag.
ORBIT_DEG_PER_PX = 0.35
#: Fraction of the distance to the cursor point moved per wheel notch.
ZOOM_STEP = 0.18
#: Pixels the mouse may move between press and release for a click.
CLICK_SLOP_PX = 4


def pose_of(camera: vtkCamera) -> CameraPose:
    """The pose of a VTK camera."""
    return CameraPose(
        tuple(camera.GetPosition()),
        tuple(camera.GetFocalPoint()),
        tuple(camera.GetViewUp()),
        float(camera.GetViewAngle()),
        float(camera.GetParallelScale()) if camera.GetParallelProjection() else 0.0,
    )


def apply_pose(renderer: vtkRenderer, pose: CameraPose) -> None:
    """Set a VTK camera from a pose and reset the clipping range."""
    cam = renderer.GetActiveCamera()
    cam.SetPosition(*pose.position)
    cam.SetFocalPoint(*pose.focal_point)
    cam.SetViewUp(*pose.view_up)
    cam.SetViewAngle(pose.view_angle_deg)
    cam.Modified()
    if pose.parallel_scale > 0:
        cam.SetParallelProjection(True)
        cam.SetParallelScale(pose.parallel_scale)
    else:
        cam.SetParallelProjection(False)
    renderer.ResetCameraClippingRange()
    # VTK puts the near plane at 1/1000 of the far one; the ground plane spans 12x the data,
    # so with data of two cities (hundreds of km) the near plane cut away the whole city in
    # front of the camera, and at street level (eye 1.7 m up) it cut away the ground below the
    # horizon. Keep it within a fiftieth of the distance looked at and a tenth of the eye's height
    # above the lowest thing drawn.
    near, far = cam.GetClippingRange()
    zmin = renderer.ComputeVisiblePropBounds()[4]
    clearance = pose.position[2] - zmin if math.isfinite(zmin) else math.inf
    want = max(min(0.02 * pose.distance_m, 0.1 * max(clearance, 0.0)), far * 1e-5, 0.1)
    if near > want:
        cam.SetClippingRange(want, far)


def _ignore(*_: Any) -> None:
    """An observer that does nothing (it keeps a VTK default handler from running)."""


class Navigator:
    """Installs the navigation on an interactor and reports clicks, bands and camera moves.

    Parameters
    ----------
    scene
        The scene (its plotter's renderer is navigated).
    interactor
        The vtkRenderWindowInteractor receiving mouse events.
    picker
        Picks the point under the cursor (orbit pivot, zoom target, clicks).
    """

    def __init__(self, scene: Scene, interactor: vtkRenderWindowInteractor, picker: Picker) -> None:
        self.scene = scene
        self.interactor = interactor
        self.picker = picker
        self.on_click: Callable[[int, int, bool], None] | None = None  # x, y, ctrl/shift held
        self.on_double_click: Callable[[int, int], None] | None = None
        self.on_band: Callable[[int, int, int, int, bool], None] | None = (
            None  # x0, y0, x1, y1, done
        )
        self.on_hover: Callable[[int, int], None] | None = None
        self.on_camera_moved: Callable[[], None] | None = None
        #: Where navigation writes poses (the Camera model); None applies them to VTK directly.
        self.on_pose: Callable[[CameraPose], None] | None = None
        self._mode = ""
        self._press: tuple[int, int] = (0, 0)
        self._last: tuple[int, int] = (0, 0)
        self._pivot: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._pan_z = 0.0
        self._moved = False
        style = vtkInteractorStyleUser()
        # An observer on the style replaces its default handler: without these, VTK's own key
        # bindings act on key presses (w wireframe, r reset, e/q quit, 3 stereo ...). The app
        # routes keys through its own shortcuts instead.
        for event in ("CharEvent", "KeyPressEvent", "KeyReleaseEvent"):
            style.AddObserver(event, _ignore)
        interactor.SetInteractorStyle(style)
        self.style = style
        add = interactor.AddObserver
        self._tags = [
            add("LeftButtonPressEvent", self._left_down, 1.0),
            add("LeftButtonReleaseEvent", self._button_up, 1.0),
            add("MiddleButtonPressEvent", self._pan_down, 1.0),
            add("MiddleButtonReleaseEvent", self._button_up, 1.0),
            add("RightButtonPressEvent", self._pan_down, 1.0),
            add("RightButtonReleaseEvent", self._button_up, 1.0),
            add("MouseMoveEvent", self._move, 1.0),
            add("MouseWheelForwardEvent", lambda *_: self._wheel(1), 1.0),
            add("MouseWheelBackwardEvent", lambda *_: self._wheel(-1), 1.0),
        ]

    @property
    def renderer(self) -> vtkRenderer:
        """The navigated renderer."""
        return self.scene.plotter.renderer

    def _pos(self) -> tuple[int, int]:
        x, y = self.interactor.GetEventPosition()
        return int(x), int(y)

    def _point_under(self, x: int, y: int) -> tuple[float, float, float]:
        p = self.picker.world_point(x, y)
        if p is not None:
            return p
        f = self.renderer.GetActiveCamera().GetFocalPoint()
        return (float(f[0]), float(f[1]), float(f[2]))

    def _left_down(self, *_: Any) -> None:
        x, y = self._pos()
        self._press = self._last = (x, y)
        self._moved = False
        if self.interactor.GetRepeatCount() >= 1:
            self._mode = ""
            if self.on_double_click is not None:
                self.on_double_click(x, y)
            return
        if self.interactor.GetControlKey():
            self._mode = "band"
        elif self.interactor.GetShiftKey():
            self._start_pan(x, y)
        else:
            self._mode = "orbit"
            self._pivot = self._point_under(x, y)

    def _pan_down(self, *_: Any) -> None:
        x, y = self._pos()
        self._press = self._last = (x, y)
        self._moved = False
        self._start_pan(x, y)

    def _start_pan(self, x: int, y: int) -> None:
        self._mode = "pan"
        self._pan_z = self._point_under(x, y)[2]

    def _button_up(self, *_: Any) -> None:
        x, y = self._pos()
        mode, self._mode = self._mode, ""
        if mode == "band":
            if self.on_band is not None:
                self.on_band(self._press[0], self._press[1], x, y, True)
            return
        if not self._moved and self.on_click is not None and mode in ("orbit", "pan", "band"):
            self.on_click(
                x, y, bool(self.interactor.GetShiftKey() or self.interactor.GetControlKey())
            )

    def _move(self, *_: Any) -> None:
        x, y = self._pos()
        if not self._mode:
            if self.on_hover is not None:
                self.on_hover(x, y)
            return
        if abs(x - self._press[0]) + abs(y - self._press[1]) > CLICK_SLOP_PX:
            self._moved = True
        dx, dy = x - self._last[0], y - self._last[1]
        self._last = (x, y)
        if not self._moved:
            return
        if self._mode == "band":
            if self.on_band is not None:
                self.on_band(self._press[0], self._press[1], x, y, False)
            return
        pose = pose_of(self.renderer.GetActiveCamera())
        if self._mode == "orbit":
            new = orbit(pose, self._pivot, -dx * ORBIT_DEG_PER_PX, dy * ORBIT_DEG_PER_PX)
        else:  # pan: move so that the grabbed ground point follows the cursor
            a = ray_ground(self.renderer, x - dx, y - dy, self._pan_z)
            b = ray_ground(self.renderer, x, y, self._pan_z)
            if a is None or b is None:
                return
            new = pan(pose, (a[0] - b[0], a[1] - b[1], 0.0))
        self.set_pose(new)

    def _wheel(self, direction: int) -> None:
        x, y = self._pos()
        target = self._point_under(x, y)
        pose = pose_of(self.renderer.GetActiveCamera())
        factor = ZOOM_STEP if direction > 0 else -ZOOM_STEP / (1 - ZOOM_STEP)
        self.set_pose(zoom_towards(pose, target, factor))

    def set_pose(self, pose: CameraPose) -> None:
        """Write a pose into the camera model (or apply it), ask for a render, report the move."""
        if self.on_pose is not None:
            self.on_pose(pose)
        else:
            apply_pose(self.renderer, pose)
            self.scene.request_render()
        if self.on_camera_moved is not None:
            self.on_camera_moved()

    def remove(self) -> None:
        """Remove the observers."""
        for tag in self._tags:
            self.interactor.RemoveObserver(tag)


def heading_deg(pose: CameraPose) -> float:
    """Compass heading of the view direction (0 = north, 90 = east)."""
    d = np.subtract(pose.focal_point, pose.position)
    return (math.degrees(math.atan2(d[0], d[1])) + 360.0) % 360.0
