"""Tests of the ``twin`` command: ``info`` (text and JSON) and ``render`` on the shared samples."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.cli import main

SUMMARY_KEYS = {
    "path",
    "kind",
    "crs",
    "bbox_wgs84",
    "counts",
    "triangles",
    "height_m",
    "repaired",
    "skipped",
    "warnings",
}
CITYJSON = {
    # name: (CRS label, {type: count})
    "DenHaag_01.city.json": ("EPSG:7415", {"Building": 844, "BuildingPart": 1653, "TINRelief": 1}),
    "3-20-DELFSHAVEN_rotterdam_v1.0.city.json": ("EPSG:28992", {"Building": 853}),
    "delft.city.json": ("EPSG:7415", {"Building": 160}),
    "zurich_subset_lod2.city.json": ("EPSG:2056", {"Building": 49, "BuildingPart": 161}),
}
OSM = {
    # name: (buildings, roads) from plain pyogrio (see tests/io/test_osm.py)
    "porto.osm.pbf": (11393, 3460),
    "london.osm.pbf": (2149, 3075),
    "munchen.osm.pbf": (2425, 2867),
}
GPKG = "footprints/delft_somebuildings.gpkg"
#: A point (lon, lat) inside each file's data, from maps.
INSIDE = {
    "DenHaag_01.city.json": (4.272, 52.104),
    "3-20-DELFSHAVEN_rotterdam_v1.0.city.json": (4.455, 51.907),
    "delft.city.json": (4.365, 52.012),
    "zurich_subset_lod2.city.json": (8.54, 47.37),
    "delft_somebuildings.gpkg": (4.366, 52.012),
    "porto.osm.pbf": (-8.61, 41.145),
    "london.osm.pbf": (-0.10, 51.515),
    "munchen.osm.pbf": (11.575, 48.137),
}
CITYJSON_KEY = {"Building": "buildings", "BuildingPart": "building_parts"}


def cityjson_importable() -> bool:
    try:
        import twin_app.io.cityjson  # noqa: F401
    except Exception:
        return False
    return True


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``main`` capturing stdout/stderr (for module-scoped fixtures, where capsys is not)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- info --json


@pytest.fixture(scope="module")
def sample_paths(shared_data: Path) -> list[Path]:
    paths = []
    if cityjson_importable():
        paths += [shared_data / "cityjson" / n for n in CITYJSON]
    paths += [shared_data / GPKG]
    paths += [shared_data / "osm" / n for n in OSM]
    return [p for p in paths if p.is_file()]


@pytest.fixture(scope="module")
def summaries(sample_paths: list[Path]) -> dict[str, dict[str, Any]]:
    """``twin info --json`` on every sample at once (a JSON list), by file name."""
    if len(sample_paths) < 2:
        pytest.skip("fewer than two shared samples available")
    rc, out, err = run_cli(["info", "--json", *map(str, sample_paths)])
    assert rc == 0, err
    data = json.loads(out)
    assert isinstance(data, list)
    assert [d["path"] for d in data] == [str(p) for p in sample_paths]
    return {Path(d["path"]).name: d for d in data}


def summary(summaries: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    if name not in summaries:
        pytest.skip(f"{name} not available (or twin_app.io.cityjson does not import)")
    return summaries[name]


def cityjson_truth(path: Path) -> tuple[Counter[str], list[float]]:
    """CityObjects by type and the vertex bbox in lon/lat, with plain json and pyproj."""
    from pyproj import CRS, Transformer

    doc = json.loads(path.read_text())
    types = Counter(o["type"] for o in doc["CityObjects"].values())
    v = np.asarray(doc["vertices"], np.float64)
    t = doc.get("transform")
    if t:
        v = v * np.asarray(t["scale"]) + np.asarray(t["translate"])
    ref = doc["metadata"]["referenceSystem"]
    code = int(ref.replace("::", ":").rstrip("/").split("/")[-1].split(":")[-1])
    crs = CRS.from_epsg(code)
    if crs.is_compound:
        crs = crs.sub_crs_list[0]
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    bbox = tr.transform_bounds(v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max())
    return types, list(bbox)


def assert_bbox(got: list[float] | None, expected: list[float], tol: float = 2e-4) -> None:
    assert got is not None and len(got) == 4
    assert got[0] < got[2] and got[1] < got[3]
    assert np.allclose(got, expected, atol=tol), (got, expected)


@pytest.mark.parametrize("name", list(CITYJSON))
def test_info_json_cityjson(
    summaries: dict[str, dict[str, Any]], shared_data: Path, name: str
) -> None:
    s = summary(summaries, name)
    assert set(s) >= SUMMARY_KEYS
    crs, known = CITYJSON[name]
    types, bbox = cityjson_truth(shared_data / "cityjson" / name)
    for t, n in known.items():
        assert types[t] == n  # the file is what we think it is
    assert s["kind"] == "cityjson"
    assert s["crs"] == crs
    for t, n in types.items():
        assert s["counts"][CITYJSON_KEY.get(t, t)] == n, t
    assert s["counts"]["city_objects"] == sum(types.values())
    assert_bbox(s["bbox_wgs84"], bbox, tol=1e-3)
    assert s["triangles"] > 10 * known["Building"]
    h = s["height_m"]
    assert 0 < h["min"] <= h["mean"] <= h["max"] < 300


def test_info_json_geopackage(summaries: dict[str, dict[str, Any]], shared_data: Path) -> None:
    import pyogrio
    from pyproj import Transformer

    s = summary(summaries, "delft_somebuildings.gpkg")
    assert set(s) >= SUMMARY_KEYS
    df = pyogrio.read_dataframe(shared_data / GPKG)
    assert s["kind"] == "buildings"
    assert s["crs"] == "EPSG:28992"
    assert s["counts"] == {"buildings": len(df)} == {"buildings": 160}
    tr = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    assert_bbox(s["bbox_wgs84"], list(tr.transform_bounds(*df.total_bounds)))
    assert s["height_m"]["min"] == pytest.approx(df["height"].min(), abs=1e-3)
    assert s["height_m"]["max"] == pytest.approx(df["height"].max(), abs=1e-3)
    assert s["height_m"]["mean"] == pytest.approx(df["height"].mean(), abs=1e-3)
    assert s["repaired"] == {} and s["skipped"] == {} and s["warnings"] == []
    # A prism per footprint: at least 2 roof triangles and 2 per wall edge.
    assert s["triangles"] > 160 * 10
    assert "layers" not in s


@pytest.mark.parametrize("name", list(OSM))
def test_info_json_osm(summaries: dict[str, dict[str, Any]], shared_data: Path, name: str) -> None:
    import pyogrio

    s = summary(summaries, name)
    assert set(s) >= SUMMARY_KEYS
    path = shared_data / "osm" / name
    polys = pyogrio.read_dataframe(
        path, layer="multipolygons", columns=["building"], read_geometry=False
    )
    lines = pyogrio.read_dataframe(path, layer="lines", columns=["highway"], read_geometry=False)
    n_b = int((polys["building"].notna() & (polys["building"] != "no")).sum())
    n_r = int(lines["highway"].notna().sum())
    assert (n_b, n_r) == OSM[name]
    assert s["kind"] == "osm"
    assert s["crs"] == "EPSG:4326"
    counts = dict(s["counts"])
    assert (
        counts.pop("ground") > 100
    )  # land use, parks, water, rail: tests/io/test_ground_context.py
    assert counts == {"buildings": n_b, "roads": n_r}
    # bbox of the buildings and roads, straight from GDAL
    _, b1 = pyogrio.read_bounds(path, layer="multipolygons", where="building IS NOT NULL")
    _, b2 = pyogrio.read_bounds(path, layer="lines", where="highway IS NOT NULL")
    b = np.concatenate([b1, b2], axis=1)
    assert_bbox(s["bbox_wgs84"], [b[0].min(), b[1].min(), b[2].max(), b[3].max()])
    n_no = int((polys["building"] == "no").sum())
    assert sum(v for k, v in s["skipped"].items() if "building=no" in k) == n_no
    assert s["repaired"]["default heights"] > 0
    assert any("default" in w for w in s["warnings"])


@pytest.mark.parametrize("name", list(INSIDE))
def test_info_bbox_holds_a_known_point(summaries: dict[str, dict[str, Any]], name: str) -> None:
    lon0, lat0, lon1, lat1 = summary(summaries, name)["bbox_wgs84"]
    lon, lat = INSIDE[name]
    assert lon0 <= lon <= lon1 and lat0 <= lat <= lat1
    assert lon1 - lon0 < 0.2 and lat1 - lat0 < 0.2  # a district, not a country


def test_info_london_bbox(summaries: dict[str, dict[str, Any]]) -> None:
    lon0, lat0, lon1, lat1 = summary(summaries, "london.osm.pbf")["bbox_wgs84"]
    assert -0.13 < lon0 < -0.12 and -0.09 < lon1 < -0.08
    assert 51.50 < lat0 < 51.51 and 51.52 < lat1 < 51.53


def test_info_json_one_file_is_an_object(
    shared_file: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_file(GPKG)
    assert main(["info", "--json", str(path)]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert isinstance(data, dict)
    assert data["path"] == str(path)
    assert data["counts"] == {"buildings": 160}
    assert err == ""


def test_info_text(shared_file: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_file(GPKG)
    assert main(["info", str(path)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{path}  [buildings]"
    assert "  crs        EPSG:28992" in lines
    assert "  counts     buildings 160" in lines
    bbox = next(ln for ln in lines if ln.strip().startswith("bbox"))
    assert "lon 4.36" in bbox and "lat 52.01" in bbox


def test_info_options_reach_the_reader(
    shared_file: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_file("osm/london.osm.pbf")
    assert main(["info", "--json", "--as", "roads", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"roads": 3075}
    assert data["height_m"] is None


# --------------------------------------------------------------------------- multi-layer


def test_info_json_multilayer(multilayer_gpkg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", str(multilayer_gpkg)]) == 0
    s = json.loads(capsys.readouterr().out)
    assert set(s) >= SUMMARY_KEYS
    assert s["kind"] == "multi-layer"
    layers = {lyr["layer"]: lyr for lyr in s["layers"]}
    assert list(layers) == ["buildings", "roads", "parcels", "rivers"]
    assert {k: v["kind"] for k, v in layers.items()} == {
        "buildings": "buildings",
        "roads": "roads",
        "parcels": "areas",
        "rivers": "other",
    }
    assert s["counts"] == {"buildings": 2, "roads": 2, "areas": 1, "features": 1}
    assert s["height_m"] == {"min": 10.0, "mean": 15.0, "max": 20.0}
    assert s["triangles"] == sum(lyr["triangles"] for lyr in s["layers"])
    assert layers["rivers"]["triangles"] == 0
    assert any("rivers" in w for w in s["warnings"])
    for lyr in s["layers"]:
        assert lyr["crs"] == "EPSG:28992"
        assert set(lyr) >= SUMMARY_KEYS


def test_info_layer_and_as_flags(multilayer_gpkg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", "--layer", "rivers", "--as", "roads", str(multilayer_gpkg)]) == 0
    s = json.loads(capsys.readouterr().out)
    assert [lyr["layer"] for lyr in s["layers"]] == ["rivers"]
    assert s["layers"][0]["kind"] == "roads"
    assert s["counts"] == {"roads": 1}
    assert s["triangles"] > 0


def test_info_text_multilayer_lists_layers(
    multilayer_gpkg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(multilayer_gpkg)]) == 0
    out = capsys.readouterr().out
    for name, kind in (
        ("buildings", "buildings"),
        ("roads", "roads"),
        ("parcels", "areas"),
        ("rivers", "other"),
    ):
        assert f"layer '{name}': {kind}" in out


# --------------------------------------------------------------------------- twins


def test_info_on_a_twin_folder(capsys: pytest.CaptureFixture[str]) -> None:
    from twin_app.io.manifest import SAMPLE_DIR

    assert main(["info", str(SAMPLE_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("City of London  [twin]")
    assert "london.osm.pbf  [osm]" in out and "buildings 2,149, roads 3,075" in out
    assert (
        "series     traffic: Traffic (METR-LA speeds) (traffic_metr_la.parquet), 207 sensors, "
        "2026-03-02T00:00:00+00:00 .. 2026-03-04T23:55:00+00:00"
    ) in out
    assert "air: Air quality (Beijing PRSA)" in out and "12 stations" in out
    assert "movers: Buses (Liverpool route 14)" in out and "8 movers" in out
    assert "pipes: Water network (D-Town, EPANET)" in out and " links, " in out
    assert "opens at   2026-03-02T08:00:00+00:00, x600" in out


def test_info_json_on_a_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    from twin_app.io.manifest import SAMPLE_DIR

    assert main(["info", "--json", str(SAMPLE_DIR / "manifest.toml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "twin" and data["name"] == "City of London"
    assert [(s["kind"], s["count"]) for s in data["series"]][:3] == [
        ("traffic", 207),
        ("air", 12),
        ("movers", 8),
    ]
    assert data["geometry"][0]["counts"] == {"buildings": 2149, "roads": 3075, "ground": 261}


def test_info_on_a_session_file_with_a_twin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twin_app.io.manifest import SAMPLE_DIR

    path = tmp_path / "s.twin.toml"
    path.write_text(
        "schema_version = 1\n"
        f"twins = [{json.dumps(str(SAMPLE_DIR))}]\n"
        "[[sources]]\n"
        f"path = {json.dumps(str(SAMPLE_DIR / 'london.osm.pbf'))}\n"
        "[[bookmarks]]\n"
        'name = "Bank"\nposition = [0.0, -500.0, 300.0]\nfocal_point = [0.0, 0.0, 0.0]\n',
        encoding="utf-8",
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}  [session]") and "bookmarks  Bank" in out
    assert "City of London  [twin]" in out and "207 sensors" in out
    assert out.count("london.osm.pbf  [osm]") == 1  # the twin's own geometry, listed once


def test_info_on_a_folder_without_manifest_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twin: error: ") and err.count("\n") == 1


# --------------------------------------------------------------------------- render

RENDER_SIZE = (640, 400)


def render_argv(path: Path, out_png: Path, size: str = "640x400", *extra: str) -> list[str]:
    """``twin render PATH -o OUT --size SIZE --aa off EXTRA...``."""
    return ["render", str(path), "-o", str(out_png), "--size", size, "--aa", "off", *extra]


def render(path: Path, out_png: Path, *extra: str) -> tuple[int, str, np.ndarray[Any, Any]]:
    import imageio.v3 as iio

    w, h = RENDER_SIZE
    rc, out, err = run_cli(render_argv(path, out_png, f"{w}x{h}", *extra))
    assert rc == 0, err
    assert out_png.is_file()
    return rc, out, np.asarray(iio.imread(out_png))[..., :3]


@pytest.fixture(scope="module")
def delft_images(
    shared_file: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, np.ndarray[Any, Any]]:
    path = shared_file(GPKG)
    out = tmp_path_factory.mktemp("render")
    images = {}
    for view in ("oblique", "top", "street"):
        png = out / f"delft_{view}.png"
        _, stdout, img = render(path, png, "--view", view)
        assert stdout.strip() == f"wrote {png} ({RENDER_SIZE[0]}x{RENDER_SIZE[1]})"
        images[view] = img
    return images


def differs_from_corner(img: np.ndarray[Any, Any]) -> float:
    corner = img[0, 0].astype(int)
    return float((np.abs(img.astype(int) - corner).sum(axis=-1) > 30).mean())


def height_fraction(img: np.ndarray[Any, Any]) -> float:
    """Share of pixels in the buildings' height colours (the middle and dark blues of
    ``Blues``; the sky, also blue, is lighter: red above 140) in the middle of the image
    (legends excluded)."""
    h, w, _ = img.shape
    mid = img[int(0.1 * h) : int(0.9 * h), int(0.25 * w) : int(0.8 * w)].astype(int)
    r, b = mid[..., 0], mid[..., 2]
    return float(((r < 130) & (b - r > 60)).mean())


def test_render_geopackage_draws_coloured_buildings(
    delft_images: dict[str, np.ndarray[Any, Any]],
) -> None:
    img = delft_images["oblique"]
    assert img.shape == (RENDER_SIZE[1], RENDER_SIZE[0], 3)
    assert differs_from_corner(img) > 0.05
    assert height_fraction(img) > 0.02


@pytest.mark.parametrize("view", ["top", "street"])
def test_render_views_differ_from_oblique(
    delft_images: dict[str, np.ndarray[Any, Any]], view: str
) -> None:
    a = delft_images["oblique"].astype(int)
    b = delft_images[view].astype(int)
    changed = float((np.abs(a - b).sum(axis=-1) > 30).mean())
    assert changed > 0.1
    assert differs_from_corner(delft_images[view]) > 0.05
    assert height_fraction(delft_images[view]) > 0.01


def test_render_osm(
    shared_file: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import imageio.v3 as iio

    out_png = tmp_path / "london.png"
    rc = main(render_argv(shared_file("osm/london.osm.pbf"), out_png))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.strip() == f"wrote {out_png} (640x400)"
    # The reader's warnings are passed on, one line each.
    warnings = [ln for ln in err.splitlines() if ln.startswith("twin: warning: ")]
    assert any("building=no" in w for w in warnings)
    assert "twin: error" not in err
    img = np.asarray(iio.imread(out_png))[..., :3]
    assert img.shape == (400, 640, 3)
    assert differs_from_corner(img) > 0.05
    assert height_fraction(img) > 0.02


@pytest.fixture
def tracked_plotters(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Record the plotters ``twin render`` makes; close any it leaves open afterwards.

    A plotter left open when the test session ends makes Xvfb's shutdown kill the process
    with an X IO error (exit status 1) after all tests passed.
    """
    import twin_app.render.plotter as plotter_mod

    made: list[Any] = []
    real = plotter_mod.offscreen_plotter

    def tracking(*args: Any, **kwargs: Any) -> Any:
        p = real(*args, **kwargs)
        made.append(p)
        return p

    monkeypatch.setattr(plotter_mod, "offscreen_plotter", tracking)
    yield made
    for p in made:
        if not p._closed:
            p.close()


