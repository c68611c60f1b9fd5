"""Adapters for the time-driven layers: traffic ribbons, air-quality stations and surface,
pipes with alarms, movers with trails. Each builds its VTK objects once; per tick it only
writes numpy views of existing VTK arrays (no new mesh, no new actor, no loop over sensors)."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import VTK_FLOAT, vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkGlyph3DMapper, vtkPolyDataMapper, vtkTexture

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.aqi import category, category_scale
from twin_app.model.layers import COLOR_SOLID, TimeLayer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.model.style import (
    CONGESTION,
    NO_DATA_COLOR,
    auto_clim,
    colormap_rgb8,
    map_colors,
)
from twin_app.render.adapters import Adapter
from twin_app.render.colors import class_lookup_table, hex_to_rgb, lookup_table, palette_rgb
from twin_app.render.convert import to_polydata

ALARM_COLOR = "#ff1f5a"

T = TypeVar("T", bound=TimeLayer)


def _point_feature(
    mesh_triangles: np.ndarray[Any, Any], index: np.ndarray[Any, Any], n_points: int
) -> np.ndarray[Any, Any]:
    pf = np.zeros(n_points, np.int64)
    pf[mesh_triangles.ravel()] = np.repeat(index, 3)
    return pf


def _actor(
    poly: Any, scalars: str | None = None, cell: bool = False
) -> tuple[vtkActor, vtkPolyDataMapper]:
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    if scalars is None:
        mapper.ScalarVisibilityOff()
    else:
        mapper.SetColorModeToDirectScalars()
        if cell:
            mapper.SetScalarModeToUseCellFieldData()
        else:
            mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray(scalars)
        mapper.ScalarVisibilityOn()
    actor = vtkActor()
    actor.SetMapper(mapper)
    return actor, mapper


class _TimeAdapter(Adapter[T]):
    """Common wiring: every value field of the layer triggers :meth:`refresh`."""

    value_fields: tuple[str, ...] = ("values",)

    def __init__(self, layer: T, scene: Any) -> None:
        super().__init__(layer, scene)
        for name in self.value_fields:
            getattr(layer.events, name).connect(self._on_values_change)

    def remove(self) -> None:
        self.layer.events.disconnect(self._on_values_change)
        super().remove()

    def _on_values_change(self, *_: object) -> None:
        self.refresh()
        self.scene.request_render()

    def _on_visible_change(self, visible: bool) -> None:
        for a in self.extra_actors:
            a.SetVisibility(bool(visible))
        super()._on_visible_change(visible)

    def _mesh(self) -> pv.PolyData:
        assert self.mesh is not None
        return self.mesh

    def refresh(self) -> None:
        """Write the layer's current values into the VTK arrays."""

    def restyle(self) -> None:
        self.refresh()


class TrafficAdapter(_TimeAdapter[TrafficLayer]):
    """Road ribbons (a copy lifted 0.1 m above the road layer) coloured per road each tick.

    Each tick writes the road value of every ribbon point (one float gather); a step lookup
    table turns ratios into congestion classes (or speeds into a colour map) in VTK.
    """

    def build(self) -> None:
        layer: TrafficLayer = self.layer
        assert layer.roads is not None
        fs = layer.roads
        mesh = fs.mesh
        poly = to_polydata(mesh)
        pts = vtk_to_numpy(poly.GetPoints().GetData())
        pts[:, 2] += 0.1
        self.index = np.asarray(mesh.cell_data[fs.index_array])
        self.point_feature = _point_feature(mesh.triangles, self.index, mesh.n_points)
        poly.point_data["value"] = np.full(mesh.n_points, np.nan, np.float32)
        self.point_values = vtk_to_numpy(poly.GetPointData().GetArray("value"))
        self.mesh = poly
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(poly)
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("value")
        mapper.SetColorModeToMapScalars()
        mapper.ScalarVisibilityOn()
        mapper.UseLookupTableScalarRangeOn()
        self.mapper = mapper
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetAmbient(0.35)
        self.scene.plotter.renderer.AddActor(self.actor)
        self.class_lut = class_lookup_table(CONGESTION, 0.0, 1.5)  # ratios up to 1.5
        self.lut = self.class_lut

    def refresh(self) -> None:
        layer: TrafficLayer = self.layer
        if layer.values.size == 0:
            return
        if layer.show == "ratio":
            lut = self.class_lut
        else:
            clim = layer.clim or auto_clim(layer.values[np.isfinite(layer.values)])
            lut = lookup_table("RdYlGn", clim, nan_color=NO_DATA_COLOR)
        if lut is not self.mapper.GetLookupTable():
            self.mapper.SetLookupTable(lut)
        # Straight into the VTK array: no temporary of one float per ribbon point.
        np.take(layer.values, self.point_feature, out=self.point_values, mode="clip")
        self._mesh().GetPointData().GetArray("value").Modified()

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible:
            return None
        entries = self.layer.class_legend()
        return ("categories", entries) if entries else None


