"""One adapter per layer kind: builds its mesh once, restyles in place on layer events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
import pandas as pd
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkLookupTable
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPlaneCollection
from vtkmodules.vtkRenderingCore import vtkActor, vtkMapper, vtkPolyDataMapper

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.bim import IFC_CLASSES
from twin_app.model.layers import (
    COLOR_IFC_CLASS,
    COLOR_MATERIAL,
    COLOR_SOLID,
    COLOR_SURFACE,
    COLOR_TYPE,
    AreaLayer,
    BuildingLayer,
    FeatureLayer,
    GroundLayer,
    IfcLayer,
    Layer,
    ObjectLayer,
    RoadLayer,
    TerrainLayer,
)
from twin_app.model.mesh import TriMesh
from twin_app.model.sensors import AirQualityLayer, TrafficLayer
from twin_app.model.style import (
    NAN_COLOR,
    ClassScale,
    column_clim,
    column_scale,
    ground_categories,
    ifc_class_palette,
    surface_categories,
    type_categories,
    type_labels,
)
from twin_app.render.colors import (
    SURFACE_PALETTE,
    class_lookup_table,
    hex_to_rgb,
    lookup_table,
    palette_rgb,
)
from twin_app.render.convert import to_polydata

if TYPE_CHECKING:
    from twin_app.render.scene import Scene

L = TypeVar("L", bound=Layer)


class Adapter(Generic[L]):
    """Draws one layer into a Scene.

    Subclasses implement :meth:`build` (create mesh and actor once) and :meth:`restyle`
    (change colours/opacity in place). Events call the scene's coalescing ``request_render``.
    The layer's fields sort into *rebuild* (:attr:`rebuild_fields`: the geometry changed, the
    mesh is built again) and *restyle* (:attr:`restyle_fields`, visibility, opacity, and the
    per-tick value fields of time-driven adapters: arrays written in place).
    """

    #: Layer fields whose change replaces the geometry: the mesh and actors are built again.
    rebuild_fields: ClassVar[tuple[str, ...]] = ()
    #: Layer fields whose change only recolours the existing mesh.
    restyle_fields: ClassVar[tuple[str, ...]] = ("color_by", "colormap", "clim", "color")

    #: The layer's lowest point may set the ground plane's height (see Scene.data_bounds).
    defines_ground: ClassVar[bool] = True

    #: Layer types at or above the ground: faded or cut away by the underground view.
    SURFACE_LAYERS: tuple[type[Layer], ...] = (
        BuildingLayer,
        RoadLayer,
        AreaLayer,
        GroundLayer,
        TerrainLayer,
        ObjectLayer,
        IfcLayer,
        TrafficLayer,
        AirQualityLayer,
    )

    def __init__(self, layer: L, scene: Scene) -> None:
        self.layer = layer
        self.scene = scene
        #: Multiplies the layer's opacity (the underground view fades surface layers).
        self.opacity_factor = 1.0
        #: Feature row of every cell of `mesh` (picking, highlight).
        self.index: np.ndarray[Any, Any] = np.zeros(0, np.int32)
        self.actor: vtkActor | None = None
        #: Further actors of the layer (surfaces, glyphs, trails): shown, hidden and removed
        #: with it.
        self.extra_actors: list[vtkActor] = []
        self.mesh: pv.PolyData | None = None
        self.build()
        self.restyle()
        layer.events.visible.connect(self._on_visible_change)
        layer.events.opacity.connect(self._on_opacity_change)
        for name in self.restyle_fields:
            getattr(layer.events, name).connect(self._on_style_change)
        for name in self.rebuild_fields:
            getattr(layer.events, name).connect(self._on_geometry_change)

    def build(self) -> None:
        """Create the mesh and actor (once)."""
        raise NotImplementedError

    def restyle(self) -> None:
        """Apply colours to the existing actor."""

    def clipping_changed(self) -> None:
        """The scene set its clipping planes on the surface layers' mappers (the underground
        cutaway): an adapter with cuts of its own adds them again."""

    def legend(self) -> tuple[str, Any] | None:
        """(kind, payload) for the scene legend: ("scalar", (title, lut)) or ("categories", [(label, hex)])."""
        return None

    def remove(self) -> None:
        """Take the actor out of the scene and disconnect from the layer."""
        self.layer.events.disconnect(self._on_visible_change)
        self.layer.events.disconnect(self._on_opacity_change)
        self.layer.events.disconnect(self._on_style_change)
        self.layer.events.disconnect(self._on_geometry_change)
        self._remove_actors()

    def _remove_actors(self) -> None:
        renderer = self.scene.plotter.renderer
        for a in [self.actor, *self.extra_actors]:
            if a is not None:
                renderer.RemoveActor(a)
        self.actor = None
        self.extra_actors = []

    def rebuild(self) -> None:
        """Build the mesh and actors again from the layer (its geometry was replaced).

        Never on the per-tick path: ticks only write values into the existing arrays.
        """
        self._remove_actors()
        self.mesh = None
        self.build()
        self.restyle()
        self.apply_opacity()
        self._on_visible_change(bool(self.layer.visible))

    def _on_geometry_change(self, *_: object) -> None:
        self.rebuild()
        self.scene.adapter_rebuilt(self)

    def _on_visible_change(self, visible: bool) -> None:
        if self.actor is not None:
            self.actor.SetVisibility(bool(visible))
        self.scene.legends_changed()  # a hidden layer has no legend in the view
        self.scene.request_render()

    @property
    def is_surface(self) -> bool:
        """True for layers at or above the ground (affected by the underground view)."""
        return isinstance(self.layer, self.SURFACE_LAYERS)

    def apply_opacity(self) -> None:
        """Set the actor's opacity from the layer's and the view's factor."""
        if self.actor is not None:
            self.actor.GetProperty().SetOpacity(float(self.layer.opacity) * self.opacity_factor)

    def _on_opacity_change(self, opacity: float) -> None:
        self.apply_opacity()
        self.scene.request_render()

    def _on_style_change(self, *_: object) -> None:
        self.restyle()
        self.scene.legends_changed()
        self.scene.request_render()


