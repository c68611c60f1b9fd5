"""Errors in our own words, and a bad file among several does not stop the good ones (issue 10,
"Messages")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin_app.errors import InputError, TwinError
from twin_app.io.load import load_city
from twin_app.session import Session

BAD_DIR = Path(__file__).resolve().parents[1] / "data" / "bad"


def _good_files(tmp_path: Path) -> list[Path]:
    """Two small footprint files near each other (the bowtie one is repaired, not refused)."""
    a = tmp_path / "north.geojson"
    b = tmp_path / "south.geojson"
    shutil.copy(BAD_DIR / "geojson_height_nan.geojson", a)
    shutil.copy(BAD_DIR / "geojson_bowtie.geojson", b)
    return [a, b]


def _messages_of(path: Path) -> list[str]:
    """Every line a user sees when opening `path`: the error, or the load's warnings."""
    try:
        result = load_city([path])
    except TwinError as err:
        return [str(err)]
    return [w for s in result.sources for w in s.report.warnings] + result.errors


@pytest.mark.parametrize(
    "path", sorted(p for p in BAD_DIR.rglob("*") if p.is_file()), ids=lambda p: p.name
)
def test_no_gdal_driver_advice_reaches_the_user(path: Path) -> None:
    for line in _messages_of(path):
        assert "DRIVER" not in line and "It might help" not in line, line
        assert "\n" not in line


@pytest.mark.parametrize(
    ("name", "content", "looks"),
    [
        ("photo.gpkg", (BAD_DIR / "png_renamed.gpkg").read_bytes(), "a PNG image"),
        ("photo.fgb", (BAD_DIR / "png_renamed.gpkg").read_bytes(), "a PNG image"),
        ("photo.shp", (BAD_DIR / "png_renamed.gpkg").read_bytes(), "a PNG image"),
        ("page.geojson", b"<!DOCTYPE html><html><body>404</body></html>", "an HTML page"),
        ("nothing.gpkg", b"", "an empty file"),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v else "",
)
def test_unreadable_file_says_what_it_is_not_and_what_to_do(
    tmp_path: Path, name: str, content: bytes, looks: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_city([path])
    text = str(info.value)
    assert text.startswith(f"{path}: not a ")
    assert f"(it looks like {looks})" in text
    assert "check the file or choose another" in text
    assert "DRIVER" not in text and "It might help" not in text


def test_png_renamed_gpkg_names_geopackage() -> None:
    path = BAD_DIR / "png_renamed.gpkg"
    with pytest.raises(InputError) as info:
        load_city([path])
    assert str(info.value) == (
        f"{path}: not a GeoPackage or other vector file GDAL can read "
        "(it looks like a PNG image); check the file or choose another"
    )


def test_truncated_geojson_says_so() -> None:
    path = BAD_DIR / "geojson_truncated.geojson"
    with pytest.raises(InputError) as info:
        load_city([path])
    assert "truncated" in str(info.value) and str(path) in str(info.value)


def test_one_bad_file_among_good_ones_loads_the_good_and_reports_the_bad(
    tmp_path: Path,
) -> None:
    good_a, good_b = _good_files(tmp_path)
    bad = BAD_DIR / "png_renamed.gpkg"
    result = load_city([good_a, bad, good_b])
    assert [s.path for s in result.sources] == [good_a, good_b]
    assert len(result.city.sets) == 2
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{bad}: not a GeoPackage")


def test_session_reports_the_bad_file_as_an_error_message(tmp_path: Path) -> None:
    good_a, good_b = _good_files(tmp_path)
    bad = BAD_DIR / "geojson_truncated.geojson"
    session = Session()
    seen: list[tuple[str, str]] = []
    session.messages.connect(lambda level, text: seen.append((level, text)))
    layers = session.add_result(session.load_files([good_a, bad, good_b]))
    assert len(layers) == 2
    errors = [text for level, text in seen if level == "error"]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert [s.path.name for s in session.sources] == ["north.geojson", "south.geojson"]


def test_every_file_bad_raises_one_line_naming_each(tmp_path: Path) -> None:
    missing = tmp_path / "gone.geojson"
    bad = BAD_DIR / "png_renamed.gpkg"
    with pytest.raises(InputError) as info:
        load_city([missing, bad])
    text = str(info.value)
    assert "none of the 2 files could be read" in text
    assert str(missing) in text and str(bad) in text and "\n" not in text


def test_one_bad_file_alone_keeps_its_own_error_class() -> None:
    with pytest.raises(TwinError) as info:
        load_city([BAD_DIR / "shp_no_prj_projected.shp"])
    assert type(info.value).__name__ == "CRSError"


def test_an_empty_file_and_a_bad_one_report_both(tmp_path: Path) -> None:
    empty = BAD_DIR / "geojson_empty.geojson"
    bad = BAD_DIR / "png_renamed.gpkg"
    with pytest.raises(InputError) as info:
        load_city([empty, bad])
    text = str(info.value)
    assert text.startswith("nothing to show: ")
    assert f"{bad}: not a GeoPackage" in text and f"{empty} holds no features" in text
    assert "\n" not in text


def test_a_file_no_reader_layer_comes_from_is_named(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    whole = tmp_path / "whole.fgb"
    gpd.GeoDataFrame(
        {"a": [1, 2]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)], crs=27700
    ).to_file(whole)
    half = tmp_path / "half.fgb"
    data = whole.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    try:
        result = load_city([half])
    except TwinError as err:
        assert str(half) in str(err) and "no files" not in str(err)
    else:  # a reader that salvages what it can must say what it skipped
        assert any(s.report.warnings for s in result.sources)


def test_format_names_take_the_right_article(tmp_path: Path) -> None:
    path = tmp_path / "photo.osm.pbf"
    path.write_bytes((BAD_DIR / "png_renamed.gpkg").read_bytes())
    with pytest.raises(InputError) as info:
        load_city([path])
    assert "not an OSM PBF file" in str(info.value)
