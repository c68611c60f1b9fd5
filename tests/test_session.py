"""Session edits are undoable; session files round-trip and refuse bad or newer files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from twin_app.errors import SessionFileError, TwinError
from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.io.load import LoadResult
from twin_app.io.session_file import read_session
from twin_app.model.camera import CameraPose
from twin_app.model.city import BUILDINGS, ROADS, CityModel, FeatureSet
from twin_app.model.frame import LocalFrame
from twin_app.session import Selection, Session


def _result() -> LoadResult:
    geoms = np.array([Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])], dtype=object)
    mesh = extrude(polygon_arrays(geoms), np.array([10.0]))
    table = pd.DataFrame({"id": ["a"], "height_m": [10.0]})
    b = FeatureSet("Buildings (x)", BUILDINGS, "x", np.array(["a"], object), table, mesh)
    r = FeatureSet("Roads (x)", ROADS, "x", np.array(["a"], object), table.copy(), mesh)
    from pyproj import CRS

    frame = LocalFrame(CRS.from_epsg(28992).to_wkt(), (85000.0, 447000.0, 0.0))
    return LoadResult(CityModel(frame, [b, r]), [])


def test_add_remove_move_and_style_are_undoable() -> None:
    s = Session()
    layers = s.add_result(_result())
    assert [layer.name for layer in s.layers] == ["Buildings (x)", "Roads (x)"]
    s.move_layer(layers[0], 1)
    assert [layer.name for layer in s.layers] == ["Roads (x)", "Buildings (x)"]
    s.set_style(layers[0], opacity=0.5)
    s.set_style(layers[0], opacity=0.4)  # merges with the previous step
    s.remove_layer(layers[1])
    assert len(s.layers) == 1
    assert s.commands.undo_text == "Remove Roads (x)"
    s.commands.undo()
    assert [layer.name for layer in s.layers] == ["Roads (x)", "Buildings (x)"]
    s.commands.undo()
    assert layers[0].opacity == 1.0  # one undo reverts the whole slider drag
    s.commands.undo()
    assert [layer.name for layer in s.layers] == ["Buildings (x)", "Roads (x)"]
    s.commands.undo()
    assert len(s.layers) == 0 and s.city is not None and s.city.sets == []
    s.commands.redo()
    assert len(s.layers) == 2
    with pytest.raises(TwinError, match="unknown style"):
        s.set_style(layers[0], thickness=3)


def test_bookmarks_and_selection() -> None:
    s = Session()
    layers = s.add_result(_result())
    pose = CameraPose((0, -100, 50), (0, 0, 0))
    s.add_bookmark("Station", pose)
    s.camera.set_pose(CameraPose((500, 0, 300), (400, 0, 0)))
    flown: list[CameraPose] = []
    s.camera.events.flight.connect(lambda f: flown.append(f.end) if f is not None else None)
    s.go_to_bookmark("Station")
    assert flown == [pose]
    assert s.camera.animate(s.camera.clock() + 10.0) is False
    assert s.camera.pose == pose and not s.camera.flying
    s.commands.undo()
    assert len(s.bookmarks) == 0
    seen: list[Selection] = []
    s.selection_changed.connect(seen.append)
    s.select_features(layers[0], [0, 0])
    assert seen == [Selection(layers[0].uid, (0,))]
    s.remove_layer(layers[0])
    assert s.selection.empty  # removing the layer clears its selection


def test_rename_bookmark_replaces_it_in_place_and_undoes() -> None:
    s = Session()
    pose = CameraPose((0, -100, 50), (0, 0, 0))
    s.add_bookmark("A", pose)
    s.add_bookmark("B", CameraPose((0, -200, 50), (0, 0, 0)))
    changed: list[tuple[object, ...]] = []
    s.bookmarks.events.changed.connect(lambda *a: changed.append(a))
    s.rename_bookmark("A", " Bank ")
    assert [b.name for b in s.bookmarks] == ["Bank", "B"] and s.bookmarks[0].pose == pose
    assert len(changed) == 1  # replaced in place: listeners see one change at index 0
    with pytest.raises(TwinError, match="exists already"):
        s.rename_bookmark("Bank", "B")
    with pytest.raises(TwinError, match="no bookmark named"):
        s.rename_bookmark("A", "C")
    with pytest.raises(TwinError, match="needs a name"):
        s.rename_bookmark("Bank", "  ")
    assert s.commands.undo_text == "Rename bookmark A to Bank"
    s.commands.undo()
    assert [b.name for b in s.bookmarks] == ["A", "B"]
    s.commands.redo()
    assert [b.name for b in s.bookmarks] == ["Bank", "B"]


def test_session_file_round_trip(tmp_path: Path) -> None:
    s = Session()
    layers = s.add_result(_result())
    s.set_style(layers[0], color_by="surface", opacity=0.7, clim=(0.0, 30.0))
    s.remove_layer(layers[1])
    s.camera.set_pose(CameraPose((1.5, -200.25, 80.0), (3.0, 4.0, 0.0), view_angle_deg=40.0))
    s.add_bookmark("Tower", CameraPose((10, 10, 10), (0, 0, 0)))
    s.underground = "translucent"
    path = s.save(tmp_path / "plan.twin.toml")
    assert s.commands.is_clean
    data = read_session(path)
    # a second session built from the same sources gets the styles, order, camera back
    t = Session()
    t.add_result(_result())
    jumps: list[CameraPose] = []
    t.camera.events.pose.connect(jumps.append)
    warnings = t.apply_file(data)
    assert warnings == []
    assert [layer.name for layer in t.layers] == ["Buildings (x)"]
    assert (
        t.layers[0].color_by == "surface"
        and t.layers[0].opacity == 0.7
        and t.layers[0].clim == (0.0, 30.0)
    )
    assert jumps == [s.camera.pose]
    assert [b.name for b in t.bookmarks] == ["Tower"] and t.underground == "translucent"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("schema_version = 99\n", "newer twin_app"),
        (
            "schema_version = 1\n[camera]\nposition = [0, 0]\nfocal_point = [0, 0, 0]\n",
            "camera.position",
        ),
        (
            "schema_version = 1\nlayers = [{name = 'a', kind = 'buildings', style = {opacity = 7}}]\n",
            "opacity",
        ),
        ("this is = = not toml", "not a valid session file"),
        ("title = 'x'\n", "schema_version"),
    ],
)
def test_bad_session_files_give_one_line_and_are_not_touched(
    tmp_path: Path, text: str, match: str
) -> None:
    p = tmp_path / "bad.twin.toml"
    p.write_text(text)
    before = p.read_bytes()
    with pytest.raises(SessionFileError, match=match) as err:
        read_session(p)
    assert "\n" not in str(err.value) and "bad.twin.toml" in str(err.value)
    assert p.read_bytes() == before


def test_save_is_atomic_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Session()
    s.add_result(_result())
    path = s.save(tmp_path / "keep.twin.toml")
    good = path.read_bytes()
    import os

    def boom(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    s.underground = "cutaway"
    with pytest.raises(SessionFileError, match="previous file is unchanged"):
        s.save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["keep.twin.toml"]  # no temp file left behind


def test_the_camera_follows_a_mover_each_tick_until_its_layer_goes() -> None:
    from twin_app.model.sensors import MoverLayer

    s = Session()
    buses = MoverLayer(
        name="buses",
        mover_ids=np.array(["a", "b"], object),
        positions=np.array([[0.0, 0.0, 0.0], [50.0, 60.0, 0.0]]),
        valid=np.array([True, True]),
    )
    s.layers.append(buses)
    start = CameraPose((0.0, -100.0, 100.0), (0.0, 0.0, 0.0))
    s.camera.set_pose(start)
    s.camera.follow_mover(buses.uid, 1)
    s.clock.seek(10**9)  # a tick: layers update, then the camera pans onto the mover
    assert s.camera.pose is not None and s.camera.pose.focal_point == (50.0, 60.0, 0.0)
    assert s.camera.pose.position == pytest.approx((50.0, -40.0, 100.0))
    buses.valid = np.array([True, False])  # off service: the camera waits where it is
    buses.positions = np.array([[0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]])
    s.clock.seek(2 * 10**9)
    assert s.camera.pose.focal_point == (50.0, 60.0, 0.0)
    s.layers.remove(buses)
    assert s.camera.follow is None
    s.clear()
    assert s.camera.pose is None


def test_time_layers_are_found_by_type_and_brought_to_the_clock() -> None:
    from twin_app.feeds.store import SensorStore
    from twin_app.model.layers import TimeLayer
    from twin_app.model.sensors import MoverLayer, TrafficLayer

    s = Session()
    s.add_result(_result())
    t0 = 1_772_409_600 * 1_000_000_000
    t = (np.array([0, 600]) * 1_000_000_000 + t0).astype("datetime64[ns]")
    store, _ = SensorStore.from_long(np.array(["a", "a"], object), t, np.array([30.0, 60.0]))
    traffic = TrafficLayer(
        name="traffic",
        store=store,
        segment_sensor=np.array([0]),
        free_flow=np.array([60.0], np.float32),
        interpolation="last",
    )
    movers = MoverLayer(name="movers")
    s.add_layers([traffic, movers], "Add sensors")
    assert s.time_layers() == [traffic, movers]
    assert all(isinstance(layer, TimeLayer) for layer in s.time_layers())
    assert (s.clock.start_ns, s.clock.end_ns) == (t0, t0 + 600 * 1_000_000_000)
    s.clock.t_ns = t0 + 600 * 1_000_000_000
    assert traffic.time_ns == s.clock.t_ns and traffic.values.tolist() == [1.0]
