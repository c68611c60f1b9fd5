"""The city as feature sets in one local frame.

A :class:`CityModel` holds the :class:`~twin_app.model.frame.LocalFrame` and a list of
:class:`FeatureSet` (buildings, roads, areas, terrain, other city objects), each with its source
ids, an attribute table and one triangle mesh whose per-triangle index array maps a picked
triangle back to the feature row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin_app.model.camera import finite_bounds
from twin_app.model.frame import LocalFrame
from twin_app.model.mesh import FloatArray, IntArray, TriMesh

BUILDINGS = "buildings"
ROADS = "roads"
AREAS = "areas"
TERRAIN = "terrain"
OBJECTS = "objects"
PIPES = "pipes"
#: Flat ground context: land use, parks and green, water, railways (issue 10).
GROUND = "ground"
#: BIM elements of one IFC file (issue 12): walls, slabs, windows ... in one mesh.
IFC = "ifc"

#: Name of the per-triangle index array for each kind (DESIGN.md section 2: ids).
INDEX_ARRAY = {
    BUILDINGS: "building_index",
    ROADS: "segment_index",
    PIPES: "pipe_index",
    IFC: "element_index",
}


def index_array_name(kind: str) -> str:
    """Name of the per-triangle feature index array for a feature kind."""
    return INDEX_ARRAY.get(kind, "feature_index")


@dataclass(frozen=True, eq=False)
class Polylines:
    """Lines as ragged arrays in local metres (road centre lines, pipes).

    Attributes
    ----------
    coords
        (n, 3) float64 vertices.
    offsets
        (k + 1,) start of each line in `coords`.
    feature
        (k,) feature row of each line (parts of a MultiLineString share a row); None = identity.
    """

    coords: FloatArray
    offsets: IntArray
    feature: IntArray | None = None

    def line_feature(self) -> IntArray:
        """Feature row of every line."""
        if self.feature is not None:
            return self.feature
        return np.arange(self.n_lines, dtype=np.int64)

    @property
    def n_lines(self) -> int:
        """Number of lines."""
        return int(self.offsets.shape[0] - 1)

    def lengths_m(self) -> FloatArray:
        """Length of each line in metres (3D)."""
        seg = np.linalg.norm(np.diff(self.coords, axis=0), axis=1)
        seg = np.append(seg, 0.0)
        seg[self.offsets[1:] - 1] = 0.0  # no segment from one line's end to the next line
        out = np.zeros(self.n_lines)
        nonempty = np.diff(self.offsets) > 0
        out[nonempty] = np.add.reduceat(seg, self.offsets[:-1][nonempty])
        return out


@dataclass(eq=False)
class FeatureSet:
    """One kind of feature from one source, drawn as one mesh.

    Attributes
    ----------
    name
        Display name, e.g. ``"Buildings (porto.osm.pbf)"``.
    kind
        One of ``buildings``, ``roads``, ``areas``, ``terrain``, ``objects``, ``pipes``.
    source
        The file (and ``:layer``) it came from.
    ids
        Source id of every feature (str), row i of `table` and value i of the index array.
    table
        Attributes of every feature; buildings carry ``height_m``, roads ``class``, ``lanes``,
        ``width_m``.
    mesh
        All features' triangles with the index array named by :func:`index_array_name`.
    lines
        Centre lines for roads and pipes (engines route on them), else None.
    parts
        For CityJSON buildings: one row per BuildingPart (``id``, ``parent``), else None.
    meta
        Kind-specific facts about the whole set (IFC: storeys, georeference), else None.
    """

    name: str
    kind: str
    source: str
    ids: np.ndarray[Any, np.dtype[np.object_]]
    table: pd.DataFrame
    mesh: TriMesh
    lines: Polylines | None = None
    parts: pd.DataFrame | None = None
    #: Kind-specific facts that are not per feature (IFC: a :class:`twin_app.model.bim.IfcInfo`).
    meta: Any = None

    @property
    def index_array(self) -> str:
        """Name of the per-triangle feature index array of `mesh`."""
        return index_array_name(self.kind)

    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.ids)

    def feature_of_triangle(self, tri: int) -> int:
        """Feature row of a picked triangle."""
        return int(self.mesh.cell_data[self.index_array][tri])

    def feature_centroids(self) -> FloatArray:
        """(n_features, 3) mean of each feature's triangle centres (NaN for features with none).

        Cached: meshes do not change after load.
        """
        cached = self.__dict__.get("_centroids")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        n = self.n_features
        out = np.full((n, 3), np.nan)
        if self.mesh.n_triangles:
            idx = self.mesh.cell_data[self.index_array].astype(np.int64)
            centres = self.mesh.points[self.mesh.triangles].mean(axis=1)
            count = np.bincount(idx, minlength=n).astype(np.float64)
            has = count > 0
            for axis in range(3):
                out[has, axis] = (
                    np.bincount(idx, weights=centres[:, axis], minlength=n)[has] / count[has]
                )
        self.__dict__["_centroids"] = out
        return out

    def feature_bounds(
        self, indices: Any
    ) -> tuple[float, float, float, float, float, float] | None:
        """(xmin, xmax, ymin, ymax, zmin, zmax) of the given features' finite triangle points
        (None if none)."""
        if not self.mesh.n_triangles:
            return None
        mask = np.isin(self.mesh.cell_data[self.index_array], np.asarray(indices, dtype=np.int64))
        if not mask.any():
            return None
        # non-finite points are left out, so fly-to never aims at NaN
        return finite_bounds(self.mesh.points[self.mesh.triangles[mask].ravel()])

    def height_stats(self) -> dict[str, float] | None:
        """min/mean/max of ``height_m`` (None when the set has no heights)."""
        if "height_m" not in self.table or self.n_features == 0:
            return None
        h = self.table["height_m"].to_numpy(dtype=np.float64)
        h = h[np.isfinite(h)]
        if h.size == 0:
            return None
        return {"min": float(h.min()), "mean": float(h.mean()), "max": float(h.max())}


@dataclass(eq=False)
class CityModel:
    """Everything loaded, in one local frame.

    Attributes
    ----------
    frame
        The local metric frame shared by every set.
    sets
        Feature sets in load order.
    """

    frame: LocalFrame
    sets: list[FeatureSet] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[FeatureSet]:
        """All sets of one kind."""
        return [s for s in self.sets if s.kind == kind]

    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """Local (xmin, xmax, ymin, ymax, zmin, zmax) over every mesh."""
        boxes = np.array([s.mesh.bounds() for s in self.sets if s.mesh.n_triangles])
        if boxes.size == 0:
            return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return (
            float(boxes[:, 0].min()),
            float(boxes[:, 1].max()),
            float(boxes[:, 2].min()),
            float(boxes[:, 3].max()),
            float(boxes[:, 4].min()),
            float(boxes[:, 5].max()),
        )
