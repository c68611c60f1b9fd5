"""Pure numpy meshes (points, triangles, per-triangle feature index). No VTK here."""
