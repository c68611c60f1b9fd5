"""Pick a reader by file name (and, for ambiguous ``.json``, by content)."""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from twin_app.errors import InputError, TwinError
from twin_app.io.source import ReadOptions, SourceData

log = logging.getLogger(__name__)

Reader = Callable[[Path, ReadOptions], list[SourceData]]

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".shp", ".fgb", ".parquet", ".geoparquet", ".gml", ".kml")


def _read_cityjson(path: Path, options: ReadOptions) -> list[SourceData]:
    from twin_app.io.cityjson import read_cityjson

    return [read_cityjson(path, options)]


def _read_osm(path: Path, options: ReadOptions) -> list[SourceData]:
    from twin_app.io.osm import read_osm

    return read_osm(path, options)


def _read_vector(path: Path, options: ReadOptions) -> list[SourceData]:
    from twin_app.io.vector import read_vector

    return read_vector(path, options)


def _read_ifc(path: Path, options: ReadOptions) -> list[SourceData]:
    from twin_app.io.ifc import read_ifc

    return [read_ifc(path, options)]


#: (pattern on the lower-cased file name, reader); first match wins.
READERS: list[tuple[str, Reader]] = [
    (r".*\.city\.json$", _read_cityjson),
    (r".*\.osm\.pbf$|.*\.osm$|.*\.pbf$", _read_osm),
    (r".*\.ifc$", _read_ifc),
    (r".*(" + "|".join(re.escape(s) for s in VECTOR_SUFFIXES) + r")$", _read_vector),
]

SUPPORTED = "CityJSON (.city.json/.json), OSM (.osm.pbf/.osm), IFC (.ifc), " + ", ".join(
    VECTOR_SUFFIXES
)


def _sniff_json(path: Path) -> Reader:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if re.search(rb'"type"\s*:\s*"CityJSON"', head) or b'"CityObjects"' in head:
        return _read_cityjson
    return _read_vector


def reader_for(path: Path) -> Reader:
    """The reader for `path`, or an :class:`InputError` that says what is wrong with it."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; name the files to open inside it")
    name = path.name.lower()
    for pattern, reader in READERS:
        if re.fullmatch(pattern, name):
            return reader
    if name.endswith(".json"):
        return _sniff_json(path)
    raise InputError(f"{path}: unknown file type {path.suffix!r}; supported: {SUPPORTED}")


def read_path(path: Path | str, options: ReadOptions | None = None) -> list[SourceData]:
    """Read one file into one :class:`SourceData` per layer.

    This is the boundary every file passes: whatever a reader meets, the caller gets either
    sources (checked by :func:`twin_app.io.checks.check_sources`, with library warnings turned
    into counted one-line warnings of the first source) or a :class:`TwinError` naming the
    full path, never another exception.
    """
    from twin_app.io.checks import check_sources

    p = Path(path)
    opts = options or ReadOptions()
    reader = reader_for(p)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sources = reader(p, opts)
        except TwinError as err:
            raise _naming_path(err, p) from err
        except PermissionError as exc:
            raise InputError(f"{p}: permission denied") from exc
        except (UnicodeDecodeError, MemoryError) as exc:
            raise InputError(f"{p}: not a readable {p.suffix} file ({type(exc).__name__})") from exc
        except (RecursionError, Exception) as exc:
            log.debug("reading %s failed", p, exc_info=True)
            raise InputError(
                f"{p}: cannot read this file ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}); it may be corrupt or of an unexpected "
                "structure"
            ) from exc
        if not sources:
            raise InputError(f"{p}: no layers could be read; the file may be truncated or corrupt")
        check_sources(sources)
    _report_library_warnings(caught, sources[0])
    return sources


def _naming_path(err: TwinError, p: Path) -> TwinError:
    """`err` with its message naming the full path of `p` (readers often name only the file)."""
    msg = str(err)
    if str(p) in msg:
        return err
    msg = str(p) + msg[len(p.name) :] if msg.startswith(p.name) else f"{p}: {msg}"
    try:
        return type(err)(msg)
    except TypeError:
        return err


def library_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The Python warnings libraries raised, as counted one-line texts (those that mean nothing
    to a user left out)."""
    counts: Counter[str] = Counter()
    for w in caught:
        text = " ".join(str(w.message).split())
        if any(text.startswith(quiet) for quiet in _MEANINGLESS):
            continue
        counts[f"{w.category.__name__}: {text[:200]}"] += 1
    return [f"{text} ({n}x, from a library reading the file)" for text, n in counts.items()]


def _report_library_warnings(caught: list[warnings.WarningMessage], src: SourceData) -> None:
    """Count the Python warnings libraries raised while reading as one-line warnings."""
    for text in library_warnings(caught):
        src.report.warn(text)


#: Library warnings that say nothing a user can act on (GDAL closes unclosed rings itself; the
#: NaN/inf warnings of numpy and shapely are about rows the readers skip and count).
_MEANINGLESS = (
    "Non closed ring detected",
    "organizePolygons() received an unexpected geometry",
    "invalid value encountered",
    "divide by zero encountered",
    "overflow encountered",
    "All-NaN slice encountered",
    "Mean of empty slice",
)
