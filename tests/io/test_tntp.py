"""TNTP readers: broken files give a one-line InputError naming the file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from twin_app.errors import InputError
from twin_app.io.tntp import read_flows, read_net, read_trips

NET_HEAD = "<NUMBER OF ZONES> 2\n<NUMBER OF NODES> 2\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> 1\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (NET_HEAD, 4, "END OF METADATA"),
        ("<NUMBER OF ZONES> 2\n<NUMBER OF NODES> x\n<END OF METADATA>\n", 2, "NUMBER OF NODES"),
        (NET_HEAD + "<END OF METADATA>\n1 2 abc 1 1 0.15 4 0 0 1 ;\n", 6, "capacity"),
        (NET_HEAD + "<END OF METADATA>\n1 2 100 1 1 0.15 4 0 0 ;\n", 6, "10 columns"),
        (NET_HEAD + "<END OF METADATA>\n1 7 100 1 1 0.15 4 0 0 1 ;\n", 6, "node numbers"),
        (NET_HEAD + "<END OF METADATA>\n1 2 0 1 1 0.15 4 0 0 1 ;\n", 6, "capacity"),
    ],
)
def test_broken_net_file_gives_one_line_input_error(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "bad_net.tntp"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_net(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and f"line {line}" in msg and words in msg


def test_broken_trips_and_flow_files(tmp_path: Path) -> None:
    trips = tmp_path / "bad_trips.tntp"
    trips.write_text("<NUMBER OF ZONES> 2\n<END OF METADATA>\nOrigin 1\n 2 : abc;\n")
    with pytest.raises(
        InputError, match=r"bad_trips\.tntp, line 4: destinations and flows must be numbers"
    ):
        read_trips(trips)
    trips.write_text("<NUMBER OF ZONES> 2\n<END OF METADATA>\nOrigin 1\n 3 : 1.0;\n")
    with pytest.raises(InputError, match=r"line 4: a destination outside zones 1\.\.2"):
        read_trips(trips)
    flows = tmp_path / "bad_flow.tntp"
    flows.write_text("From To Volume Cost\n1 2 3.0 x\n")
    with pytest.raises(InputError, match=r"bad_flow\.tntp, line 2: expected numbers"):
        read_flows(flows)
    with pytest.raises(InputError, match="cannot read"):
        read_net(tmp_path / "missing_net.tntp")


def test_sample_files_read(shared_file: Callable[[str], Path]) -> None:
    net = read_net(shared_file("traffic/tntp/SiouxFalls/SiouxFalls_net.tntp"))
    assert (net.n_links, net.n_nodes, net.n_zones, net.first_thru_node) == (76, 24, 24, 0)
    assert net.init_node[0] == 0 and net.term_node[0] == 1 and net.capacity[0] == 25900.20064
    trips = read_trips(shared_file("traffic/tntp/SiouxFalls/SiouxFalls_trips.tntp"))
    assert trips.total == pytest.approx(360600.0) and trips.od[0, 9] == 1300.0
    flows = read_flows(shared_file("traffic/tntp/SiouxFalls/SiouxFalls_flow.tntp"))
    assert flows.volume.size == 76 and flows.volume[0] == pytest.approx(4494.6576464564205)
