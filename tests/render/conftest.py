"""Offscreen render fixtures: a tiny two-building city in a real VTK window."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.scene import Scene


@pytest.fixture
def two_buildings() -> FeatureSet:
    """A 3 m box west of a 60 m tower, 40 m apart."""
    geoms = np.array(
        [
            Polygon([(-40, -10), (-20, -10), (-20, 10), (-40, 10)]),
            Polygon([(20, -10), (40, -10), (40, 10), (20, 10)]),
        ],
        dtype=object,
    )
    heights = np.array([3.0, 60.0])
    mesh = extrude(polygon_arrays(geoms), heights)
    table = pd.DataFrame(
        {"id": ["low", "tower"], "height_m": heights, "height_source": ["height", "height"]}
    )
    return FeatureSet(
        "Buildings (test)", BUILDINGS, "test", table["id"].to_numpy(object), table, mesh
    )


@pytest.fixture
def scene() -> Iterator[Scene]:
    plotter = offscreen_plotter(400, 300, aa="off")
    sc = Scene(plotter)
    yield sc
    plotter.close()


@pytest.fixture
def pixel_at():  # type: ignore[no-untyped-def]
    """The function (scene, world point) -> RGB of the pixel it projects to."""
    return _pixel_at


def _pixel_at(scene: Scene, xyz: tuple[float, float, float]) -> np.ndarray:
    """Colour of the pixel where a world point projects (after a fresh render)."""
    img = scene.screenshot()
    r = scene.plotter.renderer
    r.SetWorldPoint(*xyz, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    h = img.shape[0]
    return img[round(h - 1 - y), round(x)].astype(int)
