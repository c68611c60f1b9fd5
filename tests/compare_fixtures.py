"""A small synthetic city for the compare tests: three straight road ribbons and two buildings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin_app.model.city import ROADS, FeatureSet, Polylines
from twin_app.model.layers import BuildingLayer, RoadLayer
from twin_app.model.mesh import TriMesh
from twin_app.session import Session

#: Centre line y (m) of each road; every road runs from x = -ROAD_HALF_M to +ROAD_HALF_M.
ROAD_Y = (-40.0, 0.0, 40.0)
ROAD_HALF_M = 60.0
ROAD_WIDTH_M = 14.0
ROAD_Z = 0.2


def road_set() -> FeatureSet:
    """Three east-west road ribbons, one feature each (two triangles, facing up)."""
    pts, tris = [], []
    for i, y in enumerate(ROAD_Y):
        h = ROAD_WIDTH_M / 2
        pts += [
            (-ROAD_HALF_M, y - h, ROAD_Z),
            (ROAD_HALF_M, y - h, ROAD_Z),
            (ROAD_HALF_M, y + h, ROAD_Z),
            (-ROAD_HALF_M, y + h, ROAD_Z),
        ]
        tris += [(4 * i, 4 * i + 1, 4 * i + 2), (4 * i, 4 * i + 2, 4 * i + 3)]
    mesh = TriMesh(
        np.array(pts, np.float64),
        np.array(tris, np.int64),
        {"segment_index": np.repeat(np.arange(len(ROAD_Y), dtype=np.int32), 2)},
    )
    ids = np.array([f"r{i}" for i in range(len(ROAD_Y))], dtype=object)
    table = pd.DataFrame({"id": ids, "class": ["primary"] * len(ids), "lanes": [2, 2, 2]})
    coords = np.array(
        [(x, y, ROAD_Z) for y in ROAD_Y for x in (-ROAD_HALF_M, ROAD_HALF_M)], np.float64
    )
    lines = Polylines(coords, np.arange(0, 2 * len(ROAD_Y) + 1, 2, dtype=np.int64))
    return FeatureSet("Roads (test)", ROADS, "test", ids, table, mesh, lines)


def building_set() -> FeatureSet:
    """Two buildings north of the roads: a 3 m box and a 30 m tower."""
    from shapely.geometry import Polygon

    from twin_app.geometry.extrude import extrude, polygon_arrays
    from twin_app.model.city import BUILDINGS

    geoms = np.array(
        [
            Polygon([(-50, 60), (-30, 60), (-30, 80), (-50, 80)]),
            Polygon([(30, 60), (50, 60), (50, 80), (30, 80)]),
        ],
        dtype=object,
    )
    heights = np.array([3.0, 30.0])
    mesh = extrude(polygon_arrays(geoms), heights)
    table = pd.DataFrame({"id": ["low", "tower"], "height_m": heights})
    return FeatureSet(
        "Buildings (test)", BUILDINGS, "test", table["id"].to_numpy(object), table, mesh
    )


def compare_session() -> Session:
    """A new session showing the city: a "Buildings" layer, then a "Roads" layer."""
    s = Session()
    s.layers.append(BuildingLayer(name="Buildings", features=building_set()))
    s.layers.append(RoadLayer(name="Roads", features=road_set()))
    return s


def show_road_closure(session: Session) -> Any:
    """Add the city to `session` and show a road closure's comparison on it: the first road
    gains traffic (red on the scenario side), the second loses it (blue). Returns the
    :class:`~twin_app.session.compare.Comparison`."""
    from twin_app.session.compare import Comparison

    session.layers.append(BuildingLayer(name="Buildings", features=building_set()))
    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    cmp = Comparison(session, "Road closure")
    cmp.set_result(roads, "flow_veh_h", np.full(3, 500.0), np.array([800.0, 200.0, 500.0]))
    session.scenario_state.comparison = cmp
    return cmp


def pipe_set() -> FeatureSet:
    """The road ribbons' geometry as three pipes (a pipes feature set: ``pipe_index``)."""
    import dataclasses

    from twin_app.model.city import PIPES

    roads = road_set()
    mesh = TriMesh(
        roads.mesh.points - np.array([0.0, 0.0, 2.0]),
        roads.mesh.triangles,
        {"pipe_index": roads.mesh.cell_data["segment_index"]},
    )
    ids = np.array([f"P-{i}" for i in range(len(ROAD_Y))], dtype=object)
    table = pd.DataFrame({"id": ids, "diameter_m": [0.3, 0.2, 0.2]})
    return dataclasses.replace(
        roads, name="Pipes (test)", kind=PIPES, ids=ids, table=table, mesh=mesh
    )
