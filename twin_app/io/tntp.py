"""Readers for the TNTP transportation network test problem files (no Qt, no VTK, no engines).

Format: Transportation Networks for Research Core Team, *Transportation Networks for Research*,
https://github.com/bstabler/TransportationNetworks. Three kinds of file are read:

``*_net.tntp``
    a metadata header (``<NUMBER OF ZONES> 24``, ``<FIRST THRU NODE> 1``, ...,
    ``<END OF METADATA>``) then one link per line:
    ``init_node term_node capacity length free_flow_time b power speed toll link_type ;``.
    Lines starting with ``~`` are comments.
``*_trips.tntp``
    a metadata header then ``Origin o`` blocks of ``dest : flow;`` pairs.
``*_flow.tntp``
    a header line ``From To Volume Cost`` then ``from to volume cost`` rows.

Node and zone numbers are 1-based in the files and 0-based in the arrays returned here. Units are
those of the file (for example Sioux Falls: free-flow time and cost in 0.01 h, Anaheim: minutes,
feet). Every error is a one-line :class:`~twin_app.errors.InputError` naming the file, the line
and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twin_app.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_META = re.compile(r"^\s*<([^>]+)>\s*(.*?)\s*$")
_PAIR = re.compile(r"(\S+)\s*:\s*([^;\s]+)\s*;")
_ORIGIN = re.compile(r"^\s*Origin\s+(\S+)\s*$", re.IGNORECASE)
_NET_COLUMNS = 10


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class TntpNetwork:
    """A road network: one entry per directed link, node numbers 0-based.

    Attributes
    ----------
    init_node, term_node : int64 arrays (n_links,)
        Tail and head node of each link (file number - 1).
    capacity : float arrays (n_links,)
        BPR capacity c (vehicles per the demand period).
    length, free_flow_time, b, power, speed, toll : float arrays (n_links,)
        File units; BPR time ``t = free_flow_time * (1 + b * (v / capacity) ** power)``.
    link_type : int64 array (n_links,)
    n_zones, n_nodes : int
        Zones are nodes ``0 .. n_zones - 1``.
    first_thru_node : int
        0-based: nodes below it are zones that may not be used as through nodes.
    """

    init_node: IntArray
    term_node: IntArray
    capacity: FloatArray
    length: FloatArray
    free_flow_time: FloatArray
    b: FloatArray
    power: FloatArray
    speed: FloatArray
    toll: FloatArray
    link_type: IntArray
    n_zones: int
    n_nodes: int
    first_thru_node: int
    source: str = ""

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.init_node.size)


@dataclass(frozen=True)
class TntpDemand:
    """Origin-destination demand: ``od[o, d]`` vehicles from zone o to zone d (0-based)."""

    od: FloatArray
    source: str = ""

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return int(self.od.shape[0])

    @property
    def total(self) -> float:
        """Total demand (vehicles)."""
        return float(self.od.sum())


@dataclass(frozen=True)
class TntpFlows:
    """Published link flows: ``volume`` and ``cost`` per (``init_node``, ``term_node``) 0-based."""

    init_node: IntArray
    term_node: IntArray
    volume: FloatArray
    cost: FloatArray
    source: str = ""


def _read_lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read TNTP file ({exc.strerror or exc})") from exc


def _metadata(path: Path, lines: list[str]) -> tuple[dict[str, tuple[int, str]], int]:
    """Metadata tags (upper case) -> (1-based line, value); and the index of the first body line."""
    meta: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        m = _META.match(line)
        if m is None:
            if line.strip() and not line.lstrip().startswith("~"):
                raise InputError(
                    f"{path}, line {i + 1}: expected a <TAG> value metadata line or"
                    " <END OF METADATA>, found {line.strip()[:40]!r}"
                )
            continue
        tag = m.group(1).strip().upper()
        if tag == "END OF METADATA":
            return meta, i + 1
        meta[tag] = (i + 1, m.group(2))
    raise InputError(f"{path}, line {len(lines)}: metadata not terminated by <END OF METADATA>")


def _meta_int(path: Path, meta: dict[str, tuple[int, str]], tag: str, default: int | None) -> int:
    if tag not in meta:
        if default is None:
            raise InputError(f"{path}: metadata <{tag}> missing")
        return default
    lineno, text = meta[tag]
    try:
        return int(float(text.split()[0]))
    except (ValueError, IndexError):
        raise InputError(
            f"{path}, line {lineno}: <{tag}> must be a number, found {text[:40]!r}"
        ) from None


def read_net(path: str | Path) -> TntpNetwork:
    """Read a TNTP ``*_net.tntp`` link file.

    Raises
    ------
    InputError
        Missing or unterminated metadata, a row without 10 columns, a non-numeric value, a
        non-positive capacity, a node outside ``1 .. <NUMBER OF NODES>`` or a link count that
        differs from ``<NUMBER OF LINKS>``; the message names the file and line.
    """
    path = Path(path)
    lines = _read_lines(path)
    meta, start = _metadata(path, lines)
    n_zones = _meta_int(path, meta, "NUMBER OF ZONES", None)
    n_nodes = _meta_int(path, meta, "NUMBER OF NODES", None)
    first_thru = _meta_int(path, meta, "FIRST THRU NODE", 1)
    n_links_meta = _meta_int(path, meta, "NUMBER OF LINKS", -1)

    rows: list[list[str]] = []
    linenos: list[int] = []
    for i in range(start, len(lines)):
        text = lines[i].split("~", 1)[0].replace(";", " ")
        tokens = text.split()
        if not tokens:
            continue
        if len(tokens) != _NET_COLUMNS:
            raise InputError(
                f"{path}, line {i + 1}: a link needs {_NET_COLUMNS} columns (init_node term_node"
                f" capacity length free_flow_time b power speed toll link_type), found {len(tokens)}"
            )
        rows.append(tokens)
        linenos.append(i + 1)
    if not rows:
        raise InputError(f"{path}: no link rows after <END OF METADATA>")
    table = np.array(rows, dtype=object)
    try:
        data = table.astype(np.float64)
    except ValueError:
        names = ("init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power",
                 "speed", "toll", "link_type")  # fmt: skip
        for r, tokens in enumerate(rows):
            for c, tok in enumerate(tokens):
                try:
                    float(tok)
                except ValueError:
                    raise InputError(
                        f"{path}, line {linenos[r]}: {names[c]} must be a number, found {tok!r}"
                    ) from None
        raise  # pragma: no cover - astype failed yet every token parses
    lineno = np.asarray(linenos)
    if n_links_meta >= 0 and n_links_meta != len(rows):
        raise InputError(
            f"{path}, line {meta['NUMBER OF LINKS'][0]}: <NUMBER OF LINKS> says {n_links_meta}"
            f" but the file has {len(rows)} link rows"
        )
    nodes = data[:, :2]
    bad = np.flatnonzero(
        np.any((nodes < 1) | (nodes > n_nodes) | (nodes != np.round(nodes)), axis=1)
    )
    if bad.size:
        raise InputError(
            f"{path}, line {lineno[bad[0]]}: node numbers must be integers in 1..{n_nodes}"
            f" (<NUMBER OF NODES>), found {data[bad[0], 0]:g} {data[bad[0], 1]:g}"
        )
    for col, name, ok in (
        (2, "capacity", data[:, 2] > 0),
        (4, "free_flow_time", data[:, 4] >= 0),
        (5, "b", data[:, 5] >= 0),
        (6, "power", data[:, 6] >= 0),
    ):
        bad = np.flatnonzero(~ok | ~np.isfinite(data[:, col]))
        if bad.size:
            raise InputError(
                f"{path}, line {lineno[bad[0]]}: {name} must be"
                f" {'positive' if col == 2 else 'non-negative'}, found {data[bad[0], col]:g}"
            )
    return TntpNetwork(
        init_node=_frozen(data[:, 0].astype(np.int64) - 1),
        term_node=_frozen(data[:, 1].astype(np.int64) - 1),
        capacity=_frozen(data[:, 2]),
        length=_frozen(data[:, 3]),
        free_flow_time=_frozen(data[:, 4]),
        b=_frozen(data[:, 5]),
        power=_frozen(data[:, 6]),
        speed=_frozen(data[:, 7]),
        toll=_frozen(data[:, 8]),
        link_type=_frozen(data[:, 9].astype(np.int64)),
        n_zones=n_zones,
        n_nodes=n_nodes,
        first_thru_node=first_thru - 1,
        source=str(path),
    )


def read_trips(path: str | Path) -> TntpDemand:
    """Read a TNTP ``*_trips.tntp`` demand file into a dense ``(n_zones, n_zones)`` matrix.

    Raises
    ------
    InputError
        Missing metadata, a pair before the first ``Origin``, text that is not ``dest : flow;``,
        a zone outside ``1 .. <NUMBER OF ZONES>`` or a negative or non-numeric flow.
    """
    path = Path(path)
    lines = _read_lines(path)
    meta, start = _metadata(path, lines)
    n_zones = _meta_int(path, meta, "NUMBER OF ZONES", None)
    od = np.zeros((n_zones, n_zones))
    origin = -1
    for i in range(start, len(lines)):
        line = lines[i].split("~", 1)[0]
        if not line.strip():
            continue
        m = _ORIGIN.match(line)
        if m is not None:
            try:
                o = int(m.group(1))
            except ValueError:
                raise InputError(
                    f"{path}, line {i + 1}: origin must be a zone number, found {m.group(1)!r}"
                ) from None
            if not 1 <= o <= n_zones:
                raise InputError(f"{path}, line {i + 1}: origin {o} outside zones 1..{n_zones}")
            origin = o - 1
            continue
        pairs = _PAIR.findall(line)
        rest = _PAIR.sub("", line).strip()
        if rest or not pairs:
            raise InputError(
                f"{path}, line {i + 1}: expected 'dest : flow;' pairs, found {line.strip()[:40]!r}"
            )
        if origin < 0:
            raise InputError(f"{path}, line {i + 1}: demand pairs before the first 'Origin' line")
        try:
            arr = np.array(pairs, dtype=np.float64)
        except ValueError:
            raise InputError(
                f"{path}, line {i + 1}: destinations and flows must be numbers,"
                f" found {line.strip()[:40]!r}"
            ) from None
        dest = arr[:, 0]
        if np.any((dest < 1) | (dest > n_zones) | (dest != np.round(dest))):
            raise InputError(f"{path}, line {i + 1}: a destination outside zones 1..{n_zones}")
        if np.any(~np.isfinite(arr[:, 1]) | (arr[:, 1] < 0)):
            raise InputError(f"{path}, line {i + 1}: flows must be finite and non-negative")
        od[origin, dest.astype(np.int64) - 1] += arr[:, 1]
    return TntpDemand(od=_frozen(od), source=str(path))


def read_flows(path: str | Path) -> TntpFlows:
    """Read a TNTP ``*_flow.tntp`` file of link flows (``From To Volume Cost``).

    Raises
    ------
    InputError
        A row without 4 numeric columns; the message names the file and line.
    """
    path = Path(path)
    lines = _read_lines(path)
    rows: list[list[str]] = []
    linenos: list[int] = []
    for i, line in enumerate(lines):
        tokens = line.split("~", 1)[0].replace(";", " ").split()
        if not tokens or (not rows and tokens[0].lower() == "from"):
            continue
        if len(tokens) != 4:
            raise InputError(
                f"{path}, line {i + 1}: a flow row needs 4 columns (from to volume cost),"
                f" found {len(tokens)}"
            )
        rows.append(tokens)
        linenos.append(i + 1)
    if not rows:
        raise InputError(f"{path}: no flow rows")
    try:
        data = np.array(rows, dtype=object).astype(np.float64)
    except ValueError:
        for r, tokens in enumerate(rows):
            for tok in tokens:
                try:
                    float(tok)
                except ValueError:
                    raise InputError(
                        f"{path}, line {linenos[r]}: expected numbers, found {tok!r}"
                    ) from None
        raise  # pragma: no cover
    return TntpFlows(
        init_node=_frozen(data[:, 0].astype(np.int64) - 1),
        term_node=_frozen(data[:, 1].astype(np.int64) - 1),
        volume=_frozen(data[:, 2]),
        cost=_frozen(data[:, 3]),
        source=str(path),
    )
