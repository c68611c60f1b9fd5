"""MoverTracks: interpolation, heading, validity, gaps, trails, cleaning counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin_app.feeds.longformat import read_long
from twin_app.feeds.tracks import MoverTracks, compass_heading

BAD = Path(__file__).resolve().parents[1] / "data" / "bad" / "feeds"
S = 1_000_000_000
T0 = int(np.datetime64("2024-05-01T12:00:00", "ns").view(np.int64))


def two_movers() -> MoverTracks:
    """'east' moves 10 m east per 10 s from (0,0); 'north' moves north, starting at T0+5 s."""
    ids = ["east"] * 3 + ["north"] * 3
    t = np.array([0, 10, 20, 5, 15, 25]) * S + T0
    x = [0.0, 10.0, 20.0, 5.0, 5.0, 5.0]
    y = [0.0, 0.0, 0.0, 0.0, 10.0, 20.0]
    z = [1.0, 1.0, 1.0, 30.0, 40.0, 50.0]
    tracks, rep = MoverTracks.from_long(ids, t.view("datetime64[ns]"), x, y, z)
    assert rep.rows_kept == 6
    return tracks


def test_compass_convention() -> None:
    h = compass_heading([0, 1, 0, -1, 1], [1, 0, -1, 0, 1])
    np.testing.assert_allclose(np.degrees(h), [0, 90, 180, 270, 45])


def test_interpolation_and_heading() -> None:
    tr = two_movers()
    xyz, heading, valid = tr.positions_at(T0 + 12 * S)
    assert valid.tolist() == [True, True]
    np.testing.assert_allclose(xyz[0], [12.0, 0.0, 1.0])
    np.testing.assert_allclose(xyz[1], [5.0, 7.0, 37.0])
    np.testing.assert_allclose(np.degrees(heading), [90.0, 0.0])  # east, north


def test_validity_before_first_after_last_and_exactly_at_fixes() -> None:
    tr = two_movers()
    _, h, valid = tr.positions_at(T0 + 2 * S)
    assert valid.tolist() == [True, False] and np.isnan(h[1])
    xyz, h, valid = tr.positions_at(T0 + 20 * S)  # the last fix of 'east'
    assert valid.tolist() == [True, True]
    np.testing.assert_allclose(xyz[0], [20.0, 0.0, 1.0])
    assert np.degrees(h[0]) == pytest.approx(90.0)
    xyz, _, valid = tr.positions_at(T0 + 21 * S)
    assert valid.tolist() == [False, True] and np.isnan(xyz[0]).all()
    _, _, valid = tr.positions_at(T0 + 26 * S)
    assert not valid.any()


def test_gap_longer_than_max_gap_is_invalid() -> None:
    tr, _ = MoverTracks.from_long(
        ["a"] * 3, (np.array([0, 10, 200]) * S + T0).view("datetime64[ns]"), [0, 10, 20], [0, 0, 0]
    )
    assert tr.positions_at(T0 + 100 * S)[2].tolist() == [True]
    assert tr.positions_at(T0 + 100 * S, max_gap_s=60)[2].tolist() == [False]
    assert tr.positions_at(T0 + 10 * S, max_gap_s=60)[2].tolist() == [True]  # on a fix
    assert tr.positions_at(T0 + 5 * S, max_gap_s=60)[2].tolist() == [True]


def test_stationary_keeps_last_heading() -> None:
    t = (np.array([0, 10, 20, 30]) * S + T0).view("datetime64[ns]")
    tr, _ = MoverTracks.from_long(["a"] * 4, t, [0, 0, 0, -5], [0, 10, 10, 10])
    assert np.degrees(tr.positions_at(T0 + 15 * S)[1][0]) == pytest.approx(0.0)  # stopped: north
    assert np.degrees(tr.positions_at(T0 + 25 * S)[1][0]) == pytest.approx(270.0)  # west


def test_trail_positions_oldest_first() -> None:
    tr = two_movers()
    trail = tr.trail(T0 + 20 * S, length_s=10, n_points=3)
    assert trail.shape == (2, 3, 3)
    np.testing.assert_allclose(trail[0, :, 0], [10.0, 15.0, 20.0])
    np.testing.assert_allclose(trail[1, :, 1], [5.0, 10.0, 15.0])
    # 'north' starts at T0+5 s: a trail reaching before that is NaN there
    trail = tr.trail(T0 + 8 * S, length_s=8, n_points=5)
    assert np.isnan(trail[1, :2]).all() and np.isfinite(trail[1, 3:]).all()
    assert np.isfinite(trail[0]).all()


def test_many_movers_vectorised_matches_per_mover() -> None:
    rng = np.random.default_rng(0)
    n_m, per = 300, 20
    ids = np.repeat([f"m{k}" for k in range(n_m)], per)
    t = T0 + (rng.integers(0, 1000, n_m * per) * S)
    x, y = rng.normal(size=n_m * per), rng.normal(size=n_m * per)
    tr, _ = MoverTracks.from_long(ids, t.view("datetime64[ns]"), x, y)
    tq = T0 + 500 * S + 123
    xyz, _, valid = tr.positions_at(tq)
    for m in range(0, n_m, 17):
        tt, pp = tr.fixes(m)
        k = np.searchsorted(tt, tq, side="right") - 1
        assert valid[m] == (0 <= k < tt.size - 1)
        if valid[m]:
            f = (tq - tt[k]) / (tt[k + 1] - tt[k])
            np.testing.assert_allclose(xyz[m], pp[k] + f * (pp[k + 1] - pp[k]))


def test_fixture_duplicates_out_of_order_and_nan() -> None:
    df = read_long(BAD / "movers_duplicates_out_of_order.csv")
    tr, rep = MoverTracks.from_long(df.sensor_id, df.t, df.lon, df.lat, df.z, source="movers.csv")
    assert (rep.duplicates, rep.out_of_order, rep.nan_values, rep.rows_kept) == (1, 1, 1, 3)
    t, xyz = tr.fixes(int(tr.index_of("bus1")[0]))
    assert (np.diff(t) > 0).all() and xyz[-1, 0] == pytest.approx(-2.9211)
    assert tr.fixes(1)[1][0, 2] == 0.0  # missing z -> 0
    assert all("movers.csv" in w for w in rep.warnings)


def test_playback_cursors_give_what_a_fresh_search_gives() -> None:
    """Ticking forward (positions at t, a trail slot before t) walks cursors; movers that
    pass a burst of fixes in one tick are searched alone; all must equal a fresh search."""
    rng = np.random.default_rng(3)
    n_m, per = 200, 60
    ids = np.repeat([f"m{k}" for k in range(n_m)], per)
    gaps = rng.integers(5, 40, (n_m, per))
    gaps[::7, 20:40] = 1  # a burst: 1 s fixes, many more than CURSOR_STEPS in one tick
    t = T0 + np.cumsum(gaps, axis=1).ravel() * S + np.repeat(rng.integers(0, 300, n_m), per) * S
    x, y = rng.normal(size=n_m * per), rng.normal(size=n_m * per)
    walked, _ = MoverTracks.from_long(ids, t.view("datetime64[ns]"), x, y)
    for k in range(60):
        tq = T0 + k * 24 * S + 7
        slot = np.array([tq - 17 * S])
        got = (*walked.positions_at(tq, 30.0), walked.sample(slot, 30.0))
        fresh, _ = MoverTracks.from_long(ids, t.view("datetime64[ns]"), x, y)
        want = (*fresh.positions_at(tq, 30.0), fresh.sample(slot, 30.0))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
