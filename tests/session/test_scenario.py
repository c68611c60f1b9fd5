"""The session's scenario verbs, headless, on the sample twin: close a road picked by its way
id, run (baseline cached, scenario warm-started), KPIs and a comparison with flow changes;
undo/redo of edits; a save/open round trip; the shipped pipe closure.

The reference for every run is :func:`twin_app.scenarios.run.run_scenario` on the same
scenario, which solves baseline and scenario from scratch (no session, no cache)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.layers import Layer
from twin_app.scenarios.file import ClosePipe, CloseRoad, SetCapacity, load_scenario
from twin_app.scenarios.run import TRAFFIC_KPIS, WATER_KPIS, run_scenario
from twin_app.session import Selection, Session
from twin_app.session.scenario import ScenarioError

SCENARIOS = SAMPLE_DIR / "scenarios"
#: The one-way road the shipped road closure closes (St Martin's Le Grand).
WAY = "way/4255394"


@pytest.fixture(scope="module")
def session() -> Session:
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    return s


def _layer(session: Session, kind: str) -> Layer:
    return next(x for x in session.layers if x.kind == kind and x.feature_set() is not None)


def _row(layer: Layer, feature_id: str) -> int:
    fs = layer.feature_set()
    assert fs is not None
    return int(np.flatnonzero(fs.ids.astype(str) == feature_id)[0])


def test_close_a_road_by_its_way_id_run_and_compare(session: Session) -> None:
    session.new_scenario("Close St Martin's Le Grand")
    roads = _layer(session, "roads")
    row = _row(roads, WAY)
    spec = session.close_roads_at(Selection(roads.uid, (row,)))
    assert spec == CloseRoad(links=(WAY,))
    assert session.scenario.interventions == (spec,)
    assert session.scenario.twin == SAMPLE_DIR.resolve() or session.scenario.twin == SAMPLE_DIR

    messages: list[tuple[float, str]] = []
    first = session.run_scenario(lambda f, m: messages.append((f, m)))
    assert messages and messages[-1][0] == 1.0
    second = session.run_scenario()  # the baseline comes from the cache: only the scenario
    assert not first.extra["traffic_baseline_cached"]
    assert second.extra["traffic_baseline_cached"]
    assert second.extra["traffic_baseline"] is first.extra["traffic_baseline"]

    names = [k.name for k in second.kpis]
    assert names == [*TRAFFIC_KPIS, *WATER_KPIS]
    tstt = second.kpi("tstt_veh_h")
    assert tstt.delta > 0  # closing a busy one-way street costs time
    assert second.kpi("od_pairs_disconnected").scenario == 0

    # The same closure from scratch, without the session or its cache (the shipped file).
    ref = run_scenario(load_scenario(SCENARIOS / "close_road.toml"))
    for name in ("tstt_veh_h", "vkt_km", "delay_veh_h"):
        assert second.kpi(name).scenario == pytest.approx(ref.kpi(name).scenario, rel=1e-3)
        assert second.kpi(name).baseline == pytest.approx(ref.kpi(name).baseline, rel=1e-9)

    cmp = session.show_result(second)
    rows = session.scenario_state.kpis
    assert [r.name for r in rows] == names
    assert next(r for r in rows if r.name == "tstt_veh_h").good is False
    assert next(r for r in rows if r.name == "min_pressure_m").good is None  # no water change

    fs = roads.feature_set()
    assert fs is not None
    result_layer = cmp.scenario.results[roads.uid]
    assert result_layer.color_by == "flow_delta_veh_h"
    delta = result_layer.feature_values("flow_delta_veh_h")
    base = cmp.baseline.results[roads.uid].feature_values("flow_veh_h")
    scen = result_layer.feature_values("flow_veh_h")
    assert delta.shape == (fs.n_features,)
    changed = np.abs(np.nan_to_num(delta)) > 1.0
    assert changed.sum() > 50  # the traffic re-routes over many streets
    # the closed road loses all of its flow
    assert base[row] > 100 and scen[row] == 0 and delta[row] < -100
    # segment rows point at the drawn roads: the way id of each link is the id at its row
    links = second.links
    assert links is not None
    on_road = links["segment_row"].to_numpy() >= 0
    way = links["id"].str.replace(r"[#@].*$", "", regex=True).to_numpy()[on_road]
    np.testing.assert_array_equal(fs.ids[links["segment_row"].to_numpy()[on_road]], way)
    # the baseline layer's own table is untouched
    assert "flow_veh_h" not in fs.table


def test_edits_are_undoable_and_footways_are_not_closed(session: Session) -> None:
    session.new_scenario("Edits")
    roads = _layer(session, "roads")
    a = CloseRoad(links=(WAY,))
    b = SetCapacity(links=(WAY,), factor=0.5)
    session.add_intervention(a)
    session.add_intervention(b)
    assert session.scenario.interventions == (a, b)
    c = SetCapacity(links=(WAY,), factor=0.25)
    session.replace_intervention(1, c)
    session.remove_intervention(0)
    assert session.scenario.interventions == (c,)
    assert session.commands.undo_text == "Remove close_road"
    session.commands.undo()
    assert session.scenario.interventions == (a, c)
    session.commands.undo()
    assert session.scenario.interventions == (a, b)
    session.commands.undo()
    assert session.scenario.interventions == (a,)
    session.commands.redo()
    session.commands.redo()
    assert session.scenario.interventions == (a, c)
    with pytest.raises(ScenarioError, match="no intervention 5"):
        session.remove_intervention(5)

    fs = roads.feature_set()
    assert fs is not None
    foot = int(np.flatnonzero(fs.table["class"].astype(str).to_numpy() == "footway")[0])
    with pytest.raises(ScenarioError, match="no motor traffic"):
        session.close_roads_at(Selection(roads.uid, (foot,)))
    with pytest.raises(ScenarioError, match="select roads"):
        session.close_roads_at(Selection())


def test_save_and_open_round_trip(session: Session, tmp_path: Path) -> None:
    session.new_scenario("Round trip")
    session.add_intervention(CloseRoad(links=(WAY,)))
    session.add_intervention(ClosePipe(pipes=("P10",)))
    state = session.scenario_state
    assert state.dirty
    with pytest.raises(ScenarioError, match="choose a file"):
        session.save_scenario()
    path = session.save_scenario(tmp_path / "works.toml")
    assert not state.dirty and state.path == path
    before = session.scenario
    session.new_scenario("Other")
    assert session.scenario.interventions == ()
    opened = session.open_scenario(path)
    assert opened == before and session.scenario == before
    assert load_scenario(path) == before
    assert opened.twin == before.twin  # written relative to the file, read back absolute
    session.commands.undo()  # undo the open
    assert session.scenario.name == "Other"
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nname = "x"\n[[interventions]]\nkind = "close_road"\n')
    with pytest.raises(InputError, match=r"interventions\[0\]\.links"):
        session.open_scenario(bad)
    assert session.scenario.name == "Other"  # a bad file changes nothing


def test_shipped_pipe_closure_and_pipes_picked_on_the_map(session: Session) -> None:
    opened = session.open_scenario(SCENARIOS / "close_pipe.toml")
    result = session.run_scenario()
    ref = run_scenario(opened)
    for k, r in zip(result.kpis, ref.kpis, strict=True):
        assert (k.name, k.baseline, k.scenario) == (r.name, r.baseline, r.scenario)
    assert result.kpi("demand_not_served_m3").delta > 0

    pipes = _layer(session, "pipes")
    cmp = session.show_result(result)
    layer = cmp.scenario.results[pipes.uid]
    assert layer.color_by == "pressure_delta_m"
    d = layer.feature_values("pressure_delta_m")
    assert np.nanmin(d) < -1.0  # pressure falls downstream of the shut main

    # Shutting the same pipe by picking it on the map makes the same scenario.
    shut = opened.interventions[0]
    session.new_scenario(opened.name)
    spec = session.close_pipes_at(Selection(pipes.uid, (_row(pipes, shut.pipes[0]),)))
    assert spec == shut


def test_another_scenarios_result_replaces_the_comparison(session: Session) -> None:
    """Opening and running another scenario must not leave the last one's layers on show."""
    roads, pipes = _layer(session, "roads"), _layer(session, "pipes")
    session.open_scenario(SCENARIOS / "close_road.toml")
    first = session.show_result(session.run_scenario())
    assert roads.uid in first.scenario.results
    opened = session.open_scenario(SCENARIOS / "close_pipe.toml")
    second = session.show_result(session.run_scenario())
    assert second is session.scenario_state.comparison and second.name == opened.name
    assert roads.uid not in second.scenario.results  # no traffic solved: no flow change
    assert second.scenario.results[pipes.uid].name.endswith(f"({opened.name})")
    again = session.show_result(session.run_scenario())  # same scenario: recoloured in place
    assert again is second


