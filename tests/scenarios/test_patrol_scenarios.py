"""Patrol robot scenarios (issue 9, "Patrols" and "Costs").

Runs on a bounded district of the sample twin (a 400 m square of streets) so a run takes about
a second; the references are structural: more robots on the same tour never revisit less
often, capex is the robots bought times the unit cost, the routes cover every street, and the
same file gives the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.cli import main
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.file import load_scenario, scenario_from_dict
from twin_app.scenarios.patrol import (
    PATROL_KPIS,
    apply_patrol,
    baseline_fleet,
    street_network_for_twin,
)
from twin_app.scenarios.run import BaselineCache, run_scenario

EXAMPLE = SAMPLE_DIR / "scenarios" / "patrol_robots.toml"
BOUNDS = [-200.0, -200.0, 200.0, 200.0]


def _scenario(interventions: list[dict[str, Any]], **patrol: Any) -> Any:
    return scenario_from_dict(
        {
            "schema": 1,
            "name": "t",
            "twin": str(SAMPLE_DIR),
            "patrol": {"robots": 4, "bounds": BOUNDS, **patrol},
            "interventions": interventions,
        }
    )


@pytest.mark.parametrize(
    ("data", "key", "text"),
    [
        ({"interventions": [{"kind": "add_robots", "count": 0}]}, "count", "greater"),
        ({"interventions": [{"kind": "add_robots", "count": 1, "depot": [0, 95]}]}, "depot",
         "lon, lat"),
        ({"interventions": [{"kind": "set_fleet"}]}, "interventions[0]'", "at least one"),
        ({"interventions": [{"kind": "patrol_route", "links": []}]}, "links",
         "must not be empty"),
        ({"interventions": [{"kind": "remove_robots", "count": 1, "x": 1}]}, "x", "unknown key"),
        ({"patrol": {"robots": 0}}, "patrol.robots", "greater"),
        ({"patrol": {"speed_m_s": float("nan")}}, "patrol.speed_m_s", "finite"),
        ({"patrol": {"bounds": [1, 0, 0, 1]}}, "patrol.bounds", "xmin < xmax"),
        ({"patrol": {"depots": []}}, "patrol.depots", "at least one depot"),
    ],
)  # fmt: skip
def test_bad_patrol_items_are_one_line_errors(data: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        scenario_from_dict({"schema": 1, "name": "t", **data})
    msg = str(err.value)
    assert "\n" not in msg and key in msg and text in msg, msg


def test_defaults_are_documented_whitepaper_midpoint() -> None:
    s = scenario_from_dict({"schema": 1, "name": "t", "patrol": {}})
    assert s.patrol is not None and s.has_patrol
    assert s.patrol.robot_unit_cost == 300_000.0 and s.patrol.currency == "RMB"
    assert s.patrol.speed_m_s == 1.2 and s.patrol.horizon_h == 24.0
    assert s.patrol.coverage_min == s.patrol.target_revisit_min


def test_interventions_are_pure_and_in_order() -> None:
    s = _scenario(
        [
            {"kind": "add_robots", "count": 6, "depot": [-0.1, 51.51]},
            {"kind": "remove_robots", "count": 2},
            {"kind": "set_fleet", "speed_m_s": 2.0},
            {"kind": "patrol_route", "links": ["way/1"]},
        ]
    )
    base = baseline_fleet(s)
    scen = apply_patrol(s, base)
    assert base == baseline_fleet(s) and base.robots == 4 and base.added == 0
    assert scen.robots == 8 and scen.added == 6 and scen.speed_m_s == 2.0
    assert scen.depots == ((-0.1, 51.51),) and scen.hand_routes == (("way/1",),)
    with pytest.raises(InputError, match=r"interventions\[0\]'.*at least one must stay"):
        apply_patrol(_scenario([{"kind": "remove_robots", "count": 4}]), base)


def test_needs_a_twin_and_known_roads() -> None:
    s = scenario_from_dict({"schema": 1, "name": "t", "patrol": {}})
    with pytest.raises(InputError, match="key 'twin'"):
        run_scenario(s)
    bad = _scenario([{"kind": "patrol_route", "links": ["way/does-not-exist"]}])
    with pytest.raises(InputError, match="patrol_route 1: road 'way/does-not-exist'"):
        run_scenario(bad)


def test_example_more_robots_revisit_sooner_and_cost_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_scenario(EXAMPLE).has_patrol
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('twin = ".."', f"twin = {json.dumps(str(SAMPLE_DIR))}")
    text = text.replace("[patrol]\n", f"[patrol]\nbounds = {BOUNDS}\n")
    path = tmp_path / "patrol_robots.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["scenario", "run", str(path), "--json"]) == 0
    k = json.loads(capsys.readouterr().out)["kpis"]
    assert list(k) == list(PATROL_KPIS)
    assert k["worst_revisit_min"]["scenario"] < k["worst_revisit_min"]["baseline"]
    assert k["mean_response_min"]["scenario"] < k["mean_response_min"]["baseline"]
    assert k["street_coverage_pct"]["scenario"] >= k["street_coverage_pct"]["baseline"]
    assert k["capex"] == {"baseline": 0.0, "scenario": 3_000_000.0, "delta": 3_000_000.0,
                          "unit": "RMB"}  # fmt: skip
    # the robot sizing does not depend on how many robots the fleet has
    need = k["robots_needed_for_target"]
    assert need["baseline"] == need["scenario"] and need["baseline"] % 2 == 0


def test_runs_are_deterministic_cached_and_cover_every_street() -> None:
    s = _scenario([{"kind": "add_robots", "count": 2}], robot_unit_cost=1000.0, currency="EUR")
    cache = BaselineCache()
    r1 = run_scenario(s, baselines=cache)
    r2 = run_scenario(s, baselines=cache)
    assert r1.extra["patrol_tour_cached"] is False and r2.extra["patrol_tour_cached"] is True
    assert [(k.name, k.baseline, k.scenario, k.unit) for k in r1.kpis] == [
        (k.name, k.baseline, k.scenario, k.unit) for k in r2.kpis
    ]
    capex = {k.name: k for k in r1.kpis}["capex"]
    assert (capex.scenario, capex.unit) == (2000.0, "EUR")
    net = street_network_for_twin(SAMPLE_DIR, None, tuple(BOUNDS))
    g = net.graph
    assert np.all((g.node_xy[g.tail] >= -200.0) & (g.node_xy[g.tail] <= 200.0))
    for side, robots in (("baseline", 4), ("scenario", 6)):
        routes = r1.extra[f"patrol_routes_{side}"]
        assert len(routes) == robots // 2  # two robots a post (8 h run, 6 h charge)
        covered = set().union(*(r["edges"] for r in routes))
        assert covered == {str(v) for v in g.ids}
        for r in routes:
            xy = r["xy"]
            assert np.allclose(xy[0], xy[-1])  # closed routes from and to the depot
            assert len(r["edges"]) == len(xy) - 1
        pos = r1.extra[f"patrol_positions_{side}"]
        assert pos["xy"].shape == (24 * 60 + 1, robots // 2, 2)
        assert pos["running"].all()  # two robots a post keep it running around the clock
        assert np.isfinite(pos["xy"]).all()


def test_hand_drawn_route_takes_a_post_of_the_fleet() -> None:
    net = street_network_for_twin(SAMPLE_DIR, None, tuple(BOUNDS))
    edge = str(net.graph.ids[0])
    way = edge.split("#")[0]
    s = _scenario([{"kind": "patrol_route", "links": [way]}])
    r = run_scenario(s)
    routes = r.extra["patrol_routes_scenario"]
    assert len(routes) == 2 and edge in routes[0]["edges"]
    way_edges = {str(v) for v in net.graph.ids if str(v).startswith(way + "#")}
    assert way_edges <= set(routes[0]["edges"])
    too_many = _scenario([{"kind": "patrol_route", "links": [way]}] * 3)
    with pytest.raises(InputError, match="3 hand-drawn routes need 6 robots"):
        run_scenario(too_many)


def test_robots_without_a_post_are_warned_and_files_read_back(tmp_path: Path) -> None:
    from twin_app.scenarios.file import save_scenario

    s = _scenario([{"kind": "add_robots", "count": 1}], robots=1, depots=[[-0.1, 51.51]])
    r = run_scenario(s)
    assert any("baseline: 1 robots cannot keep a post manned" in w for w in r.warnings)
    assert any("scenario" in w for w in r.warnings) is False  # 2 robots: one full post
    assert save_scenario(s, tmp_path / "p.toml") == s
    assert load_scenario(tmp_path / "p.toml") == s
