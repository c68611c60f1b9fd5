"""The twin's traffic model: network from OSM roads, gravity demand, calibration, cache."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from twin_app.engines.traffic import AssignmentResult, assign
from twin_app.io.tntp import TntpNetwork
from twin_app.scenarios import twin_traffic as tt
from twin_app.scenarios.model import TrafficModel
from twin_app.scenarios.twin_traffic import (
    ROAD_CLASSES,
    TrafficParams,
    gravity_od,
    model_speed_ratio,
    observed_peak_speed_ratio,
    traffic_model,
    traffic_model_for_twin,
)

SAMPLE = Path(tt.__file__).resolve().parents[1] / "city_models" / "city_of_london"
NET_FIELDS = (
    "init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power", "speed",
    "toll", "link_type",
)  # fmt: skip


def conservation_error(model: TrafficModel, flow: np.ndarray, od: np.ndarray) -> float:
    """Largest |inflow - outflow - (attracted - produced)| over all nodes (vehicles)."""
    net = model.network
    n = net.n_nodes
    balance = np.bincount(net.term_node, flow, minlength=n) - np.bincount(
        net.init_node, flow, minlength=n
    )
    q = np.array(od, dtype=float)
    np.fill_diagonal(q, 0.0)
    expected = np.zeros(n)
    expected[: q.shape[0]] = q.sum(axis=0) - q.sum(axis=1)
    return float(np.abs(balance - expected).max())


def without_links(net: TntpNetwork, closed: np.ndarray) -> TntpNetwork:
    keep = ~closed
    arrays = {f: getattr(net, f)[keep] for f in NET_FIELDS}
    return TntpNetwork(
        **arrays, n_zones=net.n_zones, n_nodes=net.n_nodes, first_thru_node=net.first_thru_node
    )


# -- a hand-made district ---------------------------------------------------------------------


def grid_district() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """3 x 3 street grid (200 m blocks), one footway, four buildings in four 200 m cells."""
    xs = (0.0, 200.0, 400.0)
    lines, rows = [], []
    for i, y in enumerate(xs):  # way/1..3 west-east
        lines.append(LineString([(x, y) for x in xs]))
        rows.append({"id": f"way/{i + 1}", "class": "primary", "oneway": 1 if i == 0 else 0})
    for i, x in enumerate(xs):  # way/4..6 south-north
        lines.append(LineString([(x, y) for y in xs]))
        rows.append({"id": f"way/{i + 4}", "class": "residential", "oneway": -1 if i == 0 else 0})
    lines.append(LineString([(0, 0), (200, 200), (400, 400)]))
    rows.append({"id": "way/7", "class": "footway", "oneway": 0})
    roads = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=lines)
    roads["lanes"] = [np.nan, 4.0, np.nan, np.nan, np.nan, np.nan, np.nan]
    roads["maxspeed_kmh"] = [np.nan, 32.18688, np.nan, np.nan, np.nan, np.nan, np.nan]
    centres = [(100, 100), (300, 100), (100, 300), (300, 300)]
    blds = gpd.GeoDataFrame(
        {"id": [f"b{i}" for i in range(4)], "height_m": [9.0, 30.0, 3.0, 12.0]},
        geometry=[box(x - 10, y - 10, x + 10, y + 10) for x, y in centres],
    )
    blds["building:levels"] = [None, "5", None, "bad"]
    return roads, blds


def test_grid_district_links_one_way_and_tables() -> None:
    roads, blds = grid_district()
    m = traffic_model(roads, blds, TrafficParams(zone_cell_m=200.0, connectors=2))
    net = m.network
    assert net.n_zones == 4 and net.first_thru_node == 4 and net.n_nodes == 4 + 9
    road = m.segment_row >= 0
    ids = set(m.link_ids[road].astype(str))
    assert len(ids) == road.sum() == 20  # 4 two-way ways x 2 edges x 2 + 2 one-way x 2
    assert {"way/1#1", "way/1#2"} <= ids and "way/1#1@r" not in ids  # oneway=yes
    assert {"way/4#1@r", "way/4#2@r"} <= ids and "way/4#1" not in ids  # oneway=-1
    assert not any(i.startswith("way/7") for i in ids)  # footway dropped
    assert m.links_named("way/2").tolist() == [
        i for i, s in enumerate(m.link_ids) if s in ("way/2#1", "way/2#2")
    ]
    assert m.links_named("way/4").size == 0 and m.links_named("way/4@r").size == 2
    # reversed links run against the digitised direction: way/4 goes south from (0, 400)
    r = m.links_named("way/4#2@r")[0]
    assert m.node_xy[net.init_node[r]] == pytest.approx([0, 400])
    way2 = m.links_named("way/2")
    assert net.capacity[way2] == pytest.approx(2 * ROAD_CLASSES["primary"].capacity_per_lane)
    assert net.free_flow_time[way2] == pytest.approx(0.2 / 32.18688 * 60)
    way5 = m.links_named("way/5")
    assert net.capacity[way5] == pytest.approx(1140.0)  # TA 79/99 UAP4
    assert net.free_flow_time[way5] == pytest.approx(0.2 / (30 * 1.609344) * 60)
    # trip ends: rate x floor area; levels 3, 5 (tag), 1, 4 (bad tag -> height / 3 m); zones
    # in cell order (x, then y): buildings 0, 2, 1, 3
    floor = 400.0 * np.array([3, 1, 5, 4])
    od = m.demand.od
    rate = tt.TRIPS_PER_M2
    assert od.sum(axis=1) == pytest.approx(rate * floor / 2, rel=1e-8)
    assert od.sum(axis=0) == pytest.approx(rate * floor / 2, rel=1e-8)
    half = traffic_model(roads, blds, TrafficParams(200.0, 2, demand_scale=0.5))
    assert half.demand.od == pytest.approx(0.5 * m.demand.od)
    result = assign(net, m.demand, relative_gap=1e-6)
    assert result.od_pairs_disconnected == 0
    assert conservation_error(m, result.flow, od) < 1e-6 * od.sum()


def test_roundabouts_and_motorways_are_one_way_without_a_tag() -> None:
    roads, blds = grid_district()
    roads["oneway"] = 0
    roads.loc[1, "class"] = "motorway"  # way/2: implied one-way
    roads["junction"] = [None, None, "roundabout", None, None, None, None]  # way/3
    m = traffic_model(roads, blds, TrafficParams(zone_cell_m=200.0, connectors=2))
    ids = set(m.link_ids.astype(str))
    assert "way/2#1" in ids and "way/2#1@r" not in ids
    assert "way/3#1" in ids and "way/3#1@r" not in ids


# -- gravity model ----------------------------------------------------------------------------


def test_gravity_model_matches_aequilibrae_ipf_and_its_margins() -> None:
    """Furness balancing against aequilibrae's independent IPF on the same seed matrix."""
    from aequilibrae.distribution import Ipf
    from aequilibrae.matrix import AequilibraeMatrix

    rng = np.random.default_rng(7)
    n = 6
    cost = rng.uniform(1.0, 20.0, (n, n))
    prod = rng.uniform(10.0, 100.0, n)
    attr = rng.uniform(10.0, 100.0, n)
    attr *= prod.sum() / attr.sum()
    od, _ = gravity_od(prod, attr, cost, beta=0.1)
    assert od.sum(axis=1) == pytest.approx(prod, rel=1e-8)
    assert od.sum(axis=0) == pytest.approx(attr, rel=1e-8)
    assert np.diag(od) == pytest.approx(0.0)
    seed = np.exp(-0.1 * cost)
    np.fill_diagonal(seed, 0.0)
    mat = AequilibraeMatrix()
    mat.create_empty(memory_only=True, zones=n, matrix_names=["seed"])
    mat.index[:] = np.arange(1, n + 1)
    mat.matrices[:, :, 0] = seed
    mat.computational_view(["seed"])
    vectors = pd.DataFrame({"p": prod, "a": attr}, index=mat.index)
    ipf = Ipf(
        matrix=mat,
        vectors=vectors,
        row_field="p",
        column_field="a",
        nan_as_zero=True,
        parameters={
            "convergence level": 1e-12,
            "max iterations": 5000,
            "balancing tolerance": 0.001,
        },
    )
    ipf.fit()
    assert od == pytest.approx(np.asarray(ipf.output.matrix_view), rel=1e-6, abs=1e-9)


