"""run_scenario: baseline vs scenario on real engines, deterministic, tables with the issue's
columns, unknown ids named with their key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.engines.traffic import assign
from twin_app.engines.water import simulate
from twin_app.errors import Cancelled, InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.tntp import read_net, read_trips
from twin_app.scenarios.file import load_scenario, scenario_from_dict
from twin_app.scenarios.model import ScenarioResult
from twin_app.scenarios.run import LINK_COLUMNS, NODE_COLUMNS, TRAFFIC_KPIS, run_scenario

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"
TINY = DATA / "tiny_close_road.toml"


def _same_result(a: ScenarioResult, b: ScenarioResult) -> None:
    assert [(k.name, k.baseline, k.scenario, k.unit) for k in a.kpis] == [
        (k.name, k.baseline, k.scenario, k.unit) for k in b.kpis
    ]
    for x, y in ((a.links, b.links), (a.nodes, b.nodes), (a.pipes, b.pipes)):
        if x is None:
            assert y is None
        else:
            pd.testing.assert_frame_equal(x, y, check_exact=True)


def _conserved(net, flow: np.ndarray, od: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    n = net.n_nodes
    balance = np.bincount(net.init_node, flow, n) - np.bincount(net.term_node, flow, n)
    expected = np.zeros(n)
    nz = od.shape[0]
    expected[:nz] = od.sum(axis=1) - od.sum(axis=0)
    np.testing.assert_allclose(balance, expected, atol=1e-6 * max(od.sum(), 1.0))


def test_tiny_close_road_against_a_direct_assignment() -> None:
    s = load_scenario(TINY)
    res = run_scenario(s)
    assert [k.name for k in res.kpis] == list(TRAFFIC_KPIS)
    links = res.links
    assert links is not None and tuple(links.columns[: len(LINK_COLUMNS)]) == LINK_COLUMNS
    closed = links["id"].isin(["4-5", "5-4"]).to_numpy()
    assert (links.loc[closed, "flow_scenario"] == 0).all()
    assert links.loc[closed, "time_scenario"].isna().all()
    # the same closure assigned directly, cold, on the file's network
    net = read_net(DATA / "tiny" / "tiny_net.tntp")
    trips = read_trips(DATA / "tiny" / "tiny_trips.tntp")
    direct = assign(net, trips, 1e-10, closed=closed)
    np.testing.assert_allclose(links["flow_scenario"], direct.flow, rtol=1e-4, atol=1e-3)
    base = assign(net, trips, 1e-10)
    np.testing.assert_allclose(links["flow_baseline"], base.flow, rtol=1e-4, atol=1e-3)
    _conserved(net, links["flow_scenario"].to_numpy(), trips.od)
    # times in minutes (the file's time unit is minutes); vc = flow / capacity
    np.testing.assert_allclose(links["time_baseline"], base.time, rtol=1e-4)
    np.testing.assert_allclose(links["vc_baseline"], links["flow_baseline"] / net.capacity)
    tstt = res.kpi("tstt_veh_h")
    assert tstt.scenario > tstt.baseline
    assert tstt.delta == tstt.scenario - tstt.baseline
    assert tstt.baseline == pytest.approx(float(np.dot(base.flow, base.time)) / 60, rel=1e-4)


def test_same_file_same_numbers() -> None:
    s = load_scenario(TINY)
    _same_result(run_scenario(s), run_scenario(load_scenario(TINY)))


def test_add_link_and_capacity_in_one_file(tmp_path: Path) -> None:
    data = {
        "schema": 1,
        "name": "bypass",
        "traffic": {"network": str(DATA / "tiny" / "tiny_net.tntp"),
                    "demand": str(DATA / "tiny" / "tiny_trips.tntp"), "relative_gap": 1e-9},
        "interventions": [
            {"kind": "set_capacity", "links": ["4-5", "5-4"], "factor": 0.5},
            {"kind": "add_link", "from": 1, "to": 3, "capacity": 600, "free_flow_time": 3},
        ],
    }  # fmt: skip
    res = run_scenario(scenario_from_dict(data))
    links = res.links
    assert links is not None
    new = links.iloc[-1]
    assert (new["id"], new["from"], new["to"], new["flow_baseline"]) == ("1-3", 1, 3, 0.0)
    assert np.isnan(new["vc_baseline"]) and np.isnan(new["time_baseline"])
    assert new["flow_scenario"] > 0 and new["flow_delta"] == new["flow_scenario"]
    half = links["id"] == "4-5"
    np.testing.assert_allclose(
        links.loc[half, "vc_scenario"] * 300, links.loc[half, "flow_scenario"]
    )


def test_unknown_link_names_file_and_key(tmp_path: Path) -> None:
    text = TINY.read_text().replace('links = ["4-5", "5-4"]', 'links = ["4-5", "5-9"]')
    path = tmp_path / "bad.toml"
    path.write_text(text.replace('"tiny/', f'"{DATA}/tiny/'))
    with pytest.raises(InputError) as info:
        run_scenario(load_scenario(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}: key 'interventions[0].links': unknown link '5-9'")
    assert "did you mean '5-2' or '5-4' or '5-6'?" in msg or "did you mean" in msg


def test_progress_and_cancel() -> None:
    seen: list[tuple[float, str]] = []
    run_scenario(load_scenario(TINY), progress=lambda f, t: seen.append((f, t)))
    assert seen[-1] == (1.0, "done")
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    with pytest.raises(Cancelled):
        run_scenario(load_scenario(TINY), cancelled=lambda: True)


def test_nothing_to_run() -> None:
    with pytest.raises(InputError, match="nothing to run"):
        run_scenario(scenario_from_dict({"schema": 1, "name": "empty"}))


def test_dtown_close_pipe_equals_the_engine_run_directly() -> None:
    s = load_scenario(DATA / "dtown_close_pipe.toml")
    res = run_scenario(s)
    assert [k.name for k in res.kpis] == [
        "min_pressure_m",
        "junctions_below_service_pressure",
        "demand_not_served_m3",
        "customers_affected",
    ]
    assert res.nodes is not None and tuple(res.nodes.columns) == NODE_COLUMNS
    assert s.water is not None and s.water.network is not None
    direct = simulate(s.water.network, duration_h=6, closed_links=["P10"])
    junction = direct.node_types == "junction"
    np.testing.assert_array_equal(
        res.nodes["min_pressure_scenario"].to_numpy(),
        direct.pressure_m[:, junction].min(axis=0).astype(np.float64),
    )
    assert res.kpi("min_pressure_m").scenario == direct.kpis["min_pressure_m"]
    assert res.kpi("demand_not_served_m3").delta > 0
    assert (
        res.pipes is not None
        and res.pipes.loc[res.pipes["id"] == "P10", "flow_scenario"].item() == 0
    )


def test_unknown_pipe_names_file_and_key(tmp_path: Path) -> None:
    text = (DATA / "dtown_close_pipe.toml").read_text().replace('"P10"', '"P10", "P99999"')
    path = DATA / "_tmp_unknown_pipe.toml"
    path.write_text(text)
    try:
        with pytest.raises(InputError) as info:
            run_scenario(load_scenario(path))
    finally:
        path.unlink()
    assert f"{path}: key 'interventions[0].pipes': unknown link 'P99999'" in str(info.value)


def test_sample_twin_close_pipe() -> None:
    s = load_scenario(SAMPLE_DIR / "scenarios" / "close_pipe.toml")
    assert s.twin == SAMPLE_DIR
    res = run_scenario(s)
    assert res.kpi("demand_not_served_m3").delta > 0
    assert res.nodes is not None and len(res.nodes) == 399  # D-Town's junctions


def test_sioux_falls_closure(shared_file: Callable[[str], Path]) -> None:
    shared_file("traffic/tntp/SiouxFalls/SiouxFalls_net.tntp")
    s = load_scenario(DATA / "sioux_falls_close_10_16.toml")
    res = run_scenario(s)
    assert res.kpi("relative_gap").scenario <= 1e-5
    assert res.kpi("tstt_veh_h").delta > 0
    assert res.kpi("od_pairs_disconnected").scenario == 0
    links = res.links
    assert links is not None and len(links) == 76
    net = read_net(shared_file("traffic/tntp/SiouxFalls/SiouxFalls_net.tntp"))
    trips = read_trips(shared_file("traffic/tntp/SiouxFalls/SiouxFalls_trips.tntp"))
    _conserved(net, links["flow_scenario"].to_numpy(), trips.od)


def test_sample_twin_close_road() -> None:
    s = load_scenario(SAMPLE_DIR / "scenarios" / "close_road.toml")
    res = run_scenario(s)
    links = res.links
    assert links is not None
    closed = np.zeros(len(links), dtype=bool)
    closed[res.extra["traffic_model_scenario"].links_named("way/4255394")] = True
    assert closed.sum() >= 1 and links.loc[closed, "id"].str.startswith("way/4255394").all()
    assert (links.loc[closed, "flow_scenario"] == 0).all()
    assert res.kpi("od_pairs_disconnected").scenario == 0
    assert links.loc[closed, "flow_baseline"].sum() > 0  # a main road carries traffic
    assert res.kpi("tstt_veh_h").delta > 0


def test_bare_osm_file_as_the_road_network(tmp_path: Path) -> None:
    osm = SAMPLE_DIR / "london.osm.pbf"
    path = tmp_path / "osm.toml"
    path.write_text(
        f'schema = 1\nname = "osm"\n[traffic]\nnetwork = "{osm}"\n'
        '[[interventions]]\nkind = "close_road"\nlinks = ["way/4255394"]\n'
    )
    res = run_scenario(load_scenario(path))
    twin = run_scenario(load_scenario(SAMPLE_DIR / "scenarios" / "close_road.toml"))
    assert res.links is not None and twin.links is not None
    assert list(res.links["id"]) == list(twin.links["id"])  # the same roads, the same ids
    assert res.kpi("tstt_veh_h").delta > 0
    path.write_text(path.read_text().replace("[traffic]\n", '[traffic]\ndemand = "x.tntp"\n'))
    with pytest.raises(InputError, match="takes its demand from its buildings"):
        run_scenario(load_scenario(path, check=False))


def test_stranded_trips_make_the_totals_not_judged(shared_file: Callable[[str], Path]) -> None:
    from twin_app.session.scenario import TRIP_TOTALS, kpi_rows

    net = shared_file("traffic/tntp/SiouxFalls/SiouxFalls_net.tntp")
    s = scenario_from_dict(
        {
            "schema": 1,
            "name": "zone 1 cut off",
            "traffic": {"network": str(net), "demand": str(net.with_name("SiouxFalls_trips.tntp"))},
            "interventions": [{"kind": "close_road", "links": ["1-2", "1-3"]}],
        },
        base_dir=net.parent,
    )
    res = run_scenario(s)
    trips = read_trips(net.with_name("SiouxFalls_trips.tntp"))
    # node 1's only two links out closed: its 23 destinations with demand lose every route;
    # node 1 still reaches itself
    lost = int((trips.od[0] > 0).sum()) - int(trips.od[0, 0] > 0)
    assert res.kpi("od_pairs_disconnected").scenario == lost == 23
    # fewer trips travel, so the totals drop: that is not an improvement
    assert res.kpi("tstt_veh_h").delta < 0
    (line,) = [w for w in res.warnings if "OD pairs" in w]
    assert line.startswith("traffic: the scenario cuts 23 OD pairs off every route (")
    assert f"{trips.od[0, 1:].sum():,.0f} trips" in line and "\n" not in line
    rows = {r.name: r for r in kpi_rows(res)}
    assert rows["od_pairs_disconnected"].good is False
    for name in TRIP_TOTALS:
        assert rows[name].good is None and rows[name].note == "other trips assigned"
