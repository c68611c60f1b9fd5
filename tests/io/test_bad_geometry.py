"""Bad geometry reaches the reader boundary (``read_path``) and stops there (issue 10).

Non-finite coordinates, null geometries and rings of too few points are skipped and counted,
never refusing the whole file or crashing; implausible results (duplicate CityObject ids, a
continent-sized CityJSON without ``transform``, footprints across the antimeridian) and files
that read as nothing warn. Each case is tried through the reader, the session and the CLI
(``twin info`` and ``twin render``, in a subprocess so that raw Python warnings would show).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_app.io.registry import read_path
from twin_app.io.source import SourceData

NAN = float("nan")
INF = float("inf")
SQUARE = [[4.9, 52.37], [4.9001, 52.37], [4.9001, 52.3701], [4.9, 52.3701], [4.9, 52.37]]


def _feature(ring: list[list[float]] | None, fid: str) -> dict[str, Any]:
    geometry = None if ring is None else {"type": "Polygon", "coordinates": [ring]}
    return {"type": "Feature", "properties": {"id": fid, "height": 12}, "geometry": geometry}


def _geojson(path: Path, *features: dict[str, Any]) -> Path:
    doc = {"type": "FeatureCollection", "features": list(features)}
    path.write_text(json.dumps(doc, allow_nan=True))  # NaN/Infinity literals, as found
    return path


def _cityjson(path: Path, objects: str, vertices: str, transform: bool = True) -> Path:
    tr = '"transform":{"scale":[0.001,0.001,0.001],"translate":[84000,447000,0]},'
    path.write_text(
        '{"type":"CityJSON","version":"2.0",' + (tr if transform else "") + '"metadata":'
        '{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/7415"},'
        f'"CityObjects":{{{objects}}},"vertices":{vertices}}}'
    )
    return path


BOX = (
    '{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[0,1,2,3]]]}]}'
)
BOX_SOLID = (
    '{"type":"Building","geometry":[{"type":"Solid","lod":"1","boundaries":'
    "[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]}"
)


def _cube(x0: int, y0: int, size: int, top: int) -> list[list[int]]:
    xs = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)]
    return [[x, y, 0] for x, y in xs] + [[x, y, top] for x, y in xs]


def make_nan_geojson(d: Path) -> Path:
    bad = [[4.9, 52.37], [NAN, 52.37], [4.9001, 52.3701], [4.9, 52.37]]
    return _geojson(d / "nan.geojson", _feature(SQUARE, "ok1"), _feature(bad, "nan1"))


def make_inf_geojson(d: Path) -> Path:
    bad = [[4.9, 52.37], [INF, 52.37], [4.9001, 52.3701], [4.9, 52.37]]
    return _geojson(d / "inf.geojson", _feature(SQUARE, "ok1"), _feature(bad, "inf1"))


def make_two_point_geojson(d: Path) -> Path:
    bad = [[4.9, 52.37], [4.9001, 52.37]]  # unclosed, two points: shapely refuses the ring
    return _geojson(d / "two_point.geojson", _feature(SQUARE, "ok1"), _feature(bad, "two1"))


def make_null_geojson(d: Path) -> Path:
    return _geojson(d / "null.geojson", _feature(None, "n1"), _feature(None, "n2"))


def make_nan_cityjson(d: Path) -> Path:
    v = _cube(0, 0, 10000, 12000) + _cube(20000, 0, 10000, 9000)
    text = json.dumps(v).replace("20000, 0, 9000", "NaN, 0, 9000", 1)
    return _cityjson(
        d / "nan.city.json",
        f'"a":{BOX_SOLID},"b":{BOX_SOLID.replace("0,3,2,1", "8,11,10,9")}',
        text,
    )


SESSION_CASES: dict[str, tuple[Callable[[Path], Path], str, int]] = {
    # name: (maker, skipped-count key fragment, buildings left)
    "nan": (make_nan_geojson, "NaN or infinite", 1),
    "inf": (make_inf_geojson, "NaN or infinite", 1),
    "two_point": (make_two_point_geojson, "unclosed or under 3 points", 1),
}


def _skipped(src: SourceData, fragment: str) -> int:
    return sum(n for k, n in src.report.skipped.items() if fragment in k)


@pytest.mark.parametrize("name", list(SESSION_CASES))
def test_bad_rows_are_skipped_and_counted_not_fatal(name: str, tmp_path: Path) -> None:
    maker, fragment, n_left = SESSION_CASES[name]
    (src,) = read_path(maker(tmp_path))
    assert src.buildings is not None and len(src.buildings) == n_left
    assert list(src.buildings["id"]) == ["ok1"]
    assert _skipped(src, fragment) == 1, src.report.skipped


@pytest.mark.parametrize("name", list(SESSION_CASES))
def test_session_loads_the_good_rows(name: str, tmp_path: Path) -> None:
    import numpy as np

    from twin_app.session import Session

    maker, fragment, _ = SESSION_CASES[name]
    result = Session().load_files([maker(tmp_path)])
    (src,) = result.sources
    assert _skipped(src, fragment) == 1
    frame = result.city.frame
    assert all(np.isfinite(frame.origin))


def test_all_null_geometries_are_counted(tmp_path: Path) -> None:
    (src,) = read_path(make_null_geojson(tmp_path))
    assert _skipped(src, "without geometry") == 2
    assert any("has a geometry" in w for w in src.report.warnings)


def test_nonfinite_cityjson_vertex_drops_only_its_surfaces(tmp_path: Path) -> None:
    import numpy as np

    (src,) = read_path(make_nan_cityjson(tmp_path))
    obj = src.objects
    assert obj is not None
    assert np.isfinite(obj.vertices).all()
    assert _skipped(src, "NaN or infinite") == 1
    drawn = {str(obj.ids[i]) for i in np.unique(obj.tri_object)}
    assert "a" in drawn  # the other building is whole


def test_duplicate_cityobject_ids_warn(tmp_path: Path) -> None:
    v = json.dumps([[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, 0]])
    path = _cityjson(tmp_path / "dup.city.json", f'"b1":{BOX},"b1":{BOX},"b2":{BOX}', v)
    (src,) = read_path(path)
    assert _skipped(src, "duplicate id") == 1
    assert any("b1" in w and str(path) in w for w in src.report.warnings)


def test_cityjson_without_transform_warns_implausible(tmp_path: Path) -> None:
    # integer millimetres read as metres: a 10 km wide, 12 km tall "building" off in the ocean
    v = json.dumps(_cube(84_000_000, 447_000_000, 10_000, 12_000))
    path = _cityjson(tmp_path / "mm.city.json", f'"b1":{BOX_SOLID}', v, transform=False)
    (src,) = read_path(path)
    text = " ".join(src.report.warnings)
    assert "implausible" in text and "km" in text
    assert "outside the area of its CRS" in text


def test_continent_sized_extent_warns(tmp_path: Path) -> None:
    far = [[x + 20.0, y] for x, y in SQUARE]  # the same footprint 1,400 km east
    path = _geojson(tmp_path / "wide.geojson", _feature(SQUARE, "a"), _feature(far, "b"))
    (src,) = read_path(path)
    assert any("spans" in w and "implausible" in w for w in src.report.warnings)


def test_antimeridian_footprint_warns(tmp_path: Path) -> None:
    ring = [[179.9999, 10.0], [-179.9999, 10.0], [-179.9999, 10.0001], [179.9999, 10.0001]]
    path = _geojson(tmp_path / "anti.geojson", _feature([*ring, ring[0]], "x1"))
    (src,) = read_path(path)
    assert any("antimeridian" in w and "x1" in w for w in src.report.warnings)


OSM_HEAD = (
    '<?xml version="1.0"?><osm version="0.6">'
    '<node id="1" lat="52.37" lon="4.90"/><node id="2" lat="52.37" lon="4.9001"/>'
    '<node id="3" lat="52.3701" lon="4.9001"/><node id="4" lat="52.3701" lon="4.90"/>'
    '<node id="5" lat="52.38" lon="4.91"/><node id="6" lat="52.38" lon="4.9101"/>'
    '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
    '<tag k="building" v="yes"/></way>'
)


def test_osm_two_point_multipolygon_ring_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rings.osm"
    path.write_text(
        OSM_HEAD + '<way id="11"><nd ref="5"/><nd ref="6"/><nd ref="5"/></way>'
        '<relation id="20"><member type="way" ref="11" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="building" v="yes"/></relation></osm>'
    )
    (src,) = read_path(path)
    assert src.buildings is not None and list(src.buildings["id"]) == ["way/10"]
    assert sum(src.report.skipped.values()) == 1
    assert not any("Warning" in w for w in src.report.warnings), src.report.warnings


@pytest.mark.parametrize("name", ["truncated.osm.pbf", "truncated.fgb"])
def test_truncated_file_never_loads_silently_as_nothing(name: str, tmp_path: Path) -> None:
    from twin_app.errors import InputError

    path = tmp_path / name
    if name.endswith(".pbf"):
        path.write_bytes(b"\x00\x00\x00\x0e\n\tOSMHeader\x18\x50" + b"\x01" * 40)
    else:
        path.write_bytes(b"fgb\x03fgb\x00" + b"\x00" * 64)
    try:
        sources = read_path(path)
    except InputError as err:
        assert str(path) in str(err)
        return
    assert any("truncated or corrupt" in w for s in sources for w in s.report.warnings)


# --------------------------------------------------------------------------- the CLI


def _twin(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "default"  # any raw library warning would print
    return subprocess.run(
        [sys.executable, "-m", "twin_app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


CLI_MAKERS: dict[str, Callable[[Path], Path]] = {
    "nan": make_nan_geojson,
    "inf": make_inf_geojson,
    "two_point": make_two_point_geojson,
    "null": make_null_geojson,
    "nan_cityjson": make_nan_cityjson,
}


@pytest.mark.parametrize("name", list(CLI_MAKERS))
def test_cli_info_has_no_traceback_and_no_raw_warnings(name: str, tmp_path: Path) -> None:
    path = CLI_MAKERS[name](tmp_path)
    res = _twin("info", str(path))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "Warning:" not in res.stderr, res.stderr
    assert "skipped" in res.stdout


def test_cli_render_of_file_with_nan_rows(tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    res = _twin("render", str(make_nan_geojson(tmp_path)), "-o", str(out), "--size", "64x48")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Warning:" not in res.stderr, res.stderr
    assert out.is_file()


def test_cli_render_of_only_null_geometry_is_one_line_error(tmp_path: Path) -> None:
    path = make_null_geojson(tmp_path)
    res = _twin("render", str(path), "-o", str(tmp_path / "x.png"), "--size", "64x48")
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("twin: error:")]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr


def test_cli_turns_an_unforeseen_failure_into_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last guarantee: a failure no reader foresaw is one line naming the path, exit 2."""
    from twin_app import cli
    from twin_app.session import twin

    def boom(path: Path, options: object = None) -> dict[str, object]:
        raise KeyError("unforeseen")

    monkeypatch.setattr(twin, "summarize", boom)
    path = make_nan_geojson(tmp_path)
    assert cli.main(["info", str(path)]) == 2
    _, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"twin: error: {path}: ") and "KeyError" in line
