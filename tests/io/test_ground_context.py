"""The ground context layer (issue 10, Looks): OSM land use, parks, water and railways and
CityJSON LandUse, PlantCover and WaterBody objects.

The OSM counts are checked against GDAL's own filtering: pyogrio reads the ``multipolygons``
and ``lines`` layers with an attribute filter (OGR SQL) and the city's extent as a spatial
filter, one query per class, and the class priority is applied to the id sets here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.io.load import load_city
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.osm import read_osm
from twin_app.io.source import ReadOptions, SourceData
from twin_app.model.city import GROUND, OBJECTS, FeatureSet
from twin_app.model.style import GROUND_CLASSES

LONDON = SAMPLE_DIR / "london.osm.pbf"
TINY = Path(__file__).parent.parent / "data" / "ground.city.json"

#: OGR SQL filter of each ground class on the ``multipolygons`` layer, in priority order.
AREA_SQL = {
    "water": "\"natural\" = 'water' OR landuse IN ('reservoir', 'basin')"
    ' OR other_tags LIKE \'%"waterway"=>"riverbank"%\' OR other_tags LIKE \'%"water"=>%\'',
    "park": "leisure IN ('park', 'garden') OR \"natural\" = 'grassland'"
    " OR landuse IN ('grass', 'village_green', 'recreation_ground', 'meadow')",
    "vegetation": "\"natural\" IN ('wood', 'scrub') OR landuse = 'forest'",
    "railway land": "landuse = 'railway'",
    "residential": "landuse = 'residential'",
    "commercial": "landuse IN ('commercial', 'retail')",
    "industrial": "landuse = 'industrial'",
    "landuse": "landuse IS NOT NULL",
}
RAIL_SQL = (
    "railway IN ('rail', 'light_rail', 'narrow_gauge') AND (other_tags IS NULL"
    ' OR other_tags NOT LIKE \'%"tunnel"=>%\' OR other_tags LIKE \'%"tunnel"=>"no"%\')'
)


def _ids(path: Path, layer: str, where: str, bbox: tuple[float, ...] | None) -> set[str]:
    import pyogrio

    df = pyogrio.read_dataframe(path, layer=layer, where=where, bbox=bbox, read_geometry=False)
    if layer == "lines":
        return {f"way/{i}" for i in df["osm_id"]}
    return {
        f"way/{w}" if isinstance(w, str) else f"relation/{r}"
        for w, r in zip(df["osm_way_id"], df["osm_id"], strict=True)
    }


def independent_counts(path: Path) -> tuple[dict[str, set[str]], tuple[float, ...]]:
    """Ids per ground class by GDAL's filters, within the extent of buildings and highways."""
    import pyogrio

    b = pyogrio.read_dataframe(path, layer="multipolygons", where="building IS NOT NULL")
    h = pyogrio.read_dataframe(path, layer="lines", where="highway IS NOT NULL")
    lo = np.minimum(b.total_bounds[:2], h.total_bounds[:2])
    hi = np.maximum(b.total_bounds[2:], h.total_bounds[2:])
    bbox = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    taken: set[str] = set()
    out: dict[str, set[str]] = {}
    for name, where in AREA_SQL.items():
        ids = _ids(path, "multipolygons", where, bbox) - taken
        out[name] = ids
        taken |= ids
    out["railway"] = _ids(path, "lines", RAIL_SQL, bbox)
    return out, bbox


@pytest.fixture(scope="module")
def london() -> SourceData:
    return read_osm(LONDON, ReadOptions())[0]


def test_london_ground_classes_match_an_independent_count(london: SourceData) -> None:
    truth, _ = independent_counts(LONDON)
    g = london.ground
    assert g is not None
    skipped = sum(v for k, v in london.report.skipped.items() if "ground" in k)
    got = {name: set(g.loc[g["type"] == name, "id"]) for name, _ in GROUND_CLASSES}
    for name in truth:
        # Every feature GDAL finds is read, unless it was skipped (empty after the clip) and
        # counted; nothing of another class is added.
        assert got[name] <= truth[name], name
    missing = sum(len(truth[n] - got[n]) for n in truth)
    assert missing == skipped
    assert london.counts["ground"] == len(g) == sum(len(v) for v in got.values())
    # What the sample twin is known to hold: parks and gardens, the Thames, surface railways.
    assert len(got["park"]) > 50
    assert "relation/28934" in got["water"]  # the River Thames
    assert len(got["railway"]) >= 10
    assert g["id"].is_unique


