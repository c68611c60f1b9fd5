"""Interventions are pure: they return new snapshots and never touch the baseline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from twin_app.engines.traffic import assign
from twin_app.engines.water import DemandChange, Leak, PumpOutage, WaterChanges
from twin_app.io.tntp import read_net, read_trips
from twin_app.scenarios.file import (
    AddLink,
    ClosePipe,
    CloseRoad,
    LeakSpec,
    PumpOutageSpec,
    SetCapacity,
    SetDemand,
    SetSpeed,
)
from twin_app.scenarios.interventions import (
    UnknownElementError,
    add_link,
    close_pipe,
    close_road,
    leak,
    pump_outage,
    set_capacity,
    set_demand,
    set_speed,
)
from twin_app.scenarios.model import TrafficModel, WaterModel
from twin_app.scenarios.run import traffic_model_from_tntp

TINY = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "tiny"
ARRAYS = ("init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power",
          "speed", "toll", "link_type")  # fmt: skip


@pytest.fixture
def tiny() -> TrafficModel:
    return traffic_model_from_tntp(
        read_net(TINY / "tiny_net.tntp"), read_trips(TINY / "tiny_trips.tntp"), 1 / 60, 1.609344
    )


def _copy(m: TrafficModel) -> dict[str, np.ndarray]:
    out = {f"net.{a}": getattr(m.network, a).copy() for a in ARRAYS}
    out.update(ids=m.link_ids.copy(), closed=m.closed.copy(), rows=m.segment_row.copy())
    return out


def _same(m: TrafficModel, before: dict[str, np.ndarray]) -> None:
    for k, v in before.items():
        arr = {"ids": m.link_ids, "closed": m.closed, "rows": m.segment_row}.get(k)
        if arr is None:
            arr = getattr(m.network, k.split(".")[1])
        np.testing.assert_array_equal(arr, v)


def test_ids_are_from_to_file_numbers(tiny: TrafficModel) -> None:
    assert list(tiny.link_ids[:3]) == ["1-4", "4-1", "2-5"]
    assert not tiny.closed.any() and (tiny.segment_row == -1).all()
    assert all(not getattr(tiny.network, a).flags.writeable for a in ARRAYS)
    assert not tiny.closed.flags.writeable


@pytest.mark.parametrize(
    "step",
    [
        lambda m: close_road(m, CloseRoad(links=("4-5", "5-4"))),
        lambda m: set_capacity(m, SetCapacity(links=("4-5",), factor=0.5)),
        lambda m: set_capacity(m, SetCapacity(links=("4-5",), capacity=100)),
        lambda m: set_speed(m, SetSpeed(links=("4-6",), speed_kmh=15)),
        lambda m: set_speed(m, SetSpeed(links=("4-6",), factor=2)),
        lambda m: add_link(m, AddLink(**{"from": 1, "to": 3}, capacity=500, free_flow_time=1)),
    ],
)
def test_baseline_is_never_mutated(tiny: TrafficModel, step) -> None:  # type: ignore[no-untyped-def]
    before = _copy(tiny)
    out = step(tiny)
    assert out is not tiny
    _same(tiny, before)
    # the new snapshot's arrays are read-only too
    assert not out.closed.flags.writeable
    for a in ARRAYS:
        assert not getattr(out.network, a).flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        out.network.capacity[0] = 1.0


def test_close_road_sets_closed(tiny: TrafficModel) -> None:
    out = close_road(tiny, CloseRoad(links=("4-5", "5-4")))
    assert list(tiny.link_ids[out.closed]) == ["4-5", "5-4"]
    assert out.network is tiny.network  # nothing else copied


def test_capacity_and_speed_values(tiny: TrafficModel) -> None:
    i = tiny.link_index()["4-5"]
    assert set_capacity(tiny, SetCapacity(links=("4-5",), factor=0.5)).network.capacity[i] == 300
    assert set_capacity(tiny, SetCapacity(links=("4-5",), capacity=120)).network.capacity[i] == 120
    j = tiny.link_index()["4-6"]  # 3 miles
    fast = set_speed(tiny, SetSpeed(links=("4-6",), speed_kmh=48.28032))
    # 3 mi = 4.828032 km at 48.28032 km/h: 0.1 h = 6 minutes
    assert fast.network.free_flow_time[j] == pytest.approx(6.0)
    assert set_speed(tiny, SetSpeed(links=("4-6",), factor=2)).network.free_flow_time[j] == 3.0


def test_add_link_appends_everywhere(tiny: TrafficModel) -> None:
    out = add_link(tiny, AddLink(**{"from": 1, "to": 3}, capacity=700, speed_kmh=60, length=2))
    n = tiny.network.n_links
    assert out.network.n_links == n + 1
    assert out.link_ids[-1] == "1-3" and out.segment_row[-1] == -1 and not out.closed[-1]
    assert (out.network.init_node[-1], out.network.term_node[-1]) == (0, 2)
    # 2 miles at 60 km/h, in minutes
    assert out.network.free_flow_time[-1] == pytest.approx(2 * 1.609344 / 60 * 60)
    res = assign(out.network, out.demand, 1e-8)
    assert res.flow[-1] > 0  # the new direct road is used


@pytest.mark.parametrize(
    ("step", "key", "text"),
    [
        (
            lambda m: close_road(m, CloseRoad(links=("4-7",))),
            "links",
            "unknown link '4-7'; did you mean",
        ),
        (
            lambda m: set_capacity(m, SetCapacity(links=("zzz",), factor=2)),
            "links",
            "unknown link 'zzz' (14 links: '1-4', '4-1', '2-5', ...)",
        ),
        (
            lambda m: add_link(m, AddLink(**{"from": 1, "to": 9}, capacity=1, free_flow_time=1)),
            "to",
            "node 9 does not exist (the network has nodes 1 .. 6)",
        ),
        (
            lambda m: add_link(m, AddLink(**{"from": 4, "to": 5}, capacity=1, free_flow_time=1)),
            "id",
            "link '4-5' already exists",
        ),
    ],
)
def test_unknown_elements_are_named(tiny: TrafficModel, step, key: str, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownElementError) as info:
        step(tiny)
    assert info.value.key == key
    assert text in str(info.value)


def test_twin_way_ids_name_their_split_links(tiny: TrafficModel) -> None:
    ids = np.array(["way/1#1", "way/1#1@r", "way/1#2", "way/1#2@r", "way/3", "zone/1>4",
                    "4>zone/1", "way/5", "way/5@r", "way/6", "way/6@r", "way/7", "way/8",
                    "way/8@r"], dtype=object)  # fmt: skip
    twin = dataclasses.replace(tiny, link_ids=ids, segment_row=np.arange(14, dtype=np.int64))
    closed = close_road(twin, CloseRoad(links=("way/1",))).closed
    assert list(ids[closed]) == ["way/1#1", "way/1#2"]
    both = close_road(twin, CloseRoad(links=("way/1", "way/1@r", "way/5@r"))).closed
    assert list(ids[both]) == ["way/1#1", "way/1#1@r", "way/1#2", "way/1#2@r", "way/5@r"]
    with pytest.raises(UnknownElementError, match="unknown link 'way/2'; did you mean"):
        close_road(twin, CloseRoad(links=("way/2",)))


def test_water_changes_compose() -> None:
    base = WaterModel(inp_path=Path("net.inp"), changes=WaterChanges())
    m = close_pipe(base, ClosePipe(pipes=("P1", "V2")))
    m = leak(m, LeakSpec(pipe="P3", area_m2=0.01, start_h=2))
    m = pump_outage(m, PumpOutageSpec(pumps=("PU1", "PU2"), start_h=1, end_h=3))
    m = set_demand(m, SetDemand(junctions=(), factor=1.5))
    m = close_pipe(m, ClosePipe(pipes=("P9",)))
    assert base.changes == WaterChanges() and base.changes.empty
    assert m.changes == WaterChanges(
        closed_links=("P1", "V2", "P9"),
        leaks=(Leak("P3", 0.01, 7200.0, 0.75),),
        pump_outages=(PumpOutage("PU1", 3600.0, 10800.0), PumpOutage("PU2", 3600.0, 10800.0)),
        demand_changes=(DemandChange((), 1.5),),
    )
    assert m.inp_path == base.inp_path
