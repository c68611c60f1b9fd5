"""The CLI's last guarantee for ``twin render`` (issue 10): a failure no reader foresaw is one
``twin: error:`` line naming the path and exit status 2, never a traceback. (Here, not in
tests/io, because render imports VTK, which the pure tiers block.)"""

from __future__ import annotations

from pathlib import Path

import pytest


def test_cli_render_turns_an_unforeseen_failure_into_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from twin_app import cli
    from twin_app.session import opening

    path = tmp_path / "a.geojson"
    path.write_text('{"type":"FeatureCollection","features":[]}')

    def boom_open(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("unforeseen")

    monkeypatch.setattr(opening, "open_paths", boom_open)
    assert cli.main(["render", str(path), "-o", str(tmp_path / "x.png")]) == 2
    _, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"twin: error: {path}: ") and "ZeroDivisionError" in line
    assert "Traceback" not in err
