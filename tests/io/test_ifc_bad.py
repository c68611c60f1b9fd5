"""Broken IFC files in ``tests/data/bad``: one clear line each, the rest loads where it can.

The files are IfcOpenHouse_IFC4.ifc cut short or edited (``ifc_truncated``: its first 3000 bytes;
``ifc_unknown_schema``: its header with schema IFC5X9; ``ifc_no_geometry``: the header and the
project only; ``ifc_invalid_syntax``: its header and non-STEP lines) and a two-wall file made with
ifcopenshell.api whose second wall extrudes by 0 along a zero direction (``ifc_bad_element``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_app.cli import main
from twin_app.errors import InputError
from twin_app.io.registry import read_path
from twin_app.io.source import ReadOptions

BAD_DIR = Path(__file__).resolve().parents[1] / "data" / "bad"

#: name -> a fragment the one-line error must contain.
UNRECOVERABLE = {
    "ifc_invalid_syntax.ifc": "invalid STEP syntax",
    "ifc_unknown_schema.ifc": "IFC5X9",
    "ifc_no_geometry.ifc": "no IFC product with geometry",
}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_APP_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize(("name", "fragment"), sorted(UNRECOVERABLE.items()))
def test_unreadable_ifc_is_one_line_naming_the_file(name: str, fragment: str) -> None:
    path = BAD_DIR / name
    with pytest.raises(InputError) as err:
        read_path(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert fragment in msg


def test_truncated_ifc_loads_what_was_read_with_one_warning() -> None:
    (src,) = read_path(BAD_DIR / "ifc_truncated.ifc")
    assert src.ifc is not None
    assert src.counts["ifc_elements"] >= 1
    assert sum("is truncated (no END-ISO" in w for w in src.report.warnings) == 1


def test_element_whose_geometry_fails_is_counted_missing_and_the_rest_loads() -> None:
    (src,) = read_path(BAD_DIR / "ifc_bad_element.ifc", ReadOptions(ifc_cache=False))
    assert src.ifc is not None
    assert list(src.ifc.table["name"]) == ["W0"]
    (line,) = src.ifc.info.missing
    assert "IfcWall W1" in line
    assert any("IfcWall W1" in w for w in src.report.warnings)


@pytest.mark.parametrize("name", sorted(UNRECOVERABLE))
def test_cli_info_on_bad_ifc_is_one_error_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(BAD_DIR / name)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("twin: error:")
