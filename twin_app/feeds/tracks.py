"""Positions of movers (robots, drones, vehicles) over time, queried for all movers at once.

:class:`MoverTracks` keeps every position fix in local metres (x east, y north, z up; the
caller converts lon/lat once with :meth:`twin_app.model.frame.LocalFrame.lonlat_to_local`) in a
CSR layout: fixes sorted by mover then time, ``offsets[m] .. offsets[m+1]-1`` being mover
``m``'s fixes. A query finds, for every mover at once, the last fix at or before the query
time with **one** :func:`numpy.searchsorted` on a combined integer key (see
:meth:`MoverTracks.positions_at`), then interpolates linearly to the next fix. There is no
Python loop over movers or fixes in any query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin_app.feeds.cleaning import StoreReport, clean_long
from twin_app.model.times import NS_PER_S, scalar_ns

if TYPE_CHECKING:
    from twin_app.feeds.cleaning import IdsLike

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

_TWO_PI = 2.0 * np.pi


def compass_heading(dx: Any, dy: Any) -> F64:
    """Compass heading of a displacement, radians in ``[0, 2*pi)``.

    ``heading = atan2(dx, dy) mod 2*pi``: 0 = north (+y), pi/2 = east (+x), pi = south,
    3*pi/2 = west, i.e. clockwise from north like a compass or a ship's course. (Note the
    argument order: this is *not* the mathematical angle ``atan2(dy, dx)``.)
    """
    h = np.mod(np.arctan2(np.asarray(dx, np.float64), np.asarray(dy, np.float64)), _TWO_PI)
    return np.asarray(h, np.float64)


class MoverTracks:
    """Fixes of N movers in local metres, in CSR layout, with vectorised time queries.

    Parameters
    ----------
    mover_ids
        Id of each mover (str), in index order.
    t_ns
        (M,) int64 UTC ns of every fix, sorted by mover then time, unique per mover.
    xyz
        (M, 3) float64 local metres of every fix.
    offsets
        (N+1,) int64: fixes of mover m are ``offsets[m]:offsets[m+1]``.

    Use :meth:`from_long` to build one from a long table with cleaning.
    """

    def __init__(self, mover_ids: Sequence[Any], t_ns: I64, xyz: F64, offsets: I64) -> None:
        self._ids: ObjArray = np.asarray([str(i) for i in mover_ids], dtype=object)
        self._t = np.ascontiguousarray(t_ns, np.int64)
        self._xyz = np.ascontiguousarray(xyz, np.float64).reshape(-1, 3)
        self._offsets = np.ascontiguousarray(offsets, np.int64)
        n = self._ids.shape[0]
        if self._offsets.shape != (n + 1,) or self._offsets[-1] != self._t.shape[0]:
            raise ValueError("offsets must have n_movers + 1 entries ending at the fix count")
        m = self._t.shape[0]
        self._mover = np.repeat(np.arange(n, dtype=np.int64), np.diff(self._offsets))
        # Combined key: mover * (L + 1) + rank of the fix time among all L distinct times.
        # It is sorted (movers ascending, times ascending within a mover) and fits in int64
        # for any realistic size (n_movers * n_fixes < 9.2e18).
        self._utimes, rank = np.unique(self._t, return_inverse=True)
        self._stride = np.int64(self._utimes.size + 1)
        self._key = self._mover * self._stride + rank.astype(np.int64)
        self._heading = self._segment_headings(m)

    def _segment_headings(self, m: int) -> F64:
        """Heading of travel at each fix: of the segment to the next fix of the same mover.

        Stationary segments (and each mover's last fix) take the heading of the previous moving
        segment of that mover, else of the next one; a mover that never moves points north (0).
        """
        head = np.zeros(m, np.float64)
        if m == 0:
            return head
        d = self._xyz[1:, :2] - self._xyz[:-1, :2]
        same = self._mover[1:] == self._mover[:-1]
        moving = np.zeros(m, bool)
        moving[:-1] = same & (np.hypot(d[:, 0], d[:, 1]) > 0.0)
        raw = np.zeros(m, np.float64)
        raw[:-1] = compass_heading(d[:, 0], d[:, 1])
        idx = np.arange(m, dtype=np.int64)
        start = self._offsets[self._mover]
        end = self._offsets[self._mover + 1]
        ff = np.maximum.accumulate(np.where(moving, idx, -1))
        bf = np.minimum.accumulate(np.where(moving, idx, m)[::-1])[::-1]
        use_ff = ff >= start
        use_bf = ~use_ff & (bf < end)
        head[use_ff] = raw[ff[use_ff]]
        head[use_bf] = raw[bf[use_bf]]
        return head

    # ----------------------------------------------------------------------------- building

    @classmethod
    def from_long(
        cls,
        mover_id: Any,
        t: Any,
        x: Any,
        y: Any,
        z: Any = None,
        movers: IdsLike | None = None,
        source: str = "",
        *,
        assume_tz: str | None = None,
    ) -> tuple[MoverTracks, StoreReport]:
        """Build tracks from a long table of fixes in local metres.

        Cleaning is that of :func:`twin_app.feeds.cleaning.clean_long` (same :class:`StoreReport`
        counts): rows with a missing id, unparseable time, unknown mover (if `movers` given) or
        NaN x/y are dropped; duplicates (same mover and time) keep the LAST in input order;
        out-of-order fixes are sorted. A NaN z is taken as 0 m.

        Parameters
        ----------
        mover_id, t, x, y, z
            Arrays of equal length; x, y, z in local metres (z optional, default 0).
        movers
            Known mover ids in index order; without it, order of first appearance.
        source
            File or feed named in the report.
        """
        n = len(np.asarray(x))
        zz = np.zeros(n) if z is None else z
        clean = clean_long(
            mover_id,
            t,
            [x, y, zz],
            required=[True, True, False],
            sensors=movers,
            assume_tz=assume_tz,
            source=source,
            noun="mover",
        )
        xyz = clean.columns.copy()
        xyz[np.isnan(xyz[:, 2]), 2] = 0.0
        n_movers = clean.ids.shape[0]
        counts = np.bincount(clean.codes, minlength=n_movers)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(list(clean.ids), clean.t_ns, xyz, offsets), clean.report

    # ----------------------------------------------------------------------------- queries

    @property
    def mover_ids(self) -> ObjArray:
        """Id of each mover (object array of str)."""
        return self._ids

    @property
    def n_movers(self) -> int:
        """Number of movers."""
        return int(self._ids.shape[0])

    @property
    def n_fixes(self) -> int:
        """Number of fixes (after cleaning)."""
        return int(self._t.shape[0])

    @property
    def offsets(self) -> I64:
        """(n_movers + 1,) CSR offsets into the fix arrays."""
        return self._offsets.copy()

    def index_of(self, ids: Any) -> I64:
        """Index of each mover id (-1 if unknown)."""
        import pandas as pd

        arr = np.atleast_1d(np.asarray(ids, dtype=object)).astype(str)
        return pd.Index(self._ids).get_indexer(pd.Index(arr)).astype(np.int64)

    def time_range(self) -> tuple[int, int] | None:
        """(first, last) fix time over all movers, UTC ns; None without fixes."""
        if self._t.size == 0:
            return None
        return int(self._utimes[0]), int(self._utimes[-1])

    def fixes(self, index: int) -> tuple[I64, F64]:
        """(t_ns, xyz) of one mover's fixes (copies)."""
        a, b = int(self._offsets[index]), int(self._offsets[index + 1])
        return self._t[a:b].copy(), self._xyz[a:b].copy()

    def _sample(
        self, tq: I64, max_gap_s: float | None, cursor: str = "query"
    ) -> tuple[F64, F64, B]:
        """Positions of all movers at each query time: (n, P, 3), (n, P), (n, P).

        A single time walks the playback cursor named `cursor`: a caller that samples two
        clocks (the mover at t, its trail's newest slot a little before t) keeps one each, so
        neither sends the other back to a full search every tick.
        """
        n = self.n_movers
        p = tq.shape[0]
        if n == 0 or self._t.size == 0:
            return np.full((n, p, 3), np.nan), np.full((n, p), np.nan), np.zeros((n, p), bool)
        i = self._cursor_index(tq, cursor) if p == 1 else None
        if i is None and p > 1 and np.all(np.diff(tq) >= 0):
            cols = [self._cursor_index(tq[j : j + 1], "batch") for j in range(p)]
            found = [c for c in cols if c is not None]
            i = np.concatenate(found, axis=1) if len(found) == p else None
        if i is None:
            # Number of distinct fix times <= tq: a fix of mover m is at or before tq exactly
            # when its key is below m * stride + rq, so one searchsorted finds every mover's
            # last fix.
            rq = np.searchsorted(self._utimes, tq, side="right").astype(np.int64)
            qk = (np.arange(n, dtype=np.int64) * self._stride)[:, None] + rq[None, :]
            i = np.searchsorted(self._key, qk.ravel(), side="left").astype(np.int64) - 1
            i = i.reshape(n, p)
            self._cursors = getattr(self, "_cursors", {})
            self._cursors[cursor if p == 1 else "batch"] = (int(tq[-1]), i[:, -1].copy())
        start = self._offsets[:-1, None]
        end = self._offsets[1:, None]
        has_prev = i >= start
        ic = np.clip(i, 0, self._t.size - 1)
        has_next = has_prev & (i + 1 < end)
        jc = np.where(has_next, ic + 1, ic)
        # np.take gathers rows several times faster than fancy indexing with a 2-D index.
        t_i = np.take(self._t, ic)
        on_fix = has_prev & (t_i == tq[None, :])
        dt = np.take(self._t, jc) - t_i
        valid = on_fix | has_next
        if max_gap_s is not None:
            gap = np.int64(round(float(max_gap_s) * NS_PER_S))
            valid &= on_fix | (dt <= gap)
        frac = np.where(has_next & (dt > 0), (tq[None, :] - t_i) / np.where(dt > 0, dt, 1), 0.0)
        a = np.take(self._xyz, ic, axis=0)
        xyz = np.take(self._xyz, jc, axis=0)
        xyz -= a  # a + frac * (b - a), in place
        xyz *= frac[..., None]
        xyz += a
        heading = np.take(self._heading, ic)
        xyz[~valid] = np.nan
        heading[~valid] = np.nan
        return xyz, heading, valid

    #: Most steps a playback cursor may take per query before a fresh search is cheaper.
    CURSOR_STEPS = 6

    def _cursor_index(self, tq: I64, name: str) -> np.ndarray[Any, np.dtype[np.int64]] | None:
        """Last fix index of every mover at tq[0], walked forward from the previous query.

        During playback the clock moves forward a little each tick, so most movers pass zero
        or one fix: a few vectorised steps replace the search over all fixes. Going back in
        time, or jumping past many fixes, returns None (the caller searches).
        """
        cursors: dict[str, tuple[int, np.ndarray[Any, np.dtype[np.int64]]]] = (
            self.__dict__.setdefault("_cursors", {})
        )
        cur = cursors.get(name)
        t = int(tq[0])
        if cur is None or t < cur[0]:
            return None
        i = cur[1].copy()
        end = self._offsets[1:]
        last = self._t.size - 1
        rows = np.arange(i.size)  # movers that may pass another fix; a mover that stops stays
        for step in range(self.CURSOR_STEPS + 1):
            nxt = i[rows] + 1
            rows = rows[(nxt < end[rows]) & (np.take(self._t, np.minimum(nxt, last)) <= t)]
            if rows.size == 0:
                cursors[name] = (t, i)
                return i[:, None]
            if step < self.CURSOR_STEPS:
                i[rows] += 1
        # A few movers report densely (a burst of fixes seconds apart): search for those
        # alone, as the full search would, instead of searching for every mover.
        if rows.size > max(64, i.size // 8):
            return None
        rq = np.int64(np.searchsorted(self._utimes, t, side="right"))
        i[rows] = np.searchsorted(self._key, rows * self._stride + rq, side="left") - 1
        cursors[name] = (t, i)
        return i[:, None]

    def sample(self, times_ns: Any, max_gap_s: float | None = None) -> F64:
        """Positions of every mover at several times at once: (n_movers, n_times, 3), NaN where
        a mover is not valid (before its first or after its last fix, or across a long gap)."""
        xyz, _, _ = self._sample(np.asarray(times_ns, np.int64).ravel(), max_gap_s, "sample")
        return xyz

    def positions_at(self, t_ns: Any, max_gap_s: float | None = None) -> tuple[F64, F64, B]:
        """Position, heading and validity of every mover at a time.

        Between fixes ``(t0, p0)`` and ``(t1, p1)`` the position is
        ``p0 + (t - t0) / (t1 - t0) * (p1 - p0)``; the heading is the compass direction of
        travel of that segment (:func:`compass_heading`: 0 = north, pi/2 = east, clockwise),
        carried over stationary segments from the last moving one.

        Parameters
        ----------
        t_ns
            UTC ns (int), ``datetime64`` or an aware timestamp.
        max_gap_s
            Fixes farther apart than this are not interpolated between: the mover is invalid
            inside such a gap (but valid exactly at its fixes). None: any gap is bridged.

        Returns
        -------
        xyz : (n_movers, 3) float64
            Local metres; NaN where invalid.
        heading_rad : (n_movers,) float64
            Compass heading; NaN where invalid.
        valid : (n_movers,) bool
            False before a mover's first fix, after its last fix and inside long gaps.
        """
        tq = np.array([scalar_ns(t_ns)], np.int64)
        xyz, heading, valid = self._sample(tq, max_gap_s)
        return xyz[:, 0, :], heading[:, 0], valid[:, 0]

    def trail(
        self, t_ns: Any, length_s: float, n_points: int, max_gap_s: float | None = None
    ) -> F64:
        """Positions at `n_points` evenly spaced times from ``t - length_s`` to ``t``.

        Returns
        -------
        (n_movers, n_points, 3) float64
            Oldest first, the last point is the position at `t_ns`; NaN where the mover is
            invalid at that time (before its first fix, after its last, in a long gap). Meant
            for fading trails: fade with the point index.
        """
        t = scalar_ns(t_ns)
        k = int(n_points)
        if k < 1:
            raise ValueError(f"n_points must be >= 1, got {n_points}")
        if k == 1:
            tq = np.array([t], np.int64)
        else:
            span = float(length_s) * NS_PER_S
            tq = t - np.round(span * (k - 1 - np.arange(k)) / (k - 1)).astype(np.int64)
        xyz, _, _ = self._sample(tq, max_gap_s)
        return xyz

    def __repr__(self) -> str:
        return f"MoverTracks({self.n_movers} movers, {self.n_fixes} fixes)"
