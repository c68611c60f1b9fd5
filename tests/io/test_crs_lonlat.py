"""A file that declares a projected CRS but holds lon/lat degrees is an error, not a speck.

The mirror of ``geojson_metres_as_wgs84.geojson`` (metres under EPSG:4326): degrees under
EPSG:28992 used to load as a 10 mm city near 3.3°E 48°N.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.errors import CRSError
from twin_app.io.crs_sanity import check_not_lonlat, projected_area_box
from twin_app.io.registry import read_path
from twin_app.io.source import ReadOptions


def square(lon: float, lat: float, d: float = 0.0002) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def write_geojson(path: Path, crs: str | None, features: list[dict[str, Any]]) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


def polygon(fid: str, rings: list[list[list[float]]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": fid, "height": 10.0},
        "geometry": {"type": "Polygon", "coordinates": rings},
    }


@pytest.fixture(scope="module")
def delft(shared_file: Callable[[str], Path]) -> Any:
    """The 160 real Delft footprints (RD New), read once."""
    import geopandas as gpd

    return gpd.read_file(shared_file("footprints/delft_somebuildings.gpkg"))


def test_rd_new_declared_but_degrees_is_one_line_error(tmp_path: Path) -> None:
    """The tester's file: London degrees under urn:ogc:def:crs:EPSG::28992."""
    path = write_geojson(
        tmp_path / "bad.geojson",
        "urn:ogc:def:crs:EPSG::28992",
        [polygon("b1", square(-0.1, 51.5)), polygon("b2", square(-0.11, 51.51))],
    )
    with pytest.raises(CRSError) as err:
        read_path(path)
    msg = err.value.message
    assert "\n" not in msg
    assert msg.startswith(f"{path}: ")
    assert "coordinates look like lon/lat degrees" in msg
    assert "declares EPSG:28992 (metres)" in msg
    assert "mm across" in msg  # 0.01 degrees read as metres
    assert "--crs EPSG:4326" in msg


