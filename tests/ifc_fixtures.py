"""A small synthetic IFC FeatureSet (the contract of :mod:`twin_app.model.bim`) for layer,
render and UI tests that must not wait for a real IFC reader: two storeys of a 10 m x 8 m
house centred on (x0, y0), each with four thin walls as one element, a floor slab and a
space; a roof over storey 1 and a window in the south wall of storey 0."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from twin_app.model.bim import IFC_CLASSES, Georef, IfcInfo, IfcStorey
from twin_app.model.city import IFC, FeatureSet
from twin_app.model.mesh import TriMesh

#: Half sizes of the footprint (m).
HX, HY = 5.0, 4.0
#: Storey elevations (m) and wall height.
ELEVATIONS = (0.0, 3.2)
WALL_H = 3.0
WALL_T = 0.3

_BOX_TRIS = np.array(
    [
        [0, 2, 1], [0, 3, 2],  # bottom
        [4, 5, 6], [4, 6, 7],  # top
        [0, 1, 5], [0, 5, 4],  # south
        [1, 2, 6], [1, 6, 5],  # east
        [2, 3, 7], [2, 7, 6],  # north
        [3, 0, 4], [3, 4, 7],  # west
    ],
    np.int64,
)  # fmt: skip


def box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> TriMesh:
    """An axis-aligned box as 12 outward triangles over its own 8 points."""
    pts = np.array(
        [
            [x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
            [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1],
        ],
        np.float64,
    )  # fmt: skip
    return TriMesh(pts, _BOX_TRIS.copy())


def _walls(x0: float, y0: float, z0: float) -> list[TriMesh]:
    z1 = z0 + WALL_H
    return [
        box(x0 - HX, x0 + HX, y0 - HY, y0 - HY + WALL_T, z0, z1),
        box(x0 - HX, x0 + HX, y0 + HY - WALL_T, y0 + HY, z0, z1),
        box(x0 - HX, x0 - HX + WALL_T, y0 - HY, y0 + HY, z0, z1),
        box(x0 + HX - WALL_T, x0 + HX, y0 - HY, y0 + HY, z0, z1),
    ]


def ifc_house(x0: float = 0.0, y0: float = 0.0, name: str = "house.ifc") -> FeatureSet:
    """The synthetic house as one FeatureSet of kind ``ifc`` (see the module docstring).

    Elements (rows): 0 slab storey 0, 1 walls storey 0, 2 window, 3 space storey 0, 4 slab
    storey 1, 5 walls storey 1, 6 space storey 1, 7 roof (storey 1).
    """
    e0, e1 = ELEVATIONS
    inner = (x0 - HX + WALL_T, x0 + HX - WALL_T, y0 - HY + WALL_T, y0 + HY - WALL_T)
    elements: list[tuple[str, str, int, list[TriMesh], tuple[int, int, int]]] = [
        ("IfcSlab", "Floor 0", 0, [box(x0 - HX, x0 + HX, y0 - HY, y0 + HY, e0 - 0.2, e0)], (166, 162, 154)),
        ("IfcWall", "Walls 0", 0, _walls(x0, y0, e0), (200, 200, 200)),
        ("IfcWindow", "Window S", 0, [box(x0 - 1, x0 + 1, y0 - HY - 0.05, y0 - HY, e0 + 1, e0 + 2)], (40, 90, 200)),
        ("IfcSpace", "Room 0", 0, [box(*inner, e0, e0 + WALL_H - 0.5)], (240, 200, 80)),
        ("IfcSlab", "Floor 1", 1, [box(x0 - HX, x0 + HX, y0 - HY, y0 + HY, e1 - 0.2, e1)], (166, 162, 154)),
        ("IfcWall", "Walls 1", 1, _walls(x0, y0, e1), (200, 200, 200)),
        ("IfcSpace", "Room 1", 1, [box(*inner, e1, e1 + WALL_H - 0.5)], (240, 200, 80)),
        ("IfcRoof", "Roof", 1, [box(x0 - HX - 0.3, x0 + HX + 0.3, y0 - HY - 0.3, y0 + HY + 0.3, e1 + WALL_H, e1 + WALL_H + 0.3)], (150, 60, 40)),
    ]  # fmt: skip
    pts, tris, el, code, storey, rgb = [], [], [], [], [], []
    off = 0
    for i, (cls, _, s, boxes, colour) in enumerate(elements):
        for b in boxes:
            pts.append(b.points)
            tris.append(b.triangles + off)
            off += b.n_points
            m = b.n_triangles
            el.append(np.full(m, i, np.int32))
            code.append(np.full(m, IFC_CLASSES.index(cls), np.int16))
            storey.append(np.full(m, s, np.int16))
            rgb.append(np.tile(np.array(colour, np.uint8), (m, 1)))
    mesh = TriMesh(
        np.concatenate(pts),
        np.concatenate(tris),
        {
            "element_index": np.concatenate(el),
            "ifc_class_code": np.concatenate(code),
            "storey_index": np.concatenate(storey),
            "rgb": np.concatenate(rgb),
        },
    )
    storeys = (IfcStorey(0, "Ground floor", e0, "S0"), IfcStorey(1, "First floor", e1, "S1"))
    ids = np.array([f"GID{i:02d}" for i in range(len(elements))], dtype=object)
    table = pd.DataFrame(
        {
            "name": [e[1] for e in elements],
            "ifc_class": [e[0] for e in elements],
            "storey": [storeys[e[2]].name for e in elements],
            "storey_index": [e[2] for e in elements],
            "storey_elevation_m": [storeys[e[2]].elevation_m for e in elements],
            "material": ["" for _ in elements],
            "color": ["#{:02x}{:02x}{:02x}".format(*e[4]) for e in elements],
            "psets": [
                json.dumps({"Pset_Common": {"Reference": e[1], "IsExternal": e[0] != "IfcSpace"}})
                for e in elements
            ],
            "predefined_type": ["NOTDEFINED" for _ in elements],
        }
    )
    counts: dict[str, int] = {}
    for e in elements:
        counts[e[0]] = counts.get(e[0], 0) + 1
    info = IfcInfo("IFC4", storeys, Georef("user", "EPSG:4326"), counts, (), "synthetic")
    return FeatureSet(f"{name}", IFC, name, ids, table, mesh, meta=info)
