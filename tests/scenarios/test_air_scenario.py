"""Air-quality scenarios: the [air] section, the source kinds and runs over the sample twin."""

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
from twin_app.scenarios.air import (
    AirSources,
    air_twin,
    apply_air,
    residential_raster,
    residential_share,
    section_sources,
)
from twin_app.scenarios.file import scenario_from_dict
from twin_app.scenarios.run import BaselineCache, run_scenario

EXAMPLE = SAMPLE_DIR / "scenarios" / "air_close_road.toml"
#: A 600 m square in the middle of the sample twin, coarse cells: fast runs.
BOUNDS = [-300.0, -300.0, 300.0, 300.0]


def _scenario(interventions: list[dict[str, Any]], **air: Any) -> Any:
    return scenario_from_dict(
        {
            "schema": 1,
            "name": "t",
            "twin": str(SAMPLE_DIR),
            "air": {"cell_m": 20.0, "bounds": BOUNDS, "traffic_emissions": False, **air},
            "interventions": interventions,
        }
    )


@pytest.mark.parametrize(
    ("item", "key", "text"),
    [
        ({"kind": "add_source", "id": "s", "q_g_s": 1}, "interventions[0]'", "xy or lonlat"),
        ({"kind": "add_source", "id": "s", "xy": [0, 0], "q_g_s": -1}, "q_g_s", "greater"),
        ({"kind": "add_source", "id": "s", "lonlat": [0, 95], "q_g_s": 1}, "interventions[0]",
         "degrees"),
        ({"kind": "remove_source", "sources": []}, "sources", "must not be empty"),
        ({"kind": "set_source", "sources": ["s"]}, "interventions[0]'", "q_g_s and/or"),
        ({"kind": "cut_traffic", "links": ["way/1"], "factor": -0.5}, "factor", "greater"),
    ],
)  # fmt: skip
def test_bad_air_items_are_one_line_errors(item: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        scenario_from_dict({"schema": 1, "name": "t", "interventions": [item]})
    msg = str(err.value)
    assert "\n" not in msg and key in msg and text in msg


@pytest.mark.parametrize(
    ("air", "text"),
    [
        ({"stability": "auto"}, "needs `at`"),
        ({"stability": "G"}, "stability"),
        ({"pollutant": "o3"}, "pollutant"),
        ({"bounds": [1, 0, 0, 1]}, "xmin < xmax"),
        ({"wind_speed_ms": float("nan")}, "wind_speed_ms"),
        ({"sources": [{"id": "a", "xy": [0, 0], "q_g_s": 1}] * 2}, "unique"),
    ],
)
def test_bad_air_section_is_a_one_line_error(air: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError) as err:
        scenario_from_dict({"schema": 1, "name": "t", "air": air})
    msg = str(err.value)
    assert "\n" not in msg and text in msg


def test_source_interventions_are_pure_and_named() -> None:
    sc = _scenario(
        [
            {"kind": "add_source", "id": "b", "xy": [50, 0], "q_g_s": 2.0, "height_m": 20},
            {"kind": "set_source", "sources": ["a"], "height_m": 5.0},
            {"kind": "remove_source", "sources": ["b"]},
            {"kind": "cut_traffic", "links": ["way/4255394"], "factor": 0.5},
        ],
        sources=[{"id": "a", "xy": [0, 0], "q_g_s": 1.0, "height_m": 30}],
    )
    frame = air_twin(SAMPLE_DIR).frame
    base = section_sources(sc.air, frame)
    out = apply_air(sc, base, frame)
    assert base.ids == ("a",) and base.height_m.tolist() == [30.0]  # unchanged input
    assert out.ids == ("a",) and out.height_m.tolist() == [5.0]
    assert out.link_factor == ((("way/4255394",), 0.5),)
    bad = _scenario([{"kind": "remove_source", "sources": ["nope"]}])
    with pytest.raises(InputError, match=r"interventions\[0\]\.sources.*'nope'"):
        apply_air(bad, AirSources((), np.zeros((0, 2)), np.zeros(0), np.zeros(0)), frame)


def test_residential_share_and_raster_keep_the_floor_area() -> None:
    share = residential_share(["apartments", "yes", None, "office", "House"])
    assert share.tolist() == [1.0, 0.25, 0.25, 0.0, 1.0]
    twin = air_twin(SAMPLE_DIR)
    from twin_app.engines.air import ReceptorGrid

    grid = ReceptorGrid.covering(twin.extent, 25.0)
    # every centroid lies in the extent, so the raster holds all of the floor area
    ras = residential_raster(twin, grid)
    assert ras.sum() == pytest.approx(twin.residential_m2.sum(), rel=1e-9)
    assert twin.residential_m2.sum() > 0


def test_stack_raises_the_maximum_downwind_and_runs_are_deterministic() -> None:
    # wind from the west: the plume of a stack at (-200, 0) runs east along y = 0
    sc = _scenario(
        [{"kind": "add_source", "id": "stack", "xy": [-200, 0], "q_g_s": 50.0, "height_m": 30}],
        wind_speed_ms=4.0,
        wind_from_deg=270.0,
    )
    cache = BaselineCache()
    r1 = run_scenario(sc, baselines=cache)
    r2 = run_scenario(sc, baselines=cache)
    assert r2.extra["air_baseline_cached"]
    k = {x.name: x for x in r1.kpis}
    assert k["max_concentration_ug_m3"].baseline == 0.0
    assert k["max_concentration_ug_m3"].scenario > 1.0
    scen = r1.extra["air_scenario"]
    np.testing.assert_array_equal(scen, r2.extra["air_scenario"])
    # the maximum lies east (downwind) of the stack, on its row
    row, col = np.unravel_index(np.argmax(scen), scen.shape)
    a, _, c, _, e, f = r1.extra["air_transform"]
    x, y = c + (col + 0.5) * a, f + (row + 0.5) * e
    assert x > -200.0 and abs(y) <= 20.0
    assert scen[:, : int((-200 - c) // a)].max() == 0.0  # nothing upwind
    for x_ in r1.kpis:
        assert math.isfinite(x_.baseline) and math.isfinite(x_.scenario)


def test_auto_stability_uses_the_sun() -> None:
    from twin_app.scenarios.air import met_of
    from twin_app.scenarios.run import _air_section  # the section resolved by run_scenario

    twin = air_twin(SAMPLE_DIR)
    noon = _air_section(_scenario([], stability="auto", at="2026-06-21T12:00:00Z",
                                  wind_speed_ms=2.5, cloud_oktas=0))  # fmt: skip
    night = _air_section(_scenario([], stability="auto", at="2026-06-21T00:00:00Z",
                                   wind_speed_ms=2.5, cloud_oktas=0))  # fmt: skip
    # Turner: 2-3 m/s, strong insolation -> A-B; clear night -> F
    assert met_of(noon, twin).stability == "A-B"
    assert met_of(night, twin).stability == "F"


def test_example_closure_runs_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text().replace("cell_m = 10.0", "cell_m = 40.0")
    path = tmp_path / "air.toml"
    path.write_text(text.replace('twin = ".."', f'twin = "{SAMPLE_DIR}"'))
    out = tmp_path / "out"
    assert main(["scenario", "run", str(path), "--json", "--export", str(out)]) == 0
    k: dict[str, Any] = json.loads(capsys.readouterr().out)["kpis"]
    for name in ("area_over_limit_m2", "population_over_limit", "max_concentration_ug_m3"):
        assert k[name]["baseline"] is not None and k[name]["scenario"] is not None
    assert k["max_concentration_ug_m3"]["baseline"] > 15.0  # roads above the limit somewhere
    with np.load(out / "air.npz") as z:
        base, scen, tr = z["baseline"], z["scenario"], z["transform"]
    assert base.shape == scen.shape and tr[0] == 40.0
    # near the closed road (St Martin's Le Grand), over-limit cells drop or stay
    from twin_app.scenarios.file import load_scenario
    from twin_app.scenarios.twin_traffic import traffic_model_for_twin

    model = traffic_model_for_twin(load_scenario(path).twin)  # type: ignore[arg-type]
    rows = model.links_named("way/4255394")
    ends = np.concatenate(
        [model.node_xy[model.network.init_node[rows] - 1],
         model.node_xy[model.network.term_node[rows] - 1]]
    )  # fmt: skip
    ny, nx = base.shape
    xs = tr[2] + (np.arange(nx) + 0.5) * tr[0]
    ys = tr[5] + (np.arange(ny) + 0.5) * tr[4]
    gx, gy = np.meshgrid(xs, ys)
    near = np.zeros(base.shape, bool)
    for px, py in ends:
        near |= np.hypot(gx - px, gy - py) < 60.0
    assert near.any()
    assert np.count_nonzero(scen[near] > 15.0) <= np.count_nonzero(base[near] > 15.0)
    assert scen[near].mean() < base[near].mean()


def test_lonlat_and_local_sources_agree() -> None:
    frame = air_twin(SAMPLE_DIR).frame
    lon, lat = frame.to_lonlat(np.array([[120.0, -40.0]]))[0]
    sc = _scenario(
        [],
        sources=[
            {"id": "a", "xy": [120.0, -40.0], "q_g_s": 1.0},
            {"id": "b", "lonlat": [float(lon), float(lat)], "q_g_s": 1.0},
        ],
    )
    src = section_sources(sc.air, frame)
    np.testing.assert_allclose(src.xy[0], src.xy[1], atol=1e-3)


def test_cut_traffic_lowers_the_air_along_the_road_only_by_emissions() -> None:
    link = "way/4255394"
    # the A40 (way/4255394) runs north-south near x = 660 m, y = 250..400 m
    sc = _scenario(
        [{"kind": "cut_traffic", "links": [link], "factor": 0.0}],
        traffic_emissions=True,
        bounds=[400.0, 100.0, 900.0, 600.0],
    )
    r = run_scenario(sc, baselines=BaselineCache())
    k = {x.name: x for x in r.kpis}
    # traffic is not re-solved: its KPIs are the baseline's
    assert k["vkt_km"].scenario == k["vkt_km"].baseline
    base, scen = r.extra["air_baseline"], r.extra["air_scenario"]
    assert np.all(scen <= base + 1e-12) and scen.sum() < base.sum()
    bad = _scenario([{"kind": "cut_traffic", "links": ["way/1"], "factor": 0.5}],
                    traffic_emissions=True)  # fmt: skip
    with pytest.raises(InputError, match=r"interventions\[0\]\.links.*'way/1'"):
        run_scenario(bad, baselines=BaselineCache())


def test_road_lines_follow_the_links() -> None:
    from twin_app.scenarios.air import road_lines
    from twin_app.scenarios.twin_traffic import traffic_model_for_twin

    model = traffic_model_for_twin(SAMPLE_DIR)
    rows = model.links_named("way/4255394")
    flow = np.zeros(len(model.link_ids))
    flow[rows] = 1000.0
    lines = road_lines(model, flow, "pm25", np.ones(len(model.link_ids)))
    emitting = lines.q_g_s_m > 0
    # the 145 m one-way road (OSM), chord by chord between its nodes
    assert lines.length_m[emitting].sum() == pytest.approx(145.5, abs=1.0)
    # zone connectors do not emit: every line is a road link
    assert len(lines) == int(np.count_nonzero(model.segment_row >= 0))


def test_air_kinds_imply_the_section_and_its_default_roads() -> None:
    add = {"kind": "add_source", "id": "s", "xy": [0, 0], "q_g_s": 5.0}
    sc = scenario_from_dict({"schema": 1, "name": "t", "interventions": [add]})
    assert sc.has_air and sc.has_traffic  # traffic_emissions defaults to true
    off = scenario_from_dict(
        {"schema": 1, "name": "t", "air": {"traffic_emissions": False}, "interventions": [add]}
    )
    assert off.has_air and not off.has_traffic
