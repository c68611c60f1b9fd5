"""The viewer binding: a Scene kept in step with a session's layers, selection and camera.

One binding for every front end: the window's 3D view (a pyvistaqt ``QtInteractor``), the CLI's
offscreen render, video export and each side of a compare view all make a :class:`Viewer` on
their plotter. The Camera model is the truth: navigation writes into it, the VTK camera follows
it, so two viewers bound to one Camera move together. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pyvista as pv
from psygnal import Signal, SignalInstance
from psygnal.containers import EventedList
from vtkmodules.vtkCommonCore import reference
from vtkmodules.vtkCommonDataModel import vtkAbstractCellLocator, vtkCellLocator
from vtkmodules.vtkRenderingCore import vtkRenderWindowInteractor

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.model.camera import Camera, CameraPose, finite_bounds, pose_for_bounds, walk
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import BuildingLayer, FeatureLayer, Layer, TerrainLayer
from twin_app.model.sun import Sun
from twin_app.render.navigation import Navigator, apply_pose, pose_of
from twin_app.render.picking import Picker, project_points
from twin_app.render.scene import Scene
from twin_app.session import Selection

#: Street-level eye height above the ground or terrain, metres.
EYE_M = 1.7
#: How far off a terrain's box the terrain's edge still gives the ground height, metres.
TERRAIN_REACH_M = 50.0
#: Zoom to layer frames the layer's bounding sphere in the view height (no extra margin).
LAYER_MARGIN = 1.0


class ViewSource(Protocol):
    """What a :class:`Viewer` draws and writes: a :class:`~twin_app.session.Session`, or one
    side of a comparison (:class:`~twin_app.session.compare.CompareSide`)."""

    @property
    def layers(self) -> EventedList[Layer]: ...
    @property
    def camera(self) -> Camera: ...
    @property
    def selection(self) -> Selection: ...
    @property
    def selection_changed(self) -> SignalInstance: ...
    @property
    def underground(self) -> str: ...
    @property
    def underground_changed(self) -> SignalInstance: ...
    @property
    def sun(self) -> Sun: ...
    @property
    def frame(self) -> LocalFrame | None: ...
    def update_sun(self, t_ns: int | None = None, force: bool = False) -> None: ...
    def find_layer(self, uid: int) -> Layer | None: ...
    def select(self, selection: Selection) -> None: ...
    def select_features(self, layer: Layer, indices: Any) -> None: ...


class Viewer:
    """Draws a session into a plotter and keeps the two in step.

    Parameters
    ----------
    session
        The session whose layers, selection and underground mode are drawn (or anything else
        that offers them: one side of a comparison, see :class:`ViewSource`).
    plotter
        Any ``pv.BasePlotter``: ``pv.Plotter(off_screen=True)`` or a ``QtInteractor``.
    camera
        The Camera model to show and write; default the session's own (pass another
        session's camera to move two views of two sessions together).
    schedule
        Called when a render is wanted (the host coalesces; see :class:`Scene`); None renders
        on demand only (offscreen: :meth:`Scene.screenshot`).

    Signals
    -------
    layers_changed()
        A layer was added, removed or rebuilt (hosts rebuild pick locators after a frame).
    """

    layers_changed = Signal()

    def __init__(
        self,
        session: ViewSource,
        plotter: pv.BasePlotter,
        camera: Camera | None = None,
        schedule: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.camera = camera if camera is not None else session.camera
        self.scene = Scene(plotter, schedule=schedule)
        self.picker = Picker(self.scene)
        self.navigator: Navigator | None = None
        self._locators: dict[tuple[int, int], vtkAbstractCellLocator] = {}
        events = session.layers.events
        self._connections: list[tuple[Any, Callable[..., Any]]] = [
            (events.inserted, self._on_layer_inserted),
            (events.removed, self._on_layer_removed),
            (events.moved, self._on_layer_moved),
            (events.changed, self._on_layer_replaced),
            (session.selection_changed, self._on_selection_changed),
            (session.underground_changed, self.scene.set_underground),
            (self.camera.events.pose, self._on_pose_change),
            (session.sun.events.azimuth_deg, self._on_sun_change),
            (session.sun.events.elevation_deg, self._on_sun_change),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)
        for layer in session.layers:
            self.scene.add_layer(layer)
        session.update_sun()
        self._on_sun_change()
        if session.underground != "off":
            self.scene.set_underground(session.underground)
        if not session.selection.empty:
            self._on_selection_changed(session.selection)
        if self.camera.pose is not None:
            self._on_pose_change(self.camera.pose)
        elif len(session.layers):
            self.preset("oblique")

    # -- layers ------------------------------------------------------------------------------
    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        self.scene.add_layer(layer)
        if index < len(self.session.layers) - 1:
            self.scene.order_layers(list(self.session.layers))
        if self.camera.pose is None:  # the first layer of an empty view frames it
            self.preset("oblique")
        self.layers_changed.emit()

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        self.scene.remove_layer(layer)
        self.layers_changed.emit()

    def _on_layer_moved(self, *_: Any) -> None:
        self.scene.order_layers(list(self.session.layers))

    def _on_layer_replaced(self, index: Any, old: Any, new: Any) -> None:
        if not isinstance(index, int):  # a slice assignment: bring the scene in line
            olds, news = list(old), list(new)
        else:
            olds, news = [old], [new]
        for layer in olds:
            self.scene.remove_layer(layer)
        for layer in news:
            self.scene.add_layer(layer)
        self.scene.order_layers(list(self.session.layers))
        self.layers_changed.emit()

    # -- sun ---------------------------------------------------------------------------------
    def _on_sun_change(self, *_: Any) -> None:
        sun = self.session.sun
        if not sun.known:
            return
        import datetime as dt

        when = dt.datetime.fromtimestamp(sun.time_ns / 1e9, tz=dt.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"
        )
        self.scene.set_sun(sun.direction, sun.above_horizon, when)

    # -- selection -----------------------------------------------------------------------------
    def _on_selection_changed(self, sel: Selection) -> None:
        self.scene.highlight(sel.layer_uid, list(sel.indices))

    def click(self, x: float, y: float, extend: bool = False) -> None:
        """Select what is under display pixel (x, y) (VTK coordinates, origin bottom left).

        With `extend` the feature toggles in the selection of its layer; a click on nothing
        clears the selection unless extending.
        """
        session = self.session
        hit = self.picker.pick(x, y)
        if hit is None:
            if not extend:
                session.select(Selection())
            return
        layer = session.find_layer(hit.layer_uid)
        if layer is None:
            return
        sel = session.selection
        if extend and sel.layer_uid == layer.uid:
            session.select_features(layer, sorted(set(sel.indices) ^ {hit.feature_index}))
        else:
            session.select_features(layer, [hit.feature_index])

    def select_in_rect(
        self, layer: Layer | None, x0: float, y0: float, x1: float, y1: float
    ) -> int:
        """Select the features of `layer` whose centre projects inside a pixel rectangle.

        One projection of all feature centres (numpy), no per-feature picking. Returns the count.
        """
        if not isinstance(layer, FeatureLayer) or layer.features is None:
            return 0
        centres = layer.features.feature_centroids()
        ok = np.isfinite(centres).all(axis=1)
        px = project_points(self.scene.plotter.renderer, np.nan_to_num(centres))
        inside = (
            ok
            & (px[:, 2] > 0)
            & (px[:, 0] >= x0)
            & (px[:, 0] <= x1)
            & (px[:, 1] >= y0)
            & (px[:, 1] <= y1)
        )
        idx = np.flatnonzero(inside)
        self.session.select_features(layer, idx)
        return int(idx.size)

    def default_active_layer(self) -> Layer | None:
        """The topmost visible building layer (what a rubber band selects by default)."""
        for layer in reversed(self.session.layers):
            if isinstance(layer, BuildingLayer) and layer.visible:
                return layer
        return None

    def lonlat_at(self, x: float, y: float) -> tuple[float, float, float] | None:
        """(lon, lat, z above the frame's datum in m) of the surface under a pixel, or None."""
        frame = self.session.frame
        hit = self.picker.pick(x, y)
        if frame is None or hit is None:
            return None
        ll = frame.to_lonlat(np.array([hit.position[:2]]))[0]
        return (float(ll[0]), float(ll[1]), float(hit.position[2]) + frame.origin[2])

    # -- camera --------------------------------------------------------------------------------
    def _on_pose_change(self, pose: CameraPose | None) -> None:
        if pose is None:
            return
        apply_pose(self.scene.plotter.renderer, pose)
        self.scene.plotter.camera_set = True  # pyvista must not reset it on the first render
        self.scene.request_render()

    def pose(self) -> CameraPose:
        """The pose the VTK camera shows now."""
        return pose_of(self.scene.plotter.camera)

    def preset(self, view: str = "oblique", azimuth_deg: float = 0.0) -> None:
        """Frame the data from a preset (see :meth:`Scene.set_view`) and write it to the camera.

        The street view's eye stands :data:`EYE_M` above the ground or terrain under it (the
        lowest point of all data may be a buried pipe).
        """
        self.scene.set_view(view, azimuth_deg=azimuth_deg)
        if self.scene.view_bounds() is None:
            return
        pose = self.pose()
        if view == "street":
            pose = self.at_eye_height(pose)
        self.camera.set_pose(pose)

    def ground_z(self, x: float, y: float) -> float:
        """Height of the ground at (x, y): the terrain under it, else the ground plane.

        The ground plane lies at the lowest surface geometry (buildings, roads; not pipes).
        """
        for adapter in self.scene.adapters.values():
            if not isinstance(adapter.layer, TerrainLayer) or not adapter.layer.visible:
                continue
            mesh = adapter.mesh
            if mesh is None or not mesh.n_cells:
                continue
            b = mesh.bounds
            # just off the terrain's edge (the street view starts 10 m outside the data) the
            # edge's height stands for the ground
            px = min(max(x, b[0] + 1e-6), b[1] - 1e-6)
            py = min(max(y, b[2] + 1e-6), b[3] - 1e-6)
            if abs(px - x) + abs(py - y) > TERRAIN_REACH_M:
                continue
            locator = self._terrain_locator(mesh)
            hit = [0.0, 0.0, 0.0]
            t, pc = reference(0.0), [0.0, 0.0, 0.0]
            sub = reference(0)
            found = locator.IntersectWithLine(
                (px, py, b[5] + 10.0), (px, py, b[4] - 10.0), 1e-6, t, hit, pc, sub
            )
            if found and np.isfinite(hit).all():
                return float(hit[2])
        box = self.scene.data_bounds(surface_only=True) or self.scene.data_bounds()
        return float(box[4]) if box is not None else 0.0

    def _terrain_locator(self, mesh: pv.DataSet) -> vtkAbstractCellLocator:
        key = (id(mesh), mesh.GetMTime())
        cached = self._locators.get(key)
        if cached is None:
            cached = vtkCellLocator()
            cached.SetDataSet(mesh)
            cached.BuildLocator()
            self._locators = {key: cached}
        return cached

    def at_eye_height(self, pose: CameraPose, eye_m: float = EYE_M) -> CameraPose:
        """`pose` raised or lowered (with its focal point) to `eye_m` above the ground under it."""
        x, y, _ = pose.position
        return walk(pose, 0.0, 0.0, 0.0, eye_height_m=self.ground_z(x, y) + eye_m)

    def walk(
        self, forward_m: float, right_m: float, turn_deg: float = 0.0, eye_m: float = EYE_M
    ) -> CameraPose:
        """The current pose walked (see :func:`~twin_app.model.camera.walk`), eye at `eye_m`
        above the ground or terrain at the new place."""
        return self.at_eye_height(walk(self.pose(), forward_m, right_m, turn_deg), eye_m)

    def layer_bounds(self, layer: Layer) -> tuple[float, float, float, float, float, float] | None:
        """Box of the finite points a layer draws (None: nothing drawn, or not in this view)."""
        adapter = self.scene.adapters.get(layer.uid)
        mesh = adapter.mesh if adapter is not None else None
        if mesh is None or not mesh.n_points:
            return None
        return finite_bounds(np.asarray(mesh.points))

    def zoom_to_layer(self, layer: Layer) -> bool:
        """Fly to frame everything a layer draws; False when it draws nothing to frame."""
        b = self.layer_bounds(layer)
        if b is None:
            return False
        self.camera.fly_to(pose_for_bounds(b, margin=LAYER_MARGIN))
        return True

    def fly_to_point(self, x: float, y: float) -> None:
        """Fly to the surface point under a pixel, 40 % closer, looking the same way."""
        p = self.picker.world_point(x, y)
        if p is None:
            return
        pose = self.pose()
        offset = np.subtract(pose.position, pose.focal_point) * 0.6
        pos = np.add(p, offset)
        self.camera.fly_to(
            CameraPose(
                (float(pos[0]), float(pos[1]), float(pos[2])),
                p,
                pose.view_up,
                pose.view_angle_deg,
            )
        )

    def navigate(self, interactor: vtkRenderWindowInteractor) -> Navigator:
        """Install mouse navigation on an interactor; the poses it makes go to the camera."""
        nav = Navigator(self.scene, interactor, self.picker)
        nav.on_pose = self.camera.set_pose
        self.navigator = nav
        return nav

    # -- end -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Disconnect from the session and the camera and take every layer off the scene."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections.clear()
        if self.navigator is not None:
            self.navigator.remove()
            self.navigator = None
        for layer in list(self.session.layers):
            self.scene.remove_layer(layer)
