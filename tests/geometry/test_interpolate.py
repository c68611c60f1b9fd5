"""Station -> grid interpolation as a precomputed sparse matrix (inverse distance weighting)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin_app.errors import TwinError
from twin_app.geometry.interpolate import IDWGrid, InterpolationError


def _stations(n: int, seed: int = 0, size: float = 1000.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, size, (n, 2))


def _axes(n: int = 50, size: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    step = size / n
    centres = (np.arange(n) + 0.5) * step
    return centres, centres.copy()


def _cell_of(xy: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step_x, step_y = gx[1] - gx[0], gy[1] - gy[0]
    ix = np.floor((xy[:, 0] - (gx[0] - step_x / 2)) / step_x).astype(int)
    iy = np.floor((xy[:, 1] - (gy[0] - step_y / 2)) / step_y).astype(int)
    return iy, ix


def _distinct_cell_stations(n: int, gx: np.ndarray, gy: np.ndarray, seed: int = 1) -> np.ndarray:
    """``n`` stations placed inside ``n`` different cells (random offsets from the centres)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(gx.size * gy.size, n, replace=False)
    iy, ix = np.divmod(flat, gx.size)
    step = gx[1] - gx[0]
    return np.column_stack([gx[ix], gy[iy]]) + rng.uniform(-0.4, 0.4, (n, 2)) * step


# ----- IDW ---------------------------------------------------------------------------------


def test_weights_matrix_shape_and_rows() -> None:
    gx, gy = _axes(40)
    grid = IDWGrid(_stations(30), gx[:30], gy, k=12)
    w = grid.weights
    assert grid.shape == (40, 30)
    assert w.shape == (40 * 30, 30)
    assert w.format == "csr"
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
    assert (w.data > 0).all()
    assert np.diff(w.indptr).max() <= 12


def test_idw_hand_example() -> None:
    # Cell at x = 25 between stations at 0 (value 1) and 100 (value 3), p = 2:
    # w = (1/25^2, 1/75^2) / sum = (0.9, 0.1) -> 1.2.
    grid0 = IDWGrid([[0.0, 0.0], [100.0, 0.0]], [-25.0, 0.0, 25.0, 50.0, 75.0, 100.0], [0.0, 50.0])
    # x = -25: (1/25^2, 1/125^2) -> (25 * 1 + 1 * 3) / 26; stations' own cells are exact.
    np.testing.assert_allclose(
        grid0.interpolate([1.0, 3.0])[0], [28 / 26, 1.0, 1.2, 2.0, 2.8, 3.0], rtol=1e-6
    )
    # p = 1: (1/25, 1/75) / sum = (0.75, 0.25) -> 1.5.
    grid1 = IDWGrid([[0.0, 0.0], [100.0, 0.0]], [25.0, 50.0], [0.0, 50.0], power=1.0)
    assert grid1.interpolate([1.0, 3.0])[0, 0] == pytest.approx(1.5)


def test_exact_at_station_cells() -> None:
    gx, gy = _axes(60)
    xy = _distinct_cell_stations(80, gx, gy)
    values = np.random.default_rng(2).normal(20.0, 5.0, 80)
    out = IDWGrid(xy, gx, gy, k=8).interpolate(values)
    iy, ix = _cell_of(xy, gx, gy)
    np.testing.assert_array_equal(out[iy, ix], values.astype(np.float32))


def test_stations_sharing_a_cell_average_and_outside_stations_have_no_cell() -> None:
    gx, gy = _axes(10, 100.0)  # 10 m cells
    xy = np.array([[51.0, 51.0], [58.0, 53.0], [5.0, 5.0], [500.0, 500.0]])
    grid = IDWGrid(xy, gx, gy)
    np.testing.assert_array_equal(grid.station_cell, [55, 55, 0, -1])
    out = grid.interpolate([10.0, 20.0, 7.0, 99.0])
    assert out[5, 5] == pytest.approx(15.0)
    assert out[0, 0] == 7.0


def test_constant_field_stays_constant() -> None:
    gx, gy = _axes(50)
    grid = IDWGrid(_stations(100), gx, gy, power=2.0, k=12)
    out = grid.interpolate(np.full(100, 42.5))
    np.testing.assert_allclose(out, 42.5, rtol=1e-6)


@pytest.mark.parametrize("power", [1.0, 2.0, 3.5])
def test_linear_field_bounded_by_station_min_max(power: float) -> None:
    gx, gy = _axes(50)
    xy = _stations(60, seed=3)
    values = 0.02 * xy[:, 0] - 0.01 * xy[:, 1] + 5.0
    out = IDWGrid(xy, gx, gy, power=power, k=10).interpolate(values)
    assert np.isfinite(out).all()
    assert out.min() >= np.float32(values.min()) - 1e-5
    assert out.max() <= np.float32(values.max()) + 1e-5


