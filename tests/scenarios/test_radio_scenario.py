"""5G coverage scenarios (issue 9, "5G coverage" and "Costs").

Runs on the sample twin over a bounded area at a coarse street grid, so each study takes well
under a second; the references are physical and exact: adding a station never lowers
best-server coverage and removing one never raises it, raising every station's power by
10 dB raises every street receptor's RSRP by exactly 10 dB, a new building can only take line
of sight away, and the same file gives the same numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.cli import main
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.file import load_scenario, save_scenario, scenario_from_dict
from twin_app.scenarios.radio import DEFAULT_STATION_UNIT_COST, apply_stations
from twin_app.scenarios.run import BaselineCache, run_scenario

EXAMPLE = SAMPLE_DIR / "scenarios" / "add_5g_station.toml"
BOUNDS = [500.0, 350.0, 1000.0, 850.0]
EAST = {"id": "east", "on_roof": "way/516268543"}
NORTH = {"id": "north", "on_roof": "way/191292105"}
NEW = {"id": "new", "on_roof": "way/172180192"}


def _scenario(
    interventions: list[dict[str, Any]], sun: dict[str, Any] | None = None, **radio: Any
) -> Any:
    sec = {"stations": [EAST, NORTH], "bounds": BOUNDS, "spacing_m": 25.0, **radio}
    data = {"schema": 1, "name": "t", "twin": str(SAMPLE_DIR), "radio": sec,
            "interventions": interventions}  # fmt: skip
    if sun is not None:
        data["sun"] = sun
    return scenario_from_dict(data)


@pytest.mark.parametrize(
    ("data", "key", "text"),
    [
        ({"interventions": [{"kind": "add_station", "id": "a", "height_m": 20}]},
         "interventions[0]'", "xy, lonlat or on_roof"),
        ({"interventions": [{"kind": "add_station", "id": "a", "xy": [0, 0], "height_m": 20,
                             "on_roof": "way/1"}]}, "interventions[0]'", "height_m or on_roof"),
        ({"interventions": [{"kind": "add_station", "id": "a", "xy": [0, 0], "height_m": 20,
                             "scenario": "RMa"}]}, "scenario", "UMa"),
        ({"interventions": [{"kind": "add_station", "id": "a", "lonlat": [0, 95],
                             "height_m": 20}]}, "lonlat", "degrees"),
        ({"interventions": [{"kind": "remove_station", "stations": []}]}, "stations",
         "must not be empty"),
        ({"interventions": [{"kind": "set_station", "stations": ["a"]}]}, "interventions[0]'",
         "tx_power_dbm"),
        ({"radio": {"bounds": [1, 1, 0, 2]}}, "radio.bounds", "xmin < xmax"),
        ({"radio": {"spacing_m": 0}}, "radio.spacing_m", "greater"),
        ({"radio": {"threshold_dbm": float("nan")}}, "radio.threshold_dbm", "finite"),
        ({"radio": {"stations": [EAST, EAST]}}, "radio", "used twice"),
        ({"radio": {"frequency": 3.5}}, "radio.frequency", "unknown key"),
    ],
)  # fmt: skip
def test_bad_radio_items_are_one_line_errors(data: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        scenario_from_dict({"schema": 1, "name": "t", **data})
    msg = str(err.value)
    assert "\n" not in msg and key in msg and text in msg


def test_unknown_stations_and_roofs_are_named() -> None:
    s = _scenario([{"kind": "remove_station", "stations": ["nope"]}])
    with pytest.raises(InputError, match=r"interventions\[0\]\.stations.*'nope'.*east, north"):
        run_scenario(s)
    s = _scenario([{"kind": "add_station", "id": "east", "xy": [0, 0], "height_m": 20}])
    with pytest.raises(InputError, match=r"interventions\[0\]\.id.*already taken"):
        run_scenario(s)
    s = scenario_from_dict({"schema": 1, "name": "t", "radio": {}})
    with pytest.raises(InputError, match=r"key 'twin': a \[radio\] study"):
        run_scenario(s)
    s = _scenario([], stations=[{"id": "x", "on_roof": "way/0"}])
    with pytest.raises(InputError, match=r"radio\.stations\.x\.on_roof.*'way/0'"):
        run_scenario(s)


def test_station_interventions_are_pure() -> None:
    s = _scenario([
        {"kind": "add_station", **NEW},
        {"kind": "set_station", "stations": ["east"], "tx_power_dbm": 40.0, "height_m": 5.0},
        {"kind": "remove_station", "stations": ["north"]},
    ])  # fmt: skip
    before = s.model_dump()
    specs, added = apply_stations(s)
    assert s.model_dump() == before
    assert [x.id for x in specs] == ["east", "new"] and added == 1
    east = specs[0]
    # a rooftop station keeps its roof; the new height is its mast's
    assert east.on_roof == "way/516268543" and east.mast_m == 5.0 and east.tx_power_dbm == 40.0
    assert [x.id for x in s.radio.stations] == ["east", "north"]


def _run_example_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('twin = ".."', f"twin = {json.dumps(str(SAMPLE_DIR))}")
    text = text.replace("spacing_m = 10.0", "spacing_m = 20.0")
    path = tmp_path / "add_5g_station.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["scenario", "run", str(path), "--json", *extra]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_example_station_raises_coverage_at_its_unit_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = load_scenario(EXAMPLE)
    assert s.has_radio and not s.has_sun
    assert s.radio is not None and s.radio.station_unit_cost == DEFAULT_STATION_UNIT_COST
    k = _run_example_json(tmp_path, capsys, "--export", str(tmp_path / "out"))["kpis"]
    assert list(k) == ["area_covered_pct", "buildings_covered_pct",
                       "stations_needed_for_target", "capex"]  # fmt: skip
    assert k["area_covered_pct"]["delta"] > 0
    assert k["buildings_covered_pct"]["delta"] >= 0
    assert k["stations_needed_for_target"]["scenario"] is None  # plan = false: NaN
    assert k["capex"] == {"baseline": 0.0, "scenario": 700000.0, "delta": 700000.0,
                          "unit": "RMB"}  # fmt: skip
    with np.load(tmp_path / "out" / "radio.npz") as z:
        assert z["baseline"].shape == z["scenario"].shape == (40, 40)
        assert len(z["transform"]) == 6
        assert z["buildings_scenario"].shape == z["building_ids_scenario"].shape
        cov_b = np.nan_to_num(z["baseline"], nan=-np.inf) >= -100.0
        cov_s = np.nan_to_num(z["scenario"], nan=-np.inf) >= -100.0
        assert np.all(cov_s >= cov_b)  # an added station never takes coverage away


def test_removing_a_station_never_raises_coverage_and_runs_are_deterministic() -> None:
    s = _scenario([{"kind": "remove_station", "stations": ["north"]}])
    cache = BaselineCache()
    a = run_scenario(s, baselines=cache)
    assert a.kpi("area_covered_pct").delta < 0
    assert a.kpi("buildings_covered_pct").delta <= 0
    assert a.kpi("capex").scenario == 0.0
    rb, rs = a.extra["radio_baseline"], a.extra["radio_scenario"]
    assert np.all(np.nan_to_num(rs, nan=0.0) <= np.nan_to_num(rb, nan=0.0))
    assert a.extra["radio_baseline_cached"] is False
    b = run_scenario(s, baselines=cache)
    assert b.extra["radio_baseline_cached"] is True
    c = run_scenario(s)
    for r in (b, c):
        assert [(k.name, k.baseline, k.scenario) for k in r.kpis] == [
            (k.name, k.baseline, k.scenario) for k in a.kpis
        ]
        assert np.array_equal(r.extra["radio_scenario"], rs, equal_nan=True)


def test_ten_db_more_power_is_ten_db_more_rsrp() -> None:
    s = _scenario(
        [{"kind": "set_station", "stations": ["east", "north"], "tx_power_dbm": 56.0}],
        indoor=False,
    )
    r = run_scenario(s)
    rb, rs = r.extra["radio_baseline"], r.extra["radio_scenario"]
    ok = np.isfinite(rb)
    assert ok.sum() > 100
    assert np.allclose(rs[ok] - rb[ok], 10.0, atol=1e-9)
    assert math.isnan(r.kpi("buildings_covered_pct").scenario)  # indoor = false


def test_a_new_building_blocks_line_of_sight() -> None:
    # a 150 m slab 40 m east of the north station's roof, across the area
    x0, y0 = 687.0, 700.0
    slab = [[x0, y0], [x0 + 10.0, y0], [x0 + 10.0, y0 + 300.0], [x0, y0 + 300.0]]
    # the massing edit implies a sun study too: keep it tiny
    sun = {"step_min": 120.0, "cell_m": 20.0, "buffer_m": 0.0, "facade_spacing_m": 20.0}
    s = _scenario([{"kind": "add_building", "footprint": slab, "height_m": 150.0}], sun,
                  indoor=False)  # fmt: skip
    r = run_scenario(s)
    assert s.has_radio and s.has_sun
    assert r.kpi("area_covered_pct").delta < 0
    rb, rs = r.extra["radio_baseline"], r.extra["radio_scenario"]
    both = np.isfinite(rb) & np.isfinite(rs)
    assert np.all(rs[both] <= rb[both] + 1e-9)


def test_plan_counts_stations_for_the_target() -> None:
    base = run_scenario(_scenario([], indoor=False, spacing_m=50.0))
    pct = base.kpi("area_covered_pct").baseline
    r = run_scenario(
        _scenario([], indoor=False, spacing_m=50.0, plan=True, candidates=5,
                  target_pct=min(pct + 5.0, 100.0))
    )  # fmt: skip
    need = r.kpi("stations_needed_for_target").baseline
    assert need >= 3  # the two existing plus at least one new
    assert r.extra["radio_study_baseline"].placement is not None


def test_radio_scenario_saves_and_reads_back(tmp_path: Path) -> None:
    s = load_scenario(EXAMPLE)
    path = tmp_path / "copy.toml"
    save_scenario(s, path)
    assert load_scenario(path).radio == s.radio
    assert load_scenario(path).interventions == s.interventions
