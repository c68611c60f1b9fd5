"""Box-shaped buildings for tests that need a few real building meshes and no city data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from shapely.geometry import box

from twin_app.geometry.extrude import extrude, polygon_arrays
from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.model.layers import BuildingLayer


def box_buildings(
    boxes: Sequence[tuple[float, float, float, float]],
    heights: Sequence[float],
    name: str = "Buildings",
) -> BuildingLayer:
    """A building layer of extruded axis-aligned boxes.

    ``boxes`` are ``(xmin, ymin, xmax, ymax)`` footprints in local metres, ``heights`` their
    heights (m); the buildings' ids are ``"a"``, ``"b"``, ... in that order.
    """
    geoms = np.array([box(*b) for b in boxes], dtype=object)
    h = np.asarray(heights, dtype=np.float64)
    ids = [chr(ord("a") + i) for i in range(len(boxes))]
    table = pd.DataFrame({"id": ids, "height_m": h, "height_source": ["height"] * len(ids)})
    fs = FeatureSet(
        "b", BUILDINGS, "test", table["id"].to_numpy(object), table,
        extrude(polygon_arrays(geoms), h),
    )  # fmt: skip
    return BuildingLayer(name=name, features=fs)