# -- the sample twin --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("traffic_cache")


@pytest.fixture(scope="module")
def sample(cache_dir: Path) -> tuple[TrafficModel, AssignmentResult]:
    model = traffic_model_for_twin(SAMPLE, cache_dir=cache_dir)
    return model, assign(model.network, model.demand, relative_gap=1e-4)


def test_sample_model_links_are_finite_and_positive(
    sample: tuple[TrafficModel, AssignmentResult],
) -> None:
    m, _ = sample
    net = m.network
    for name in ("capacity", "free_flow_time", "length", "speed"):
        v = getattr(net, name)
        assert np.isfinite(v).all() and (v > 0).all(), name
    assert len(set(m.link_ids.astype(str))) == net.n_links
    assert net.first_thru_node == net.n_zones >= 10
    road = m.segment_row >= 0
    assert (net.init_node[road] >= net.n_zones).all() and (net.term_node[road] >= net.n_zones).all()
    assert ((net.init_node < net.n_zones) | (net.term_node < net.n_zones))[~road].all()
    assert np.isfinite(m.node_xy).all() and m.demand.total > 0
    assert m.time_unit_h == pytest.approx(1 / 60) and m.length_unit_km == 1.0


def test_sample_flow_is_conserved_and_closing_a_main_road_reroutes(
    sample: tuple[TrafficModel, AssignmentResult],
) -> None:
    m, base = sample
    assert base.od_pairs_disconnected == 0
    assert conservation_error(m, base.flow, m.demand.od) < 1e-6 * m.demand.total
    # the busiest two-way primary road, closed whole (both directions) by its segment id; a
    # one-way road can be the only way out of a district corner (its closure then reports
    # the OD pairs it cuts)
    primary = m.network.link_type == ROAD_CLASSES["primary"].code
    two_way = np.char.endswith(m.link_ids.astype(str), "@r")
    road = np.flatnonzero(primary & two_way)
    busiest = str(m.link_ids[road[np.argmax(base.flow[road])]])
    way = busiest.split("#")[0].split("@")[0]
    links = np.concatenate([m.links_named(way), m.links_named(way + "@r")])
    assert links.size >= 2 and base.flow[links].sum() > 0
    closed = np.zeros(m.network.n_links, bool)
    closed[links] = True
    after = assign(without_links(m.network, closed), m.demand, relative_gap=1e-3)
    assert after.od_pairs_disconnected == 0
    flow = np.zeros(m.network.n_links)
    flow[~closed] = after.flow
    assert conservation_error(m, flow, m.demand.od) < 1e-6 * m.demand.total
    assert np.abs(flow - base.flow).sum() > 0.1 * base.flow[links].sum()
    assert after.tstt > base.tstt


