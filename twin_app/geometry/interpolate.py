"""Interpolation from fixed stations to a regular grid as one precomputed sparse matrix.

Stations do not move, so every linear interpolator here is written once as a sparse weight
matrix ``W`` of shape ``(n_cells, n_stations)`` (``scipy.sparse.csr_matrix``), built when the
layer is set up. A clock tick is then one sparse matrix-vector product,

.. math::

    z_c = \\sum_s W_{cs} \\, v_s \\qquad (\\text{grid} = W v),

about 2 ms for a 500 x 500 grid with 1,000 stations and 12 neighbours per cell on one core,
against 0.3-0.6 s to redo the neighbour search and the weights. Cells are numbered row-major, ``c = iy * nx +
ix``, so ``(W @ v).reshape(ny, nx)`` is the grid as an image with ``y`` along the first axis.

Inverse distance weighting (:class:`IDWGrid`)
---------------------------------------------
Shepard's method restricted to the ``k`` nearest stations within ``max_distance``:

.. math::

    W_{cs} = \\frac{d_{cs}^{-p}}{\\sum_{t \\in N(c)} d_{ct}^{-p}}, \\qquad s \\in N(c)

with ``d`` the distance in metres from the cell centre to the station, ``p`` the power
(default 2) and ``N(c)`` the neighbours found by a ``scipy.spatial.cKDTree`` query. Each row sums
to one and is non-negative, so every cell value is a convex combination of station values: a
constant field stays constant and the result never leaves ``[min v, max v]``. References:
D. Shepard (1968), "A two-dimensional interpolation function for irregularly-spaced data",
Proc. 23rd ACM National Conference, 517-524; R. Franke (1982), Math. Comp. 38, 181-200 (local,
k-nearest variants).

Ordinary kriging (:class:`OrdinaryKrigingGrid`)
-----------------------------------------------
The ordinary-kriging estimate is linear in the station values too, so it fits the same scheme.
For each cell ``x0`` and its neighbours ``x_1..x_m`` the weights ``lambda`` and the Lagrange
multiplier ``mu`` solve

.. math::

    \\begin{pmatrix} \\Gamma & 1 \\\\ 1^T & 0 \\end{pmatrix}
    \\begin{pmatrix} \\lambda \\\\ \\mu \\end{pmatrix} =
    \\begin{pmatrix} \\gamma_0 \\\\ 1 \\end{pmatrix}, \\qquad
    \\Gamma_{ij} = \\gamma(|x_i - x_j|), \\; (\\gamma_0)_i = \\gamma(|x_i - x_0|)

(unbiasedness ``sum(lambda) = 1``), with kriging variance ``sigma^2 = lambda^T gamma_0 + mu``.
All cells are solved as a batch of small dense systems (``numpy.linalg.solve`` on a
``(cells, m + 1, m + 1)`` stack, cells with fewer neighbours padded with identity rows that
force zero weights). The variogram ``gamma`` is spherical or exponential (:class:`Variogram`),
given or fitted to station data with :func:`empirical_variogram` and :func:`fit_variogram`.
References: E. H. Isaaks and R. M. Srivastava (1989), *An Introduction to Applied
Geostatistics*, Oxford University Press, ch. 12 (ordinary kriging; its worked example is a
test here) and ch. 16 (variogram models); R. Webster and M. A. Oliver (2007),
*Geostatistics for Environmental Scientists*, 2nd ed., Wiley, ch. 5 and 8.

Station cells and missing values
--------------------------------
A grid cell that contains a station takes that station's value exactly (the mean if several
stations share the cell), whatever the method. Cells farther than ``max_distance`` from every
station are NaN.

A station that reports NaN on a tick is left out **without rebuilding** ``W``: with
``f = isfinite(v)`` and ``v' = nan_to_num(v)``,

.. math::

    z_c = \\frac{(W v')_c}{(W f)_c} = \\frac{\\sum_{s \\,\\mathrm{finite}} W_{cs} v_s}
                                           {\\sum_{s \\,\\mathrm{finite}} W_{cs}},

i.e. the weights of the remaining neighbours are renormalised to sum to one (cells whose
neighbours are all missing become NaN). For IDW this is exactly IDW over the remaining stations.
For kriging it keeps the estimate unbiased but is not the kriging solution for the reduced
station set (that would need a new solve). A cell whose own station is missing falls back to
the interpolation from its other neighbours, held in a second small matrix. Ticks without
missing values take a single product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin_app.errors import TwinError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Cells solved per batch when the kriging weights are built (bounds the temporary memory).
KRIGING_CHUNK_CELLS = 16384

#: Renormalisation denominators at or below this are "no usable neighbour" (the cell is NaN).
MIN_WEIGHT_SUM = 1e-9


class InterpolationError(TwinError, ValueError):
    """Inconsistent stations, grid, parameters or per-tick values for an interpolator."""


def _as_axis(values: ArrayLike, name: str) -> FloatArray:
    axis = np.asarray(values, dtype=np.float64)
    if axis.ndim != 1 or axis.size < 2:
        raise InterpolationError(f"{name} must be a 1-D array of at least 2 cell centres")
    if not np.all(np.isfinite(axis)) or not np.all(np.diff(axis) > 0):
        raise InterpolationError(f"{name} must be finite and strictly increasing")
    return axis


def _cell_edges(centres: FloatArray) -> FloatArray:
    """Cell boundaries: midpoints between centres, half a spacing beyond the outer ones."""
    mid = 0.5 * (centres[1:] + centres[:-1])
    first = centres[0] - 0.5 * (centres[1] - centres[0])
    last = centres[-1] + 0.5 * (centres[-1] - centres[-2])
    return np.concatenate([[first], mid, [last]])


class _StationGrid:
    """Fixed stations, fixed grid, one sparse weight matrix; subclasses supply the weights."""

    def __init__(
        self,
        station_xy: ArrayLike,
        grid_x: ArrayLike,
        grid_y: ArrayLike,
        k: int,
        max_distance: float | None,
    ) -> None:
        xy = np.asarray(station_xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
            raise InterpolationError(
                f"station_xy must have shape (n_stations, 2), got {np.shape(station_xy)}"
            )
        if not np.all(np.isfinite(xy)):
            raise InterpolationError("station_xy holds NaN or infinite coordinates")
        if int(k) < 1:
            raise InterpolationError(f"k must be at least 1, got {k}")
        if max_distance is not None and not (max_distance > 0):
            raise InterpolationError(f"max_distance must be positive or None, got {max_distance}")
        self._station_xy = xy
        self._grid_x = _as_axis(grid_x, "grid_x")
        self._grid_y = _as_axis(grid_y, "grid_y")
        self._k = min(int(k), xy.shape[0])
        self._max_distance = None if max_distance is None else float(max_distance)
        self._build()

    # ----- construction --------------------------------------------------------------------

    def _neighbour_weights(
        self, cells: FloatArray, dist: FloatArray, idx: IntArray, keep: BoolArray
    ) -> tuple[FloatArray, FloatArray | None]:
        """(n_cells, k) weights (0 where not ``keep``) and optional per-cell variance."""
        raise NotImplementedError

    def _build(self) -> None:
        from scipy import sparse
        from scipy.spatial import cKDTree

        nx, ny, n = self._grid_x.size, self._grid_y.size, self._station_xy.shape[0]
        n_cells = nx * ny
        gx, gy = np.meshgrid(self._grid_x, self._grid_y)  # (ny, nx): row-major c = iy*nx+ix
        cells = np.column_stack([gx.ravel(), gy.ravel()])

        # The cell that contains each station (-1 outside the grid); a station on an inner
        # boundary belongs to the cell above it.
        ix = np.searchsorted(_cell_edges(self._grid_x), self._station_xy[:, 0], "right") - 1
        iy = np.searchsorted(_cell_edges(self._grid_y), self._station_xy[:, 1], "right") - 1
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        station_cell = np.where(inside, iy * nx + ix, -1)
        own_station = np.flatnonzero(inside)
        own_cell_of_station = station_cell[own_station]
        own_rows = np.unique(own_cell_of_station)

        bound = np.inf if self._max_distance is None else np.nextafter(self._max_distance, np.inf)
        dist, idx = cKDTree(self._station_xy).query(
            cells, k=self._k, distance_upper_bound=bound, workers=-1
        )
        dist = np.asarray(dist, dtype=np.float64).reshape(n_cells, self._k)
        idx = np.asarray(idx, dtype=np.int64).reshape(n_cells, self._k)
        # Missing neighbours come back as (inf, n); stations inside the cell itself are not
        # neighbours (they set the cell's value exactly, see below).
        cell_of = np.append(station_cell, -1)[idx]
        keep = np.isfinite(dist) & (cell_of != np.arange(n_cells)[:, None])
        weights, variance = self._neighbour_weights(cells, dist, np.minimum(idx, n - 1), keep)

        is_own = np.zeros(n_cells, dtype=bool)
        is_own[own_rows] = True
        main = keep & ~is_own[:, None]
        rows = np.broadcast_to(np.arange(n_cells)[:, None], idx.shape)
        counts = np.bincount(own_cell_of_station, minlength=n_cells)
        self._weights = sparse.csr_matrix(
            (
                np.concatenate([weights[main], 1.0 / counts[own_cell_of_station]]),
                (
                    np.concatenate([rows[main], own_cell_of_station]),
                    np.concatenate([idx[main], own_station]),
                ),
            ),
            shape=(n_cells, n),
        )
        # Fallback rows for station cells whose stations are all missing on a tick.
        own_keep = keep[own_rows]
        self._own_rows = own_rows
        self._fallback = sparse.csr_matrix(
            (
                weights[own_rows][own_keep],
                (
                    np.broadcast_to(np.arange(own_rows.size)[:, None], own_keep.shape)[own_keep],
                    idx[own_rows][own_keep],
                ),
            ),
            shape=(own_rows.size, n),
        )
        self._covered: BoolArray = np.asarray(np.diff(self._weights.indptr) > 0, dtype=bool)
        self._uncovered = np.flatnonzero(~self._covered)
        self._station_cell = station_cell
        if variance is not None:
            var = variance.astype(np.float32)
            var[own_rows] = 0.0
            var[~self._covered] = np.nan
            self._variance: NDArray[np.float32] | None = var.reshape(ny, nx)
        else:
            self._variance = None

    # ----- public API ----------------------------------------------------------------------

    @property
    def weights(self) -> Any:
        """The ``scipy.sparse.csr_matrix`` ``W`` of shape ``(n_cells, n_stations)``.

        Row ``c = iy * nx + ix`` holds the weights of cell ``(iy, ix)``; rows of cells beyond
        ``max_distance`` are empty. ``W @ v`` is the grid (flattened) when no value is missing;
        :meth:`interpolate` adds the NaN handling.
        """
        return self._weights

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: the shape of the grids :meth:`interpolate` returns."""
        return (self._grid_y.size, self._grid_x.size)

    @property
    def n_stations(self) -> int:
        """Number of stations (columns of :attr:`weights`)."""
        return int(self._station_xy.shape[0])

    @property
    def covered(self) -> NDArray[np.bool_]:
        """``(ny, nx)`` bool: cells with at least one station weight (the others are NaN)."""
        return self._covered.reshape(self.shape)

    @property
    def station_cell(self) -> IntArray:
        """``(n_stations,)`` flat index ``iy * nx + ix`` of the cell holding each station, -1
        for stations outside the grid."""
        return self._station_cell

    def interpolate(
        self, values: ArrayLike, out: NDArray[np.float32] | None = None
    ) -> NDArray[np.float32]:
        """Grid of one tick: ``W @ values``, with missing stations renormalised away.

        Parameters
        ----------
        values
            ``(n_stations,)`` station values (any unit); NaN marks a station without a value
            on this tick.
        out
            Optional float32 C-contiguous ``(ny, nx)`` array to write into (for example the
            array behind a texture), so a tick allocates no grid.

        Returns
        -------
        numpy.ndarray
            float32 ``(ny, nx)``; NaN beyond ``max_distance`` and where every neighbour is
            missing.
        """
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (self.n_stations,):
            raise InterpolationError(f"values must have shape ({self.n_stations},), got {v.shape}")
        if out is None:
            out = np.empty(self.shape, dtype=np.float32)
        elif out.shape != self.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise InterpolationError(
                f"out must be a C-contiguous float32 array of shape {self.shape}"
            )
        flat = out.reshape(-1)
        finite = np.isfinite(v)
        if finite.all():
            flat[:] = self._weights @ v
            flat[self._uncovered] = np.nan
            return out
        filled = np.where(finite, v, 0.0)
        present = finite.astype(np.float64)
        num = self._weights @ filled
        # The weight sums depend only on which stations are missing, which rarely changes from
        # one tick to the next: keep the last pattern's sums (one product per tick, not two).
        key = finite.tobytes()
        cached = self.__dict__.get("_den_cache")
        if cached is not None and cached[0] == key:
            den = cached[1].copy()
        else:
            den = self._weights @ present
            self.__dict__["_den_cache"] = (key, den.copy())
        if self._own_rows.size:
            lost = den[self._own_rows] <= MIN_WEIGHT_SUM
            if lost.any():
                rows = self._own_rows[lost]
                num[rows] = (self._fallback @ filled)[lost]
                den[rows] = (self._fallback @ present)[lost]
        ok = den > MIN_WEIGHT_SUM
        flat[:] = np.divide(num, den, out=np.full_like(num, np.nan), where=ok)
        return out


