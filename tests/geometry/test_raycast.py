"""Batched ray casting: analytic scenes, grazing rays, and a brute-force Moller-Trumbore reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin_app.errors import GeometryError
from twin_app.geometry import raycast
from twin_app.geometry.raycast import Occluder, embree_available

BACKENDS = [
    pytest.param(
        "embree", marks=pytest.mark.skipif(not embree_available(), reason="embreex missing")
    ),
    "grid",
]


def _cube(lo: float = 0.0, hi: float = 1.0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Axis-aligned cube as 12 outward triangles (each face split along a diagonal)."""
    p = np.array(
        [[x, y, z] for z in (lo, hi) for y in (lo, hi) for x in (lo, hi)], dtype=float
    )  # index = x + 2y + 4z
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tri = [[a, b, c] for a, b, c, _ in quads] + [[a, c, d] for a, _, c, d in quads]
    return p, np.array(tri)


def _brute_force(
    pts: np.ndarray[Any, Any], tri: np.ndarray[Any, Any], o: np.ndarray[Any, Any], d: Any
) -> np.ndarray[Any, Any]:
    """Nearest t > 0 over all triangles, numpy Moller-Trumbore written out independently."""
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    v0, v1, v2 = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    e1, e2 = (v1 - v0)[None], (v2 - v0)[None]  # (1, m, 3)
    dd = d[:, None, :]  # (n, 1, 3)
    h = np.cross(dd, e2)
    a = np.einsum("nmk,nmk->nm", np.broadcast_to(e1, h.shape), h)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 1.0 / a
        s = o[:, None, :] - v0[None]
        u = f * np.einsum("nmk,nmk->nm", s, h)
        q = np.cross(s, np.broadcast_to(e1, s.shape))
        v = f * np.einsum("nmk,nmk->nm", np.broadcast_to(dd, q.shape), q)
        t = f * np.einsum("nmk,nmk->nm", np.broadcast_to(e2, q.shape), q)
        ok = (np.abs(a) > 1e-12) & (u >= 0) & (u <= 1) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.where(ok, t, np.inf).min(axis=1)  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unit_cube_distances_and_segments(backend: str) -> None:
    occ = Occluder(*_cube(), backend=backend)
    assert occ.backend == backend and occ.n_triangles == 12
    o = np.array([[-1.0, 0.3, 0.6], [0.5, 0.5, 3.0], [0.5, 0.5, 0.5], [2.0, 2.0, 2.0]])
    d = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # direction length does not matter: distances are metres along the unit direction
    assert occ.first_hit(o, d) == pytest.approx([1.0, 2.0, 0.5, np.inf], abs=1e-5)
    assert occ.occluded(o, d).tolist() == [True, True, True, False]
    # segments that end before the face are clear; per-ray ends
    assert occ.occluded(o, d, [0.99, 2.01, 0.49, 9.0]).tolist() == [False, True, False, False]
    assert occ.first_hit(o, d, 1.5).tolist()[1] == np.inf


