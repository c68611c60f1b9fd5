"""Session verbs of IFC layers: storeys, section, explode, spaces, replacing buildings; all undoable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from tests.ifc_fixtures import ifc_house
from twin_app.errors import TwinError
from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.model.layers import BuildingLayer, IfcLayer, layer_for
from twin_app.session import Session
from twin_app.session.bim import REPLACED_BY


def city_blocks() -> FeatureSet:
    """Three prisms: a 3 m box far west, a 20 m block at x 20..40 and a shed east of it."""
    geoms = np.array(
        [
            Polygon([(-40, -10), (-20, -10), (-20, 10), (-40, 10)]),
            Polygon([(20, -10), (40, -10), (40, 10), (20, 10)]),
            Polygon([(41, -3), (45, -3), (45, 3), (41, 3)]),
        ],
        dtype=object,
    )
    heights = np.array([3.0, 20.0, 4.0])
    mesh = extrude(polygon_arrays(geoms), heights)
    table = pd.DataFrame({"id": ["west", "block", "shed"], "height_m": heights})
    return FeatureSet("Buildings (t)", BUILDINGS, "t", table["id"].to_numpy(object), table, mesh)


@pytest.fixture
def session() -> Session:
    s = Session()
    s.layers.append(layer_for(city_blocks()))
    s.layers.append(layer_for(ifc_house(30.0, 0.0, "proposal.ifc")))
    return s


def _ifc(s: Session) -> IfcLayer:
    return next(layer for layer in s.layers if isinstance(layer, IfcLayer))


def _buildings(s: Session) -> BuildingLayer:
    return next(layer for layer in s.layers if isinstance(layer, BuildingLayer))


def test_storey_section_explode_spaces_are_undoable(session: Session) -> None:
    layer = _ifc(session)
    session.set_storey_visible(layer, 1, False)
    assert layer.hidden_storeys == frozenset({1})
    session.set_section(layer, 0)
    session.set_explode(layer, 2.5)
    session.set_show_spaces(layer, True)
    assert (layer.section_storey, layer.explode, layer.show_spaces) == (0, 2.5, True)
    for _ in range(4):
        session.commands.undo()
    assert layer.hidden_storeys == frozenset() and layer.section_storey is None
    assert layer.explode == 0.0 and not layer.show_spaces
    session.commands.redo()
    assert layer.hidden_storeys == frozenset({1})
    with pytest.raises(TwinError, match="no storey 5"):
        session.set_storey_visible(layer, 5, False)
    with pytest.raises(TwinError, match="explode"):
        session.set_explode(layer, -1.0)


def test_replace_buildings_under_hides_and_marks_them(session: Session) -> None:
    layer, blds = _ifc(session), _buildings(session)
    assert blds.features is not None
    n = session.replace_buildings_under(layer)
    # the house (x 25..35, y -4..4) stands on the block; the west box and the shed are clear
    assert n == 1
    assert blds.hidden_features == frozenset({1})
    assert blds.features.table[REPLACED_BY].tolist() == ["", "proposal.ifc", ""]
    session.commands.undo()
    assert blds.hidden_features == frozenset()
    assert REPLACED_BY not in blds.features.table
    session.commands.redo()
    assert blds.hidden_features == frozenset({1})
    assert session.replace_buildings_under(layer, on=False) == 1
    assert blds.hidden_features == frozenset()
    assert blds.features.table[REPLACED_BY].tolist() == ["", "", ""]


def test_search_finds_ifc_elements_by_class_and_storey(session: Session) -> None:
    from twin_app.model.search import find_features

    layer = _ifc(session)
    for query in ("ifc_class=IfcWindow", "IfcClass=ifcwindow"):
        result = find_features(session.layers, query)
        assert [(h.layer_uid, h.index) for h in result.hits] == [(layer.uid, 2)], query
    result = find_features(session.layers, "storey=First floor")
    assert sorted(h.index for h in result.hits) == [4, 5, 6, 7]
    assert find_features(session.layers, "storey_index=0").total == 4


def test_opening_an_ifc_over_a_city_replaces_the_building_under_it() -> None:
    from pyproj import CRS

    from twin_app.io.load import LoadResult
    from twin_app.model.city import CityModel
    from twin_app.model.frame import LocalFrame

    frame = LocalFrame.for_data(CRS.from_epsg(27700), (532000.0, 181000.0, 532100.0, 181100.0))
    s = Session()
    s.add_result(LoadResult(CityModel(frame, [city_blocks()]), []))
    seen: list[str] = []
    s.messages.connect(lambda level, text: seen.append(text))
    s.add_result(LoadResult(CityModel(frame, [ifc_house(30.0, 0.0, "proposal.ifc")]), []))
    blds = _buildings(s)
    assert blds.hidden_features == frozenset({1})
    assert any("replaces 1 building" in t for t in seen)
    s.commands.undo()  # the open and its replacement are one step
    assert blds.hidden_features == frozenset() and len(s.layers) == 1
    s.commands.redo()
    assert blds.hidden_features == frozenset({1}) and len(s.layers) == 2


def test_placing_a_replacing_building_moves_the_replacement() -> None:
    """place_ifc: the block under the old place comes back, the shed under the new one goes."""
    from pyproj import CRS

    from twin_app.io.load import LoadResult
    from twin_app.io.source import ReadOptions
    from twin_app.model.city import CityModel
    from twin_app.model.frame import LocalFrame

    frame = LocalFrame.for_data(CRS.from_epsg(27700), (532000.0, 181000.0, 532100.0, 181100.0))
    s = Session()
    s.add_result(LoadResult(CityModel(frame, [city_blocks()]), []))
    s.add_result(LoadResult(CityModel(frame, [ifc_house(30.0, 0.0, "proposal.ifc")]), []))
    blds, layer = _buildings(s), _ifc(s)
    assert blds.hidden_features == frozenset({1})
    moved = ifc_house(-30.0, 0.0, "proposal.ifc")  # onto the west box
    s.place_ifc(layer, LoadResult(CityModel(frame, [moved]), []), ReadOptions())
    assert blds.hidden_features == frozenset({0})
    assert blds.features is not None
    assert blds.features.table[REPLACED_BY].tolist() == ["proposal.ifc", "", ""]
    s.commands.undo()
    assert blds.hidden_features == frozenset({1})
    assert blds.features.table[REPLACED_BY].tolist() == ["", "proposal.ifc", ""]
    s.commands.redo()
    assert blds.hidden_features == frozenset({0})
