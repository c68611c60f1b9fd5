"""``add_ifc``: an IFC model's own body proposed as a building (issue 9's "place an IFC
proposal"), read and placed as the app reads it; its errors are one line naming the key; the
shipped example runs from its file and takes sun from its street."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.io.test_ifc_georef import FZK, tiny_ifc4
from twin_app.cli import main
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.mesh import SURFACE_OTHER, SURFACE_ROOF, SURFACE_WALL
from twin_app.scenarios.file import AddIfc, check_files, load_scenario, scenario_from_dict
from twin_app.scenarios.interventions import ifc_body
from twin_app.scenarios.massing import apply_massing, massing_model_for_twin

EXAMPLE = SAMPLE_DIR / "scenarios" / "propose_ifc_house.toml"
#: An open spot of the sample twin (lon, lat): Charterhouse Square.
SQUARE_LONLAT = (-0.09939, 51.52073)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_APP_CACHE", str(tmp_path / "cache"))


def _scenario(folder: Path, item: dict[str, Any]) -> Any:
    return scenario_from_dict(
        {"schema": 1, "name": "t", "twin": str(SAMPLE_DIR), "interventions": [item]},
        base_dir=folder,
    )


@pytest.mark.parametrize(
    ("item", "key", "text"),
    [
        ({"kind": "add_ifc"}, "interventions[0].ifc", "missing"),
        ({"kind": "add_ifc", "ifc": "house.obj"}, "interventions[0]", "not an .ifc file"),
        ({"kind": "add_ifc", "ifc": "a.ifc", "at": [0.0, 95.0]}, "interventions[0].at",
         "degrees"),
        ({"kind": "add_ifc", "ifc": "a.ifc", "rotate_deg": 400}, "rotate_deg", "less than"),
        ({"kind": "add_ifc", "ifc": "a.ifc", "height_m": 9}, "height_m", "not part of"),
        ({"kind": "add_ifc", "ifc": "a.ifc", "rotate_deg": 15}, "interventions[0]",
         "rotate_deg turns the model about at"),
    ],
)  # fmt: skip
def test_bad_add_ifc_items_are_one_line_errors(
    tmp_path: Path, item: dict[str, Any], key: str, text: str
) -> None:
    with pytest.raises(InputError) as err:
        _scenario(tmp_path, item)
    msg = str(err.value)
    assert "\n" not in msg and key in msg and text in msg


def test_the_file_is_relative_to_the_scenario_and_must_exist(tmp_path: Path) -> None:
    s = _scenario(tmp_path, {"kind": "add_ifc", "ifc": "bim/house.ifc", "at": [-0.1, 51.5]})
    (spec,) = s.interventions
    assert isinstance(spec, AddIfc) and spec.ifc == tmp_path / "bim" / "house.ifc"
    with pytest.raises(InputError, match=r"key 'interventions\[0\]\.ifc': .*does not exist"):
        check_files(s)


def test_a_model_without_georeference_needs_at(tmp_path: Path) -> None:
    model = massing_model_for_twin(SAMPLE_DIR)
    path = tiny_ifc4(tmp_path, map_conversion=False)
    s = _scenario(tmp_path, {"kind": "add_ifc", "ifc": str(path)})
    with pytest.raises(InputError, match=r"'interventions\[0\]\.ifc': .*no georeference; place"):
        apply_massing(s, model)
    body = ifc_body(path, SQUARE_LONLAT, 90.0, model.frame)
    # the one wall (5 m long along model x, 0.2 m thick, 3 m high) stands where it was put,
    # its length along true north (x turned 90 degrees from east; the twin's grid north is
    # 2.3 degrees off true north here, so compare in lon/lat)
    lon, lat = model.frame.to_lonlat(body.points[:, :2]).T
    m_per_deg = 6_371_008.8 * np.pi / 180.0
    east = (lon.max() - lon.min()) * m_per_deg * np.cos(np.radians(SQUARE_LONLAT[1]))
    north = (lat.max() - lat.min()) * m_per_deg
    assert east == pytest.approx(0.2, abs=0.02) and north == pytest.approx(5.0, abs=0.03)
    assert np.ptp(body.points[:, 2]) == pytest.approx(3.0)
    assert lon.min() - 1e-5 < SQUARE_LONLAT[0] < lon.max() + 1e-5
    assert lat.min() - 1e-6 < SQUARE_LONLAT[1] < lat.max()
    surface = np.asarray(body.cell_data["surface"])
    nz = body.face_normals()[:, 2]
    assert set(surface[np.abs(nz) < 0.1]) == {SURFACE_WALL}
    assert set(surface[nz > 0.9]) == {SURFACE_ROOF} and set(surface[nz < -0.9]) == {SURFACE_OTHER}


def test_a_model_placed_far_away_is_refused(tmp_path: Path) -> None:
    model = massing_model_for_twin(SAMPLE_DIR)
    alone = tmp_path / "fzk.ifc"  # no manifest beside it: its own site in Karlsruhe
    shutil.copy(FZK, alone)
    own = _scenario(tmp_path, {"kind": "add_ifc", "ifc": str(alone)})
    with pytest.raises(InputError) as err:
        apply_massing(own, model)
    msg = str(err.value)
    assert "\n" not in msg and "key 'interventions[0].at'" in msg
    assert "placed by its site georeference, it lies 6" in msg and "km from the twin's" in msg
    paris = _scenario(tmp_path, {"kind": "add_ifc", "ifc": str(alone), "at": [2.35, 48.85]})
    with pytest.raises(InputError, match=r"placed by at, it lies 3[0-9]{2} km from the twin"):
        apply_massing(paris, model)


def test_a_missing_or_broken_file_is_one_line_naming_the_key(tmp_path: Path) -> None:
    model = massing_model_for_twin(SAMPLE_DIR)
    gone = _scenario(tmp_path, {"kind": "add_ifc", "ifc": "gone.ifc", "at": [-0.1, 51.5]})
    with pytest.raises(InputError, match=r"'interventions\[0\]\.ifc': .*gone\.ifc: no such IFC"):
        apply_massing(gone, model)  # the file went after the scenario was read
    broken = tmp_path / "broken.ifc"
    broken.write_bytes(FZK.read_bytes()[:5000])  # truncated STEP
    bad = _scenario(tmp_path, {"kind": "add_ifc", "ifc": str(broken), "at": [-0.1, 51.5]})
    with pytest.raises(InputError) as err:
        apply_massing(bad, model)
    assert "\n" not in str(err.value) and "'interventions[0].ifc'" in str(err.value)


def test_it_replaces_the_buildings_named_and_stands_on_the_ground(tmp_path: Path) -> None:
    import dataclasses

    path = tiny_ifc4(tmp_path, map_conversion=False)
    base = massing_model_for_twin(SAMPLE_DIR)
    gone = [str(base.building_ids[5]), str(base.building_ids[9])]
    s = _scenario(
        tmp_path,
        {"kind": "add_ifc", "ifc": str(path), "at": list(SQUARE_LONLAT), "replaces": gone},
    )
    scen = apply_massing(s, base)
    bidx = np.asarray(scen.mesh.cell_data["building_index"])
    assert not np.isin(bidx, [5, 9]).any() and scen.changed == (5, 9, base.n_buildings)
    # the sun study samples the twin's facades near it, none on the model's own faces
    from twin_app.scenarios.file import SunSection
    from twin_app.scenarios.massing import sun_study

    mine = scen.mesh.points[scen.mesh.triangles[bidx == base.n_buildings]].reshape(-1, 3)
    x0, y0 = mine[:, :2].min(axis=0) - 40.0
    x1, y1 = mine[:, :2].max(axis=0) + 40.0
    study = sun_study(scen, SunSection(step_min=120.0, cell_m=4.0), (x0, y0, x1, y1))
    assert study.facades.xyz.shape[0] > 0
    assert not (study.facades.building_index == base.n_buildings).any()
    assert np.isnan(study.building_mean_h[base.n_buildings])
    twice = _scenario(
        tmp_path,
        {"kind": "add_ifc", "ifc": str(path), "at": list(SQUARE_LONLAT), "replaces": gone[:1]},
    )
    again = twice.model_copy(update={"interventions": (*s.interventions, *twice.interventions)})
    with pytest.raises(InputError, match=r"replaces': building .* is already removed by an"):
        apply_massing(again, base)
    # a twin of absolute heights (frame origin 50 m above the datum, ground at 3 m local):
    # the wall's foot stands on the ground, not 50 m below it
    frame = dataclasses.replace(base.frame, origin=(*base.frame.origin[:2], 50.0))
    body = ifc_body(path, SQUARE_LONLAT, 0.0, frame, ground_z=3.0)
    assert body.points[:, 2].min() == pytest.approx(3.0) and body.points[:, 2].max() == (
        pytest.approx(6.0)
    )


def test_scenario_adds_the_body_and_takes_its_id(tmp_path: Path) -> None:
    path = tiny_ifc4(tmp_path, map_conversion=False)
    s = _scenario(tmp_path, {"kind": "add_ifc", "ifc": str(path), "at": list(SQUARE_LONLAT)})
    base = massing_model_for_twin(SAMPLE_DIR)
    scen = apply_massing(s, base)
    assert scen.n_buildings == base.n_buildings + 1 and scen.building_ids[-1] == "new/0"
    assert scen.changed == (base.n_buildings,) == scen.bodies
    assert base.mesh.n_triangles < scen.mesh.n_triangles
    assert set(scen.mesh.cell_data) == set(base.mesh.cell_data)
    taken = _scenario(
        tmp_path,
        {"kind": "add_ifc", "ifc": str(path), "at": list(SQUARE_LONLAT), "id": "way/34038683"},
    )
    with pytest.raises(InputError, match=r"interventions\[0\]\.id'.*already names"):
        apply_massing(taken, base)


def test_example_house_takes_sun_from_its_street(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = load_scenario(EXAMPLE)
    (spec,) = s.interventions
    assert isinstance(spec, AddIfc) and spec.ifc == SAMPLE_DIR / "AC20-FZK-Haus.ifc"
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('twin = ".."', f"twin = {json.dumps(str(SAMPLE_DIR))}")
    text = text.replace('"../AC20-FZK-Haus.ifc"', json.dumps(str(spec.ifc)))
    text = text.replace("step_min = 10.0", "step_min = 30.0").replace(
        "cell_m = 1.0", "cell_m = 2.0"
    )
    path = tmp_path / "house.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["scenario", "run", str(path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    k = got["kpis"]
    assert got["conditions"][0].startswith("sun: 2026-03-21, every 30 min; ground cells of 2 m")
    assert "(the changed buildings + 60 m)" in got["conditions"][0]
    # a house with a pitched roof, 6.3 m at its ridge, shades the ground around it at noon
    # and over the day
    assert k["shadow_area_noon_m2"]["delta"] > 0
    assert k["sun_hours_lost_public_m2h"]["scenario"] > 0


def test_radio_floors_of_the_body_are_slabs_of_its_plan(tmp_path: Path) -> None:
    from twin_app.engines.radio import BaseStation
    from twin_app.geometry.floors import CAP_M
    from twin_app.scenarios.radio import RadioSection, radio_study

    s = load_scenario(EXAMPLE)
    scen = apply_massing(s, massing_model_for_twin(SAMPLE_DIR))
    (n,) = scen.bodies
    body = scen.mesh.points[scen.mesh.triangles[scen.mesh.cell_data["building_index"] == n]]
    lo, hi = body.reshape(-1, 3).min(axis=0), body.reshape(-1, 3).max(axis=0)
    centre = 0.5 * (lo + hi)
    station = BaseStation(float(centre[0]) + 150.0, float(centre[1]), height_m=25.0)
    box = (float(lo[0]) - 20, float(lo[1]) - 20, float(hi[0]) + 20, float(hi[1]) + 20)
    study = radio_study(scen, [station], RadioSection(spacing_m=10.0), box)
    assert study.floors is not None
    rows = np.flatnonzero(study.floors.building == n)
    assert rows.size == 2  # the 6.3 m house: a ground floor and one above
    mine = np.isin(study.floors.mesh.cell_data["feature_index"], rows)
    # a prism of the house's plan per floor, not 23,418 triangles of slabs, stairs and windows
    assert 0 < mine.sum() < 60 < body.shape[0]
    p = study.floors.mesh.points[study.floors.mesh.triangles[mine]].reshape(-1, 3)
    # around the whole house (its eaves included), a little outside it
    assert (p[:, :2].min(axis=0) < lo[:2]).all() and (p[:, :2].max(axis=0) > hi[:2]).all()
    assert (p[:, :2].min(axis=0) > lo[:2] - 1.0).all() and (
        p[:, :2].max(axis=0) < hi[:2] + 1.0
    ).all()
    assert np.isclose(p[:, 2].max(), hi[2] + CAP_M)  # the top floor's cap above the ridge


def test_a_sun_and_radio_run_reads_the_proposal_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import twin_app.scenarios.interventions as iv
    from twin_app.scenarios.run import run_scenario

    calls: list[Path] = []
    real = iv.ifc_body

    def counted(path: Any, *args: Any) -> Any:
        calls.append(Path(path))
        return real(path, *args)

    monkeypatch.setattr(iv, "ifc_body", counted)
    ifc = SAMPLE_DIR / "AC20-FZK-Haus.ifc"
    s = scenario_from_dict(
        {
            "schema": 1,
            "name": "house with sun and 5G",
            "twin": str(SAMPLE_DIR),
            "sun": {"date": "2026-03-21", "step_min": 60.0, "cell_m": 4.0, "buffer_m": 20.0},
            "radio": {"spacing_m": 20.0, "indoor": False, "bounds": [0.0, 900.0, 250.0, 1100.0],
                      "stations": [{"id": "a", "on_roof": "way/516268543"}]},
            "interventions": [{"kind": "add_ifc", "ifc": str(ifc), "id": "new/house"}],
        },
        base_dir=tmp_path,
    )  # fmt: skip
    result = run_scenario(s)
    assert calls == [ifc]
    assert result.extra["massing_scenario"].bodies == (
        result.extra["massing_baseline"].n_buildings,
    )
    assert "new/house" in list(result.extra["radio_building_ids_scenario"])
