"""A triangle mesh as plain arrays, shared by rendering and engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Codes of the per-triangle ``surface`` array (CityJSON semantic surfaces folded to four).
SURFACE_GROUND = 0
SURFACE_WALL = 1
SURFACE_ROOF = 2
SURFACE_OTHER = 3
SURFACE_NAMES = ("ground", "wall", "roof", "other")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, eq=False)
class TriMesh:
    """Triangles over shared points with per-triangle arrays.

    Attributes
    ----------
    points
        (n, 3) float64 vertex coordinates in local metres.
    triangles
        (m, 3) int64 vertex indices, counter-clockwise seen from outside (outward normals).
    cell_data
        Per-triangle arrays of length m, e.g. ``building_index`` (int32) and ``surface`` (uint8).
    """

    points: FloatArray
    triangles: IntArray
    cell_data: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    @property
    def n_triangles(self) -> int:
        """Number of triangles."""
        return int(self.triangles.shape[0])

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.points.shape[0])

    @classmethod
    def empty(cls, *cell_arrays: tuple[str, Any]) -> TriMesh:
        """A mesh with no triangles (and the named empty cell arrays)."""
        return cls(
            np.zeros((0, 3), np.float64),
            np.zeros((0, 3), np.int64),
            {name: np.zeros(0, dtype) for name, dtype in cell_arrays},
        )

    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """(xmin, xmax, ymin, ymax, zmin, zmax) of the used points (VTK order)."""
        if self.n_points == 0:
            return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        lo = self.points.min(axis=0)
        hi = self.points.max(axis=0)
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))

    def face_normals(self) -> FloatArray:
        """Unit normal of every triangle, (m, 3); zero for degenerate triangles."""
        p = self.points
        t = self.triangles
        n = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
        length = np.linalg.norm(n, axis=1)
        ok = length > 0
        n[ok] /= length[ok, None]
        return n

    def areas(self) -> FloatArray:
        """Area of every triangle in square metres."""
        p = self.points
        t = self.triangles
        area: FloatArray = 0.5 * np.linalg.norm(
            np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]), axis=1
        )
        return area


def concat_meshes(meshes: list[TriMesh]) -> TriMesh:
    """Concatenate meshes into one, offsetting triangle indices.

    Cell arrays present in every mesh are kept; others are dropped.
    """
    meshes = [m for m in meshes if m.n_triangles > 0]
    if not meshes:
        return TriMesh.empty()
    if len(meshes) == 1:
        return meshes[0]
    offsets = np.cumsum([0] + [m.n_points for m in meshes[:-1]])
    points = np.concatenate([m.points for m in meshes])
    triangles = np.concatenate([m.triangles + o for m, o in zip(meshes, offsets, strict=True)])
    names = set(meshes[0].cell_data).intersection(*(m.cell_data for m in meshes[1:]))
    cell = {k: np.concatenate([m.cell_data[k] for m in meshes]) for k in sorted(names)}
    return TriMesh(points, triangles, cell)
