"""Traffic assignment against the published TNTP best-known flows, and the TNTP readers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from twin_app.engines.traffic import AssignmentResult, assign, bpr_time, kpis
from twin_app.io.tntp import TntpDemand, TntpFlows, TntpNetwork, read_flows, read_net, read_trips

SharedFile = Callable[[str], Path]


def _load(shared_file: SharedFile, name: str) -> tuple[TntpNetwork, TntpDemand, TntpFlows]:
    base = f"traffic/tntp/{name}/{name}"
    return (
        read_net(shared_file(f"{base}_net.tntp")),
        read_trips(shared_file(f"{base}_trips.tntp")),
        read_flows(shared_file(f"{base}_flow.tntp")),
    )


def _reference_in_link_order(net: TntpNetwork, ref: TntpFlows) -> tuple[np.ndarray, np.ndarray]:
    key = {
        (int(a), int(b)): i
        for i, (a, b) in enumerate(zip(ref.init_node, ref.term_node, strict=True))
    }
    idx = np.array(
        [key[(int(a), int(b))] for a, b in zip(net.init_node, net.term_node, strict=True)]
    )
    return ref.volume[idx], ref.cost[idx]


def _beckmann(net: TntpNetwork, x: np.ndarray) -> float:
    """Beckmann objective sum_a int_0^x t_a: t0 (x + b c / (p + 1) (x / c)^(p + 1))."""
    c, p = net.capacity, net.power
    return float(np.sum(net.free_flow_time * (x + net.b * c / (p + 1) * (x / c) ** (p + 1))))


def _check_against_best_known(
    net: TntpNetwork, demand: TntpDemand, ref: TntpFlows, res: AssignmentResult, max_tol: float
) -> None:
    volume, _ = _reference_in_link_order(net, ref)
    # Flow-weighted link-flow error over flow-dependent links within 0.5 %.
    dep = net.b > 0
    assert np.abs(res.flow - volume)[dep].sum() / volume[dep].sum() <= 5e-3
    # Max link error within max_tol of the largest flow (Anaheim at gap 1e-5: CFW 1.2 %).
    assert np.max(np.abs(res.flow - volume)) / volume.max() <= max_tol
    # Beckmann objective within 1e-5 (relative) of the best-known solution's.
    assert _beckmann(net, res.flow) == pytest.approx(_beckmann(net, volume), rel=1e-5)
    # TSTT within 0.1 % of the best-known TSTT (recomputed with BPR from the published volumes).
    tstt_ref = float(np.dot(volume, bpr_time(net, volume)))
    assert res.tstt == pytest.approx(tstt_ref, rel=1e-3)
    # Flow conservation: out - in = production - attraction at every node.
    n = net.n_nodes
    balance = np.bincount(net.init_node, res.flow, n) - np.bincount(net.term_node, res.flow, n)
    expected = np.zeros(n)
    expected[: demand.n_zones] = demand.od.sum(axis=1) - demand.od.sum(axis=0)
    np.testing.assert_allclose(balance, expected, atol=1e-6 * demand.total)
    assert np.all(res.flow >= -1e-9)


@pytest.mark.parametrize("method", ["gp", "bfw", "cfw"])
def test_sioux_falls_matches_best_known_flows(shared_file: SharedFile, method: str) -> None:
    net, demand, ref = _load(shared_file, "SiouxFalls")
    res = assign(net, demand, relative_gap=1e-5, max_iterations=5000, method=method)
    assert res.converged and res.relative_gap <= 1e-5
    assert res.od_pairs_disconnected == 0
    _check_against_best_known(net, demand, ref, res, max_tol=0.01)
    # Inputs untouched (read-only arrays).
    assert not net.capacity.flags.writeable and not demand.od.flags.writeable


@pytest.mark.parametrize("method", ["gp", "bfw", "cfw"])
def test_anaheim_matches_best_known_flows(shared_file: SharedFile, method: str) -> None:
    net, demand, ref = _load(shared_file, "Anaheim")
    assert net.first_thru_node == 38  # zones 1..38 are not through nodes
    res = assign(net, demand, relative_gap=1e-5, method=method)
    assert res.converged
    _check_against_best_known(net, demand, ref, res, max_tol=0.02)


def test_disconnected_pairs_are_reported_not_fatal() -> None:
    net = TntpNetwork(
        init_node=np.array([0]),
        term_node=np.array([1]),
        capacity=np.ones(1),
        length=np.ones(1),
        free_flow_time=np.ones(1),
        b=np.full(1, 0.15),
        power=np.full(1, 4.0),
        speed=np.zeros(1),
        toll=np.zeros(1),
        link_type=np.ones(1, dtype=np.int64),
        n_zones=3,
        n_nodes=3,
        first_thru_node=0,
    )
    od = np.zeros((3, 3))
    od[0, 1], od[0, 2], od[2, 1] = 2.0, 3.0, 4.0
    res = assign(net, TntpDemand(od=od))
    assert res.od_pairs_disconnected == 2 and res.demand_disconnected == 7.0
    np.testing.assert_allclose(res.flow, [2.0])


def test_zone_below_first_thru_node_carries_no_through_traffic() -> None:
    # 0 -> 1 -> 2 directly costs 10 + 10; 0 -> 3 -> 2 through zone 3... zone 1 is a zone
    # (first thru node 3, 0-based 2), so trips 0 -> 2 must avoid it even though it is cheaper.
    net = TntpNetwork(
        init_node=np.array([0, 1, 0]),
        term_node=np.array([1, 2, 2]),
        capacity=np.ones(3),
        length=np.ones(3),
        free_flow_time=np.array([1.0, 1.0, 10.0]),
        b=np.zeros(3),
        power=np.full(3, 4.0),
        speed=np.zeros(3),
        toll=np.zeros(3),
        link_type=np.ones(3, dtype=np.int64),
        n_zones=3,
        n_nodes=3,
        first_thru_node=2,
    )
    od = np.zeros((3, 3))
    od[0, 2] = 5.0
    od[0, 0] = 7.0  # intrazonal: not assigned
    res = assign(net, TntpDemand(od=od))
    np.testing.assert_allclose(res.flow, [0.0, 0.0, 5.0])
    net_thru = TntpNetwork(**{**net.__dict__, "first_thru_node": 0})
    res = assign(net_thru, TntpDemand(od=od))
    np.testing.assert_allclose(res.flow, [5.0, 5.0, 0.0])


def test_generalised_cost_uses_toll_weight() -> None:
    net = TntpNetwork(
        init_node=np.array([0, 0]),
        term_node=np.array([1, 1]),
        capacity=np.ones(2),
        length=np.ones(2),
        free_flow_time=np.array([1.0, 2.0]),
        b=np.zeros(2),
        power=np.full(2, 4.0),
        speed=np.zeros(2),
        toll=np.array([5.0, 0.0]),
        link_type=np.ones(2, dtype=np.int64),
        n_zones=2,
        n_nodes=2,
        first_thru_node=0,
    )
    od = np.array([[0.0, 3.0], [0.0, 0.0]])
    np.testing.assert_allclose(assign(net, TntpDemand(od=od)).flow, [3.0, 0.0])
    res = assign(net, TntpDemand(od=od), toll_weight=1.0)
    np.testing.assert_allclose(res.flow, [0.0, 3.0])
    np.testing.assert_allclose(res.cost, [6.0, 2.0])


def test_kpis_in_stated_units(shared_file: SharedFile) -> None:
    net, demand, ref = _load(shared_file, "Anaheim")
    res = assign(net, demand, relative_gap=1e-4)
    k = kpis(net, res, time_unit_h=1.0 / 60.0, length_unit_km=0.0003048)
    volume, _ = _reference_in_link_order(net, ref)
    tstt_ref_h = float(np.dot(volume, bpr_time(net, volume))) / 60.0
    assert k["tstt_veh_h"] == (pytest.approx(tstt_ref_h, rel=1e-3), "veh*h")
    vkt = float(np.dot(res.flow, net.length)) * 0.0003048
    assert k["vkt_km"][0] == pytest.approx(vkt)
    assert k["mean_speed_kmh"][0] == pytest.approx(vkt / k["tstt_veh_h"][0])
    assert 0.0 < k["delay_veh_h"][0] < k["tstt_veh_h"][0]
    assert 10.0 < k["mean_speed_kmh"][0] < 120.0
    assert k["od_pairs_disconnected"][0] == 0.0
    assert k["links_over_capacity"][0] == float(np.count_nonzero(res.flow > net.capacity))


def test_dead_end_and_distance_term_conserve_flow(shared_file: SharedFile) -> None:
    # Sioux Falls plus a one-way dead end (node 25, reached from node 10, no way out) and a
    # distance term in the generalised cost: flow is still conserved at every node.
    net, demand, _ = _load(shared_file, "SiouxFalls")
    fields = dict(net.__dict__)
    for name in ("capacity", "length", "free_flow_time", "b", "power", "speed", "toll"):
        fields[name] = np.r_[getattr(net, name), getattr(net, name)[0]]
    fields["init_node"] = np.r_[net.init_node, 9]
    fields["term_node"] = np.r_[net.term_node, 24]
    fields["link_type"] = np.r_[net.link_type, 1]
    fields["n_nodes"] = 25
    big = TntpNetwork(**fields)
    res = assign(big, demand, relative_gap=1e-4, distance_weight=1.0)
    assert res.converged and res.flow[-1] == 0.0
    balance = np.bincount(big.init_node, res.flow, 25) - np.bincount(big.term_node, res.flow, 25)
    expected = np.zeros(25)
    expected[:24] = demand.od.sum(axis=1) - demand.od.sum(axis=0)
    np.testing.assert_allclose(balance, expected, atol=1e-6 * demand.total)
    np.testing.assert_allclose(res.cost, res.time + big.length)


def _sioux(shared_file: SharedFile) -> tuple[TntpNetwork, TntpDemand]:
    net, demand, _ = _load(shared_file, "SiouxFalls")
    return net, demand


def _link(net: TntpNetwork, a: int, b: int) -> int:
    """Index of the link from file node a to file node b."""
    return int(np.flatnonzero((net.init_node == a - 1) & (net.term_node == b - 1))[0])


@pytest.mark.parametrize("method", ["gp", "bfw"])
def test_closed_links_carry_no_flow_and_cut_pairs_are_reported(
    shared_file: SharedFile, method: str
) -> None:
    net, demand = _sioux(shared_file)
    closed = np.zeros(net.n_links, dtype=bool)
    # Node 1 has links to 2 and 3 only: closing both cuts zone 1 off as an origin.
    closed[[_link(net, 1, 2), _link(net, 1, 3)]] = True
    res = assign(net, demand, relative_gap=1e-4, closed=closed, method=method)
    assert res.converged
    od = demand.od
    assert res.od_pairs_disconnected == int(np.count_nonzero(od[0, 1:] > 0))
    assert res.demand_disconnected == pytest.approx(float(od[0, 1:].sum()))
    assert np.all(res.flow[closed] == 0.0)
    assert np.all(np.isnan(res.time[closed])) and np.all(np.isnan(res.cost[closed]))
    assert np.all(np.isfinite(res.time[~closed]))
    k = kpis(net, res, time_unit_h=0.01, length_unit_km=1.609344)
    assert all(np.isfinite(v) for v, _ in k.values())
    assert k["od_pairs_disconnected"][0] == res.od_pairs_disconnected
    # Flow conserved at every node for the demand that still has a path.
    n = net.n_nodes
    served = np.array(od, dtype=np.float64)
    served[0, 1:] = 0.0
    np.fill_diagonal(served, 0.0)
    balance = np.bincount(net.init_node, res.flow, n) - np.bincount(net.term_node, res.flow, n)
    np.testing.assert_allclose(
        balance, served.sum(axis=1) - served.sum(axis=0), atol=1e-6 * demand.total
    )


def test_cancel_raises_cancelled(shared_file: SharedFile) -> None:
    from twin_app.errors import Cancelled, CancelledError

    net, demand = _sioux(shared_file)
    fractions: list[float] = []

    def stop() -> bool:
        return len(fractions) >= 3

    with pytest.raises(Cancelled):
        assign(net, demand, relative_gap=1e-8, progress=fractions.append, cancelled=stop)
    assert len(fractions) == 3 and all(0.0 <= f <= 1.0 for f in fractions)
    assert issubclass(Cancelled, CancelledError)


def test_gp_warm_start_after_closure_matches_cold_in_fewer_iterations(
    shared_file: SharedFile,
) -> None:
    import pickle

    net, demand = _sioux(shared_file)
    base = assign(net, demand, relative_gap=1e-6)
    closed = np.zeros(net.n_links, dtype=bool)
    closed[[_link(net, 10, 16), _link(net, 16, 10)]] = True
    cold = assign(net, demand, relative_gap=1e-5, closed=closed)
    # The state travels to Dask workers: it survives pickling, and a result is deterministic.
    warm = assign(net, demand, relative_gap=1e-5, closed=closed, warm_start=base)
    again = assign(
        net, demand, relative_gap=1e-5, closed=closed, warm_start=pickle.loads(pickle.dumps(base))
    )
    assert np.array_equal(warm.flow, again.flow) and warm.relative_gap == again.relative_gap
    assert cold.converged and warm.converged and warm.relative_gap <= 1e-5
    assert warm.iterations < cold.iterations
    assert np.all(warm.flow[closed] == 0.0)
    # The same equilibrium (to the gap): Beckmann objective and link flows agree.
    assert _beckmann(net, warm.flow) == pytest.approx(_beckmann(net, cold.flow), rel=1e-5)
    assert np.abs(warm.flow - cold.flow).sum() / cold.flow.sum() <= 5e-3
    # Re-opening: warm from the closure result back to the baseline.
    back = assign(net, demand, relative_gap=1e-5, warm_start=warm)
    assert back.converged
    assert np.abs(back.flow - base.flow).sum() / base.flow.sum() <= 5e-3


def test_gp_reaches_tight_gap_deterministically(shared_file: SharedFile) -> None:
    net, demand, _ = _load(shared_file, "Anaheim")
    a = assign(net, demand, relative_gap=1e-6)
    b = assign(net, demand, relative_gap=1e-6)
    assert a.converged and a.relative_gap <= 1e-6
    assert np.array_equal(a.flow, b.flow) and a.tstt == b.tstt and a.iterations == b.iterations
    assert a.state is not None and repr(a.state) not in repr(a)  # state stays out of repr


def test_compile_solver_reports_seconds() -> None:
    from twin_app.engines.traffic import compile_solver

    assert compile_solver() >= 0.0


def test_gp_warm_start_from_a_fully_cut_network(shared_file: SharedFile) -> None:
    net, demand = _sioux(shared_file)
    cut = assign(net, demand, closed=np.ones(net.n_links, dtype=bool))
    assert cut.od_pairs_disconnected == int(np.count_nonzero(demand.od > 0)) - int(
        np.count_nonzero(np.diag(demand.od) > 0)
    )
    assert np.all(cut.flow == 0.0)
    res = assign(net, demand, relative_gap=1e-5, warm_start=cut)
    assert res.converged and res.od_pairs_disconnected == 0


def test_gp_warm_start_ignores_a_state_of_other_links(shared_file: SharedFile) -> None:
    net, demand = _sioux(shared_file)
    base = assign(net, demand, relative_gap=1e-5)
    # Same sizes, other links: the heads of two links swapped.
    head = np.array(net.term_node)
    head[[0, 1]] = head[[1, 0]]
    other = TntpNetwork(**{**net.__dict__, "term_node": head})
    cold = assign(other, demand, relative_gap=1e-5)
    warm = assign(other, demand, relative_gap=1e-5, warm_start=base)
    assert np.array_equal(warm.flow, cold.flow) and warm.iterations == cold.iterations
