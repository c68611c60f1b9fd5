"""Shared fixtures: the shared sample data beside the project and small generated files."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

#: ``../shared/data`` beside the project root (real city files, not in the repository).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: The corpus of broken inputs (DESIGN.md section 9.5).
BAD_DIR = Path(__file__).resolve().parent / "data" / "bad"

#: Layers of the multi-layer GeoPackage, in the order they are written.
MULTI_LAYERS = ("buildings", "roads", "parcels", "rivers")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared sample data folder; tests that need it are skipped when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared sample data {SHARED_DATA} not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """``shared_file("osm/london.osm.pbf")``: a shared sample file, or skip if it is missing."""

    def get(relpath: str) -> Path:
        path = shared_data / relpath
        if not path.is_file():
            pytest.skip(f"shared sample file {path} not available")
        return path

    return get


@pytest.fixture(scope="session")
def bad_dir() -> Path:
    """``tests/data/bad``."""
    return BAD_DIR


@pytest.fixture(scope="session")
def multilayer_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoPackage in EPSG:28992 with layers ``buildings`` (2 polygons, heights 10 and 20 m),
    ``roads`` (2 lines), ``parcels`` (1 polygon) and ``rivers`` (1 line)."""
    import geopandas as gpd
    import shapely

    path = tmp_path_factory.mktemp("multi") / "city.gpkg"
    crs = "EPSG:28992"
    x0, y0 = 85000.0, 447000.0
    layers = {
        "buildings": gpd.GeoDataFrame(
            {"id": ["b1", "b2"], "height": [10.0, 20.0]},
            geometry=[
                shapely.box(x0, y0, x0 + 10, y0 + 10),
                shapely.box(x0 + 20, y0, x0 + 30, y0 + 10),
            ],
            crs=crs,
        ),
        "roads": gpd.GeoDataFrame(
            {
                "id": ["r1", "r2"],
                "highway": ["primary", "residential"],
                "lanes": [2.0, None],
                "maxspeed": ["30 mph", "50"],
            },
            geometry=[
                shapely.LineString([(x0 - 10, y0 - 10), (x0 + 40, y0 - 10)]),
                shapely.LineString([(x0 - 10, y0 + 20), (x0 + 40, y0 + 20)]),
            ],
            crs=crs,
        ),
        "parcels": gpd.GeoDataFrame(
            {"id": ["a1"]}, geometry=[shapely.box(x0 - 20, y0 - 20, x0 + 50, y0 + 30)], crs=crs
        ),
        "rivers": gpd.GeoDataFrame(
            {"id": ["w1"]},
            geometry=[shapely.LineString([(x0 - 20, y0 + 40), (x0 + 50, y0 + 45)])],
            crs=crs,
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MULTI_LAYERS:
            layers[name].to_file(path, layer=name, driver="GPKG")
    return path
