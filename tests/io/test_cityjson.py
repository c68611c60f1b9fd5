"""Tests of the CityJSON reader on the shared sample files and on tiny hand-made files."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.errors import CRSError, GeometryError, InputError, TwinError
from twin_app.io.cityjson import read_cityjson
from twin_app.io.source import CityObjects, ReadOptions, SourceData
from twin_app.model.mesh import SURFACE_GROUND, SURFACE_OTHER, SURFACE_ROOF, SURFACE_WALL

DATA = Path(__file__).parents[3] / "shared" / "data" / "cityjson"
BAD = Path(__file__).parents[1] / "data" / "bad"

SHARED = {
    "DenHaag_01.city.json": 7415,
    "3-20-DELFSHAVEN_rotterdam_v1.0.city.json": 28992,
    "delft.city.json": 7415,
    "zurich_subset_lod2.city.json": 2056,
}

RD = "https://www.opengis.net/def/crs/EPSG/0/7415"
ROOF = {"type": "RoofSurface"}
WALL = {"type": "WallSurface"}
GROUND = {"type": "GroundSurface"}


# --------------------------------------------------------------------------- helpers


def shared(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"shared CityJSON sample {path} not available")
    return path


def write_cj(
    tmp_path: Path,
    objects: dict[str, Any],
    vertices: list[list[float]],
    *,
    name: str = "tiny.city.json",
    version: str = "2.0",
    crs: str | None = RD,
    transform: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    doc: dict[str, Any] = {"type": "CityJSON", "version": version, "CityObjects": objects}
    doc["vertices"] = vertices
    if transform is not None:
        doc["transform"] = transform
    if crs is not None:
        doc["metadata"] = {"referenceSystem": crs}
    doc.update(extra or {})
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def read(path: Path, **kw: Any) -> SourceData:
    return read_cityjson(path, ReadOptions(**kw))


def objs(src: SourceData) -> CityObjects:
    assert src.objects is not None
    return src.objects


def tri_normals(o: CityObjects) -> np.ndarray:
    v, t = o.vertices, o.triangles
    return np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])


def tri_areas(o: CityObjects) -> np.ndarray:
    return 0.5 * np.linalg.norm(tri_normals(o), axis=1)


def box(x0: float, y0: float, x1: float, y1: float, z0: float, z1: float):
    """Vertices and an outward-oriented Solid shell (ground, roof, 4 walls) of a box."""
    verts = [
        [x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
        [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1],
    ]  # fmt: skip
    shell = [
        [[0, 3, 2, 1]],  # ground, seen from below: counter-clockwise
        [[4, 5, 6, 7]],  # roof
        [[0, 1, 5, 4]],
        [[1, 2, 6, 5]],
        [[2, 3, 7, 6]],
        [[3, 0, 4, 7]],
    ]
    semantics = {"surfaces": [GROUND, ROOF, WALL], "values": [[0, 1, 2, 2, 2, 2]]}
    return verts, shell, semantics


def offset(shell: list[Any], n: int) -> list[Any]:
    return [[[i + n for i in ring] for ring in surf] for surf in shell]


def independent_counts(doc: dict[str, Any]) -> dict[str, int]:
    by_type = Counter(o["type"] for o in doc["CityObjects"].values())
    expected = {
        "city_objects": len(doc["CityObjects"]),
        "buildings": by_type.pop("Building", 0),
        "building_parts": by_type.pop("BuildingPart", 0),
    }
    expected.update(by_type)
    return expected


# --------------------------------------------------------------------------- shared samples


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_files_read(name: str) -> None:
    path = shared(name)
    doc = json.loads(path.read_text())
    src = read(path)
    o = objs(src)

    assert src.kind == "cityjson" and src.layer is None and src.path == path
    assert src.report.source == str(path)  # messages name the full path (issue 10)
    assert src.crs.to_epsg() == SHARED[name]
    assert src.counts == independent_counts(doc)

    k = len(doc["CityObjects"])
    assert list(o.ids) == list(doc["CityObjects"])
    assert list(o.types) == [c["type"] for c in doc["CityObjects"].values()]
    assert len(o.parent) == len(o.lod) == len(o.attributes) == k
    assert o.vertices.shape == (len(doc["vertices"]), 3)
    assert o.triangles.shape[0] > 0 and o.triangles.shape[1] == 3
    assert o.triangles.dtype == np.int64
    assert o.tri_object.dtype == np.int32 and o.tri_surface.dtype == np.uint8
    assert len(o.tri_object) == len(o.tri_surface) == len(o.triangles)
    assert o.triangles.min() >= 0 and o.triangles.max() < len(o.vertices)
    assert o.tri_object.min() >= 0 and o.tri_object.max() < k
    assert set(np.unique(o.tri_surface)) <= {0, 1, 2, 3}

    # Every object with geometry gets triangles; objects without geometry get none.
    with_geom = np.array([bool(c.get("geometry")) for c in doc["CityObjects"].values()])
    has_tris = np.bincount(o.tri_object, minlength=k) > 0
    assert not np.any(has_tris & ~with_geom)
    assert np.mean(has_tris[with_geom]) > 0.99
    assert all((lod != "") == g for lod, g in zip(o.lod, with_geom, strict=True))

    # Transform applied: vertices lie in the file's declared geographical extent.
    extent = doc.get("metadata", {}).get("geographicalExtent")
    if extent:
        lo, hi = np.array(extent[:3]), np.array(extent[3:])
        used = o.vertices[np.unique(o.triangles)]
        assert np.all(used >= lo - 1.0) and np.all(used <= hi + 1.0)

    # Triangle areas add up to the polygons' areas (Newell, outer minus holes) of the used LoD.
    tr = doc.get("transform", {"scale": [1, 1, 1], "translate": [0, 0, 0]})
    verts = np.array(doc["vertices"], float) * tr["scale"] + tr["translate"]
    depth = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2, "MultiSolid": 3}

    def surfaces(b: list[Any], d: int):
        if d == 1:
            yield from b
        else:
            for x in b:
                yield from surfaces(x, d - 1)

    def area(ring: list[int]) -> float:
        p = verts[ring] - verts[ring[0]]
        return 0.5 * float(np.linalg.norm(np.cross(p, np.roll(p, -1, axis=0)).sum(axis=0)))

    total = 0.0
    for c in doc["CityObjects"].values():
        if c.get("geometry"):
            g = max(c["geometry"], key=lambda g: float(g["lod"]))
            for s in surfaces(g["boundaries"], depth[g["type"]]):
                total += area(s[0]) - sum(area(h) for h in s[1:])
    assert tri_areas(o).sum() == pytest.approx(total, rel=1e-4)


def test_denhaag_parts_parents_and_solids() -> None:
    path = shared("DenHaag_01.city.json")
    doc = json.loads(path.read_text())
    src = read(path)
    o = objs(src)
    assert src.counts == {
        "city_objects": 2498,
        "buildings": 844,
        "building_parts": 1653,
        "TINRelief": 1,
    }
    ids = list(o.ids)
    for i, (oid, c) in enumerate(doc["CityObjects"].items()):
        if c.get("parents"):
            assert o.parent[i] >= 0 and ids[o.parent[i]] == c["parents"][0], oid
        else:
            assert o.parent[i] == -1
    parts = o.types == "BuildingPart"
    assert np.all(o.types[o.parent[parts]] == "Building")
    assert set(o.lod[parts]) == {"2"}

    # The BuildingParts are closed Solids: signed volume > 0 means outward triangles.
    v, t = o.vertices - o.vertices.mean(axis=0), o.triangles
    vol = np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])) / 6.0
    per_object = np.bincount(o.tri_object, weights=vol, minlength=len(o.ids))
    assert np.all(per_object[parts] > 0)
    # Semantics: grounds face down, nearly all roofs face up.
    nz = tri_normals(o)[:, 2]
    assert np.all(nz[o.tri_surface == SURFACE_GROUND] < 0)
    assert np.mean(nz[o.tri_surface == SURFACE_ROOF] > 0) > 0.98
    # The terrain is an ordinary object without semantics.
    tin = np.flatnonzero(o.types == "TINRelief")
    assert len(tin) == 1
    assert np.all(o.tri_surface[o.tri_object == tin[0]] == SURFACE_OTHER)
    assert np.count_nonzero(o.tri_object == tin[0]) > 1000


def test_delfshaven_v10_with_dangling_textures() -> None:
    path = shared("3-20-DELFSHAVEN_rotterdam_v1.0.city.json")
    doc = json.loads(path.read_text())
    textures = doc.get("appearance", {}).get("textures", [])
    assert textures and not (path.parent / textures[0]["image"]).exists()
    src = read(path)
    o = objs(src)
    assert src.counts["buildings"] == 853
    assert set(o.lod) == {"2"}  # numeric lod 2 in 1.0 -> "2"
    assert {SURFACE_ROOF, SURFACE_WALL, SURFACE_GROUND} <= set(np.unique(o.tri_surface))
    assert src.report.skipped["degenerate surfaces"] > 0  # the file has zero-area polygons


def test_delft_types_and_lod1() -> None:
    src = read(shared("delft.city.json"))
    o = objs(src)
    assert src.counts == {
        "city_objects": 570,
        "buildings": 160,
        "building_parts": 0,
        "Road": 143,
        "PlantCover": 126,
        "LandUse": 81,
        "GenericCityObject": 54,
        "Bridge": 3,
        "WaterBody": 3,
    }
    assert set(o.lod) == {"1"}
    # LoD1 solids of buildings are closed and outward.
    v, t = o.vertices - o.vertices.mean(axis=0), o.triangles
    vol = np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])) / 6.0
    per_object = np.bincount(o.tri_object, weights=vol, minlength=len(o.ids))
    assert np.all(per_object[o.types == "Building"] > 0)


def test_zurich_parts_and_lod_option() -> None:
    path = shared("zurich_subset_lod2.city.json")
    src = read(path)
    o = objs(src)
    assert src.counts == {"city_objects": 210, "buildings": 49, "building_parts": 161}
    parts = o.types == "BuildingPart"
    assert np.all(o.parent[parts] >= 0)
    assert np.all(o.types[o.parent[parts]] == "Building")
    assert np.all(o.parent[~parts] == -1)
    # Buildings hold no geometry of their own: all triangles are the parts'.
    assert np.all(parts[o.tri_object])
    # Asking for a LoD the file lacks falls back to the highest, with one warning.
    src1 = read(path, lod="1")
    assert len(objs(src1).triangles) == len(o.triangles)
    assert any("no LoD 1 geometry" in w for w in src1.report.warnings)


# --------------------------------------------------------------------------- hand-made files


def solid(shell: list[Any], sem: dict[str, Any] | None = None, lod: Any = "1") -> dict[str, Any]:
    g: dict[str, Any] = {"type": "Solid", "lod": lod, "boundaries": [shell]}
    if sem is not None:
        g["semantics"] = sem
    return g


def test_lod1_box_roof_area_equals_footprint(tmp_path: Path) -> None:
    # Integer vertices in millimetres, as CityJSON stores them, plus a transform.
    verts, shell, sem = box(0, 0, 12500, 8000, 0, 6000)
    path = write_cj(
        tmp_path,
        {"b": {"type": "Building", "geometry": [solid(shell, sem)]}},
        verts,
        transform={"scale": [0.001, 0.001, 0.001], "translate": [85000.0, 447000.0, 1.0]},
    )
    o = objs(read(path))
    np.testing.assert_allclose(o.vertices[0], [85000.0, 447000.0, 1.0])
    np.testing.assert_allclose(o.vertices[6], [85012.5, 447008.0, 7.0])
    areas = tri_areas(o)
    assert areas[o.tri_surface == SURFACE_ROOF].sum() == pytest.approx(12.5 * 8.0)
    assert areas[o.tri_surface == SURFACE_GROUND].sum() == pytest.approx(12.5 * 8.0)
    assert areas[o.tri_surface == SURFACE_WALL].sum() == pytest.approx(2 * (12.5 + 8.0) * 6.0)
    assert len(o.triangles) == 12
    assert list(o.lod) == ["1"]


def test_cube_normals_point_outward(tmp_path: Path) -> None:
    verts, shell, sem = box(10, 20, 13, 23, 5, 8)
    path = write_cj(
        tmp_path,
        {"c": {"type": "Building", "geometry": [solid(shell, sem)]}},
        verts,
        crs="EPSG:28992",
    )
    o = objs(read(path))
    centre = np.array([11.5, 21.5, 6.5])
    tri_centre = o.vertices[o.triangles].mean(axis=1)
    assert len(o.triangles) == 12
    assert np.all(np.einsum("ij,ij->i", tri_normals(o), tri_centre - centre) > 0)


def test_reversed_cube_stays_reversed(tmp_path: Path) -> None:
    # Winding comes from the file: an inside-out cube gives inward normals, not "repaired" ones.
    verts, shell, _ = box(0, 0, 2, 2, 0, 2)
    shell = [[ring[::-1] for ring in surf] for surf in shell]
    path = write_cj(tmp_path, {"c": {"type": "Building", "geometry": [solid(shell)]}}, verts)
    o = objs(read(path))
    tri_centre = o.vertices[o.triangles].mean(axis=1)
    assert np.all(np.einsum("ij,ij->i", tri_normals(o), tri_centre - 1.0) < 0)


def test_semantic_codes(tmp_path: Path) -> None:
    verts = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]
    surfaces = [[[0, 1, 2]], [[0, 2, 3]], [[0, 1, 4]], [[1, 2, 4]], [[2, 3, 4]], [[3, 0, 4]]]
    geom = {
        "type": "MultiSurface",
        "lod": "2",
        "boundaries": surfaces,
        "semantics": {
            "surfaces": [ROOF, WALL, GROUND, {"type": "ClosureSurface"}],
            "values": [0, 1, 2, 3, None, 9],
        },
    }
    plain = {"type": "MultiSurface", "lod": "2", "boundaries": surfaces[:2]}
    path = write_cj(
        tmp_path,
        {
            "a": {"type": "Building", "geometry": [geom]},
            "b": {"type": "Building", "geometry": [plain]},
        },
        verts,
    )
    o = objs(read(path))
    a = o.tri_object == 0
    assert list(o.tri_surface[a]) == [
        SURFACE_ROOF,
        SURFACE_WALL,
        SURFACE_GROUND,
        SURFACE_OTHER,
        SURFACE_OTHER,
        SURFACE_OTHER,
    ]
    assert list(o.tri_surface[~a]) == [SURFACE_OTHER, SURFACE_OTHER]


def test_multisolid_semantics_depth(tmp_path: Path) -> None:
    v1, s1, _ = box(0, 0, 1, 1, 0, 1)
    v2, s2, _ = box(5, 0, 6, 1, 0, 1)
    values = [[[0, 1, 2, 2, 2, 2]], [[0, 1, None, None, None, None]]]
    geom = {
        "type": "CompositeSolid",
        "lod": "2",
        "boundaries": [[s1], [offset(s2, 8)]],
        "semantics": {"surfaces": [GROUND, ROOF, WALL], "values": values},
    }
    path = write_cj(tmp_path, {"a": {"type": "Building", "geometry": [geom]}}, v1 + v2)
    o = objs(read(path))
    assert len(o.triangles) == 24
    codes = o.tri_surface.reshape(2, 6, 2)[:, :, 0]  # 2 solids x 6 quads x 2 triangles
    assert codes[0].tolist() == [SURFACE_GROUND, SURFACE_ROOF] + [SURFACE_WALL] * 4
    assert codes[1].tolist() == [SURFACE_GROUND, SURFACE_ROOF] + [SURFACE_OTHER] * 4


def roof_object(rings: list[list[int]]) -> dict[str, Any]:
    geom = {
        "type": "MultiSurface",
        "lod": "2",
        "boundaries": [rings],
        "semantics": {"surfaces": [ROOF], "values": [0]},
    }
    return {"type": "Building", "geometry": [geom]}


def test_polygons_with_holes_concave_and_closed_rings(tmp_path: Path) -> None:
    verts = [
        # 0-3: 10 x 10 square at z=3, 4-7: a 2 x 2 hole (clockwise)
        [0, 0, 3], [10, 0, 3], [10, 10, 3], [0, 10, 3],
        [4, 4, 3], [4, 6, 3], [6, 6, 3], [6, 4, 3],
        # 8-13: an L shape (concave hexagon), area 3 x 1 + 1 x 2 = 5
        [20, 0, 0], [23, 0, 0], [23, 1, 0], [21, 1, 0], [21, 3, 0], [20, 3, 0],
        # 14-17: a concave "dart" quad, area 6
        [30, 0, 0], [32, 1, 0], [34, 0, 0], [32, 4, 0],
    ]  # fmt: skip
    objects = {
        "holed": roof_object([[0, 1, 2, 3], [4, 5, 6, 7]]),
        "L": roof_object([[8, 9, 10, 11, 12, 13]]),
        "L_down": roof_object([[13, 12, 11, 10, 9, 8]]),
        "dart": roof_object([[14, 15, 16, 17]]),
        "closed": roof_object([[0, 1, 2, 3, 0]]),  # first point repeated at the end
    }
    o = objs(read(write_cj(tmp_path, objects, verts)))
    areas = tri_areas(o)
    per = np.bincount(o.tri_object, weights=areas, minlength=5)
    np.testing.assert_allclose(per, [100 - 4, 5, 5, 6, 100])
    nz = tri_normals(o)[:, 2]
    up = np.isin(o.tri_object, [0, 1, 3, 4])
    assert np.all(nz[up] > 0)
    assert np.all(nz[o.tri_object == 2] < 0)
    assert np.count_nonzero(o.tri_object == 4) == 2  # closed quad -> two triangles


def test_vertical_and_tilted_polygons_keep_orientation(tmp_path: Path) -> None:
    # A pentagon in the plane x = 2 (a gable wall), facing +x, and the same facing -x.
    verts = [[2, 0, 0], [2, 4, 0], [2, 4, 3], [2, 2, 5], [2, 0, 3]]
    objects = {
        "east": roof_object([[0, 1, 2, 3, 4]]),
        "west": roof_object([[4, 3, 2, 1, 0]]),
    }
    o = objs(read(write_cj(tmp_path, objects, verts)))
    n = tri_normals(o)
    assert np.all(n[o.tri_object == 0, 0] > 0) and np.all(n[o.tri_object == 1, 0] < 0)
    np.testing.assert_allclose(np.bincount(o.tri_object, weights=tri_areas(o)), [16, 16])


def test_degenerate_surfaces_are_skipped_and_counted(tmp_path: Path) -> None:
    verts = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [2, 2, 0], [0, 1, 0]]
    objects = {
        "ok": roof_object([[0, 1, 2]]),
        "repeated": roof_object([[0, 0, 1]]),
        "collinear": roof_object([[0, 2, 3]]),
        "short": roof_object([[0, 1]]),
    }
    src = read(write_cj(tmp_path, objects, verts))
    o = objs(src)
    assert o.tri_object.tolist() == [0]
    assert src.report.skipped["degenerate surfaces"] == 3
    assert list(o.ids) == ["ok", "repeated", "collinear", "short"]  # objects stay


def test_lod_selection(tmp_path: Path) -> None:
    v1, s1, _ = box(0, 0, 1, 1, 0, 5)
    v2, s2, _ = box(0, 0, 1, 1, 0, 9)
    lod1 = solid(s1, lod="1")
    lod22 = solid(offset(s2, 8), lod="2.2")
    objects = {
        "both": {"type": "Building", "geometry": [lod22, lod1]},
        "only2": {"type": "Building", "geometry": [solid(offset(s2, 8), lod="2.2")]},
        "none": {"type": "Building"},
    }
    path = write_cj(tmp_path, objects, v1 + v2)

    def top(src: SourceData, i: int) -> float:
        o = objs(src)
        return float(o.vertices[o.triangles[o.tri_object == i]][..., 2].max())

    default = read(path)
    assert list(objs(default).lod) == ["2.2", "2.2", ""]
    assert top(default, 0) == 9.0
    chosen = read(path, lod="1")
    assert list(objs(chosen).lod) == ["1", "2.2", ""]
    assert top(chosen, 0) == 5.0 and top(chosen, 1) == 9.0
    assert any("1 objects have no LoD 1" in w and "only2" in w for w in chosen.report.warnings)
    assert list(objs(read(path, lod="2.2")).lod) == ["2.2", "2.2", ""]


def test_v10_numeric_lod_and_no_transform(tmp_path: Path) -> None:
    verts, shell, sem = box(85000.5, 447000.25, 85010.5, 447004.25, 0, 3)
    obj = {"type": "Building", "geometry": [solid(shell, sem, lod=2.0)]}
    path = write_cj(tmp_path, {"b": obj}, verts, version="1.0", crs="urn:ogc:def:crs:EPSG::28992")
    src = read(path)
    o = objs(src)
    assert src.crs.to_epsg() == 28992
    assert list(o.lod) == ["2"]
    np.testing.assert_allclose(o.vertices, np.array(verts, dtype=float))
    assert tri_areas(o)[o.tri_surface == SURFACE_ROOF].sum() == pytest.approx(40.0)


def test_parents_attributes_and_objects_without_geometry(tmp_path: Path) -> None:
    verts, shell, sem = box(0, 0, 1, 1, 0, 1)
    objects = {
        "bldg": {
            "type": "Building",
            "attributes": {"yearOfConstruction": 1930, "address": {"street": "Laan"}},
            "children": ["part1", "part2"],
        },
        "part1": {
            "type": "BuildingPart",
            "parents": ["bldg"],
            "attributes": {"roofType": "1000"},
            "geometry": [solid(shell, sem)],
        },
        "part2": {"type": "BuildingPart", "parents": ["bldg"], "geometry": [solid(shell, sem)]},
        "orphan": {"type": "BuildingPart", "parents": ["gone"], "geometry": [solid(shell, sem)]},
    }
    src = read(write_cj(tmp_path, objects, verts))
    o = objs(src)
    assert o.parent.tolist() == [-1, 0, 0, -1]
    assert any("orphan" in w and "parent" in w for w in src.report.warnings)
    assert src.counts == {"city_objects": 4, "buildings": 1, "building_parts": 3}
    assert np.bincount(o.tri_object, minlength=4).tolist() == [0, 12, 12, 12]
    assert list(o.lod) == ["", "1", "1", "1"]
    attrs = o.attributes
    assert len(attrs) == 4 and set(attrs.columns) == {"yearOfConstruction", "address", "roofType"}
    assert attrs["yearOfConstruction"].iloc[0] == 1930
    assert json.loads(attrs["address"].iloc[0]) == {"street": "Laan"}
    assert attrs["roofType"].iloc[1] == "1000"
    assert attrs["roofType"].isna().tolist() == [True, False, True, True]


def test_geometry_instance(tmp_path: Path) -> None:
    # A unit square template, scaled by 2, rotated 90 degrees about z, at reference point 1.
    templates = {
        "templates": [
            {
                "type": "MultiSurface",
                "lod": "1",
                "boundaries": [[[0, 1, 2, 3]]],
                "semantics": {"surfaces": [ROOF], "values": [0]},
            }
        ],
        "vertices-templates": [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]],
    }
    c, s = 0.0, 1.0
    matrix = [2 * c, -2 * s, 0, 0, 2 * s, 2 * c, 0, 0, 0, 0, 2, 1, 0, 0, 0, 1]
    verts = [[0, 0, 0], [100, 200, 10]]
    instance = {
        "type": "GeometryInstance",
        "template": 0,
        "boundaries": [1],
        "transformationMatrix": matrix,
    }
    objects = {
        "tree": {"type": "SolitaryVegetationObject", "geometry": [instance]},
        "bad": {"type": "SolitaryVegetationObject", "geometry": [{**instance, "template": 5}]},
    }
    src = read(write_cj(tmp_path, objects, verts, extra={"geometry-templates": templates}))
    o = objs(src)
    used = o.vertices[np.unique(o.triangles)]
    np.testing.assert_allclose(
        sorted(map(tuple, used)),
        sorted([(100, 200, 11), (100, 202, 11), (98, 202, 11), (98, 200, 11)]),
    )
    assert tri_areas(o).sum() == pytest.approx(4.0)
    assert np.all(tri_normals(o)[:, 2] > 0) and np.all(o.tri_surface == SURFACE_ROOF)
    assert list(o.lod) == ["1", ""]
    assert src.report.skipped["geometry instances with a bad template"] == 1


def test_bad_index_object_is_skipped_and_named(tmp_path: Path) -> None:
    verts, shell, sem = box(0, 0, 1, 1, 0, 1)
    broken = offset(shell, 0)
    broken[3] = [[1, 2, 66, 5]]
    objects = {
        "good": {"type": "Building", "geometry": [solid(shell, sem)]},
        "broken": {"type": "Building", "geometry": [solid(broken, sem)]},
        "text": {"type": "Building", "geometry": [solid([[[0, 1, "2"]]])]},
    }
    src = read(write_cj(tmp_path, objects, verts))
    o = objs(src)
    assert src.report.skipped["objects with bad vertex indices"] == 2
    assert any("broken" in w and "66" in w for w in src.report.warnings)
    assert np.all(o.tri_object == 0) and len(o.triangles) == 12
    assert list(o.ids) == ["good", "broken", "text"]
    assert list(o.lod) == ["1", "", ""]


def test_empty_geometry_is_skipped(tmp_path: Path) -> None:
    verts, shell, sem = box(0, 0, 1, 1, 0, 1)
    objects = {
        "good": {"type": "Building", "geometry": [solid(shell, sem)]},
        "empty": {
            "type": "Building",
            "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": []}],
        },
        "points": {
            "type": "GenericCityObject",
            "geometry": [{"type": "MultiPoint", "lod": "1", "boundaries": [0, 1]}],
        },
    }
    src = read(write_cj(tmp_path, objects, verts))
    assert src.report.skipped["empty geometries"] == 1
    assert src.report.skipped["objects with only point or line geometry"] == 1
    assert list(objs(src).lod) == ["1", "", ""]


def test_crs_fallbacks(tmp_path: Path) -> None:
    verts, shell, _ = box(4.35, 52.0, 4.3501, 52.0001, 0, 10)
    lonlat = write_cj(
        tmp_path, {"b": {"type": "Building", "geometry": [solid(shell)]}}, verts, crs=None
    )
    src = read(lonlat)
    assert src.crs.to_epsg() == 4326
    assert any("lon/lat" in w for w in src.report.warnings)

    projected = BAD / "cityjson_no_crs_projected.city.json"
    assert read(projected, crs="EPSG:28992").crs.to_epsg() == 28992
    with pytest.raises(CRSError, match="pass --crs"):
        read(projected)


def test_unsupported_version_warns_and_reads(tmp_path: Path) -> None:
    verts, shell, _ = box(0, 0, 1, 1, 0, 1)
    src = read(
        write_cj(
            tmp_path, {"b": {"type": "Building", "geometry": [solid(shell)]}}, verts, version="3.0"
        )
    )
    assert any("version 3.0" in w for w in src.report.warnings)
    assert len(objs(src).triangles) == 12


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("cityjson_truncated.city.json", InputError, "line 7, column 1"),
        ("cityjson_bad_index.city.json", GeometryError, "building-bad-index"),
        ("cityjson_empty_geometry.city.json", GeometryError, "building-empty"),
        ("cityjson_not_cityjson.city.json", InputError, "not a CityJSON file"),
        ("cityjson_no_crs_projected.city.json", CRSError, "no referenceSystem"),
    ],
)
def test_bad_files_raise_one_line_errors(name: str, error: type[TwinError], words: str) -> None:
    path = BAD / name
    assert path.is_file() and path.stat().st_size < 1000
    with pytest.raises(error) as info:
        read(path)
    message = str(info.value)
    assert name in message and words in message
    assert "\n" not in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere\.city\.json.*not found"):
        read(tmp_path / "nothere.city.json")
    folder = tmp_path / "folder.city.json"
    folder.mkdir()
    with pytest.raises(InputError, match=r"folder\.city\.json.*directory"):
        read(folder)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1, 2, 3]", "not a CityJSON file"),
        ('{"type": "CityJSON", "version": "2.0", "vertices": []}', "no 'CityObjects'"),
        (
            '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": []}',
            "no CityObjects",
        ),
        ('{"type": "CityJSONFeature", "CityObjects": {}}', "Text Sequences"),
        (
            '{"type": "CityJSON", "CityObjects": {"a": {"type": "Building"}}, "vertices": [[1, 2]]}',
            "vertices[0]",
        ),
        ("", "invalid JSON at line 1, column 1"),
    ],
)
def test_other_broken_headers(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "broken.city.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read(path)
    assert "broken.city.json" in str(info.value) and words in str(info.value)


def test_no_surface_geometry_at_all(tmp_path: Path) -> None:
    path = write_cj(tmp_path, {"a": {"type": "Building"}}, [[0, 0, 0]], name="bare.city.json")
    with pytest.raises(GeometryError, match=r"bare\.city\.json"):
        read(path)


def test_nan_free_and_finite(tmp_path: Path) -> None:
    verts, shell, sem = box(0, 0, 1, 1, 0, 1)
    o = objs(
        read(
            write_cj(tmp_path, {"b": {"type": "Building", "geometry": [solid(shell, sem)]}}, verts)
        )
    )
    assert np.isfinite(o.vertices).all()
    assert math.isclose(tri_areas(o).sum(), 6.0)


def test_a_file_cut_inside_a_string_says_it_looks_truncated(tmp_path: Path) -> None:
    verts, shell, _ = box(0, 0, 1, 1, 0, 1)
    whole = write_cj(
        tmp_path, {"building-1": {"type": "Building", "geometry": [solid(shell)]}}, verts
    )
    text = whole.read_text(encoding="utf-8")
    cut = whole.with_name("cut.city.json")
    cut.write_text(text[: text.index("building-1") + 4], encoding="utf-8")  # inside the id
    with pytest.raises(InputError) as info:
        read(cut)
    message = str(info.value)
    assert "a string starts here and never ends (the file looks truncated)" in message
    assert "\n" not in message and message.startswith(f"{cut}: invalid JSON at line ")
