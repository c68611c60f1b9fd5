"""A sketch overlay: the outline being drawn in the 3D view (a footprint's corners so far and
the rubber band to the cursor), as one VTK polyline and its corner dots.

Not a layer (nothing of it is saved or picked): it lives while a drawing mode is on. The
outline is lifted :data:`LIFT_M` above the ground so the ground does not hide it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)

if TYPE_CHECKING:
    from twin_app.render.scene import Scene

#: Height of the drawn outline above the ground plane, metres.
LIFT_M = 0.6
#: Outline colour (RGB 0..1): a saturated orange that reads on grey roofs and green ground.
SKETCH_RGB = (1.0, 0.45, 0.0)


class SketchOverlay:
    """The outline a drawing mode shows: corners, the closing edge and the rubber band."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.poly = vtkPolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.poly)
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.PickableOff()
        prop = self.actor.GetProperty()
        prop.SetColor(*SKETCH_RGB)
        prop.SetLineWidth(4.0)
        prop.SetPointSize(11.0)
        prop.SetRenderPointsAsSpheres(True)
        prop.SetRenderLinesAsTubes(True)
        prop.LightingOff()
        self.actor.VisibilityOff()
        scene.plotter.renderer.AddActor(self.actor)

    def show(self, corners: Any, cursor: Any = None, ground_z: float = 0.0) -> None:
        """Draw `corners` ((n, 2+) local metres) as a closed outline, with a rubber band from
        the last corner to `cursor` (and back to the first) when given."""
        pts = np.asarray(corners, dtype=np.float64)
        pts = pts.reshape(len(pts), -1) if pts.size else np.empty((0, 2))
        xy = [p[:2] for p in pts]
        if cursor is not None:
            xy.append(np.asarray(cursor, dtype=np.float64)[:2])
        n = len(xy)
        if n == 0:
            self.clear()
            return
        p3 = np.column_stack([np.asarray(xy), np.full(n, ground_z + LIFT_M)])
        points = vtkPoints()
        for x, y, z in p3:
            points.InsertNextPoint(float(x), float(y), float(z))
        verts = vtkCellArray()
        for i in range(len(pts)):  # dots on the corners, not on the cursor
            verts.InsertNextCell(1)
            verts.InsertCellPoint(i)
        lines = vtkCellArray()
        if n >= 2:
            ring = [*range(n), 0] if n >= 3 else list(range(n))
            lines.InsertNextCell(len(ring))
            for i in ring:
                lines.InsertCellPoint(i)
        self.poly.SetPoints(points)
        self.poly.SetVerts(verts)
        self.poly.SetLines(lines)
        self.poly.Modified()
        self.actor.VisibilityOn()
        self.scene.request_render()

    def clear(self) -> None:
        """Hide the outline."""
        self.poly.Initialize()
        self.poly.Modified()
        self.actor.VisibilityOff()
        self.scene.request_render()

    @property
    def visible(self) -> bool:
        """True while an outline is shown."""
        return bool(self.actor.GetVisibility())

    def remove(self) -> None:
        """Take the overlay off the scene."""
        self.scene.plotter.renderer.RemoveActor(self.actor)
