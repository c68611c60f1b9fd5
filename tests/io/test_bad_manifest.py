"""A twin manifest that lists a file which is not there (issue 10): one line naming the
manifest, the key and the missing file's full path, before anything is read; through the session
and the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.session import Session

#: key -> (files copied beside the manifest, missing file)
CASES = {
    "sources.0.path": ((), "london.osm.pbf"),
    "sources.1.path": (("london.osm.pbf",), "AC20-FZK-Haus.ifc"),
    "series.0.path": (("london.osm.pbf", "AC20-FZK-Haus.ifc"), "traffic_metr_la.parquet"),
    "series.0.sensors": (
        ("london.osm.pbf", "AC20-FZK-Haus.ifc", "traffic_metr_la.parquet"),
        "metr_la_sensors.csv",
    ),
}


def make(tmp_path: Path, key: str) -> tuple[Path, Path]:
    copied, missing = CASES[key]
    folder = tmp_path / "twin"
    folder.mkdir()
    shutil.copy(SAMPLE_DIR / "manifest.toml", folder / "manifest.toml")
    for name in copied:
        shutil.copy(SAMPLE_DIR / name, folder / name)
    return folder, folder / missing


@pytest.mark.parametrize("key", list(CASES))
def test_open_twin_names_manifest_key_and_missing_path(key: str, tmp_path: Path) -> None:
    folder, missing = make(tmp_path, key)
    with pytest.raises(InputError) as info:
        Session().open_twin(folder)
    msg = str(info.value)
    assert str(folder / "manifest.toml") in msg and f"'{key}'" in msg and str(missing) in msg
    assert "\n" not in msg


@pytest.mark.parametrize("key", ["series.0.sensors"])
def test_cli_info_and_render_name_the_missing_file(key: str, tmp_path: Path) -> None:
    folder, missing = make(tmp_path, key)
    for args in (["info", str(folder)], ["render", str(folder), "-o", str(tmp_path / "x.png")]):
        res = subprocess.run(
            [sys.executable, "-m", "twin_app.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert res.returncode == 2
        (line,) = res.stderr.splitlines()
        assert line.startswith("twin: error: ") and str(missing) in line and f"'{key}'" in line


def test_manifest_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text('name = "x"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputError, match="nested too deeply") as info:
        Session().open_twin(tmp_path)
    assert str(path) in str(info.value)