def test_ground_is_clipped_to_the_city_and_keeps_its_tags(london: SourceData) -> None:
    _, bbox = independent_counts(LONDON)
    g = london.ground
    assert g is not None
    tb = g.total_bounds
    assert tb[0] >= bbox[0] - 1e-9 and tb[2] <= bbox[2] + 1e-9  # the Thames runs 16 km on
    thames = g.loc[g["id"] == "relation/28934"].iloc[0]
    assert thames["natural"] == "water" and thames["water"] == "river"
    park = g.loc[g["leisure"] == "park"]
    assert len(park) and (park["type"] == "park").all()
    assert set(g.loc[g["type"] == "railway", "railway"]) <= {"rail", "light_rail", "narrow_gauge"}


def _ground_set(result: Any) -> FeatureSet:
    sets = [s for s in result.city.sets if s.kind == GROUND]
    assert len(sets) == 1
    return sets[0]


def test_london_ground_mesh_is_flat_between_plane_and_roads_without_overlaps() -> None:
    import shapely

    from twin_app.io.ground import GROUND_Z_M, RAIL_Z_M
    from twin_app.io.load import ROAD_Z_M

    result = load_city([LONDON])
    fs = _ground_set(result)
    m = fs.mesh
    z = m.points[:, 2]
    assert set(np.round(np.unique(z), 3)) <= {GROUND_Z_M, RAIL_Z_M}
    assert z.min() > -0.05 and z.max() < ROAD_Z_M
    idx = m.cell_data["feature_index"]
    assert idx.min() >= 0 and idx.max() < fs.n_features
    types = fs.table["type"].to_numpy(object)
    # Parks, water and railways are drawn.
    drawn = set(types[np.unique(idx)])
    assert {"park", "water", "railway", "commercial"} <= drawn
    # No place is covered twice: the triangles' area is the area of the union of the areas.
    areas = m.areas()
    area_tris = m.points[m.triangles][:, :, 2].max(axis=1) < RAIL_Z_M - 1e-6
    src = result.sources[0]
    assert src.ground is not None
    frame = result.city.frame
    polys = src.ground.loc[src.ground["type"] != "railway"]

    def to_local(xy: np.ndarray) -> np.ndarray:
        return frame.to_local(xy[:, 0], xy[:, 1], src=src.crs)[:, :2]

    union = shapely.union_all(shapely.transform(np.asarray(polys.geometry.values), to_local))
    assert areas[area_tris].sum() == pytest.approx(union.area, rel=0.01)


def test_cityjson_landuse_plantcover_waterbody_are_a_ground_layer() -> None:
    result = load_city([TINY])
    kinds = [s.kind for s in result.city.sets]
    assert GROUND in kinds and OBJECTS not in kinds
    fs = _ground_set(result)
    t = fs.table.set_index("id")
    assert t.loc["meadow", "type"] == "landuse" and t.loc["meadow", "cityjson_type"] == "LandUse"
    assert t.loc["pond", "type"] == "water" and t.loc["pond", "name"] == "pond"
    assert t.loc["copse", "type"] == "vegetation"
    assert t.loc["meadow", "function"] == "grassland"  # attributes are kept for the Inspector
    # Coplanar in the file; drawn water over vegetation over land use, all above the ground.
    zs = {
        fid: fs.mesh.points[fs.mesh.triangles[fs.mesh.cell_data["feature_index"] == row]][
            :, :, 2
        ].mean()
        for row, fid in enumerate(fs.ids)
    }
    assert 0.0 < zs["meadow"] < zs["copse"] < zs["pond"] < 0.15


def test_delft_ground_objects(shared_file: Callable[[str], Path]) -> None:
    result = load_city([shared_file("cityjson/delft.city.json")])
    fs = _ground_set(result)
    counts = fs.table["cityjson_type"].value_counts().to_dict()
    assert counts == {"PlantCover": 126, "LandUse": 81, "WaterBody": 3}
    objects = [s for s in result.city.sets if s.kind == OBJECTS]
    assert objects and not set(objects[0].table["type"]) & {"PlantCover", "LandUse", "WaterBody"}


def test_overlaps_are_cut_by_class_priority() -> None:
    """A pond in a park in a residential area: each place keeps the class drawn over it."""
    import shapely

    from twin_app.io.ground import cut_overlaps

    geoms = np.array(
        [shapely.box(0, 0, 100, 100), shapely.box(10, 10, 50, 50), shapely.box(20, 20, 30, 30)],
        dtype=object,
    )
    out = cut_overlaps(geoms, np.array(["residential", "park", "water"], dtype=object))
    assert [g.area for g in out] == [10000 - 1600, 1600 - 100, 100]
    assert shapely.union_all(out).area == 10000
    # Within one class nothing is cut (same colour), and a lone polygon is kept as it is.
    same = cut_overlaps(geoms[:2], np.array(["park", "park"], dtype=object))
    assert [g.area for g in same] == [10000, 1600]
