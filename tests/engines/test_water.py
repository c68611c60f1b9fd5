"""The water engine against EPANET itself.

The reference is an independent path through the same engine: the ORIGINAL .inp file opened
with the EPANET 2.2 toolkit (``wntr.epanet.toolkit.ENepanet``), stepped with
ENopenH/ENinitH/ENrunH/ENnextH, values read with ENgetnodevalue/ENgetlinkvalue in the file's
units and converted here. :func:`simulate` goes through wntr's model, its rewritten .inp, the
binary output file and our unit/order handling; equality at every reported step validates all of
that. Also: mass balance, closures, KPIs, errors.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from twin_app.engines.water import KPI_UNITS, WaterResult, simulate
from twin_app.errors import EngineError

WATER = Path(__file__).resolve().parents[3] / "shared" / "data" / "water"
TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_us_units.inp"

#: m³/s per EPANET flow unit, by the toolkit's unit code (CFS, GPM, MGD, IMGD, AFD, LPS, LPM,
#: MLD, CMH, CMD).
FLOW_M3S = (
    0.0283168466,
    0.003785411784 / 60.0,
    1e6 * 0.003785411784 / 86400.0,
    1e6 * 0.00454609 / 86400.0,
    1233.48184 / 86400.0,
    0.001,
    0.001 / 60.0,
    1.0 / 86.4,
    1.0 / 3600.0,
    1.0 / 86400.0,
)
#: EPANET reports pressure in psi with 0.4333 psi per foot of water (specific gravity 1).
M_PER_PSI = 0.3048 / 0.4333

#: Tolerances: EPANET's binary output is float32, the toolkit answers in float64.
ATOL_HEAD_M = 5e-5
ATOL_FLOW_M3S = 5e-7
ATOL_VELOCITY_MS = 2e-6
RTOL = 2e-6

#: Largest differences seen and the documented bound each must stay within
#: (``atol + RTOL * max|reference|``), filled by the validation tests (printed with ``-s``).
MAX_DIFF: dict[str, tuple[float, float]] = {}


def water(name: str) -> Path:
    path = WATER / name
    if not path.is_file():
        pytest.skip(f"shared water network {path} not available")
    return path


def net3() -> Path:
    import wntr

    path = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    if not path.is_file():
        pytest.skip("wntr's bundled Net3.inp not available")
    return path


NETWORKS = {
    "modena": lambda: water("MOD_modena.inp"),
    "d-town": lambda: water("d-town.inp"),
    "net3": net3,
    "tiny-us": lambda: TINY,
}


def toolkit_run(
    path: Path,
    node_ids: Iterable[str],
    link_ids: Iterable[str],
    tmp: Path,
    duration_s: int = 86400,
    step_s: int = 3600,
    pdd: tuple[float, float, float] | None = None,
    closed: Iterable[str] = (),
) -> dict[str, np.ndarray]:
    """Run EPANET 2.2 on the original file; values at every report step, converted to SI."""
    from wntr.epanet.toolkit import ENepanet
    from wntr.epanet.util import EN

    en = ENepanet()
    en.ENopen(str(path), str(tmp / "toolkit.rpt"), "")
    try:
        units = en.ENgetflowunits()
        us = units <= 4
        ft = 0.3048 if us else 1.0
        psi = M_PER_PSI if us else 1.0
        q = FLOW_M3S[units]
        en.ENsettimeparam(EN.DURATION, duration_s)
        en.ENsettimeparam(EN.HYDSTEP, min(en.ENgettimeparam(EN.HYDSTEP), step_s))
        en.ENsettimeparam(EN.REPORTSTEP, step_s)
        en.ENsettimeparam(EN.REPORTSTART, 0)
        if pdd is not None:
            pmin, preq, pexp = pdd
            # EN_setdemandmodel(ph, EN_PDA, pmin, preq, pexp), pressures in the file's units;
            # wntr's wrapper has no binding for it
            rc = en.ENlib.EN_setdemandmodel(
                en._project,
                ctypes.c_int(1),
                ctypes.c_double(pmin / psi),
                ctypes.c_double(preq / psi),
                ctypes.c_double(pexp),
            )
            assert rc == 0
        ni = [en.ENgetnodeindex(n) for n in node_ids]
        li = [en.ENgetlinkindex(n) for n in link_ids]
        for link in closed:
            en.ENsetlinkvalue(en.ENgetlinkindex(link), EN.INITSTATUS, 0)
        out: dict[str, list[list[float]]] = {k: [] for k in "tphdfvs"}
        en.ENopenH()
        en.ENinitH(0)
        while True:
            t = en.ENrunH()
            if t % step_s == 0:
                out["t"].append([t])
                out["p"].append([en.ENgetnodevalue(i, EN.PRESSURE) * psi for i in ni])
                out["h"].append([en.ENgetnodevalue(i, EN.HEAD) * ft for i in ni])
                out["d"].append([en.ENgetnodevalue(i, EN.DEMAND) * q for i in ni])
                out["f"].append([en.ENgetlinkvalue(i, EN.FLOW) * q for i in li])
                out["v"].append([en.ENgetlinkvalue(i, EN.VELOCITY) * ft for i in li])
                out["s"].append([en.ENgetlinkvalue(i, EN.STATUS) for i in li])
            if en.ENnextH() <= 0:
                break
        en.ENcloseH()
    finally:
        en.ENclose()
    res = {k: np.array(v, np.float64) for k, v in out.items()}
    res["t"] = res["t"][:, 0].astype(np.int64)
    return res


def assert_matches_toolkit(r: WaterResult, tk: dict[str, np.ndarray], label: str) -> None:
    np.testing.assert_array_equal(r.elapsed_s, tk["t"])
    checks = (
        ("pressure_m", r.pressure_m, tk["p"], ATOL_HEAD_M),
        ("head_m", r.head_m, tk["h"], ATOL_HEAD_M),
        ("demand_m3s", r.demand_m3s, tk["d"], ATOL_FLOW_M3S),
        ("flow_m3s", r.flow_m3s, tk["f"], ATOL_FLOW_M3S),
        ("velocity_ms", r.velocity_ms, tk["v"], ATOL_VELOCITY_MS),
    )
    for name, ours, ref, atol in checks:
        diff = float(np.abs(ours.astype(np.float64) - ref).max())
        bound = atol + RTOL * float(np.abs(ref).max())
        seen, _ = MAX_DIFF.get(f"{label} {name}", (0.0, bound))
        MAX_DIFF[f"{label} {name}"] = (max(seen, diff), bound)
        np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=atol, err_msg=f"{label} {name}")
    # the toolkit's status is 0 closed / 1 open; ours also tells active valves (2)
    np.testing.assert_array_equal(r.status != 0, tk["s"] != 0, err_msg=f"{label} status")


# --------------------------------------------------------------------------------------------
# validation against EPANET


@pytest.mark.parametrize("model", ["PDD", "DDA"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_matches_epanet_toolkit(name: str, model: str, tmp_path: Path) -> None:
    path = NETWORKS[name]()
    r = simulate(path, duration_h=24, timestep_s=3600, demand_model=model)
    assert r.pressure_m.shape == (25, r.node_ids.shape[0])
    assert r.flow_m3s.shape == (25, r.link_ids.shape[0])
    pdd = (0.0, 20.0, 0.5) if model == "PDD" else None
    tk = toolkit_run(path, r.node_ids, r.link_ids, tmp_path, pdd=pdd)
    assert_matches_toolkit(r, tk, f"{name} {model}")


def test_closed_pipe_matches_epanet_toolkit(tmp_path: Path) -> None:
    path = water("MOD_modena.inp")
    r = simulate(path, closed_links=["290"])
    tk = toolkit_run(path, r.node_ids, r.link_ids, tmp_path, pdd=(0.0, 20.0, 0.5), closed=["290"])
    assert_matches_toolkit(r, tk, "modena closed 290")


def test_half_hour_steps_match_epanet_toolkit(tmp_path: Path) -> None:
    path = water("d-town.inp")
    r = simulate(path, duration_h=6, timestep_s=1800, demand_model="DDA")
    assert r.elapsed_s.tolist() == list(range(0, 6 * 3600 + 1, 1800))
    tk = toolkit_run(path, r.node_ids, r.link_ids, tmp_path, duration_s=6 * 3600, step_s=1800)
    assert_matches_toolkit(r, tk, "d-town 30 min")


# --------------------------------------------------------------------------------------------
# physics and KPIs


@pytest.mark.parametrize("name", list(NETWORKS))
def test_mass_balance(name: str) -> None:
    r = simulate(NETWORKS[name]())
    junction = r.node_types == "junction"
    consumed = r.demand_m3s[:, junction].astype(np.float64).sum(axis=1)
    supplied = -r.demand_m3s[:, ~junction].astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(consumed, supplied, atol=1e-5 + 1e-5 * np.abs(consumed).max())
    assert (consumed > 0).all()


@pytest.mark.parametrize("name", ["d-town", "tiny-us", "modena"])
def test_requested_demand_equals_epanet_demand_driven(name: str) -> None:
    """Our base x pattern x multiplier equals what EPANET delivers under DDA."""
    for multiplier in (1.0, 1.5):
        r = simulate(NETWORKS[name](), demand_model="DDA", demand_multiplier=multiplier)
        j = r.node_types == "junction"
        np.testing.assert_allclose(
            r.demand_m3s[:, j], r.expected_demand_m3s[:, j], rtol=1e-5, atol=1e-7
        )
        assert r.kpis["unmet_demand_m3"] == pytest.approx(0.0, abs=1e-3)


def test_demand_multiplier_scales_requested_volume() -> None:
    base = simulate(TINY)
    double = simulate(TINY, demand_multiplier=2.0)
    assert double.kpis["total_demand_m3"] == pytest.approx(2 * base.kpis["total_demand_m3"])
    # tiny: 150 GPM base, pattern 0.5/1/1.5/1 in 6 h steps -> 24 h average 1.0
    gpm = 0.003785411784 / 60.0
    assert base.kpis["total_demand_m3"] == pytest.approx(150 * gpm * 86400, rel=1e-6)


def test_kpis_have_units_and_agree_with_arrays() -> None:
    r = simulate(water("d-town.inp"))
    assert set(r.kpis) == set(KPI_UNITS)
    table = r.kpi_table()
    assert table.set_index("kpi").loc["min_pressure_m", "unit"] == "m"
    j = r.node_types == "junction"
    assert r.kpis["min_pressure_m"] == pytest.approx(float(r.pressure_m[:, j].min()))
    assert r.kpis["nodes_below_20m"] == int((r.pressure_m[:, j] < 20).any(axis=0).sum())
    k = r.kpis
    assert k["delivered_demand_m3"] + k["unmet_demand_m3"] == pytest.approx(k["total_demand_m3"])
    # D-Town has junctions below zero pressure: pressure-driven demand leaves some unmet
    assert k["min_pressure_m"] < 0 and k["unmet_demand_m3"] > 0
    dda = simulate(water("d-town.inp"), demand_model="DDA")
    assert dda.kpis["unmet_demand_m3"] == pytest.approx(0.0, abs=1e-3)


def test_result_arrays_are_typed_and_read_only() -> None:
    r = simulate(TINY, start="2024-06-01T00:00")
    for arr in (r.pressure_m, r.head_m, r.demand_m3s, r.flow_m3s, r.velocity_ms):
        assert arr.dtype == np.float32 and not arr.flags.writeable
    assert r.status.dtype == np.int8 and r.times_ns.dtype == np.int64
    t0 = np.datetime64("2024-06-01T00:00", "ns").astype(np.int64)
    assert r.times_ns[0] == t0 and np.all(np.diff(r.times_ns) == 3600 * 10**9)
    assert list(r.node_ids) == ["J1", "J2", "J3", "R1", "T1"]
    assert list(r.link_ids) == ["P1", "P2", "P3", "P4", "PU1", "V1"]
    with pytest.raises(ValueError):
        r.pressure_m[0, 0] = 1.0
    assert simulate(TINY).times_ns[1] == 3600 * 10**9  # no start: relative


def test_result_order_matches_reader() -> None:
    from twin_app.io.epanet import read_inp

    for path in (water("d-town.inp"), TINY):
        net = read_inp(path)
        r = simulate(path)
        assert list(r.node_ids) == list(net.nodes["id"])
        assert list(r.link_ids) == list(net.links["id"])
        assert list(r.node_types) == list(net.nodes["type"])
        assert list(r.link_types) == list(net.links["type"])


# --------------------------------------------------------------------------------------------
# closures (interventions)


def test_closing_a_pipe_reroutes_flow_plausibly() -> None:
    path = water("MOD_modena.inp")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    base = simulate(path, demand_model="DDA")
    closed = simulate(path, closed_links=["290"], demand_model="DDA")
    k = closed.link_index("290")
    assert np.abs(base.flow_m3s[:, k]).min() > 0.1  # it carried a main's flow
    assert (closed.flow_m3s[:, k] == 0).all() and (closed.status[:, k] == 0).all()
    # downstream end (by the baseline flow direction) loses head, upstream end gains
    from twin_app.io.epanet import read_inp

    links = read_inp(path).links.set_index("id")
    start, end = int(links.loc["290", "start"]), int(links.loc["290", "end"])
    up, down = (start, end) if base.flow_m3s[0, k] > 0 else (end, start)
    dh = closed.head_m.astype(np.float64) - base.head_m
    assert (dh[:, down] < -1.0).all()
    assert (dh[:, up] > 0).all()
    # nothing rises above what the upstream end gains
    assert dh.max() <= dh[:, up].max() + 1e-3
    # the same demand is delivered (DDA), the reservoirs share it differently
    assert closed.kpis["total_demand_m3"] == pytest.approx(base.kpis["total_demand_m3"])
    other = np.arange(base.flow_m3s.shape[1]) != k
    assert np.abs(closed.flow_m3s[:, other] - base.flow_m3s[:, other]).max() > 0.01
    # the baseline run and the file are untouched
    again = simulate(path, demand_model="DDA")
    np.testing.assert_array_equal(again.flow_m3s, base.flow_m3s)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert closed.closed_links == ("290",)


def test_cutting_off_a_junction_leaves_its_demand_unmet() -> None:
    """D-Town J310 hangs off P218 alone: closing P218 cuts it off under PDD."""
    path = water("d-town.inp")
    base = simulate(path)
    cut = simulate(path, closed_links=["P218"])
    j = cut.node_index("J310")
    assert np.abs(cut.demand_m3s[:, j]).max() < 1e-6
    assert base.demand_m3s[:, j].min() > 1e-4
    leaf_m3 = float((base.expected_demand_m3s[:-1, j].astype(np.float64) * 3600).sum())
    assert cut.kpis["unmet_demand_m3"] >= leaf_m3 * 0.999
    assert cut.kpis["unmet_demand_m3"] > base.kpis["unmet_demand_m3"] + 0.5 * leaf_m3


def test_closing_a_controlled_valve_drops_its_controls() -> None:
    path = water("d-town.inp")
    r = simulate(path, closed_links=["V2", "PU2"])
    for link in ("V2", "PU2"):
        k = r.link_index(link)
        assert (r.status[:, k] == 0).all() and (np.abs(r.flow_m3s[:, k]) < 1e-9).all()
    dropped = [w for w in r.warnings if "dropped controls" in w]
    assert len(dropped) == 1 and "d-town.inp" in dropped[0]


# --------------------------------------------------------------------------------------------
# errors


def test_unknown_link_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match=r"d-town\.inp: cannot close 'nope': no link"):
        simulate(water("d-town.inp"), closed_links=["nope"])


def test_networks_wntr_cannot_read_are_refused(tmp_path: Path) -> None:
    # Wolf-Cordera Ranch with a pump line cut to three numbers, which EPANET refuses too
    # (the file itself is read as EPANET reads it: test_water_legacy_inp.py)
    text = water("wolf-cordera-ranch_initial.inp").read_text()
    bad = tmp_path / "wolf_cut.inp"
    bad.write_text(
        text.replace("233.0   174.0  2000.0   137.8  2400.0 \n", "233.0 174.0 2000.0\n", 1)
    )
    with pytest.raises(EngineError) as err:
        simulate(bad)
    msg = str(err.value)
    assert msg.startswith(f"{bad}: line 3780 in [PUMPS]: wntr cannot read") and "\n" not in msg


def test_epanet_errors_become_engine_errors(tmp_path: Path) -> None:
    bad = tmp_path / "zero_diameter.inp"
    bad.write_text(
        TINY.read_text().replace(
            " P4   J3     T1     200         6 ", " P4   J3     T1     200         0 "
        )
    )
    with pytest.raises(
        EngineError,
        match=r"zero_diameter\.inp: line 23 in \[PIPES\]: .*diameter must be greater than zero",
    ):
        simulate(bad)
    with pytest.raises(EngineError, match="no such file"):
        simulate(tmp_path / "missing.inp")
    with pytest.raises(EngineError, match="multiple of the time step"):
        simulate(TINY, duration_h=1.5, timestep_s=3600)
    with pytest.raises(EngineError, match="PDD or DDA"):
        simulate(TINY, demand_model="magic")


def test_report_max_differences(tmp_path: Path) -> None:
    """The largest differences against the toolkit stay within the documented tolerances.

    Run alone (no validation test before it), it validates the tiny US-units network itself,
    so that it never passes on an empty report. Prints the figures (run with ``-s``).
    """
    if not MAX_DIFF:
        r = simulate(TINY, duration_h=24, timestep_s=3600, demand_model="DDA")
        assert_matches_toolkit(r, toolkit_run(TINY, r.node_ids, r.link_ids, tmp_path), "tiny-us")
    quantities = {"pressure_m", "head_m", "demand_m3s", "flow_m3s", "velocity_ms"}
    assert quantities <= {key.rsplit(" ", 1)[1] for key in MAX_DIFF}
    for key, (diff, bound) in sorted(MAX_DIFF.items()):
        print(f"max |ours - EPANET toolkit| {key}: {diff:.3g} (bound {bound:.3g})")
        assert np.isfinite(diff) and diff <= bound, (key, diff, bound)