def test_render_bad_color_by_is_a_clean_error(
    multilayer_gpkg: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tracked_plotters: list[Any],
) -> None:
    out_png = tmp_path / "x.png"
    rc = main(render_argv(multilayer_gpkg, out_png, "64x64", "--color-by", "nope"))
    _, err = capsys.readouterr()
    assert rc == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("twin: error: ")]
    assert len(errors) == 1 and "--color-by 'nope'" in errors[0]
    assert "Traceback" not in err
    assert not out_png.exists()


def test_render_closes_its_plotter_on_error(
    multilayer_gpkg: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tracked_plotters: list[Any],
) -> None:
    rc = main(render_argv(multilayer_gpkg, tmp_path / "x.png", "64x64", "--color-by", "nope"))
    capsys.readouterr()
    assert rc == 2
    assert all(p._closed for p in tracked_plotters)


def test_render_closes_its_plotter_on_success(
    multilayer_gpkg: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tracked_plotters: list[Any],
) -> None:
    rc = main(render_argv(multilayer_gpkg, tmp_path / "x.png", "64x64"))
    capsys.readouterr()
    assert rc == 0
    assert len(tracked_plotters) == 1
    assert tracked_plotters[0]._closed


def test_render_rejects_a_bad_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["render", "x.gpkg", "-o", str(tmp_path / "x.png"), "--size", "big"])
    assert info.value.code == 2
    assert "size must look like 1920x1080" in capsys.readouterr().err


