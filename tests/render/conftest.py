"""Offscreen render fixtures: a tiny two-building city in a real VTK window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from tests.render.pixel_probe import world_pixel
from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.render.compare import CompareView
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.scene import Scene
from twin_app.session import Session
from twin_app.session.compare import Comparison


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


def _pixel_at(scene: Scene, xyz: tuple[float, float, float]) -> np.ndarray[Any, Any]:
    """Colour of the pixel where a world point projects (after a fresh render)."""
    return world_pixel(scene.screenshot(), scene, xyz)


@pytest.fixture
def compare_view() -> Iterator[tuple[Comparison, CompareView]]:
    """An empty session's scenario comparison in a 400 x 300 offscreen side-by-side view
    (legends off, so they hide no pixels)."""
    cmp = Comparison(Session(), "Scenario")
    left, right = offscreen_plotter(400, 300, aa="off"), offscreen_plotter(400, 300, aa="off")
    cv = CompareView(left, right, cmp)
    for v in cv.viewers:
        v.scene.show_legends = False
    yield cmp, cv
    cv.close()
    cmp.close()
    left.close()
    right.close()
