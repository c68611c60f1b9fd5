"""Cleaning a long table of samples (one row per sample) with whole-array operations.

:func:`clean_long` drops rows with a missing id, an unparseable or naive time, an unknown
sensor or a NaN value, counts out-of-order samples (sorted, not dropped), removes duplicates
(the last in input order wins) and merges samples into time bins, and counts each of these in a
:class:`StoreReport` with one warning line per non-zero count. Times go through
:func:`twin_app.model.times.to_utc_ns`. :class:`~twin_app.feeds.store.SensorStore` and
:class:`~twin_app.feeds.tracks.MoverTracks` both build from its :class:`CleanLong` result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin_app.errors import FeedError
from twin_app.model.times import NAT_NS, NS_PER_S, to_utc_ns

if TYPE_CHECKING:
    import pandas as pd

    #: A list of ids: sequence, array, pandas Series or Index.
    IdsLike = Sequence[Any] | npt.NDArray[Any] | pd.Series[Any] | pd.Index[Any]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]


def source_name(source: str) -> str:
    """`source`, or ``"<input>"`` when it is empty (the subject of a message)."""
    return source or "<input>"


@dataclass
class StoreReport:
    """What cleaning a long table (or an append) kept, dropped and repaired.

    Every dropped input row is counted once, under the first failing check in this order:
    missing id, unparseable time, unknown sensor, NaN value. Then exact duplicates, then
    resolution-bin merges are removed; out-of-order samples are only sorted, not dropped.
    ``rows_in = rows_kept + missing_ids + unparseable_times + unknown_sensors + nan_values +
    duplicates + binned``.

    Attributes
    ----------
    source
        File or feed the samples came from.
    rows_in
        Input rows (samples).
    rows_kept
        Samples written to the store.
    nan_values
        Rows dropped because the value (or a required coordinate) is NaN, infinite or not a
        number.
    unparseable_times
        Rows dropped because the time could not be read.
    unknown_sensors
        Rows dropped because their id is not in the given sensor list.
    missing_ids
        Rows dropped because their id is empty or missing.
    duplicates
        Samples with the same sensor and time as a later one (the LAST in input order is kept).
    out_of_order
        Samples earlier than the previous sample of the same sensor in input order (and, on
        append, earlier than that sensor's latest stored sample). They are sorted into place.
    binned
        Samples merged into a ``resolution_s`` bin that also holds a later sample (the later
        one wins).
    replaced
        On :meth:`SensorStore.append`: stored samples overwritten by a new sample at the same
        time (or in the same bin). The new one is kept, so this is not part of the row sum.
    warnings
        One line per non-zero count, naming the source and an example row and sensor.
    """

    source: str = ""
    rows_in: int = 0
    rows_kept: int = 0
    nan_values: int = 0
    unparseable_times: int = 0
    unknown_sensors: int = 0
    missing_ids: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    binned: int = 0
    replaced: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        """Input rows not written (``rows_in - rows_kept``)."""
        return self.rows_in - self.rows_kept

    def merge(self, other: StoreReport) -> StoreReport:
        """Sum of two reports (for example of successive appends)."""
        return StoreReport(
            source=self.source or other.source,
            rows_in=self.rows_in + other.rows_in,
            rows_kept=self.rows_kept + other.rows_kept,
            nan_values=self.nan_values + other.nan_values,
            unparseable_times=self.unparseable_times + other.unparseable_times,
            unknown_sensors=self.unknown_sensors + other.unknown_sensors,
            missing_ids=self.missing_ids + other.missing_ids,
            duplicates=self.duplicates + other.duplicates,
            out_of_order=self.out_of_order + other.out_of_order,
            binned=self.binned + other.binned,
            replaced=self.replaced + other.replaced,
            warnings=[*self.warnings, *other.warnings],
        )

    def summary(self) -> str:
        """One line: ``"<source>: kept 10 of 12 samples (1 NaN value, 1 duplicate)"``."""
        parts = [
            f"{n} {label}"
            for n, label in (
                (self.missing_ids, "missing id"),
                (self.unparseable_times, "unparseable time"),
                (self.unknown_sensors, "unknown sensor"),
                (self.nan_values, "NaN value"),
                (self.duplicates, "duplicate"),
                (self.binned, "merged into bins"),
                (self.replaced, "replaced stored"),
                (self.out_of_order, "out of order (sorted)"),
            )
            if n
        ]
        tail = f" ({', '.join(parts)})" if parts else ""
        return f"{source_name(self.source)}: kept {self.rows_kept} of {self.rows_in} samples{tail}"


@dataclass
class CleanLong:
    """Result of :func:`clean_long`: samples sorted by (sensor code, time), one per key.

    Attributes
    ----------
    ids
        Sensor id of each code (the given list, else first-appearance order).
    codes
        (n,) int64 dense sensor index of each sample.
    t_ns
        (n,) int64 UTC ns (bin start when binned).
    columns
        (n, k) float64 data columns in the order given.
    rows
        (n,) int64 input row of each sample.
    report
        The counts.
    """

    ids: ObjArray
    codes: I64
    t_ns: I64
    columns: F64
    rows: I64
    report: StoreReport


def _example(values: Any, i: int) -> Any:
    if hasattr(values, "iloc"):
        return values.iloc[i]
    return np.asarray(values, dtype=object)[i] if not isinstance(values, np.ndarray) else values[i]


def ids_as_str(sensor_id: Any) -> tuple[ObjArray, B]:
    """Ids as an object array of str, plus a mask of missing ones (None, NaN, '')."""
    import pandas as pd

    if isinstance(sensor_id, pd.Series | pd.Index):
        arr = sensor_id.to_numpy(dtype=object)
    else:
        arr = np.asarray(sensor_id, dtype=object).ravel()
    null = np.asarray(pd.isna(arr), bool)
    if pd.api.types.infer_dtype(arr, skipna=True) != "string":
        # Numbers and other objects: their str(); done by pandas in C, not a Python loop here.
        arr = pd.Series(arr, dtype=object).where(~null, "").astype(str).to_numpy(dtype=object)
    elif null.any():
        arr = arr.copy()
        arr[null] = ""
    missing = null | (arr == "")
    return arr, missing


def _numbers(column: Any, src: str) -> F64:
    """A data column as float64 (text and other non-numbers become NaN); a column of lists or
    mappings is a one-line :class:`FeedError`."""
    import pandas as pd

    try:
        return np.asarray(
            pd.to_numeric(pd.Series(np.asarray(column, dtype=object).ravel()), errors="coerce"),
            np.float64,
        )
    except (TypeError, ValueError) as exc:
        raise FeedError(
            f"{src}: a data column holds lists or objects, not numbers ({exc}); "
            "write one number per sample"
        ) from exc


def clean_long(
    sensor_id: Any,
    t: Any,
    columns: Sequence[Any],
    *,
    required: Sequence[bool] | None = None,
    sensors: IdsLike | None = None,
    resolution_s: float | None = None,
    assume_tz: str | None = None,
    source: str = "",
    noun: str = "sensor",
    prev_t: I64 | None = None,
    known_str: bool = False,
) -> CleanLong:
    """Clean a long table with whole-array operations.

    Steps, each counted in the :class:`StoreReport`:

    1. drop rows with a missing id, an unparseable time, an id not in `sensors` (if given) or a
       NaN in a required column (each row counted once, in that order);
    2. count *out-of-order* samples: earlier than the previous sample of the same id in input
       order (they are sorted, not dropped);
    3. drop *duplicates* (same id and time): the LAST in input order is kept;
    4. with `resolution_s`, move each time to the start of its bin,
       ``floor(t / resolution) * resolution`` (bins aligned to the Unix epoch), and keep the
       latest sample per (id, bin), counting the others as ``binned``.

    Parameters
    ----------
    sensor_id, t
        Id and time of each row (see :func:`to_utc_ns` for time forms).
    columns
        Data columns (values, quality, coordinates ...), each of length n.
    required
        Per column: rows with NaN there are dropped (default: only the first column).
    sensors
        Known ids; others are dropped and counted as ``unknown_sensors``. Their order becomes
        the code order. Without it codes follow first appearance.
    noun
        ``"sensor"`` or ``"mover"`` in messages.
    prev_t
        With `sensors`: latest already stored time per sensor (:data:`NAT_NS` if none); the
        first sample of each sensor in the input is compared with it for ``out_of_order``.
    known_str
        `sensors` is a :class:`pandas.Index` of str ids already (used as is; a store's
        appends pass their own index so a 50,000-id list is not rebuilt per batch).

    Returns
    -------
    CleanLong
        Samples sorted by (code, time).
    """
    import pandas as pd

    src = source_name(source)
    ids_all, missing = ids_as_str(sensor_id)
    n = ids_all.shape[0]
    cols = [_numbers(c, src) for c in columns]
    for c in cols:
        if c.shape[0] != n:
            raise FeedError(f"{src}: columns have different lengths ({c.shape[0]} vs {n} ids)")
    req = list(required) if required is not None else [i == 0 for i in range(len(cols))]
    t_ns, t_ok = to_utc_ns(t, assume_tz=assume_tz, source=source)
    if t_ns.shape[0] != n:
        raise FeedError(f"{src}: {t_ns.shape[0]} times for {n} ids")
    rep = StoreReport(source=source, rows_in=n)

    keep = ~missing
    rep.missing_ids = int(missing.sum())
    if rep.missing_ids:
        rep.warnings.append(
            f"{src}: {rep.missing_ids} rows without a {noun} id dropped "
            f"(first at row {int(np.flatnonzero(missing)[0])})"
        )
    bad_t = keep & ~t_ok
    rep.unparseable_times = int(bad_t.sum())
    if rep.unparseable_times:
        i = int(np.flatnonzero(bad_t)[0])
        rep.warnings.append(
            f"{src}: {rep.unparseable_times} rows with an unparseable or out-of-range time dropped "
            f"(first at row {i}, {noun} {ids_all[i]!r}, time {_example(t, i)!r})"
        )
    keep &= t_ok
    if sensors is not None:
        if known_str and isinstance(sensors, pd.Index):
            index = sensors
            known_ids = np.asarray(sensors, dtype=object)
        else:
            known_ids, _ = ids_as_str(list(sensors))
            index = pd.Index(known_ids, dtype=object)
        if not index.is_unique:
            raise FeedError(f"{src}: the {noun} list has duplicate ids")
        codes_all = index.get_indexer(pd.Index(ids_all, dtype=object)).astype(np.int64)
        unknown = keep & (codes_all < 0)
        rep.unknown_sensors = int(unknown.sum())
        if rep.unknown_sensors:
            i = int(np.flatnonzero(unknown)[0])
            rep.warnings.append(
                f"{src}: {rep.unknown_sensors} rows for unknown {noun}s dropped "
                f"(first at row {i}, {noun} {ids_all[i]!r})"
            )
        keep &= codes_all >= 0
        ids = known_ids
    else:
        codes_all = np.full(n, -1, np.int64)
        ids = np.zeros(0, dtype=object)
    nan_row = np.zeros(n, bool)
    for c, r in zip(cols, req, strict=True):
        if r:
            nan_row |= ~np.isfinite(c)  # an infinite reading is as unusable as a missing one
    cols = [np.where(np.isinf(c), np.nan, c) for c in cols]
    nan_row &= keep
    rep.nan_values = int(nan_row.sum())
    if rep.nan_values:
        i = int(np.flatnonzero(nan_row)[0])
        rep.warnings.append(
            f"{src}: {rep.nan_values} rows with a NaN, infinite or non-numeric value dropped "
            f"(first at row {i}, {noun} {ids_all[i]!r})"
        )
    keep &= ~nan_row
    if sensors is None:
        # Ids in order of first appearance among the rows kept.
        codes_k, uniques = pd.factorize(pd.Series(ids_all[keep], dtype=object))
        codes_all[keep] = codes_k
        ids = np.asarray(uniques, dtype=object)

    rows = np.flatnonzero(keep).astype(np.int64)
    codes = codes_all[rows]
    tt = t_ns[rows]
    data = np.column_stack([c[rows] for c in cols]) if cols else np.zeros((rows.size, 0))

    # Out of order: compare each sample with the previous one of the same id, in input order.
    order = np.lexsort((rows, codes))
    same = codes[order][1:] == codes[order][:-1]
    late_all = np.zeros(rows.size, bool)
    late_all[1:] = same & (tt[order][1:] < tt[order][:-1])
    if prev_t is not None and rows.size:
        first = np.ones(rows.size, bool)
        first[1:] = ~same
        pt = prev_t[codes[order]]
        late_all |= first & (pt != NAT_NS) & (tt[order] < pt)
    rep.out_of_order = int(late_all.sum())
    if rep.out_of_order:
        j = int(order[late_all][0])
        rep.warnings.append(
            f"{src}: {rep.out_of_order} samples earlier than the previous one of their {noun} "
            f"sorted into place (first at row {int(rows[j])}, {noun} {ids[codes[j]]!r})"
        )

    # Sort by (code, time, input row); of equal (code, time) keep the last in input order.
    order = np.lexsort((rows, tt, codes))
    codes, tt, rows, data = codes[order], tt[order], rows[order], data[order]
    dup = _same_as_next(codes, tt)
    rep.duplicates = int(dup.sum())
    if rep.duplicates:
        j = int(np.flatnonzero(dup)[0])
        rep.warnings.append(
            f"{src}: {rep.duplicates} duplicate samples (same {noun} and time) dropped, the last "
            f"kept (first at row {int(rows[j])}, {noun} {ids[codes[j]]!r})"
        )
    keep2 = ~dup
    codes, tt, rows, data = codes[keep2], tt[keep2], rows[keep2], data[keep2]

    if resolution_s is not None:
        res = round(float(resolution_s) * NS_PER_S)
        if res <= 0:
            raise FeedError(f"{src}: resolution must be positive, got {resolution_s} s")
        tt = (tt // res) * res
        merged = _same_as_next(codes, tt)
        rep.binned = int(merged.sum())
        if rep.binned:
            j = int(np.flatnonzero(merged)[0])
            rep.warnings.append(
                f"{src}: {rep.binned} samples merged into {resolution_s:g} s bins, the latest kept "
                f"(first at row {int(rows[j])}, {noun} {ids[codes[j]]!r})"
            )
        keep3 = ~merged
        codes, tt, rows, data = codes[keep3], tt[keep3], rows[keep3], data[keep3]
    rep.rows_kept = int(rows.size)
    if not rows.size:
        rep.warnings.append(
            f"{src}: no usable samples (the input is empty)"
            if not n
            else f"{src}: no usable samples: all {n} rows were dropped"
        )
    return CleanLong(ids=ids, codes=codes, t_ns=tt, columns=data, rows=rows, report=rep)


def _same_as_next(codes: np.ndarray[Any, Any], tt: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows (sorted by code then time) whose code and time equal the next row's: of such a
    run only the last row is kept."""
    same = np.zeros(codes.size, bool)
    if codes.size > 1:
        same[:-1] = (codes[1:] == codes[:-1]) & (tt[1:] == tt[:-1])
    return same
