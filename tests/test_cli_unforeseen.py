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


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["render", "{twin}", "-o", "{dir}"], "it is a folder"),
        (["render", "{twin}", "-o", "{file}/x.png"], "is a file, not a folder"),
        (["scenario", "run", "{scenario}", "-o", "{file}/r.html"], "is a file, not a folder"),
        (["scenario", "run", "{scenario}", "--export", "{file}"], "it is a file, not a folder"),
        (["video", "{scenario}", "-o", "{dir}"], "it is a folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], why: str
) -> None:
    from twin_app import cli
    from twin_app.io.manifest import SAMPLE_DIR

    blocker = tmp_path / "notes.txt"
    blocker.write_text("kept", encoding="utf-8")
    names = {
        "twin": str(SAMPLE_DIR),
        "scenario": str(SAMPLE_DIR / "scenarios" / "close_road.toml"),
        "dir": str(tmp_path),
        "file": str(blocker),
    }
    assert cli.main([a.format(**names) for a in argv]) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()  # no loading warnings: nothing was read or run
    assert line.startswith("twin: error: ") and "cannot write (" in line and why in line
    assert out == "" and blocker.read_text(encoding="utf-8") == "kept"


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "--at", "-0.1,51.51", "--rotate", "-30", "a.ifc"],
        ["render", "a.ifc", "-o", "x.png", "--at", "-73.98,40.75", "--azimuth", "-45"],
    ],
)
def test_a_western_longitude_and_negative_angles_are_values(argv: list[str]) -> None:
    """argparse takes ``-0.1,51.51`` for an option: London (and the Americas) were refused
    with its usage text."""
    from twin_app.cli import _join_signed, build_parser

    args = build_parser().parse_args(_join_signed(argv))
    assert args.at in ("-0.1,51.51", "-73.98,40.75")
    if argv[0] == "render":
        assert args.azimuth == -45.0
    else:
        assert args.rotate == -30.0


def test_colour_by_reaches_an_ifc_model_and_a_bad_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import imageio.v3 as iio
    import numpy as np

    from twin_app import cli
    from twin_app.io.manifest import SAMPLE_DIR

    ifc = str(SAMPLE_DIR / "AC20-FZK-Haus.ifc")
    pictures = []
    for by in ("ifc_class", "material"):
        out = tmp_path / f"{by}.png"
        assert cli.main(["render", ifc, "-o", str(out), "--size", "320x240", "--color-by", by]) == 0
        pictures.append(np.asarray(iio.imread(out))[..., :3].astype(int))
    # the material colours (the file's own) are not the IFC class palette
    assert (np.abs(pictures[0] - pictures[1]).max(axis=2) > 40).mean() > 0.02
    capsys.readouterr()
    assert cli.main(["render", ifc, "-o", str(tmp_path / "x.png"), "--color-by", "bogus"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert (
        line
        == "twin: error: --color-by 'bogus' is not available; choose from ifc_class, material, solid"
    )
