"""Meshing of IFC products with ifcopenshell's geometry iterator, as plain numpy arrays.

This module runs inside the meshing worker process (:mod:`twin_app.io.ifc` starts it), so a
crash of a geometry kernel (``manifold`` segfaults on some files) takes down the worker, never
the app. Its only inputs and outputs are picklable: a path, settings and a dict of arrays.
Together with :mod:`twin_app.io.ifc` it is the only module that imports ifcopenshell.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Products that are never drawn: openings are subtracted from their walls.
EXCLUDED_CLASSES = ("IfcOpeningElement",)

#: Settings every meshing pass uses (world coordinates in metres, shared vertices).
MESH_SETTINGS: dict[str, Any] = {"use-world-coords": True, "weld-vertices": True}


def mesh_file(path: str, library: str, include: list[int] | None = None) -> dict[str, Any]:
    """Mesh the products of one IFC file with one geometry library.

    Parameters
    ----------
    path
        The IFC file.
    library
        ``cgal-simple``, ``opencascade``, ``manifold`` ... (ifcopenshell 0.9 names).
    include
        Only these products (STEP ids); default every product but openings.

    Returns
    -------
    dict
        ``elem_id`` (k,) int64 STEP id of each product with triangles; ``empty_id`` STEP ids
        of products the library returned without triangles; ``verts`` (n, 3) float64 world
        metres; ``tris`` (m, 3) int64 into ``verts``; ``tri_elem`` (m,) int32 row in
        ``elem_id``; ``tri_mat`` (m,) int32 row in ``mat_rgb`` or -1; ``mat_rgb`` (q, 3)
        float64 diffuse colours 0..1; ``library``; ``pid`` of the process that meshed.
    """
    import ifcopenshell
    import ifcopenshell.geom

    f = ifcopenshell.open(path)
    settings: Any = ifcopenshell.geom.settings()
    for key, value in MESH_SETTINGS.items():
        settings.set(key, value)
    kwargs: dict[str, Any] = {"geometry_library": library}
    if include is not None:
        if not include:
            return _pack([], [], [], [], [], [], [], library)
        kwargs["include"] = [f.by_id(i) for i in include]
    else:
        kwargs["exclude"] = list(EXCLUDED_CLASSES)
    it = ifcopenshell.geom.iterator(settings, f, 1, **kwargs)
    elem_ids: list[int] = []
    empty_ids: list[int] = []
    verts: list[bytes] = []
    faces: list[bytes] = []
    mat_ids: list[bytes] = []
    n_mats: list[int] = []
    colours: list[tuple[float, float, float]] = []
    if it.initialize():
        while True:
            shape = it.get()
            geom = shape.geometry
            fbuf = geom.faces_buffer
            if len(fbuf) == 0:
                empty_ids.append(int(shape.id))
            else:
                elem_ids.append(int(shape.id))
                verts.append(geom.verts_buffer)
                faces.append(fbuf)
                mat_ids.append(geom.material_ids_buffer)
                mats = geom.materials
                n_mats.append(len(mats))
                for m in mats:
                    d = m.diffuse
                    colours.append((float(d.r()), float(d.g()), float(d.b())))
            if not it.next():
                break
    return _pack(elem_ids, empty_ids, verts, faces, mat_ids, n_mats, colours, library)


def _pack(
    elem_ids: list[int],
    empty_ids: list[int],
    verts: list[bytes],
    faces: list[bytes],
    mat_ids: list[bytes],
    n_mats: list[int],
    colours: list[tuple[float, float, float]],
    library: str,
) -> dict[str, Any]:
    """Concatenate per-element buffers into global arrays (no per-triangle Python work)."""
    k = len(elem_ids)
    v_parts = [np.frombuffer(b, np.float64) for b in verts]
    f_parts = [np.frombuffer(b, np.int32) for b in faces]
    m_parts = [np.frombuffer(b, np.int32) for b in mat_ids]
    nv = np.array([p.size // 3 for p in v_parts], np.int64)
    nt = np.array([p.size // 3 for p in f_parts], np.int64)
    v = np.concatenate(v_parts).reshape(-1, 3) if k else np.zeros((0, 3))
    t = np.concatenate(f_parts).astype(np.int64).reshape(-1, 3) if k else np.zeros((0, 3), np.int64)
    tri_elem = np.repeat(np.arange(k, dtype=np.int32), nt)
    v_off = np.concatenate([[0], np.cumsum(nv)[:-1]]) if k else np.zeros(0, np.int64)
    t += v_off[tri_elem][:, None]
    tri_mat = np.full(tri_elem.shape[0], -1, np.int32)
    if k:
        mat_off = np.concatenate([[0], np.cumsum(np.array(n_mats, np.int64))[:-1]])
        local_mat = np.concatenate(m_parts).astype(np.int64)
        # material ids are per element (-1: none); a library that gives none per face: all -1
        if local_mat.shape[0] == tri_elem.shape[0]:
            ok = (local_mat >= 0) & (local_mat < np.array(n_mats, np.int64)[tri_elem])
            tri_mat[ok] = (local_mat + mat_off[tri_elem])[ok]
    return {
        "elem_id": np.array(elem_ids, np.int64),
        "empty_id": np.array(empty_ids, np.int64),
        "verts": np.ascontiguousarray(v, np.float64),
        "tris": t,
        "tri_elem": tri_elem,
        "tri_mat": tri_mat,
        "mat_rgb": np.array(colours, np.float64).reshape(-1, 3),
        "library": library,
        "pid": os.getpid(),
    }


def serve(conn: Any) -> None:
    """The worker process's loop: ``(function name, kwargs)`` in, ``("ok", result)`` or
    ``("error", type name, text)`` out, until ``None`` or the pipe closes."""
    import ifcopenshell.geom  # noqa: F401  (warm: a fresh worker is ready for its first job)

    funcs = {"mesh_file": mesh_file}
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        name, kwargs = job
        try:
            conn.send(("ok", funcs[name](**kwargs)))
        except Exception as exc:  # reported to the app as one line; the worker lives on
            conn.send(("error", type(exc).__name__, " ".join(str(exc).split())[:300]))


def main() -> None:
    """Entry of ``python -m twin_app.io.ifc_worker``: listen on a loopback port, print it, serve
    the one connection that brings the key from ``TWIN_IFC_WORKER_KEY``."""
    from multiprocessing.connection import Listener

    key = bytes.fromhex(os.environ.pop("TWIN_IFC_WORKER_KEY"))
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        print(listener.address[1], flush=True)
        conn = listener.accept()
    serve(conn)


if __name__ == "__main__":
    main()