def test_sweep_ranks_closures_like_single_runs(session: Session) -> None:
    session.new_scenario("Sweep")
    result = session.run_sweep("road", "flow_baseline > 3000", scheduler="none")
    ranking = result.ranking
    assert len(ranking) >= 3 and result.main_kpi == "tstt_veh_h"
    deltas = ranking["tstt_veh_h_delta"].to_numpy()
    assert (np.diff(deltas) <= 0).all()  # the closure that hurts most first
    # a closure in the sweep costs what the same closure costs run on its own
    top = str(ranking["id"].iloc[0])
    session.add_intervention(CloseRoad(links=(top,)))
    single = session.run_scenario().kpi("tstt_veh_h").delta
    assert deltas[0] == pytest.approx(single, rel=1e-3)
    session.show_sweep(result)
    assert session.scenario_state.sweep is result


def test_isolating_a_break_shows_the_segment_and_shuts_its_valves(session: Session) -> None:
    from twin_app.engines.water import isolation

    opened = session.open_scenario(SCENARIOS / "close_pipe.toml")
    shut = opened.interventions[0]
    pipe = shut.pipes[0]
    iso = session.isolate_pipe(pipe)
    # the engine's own answer on the twin's network file (wntr valve segments)
    assert iso == isolation(SAMPLE_DIR / "d-town.inp", pipe)
    assert iso.valves and pipe in iso.pipes
    pipes = _layer(session, "pipes")
    n = session.show_isolation(iso)
    assert n == len(iso.pipes) and session.selection.layer_uid == pipes.uid
    fs = pipes.feature_set()
    assert fs is not None
    assert sorted(str(fs.ids[i]) for i in session.selection.indices) == sorted(iso.pipes)
    spec = session.shut_isolation(iso, replace=0)
    assert session.scenario.interventions == (spec,) and set(spec.pipes) == set(iso.closed_links)
    result = session.run_scenario()
    assert result.kpi("demand_not_served_m3").delta >= 0
    session.commands.undo()
    assert session.scenario.interventions == (shut,)


