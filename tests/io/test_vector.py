"""Tests of the vector reader (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.errors import InputError
from twin_app.io.registry import read_path
from twin_app.io.source import DEFAULT_HEIGHT_M, ReadOptions, SourceData

DELFT_GPKG = "footprints/delft_somebuildings.gpkg"
DELFT_N = 160


# --------------------------------------------------------------------------- helpers


def square(x: float, y: float, size: float = 0.0001) -> list[list[float]]:
    """A closed square ring in lon/lat (about 7 x 11 m at Delft's latitude)."""
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def polygon_feature(fid: str, ring: list[list[float]], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": fid, **props},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def one(sources: list[SourceData]) -> SourceData:
    assert len(sources) == 1, [s.label for s in sources]
    return sources[0]


def src_buildings(src: SourceData) -> Any:
    assert src.buildings is not None
    return src.buildings


def heights_by_id(src: SourceData) -> dict[str, float]:
    assert src.buildings is not None
    return dict(zip(src.buildings["id"], src.buildings["height_m"].astype(float), strict=True))


# --------------------------------------------------------------------------- the real GeoPackage


@pytest.fixture(scope="module")
def delft_gpkg(shared_file: Callable[[str], Path]) -> Path:
    return shared_file(DELFT_GPKG)


@pytest.fixture(scope="module")
def delft_truth(delft_gpkg: Path) -> dict[str, float]:
    """gml_id -> height straight from the file, read without twin_app."""
    import pyogrio

    df = pyogrio.read_dataframe(delft_gpkg)
    assert df["gml_id"].is_unique
    return dict(zip(df["gml_id"].astype(str), df["height"].astype(float), strict=True))


@pytest.fixture(scope="module")
def delft_source(delft_gpkg: Path) -> SourceData:
    return one(read_path(delft_gpkg))


def test_gpkg_has_160_buildings_in_rd_new(
    delft_source: SourceData, delft_truth: dict[str, float]
) -> None:
    src = delft_source
    assert len(delft_truth) == DELFT_N
    assert src.kind == "buildings"
    assert src.layer is None
    assert src.crs.to_epsg() == 28992
    assert src.counts == {"buildings": DELFT_N}
    assert src.buildings is not None
    assert len(src.buildings) == DELFT_N
    assert src.roads is None and src.areas is None


def test_gpkg_heights_come_from_the_height_column(
    delft_source: SourceData, delft_truth: dict[str, float]
) -> None:
    assert src_buildings(delft_source)["height_source"].eq("height").all()
    got = heights_by_id(delft_source)
    assert set(got) == set(delft_truth)
    for fid, h in delft_truth.items():
        assert got[fid] == pytest.approx(h, abs=1e-9), fid
    # Nothing was defaulted, repaired or skipped in this clean file.
    assert not delft_source.report.repaired
    assert not delft_source.report.skipped
    assert delft_source.report.warnings == []


def test_gpkg_geometry_is_kept_in_source_crs(delft_source: SourceData) -> None:
    b = src_buildings(delft_source)
    xmin, ymin, xmax, ymax = b.total_bounds
    # RD New metres around Delft, not lon/lat and not a local frame.
    assert 84000 < xmin < xmax < 86000
    assert 446000 < ymin < ymax < 448000
    assert (b.geometry.area > 0).all()


# --------------------------------------------------------------------------- same data, other formats

FORMATS = {
    "geojson": ("delft.geojson", "GeoJSON"),
    "shapefile": ("delft.shp", "ESRI Shapefile"),
    "flatgeobuf": ("delft.fgb", "FlatGeobuf"),
    "geoparquet": ("delft.parquet", None),
}


@pytest.fixture(scope="module")
def delft_copies(delft_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Delft footprints written by geopandas to every other supported format."""
    import geopandas as gpd

    gdf = gpd.read_file(delft_gpkg)
    out = tmp_path_factory.mktemp("formats")
    paths = {}
    for key, (name, driver) in FORMATS.items():
        path = out / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shapefile field-name truncation
            if driver is None:
                gdf.to_parquet(path)
            else:
                gdf.to_file(path, driver=driver)
        paths[key] = path
    return paths


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_other_formats_read_back_identically(
    fmt: str, delft_copies: dict[str, Path], delft_truth: dict[str, float]
) -> None:
    src = one(read_path(delft_copies[fmt]))
    assert src.kind == "buildings"
    assert src.crs.to_epsg() == 28992
    assert src.counts == {"buildings": DELFT_N}
    b = src_buildings(src)
    assert b["height_source"].eq("height").all()
    got = heights_by_id(src)
    assert set(got) == set(delft_truth)  # FlatGeobuf reorders rows: compare by id
    for fid, h in delft_truth.items():
        assert got[fid] == pytest.approx(h, abs=1e-6), (fmt, fid)
    assert not src.report.repaired and not src.report.skipped


# --------------------------------------------------------------------------- multi-layer files


def test_multilayer_kinds_are_guessed_and_every_layer_reported(multilayer_gpkg: Path) -> None:
    sources = read_path(multilayer_gpkg)
    by_layer = {s.layer: s for s in sources}
    assert list(by_layer) == ["buildings", "roads", "parcels", "rivers"]
    assert {k: s.kind for k, s in by_layer.items()} == {
        "buildings": "buildings",
        "roads": "roads",
        "parcels": "areas",
        "rivers": "other",
    }
    assert by_layer["buildings"].counts == {"buildings": 2}
    assert by_layer["roads"].counts == {"roads": 2}
    assert by_layer["parcels"].counts == {"areas": 1}
    assert by_layer["rivers"].counts == {"features": 1}
    assert by_layer["parcels"].areas is not None and list(by_layer["parcels"].areas["id"]) == ["a1"]
    assert by_layer["rivers"].buildings is None and by_layer["rivers"].roads is None
    # The undrawn layer says so, with the file:layer label and what to do.
    (warning,) = by_layer["rivers"].report.warnings
    assert warning.startswith(f"{multilayer_gpkg}:rivers: ")  # the full path (issue 10)
    assert "--as" in warning
    assert by_layer["roads"].label == "city.gpkg:roads"
    for s in sources:
        assert s.crs.to_epsg() == 28992


def test_multilayer_roads_are_normalised(multilayer_gpkg: Path) -> None:
    src = one(read_path(multilayer_gpkg, ReadOptions(layer="roads")))
    assert src.roads is not None
    roads = src.roads.set_index("id")
    assert list(roads.index) == ["r1", "r2"]
    assert list(roads["class"]) == ["primary", "residential"]
    # Width from lanes where present (2 x 3.25 m), else by class (residential 6 m).
    assert roads.loc["r1", "width_m"] == pytest.approx(6.5)
    assert roads.loc["r2", "width_m"] == pytest.approx(6.0)
    assert roads.loc["r1", "maxspeed_kmh"] == pytest.approx(30 * 1.609344)
    assert roads.loc["r2", "maxspeed_kmh"] == pytest.approx(50.0)


def test_layer_option_reads_only_that_layer(multilayer_gpkg: Path) -> None:
    src = one(read_path(multilayer_gpkg, ReadOptions(layer="buildings")))
    assert src.layer == "buildings"
    assert src.kind == "buildings"
    assert heights_by_id(src) == {"b1": 10.0, "b2": 20.0}


def test_layer_option_with_unknown_layer_lists_the_layers(multilayer_gpkg: Path) -> None:
    with pytest.raises(InputError) as info:
        read_path(multilayer_gpkg, ReadOptions(layer="trees"))
    msg = str(info.value)
    assert "city.gpkg" in msg and "'trees'" in msg
    for name in ("buildings", "roads", "parcels", "rivers"):
        assert name in msg
    assert "\n" not in msg


def test_as_option_overrides_the_guess(multilayer_gpkg: Path) -> None:
    rivers = one(read_path(multilayer_gpkg, ReadOptions(layer="rivers", as_kind="roads")))
    assert rivers.kind == "roads"
    assert rivers.roads is not None and list(rivers.roads["id"]) == ["w1"]
    assert rivers.counts == {"roads": 1}
    assert rivers.report.warnings == []

    parcels = one(read_path(multilayer_gpkg, ReadOptions(layer="parcels", as_kind="buildings")))
    assert parcels.kind == "buildings"
    assert heights_by_id(parcels) == {"a1": DEFAULT_HEIGHT_M}
    assert parcels.report.repaired["default heights"] == 1

    bldg_as_areas = one(read_path(multilayer_gpkg, ReadOptions(layer="buildings", as_kind="areas")))
    assert bldg_as_areas.kind == "areas"
    assert bldg_as_areas.buildings is None
    assert bldg_as_areas.areas is not None and sorted(bldg_as_areas.areas["id"]) == ["b1", "b2"]


def test_as_option_rejects_an_unknown_kind(multilayer_gpkg: Path) -> None:
    with pytest.raises(InputError, match="--as must be one of") as info:
        read_path(multilayer_gpkg, ReadOptions(layer="buildings", as_kind="towers"))
    assert "city.gpkg" in str(info.value)


# --------------------------------------------------------------------------- single-layer guesses


def test_single_polygon_layer_is_buildings_and_single_line_layer_is_roads(tmp_path: Path) -> None:
    polys = write_geojson(
        tmp_path / "shapes.geojson",
        [polygon_feature("p1", square(4.36, 52.01), height=9.0)],
    )
    lines = write_geojson(
        tmp_path / "lines.geojson",
        [
            {
                "type": "Feature",
                "properties": {"id": "l1", "highway": "service"},
                "geometry": {"type": "LineString", "coordinates": [[4.36, 52.01], [4.361, 52.011]]},
            }
        ],
    )
    p = one(read_path(polys))
    assert (p.kind, p.counts) == ("buildings", {"buildings": 1})
    assert p.crs.to_epsg() == 4326  # GeoJSON without a crs member is WGS 84
    r = one(read_path(lines))
    assert (r.kind, r.counts) == ("roads", {"roads": 1})
    assert r.roads is not None
    assert r.roads["width_m"].iloc[0] == pytest.approx(4.0)  # service road by class


# --------------------------------------------------------------------------- heights


@pytest.fixture(scope="module")
def heights_source(tmp_path_factory: pytest.TempPathFactory) -> SourceData:
    features = [
        polygon_feature("h", square(4.3600, 52.01), height=12.0),
        polygon_feature("mh", square(4.3602, 52.01), measuredHeight=7.5),
        polygon_feature("bh", square(4.3604, 52.01), **{"building:height": 21.0}),
        polygon_feature("bl", square(4.3606, 52.01), **{"building:levels": 4}),
        polygon_feature("lv", square(4.3608, 52.01), levels=5),
        polygon_feature("fl", square(4.3610, 52.01), floors=2),
        polygon_feature("both", square(4.3612, 52.01), height=30.0, **{"building:levels": 2}),
        polygon_feature("none", square(4.3614, 52.01)),
    ]
    path = write_geojson(tmp_path_factory.mktemp("heights") / "heights.geojson", features)
    return one(read_path(path, ReadOptions(storey_m=3.5, default_height_m=7.0)))


@pytest.mark.parametrize(
    ("fid", "height_m", "source"),
    [
        ("h", 12.0, "height"),
        ("mh", 7.5, "height"),
        ("bh", 21.0, "height"),
        ("bl", 4 * 3.5, "levels"),
        ("lv", 5 * 3.5, "levels"),
        ("fl", 2 * 3.5, "levels"),
        ("both", 30.0, "height"),  # an explicit height wins over levels
        ("none", 7.0, "default"),
    ],
)
def test_height_keys(heights_source: SourceData, fid: str, height_m: float, source: str) -> None:
    b = src_buildings(heights_source).set_index("id")
    assert b.loc[fid, "height_m"] == pytest.approx(height_m)
    assert b.loc[fid, "height_source"] == source


def test_default_height_is_warned_and_counted(heights_source: SourceData) -> None:
    report = heights_source.report
    assert report.repaired["default heights"] == 1
    defaults = [w for w in report.warnings if "default" in w]
    assert len(defaults) == 1
    assert "none" in defaults[0] and "7 m" in defaults[0]
    assert defaults[0].startswith(f"{heights_source.path}: ")  # the full path (issue 10)


def test_height_strings_with_units_and_decimal_commas_parse(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "strings.geojson",
        [
            polygon_feature("unit", square(4.3600, 52.01), height="12 m"),
            polygon_feature("comma", square(4.3602, 52.01), height="3,5"),
            polygon_feature(
                "levels", square(4.3604, 52.01), height="unknown", **{"building:levels": "3"}
            ),
        ],
    )
    src = one(read_path(path))
    b = src_buildings(src).set_index("id")
    assert b.loc["unit", "height_m"] == pytest.approx(12.0)
    assert b.loc["comma", "height_m"] == pytest.approx(3.5)
    assert b.loc["levels", "height_m"] == pytest.approx(9.0)
    assert list(b["height_source"]) == ["height", "height", "levels"]
    assert "default heights" not in src.report.repaired


def test_implausible_height_falls_back_to_levels(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "zero.geojson",
        [polygon_feature("z1", square(4.36, 52.01), height=0.0, **{"building:levels": 3})],
    )
    src = one(read_path(path))
    b = src_buildings(src)
    assert b["height_m"].iloc[0] == pytest.approx(9.0)
    assert b["height_source"].iloc[0] == "levels"
    (key,) = [k for k in src.report.repaired if "implausible" in k]
    assert src.report.repaired[key] == 1
    assert any("z1" in w for w in src.report.warnings)


# --------------------------------------------------------------------------- ids


def test_duplicate_ids_are_made_unique(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "dups.geojson",
        [
            polygon_feature("x", square(4.3600, 52.01), height=5.0),
            polygon_feature("x", square(4.3602, 52.01), height=6.0),
            polygon_feature("y", square(4.3604, 52.01), height=7.0),
        ],
    )
    b = src_buildings(one(read_path(path)))
    ids = list(b["id"])
    assert len(set(ids)) == 3
    assert ids[2] == "y"
    assert ids[0].startswith("x#") and ids[1].startswith("x#")
    assert list(b["height_m"]) == [5.0, 6.0, 7.0]


# --------------------------------------------------------------------------- known bugs


def test_mixed_polygon_and_multipolygon_geojson_is_buildings(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "mixed.geojson",
        [
            polygon_feature("p", square(4.3600, 52.01), height=8.0),
            {
                "type": "Feature",
                "properties": {"id": "mp", "height": 9.0},
                "geometry": {"type": "MultiPolygon", "coordinates": [[square(4.3603, 52.01)]]},
            },
        ],
    )
    src = one(read_path(path))
    assert src.kind == "buildings"
    assert heights_by_id(src) == {"p": 8.0, "mp": 9.0}


def test_non_polygon_rows_in_a_building_layer_are_skipped(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "with_point.geojson",
        [
            polygon_feature("p", square(4.3600, 52.01), height=8.0),
            {
                "type": "Feature",
                "properties": {"id": "pt", "height": 9.0},
                "geometry": {"type": "Point", "coordinates": [4.3605, 52.0105]},
            },
        ],
    )
    src = one(read_path(path, ReadOptions(as_kind="buildings")))
    assert heights_by_id(src) == {"p": 8.0}
    assert sum(src.report.skipped.values()) == 1
    assert any("pt" in w for w in src.report.warnings)


def test_clean_polygons_repairs_a_bowtie_into_two_triangles() -> None:
    import shapely

    from twin_app.geometry.clean import clean_polygons

    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    geoms = np.array([shapely.box(0, 0, 1, 1), bowtie, None], dtype=object)
    res = clean_polygons(geoms)
    assert list(res.repaired) == [False, True, False]
    assert list(res.dropped) == [False, False, True]
    assert res.geoms[2] is None
    assert bool(shapely.is_valid(res.geoms[1]))
    assert math.isclose(float(shapely.area(res.geoms[1])), 2.0)
    assert shapely.get_num_geometries(res.geoms[1]) == 2


def test_clean_polygons_drops_rows_without_polygonal_parts() -> None:
    import shapely

    from twin_app.geometry.clean import clean_polygons

    line = shapely.LineString([(0, 0), (1, 1)])
    flat = shapely.Polygon([(0, 0), (1, 0), (2, 0), (0, 0)])  # zero area
    geoms = np.array([line, shapely.box(0, 0, 1, 1), flat], dtype=object)
    res = clean_polygons(geoms)
    assert list(res.dropped) == [True, False, True]
    assert res.geoms[0] is None and res.geoms[2] is None
