"""The numba kernel of the grid backend of :mod:`twin_app.geometry.raycast` (imported lazily:
compiling it takes a few seconds, once per machine thanks to numba's disk cache)."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@numba.njit(cache=True, nogil=True)
def _hit(
    ox: float,
    oy: float,
    oz: float,
    dx: float,
    dy: float,
    dz: float,
    v0: FloatArray,
    e1: FloatArray,
    e2: FloatArray,
    k: int,
) -> float:
    """Moller-Trumbore: distance to triangle k, or inf (edges count as hits)."""
    px = dy * e2[k, 2] - dz * e2[k, 1]
    py = dz * e2[k, 0] - dx * e2[k, 2]
    pz = dx * e2[k, 1] - dy * e2[k, 0]
    det = e1[k, 0] * px + e1[k, 1] * py + e1[k, 2] * pz
    if det == 0.0:
        return math.inf
    inv = 1.0 / det
    sx = ox - v0[k, 0]
    sy = oy - v0[k, 1]
    sz = oz - v0[k, 2]
    u = (sx * px + sy * py + sz * pz) * inv
    if u < 0.0 or u > 1.0:
        return math.inf
    qx = sy * e1[k, 2] - sz * e1[k, 1]
    qy = sz * e1[k, 0] - sx * e1[k, 2]
    qz = sx * e1[k, 1] - sy * e1[k, 0]
    v = (dx * qx + dy * qy + dz * qz) * inv
    if v < 0.0 or u + v > 1.0:
        return math.inf
    return float((e2[k, 0] * qx + e2[k, 1] * qy + e2[k, 2] * qz) * inv)


@numba.njit(cache=True, parallel=True)
def grid_cast(
    o: FloatArray,
    d: FloatArray,
    tmax: FloatArray,
    t_min: float,
    any_hit: bool,
    v0: FloatArray,
    e1: FloatArray,
    e2: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    size: FloatArray,
    shape: IntArray,
    start: IntArray,
    items: IntArray,
) -> FloatArray:
    """Nearest (or, with `any_hit`, some) hit in ``(t_min, tmax)`` of every ray; inf if none."""
    n = o.shape[0]
    nx, ny = shape[0], shape[1]
    out = np.full(n, np.inf)
    for i in numba.prange(n):
        ox, oy, oz = o[i, 0], o[i, 1], o[i, 2]
        dx, dy, dz = d[i, 0], d[i, 1], d[i, 2]
        t0, t1 = t_min, tmax[i]
        # clip the segment to the grid's box (slab test)
        ok = True
        for a in range(3):
            oa, da = o[i, a], d[i, a]
            if da == 0.0:
                if oa < lo[a] or oa > hi[a]:
                    ok = False
            else:
                ta = (lo[a] - oa) / da
                tb = (hi[a] - oa) / da
                if ta > tb:
                    ta, tb = tb, ta
                t0 = max(t0, ta)
                t1 = min(t1, tb)
        if not ok or t0 > t1:
            continue
        px = ox + t0 * dx
        py = oy + t0 * dy
        ix = min(max(int(np.floor((px - lo[0]) / size[0])), 0), nx - 1)
        iy = min(max(int(np.floor((py - lo[1]) / size[1])), 0), ny - 1)
        if dx > 0.0:
            stx, tdx = 1, size[0] / dx
            tmx = (lo[0] + (ix + 1) * size[0] - ox) / dx
        elif dx < 0.0:
            stx, tdx = -1, -size[0] / dx
            tmx = (lo[0] + ix * size[0] - ox) / dx
        else:
            stx, tdx, tmx = 0, math.inf, math.inf
        if dy > 0.0:
            sty, tdy = 1, size[1] / dy
            tmy = (lo[1] + (iy + 1) * size[1] - oy) / dy
        elif dy < 0.0:
            sty, tdy = -1, -size[1] / dy
            tmy = (lo[1] + iy * size[1] - oy) / dy
        else:
            sty, tdy, tmy = 0, math.inf, math.inf
        best = math.inf
        while True:
            c = ix * ny + iy
            for j in range(start[c], start[c + 1]):
                t = _hit(ox, oy, oz, dx, dy, dz, v0, e1, e2, items[j])
                if t_min < t < tmax[i] and t < best:
                    best = t
                    if any_hit:
                        break
            exit_t = min(tmx, tmy)
            if any_hit and best < math.inf:
                break
            if best <= exit_t or exit_t >= t1:
                break
            if tmx < tmy:
                ix += stx
                tmx += tdx
                if ix < 0 or ix >= nx:
                    break
            else:
                iy += sty
                tmy += tdy
                if iy < 0 or iy >= ny:
                    break
        out[i] = best
    return out
