"""Study rasters of a scenario result in the compare view: sun hours, air, 5G coverage.

For each study a result carries (``ScenarioResult.extra``, see
:func:`twin_app.scenarios.run.run_scenario`), the baseline side draws a
:class:`~twin_app.model.raster.RasterLayer` of the baseline grid and the scenario side one of
the change (``Comparison.show == "delta"``: scenario minus baseline, unchanged cells
transparent) or of the scenario's values (``"value"``: both sides on one colour range).
The layers are the sides' extras under one key per study (:data:`STUDIES`), so a second
result replaces them; a result of the same grid writes its values into the existing layers
(:meth:`RasterLayer.set_values`: the views rewrite their textures, nothing is built again).

Changes of RSRP between ``-inf`` (no station reaches) and a value are ``+inf`` (coverage
gained) or ``-inf`` (lost), drawn at the ends of the diverging map; ``-inf`` on both sides is
no change (0).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.model.raster import RasterLayer, gdal_transform
from twin_app.model.style import ClassScale, ColorScale
from twin_app.scenarios.model import ScenarioResult

if TYPE_CHECKING:
    from twin_app.session.compare import Comparison

F64 = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class RasterStudy:
    """Where one study's rasters are in a result's ``extra`` and how they are coloured."""

    key: str  # the extras key on both sides
    title: str  # layer name, before the side's name
    baseline: str
    scenario: str
    transform: str
    column: str  # value column (colour scale)
    delta_column: str  # change column


#: The raster studies, drawn bottom to top in this order.
STUDIES: tuple[RasterStudy, ...] = (
    RasterStudy(
        "sun_raster", "Sun hours", "sun_hours_baseline", "sun_hours_scenario", "sun_transform",
        "sun_hours_h", "sun_hours_delta_h",
    ),
    RasterStudy(
        "air_raster", "Air", "air_baseline", "air_scenario", "air_transform",
        "concentration_ug_m3", "concentration_delta_ug_m3",
    ),
    RasterStudy(
        "radio_raster", "5G coverage", "radio_baseline", "radio_scenario", "radio_transform",
        "rsrp_dbm", "rsrp_delta_db",
    ),
)  # fmt: skip


@dataclass(eq=False)
class _Shown:
    study: RasterStudy
    baseline: F64
    scenario: F64
    delta: F64
    left: RasterLayer
    right: RasterLayer


#: Per comparison: the rasters it shows, by study key.
_SHOWN: weakref.WeakKeyDictionary[Comparison, dict[str, _Shown]] = weakref.WeakKeyDictionary()


def raster_delta(baseline: Any, scenario: Any) -> F64:
    """Scenario minus baseline per cell; equal values (infinities included) are 0, NaN where
    either side has no value."""
    b = np.asarray(baseline, np.float64)
    s = np.asarray(scenario, np.float64)
    with np.errstate(invalid="ignore"):
        d = s - b
    d[s == b] = 0.0  # -inf - -inf is NaN: no coverage on both sides is no change
    return d


def show_rasters(cmp: Comparison, result: ScenarioResult) -> list[str]:
    """Add the sun, air and radio rasters of `result` to both sides of `cmp`.

    A study without rasters in `result` takes its layers away (a second result replaces
    the first); one whose grid is the shape and place of the shown one writes its values into
    the existing layers.

    Returns
    -------
    list of str
        What could not be shown: a study whose baseline and scenario grids differ in shape.
    """
    notes: list[str] = []
    shown = _SHOWN.setdefault(cmp, {})
    extra = result.extra or {}
    for study in STUDIES:
        if study.baseline not in extra or study.scenario not in extra:
            if shown.pop(study.key, None) is not None:
                cmp.set_extras(study.key, [], [])
            continue
        b = np.asarray(extra[study.baseline], np.float64)
        s = np.asarray(extra[study.scenario], np.float64)
        if b.shape != s.shape or b.ndim != 2:
            notes.append(f"{study.title}: baseline {b.shape} and scenario {s.shape} grids differ")
            continue
        transform = gdal_transform(extra[study.transform], study.title)
        old = shown.get(study.key)
        if old is not None and old.left.shape == b.shape and old.left.transform == transform:
            old.baseline, old.scenario, old.delta = b, s, raster_delta(b, s)
            for layer, side in zip((old.left, old.right), cmp.sides, strict=True):
                layer.name = f"{study.title} ({side.name})"  # a new result may rename a side
        else:
            left, right = (
                RasterLayer(
                    name=f"{study.title} ({side.name})",
                    values=np.full(b.shape, np.nan),
                    transform=transform,
                    color_by=study.column,
                )
                for side in cmp.sides
            )
            pollutant = getattr(extra.get("air_result_baseline"), "pollutant", None)
            if study.key == "air_raster" and pollutant:
                left.pollutant = right.pollutant = str(pollutant)
            shown[study.key] = _Shown(study, b, s, raster_delta(b, s), left, right)
            cmp.set_extras(study.key, [left], [right])
    apply_show(cmp)
    return notes


def _shared_clim(column: str, layer: RasterLayer, *grids: F64) -> tuple[float, float] | None:
    """One colour range over both sides' values (None for classes: the classes are it)."""
    layer_scale = layer.scale()
    if isinstance(layer_scale, ClassScale) or layer_scale is None:
        return None
    assert isinstance(layer_scale, ColorScale)
    both = np.concatenate([g.ravel() for g in grids])
    return layer_scale.limits(both[np.isfinite(both)])


def apply_show(cmp: Comparison) -> None:
    """Colour the scenario side's rasters by change or by value (``cmp.show``); the baseline
    side shows baseline values, on the range it shares with the scenario in value view."""
    for item in _SHOWN.get(cmp, {}).values():
        study = item.study
        value = cmp.show == "value"
        clim = _shared_clim(study.column, item.left, item.baseline, item.scenario)
        for layer, values, column, lim, zero in (
            (item.left, item.baseline, study.column, clim if value else None, False),
            (
                item.right,
                item.scenario if value else item.delta,
                study.column if value else study.delta_column,
                clim if value else None,
                not value,
            ),
        ):
            # Fields set together, then one values event: the view recolours once.
            with layer.events.blocked():
                layer.color_by = column
                layer.clim = lim
                layer.transparent_zero = zero
            layer.set_values(values)
