"""The Scene: layers drawn into any ``pv.BasePlotter`` (offscreen in tests/CLI, Qt in the app)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkMapper,
    vtkPolyDataMapper,
    vtkProp,
    vtkTextActor,
)

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.layers import AreaLayer, BuildingLayer, GroundLayer, Layer, ObjectLayer
from twin_app.render.adapters import Adapter
from twin_app.render.colors import hex_to_rgb
from twin_app.render.overlays import LegendPanel, MapOverlays
from twin_app.render.plotter import gl_info
from twin_app.render.registry import adapter_class

log = logging.getLogger(__name__)

View = Literal["oblique", "top", "street"]
VIEWS: tuple[str, ...] = ("oblique", "top", "street")

SKY_TOP = "#8fb3d9"
SKY_BOTTOM = "#e9eef3"
GROUND = "#d8d8d2"
GROUND_DARK = "#4a4f57"
#: Ground in a building's shadow: the lit ground colour times this, per channel (never black;
#: a little bluer, as shade lit by the sky is).
SHADOW_FACTOR = (0.5, 0.52, 0.62)
#: The light direction (towards the light, x east, y north, z up) before a sun is known: an
#: afternoon sun from the south-west, about 45 degrees up.
DEFAULT_SUN = (-1.0, -1.2, 1.6)


def _finite_bounds(mesh: pv.DataSet) -> tuple[float, ...] | None:
    """(xmin, xmax, ymin, ymax, zmin, zmax) of a mesh's finite points; None if it has none."""
    b = mesh.bounds
    # VTK skips NaN coordinates itself; with no finite point it reports an inverted +-1e299 box
    if np.isfinite(b).all() and b[0] <= b[1] and b[2] <= b[3] and b[4] <= b[5]:
        return tuple(float(v) for v in b)
    p = np.asarray(mesh.points)
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return None
    lo, hi = p.min(axis=0), p.max(axis=0)
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))