class FeatureAdapter(Adapter[FeatureLayer]):
    """Buildings, roads, areas, terrain and city objects: one PolyData, one actor.

    Replacing the layer's ``features`` (an intervention adds, removes or reshapes buildings)
    rebuilds the mesh.
    """

    rebuild_fields: ClassVar[tuple[str, ...]] = ("features", "hidden_features")
    lut: vtkLookupTable | None = None
    #: The column's class scale when the layer is coloured by a classified column (legend).
    classes: ClassScale | None = None
    #: Legend subtitle of the coloured column: its quantity and unit when it has a scale.
    value_title = ""

    def build(self) -> None:
        fs = self.layer.features
        assert fs is not None
        tri = fs.mesh
        if self.layer.hidden_features:
            # Rows replaced by an IFC proposal: their triangles are left out of the drawn (and
            # picked) mesh; the points stay, so per-point colours index as before.
            keep = self.layer.drawn_triangles()
            tri = TriMesh(
                fs.mesh.points,
                fs.mesh.triangles[keep],
                {k: v[keep] for k, v in fs.mesh.cell_data.items()},
            )
        self.mesh = to_polydata(tri)
        n_pts = fs.mesh.n_points
        self.index = (
            np.asarray(tri.cell_data[fs.index_array]) if tri.n_triangles else np.zeros(0, np.int32)
        )
        # Feature of every point: meshes never share a point between two features, so
        # per-feature colours can live on the points (cheaper to draw than cell colours).
        self.point_feature = np.zeros(n_pts, np.int64)
        if tri.n_triangles:
            self.point_feature[tri.triangles.ravel()] = np.repeat(self.index, 3)
        if n_pts and self.mesh.n_points:
            self.mesh.point_data["value"] = np.zeros(n_pts, np.float32)
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.mesh)
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetColor(*hex_to_rgb(self.layer.color))
        prop.SetAmbient(0.25)
        prop.SetDiffuse(0.8)
        prop.SetSpecular(0.05)
        prop.SetOpacity(self.layer.opacity * self.opacity_factor)
        actor.SetVisibility(self.layer.visible)
        self.scene.plotter.renderer.AddActor(actor)
        self.actor = actor

    def categories(self) -> list[tuple[str, str]]:
        """(label, colour) per category for surface/type colouring."""
        fs = self.layer.features
        assert fs is not None
        if self.layer.color_by == COLOR_SURFACE and "surface" in fs.mesh.cell_data:
            return surface_categories(fs.mesh.cell_data["surface"])
        if self.layer.color_by == COLOR_TYPE and "type" in fs.table:
            return type_categories(fs.table["type"])
        return []

    def restyle(self) -> None:
        fs = self.layer.features
        assert fs is not None and self.actor is not None and self.mesh is not None
        mapper = self.actor.GetMapper()
        by = self.layer.color_by
        self.lut = None
        self.classes = None
        if self.mesh.n_cells == 0:
            return
        if by == COLOR_SURFACE and "surface" in fs.mesh.cell_data:
            # Walls and roofs share their top points: surface colours must be per cell.
            rgb = palette_rgb(SURFACE_PALETTE)[np.minimum(self.mesh.cell_data["surface"], 3)]
            if "surface_rgb" not in self.mesh.cell_data:
                self.mesh.cell_data["surface_rgb"] = rgb
            else:
                self.mesh.cell_data["surface_rgb"][:] = rgb
            self.mesh.Modified()
            mapper.SetColorModeToDirectScalars()
            mapper.SetScalarModeToUseCellFieldData()
            mapper.SelectColorArray("surface_rgb")
            mapper.ScalarVisibilityOn()
        elif by == COLOR_TYPE and "type" in fs.table:
            cats = self.categories()  # sorted types, or the ground classes in their order
            names = pd.Index([name for name, _ in cats])
            codes = names.get_indexer(pd.Index(type_labels(fs.table["type"])))  # -1: none
            rgb = palette_rgb([*(c for _, c in cats), NAN_COLOR])[codes[self.point_feature]]
            self._direct(mapper, rgb)
        elif by != COLOR_SOLID and by in fs.table:
            values = self.layer.feature_values(by)
            # In place: new values (a scenario's deltas) never rebuild the mesh.
            self.mesh.point_data["value"][:] = values[self.point_feature]
            scale = column_scale(by)
            self.classes = None
            self.value_title = by
            clim = self.layer.clim or column_clim(by, values)
            if isinstance(scale, ClassScale):
                self.lut = class_lookup_table(scale, *clim)
                self.classes = scale
            else:
                self.value_title = scale.title if scale is not None else by
                self.lut = lookup_table(self.layer.colormap, clim)
            mapper.SetLookupTable(self.lut)
            mapper.SetColorModeToMapScalars()
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("value")
            mapper.SetScalarRange(*self.lut.GetTableRange())
            mapper.UseLookupTableScalarRangeOn()
            mapper.ScalarVisibilityOn()
            self.mesh.Modified()
        else:
            mapper.ScalarVisibilityOff()
            self.actor.GetProperty().SetColor(*hex_to_rgb(self.layer.color))

    def _direct(self, mapper: vtkMapper, rgb: np.ndarray[Any, Any]) -> None:
        assert self.mesh is not None
        if "rgb" in self.mesh.point_data:  # made on first use: most layers never need it
            self.mesh.point_data["rgb"][:] = rgb
        else:
            self.mesh.point_data["rgb"] = np.ascontiguousarray(rgb, np.uint8)
        self.mesh.Modified()
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("rgb")
        mapper.ScalarVisibilityOn()

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible:
            return None
        if self.classes is not None and self.lut is not None:
            return ("categories", self.classes.legend())
        if self.lut is not None:
            return ("scalar", (f"{self.layer.name}: {self.value_title}", self.lut))
        cats = self.categories() if self.layer.color_by in (COLOR_SURFACE, COLOR_TYPE) else []
        return ("categories", cats) if cats else None