def test_cli_render_of_an_empty_file_is_a_clean_error(
    bad_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # here and not in tests/io: `render` draws with VTK, which the pure tiers may not import
    out_png = tmp_path / "empty.png"
    rc = main(["render", str(bad_dir / "geojson_empty.geojson"), "-o", str(out_png)])
    _, err = capsys.readouterr()
    assert rc == 2
    lines = [ln for ln in err.splitlines() if not ln.startswith("twin: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("twin: error: "), err
    assert not out_png.exists()


def test_render_draws_the_good_files_and_fails_on_the_bad_one(
    bad_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tracked_plotters: list[Any]
) -> None:
    good = bad_dir / "geojson_height_nan.geojson"
    bad = bad_dir / "png_renamed.gpkg"
    out_png = tmp_path / "mixed.png"
    rc = main(["render", str(good), str(bad), "-o", str(out_png), "--size", "64x64", "--aa", "off"])
    out, err = capsys.readouterr()
    assert rc == 2 and out_png.exists() and out.startswith(f"wrote {out_png}")
    errors = [ln for ln in err.splitlines() if ln.startswith("twin: error: ")]
    assert errors == [
        f"twin: error: {bad}: not a GeoPackage or other vector file GDAL can read "
        "(it looks like a PNG image); check the file or choose another"
    ]
    assert "Traceback" not in err