class Scene:
    """Layers, lighting, ground, overlays and camera presets over one plotter.

    Parameters
    ----------
    plotter
        A ``pv.Plotter(off_screen=True)`` or a pyvistaqt ``QtInteractor``.
    schedule
        Called (with no argument) when a render is requested; the host coalesces requests into
        one render per frame (a zero-delay single-shot timer in Qt). None: render on demand only
        (offscreen use: call :meth:`render` or :meth:`screenshot`).
    """

    def __init__(self, plotter: pv.BasePlotter, schedule: Callable[[], None] | None = None) -> None:
        self.plotter = plotter
        self.adapters: dict[int, Adapter[Any]] = {}
        self._schedule = schedule
        self._dirty = False
        self._ground: vtkActor | None = None
        #: One panel per layer legend, stacked in the top-left corner (see legends_changed).
        self.legends: list[LegendPanel] = []
        self._legend_layout: tuple[float, ...] = ()
        #: Names of the layers whose legend the view had no room for (see _layout_legends);
        #: the picture says "+N legends hidden" where the next panel would have gone.
        self.hidden_legends: list[str] = []
        self._legend_note: LegendPanel | None = None
        self.dark = False
        self.shadows = False
        self.ground_color = GROUND
        #: Unit vector towards the sun (x east, y north, z up) and whether it is up.
        self.sun_direction: tuple[float, float, float] = tuple(  # type: ignore[assignment]
            float(v) for v in np.asarray(DEFAULT_SUN) / np.linalg.norm(DEFAULT_SUN)
        )
        self.sun_up = True
        self.sun_label = ""
        self._shadow: vtkActor | None = None
        self._shadow_key: tuple[Any, ...] = ()
        self.shadow_note = vtkTextActor()
        self.shadow_note.GetTextProperty().SetFontSize(15)
        self.shadow_note.GetTextProperty().SetShadow(False)
        self.shadow_note.SetVisibility(False)
        plotter.renderer.AddViewProp(self.shadow_note)
        self.gl = gl_info()
        plotter.set_background(SKY_BOTTOM, top=SKY_TOP)
        self._setup_lights()
        self.overlays = MapOverlays(plotter.renderer)
        self.show_legends = True
        #: Which layers get a legend panel (None: every coloured one). A swipe's scenario
        #: scene shows only its result layers': the baseline's panels show the shared ones.
        self.legend_filter: Callable[[Layer], bool] | None = None
        self.underground = "off"
        #: While True the overlays keep their layout (a tiled snapshot lays them out once for
        #: the whole picture and renders it tile by tile: see twin_app.render.snapshot).
        self.layout_frozen = False
        #: Pixels kept free above the legend panels (a snapshot's title band).
        self.legend_top_px = 0.0
        self._highlight: vtkActor | None = None
        self._highlighted: tuple[int, np.ndarray[Any, Any]] = (0, np.zeros(0, np.int64))
        self._cut_plane = vtkPlane()
        # The cutaway plane follows the camera (a few float operations per frame); legends
        # and shadows are laid out when the window size, the sun or the layers changed.
        plotter.renderer.AddObserver("StartEvent", self._on_start_render)

    # -- rendering -------------------------------------------------------------------------
    def _setup_lights(self) -> None:
        p = self.plotter
        p.remove_all_lights()
        # Sun from the south-west, 45 degrees up, plus a weak fill from the opposite side.
        sun = pv.Light(position=(-1.0, -1.2, 1.6), focal_point=(0, 0, 0), light_type="scene light")
        sun.intensity = 0.85
        sun.positional = False
        fill = pv.Light(position=(1.0, 1.0, 0.6), focal_point=(0, 0, 0), light_type="scene light")
        fill.intensity = 0.3
        fill.positional = False
        p.add_light(sun)
        p.add_light(fill)
        self.sun = sun

    def _on_start_render(self, *_: object) -> None:
        if self.layout_frozen:
            return
        self._layout_legends()
        if self.shadows:
            self._update_shadow()
            if self.shadow_note.GetVisibility():
                w, h = self.plotter.renderer.GetSize()
                scale = max(1.0, h / 1080.0)
                self.shadow_note.GetTextProperty().SetFontSize(round(15 * scale))
                self.shadow_note.GetTextProperty().SetJustificationToCentered()
                self.shadow_note.SetPosition(w / 2, 24 * scale)
        if self.underground == "cutaway":
            cam = self.plotter.camera
            f = np.array(cam.GetFocalPoint())
            self._cut_plane.SetOrigin(*f)
            view = np.array(cam.GetDirectionOfProjection())
            n = np.array([view[0], view[1], 0.0])
            if np.linalg.norm(n) > 1e-6:
                self._cut_plane.SetNormal(*(n / np.linalg.norm(n)))

    def request_render(self) -> None:
        """Ask for a render; many requests in one event-loop turn give one render."""
        self._dirty = True
        if self.shadows:
            self._update_shadow()  # a key compare unless the sun or the casters changed
        if self._schedule is not None:
            self._schedule()

    def render(self) -> None:
        """Render now if anything changed since the last render."""
        if self._dirty:
            self._dirty = False
            self.plotter.render()

    def screenshot(self, path: str | None = None) -> np.ndarray[Any, Any]:
        """Render and return (and optionally save) the image as an (h, w, 3) uint8 array."""
        self._dirty = False
        self.plotter.render()
        img = self.plotter.screenshot(path, return_img=True)
        return np.asarray(img)

    # -- layers ----------------------------------------------------------------------------
    def add_layer(self, layer: Layer) -> Adapter[Any]:
        """Create the layer's adapter (mesh and actor, once)."""
        adapter = adapter_class(layer)(layer, self)
        self.adapters[layer.uid] = adapter
        self.update_ground()
        if self.underground != "off":
            self.set_underground(self.underground)
        self.legends_changed()
        self.request_render()
        return adapter

    def remove_layer(self, layer: Layer) -> None:
        """Remove a layer's actor."""
        adapter = self.adapters.pop(layer.uid, None)
        if adapter is not None:
            adapter.remove()
            if self._highlight is not None:
                self.highlight(0, [])
            self.legends_changed()
            self.request_render()

    def adapter_rebuilt(self, adapter: Adapter[Any]) -> None:
        """An adapter built its mesh again: ground, underground mode, legends and highlight follow."""
        self.update_ground()
        if self.underground != "off":
            self.set_underground(self.underground)
        uid, indices = self._highlighted
        if uid == adapter.layer.uid and indices.size:
            self.highlight(uid, indices)
        self.legends_changed()
        self.request_render()

    def order_layers(self, layers: list[Layer]) -> None:
        """Re-add the layers' actors bottom to top so that VTK draws them in the list's order."""
        renderer = self.plotter.renderer
        for layer in layers:
            adapter = self.adapters.get(layer.uid)
            if adapter is None:
                continue
            for a in [adapter.actor, *adapter.extra_actors]:
                if a is not None:
                    renderer.RemoveActor(a)
                    renderer.AddActor(a)
        if self._highlight is not None:  # the highlight stays on top
            renderer.RemoveActor(self._highlight)
            renderer.AddActor(self._highlight)
        self.request_render()

    def adapter_for_actor(self, actor: vtkProp) -> Adapter[Any] | None:
        """The adapter that owns an actor (for picking)."""
        for a in self.adapters.values():
            if a.actor is actor:
                return a
        return None

    # -- ground, legends, camera -------------------------------------------------------------
    def data_bounds(
        self, surface_only: bool = False
    ) -> tuple[float, float, float, float, float, float] | None:
        """Bounds of every layer mesh (ground and overlays excluded; optionally only the surface
        layers that stand on the ground, which sets the ground's height: not IFC buildings,
        whose terrain and basements reach below it).

        Points that are not finite (a mover off service has a NaN position) are left out.
        """
        boxes = [
            _finite_bounds(a.mesh)
            for a in self.adapters.values()
            if a.mesh is not None
            and a.mesh.n_points
            and ((a.is_surface and a.defines_ground) or not surface_only)
        ]
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            return None
        b = np.array(boxes, dtype=np.float64)
        return (
            b[:, 0].min(),
            b[:, 1].max(),
            b[:, 2].min(),
            b[:, 3].max(),
            b[:, 4].min(),
            b[:, 5].max(),
        )

    def view_bounds(self) -> tuple[float, float, float, float, float, float] | None:
        """Bounds for framing: the 1st-99th percentile box of all layer points.

        A few long roads or a far-off object must not shrink the city to a dot.
        """
        pts = [
            a.mesh.points[:: max(1, a.mesh.n_points // 20000)]
            for a in self.adapters.values()
            if a.mesh is not None and a.mesh.n_points
        ]
        p = np.concatenate(pts) if pts else np.zeros((0, 3))
        p = p[np.isfinite(p).all(axis=1)]
        if not len(p):
            return None
        lo = np.percentile(p, 1.0, axis=0)
        hi = np.percentile(p, 99.0, axis=0)
        zlo, zhi = float(p[:, 2].min()), float(p[:, 2].max())
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), zlo, zhi)

    def update_ground(self) -> None:
        """A ground plane 12x the data's footprint just below the lowest surface geometry.

        Layers below ground (pipes) do not push the ground down: they must stay below it.
        """
        b = self.data_bounds(surface_only=True) or self.data_bounds()
        if self._ground is not None:
            self.plotter.renderer.RemoveActor(self._ground)
            self._ground = None
        if b is None:
            return
        self.overlays.ground_z = float(b[4])
        cx, cy = (b[0] + b[1]) / 2, (b[2] + b[3]) / 2
        size = max(b[1] - b[0], b[3] - b[2], 100.0) * 12
        plane = vtkPlaneSource()
        plane.SetOrigin(cx - size / 2, cy - size / 2, b[4] - 0.05)
        plane.SetPoint1(cx + size / 2, cy - size / 2, b[4] - 0.05)
        plane.SetPoint2(cx - size / 2, cy + size / 2, b[4] - 0.05)
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(plane.GetOutputPort())
        # Pushed back in depth so that the shadows lying on it win the depth test.
        mapper.SetResolveCoincidentTopologyToPolygonOffset()
        mapper.SetRelativeCoincidentTopologyPolygonOffsetParameters(1.0, 4.0)
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.PickableOff()
        actor.GetProperty().SetColor(*hex_to_rgb(getattr(self, "ground_color", GROUND)))
        # A flat plane under directional light is one uniform colour anyway: drawing it unlit
        # looks the same and saves about 7 ms a frame at 1920x1080 on software GL.
        actor.GetProperty().SetLighting(getattr(self, "shadows", False))
        self.plotter.renderer.AddActor(actor)
        self._ground = actor

    # -- selection highlight ------------------------------------------------------------------
    HIGHLIGHT = "#ffcc00"

    def highlight(self, layer_uid: int, indices: Any) -> int:
        """Draw the given features of a layer in the highlight colour; returns triangles drawn.

        One small extra actor (the selected triangles, pulled towards the camera with a polygon
        offset so they win the depth test); an empty `indices` clears it.
        """
        if self._highlight is not None:
            self.plotter.renderer.RemoveActor(self._highlight)
            self._highlight = None
        adapter = self.adapters.get(layer_uid)
        idx = np.asarray(indices, dtype=np.int64)
        self._highlighted = (layer_uid, idx)
        fs = adapter.layer.feature_set() if adapter is not None else None
        if adapter is None or fs is None or idx.size == 0 or not fs.mesh.n_triangles:
            self.request_render()
            return 0
        mask = np.isin(adapter.index, idx)
        drawn = adapter.mesh
        if drawn is not None and drawn.n_cells == len(adapter.index) and drawn.n_cells:
            # the drawn triangles (a subset of the file's, or lifted storeys), as the index
            tris = np.asarray(drawn.regular_faces)[mask]
            points = np.asarray(drawn.points)
        else:
            tris = fs.mesh.triangles[mask]
            points = fs.mesh.points
        if tris.size == 0:
            self.request_render()
            return 0
        used, inverse = np.unique(tris.ravel(), return_inverse=True)
        poly = pv.PolyData.from_regular_faces(
            points[used].astype(np.float32), inverse.reshape(-1, 3)
        )
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(poly)
        mapper.ScalarVisibilityOff()
        mapper.SetResolveCoincidentTopologyToPolygonOffset()
        mapper.SetRelativeCoincidentTopologyPolygonOffsetParameters(-2.0, -8.0)
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.PickableOff()
        prop = actor.GetProperty()
        prop.SetColor(*hex_to_rgb(self.HIGHLIGHT))
        prop.SetAmbient(0.45)
        self.plotter.renderer.AddActor(actor)
        self._highlight = actor
        self.request_render()
        return int(tris.shape[0])

    # -- underground view -------------------------------------------------------------------
    UNDERGROUND_OPACITY = 0.25

    def set_underground(self, mode: str) -> None:
        """Show what lies below the ground.

        ``translucent``: the ground and every surface layer (buildings, roads, areas, terrain,
        city objects) fade to a quarter of their opacity, with depth peeling so the sorting is
        right. ``cutaway``: a vertical plane through the focal point, facing the camera, clips
        the ground and the surface layers, so the near half of the city is cut open and what is
        below ground shows in section. ``off``: back to normal. Layers below ground (pipes)
        are never faded or clipped.
        """
        if mode not in ("off", "translucent", "cutaway"):
            raise ValueError(f"unknown underground mode {mode!r}")
        self.underground = mode
        factor = self.UNDERGROUND_OPACITY if mode == "translucent" else 1.0
        for adapter in self.adapters.values():
            adapter.opacity_factor = factor if adapter.is_surface else 1.0
            adapter.apply_opacity()
        if self._ground is not None:
            self._ground.GetProperty().SetOpacity(factor)
        renderer = self.plotter.renderer
        renderer.SetUseDepthPeeling(mode == "translucent")
        renderer.SetMaximumNumberOfPeels(4)
        self._apply_cutaway()
        self.request_render()

    def _surface_mappers(self) -> list[vtkMapper]:
        mappers = [
            a.actor.GetMapper()
            for a in self.adapters.values()
            if a.actor is not None and a.is_surface
        ]
        mappers += [
            extra.GetMapper()
            for a in self.adapters.values()
            if a.is_surface
            for extra in a.extra_actors
        ]
        if self._ground is not None:
            mappers.append(self._ground.GetMapper())
        return mappers

    def _apply_cutaway(self, *_: object) -> None:
        for m in self._surface_mappers():
            m.RemoveAllClippingPlanes()
        try:
            self._cutaway_planes()
        finally:
            for a in self.adapters.values():
                a.clipping_changed()  # adapters with cuts of their own (IFC sections) add them

    @property
    def cut_plane(self) -> vtkPlane | None:
        """The underground cutaway's plane while it is on (None otherwise)."""
        return self._cut_plane if getattr(self, "underground", "off") == "cutaway" else None

    def _cutaway_planes(self) -> None:
        if getattr(self, "underground", "off") != "cutaway":
            return
        cam = self.plotter.camera
        f = np.array(cam.GetFocalPoint())
        view = np.array(cam.GetDirectionOfProjection())
        normal = np.array([view[0], view[1], 0.0])
        if np.linalg.norm(normal) < 1e-6:  # looking straight down: cut along the view-up
            up = np.array(cam.GetViewUp())
            normal = np.array([up[0], up[1], 0.0])
        normal /= max(np.linalg.norm(normal), 1e-12)
        self._cut_plane.SetOrigin(*f)
        self._cut_plane.SetNormal(*normal)  # keeps the far side (in front of the normal)
        for m in self._surface_mappers():
            m.AddClippingPlane(self._cut_plane)

    def legends_changed(self) -> None:
        """Rebuild the legend panels: one per visible coloured layer, titled with its name,
        in the order of the names."""
        renderer = self.plotter.renderer
        for panel in self.legends:
            panel.remove()
        self.legends.clear()
        self._legend_layout = ()
        if self._legend_note is not None:
            self._legend_note.remove()
            self._legend_note = None
        self.hidden_legends = []
        if not self.show_legends:
            return
        # By layer name: the same picture whatever order the layers were read in.
        for adapter in sorted(
            self.adapters.values(), key=lambda a: (str(a.layer.name), a.layer.uid)
        ):
            if self.legend_filter is not None and not self.legend_filter(adapter.layer):
                continue
            leg = adapter.legend()
            if leg is None:
                continue
            kind, payload = leg
            name = str(adapter.layer.name)
            if kind == "scalar":
                title, lut = payload
                field = title.split(": ", 1)[-1] if ": " in title else ""
                panel = LegendPanel(renderer, name, field, lut=lut, dark=self.dark)
            elif payload:
                seen: dict[str, str] = {}
                for label, color in payload:
                    seen.setdefault(label, color)
                panel = LegendPanel(renderer, name, entries=list(seen.items()), dark=self.dark)
            else:
                continue
            self.legends.append(panel)
        self.request_render()

    #: Space kept free at the bottom of the view (scale bar) and between panels, in pixels
    #: at 1080 lines.
    LEGEND_MARGIN = 12.0
    LEGEND_BOTTOM = 70.0
    #: Share of the view's area the legend panels may cover together.
    LEGEND_AREA_CAP = 0.3
    #: Smallest legend scale (8 px text); below it panels are hidden instead.
    LEGEND_MIN_SCALE = 0.6

    def relayout_legends(self) -> None:
        """Lay the legend panels out again before the next render (the viewport moved)."""
        self._legend_layout = ()
        self.request_render()

    def _layout_legends(self) -> None:
        """Stack the panels top-down from the top-left corner, in columns: never over one
        another, the north arrow's corner (:meth:`MapOverlays.north_box`) or the scale bar,
        and together on at most :data:`LEGEND_AREA_CAP` of the view.

        Panels that do not fit shrink (down to :data:`LEGEND_MIN_SCALE`); when they still do
        not, the largest panels are hidden first (they cost the most room; the others keep
        their stacking order), a "+N legends hidden" panel takes the next place and
        :attr:`hidden_legends` names them (a warning is logged when that set changes)."""
        if not self.legends:
            return
        w, h = self.plotter.renderer.GetSize()
        key = (float(w), float(h), float(len(self.legends)), float(id(self.legends[0])))
        if key == self._legend_layout or w <= 0 or h <= 0:
            return
        self._legend_layout = key
        panels = self.legends
        scale = max(0.75, h / 900.0)
        while not self._place_legends(panels, scale, 0, w, h) and scale > self.LEGEND_MIN_SCALE:
            scale = max(self.LEGEND_MIN_SCALE, scale * 0.85)
        shown, note = panels, False
        if not self._place_legends(panels, scale, 0, w, h):
            # the largest go first (by their size at this scale), the rest keep their order
            sizes = [float(np.prod(p.fit(0.0, float(h), scale, float(w)))) for p in panels]
            by_size = sorted(range(len(panels)), key=lambda i: (-sizes[i], -i))
            for n_hidden in range(1, len(panels) + 1):
                gone = set(by_size[:n_hidden])
                shown = [p for i, p in enumerate(panels) if i not in gone]
                if self._place_legends(shown, scale, n_hidden, w, h):
                    note = True
                    break
            else:
                shown = []
        hidden = [p.title for p in panels if p not in shown]
        for p in panels:
            p.set_visible(p in shown)
        if self._legend_note is not None:
            self._legend_note.set_visible(note)
        if hidden and hidden != self.hidden_legends:
            log.warning(
                "%dx%d view: no room for the legend%s of %s (hidden; the picture says so)",
                w, h, "s" if len(hidden) > 1 else "", ", ".join(hidden),
            )  # fmt: skip
        self.hidden_legends = hidden

    def _place_legends(
        self, panels: list[LegendPanel], scale: float, n_hidden: int, w: int, h: int
    ) -> bool:
        """Lay `panels` out at `scale` (and the "+`n_hidden` legends hidden" panel after
        them); whether all of them fit (see :meth:`_layout_legends`)."""
        gap = self.LEGEND_MARGIN * scale
        dpi_scale = max(1.0, h / 1080.0)
        # the scale bar and its label reach 55 px up at 1080 lines (not drawn any smaller)
        bottom = max(self.LEGEND_BOTTOM * scale, 62.0 * dpi_scale)
        top0 = h - gap - self.legend_top_px
        right = w - gap
        if self.overlays.arrow.GetVisibility():
            right = min(right, self.overlays.north_box()[0] - gap)
        todo = list(panels)
        if n_hidden:
            if self._legend_note is None:
                self._legend_note = LegendPanel(self.plotter.renderer, "", entries=[])
                self._legend_note.set_dark(self.dark)
            self._legend_note.title = f"+{n_hidden} legend{'s' if n_hidden > 1 else ''} hidden"
            todo.append(self._legend_note)

        def fit(panel: LegendPanel, x: float, top: float) -> tuple[float, float]:
            pw, ph = panel.fit(x, top, scale, right - x)
            if panel is self._legend_note and panel.title_text.GetInput() != panel.title:
                panel.title = f"+{n_hidden} hidden"  # "+1 legen..." says less
                pw, ph = panel.fit(x, top, scale, right - x)
            return pw, ph

        x, top, col_w, area = gap, top0, 0.0, 0.0
        for panel in todo:
            if right - x <= 0:
                return False
            pw, ph = fit(panel, x, top)
            if top - ph < bottom and top < top0:  # no room left: start a new column
                x += col_w + gap
                top, col_w = top0, 0.0
                if right - x <= 0:
                    return False
                pw, ph = fit(panel, x, top)
            if x + pw > right or top - ph < bottom:
                return False
            col_w = max(col_w, pw)
            top -= ph + gap
            area += pw * ph
        return area <= self.LEGEND_AREA_CAP * w * h

    # -- sun and shadows -------------------------------------------------------------------------
    def set_sun(
        self, direction: tuple[float, float, float], above_horizon: bool, label: str = ""
    ) -> None:
        """Place the sun: `direction` points from the ground towards it (x east, y north,
        z up); below the horizon there are no shadows and the scene is lit by its fill light
        and ambient light only. `label` says when (shown with the below-horizon note)."""
        d = np.asarray(direction, np.float64)
        n = float(np.linalg.norm(d))
        if not np.isfinite(d).all() or n == 0:
            return
        self.sun_direction = (float(d[0] / n), float(d[1] / n), float(d[2] / n))
        self.sun_up = bool(above_horizon) and self.sun_direction[2] > 0.0
        self.sun_label = label
        if self.shadows:
            self._apply_shadow_lights()
        self.request_render()

    def _apply_shadow_lights(self) -> None:
        """Lights for the shadow view: the sun along its direction (when up) plus a fill."""
        p = self.plotter
        p.remove_all_lights()
        fill = pv.Light(position=(1.0, 1.0, 0.6), focal_point=(0, 0, 0), light_type="scene light")
        fill.positional = False
        ambient = 0.25
        if self.sun_up:
            sun = pv.Light(
                position=self.sun_direction, focal_point=(0, 0, 0), light_type="scene light"
            )
            sun.positional = False
            sun.intensity = 0.85
            p.add_light(sun)
            self.sun = sun
            fill.intensity = 0.3
            self.shadow_note.SetVisibility(False)
        else:
            # Night: a soft light from above and more ambient light; never a black scene.
            fill.position = (0.3, -0.4, 1.0)
            fill.intensity = 0.55
            ambient = 0.45
            when = f" at {self.sun_label}" if self.sun_label else ""
            self.shadow_note.SetInput(f"The sun is below the horizon{when}: no shadows")
            self.shadow_note.SetVisibility(True)
        p.add_light(fill)
        for a in self.adapters.values():
            if a.actor is not None:
                a.actor.GetProperty().SetAmbient(ambient)

    def _casters(self) -> list[Adapter[Any]]:
        return [
            a
            for a in self.adapters.values()
            if isinstance(a.layer, (BuildingLayer, ObjectLayer))
            and a.layer.visible
            and a.layer.features is not None
            and a.layer.features.mesh.n_triangles
        ]

    def _update_shadow(self) -> None:
        """The buildings' shadow on the ground, projected along the sun (rebuilt only when the
        sun, the casting layers or the ground moved): one mesh, one actor, drawn opaque in
        the ground's shadow colour just above the ground, under roads and areas."""
        casters = self._casters()
        ground = self._ground
        gz = ground.GetBounds()[4] if ground is not None else 0.0
        # Flat ground layers (land use, areas) lie over the plane: the shadow lies on their top
        # and they are pushed back in depth (while shadows are on) so that it wins over them.
        flat = [
            a
            for a in self.adapters.values()
            if isinstance(a.layer, (GroundLayer, AreaLayer))
            and a.layer.visible
            and a.actor is not None
            and a.mesh is not None
            and a.mesh.n_points
        ]
        if flat:
            gz = max(gz, max(float(a.mesh.bounds[5]) for a in flat))  # type: ignore[union-attr]
        key = (
            self.sun_direction,
            self.sun_up,
            gz,
            self.ground_color if hasattr(self, "ground_color") else GROUND,
            tuple((a.layer.uid, id(a.layer.features)) for a in casters),
            tuple(id(a.actor) for a in flat),
        )
        if key == self._shadow_key:
            return
        self._shadow_key = key
        self._push_back(flat)
        renderer = self.plotter.renderer
        if self._shadow is not None:
            renderer.RemoveActor(self._shadow)
            self._shadow = None
        if not self.sun_up or not casters or ground is None:
            return
        d = np.asarray(self.sun_direction, np.float64)
        pts, tris, offset = [], [], 0
        for a in casters:
            mesh = a.layer.features.mesh
            p = np.asarray(mesh.points, np.float64)
            t = np.asarray(mesh.triangles, np.int64)
            # Along the sun ray down to the ground plane: q = p - d (p_z - g) / d_z.
            h = np.clip(p[:, 2] - gz, 0.0, None) / max(d[2], 0.02)
            q = np.empty_like(p)
            q[:, :2] = p[:, :2] - d[None, :2] * h[:, None]
            q[:, 2] = gz
            pts.append(q)
            tris.append(t + offset)
            offset += len(p)
        poly = pv.PolyData.from_regular_faces(
            np.concatenate(pts).astype(np.float32), np.concatenate(tris)
        )
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(poly)
        mapper.ScalarVisibilityOff()
        # Coplanar with the ground, which is pushed back (update_ground): the shadow wins over
        # the ground and stays under anything lying higher (roads 5 cm up ...).
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.PickableOff()
        actor.SetUseBounds(False)  # framing and the ground ignore it
        prop = actor.GetProperty()
        ground_rgb = np.array(hex_to_rgb(key[3])) * np.array(SHADOW_FACTOR)
        prop.SetColor(*ground_rgb)
        prop.LightingOff()
        prop.SetOpacity(ground.GetProperty().GetOpacity())
        renderer.AddActor(actor)
        self._shadow = actor

    def _push_back(self, flat: list[Adapter[Any]]) -> None:
        """Push the flat layers back in depth (shadows on) or leave them as drawn (off)."""
        for a in self.adapters.values():
            if isinstance(a.layer, (GroundLayer, AreaLayer)) and a.actor is not None:
                mapper = a.actor.GetMapper()
                mapper.SetResolveCoincidentTopologyToPolygonOffset()
                on = self.shadows and a in flat
                mapper.SetRelativeCoincidentTopologyPolygonOffsetParameters(
                    1.0 if on else 0.0, 4.0 if on else 0.0
                )

    def set_shadows(self, on: bool) -> None:
        """Buildings cast shadows on the ground from the sun (:meth:`set_sun`); the sun lights
        the scene from its direction. Below the horizon: no shadows, a note says so, and
        the scene stays lit by fill and ambient light.

        The shadow is the buildings' meshes projected along the sun onto the ground plane
        (one numpy projection when the sun moves), drawn in the ground colour times
        :data:`SHADOW_FACTOR`; lit ground keeps its colour. This replaces VTK's shadow-map
        pass, which needs lit shaders on every actor, blurs at city scale and drew black
        outside its light cone (issue 10).
        """
        self.shadows = bool(on)
        if on:
            self._shadow_key = ()
            self._apply_shadow_lights()
        else:
            if self._shadow is not None:
                self.plotter.renderer.RemoveActor(self._shadow)
                self._shadow = None
            self._shadow_key = ()
            self._push_back([])
            self.shadow_note.SetVisibility(False)
            self._setup_lights()
            for a in self.adapters.values():
                if a.actor is not None:
                    a.actor.GetProperty().SetAmbient(0.25)
        self.request_render()

    def set_ssao(self, on: bool) -> None:
        """Screen-space ambient occlusion: darker creases where walls meet the ground."""
        if on:
            self.plotter.enable_ssao(radius=8.0, bias=0.3, kernel_size=64)
        else:
            self.plotter.disable_ssao()
        self.request_render()

    def set_dark(self, dark: bool) -> None:
        """Night-blue sky, light overlay and legend text on dark panels for the dark theme;
        day sky and dark text on light panels otherwise."""
        self.dark = bool(dark)
        self.ground_color = GROUND_DARK if dark else GROUND
        if self._ground is not None:
            self._ground.GetProperty().SetColor(*hex_to_rgb(self.ground_color))
        if dark:
            self.plotter.set_background("#2b3442", top="#0f1724")
        else:
            self.plotter.set_background(SKY_BOTTOM, top=SKY_TOP)
        fg = (0.92, 0.92, 0.92) if dark else (0.1, 0.1, 0.1)
        o = self.overlays
        for a in (o.bar, o.arrow):
            a.GetProperty().SetColor(*fg)
        for t in (o.bar_text, o.north_text, self.shadow_note):
            t.GetTextProperty().SetColor(*fg)
        for panel in [*self.legends, *([self._legend_note] if self._legend_note else [])]:
            panel.set_dark(self.dark)
        self.request_render()

    def _aspect(self) -> float:
        w, h = self.plotter.window_size
        return float(max(w, 1)) / float(max(h, 1))

    def set_view(self, view: str = "oblique", azimuth_deg: float = 0.0) -> None:
        """Frame the data from a preset.

        ``oblique``: from the south (rotated by `azimuth_deg`, clockwise from north), 35 degrees
        down; ``top``: straight down, north up; ``street``: eye height 1.7 m at the southern
        edge looking north across the data.
        """
        b = self.view_bounds()
        if b is None:
            return
        cam = self.plotter.camera
        cx, cy = (b[0] + b[1]) / 2, (b[2] + b[3]) / 2
        cz = b[4]
        dx, dy = b[1] - b[0], b[3] - b[2]
        radius = max(math.hypot(dx, dy) / 2, 20.0)
        az = math.radians(azimuth_deg)
        # Direction from focal point to the camera, horizontal part (south = azimuth 0 looking north).
        hx, hy = -math.sin(az), -math.cos(az)
        cam.SetParallelProjection(False)
        fov = 30.0
        cam.SetViewAngle(fov)
        if view == "top":
            aspect = self._aspect()
            half = max(dy / 2, dx / 2 / aspect, 10.0)
            dist = half / math.tan(math.radians(fov / 2)) * 1.08
            cam.SetFocalPoint(cx, cy, cz)
            # Measured from the tallest roof, so tall buildings near the edge stay in view.
            cam.SetPosition(cx, cy, b[5] + dist)
            cam.SetViewUp(-hx, -hy, 0.0)
        elif view == "street":
            eye = (cx + hx * (dy / 2 + 10.0), cy + hy * (dy / 2 + 10.0), cz + 1.7)
            cam.SetPosition(*eye)
            cam.SetFocalPoint(cx, cy, cz + 1.7 + radius * 0.05)
            cam.SetViewUp(0, 0, 1)
            cam.SetViewAngle(60.0)
        else:
            elev = math.radians(35.0)
            aspect = self._aspect()
            # Seen 35 degrees down, the ground's depth shrinks by sin(35); width does not.
            half = max(
                0.5 * (abs(hx) * dx + abs(hy) * dy) * 0.9,
                0.5 * (abs(hy) * dx + abs(hx) * dy) / aspect,
                10.0,
            )
            dist = half / math.tan(math.radians(fov / 2)) * 1.1
            top = b[5]
            fz = cz + 0.15 * (top - cz)
            cam.SetFocalPoint(cx, cy, fz)
            cam.SetPosition(
                cx + hx * dist * math.cos(elev),
                cy + hy * dist * math.cos(elev),
                fz + dist * math.sin(elev),
            )
            cam.SetViewUp(0, 0, 1)
        self.plotter.renderer.ResetCameraClippingRange()
        self.plotter.camera_set = True  # pyvista must not reset it on the first render
        self.request_render()
