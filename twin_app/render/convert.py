"""TriMesh (numpy) -> PolyData (VTK) without per-cell Python work."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from twin_app.model.mesh import TriMesh


def to_polydata(mesh: TriMesh) -> pv.PolyData:
    """Wrap a :class:`TriMesh` as PolyData with its cell arrays (float32 points)."""
    if mesh.n_triangles == 0:
        return pv.PolyData()
    pd = pv.PolyData.from_regular_faces(
        np.ascontiguousarray(mesh.points, dtype=np.float32), np.ascontiguousarray(mesh.triangles)
    )
    for name, arr in mesh.cell_data.items():
        # Flat shading needs no normals array: VTK derives facet normals per fragment, and
        # uploading cell normals costs about 25% of a frame on software GL.
        if name != "Normals":
            pd.cell_data[name] = np.ascontiguousarray(arr)
    return pd
