"""The twin's buildings for massing scenarios, and the sun studies a scenario compares.

:func:`massing_model_for_twin` reads a twin folder's building geometry headless (the files of
its manifest, IFC proposals left out, as :mod:`twin_app.scenarios.twin_traffic` does for the
roads) into a :class:`~twin_app.scenarios.model.MassingModel`, kept in-process by the files'
paths, sizes and modification times.

:func:`sun_study` runs one day's sun-hours study (:mod:`twin_app.engines.sunhours`) of a
massing model over a study area: ground receptors on a ``cell_m`` raster (their outdoor mask
from the model's own roofs) and facade receptors on the walls of the buildings inside the
area, every ray cast against the whole mesh, so buildings outside the area still shade it.

Study area (:func:`study_bounds`): the ``[sun] bounds`` of the scenario; else the bounding box
of the buildings the interventions add, remove or change (in the baseline and the scenario
mesh), buffered by ``[sun] buffer_m`` (150 m by default); else the whole twin. The buffer is a
trade of speed against completeness: a 60 m tower at London's latitude casts a 75 m shadow at
equinox noon but a 340 m one at 10 degrees of sun, so a buffered area misses some of the
morning and evening loss; give ``bounds`` for the whole of it (the full sample twin takes
about 9 s a study).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.errors import InputError
from twin_app.scenarios.file import Scenario, SunSection
from twin_app.scenarios.interventions import MASSING_INTERVENTIONS, UnknownElementError
from twin_app.scenarios.model import FloatArray, MassingModel
from twin_app.scenarios.twin_city import twin_buildings

Bounds = tuple[float, float, float, float]

#: The sun KPIs in the order they are shown, with their units.
SUN_KPIS = {
    "sun_hours_lost_public_m2h": "m2 h",
    "buildings_losing_1h_sun": "buildings",
    "shadow_area_noon_m2": "m2",
}

_CACHE: dict[str, MassingModel] = {}
_LOCK = threading.Lock()


def massing_model_for_twin(twin_dir: Path | str) -> MassingModel:
    """The buildings of a twin folder as a :class:`MassingModel` (cached in-process).

    Raises
    ------
    InputError
        The twin has no buildings.
    """
    key, folder, city, fs = twin_buildings(twin_dir, "a massing scenario")
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    mesh = fs.mesh
    xmin, xmax, ymin, ymax, zmin, _ = mesh.bounds()
    frame = city.frame
    lon, lat = frame.to_lonlat(np.array([[0.5 * (xmin + xmax), 0.5 * (ymin + ymax)]]))[0]
    model = MassingModel(
        mesh=type(mesh)(
            mesh.points.copy(),
            mesh.triangles.copy(),
            {k: np.array(v) for k, v in mesh.cell_data.items()},
        ),
        building_ids=np.asarray([str(v) for v in fs.ids], dtype=object),
        lat_deg=float(lat),
        lon_deg=float(lon),
        frame=frame,
        ground_z=float(zmin),
        description=f"{fs.name} of {folder.name}",
    )
    with _LOCK:
        _CACHE[key] = model
    return model


def baseline_massing_model(scenario: Scenario) -> MassingModel:
    """The massing model of the scenario's twin (``twin`` must be set)."""
    if scenario.twin is None:
        raise InputError(
            f"{scenario.label}: key 'twin': a [sun] study or a massing intervention needs the "
            "twin folder whose buildings it changes"
        )
    return massing_model_for_twin(scenario.twin)


def apply_massing(scenario: Scenario, model: MassingModel) -> MassingModel:
    """The scenario's massing interventions applied in file order (the input is not changed)."""
    for i, item in scenario.massing_interventions():
        try:
            model = MASSING_INTERVENTIONS[item.kind](model, item)
        except UnknownElementError as exc:
            raise InputError(
                f"{scenario.label}: key 'interventions[{i}].{exc.key}': {exc}"
            ) from None
    return model


def _bounds_of(model: MassingModel, buildings: tuple[int, ...]) -> FloatArray | None:
    bidx = np.asarray(model.mesh.cell_data["building_index"], dtype=np.int64)
    sel = np.isin(bidx, np.asarray(buildings, dtype=np.int64))
    if not sel.any():
        return None
    pts = model.mesh.points[model.mesh.triangles[sel].ravel(), :2]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def study_bounds(scenario: Scenario, base: MassingModel, scen: MassingModel) -> Bounds:
    """The study area (xmin, ymin, xmax, ymax, local metres); see the module docstring."""
    sun = scenario.sun or SunSection()
    if sun.bounds is not None:
        return sun.bounds
    boxes = [b for b in (_bounds_of(base, scen.changed), _bounds_of(scen, scen.changed))
             if b is not None]  # fmt: skip
    if boxes:
        box = np.array(boxes)
        d = sun.buffer_m
        return (
            float(box[:, 0].min() - d),
            float(box[:, 1].min() - d),
            float(box[:, 2].max() + d),
            float(box[:, 3].max() + d),
        )
    xmin, xmax, ymin, ymax, _, _ = base.mesh.bounds()
    return (xmin, ymin, xmax, ymax)


