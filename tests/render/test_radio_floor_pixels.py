"""Indoor 5G coverage floor by floor (issue 9): a real radio study of the sample twin's
``add_5g_station.toml`` over a 300 m square around the added station (20 m street grid, about
a second), shown in the compare view of an empty session and rendered offscreen."""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np
import pytest

from tests.render.pixel_probe import world_pixel
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.model.layers import FeatureLayer
from twin_app.model.style import RSRP_CLASSES
from twin_app.render.compare import CompareView
from twin_app.scenarios.file import scenario_from_dict
from twin_app.scenarios.model import ScenarioResult
from twin_app.scenarios.run import run_scenario
from twin_app.session.compare import Comparison
from twin_app.session.radio_floors import DELTA_COLUMN, FLOORS_KEY, VALUE_COLUMN

#: The added station stands on the roof of way/172180192, at about (600, 451).
CENTRE = (600.0, 451.0)


@pytest.fixture(scope="module")
def radio() -> ScenarioResult:
    data = tomllib.loads((SAMPLE_DIR / "scenarios" / "add_5g_station.toml").read_text())
    x, y = CENTRE
    data["radio"].update(bounds=[x - 150.0, y - 150.0, x + 150.0, y + 150.0], spacing_m=20.0)
    data["twin"] = str(SAMPLE_DIR)
    return run_scenario(scenario_from_dict(data))


def _floor_layers(cmp: Comparison) -> tuple[FeatureLayer, FeatureLayer]:
    (left,) = cmp.baseline.extras[FLOORS_KEY]
    (right,) = cmp.scenario.extras[FLOORS_KEY]
    assert isinstance(left, FeatureLayer) and isinstance(right, FeatureLayer)
    assert left in cmp.baseline.layers and right in cmp.scenario.layers
    return left, right


def test_one_slab_per_floor_with_its_value_and_change(
    radio: ScenarioResult, compare_view: tuple[Comparison, CompareView]
) -> None:
    cmp, _ = compare_view
    notes = cmp.show_result(radio)
    assert not [n for n in notes if n.startswith("radio")], notes
    base, scen = radio.extra["radio_floors_baseline"], radio.extra["radio_floors_scenario"]
    left, right = _floor_layers(cmp)
    for layer, floors in ((left, base), (right, scen)):
        fs = layer.features
        assert fs is not None and fs.n_features == floors.n_floors > 100
        # every floor has a slab, and every slab triangle names a floor
        rows = np.asarray(fs.mesh.cell_data["feature_index"])
        assert np.array_equal(np.unique(rows), np.arange(floors.n_floors))
        # a slab lies in its floor's band (the top floor's roof a little above)
        z = fs.mesh.points[fs.mesh.triangles][:, :, 2]
        zmin = np.full(floors.n_floors, np.inf)
        zmax = np.full(floors.n_floors, -np.inf)
        np.minimum.at(zmin, rows, z.min(axis=1))
        np.maximum.at(zmax, rows, z.max(axis=1))
        assert np.allclose(zmin, floors.bottom_m)
        assert (zmax <= floors.top_m + 0.2).all() and (zmax > floors.top_m - 0.5).all()
        v = np.asarray(floors.rsrp_dbm)
        col = fs.table[VALUE_COLUMN].to_numpy(np.float64)
        assert np.array_equal(col[np.isfinite(v)], v[np.isfinite(v)])
    # the study is the same file's: the buildings' worst floors are the per-building values
    worst = np.full(scen.building.max() + 1, np.inf)
    np.minimum.at(worst, scen.building, scen.rsrp_dbm)
    per_b = np.asarray(radio.extra["radio_buildings_scenario"])
    assert np.allclose(worst[np.unique(scen.building)], per_b[np.unique(scen.building)])
    # the change is per floor: same building, same floor (no massing change: all matched)
    assert right.features is not None
    delta = right.features.table[DELTA_COLUMN].to_numpy(np.float64)
    assert np.allclose(delta, scen.rsrp_dbm - base.rsrp_dbm)
    assert delta.max() > 20.0 and delta.min() >= 0.0  # a station only adds signal
    # Physics: the receptor climbs out of the street canyon (height gain of the 38.901 UMa
    # model, more line of sight): every building's top floor hears the stations better
    # than its ground floor, on both sides.
    for f in (base, scen):
        nf = np.zeros(f.building.max() + 1, np.int64)
        np.maximum.at(nf, f.building, f.floor)
        tall = np.flatnonzero(nf >= 2)
        assert tall.size > 20
        key = f.building * 1000 + f.floor
        at_top = np.searchsorted(key, tall * 1000 + nf[tall])
        at_ground = np.searchsorted(key, tall * 1000)
        assert (f.rsrp_dbm[at_top] > f.rsrp_dbm[at_ground]).all()
    # no building layer in this session: the per-building fallback is not drawn
    assert not cmp.scenario.results