class AirQualityAdapter(_TimeAdapter[AirQualityLayer]):
    """Station columns coloured by AQI category, and the interpolated AQI as a textured plane.

    The surface shows only near the stations (within :attr:`SURFACE_REACH_M` of one): farther
    out an interpolated value says little, and a district-wide tint hides the city (issue 10).
    """

    value_fields = ("aqi_values",)
    #: Texels farther than this from every station stay transparent, metres.
    SURFACE_REACH_M = 250.0

    def build(self) -> None:
        layer: AirQualityLayer = self.layer
        n = len(layer.station_ids)
        pts = pv.PolyData(
            np.asarray(layer.station_xyz, np.float32) + np.array([0, 0, 0.0], np.float32)
        )
        pts.point_data["rgb"] = np.zeros((n, 3), np.uint8)
        self.station_rgb = vtk_to_numpy(pts.GetPointData().GetArray("rgb"))
        source = pv.Cylinder(
            center=(0, 0, 15), direction=(0, 0, 1), radius=8.0, height=30.0, resolution=24
        )
        mapper = vtkGlyph3DMapper()
        mapper.SetInputData(pts)
        mapper.SetSourceData(source)
        mapper.ScalingOff()
        mapper.OrientOff()
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("rgb")
        mapper.ScalarVisibilityOn()
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.scene.plotter.renderer.AddActor(self.actor)
        self.mesh = pts
        self.index = np.arange(n)
        # The surface: one plane with an RGBA texture written in place each tick.
        x0, x1, y0, y1 = layer.grid_bounds
        ny, nx = layer.grid.shape if layer.grid.ndim == 2 and layer.grid.size else (2, 2)
        self.image = vtkImageData()
        self.image.SetDimensions(nx, ny, 1)
        self.image.AllocateScalars(VTK_FLOAT, 1)
        self.texels = vtk_to_numpy(self.image.GetPointData().GetScalars()).reshape(ny, nx)
        self.texels[:] = np.nan
        self.near = self._near_stations(layer, nx, ny)
        # The AQI grid goes in as floats; the texture maps them through the category colours
        # (both standards step at 50/100/150/200/300), NaN transparent.
        self.surface_lut = self._surface_lut(layer.standard, layer.opacity)
        texture = vtkTexture()
        texture.SetInputData(self.image)
        texture.SetLookupTable(self.surface_lut)
        texture.SetColorModeToMapScalars()
        texture.InterpolateOff()
        self.texture = texture
        plane = vtkPlaneSource()
        plane.SetOrigin(x0, y0, 0.3)
        plane.SetPoint1(x1, y0, 0.3)
        plane.SetPoint2(x0, y1, 0.3)
        pmapper = vtkPolyDataMapper()
        pmapper.SetInputConnection(plane.GetOutputPort())
        self.surface = vtkActor()
        self.surface.SetMapper(pmapper)
        self.surface.SetTexture(texture)
        self.surface.GetProperty().LightingOff()
        self.surface.PickableOff()
        self.surface.SetVisibility(layer.visible and layer.show_surface)
        self.scene.plotter.renderer.AddActor(self.surface)
        self.extra_actors = [self.surface]
        self.layer.events.show_surface.connect(self._on_surface_toggle)
        self.layer.events.standard.connect(self._on_standard_change)
        self.palette = layer.class_scale().rgb(no_data=True)

    def _near_stations(self, layer: AirQualityLayer, nx: int, ny: int) -> np.ndarray[Any, Any]:
        """(ny, nx) mask of the texels within reach of a station (once: stations stay put)."""
        from scipy.spatial import cKDTree

        x0, x1, y0, y1 = layer.grid_bounds
        xy = np.asarray(layer.station_xyz, np.float64).reshape(-1, 3)[:, :2]
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return np.zeros((ny, nx), bool)
        # Texel i's centre on the plane: the texture spans the bounds edge to edge.
        gx = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
        gy = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
        cx, cy = np.meshgrid(gx, gy)
        dist, _ = cKDTree(xy).query(np.column_stack([cx.ravel(), cy.ravel()]))
        return np.asarray(dist <= self.SURFACE_REACH_M).reshape(ny, nx)

    def _on_standard_change(self, *_: object) -> None:
        self.apply_opacity()
        self._on_values_change()

    def apply_opacity(self) -> None:
        """Stations take the layer opacity; the surface's colour table carries it as alpha."""
        super().apply_opacity()
        if hasattr(self, "texture"):
            self.surface_lut = self._surface_lut(
                self.layer.standard, self.layer.opacity * self.opacity_factor
            )
            self.texture.SetLookupTable(self.surface_lut)
            self.texture.Modified()

    def _on_values_change(self, *_: object) -> None:
        self.palette = self.layer.class_scale().rgb(no_data=True)
        super()._on_values_change()

    @staticmethod
    def _surface_lut(standard: str, opacity: float) -> vtkLookupTable:
        return class_lookup_table(
            category_scale(standard), 0.0, 500.0, alpha=0.32 * float(opacity), nan_alpha=0.0
        )

    def _on_surface_toggle(self, on: bool) -> None:
        self.surface.SetVisibility(bool(on) and self.layer.visible)
        self.scene.request_render()

    def refresh(self) -> None:
        layer: AirQualityLayer = self.layer
        if layer.aqi_values.size:
            cat = np.asarray(category(layer.aqi_values, layer.standard), np.int64)
            self.station_rgb[:] = self.palette[cat + 1]
            self._mesh().GetPointData().GetArray("rgb").Modified()
        grid = layer.grid
        if grid.ndim == 2 and grid.shape == self.texels.shape:
            np.copyto(self.texels, grid)
            self.texels[~self.near] = np.nan
            self.image.GetPointData().GetScalars().Modified()
            self.image.Modified()

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible:
            return None
        return ("categories", self.layer.class_legend())