@dataclass(frozen=True, eq=False)
class SunStudy:
    """One day's sun hours of a massing model over a study area.

    Attributes
    ----------
    bounds
        The study area (xmin, ymin, xmax, ymax), local metres.
    ground
        :class:`~twin_app.engines.sunhours.GroundReceptors` (raster, outdoor mask).
    ground_hours
        (ny, nx) sun hours on the ground, NaN under roofs.
    facades
        :class:`~twin_app.engines.sunhours.FacadeReceptors` of the buildings in the area.
    facade_hours
        (p,) sun hours of each facade receptor.
    building_mean_h
        (n_buildings,) area-weighted mean facade sun hours, NaN for buildings without
        receptors in the area.
    shadow_area_noon_m2
        Outdoor area in shadow at solar noon, m2.
    elapsed_s
        Wall time of the study.
    """

    bounds: Bounds
    ground: Any
    ground_hours: FloatArray
    facades: Any
    facade_hours: FloatArray
    building_mean_h: FloatArray
    shadow_area_noon_m2: float
    elapsed_s: float

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine transform of the ground raster (row 0 north)."""
        return tuple(self.ground.grid.transform)


def sun_study(model: MassingModel, sun: SunSection, bounds: Bounds) -> SunStudy:
    """Ground and facade sun hours of one day over `bounds` (see the module docstring).

    ``H = step_h * sum_t sunlit(t)`` per receptor (BRE 209 probable sunlight hours, sampled
    every ``sun.step_min`` minutes), from :func:`twin_app.engines.sunhours.sun_hours`.
    """
    import time

    from twin_app.engines import sunhours as sh
    from twin_app.geometry.raycast import Occluder

    t0 = time.perf_counter()
    mesh = model.mesh
    occ = Occluder(mesh.points, mesh.triangles)
    ground = sh.ground_receptors(occ, bounds, sun.cell_m, ground_z=model.ground_z)
    fac = sh.facade_receptors(mesh, sun.facade_spacing_m)
    x, y = fac.xyz[:, 0], fac.xyz[:, 1]
    inside = (x >= bounds[0]) & (x <= bounds[2]) & (y >= bounds[1]) & (y <= bounds[3])
    # a model's body (an IFC proposal) has inner walls, window reveals and railings: its
    # near-vertical faces are not its facades; it shades the others all the same
    inside &= ~np.isin(fac.building_index, np.asarray(model.bodies, np.int64))
    fac = sh.FacadeReceptors(
        fac.xyz[inside], fac.normals[inside], fac.area_m2[inside], fac.building_index[inside]
    )
    lat, lon = model.lat_deg, model.lon_deg
    hg = sh.sun_hours(occ, ground.xyz, lat, lon, sun.date, step_min=sun.step_min)
    hf = sh.sun_hours(occ, fac.xyz, lat, lon, sun.date, normals=fac.normals, step_min=sun.step_min)
    noon = sh.shadow_area_noon_m2(occ, ground, lat, lon, sun.date)
    return SunStudy(
        bounds=bounds,
        ground=ground,
        ground_hours=ground.raster(hg),
        facades=fac,
        facade_hours=hf,
        building_mean_h=fac.per_building(hf, model.n_buildings),
        shadow_area_noon_m2=noon,
        elapsed_s=time.perf_counter() - t0,
    )


def sun_kpis(
    base: SunStudy, scen: SunStudy, changed: tuple[int, ...]
) -> dict[str, tuple[float, float]]:
    """``{kpi: (baseline, scenario)}`` of :data:`SUN_KPIS`.

    ``sun_hours_lost_public_m2h`` and ``buildings_losing_1h_sun`` are 0 in the baseline (a
    loss is of the scenario against it); buildings the scenario adds, removes or re-heights are
    not counted among those losing sun (their walls are not the same walls).
    """
    from twin_app.engines import sunhours as sh

    hb = np.nan_to_num(base.ground_hours.ravel(), nan=0.0)
    hs = np.nan_to_num(scen.ground_hours.ravel(), nan=0.0)
    lost = sh.sun_hours_lost_public_m2h(
        hb, hs, base.ground.public, scen.ground.public, base.ground.cell_area_m2
    )
    losing = sh.buildings_losing_1h_sun(
        base.facades, base.facade_hours, scen.facades, scen.facade_hours, exclude=changed
    )
    return {
        "sun_hours_lost_public_m2h": (0.0, lost),
        "buildings_losing_1h_sun": (0.0, float(losing)),
        "shadow_area_noon_m2": (base.shadow_area_noon_m2, scen.shadow_area_noon_m2),
    }


def sun_key(scenario: Scenario, bounds: Bounds) -> str:
    """Cache key of a baseline study: the twin, the ``[sun]`` settings and the area."""
    sun = scenario.sun or SunSection()
    return f"{scenario.twin}|{sun.model_dump_json()}|{bounds}"
