"""`twin wall` on the command line: what it accepts, and one-line errors before any window."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_app.cli import build_parser, main


def test_wall_arguments() -> None:
    args = build_parser().parse_args(
        ["wall", "twin", "--screen", "1", "--size", "3840x2160", "--tour-s", "12",
         "--replay-rate", "50", "--live", "localhost:1883", "--chart", "Mean AQI (PM2.5)",
         "--chart", "773869"]
    )  # fmt: skip
    assert (args.command, args.target, args.screen, args.size) == (
        "wall", Path("twin"), 1, (3840, 2160),
    )  # fmt: skip
    assert (args.tour_s, args.replay_rate, args.live) == (12.0, 50.0, "localhost:1883")
    assert args.chart == ["Mean AQI (PM2.5)", "773869"]
    defaults = build_parser().parse_args(["wall", "twin"])
    assert (defaults.size, defaults.tour_s, defaults.replay_rate) == (None, 30.0, 100.0)


def test_wall_on_something_it_cannot_show_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wall", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"twin: error: {tmp_path / 'missing'}: no such file or folder (give a session, a twin or a scenario)"
    )
    (tmp_path / "data.csv").write_text("x")
    assert main(["wall", str(tmp_path / "data.csv")]) == 2
    assert "not a session (*.twin.toml), a twin folder" in capsys.readouterr().err


def test_wall_stories_arguments_and_a_bad_story_before_any_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twin_app.io.manifest import SAMPLE_DIR

    args = build_parser().parse_args(
        ["wall", "twin", "--story", "a.toml", "--story", "b.toml", "--no-stories"]
    )
    assert (args.story, args.no_stories) == ([Path("a.toml"), Path("b.toml")], True)
    defaults = build_parser().parse_args(["wall", "twin"])
    assert (defaults.story, defaults.no_stories) == ([], False)
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\nname = 'x'\n[[steps]]\nduration_s = -1\n")
    assert main(["wall", str(SAMPLE_DIR), "--story", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("twin: error: ") and "bad.toml" in err and "\n" not in err
