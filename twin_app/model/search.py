"""Find features by source id or attribute value across layers (pure, vectorised).

The search bar of the app and notebooks call :func:`search_features`; it never touches Qt. Each
layer's ids and each attribute column are matched as whole arrays (pandas string methods, numpy
comparisons), so a search over 100k features costs a few column scans, not 100k Python calls.

Query syntax
------------
Matching is case-insensitive. A query is either plain text or one condition.

Plain text, e.g. ``0363100012345678``, ``Damrak`` or ``12``:

1. features whose id equals the text (exact id matches come first),
2. then features whose id contains the text,
3. then features with an attribute that matches: a text column *contains* the text, a numeric
   column *equals* the text read as a number (``12`` matches a height of ``12.0``), a boolean
   column equals ``true``/``false``.

A condition ``column OP value``, e.g. ``height_m>50``, ``highway=primary``, ``lanes >= 2``,
``name="Dam Square"``:

- ``OP`` is one of ``=`` (or ``==``), ``!=``, ``>``, ``<``, ``>=``, ``<=``; spaces around it are
  allowed and quotes around the value are removed.
- The column name is matched case-insensitively against each layer's table (underscores
  optional: ``IfcClass`` finds ``ifc_class``); ``id`` always names
  the feature's source id. Layers without the column are skipped. If no layer has the column,
  the whole query is searched as plain text.
- On a numeric column the value is read as a number; ``=`` allows a relative difference of
  1e-9. On a text column ``=`` / ``!=`` compare the whole text case-insensitively, and the order
  operators compare numbers when both the value and the cell read as numbers (``maxspeed>40``
  on ``"50"``), otherwise text in case-folded alphabetical order.
- Empty cells (NaN, None) never match, not even ``!=``.

Every feature is reported once, under its best match (id before attribute; the first matching
column in table order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin_app.model.city import FeatureSet
from twin_app.model.layers import Layer

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: ``column OP value``; the column may hold letters, digits, ``_ : . -`` and inner spaces.
_CONDITION = re.compile(
    r"^\s*(?P<column>[\w:.\-]+(?:\s+[\w:.\-]+)*)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*$"
)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


@dataclass(frozen=True)
class SearchHit:
    """One feature that matched a query.

    Attributes
    ----------
    layer_uid
        :attr:`Layer.uid` of the feature's layer.
    layer_name
        The layer's display name (at search time).
    index
        Row of the feature in its :class:`FeatureSet` (dense index).
    feature_id
        Source id of the feature.
    column
        What matched: ``"id"`` for id matches, else the attribute column.
    value
        The matched value as display text (see :func:`format_value`).
    """

    layer_uid: int
    layer_name: str
    index: int
    feature_id: str
    column: str
    value: str


@dataclass(frozen=True)
class SearchResult:
    """The first hits of a search and how many features matched in all.

    Attributes
    ----------
    hits
        At most ``limit`` hits, best first.
    total
        Number of features that matched (``total > len(hits)`` when the limit cut the list).
    """

    hits: list[SearchHit]
    total: int


@dataclass(frozen=True)
class _Condition:
    column: str
    op: str
    value: str


def format_value(value: Any) -> str:
    """A table cell as short display text.

    None, NaN, NaT and ``pd.NA`` give ``""``; whole floats drop their ``.0`` (``12.0`` ->
    ``"12"``); other floats keep ten significant digits; everything else is ``str(value)``.
    """
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.10g}"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple | dict | set | np.ndarray):
        try:
            if bool(pd.isna(value)):
                return ""
        except (TypeError, ValueError):
            pass
    return str(value)


def parse_condition(query: str) -> tuple[str, str, str] | None:
    """Split ``column OP value`` into its parts (None when the query is not a condition).

    >>> parse_condition("height_m >= 50")
    ('height_m', '>=', '50')
    >>> parse_condition('name="Dam Square"')
    ('name', '=', 'Dam Square')
    """
    m = _CONDITION.match(query)
    if m is None:
        return None
    value = m["value"]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if not value:
        return None
    op = "=" if m["op"] == "==" else m["op"]
    return m["column"], op, value


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _features(layers: Iterable[Layer]) -> list[tuple[Layer, FeatureSet]]:
    out = []
    for layer in layers:
        fs = layer.feature_set()
        if fs is not None and fs.n_features:
            out.append((layer, fs))
    return out


def _kind(series: pd.Series[Any]) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


def _floats(series: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _folded(series: pd.Series[Any]) -> pd.Series[Any]:
    return series.astype("string").str.strip().str.casefold()


def _bools(result: Any) -> BoolArray:
    """A pandas/numpy boolean result with NA as False."""
    if isinstance(result, pd.Series):
        return np.asarray(result.fillna(False).to_numpy(dtype=bool), dtype=bool)
    return np.asarray(result, dtype=bool)


def _close(values: np.ndarray[Any, np.dtype[np.float64]], x: float) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(values - x) <= 1e-9 * max(1.0, abs(x)), dtype=bool)


def _compare_numbers(values: np.ndarray[Any, np.dtype[np.float64]], op: str, x: float) -> BoolArray:
    finite: BoolArray = np.isfinite(values)
    if op == "=":
        return _close(values, x)
    if op == "!=":
        return np.logical_and(finite, ~_close(values, x), dtype=bool)
    with np.errstate(invalid="ignore"):
        if op == ">":
            out = values > x
        elif op == "<":
            out = values < x
        elif op == ">=":
            out = values >= x
        else:
            out = values <= x
    return np.logical_and(finite, out, dtype=bool)


def _condition_mask(series: pd.Series[Any], cond: _Condition) -> BoolArray:
    """Rows of one column that satisfy ``column OP value`` (see the module docstring)."""
    kind = _kind(series)
    number = _number(cond.value)
    if kind == "number":
        if number is None:
            return np.zeros(len(series), dtype=bool)
        return _compare_numbers(_floats(series), cond.op, number)
    if kind == "bool":
        v = cond.value.casefold()
        if cond.op not in ("=", "!=") or (v not in _TRUE and v not in _FALSE):
            return np.zeros(len(series), dtype=bool)
        truth = _bools(series)
        known: BoolArray = ~np.asarray(series.isna().to_numpy(), dtype=bool)
        want = v in _TRUE
        same = np.asarray(truth == want, dtype=bool)
        picked: BoolArray = same if cond.op == "=" else ~same
        return known & picked
    folded = _folded(series)
    value = cond.value.strip().casefold()
    if cond.op == "=":
        return _bools(folded == value)
    if cond.op == "!=":
        return _bools(folded != value)
    if number is not None:
        as_num = _floats(pd.to_numeric(folded, errors="coerce"))
        return _compare_numbers(as_num, cond.op, number)
    if cond.op == ">":
        return _bools(folded > value)
    if cond.op == "<":
        return _bools(folded < value)
    if cond.op == ">=":
        return _bools(folded >= value)
    return _bools(folded <= value)


def _text_mask(series: pd.Series[Any], text: str, number: float | None) -> BoolArray:
    """Rows of one column matching plain text (contains / numeric equality / bool equality)."""
    kind = _kind(series)
    if kind == "number":
        if number is None:
            return np.zeros(len(series), dtype=bool)
        return _close(_floats(series), number)
    if kind == "bool":
        if text not in ("true", "false"):
            return np.zeros(len(series), dtype=bool)
        known: BoolArray = ~np.asarray(series.isna().to_numpy(), dtype=bool)
        same: BoolArray = _bools(series) == (text == "true")
        return known & same
    return _bools(series.astype("string").str.casefold().str.contains(text, regex=False))


def _resolve_column(fs: FeatureSet, name: str) -> tuple[str, pd.Series[Any]] | None:
    """The table column called `name` (any case), or the ids for ``id``."""
    wanted = name.casefold()
    for col in fs.table.columns:
        if str(col).casefold() == wanted:
            return str(col), fs.table[col]
    if wanted == "id":
        return "id", pd.Series(fs.ids, dtype=object)
    # ``IfcClass`` names ``ifc_class``: underscores are optional when nothing matched exactly
    bare = wanted.replace("_", "")
    for col in fs.table.columns:
        if str(col).casefold().replace("_", "") == bare:
            return str(col), fs.table[col]
    return None


def _hits(
    layer: Layer,
    fs: FeatureSet,
    rows: np.ndarray[Any, np.dtype[np.int64]],
    columns: list[tuple[str, pd.Series[Any]]] | None,
    column_of_row: np.ndarray[Any, np.dtype[np.int64]] | None = None,
) -> list[SearchHit]:
    """Hits for `rows` (the caller cuts `rows` to the limit, so this loop is bounded by it).

    `columns` None means id matches; else row r matched ``columns[column_of_row[r]]`` (or
    ``columns[0]`` when `column_of_row` is None).
    """
    out = []
    for row in rows.tolist():
        fid = str(fs.ids[row])
        if columns is None:
            out.append(SearchHit(layer.uid, layer.name, row, fid, "id", fid))
            continue
        name, series = columns[0 if column_of_row is None else int(column_of_row[row])]
        out.append(SearchHit(layer.uid, layer.name, row, fid, name, format_value(series.iat[row])))
    return out


def find_features(layers: Iterable[Layer], query: str, limit: int = 200) -> SearchResult:
    """Search feature ids and attributes; return the best `limit` hits and the total count.

    Parameters
    ----------
    layers
        Layers to search, in order (layers without features are skipped).
    query
        Plain text or a ``column OP value`` condition; see the module docstring for the syntax.
    limit
        Most hits to return (0 or less: none, but `total` is still counted).

    Returns
    -------
    SearchResult
        Hits ordered by match quality (exact id, id contains, attribute), then layer order,
        then feature row; `total` counts every matching feature.
    """
    text = query.strip()
    pairs = _features(layers)
    if not text or not pairs:
        return SearchResult([], 0)
    limit = max(int(limit), 0)
    parsed = parse_condition(text)
    if parsed is not None:
        cond = _Condition(*parsed)
        found = [(layer, fs, _resolve_column(fs, cond.column)) for layer, fs in pairs]
        if any(r is not None for _, _, r in found):
            return _search_condition(found, cond, limit)
    return _search_text(pairs, text.casefold(), limit)


def _search_condition(
    found: list[tuple[Layer, FeatureSet, tuple[str, pd.Series[Any]] | None]],
    cond: _Condition,
    limit: int,
) -> SearchResult:
    hits: list[SearchHit] = []
    total = 0
    for layer, fs, resolved in found:
        if resolved is None:
            continue
        name, series = resolved
        rows = np.flatnonzero(_condition_mask(series, cond))
        total += int(rows.size)
        room = limit - len(hits)
        if room > 0 and rows.size:
            hits.extend(_hits(layer, fs, rows[:room], [(name, series)]))
    return SearchResult(hits, total)


def _search_text(pairs: list[tuple[Layer, FeatureSet]], text: str, limit: int) -> SearchResult:
    number = _number(text)
    tiers: list[list[tuple[Layer, FeatureSet, BoolArray, np.ndarray[Any, Any] | None]]] = [
        [],
        [],
        [],
    ]
    columns_of: dict[int, list[tuple[str, pd.Series[Any]]]] = {}
    total = 0
    for layer, fs in pairs:
        ids = pd.Series(fs.ids, dtype=object).astype("string").str.casefold()
        exact = _bools(ids == text)
        contains = _bools(ids.str.contains(text, regex=False)) & ~exact
        claimed = exact | contains
        # First matching column per row (-1: none), filled column by column.
        first = np.full(fs.n_features, -1, dtype=np.int64)
        columns = [(str(c), fs.table[c]) for c in fs.table.columns]
        for j, (_, series) in enumerate(columns):
            m = _text_mask(series, text, number)
            first[m & (first < 0)] = j
        attr = (first >= 0) & ~claimed
        columns_of[layer.uid] = columns
        tiers[0].append((layer, fs, exact, None))
        tiers[1].append((layer, fs, contains, None))
        tiers[2].append((layer, fs, attr, first))
        total += int(claimed.sum() + attr.sum())
    hits: list[SearchHit] = []
    for tier in tiers:
        for layer, fs, mask, first_col in tier:
            room = limit - len(hits)
            if room <= 0:
                return SearchResult(hits, total)
            rows = np.flatnonzero(mask)[:room]
            if first_col is None:
                hits.extend(_hits(layer, fs, rows, None))
            else:
                hits.extend(_hits(layer, fs, rows, columns_of[layer.uid], first_col))
    return SearchResult(hits, total)


def search_features(layers: Iterable[Layer], query: str, limit: int = 200) -> list[SearchHit]:
    """Features whose id or attributes match `query`, best first.

    Parameters
    ----------
    layers
        Layers to search, in order; only layers with a :class:`FeatureSet` are searched.
    query
        Case-insensitive plain text (exact id, then id contains, then attribute values: text
        columns contain it, numeric columns equal it as a number) or one condition
        ``column OP value`` with ``OP`` in ``= == != > < >= <=``, e.g. ``height_m>50`` or
        ``highway=primary``. The module docstring states the full rules.
    limit
        Most hits to return.

    Returns
    -------
    list of SearchHit
        Each matching feature once, under its best match. Use :func:`find_features` to also
        get the total number of matches.

    Examples
    --------
    >>> search_features(session.layers, "height_m>50")  # doctest: +SKIP
    [SearchHit(layer_uid=1, layer_name='Buildings', index=7, feature_id='b7', column='height_m', value='61.5'), ...]
    """
    return find_features(layers, query, limit).hits
