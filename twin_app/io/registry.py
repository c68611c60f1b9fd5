"""Pick a reader by file name (and, for ambiguous ``.json``, by content)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from twin_app.errors import InputError
from twin_app.io.source import ReadOptions, SourceData

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


#: (pattern on the lower-cased file name, reader); first match wins.
READERS: list[tuple[str, Reader]] = [
    (r".*\.city\.json$", _read_cityjson),
    (r".*\.osm\.pbf$|.*\.osm$|.*\.pbf$", _read_osm),
    (r".*(" + "|".join(re.escape(s) for s in VECTOR_SUFFIXES) + r")$", _read_vector),
]

SUPPORTED = "CityJSON (.city.json/.json), OSM (.osm.pbf/.osm), " + ", ".join(VECTOR_SUFFIXES)


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
    """Read one file into one :class:`SourceData` per layer."""
    p = Path(path)
    opts = options or ReadOptions()
    reader = reader_for(p)
    try:
        return reader(p, opts)
    except PermissionError as exc:
        raise InputError(f"{p}: permission denied") from exc
    except (UnicodeDecodeError, MemoryError) as exc:
        raise InputError(f"{p}: not a readable {p.suffix} file ({type(exc).__name__})") from exc
