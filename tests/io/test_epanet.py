"""EPANET .inp reader: counts of the real networks, units, both parsers, placement, pipe meshes.

Counts are those verified in ``shared/data/SOURCES.md`` section 4. Unit conversion is checked
against hand-made values (``tests/data/tiny_us_units.inp``) and against the EPANET 2.2 engine's
own reading of the files (elevations, lengths, diameters via the toolkit, in file units).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.engines.water import read_inp_wntr
from twin_app.errors import InputError
from twin_app.geometry.placement import Placement
from twin_app.io.epanet import (
    FLOW_M3S,
    drawn_diameters_m,
    local_positions,
    network_glyphs,
    pipes_feature_set,
    read_inp,
)
from twin_app.model.city import PIPES
from twin_app.model.frame import LocalFrame
from twin_app.model.network import PipeNetwork

WATER = Path(__file__).resolve().parents[3] / "shared" / "data" / "water"
TESTS_DATA = Path(__file__).resolve().parents[1] / "data"
TINY = TESTS_DATA / "tiny_us_units.inp"
GPM = 0.003785411784 / 60.0


def water(name: str) -> Path:
    path = WATER / name
    if not path.is_file():
        pytest.skip(f"shared water network {path} not available")
    return path


def net3() -> Path:
    wntr = pytest.importorskip("wntr")
    path = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    if not path.is_file():
        pytest.skip("wntr's bundled Net3.inp not available")
    return path


def _toolkit_props(path: Path, net: PipeNetwork, tmp: Path) -> dict[str, np.ndarray]:
    """Elevation (ft or m), link length and diameter as EPANET itself read them, in file units."""
    from wntr.epanet.toolkit import ENepanet
    from wntr.epanet.util import EN

    en = ENepanet()
    en.ENopen(str(path), str(tmp / "toolkit.rpt"), "")
    try:
        assert en.ENgetcount(EN.NODECOUNT) == net.n_nodes
        assert en.ENgetcount(EN.LINKCOUNT) == net.n_links
        nodes = [en.ENgetnodeindex(n) for n in net.nodes["id"]]
        links = [en.ENgetlinkindex(n) for n in net.links["id"]]
        return {
            "elevation": np.array([en.ENgetnodevalue(i, EN.ELEVATION) for i in nodes]),
            "length": np.array([en.ENgetlinkvalue(i, EN.LENGTH) for i in links]),
            "diameter": np.array([en.ENgetlinkvalue(i, EN.DIAMETER) for i in links]),
            "node_type": np.array([en.ENgetnodetype(i) for i in nodes]),
        }
    finally:
        en.ENclose()


# --------------------------------------------------------------------------------------------
# counts of the real networks


def test_modena_counts() -> None:
    net = read_inp_wntr(water("MOD_modena.inp"))
    assert net.parser == "wntr" and net.simulable
    assert net.counts() == {"junction": 268, "reservoir": 4, "pipe": 317}
    assert net.total_length_m() / 1000 == pytest.approx(71.8, abs=0.05)
    assert net.flow_units == "LPS" and net.headloss == "H-W"
    assert np.isfinite(net.nodes[["x", "y"]].to_numpy()).all()  # the NUL padding is ignored
    assert net.report.warnings == []


def test_d_town_counts() -> None:
    net = read_inp_wntr(water("d-town.inp"))
    assert net.parser == "wntr"
    assert net.counts() == {
        "junction": 399,
        "tank": 7,
        "reservoir": 1,
        "pipe": 443,
        "pump": 11,
        "valve": 5,
    }
    assert net.total_length_m() / 1000 == pytest.approx(60.4, abs=0.05)
    assert set(net.links.loc[net.links["type"] == "valve", "valve_type"]) == {"PRV", "TCV"}
    assert (net.links.loc[net.links["type"] == "pump", "status"] == "closed").sum() == 10


def test_wolf_cordera_is_read_by_both_parsers_alike() -> None:
    path = water("wolf-cordera-ranch_initial.inp")
    # its EPANET 1 lines are read as EPANET reads them (twin_app.io.inp_legacy), so wntr
    # reads it, and says what it read differently
    net = read_inp_wntr(path)
    assert net.parser == "wntr" and net.simulable
    assert any("SEGMENTS" in w for w in net.report.warnings)
    assert not any("minimal parser" in w for w in net.report.warnings)
    assert net.n_nodes == 1786 and net.n_links == 1995
    # [TANKS] lines with only an elevation are reservoirs, as EPANET reads them
    counts = {"junction": 1782, "reservoir": 4, "pipe": 1985, "pump": 6, "valve": 4}
    assert net.counts() == counts and read_inp(path).counts() == counts
    assert net.flow_units == "GPM"
    statuses = net.links.set_index("id")["status"]
    assert statuses["21340"] == "closed" and statuses["5001"] == "closed"
    assert statuses["5006"] == "open"


def test_wolf_cordera_units_match_epanet(tmp_path: Path) -> None:
    """US file through the minimal parser vs EPANET's own reading (ft, inches)."""
    path = water("wolf-cordera-ranch_initial.inp")
    net = read_inp(path)
    tk = _toolkit_props(path, net, tmp_path)
    is_res = net.nodes["type"].to_numpy() == "reservoir"
    assert (tk["node_type"][is_res] == 1).all() and (tk["node_type"][~is_res] == 0).all()
    np.testing.assert_allclose(net.nodes["elevation_m"], tk["elevation"] * 0.3048, rtol=1e-12)
    pipe = net.links["type"].to_numpy() == "pipe"
    np.testing.assert_allclose(net.links["length_m"][pipe], tk["length"][pipe] * 0.3048, rtol=1e-12)
    has_d = net.links["type"].to_numpy() != "pump"
    np.testing.assert_allclose(
        net.links["diameter_m"][has_d], tk["diameter"][has_d] * 0.0254, rtol=1e-12
    )


