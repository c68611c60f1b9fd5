"""Cost of the water engine over a bare wntr EPANET run, on Modena and D-Town.

    python benchmarks/bench_water.py [--json] [--repeat N]

``water_overhead`` = (our :func:`~twin_app.engines.water.simulate` with a scenario's changes,
summed over both networks) / (a bare wntr run of the same scenarios: read the .inp with wntr,
make the same changes with plain wntr calls, ``EpanetSimulator.run_sim``, which also reads the
results into DataFrames), best of N each, 24 h at hourly steps, pressure-driven demand. Ours
adds the result arrays in SI, the requested demand and the KPIs. Target: <= 1.2.

Scenarios: Modena, pipes 290 and 158 closed, a 100 cm² break on pipe 62 from 6 h, demand x 1.2;
D-Town, pipe P218 closed, pump PU1 out from 4 h to 10 h, a 50 cm² break on P100 from 2 h,
demand x 1.1 on seven junctions. Also reported: ``<net>_ours_s``, ``<net>_bare_s``,
``<net>_baseline_s`` (ours, no change).

:func:`water_figures` returns the same figures for ``bench_scenarios.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, emit, timed

from twin_app.engines.water import (
    G_M_S2,
    DemandChange,
    Leak,
    PumpOutage,
    WaterChanges,
    simulate,
    wntr_messages,
)

DURATION_H = 24

SCENARIOS: dict[str, tuple[str, WaterChanges]] = {
    "modena": (
        "MOD_modena.inp",
        WaterChanges(
            closed_links=("290", "158"),
            leaks=(Leak("62", 0.01, 6 * 3600, kind="pipe"),),
            demand_changes=(DemandChange((), 1.2),),
        ),
    ),
    "dtown": (
        "d-town.inp",
        WaterChanges(
            closed_links=("P218",),
            leaks=(Leak("P100", 0.005, 2 * 3600, kind="pipe"),),
            pump_outages=(PumpOutage("PU1", 4 * 3600, 10 * 3600),),
            demand_changes=(
                DemandChange(("J511", "J411", "J414", "J417", "J110", "J128", "J129"), 1.1),
            ),
        ),
    ),
}


def bare_wntr_run(path: Path, changes: WaterChanges) -> Any:
    """Read, change with plain wntr calls (the same EPANET constructions), run, read back."""
    import wntr
    from wntr.network import LinkStatus
    from wntr.network.controls import Control, ControlAction, SimTimeCondition

    wn = wntr.network.WaterNetworkModel(str(path))
    t = wn.options.time
    t.duration = DURATION_H * 3600
    t.hydraulic_timestep = min(int(t.hydraulic_timestep), 3600)
    t.report_timestep, t.report_start = 3600, 0
    wn.options.quality.parameter = "NONE"
    h = wn.options.hydraulic
    h.demand_model = "PDD"
    h.minimum_pressure, h.required_pressure, h.pressure_exponent = 0.0, 20.0, 0.5
    for link in changes.closed_links:
        for name, control in list(wn.controls()):
            if any(a.target()[0].name == link for a in control.actions()):
                wn.remove_control(name)
        wn.get_link(link).initial_status = LinkStatus.Closed
    for dc in changes.demand_changes:
        for j in dc.junctions or wn.junction_name_list:
            for d in wn.get_node(j).demand_timeseries_list:
                d.base_value *= dc.factor

    def switch(name: str, a: str, b: str, status: str, cv: bool = False) -> Any:
        wn.add_pipe(name, a, b, 0.001, 1.0, 100.0, 0.0, status, check_valve=cv)
        return wn.get_link(name)

    def at(link: Any, s: float, status: Any, name: str) -> None:
        act = ControlAction(link, "status", status)
        wn.add_control(name, Control(SimTimeCondition(wn, "=", s), act))

    for i, leak in enumerate(changes.leaks):
        wntr.morph.split_pipe(wn, leak.element, f"b{i}", f"l{i}", return_copy=False)
        z = wn.get_node(f"l{i}").elevation
        wn.add_junction(f"m{i}", 0.0, elevation=z)
        wn.add_junction(f"e{i}", 0.0, elevation=z)
        c = leak.discharge_coeff * leak.area_m2 * (2 * G_M_S2) ** 0.5
        wn.get_node(f"e{i}").emitter_coefficient = c
        at(switch(f"s{i}", f"l{i}", f"m{i}", "CLOSED"), leak.start_s, LinkStatus.Open, f"o{i}")
        switch(f"c{i}", f"m{i}", f"e{i}", "OPEN", cv=True)
    for i, out in enumerate(changes.pump_outages):
        pump = wn.get_link(out.pump)
        end = pump.end_node
        wn.add_junction(f"x{i}", 0.0, elevation=end.elevation)
        pump.end_node = wn.get_node(f"x{i}")
        sw = switch(f"w{i}", f"x{i}", end.name, "OPEN")
        at(sw, out.start_s, LinkStatus.Closed, f"f{i}")
        if out.end_s is not None:
            at(sw, out.end_s, LinkStatus.Open, f"n{i}")
    with tempfile.TemporaryDirectory() as tmp:
        return wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=f"{tmp}/run", version=2.2)


def water_figures(repeat: int = 5) -> dict[str, float]:
    """``water_overhead`` and the times behind it, seconds (see the module docstring)."""
    out: dict[str, float] = {}
    ours_total = bare_total = 0.0
    with wntr_messages():  # keep wntr's chatter off the terminal in the bare runs too
        for key, (name, changes) in SCENARIOS.items():
            path = SHARED / "water" / name
            bare_wntr_run(path, changes)  # warm: imports, file cache
            simulate(path, duration_h=DURATION_H, changes=changes)
            t_ours, res = timed(
                lambda p=path, c=changes: simulate(p, duration_h=DURATION_H, changes=c), repeat
            )
            t_bare, _ = timed(lambda p=path, c=changes: bare_wntr_run(p, c), repeat)
            t_base, _ = timed(lambda p=path: simulate(p, duration_h=DURATION_H), repeat)
            out[f"{key}_ours_s"] = t_ours
            out[f"{key}_bare_s"] = t_bare
            out[f"{key}_baseline_s"] = t_base
            out[f"{key}_overhead"] = t_ours / t_bare
            out[f"{key}_customers_affected"] = res.kpis["customers_affected"]
            ours_total += t_ours
            bare_total += t_bare
    out["water_overhead"] = ours_total / bare_total
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    emit(dict(water_figures(args.repeat)), args.json)


if __name__ == "__main__":
    main()
