"""Time conversion: every outside time form -> UTC int64 nanoseconds, and back to text.

Inside the twin a time is UTC, int64 nanoseconds since the Unix epoch (DESIGN.md section 2);
``numpy.datetime64[ns]`` without a zone is the same thing. This module is the one place that
turns what files, feeds, manifests and command lines carry into that, and back:

* :func:`to_utc_ns`: a whole column (vectorised, pandas/numpy, no per-row Python loop);
  rows that cannot be read come back with ``ok = False`` so that cleaning can count them, or
  raise with ``errors="raise"``.
* :func:`parse_time`: one value, the same rules (it *is* :func:`to_utc_ns` on one element);
  raises :class:`~twin_app.errors.FeedError`.
* :func:`scalar_ns`: one value where plain integers are already nanoseconds (the clock's unit),
  for queries such as ``store.values_at(t)`` that run every tick.
* :func:`parse_iso_ns`: one ISO 8601 string parsed exactly by a small regular expression,
  without pandas (about 3 us; the MQTT feed parses every message with it).
* :func:`format_iso_ns` / :func:`format_iso_array`: UTC text with ``Z`` that reads back to the
  same nanosecond; :func:`utc_series`: ns -> a ``datetime64[ns, UTC]`` pandas Series.

Rules
-----
* ISO 8601 text must carry ``Z`` or a UTC offset (``+01:00``, ``-0800``). Text without one is
  a local time of an unknown zone: it is refused (:class:`FeedError` naming the row and the
  text) unless the caller names its zone with ``assume_tz`` (an IANA name such as
  ``"Europe/London"``). Local times that do not exist or are ambiguous at a daylight-saving
  change cannot be read.
* ``numpy.datetime64`` values and naive ``datetime`` / :class:`pandas.Timestamp` objects are
  taken as UTC (inside the twin datetime64 *is* UTC); aware ones are converted.
* Numbers are epoch times in ``epoch_unit`` (seconds unless told: ``"s"``, ``"ms"``, ``"us"``,
  ``"ns"``); floats keep about 0.2 us at today's dates.
* An int64 of nanoseconds holds 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z
  (:data:`MIN_NS`, :data:`MAX_NS`). A time outside that range is not wrapped around or turned
  into an overflow traceback: it is unreadable (``ok = False``), and :func:`parse_time` says
  so in one line.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from twin_app.errors import FeedError

if TYPE_CHECKING:
    import pandas as pd

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Nanoseconds per second.
NS_PER_S = 1_000_000_000
#: int64 pattern of NaT; marks a missing time in int64 ns arrays.
NAT_NS = int(np.iinfo(np.int64).min)
#: Earliest time an int64 of ns holds (NAT_NS itself is reserved for "missing").
MIN_NS = NAT_NS + 1
#: Latest time an int64 of ns holds.
MAX_NS = int(np.iinfo(np.int64).max)
#: The range as text, for messages.
RANGE_TEXT = "1677-09-21 to 2262-04-11 UTC"

#: Epoch units accepted for numbers, in ns per unit.
EpochUnit = Literal["s", "ms", "us", "ns"]
_UNIT_NS: dict[str, int] = {"s": NS_PER_S, "ms": 1_000_000, "us": 1_000, "ns": 1}
# ns per unit of the datetime64 units from weeks down to ns, and units per ns below that.
_DT_UNIT_NS: dict[str, int] = {"W": 7 * 86_400 * NS_PER_S, "D": 86_400 * NS_PER_S}
_DT_UNIT_NS |= {"h": 3_600 * NS_PER_S, "m": 60 * NS_PER_S, **_UNIT_NS}
_FINE_UNITS: dict[str, int] = {"ps": 1_000, "fs": 1_000_000, "as": 1_000_000_000}

# An ISO 8601 string that ends in "Z" or in a UTC offset after a clock time
# ("...T12:00:00+01:00", "... 12:00-0800"). A date alone ("2024-01-01") is naive.
_OFFSET_RE = r"(?:[zZ]|[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*[+-]\d{2}(?::?\d{2})?)\s*$"
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _where(source: str) -> str:
    return source or "<input>"


def _place(i: int, line_offset: int | None) -> str:
    return f"line {i + line_offset}" if line_offset is not None else f"row {i}"


# --------------------------------------------------------------------------------------------
# Arrays


def _dt64_to_ns(a: npt.NDArray[Any]) -> tuple[I64, B, B]:
    """datetime64 of any unit -> (int64 ns, ok, out_of_range), without wrapping around."""
    unit, count = np.datetime_data(a.dtype)
    if unit in ("Y", "M"):  # calendar units are not a fixed number of ns
        a = a.astype("datetime64[D]")
        unit, count = "D", 1
    raw = a.view(np.int64)
    nat = np.isnat(a)
    ns = np.full(raw.shape, NAT_NS, np.int64)
    if unit in _FINE_UNITS:  # finer than ns: truncate towards minus infinity
        inside = ~nat
        ns[inside] = (raw[inside] * count) // _FINE_UNITS[unit]
        return ns, inside, ~nat & ~inside
    f = _DT_UNIT_NS[unit] * count
    inside = ~nat & (raw >= -(-MIN_NS // f)) & (raw <= MAX_NS // f)
    ns[inside] = raw[inside] * f
    return ns, inside, ~nat & ~inside


def _epoch_to_ns(arr: npt.NDArray[Any], unit: str) -> tuple[I64, B, B]:
    """Epoch numbers in `unit` -> (int64 ns, ok, out_of_range)."""
    try:
        f = _UNIT_NS[unit]
    except KeyError:
        raise ValueError(f"epoch_unit must be one of {', '.join(_UNIT_NS)}, got {unit!r}") from None
    ns = np.full(arr.shape, NAT_NS, np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u":
            big = arr > np.uint64(MAX_NS // f)
            v = np.where(big, 0, arr).astype(np.int64)
            inside = ~big
        else:
            v = arr.astype(np.int64)
            inside = (v >= -(-MIN_NS // f)) & (v <= MAX_NS // f)
        ns[inside] = v[inside] * f
        return ns, inside, ~inside
    x = arr.astype(np.float64)
    finite = np.isfinite(x)
    # 9.2e18 ns keeps a margin below 2**63 for the rounding of the fraction.
    inside = finite & (np.abs(x) * f < 9.2e18)
    whole = np.floor(x[inside])
    ns[inside] = whole.astype(np.int64) * f + np.round((x[inside] - whole) * f).astype(np.int64)
    return ns, inside, finite & ~inside


def _aware_to_ns(p: pd.Series[Any]) -> tuple[I64, B, B]:
    """A tz-aware datetime Series (any unit) -> UTC (ns, ok, out_of_range)."""
    naive = p.dt.tz_convert("UTC").dt.tz_localize(None)
    return _dt64_to_ns(naive.to_numpy())


def to_utc_ns(
    t: Any,
    *,
    assume_tz: str | None = None,
    epoch_unit: EpochUnit = "s",
    errors: Literal["coerce", "raise"] = "coerce",
    source: str = "",
    line_offset: int | None = None,
) -> tuple[I64, B]:
    """Convert an array of times to UTC nanoseconds since the Unix epoch (vectorised).

    Parameters
    ----------
    t
        Array-like (list, numpy array, pandas Series/Index, or a scalar) of one of:

        * ``numpy.datetime64`` (any unit) or a pandas datetime Series/Index: taken as UTC when
          naive, converted when tz-aware;
        * ``datetime.datetime`` / ``datetime.date`` / :class:`pandas.Timestamp` objects
          (naive: UTC; aware: converted);
        * ISO 8601 strings with ``Z`` or a UTC offset; naive strings only with `assume_tz`;
        * numbers: epoch times in `epoch_unit`.
    assume_tz
        IANA zone of naive ISO strings (``"Europe/London"``, ``"UTC"``).
    epoch_unit
        Unit of numeric epoch times: ``"s"`` (default), ``"ms"``, ``"us"`` or ``"ns"``.
    errors
        ``"coerce"``: unreadable or out-of-range times give ``ok = False`` (cleaning counts
        them). ``"raise"``: the first one raises :class:`FeedError` naming its row.
    source
        File or feed named in messages.
    line_offset
        If given, messages name ``line i + line_offset`` instead of ``row i`` (0-based row
        ``i``); a CSV reader passes 2 (header line plus 1-based numbering).

    Returns
    -------
    ns : numpy.ndarray of int64
        UTC ns; :data:`NAT_NS` where not readable.
    ok : numpy.ndarray of bool
        True where the time was read and lies within :data:`MIN_NS` .. :data:`MAX_NS`.

    Raises
    ------
    FeedError
        Naive ISO strings without `assume_tz` (names the first such row and its text), an
        unknown `assume_tz`, booleans, and with ``errors="raise"`` any unreadable time.
    """
    import pandas as pd

    ns, ok, oob = _convert(t, assume_tz, epoch_unit, source, line_offset)
    if errors == "raise" and not ok.all():
        arr = t.to_numpy(dtype=object) if isinstance(t, pd.Series | pd.Index) else t
        vals = np.asarray(arr, dtype=object).reshape(-1)
        i = int(np.flatnonzero(~ok)[0])
        text = vals[i] if vals.shape[0] == ok.shape[0] else t
        where = f"{_where(source)}: {_place(i, line_offset)}" if ok.size > 1 else _where(source)
        if not oob[i] and isinstance(text, str):
            # pandas gives NaT for text just past the ns range; the exact parser can tell.
            try:
                parse_iso_ns(text, assume_utc=True)
            except ValueError as exc:
                oob[i] = "outside the range" in str(exc)
        if oob[i]:
            raise FeedError(
                f"{where}: time {text!r} is outside the range a time can hold ({RANGE_TEXT})"
            )
        raise FeedError(f"{where}: cannot read {text!r} as a time")
    return ns, ok


def _convert(
    t: Any, assume_tz: str | None, epoch_unit: str, source: str, line_offset: int | None
) -> tuple[I64, B, B]:
    import pandas as pd

    if isinstance(t, pd.Series | pd.Index):
        if isinstance(t.dtype, pd.DatetimeTZDtype):
            return _aware_to_ns(pd.Series(t))
        arr: npt.NDArray[Any] = t.to_numpy()
    else:
        arr = np.asarray(t)
    arr = arr.reshape(-1)
    kind = arr.dtype.kind
    if kind == "M":
        return _dt64_to_ns(arr)
    if kind in "iuf":
        return _epoch_to_ns(arr, epoch_unit)
    if kind == "b":
        raise FeedError(f"{_where(source)}: times are booleans; expected timestamps")
    obj = arr.astype(object) if kind != "O" else arr
    inferred = pd.api.types.infer_dtype(obj, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        num = pd.to_numeric(pd.Series(obj), errors="coerce").to_numpy(np.float64)
        if inferred == "integer":
            # Exact for large ints (ns epochs) that a float64 would round; NaN rows stay out.
            good = ~np.isnan(num)
            ns = np.full(num.shape, NAT_NS, np.int64)
            ok = np.zeros(num.shape, bool)
            oob = np.zeros(num.shape, bool)
            try:
                ints = obj[good].astype(np.int64)
            except OverflowError:  # beyond int64 in any unit: out of range
                return _epoch_to_ns(num, epoch_unit)
            ns[good], ok[good], oob[good] = _epoch_to_ns(ints, epoch_unit)
            return ns, ok, oob
        return _epoch_to_ns(num, epoch_unit)
    if inferred in ("datetime", "datetime64", "date"):
        try:
            conv = pd.to_datetime(pd.Series(obj), utc=True, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            conv = None
        if conv is not None:
            return _aware_to_ns(conv)
    return _parse_iso(obj, assume_tz, source, line_offset)


def _parse_iso(
    obj: npt.NDArray[Any], assume_tz: str | None, source: str, line_offset: int | None
) -> tuple[I64, B, B]:
    import pandas as pd

    n = obj.shape[0]
    s = pd.Series(obj, dtype=object)
    null = s.isna().to_numpy()
    st = s.where(~null, "").astype(str).str.strip()
    ns = np.full(n, NAT_NS, np.int64)
    ok = np.zeros(n, bool)
    oob = np.zeros(n, bool)
    has_off = st.str.contains(_OFFSET_RE, regex=True).to_numpy(bool)
    if has_off.any():
        idx = np.flatnonzero(has_off)
        # pandas reads "Z" but not the lower-case "z" that ISO 8601 also allows.
        text = st.iloc[idx].str.replace(r"z\s*$", "Z", regex=True)
        p = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        ns[idx], ok[idx], oob[idx] = _aware_to_ns(p)
    naive = ~has_off & (st != "").to_numpy(bool)
    if naive.any():
        idx = np.flatnonzero(naive)
        p = pd.to_datetime(st.iloc[idx], format="ISO8601", errors="coerce")
        good = p.notna().to_numpy()
        if good.any():
            if assume_tz is None:
                i = int(idx[good][0])
                place = f"{_place(i, line_offset)}: " if n > 1 or line_offset is not None else ""
                raise FeedError(
                    f"{_where(source)}: {place}time {st.iloc[i]!r} has no UTC "
                    "offset; write it with 'Z' or '+hh:mm', or give the zone of local times "
                    "(assume_tz)"
                )
            sel = idx[good]
            ns[sel], ok[sel], oob[sel] = _localize(p.iloc[np.flatnonzero(good)], assume_tz, source)
    return ns, ok, oob


def _localize(wall: pd.Series[Any], tz: str, source: str) -> tuple[I64, B, B]:
    try:
        loc = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # unknown zone names raise various pytz/zoneinfo errors
        raise FeedError(f"{_where(source)}: unknown time zone {tz!r}") from exc
    return _aware_to_ns(loc)


def local_to_utc_ns(wall: Any, tz: str, *, source: str = "") -> tuple[I64, B]:
    """Wall-clock times of a zone (naive ``datetime64`` of any unit) -> UTC ns (vectorised).

    Parameters
    ----------
    wall
        Naive datetime64 array-like: local times as read off a clock in `tz`.
    tz
        IANA zone name (``"America/Los_Angeles"``).
    source
        File or feed named in messages.

    Returns
    -------
    ns, ok
        As :func:`to_utc_ns`; times that do not exist or are ambiguous at a daylight-saving
        change, NaT and times out of range have ``ok = False``.

    Raises
    ------
    FeedError
        Unknown zone.
    """
    import pandas as pd

    a = np.asarray(wall).reshape(-1)
    if a.dtype.kind != "M":
        raise FeedError(f"{_where(source)}: wall-clock times must be datetime64, got {a.dtype}")
    ns, ok, _ = _localize(pd.Series(a), tz, source)
    return ns, ok


# --------------------------------------------------------------------------------------------
# One value


def parse_time(
    t: Any,
    *,
    assume_tz: str | None = None,
    epoch_unit: EpochUnit = "s",
    source: str = "",
) -> int:
    """One time as UTC ns, by the rules of :func:`to_utc_ns` (it is that function on one value).

    Use it for times a person writes: a manifest's ``replay_start``, ``twin render --at``
    (pass the twin's zone as `assume_tz`, so that ``2026-03-02T08:00`` is local time unless it
    carries an offset), a scenario's start.

    Raises
    ------
    FeedError
        One line: a naive time without `assume_tz`, text that is not a time, or a time outside
        :data:`MIN_NS` .. :data:`MAX_NS` (``"... is outside the range a time can hold"``).
    """
    if not isinstance(t, str) and np.ndim(t) != 0:
        raise FeedError(f"{_where(source)}: expected one time, got {np.size(t)} values")
    ns, _ = to_utc_ns(
        [t], assume_tz=assume_tz, epoch_unit=epoch_unit, errors="raise", source=source
    )
    return int(ns[0])


def scalar_ns(t: Any) -> int:
    """One time as UTC ns where plain integers are already ns (the clock's unit).

    ``int`` / ``numpy.integer`` pass through (the per-tick fast path), ``numpy.datetime64`` is
    converted with a range check, anything else goes through :func:`parse_time` (so numbers
    other than integers are epoch seconds there, and naive ISO text is refused).
    """
    if isinstance(t, int | np.integer):
        return int(t)
    if isinstance(t, np.datetime64):
        ns, ok, _ = _dt64_to_ns(np.asarray([t]))
        if not ok[0]:
            raise FeedError(
                f"time {t!r} is missing or outside the range a time can hold ({RANGE_TEXT})"
            )
        return int(ns[0])
    return parse_time(t)


def parse_iso_ns(text: str, *, assume_utc: bool = False) -> int:
    """Parse one ISO 8601 date-time into UTC nanoseconds since the epoch, exactly, fast.

    A regular expression and integer arithmetic, no pandas: this is the per-message parser of
    the live feed. It agrees with :func:`to_utc_ns` on every time with an offset.

    Parameters
    ----------
    text
        ``YYYY-MM-DDTHH:MM[:SS[.fffffffff]](Z|±HH[:MM])``. Fractions beyond nine digits are
        truncated. A SensorThings interval ``start/end`` gives its start.
    assume_utc
        Take a time without ``Z`` or offset as UTC instead of refusing it.

    Returns
    -------
    int
        Nanoseconds since 1970-01-01T00:00:00Z (:data:`MIN_NS` .. :data:`MAX_NS`).

    Raises
    ------
    ValueError
        If the text is not such a date-time, has no offset (unless `assume_utc`), or falls
        outside the int64 nanosecond range (the message says which).
    """
    text = text.strip()
    if "/" in text:
        text = text.split("/", 1)[0].strip()
    m = _ISO_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = m.group(7) or ""
    zone = m.group(8)
    if not zone and not assume_utc:
        raise ValueError(f"no UTC offset in {text!r}; add Z or +HH:MM")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"time of day out of range: {text!r}")
    days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    offset_s = 0
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:4] or 0)
        if oh > 23 or om > 59:
            raise ValueError(f"zone offset out of range: {text!r}")
        offset_s = sign * (oh * 3600 + om * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s
    ns = seconds * NS_PER_S + int(frac[:9].ljust(9, "0"))
    if not MIN_NS <= ns <= MAX_NS:
        raise ValueError(f"date-time outside the range a time can hold ({RANGE_TEXT}): {text!r}")
    return ns


# --------------------------------------------------------------------------------------------
# Back to text and tables


def format_iso_ns(t_ns: int) -> str:
    """Format UTC nanoseconds as ISO 8601 with a ``Z`` zone, losing nothing.

    The fraction has 0, 3, 6 or 9 digits, the fewest that hold the value exactly, so
    ``parse_iso_ns(format_iso_ns(t)) == t`` for every int64 ``t`` but :data:`NAT_NS`.
    """
    seconds, frac = divmod(int(t_ns), NS_PER_S)
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = f"{frac:09d}"
        while digits.endswith("000"):
            digits = digits[:-3]
        text += "." + digits
    return text + "Z"


def format_iso_array(ns: Any) -> npt.NDArray[np.str_]:
    """UTC ISO 8601 strings with ``Z`` for an array of ns (vectorised); ``""`` for NaT.

    Whole seconds when every time is a whole second, else nine fractional digits.
    """
    a = np.asarray(ns, np.int64)
    nat = a == NAT_NS
    whole_s = bool(np.all((a[~nat] % NS_PER_S) == 0))
    t64: npt.NDArray[np.datetime64] = a.view("datetime64[ns]")
    s = np.datetime_as_string(t64, unit="s" if whole_s else "ns", timezone="UTC")
    out: npt.NDArray[np.str_] = np.where(nat, "", s)
    return out


def utc_series(ns: Any) -> pd.Series[Any]:
    """int64 UTC ns (:data:`NAT_NS` = missing) as a ``datetime64[ns, UTC]`` pandas Series."""
    import pandas as pd

    return pd.Series(np.asarray(ns, np.int64).view("datetime64[ns]")).dt.tz_localize("UTC")
