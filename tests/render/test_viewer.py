"""The viewer binding offscreen: layers, selection, underground mode and the Camera model drive a
Scene; two viewers bound to one Camera move together; replacing features rebuilds the mesh."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import pyvista as pv
from shapely.geometry import Polygon, box
from vtkmodules.vtkRenderingCore import vtkRenderWindowInteractor

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.camera import Camera, CameraPose
from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.model.layers import (
    AreaLayer,
    BuildingLayer,
    FeatureLayer,
    GroundLayer,
    IfcLayer,
    Layer,
)
from twin_app.model.raster import RasterLayer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.render.adapters import FeatureAdapter, GroundAdapter, IfcAdapter
from twin_app.render.colors import hex_to_rgb
from twin_app.render.navigation import Navigator, pose_of
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.raster_adapter import RasterAdapter
from twin_app.render.registry import ADAPTERS, adapter_class
from twin_app.render.scene import GROUND, Scene
from twin_app.render.sensor_adapters import (
    AirQualityAdapter,
    MoverAdapter,
    PipeAdapter,
    TrafficAdapter,
)
from twin_app.render.viewer import Viewer
from twin_app.session import Selection, Session

TOWER_TOP = (30.0, 0.0, 60.0)
LOW_TOP = (-30.0, 0.0, 3.0)
GROUND_RGB = np.array([int(GROUND[i : i + 2], 16) for i in (1, 3, 5)])


def buildings(polygons: list[Polygon], heights: list[float], name: str = "b") -> FeatureSet:
    """A building feature set from footprints and heights."""
    geoms = np.array(polygons, dtype=object)
    h = np.asarray(heights, np.float64)
    mesh = extrude(polygon_arrays(geoms), h)
    ids = [f"b{i}" for i in range(len(polygons))]
    table = pd.DataFrame({"id": ids, "height_m": h, "height_source": ["height"] * len(ids)})
    return FeatureSet(name, BUILDINGS, "test", table["id"].to_numpy(object), table, mesh)


@pytest.fixture
def plotters() -> Iterator[list[pv.Plotter]]:
    made = [offscreen_plotter(320, 240, aa="off") for _ in range(2)]
    yield made
    for p in made:
        p.close()


@pytest.fixture
def session(two_buildings: FeatureSet) -> Session:
    s = Session()
    s.layers.append(BuildingLayer(name="b", features=two_buildings))
    return s


def pixel(viewer: Viewer, xyz: tuple[float, float, float]) -> np.ndarray[Any, Any]:
    """RGB where a world point projects, after a fresh render."""
    img = viewer.scene.screenshot()
    r = viewer.scene.plotter.renderer
    r.SetWorldPoint(*xyz, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    return img[round(img.shape[0] - 1 - y), round(x)].astype(int)


def top_pose() -> CameraPose:
    return CameraPose((0.0, 0.0, 400.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0))


# -------------------------------------------------------------------------- registry
def test_registry_is_one_explicit_table_looked_up_along_the_mro() -> None:
    assert {
        FeatureLayer: FeatureAdapter,
        GroundLayer: GroundAdapter,
        IfcLayer: IfcAdapter,
        TrafficLayer: TrafficAdapter,
        AirQualityLayer: AirQualityAdapter,
        PipeLayer: PipeAdapter,
        MoverLayer: MoverAdapter,
        RasterLayer: RasterAdapter,
    } == ADAPTERS
    assert adapter_class(BuildingLayer) is FeatureAdapter  # through FeatureLayer
    assert adapter_class(GroundLayer) is GroundAdapter
    assert adapter_class(IfcLayer) is IfcAdapter

    class Kiosks(AreaLayer):
        pass

    assert adapter_class(Kiosks(name="k")) is FeatureAdapter
    with pytest.raises(KeyError, match="no render adapter for Layer"):
        adapter_class(Layer(name="bare"))


# -------------------------------------------------------------------------- layers
def test_layers_inserted_removed_and_moved_follow_the_session(
    session: Session, plotters: list[pv.Plotter], two_buildings: FeatureSet
) -> None:
    viewer = Viewer(session, plotters[0])
    building = session.layers[0]
    assert set(viewer.scene.adapters) == {building.uid}
    assert session.camera.pose is not None  # the first layers framed the empty view
    session.camera.set_pose(top_pose())
    assert np.abs(pixel(viewer, TOWER_TOP) - GROUND_RGB).sum() > 100

    changed: list[None] = []
    viewer.layers_changed.connect(lambda: changed.append(None))
    pad = AreaLayer(name="pad", features=buildings([box(-100, -100, 100, 100)], [0.0]))
    session.layers.insert(0, pad)  # below the buildings
    assert set(viewer.scene.adapters) == {building.uid, pad.uid} and len(changed) == 1

    def actor_order() -> list[int]:
        by_actor = {id(a.actor): uid for uid, a in viewer.scene.adapters.items()}
        actors = viewer.scene.plotter.renderer.GetActors()
        actors.InitTraversal()
        seq = [actors.GetNextActor() for _ in range(actors.GetNumberOfItems())]
        return [by_actor[id(a)] for a in seq if id(a) in by_actor]

    assert actor_order() == [pad.uid, building.uid]
    session.layers.move(0, 2)  # the pad to the top
    assert actor_order() == [building.uid, pad.uid]

    session.layers.remove(building)
    assert set(viewer.scene.adapters) == {pad.uid} and len(changed) == 2
    tower = pixel(viewer, TOWER_TOP)
    pad_rgb = np.array(hex_to_rgb(pad.color)) * 255
    assert np.abs(tower - pad_rgb).sum() < 120  # the pad, no tower in front of it
    session.layers.append(building)
    assert building.uid in viewer.scene.adapters
    twin = BuildingLayer(name="b2", features=building.features)
    session.layers[1] = twin  # replaced in place
    assert set(viewer.scene.adapters) == {pad.uid, twin.uid} and len(changed) == 4
    viewer.close()
    assert not viewer.scene.adapters
    session.layers.remove(pad)  # a closed viewer no longer listens
    assert not viewer.scene.adapters


def test_selection_and_underground_mode_drive_the_scene(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    viewer = Viewer(session, plotters[0])
    session.camera.set_pose(top_pose())
    layer = session.layers[0]
    before = pixel(viewer, TOWER_TOP)
    session.select_features(layer, [1])  # the tower
    assert viewer.scene._highlight is not None
    lit = pixel(viewer, TOWER_TOP)
    yellow = np.array(hex_to_rgb(Scene.HIGHLIGHT)) * 255
    assert np.abs(lit - yellow).sum() < np.abs(before - yellow).sum() - 100
    session.select(Selection())
    assert viewer.scene._highlight is None
    assert np.abs(pixel(viewer, TOWER_TOP) - before).sum() < 10
    session.underground = "translucent"
    assert viewer.scene.underground == "translucent"
    assert viewer.scene.plotter.renderer.GetUseDepthPeeling()
    # a viewer made later picks up the session's state as it is
    session.select_features(layer, [0])
    late = Viewer(session, plotters[1])
    assert late.scene.underground == "translucent" and late.scene._highlight is not None


def test_clicks_and_rubber_bands_select_through_the_binding(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    viewer = Viewer(session, plotters[0])
    session.camera.set_pose(top_pose())
    viewer.scene.render()
    r = viewer.scene.plotter.renderer
    r.SetWorldPoint(*TOWER_TOP, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    viewer.click(x, y)
    layer = session.layers[0]
    assert session.selection == Selection(layer.uid, (1,))
    viewer.click(1, 1)  # the sky: nothing
    assert session.selection.empty
    w, h = r.GetSize()
    assert viewer.select_in_rect(viewer.default_active_layer(), 0, 0, w, h) == 2
    assert session.selection.indices == (0, 1)


# -------------------------------------------------------------------------- camera
def test_the_vtk_camera_follows_the_camera_model_and_navigation_writes_into_it(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    viewer = Viewer(session, plotters[0])
    pose = CameraPose((10.0, -300.0, 200.0), (10.0, 0.0, 0.0))
    session.camera.set_pose(pose)
    got = pose_of(viewer.scene.plotter.camera)
    assert got.position == pytest.approx(pose.position)
    assert got.focal_point == pytest.approx(pose.focal_point)
    # a wheel notch on the interactor: the navigator writes the new pose into the model
    iren = vtkRenderWindowInteractor()
    nav = viewer.navigate(iren)
    assert isinstance(nav, Navigator)
    w, h = viewer.scene.plotter.renderer.GetSize()
    iren.SetEventPosition(w // 2, h // 2)
    iren.InvokeEvent("MouseWheelForwardEvent")
    moved = session.camera.pose
    assert moved is not None and moved.position[2] < pose.position[2] - 10  # closer
    assert pose_of(viewer.scene.plotter.camera).position == pytest.approx(moved.position)
    # presets frame the data and land in the model too
    viewer.preset("top")
    top = session.camera.pose
    assert top is not None and top.position[2] > 100 and top.focal_point[2] < 61
    viewer.close()


def test_two_viewers_on_one_camera_move_together_and_draw_the_same(
    session: Session, plotters: list[pv.Plotter]
) -> None:
    a = Viewer(session, plotters[0])
    b = Viewer(session, plotters[1])
    a.navigate(vtkRenderWindowInteractor())
    session.camera.set_pose(CameraPose((-200.0, -250.0, 180.0), (0.0, 0.0, 20.0)))
    before_b = b.scene.screenshot()
    # navigate in view a: the wheel zooms a's camera through the shared model
    assert a.navigator is not None
    w, h = a.scene.plotter.renderer.GetSize()
    a.navigator.interactor.SetEventPosition(w // 2, h // 2)
    a.navigator.interactor.InvokeEvent("MouseWheelForwardEvent")
    pa, pb = pose_of(a.scene.plotter.camera), pose_of(b.scene.plotter.camera)
    assert pb.position == pytest.approx(pa.position)
    assert pb.focal_point == pytest.approx(pa.focal_point)
    img_a, img_b = a.scene.screenshot(), b.scene.screenshot()
    assert np.array_equal(img_a, img_b)
    assert np.abs(img_b.astype(int) - before_b.astype(int)).sum() > 0  # b really moved


def test_compare_view_two_sessions_share_one_camera(
    session: Session, plotters: list[pv.Plotter], two_buildings: FeatureSet
) -> None:
    other = Session()
    other.layers.append(BuildingLayer(name="b", features=two_buildings))
    a = Viewer(session, plotters[0])
    b = Viewer(other, plotters[1], camera=session.camera)
    assert b.camera is session.camera and other.camera.pose is None
    session.camera.set_pose(top_pose())
    assert np.array_equal(a.scene.screenshot(), b.scene.screenshot())
    other.layers[0].visible = False  # the scenario side differs; the camera stays shared
    assert not np.array_equal(a.scene.screenshot(), b.scene.screenshot())


def test_a_fly_to_is_sampled_by_every_view(session: Session, plotters: list[pv.Plotter]) -> None:
    now = [0.0]
    cam = Camera(clock=lambda: now[0])
    a = Viewer(session, plotters[0], camera=cam)
    b = Viewer(session, plotters[1], camera=cam)
    start = cam.pose
    assert start is not None  # framed by the first viewer; the second kept it
    target = CameraPose((0.0, -80.0, 60.0), TOWER_TOP)
    cam.fly_to(target, duration_s=1.0)
    now[0] = 0.5
    cam.animate()
    mid = pose_of(b.scene.plotter.camera)
    assert mid.focal_point != pytest.approx(start.focal_point)
    assert mid.focal_point != pytest.approx(target.focal_point)
    now[0] = 2.0
    assert cam.animate() is False
    for v in (a, b):
        assert pose_of(v.scene.plotter.camera).focal_point == pytest.approx(TOWER_TOP)


# -------------------------------------------------------------------------- rebuild
def test_replacing_features_rebuilds_the_mesh(session: Session, plotters: list[pv.Plotter]) -> None:
    viewer = Viewer(session, plotters[0])
    session.camera.set_pose(top_pose())
    layer = session.layers[0]
    assert isinstance(layer, BuildingLayer)
    adapter = viewer.scene.adapters[layer.uid]
    cells_two = adapter.mesh.n_cells
    tower_before = pixel(viewer, TOWER_TOP)
    session.select_features(layer, [0])
    # fewer: the tower is pulled down, only the low box stays
    layer.features = buildings([Polygon([(-40, -10), (-20, -10), (-20, 10), (-40, 10)])], [3.0])
    assert viewer.scene.adapters[layer.uid] is adapter
    assert 0 < adapter.mesh.n_cells < cells_two
    assert adapter.index.max() == 0
    tower_gone = pixel(viewer, TOWER_TOP)
    assert np.abs(tower_gone - GROUND_RGB).max() < 60
    assert np.abs(tower_gone - tower_before).sum() > 100
    assert viewer.scene._highlight is not None  # the selected box is still highlighted
    # more: three buildings, the new one 80 m tall north of the others
    layer.features = buildings(
        [
            Polygon([(-40, -10), (-20, -10), (-20, 10), (-40, 10)]),
            Polygon([(20, -10), (40, -10), (40, 10), (20, 10)]),
            box(-10, 40, 10, 60),
        ],
        [3.0, 60.0, 80.0],
    )
    assert adapter.mesh.n_cells > cells_two
    assert np.abs(pixel(viewer, TOWER_TOP) - GROUND_RGB).sum() > 100  # the tower is back
    new_top = pixel(viewer, (0.0, 50.0, 80.0))
    assert np.abs(new_top - GROUND_RGB).sum() > 100
    # picking sees the new mesh, not a stale locator of the old one
    r = viewer.scene.plotter.renderer
    r.SetWorldPoint(0.0, 50.0, 80.0, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    hit = viewer.picker.pick(x, y)
    assert hit is not None and hit.feature_index == 2


def test_a_tick_restyles_without_rebuilding(session: Session, plotters: list[pv.Plotter]) -> None:
    viewer = Viewer(session, plotters[0])
    layer = session.layers[0]
    adapter = viewer.scene.adapters[layer.uid]
    rebuilt: list[object] = []
    real = adapter.build
    adapter.build = lambda: (rebuilt.append(None), real())[1]  # type: ignore[method-assign]
    mesh = adapter.mesh
    layer.colormap = "viridis"
    layer.opacity = 0.5
    layer.color_by = "solid"
    assert not rebuilt and adapter.mesh is mesh
    # new features, or rows hidden (buildings an IFC proposal replaces): drawn again
    assert FeatureAdapter.rebuild_fields == ("features", "hidden_features")
    assert "features" not in FeatureAdapter.restyle_fields


# -------------------------------------------------------------------------- bounds
def test_bounds_skip_points_that_are_not_finite(plotters: list[pv.Plotter]) -> None:
    scene = Scene(plotters[0])
    nan = np.nan
    pts = np.array([[0.0, 0.0, 0.0], [nan, nan, nan], [10.0, 5.0, 2.0], [nan, 3.0, 1.0]])
    scene.adapters[1] = SimpleNamespace(  # type: ignore[assignment]
        mesh=pv.PolyData(pts), is_surface=True, defines_ground=True
    )
    assert scene.data_bounds() == (0.0, 10.0, 0.0, 5.0, 0.0, 2.0)
    vb = scene.view_bounds()
    assert vb is not None and np.isfinite(vb).all()
    scene.adapters[1] = SimpleNamespace(  # type: ignore[assignment]
        mesh=pv.PolyData(np.full((2, 3), nan)), is_surface=True, defines_ground=True
    )
    assert scene.data_bounds() is None and scene.view_bounds() is None


def _slope(z0: float, z1: float) -> FeatureSet:
    """A terrain TIN over x -200..200, y -200..200 rising from z0 in the south to z1 north."""
    from twin_app.model.city import TERRAIN, index_array_name
    from twin_app.model.mesh import TriMesh

    pts = np.array([[-200, -200, z0], [200, -200, z0], [200, 200, z1], [-200, 200, z1]], np.float64)
    tris = np.array([[0, 1, 2], [0, 2, 3]], np.int64)
    mesh = TriMesh(pts, tris, {index_array_name(TERRAIN): np.zeros(2, np.int32)})
    table = pd.DataFrame({"id": ["tin"]})
    return FeatureSet("Terrain (test)", TERRAIN, "test", table["id"].to_numpy(object), table, mesh)


def test_street_view_eye_stands_on_the_terrain_or_the_ground(
    plotters: list[pv.Plotter], session: Session
) -> None:
    from twin_app.model.layers import TerrainLayer
    from twin_app.render.viewer import EYE_M

    # without terrain the eye stands on the ground plane (z = 0 here)
    viewer = Viewer(session, plotters[0])
    viewer.preset("street")
    assert session.camera.pose.position[2] == pytest.approx(EYE_M)
    # on a slope from z = 10 (south) to z = 30 (north), the eye is 1.7 m above the terrain
    session.layers.append(TerrainLayer(name="t", features=_slope(10.0, 30.0)))
    viewer.preset("street")
    pose = session.camera.pose
    _, y, z = pose.position
    assert y == pytest.approx(-210.0)  # 10 m south of the data: the terrain's edge counts
    assert z == pytest.approx(10.0 + EYE_M, abs=1e-6)
    walked = viewer.walk(110.0, 0.0)  # north, uphill
    y = walked.position[1]
    assert y == pytest.approx(-100.0)
    assert walked.position[2] == pytest.approx(10.0 + 20.0 * (y + 200) / 400 + EYE_M, abs=1e-6)
    session.camera.set_pose(walked)
    _, y, z = walked.position
    walked = viewer.walk(40.0, 0.0)  # north, uphill: 2 m higher
    assert walked.position[1] == pytest.approx(y + 40.0)
    assert walked.position[2] == pytest.approx(z + 2.0, abs=1e-6)
    assert viewer.ground_z(500.0, 500.0) == pytest.approx(0.0)  # off the terrain: ground plane
    viewer.close()
