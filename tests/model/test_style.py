"""The colour module: colour maps sample as matplotlib does, class scales classify and label."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from twin_app.errors import TwinError
from twin_app.model.aqi import CATEGORY_COLORS, CATEGORY_NAMES_EN, category, category_scale
from twin_app.model.style import (
    CONGESTION,
    NO_DATA_COLOR,
    ClassScale,
    ColormapError,
    colormap_colors,
    colormap_rgb8,
    colormap_table,
    map_colors,
    palette_rgb,
    rgb_to_hex,
    to_rgb8,
)


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        # viridis' own table (matplotlib _cm_listed): first, middle (entry 128), last entry
        ("viridis", 0.0, "#440154"),
        ("viridis", 0.5, "#21918c"),
        ("viridis", 1.0, "#fde725"),
        # ColorBrewer end colours (colorbrewer2.org): the maps start and end on them
        ("RdYlGn", 0.0, "#a50026"),
        ("RdYlGn", 1.0, "#006837"),
        ("RdYlGn_r", 0.0, "#006837"),
        ("YlOrRd", 0.0, "#ffffcc"),
        ("YlOrRd", 1.0, "#800026"),
    ],
)
def test_named_maps_give_the_published_colours(name: str, x: float, expected: str) -> None:
    rgba = colormap_colors(name, np.array([x]))
    assert rgb_to_hex(to_rgb8(rgba[0, :3])) == expected


@pytest.mark.parametrize("name", ["viridis", "RdYlGn", "YlOrRd", "RdYlGn_r", "magma"])
def test_sampling_matches_matplotlib_at_given_values(name: str) -> None:
    x = np.array([0.0, 0.1, 0.33, 0.5, 0.77, 0.999, 1.0, -0.5, 1.5])
    np.testing.assert_array_equal(colormap_colors(name, x), matplotlib.colormaps[name](x))
    table = colormap_table(name, 64)
    assert table.shape == (64, 4)
    # entry i of an n-entry table is the map at i / (n - 1): exactly at the ends, inside to
    # within the map's own 256 steps (a segmented map is resampled from its exact segments)
    np.testing.assert_allclose(
        table[[0, 63]], matplotlib.colormaps[name](np.array([0.0, 1.0])), atol=1e-12
    )
    np.testing.assert_allclose(
        table, matplotlib.colormaps[name](np.linspace(0.0, 1.0, 64)), atol=2.5 / 255
    )


def test_tables_are_cached_read_only_and_rounded_like_vtk() -> None:
    a = colormap_table("viridis", 256)
    assert colormap_table("viridis", 256) is a
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    rgb = colormap_rgb8("viridis")
    assert rgb.dtype == np.uint8 and rgb.shape == (256, 3)
    np.testing.assert_array_equal(rgb, np.floor(a[:, :3] * 255 + 0.5).astype(np.uint8))
    np.testing.assert_array_equal(to_rgb8(np.array([0.0, 0.5 / 255, 1.0, 1.2])), [0, 1, 255, 255])


def test_unknown_colour_map_is_a_twin_error() -> None:
    with pytest.raises(ColormapError, match="no-such-map"):
        colormap_colors("no-such-map", np.zeros(1))
    assert issubclass(ColormapError, TwinError)


def test_map_colors_spans_clim_and_paints_nan() -> None:
    table = colormap_rgb8("viridis", 256)
    nan_rgb = palette_rgb([NO_DATA_COLOR])[0]
    out = map_colors(np.array([10.0, 20.0, 15.0, -5.0, 99.0, np.nan]), (10.0, 20.0), table, nan_rgb)
    np.testing.assert_array_equal(out[0], table[0])
    np.testing.assert_array_equal(out[1], table[-1])
    np.testing.assert_array_equal(out[2], table[127])
    np.testing.assert_array_equal(out[3], table[0])  # below the range: the first colour
    np.testing.assert_array_equal(out[4], table[-1])
    np.testing.assert_array_equal(out[5], [0xA8, 0xA8, 0xA8])


def test_congestion_classes_by_speed_ratio() -> None:
    ratios = np.array([0.0, 0.39, 0.4, 0.59, 0.6, 0.79, 0.8, 1.3, np.nan])
    assert CONGESTION.classify(ratios).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert CONGESTION.names == ("severe", "heavy", "moderate", "free flow")
    assert CONGESTION.legend() == [
        ("free flow", "#1b9e77"),
        ("moderate", "#fdb863"),
        ("heavy", "#e7298a"),
        ("severe", "#3f007d"),
        ("no data", NO_DATA_COLOR),
    ]


def test_aqi_scale_is_made_from_the_official_tables() -> None:
    for std in ("us_epa", "china_hj633"):
        scale = category_scale(std)
        assert scale.names == CATEGORY_NAMES_EN[std]
        np.testing.assert_array_equal(scale.rgb(), np.asarray(CATEGORY_COLORS[std], np.uint8))
        # a bound belongs to the category below it, as in aqi.category
        values = np.array([0.0, 50.0, 50.4, 51.0, 100.0, 150.0, 200.0, 300.0, 301.0, 500.0])
        assert scale.classify(values).tolist() == category(values, std).tolist()
        assert scale.classify(values).tolist() == [0, 0, 1, 1, 1, 2, 3, 4, 5, 5]
    assert category_scale("us_epa").colors[0] == "#00e400"  # Good: (0, 228, 0)
    assert category_scale("china_hj633", english=False).names[0] == "优"


def test_step_table_steps_at_the_bounds() -> None:
    table = CONGESTION.step_table(0.0, 1.5, 150)  # bins of 0.01, centres at 0.005, 0.015 ...
    rgb = CONGESTION.rgb()
    np.testing.assert_array_equal(table[39], rgb[0])  # 0.395: severe
    np.testing.assert_array_equal(table[40], rgb[1])  # 0.405: heavy
    np.testing.assert_array_equal(table[79], rgb[2])
    np.testing.assert_array_equal(table[80], rgb[3])
    np.testing.assert_array_equal(CONGESTION.rgb(no_data=True)[0], palette_rgb([NO_DATA_COLOR])[0])


def test_class_scale_checks_its_table() -> None:
    with pytest.raises(TwinError, match="needs 3 names"):
        ClassScale((1.0, 2.0), ("a", "b"), ("#000000", "#ffffff"))
    with pytest.raises(TwinError, match="increase"):
        ClassScale((2.0, 1.0), ("a", "b", "c"), ("#000000", "#777777", "#ffffff"))
