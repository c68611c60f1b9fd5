"""``twin scenario run`` and ``twin scenario sweep``: output formats, exports, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from twin_app.cli import main
from twin_app.scenarios.run import LINK_COLUMNS, NODE_COLUMNS, TRAFFIC_KPIS

DATA = Path(__file__).resolve().parent / "data" / "scenarios"
TINY = DATA / "tiny_close_road.toml"
DTOWN = DATA / "dtown_close_pipe.toml"


def test_run_json_has_exactly_the_issue_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "run", str(TINY), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"kpis", "elapsed_s"}
    assert list(out["kpis"]) == list(TRAFFIC_KPIS)
    for value in out["kpis"].values():
        assert set(value) == {"baseline", "scenario", "delta", "unit"}
        assert value["delta"] == pytest.approx(value["scenario"] - value["baseline"])
    assert out["kpis"]["tstt_veh_h"]["unit"] == "veh*h"
    assert out["elapsed_s"] > 0


def test_run_text_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "run", str(TINY)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Close the 4-5 link both ways (")
    assert lines[1].split() == ["kpi", "baseline", "scenario", "delta", "unit"]
    tstt = next(line.split() for line in lines if line.startswith("tstt_veh_h"))
    assert tstt[-1] == "veh*h" and tstt[3].startswith("+")


def test_run_export_writes_the_issue_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["scenario", "run", str(TINY), "--export", str(out)]) == 0
    with (out / "links.csv").open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == LINK_COLUMNS
    assert len(rows) == 15 and rows[1][:3] == ["1-4", "1", "4"]
    assert not (out / "nodes.csv").exists()  # no water in this scenario
    assert main(["scenario", "run", str(DTOWN), "--export", str(out)]) == 0
    with (out / "nodes.csv").open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == NODE_COLUMNS and len(rows) == 400
    assert f"wrote {out / 'nodes.csv'}" in capsys.readouterr().out


def test_same_file_same_export(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["scenario", "run", str(TINY), "--export", str(tmp_path / name)]) == 0
    assert (tmp_path / "a" / "links.csv").read_bytes() == (
        tmp_path / "b" / "links.csv"
    ).read_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('schema = 1\nname = "x"\nbogus = 1\n', "key 'bogus': unknown key"),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "close_road"\nlinks = []\n',
            "key 'interventions[0].links': must not be empty",
        ),
        (
            'schema = 1\nname = "x"\n[traffic]\nnetwork = "tiny/tiny_net.tntp"\n'
            'demand = "tiny/tiny_trips.tntp"\n[[interventions]]\nkind = "close_road"\n'
            'links = ["4-5", "4-9"]\n',
            "key 'interventions[0].links': unknown link '4-9'",
        ),
    ],
)
def test_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    import shutil

    shutil.copytree(DATA / "tiny", tmp_path / "tiny")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["scenario", "run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"twin: error: {path}: ")
    assert expected in err[0]


def test_sweep_in_process_writes_the_ranking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ranking.csv"
    argv = ["scenario", "sweep", str(TINY), "--each", "road", "--where", "capacity >= 600",
            "--scheduler", "none", "-o", str(out), "--top", "3"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "6 road closures in process" in text and "ranked by tstt_veh_h" in text
    with out.open() as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["rank", "id", "tstt_veh_h_delta"] and len(rows) == 7
    # 4-5 and 5-4 are closed by the scenario itself: not swept
    assert {r[1] for r in rows[1:]} == {"1-4", "4-1", "2-5", "5-2", "3-6", "6-3"}


def test_sweep_bad_where(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scenario", "sweep", str(TINY), "--each", "road", "--where", "open()",
            "--scheduler", "none"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("twin: error: --where 'open()': Call is not allowed")
