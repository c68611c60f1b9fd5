"""Tests of the OpenStreetMap reader on the three shared ``.osm.pbf`` extracts.

Expected values are computed independently: the GDAL OSM layers are read with plain pyogrio
and the ``other_tags`` hstore strings parsed with a regular expression of our own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.io.registry import read_path
from twin_app.io.source import ReadOptions, SourceData

CITIES = ("porto", "london", "munchen")
#: Rows of the ``lines`` layer with a ``highway`` tag.
ROADS = {"porto": 3460, "london": 3075, "munchen": 2867}
#: Features tagged building=no (not buildings).
BUILDING_NO = {"porto": 0, "london": 3, "munchen": 0}
MPH = 1.609344


def tag(tags: Any, key: str) -> str | None:
    """The value of `key` in a GDAL ``other_tags`` string, or None."""
    if not isinstance(tags, str):
        return None
    m = re.search('"' + re.escape(key) + '"=>"([^"]*)"', tags)
    return m.group(1) if m else None


@dataclass
class Truth:
    """What the file holds according to plain pyogrio."""

    buildings: pd.DataFrame  # multipolygons rows with building not null and not "no"
    building_no: int
    roads: pd.DataFrame  # lines rows with a highway tag


@dataclass
class City:
    source: SourceData
    truth: Truth


def osm_building_id(row: Any) -> str:
    if pd.notna(row.osm_way_id):
        return f"way/{row.osm_way_id}"
    return f"relation/{row.osm_id}"


_CACHE: dict[Path, City] = {}


def load(path: Path) -> City:
    """Read a file once per test session, with the reader and with plain pyogrio."""
    if path not in _CACHE:
        import pyogrio

        polys = pyogrio.read_dataframe(path, layer="multipolygons")
        lines = pyogrio.read_dataframe(path, layer="lines")
        tagged = polys["building"].notna()
        is_no = polys["building"] == "no"
        truth = Truth(
            buildings=polys.loc[tagged & ~is_no],
            building_no=int((tagged & is_no).sum()),
            roads=lines.loc[lines["highway"].notna()],
        )
        (src,) = read_path(path)
        _CACHE[path] = City(src, truth)
    return _CACHE[path]


@pytest.fixture(scope="module", params=CITIES)
def city(request: pytest.FixtureRequest, shared_file: Callable[[str], Path]) -> City:
    return load(shared_file(f"osm/{request.param}.osm.pbf"))


@pytest.fixture(scope="module")
def london(shared_file: Callable[[str], Path]) -> City:
    return load(shared_file("osm/london.osm.pbf"))


def city_name(c: City) -> str:
    return c.source.path.name.split(".")[0]


# --------------------------------------------------------------------------- counts


def test_source_is_one_osm_source_in_wgs84(city: City) -> None:
    src = city.source
    assert src.kind == "osm"
    assert src.layer is None
    assert src.crs.to_epsg() == 4326
    assert src.buildings is not None and src.roads is not None
    # The ground context (land use, parks, water, railways) of the same extract: test_ground_context.py.
    assert set(src.counts) == {"buildings", "roads", "ground"}


def test_building_count_matches_independent_count(city: City) -> None:
    src = city.source
    n = len(city.truth.buildings)
    assert n > 1000
    assert src.counts["buildings"] == n
    assert src.buildings is not None and len(src.buildings) == n
    assert src.buildings["id"].is_unique


def test_road_count_matches_independent_count(city: City) -> None:
    src = city.source
    name = city_name(city)
    assert len(city.truth.roads) == ROADS[name]
    assert src.counts["roads"] == ROADS[name]
    assert src.roads is not None and len(src.roads) == ROADS[name]


def test_building_no_is_skipped_and_counted(city: City) -> None:
    name = city_name(city)
    assert city.truth.building_no == BUILDING_NO[name]
    skipped = {k: v for k, v in city.source.report.skipped.items() if "building=no" in k}
    if BUILDING_NO[name]:
        assert list(skipped.values()) == [BUILDING_NO[name]]
        assert any("building=no" in w for w in city.source.report.warnings)
    else:
        assert not skipped


def test_invalid_footprints_are_repaired_and_counted(city: City) -> None:
    import shapely

    n_invalid = int((~shapely.is_valid(city.truth.buildings.geometry.values)).sum())
    assert n_invalid > 0  # each extract has a few
    repaired = {k: v for k, v in city.source.report.repaired.items() if "invalid footprints" in k}
    assert sum(repaired.values()) == n_invalid
    b = city.source.buildings
    assert b is not None
    assert shapely.is_valid(b.geometry.values).all()


def test_ids_are_osm_way_or_relation_ids(city: City) -> None:
    b = city.source.buildings
    assert b is not None
    expected = {osm_building_id(r) for r in city.truth.buildings.itertuples()}
    assert set(b["id"]) == expected
    roads = city.source.roads
    assert roads is not None
    assert set(roads["id"]) == {f"way/{i}" for i in city.truth.roads["osm_id"]}


# --------------------------------------------------------------------------- heights


def test_heights_follow_tags_then_levels_then_default(city: City) -> None:
    """Every building: height tag, else building:height, else levels x 3 m, else 10 m."""
    b = city.source.buildings
    assert b is not None
    got = b.set_index("id")
    n_levels = n_default = 0
    for row in city.truth.buildings.itertuples():
        fid = osm_building_id(row)
        tags = row.other_tags
        explicit = tag(tags, "height") or tag(tags, "building:height")
        levels = tag(tags, "building:levels")
        if explicit is not None:
            continue  # parsed values of free text: covered on London below
        if levels is not None and re.fullmatch(r"\d+", levels) and 0 < int(levels) < 300:
            assert got.loc[fid, "height_m"] == pytest.approx(int(levels) * 3.0), fid
            assert got.loc[fid, "height_source"] == "levels", fid
            n_levels += 1
        elif levels is None:
            assert got.loc[fid, "height_m"] == pytest.approx(10.0), fid
            assert got.loc[fid, "height_source"] == "default", fid
            n_default += 1
    assert n_levels > 0
    assert city.source.report.repaired["default heights"] == n_default


def test_london_about_half_the_buildings_have_levels(london: City) -> None:
    b = london.source.buildings
    assert b is not None
    with_levels = london.truth.buildings["other_tags"].map(
        lambda t: tag(t, "building:levels") is not None
    )
    frac = float(with_levels.mean())
    assert 0.4 < frac < 0.6
    src_counts = b["height_source"].value_counts()
    assert src_counts["levels"] == pytest.approx(len(b) * frac, rel=0.02)


@pytest.mark.parametrize(
    ("fid", "levels"),
    [
        ("relation/2335556", 10),  # Lincoln Square
        ("relation/2335557", 4),  # Royal Courts of Justice
        ("way/4364085", 8),  # Sainsbury's Head Office
        ("way/26183052", 10),  # BT
        ("way/31423987", 18),
    ],
)
def test_london_heights_from_levels(london: City, fid: str, levels: int) -> None:
    row = london.truth.buildings.loc[
        [osm_building_id(r) == fid for r in london.truth.buildings.itertuples()]
    ]
    assert len(row) == 1
    assert tag(row["other_tags"].iloc[0], "building:levels") == str(levels)
    assert tag(row["other_tags"].iloc[0], "height") is None
    b = london.source.buildings
    assert b is not None
    got = b.set_index("id").loc[fid]
    assert got["height_m"] == pytest.approx(levels * 3.0)
    assert got["height_source"] == "levels"


def test_london_height_tag_wins_over_levels(london: City) -> None:
    b = london.source.buildings
    assert b is not None
    got = b.set_index("id").loc["way/34038683"]  # height=123, building:levels=42
    assert got["height_m"] == pytest.approx(123.0)
    assert got["height_source"] == "height"


def test_storey_option_scales_levels(shared_file: Callable[[str], Path], london: City) -> None:
    (src,) = read_path(
        shared_file("osm/london.osm.pbf"), ReadOptions(storey_m=4.0, as_kind="buildings")
    )
    assert src.roads is None
    assert src.buildings is not None
    got = src.buildings.set_index("id")
    assert got.loc["relation/2335556", "height_m"] == pytest.approx(40.0)
    assert got.loc["way/34038683", "height_m"] == pytest.approx(123.0)
    assert len(src.buildings) == london.source.counts["buildings"]


# --------------------------------------------------------------------------- roads


def test_road_class_is_the_highway_tag(city: City) -> None:
    roads = city.source.roads
    assert roads is not None
    truth = dict(
        zip(
            "way/" + city.truth.roads["osm_id"].astype(str),
            city.truth.roads["highway"],
            strict=True,
        )
    )
    got = dict(zip(roads["id"], roads["class"].astype(str), strict=True))
    assert got == truth


def test_road_widths_come_from_lanes_where_present(city: City) -> None:
    roads = city.source.roads
    assert roads is not None
    width = dict(zip(roads["id"], roads["width_m"], strict=True))
    n = 0
    for row in city.truth.roads.itertuples():
        lanes = tag(row.other_tags, "lanes")
        if lanes is not None and re.fullmatch(r"\d+", lanes) and 0 < int(lanes) < 20:
            assert width[f"way/{row.osm_id}"] == pytest.approx(int(lanes) * 3.25), row.osm_id
            n += 1
    assert n > 20
    assert np.isfinite(roads["width_m"].to_numpy(float)).all()
    assert (roads["width_m"] > 0).all()


def test_maxspeed_in_mph_is_converted(city: City) -> None:
    roads = city.source.roads
    assert roads is not None
    speed = dict(zip(roads["id"], roads["maxspeed_kmh"].astype(float), strict=True))
    for row in city.truth.roads.itertuples():
        value = tag(row.other_tags, "maxspeed")
        fid = f"way/{row.osm_id}"
        if value is None:
            assert np.isnan(speed[fid]), fid
        elif m := re.fullmatch(r"(\d+) mph", value):
            assert speed[fid] == pytest.approx(int(m.group(1)) * MPH), fid
        elif re.fullmatch(r"\d+", value):
            assert speed[fid] == pytest.approx(float(value)), fid


def test_london_named_roads(london: City) -> None:
    roads = london.source.roads
    assert roads is not None
    r = roads.set_index("id")
    chancery = r.loc["way/4255356"]  # Chancery Lane: maxspeed=30 mph, no lanes
    assert chancery["name"] == "Chancery Lane"
    assert chancery["maxspeed_kmh"] == pytest.approx(48.28, abs=0.01)
    assert chancery["width_m"] == pytest.approx(9.0)  # secondary, by class
    clerkenwell = r.loc["way/2953567"]  # Clerkenwell Road: lanes=4, 20 mph
    assert clerkenwell["lanes"] == 4
    assert clerkenwell["width_m"] == pytest.approx(13.0)
    assert clerkenwell["maxspeed_kmh"] == pytest.approx(20 * MPH)


def test_oneway_flags(city: City) -> None:
    roads = city.source.roads
    assert roads is not None
    oneway = dict(zip(roads["id"], roads["oneway"], strict=True))
    seen = set()
    for row in city.truth.roads.itertuples():
        value = tag(row.other_tags, "oneway")
        expected = {"yes": 1, "-1": -1, "no": 0, None: 0}.get(value)
        if expected is not None:
            assert oneway[f"way/{row.osm_id}"] == expected, (row.osm_id, value)
            seen.add(expected)
    assert {0, 1} <= seen