class IDWGrid(_StationGrid):
    """Inverse-distance-weighted grid from fixed stations, as a precomputed sparse matrix.

    ``W[c, s] = d_cs^-p / sum_t d_ct^-p`` over the ``k`` stations nearest to the centre of cell
    ``c`` within ``max_distance`` (Shepard 1968; see the module docstring). Build once, then call
    :meth:`interpolate` every tick.

    Parameters
    ----------
    station_xy
        ``(n_stations, 2)`` station positions in local metres (x east, y north).
    grid_x, grid_y
        Cell-centre coordinates in metres, 1-D, strictly increasing, at least 2 each; the grid
        has shape ``(len(grid_y), len(grid_x))``.
    power
        Distance exponent ``p`` (> 0). 2 is the common choice; larger values flatten the field
        around stations.
    k
        Number of nearest stations per cell (all stations if there are fewer).
    max_distance
        Search radius in metres: only stations within it contribute, and cells with none are
        NaN. ``None``: unlimited.

    Examples
    --------
    >>> import numpy as np
    >>> grid = IDWGrid([[0.0, 0.0], [100.0, 0.0]], np.arange(0, 101, 50.0), [0.0, 50.0])
    >>> grid.interpolate([1.0, 3.0])[0].tolist()
    [1.0, 2.0, 3.0]
    """

    def __init__(
        self,
        station_xy: ArrayLike,
        grid_x: ArrayLike,
        grid_y: ArrayLike,
        power: float = 2.0,
        k: int = 12,
        max_distance: float | None = None,
    ) -> None:
        if not (power > 0):
            raise InterpolationError(f"power must be positive, got {power}")
        self.power = float(power)
        super().__init__(station_xy, grid_x, grid_y, k, max_distance)

    def _neighbour_weights(
        self, cells: FloatArray, dist: FloatArray, idx: IntArray, keep: BoolArray
    ) -> tuple[FloatArray, FloatArray | None]:
        # (d_min / d)^p instead of d^-p: the same normalised weights without overflow for
        # large p or tiny distances.
        d = np.where(keep, np.maximum(dist, 1e-12), np.inf)
        d_min = d.min(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(keep, (d_min / d) ** self.power, 0.0)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        return w, None


@dataclass(frozen=True)
class Variogram:
    """An isotropic semivariogram model ``gamma(h)`` (value units squared, ``h`` in metres).

    With nugget ``c0``, partial sill ``c = sill - c0`` and range ``a``, for ``h > 0``:

    - spherical: ``gamma(h) = c0 + c * (1.5 h/a - 0.5 (h/a)^3)`` for ``h <= a``, ``c0 + c``
      beyond (``a`` is where the sill is reached);
    - exponential: ``gamma(h) = c0 + c * (1 - exp(-3 h / a))`` (``a`` is the *practical*
      range, where 95 % of the sill is reached);

    and ``gamma(0) = 0`` (Isaaks and Srivastava 1989, ch. 16; Webster and Oliver 2007, ch. 5).

    Attributes
    ----------
    model
        ``"spherical"`` or ``"exponential"``.
    sill
        Total sill ``c0 + c`` (> nugget).
    range_m
        Range ``a`` in metres (> 0).
    nugget
        Nugget ``c0`` (>= 0).
    """

    model: Literal["spherical", "exponential"]
    sill: float
    range_m: float
    nugget: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in ("spherical", "exponential"):
            raise InterpolationError(
                f"variogram model must be 'spherical' or 'exponential', not {self.model!r}"
            )
        if not (self.range_m > 0):
            raise InterpolationError(f"variogram range_m must be positive, got {self.range_m}")
        if not (self.nugget >= 0) or not (self.sill > self.nugget):
            raise InterpolationError(
                f"variogram needs 0 <= nugget < sill, got nugget={self.nugget}, sill={self.sill}"
            )

    def __call__(self, h: ArrayLike) -> FloatArray:
        """Semivariance at lag distances ``h`` (metres), element-wise."""
        lag = np.asarray(h, dtype=np.float64)
        return np.where(
            lag > 0,
            _model_gamma(self.model, lag, self.nugget, self.sill - self.nugget, self.range_m),
            0.0,
        )


def _model_gamma(
    model: str, h: FloatArray, nugget: float, partial_sill: float, range_m: float
) -> FloatArray:
    """Model variogram without the ``gamma(0) = 0`` special case (also used for fitting)."""
    r = np.asarray(h, dtype=np.float64) / range_m
    if model == "spherical":
        r = np.minimum(r, 1.0)  # flat at the sill beyond the range (and no inf - inf)
        shape = 1.5 * r - 0.5 * r**3
    else:
        shape = 1.0 - np.exp(-3.0 * r)
    return np.asarray(nugget + partial_sill * shape, dtype=np.float64)


class OrdinaryKrigingGrid(_StationGrid):
    """Ordinary kriging from fixed stations to a grid, as a precomputed sparse matrix.

    Each cell solves the ordinary-kriging system of its ``k`` nearest stations within
    ``max_distance`` (module docstring), all cells as one batched ``numpy.linalg.solve``; the
    weights go into :attr:`weights` like IDW's, so a tick is again one sparse product. Kriging
    weights can be negative: the result is not bounded by the station values, and the NaN
    renormalisation of :meth:`interpolate` is an approximation (module docstring).

    Parameters
    ----------
    station_xy, grid_x, grid_y, k, max_distance
        As for :class:`IDWGrid`. Station positions must be distinct (coincident stations make
        the kriging system singular).
    variogram
        The :class:`Variogram`, for example from :func:`fit_variogram`.

    Attributes
    ----------
    variance
        float32 ``(ny, nx)`` ordinary-kriging variance ``lambda^T gamma_0 + mu`` (value units
        squared); 0 in station cells, NaN where the grid is not covered.
    """

    def __init__(
        self,
        station_xy: ArrayLike,
        grid_x: ArrayLike,
        grid_y: ArrayLike,
        variogram: Variogram,
        k: int = 12,
        max_distance: float | None = None,
    ) -> None:
        xy = np.asarray(station_xy, dtype=np.float64)
        if xy.ndim == 2 and np.unique(xy, axis=0).shape[0] != xy.shape[0]:
            raise InterpolationError(
                "kriging needs distinct station positions: merge or drop stations that share "
                "coordinates"
            )
        self.variogram = variogram
        super().__init__(xy, grid_x, grid_y, k, max_distance)

    @property
    def variance(self) -> NDArray[np.float32]:
        """Kriging variance per cell (see the class docstring)."""
        assert self._variance is not None
        return self._variance

    def _neighbour_weights(
        self, cells: FloatArray, dist: FloatArray, idx: IntArray, keep: BoolArray
    ) -> tuple[FloatArray, FloatArray | None]:
        n_cells, k = idx.shape
        weights = np.zeros((n_cells, k))
        variance = np.full(n_cells, np.nan)
        todo = np.flatnonzero(keep.any(axis=1))
        eye = np.eye(k, dtype=bool)
        for start in range(0, todo.size, KRIGING_CHUNK_CELLS):
            rows = todo[start : start + KRIGING_CHUNK_CELLS]
            m = rows.size
            kp = keep[rows]  # (m, k)
            pts = self._station_xy[idx[rows]]  # (m, k, 2)
            pair = np.linalg.norm(pts[:, :, None, :] - pts[:, None, :, :], axis=-1)
            both = kp[:, :, None] & kp[:, None, :]
            a = np.zeros((m, k + 1, k + 1))
            # Padded (unused) neighbour slots get an identity row and column and a zero
            # right-hand side, which forces their weight to 0 without touching the others.
            a[:, :k, :k] = np.where(both, self.variogram(pair), np.where(eye, 1.0, 0.0))
            a[:, :k, k] = kp
            a[:, k, :k] = kp
            rhs = np.zeros((m, k + 1))
            gamma0 = np.where(kp, self.variogram(np.where(kp, dist[rows], 0.0)), 0.0)
            rhs[:, :k] = gamma0
            rhs[:, k] = 1.0
            sol = np.linalg.solve(a, rhs[:, :, None])[:, :, 0]
            lam = np.where(kp, sol[:, :k], 0.0)
            weights[rows] = lam
            variance[rows] = np.einsum("ij,ij->i", lam, gamma0) + sol[:, k]
        return weights, variance


def empirical_variogram(
    station_xy: ArrayLike,
    values: ArrayLike,
    n_lags: int = 15,
    max_lag_m: float | None = None,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Matheron's classical semivariogram estimate from station values.

    .. math::

        \\hat\\gamma(h_b) = \\frac{1}{2 N_b} \\sum_{(i, j) \\in b} (v_i - v_j)^2

    over the ``N_b`` station pairs whose distance falls in lag bin ``b`` (``n_lags`` equal bins
    from 0 to ``max_lag_m``). Several ticks (rows of ``values``) are pooled: each tick adds its
    pairs with both values finite (Webster and Oliver 2007, ch. 4).

    Parameters
    ----------
    station_xy
        ``(n_stations, 2)`` positions in metres.
    values
        ``(n_stations,)`` or ``(n_ticks, n_stations)``; NaN values are skipped.
    n_lags
        Number of distance bins.
    max_lag_m
        Largest lag in metres; ``None``: half the largest station distance (the usual limit).

    Returns
    -------
    lag_m
        ``(n_lags,)`` mean pair distance of each bin (bin centre for empty bins).
    gamma
        ``(n_lags,)`` semivariance (NaN for empty bins).
    counts
        ``(n_lags,)`` number of pairs per bin (summed over ticks).
    """
    from scipy.spatial.distance import pdist

    xy = np.asarray(station_xy, dtype=np.float64)
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if xy.ndim != 2 or xy.shape[1] != 2 or v.shape[1] != xy.shape[0] or xy.shape[0] < 2:
        raise InterpolationError(
            "empirical_variogram needs station_xy (n, 2) with n >= 2 and values (n,) or (t, n)"
        )
    if int(n_lags) < 1:
        raise InterpolationError(f"n_lags must be at least 1, got {n_lags}")
    dist = pdist(xy)
    max_lag = 0.5 * float(dist.max()) if max_lag_m is None else float(max_lag_m)
    if not (max_lag > 0):
        raise InterpolationError("max_lag_m must be positive (are all stations at one place?)")
    edges = np.linspace(0.0, max_lag, int(n_lags) + 1)
    b = np.searchsorted(edges, dist, side="right") - 1
    b[dist == max_lag] = int(n_lags) - 1  # the last bin is closed
    in_range = (b >= 0) & (b < n_lags)
    i, j = np.triu_indices(xy.shape[0], 1)  # same pair order as pdist
    i, j, b, dist = i[in_range], j[in_range], b[in_range], dist[in_range]
    sq_sum = np.zeros(n_lags)
    counts = np.zeros(n_lags, dtype=np.int64)
    dist_sum = np.zeros(n_lags)
    for row in v:  # a loop over ticks, not stations: each pass is vectorised over all pairs
        d2 = (row[i] - row[j]) ** 2
        ok = np.isfinite(d2)
        sq_sum += np.bincount(b[ok], weights=d2[ok], minlength=n_lags)
        counts += np.bincount(b[ok], minlength=n_lags)
        dist_sum += np.bincount(b[ok], weights=dist[ok], minlength=n_lags)
    centres = 0.5 * (edges[1:] + edges[:-1])
    has = counts > 0
    lag = np.where(has, dist_sum / np.maximum(counts, 1), centres)
    gamma = np.where(has, 0.5 * sq_sum / np.maximum(counts, 1), np.nan)
    return lag, gamma, counts


def fit_variogram(
    lag_m: ArrayLike,
    gamma: ArrayLike,
    counts: ArrayLike | None = None,
    model: Literal["spherical", "exponential"] = "spherical",
) -> Variogram:
    """Fit a spherical or exponential :class:`Variogram` to an empirical semivariogram.

    Weighted least squares (``scipy.optimize.curve_fit``) of ``gamma(h) = c0 + c * f(h / a)``
    with weights proportional to the pair counts (Cressie 1985, Math. Geol. 17, 563-586, uses
    ``N_b / gamma^2``; plain ``N_b`` is the common simplification). Parameters are kept
    non-negative and the range within ``(0, 2 * max lag]``.

    Parameters
    ----------
    lag_m, gamma, counts
        As returned by :func:`empirical_variogram` (bins with NaN or zero counts are dropped);
        ``counts=None`` weighs all bins equally.
    model
        ``"spherical"`` or ``"exponential"``.

    Returns
    -------
    Variogram
        The fitted model.

    Raises
    ------
    InterpolationError
        With fewer than 3 usable bins, or when the fit does not converge.
    """
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    h = np.asarray(lag_m, dtype=np.float64)
    g = np.asarray(gamma, dtype=np.float64)
    n = np.ones_like(h) if counts is None else np.asarray(counts, dtype=np.float64)
    ok = np.isfinite(h) & np.isfinite(g) & (n > 0) & (h > 0)
    if ok.sum() < 3:
        raise InterpolationError("fit_variogram needs at least 3 non-empty lag bins")
    h, g, n = h[ok], g[ok], n[ok]
    if not (g.max() > 0):
        raise InterpolationError("fit_variogram needs a non-zero semivariance (constant values?)")
    if model not in ("spherical", "exponential"):
        raise InterpolationError(
            f"variogram model must be 'spherical' or 'exponential', not {model!r}"
        )
    g_max, h_max = float(g.max()), float(h.max())

    def f(x: FloatArray, nugget: float, psill: float, range_m: float) -> FloatArray:
        return _model_gamma(model, x, nugget, psill, range_m)

    p0 = [max(float(g.min()) * 0.5, 0.0), max(g_max * 0.8, 1e-12), 0.5 * h_max]
    try:
        with warnings.catch_warnings():
            # An exact fit has no parameter covariance; only the estimate is wanted here.
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(
                f,
                h,
                g,
                p0=p0,
                sigma=1.0 / np.sqrt(n),
                bounds=([0.0, 1e-12, 1e-9 * h_max], [2 * g_max, 4 * g_max, 2 * h_max]),
                maxfev=20000,
            )
    except RuntimeError as exc:  # scipy raises RuntimeError when it does not converge
        raise InterpolationError(f"variogram fit did not converge: {exc}") from exc
    nugget, psill, range_m = (float(p) for p in params)
    return Variogram(model=model, sill=nugget + psill, range_m=range_m, nugget=nugget)