def test_sample_assigned_speed_ratio_is_within_the_calibration_band(
    sample: tuple[TrafficModel, AssignmentResult],
) -> None:
    """Calibrated demand (manifest ``[traffic] demand_scale``) reproduces METR-LA's peak."""
    m, r = sample
    observed = observed_peak_speed_ratio(SAMPLE)
    # the same ratio, computed here directly from the replay file
    data = pd.read_parquet(SAMPLE / "traffic_metr_la.parquet")
    v = data.pivot_table(index="t", columns="sensor_id", values="value")
    v = v.where(v > 0)
    local_h = (v.index - pd.Timestamp("2012-03-05T08:00Z")) / pd.Timedelta(hours=1) % 24
    free = v[(local_h >= 0) & (local_h < 5)].quantile(0.95)
    peak = v[(v.index >= "2012-03-05T16:00Z") & (v.index < "2012-03-05T17:00Z")].mean()
    assert observed.ratio == pytest.approx(float((peak / free).mean()), rel=1e-9)
    assert 0.5 < observed.ratio < 0.9
    assert model_speed_ratio(m, r.flow, r.time) == pytest.approx(observed.ratio, abs=0.02)
    assert tt.manifest_traffic(SAMPLE)["demand_scale"] > 0


def test_sample_model_is_cached_in_process_and_on_disk(
    sample: tuple[TrafficModel, AssignmentResult], cache_dir: Path
) -> None:
    m, _ = sample
    assert traffic_model_for_twin(SAMPLE, cache_dir=cache_dir) is m
    tt._MEMORY.clear()
    t = time.perf_counter()
    again = traffic_model_for_twin(SAMPLE, cache_dir=cache_dir)
    assert time.perf_counter() - t < 0.3
    assert again is not m and list(cache_dir.glob("*.npz"))
    for f in NET_FIELDS:
        assert np.array_equal(getattr(again.network, f), getattr(m.network, f)), f
    assert np.array_equal(again.demand.od, m.demand.od)
    assert np.array_equal(again.link_ids, m.link_ids) and again.description == m.description
    # parameters are part of the key
    files = [SAMPLE / "london.osm.pbf"]
    assert tt._cache_key(files, TrafficParams(demand_scale=0.5)) != tt._cache_key(
        files, TrafficParams(demand_scale=0.6)
    )
    scale = float(tt.manifest_traffic(SAMPLE)["demand_scale"])
    assert f"rate x {scale:.4g} " in m.description  # the manifest's demand_scale was used


@pytest.mark.slow
def test_calibration_re_derives_the_manifest_demand_scale(cache_dir: Path) -> None:
    """Calibration from scratch lands on the stored ``[traffic] demand_scale`` (a few seconds)."""
    cal = tt.calibrate_demand_scale(SAMPLE, cache_dir=cache_dir)
    stored = float(tt.manifest_traffic(SAMPLE)["demand_scale"])
    assert cal.model_ratio == pytest.approx(cal.observed.ratio, abs=0.002)
    assert cal.demand_scale == pytest.approx(stored, rel=0.02)
