"""IFC placement: IfcSite reference point with true north, IfcMapConversion, the user's --at."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from twin_app.io.load import load_city
from twin_app.io.registry import read_path
from twin_app.io.source import ReadOptions

IFC_DIR = Path("/work/shared/data/ifc")
for _p in Path(__file__).resolve().parents:
    if (_p / "shared" / "data" / "ifc").exists():
        IFC_DIR = _p / "shared" / "data" / "ifc"
        break
FZK = IFC_DIR / "AC20-FZK-Haus.ifc"
HOUSE = IFC_DIR / "IfcOpenHouse_IFC4.ifc"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_APP_CACHE", str(tmp_path / "cache"))


def tiny_ifc4(tmp_path: Path, map_conversion: bool) -> Path:
    """A one-wall IFC4 file made with ifcopenshell.api, optionally with an IfcMapConversion
    to EPSG:25832 (eastings 458870, northings 5438780, height 110, x axis rotated 30 degrees)."""
    import ifcopenshell
    import ifcopenshell.api

    f = ifcopenshell.file(schema="IFC4")
    proj = ifcopenshell.api.run("root.create_entity", f, ifc_class="IfcProject", name="P")
    ifcopenshell.api.run("unit.assign_unit", f, length={"is_metric": True, "raw": "METERS"})
    ctx = ifcopenshell.api.run("context.add_context", f, context_type="Model")
    body = ifcopenshell.api.run(
        "context.add_context",
        f,
        context_type="Model",
        context_identifier="Body",
        target_view="MODEL_VIEW",
        parent=ctx,
    )
    site = ifcopenshell.api.run("root.create_entity", f, ifc_class="IfcSite", name="S")
    ifcopenshell.api.run("aggregate.assign_object", f, relating_object=proj, products=[site])
    wall = ifcopenshell.api.run("root.create_entity", f, ifc_class="IfcWall", name="W")
    rep = ifcopenshell.api.run(
        "geometry.add_wall_representation", f, context=body, length=5, height=3, thickness=0.2
    )
    ifcopenshell.api.run("geometry.assign_representation", f, product=wall, representation=rep)
    ifcopenshell.api.run("geometry.edit_object_placement", f, product=wall, matrix=np.eye(4))
    ifcopenshell.api.run("spatial.assign_container", f, relating_structure=site, products=[wall])
    if map_conversion:
        crs = f.create_entity("IfcProjectedCRS", Name="EPSG:25832")
        f.create_entity(
            "IfcMapConversion",
            SourceCRS=ctx,
            TargetCRS=crs,
            Eastings=458870.0,
            Northings=5438780.0,
            OrthogonalHeight=110.0,
            XAxisAbscissa=math.cos(math.radians(30)),
            XAxisOrdinate=math.sin(math.radians(30)),
            Scale=1.0,
        )
    path = tmp_path / ("mapconv.ifc" if map_conversion else "plain.ifc")
    f.write(str(path))
    return path


def test_map_conversion_origin_lands_at_its_eastings_northings_height(tmp_path: Path) -> None:
    (src,) = read_path(tiny_ifc4(tmp_path, map_conversion=True))
    assert src.ifc is not None
    g = src.ifc.info.georef
    assert g.method == "map_conversion" and g.crs == "EPSG:25832"
    assert g.rotation_deg == pytest.approx(30.0)
    assert src.crs.to_epsg() == 25832
    # the wall's first corner is the model origin (0, 0, 0); (5, 0, 0) is its other end
    p = src.ifc.points
    corner = np.argmin(np.abs(p[:, 0] - 458870.0) + np.abs(p[:, 1] - 5438780.0) + p[:, 2] ** 2)
    assert p[corner] == pytest.approx([458870.0, 5438780.0, 0.0], abs=1e-6)
    assert src.ifc.base_z == 110.0
    end = [458870.0 + 5 * math.cos(math.radians(30)), 5438780.0 + 5 * math.sin(math.radians(30))]
    assert np.min(np.hypot(p[:, 0] - end[0], p[:, 1] - end[1])) < 1e-6
    # in a twin framed on it the origin lies at its E/N in the frame's CRS (same CRS here)
    res = load_city([src.path])
    frame = res.city.frame
    local = res.city.sets[0].mesh.points
    world = local[:, :2] + np.array(frame.origin[:2])
    assert np.min(np.hypot(world[:, 0] - 458870.0, world[:, 1] - 5438780.0)) < 1e-6


@pytest.mark.skipif(not FZK.exists(), reason="shared IFC files absent")
def test_fzk_site_reference_point_and_true_north() -> None:
    (src,) = read_path(FZK)
    assert src.ifc is not None
    g = src.ifc.info.georef
    assert g.method == "site"
    assert g.y == pytest.approx(49.100435, abs=1e-6)
    assert g.x == pytest.approx(8.436539, abs=1e-6)
    assert g.z == pytest.approx(110.0)
    # TrueNorth (0.766, 0.643): north is 40 degrees counter-clockwise of model x, so model x is
    # 50 degrees counter-clockwise of east and true north is -50 degrees from model y
    north_from_x = math.degrees(math.atan2(0.643, 0.766))
    assert g.rotation_deg == pytest.approx(90.0 - north_from_x, abs=0.05)
    assert g.rotation_deg == pytest.approx(50.0, abs=0.1)
    res = load_city([FZK])
    frame = res.city.frame
    fs = res.city.sets[0]
    lon, lat = frame.to_lonlat(np.array([[0.0, 0.0]]))[0]
    # the twin is framed on the house, whose model origin is its site reference point
    centre = fs.mesh.points[:, :2].mean(axis=0)
    clon, clat = frame.to_lonlat(centre[None, :])[0]
    assert abs(clat - 49.100435) < 2e-4 and abs(clon - 8.436539) < 3e-4
    assert abs(lat - 49.100435) < 2e-4 and abs(lon - 8.436539) < 3e-4


def test_user_placement_and_the_warning_without_georeference(tmp_path: Path) -> None:
    path = tiny_ifc4(tmp_path, map_conversion=False)
    (src,) = read_path(path)
    assert src.ifc is not None and src.ifc.info.georef.method == "none"
    assert any("--at LON,LAT" in w for w in src.report.warnings)
    (src,) = read_path(path, ReadOptions(at_lonlat=(8.4, 49.0), rotate_deg=90.0))
    assert src.ifc is not None
    g = src.ifc.info.georef
    assert (g.method, g.x, g.y, g.rotation_deg) == ("user", 8.4, 49.0, 90.0)
    assert not any("--at LON,LAT" in w for w in src.report.warnings)
    # model (5, 0) rotated 90 degrees counter-clockwise points north: same lon, higher lat
    p = src.ifc.points
    far = p[np.argmax(p[:, 1])]
    assert far[0] == pytest.approx(8.4, abs=3e-5)
    assert (far[1] - 49.0) * 111_200 == pytest.approx(5.0, abs=0.3)


def test_far_georeference_warns_with_the_distance(tmp_path: Path) -> None:
    path = tiny_ifc4(tmp_path, map_conversion=False)
    near = load_city([path], ReadOptions(at_lonlat=(8.4, 49.0)))
    res = load_city([path], ReadOptions(at_lonlat=(13.4, 52.5)), frame=near.city.frame)
    (w,) = [w for w in res.sources[0].report.warnings if " km from the twin" in w]
    assert "--at" in w
    assert res.city.sets  # it still loads