def test_a_cancelled_run_raises_and_changes_nothing(session: Session) -> None:
    from twin_app.errors import CancelledError

    session.new_scenario("Cancelled")
    session.add_intervention(CloseRoad(links=(WAY,)))
    before = session.scenario_state.result
    with pytest.raises(CancelledError):
        session.run_scenario(cancelled=lambda: True)
    assert session.scenario_state.result is before


def test_the_default_scenario_follows_a_twin_opened_later() -> None:
    s = Session()
    assert s.scenario.twin is None and s.scenario.traffic is None
    s.twins.append(SAMPLE_DIR)  # what add_twin records
    assert s.scenario.twin == SAMPLE_DIR and s.scenario.traffic is not None


def test_kept_comparisons_come_back_for_the_same_result(session: Session) -> None:
    """A wall's tour shows the same results again and again: with keep_comparisons set, a
    closed comparison is set aside (not closed) and showing its result again takes it back;
    beyond the count the oldest is closed, and without it closing closes."""
    session.open_scenario(SCENARIOS / "close_road.toml")
    road = session.run_scenario()
    session.open_scenario(SCENARIOS / "close_pipe.toml")
    pipe = session.run_scenario()
    session.close_comparison()
    session.keep_comparisons = 1
    try:
        first = session.show_result(road)
        session.close_comparison()
        assert session.scenario_state.comparison is None and not first.closed
        assert session.show_result(road) is first  # the same comparison, views and all
        assert session.scenario_state.result is road and session.scenario_state.kpis
        roads = _layer(session, "roads")
        assert roads.uid in first.scenario.results
        other = session.show_result(pipe)  # sets `first` aside
        assert other is not first and not first.closed
        session.close_comparison()  # `other` aside too: one kept, the oldest (first) closed
        assert first.closed and not other.closed
        assert session.show_result(road) is not first
        session.close_comparison()
        assert other.closed  # evicted by the road's new comparison
    finally:
        session.keep_comparisons = 0
    kept = [cmp for _, cmp in session.parked_comparisons.values()]
    assert not kept
    plain = session.show_result(road)
    session.close_comparison()
    assert plain.closed  # nothing kept: closed as before