class GroundAdapter(FeatureAdapter):
    """The ground context: one flat mesh, coloured by ground class (the ``type`` column).

    The mesh lies 10 cm over the ground plane and 10 cm under the roads: enough for the depth
    buffer at city scale (the pixel tests look from far off, obliquely). No polygon offset:
    on Mesa its units scale with the depth of huge triangles, and two units already lifted
    the ground over a third of the roads' pixels.
    """

    def build(self) -> None:
        super().build()
        assert self.actor is not None
        # Flat and facing up: lit or not, one colour per class; specular glints on water and
        # lawns would read as data.
        self.actor.GetProperty().SetSpecular(0.0)

    def categories(self) -> list[tuple[str, str]]:
        fs = self.layer.features
        assert fs is not None
        if self.layer.color_by == COLOR_TYPE and "type" in fs.table:
            return ground_categories(fs.table["type"])
        return super().categories()


class IfcAdapter(Adapter[IfcLayer]):
    """One IFC file: one actor for its elements, one for its (translucent) spaces.

    The layer's storey, section, explode and space fields never mesh anything again: the
    drawn PolyData are cut from the file's one mesh with the layer's per-triangle masks
    (:meth:`IfcLayer.cell_masks`, numpy), the explode lift is written into their points, and
    the section also sets a clipping plane on the elements' mapper (elements that cross the
    cut end there). Picking hits the elements' PolyData, whose ``index`` is the element row
    of every drawn triangle; spaces are not pickable (one clicks through them).
    """

    rebuild_fields: ClassVar[tuple[str, ...]] = ("features",)
    #: Fields that cut or lift the drawn triangles again (no meshing).
    view_fields: ClassVar[tuple[str, ...]] = (
        "hidden_storeys",
        "section_storey",
        "explode",
        "show_spaces",
        "hidden_features",
    )
    #: Opacity of the spaces relative to the layer's.
    SPACE_OPACITY = 0.3
    #: An IFC file's site terrain and basements reach below the city's ground: they must not
    #: pull the ground plane (and the street view's eye) down.
    defines_ground: ClassVar[bool] = False

    def __init__(self, layer: IfcLayer, scene: Scene) -> None:
        self.spaces: pv.PolyData | None = None
        self.space_actor: vtkActor | None = None
        #: The section's cut (z <= the next storey's lowest point), None when off.
        self.section_plane: vtkPlane | None = None
        self._masks: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        super().__init__(layer, scene)
        for name in self.view_fields:
            getattr(layer.events, name).connect(self._on_view_change)

    def remove(self) -> None:
        self.layer.events.disconnect(self._on_view_change)
        super().remove()

    def _actor(self) -> vtkActor:
        mapper = vtkPolyDataMapper()
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetAmbient(0.25)
        prop.SetDiffuse(0.8)
        prop.SetSpecular(0.05)
        self.scene.plotter.renderer.AddActor(actor)
        return actor

    def build(self) -> None:
        self.actor = self._actor()
        self.space_actor = self._actor()
        self.space_actor.PickableOff()
        self.space_actor.GetProperty().SetSpecular(0.0)
        self.extra_actors = [self.space_actor]
        self._cut()

    def _cut(self) -> None:
        """Cut the drawn PolyData from the file's mesh by the layer's masks and lift."""
        fs = self.layer.features
        assert fs is not None and self.actor is not None and self.space_actor is not None
        mesh = fs.mesh
        elements, spaces = self.layer.cell_masks()
        self._masks = (elements, spaces)
        points = np.asarray(mesh.points, np.float64).copy()
        if self.layer.explode:
            points[:, 2] += self.layer.point_z_offset()
        pts32 = np.ascontiguousarray(points, np.float32)
        index = np.asarray(mesh.cell_data[fs.index_array]) if mesh.n_triangles else None

        def part(mask: np.ndarray[Any, Any]) -> pv.PolyData:
            if not mesh.n_triangles or not mask.any():
                return pv.PolyData()
            return pv.PolyData.from_regular_faces(pts32, np.ascontiguousarray(mesh.triangles[mask]))

        # New PolyData (not edited in place): the picker rebuilds its locator for a new mesh.
        self.mesh = part(elements)
        self.spaces = part(spaces)
        self.index = index[elements] if index is not None else np.zeros(0, np.int32)
        self.actor.GetMapper().SetInputData(self.mesh)
        self.space_actor.GetMapper().SetInputData(self.spaces)
        self.section_plane = None
        cut = self.layer.section_z()
        if cut is not None:
            lift = max(int(self.layer.section_storey or 0), 0) * float(self.layer.explode)
            self.section_plane = vtkPlane()
            self.section_plane.SetOrigin(0.0, 0.0, cut + lift)
            self.section_plane.SetNormal(0.0, 0.0, -1.0)  # keeps z <= cut
        self._set_planes()
        self._show()

    def _set_planes(self) -> None:
        """The section plane and the scene's cutaway plane on the elements' mapper; the
        cutaway's on the spaces' too."""
        # A new collection (not RemoveAllClippingPlanes): that does not mark the mapper
        # modified, and the old cut stayed in the shader.
        cutaway = self.scene.cut_plane if self.is_surface else None
        for actor, own in ((self.actor, self.section_plane), (self.space_actor, None)):
            if actor is None:
                continue
            planes = vtkPlaneCollection()
            for plane in (own, cutaway):
                if plane is not None:
                    planes.AddItem(plane)
            actor.GetMapper().SetClippingPlanes(planes)

    def clipping_changed(self) -> None:
        self._set_planes()

    def _show(self) -> None:
        assert self.actor is not None and self.space_actor is not None
        visible = bool(self.layer.visible)
        self.actor.SetVisibility(visible)
        self.space_actor.SetVisibility(
            visible and self.spaces is not None and self.spaces.n_cells > 0
        )

    def _on_view_change(self, *_: object) -> None:
        self._cut()
        self.restyle()
        self.apply_opacity()
        # the drawn mesh is a new object: pick locators and highlight follow
        self.scene.adapter_rebuilt(self)

    def _on_visible_change(self, visible: bool) -> None:
        self._show()
        self.scene.legends_changed()
        self.scene.request_render()

    def apply_opacity(self) -> None:
        opacity = float(self.layer.opacity) * self.opacity_factor
        if self.actor is not None:
            self.actor.GetProperty().SetOpacity(opacity)
        if self.space_actor is not None:
            self.space_actor.GetProperty().SetOpacity(opacity * self.SPACE_OPACITY)

    def cell_colors(self) -> np.ndarray[Any, Any] | None:
        """(m, 3) uint8 colour of every triangle of the file's mesh for the layer's colour-by
        (None: one solid colour)."""
        fs = self.layer.features
        assert fs is not None
        by = self.layer.color_by
        cells = fs.mesh.cell_data
        if by == COLOR_MATERIAL and "rgb" in cells:
            return np.asarray(cells["rgb"], np.uint8).reshape(-1, 3)
        if by == COLOR_IFC_CLASS and "ifc_class_code" in cells:
            codes = np.asarray(cells["ifc_class_code"], np.int64)
            return ifc_class_palette()[np.clip(codes + 1, 0, len(IFC_CLASSES))]
        return None

    def restyle(self) -> None:
        assert self.actor is not None and self.space_actor is not None
        assert self._masks is not None
        rgb = self.cell_colors()
        for actor, poly, mask in (
            (self.actor, self.mesh, self._masks[0]),
            (self.space_actor, self.spaces, self._masks[1]),
        ):
            mapper = actor.GetMapper()
            if rgb is None or poly is None or poly.n_cells == 0:
                mapper.ScalarVisibilityOff()
                actor.GetProperty().SetColor(*hex_to_rgb(self.layer.color))
                continue
            poly.cell_data["rgb"] = np.ascontiguousarray(rgb[mask])
            mapper.SetColorModeToDirectScalars()
            mapper.SetScalarModeToUseCellFieldData()
            mapper.SelectColorArray("rgb")
            mapper.ScalarVisibilityOn()

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible or self.layer.color_by not in (COLOR_IFC_CLASS, COLOR_MATERIAL):
            return None
        if self.layer.color_by == COLOR_MATERIAL:
            cats = self.layer.material_legend()
        else:
            cats = self.layer.class_legend()
        return ("categories", cats) if cats else None
