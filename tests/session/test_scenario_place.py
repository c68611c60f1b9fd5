"""Placing things with the session's scenario verbs, headless, on the sample twin: a drawn
footprint becomes an ``add_building`` whose prism the massing model builds where it was drawn;
selected buildings are removed or re-extruded by their ``way/...`` ids; a station picked on a
roof stands on that roof, one picked on the ground is a ground mast; a depot where clicked.
Every edit is one undo step; bad footprints give one-line errors."""

from __future__ import annotations

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


def test_an_ifc_model_proposed_as_a_building(session: Session) -> None:
    import shapely

    from twin_app.model.bim import IFC_CLASSES

    session.new_scenario("IFC proposal")
    ifc = next(x for x in session.layers if x.kind == "ifc")
    mesh = ifc.feature_set().mesh  # type: ignore[union-attr]
    code = np.asarray(mesh.cell_data["ifc_class_code"])
    site = code == IFC_CLASSES.index("IfcSite")
    body = mesh.points[np.unique(mesh.triangles[~site & (code != IFC_CLASSES.index("IfcSpace"))])]
    spec = session.add_building_from_ifc(ifc)
    assert spec.height_m == pytest.approx(body[:, 2].max(), abs=1e-3)
    frame = session.frame
    assert frame is not None
    ring = frame.lonlat_to_local(*np.asarray(spec.lonlat).T)[:, :2]
    poly = shapely.Polygon(ring)
    assert poly.is_valid and poly.area > 50.0  # a family house, not a sliver
    # every wall, slab and roof corner is inside the footprint (its hull: a tight fit)
    assert shapely.contains_xy(poly.buffer(1e-6), body[:, 0], body[:, 1]).all()
    assert np.isin(np.round(ring, 6), np.round(body[:, :2], 6)).all()
    base = baseline_massing_model(session.scenario)
    assert apply_massing(session.scenario, base).n_buildings == base.n_buildings + 1
    roads = next(x for x in session.layers if x.kind == "roads")
    with pytest.raises(ScenarioError, match="not an IFC model"):
        session.add_building_from_ifc(roads)
