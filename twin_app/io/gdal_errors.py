"""GDAL/pyogrio errors in our own words: what the file is not, what it looks like, what to do.

GDAL's own text ("... not recognized as being in a supported file format.; It might help to
specify the correct driver explicitly by prefixing the file path with '<DRIVER>:'") speaks to
programmers; a planner needs to hear that the file is not the kind its name says and what to
do about it (issue 10, "Messages").
"""

from __future__ import annotations

import re
from pathlib import Path

#: Format names by file suffix, for "not a <format>".
FORMATS = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON file",
    ".json": "GeoJSON file",
    ".shp": "Shapefile",
    ".fgb": "FlatGeobuf file",
    ".gml": "GML file",
    ".kml": "KML file",
    ".parquet": "GeoParquet file",
    ".geoparquet": "GeoParquet file",
    ".osm": "OSM XML file",
    ".pbf": "OSM PBF file",
}

#: Leading bytes of common non-vector files -> what the file looks like.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite database without GeoPackage tables"),
    (b"PAR1", "a Parquet file without geometry metadata"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)

# GDAL's advice to programmers, cut from any message that still carries it.
_ADVICE = re.compile(r"[.;\s]*It might help to specify the correct driver.*$", re.IGNORECASE)
_NOT_RECOGNIZED = re.compile(r"not recognized as (being in )?a supported file format", re.I)


def looks_like(path: Path) -> str:
    """What the first bytes of a file suggest it is ("a PNG image", "empty", "text" ...)."""
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return "unreadable"
    if not head:
        return "an empty file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = stripped[:64].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if lowered.startswith(b"<"):
        return "XML text"
    try:
        stripped.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    if stripped.startswith((b"{", b"[")):
        return "JSON text that is not valid GeoJSON"
    return "plain text, not JSON"


def format_name(path: Path) -> str:
    """The format a file's name promises ("GeoPackage", "GeoJSON file" ...)."""
    return FORMATS.get(path.suffix.lower(), f"{path.suffix or 'extension-less'} file")


def _a(name: str) -> str:
    """``a GeoPackage``, ``an OSM PBF file``."""
    return f"{'an' if name[:1].upper() in 'AEIO' else 'a'} {name}"


def vector_error(path: Path, exc: BaseException, layer: str | None = None) -> str:
    """One line for a pyogrio/GDAL failure on `path`: the file, what it is not, what to do.

    Parameters
    ----------
    path
        The file GDAL was asked to read.
    exc
        What pyogrio raised.
    layer
        The layer being read, if any (named in the message).

    Returns
    -------
    str
        E.g. ``x.gpkg: not a GeoPackage or other vector file GDAL can read (it looks like a
        PNG image); check the file or choose another``. GDAL's driver advice never appears.
    """
    where = f"{path}:{layer}" if layer else str(path)
    text = " ".join(str(exc).split())
    if not text or _NOT_RECOGNIZED.search(text):
        return (
            f"{where}: not {_a(format_name(path))} or other vector file GDAL can read "
            f"(it looks like {looks_like(path)}); check the file or choose another"
        )
    text = _ADVICE.sub("", text)
    # GDAL repeats the path in quotes; the message already starts with it.
    text = text.replace(f"'{path}'", "the file").replace(str(path), "the file")
    if "json" in text.lower() and ("unterminated" in text.lower() or "at line" in text.lower()):
        return (
            f"{where}: not a complete {format_name(path)} ({text[:160]}); the file looks "
            "truncated or damaged: export or download it again"
        )
    return f"{where}: cannot be read as {_a(format_name(path))} ({text[:200]}); check the file"
