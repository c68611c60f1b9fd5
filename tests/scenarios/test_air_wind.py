"""[air] wind = "replay": the sample twin's Beijing PRSA wind (wd, WSPM) at the scenario's time.

Rows checked against the shared source file ``PRSA_Data_Dongsi_20130301-20170228.csv.gz``:
2016-12-19 08:00 Beijing time "E", 0.3 m/s; 09:00 "ENE", 1.3; 11:00 "N", 1.7.
The twin's clock shows 2016-12-18T16:00Z at its replay start 2026-03-02T00:00Z.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.engines.air import compass_deg
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.air_wind import read_prsa_wind, replay_wind, wind_at

WIND = SAMPLE_DIR / "wind_beijing_prsa.csv"
SHARED = SAMPLE_DIR.parents[2].parent / "shared" / "data" / "airquality" / "beijing_prsa"


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_compass_text_to_degrees_vectorised() -> None:
    got = compass_deg(["N", "NNE", "ENE", "E", "SSW", "NNW", "CV", None, "x"])
    np.testing.assert_array_equal(got[:6], [0.0, 22.5, 67.5, 90.0, 202.5, 337.5])
    assert np.isnan(got[6:]).all()


def test_bundled_rows_are_the_source_rows() -> None:
    df = read_prsa_wind(WIND)
    assert len(df) == 12 * 73 and df["station"].nunique() == 12
    if not SHARED.exists():
        pytest.skip("shared PRSA data not present")
    import pandas as pd

    src = pd.read_csv(SHARED / "PRSA_Data_Dongsi_20130301-20170228.csv.gz")
    ours = pd.read_csv(WIND)
    mine = ours[ours["station"] == "Dongsi"].reset_index(drop=True)
    theirs = src[src["No"].isin(mine["No"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs[mine.columns], check_dtype=False)


@pytest.mark.parametrize(
    ("twin_time", "speed", "deg"),
    [
        ("2026-03-02T08:00:00", 0.3, 90.0),  # Beijing 2016-12-19 08:00, "E"
        ("2026-03-02T09:30:00", 1.3, 67.5),  # 09:00 row holds 09:30, "ENE"
        ("2026-03-02T11:00:00", 1.7, 0.0),  # "N"
    ],
)
def test_replay_wind_at_the_twin_time(twin_time: str, speed: float, deg: float) -> None:
    w = replay_wind(SAMPLE_DIR, _utc(twin_time))
    assert (w.station, w.speed_ms, w.from_deg) == ("Dongsi", speed, deg)
    # the replay moves the series by replay_start - source_start: 08:00Z shows 00:00Z
    assert w.t_utc == _utc(twin_time).replace(minute=0) - dt.timedelta(hours=8) - (
        _utc("2026-03-02T00:00:00") - _utc("2016-12-19T00:00:00")
    )


def test_bad_samples_are_one_line_errors_naming_file_column_and_time() -> None:
    # Changping 2016-12-20 00:00 Beijing time (16:00Z on the 19th) has no wd in the source
    t = int(_utc("2016-12-19T16:00:00").timestamp()) * 10**9
    with pytest.raises(InputError) as err:
        wind_at(WIND, t, "Changping")
    msg = str(err.value)
    assert "\n" not in msg and str(WIND) in msg and "'wd' is missing" in msg
    assert "2016-12-20 00:00 Beijing time" in msg
    # outside the bundled days
    with pytest.raises(InputError, match=r"no wind row .* covers"):
        wind_at(WIND, t + 10 * 86400 * 10**9, "Dongsi")
    with pytest.raises(InputError, match="column 'station' has no 'Nowhere'"):
        wind_at(WIND, t, "Nowhere")


def test_calm_and_bad_speed_rows(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    p.write_text(
        "year,month,day,hour,wd,WSPM,station\n"
        "2016,12,19,0,CV,0.0,A\n2016,12,19,1,NE,,A\n2016,12,19,2,SW,-1,A\n"
    )
    t0 = int(_utc("2016-12-18T16:00:00").timestamp()) * 10**9
    with pytest.raises(InputError, match=r"'CV' \(calm and variable"):
        wind_at(p, t0, "A")
    for h in (1, 2):
        with pytest.raises(InputError, match=r"column 'WSPM' is missing or invalid"):
            wind_at(p, t0 + h * 3600 * 10**9, "A")
    with pytest.raises(InputError, match="needs columns"):
        (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
        read_prsa_wind(tmp_path / "bad.csv")


def _section(**air: Any) -> Any:
    from twin_app.scenarios.file import scenario_from_dict
    from twin_app.scenarios.run import _air_section

    return _air_section(
        scenario_from_dict(
            {"schema": 1, "name": "t", "twin": str(SAMPLE_DIR), "air": {"cell_m": 50.0, **air}}
        )
    )


def test_met_takes_the_replayed_wind_and_its_stability() -> None:
    from twin_app.scenarios.air import air_twin, met_of

    twin = air_twin(SAMPLE_DIR)
    # 2026-03-02 11:00Z on the twin: Dongsi "N" at 1.7 m/s; London 11:00 in March, sun ~32 deg
    # up (slight insolation), < 2 m/s -> B (Turner's key)
    met = met_of(_section(wind="replay", at="2026-03-02T11:00:00Z", stability="auto",
                          cloud_oktas=0), twin)  # fmt: skip
    assert (met.wind_speed_ms, met.wind_from_deg, met.stability) == (1.7, 0.0, "B")
    # the user's wind when not replayed; another station when named
    user = met_of(_section(wind_speed_ms=4.0, wind_from_deg=200.0), twin)
    assert (user.wind_speed_ms, user.wind_from_deg) == (4.0, 200.0)
    other = met_of(_section(wind="replay", at="2026-03-02T08:00:00Z",
                            wind_station="Changping"), twin)  # fmt: skip
    assert (other.wind_speed_ms, other.wind_from_deg) == (0.7, 337.5)  # Changping 08:00 "NNW"


def test_replay_needs_at() -> None:
    with pytest.raises(InputError, match="wind = 'replay' needs `at`"):
        _section(wind="replay")


def test_example_with_replayed_wind_runs_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped example: Dongsi's "N" at 1.7 m/s blows the stack's plume south; the taller
    stack lowers the ground-level maximum."""
    import json

    from twin_app.cli import main

    text = (SAMPLE_DIR / "scenarios" / "air_replayed_wind.toml").read_text()
    path = tmp_path / "air.toml"
    path.write_text(
        text.replace('twin = ".."', f'twin = "{SAMPLE_DIR}"').replace(
            "cell_m = 10.0", "cell_m = 25.0"
        )
    )
    out = tmp_path / "out"
    assert main(["scenario", "run", str(path), "--json", "--export", str(out)]) == 0
    got = json.loads(capsys.readouterr().out)
    k = got["kpis"]
    # what the run assumed is said beside the KPIs: the replayed reading and where it is from
    (line,) = got["conditions"]
    assert line.startswith("air: wind from N (0 deg) at 1.7 m/s, replayed at 2026-03-02 11:00 UTC")
    assert "Dongsi's reading of 2016-12-19 03:00 UTC in wind_beijing_prsa.csv" in line
    assert "stability class B (from that wind, a sun 29 deg high and 4 oktas" in line
    peak = k["max_concentration_ug_m3"]
    assert peak["scenario"] < peak["baseline"]
    with np.load(out / "air.npz") as z:
        base, tr = z["baseline"], z["transform"]
    ny, nx = base.shape
    ys = tr[5] + (np.arange(ny) + 0.5) * tr[4]
    xs = tr[2] + (np.arange(nx) + 0.5) * tr[0]
    row, col = np.unravel_index(np.argmax(base), base.shape)
    assert ys[row] < 0.0 and abs(xs[col]) < 2 * tr[0]  # due south of the stack at (0, 0)
    assert base[ys > 2 * tr[0]].max() == pytest.approx(15.0)  # nothing north: background
