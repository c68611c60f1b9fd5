"""Columnar store of sensor time series: one float32 matrix (time x sensor), chunked.

A :class:`SensorStore` holds every sample of N sensors on one sorted time axis (UTC, int64
nanoseconds since the Unix epoch, DESIGN.md section 2). Values sit in a float32 matrix whose
rows are times and whose columns are sensors, with NaN where a sensor has no sample at a row's
time. The matrix is split into chunks of at most ``chunk_rows`` rows so that

* live samples can be appended without copying the whole history,
* chunks can be spilled to disk as :class:`numpy.memmap` files, keeping a small resident
  footprint for very wide stores (30 days x 5 min x 50,000 sensors = 8,640 x 50,000 float32
  = 1.73 GB logical),
* gap-filling indices are computed lazily per chunk.

The query that runs every UI tick, :meth:`SensorStore.values_at`, is vectorised over sensors:
it reads one row (or a handful of rows around a gap) and never loops over sensors in Python.

Building a store from a *long table* (one row per sample: sensor id, time, value, quality)
cleans it with :func:`twin_app.feeds.cleaning.clean_long`, which counts what it dropped or
repaired in a :class:`~twin_app.feeds.cleaning.StoreReport`; times are read by
:func:`twin_app.model.times.to_utc_ns` (datetime64 values, pandas timestamps, ISO 8601 strings
with ``Z`` or a UTC offset, naive strings only with ``assume_tz``, or epoch seconds).
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin_app.errors import FeedError
from twin_app.feeds.cleaning import StoreReport, clean_long, ids_as_str, source_name
from twin_app.model.times import NAT_NS, NS_PER_S, scalar_ns, to_utc_ns

if TYPE_CHECKING:
    import pandas as pd

    from twin_app.feeds.cleaning import IdsLike

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I16 = npt.NDArray[np.int16]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

_EMPTY: I64 = np.zeros(0, np.int64)


class _Chunk:
    """Rows ``[0, n)`` of a (cap, n_sensors) float32 block, in memory or in a memmap file."""

    __slots__ = ("cap", "n", "path", "qpath", "quality", "values")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.n = 0
        self.values: F32 | None = None
        self.quality: F32 | None = None
        self.path: Path | None = None
        self.qpath: Path | None = None


@dataclass
class _ChunkStats:
    """First/last valid local row and value of every sensor within one chunk."""

    first_row: I32  # -1: none
    first_val: F32
    last_row: I32  # -1: none
    last_val: F32


@dataclass
class _FillIndex:
    """Per-chunk gap index over the columns that have any invalid cell in the chunk.

    ``ff[i, k]``: last valid local row <= i of column ``cols[k]`` (-1 none);
    ``bf[i, k]``: first valid local row >= i (-1 none).
    """

    cols: I64
    pos: I64  # (N,) position of each column in cols, -1 if it has no gap in the chunk
    ff: I16
    bf: I16


@dataclass
class _Cumulative:
    """Per chunk c: last valid sample (global row, value) in chunks 0..c and first in c..end."""

    last_row: I64  # (n_chunks, N), -1 none
    last_val: F32
    first_row: I64  # (n_chunks, N), -1 none
    first_val: F32


def _remove_files(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


class SensorStore:
    """All samples of N sensors: float32 (time x sensor) matrix in row chunks.

    Layout
    ------
    * ``times``: sorted unique int64 UTC ns, one per row (``T`` rows).
    * chunk ``c`` holds rows ``starts[c] .. starts[c+1]-1`` as a ``(cap, N)`` float32 block
      (``cap = chunk_rows``), NaN where a sensor has no sample. Quality, if any sample carried
      one, sits in a parallel float32 block (NaN = not rated).
    * With ``spill_dir`` each block is a :class:`numpy.memmap` file there; at most
      ``max_open_chunks`` are mapped at a time (least recently used are unmapped), so the
      resident footprint stays near ``max_open_chunks x rows touched x N x 4`` bytes whatever
      the length of the history. The files are deleted by :meth:`close` or when the store is
      garbage collected.

    Quality convention
    ------------------
    Higher is better. With :attr:`min_quality` set, a sample whose quality is below it is
    treated as missing by every query (it is skipped like a gap); unrated samples (NaN
    quality) are always accepted.

    Parameters
    ----------
    sensor_ids
        Ids of the columns, in order (strings; other values are converted with ``str``).
    chunk_rows
        Rows per chunk (1 .. 32767). Smaller chunks reduce the resident footprint of very wide
        spilled stores and the cost of gap indices; larger ones reduce per-chunk overhead.
    resolution_s
        If given, sample times are binned to ``floor(t / resolution) * resolution`` (bins
        aligned to the Unix epoch); the latest sample per sensor and bin wins.
    spill_dir
        Folder for memmap chunk files (created if needed); None keeps chunks in memory.
    source
        Name used in report messages.
    max_open_chunks
        Spilled chunks kept mapped at once.
    loop_rows
        With ``max_staleness_s``, gaps are skipped by walking back (and, for linear
        interpolation, forward) row by row, vectorised over the still-missing sensors, when the
        staleness window spans at most this many rows; wider windows use the per-chunk gap
        indices.
    max_memory_bytes
        Without ``spill_dir``, a write whose new rows would take more than this raises
        :class:`FeedError` instead of exhausting memory (typically: irregular times without
        ``resolution_s``).
    """

    def __init__(
        self,
        sensor_ids: IdsLike,
        *,
        chunk_rows: int = 2048,
        resolution_s: float | None = None,
        spill_dir: str | Path | None = None,
        source: str = "",
        max_open_chunks: int = 2,
        loop_rows: int = 64,
        max_memory_bytes: int = 8 << 30,
    ) -> None:
        import pandas as pd

        if not 1 <= int(chunk_rows) <= 32767:
            raise ValueError(f"chunk_rows must be in 1..32767, got {chunk_rows}")
        if resolution_s is not None and not float(resolution_s) > 0:
            raise ValueError(f"resolution_s must be positive, got {resolution_s}")
        ids, missing = ids_as_str(list(sensor_ids))
        if missing.any():
            raise FeedError(
                f"{source_name(source)}: empty sensor id at column {int(np.flatnonzero(missing)[0])}"
            )
        self._ids: ObjArray = ids
        self._index = pd.Index(ids, dtype=object)
        if not self._index.is_unique:
            dup = self._index[self._index.duplicated()][0]
            raise FeedError(f"{source_name(source)}: sensor id {dup!r} appears twice")
        self._n = int(ids.shape[0])
        self.chunk_rows = int(chunk_rows)
        self.resolution_s = None if resolution_s is None else float(resolution_s)
        self.source = source
        self.max_open_chunks = max(1, int(max_open_chunks))
        self.loop_rows = max(0, int(loop_rows))
        self.max_memory_bytes = int(max_memory_bytes)
        self.spill_dir = None if spill_dir is None else Path(spill_dir)
        self._prefix = f"sensorstore-{uuid.uuid4().hex[:12]}"
        self._files: list[Path] = []
        self._file_seq = 0
        if self.spill_dir is not None:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            self._finalizer = weakref.finalize(self, _remove_files, self._files)
        self._times: I64 = np.zeros(0, np.int64)
        self._chunks: list[_Chunk] = []
        self._starts: I64 = np.zeros(1, np.int64)
        self._has_quality = False
        self._min_quality: float | None = None
        self._last_t: I64 = np.full(self._n, NAT_NS, np.int64)
        self._open: list[_Chunk] = []
        # Query caches (see _invalidate).
        self._row_cache = -1
        self._stats: dict[int, _ChunkStats] = {}
        self._fills: dict[int, _FillIndex] = {}
        self._fill_lru: list[int] = []
        self._cum: _Cumulative | None = None
        # Last valid sample of every sensor over the whole store (global row, value), kept up to
        # date by writes so that live queries at the newest row cost O(N) whatever the gaps.
        self._tail: tuple[I64, F32] | None = self._empty_tail()

    # ----------------------------------------------------------------------------- building

    @classmethod
    def from_long(
        cls,
        sensor_id: Any,
        t: Any,
        value: Any,
        quality: Any = None,
        sensors: IdsLike | None = None,
        resolution_s: float | None = None,
        source: str = "",
        *,
        assume_tz: str | None = None,
        chunk_rows: int = 2048,
        spill_dir: str | Path | None = None,
        max_open_chunks: int = 2,
        max_memory_bytes: int = 8 << 30,
    ) -> tuple[SensorStore, StoreReport]:
        """Build a store from a long table (one row per sample).

        Parameters
        ----------
        sensor_id, t, value
            Array-likes of equal length: id (str), time (see :func:`to_utc_ns`; naive ISO
            strings need `assume_tz`) and value (float; NaN or text rows are dropped).
        quality
            Optional per-sample quality, higher is better (NaN = not rated).
        sensors
            Known sensor ids, in column order; rows of other ids are dropped and counted.
            Without it the columns are the ids in order of first appearance.
        resolution_s
            Bin irregular times onto a regular grid (see :class:`SensorStore`). Needed when
            many sensors sample at unrelated instants: without it every distinct instant
            becomes a row that is NaN for all but one sensor.
        source
            File or feed named in the report.
        assume_tz, chunk_rows, spill_dir, max_open_chunks, max_memory_bytes
            See :func:`to_utc_ns` and :class:`SensorStore`.

        Returns
        -------
        (SensorStore, StoreReport)
        """
        cols = [value] if quality is None else [value, quality]
        clean = clean_long(
            sensor_id,
            t,
            cols,
            required=[True, False][: len(cols)],
            sensors=sensors,
            resolution_s=resolution_s,
            assume_tz=assume_tz,
            source=source,
        )
        store = cls(
            clean.ids,
            chunk_rows=chunk_rows,
            resolution_s=resolution_s,
            spill_dir=spill_dir,
            source=source,
            max_open_chunks=max_open_chunks,
            max_memory_bytes=max_memory_bytes,
        )
        q = clean.columns[:, 1] if quality is not None else None
        store._check_density(clean.t_ns, clean.report)
        store._write(clean.codes, clean.t_ns, clean.columns[:, 0], q)
        store.release()
        return store, clean.report

    @classmethod
    def from_wide(
        cls,
        t: Any,
        values: Any,
        sensor_ids: IdsLike,
        source: str = "",
        *,
        chunk_rows: int = 2048,
        spill_dir: str | Path | None = None,
        assume_tz: str | None = None,
        max_open_chunks: int = 2,
    ) -> tuple[SensorStore, StoreReport]:
        """Build a store from a wide table: ``values[i, j]`` = sensor j at time ``t[i]``.

        The report counts cells (samples), not table rows. See :meth:`append_wide`.
        """
        store = cls(
            sensor_ids,
            chunk_rows=chunk_rows,
            spill_dir=spill_dir,
            source=source,
            max_open_chunks=max_open_chunks,
        )
        rep = store.append_wide(t, values, assume_tz=assume_tz)
        store.release()
        return store, rep

    def append(
        self,
        sensor_id: Any,
        t: Any,
        value: Any,
        quality: Any = None,
        *,
        assume_tz: str | None = None,
        source: str | None = None,
    ) -> StoreReport:
        """Append live samples (for example one MQTT drain per tick).

        New times after the last row extend the last chunk, then open new chunks. A sample at
        an existing time is written into that row (overwriting a stored sample counts as a
        duplicate, or as ``binned`` with a resolution); a sample older than the last row and
        between rows gets a new row inserted at its place (the chunk is split if full).
        Samples of ids not in :attr:`sensor_ids` are dropped and counted as unknown.

        Returns
        -------
        StoreReport
            Counts of this batch.
        """
        cols = [value] if quality is None else [value, quality]
        src = self.source if source is None else source
        clean = clean_long(
            sensor_id,
            t,
            cols,
            required=[True, False][: len(cols)],
            sensors=self._index,
            known_str=True,
            resolution_s=self.resolution_s,
            assume_tz=assume_tz,
            source=src,
            prev_t=self._last_t,
        )
        rep = clean.report
        q = clean.columns[:, 1] if quality is not None else None
        self._check_density(clean.t_ns, rep)
        overwritten, ex = self._write(clean.codes, clean.t_ns, clean.columns[:, 0], q)
        if overwritten:
            rep.replaced = overwritten
            where = "bin" if self.resolution_s is not None else "time"
            rep.warnings.append(
                f"{source_name(src)}: {overwritten} stored samples replaced by a new one at the same "
                f"{where} (for example sensor {self._ids[ex]!r})"
            )
        return rep

    def append_wide(
        self, t: Any, values: Any, quality: Any = None, *, assume_tz: str | None = None
    ) -> StoreReport:
        """Append a block of rows: ``values[i, j]`` = sensor j (column order) at time ``t[i]``.

        Counts are in cells (samples): ``rows_in = rows x sensors``; NaN cells are simply
        missing (counted in ``nan_values``). When the times are strictly increasing, after the
        last row, and no resolution is set, the block is copied chunk by chunk (no long-table
        conversion); otherwise it goes through :meth:`append`.
        """
        v = np.asarray(values, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != self._n:
            raise FeedError(
                f"{source_name(self.source)}: wide block has shape {v.shape}, expected (rows, {self._n})"
            )
        t_ns, ok = to_utc_ns(t, assume_tz=assume_tz, source=self.source)
        if t_ns.shape[0] != v.shape[0]:
            raise FeedError(
                f"{source_name(self.source)}: {t_ns.shape[0]} times for {v.shape[0]} rows"
            )
        last = int(self._times[-1]) if self._times.size else NAT_NS
        fast = (
            quality is None
            and self.resolution_s is None
            and bool(ok.all())
            and (t_ns.size == 0 or (bool(np.all(np.diff(t_ns) > 0)) and int(t_ns[0]) > last))
        )
        if not fast:
            rows, cols = np.divmod(np.arange(v.size), self._n)
            q = None if quality is None else np.asarray(quality, np.float64).ravel()
            t64 = np.where(ok, t_ns, NAT_NS).view("datetime64[ns]")
            return self.append(self._ids[cols], t64[rows], v.ravel(), q)
        rep = StoreReport(source=self.source, rows_in=int(v.size))
        nan = np.isnan(v)
        rep.nan_values = int(nan.sum())
        rep.rows_kept = rep.rows_in - rep.nan_values
        if t_ns.size == 0:
            return rep
        r0 = self._times.size
        self._append_rows(t_ns)
        self._copy_block(r0, v)
        if self._tail is not None:
            ok_cells = ~nan
            has_any = ok_cells.any(axis=0)
            last_in = v.shape[0] - 1 - np.argmax(ok_cells[::-1], axis=0)
            cols = np.flatnonzero(has_any)
            self._tail[0][cols] = r0 + last_in[cols]
            self._tail[1][cols] = v[last_in[cols], cols]
        valid_any = ~nan
        has = valid_any.any(axis=0)
        last_idx = v.shape[0] - 1 - np.argmax(valid_any[::-1], axis=0)
        self._last_t[has] = np.maximum(self._last_t[has], t_ns[last_idx[has]])
        return rep

    # --------------------------------------------------------------------------- internals

    def _alloc(self, cap: int, rows: int | None = None) -> _Chunk:
        """A new chunk of capacity `cap`. In memory only `rows` rows are allocated (they grow on
        demand, see :meth:`_reserve`), so a live store does not hold ``cap x N`` NaNs from the
        first sample on; spill files are created at full capacity."""
        ch = _Chunk(cap)
        if self.spill_dir is None:
            k = cap if rows is None else max(1, min(cap, rows))
            ch.values = np.full((k, self._n), np.nan, np.float32)
            if self._has_quality:
                ch.quality = np.full((k, self._n), np.nan, np.float32)
            return ch
        ch.path = self._new_file()
        mm = np.memmap(ch.path, dtype=np.float32, mode="w+", shape=(cap, max(self._n, 1)))
        mm[:] = np.nan
        mm.flush()
        del mm
        if self._has_quality:
            ch.qpath = self._new_file()
            mq = np.memmap(ch.qpath, dtype=np.float32, mode="w+", shape=(cap, max(self._n, 1)))
            mq[:] = np.nan
            mq.flush()
            del mq
        return ch

    def _reserve(self, ch: _Chunk, rows: int) -> None:
        """Grow an in-memory chunk's arrays to hold at least `rows` rows (doubling)."""
        if ch.path is not None or ch.values is None or rows <= ch.values.shape[0]:
            return
        k = min(ch.cap, max(rows, 2 * ch.values.shape[0], 16))
        grown = np.full((k, self._n), np.nan, np.float32)
        grown[: ch.n] = ch.values[: ch.n]
        ch.values = grown
        if ch.quality is not None:
            gq = np.full((k, self._n), np.nan, np.float32)
            gq[: ch.n] = ch.quality[: ch.n]
            ch.quality = gq

    def _new_file(self) -> Path:
        assert self.spill_dir is not None
        p = self.spill_dir / f"{self._prefix}-{self._file_seq:06d}.f32"
        self._file_seq += 1
        self._files.append(p)
        return p

    def _arrays(self, ch: _Chunk) -> tuple[F32, F32 | None]:
        """The chunk's (values, quality) blocks, mapping spilled files on demand (LRU)."""
        if ch.path is None:
            assert ch.values is not None
            return ch.values, ch.quality
        if ch.values is None:
            ch.values = np.memmap(
                ch.path, dtype=np.float32, mode="r+", shape=(ch.cap, max(self._n, 1))
            )
            if ch.qpath is not None:
                ch.quality = np.memmap(
                    ch.qpath, dtype=np.float32, mode="r+", shape=(ch.cap, max(self._n, 1))
                )
        if self._open and self._open[-1] is ch:
            return ch.values, ch.quality
        with contextlib.suppress(ValueError):
            self._open.remove(ch)
        self._open.append(ch)
        while len(self._open) > self.max_open_chunks:
            old = self._open.pop(0)
            self._unmap(old)
        return ch.values, ch.quality

    @staticmethod
    def _unmap(ch: _Chunk) -> None:
        if ch.path is None:
            return
        for a in (ch.values, ch.quality):
            if isinstance(a, np.memmap):
                a.flush()
        ch.values = None
        ch.quality = None

    def _enable_quality(self) -> None:
        if self._has_quality:
            return
        self._has_quality = True
        for ch in self._chunks:
            if ch.path is None:
                assert ch.values is not None
                ch.quality = np.full(ch.values.shape, np.nan, np.float32)
            else:
                self._unmap(ch)
                ch.qpath = self._new_file()
                mq = np.memmap(
                    ch.qpath, dtype=np.float32, mode="w+", shape=(ch.cap, max(self._n, 1))
                )
                mq[:] = np.nan
                mq.flush()
                del mq
        self._open = [c for c in self._open if c.values is not None]

    def _recount(self) -> None:
        self._starts = np.concatenate(
            [[0], np.cumsum([c.n for c in self._chunks], dtype=np.int64)]
        ).astype(np.int64)

    def _invalidate(self, chunks: Sequence[int] | None = None) -> None:
        """Drop query caches: all of them, or those of some chunks (values changed in place)."""
        if chunks is None:
            self._stats.clear()
            self._fills.clear()
            self._fill_lru.clear()
            self._row_cache = -1
        else:
            for c in chunks:
                self._stats.pop(c, None)
                if self._fills.pop(c, None) is not None:
                    self._fill_lru.remove(c)
        self._cum = None

    def _append_rows(self, new_t: I64) -> None:
        """Add rows (NaN) for sorted times all after the last row."""
        if new_t.size == 0:
            return
        k = 0
        touched: list[int] = []
        if self._chunks and self._chunks[-1].n < self._chunks[-1].cap:
            last = self._chunks[-1]
            take = min(last.cap - last.n, new_t.size)
            self._reserve(last, last.n + take)
            last.n += take
            k = take
            touched.append(len(self._chunks) - 1)
        while k < new_t.size:
            take = min(self.chunk_rows, new_t.size - k)
            ch = self._alloc(self.chunk_rows, rows=take)
            ch.n = take
            self._chunks.append(ch)
            k += take
        self._times = np.concatenate([self._times, new_t]).astype(np.int64)
        self._recount()
        # Appending rows changes the last chunk's gap index and the "first from" summaries.
        self._invalidate(touched)

    def _insert_rows(self, new_t: I64) -> None:
        """Insert rows (NaN) for sorted times that fall between existing rows."""
        pos = np.searchsorted(self._times, new_t)
        chunk_of = np.clip(
            np.searchsorted(self._starts, pos, side="right") - 1, 0, len(self._chunks) - 1
        )
        new_chunks: list[_Chunk] = []
        for c, ch in enumerate(self._chunks):
            sel = chunk_of == c
            if not sel.any():
                new_chunks.append(ch)
                continue
            local = pos[sel] - self._starts[c]
            vals, qual = self._arrays(ch)
            v = np.insert(np.asarray(vals[: ch.n]), local, np.nan, axis=0)
            q = None if qual is None else np.insert(np.asarray(qual[: ch.n]), local, np.nan, axis=0)
            n_new = v.shape[0]
            if n_new <= ch.cap:
                self._reserve(ch, n_new)
                vals, qual = self._arrays(ch)
                vals[:n_new] = v
                if qual is not None and q is not None:
                    qual[:n_new] = q
                ch.n = n_new
                new_chunks.append(ch)
                continue
            # Split into balanced full-capacity chunks.
            parts = -(-n_new // ch.cap)
            bounds = np.linspace(0, n_new, parts + 1).round().astype(int)
            for a, b in itertools.pairwise(bounds):
                nc = self._alloc(self.chunk_rows, rows=int(b - a))
                nv, nq = self._arrays(nc)
                nv[: b - a] = v[a:b]
                if nq is not None and q is not None:
                    nq[: b - a] = q[a:b]
                nc.n = int(b - a)
                new_chunks.append(nc)
            self._unmap(ch)
            with contextlib.suppress(ValueError):
                self._open.remove(ch)
            for p in (ch.path, ch.qpath):
                if p is not None:
                    with contextlib.suppress(OSError):
                        p.unlink()
        self._chunks = new_chunks
        self._times = np.insert(self._times, pos, new_t).astype(np.int64)
        self._recount()
        self._invalidate()
        self._tail = None  # row numbers shifted

    def _ensure_rows(self, t_sorted_unique: I64) -> None:
        T = self._times.size
        if T:
            pos = np.searchsorted(self._times, t_sorted_unique)
            exists = (pos < T) & (self._times[np.minimum(pos, T - 1)] == t_sorted_unique)
            new = t_sorted_unique[~exists]
            tail = new[new > self._times[-1]]
            mid = new[new < self._times[-1]]
            if mid.size:
                self._insert_rows(mid)
            self._append_rows(tail)
        else:
            self._append_rows(t_sorted_unique)

    def _copy_block(self, r0: int, block: F32) -> None:
        """Write rows ``r0 .. r0+len(block)-1`` (already allocated) from a dense block."""
        r1 = r0 + block.shape[0]
        c0 = int(np.searchsorted(self._starts, r0, side="right") - 1)
        touched = []
        c = c0
        while c < len(self._chunks) and self._starts[c] < r1:
            a = max(r0, int(self._starts[c]))
            b = min(r1, int(self._starts[c + 1]))
            vals, _ = self._arrays(self._chunks[c])
            vals[a - self._starts[c] : b - self._starts[c]] = block[a - r0 : b - r0]
            touched.append(c)
            c += 1
        self._invalidate(touched)

    def _check_density(self, t_ns: I64, rep: StoreReport) -> None:
        """Refuse writes whose new rows would not fit in memory, warn about sparse ones.

        Without ``resolution_s`` every distinct instant is a row of N cells; sensors that
        sample at unrelated instants then fill about 1/N of each row.
        """
        uniq = np.unique(t_ns)
        T = self._times.size
        if T:
            pos = np.searchsorted(self._times, uniq)
            uniq = uniq[~((pos < T) & (self._times[np.minimum(pos, T - 1)] == uniq))]
        cells = int(uniq.size) * self._n
        if cells == 0:
            return
        src = source_name(rep.source)
        need = cells * (8 if self._has_quality else 4)
        if self.spill_dir is None and need > self.max_memory_bytes:
            raise FeedError(
                f"{src}: {uniq.size} new time rows x {self._n} sensors would take "
                f"{need / 2**30:.1f} GiB; bin the times with resolution_s, or spill to disk "
                "with spill_dir"
            )
        fill = t_ns.size / cells
        if self.resolution_s is None and self._n > 1 and fill < 0.05 and cells >= 100_000:
            rep.warnings.append(
                f"{src}: the {uniq.size} new time rows are only {fill:.1%} filled: sensors "
                "sample at unrelated instants; pass resolution_s to bin them onto a grid"
            )

    def _write(self, codes: I64, t_ns: I64, vals: F64, quals: F64 | None) -> tuple[int, int]:
        """Write cleaned samples (unique per (code, time)); return (stored cells overwritten,
        an example sensor code)."""
        if codes.size == 0:
            return 0, -1
        if quals is not None:
            self._enable_quality()
        order = np.argsort(t_ns, kind="stable")
        codes, t_ns, vals = codes[order], t_ns[order], vals[order]
        q = None if quals is None else quals[order]
        self._ensure_rows(np.unique(t_ns))
        rows = np.searchsorted(self._times, t_ns)
        cidx = np.searchsorted(self._starts, rows, side="right") - 1
        bounds = np.searchsorted(cidx, np.arange(len(self._chunks) + 1))
        overwritten = 0
        example = -1
        touched: list[int] = []
        ok_all = np.ones(codes.size, bool)
        for c in np.flatnonzero(np.diff(bounds)):
            a, b = int(bounds[c]), int(bounds[c + 1])
            ch = self._chunks[int(c)]
            local = rows[a:b] - self._starts[c]
            cc = codes[a:b]
            arr, qarr = self._arrays(ch)
            old = arr[local, cc]
            hit = ~np.isnan(old)
            if hit.any():
                overwritten += int(hit.sum())
                example = int(cc[hit][0])
            arr[local, cc] = vals[a:b].astype(np.float32)
            if qarr is not None:
                qarr[local, cc] = np.nan if q is None else q[a:b].astype(np.float32)
            qq = None if q is None else q[a:b].astype(np.float32)
            ok_all[a:b] = self._valid(vals[a:b].astype(np.float32), qq)
            touched.append(int(c))
        np.maximum.at(self._last_t, codes, t_ns)
        self._invalidate(touched)
        self._update_tail(rows, codes, vals.astype(np.float32), ok_all)
        return overwritten, example

    def _update_tail(self, rows: I64, codes: I64, vals: F32, ok: B) -> None:
        """Fold written cells (global rows, unique per (code, row)) into the tail tracker."""
        if self._tail is None:
            return
        t_rows, t_vals = self._tail
        if (~ok).any() and (rows[~ok] == t_rows[codes[~ok]]).any():
            self._tail = None  # a tail sample became invalid: recompute lazily
            return
        r, cc, v = rows[ok], codes[ok], vals[ok]
        best = np.full(self._n, -1, np.int64)
        np.maximum.at(best, cc, r)
        newer = best >= t_rows
        newer &= best >= 0
        hit = newer[cc] & (r == best[cc])
        t_rows[cc[hit]] = r[hit]
        t_vals[cc[hit]] = v[hit]

    def _get_tail(self) -> tuple[I64, F32]:
        if self._tail is None:
            if not self._chunks:
                return self._empty_tail()
            cum = self._cumulative()
            self._tail = (cum.last_row[-1].copy(), cum.last_val[-1].copy())
        return self._tail

    # ----------------------------------------------------------------------------- queries

    @property
    def sensor_ids(self) -> ObjArray:
        """Ids of the columns (object array of str), in column order."""
        return self._ids

    @property
    def n_sensors(self) -> int:
        """Number of sensors (columns)."""
        return self._n

    @property
    def n_times(self) -> int:
        """Number of rows (distinct sample times)."""
        return int(self._times.size)

    @property
    def times(self) -> I64:
        """Row times, UTC ns (read-only view)."""
        v = self._times.view()
        v.flags.writeable = False
        return v

    @property
    def n_chunks(self) -> int:
        """Number of row chunks."""
        return len(self._chunks)

    @property
    def has_quality(self) -> bool:
        """True once any sample carried a quality."""
        return self._has_quality

    @property
    def last_sample_ns(self) -> I64:
        """Latest sample time of each sensor, UTC ns (:data:`NAT_NS` if none)."""
        return self._last_t.copy()

    @property
    def min_quality(self) -> float | None:
        """Samples with quality below this are treated as missing (None: all accepted).

        Higher quality is better; unrated samples (NaN quality) are always accepted.
        """
        return self._min_quality

    @min_quality.setter
    def min_quality(self, value: float | None) -> None:
        self._min_quality = None if value is None else float(value)
        self._invalidate()
        self._tail = None

    @property
    def nbytes(self) -> int:
        """Logical size of the data in bytes: ``rows x sensors x 4`` for values (float32), twice
        that with quality. This is what the matrix would take in RAM; with ``spill_dir`` it lives
        in files and only mapped, touched pages are resident (see :attr:`resident_nbytes`)."""
        per = 8 if self._has_quality else 4
        return int(self._times.size) * self._n * per

    @property
    def resident_nbytes(self) -> int:
        """Bytes held in process memory: in-memory chunk blocks (allocated rows, which grow by
        doubling up to ``chunk_rows``) and query caches. Memmapped files are excluded; their
        touched pages stay resident only while mapped, at most ``max_open_chunks`` chunks."""
        total = 0
        for ch in self._chunks:
            if ch.path is None:
                for a in (ch.values, ch.quality):
                    if a is not None:
                        total += a.nbytes
        for fi in self._fills.values():
            total += fi.ff.nbytes + fi.bf.nbytes + fi.cols.nbytes
        if self._cum is not None:
            total += sum(
                a.nbytes
                for a in (
                    self._cum.last_row,
                    self._cum.last_val,
                    self._cum.first_row,
                    self._cum.first_val,
                )
            )
        return total

    def index_of(self, ids: Any) -> I64:
        """Column index of each id (-1 for ids not in the store)."""
        import pandas as pd

        arr, _ = ids_as_str(np.atleast_1d(np.asarray(ids, dtype=object)))
        return self._index.get_indexer(pd.Index(arr, dtype=object)).astype(np.int64)

    def time_range(self) -> tuple[int, int] | None:
        """(first, last) row time, UTC ns; None while the store is empty."""
        if self._times.size == 0:
            return None
        return int(self._times[0]), int(self._times[-1])

    def release(self) -> None:
        """Unmap all spilled chunks, dropping their resident pages (they map again on demand).
        Called after bulk builds; no effect on in-memory chunks."""
        for ch in self._open:
            self._unmap(ch)
        self._open.clear()

    def close(self) -> None:
        """Unmap and delete spill files (the store is empty afterwards)."""
        for ch in self._chunks:
            self._unmap(ch)
        self._open.clear()
        _remove_files(self._files)
        self._files.clear()
        self._chunks = []
        self._times = np.zeros(0, np.int64)
        self._recount()
        self._invalidate()
        self._tail = self._empty_tail()

    def _empty_tail(self) -> tuple[I64, F32]:
        return np.full(self._n, -1, np.int64), np.full(self._n, np.nan, np.float32)

    # Row helpers ------------------------------------------------------------------------

    def _row_at(self, t: int) -> int:
        """Last row with time <= t (-1 if none); O(1) for monotone playback via a cached row."""
        times = self._times
        T = times.size
        r = self._row_cache
        for cand in (r, r + 1):
            if 0 <= cand < T and times[cand] <= t and (cand + 1 == T or t < times[cand + 1]):
                self._row_cache = cand
                return cand
        r = int(np.searchsorted(times, t, side="right")) - 1
        self._row_cache = r
        return r

    def _locate(self, r: int) -> tuple[int, int]:
        c = int(np.searchsorted(self._starts, r, side="right")) - 1
        return c, r - int(self._starts[c])

    def _valid(self, v: F32, q: F32 | None) -> B:
        ok = ~np.isnan(v)
        if q is not None and self._min_quality is not None:
            ok &= ~(q < self._min_quality)
        return ok

    def _row(self, r: int, cols: I64 | None = None) -> tuple[F32, B]:
        c, loc = self._locate(r)
        arr, qarr = self._arrays(self._chunks[c])
        if cols is None:
            v = np.array(arr[loc], dtype=np.float32)
            q = None if qarr is None else np.asarray(qarr[loc])
        else:
            v = np.asarray(arr[loc, cols], dtype=np.float32)
            q = None if qarr is None else np.asarray(qarr[loc, cols])
        return v, self._valid(v, q)

    def _chunk_valid(self, c: int, cols: I64 | None = None) -> B:
        ch = self._chunks[c]
        arr, qarr = self._arrays(ch)
        if cols is None:
            v = np.asarray(arr[: ch.n])
            q = None if qarr is None else np.asarray(qarr[: ch.n])
        else:
            v = np.asarray(arr[: ch.n][:, cols])
            q = None if qarr is None else np.asarray(qarr[: ch.n][:, cols])
        return self._valid(v, q)

    def _chunk_stats(self, c: int) -> _ChunkStats:
        st = self._stats.get(c)
        if st is not None:
            return st
        ch = self._chunks[c]
        arr, _ = self._arrays(ch)
        first_row = np.full(self._n, -1, np.int32)
        last_row = np.full(self._n, -1, np.int32)
        # Row blocks bound the temporary (rows x N) masks.
        step = max(1, 4_000_000 // max(self._n, 1))
        for a in range(0, ch.n, step):
            b = min(ch.n, a + step)
            ok = self._valid(
                np.asarray(arr[a:b]), None if ch.quality is None else np.asarray(ch.quality[a:b])
            )
            anyv = ok.any(axis=0)
            fr = a + np.argmax(ok, axis=0)
            lr = b - 1 - np.argmax(ok[::-1], axis=0)
            first_row = np.where((first_row < 0) & anyv, fr, first_row).astype(np.int32)
            last_row = np.where(anyv, lr, last_row).astype(np.int32)
        cols = np.arange(self._n)
        first_val = np.where(first_row >= 0, arr[np.maximum(first_row, 0), cols], np.nan).astype(
            np.float32
        )
        last_val = np.where(last_row >= 0, arr[np.maximum(last_row, 0), cols], np.nan).astype(
            np.float32
        )
        st = _ChunkStats(first_row, first_val, last_row, last_val)
        self._stats[c] = st
        return st

    def _cumulative(self) -> _Cumulative:
        if self._cum is not None:
            return self._cum
        nc = len(self._chunks)
        last_row = np.full((nc, self._n), -1, np.int64)
        last_val = np.full((nc, self._n), np.nan, np.float32)
        first_row = np.full((nc, self._n), -1, np.int64)
        first_val = np.full((nc, self._n), np.nan, np.float32)
        stats = [self._chunk_stats(c) for c in range(nc)]
        prev_r = np.full(self._n, -1, np.int64)
        prev_v = np.full(self._n, np.nan, np.float32)
        for c in range(nc):
            st = stats[c]
            has = st.last_row >= 0
            prev_r = np.where(has, self._starts[c] + st.last_row, prev_r)
            prev_v = np.where(has, st.last_val, prev_v)
            last_row[c], last_val[c] = prev_r, prev_v
        nxt_r = np.full(self._n, -1, np.int64)
        nxt_v = np.full(self._n, np.nan, np.float32)
        for c in range(nc - 1, -1, -1):
            st = stats[c]
            has = st.first_row >= 0
            nxt_r = np.where(has, self._starts[c] + st.first_row, nxt_r)
            nxt_v = np.where(has, st.first_val, nxt_v)
            first_row[c], first_val[c] = nxt_r, nxt_v
        self._cum = _Cumulative(last_row, last_val, first_row, first_val)
        return self._cum

    def _fill_index(self, c: int) -> _FillIndex:
        fi = self._fills.get(c)
        if fi is not None:
            self._fill_lru.remove(c)
            self._fill_lru.append(c)
            return fi
        ch = self._chunks[c]
        n = ch.n
        bad_any = np.zeros(self._n, bool)
        step = max(1, 4_000_000 // max(self._n, 1))
        for a in range(0, n, step):
            ok = self._chunk_valid_rows(c, a, min(n, a + step))
            bad_any |= ~ok.all(axis=0)
        cols = np.flatnonzero(bad_any).astype(np.int64)
        ok = self._chunk_valid(c, cols) if cols.size else np.zeros((n, 0), bool)
        ar = np.arange(n, dtype=np.int16)[:, None]
        ff = np.maximum.accumulate(np.where(ok, ar, np.int16(-1)), axis=0).astype(np.int16)
        big = np.int16(32767)
        bf = np.minimum.accumulate(np.where(ok, ar, big)[::-1], axis=0)[::-1].astype(np.int16)
        bf[bf == big] = -1
        pos = np.full(self._n, -1, np.int64)
        pos[cols] = np.arange(cols.size)
        fi = _FillIndex(cols, pos, ff, np.ascontiguousarray(bf))
        self._fills[c] = fi
        self._fill_lru.append(c)
        while len(self._fill_lru) > 2:
            self._fills.pop(self._fill_lru.pop(0), None)
        return fi

    def _chunk_valid_rows(self, c: int, a: int, b: int) -> B:
        ch = self._chunks[c]
        arr, qarr = self._arrays(ch)
        return self._valid(np.asarray(arr[a:b]), None if qarr is None else np.asarray(qarr[a:b]))

    # Gap skipping -----------------------------------------------------------------------

    # Each gap walker returns (values, idx, rows): values of every sensor, where the sensors
    # in `idx` did not take their value from the starting row but from `rows` (-1 = none).

    def _walk(self, r: int, stop: int, step: int) -> tuple[F32, I64, I64]:
        """Walk from row r towards `stop` (inclusive) one row at a time, vectorised over the
        sensors still missing, until each has a valid sample or the window ends."""
        vals, ok = self._row(r)
        if ok.all():
            return vals, _EMPTY, _EMPTY
        idx = np.flatnonzero(~ok)
        vals[idx] = np.nan
        rows = np.full(idx.size, -1, np.int64)
        miss = np.arange(idx.size)
        rr = r + step
        while miss.size and (rr >= stop if step < 0 else rr <= stop):
            v, good = self._row(rr, idx[miss])
            if good.any():
                hit = miss[good]
                vals[idx[hit]] = v[good]
                rows[hit] = rr
                miss = miss[~good]
            rr += step
        return vals, idx, rows

    def _fill(self, r: int, forward: bool) -> tuple[F32, I64, I64]:
        """Last valid sample at or before row r (`forward` False) or first at or after it
        (True) over the whole history, from the chunk's gap index and chunk summaries."""
        vals, ok = self._row(r)
        if ok.all():
            return vals, _EMPTY, _EMPTY
        c, loc = self._locate(r)
        fi = self._fill_index(c)
        # Only the columns invalid at row r need a look-up; they all have gaps in chunk c.
        idx = np.flatnonzero(~ok)
        local = (fi.bf if forward else fi.ff)[loc, fi.pos[idx]].astype(np.int64)
        has = local >= 0
        rows = np.where(has, self._starts[c] + local, -1)
        arr, _ = self._arrays(self._chunks[c])
        vals[idx[has]] = arr[local[has], idx[has]]
        none = np.flatnonzero(~has)
        if none.size:
            other = c + 1 if forward else c - 1
            if 0 <= other < len(self._chunks):
                cum = self._cumulative()
                crow = cum.first_row if forward else cum.last_row
                cval = cum.first_val if forward else cum.last_val
                rows[none] = crow[other, idx[none]]
                vals[idx[none]] = cval[other, idx[none]]
            else:
                vals[idx[none]] = np.nan
        return vals, idx, rows

    def values_at(self, t_ns: Any, mode: str = "last", max_staleness_s: float | None = None) -> F32:
        """Value of every sensor at a time (vectorised over sensors; runs every UI tick).

        Parameters
        ----------
        t_ns
            UTC ns (int), ``datetime64`` or an aware timestamp.
        mode
            ``"last"``: the last valid sample at or before `t_ns` (sample-and-hold).
            ``"linear"``: linear interpolation between the last valid sample ``(t0, v0)`` at or
            before `t_ns` and the next valid one ``(t1, v1)`` after it,
            ``v = v0 + (t - t0) / (t1 - t0) * (v1 - v0)``; at a sample time this is the sample.
            Without a next sample the last one is held.
        max_staleness_s
            A last sample older than this (``t - t0 > max_staleness_s``) gives NaN, and in
            linear mode the next sample must lie within ``t + max_staleness_s`` (else the last
            one is held). None: no limit.

        Returns
        -------
        numpy.ndarray of float32, shape (n_sensors,)
            NaN = no (fresh) data, or before the sensor's first sample.

        Notes
        -----
        Gaps (NaN cells, or quality below :attr:`min_quality`) are skipped. With a staleness
        window of at most :attr:`loop_rows` rows the skip walks row by row within the window,
        vectorised over the sensors still missing; otherwise per-chunk forward/backward fill
        indices (int16 local rows over the columns that have gaps in that chunk, built lazily,
        two chunks cached) and per-chunk first/last summaries answer without walking. The row of
        `t_ns` is cached, so monotone playback finds it in O(1). At or after the newest row (live
        mode) the answer comes from a per-sensor "last valid sample" kept up to date by every
        write, O(N) whatever the gaps. Appends invalidate the gap indices of the chunks they
        touch. Without gaps a query reads one row (two for linear): measured 20-50 us ("last")
        and 80-120 us ("linear") for 50,000 sensors on a 2-core VM.
        """
        if mode not in ("last", "linear"):
            raise ValueError(f"mode must be 'last' or 'linear', got {mode!r}")
        t = scalar_ns(t_ns)
        T = self._times.size
        if T == 0 or self._n == 0:
            return np.full(self._n, np.nan, np.float32)
        r = self._row_at(t)
        if r < 0:
            return np.full(self._n, np.nan, np.float32)
        times = self._times
        w_ns = None if max_staleness_s is None else round(float(max_staleness_s) * NS_PER_S)
        if r == T - 1:
            # At or after the newest row (live): the tracked last sample of every sensor; there
            # is no next sample, so "linear" holds it too.
            t_rows, t_vals = self._get_tail()
            out = t_vals.copy()
            if w_ns is not None:
                out[times[np.maximum(t_rows, 0)] < t - w_ns] = np.nan
            return out
        if w_ns is None:
            pv, pidx, prow = self._fill(r, forward=False)
        else:
            if t - int(times[r]) > w_ns:
                # Even the latest row is stale, so every sample is.
                return np.full(self._n, np.nan, np.float32)
            row_lo = int(np.searchsorted(times, t - w_ns, side="left"))
            if r - row_lo <= self.loop_rows:
                pv, pidx, prow = self._walk(r, row_lo, -1)
            else:
                pv, pidx, prow = self._fill(r, forward=False)
                stale = (prow >= 0) & (times[np.maximum(prow, 0)] < t - w_ns)
                pv[pidx[stale]] = np.nan
                prow[stale] = -1
        if mode == "last" or r + 1 >= T or (pidx.size == 0 and int(times[r]) == t):
            return pv
        if w_ns is None:
            nv, nidx, nrow = self._fill(r + 1, forward=True)
        else:
            row_hi = int(np.searchsorted(times, t + w_ns, side="right")) - 1
            if row_hi < r + 1:
                return pv
            if row_hi - (r + 1) <= self.loop_rows:
                nv, nidx, nrow = self._walk(r + 1, row_hi, +1)
            else:
                nv, nidx, nrow = self._fill(r + 1, forward=True)
                far = (nrow >= 0) & (times[np.maximum(nrow, 0)] > t + w_ns)
                nrow[far] = -1
        # Every sensor first as if its samples were at rows r and r+1, then the few whose
        # samples are elsewhere (gaps) with their own times.
        t0, t1 = int(times[r]), int(times[r + 1])
        out = (pv + np.float32((t - t0) / (t1 - t0)) * (nv - pv)).astype(np.float32)
        if pidx.size or nidx.size:
            sp = np.union1d(pidx, nidx)
            p_r = np.full(sp.size, r, np.int64)
            n_r = np.full(sp.size, r + 1, np.int64)
            p_r[np.searchsorted(sp, pidx)] = prow
            n_r[np.searchsorted(sp, nidx)] = nrow
            a, b = pv[sp], nv[sp]
            res = np.where(p_r >= 0, a, np.float32(np.nan)).astype(np.float32)
            both = (p_r >= 0) & (n_r >= 0)
            ta = times[np.maximum(p_r, 0)]
            tb = times[np.maximum(n_r, 0)]
            w64 = np.where(both, (t - ta) / np.where(both, tb - ta, 1), 0.0)
            res[both] = (a[both] + w64[both] * (b[both] - a[both])).astype(np.float32)
            out[sp] = res
        return out

    def series(self, sensor_index: int, t0: Any = None, t1: Any = None) -> tuple[I64, F32]:
        """Valid samples of one sensor with ``t0 <= t <= t1`` (for sparklines).

        Returns
        -------
        (times_ns, values)
            int64 UTC ns and float32 values, gaps and low-quality samples left out.
        """
        j = int(sensor_index)
        if not 0 <= j < self._n:
            raise IndexError(f"sensor index {j} out of range 0..{self._n - 1}")
        times = self._times
        a = 0 if t0 is None else int(np.searchsorted(times, scalar_ns(t0), side="left"))
        b = times.size if t1 is None else int(np.searchsorted(times, scalar_ns(t1), side="right"))
        if b <= a:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        parts_v: list[F32] = []
        parts_ok: list[B] = []
        c0 = int(np.searchsorted(self._starts, a, side="right") - 1)
        c = c0
        while c < len(self._chunks) and self._starts[c] < b:
            lo = max(a, int(self._starts[c])) - int(self._starts[c])
            hi = min(b, int(self._starts[c + 1])) - int(self._starts[c])
            arr, qarr = self._arrays(self._chunks[c])
            v = np.array(arr[lo:hi, j], dtype=np.float32)
            q = None if qarr is None else np.asarray(qarr[lo:hi, j])
            parts_v.append(v)
            parts_ok.append(self._valid(v, q))
            c += 1
        v_all = np.concatenate(parts_v)
        ok_all = np.concatenate(parts_ok)
        return times[a:b][ok_all].copy(), v_all[ok_all]

    def __repr__(self) -> str:
        rng = self.time_range()
        span = ""
        if rng is not None:
            a = np.datetime64(rng[0], "ns")
            b = np.datetime64(rng[1], "ns")
            span = f", {a}Z..{b}Z"
        return (
            f"SensorStore({self._n} sensors x {self._times.size} times in {len(self._chunks)} "
            f"chunks{span}{', spilled' if self.spill_dir is not None else ''})"
        )


def to_frame(store: SensorStore) -> pd.DataFrame:
    """The store as a long table (``sensor_id``, ``t`` UTC, ``value``, ``quality`` if any), valid
    samples only, sorted by time then sensor column. Meant for recordings and tests."""
    import pandas as pd

    ids: list[ObjArray] = []
    ts: list[I64] = []
    vs: list[F32] = []
    qs: list[F32] = []
    for c, ch in enumerate(store._chunks):
        arr, qarr = store._arrays(ch)
        block = np.asarray(arr[: ch.n])
        ok = store._valid(block, None if qarr is None else np.asarray(qarr[: ch.n]))
        r, j = np.nonzero(ok)
        ids.append(store._ids[j])
        ts.append(store._times[store._starts[c] + r])
        vs.append(block[r, j])
        if qarr is not None:
            qs.append(np.asarray(qarr[: ch.n])[r, j])
    t_all = np.concatenate(ts) if ts else np.zeros(0, np.int64)
    data: dict[str, Any] = {
        "sensor_id": pd.Series(
            np.concatenate(ids) if ids else np.zeros(0, object), dtype=object
        ).astype(str),
        "t": pd.Series(t_all.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "value": (np.concatenate(vs) if vs else np.zeros(0, np.float32)).astype(np.float64),
    }
    if store.has_quality:
        data["quality"] = np.concatenate(qs).astype(np.float64) if qs else np.zeros(0)
    return pd.DataFrame(data)
