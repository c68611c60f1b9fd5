"""Massing interventions and sun studies of scenario files (issue 9, "Massing and sun").

Runs on the sample twin over small study areas at a 30-minute step, so each study takes about
a second; the references are physical: a new tower only takes sun away, a demolition never
does, and the same file gives the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_app.cli import main
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.file import (
    AddBuilding,
    RemoveBuilding,
    SetHeight,
    load_scenario,
    scenario_from_dict,
)
from twin_app.scenarios.interventions import add_building, remove_building, set_height
from twin_app.scenarios.massing import massing_model_for_twin
from twin_app.scenarios.run import BaselineCache, run_scenario

EXAMPLE = SAMPLE_DIR / "scenarios" / "add_tower.toml"
SQUARE = [[-10.0, -10.0], [10.0, -10.0], [10.0, 10.0], [-10.0, 10.0]]


def _scenario(interventions: list[dict[str, Any]], **sun: Any) -> Any:
    return scenario_from_dict(
        {
            "schema": 1,
            "name": "t",
            "twin": str(SAMPLE_DIR),
            "sun": {"step_min": 30.0, **sun},
            "interventions": interventions,
        }
    )


@pytest.mark.parametrize(
    ("item", "key", "text"),
    [
        ({"kind": "add_building", "footprint": [[0, 0], [1, 0]], "height_m": 9}, "footprint",
         "at least 3"),
        ({"kind": "add_building", "footprint": [[0, 0], [9, 9], [9, 0], [0, 9]], "height_m": 9},
         "footprint", "not a simple polygon"),
        ({"kind": "add_building", "footprint": [[0, 0], [9, 0], [9, float("inf")]],
          "height_m": 9}, "footprint[2][1]", "finite"),
        ({"kind": "add_building", "footprint": SQUARE}, "interventions[0]'",
         "height_m or floors"),
        ({"kind": "add_building", "footprint": SQUARE, "lonlat": SQUARE, "floors": 3},
         "interventions[0]'", "footprint or lonlat"),
        ({"kind": "add_building", "lonlat": [[0, 0], [1, 0], [1, 95]], "floors": 3}, "lonlat",
         "degrees"),
        ({"kind": "remove_building", "buildings": []}, "buildings", "must not be empty"),
        ({"kind": "set_height", "buildings": ["way/1"], "height_m": 0}, "height_m", "greater"),
    ],
)  # fmt: skip
def test_bad_massing_items_are_one_line_errors(item: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        scenario_from_dict({"schema": 1, "name": "t", "interventions": [item]})
    msg = str(err.value)
    assert "\n" not in msg and key in msg and text in msg


def test_sun_section_defaults_and_bad_values() -> None:
    s = scenario_from_dict({"schema": 1, "name": "t", "sun": {}})
    assert s.sun is not None and str(s.sun.date) == "2026-03-21" and s.sun.step_min == 10.0
    assert s.sun.cell_m == 2.0 and s.sun.bounds is None and s.has_sun
    for bad, key in (({"bounds": [0, 0, -1, 5]}, "sun.bounds"), ({"date": "21/03"}, "sun.date"),
                     ({"step_min": 0}, "sun.step_min"), ({"colour": 1}, "sun.colour")):  # fmt: skip
        with pytest.raises(InputError, match=key.replace(".", r"\.")):
            scenario_from_dict({"schema": 1, "name": "t", "sun": bad})


def test_floors_give_the_height() -> None:
    item = AddBuilding(footprint=SQUARE, floors=20)  # type: ignore[arg-type]
    assert item.height == 60.0


def test_interventions_are_pure_and_rebuild_the_mesh() -> None:
    base = massing_model_for_twin(SAMPLE_DIR)
    pts, tri = base.mesh.points.copy(), base.mesh.triangles.copy()
    ids = base.building_ids.copy()
    added = add_building(base, AddBuilding(footprint=SQUARE, height_m=60.0))  # type: ignore[arg-type]
    assert added.n_buildings == base.n_buildings + 1 and added.building_ids[-1] == "new/0"
    new = added.mesh.cell_data["building_index"] == base.n_buildings
    assert added.mesh.points[added.mesh.triangles[new].ravel(), 2].max() == pytest.approx(
        base.ground_z + 60.0
    )
    name = str(base.building_ids[5])
    gone = remove_building(base, RemoveBuilding(buildings=(name,)))
    assert not (gone.mesh.cell_data["building_index"] == 5).any() and gone.changed == (5,)
    tall = set_height(base, SetHeight(buildings=(name,), height_m=99.0))
    sel = tall.mesh.triangles[tall.mesh.cell_data["building_index"] == 5].ravel()
    assert tall.mesh.points[sel, 2].max() == pytest.approx(99.0 + base.mesh.points[sel, 2].min())
    # the baseline is untouched and read-only
    assert np.array_equal(base.mesh.points, pts) and np.array_equal(base.mesh.triangles, tri)
    assert np.array_equal(base.building_ids, ids) and base.changed == ()
    with pytest.raises(ValueError):
        base.mesh.points[0, 0] = 1.0


def test_unknown_building_ids_are_named_with_suggestions() -> None:
    base = massing_model_for_twin(SAMPLE_DIR)
    near = str(base.building_ids[7])
    s = _scenario([{"kind": "remove_building", "buildings": [near + "9"]}])
    with pytest.raises(InputError) as err:
        run_scenario(s)
    msg = str(err.value)
    assert "interventions[0].buildings" in msg and "did you mean" in msg and "\n" not in msg


def _run_example_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('twin = ".."', f"twin = {json.dumps(str(SAMPLE_DIR))}")
    text = text.replace("step_min = 10.0", "step_min = 30.0")
    path = tmp_path / "add_tower.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["scenario", "run", str(path), "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_example_tower_takes_sun_from_the_square(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_scenario(EXAMPLE).has_sun
    k = _run_example_json(tmp_path, capsys)["kpis"]
    assert list(k) == ["sun_hours_lost_public_m2h", "buildings_losing_1h_sun",
                       "shadow_area_noon_m2"]  # fmt: skip
    assert k["sun_hours_lost_public_m2h"]["scenario"] > 0
    assert k["sun_hours_lost_public_m2h"]["unit"] == "m2 h"
    assert k["buildings_losing_1h_sun"]["scenario"] >= 0
    # a 60 m tower on open ground adds its noon shadow (minus its own footprint)
    assert k["shadow_area_noon_m2"]["delta"] > 0


def test_demolition_never_loses_sun_and_runs_are_deterministic() -> None:
    base = massing_model_for_twin(SAMPLE_DIR)
    # the tallest building of the twin: its removal opens the sky around it
    top = np.bincount(base.mesh.cell_data["building_index"])
    bidx = base.mesh.cell_data["building_index"]
    z = base.mesh.points[base.mesh.triangles, 2].max(axis=1)
    tallest = int(bidx[np.argmax(z)])
    assert top[tallest] > 0
    s = _scenario([{"kind": "remove_building", "buildings": [str(base.building_ids[tallest])]}],
                  buffer_m=60.0)  # fmt: skip
    cache = BaselineCache()
    a = run_scenario(s, baselines=cache)
    assert a.kpi("sun_hours_lost_public_m2h").scenario == 0.0
    assert a.kpi("buildings_losing_1h_sun").scenario == 0.0
    assert a.kpi("shadow_area_noon_m2").delta <= 0.0
    assert a.extra["sun_baseline_cached"] is False
    b = run_scenario(s, baselines=cache)
    assert b.extra["sun_baseline_cached"] is True
    c = run_scenario(s)
    for r in (b, c):
        assert [(k.name, k.baseline, k.scenario) for k in r.kpis] == [
            (k.name, k.baseline, k.scenario) for k in a.kpis
        ]
        assert np.array_equal(r.extra["sun_hours_scenario"], a.extra["sun_hours_scenario"],
                              equal_nan=True)  # fmt: skip
    # rasters and their transform for the 3D view
    hb, hs = a.extra["sun_hours_baseline"], a.extra["sun_hours_scenario"]
    assert hb.shape == hs.shape and len(a.extra["sun_transform"]) == 6
    assert np.nanmax(hb) <= 12.5  # no more than the equinox day


def test_lonlat_and_local_footprints_agree() -> None:
    base = massing_model_for_twin(SAMPLE_DIR)
    ll = base.frame.to_lonlat(np.asarray(SQUARE))
    a = add_building(base, AddBuilding(footprint=SQUARE, height_m=30.0))  # type: ignore[arg-type]
    b = add_building(base, AddBuilding(lonlat=ll.tolist(), height_m=30.0))  # type: ignore[arg-type]
    assert np.allclose(a.mesh.bounds(), b.mesh.bounds(), atol=1e-6)


def test_export_writes_the_sun_rasters(tmp_path: Path) -> None:
    from twin_app.scenarios.report import export_tables

    base = massing_model_for_twin(SAMPLE_DIR)
    s = _scenario([{"kind": "set_height", "buildings": [str(base.building_ids[3])],
                    "height_m": 40.0}], buffer_m=40.0, cell_m=4.0)  # fmt: skip
    r = run_scenario(s)
    (path,) = export_tables(r, tmp_path / "out")
    with np.load(path) as z:
        assert np.array_equal(z["baseline"], r.extra["sun_hours_baseline"], equal_nan=True)
        assert np.array_equal(z["scenario"], r.extra["sun_hours_scenario"], equal_nan=True)
        assert tuple(z["transform"]) == tuple(r.extra["sun_transform"])


def test_massing_scenario_saves_and_reads_back(tmp_path: Path) -> None:
    from twin_app.scenarios.file import save_scenario

    s = scenario_from_dict(
        {
            "schema": 1,
            "name": "t",
            "twin": str(SAMPLE_DIR),
            "sun": {"date": "2026-06-21", "bounds": [0, 0, 100, 50]},
            "interventions": [
                {"kind": "add_building", "lonlat": [[-0.1, 51.5], [-0.099, 51.5],
                                                    [-0.099, 51.501]], "floors": 4},
                {"kind": "set_height", "buildings": ["way/1"], "height_m": 12.5},
            ],
        }
    )  # fmt: skip
    saved = save_scenario(s, tmp_path / "m.toml")
    assert load_scenario(tmp_path / "m.toml") == saved == s
