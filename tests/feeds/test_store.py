"""SensorStore: cleaning counts, last/linear queries, staleness, gaps, chunks, append, spill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_app.errors import FeedError
from twin_app.feeds.cleaning import StoreReport
from twin_app.feeds.longformat import read_long
from twin_app.feeds.store import SensorStore, to_frame
from twin_app.model.times import NAT_NS, to_utc_ns

BAD = Path(__file__).resolve().parents[1] / "data" / "bad" / "feeds"
S = 1_000_000_000
MIN = 60 * S
T0 = int(np.datetime64("2024-05-01T12:00:00", "ns").view(np.int64))


def iso(ns: int) -> str:
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit="s")) + "Z"


def nan_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def regular(n_t: int = 10, n_s: int = 3, step_s: int = 300, chunk_rows: int = 2048) -> SensorStore:
    """Sensor j at row i has value 100*j + i, every `step_s` seconds from T0."""
    t = T0 + np.arange(n_t) * step_s * S
    v = 100.0 * np.arange(n_s)[None, :] + np.arange(n_t)[:, None]
    ids = [f"s{j}" for j in range(n_s)]
    store, _ = SensorStore.from_wide(t.view("datetime64[ns]"), v, ids, chunk_rows=chunk_rows)
    return store


# ------------------------------------------------------------------------------- times


def test_to_utc_ns_forms() -> None:
    want = T0
    for form in (
        ["2024-05-01T12:00:00Z"],
        ["2024-05-01T14:00:00+02:00"],
        ["2024-05-01T04:00:00-0800"],
        np.array(["2024-05-01T12:00:00"], dtype="datetime64[s]"),
        pd.Series(pd.to_datetime(["2024-05-01T14:00:00+02:00"])),
        [pd.Timestamp("2024-05-01T14:00:00", tz="Europe/Paris")],
        [T0 / S],
        np.array([T0 // S]),
    ):
        ns, ok = to_utc_ns(form)
        assert ok.all() and int(ns[0]) == want, form


def test_to_utc_ns_nanoseconds_and_bad() -> None:
    ns, ok = to_utc_ns(["2024-05-01T12:00:00.123456789Z", "nonsense", None, ""])
    assert int(ns[0]) == T0 + 123456789
    assert ok.tolist() == [True, False, False, False]
    assert (ns[~ok] == NAT_NS).all()


def test_naive_strings_are_an_error_unless_assume_tz() -> None:
    with pytest.raises(FeedError, match=r"feed\.csv: row 1: .* no UTC offset"):
        to_utc_ns(["2024-05-01T12:00:00Z", "2024-05-01 12:00:00"], source="feed.csv")
    ns, ok = to_utc_ns(["2024-05-01 14:00:00"], assume_tz="Europe/Berlin")
    assert ok.all() and int(ns[0]) == T0
    # A date alone has no offset either (its "-01" is not one).
    with pytest.raises(FeedError):
        to_utc_ns(["2024-05-01"])


# ---------------------------------------------------------------------------- cleaning


def test_duplicates_keep_last_and_are_counted() -> None:
    store, rep = SensorStore.from_long(
        ["a", "a", "b", "a"], [T0 / S] * 4, [1.0, 2.0, 5.0, 3.0], source="x.csv"
    )
    assert rep.duplicates == 2 and rep.rows_kept == 2
    assert store.values_at(T0).tolist() == [3.0, 5.0]
    assert any("duplicate" in w and "x.csv" in w and "'a'" in w for w in rep.warnings)


def test_out_of_order_sorted_and_counted() -> None:
    t = [T0 + 2 * MIN, T0, T0 + MIN, T0 + 3 * MIN]
    store, rep = SensorStore.from_long(["a"] * 4, np.array(t).view("datetime64[ns]"), [2, 0, 1, 3])
    assert rep.out_of_order == 1 and rep.rows_kept == 4
    assert store.times.tolist() == sorted(t)
    assert store.series(0)[1].tolist() == [0, 1, 2, 3]
    assert "row 1" in rep.warnings[0]


def test_nan_and_unparseable_dropped_and_counted() -> None:
    store, rep = SensorStore.from_long(
        ["a", "a", "a", "b", "b"],
        [iso(T0), "garbage", iso(T0 + MIN), iso(T0), None],
        [1.0, 2.0, np.nan, "x", 4.0],
    )
    assert (rep.unparseable_times, rep.nan_values, rep.rows_kept) == (2, 2, 1)
    assert rep.rows_in == rep.rows_kept + rep.unparseable_times + rep.nan_values
    assert list(store.sensor_ids) == ["a"]


def test_unknown_sensors_counted_and_columns_follow_list() -> None:
    store, rep = SensorStore.from_long(
        ["b", "zz", "a"], [T0 / S] * 3, [2.0, 9.0, 1.0], sensors=["a", "b", "c"]
    )
    assert rep.unknown_sensors == 1 and "'zz'" in rep.warnings[0]
    assert list(store.sensor_ids) == ["a", "b", "c"]
    assert nan_equal(store.values_at(T0), np.array([1.0, 2.0, np.nan]))
    assert store.index_of(["c", "a", "nope"]).tolist() == [2, 0, -1]


def test_report_merge_and_summary() -> None:
    a = StoreReport(source="f", rows_in=3, rows_kept=2, duplicates=1, warnings=["w"])
    b = StoreReport(rows_in=2, rows_kept=2)
    m = a.merge(b)
    assert (m.rows_in, m.rows_kept, m.duplicates, m.source) == (5, 4, 1, "f")
    assert m.summary() == "f: kept 4 of 5 samples (1 duplicate)"


# -------------------------------------------------------------------- bad fixtures


def load_bad(name: str, **kw: object) -> tuple[SensorStore, StoreReport]:
    df = read_long(BAD / name)
    return SensorStore.from_long(df.sensor_id, df.t, df.value, source=name, **kw)  # type: ignore[arg-type]


def test_fixture_nan_values() -> None:
    _, rep = load_bad("sensors_nan_values.csv")
    assert (rep.rows_in, rep.nan_values, rep.rows_kept) == (5, 3, 2)
    assert "sensors_nan_values.csv" in rep.warnings[0]


def test_fixture_duplicates() -> None:
    store, rep = load_bad("sensors_duplicates.csv")
    assert (rep.duplicates, rep.rows_kept) == (3, 2)
    assert store.values_at(T0 + 5 * MIN).tolist() == [3.0, 20.0]


def test_fixture_out_of_order() -> None:
    store, rep = load_bad("sensors_out_of_order.csv")
    assert (rep.out_of_order, rep.rows_kept) == (2, 5)
    assert store.series(0)[1].tolist() == [1.0, 2.0, 3.0]


def test_fixture_unknown_ids() -> None:
    _, rep = load_bad("sensors_unknown_ids.csv", sensors=["A", "B"])
    assert (rep.unknown_sensors, rep.missing_ids, rep.rows_kept) == (2, 1, 2)


def test_fixture_unparseable_times() -> None:
    _, rep = load_bad("sensors_unparseable_times.csv")
    assert (rep.unparseable_times, rep.rows_kept) == (3, 2)


# ----------------------------------------------------------------------------- queries


def test_last_and_linear_at_and_between_samples() -> None:
    s = regular(n_t=4, n_s=2, step_s=60)
    # at a sample time both modes give the sample
    assert s.values_at(T0 + MIN).tolist() == [1.0, 101.0]
    assert s.values_at(T0 + MIN, "linear").tolist() == [1.0, 101.0]
    # between: hold vs interpolate
    assert s.values_at(T0 + MIN + 15 * S).tolist() == [1.0, 101.0]
    assert s.values_at(T0 + MIN + 15 * S, "linear").tolist() == [1.25, 101.25]
    # before the first sample: NaN; after the last: the last value is held
    assert np.isnan(s.values_at(T0 - 1)).all()
    assert s.values_at(T0 + 10 * MIN, "linear").tolist() == [3.0, 103.0]
    # datetime64 and aware timestamps are accepted
    assert s.values_at(np.datetime64(T0 + MIN, "ns")).tolist() == [1.0, 101.0]
    assert s.values_at(pd.Timestamp(T0 + MIN, tz="UTC")).tolist() == [1.0, 101.0]


def test_staleness_gives_nan() -> None:
    s = regular(n_t=3, n_s=2, step_s=600)
    t = T0 + 2 * 600 * S + 300 * S  # 5 min after the last sample
    assert s.values_at(t, max_staleness_s=301).tolist() == [2.0, 102.0]
    assert np.isnan(s.values_at(t, max_staleness_s=299)).all()
    # linear: the next sample beyond the window is not used, the last one is held
    t = T0 + 60 * S
    assert s.values_at(t, "linear", max_staleness_s=120).tolist() == [0.0, 100.0]
    assert s.values_at(t, "linear").tolist() == pytest.approx([0.1, 100.1])


def gappy() -> SensorStore:
    """Sensor a: 0 at row 0, NaN at rows 1-3, 4 at row 4; sensor b: a value every row."""
    t = T0 + np.arange(5) * MIN
    a = [0.0, np.nan, np.nan, np.nan, 4.0]
    b = [10.0, 11.0, 12.0, 13.0, 14.0]
    store, _ = SensorStore.from_wide(
        t.view("datetime64[ns]"), np.column_stack([a, b]), ["a", "b"], chunk_rows=2
    )
    return store


@pytest.mark.parametrize("loop_rows", [0, 64])
def test_gaps_are_skipped(loop_rows: int) -> None:
    s = gappy()
    s.loop_rows = loop_rows  # 0: gap indices always; 64: row walk within the window
    t = T0 + 2 * MIN + 30 * S
    assert s.values_at(t).tolist() == [0.0, 12.0]
    assert s.values_at(t, "linear").tolist() == [2.5, 12.5]
    # staleness window 3 min: sample of a at T0 is 150 s + 2 min old -> NaN
    got = s.values_at(t, "last", max_staleness_s=120)
    assert np.isnan(got[0]) and got[1] == 12.0
    got = s.values_at(t, "linear", max_staleness_s=200)
    assert got.tolist() == [2.5, 12.5]
    # the next sample of a (T0+4 min) lies outside t + 60 s: hold the last (T0, 0.0)
    got = s.values_at(T0 + MIN, "linear", max_staleness_s=65)
    assert got.tolist() == [0.0, 11.0]


def test_gap_strategies_agree_on_random_data() -> None:
    rng = np.random.default_rng(3)
    n_t, n_s = 300, 40
    t = T0 + np.cumsum(rng.integers(1, 100, n_t)) * S
    v = rng.normal(size=(n_t, n_s)).astype(np.float32)
    v[rng.random((n_t, n_s)) < 0.4] = np.nan
    v[:, 5] = np.nan  # a sensor that never reports
    v[100:250, 7] = np.nan  # a long gap across chunks
    store, _ = SensorStore.from_wide(
        t.view("datetime64[ns]"), v, [str(j) for j in range(n_s)], chunk_rows=32
    )
    assert store.n_chunks == 10

    def reference(tq: int, mode: str, w: float | None) -> np.ndarray:
        out = np.full(n_s, np.nan)
        for j in range(n_s):  # slow, obviously right
            ok = ~np.isnan(v[:, j])
            tj, vj = t[ok], v[ok, j].astype(np.float64)
            k = np.searchsorted(tj, tq, side="right") - 1
            if k < 0 or (w is not None and tq - tj[k] > w * S):
                continue
            out[j] = vj[k]
            if mode == "linear" and k + 1 < tj.size and (w is None or tj[k + 1] - tq <= w * S):
                out[j] = vj[k] + (tq - tj[k]) / (tj[k + 1] - tj[k]) * (vj[k + 1] - vj[k])
        return out

    for tq in np.concatenate([t[::7], t[::11] + 3 * S, [t[0] - 1, t[-1] + 10 * S]]):
        for mode in ("last", "linear"):
            for w in (None, 150.0, 5000.0):
                for loop in (0, 1000):
                    store.loop_rows = loop
                    got = store.values_at(int(tq), mode, w)
                    np.testing.assert_allclose(
                        got, reference(int(tq), mode, w), rtol=1e-5, atol=1e-5
                    )


def test_queries_across_chunk_edges() -> None:
    s = regular(n_t=10, n_s=2, step_s=60, chunk_rows=3)
    assert s.n_chunks == 4
    for r in range(9):
        t = T0 + r * MIN + 30 * S  # between row r (end of a chunk for r=2,5,8) and r+1
        assert s.values_at(t).tolist() == [r, 100 + r]
        assert s.values_at(t, "linear").tolist() == [r + 0.5, 100 + r + 0.5]
    tt, vv = s.series(1, T0 + 2 * MIN, T0 + 7 * MIN)
    assert vv.tolist() == [102, 103, 104, 105, 106, 107]
    assert (tt == T0 + np.arange(2, 8) * MIN).all()


def test_monotone_playback_uses_cached_row() -> None:
    s = regular(n_t=50, n_s=2, step_s=60)
    for k in range(200):
        t = T0 + k * 15 * S
        assert s.values_at(t)[0] == min(k // 4, 49)
    assert s._row_cache == 49


def test_quality_below_minimum_is_missing() -> None:
    t = [T0, T0 + MIN, T0 + 2 * MIN]
    s, _ = SensorStore.from_long(
        ["a"] * 3, np.array(t).view("datetime64[ns]"), [1.0, 2.0, 3.0], quality=[0.9, 0.1, np.nan]
    )
    assert s.values_at(T0 + MIN).tolist() == [2.0]
    s.min_quality = 0.5
    assert s.values_at(T0 + MIN).tolist() == [1.0]
    assert s.values_at(T0 + MIN + 30 * S, "linear").tolist() == [2.5]  # NaN quality accepted
    assert s.series(0)[1].tolist() == [1.0, 3.0]
    s.min_quality = None
    assert s.series(0)[1].tolist() == [1.0, 2.0, 3.0]


def test_resolution_bins_irregular_times() -> None:
    # two sensors sampling at unrelated instants; 60 s bins
    ids = ["a", "b", "a", "b", "a"]
    t = np.array([T0 + 5 * S, T0 + 17 * S, T0 + 55 * S, T0 + 70 * S, T0 + 61 * S])
    s, rep = SensorStore.from_long(ids, t.view("datetime64[ns]"), [1, 2, 3, 4, 5], resolution_s=60)
    assert s.times.tolist() == [T0, T0 + MIN]
    assert rep.binned == 1  # a: 5 s and 55 s share a bin, the later (3) wins
    assert s.values_at(T0).tolist() == [3.0, 2.0]
    assert s.values_at(T0 + MIN).tolist() == [5.0, 4.0]
    # without binning every instant is its own row
    s2, _ = SensorStore.from_long(ids, t.view("datetime64[ns]"), [1, 2, 3, 4, 5])
    assert s2.n_times == 5


# ------------------------------------------------------------------------------ append


def test_append_extends_and_inserts() -> None:
    s = regular(n_t=5, n_s=2, step_s=60, chunk_rows=4)
    rep = s.append(
        ["s0", "s1"], np.array([T0 + 5 * MIN, T0 + 6 * MIN]).view("datetime64[ns]"), [5.0, 106.0]
    )
    assert rep.rows_kept == 2 and s.n_times == 7 and s.n_chunks == 2
    assert nan_equal(s.values_at(T0 + 5 * MIN), np.array([5.0, 104.0]))
    assert s.values_at(T0 + 6 * MIN).tolist() == [5.0, 106.0]
    # an old sample between rows gets its own row, in order; full chunk 0 is split
    rep = s.append(["s1"], [iso(T0 + 30 * S)], [100.5])
    assert rep.out_of_order == 1
    assert s.n_times == 8 and (np.diff(s.times) > 0).all()
    assert s.values_at(T0 + 30 * S).tolist() == [0.0, 100.5]
    assert s.values_at(T0 + 45 * S, "linear").tolist() == [0.75, 100.75]
    # a sample at an existing time overwrites (the new one wins)
    rep = s.append(["s0"], [iso(T0 + 2 * MIN)], [42.0])
    assert rep.replaced == 1 and s.values_at(T0 + 2 * MIN)[0] == 42.0
    # unknown sensors are dropped and counted
    rep = s.append(["nope"], [iso(T0)], [1.0])
    assert rep.unknown_sensors == 1 and rep.rows_kept == 0


def test_append_matches_one_shot_build() -> None:
    rng = np.random.default_rng(1)
    n = 400
    ids = rng.choice(["a", "b", "c", "d"], n)
    t = T0 + np.sort(rng.integers(0, 3600, n)) * S
    v = rng.normal(size=n)
    whole, _ = SensorStore.from_long(
        ids, t.view("datetime64[ns]"), v, sensors=["a", "b", "c", "d"], chunk_rows=16
    )
    live = SensorStore(["a", "b", "c", "d"], chunk_rows=16)
    for k in range(0, n, 37):
        live.append(ids[k : k + 37], t[k : k + 37].view("datetime64[ns]"), v[k : k + 37])
    assert (live.times == whole.times).all()
    for tq in t[::13]:
        assert nan_equal(live.values_at(int(tq), "linear"), whole.values_at(int(tq), "linear"))


def test_spill_to_memmap_gives_identical_answers(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n_t, n_s = 200, 30
    t = (T0 + np.arange(n_t) * MIN).view("datetime64[ns]")
    v = rng.normal(size=(n_t, n_s)).astype(np.float32)
    v[rng.random((n_t, n_s)) < 0.2] = np.nan
    ids = [f"s{j}" for j in range(n_s)]
    mem, _ = SensorStore.from_wide(t, v, ids, chunk_rows=16)
    disk, _ = SensorStore.from_wide(t, v, ids, chunk_rows=16, spill_dir=tmp_path, max_open_chunks=1)
    files = list(tmp_path.iterdir())
    assert len(files) == disk.n_chunks == 13
    assert disk.resident_nbytes < mem.resident_nbytes
    assert disk.nbytes == mem.nbytes == n_t * n_s * 4
    for tq in np.linspace(int(t[0].view(np.int64)) - S, int(t[-1].view(np.int64)) + MIN, 97).astype(
        np.int64
    ):
        for mode in ("last", "linear"):
            for w in (None, 150.0):
                assert nan_equal(disk.values_at(int(tq), mode, w), mem.values_at(int(tq), mode, w))
    disk.append(["s3"], [iso(T0 + 30 * S)], [7.0])
    mem.append(["s3"], [iso(T0 + 30 * S)], [7.0])
    assert nan_equal(disk.values_at(T0 + 30 * S), mem.values_at(T0 + 30 * S))
    assert nan_equal(disk.series(3)[1], mem.series(3)[1])
    disk.close()
    assert not any(tmp_path.iterdir())


def test_to_frame_round_trip() -> None:
    s = gappy()
    df = to_frame(s)
    assert len(df) == 7
    back, rep = SensorStore.from_long(df.sensor_id, df.t, df.value)
    assert rep.rows_kept == 7
    assert nan_equal(back.values_at(T0 + 2 * MIN, "linear"), s.values_at(T0 + 2 * MIN, "linear"))


def test_empty_store_and_bad_arguments() -> None:
    s = SensorStore(["a", "b"])
    assert s.time_range() is None
    assert np.isnan(s.values_at(T0)).all()
    with pytest.raises(ValueError):
        s.values_at(T0, mode="cubic")
    with pytest.raises(FeedError, match="appears twice"):
        SensorStore(["a", "a"])
    with pytest.raises(ValueError):
        SensorStore(["a"], chunk_rows=40000)


def test_live_store_grows_in_memory_and_tracks_newest_values() -> None:
    ids = [f"s{j}" for j in range(1000)]
    live = SensorStore(ids, resolution_s=1.0)
    live.append(["s1"], [iso(T0)], [1.0])
    assert live.resident_nbytes <= 16 * 1000 * 4  # not chunk_rows x N from the first sample on
    rng = np.random.default_rng(5)
    all_ids, all_t, all_v, all_q = [], [], [], []
    for k in range(1, 60):
        sel = rng.integers(0, 1000, 50)
        t = T0 + k * S + rng.integers(0, S, 50)
        v = rng.normal(size=50)
        q = rng.random(50)
        live.append(np.asarray(ids, dtype=object)[sel], t.view("datetime64[ns]"), v, q)
        all_ids.append(np.asarray(ids, dtype=object)[sel])
        all_t.append(t)
        all_v.append(v)
        all_q.append(q)
        now = int(t.max())
        if k % 10 == 0:
            ref, _ = SensorStore.from_long(
                np.concatenate([["s1"], *all_ids]),
                np.concatenate([[T0], *all_t]).view("datetime64[ns]"),
                np.concatenate([[1.0], *all_v]),
                quality=np.concatenate([[np.nan], *all_q]),
                sensors=ids,
                resolution_s=1.0,
            )
            for mq in (None, 0.5):
                live.min_quality = ref.min_quality = mq
                for w in (None, 20.0):
                    assert nan_equal(live.values_at(now, "last", w), ref.values_at(now, "last", w))
            live.min_quality = None
    # a low-quality overwrite of the newest sample of a sensor hides it once min_quality is set
    live.min_quality = 0.5
    before = live.values_at(T0 + 100 * S)
    j = int(np.flatnonzero(np.isfinite(before))[0])
    t_last = int(live.last_sample_ns[j])
    live.append([ids[j]], np.array([t_last]).view("datetime64[ns]"), [123.0], [0.1])
    after = live.values_at(T0 + 100 * S)
    assert after[j] != 123.0
    live.min_quality = None
    assert live.values_at(T0 + 100 * S)[j] == 123.0


def test_unbinned_irregular_times_warn_and_refuse_huge_writes() -> None:
    n = 2000
    ids = [f"s{j}" for j in range(n)]
    t = (T0 + np.arange(n) * 1_000_003).view("datetime64[ns]")  # every sensor its own instant
    store, rep = SensorStore.from_long(ids, t, np.ones(n), source="irregular.csv")
    assert store.n_times == n and any("resolution_s" in w for w in rep.warnings)
    with pytest.raises(FeedError, match=r"irregular\.csv: .* GiB; bin the times"):
        SensorStore.from_long(ids, t, np.ones(n), source="irregular.csv", max_memory_bytes=1 << 20)
    binned, rep = SensorStore.from_long(ids, t, np.ones(n), resolution_s=60)
    assert binned.n_times == 1 and not rep.warnings


def test_to_utc_ns_pandas_strings_and_object_numbers() -> None:
    ns, ok = to_utc_ns(pd.Series(["2024-05-01T12:00:00Z", None, "2024-05-01T12:01:00+00:00"]))
    assert ok.tolist() == [True, False, True] and int(ns[2]) == T0 + MIN
    ns, ok = to_utc_ns(np.array([T0 // S, None, 1.5], dtype=object))
    assert ok.tolist() == [True, False, True] and int(ns[0]) == T0 and int(ns[2]) == 1_500_000_000
