"""Sweeps: element selection, ranking, cancel, and the same numbers in process, on a
LocalCluster and on a real `dask scheduler` with two `dask worker` processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import free_port
from twin_app.engines.traffic import assign
from twin_app.errors import Cancelled, InputError
from twin_app.io.tntp import read_net, read_trips
from twin_app.scenarios.file import Scenario, load_scenario
from twin_app.scenarios.run import baseline_traffic_model
from twin_app.scenarios.sweep import road_elements, run_sweep, select

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"
ROOT = Path(__file__).resolve().parents[2]
SIOUX_SIX = ["10-16", "16-10", "3-4", "12-13", "20-22", "7-18"]


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    """The tiny grid without the file's closure: all 14 links open."""
    return load_scenario(DATA / "tiny_close_road.toml").model_copy(update={"interventions": ()})


@pytest.fixture(scope="module")
def sioux(shared_file: Callable[[str], Path]) -> Scenario:
    shared_file("traffic/tntp/SiouxFalls/SiouxFalls_net.tntp")
    s = load_scenario(DATA / "sioux_falls_close_10_16.toml")
    return s.model_copy(update={"interventions": ()})


def test_where_selects_by_attributes(tiny: Scenario) -> None:
    table = road_elements(baseline_traffic_model(tiny))
    assert list(table["id"][:3]) == ["1-4", "4-1", "2-5"]
    assert set(select(table, "capacity > 800")["id"]) == {"1-4", "4-1", "2-5", "5-2", "3-6", "6-3"}
    assert list(select(table, "link_type == 3 and from_node == 4")["id"]) == ["4-6"]
    assert list(select(table, 'id in ["5-6", "6-5"]')["id"]) == ["5-6", "6-5"]


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("capacity >", "not an expression"),
        ("__import__('os').system('true')", "Call is not allowed"),
        ("capacity.sum() > 1", "is not allowed"),
        ("@x > 1", "not an expression"),
        ("lanes > 2", "unknown column 'lanes'; columns: id, from_node"),
    ],
)
def test_bad_where_is_one_line(tiny: Scenario, expr: str, text: str) -> None:
    with pytest.raises(InputError) as info:
        run_sweep(tiny, "road", where=expr, scheduler="none")
    assert text in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InputError, match="selects no road"):
        run_sweep(tiny, "road", where="capacity > 1e9", scheduler="none")


def test_ranking_matches_direct_closures(tiny: Scenario) -> None:
    res = run_sweep(tiny, "road", scheduler="none")
    r = res.ranking
    assert res.main_kpi == "tstt_veh_h" and len(r) == 14 and list(r["rank"]) == list(range(1, 15))
    key = list(zip(-r["tstt_veh_h_delta"], r["id"], strict=True))
    assert key == sorted(key)  # largest harm first, ties by id
    # one closure checked against the engine run directly
    net = read_net(DATA / "tiny" / "tiny_net.tntp")
    trips = read_trips(DATA / "tiny" / "tiny_trips.tntp")
    base = assign(net, trips, 1e-8)
    mask = np.zeros(net.n_links, bool)
    mask[6] = True  # 4-5
    one = assign(net, trips, 1e-8, closed=mask)
    row = r.loc[r["id"] == "4-5"].iloc[0]
    expected = (float(np.nansum(one.flow * one.time)) - float(np.dot(base.flow, base.time))) / 60
    assert row["tstt_veh_h_delta"] == pytest.approx(expected, rel=1e-5)


def test_cancel_in_process(tiny: Scenario) -> None:
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Cancelled, match="after 3 of 14"):
        run_sweep(tiny, "road", scheduler="none", cancelled=cancelled)


def test_pipe_sweep_ranks_by_demand_not_served() -> None:
    s = load_scenario(DATA / "dtown_close_pipe.toml")
    res = run_sweep(s, "pipe", where='id in ["P1", "P100", "P98", "P10", "P1000"]',
                    scheduler="none")  # fmt: skip
    r = res.ranking
    assert res.main_kpi == "demand_not_served_m3"
    # P10 is already closed by the scenario: not swept again
    assert sorted(r["id"]) == ["P1", "P100", "P1000", "P98"]
    assert list(r.columns[:3]) == ["rank", "id", "min_pressure_m_delta"]
    key = list(zip(-r["demand_not_served_m3_delta"], r["id"], strict=True))
    assert key == sorted(key)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes on localhost (random free ports)."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command line is not installed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    common = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--dashboard-address", ":0", "--no-show"], **common)  # type: ignore[call-overload]
    ]  # fmt: skip
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                  "--no-dashboard", "--no-nanny", "--host", "127.0.0.1"], **common)  # type: ignore[call-overload]
            )  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                if time.monotonic() > deadline:
                    pytest.fail("dask workers did not connect within 60 s")
                time.sleep(0.2)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_sweep_on_a_dask_scheduler_equals_in_process(sioux: Scenario, dask_cluster: str) -> None:
    local = run_sweep(sioux, "road", scheduler="none", elements=SIOUX_SIX)
    seen: list[float] = []
    remote = run_sweep(sioux, "road", scheduler=dask_cluster, elements=SIOUX_SIX,
                       progress=lambda f, _: seen.append(f))  # fmt: skip
    assert remote.workers == 2
    assert len(remote.ranking) == 6 and sorted(remote.ranking["id"]) == sorted(SIOUX_SIX)
    pd.testing.assert_frame_equal(local.ranking, remote.ranking, check_exact=True)
    assert seen == [i / 6 for i in range(1, 7)]
    assert local.ranking.iloc[0]["tstt_veh_h_delta"] > 0


@pytest.mark.slow
def test_pipe_sweep_on_a_dask_scheduler_equals_in_process(dask_cluster: str) -> None:
    s = load_scenario(DATA / "dtown_close_pipe.toml")
    ids = ["P1", "P100", "P1000"]
    local = run_sweep(s, "pipe", scheduler="none", elements=ids)
    remote = run_sweep(s, "pipe", scheduler=dask_cluster, elements=ids)
    pd.testing.assert_frame_equal(local.ranking, remote.ranking, check_exact=True)


@pytest.mark.slow
def test_sweep_on_a_local_cluster_equals_in_process(tiny: Scenario) -> None:
    local = run_sweep(tiny, "road", scheduler="none")
    cluster = run_sweep(tiny, "road", workers=2)
    assert cluster.workers == 2
    pd.testing.assert_frame_equal(local.ranking, cluster.ranking, check_exact=True)


@pytest.mark.slow
def test_cancel_on_a_dask_scheduler_cancels_the_futures(sioux: Scenario, dask_cluster: str) -> None:
    from distributed import Client

    done: list[float] = []
    with pytest.raises(Cancelled, match="sweep cancelled after"):
        run_sweep(sioux, "road", scheduler=dask_cluster, elements=SIOUX_SIX,
                  progress=lambda f, _: done.append(f), cancelled=lambda: len(done) >= 1)  # fmt: skip
    assert len(done) < 6
    with Client(dask_cluster, timeout="10s") as client:
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "tasks left on the scheduler after cancel"
            time.sleep(0.1)
