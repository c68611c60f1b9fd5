"""Placing things with the session's scenario verbs, headless, on the sample twin: a drawn
footprint becomes an ``add_building`` whose prism the massing model builds where it was drawn;
selected buildings are removed or re-extruded by their ``way/...`` ids; a station picked on a
roof stands on that roof, one picked on the ground is a ground mast; a depot where clicked.
Every edit is one undo step; bad footprints give one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.layers import Layer
from twin_app.scenarios.massing import apply_massing, baseline_massing_model
from twin_app.scenarios.radio import base_stations
from twin_app.session import Selection, Session
from twin_app.session.scenario import ScenarioError
from twin_app.session.scenario_place import GROUND_MAST_M, ROOF_MAST_M

#: A 30 m x 20 m rectangle on the sample twin (local metres), corners anticlockwise.
SQUARE = np.array([[-400.0, 1150.0], [-370.0, 1150.0], [-370.0, 1170.0], [-400.0, 1170.0]])


@pytest.fixture(scope="module")
def session() -> Session:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    return s


def _buildings(session: Session) -> Layer:
    return next(x for x in session.layers if x.kind == "buildings")


def _row(layer: Layer, prefix: str = "way/") -> int:
    """A building with a flat roof and a known height (the 10th way of the layer)."""
    fs = layer.feature_set()
    assert fs is not None
    ids = fs.ids.astype(str)
    return int(np.flatnonzero(np.char.startswith(ids.astype("U"), prefix))[10])


def test_draw_a_building_its_prism_stands_where_drawn(session: Session) -> None:
    session.new_scenario("Tower")
    # drawn with a repeated last click (a double click) and the ring closed
    drawn = np.vstack([SQUARE, SQUARE[-1:], SQUARE[:1]])
    spec = session.add_building_at(drawn, height_m=60.0)
    assert spec.kind == "add_building" and spec.height_m == 60.0 and spec.lonlat is not None
    assert len(spec.lonlat) == 4
    frame = session.frame
    assert frame is not None
    back = frame.lonlat_to_local(*np.asarray(spec.lonlat).T)[:, :2]
    np.testing.assert_allclose(back, SQUARE, atol=1e-6)
    assert session.scenario.interventions == (spec,)
    assert session.commands.undo_text == "Add add_building"

    base = baseline_massing_model(session.scenario)
    scen = apply_massing(session.scenario, base)
    assert scen.n_buildings == base.n_buildings + 1
    assert scen.building_ids[-1] == "new/0"
    bidx = np.asarray(scen.mesh.cell_data["building_index"])
    pts = scen.mesh.points[scen.mesh.triangles[bidx == scen.n_buildings - 1]].reshape(-1, 3)
    np.testing.assert_allclose(pts[:, :2].min(axis=0), SQUARE.min(axis=0), atol=1e-6)
    np.testing.assert_allclose(pts[:, :2].max(axis=0), SQUARE.max(axis=0), atol=1e-6)
    assert pts[:, 2].max() - base.ground_z == pytest.approx(60.0)

    session.commands.undo()
    assert session.scenario.interventions == ()
    session.commands.redo()
    assert session.scenario.interventions == (spec,)

    floors = session.add_building_at(SQUARE + 100.0, floors=12, storey_m=3.5)
    assert floors.floors == 12 and floors.height == pytest.approx(42.0)


@pytest.mark.parametrize(
    ("footprint", "kw", "words"),
    [
        (SQUARE[[0, 2, 1, 3]], {"height_m": 10.0}, "crosses itself"),  # a bow tie
        (SQUARE[:2], {"height_m": 10.0}, "at least 3 distinct corners"),
        (np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), {"height_m": 10.0}, "no area"),
        (np.array([[0.0, 0.0], [np.nan, 1.0], [2.0, 0.0]]), {"height_m": 10.0}, "finite"),
        (SQUARE, {}, "height in metres or a number of floors"),
        (SQUARE, {"height_m": 10.0, "floors": 3}, "height in metres or a number of floors"),
        (SQUARE, {"height_m": -5.0}, "(0, 2000]"),
    ],
)
def test_bad_footprints_give_one_line(
    session: Session, footprint: np.ndarray, kw: dict[str, float], words: str
) -> None:
    session.new_scenario("Bad")
    with pytest.raises(ScenarioError, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        session.add_building_at(footprint, **kw)  # type: ignore[arg-type]
    assert "\n" not in str(e.value)
    assert session.scenario.interventions == ()


def test_remove_and_raise_selected_buildings(session: Session) -> None:
    session.new_scenario("Massing")
    layer = _buildings(session)
    row = _row(layer)
    fs = layer.feature_set()
    assert fs is not None
    bid = str(fs.ids[row])
    assert bid.startswith("way/")
    rm = session.remove_buildings_at(Selection(layer.uid, (row, row)))
    assert rm.buildings == (bid,)
    other = _row(layer, "relation/")
    oid = str(fs.ids[other])
    sh = session.set_height_at(Selection(layer.uid, (other,)), 80.0)
    assert sh.buildings == (oid,) and sh.height_m == 80.0
    assert session.scenario.interventions == (rm, sh)

    base = baseline_massing_model(session.scenario)
    scen = apply_massing(session.scenario, base)
    i, j = base.building_index()[bid], base.building_index()[oid]
    bidx = np.asarray(scen.mesh.cell_data["building_index"])
    assert not (bidx == i).any()  # demolished
    top = scen.mesh.points[scen.mesh.triangles[bidx == j]][:, :, 2].max()
    assert top - scen.ground_z == pytest.approx(80.0)

    with pytest.raises(ScenarioError, match="select buildings"):
        session.set_height_at(Selection(), 10.0)
    roads = next(x for x in session.layers if x.kind == "roads")
    with pytest.raises(ScenarioError, match="select buildings"):
        session.remove_buildings_at(Selection(roads.uid, (0,)))
    with pytest.raises(ScenarioError, match=r"\(0, 2000\]"):
        session.set_height_at(Selection(layer.uid, (row,)), 0.0)


def test_station_on_a_roof_and_on_the_ground(session: Session) -> None:
    session.new_scenario("5G")
    layer = _buildings(session)
    row = _row(layer)
    fs = layer.feature_set()
    assert fs is not None
    bid = str(fs.ids[row])
    base = baseline_massing_model(session.scenario)
    roof_xy = fs.feature_centroids()[row, :2]
    roof = session.add_station_at((*roof_xy, 20.0), on=Selection(layer.uid, (row,)))
    assert roof.id == "s1" and roof.on_roof == bid and roof.mast_m == ROOF_MAST_M
    assert roof.height_m is None
    ground = session.add_station_at((-380.0, 1160.0, 0.0), on=None, tx_power_dbm=40.0)
    assert ground.id == "s2" and ground.on_roof is None and ground.height_m == GROUND_MAST_M
    assert ground.tx_power_dbm == 40.0
    roads = next(x for x in session.layers if x.kind == "roads")
    third = session.add_station_at((-300.0, 1100.0, 0.3), on=Selection(roads.uid, (0,)))
    assert third.id == "s3" and third.on_roof is None  # a road is the ground

    # the engine's placement: on the roof at roof height + mast, at the clicked x, y
    stations = base_stations((roof, ground), base, "test")
    roof_h = base.mesh.points[
        base.mesh.triangles[np.asarray(base.mesh.cell_data["building_index"])
                            == base.building_index()[bid]]
    ][:, :, 2].max() - base.ground_z  # fmt: skip
    assert stations[0].height_m == pytest.approx(roof_h + ROOF_MAST_M)
    assert (stations[0].x_m, stations[0].y_m) == pytest.approx(tuple(roof_xy), abs=1e-6)
    assert stations[1].height_m == GROUND_MAST_M
    assert (stations[1].x_m, stations[1].y_m) == pytest.approx((-380.0, 1160.0), abs=1e-6)

    with pytest.raises(ScenarioError, match="already in the scenario"):
        session.add_station_at((0.0, 0.0, 0.0), station_id="s1")
    with pytest.raises(ScenarioError, match="finite"):
        session.add_station_at((np.nan, 0.0, 0.0))
    session.commands.undo()
    assert [s.id for s in session.scenario.interventions] == ["s1", "s2"]


def test_robots_at_a_clicked_depot(session: Session) -> None:
    session.new_scenario("Robots")
    spec = session.add_robots_at((-380.0, 1160.0, 0.0), count=4)
    assert spec.count == 4 and spec.depot is not None
    frame = session.frame
    assert frame is not None
    back = frame.lonlat_to_local(np.array([spec.depot[0]]), np.array([spec.depot[1]]))[0, :2]
    np.testing.assert_allclose(back, (-380.0, 1160.0), atol=1e-6)
    with pytest.raises(ScenarioError, match="1 to 10000"):
        session.add_robots_at((0.0, 0.0, 0.0), count=0)


def _ifc_body_points(session: Session) -> np.ndarray:
    from twin_app.model.bim import IFC_CLASSES

    ifc = next(x for x in session.layers if x.kind == "ifc")
    mesh = ifc.feature_set().mesh  # type: ignore[union-attr]
    code = np.asarray(mesh.cell_data["ifc_class_code"])
    body = ~np.isin(code, [IFC_CLASSES.index("IfcSite"), IFC_CLASSES.index("IfcSpace")])
    return mesh.points[mesh.triangles[body]]  # (m, 3, 3)


def test_an_ifc_model_proposed_as_a_building_is_its_own_body(
    session: Session, tmp_path: Path
) -> None:
    from twin_app.errors import InputError
    from twin_app.io.manifest import read_manifest
    from twin_app.scenarios.file import SetHeight, load_scenario, save_scenario

    session.new_scenario("IFC proposal")
    ifc = next(x for x in session.layers if x.kind == "ifc")
    spec = session.add_building_from_ifc(ifc)
    placed = next(s for s in read_manifest(SAMPLE_DIR).sources if s.kind == "ifc")
    assert spec.kind == "add_ifc" and spec.ifc == (SAMPLE_DIR / placed.path).resolve()
    assert spec.at == pytest.approx(placed.at) and spec.rotate_deg == placed.rotate_deg

    base = baseline_massing_model(session.scenario)
    scen = apply_massing(session.scenario, base)
    assert scen.n_buildings == base.n_buildings + 1 and scen.bodies == (base.n_buildings,)
    bidx = np.asarray(scen.mesh.cell_data["building_index"])
    new = scen.mesh.points[scen.mesh.triangles[bidx == base.n_buildings]]
    # the very triangles the session draws, where it draws them (not a prism of their outline)
    shown = _ifc_body_points(session)
    assert new.shape == shown.shape
    np.testing.assert_allclose(
        np.sort(new.reshape(-1, 3), axis=0), np.sort(shown.reshape(-1, 3), axis=0), atol=1e-6
    )
    nrm = np.cross(new[:, 1] - new[:, 0], new[:, 2] - new[:, 0])
    nz = nrm[:, 2] / np.maximum(np.linalg.norm(nrm, axis=1), 1e-12)
    assert ((np.abs(nz) > 0.3) & (np.abs(nz) < 0.95)).sum() >= 4  # the FZK-Haus's pitched roof

    # a rooftop station on the proposal stands on its ridge (the house has no flat top)
    from twin_app.scenarios.radio import StationSpec

    (mast,) = base_stations((StationSpec(id="s", on_roof="new/0", mast_m=3.0),), scen, "t")
    ridge = new.reshape(-1, 3)[:, 2].max()
    assert mast.height_m == pytest.approx(ridge - scen.ground_z + 3.0)
    lo, hi = new.reshape(-1, 3)[:, :2].min(axis=0), new.reshape(-1, 3)[:, :2].max(axis=0)
    assert (lo < (mast.x_m, mast.y_m)).all() and ((mast.x_m, mast.y_m) < hi).all()

    # saved and read back: the file names the IFC relative to itself, the same scenario
    saved = save_scenario(session.scenario, tmp_path / "scen" / "proposal.toml")
    assert saved.file is not None
    rel = os.path.relpath(spec.ifc, saved.file.parent)
    assert f'ifc = "{Path(rel).as_posix()}"' in saved.file.read_text()
    assert load_scenario(saved.file) == saved

    # its height is the model's: set_height names it and says why
    tall = session.scenario.model_copy(
        update={"interventions": (spec, SetHeight(buildings=("new/0",), height_m=30.0))}
    )
    with pytest.raises(InputError, match=r"interventions\[1\]\.buildings': new/0 is an IFC"):
        apply_massing(tall, base)
    roads = next(x for x in session.layers if x.kind == "roads")
    with pytest.raises(ScenarioError, match="not an IFC model"):
        session.add_building_from_ifc(roads)


def test_an_ifc_proposal_casts_the_shadow_of_its_roof_not_of_a_box(session: Session) -> None:
    import datetime as dt

    import shapely

    from twin_app.engines.sunhours import (
        Occluder,
        add_buildings,
        ground_receptors,
        shadow_mask,
        solar_noon,
    )
    from twin_app.model.mesh import TriMesh

    session.new_scenario("IFC shadow")
    session.add_building_from_ifc(next(x for x in session.layers if x.kind == "ifc"))
    base = baseline_massing_model(session.scenario)
    scen = apply_massing(session.scenario, base)
    mine = np.asarray(scen.mesh.cell_data["building_index"]) == base.n_buildings
    body = TriMesh(scen.mesh.points, scen.mesh.triangles[mine], {})
    pts = scen.mesh.points[body.triangles].reshape(-1, 3)
    hull = shapely.MultiPoint(pts[:, :2]).convex_hull
    # the stand-in the proposal used to be: its plan's hull up to its ridge
    box = add_buildings(TriMesh.empty(), [hull], float(pts[:, 2].max()) - base.ground_z)
    x0, y0, x1, y1 = hull.buffer(40.0).bounds
    _, sun = solar_noon(base.lat_deg, base.lon_deg, dt.date(2026, 3, 21))

    def shaded(mesh: TriMesh) -> float:
        occ = Occluder(mesh.points, mesh.triangles)
        ground = ground_receptors(occ, (x0, y0, x1, y1), 0.5, base.ground_z)
        return float(shadow_mask(occ, ground, sun).sum()) * ground.cell_area_m2

    house, prism = shaded(body), shaded(box)
    # on open ground at equinox noon: the pitched roof's shadow is about half the box's
    # (64.5 against 125.8 m2 here)
    assert 0.0 < house < 0.7 * prism


def test_an_ifc_proposal_moved_onto_buildings_replaces_them_in_the_scenario() -> None:
    """Placed over city buildings, the model hides them in the view (``replaced_by``); the
    proposal takes them down in the scenario too, so no ray meets both."""
    from twin_app.io.source import ReadOptions
    from twin_app.session.bim import REPLACED_BY

    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    s.new_scenario("IFC over buildings")
    ifc = next(x for x in s.layers if x.kind == "ifc")
    blds = _buildings(s)
    fs = blds.feature_set()
    assert fs is not None and s.frame is not None
    row = _row(blds)
    centre = fs.feature_centroids()[row, :2]
    lon, lat = s.frame.to_lonlat(centre[None, :])[0]
    moved = ReadOptions(at_lonlat=(float(lon), float(lat)), rotate_deg=0.0)
    path = next(r.path for r in s.sources if r.path.suffix.lower() == ".ifc")
    s.place_ifc(ifc, s.load_files([path], moved), moved)  # type: ignore[arg-type]
    assert s.replace_buildings_under(ifc) >= 1  # type: ignore[arg-type]
    tagged = fs.ids[np.flatnonzero(fs.table[REPLACED_BY].to_numpy(object) == path.name)]
    assert str(fs.ids[row]) in tagged.astype(str)
    spec = s.add_building_from_ifc(ifc)
    assert set(spec.replaces) == set(tagged.astype(str)) and spec.at == pytest.approx((lon, lat))
    base = baseline_massing_model(s.scenario)
    scen = apply_massing(s.scenario, base)
    gone = [base.building_index()[i] for i in spec.replaces]
    assert not np.isin(np.asarray(scen.mesh.cell_data["building_index"]), gone).any()
    assert set(gone) < set(scen.changed)
    # the compare view: the baseline draws the buildings the view hides under the model
    from twin_app.session.compare import Comparison
    from twin_app.session.study_scene import REPLACED_KEY, show_massing

    cmp = Comparison(s, "IFC over buildings")
    assert show_massing(cmp, base, scen) == []
    (back,) = cmp.baseline.extras[REPLACED_KEY]
    assert back.features is not None and back in cmp.baseline.layers
    assert sorted(back.features.ids.astype(str)) == sorted(spec.replaces)
    idx = np.asarray(fs.mesh.cell_data[fs.index_array])
    rows = [list(fs.ids).index(i) for i in spec.replaces]
    assert back.features.mesh.n_triangles == int(np.isin(idx, rows).sum())
    assert REPLACED_KEY not in cmp.scenario.extras and ifc not in cmp.baseline.layers
    assert show_massing(cmp, base, None) == []  # another result: gone
    assert REPLACED_KEY not in cmp.baseline.extras and ifc in cmp.baseline.layers
    cmp.close()
    # moved far off the twin (to Paris), it is not proposed: the run could not use it
    paris = ReadOptions(at_lonlat=(2.35, 48.85), rotate_deg=0.0)
    s.place_ifc(ifc, s.load_files([path], paris), paris)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"lies 3[0-9]{2} km from the twin's centre; place"):
        s.add_building_from_ifc(ifc)