def test_cli_info_exits_non_zero_naming_file_and_crs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twin_app.cli import main

    path = write_geojson(
        tmp_path / "bad.geojson",
        "urn:ogc:def:crs:EPSG::28992",
        [polygon("b1", square(-0.1, 51.5))],
    )
    assert main(["info", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "EPSG:28992" in err and "lon/lat degrees" in err


def test_crs_flag_reads_the_degrees_as_wgs84(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "bad.geojson", "EPSG:28992", [polygon("b1", square(-0.1, 51.5))]
    )
    (src,) = read_path(path, ReadOptions(crs="EPSG:4326"))
    assert src.crs.to_epsg() == 4326
    assert src.counts == {"buildings": 1}


def test_degrees_outside_area_of_use_wide_layer(tmp_path: Path) -> None:
    """1.5 degrees across (1.5 m as metres: not tiny) but nowhere near UTM 31N's eastings."""
    path = write_geojson(
        tmp_path / "wide.geojson",
        "EPSG:32631",
        [polygon("a", square(4.36, 52.01)), polygon("b", square(5.9, 52.5))],
    )
    with pytest.raises(CRSError, match=r"declares EPSG:32631 \(metres\).*outside its area of use"):
        read_path(path)


def test_british_grid_false_origin_is_caught_by_extent(tmp_path: Path) -> None:
    """(-0.1, 51.5) is inside the British National Grid's area of use (its false origin),
    so only the 10 mm extent gives the degrees away."""
    from pyproj import CRS

    box = projected_area_box(CRS.from_epsg(27700))
    assert box is not None and box[0] < -0.1 and box[1] < 51.5  # inside the area box
    path = write_geojson(
        tmp_path / "bng.geojson",
        "EPSG:27700",
        [polygon("b1", square(-0.1, 51.5)), polygon("b2", square(-0.09, 51.505))],
    )
    with pytest.raises(CRSError, match=r"declares EPSG:27700 \(metres\)"):
        read_path(path)


@pytest.mark.parametrize(("driver", "suffix"), [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_geopackage_and_shapefile_take_the_same_check(
    delft: Any, tmp_path: Path, driver: str, suffix: str
) -> None:
    """Real footprints reprojected to degrees but labelled RD New, as a GeoPackage/shapefile."""
    bad = delft[["geometry"]].to_crs(4326).set_crs(28992, allow_override=True)
    path = tmp_path / f"delft_degrees{suffix}"
    bad.to_file(path, driver=driver)
    with pytest.raises(CRSError, match=r"lon/lat degrees.*declares EPSG:28992 \(metres\)"):
        read_path(path)


def test_roads_layer_takes_the_same_check(tmp_path: Path) -> None:
    """Lines go through the GeoDataFrame path, not the buildings fast path."""
    lines = [
        {
            "type": "Feature",
            "properties": {"id": f"r{i}", "highway": "residential"},
            "geometry": {
                "type": "LineString",
                "coordinates": [[4.36 + i * 1e-3, 52.01], [4.361 + i * 1e-3, 52.011]],
            },
        }
        for i in range(3)
    ]
    path = write_geojson(tmp_path / "roads.geojson", "EPSG:28992", lines)
    with pytest.raises(CRSError, match="EPSG:28992"):
        read_path(path)


def test_real_rd_new_geojson_loads(delft: Any, tmp_path: Path) -> None:
    path = tmp_path / "delft_rd.geojson"
    delft.to_file(path, driver="GeoJSON")
    assert "28992" in path.read_text()[:400]  # the file declares RD New
    (src,) = read_path(path)
    assert src.crs.to_epsg() == 28992
    assert src.counts == {"buildings": 160}


def test_real_utm_inside_its_zone_loads(delft: Any, tmp_path: Path) -> None:
    path = tmp_path / "delft_utm31.gpkg"
    delft.to_crs(32631).to_file(path, driver="GPKG")
    (src,) = read_path(path)
    assert src.crs.to_epsg() == 32631
    assert src.counts == {"buildings": 160}


def test_small_local_model_near_origin_is_not_taken_for_degrees(tmp_path: Path) -> None:
    """A 4 m block in local metres at (0, 0) mislabelled RD New: its edges are metres long, not
    the 1e-4 of degrees, so it still loads (the existing out-of-area warning speaks)."""
    path = write_geojson(
        tmp_path / "local.geojson",
        "EPSG:28992",
        [polygon("b1", [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]])],
    )
    (src,) = read_path(path)
    assert src.counts == {"buildings": 1}


def write_cityjson(path: Path, crs: str, verts: list[list[float]]) -> Path:
    shell = [[[0, 1, 2, 3]], [[4, 7, 6, 5]], [[0, 4, 5, 1]], [[1, 5, 6, 2]], [[2, 6, 7, 3]]]
    shell.append([[3, 7, 4, 0]])
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "metadata": {"referenceSystem": crs},
        "CityObjects": {
            "b1": {
                "type": "Building",
                "geometry": [{"type": "Solid", "lod": "2", "boundaries": [shell]}],
            }
        },
        "vertices": verts,
    }
    path.write_text(json.dumps(doc))
    return path


def cube(x: float, y: float, d: float) -> list[list[float]]:
    base = [[x, y], [x + d, y], [x + d, y + d], [x, y + d]]
    return [[a, b, 0.0] for a, b in base] + [[a, b, 10.0] for a, b in base]


def test_cityjson_reference_system_takes_the_same_check(tmp_path: Path) -> None:
    rd = "https://www.opengis.net/def/crs/EPSG/0/7415"
    path = write_cityjson(tmp_path / "deg.city.json", rd, cube(4.36, 52.01, 0.0002))
    with pytest.raises(CRSError) as err:
        read_path(path)
    assert err.value.message.startswith(f"{path}: coordinates look like lon/lat degrees")
    assert "declares EPSG:7415 (metres)" in err.value.message
    (src,) = read_path(path, ReadOptions(crs="EPSG:4326"))
    assert src.crs.to_epsg() == 4326
    assert any("using EPSG:4326 instead" in w for w in src.report.warnings)


def test_cityjson_real_rd_coordinates_load(tmp_path: Path) -> None:
    rd = "https://www.opengis.net/def/crs/EPSG/0/7415"
    path = write_cityjson(tmp_path / "rd.city.json", rd, cube(85000.0, 447000.0, 10.0))
    (src,) = read_path(path)
    assert src.crs.to_epsg() == 7415


def test_check_is_silent_for_geographic_and_pointlike_data() -> None:
    from pyproj import CRS

    rd = CRS.from_epsg(28992)
    xy = np.array([[-0.1, 51.5], [-0.0998, 51.5002]])
    box = (-0.1, 51.5, -0.0998, 51.5002)
    check_not_lonlat(CRS.from_epsg(4326), box, xy, "x")  # geographic: nothing to check
    check_not_lonlat(rd, box, xy[:1], "x")  # one point: no evidence
    check_not_lonlat(rd, (0.0, 0.0, 0.0, 0.0), np.zeros((5, 2)), "x")  # no extent
    check_not_lonlat(rd, (np.nan, 51.5, -0.0998, 51.5002), xy, "x")  # not finite
    with pytest.raises(CRSError, match=r"^x: coordinates look like lon/lat degrees"):
        check_not_lonlat(rd, box, xy, "x")