@pytest.mark.parametrize("backend", BACKENDS)
def test_rays_grazing_the_cube(backend: str) -> None:
    occ = Occluder(*_cube(), backend=backend)
    eps = 1e-4
    o = np.array(
        [
            [-1.0, 0.5, 1.0 + eps],  # just above the top face, parallel to it
            [-1.0, 0.5, 1.0 - eps],  # just below: enters through x = 0
            [-1.0, 1.0 + eps, 0.5],  # just beside the y = 1 face
            [-1.0, 0.5, -1.0],  # aimed at the bottom edge (0, 0.5, 0)
            [0.5, 0.5, 2.0],  # down through the shared diagonal of the top face
            [-1.0, -1.0, 0.5],  # diagonally at the vertical edge (0, 0, z)
        ]
    )
    d = np.array(
        [
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
            [1.0, 1.0, 0.0],
        ]
    )
    # edges shared by two triangles or two faces never let a ray through
    assert occ.occluded(o, d).tolist() == [False, True, False, True, True, True]
    hit = occ.first_hit(o, d)
    assert hit[[1, 3, 4, 5]] == pytest.approx([1.0, np.sqrt(2.0), 1.0, np.sqrt(2.0)], abs=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ground_plane_and_t_min(backend: str) -> None:
    pts = np.array([[-50.0, -50.0, 0.0], [50.0, -50.0, 0.0], [50.0, 50.0, 0.0], [-50, 50, 0.0]])
    occ = Occluder(pts, [[0, 1, 2], [0, 2, 3]], backend=backend)
    rng = np.random.default_rng(3)
    o = np.column_stack(
        [rng.uniform(-20, 20, 500), rng.uniform(-20, 20, 500), rng.uniform(1, 9, 500)]
    )
    d = np.column_stack([rng.uniform(-1, 1, 500), rng.uniform(-1, 1, 500), -np.ones(500)])
    expected = o[:, 2] * np.linalg.norm(d, axis=1)  # z / cos(angle to the vertical)
    assert occ.first_hit(o, d) == pytest.approx(expected, rel=1e-5)
    # a receptor on the ground looking up is not shadowed by the ground itself
    on = np.column_stack([o[:, :2], np.zeros(500)])
    up = d * [1.0, 1.0, -1.0]
    assert not occ.occluded(on, up, t_min=1e-3).any()
    assert not occ.occluded(o, -d).any()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scenes_match_brute_force(backend: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0.0, 10.0, (90, 3))
    tri = rng.integers(0, 90, (60, 3))
    o = rng.uniform(-3.0, 13.0, (3000, 3))
    d = rng.normal(size=(3000, 3))
    ref = _brute_force(pts, tri, o, d)
    occ = Occluder(pts, tri, backend=backend)
    got = occ.first_hit(o, d)
    assert np.array_equal(np.isfinite(got), np.isfinite(ref))
    fin = np.isfinite(ref)
    assert fin.sum() > 300
    assert got[fin] == pytest.approx(ref[fin], rel=1e-5, abs=1e-4)
    limit = rng.uniform(0.0, 12.0, 3000)
    far = np.abs(ref - limit) > 1e-3  # leave out the hits that float32 could put either side
    assert np.array_equal(occ.occluded(o, d, limit)[far], (ref < limit)[far])


@pytest.mark.parametrize("backend", BACKENDS)
def test_chunked_batches_give_the_same_answers(backend: str, monkeypatch: Any) -> None:
    rng = np.random.default_rng(7)
    occ_pts, occ_tri = rng.uniform(0, 5, (30, 3)), rng.integers(0, 30, (20, 3))
    occ = Occluder(occ_pts, occ_tri, backend=backend, threads=1)
    o, d = rng.uniform(-1, 6, (1000, 3)), rng.normal(size=(1000, 3))
    whole_hit, whole_occ = occ.first_hit(o, d), occ.occluded(o, d, 3.0)
    monkeypatch.setattr(raycast, "CHUNK", 37)
    assert np.array_equal(occ.first_hit(o, d), whole_hit)
    assert np.array_equal(occ.occluded(o, d, 3.0), whole_occ)
    # deterministic: a second run is bit-identical, and so is one on a pool of threads
    assert np.array_equal(occ.first_hit(o, d), whole_hit)
    pooled = Occluder(occ_pts, occ_tri, backend=backend, threads=3)
    assert np.array_equal(pooled.first_hit(o, d), whole_hit)
    assert np.array_equal(pooled.occluded(o, d, 3.0), whole_occ)


def test_backends_agree_on_a_city_block() -> None:
    if not embree_available():
        pytest.skip("embreex missing")
    boxes = [_cube(0.0, 1.0)]
    p, t = boxes[0]
    pts = np.concatenate(
        [p * [10, 20, h] + [x, y, 0] for x, y, h in [(0, 0, 30), (15, 0, 12), (0, 25, 50)]]
    )
    tri = np.concatenate([t + 8 * i for i in range(3)])
    rng = np.random.default_rng(11)
    o = np.column_stack(
        [rng.uniform(-10, 35, 4000), rng.uniform(-10, 55, 4000), np.full(4000, 1.5)]
    )
    d = np.column_stack([rng.normal(size=(4000, 2)), rng.uniform(0.05, 1.0, 4000)])
    e = Occluder(pts, tri, backend="embree").first_hit(o, d)
    g = Occluder(pts, tri, backend="grid").first_hit(o, d)
    assert np.array_equal(np.isfinite(e), np.isfinite(g))
    assert e[np.isfinite(e)] == pytest.approx(g[np.isfinite(g)], abs=1e-3)


def test_empty_and_degenerate_meshes_block_nothing() -> None:
    occ = Occluder(np.zeros((3, 3)), [[0, 1, 2]])  # zero-area triangle is left out
    assert occ.n_triangles == 0
    assert not occ.occluded(np.zeros((4, 3)), [0, 0, 1]).any()
    assert np.isinf(occ.first_hit(np.zeros((4, 3)), [0, 0, 1])).all()


def test_bad_input_is_a_geometry_error() -> None:
    pts, tri = _cube()
    with pytest.raises(GeometryError, match="out of range"):
        Occluder(pts, tri + 8)
    with pytest.raises(GeometryError, match="backend"):
        Occluder(pts, tri, backend="optix")
    occ = Occluder(pts, tri)
    with pytest.raises(GeometryError, match="ray 1"):
        occ.occluded(np.zeros((2, 3)), [[0, 0, 1], [0, 0, 0]])
    with pytest.raises(GeometryError, match=r"\(n, 3\)"):
        occ.first_hit(np.zeros((2, 2)), np.zeros((2, 2)))
