"""Raster layers (issue 9 study rasters): cells under points, in-place values, transforms in
both orders, and the colour scales of sun hours, AQI concentration classes and 5G RSRP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin_app.model.aqi import category_scale, concentration_scale
from twin_app.model.raster import RasterError, RasterLayer, gdal_transform, raster_rgba
from twin_app.model.style import RSRP_CLASSES, ColorScale, column_scale, hex_to_rgb
from twin_app.session.study_rasters import raster_delta

#: 3 x 4 cells of 10 m, north-west corner at (100, 50).
T = (100.0, 10.0, 0.0, 50.0, 0.0, -10.0)


def grid() -> np.ndarray[Any, Any]:
    return np.arange(12, dtype=np.float64).reshape(3, 4)


def test_value_at_reads_the_cell_under_a_point_row_zero_north() -> None:
    layer = RasterLayer(name="r", values=grid(), transform=T)
    assert layer.bounds() == (100.0, 140.0, 20.0, 50.0)
    assert layer.value_at(105.0, 45.0) == 0.0  # north-west cell
    assert layer.value_at(135.0, 45.0) == 3.0  # north-east
    assert layer.value_at(105.0, 25.0) == 8.0  # south-west
    assert layer.value_at(110.0, 40.0) == 5.0  # a corner belongs to the cell south-east of it
    assert np.isnan(layer.value_at(99.9, 45.0)) and np.isnan(layer.value_at(105.0, 50.1))
    out = layer.value_at(np.array([105.0, 135.0, 200.0]), np.array([25.0, 25.0, 25.0]))
    np.testing.assert_array_equal(out, [8.0, 11.0, np.nan])


def test_affine_order_transforms_become_gdal_order() -> None:
    affine = (10.0, 0.0, 100.0, 0.0, -10.0, 50.0)  # what the sun and air engines report
    assert gdal_transform(affine) == T
    assert gdal_transform(T) == T
    layer = RasterLayer(name="r", values=grid(), transform=affine)
    assert layer.transform == T and layer.value_at(135.0, 25.0) == 11.0
    with pytest.raises(RasterError, match="north-up"):
        gdal_transform((100.0, 10.0, 0.0, 50.0, 0.0, 10.0))  # south-up
    with pytest.raises(RasterError, match=r"\(ny, nx\)"):
        RasterLayer(name="r", values=np.zeros(3))


def test_set_values_writes_in_place_and_emits_one_values_event() -> None:
    layer = RasterLayer(name="r", values=grid(), transform=T)
    array = layer.values
    seen: list[str] = []
    layer.events.connect(lambda info: seen.append(info.signal.name))
    layer.set_values(grid() * 2)
    assert layer.values is array and layer.value_at(135.0, 25.0) == 22.0
    assert seen == ["values"]
    layer.set_values(np.zeros((2, 2)))  # a new shape: a new array
    assert layer.values is not array and layer.shape == (2, 2)


def test_sun_hours_colours_run_dark_to_bright_and_nan_is_transparent() -> None:
    v = np.array([[0.0, 4.0], [8.0, np.nan]])
    layer = RasterLayer(name="sun", values=v, color_by="sun_hours_h")
    rgba = layer.rgba().astype(int)
    assert rgba[0, 0, :3].sum() < rgba[0, 1, :3].sum() < rgba[1, 0, :3].sum()
    assert rgba[1, 1, 3] == 0 and (rgba[[0, 0, 1], [0, 1, 0], 3] == 255).all()
    lo, hi = layer.color_limits()  # 2nd to 98th percentile of the finite values
    assert 0.0 <= lo < 0.5 and 7.5 < hi <= 8.0
    assert layer.title() == "Sun hours (h)"


def test_changes_are_diverging_and_unchanged_cells_can_be_transparent() -> None:
    scale = column_scale("sun_hours_delta_h")
    assert isinstance(scale, ColorScale) and scale.diverging
    d = np.array([[-3.0, 0.0, 3.0]])
    rgba = raster_rgba(d, scale, scale.limits(d), transparent_zero=True).astype(int)
    assert rgba[0, 0, 2] > rgba[0, 0, 0] + 60  # less sun: blue
    assert rgba[0, 2, 0] > rgba[0, 2, 2] + 60  # more: red
    assert rgba[0, 1, 3] == 0 and rgba[0, 0, 3] == rgba[0, 2, 3] == 255
    # a change under 2 % of the range is as good as none; 3 % shows
    faint = raster_rgba(np.array([[0.05, 0.09, -3.0]]), scale, (-3.0, 3.0), transparent_zero=True)
    assert faint[0, 0, 3] == 0 and faint[0, 1, 3] == 255
    for col in ("concentration_delta_ug_m3", "rsrp_delta_db"):
        s = column_scale(col)
        assert isinstance(s, ColorScale) and s.diverging


def test_concentration_classes_are_the_aqi_categories_in_ug_m3() -> None:
    scale = concentration_scale("pm25", "us_epa")
    epa = category_scale("us_epa")
    assert scale.colors == epa.colors
    # EPA truncates PM2.5 to 0.1 ug/m3: 9.05 is still "Good" (AQI 50), 9.1 "Moderate".
    c = np.array([0.0, 9.0, 9.05, 9.1, 35.4, 35.5, 55.5, 125.5, 225.5, 600.0])
    np.testing.assert_array_equal(scale.classify(c), [0, 0, 0, 1, 1, 2, 3, 4, 5, 5])
    assert column_scale("concentration_ug_m3").bounds == scale.bounds  # type: ignore[union-attr]
    # HJ 633: shared end points belong to the lower category (35 ug/m3 is IAQI 50, Excellent)
    hj = concentration_scale("pm25", "china_hj633")
    np.testing.assert_array_equal(hj.classify([35.0, 35.1, 75.0, 75.1]), [0, 1, 1, 2])
    # NO2 (EPA table in ppb) comes out in ug/m3: 100 ppb (AQI 100) is 188.1 ug/m3
    no2 = concentration_scale("no2", "us_epa")
    assert 185.0 < no2.bounds[1] < 195.0
    layer = RasterLayer(name="air", values=np.array([[5.0, 20.0]]), color_by="concentration_ug_m3")
    rgb = layer.rgba()[0, :, :3].astype(int)
    assert tuple(rgb[0]) == (0, 228, 0) and tuple(rgb[1]) == (255, 255, 0)


def test_rsrp_classes_give_no_coverage_its_own_colour() -> None:
    v = np.array([[-np.inf, -150.0, -115.0, -95.0, -70.0, np.nan]])
    layer = RasterLayer(name="5g", values=v, color_by="rsrp_dbm")
    assert layer.scale() is RSRP_CLASSES
    rgba = layer.rgba()
    none = tuple(round(c * 255) for c in hex_to_rgb(RSRP_CLASSES.colors[0]))
    assert tuple(rgba[0, 0, :3]) == none and tuple(rgba[0, 1, :3]) == none
    assert len({tuple(p) for p in rgba[0, 1:5, :3]}) == 4
    assert rgba[0, 5, 3] == 0 and (rgba[0, :5, 3] == 255).all()
    assert RSRP_CLASSES.legend(no_data=False)[-1][0] == "no coverage"


def test_raster_delta_treats_equal_infinities_as_no_change() -> None:
    b = np.array([-np.inf, -np.inf, -90.0, -90.0, np.nan])
    s = np.array([-np.inf, -95.0, -np.inf, -80.0, -80.0])
    d = raster_delta(b, s)
    assert d[0] == 0.0 and d[1] == np.inf and d[2] == -np.inf and d[3] == 10.0
    assert np.isnan(d[4])