def test_nan_station_is_excluded_without_rebuild() -> None:
    gx, gy = _axes(40)
    xy = _stations(25, seed=4)
    values = np.random.default_rng(5).normal(0.0, 1.0, 25)
    grid = IDWGrid(xy, gx, gy, k=25)  # k covers all stations, so neighbour sets do not change
    w_before = grid.weights
    data_before = w_before.data.copy()
    missing = values.copy()
    missing[[3, 17]] = np.nan
    got = grid.interpolate(missing)
    assert grid.weights is w_before
    np.testing.assert_array_equal(grid.weights.data, data_before)
    keep = np.ones(25, dtype=bool)
    keep[[3, 17]] = False
    expected = IDWGrid(xy[keep], gx, gy, k=25).interpolate(values[keep])
    # Cells holding a missing station fall back to their neighbours: the rebuilt grid treats
    # them as plain cells, so compare everywhere.
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(got).all()


def test_missing_own_station_falls_back_to_neighbours() -> None:
    gx, gy = _axes(20, 200.0)
    xy = np.array([[105.0, 105.0], [15.0, 15.0], [185.0, 185.0]])
    grid = IDWGrid(xy, gx, gy)
    out = grid.interpolate([np.nan, 1.0, 3.0])
    assert np.isfinite(out[10, 10])
    assert 1.0 <= out[10, 10] <= 3.0
    assert out[1, 1] == 1.0


def test_all_missing_is_all_nan() -> None:
    gx, gy = _axes(10)
    out = IDWGrid(_stations(5), gx, gy).interpolate(np.full(5, np.nan))
    assert np.isnan(out).all()


def test_max_distance_mask() -> None:
    gx, gy = _axes(50)
    xy = np.array([[200.0, 200.0], [700.0, 650.0]])
    radius = 180.0
    grid = IDWGrid(xy, gx, gy, max_distance=radius)
    out = grid.interpolate([1.0, 2.0])
    cx, cy = np.meshgrid(gx, gy)
    dmin = np.min(np.hypot(cx[..., None] - xy[:, 0], cy[..., None] - xy[:, 1]), axis=-1)
    far = dmin > radius + 1e-6
    near = dmin < radius - 1e-6
    assert far.any() and near.any()
    assert np.isnan(out[far]).all()
    assert np.isfinite(out[near]).all()
    np.testing.assert_array_equal(grid.covered, np.isfinite(out))
    # Within the radius of one station only, its value is copied.
    only_first = near & (np.hypot(cx - 700.0, cy - 650.0) > radius)
    np.testing.assert_array_equal(out[only_first], 1.0)


def test_interpolate_into_out_and_validate_values() -> None:
    gx, gy = _axes(20)
    grid = IDWGrid(_stations(7), gx, gy)
    buf = np.zeros(grid.shape, dtype=np.float32)
    res = grid.interpolate(np.arange(7.0), out=buf)
    assert res is buf
    assert np.isfinite(buf).all()
    with pytest.raises(InterpolationError):
        grid.interpolate(np.arange(6.0))
    with pytest.raises(InterpolationError):
        grid.interpolate(np.arange(7.0), out=np.zeros(grid.shape, dtype=np.float64))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"station_xy": np.zeros((3, 3))},
        {"station_xy": np.array([[0.0, np.nan]])},
        {"grid_x": np.array([0.0])},
        {"grid_x": np.array([2.0, 1.0, 3.0])},
        {"k": 0},
        {"power": 0.0},
        {"max_distance": -5.0},
    ],
)
def test_bad_construction_raises(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "station_xy": np.array([[0.0, 0.0], [1.0, 1.0]]),
        "grid_x": np.arange(5.0),
        "grid_y": np.arange(4.0),
    }
    args.update(kwargs)
    with pytest.raises(InterpolationError) as info:
        IDWGrid(**args)  # type: ignore[arg-type]
    assert isinstance(info.value, TwinError)


def test_benchmark_500x500_grid_1000_stations() -> None:
    """Printed, not asserted: weight build once, then the per-tick cost."""
    n = 1000
    xy = np.random.default_rng(7).uniform(0.0, 5000.0, (n, 2))
    centres = (np.arange(500) + 0.5) * 10.0
    t0 = time.perf_counter()
    grid = IDWGrid(xy, centres, centres, power=2.0, k=12)
    build_s = time.perf_counter() - t0
    values = np.random.default_rng(8).normal(30.0, 10.0, n)
    out = np.empty(grid.shape, dtype=np.float32)
    grid.interpolate(values, out=out)
    reps = 30
    t0 = time.perf_counter()
    for _ in range(reps):
        grid.interpolate(values, out=out)
    tick_ms = (time.perf_counter() - t0) / reps * 1e3
    missing = values.copy()
    missing[::20] = np.nan
    grid.interpolate(missing, out=out)
    t0 = time.perf_counter()
    for _ in range(reps):
        grid.interpolate(missing, out=out)
    tick_nan_ms = (time.perf_counter() - t0) / reps * 1e3
    print(
        f"\nIDW 500x500, {n} stations, k=12: weights build {build_s * 1e3:.0f} ms "
        f"(nnz {grid.weights.nnz}), tick {tick_ms:.2f} ms, tick with 5% missing "
        f"{tick_nan_ms:.2f} ms"
    )
    assert out.shape == (500, 500)
