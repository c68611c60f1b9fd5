"""Feature search: id before attributes, numeric equality, conditions, limits, vectorised speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import BUILDINGS, ROADS, FeatureSet
from twin_app.model.layers import FeatureLayer, Layer, layer_for
from twin_app.model.search import (
    SearchHit,
    find_features,
    format_value,
    parse_condition,
    search_features,
)


def _set(name: str, kind: str, table: pd.DataFrame) -> FeatureSet:
    import shapely

    n = len(table)
    geoms = shapely.box(np.arange(n) * 20.0, 0.0, np.arange(n) * 20.0 + 10.0, 10.0)
    heights = (
        table["height_m"].fillna(5.0).to_numpy(np.float64) if "height_m" in table else np.ones(n)
    )
    mesh = extrude(polygon_arrays(np.asarray(geoms, dtype=object)), heights)
    ids = table["id"].to_numpy(object)
    return FeatureSet(name, kind, "test", ids, table, mesh)


@pytest.fixture
def layers() -> list[Layer]:
    buildings = pd.DataFrame(
        {
            "id": ["B12", "b1", "tower-12", "x9", "annex"],
            "height_m": [12.0, 61.5, 120.0, np.nan, 50.0],
            "name": ["Town Hall", None, "Tower 12", "Shed", "Annex of B12"],
            "levels": pd.array([4, 20, 35, None, 15], dtype="Int64"),
            "listed": [True, False, True, False, False],
        }
    )
    roads = pd.DataFrame(
        {
            "id": ["r1", "r2", "r3"],
            "highway": ["primary", "Residential", "PRIMARY"],
            "maxspeed": ["50", "30 mph", "70"],
            "lanes": [2.0, np.nan, 4.0],
        }
    )
    return [
        layer_for(_set("Buildings", BUILDINGS, buildings)),
        layer_for(_set("Roads", ROADS, roads)),
        Layer(name="not a feature layer"),
    ]


def _ids(hits: list[SearchHit]) -> list[str]:
    return [h.feature_id for h in hits]


def test_exact_id_first_then_id_contains_then_attributes(layers: list[Layer]) -> None:
    hits = search_features(layers, "b12")
    # exact id (case-insensitive), then no other id contains "b12", then the name attribute
    assert _ids(hits) == ["B12", "annex"]
    assert (hits[0].column, hits[0].value) == ("id", "B12")
    assert (hits[1].column, hits[1].value) == ("name", "Annex of B12")
    assert hits[0].layer_name == "Buildings" and hits[0].layer_uid == layers[0].uid
    assert hits[0].index == 0 and hits[1].index == 4


def test_substring_of_ids_and_numeric_equality(layers: list[Layer]) -> None:
    hits = search_features(layers, "12")
    # ids containing "12" first (in row order), then height 12.0 == 12 is already claimed by
    # B12's id; "Tower 12" is claimed by its id too: each feature appears once.
    assert _ids(hits) == ["B12", "tower-12", "annex"]
    assert [h.column for h in hits] == ["id", "id", "name"]
    hits = search_features(layers, "61.5")
    assert [(h.feature_id, h.column, h.value) for h in hits] == [("b1", "height_m", "61.5")]
    # nullable integer columns compare as numbers too
    assert [(h.feature_id, h.column) for h in search_features(layers, "35")] == [
        ("tower-12", "levels")
    ]


def test_height_condition(layers: list[Layer]) -> None:
    hits = search_features(layers, "height_m>50")
    assert _ids(hits) == ["b1", "tower-12"]
    assert {h.column for h in hits} == {"height_m"}
    assert [h.value for h in hits] == ["61.5", "120"]
    assert _ids(search_features(layers, "HEIGHT_M >= 50")) == ["b1", "tower-12", "annex"]
    assert _ids(search_features(layers, "height_m<13")) == ["B12"]  # NaN never matches
    assert _ids(search_features(layers, "height_m=12")) == ["B12"]
    assert _ids(search_features(layers, "height_m!=12")) == ["b1", "tower-12", "annex"]


def test_column_equals_text_is_whole_value_case_insensitive(layers: list[Layer]) -> None:
    hits = search_features(layers, "highway=primary")
    assert _ids(hits) == ["r1", "r3"]
    assert [h.value for h in hits] == ["primary", "PRIMARY"]
    assert hits[0].layer_name == "Roads"
    assert _ids(search_features(layers, "highway=prim")) == []
    assert _ids(search_features(layers, 'name="town hall"')) == ["B12"]
    assert _ids(search_features(layers, "listed=true")) == ["B12", "tower-12"]
    assert _ids(search_features(layers, "id=R2")) == ["r2"]


def test_order_operators_on_text_columns_read_numbers(layers: list[Layer]) -> None:
    # "30 mph" is not a number, so only "50" and "70" take part
    assert _ids(search_features(layers, "maxspeed>40")) == ["r1", "r3"]
    assert _ids(search_features(layers, "maxspeed<60")) == ["r1"]


def test_unknown_column_falls_back_to_plain_text(layers: list[Layer]) -> None:
    assert search_features(layers, "colour=red") == []
    assert search_features(layers, "") == []
    assert search_features(layers, "   ") == []
    assert search_features(layers, "zzz") == []


def test_limit_and_total(layers: list[Layer]) -> None:
    res = find_features(layers, "r", limit=2)
    # ids tower-12, r1, r2, r3 contain "r"; names such as "Town Hall" contain it too
    assert len(res.hits) == 2 and res.total > 2
    assert _ids(res.hits) == ["tower-12", "r1"]  # layer order, then row order
    assert find_features(layers, "r", limit=0).hits == []
    assert find_features(layers, "highway=primary", limit=1).total == 2


def test_parse_condition() -> None:
    assert parse_condition("height_m>50") == ("height_m", ">", "50")
    assert parse_condition("building:levels >= 3") == ("building:levels", ">=", "3")
    assert parse_condition("name == 'Dam'") == ("name", "=", "Dam")
    assert parse_condition("plain text") is None
    assert parse_condition("height_m>") is None


def test_format_value() -> None:
    assert format_value(12.0) == "12"
    assert format_value(np.float32(2.5)) == "2.5"
    assert format_value(np.nan) == ""
    assert format_value(None) == ""
    assert format_value(pd.NA) == ""
    assert format_value(np.int64(7)) == "7"
    assert format_value(True) == "true"
    assert format_value([1, 2]) == "[1, 2]"


def test_hundred_thousand_features_search() -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "id": np.array([f"bag.{i:07d}" for i in range(n)], dtype=object),
            "height_m": rng.uniform(2, 80, n).round(1),
            "use": rng.choice(["residential", "office", "retail", None], n),
            "levels": rng.integers(1, 20, n),
        }
    )
    from twin_app.model.mesh import TriMesh

    fs = FeatureSet("Big", BUILDINGS, "t", table["id"].to_numpy(object), table, TriMesh.empty())
    big: list[Layer] = [FeatureLayer(name="Big", features=fs)]
    # what the search finds on 100k features; how long it takes is benchmarks/bench_search.py
    res = find_features(big, "height_m>79")
    text = find_features(big, "office")
    assert res.total == int((table["height_m"] > 79).sum()) and len(res.hits) == 200
    assert text.total == int((table["use"] == "office").sum())