def test_npcl_without_coordinates_is_refused() -> None:
    path = water("NPCL-1_north-penn.inp")
    for reader in (read_inp_wntr, read_inp):
        with pytest.raises(InputError, match="no coordinates") as err:
            reader(path)
        msg = str(err.value)
        assert "NPCL-1_north-penn.inp" in msg and "lansdal1.map" in msg
        assert "cannot be drawn without a layout" in msg and "\n" not in msg


@pytest.mark.parametrize("name", ["MOD_modena.inp", "d-town.inp"])
def test_both_parsers_agree(name: str) -> None:
    a = read_inp_wntr(water(name))
    b = read_inp(water(name))
    assert a.parser == "wntr" and b.parser == "minimal"
    pd.testing.assert_frame_equal(a.nodes, b.nodes, rtol=1e-12)
    pd.testing.assert_frame_equal(a.links, b.links, rtol=1e-12)
    np.testing.assert_array_equal(a.vertex_offsets, b.vertex_offsets)


def test_net3_us_units_match_epanet(tmp_path: Path) -> None:
    path = net3()
    net = read_inp_wntr(path)
    assert net.flow_units == "GPM" and net.parser == "wntr"
    tk = _toolkit_props(path, net, tmp_path)
    np.testing.assert_allclose(net.nodes["elevation_m"], tk["elevation"] * 0.3048, rtol=1e-9)
    pipe = net.links["type"].to_numpy() == "pipe"
    np.testing.assert_allclose(net.links["length_m"][pipe], tk["length"][pipe] * 0.3048, rtol=1e-9)
    np.testing.assert_allclose(
        net.links["diameter_m"][pipe], tk["diameter"][pipe] * 0.0254, rtol=1e-9
    )
    minimal = read_inp(path)
    pd.testing.assert_frame_equal(net.links, minimal.links, rtol=1e-9)
    pd.testing.assert_frame_equal(net.nodes, minimal.nodes, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# units and tables on a hand-made file


@pytest.mark.parametrize("parser", ["wntr", "minimal"])
def test_us_units_are_converted(parser: str) -> None:
    net = read_inp_wntr(TINY, strict=True) if parser == "wntr" else read_inp(TINY)
    assert net.parser == parser
    nodes = net.nodes.set_index("id")
    assert nodes.loc["J1", "elevation_m"] == pytest.approx(100 * 0.3048)
    assert nodes.loc["J1", "base_demand_m3s"] == pytest.approx(100 * GPM)
    assert nodes.loc["J2", "base_demand_m3s"] == pytest.approx(50 * GPM)
    assert nodes.loc["R1", "elevation_m"] == pytest.approx(300 * 0.3048)  # reservoir head
    assert list(net.nodes["type"]) == ["junction"] * 3 + ["reservoir", "tank"]
    links = net.links.set_index("id")
    assert links.loc["P1", "length_m"] == pytest.approx(1000 * 0.3048)
    assert links.loc["P1", "diameter_m"] == pytest.approx(12 * 0.0254)
    assert links.loc["V1", "diameter_m"] == pytest.approx(6 * 0.0254)
    assert links.loc["P3", "roughness"] == 120
    assert list(links["status"]) == ["open", "cv", "open", "open", "closed", "active"]
    assert list(links["type"]) == ["pipe"] * 4 + ["pump", "valve"]
    assert links.loc["V1", "valve_type"] == "PRV"
    assert np.isnan(links.loc["PU1", "diameter_m"]) and np.isnan(links.loc["V1", "length_m"])
    ids = net.nodes["id"].to_numpy()
    assert ids[links.loc["P1", "start"]] == "R1" and ids[links.loc["P1", "end"]] == "J1"
    np.testing.assert_array_equal(net.vertex_offsets, [0, 0, 0, 2, 2, 2, 2])
    np.testing.assert_array_equal(net.vertex_xy, [[1500, 700], [1600, 600]])
    assert FLOW_M3S["GPM"] == pytest.approx(6.309019640e-5)


def test_link_lines_include_vertices() -> None:
    net = read_inp(TINY)
    lines = net.link_lines()
    assert lines.n_lines == 6
    np.testing.assert_array_equal(np.diff(lines.offsets), [2, 2, 4, 2, 2, 2])
    p3 = lines.coords[lines.offsets[2] : lines.offsets[3], :2]
    np.testing.assert_array_equal(p3, [[1000, 500], [1500, 700], [1600, 600], [2000, 500]])


def test_pump_is_drawn_as_wide_as_its_largest_pipe() -> None:
    d = drawn_diameters_m(read_inp(TINY))
    assert d[4] == pytest.approx(12 * 0.0254)  # PU1 J1-J3: P1 (12 in) meets J1
    assert d[5] == pytest.approx(6 * 0.0254)


# --------------------------------------------------------------------------------------------
# broken files


def test_truncated_file_names_the_line(bad_dir: Path) -> None:
    with pytest.raises(InputError) as err:
        read_inp(bad_dir / "inp_truncated.inp")
    msg = str(err.value)
    assert "inp_truncated.inp" in msg and "line 22" in msg and "[PIPES]" in msg
    assert "truncated" in msg


def test_undefined_node_names_the_line(bad_dir: Path) -> None:
    with pytest.raises(InputError) as err:
        read_inp(bad_dir / "inp_undefined_node.inp")
    msg = str(err.value)
    assert "inp_undefined_node.inp" in msg and "line 21" in msg
    assert "undefined node 'J9'" in msg and "'P2'" in msg


def test_wntr_only_parser_reports_wntr_failure(bad_dir: Path) -> None:
    with pytest.raises(InputError, match="wntr cannot read it"):
        read_inp_wntr(bad_dir / "inp_undefined_node.inp", strict=True)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_inp(tmp_path / "none.inp")
    other = tmp_path / "notes.inp"
    other.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="not an EPANET input file"):
        read_inp(other)
    bad_number = tmp_path / "bad_number.inp"
    bad_number.write_text(TINY.read_text().replace(" J2   90 ", " J2   ninety "))
    with pytest.raises(InputError, match=r"line 7 in \[JUNCTIONS\]: 'ninety' is not a number"):
        read_inp(bad_number)


