"""Scenario files: the issue's example is accepted, every bad file gets a one-line message
naming the file and the key, and saving round-trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin_app.errors import InputError
from twin_app.scenarios.file import (
    AddLink,
    ClosePipe,
    CloseRoad,
    LeakSpec,
    PumpOutageSpec,
    Scenario,
    SetCapacity,
    SetDemand,
    SetSpeed,
    load_scenario,
    save_scenario,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"

#: The minimum file of issue 8, verbatim.
ISSUE_EXAMPLE = """\
schema = 1
name = "Close Rua X for works"
twin = "../city_of_london"          # optional: a twin folder whose roads/pipes are used
[traffic]
network = "path/to/roads.osm.pbf"   # or a TNTP *_net.tntp file, or omitted: the twin's roads
demand = "path/to/X_trips.tntp"     # optional for OSM roads: a documented gravity model is used
relative_gap = 1e-5
distance_weight = 0.0               # generalised cost, TNTP convention: time units per length unit
toll_weight = 0.0
[water]
network = "path/to/net.inp"         # or omitted: the twin's water network
[[interventions]]
kind = "close_road"                 # also: set_capacity, set_speed, add_link
links = ["10-16", "16-10"]          # TNTP links are "from-to"; other networks use their segment ids
[[interventions]]
kind = "close_pipe"                 # also: leak, pump_outage, set_demand
pipes = ["P-17"]
"""

ALL_KINDS = """\
schema = 1
name = "Every kind"
description = "one of each"
[traffic]
network = "tiny/tiny_net.tntp"
demand = "tiny/tiny_trips.tntp"
time_unit_h = 0.01
length_unit_km = 1.0
[water]
network = "../../../twin_app/city_models/city_of_london/d-town.inp"
service_pressure_m = 25
service_duration_s = 7200
duration_h = 12
[[interventions]]
kind = "close_road"
links = ["4-5"]
[[interventions]]
kind = "set_capacity"
links = ["5-6", "6-5"]
factor = 0.5
[[interventions]]
kind = "set_speed"
links = ["4-6"]
speed_kmh = 30
[[interventions]]
kind = "add_link"
from = 4
to = 6
capacity = 900
free_flow_time = 2.5
id = "bypass"
[[interventions]]
kind = "close_pipe"
pipes = ["P10", "v1"]
[[interventions]]
kind = "leak"
pipe = "P1"
area_m2 = 0.005
start_h = 2
[[interventions]]
kind = "pump_outage"
pumps = ["PU1"]
start_h = 1
end_h = 4
[[interventions]]
kind = "set_demand"
junctions = []
factor = 1.2
"""


def _write(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_issue_example_is_accepted(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, ISSUE_EXAMPLE), check=False)
    assert s.name == "Close Rua X for works"
    assert s.twin == (tmp_path.parent / "city_of_london")
    assert s.traffic is not None and s.traffic.network == tmp_path / "path/to/roads.osm.pbf"
    assert not s.traffic.is_tntp
    assert s.traffic.relative_gap == 1e-5
    assert s.water is not None and s.water.network == tmp_path / "path/to/net.inp"
    assert s.interventions == (
        CloseRoad(links=("10-16", "16-10")),
        ClosePipe(pipes=("P-17",)),
    )


def test_every_kind_parses_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "scen"
    shutil.copytree(DATA / "tiny", folder / "tiny")
    s = load_scenario(_write(folder, ALL_KINDS.replace("../../../twin_app", str(
        Path(__file__).resolve().parents[2] / "twin_app"))), check=True)  # fmt: skip
    kinds = [type(i) for i in s.interventions]
    assert kinds == [CloseRoad, SetCapacity, SetSpeed, AddLink, ClosePipe, LeakSpec,
                     PumpOutageSpec, SetDemand]  # fmt: skip
    add = s.interventions[3]
    assert isinstance(add, AddLink) and (add.from_node, add.to_node, add.link_id) == (
        4,
        6,
        "bypass",
    )
    assert s.traffic is not None and s.traffic.network == folder / "tiny" / "tiny_net.tntp"
    assert s.water is not None and s.water.service_duration_s == 7200
    assert [k for k, _ in s.road_interventions()] == [0, 1, 2, 3]


def test_numbers_as_ids_are_text(tmp_path: Path) -> None:
    text = 'schema = 1\nname = "n"\n[[interventions]]\nkind = "close_pipe"\npipes = [17, "P2"]\n'
    s = load_scenario(_write(tmp_path, text), check=False)
    assert s.interventions[0] == ClosePipe(pipes=("17", "P2"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "x"\n', "key 'schema': required key missing"),
        ('schema = 2\nname = "x"\n', "key 'schema': schema 2 is not supported"),
        ("schema = 1\n", "key 'name': required key missing"),
        ('schema = 1\nname = "x"\ncolour = "red"\n', "key 'colour': unknown key"),
        (
            'schema = 1\nname = "x"\n[traffic]\nrelative_gap = nan\n',
            "key 'traffic.relative_gap': must be a finite number",
        ),
        (
            'schema = 1\nname = "x"\n[traffic]\ntoll_weight = inf\n',
            "key 'traffic.toll_weight': must be a finite number",
        ),
        (
            'schema = 1\nname = "x"\n[traffic]\nrelative_gap = 0\n',
            "key 'traffic.relative_gap': input should be greater than 0",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "close_road"\nlinks = ["1-2"]\n'
            '[[interventions]]\nkind = "close_road"\nlinks = []\n',
            "key 'interventions[1].links': must not be empty",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "close_road"\nlink = ["1-2"]\n',
            "key 'interventions[0].links': required key missing",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "close_road"\nlinks = ["1-2"]\n'
            "speed = 3\n",
            "key 'interventions[0].speed': unknown key",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "demolish"\n',
            "key 'interventions[0]': unknown kind 'demolish'; one of close_road",
        ),
        (  # a typo: the kind it is closest to comes first, then the full list
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "add_buildng"\n',
            "key 'interventions[0]': unknown kind 'add_buildng'; did you mean 'add_building'? "
            "one of close_road",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nlinks = ["1-2"]\n',
            "key 'interventions[0]': 'kind' missing",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "set_capacity"\nlinks = ["1-2"]\n',
            "key 'interventions[0]': give exactly one of factor or capacity",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "leak"\narea_m2 = 0.1\n',
            "key 'interventions[0]': give exactly one of pipe or node",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "pump_outage"\npumps = ["PU1"]\n'
            "start_h = 5\nend_h = 2\n",
            "key 'interventions[0]': end_h must be after start_h",
        ),
        (
            'schema = 1\nname = "x"\n[[interventions]]\nkind = "add_link"\nfrom = 1\nto = 2\n'
            "capacity = 10\n",
            "give exactly one of free_flow_time or speed_kmh",
        ),
        (
            'schema = 1\nname = "x"\n[water]\nduration_h = 1.5\ntimestep_s = 3600\n',
            "key 'water': duration_h must be a whole number of timestep_s steps",
        ),
        ("schema = 1\nname = [1\n", "not valid TOML"),
    ],
)
def test_bad_files_get_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scenario(path, check=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_files_are_named_with_their_key(tmp_path: Path) -> None:
    text = 'schema = 1\nname = "x"\n[traffic]\nnetwork = "nets/a_net.tntp"\ndemand = "b.tntp"\n'
    with pytest.raises(
        InputError, match=r"key 'traffic.network': .*nets/a_net.tntp does not exist"
    ):
        load_scenario(_write(tmp_path, text))
    with pytest.raises(InputError, match=r"key 'twin': .*nowhere is not a folder"):
        load_scenario(_write(tmp_path, 'schema = 1\nname = "x"\ntwin = "nowhere"\n'))
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")


def test_scenarios_are_frozen(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, ISSUE_EXAMPLE), check=False)
    with pytest.raises(Exception, match="frozen"):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        s.interventions[0].links = ("1-2",)  # type: ignore[misc]
    assert isinstance(s.interventions, tuple)


def test_save_round_trips(tmp_path: Path) -> None:
    folder = tmp_path / "scen"
    shutil.copytree(DATA / "tiny", folder / "tiny")
    x = load_scenario(_write(folder, ALL_KINDS.replace("../../../twin_app", str(
        Path(__file__).resolve().parents[2] / "twin_app"))))  # fmt: skip
    # same file
    assert x.file is not None
    assert load_scenario(save_scenario(x, x.file).file or x.file) == x
    # another folder: paths are rewritten so that they still name the same files
    other = tmp_path / "elsewhere" / "deeper" / "copy.toml"
    saved = save_scenario(x, other)
    back = load_scenario(other)
    assert back == x == saved
    assert back.file == other
    text = other.read_text(encoding="utf-8")
    assert text.startswith("schema = 1\n")
    assert 'network = "../../scen/tiny/tiny_net.tntp"' in text
    assert '"from" = 4' in text or "from = 4" in text
    # no temporary file left beside it
    assert sorted(p.name for p in other.parent.iterdir()) == ["copy.toml"]


def test_scenario_built_in_code_saves(tmp_path: Path) -> None:
    s = Scenario(name="in code", interventions=(CloseRoad(links=("1-2",)), SetDemand(factor=2)))
    path = save_scenario(s, tmp_path / "c.toml").file
    assert path is not None
    assert load_scenario(path) == s