class PipeAdapter(_TimeAdapter[PipeLayer]):
    """Tubes coloured per link by pressure or flow; links in alarm drawn in the alarm colour."""

    value_fields = ("values", "alarm")

    def build(self) -> None:
        layer: PipeLayer = self.layer
        assert layer.features is not None
        fs = layer.features
        poly = to_polydata(fs.mesh)
        self.index = np.asarray(fs.mesh.cell_data[fs.index_array])
        self.point_feature = _point_feature(fs.mesh.triangles, self.index, fs.mesh.n_points)
        poly.point_data["rgb"] = np.zeros((fs.mesh.n_points, 3), np.uint8)
        self.rgb = vtk_to_numpy(poly.GetPointData().GetArray("rgb"))
        self.mesh = poly
        self.actor, _ = _actor(poly, "rgb")
        self.actor.GetProperty().SetSpecular(0.3)
        self.scene.plotter.renderer.AddActor(self.actor)
        self.alarm_rgb = palette_rgb([ALARM_COLOR])[0]
        self.nan_rgb = palette_rgb([NO_DATA_COLOR])[0]
        self.table = colormap_rgb8(layer.colormap)
        self.clim: tuple[float, float] = (0.0, 1.0)
        self.extra_actors = [self._glyphs(layer)]

    def _glyphs(self, layer: PipeLayer) -> vtkActor:
        """Pumps, valves, tanks and reservoirs: one glyph mapper, shape and colour by type."""
        kinds = [str(k) for k in layer.glyph_kind]
        order = ("pump", "valve", "tank", "reservoir")
        colors = {"pump": "#ff8c00", "valve": "#d62728", "tank": "#1f77b4", "reservoir": "#17becf"}
        pts = pv.PolyData(np.asarray(layer.glyph_xyz, np.float32).reshape(-1, 3))
        if kinds:  # pyvista refuses empty arrays (a replayed network may have no such element)
            pts.point_data["shape"] = np.array(
                [order.index(k) if k in order else 0 for k in kinds], np.float32
            )
            pts.point_data["rgb"] = palette_rgb([colors.get(k, "#999999") for k in kinds])
        mapper = vtkGlyph3DMapper()
        mapper.SetInputData(pts)
        size = 9.0
        for i, src in enumerate(
            (
                pv.Sphere(radius=size / 2),  # pump
                pv.Cube(x_length=size, y_length=size, z_length=size),  # valve
                pv.Cylinder(radius=size * 0.8, height=size * 1.6, direction=(0, 0, 1)),  # tank
                pv.Cylinder(radius=size * 1.2, height=size * 0.6, direction=(0, 0, 1)),  # reservoir
            )
        ):
            mapper.SetSourceData(i, src)
        mapper.SetSourceIndexArray("shape")
        mapper.SourceIndexingOn()
        mapper.ScalingOff()
        mapper.OrientOff()
        mapper.SetColorModeToDirectScalars()
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray("rgb")
        mapper.ScalarVisibilityOn()
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.PickableOff()
        actor.SetVisibility(layer.visible)
        self.scene.plotter.renderer.AddActor(actor)
        return actor

    def refresh(self) -> None:
        layer: PipeLayer = self.layer
        if layer.values.size == 0:
            return
        self.table = colormap_rgb8(layer.colormap)
        self.clim = layer.clim or auto_clim(layer.values[np.isfinite(layer.values)])
        if layer.color_by == COLOR_SOLID:
            colors = np.repeat(palette_rgb([layer.color]), layer.values.size, axis=0)
        else:
            colors = map_colors(layer.values, self.clim, self.table, self.nan_rgb)
        if layer.alarm.shape == layer.values.shape:
            colors[layer.alarm] = self.alarm_rgb
        self.rgb[:] = colors[self.point_feature]
        self._mesh().GetPointData().GetArray("rgb").Modified()

    def legend(self) -> tuple[str, Any] | None:
        if not self.layer.visible:
            return None
        if self.layer.color_by == COLOR_SOLID:
            alarm = f"{self.layer.field_name} < {self.layer.alarm_below_m:g} (alarm)"
            return ("categories", [(self.layer.name, self.layer.color), (alarm, ALARM_COLOR)])
        return (
            "scalar",
            (
                f"{self.layer.name}: {self.layer.field_name}",
                lookup_table(self.layer.colormap, self.clim),
            ),
        )