def test_nodes_without_coordinates_are_reported_and_not_drawn(tmp_path: Path) -> None:
    path = tmp_path / "partial.inp"
    path.write_text(TINY.read_text().replace(" J3   2000   500\n", ""))
    net = read_inp(path, Placement.fit((0, 0, 100, 100)))
    assert net.report.skipped["nodes without coordinates (their links are not drawn)"] == 1
    fs = pipes_feature_set(net)
    assert fs.n_features == 6
    drawn = set(fs.mesh.cell_data["pipe_index"].tolist())
    assert drawn == {0, 1}  # P1, P2; P3, P4, PU1 and V1 touch J3
    assert np.diff(fs.lines.offsets).tolist() == [2, 2, 0, 0, 0, 0]
    assert np.isfinite(fs.mesh.points).all()


# --------------------------------------------------------------------------------------------
# placement and meshes


def test_fit_placement_lays_out_inside_bounds_and_says_so() -> None:
    bounds = (-200.0, -150.0, 200.0, 150.0)
    net = read_inp(water("MOD_modena.inp"), Placement.fit(bounds))
    msg = [w for w in net.report.warnings if "laid out" in w]
    assert len(msg) == 1
    assert "MOD_modena network laid out under this district by scaling x0.0" in msg[0]
    assert "not its real location" in msg[0]
    xy, _ = local_positions(net)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    assert (lo >= np.array(bounds[:2]) - 1e-9).all() and (hi <= np.array(bounds[2:]) + 1e-9).all()
    # aspect kept: one axis spans the box, and shapes are similar
    span = hi - lo
    assert np.isclose(span, [400.0, 300.0]).any()
    raw = net.nodes[["x", "y"]].to_numpy()
    raw_span = raw.max(axis=0) - raw.min(axis=0)
    assert span[0] / span[1] == pytest.approx(raw_span[0] / raw_span[1], rel=1e-9)


