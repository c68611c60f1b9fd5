"""Hand-edited or damaged session files (issue 10, "Bad input still leaks").

Non-finite or degenerate cameras and bookmarks, unknown or mistyped read options, a CRS the
projection library rejects, clock times out of range, unknown colours and colour maps: each is
one line naming the file and the key, through the reader, the session and the CLI, and the file
is never modified.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from twin_app.errors import SessionFileError
from twin_app.io.session_file import read_session

BUILDINGS = (
    '{"type":"FeatureCollection","features":['
    '{"type":"Feature","properties":{"id":"b1","height":20},"geometry":{"type":"Polygon",'
    '"coordinates":[[[-0.1,51.51],[-0.099,51.51],[-0.099,51.511],[-0.1,51.511],[-0.1,51.51]]]}}]}'
)

GOOD = """schema_version = 1

[[sources]]
path = "b.geojson"
{options}

[[layers]]
name = "b.geojson"
kind = "buildings"

[layers.style]
{style}

[camera]
position = {position}
focal_point = [0.0, 0.0, 0.0]
view_up = {view_up}

[[bookmarks]]
name = "tower"
position = {bm_position}
focal_point = [0.0, 0.0, 0.0]

[view]
{view}
"""

DEFAULTS = {
    "options": "",
    "style": 'colormap = "viridis"\ncolor = "#d9d4c7"',
    "position": "[0.0, -300.0, 200.0]",
    "view_up": "[0.0, 0.0, 1.0]",
    "bm_position": "[10.0, -300.0, 200.0]",
    "view": "clock_rate = 1.0",
}

#: case -> (field overrides, key named in the error, text in the error)
CASES: dict[str, tuple[dict[str, str], str, str]] = {
    "camera_nan": ({"position": "[nan, -300.0, 200.0]"}, "'camera'", "finite"),
    "camera_inf": ({"position": "[0.0, inf, 200.0]"}, "'camera'", "finite"),
    "camera_degenerate": ({"position": "[0.0, 0.0, 0.0]"}, "'camera'", "focal point"),
    "camera_view_up_along_view": (
        {"position": "[0.0, 0.0, 300.0]", "view_up": "[0.0, 0.0, 1.0]"},
        "'camera'",
        "view up",
    ),
    "bookmark_nan": ({"bm_position": "[nan, 0.0, 1.0]"}, "'bookmarks.0'", "finite"),
    "unknown_read_option": (
        {"options": 'options = { lyer = "buildings" }'},
        "'sources.0.options'",
        "unknown read option 'lyer'",
    ),
    "mistyped_read_option": (
        {"options": 'options = { default_height_m = "tall" }'},
        "'sources.0.options'",
        "default_height_m",
    ),
    "bad_as_kind": (
        {"options": 'options = { as_kind = "trees" }'},
        "'sources.0.options'",
        "as_kind",
    ),
    "rejected_crs": (
        {"options": 'options = { crs = "EPSG:999999" }'},
        "'sources.0.options'",
        "rejects the CRS",
    ),
    "clock_out_of_range": (
        {"view": "clock_ns = 99999999999999999999"},
        "'view.clock_ns'",
        "",
    ),
    "clock_rate_nan": ({"view": "clock_rate = nan"}, "'view.clock_rate'", ""),
    "unknown_colour": (
        {"style": 'color = "reddish"'},
        "'layers.0.style.color'",
        "unknown colour 'reddish'",
    ),
    "unknown_colormap": (
        {"style": 'colormap = "rainbowz"'},
        "'layers.0.style.colormap'",
        "unknown colour map 'rainbowz'",
    ),
    "reversed_clim": ({"style": "clim = [5.0, 1.0]"}, "'layers.0.style.clim'", "low first"),
}


def make(folder: Path, case: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "b.geojson").write_text(BUILDINGS)
    fields = dict(DEFAULTS)
    if case is not None:
        fields.update(CASES[case][0])
    path = folder / "s.twin.toml"
    path.write_text(GOOD.format(**fields))
    return path


def test_good_session_file_is_valid(tmp_path: Path) -> None:
    data = read_session(make(tmp_path, None))
    assert data.camera is not None and len(data.bookmarks) == 1


@pytest.mark.parametrize("case", list(CASES))
def test_bad_session_file_is_one_line_naming_file_and_key(case: str, tmp_path: Path) -> None:
    path = make(tmp_path, case)
    before = path.read_bytes()
    _, key, text = CASES[case]
    with pytest.raises(SessionFileError) as info:
        read_session(path)
    msg = str(info.value)
    assert str(path) in msg and key in msg and text in msg and "\n" not in msg, msg
    assert path.read_bytes() == before


@pytest.mark.parametrize("case", ["camera_nan", "unknown_read_option", "unknown_colormap"])
def test_session_open_refuses_and_leaves_the_file(case: str, tmp_path: Path) -> None:
    from twin_app.session import Session
    from twin_app.session.opening import open_paths

    path = make(tmp_path, case)
    before = path.read_bytes()
    session = Session()
    with pytest.raises(SessionFileError):
        open_paths(session, [path])
    assert path.read_bytes() == before
    assert len(session.layers) == 0


@pytest.mark.parametrize("case", ["camera_degenerate", "rejected_crs", "unknown_colour"])
def test_cli_info_and_render_on_bad_session(case: str, tmp_path: Path) -> None:
    path = make(tmp_path, case)
    before = path.read_bytes()
    _, key, _ = CASES[case]
    for args in (["info", str(path)], ["render", str(path), "-o", str(tmp_path / "x.png")]):
        res = subprocess.run(
            [sys.executable, "-m", "twin_app.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert res.returncode == 2, res.stderr
        (line,) = res.stderr.splitlines()
        assert line.startswith("twin: error: ") and str(path) in line and key in line
    assert path.read_bytes() == before


def test_session_file_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "deep.twin.toml"
    path.write_text("schema_version = 1\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(SessionFileError, match="nested too deeply") as info:
        read_session(path)
    assert str(path) in str(info.value)
