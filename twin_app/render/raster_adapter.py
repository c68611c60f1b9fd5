"""Study rasters on the ground (sun hours, air, 5G coverage): one textured quad per layer.

The quad spans the raster's bounds at the layer's height plus :attr:`RasterAdapter.LIFT_M`;
its texture is a vtkImageData of RGBA texels (uint8) that :func:`twin_app.model.raster.raster_rgba`
fills with whole-array numpy operations. New values, limits or colour map rewrite the
existing texel array in place (the image is made again only when the grid's shape changes),
and a new transform or height only moves the quad's corners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkLookupTable
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.raster import RasterLayer, raster_rgba
from twin_app.model.style import ClassScale
from twin_app.render.adapters import Adapter
from twin_app.render.colors import lookup_table

if TYPE_CHECKING:
    from twin_app.render.scene import Scene


class RasterAdapter(Adapter[RasterLayer]):
    """One :class:`RasterLayer`: a quad with an RGBA texture, unlit (the colours are data).

    NaN texels are transparent (alpha 0), so the ground, roads and buildings beneath show
    through; the layer's opacity is the actor's. Not pickable: a click goes to the ground
    and buildings beneath (the inspector reads :meth:`RasterLayer.value_at`).
    """

    #: Drawn this far over the layer's z: over the ground context (+0.1 m) and the road
    #: ribbons (+0.2 m), so the raster neither fights with them in the depth buffer nor hides
    #: under them; the air-quality surface of the replay lies at 0.3 m.
    LIFT_M = 0.45
    restyle_fields: ClassVar[tuple[str, ...]] = (
        "values",
        "color_by",
        "colormap",
        "clim",
        "pollutant",
        "standard",
        "transparent_zero",
    )
    #: Lifted over the ground: it must not set the ground plane's height.
    defines_ground: ClassVar[bool] = False

    def __init__(self, layer: RasterLayer, scene: Scene) -> None:
        self.image: vtkImageData | None = None
        self.texels: np.ndarray[Any, Any] = np.zeros((0, 0, 4), np.uint8)
        self.plane: vtkPlaneSource | None = None
        self.lut: vtkLookupTable | None = None
        self.classes: ClassScale | None = None
        super().__init__(layer, scene)
        layer.events.transform.connect(self._on_place)
        layer.events.z.connect(self._on_place)

    @property
    def is_surface(self) -> bool:
        """On the ground: the underground view fades and cuts it with the city."""
        return True

    def remove(self) -> None:
        self.layer.events.disconnect(self._on_place)
        super().remove()

    def build(self) -> None:
        self.plane = vtkPlaneSource()
        self._place()
        self.plane.Update()
        self.mesh = pv.wrap(self.plane.GetOutput())
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(self.plane.GetOutputPort())
        mapper.ScalarVisibilityOff()
        texture = vtkTexture()
        texture.InterpolateOff()  # one texel, one cell: the grid's cells stay visible
        texture.SetColorModeToDirectScalars()
        self.texture = texture
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.SetTexture(texture)
        prop = actor.GetProperty()
        prop.LightingOff()
        prop.SetColor(1.0, 1.0, 1.0)
        actor.PickableOff()
        actor.SetVisibility(bool(self.layer.visible))
        self.actor = actor
        self._alloc()
        self.apply_opacity()
        self.scene.plotter.renderer.AddActor(actor)

    def _place(self) -> None:
        assert self.plane is not None
        x0, x1, y0, y1 = self.layer.bounds()
        if x1 <= x0 or y1 <= y0:  # an empty grid: a degenerate quad that draws nothing
            x1, y1 = x0 + 1e-6, y0 + 1e-6
        z = float(self.layer.z) + self.LIFT_M
        # Origin south-west, point 1 east, point 2 north: texture s runs east, t north.
        self.plane.SetOrigin(x0, y0, z)
        self.plane.SetPoint1(x1, y0, z)
        self.plane.SetPoint2(x0, y1, z)

    def _on_place(self, *_: object) -> None:
        self._place()
        assert self.plane is not None
        self.plane.Update()
        self.scene.request_render()

    def _alloc(self) -> None:
        """A new RGBA image of the grid's shape (only when the shape changes)."""
        ny, nx = self.layer.shape
        ny, nx = max(ny, 1), max(nx, 1)
        image = vtkImageData()
        image.SetDimensions(nx, ny, 1)
        image.AllocateScalars(VTK_UNSIGNED_CHAR, 4)
        self.image = image
        # Image row 0 is the south edge; the raster's row 0 is north: the view is flipped.
        flat = vtk_to_numpy(image.GetPointData().GetScalars())
        self.texels = flat.reshape(ny, nx, 4)[::-1]
        self.texels[:] = 0
        self.texture.SetInputData(image)

    def restyle(self) -> None:
        layer = self.layer
        if self.image is None:
            return
        ny, nx = layer.shape
        if self.texels.shape[:2] != (max(ny, 1), max(nx, 1)):
            self._alloc()
            self._on_place()
        scale = layer.scale()
        clim = layer.color_limits()
        if ny and nx:
            raster_rgba(
                layer.values,
                scale,
                clim,
                layer.colormap,
                transparent_zero=layer.transparent_zero,
                out=self.texels,
            )
        else:
            self.texels[:] = 0
        self.image.GetPointData().GetScalars().Modified()
        self.image.Modified()
        self.texture.Modified()
        if isinstance(scale, ClassScale):
            self.classes = scale
            self.lut = None
        else:
            self.classes = None
            cmap = layer.colormap or getattr(scale, "colormap", "") or "viridis"
            self.lut = lookup_table(cmap, clim)

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible:
            return None
        if self.classes is not None:
            return ("categories", self.classes.legend(no_data=False))
        if self.lut is not None:
            return ("scalar", (f"{self.layer.name}: {self.layer.title()}", self.lut))
        return None