def test_crs_placement_puts_modena_in_modena() -> None:
    from pyproj import CRS

    net = read_inp(water("MOD_modena.inp"), Placement.from_crs(3003))
    assert any("coordinates taken as EPSG:3003" in w for w in net.report.warnings)
    frame = LocalFrame.for_data(CRS.from_epsg(3003), net.xy_bounds() or (0, 0, 0, 0))
    xy, _ = local_positions(net, frame)
    assert np.abs(xy.mean(axis=0)).max() < 3000  # origin near the centre
    lon, lat = frame.to_lonlat(xy.mean(axis=0)[None, :])[0]
    assert 10.8 < lon < 11.1 and 44.5 < lat < 44.75  # Modena, Italy
    with pytest.raises(InputError, match="need the twin's local frame"):
        local_positions(net)


def test_no_placement_is_an_error() -> None:
    net = read_inp(TINY)
    with pytest.raises(InputError, match="no CRS"):
        pipes_feature_set(net)


def test_pipes_feature_set_tubes_at_depth() -> None:
    net = read_inp(TINY)
    fit = Placement.fit((0.0, 0.0, 100.0, 50.0))
    fs = pipes_feature_set(net, fit, depth_m=1.5, n_sides=8)
    assert fs.kind == PIPES and fs.index_array == "pipe_index"
    assert fs.n_features == net.n_links == len(fs.table)
    assert list(fs.table.columns[:4]) == ["id", "type", "diameter_m", "length_m"]
    assert list(fs.ids) == list(net.links["id"])
    assert fs.table["start_node"].tolist()[0] == "R1"
    # every link drawn; P3 has 3 segments
    counts = np.bincount(fs.mesh.cell_data["pipe_index"], minlength=6)
    assert counts.tolist() == [16, 16, 48, 16, 16, 16]
    # centre lines: z = ground - depth - d/2, and the crown of each (horizontal) tube at -depth
    d = drawn_diameters_m(net)
    z_lines = fs.lines.coords[:, 2]
    line_of_pt = np.repeat(np.arange(6), np.diff(fs.lines.offsets))
    np.testing.assert_allclose(z_lines, -1.5 - d[line_of_pt] / 2)
    idx = fs.mesh.cell_data["pipe_index"]
    for i in range(6):
        pts = fs.mesh.points[np.unique(fs.mesh.triangles[idx == i])]
        assert pts[:, 2].max() == pytest.approx(-1.5, abs=1e-9)
        assert pts[:, 2].min() == pytest.approx(-1.5 - d[i], abs=1e-9)
    # outward normals: the top faces look up
    normals = fs.mesh.face_normals()
    centres = fs.mesh.points[fs.mesh.triangles].mean(axis=1)
    centre_z = -1.5 - d[idx] / 2
    up = centres[:, 2] > centre_z + 1e-6
    assert (normals[up, 2] > 0).all()
    # the centre lines are in local metres (P1: 1000 ft in the file, scaled)
    scale = fit.affine(net.xy_bounds() or (0, 0, 1, 1))[0]
    assert fs.lines.lengths_m()[0] == pytest.approx(1000 * scale)


