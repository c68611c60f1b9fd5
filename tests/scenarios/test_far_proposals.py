"""A proposal placed far from the twin (another city, lon and lat swapped) is refused with
one line naming its key, not studied on empty ground (a tester's building in Paris on the
London twin reported 153,134 m2 h of sun lost; a station there cost 700,000 and changed
nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.file import scenario_from_dict
from twin_app.scenarios.run import run_scenario

PARIS = [[2.35, 48.85], [2.351, 48.85], [2.351, 48.851]]
SWAPPED = [[51.52, -0.1], [51.521, -0.1], [51.521, -0.099]]  # London with lat and lon swapped


def _run(tmp_path: Path, item: dict[str, Any], section: dict[str, Any]) -> None:
    s = scenario_from_dict(
        {"schema": 1, "name": "far", "twin": str(SAMPLE_DIR), **section, "interventions": [item]},
        base_dir=tmp_path,
    )
    run_scenario(s)


@pytest.mark.parametrize(
    ("item", "section", "key"),
    [
        ({"kind": "add_building", "lonlat": PARIS, "height_m": 50}, {}, "interventions[0].lonlat"),
        ({"kind": "add_building", "lonlat": SWAPPED, "height_m": 50}, {},
         "interventions[0].lonlat"),
        ({"kind": "add_building", "footprint": [[9e4, 0], [9.01e4, 0], [9.01e4, 10]],
          "height_m": 50}, {}, "interventions[0].footprint"),
        ({"kind": "add_station", "id": "x", "lonlat": [2.35, 48.85], "height_m": 25.0},
         {"radio": {"indoor": False}}, "radio.stations.x"),
    ],
)  # fmt: skip
def test_a_proposal_far_from_the_twin_is_one_line(
    tmp_path: Path, item: dict[str, Any], section: dict[str, Any], key: str
) -> None:
    with pytest.raises(InputError) as err:
        _run(tmp_path, item, section)
    msg = str(err.value)
    assert "\n" not in msg and key in msg and "km from the twin's centre (at most 50 km)" in msg