class MoverAdapter(_TimeAdapter[MoverLayer]):
    """Oriented glyphs (one vtkGlyph3DMapper for all movers) and fading trails (one polyline set)."""

    value_fields = ("positions",)

    def build(self) -> None:
        layer: MoverLayer = self.layer
        n = len(layer.mover_ids)
        self.index = np.arange(n)
        pts = pv.PolyData(
            np.zeros((max(n, 1), 3), np.float32)[:n] if n else np.zeros((0, 3), np.float32)
        )
        pts.point_data["direction"] = np.tile(np.array([[0.0, 1.0, 0.0]], np.float32), (n, 1))
        pts.point_data["scale"] = np.ones(n, np.float32)
        pts.GetPointData().SetActiveVectors("direction")
        self.glyph_pts = vtk_to_numpy(pts.GetPoints().GetData())
        self.glyph_dir = vtk_to_numpy(pts.GetPointData().GetArray("direction"))
        self.glyph_scale = vtk_to_numpy(pts.GetPointData().GetArray("scale"))
        size = layer.glyph_size_m
        arrow = pv.Cone(
            center=(0.0, 0.0, 0.0),
            direction=(1.0, 0.0, 0.0),
            height=size,
            radius=size * 0.35,
            resolution=12,
        )
        mapper = vtkGlyph3DMapper()
        mapper.SetInputData(pts)
        mapper.SetSourceData(arrow)
        mapper.SetOrientationArray("direction")
        mapper.SetOrientationModeToDirection()
        mapper.SetScaleArray("scale")
        mapper.SetScaleModeToScaleByMagnitude()
        mapper.ScalarVisibilityOff()
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*hex_to_rgb(layer.color))
        self.actor.GetProperty().SetAmbient(0.4)
        self.scene.plotter.renderer.AddActor(self.actor)
        self.mesh = pts
        # Trails: one polyline per mover over k points stored slot-major: block r < k - 1 is
        # column r of the layer's trail ring, block k - 1 the current positions, so a tick
        # copies contiguous blocks and only the connectivity knows the time order.
        self.trail_poly = vtkPolyData()
        tmapper = vtkPolyDataMapper()
        tmapper.SetInputData(self.trail_poly)
        tmapper.SetColorModeToDirectScalars()
        tmapper.ScalarVisibilityOn()
        self.trail_actor = vtkActor()
        self.trail_actor.SetMapper(tmapper)
        self.trail_actor.GetProperty().SetLineWidth(3.0)
        self.trail_actor.GetProperty().LightingOff()
        self.trail_actor.PickableOff()
        self.scene.plotter.renderer.AddActor(self.trail_actor)
        self.extra_actors = [self.trail_actor]
        self._build_trail(n, max(int(layer.trail_points), 2))

    def _build_trail(self, n: int, k: int) -> None:
        """(Re)allocate the trail polylines for n movers of k points."""
        from vtkmodules.util.numpy_support import numpy_to_vtkIdTypeArray

        trail = self.trail_poly
        tp = vtkPoints()
        tp.SetData(numpy_to_vtk(np.zeros((k * n, 3), np.float32), deep=True))
        trail.SetPoints(tp)
        cells = vtkCellArray()
        cells.SetData(
            numpy_to_vtkIdTypeArray(np.arange(0, n * k + 1, k, dtype=np.int64), deep=True),
            numpy_to_vtkIdTypeArray(np.zeros(n * k, np.int64), deep=True),
        )
        trail.SetLines(cells)
        rgba = np.zeros((k * n, 4), np.uint8)
        rgba[:, :3] = palette_rgb([self.layer.color])[0]
        colors = numpy_to_vtk(rgba, deep=True)
        colors.SetName("rgba")
        trail.GetPointData().SetScalars(colors)
        self.trail_k = k
        self.trail_pts = vtk_to_numpy(tp.GetData()).reshape(k, n, 3)
        self.trail_alpha = vtk_to_numpy(colors)[:, 3].reshape(k, n)
        self.trail_conn = vtk_to_numpy(cells.GetConnectivityArray()).reshape(n, k)
        # Opaque at the mover, transparent at the oldest point.
        self.rank_alpha = np.linspace(0, 255, k).round().astype(np.uint8)
        self.trail_versions = np.full(k - 1, -1, np.int64)
        self.trail_order = np.full(k - 1, -1, np.int64)

    def refresh(self) -> None:
        layer: MoverLayer = self.layer
        n = len(layer.mover_ids)
        if layer.positions.shape != (n, 3) or n == 0:
            return
        head = np.nan_to_num(layer.positions)
        self.glyph_pts[:] = head
        h = layer.headings
        # Heading: compass radians (0 = north, pi/2 = east) -> direction vector (x east, y north).
        self.glyph_dir[:, 0] = np.sin(h)
        self.glyph_dir[:, 1] = np.cos(h)
        self.glyph_dir[:, 2] = 0.0
        self.glyph_scale[:] = layer.valid.astype(np.float32)
        mesh = self._mesh()
        pd = mesh.GetPointData()
        mesh.GetPoints().Modified()
        pd.GetArray("direction").Modified()
        pd.GetArray("scale").Modified()
        mesh.Modified()
        self._refresh_trail(layer, n, head)

    def _refresh_trail(self, layer: MoverLayer, n: int, head: np.ndarray) -> None:
        """Copy the ring columns that changed, the current positions, and the fade."""
        ring = layer.trail_ring
        k = ring.data.shape[0] + 1
        if ring.data.shape[1] != n:
            return
        if k != self.trail_k:
            self._build_trail(n, k)
        m = k - 1
        pts, valid = self.trail_pts, layer.valid
        for r in np.flatnonzero(ring.version != self.trail_versions).tolist():  # <= k - 1 blocks
            np.copyto(pts[r], ring.data[r])
            pts[r][~ring.ok[r]] = 0.0
            self.trail_versions[r] = ring.version[r]
        pts[m] = head
        if not np.array_equal(ring.order, self.trail_order):
            self.trail_conn[:, :m] = ring.order[None, :] * n + np.arange(n)[:, None]
            self.trail_conn[:, m] = m * n + np.arange(n)
            self.trail_order = ring.order.copy()
            self.trail_poly.GetLines().GetConnectivityArray().Modified()
            self.trail_poly.GetLines().Modified()
        rank = np.empty(m, np.int64)
        rank[ring.order] = np.arange(m)
        self.trail_alpha[:m] = np.where(ring.ok & valid, self.rank_alpha[rank][:, None], 0)
        self.trail_alpha[m] = np.where(valid, self.rank_alpha[m], 0)
        # Movers shown now whose older points are missing (just appeared, or across a gap):
        # those points collapse onto the mover, so no segment reaches for the origin.
        rows = np.flatnonzero(valid & ~ring.ok.all(axis=0))
        if rows.size:
            sub = pts[:m, rows]
            np.copyto(sub, head[rows][None], where=~ring.ok[:, rows][..., None])
            pts[:m, rows] = sub
        self.trail_poly.GetPoints().Modified()
        self.trail_poly.GetPointData().GetScalars().Modified()
        self.trail_poly.Modified()