def test_ground_function_and_glyphs() -> None:
    net = read_inp(TINY)
    fit = Placement.fit((0.0, 0.0, 100.0, 50.0))

    def ground(xy: np.ndarray) -> np.ndarray:
        return 10.0 + 0.1 * xy[:, 0]

    fs = pipes_feature_set(net, fit, depth_m=2.0, ground_z_m=ground)
    d = drawn_diameters_m(net)
    line_of_pt = np.repeat(np.arange(6), np.diff(fs.lines.offsets))
    expected = ground(fs.lines.coords[:, :2]) - 2.0 - d[line_of_pt] / 2
    np.testing.assert_allclose(fs.lines.coords[:, 2], expected)

    glyphs = network_glyphs(net, fit, depth_m=2.0, ground_z_m=ground)
    assert glyphs["type"].tolist() == ["junction"] * 3 + ["reservoir", "tank", "pump", "valve"]
    assert glyphs["element"].tolist() == ["node"] * 5 + ["link"] * 2
    xy, _ = local_positions(net, fit)
    pump = glyphs.set_index("id").loc["PU1"]
    np.testing.assert_allclose([pump["x"], pump["y"]], (xy[0] + xy[2]) / 2)  # J1-J3 midpoint
    assert pump["z"] == pytest.approx(
        ground(np.array([[pump["x"], pump["y"]]]))[0] - 2.0 - d[4] / 2
    )
    tank = glyphs.set_index("id").loc["T1"]
    assert tank["z"] == pytest.approx(ground(xy[4:5])[0])  # on the ground
    j1 = glyphs.set_index("id").loc["J1"]
    assert j1["z"] == pytest.approx(ground(xy[0:1])[0] - 2.0)


def test_real_networks_mesh() -> None:
    for name in ("MOD_modena.inp", "d-town.inp", "wolf-cordera-ranch_initial.inp"):
        net = read_inp(water(name))
        fs = pipes_feature_set(net, Placement.fit((-500, -500, 500, 500)))
        idx = fs.mesh.cell_data["pipe_index"]
        assert fs.mesh.n_triangles > 0 and np.isfinite(fs.mesh.points).all()
        # links whose two nodes share a position (pumps, valves) have nothing to draw
        lens = fs.lines.lengths_m()
        assert set(np.unique(idx).tolist()) == set(np.flatnonzero(lens > 0).tolist())
        assert fs.mesh.points[:, 2].max() <= -1.5 + 1e-9


def test_bare_fit_bounds_are_reported_once() -> None:
    net = read_inp(TINY)
    assert not any("laid out" in w for w in net.report.warnings)
    a = pipes_feature_set(net, (0.0, 0.0, 100.0, 50.0))
    b = pipes_feature_set(net, Placement.fit((0.0, 0.0, 100.0, 50.0)))
    np.testing.assert_array_equal(a.mesh.points, b.mesh.points)
    laid = [w for w in net.report.warnings if "laid out under this district" in w]
    assert len(laid) == 1 and laid[0].startswith("tiny_us_units.inp: tiny_us_units network")
    np.testing.assert_array_equal(net.link_nodes[0], [3, 0])  # P1: R1 -> J1
    assert net.link_nodes.shape == (6, 2)
