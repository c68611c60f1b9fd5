"""Legacy and default cases of .inp files that EPANET reads and wntr refuses.

Each case is checked three ways: the text rewrite keeps every line on its line number; the
run of the legacy file equals the run of the same network written the EPANET 2.2 way; and
EPANET 2.2 itself (the toolkit opening the legacy file, as in ``test_water.py``) agrees with
the run, so the file is read as EPANET reads it. North Penn and Wolf-Cordera Ranch (shared
data) run through wntr and a scenario, equal to plain wntr on copies fixed by hand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.engines.test_water import assert_matches_toolkit, toolkit_run, water
from twin_app.engines.water import WaterResult, simulate
from twin_app.errors import EngineError
from twin_app.io.inp_legacy import sanitise_inp

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_us_units.inp"


def _tiny(*edits: tuple[str, str]) -> str:
    text = TINY.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


#: name: (edits that make the legacy file, edits that make its EPANET 2.2 twin, note)
CASES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], str]] = {
    "no units": (
        [(" Units     GPM\n", "\n")],
        [],
        "[OPTIONS] has no UNITS line: flows read as GPM, EPANET's default",
    ),
    "segments": (
        [(" Headloss  H-W\n", " Headloss  H-W\n SEGMENTS 100\n")],
        [(" Headloss  H-W\n", " Headloss  H-W\n\n")],
        "line 50 in [OPTIONS]: dropped the obsolete option SEGMENTS (EPANET 2.2 ignores it)",
    ),
    "tank with only an elevation": (
        [(" T1   200    10       0       20      50    0\n", " T1   200\n")],
        [
            (" T1   200    10       0       20      50    0\n", "\n"),
            (" R1   300\n", " R1   300\n T1   200\n"),
        ],
        "line 16 in [TANKS]: only an elevation, read as a reservoir of that head",
    ),
    "pipe status in place of minor loss": (
        [(" 100        0          CV", " 100        CV")],
        [],
        "line 21 in [PIPES]: a status in place of the minor loss, read with minor loss 0",
    ),
    "EPANET 1.1 one-point pump": (
        [(" HEAD C1", " 150 500"), ("PU1  Closed", "PU1  Open")],
        [("PU1  Closed", "PU1  Open")],
        "line 27 in [PUMPS]: an EPANET 1.1 pump curve given as numbers",
    ),
    "EPANET 1.1 three-point pump": (
        [(" HEAD C1", " 200 150 500 90 800"), ("PU1  Closed", "PU1  Open")],
        [("PU1  Closed", "PU1  Open"), (" C1   500   150", " C1 0 200\n C1 500 150\n C1 800 90")],
        "line 27 in [PUMPS]: an EPANET 1.1 pump curve given as numbers",
    ),
    "EPANET 1.1 constant power pump": (
        [(" HEAD C1", " 20"), ("PU1  Closed", "PU1  Open")],
        [(" HEAD C1", " POWER 20"), ("PU1  Closed", "PU1  Open")],
        "line 27 in [PUMPS]: an EPANET 1.1 pump curve given as numbers",
    ),
    "report file": (
        [("[OPTIONS]\n", "[REPORT]\n FILE x.rpt\n\n[OPTIONS]\n")],
        [("[OPTIONS]\n", "\n\n\n[OPTIONS]\n")],
        "line 48 in [REPORT]: no report file is written (the option FILE is dropped)",
    ),
}


def _same_run(a: WaterResult, b: WaterResult) -> None:
    np.testing.assert_array_equal(a.node_ids, b.node_ids)
    np.testing.assert_array_equal(a.node_types, b.node_types)
    np.testing.assert_array_equal(a.pressure_m, b.pressure_m)
    np.testing.assert_array_equal(a.flow_m3s, b.flow_m3s)


@pytest.mark.parametrize("case", list(CASES))
def test_a_legacy_file_runs_as_epanet_reads_it(case: str, tmp_path: Path) -> None:
    legacy_edits, modern_edits, note = CASES[case]
    legacy = tmp_path / "legacy.inp"
    legacy.write_text(_tiny(*legacy_edits))
    modern = tmp_path / "modern.inp"
    modern.write_text(_tiny(*modern_edits))
    before = hashlib.sha256(legacy.read_bytes()).hexdigest()
    got = simulate(legacy, demand_model="DDA")
    assert hashlib.sha256(legacy.read_bytes()).hexdigest() == before  # never written
    ours = [w for w in got.warnings if note in w]
    assert len(ours) == 1 and ours[0].startswith(f"{legacy}: ") and "\n" not in ours[0]
    ref = simulate(modern, demand_model="DDA")
    assert not any("read as" in w or "dropped" in w for w in ref.warnings)
    _same_run(got, ref)
    # EPANET 2.2 itself opens the legacy file and agrees
    assert_matches_toolkit(got, toolkit_run(legacy, got.node_ids, got.link_ids, tmp_path), case)


def test_the_rewrite_keeps_line_numbers_and_line_ends() -> None:
    text = _tiny(
        (" Units     GPM\n", " SEGMENTS 10\n"),
        (" T1   200    10       0       20      50    0\n", " T1   200  ; high\n"),
        ("[VERTICES]", "[END]\n\x1a\n[VERTICES]"),
    ).replace("\n", "\r\n")
    fixed = sanitise_inp(text)
    old, new = text.split("\r\n"), fixed.text.split("\r\n")
    end = old.index("[END]") + 1
    changed = [i + 1 for i in range(end) if old[i] != new[i]]
    # SEGMENTS and T1 blank, [END] blank (it moves below what is added)
    assert changed == [16, 48, end]
    assert new[15] == new[47] == new[end - 1] == ""
    tail = new[end : new.index("[END]")]
    assert tail == ["[OPTIONS]", " UNITS GPM", "[RESERVOIRS]", " T1   200  ; high"]
    assert "\n" not in fixed.text.replace("\r\n", "")
    assert len(fixed.notes) == 3


def test_a_modern_file_is_left_alone() -> None:
    text = TINY.read_text()
    fixed = sanitise_inp(text)
    assert fixed.text is text and not fixed.changed


def test_what_epanet_refuses_too_stays_an_error_on_the_files_line(tmp_path: Path) -> None:
    # four numbers on a pump line: EPANET 2.2 refuses them as well (error 202)
    bad = tmp_path / "pump4.inp"
    bad.write_text(_tiny((" Units     GPM\n", "\n"), (" HEAD C1", " 200 150 500 90")))
    with pytest.raises(EngineError) as err:
        simulate(bad)
    msg = str(err.value)
    assert msg.startswith(f"{bad}: line 27 in [PUMPS]: wntr cannot read") and "\n" not in msg
    assert "twin_inp_" not in msg  # the private copy is not named


def test_an_unknown_option_still_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bogus.inp"
    bad.write_text(_tiny((" Units     GPM\n", " SEGMENTS 3\n BOGUS 3\n")))
    with pytest.raises(EngineError, match=r"bogus\.inp: line 49 in \[OPTIONS\]") as err:
        simulate(bad)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------
# the shared networks


def _hand_fixed(name: str, tmp: Path) -> Path:
    """The file with its legacy lines rewritten by hand, the EPANET 2.2 way."""
    text = water(name).read_text(errors="surrogateescape")
    if name.startswith("NPCL"):
        text = text.replace("[OPTIONS]\n", "[OPTIONS]\nUNITS GPM\n")
        rows = text.split("\n")
        start = rows.index("[SOURCES]")
        for i in range(start + 1, rows.index("[REACTIONS]")):
            w = rows[i].split()
            if w and not w[0].startswith(";"):
                rows[i] = " ".join([w[0], "CONCEN", *w[1:]])
        text = "\n".join(rows)
    else:
        text = text.replace(" SEGMENTS         100\n", "").replace(" FILE EPAPIPE.RPT\n", "")
        text = text.replace("            CV\n", "    0 CV\n")
        tanks = ["3001      7310.0", "3003      7135.0", "3004      7135.0", "3006      7131.6"]
        for t in tanks:
            text = text.replace(f"   {t}\n", "")
        text = text.replace("[TANKS]\n", "[RESERVOIRS]\n" + "\n".join(tanks) + "\n\n[TANKS]\n")
        curves = ["[CURVES]"]
        for line in text[text.index("[PUMPS]") : text.index("[VALVES]")].split("\n")[1:]:
            w = line.split()
            if len(w) >= 8:
                h0, h1, q1, h2, q2 = w[3:8]
                text = text.replace(line + "\n", f"{' '.join(w[:3])} HEAD C{w[0]}\n")
                curves += [f"C{w[0]} 0 {h0}", f"C{w[0]} {q1} {h1}", f"C{w[0]} {q2} {h2}"]
        text = text.replace("[OPTIONS]", "\n".join(curves) + "\n\n[OPTIONS]")
    out = tmp / name
    out.write_text(text, errors="surrogateescape")
    return out


def _plain_wntr(path: Path, duration_s: int) -> Any:
    """Pressures (m) of plain wntr with the settings :func:`simulate` gives its model."""
    import wntr

    wn = wntr.network.WaterNetworkModel(str(path))
    t = wn.options.time
    t.duration = duration_s
    t.hydraulic_timestep = int(min(int(t.hydraulic_timestep or 3600), 3600))
    t.report_timestep = 3600
    t.report_start = 0
    wn.options.quality.parameter = "NONE"
    h = wn.options.hydraulic
    h.demand_model = "PDD"
    h.minimum_pressure, h.required_pressure, h.pressure_exponent = 0.0, 20.0, 0.5
    res = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(path.with_suffix("")))
    return res.node["pressure"]


@pytest.mark.parametrize("name", ["NPCL-1_north-penn.inp", "wolf-cordera-ranch_initial.inp"])
def test_shared_legacy_network_runs_like_plain_wntr_on_a_fixed_copy(
    name: str, tmp_path: Path
) -> None:
    path = water(name)
    r = simulate(path, duration_h=12)
    assert np.isfinite(r.pressure_m).all() and r.pressure_m.shape[0] == 13
    assert r.kpis["total_demand_m3"] > 0 and r.kpis["min_pressure_m"] > 0
    # one line each, naming the file
    notes = [w for w in r.warnings if "read as" in w or "dropped" in w]
    assert notes and all(w.startswith(f"{path}: ") and "\n" not in w for w in notes)
    plain = _plain_wntr(_hand_fixed(name, tmp_path), 12 * 3600)
    ref = plain[list(r.node_ids)].to_numpy(np.float64)
    np.testing.assert_allclose(r.pressure_m.astype(np.float64), ref, rtol=0, atol=1e-6)


def test_north_penn_reads_as_gpm_and_says_so_once() -> None:
    path = water("NPCL-1_north-penn.inp")
    r = simulate(path, duration_h=2, demand_model="DDA")
    units = [w for w in r.warnings if "UNITS" in w]
    assert units == [f"{path}: [OPTIONS] has no UNITS line: flows read as GPM, EPANET's default"]


def test_wolf_cordera_drops_segments_naming_its_line() -> None:
    path = water("wolf-cordera-ranch_initial.inp")
    r = simulate(path, duration_h=2, demand_model="DDA")
    seg = [w for w in r.warnings if "SEGMENTS" in w]
    assert seg == [
        f"{path}: line 3816 in [OPTIONS]: dropped the obsolete option SEGMENTS "
        "(EPANET 2.2 ignores it)"
    ]
    # the four [TANKS] lines with only an elevation are reservoirs, as EPANET counts them
    assert (r.node_types == "reservoir").sum() == 4 and (r.node_types == "tank").sum() == 0


@pytest.mark.parametrize(
    ("name", "pipe"), [("NPCL-1_north-penn.inp", "2"), ("wolf-cordera-ranch_initial.inp", "2012")]
)
def test_shared_legacy_network_in_a_scenario(name: str, pipe: str, tmp_path: Path) -> None:
    from twin_app.scenarios.file import load_scenario
    from twin_app.scenarios.run import run_scenario

    path = water(name)
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'schema = 1\nname = "legacy"\n[water]\nnetwork = "{path}"\nduration_h = 3\n'
        f'timestep_s = 3600\n[[interventions]]\nkind = "close_pipe"\npipes = ["{pipe}"]\n'
    )
    res = run_scenario(load_scenario(toml))
    assert res.pipes is not None
    assert res.pipes.loc[res.pipes["id"] == pipe, "flow_scenario"].item() == 0
    assert res.nodes is not None and np.isfinite(res.nodes["min_pressure_scenario"]).all()
    notes = [w for w in res.warnings if "read as" in w or "dropped" in w]
    assert notes and all(w.startswith(f"{path}: ") and "\n" not in w for w in notes)


@pytest.mark.parametrize("name", ["NPCL-1_north-penn.inp", "wolf-cordera-ranch_initial.inp"])
def test_shared_legacy_network_matches_epanet_on_the_original_file(
    name: str, tmp_path: Path
) -> None:
    """EPANET 2.2 itself opening the user's file is the reference: every reported step."""
    path = water(name)
    r = simulate(path, duration_h=12, demand_model="DDA")
    tk = toolkit_run(path, r.node_ids, r.link_ids, tmp_path, duration_s=12 * 3600)
    assert_matches_toolkit(r, tk, f"{name} original")


def test_keywords_match_as_epanet_matches_them() -> None:
    # a typed source ("CONCEN", or EPANET's prefix "conc") and a one-field tank are left alone
    text = "[SOURCES]\n J1 conc 1.0\n J2 MASS 2\n[TANKS]\n T9\n[OPTIONS]\n UNITS LPS\n"
    fixed = sanitise_inp(text)
    assert fixed.text is text and not fixed.changed