def test_delta_and_value_views_recolour_the_scenario_floors(
    radio: ScenarioResult, compare_view: tuple[Comparison, CompareView]
) -> None:
    cmp, _ = compare_view
    cmp.show_result(radio)
    left, right = _floor_layers(cmp)
    assert (left.color_by, right.color_by) == (VALUE_COLUMN, DELTA_COLUMN)
    cmp.set_show("value")
    assert (left.color_by, right.color_by) == (VALUE_COLUMN, VALUE_COLUMN)
    cmp.set_show("delta")
    assert right.color_by == DELTA_COLUMN
    # a result without radio takes the floors away
    empty = ScenarioResult(name="nothing", kpis=())
    cmp.show_result(empty)
    assert FLOORS_KEY not in cmp.scenario.extras or not cmp.scenario.extras[FLOORS_KEY]


def _chroma(x: Any, c: Any) -> float:
    """Distance of two colours' chromaticities (each divided by its channel sum)."""
    return float(np.abs(x / max(x.sum(), 1) - c / max(c.sum(), 1)).sum())


def test_a_facade_shows_its_floors_in_their_classes(
    radio: ScenarioResult, compare_view: tuple[Comparison, CompareView]
) -> None:
    cmp, cv = compare_view
    cmp.show_result(radio)
    cmp.set_show("value")
    _, right = _floor_layers(cmp)
    scen = radio.extra["radio_floors_scenario"]
    fs = right.features
    assert fs is not None
    cls = RSRP_CLASSES.classify(fs.table[VALUE_COLUMN].to_numpy(np.float64))
    # two floors one above the other in different classes, on the building nearest the
    # added station that has such a pair
    pair = np.flatnonzero(
        (scen.building[1:] == scen.building[:-1])
        & (scen.floor[1:] == scen.floor[:-1] + 1)
        & (cls[1:] != cls[:-1])
    )
    assert pair.size
    mesh = fs.mesh
    rows = np.asarray(mesh.cell_data["feature_index"])
    surf = np.asarray(mesh.cell_data["surface"])
    p = mesh.points[mesh.triangles]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    seen = 0
    for k in pair[:12]:
        walls = np.flatnonzero((rows == k) & (surf == 1))
        t = walls[np.argmax(area[walls])]  # the floor's widest wall
        n = np.cross(p[t, 1] - p[t, 0], p[t, 2] - p[t, 0])
        n = n / np.linalg.norm(n)
        c = p[t].mean(axis=0)
        mid = np.array([c[0], c[1], scen.top_m[k]])  # the line between the two floors
        eye = mid + 30.0 * n + np.array([0.0, 0.0, 2.0])
        cmp.camera.set_pose(CameraPose(tuple(eye), tuple(mid), (0.0, 0.0, 1.0)))
        _, img = cv.screenshots()
        lo = world_pixel(img, cv.scenario.scene, mid - np.array([0.0, 0.0, 1.5]) + 0.3 * n)
        hi = world_pixel(img, cv.scenario.scene, mid + np.array([0.0, 0.0, 1.3]) + 0.3 * n)
        rgb = RSRP_CLASSES.rgb().astype(int)
        a, b = rgb[cls[k]], rgb[cls[k + 1]]
        # another building's slab may stand in front: look for a wall in view
        if np.abs(lo - hi).sum() < 30:
            continue
        # each floor has its own class's hue, not the other floor's (lit, so darker than
        # the class colour by one shading factor on the one wall: compare chromaticities)
        assert _chroma(lo, a) < _chroma(lo, b), (lo, a, b)
        assert _chroma(hi, b) < _chroma(hi, a), (hi, a, b)
        seen += 1
    assert seen >= 2
