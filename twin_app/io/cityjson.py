"""CityJSON 1.0, 1.1 and 2.0 reader: city objects as one triangle soup over shared vertices.

The reader walks the JSON once in Python, flattening the chosen geometry of every object into
ragged lists (vertex indices, ring lengths, rings per surface, semantic code per surface,
surfaces per object). Everything after that is whole-array numpy work:

1. vertex indices are range-checked; an object with a bad index is skipped and named,
2. consecutive duplicate points are dropped from every ring (closed rings and repeated points
   would otherwise make slivers) and rings left with fewer than 3 points are dropped; a surface
   whose outer ring goes is degenerate,
3. the Newell normal of every outer ring gives twice its area (zero: degenerate, skipped) and
   the plane it is projected onto for earcut,
4. single-ring triangles are kept as they are; single-ring quads are split along the diagonal
   whose two triangles both face along the ring's normal (right for convex and concave quads);
   every other surface (5+ points, or holes) goes through ``mapbox_earcut``, one call each, on
   its projection onto the coordinate plane most parallel to it, and earcut's triangles are
   flipped where needed so that they keep the winding of the ring in 3D (outward normals of a
   valid solid stay outward).

Conventions
-----------
* ``lod`` is normalised to a string (``2``, ``2.0`` and ``"2.0"`` become ``"2"``; ``1.2``
  becomes ``"1.2"``). Every object uses its highest-LoD surface geometry (the first one on a
  tie) unless ``ReadOptions.lod`` is set; an object lacking that LoD falls back to its highest
  one and the number of such objects is given in one warning: they are kept, not skipped, so
  the city has no gaps.
* Semantic surfaces fold to the four codes of :mod:`twin_app.model.mesh`: ``RoofSurface`` ->
  roof, ``WallSurface`` -> wall, ``GroundSurface`` -> ground, everything else (other types, no
  semantics, ``null`` values) -> other.
* ``GeometryInstance`` is expanded: the template's vertices (real coordinates, no transform)
  are multiplied by the 4x4 row-major ``transformationMatrix`` and moved to the reference point;
  the new vertices are appended after the file's vertices.
* Point and line geometries (``MultiPoint``, ``MultiLineString``) carry no surfaces; objects
  with only those are kept without triangles and counted as skipped.
* Appearances (materials, textures) are ignored, so dangling texture paths do not matter.
* ``LandUse``, ``PlantCover`` and ``WaterBody`` objects are the ground context
  (:data:`CITYJSON_GROUND_TYPES` gives each its ground class); buildings, terrain and the
  other types are drawn as before.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin_app.errors import CRSError, GeometryError, InputError
from twin_app.io.crs_sanity import check_not_lonlat
from twin_app.io.source import CityObjects, LoadReport, ReadOptions, SourceData
from twin_app.model.frame import looks_like_lonlat, parse_crs
from twin_app.model.mesh import SURFACE_GROUND, SURFACE_OTHER, SURFACE_ROOF, SURFACE_WALL

#: CityJSON types drawn as the ground layer, with their ground class (the keys of
#: :data:`twin_app.model.style.GROUND_CLASSES`): the same colours as OSM's land use, green and
#: water.
CITYJSON_GROUND_TYPES = {"LandUse": "landuse", "PlantCover": "vegetation", "WaterBody": "water"}

if TYPE_CHECKING:
    from pyproj import CRS

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Versions this reader was written against (major.minor).
SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")

#: Nesting depth of ``boundaries`` down to the surface lists, per surface geometry type.
_SURFACE_DEPTH = {
    "MultiSurface": 1,
    "CompositeSurface": 1,
    "Solid": 2,
    "MultiSolid": 3,
    "CompositeSolid": 3,
}
_INSTANCE = "GeometryInstance"

_SEMANTIC_CODES = {
    "RoofSurface": SURFACE_ROOF,
    "WallSurface": SURFACE_WALL,
    "GroundSurface": SURFACE_GROUND,
}

#: A ring is degenerate when |Newell normal| <= this * (ring size)^2 (scale-free zero area).
_REL_AREA_EPS = 1e-12

# Skip-counter keys (also the words of the report's warnings).
_BAD_INDEX = "objects with bad vertex indices"
_MALFORMED = "objects with malformed geometry"
_EMPTY = "empty geometries"
_DEGENERATE = "degenerate surfaces"
_NO_SURFACES = "objects with only point or line geometry"
_BAD_TEMPLATE = "geometry instances with a bad template"


@dataclass
class _Flat:
    """Ragged lists the JSON walk appends to (appending to lists is the fastest way there)."""

    idx: list[Any] = field(default_factory=list)  # vertex index per ring point
    ring_len: list[int] = field(default_factory=list)  # points per ring
    surf_rings: list[int] = field(default_factory=list)  # rings per surface
    surf_code: list[int] = field(default_factory=list)  # semantic code per surface
    obj_surfs: list[int] = field(default_factory=list)  # surfaces per object
    obj_instanced: list[bool] = field(default_factory=list)  # object uses template vertices
    extra_vertices: list[FloatArray] = field(default_factory=list)  # instanced template points
    n_extra: int = 0

    def mark(self) -> tuple[int, int, int]:
        """Current lengths, to roll an object back to."""
        return len(self.idx), len(self.ring_len), len(self.surf_rings)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Drop what was appended since `mark`."""
        del self.idx[mark[0] :]
        del self.ring_len[mark[1] :]
        del self.surf_rings[mark[2] :]
        del self.surf_code[mark[2] :]


@dataclass
class _Issues:
    """Counts of skipped things with the first object id of each kind."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def note(self, what: str, oid: str, n: int = 1) -> None:
        self.counts[what] += n
        self.examples.setdefault(what, oid)


def read_cityjson(path: Path, options: ReadOptions) -> SourceData:
    """Read a CityJSON file into triangulated city objects in the file's CRS.

    Parameters
    ----------
    path
        A ``.city.json`` (or ``.json``) file in CityJSON 1.0, 1.1 or 2.0.
    options
        ``options.lod`` picks the level of detail (default: each object's highest; objects
        without it fall back to their highest, with a warning); ``options.crs`` is used when
        the file declares no ``metadata.referenceSystem`` (or one pyproj does not know).

    Returns
    -------
    SourceData
        ``kind="cityjson"`` with ``objects`` (every CityObject, with or without geometry, in
        file order, and the triangles of the chosen geometries), ``counts`` (``city_objects``,
        ``buildings``, ``building_parts`` and one entry per other object type) and a report of
        what was skipped.

    Raises
    ------
    InputError
        Missing file, a directory, invalid JSON (with line and column), JSON that is not
        CityJSON, or malformed ``vertices``/``transform``.
    CRSError
        No ``referenceSystem``, no ``options.crs`` and coordinates that are not lon/lat.
    GeometryError
        Not a single triangle could be read (bad vertex indices, empty or degenerate
        geometry); the message names an example object.
    """
    path = Path(path)
    report = LoadReport(source=str(path))
    duplicates: Counter[str] = Counter()
    doc = _load_json(path, duplicates)
    city_objects = _check_cityjson(path, doc, report)
    _warn_duplicates(path, city_objects, duplicates, report)

    vertices = _vertices(path, doc.get("vertices"), doc.get("transform"))
    crs = _crs(path, doc, vertices, options, report)
    templates, template_vertices = _templates(path, doc.get("geometry-templates"))

    ids: list[str] = []
    types: list[str] = []
    parents: list[str | None] = []
    lods: list[str] = []
    records: list[dict[str, Any]] = []
    flat = _Flat()
    issues = _Issues()
    want = _norm_lod(options.lod) if options.lod is not None else None
    n_fallback = 0
    fallback_example = ""

    for key, obj in city_objects.items():
        oid = str(key)
        ids.append(oid)
        if not isinstance(obj, dict):
            types.append("")
            parents.append(None)
            lods.append("")
            records.append({})
            flat.obj_surfs.append(0)
            flat.obj_instanced.append(False)
            issues.note(_MALFORMED, oid)
            continue
        types.append(str(obj.get("type", "")))
        par = obj.get("parents")
        parents.append(str(par[0]) if isinstance(par, list) and par else None)
        records.append(_attributes(obj.get("attributes")))

        geom, lod, fell_back = _choose_geometry(obj.get("geometry"), templates, want, issues, oid)
        if fell_back:
            n_fallback += 1
            fallback_example = fallback_example or oid
        mark = flat.mark()
        problem: str | None = None
        if geom is not None:
            try:
                problem = _flatten(geom, flat, templates, template_vertices, vertices)
            except (TypeError, AttributeError, KeyError, IndexError, ValueError):
                problem = _MALFORMED
        if problem is not None:
            flat.rollback(mark)
            issues.note(problem, oid)
            lod = ""
        flat.obj_surfs.append(len(flat.surf_rings) - mark[2])
        flat.obj_instanced.append(geom is not None and geom.get("type") == _INSTANCE)
        lods.append(lod)

    if n_fallback:
        report.warn(
            f"{n_fallback} objects have no LoD {want} geometry and use their highest LoD "
            f"instead (e.g. {fallback_example})"
        )

    all_vertices, triangles, tri_object, tri_surface = _triangulate(vertices, flat, ids, issues)

    for what in (_MALFORMED, _BAD_INDEX, _BAD_TEMPLATE, _EMPTY, _NO_SURFACES, _DEGENERATE):
        n = issues.counts.get(what, 0)
        report.skip(what, n, example=issues.examples.get(what))

    if triangles.shape[0] == 0:
        raise GeometryError(_nothing_read_message(path, len(ids), issues))
    # An object whose geometry was skipped later (bad indices, all degenerate) used none.
    has_triangles = np.bincount(tri_object, minlength=len(ids)) > 0
    lods = [lod if has else "" for lod, has in zip(lods, has_triangles.tolist(), strict=True)]

    objects = CityObjects(
        ids=np.array(ids, dtype=object),
        types=np.array(types, dtype=object),
        parent=_parent_index(ids, parents, report),
        attributes=_attribute_table(records),
        lod=np.array(lods, dtype=object),
        vertices=all_vertices,
        triangles=triangles,
        tri_object=tri_object,
        tri_surface=tri_surface,
    )
    return SourceData(
        path=path,
        layer=None,
        kind="cityjson",
        crs=crs,
        report=report,
        objects=objects,
        counts=_counts(types),
    )


# --------------------------------------------------------------------------- file and header


def _load_json(path: Path, duplicates: Counter[str] | None = None) -> Any:
    """Parse the file, turning every failure into a one-line :class:`InputError`.

    Keys that appear more than once in one JSON object are counted in `duplicates` (JSON keeps
    only the last, so a duplicated CityObject id silently loses objects).
    """
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a CityJSON file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs) and duplicates is not None:
            duplicates.update(k for k, _ in pairs)
            duplicates.subtract(d.keys())
        return d

    try:
        return json.loads(data, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        # json names an unterminated string by where it starts: it runs to the end of the file
        open_string = exc.msg.startswith("Unterminated string")
        what = "a string starts here and never ends" if open_string else exc.msg
        end = open_string or exc.pos >= len(exc.doc) - 1
        hint = " (the file looks truncated)" if end else ""
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {what}{hint}"
        ) from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not a readable JSON text ({type(exc).__name__})") from exc


def _warn_duplicates(
    path: Path, city_objects: dict[str, Any], duplicates: Counter[str], report: LoadReport
) -> None:
    """Warn about CityObject ids that appear more than once (only the last of each was kept)."""
    dup_ids = [k for k, n in duplicates.items() if n > 0 and k in city_objects]
    if dup_ids:
        n_lost = sum(duplicates[k] for k in dup_ids)
        report.skip(
            "CityObjects with a duplicate id (only the last of each id is read; "
            "give every object its own id)",
            n_lost,
            dup_ids[0],
        )


def _check_cityjson(path: Path, doc: Any, report: LoadReport) -> dict[str, Any]:
    """Check the header; return ``CityObjects``; warn about unknown versions."""
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a CityJSON file (the JSON is a {type(doc).__name__})")
    kind = doc.get("type")
    if kind != "CityJSON":
        extra = ""
        if kind == "CityJSONFeature":
            extra = "; CityJSON Text Sequences (.city.jsonl) are not supported"
        raise InputError(
            f"{path}: not a CityJSON file (type is {kind!r}, expected 'CityJSON'{extra})"
        )
    city_objects = doc.get("CityObjects")
    if not isinstance(city_objects, dict):
        raise InputError(f"{path}: not a CityJSON file (no 'CityObjects' member)")
    if not city_objects:
        raise InputError(f"{path}: the CityJSON file has no CityObjects")
    version = doc.get("version")
    if version is None:
        report.warn("no CityJSON 'version'; reading it as CityJSON 2.0")
    elif ".".join(str(version).split(".")[:2]) not in SUPPORTED_VERSIONS:
        report.warn(
            f"CityJSON version {version} is not supported "
            f"({', '.join(SUPPORTED_VERSIONS)}); trying anyway"
        )
    return city_objects


def _vertices(path: Path, raw: Any, transform: Any) -> FloatArray:
    """(n, 3) float64 vertices with ``transform`` (scale, translate) applied."""
    if not isinstance(raw, list):
        raise InputError(f"{path}: 'vertices' is missing or not a list")
    if not raw:
        return np.zeros((0, 3), np.float64)
    try:
        v = np.array(raw, dtype=np.float64)
    except (ValueError, TypeError):
        v = np.zeros(0)
    if v.ndim != 2 or v.shape[1] != 3:
        bad = next(
            (
                i
                for i, p in enumerate(raw)
                if not (
                    isinstance(p, list)
                    and len(p) == 3
                    and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p)
                )
            ),
            0,
        )
        raise InputError(f"{path}: vertices[{bad}] is not an [x, y, z] triple of numbers")
    if transform is not None:
        if not isinstance(transform, dict):
            raise InputError(f"{path}: 'transform' is not an object")
        try:
            scale = np.asarray(transform.get("scale", [1.0, 1.0, 1.0]), dtype=np.float64)
            translate = np.asarray(transform.get("translate", [0.0, 0.0, 0.0]), dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path}: 'transform' scale/translate are not numbers") from exc
        if scale.shape != (3,) or translate.shape != (3,):
            raise InputError(f"{path}: 'transform' scale and translate must have 3 numbers each")
        v *= scale
        v += translate
    return v


def _crs(
    path: Path, doc: dict[str, Any], vertices: FloatArray, options: ReadOptions, report: LoadReport
) -> CRS:
    """The declared CRS, else ``options.crs``, else EPSG:4326 for lon/lat-looking data.

    ``options.crs`` also replaces a declared CRS that pyproj does not know, or a projected one
    whose coordinates are lon/lat degrees (:func:`~twin_app.io.crs_sanity.check_not_lonlat`).
    """
    meta = doc.get("metadata")
    declared = meta.get("referenceSystem") if isinstance(meta, dict) else None
    if declared not in (None, ""):
        try:
            crs = parse_crs(declared, where=f"{path}: metadata.referenceSystem")
        except CRSError:
            if options.crs is None:
                raise
            report.warn(f"unknown referenceSystem {declared!r}; using {options.crs} instead")
            return parse_crs(options.crs, where="--crs")
        if vertices.shape[0]:
            lo = vertices[:, :2].min(axis=0)
            hi = vertices[:, :2].max(axis=0)
            box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
            try:
                check_not_lonlat(crs, box, vertices, str(path))
            except CRSError as exc:  # degrees under a projected referenceSystem
                if options.crs is None:
                    raise
                report.warn(f"{exc.message.split(': ', 1)[1]}; using {options.crs} instead")
                return parse_crs(options.crs, where="--crs")
        return crs
    if options.crs is not None:
        report.warn(f"no referenceSystem in metadata; using {options.crs}")
        return parse_crs(options.crs, where="--crs")
    if vertices.shape[0]:
        lo = vertices[:, :2].min(axis=0)
        hi = vertices[:, :2].max(axis=0)
        if looks_like_lonlat((lo[0], lo[1], hi[0], hi[1])):
            report.warn("no referenceSystem in metadata; coordinates look like lon/lat: EPSG:4326")
            return parse_crs("EPSG:4326")
    raise CRSError(
        f"{path}: no referenceSystem in metadata and coordinates are not lon/lat; "
        "pass --crs EPSG:NNNN"
    )


def _templates(path: Path, raw: Any) -> tuple[list[Any], FloatArray]:
    """Template geometries and their (real-coordinate) vertices."""
    empty = np.zeros((0, 3), np.float64)
    if not isinstance(raw, dict):
        return [], empty
    templates = raw.get("templates")
    if not isinstance(templates, list):
        templates = []
    tv = raw.get("vertices-templates") or []
    try:
        tverts = np.array(tv, dtype=np.float64).reshape(-1, 3) if tv else empty
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{path}: geometry-templates.vertices-templates is not a list of [x, y, z]"
        ) from exc
    return templates, tverts


# --------------------------------------------------------------------------- objects


def _norm_lod(value: Any) -> str:
    """LoD as a string: ``2``, ``2.0``, ``"2.0"`` -> ``"2"``; ``1.2`` -> ``"1.2"``."""
    if value is None or isinstance(value, bool):
        return ""
    text = str(value).strip()
    try:
        num = float(text)
    except ValueError:
        return text
    if num.is_integer():
        return str(int(num))
    return text


def _lod_key(lod: str) -> float:
    try:
        return float(lod)
    except ValueError:
        return -1.0


def _choose_geometry(
    geoms: Any, templates: list[Any], want: str | None, issues: _Issues, oid: str
) -> tuple[dict[str, Any] | None, str, bool]:
    """Pick the geometry to use: (geometry or None, its LoD, whether it is a fallback)."""
    if not isinstance(geoms, list) or not geoms:
        return None, "", False
    best: dict[str, Any] | None = None
    best_lod = ""
    best_key = -np.inf
    for g in geoms:
        if not isinstance(g, dict):
            continue
        gtype = g.get("type")
        if gtype == _INSTANCE:
            t = g.get("template")
            if not (type(t) is int and 0 <= t < len(templates) and isinstance(templates[t], dict)):
                issues.note(_BAD_TEMPLATE, oid)
                continue
            lod = _norm_lod(templates[t].get("lod"))
        elif gtype in _SURFACE_DEPTH:
            lod = _norm_lod(g.get("lod"))
        else:
            continue
        if want is not None and lod == want:
            return g, lod, False
        key = _lod_key(lod)
        if key > best_key:
            best, best_lod, best_key = g, lod, key
    if best is None:
        if any(isinstance(g, dict) and g.get("type") != _INSTANCE for g in geoms):
            issues.note(_NO_SURFACES, oid)
        return None, "", False
    return best, best_lod, want is not None


def _semantic_codes(semantics: Any) -> tuple[list[int], Any]:
    """Codes per semantic surface and the ``values`` tree of a geometry."""
    if not isinstance(semantics, dict):
        return [], None
    surfaces = semantics.get("surfaces")
    codes = (
        [
            _SEMANTIC_CODES.get(str(s.get("type")), SURFACE_OTHER)
            if isinstance(s, dict)
            else SURFACE_OTHER
            for s in surfaces
        ]
        if isinstance(surfaces, list)
        else []
    )
    return codes, semantics.get("values")


def _walk(bounds: list[Any], values: Any, depth: int, codes: list[int], flat: _Flat) -> None:
    """Append the surfaces of a ``boundaries`` tree (`depth` levels above the surfaces)."""
    vals: list[Any] = values if isinstance(values, list) else []
    n_vals = len(vals)
    if depth > 1:
        for k, sub in enumerate(bounds):
            _walk(sub, vals[k] if k < n_vals else None, depth - 1, codes, flat)
        return
    idx_extend = flat.idx.extend
    ring_len_append = flat.ring_len.append
    n_codes = len(codes)
    for k, surf in enumerate(bounds):
        for ring in surf:
            idx_extend(ring)
            ring_len_append(len(ring))
        flat.surf_rings.append(len(surf))
        v = vals[k] if k < n_vals else None
        flat.surf_code.append(codes[v] if type(v) is int and 0 <= v < n_codes else SURFACE_OTHER)


def _flatten(
    geom: dict[str, Any],
    flat: _Flat,
    templates: list[Any],
    template_vertices: FloatArray,
    vertices: FloatArray,
) -> str | None:
    """Append one geometry to `flat`; return a skip reason or None."""
    n0 = len(flat.idx)
    s0 = len(flat.surf_rings)
    if geom.get("type") == _INSTANCE:
        src = templates[geom["template"]]
        gtype = src.get("type")
        if gtype not in _SURFACE_DEPTH:
            return _BAD_TEMPLATE
    else:
        src = geom
        gtype = geom["type"]
    bounds = src.get("boundaries")
    if not isinstance(bounds, list) or not bounds:
        return _EMPTY
    codes, values = _semantic_codes(src.get("semantics"))
    _walk(bounds, values, _SURFACE_DEPTH[gtype], codes, flat)
    if len(flat.surf_rings) == s0:
        return _EMPTY
    if src is geom:
        return None

    # GeometryInstance: template points -> matrix -> reference point, appended as new vertices.
    ref = geom.get("boundaries")
    if not (isinstance(ref, list) and ref and type(ref[0]) is int):
        return _MALFORMED
    if not 0 <= ref[0] < vertices.shape[0]:
        return _BAD_INDEX
    local = _index_array(flat.idx[n0:])
    if local.size == 0 or local.min() < 0 or local.max() >= template_vertices.shape[0]:
        return _BAD_TEMPLATE
    matrix = np.asarray(geom.get("transformationMatrix"), dtype=np.float64).reshape(4, 4)
    used, inverse = np.unique(local, return_inverse=True)
    pts = template_vertices[used] @ matrix[:3, :3].T + matrix[:3, 3] + vertices[ref[0]]
    base = vertices.shape[0] + flat.n_extra
    flat.extra_vertices.append(pts)
    flat.n_extra += int(used.shape[0])
    flat.idx[n0:] = (inverse.reshape(-1) + base).tolist()
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    """One attribute record; nested dicts/lists become JSON strings."""
    if not isinstance(raw, dict) or not raw:
        return {}
    if any(isinstance(v, (dict, list)) for v in raw.values()):
        return {
            k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            for k, v in raw.items()
        }
    return raw


def _attribute_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """DataFrame with one row per object (RangeIndex aligned with ``ids``)."""
    index = pd.RangeIndex(len(records))
    if not any(records):
        return pd.DataFrame(index=index)
    return pd.DataFrame.from_records(records, index=index)


def _parent_index(ids: list[str], parents: list[str | None], report: LoadReport) -> IntArray:
    """Index of each object's first parent, -1 if none or missing (with one warning)."""
    pos = {oid: i for i, oid in enumerate(ids)}
    out = np.full(len(ids), -1, dtype=np.int64)
    missing = 0
    example = ""
    for i, par in enumerate(parents):
        if par is None:
            continue
        j = pos.get(par)
        if j is None:
            missing += 1
            example = example or ids[i]
        else:
            out[i] = j
    if missing:
        report.warn(
            f"{missing} objects name a parent that is not in the file (e.g. {example}); "
            "they are kept without a parent"
        )
    return out


def _counts(types: list[str]) -> dict[str, int]:
    """``city_objects``, ``buildings``, ``building_parts``, then other types by frequency."""
    by_type = Counter(types)
    counts = {
        "city_objects": len(types),
        "buildings": by_type.pop("Building", 0),
        "building_parts": by_type.pop("BuildingPart", 0),
    }
    for name, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])):
        counts[name or "untyped"] = n
    return counts


def _nothing_read_message(path: Path, n_objects: int, issues: _Issues) -> str:
    """Why not a single triangle came out, naming an example object."""
    for what in (_BAD_INDEX, _MALFORMED, _EMPTY, _DEGENERATE, _BAD_TEMPLATE, _NO_SURFACES):
        if issues.counts.get(what):
            return (
                f"{path}: no geometry could be read from {n_objects} CityObjects: "
                f"{issues.counts[what]} {what} (e.g. object {issues.examples[what]})"
            )
    return f"{path}: none of the {n_objects} CityObjects has surface geometry"


# --------------------------------------------------------------------------- triangulation


def _index_array(idx: list[Any]) -> IntArray:
    """Vertex indices as int64; anything that is not an integer becomes -1 (out of range)."""
    if not idx:
        return np.zeros(0, np.int64)
    try:
        arr = np.array(idx)
    except (ValueError, TypeError, OverflowError):
        arr = np.zeros(0)
    if arr.ndim == 1 and arr.shape[0] == len(idx) and arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    lim = 2**62
    return np.array([x if type(x) is int and -lim < x < lim else -1 for x in idx], np.int64)


def _triangulate(
    vertices: FloatArray, flat: _Flat, ids: list[str], issues: _Issues
) -> tuple[
    FloatArray, IntArray, np.ndarray[Any, np.dtype[np.int32]], np.ndarray[Any, np.dtype[np.uint8]]
]:
    """Triangles of all flattened surfaces: (vertices, triangles, tri_object, tri_surface)."""
    all_vertices = (
        np.concatenate([vertices, *flat.extra_vertices]) if flat.extra_vertices else vertices
    )
    idx = _index_array(flat.idx)
    ring_len = np.array(flat.ring_len, dtype=np.int64)
    surf_rings = np.array(flat.surf_rings, dtype=np.int64)
    surf_code = np.array(flat.surf_code, dtype=np.uint8)
    obj_surfs = np.array(flat.obj_surfs, dtype=np.int64)
    n_obj, n_surf, n_ring = len(ids), surf_rings.shape[0], ring_len.shape[0]

    surf_obj = np.repeat(np.arange(n_obj), obj_surfs)
    ring_surf = np.repeat(np.arange(n_surf), surf_rings)
    vert_ring = np.repeat(np.arange(n_ring), ring_len)
    vert_obj = surf_obj[ring_surf[vert_ring]]

    # 1. Range check: regular objects index the file's vertices, instances the appended ones.
    limit = np.where(
        np.array(flat.obj_instanced, dtype=bool), all_vertices.shape[0], vertices.shape[0]
    )
    bad = (idx < 0) | (idx >= limit[vert_obj])
    obj_ok = np.ones(n_obj, dtype=bool)
    if bad.any():
        bad_objects = np.unique(vert_obj[bad])
        obj_ok[bad_objects] = False
        first = int(np.flatnonzero(bad)[0])
        value, top = int(idx[first]), int(limit[vert_obj[first]]) - 1
        what = f"vertex index {value}" if value >= 0 else "a vertex index that is not an integer"
        issues.note(_BAD_INDEX, f"{ids[int(vert_obj[first])]}: {what}, valid are 0..{top}")
        issues.note(_BAD_INDEX, "", int(bad_objects.shape[0]) - 1)
        idx = np.where(bad, 0, idx)

    # 2. Drop consecutive duplicate points (cyclically) and rings left with < 3 points.
    ring_start = np.zeros(n_ring + 1, dtype=np.int64)
    np.cumsum(ring_len, out=ring_start[1:])
    pos = np.arange(idx.shape[0])
    prev = pos - 1
    firsts = ring_start[:-1][ring_len > 0]
    prev[firsts] = ring_start[1:][ring_len > 0] - 1
    pts = all_vertices[idx]
    keep = np.any(pts != pts[prev], axis=1) & obj_ok[vert_obj]
    new_len = np.bincount(vert_ring, weights=keep, minlength=n_ring).astype(np.int64)
    ring_ok = new_len >= 3
    surf_first = np.zeros(n_surf, dtype=np.int64)
    np.cumsum(surf_rings[:-1], out=surf_first[1:])
    has_ring = surf_rings > 0
    surf_ok = has_ring & obj_ok[surf_obj]
    surf_ok[has_ring] &= ring_ok[surf_first[has_ring]]
    dropped = np.flatnonzero(~surf_ok & obj_ok[surf_obj])
    n_degenerate = int(dropped.shape[0])
    degenerate_example = ids[int(surf_obj[dropped[0]])] if n_degenerate else ""
    ring_keep = ring_ok & surf_ok[ring_surf]
    keep &= ring_keep[vert_ring]

    # Compact: kept points, rings and surfaces, renumbered in order.
    idx = idx[keep]
    pts = pts[keep]
    rings = np.flatnonzero(ring_keep)
    ring_len = new_len[rings]
    surfs = np.flatnonzero(surf_ok)
    surf_new = np.cumsum(surf_ok) - 1
    ring_surf = surf_new[ring_surf[rings]]
    surf_rings = np.bincount(ring_surf, minlength=surfs.shape[0]).astype(np.int64)
    surf_obj = surf_obj[surfs]
    surf_code = surf_code[surfs]
    n_ring, n_surf = rings.shape[0], surfs.shape[0]
    ring_start = np.zeros(n_ring + 1, dtype=np.int64)
    np.cumsum(ring_len, out=ring_start[1:])
    vert_ring = np.repeat(np.arange(n_ring), ring_len)
    surf_first = np.zeros(n_surf, dtype=np.int64)
    np.cumsum(surf_rings[:-1], out=surf_first[1:])

    empty_tris = (
        np.zeros((0, 3), np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.uint8),
    )
    if n_surf == 0:
        if n_degenerate:
            issues.note(_DEGENERATE, degenerate_example, n_degenerate)
        return (all_vertices, *empty_tris)

    # 3. Newell normal of every ring, on points relative to the surface's first point (small
    #    numbers, no cancellation; the sum over a closed ring does not depend on the origin).
    vert_surf = ring_surf[vert_ring]
    rel = pts - pts[ring_start[surf_first]][vert_surf]
    nxt = np.arange(1, rel.shape[0] + 1)
    nxt[ring_start[1:] - 1] = ring_start[:-1]
    ring_normal = np.add.reduceat(np.cross(rel, rel[nxt]), ring_start[:-1], axis=0)
    ring_size = np.maximum.reduceat(np.abs(rel).max(axis=1), ring_start[:-1])
    normal = ring_normal[surf_first]
    norm = np.linalg.norm(normal, axis=1)
    good = norm > _REL_AREA_EPS * ring_size[surf_first] ** 2
    flat_surfaces = np.flatnonzero(~good)
    n_degenerate += int(flat_surfaces.shape[0])
    if flat_surfaces.shape[0] and not degenerate_example:
        degenerate_example = ids[int(surf_obj[flat_surfaces[0]])]

    outer_len = ring_len[surf_first]
    single = surf_rings == 1
    is_tri = good & single & (outer_len == 3)
    is_quad = good & single & (outer_len == 4)
    is_gen = good & ~is_tri & ~is_quad

    tris: list[IntArray] = []
    tri_surf: list[IntArray] = []

    # 4a. Triangles as they are.
    s_tri = np.flatnonzero(is_tri)
    if s_tri.size:
        start = ring_start[surf_first[s_tri]]
        tris.append(idx[start[:, None] + np.arange(3)])
        tri_surf.append(s_tri)

    # 4b. Quads: split along the diagonal whose triangles both face along the normal.
    s_quad = np.flatnonzero(is_quad)
    if s_quad.size:
        start = ring_start[surf_first[s_quad]]
        q = start[:, None] + np.arange(4)
        p = rel[q]
        n = normal[s_quad]

        def facing(a: int, b: int, c: int) -> FloatArray:
            cr = np.cross(p[:, b] - p[:, a], p[:, c] - p[:, a])
            dots: FloatArray = np.einsum("ij,ij->i", cr, n)
            return dots

        use02 = np.minimum(facing(0, 1, 2), facing(0, 2, 3)) >= np.minimum(
            facing(1, 2, 3), facing(1, 3, 0)
        )
        qi = idx[q]
        first = np.where(use02[:, None], qi[:, [0, 1, 2]], qi[:, [1, 2, 3]])
        second = np.where(use02[:, None], qi[:, [0, 2, 3]], qi[:, [1, 3, 0]])
        tris.append(np.stack([first, second], axis=1).reshape(-1, 3))
        tri_surf.append(np.repeat(s_quad, 2))

    # 4c. Everything else: earcut on the projection that drops the normal's dominant axis.
    s_gen = np.flatnonzero(is_gen)
    n_failed = 0
    if s_gen.size:
        gen_tris, gen_surf, n_failed = _earcut_surfaces(
            rel, normal, s_gen, surf_first, surf_rings, ring_start, vert_surf
        )
        tris.append(idx[gen_tris])
        tri_surf.append(gen_surf)
    n_degenerate += n_failed

    if n_failed and not degenerate_example:
        degenerate_example = ids[int(surf_obj[s_gen[0]])]
    if n_degenerate:
        issues.note(_DEGENERATE, degenerate_example, n_degenerate)
    if not tris:
        return (all_vertices, *empty_tris)

    triangles = np.concatenate(tris)
    surf_of_tri = np.concatenate(tri_surf)
    order = np.argsort(surf_of_tri, kind="stable")  # file order, objects contiguous
    triangles = triangles[order]
    surf_of_tri = surf_of_tri[order]
    return (
        all_vertices,
        triangles.astype(np.int64, copy=False),
        surf_obj[surf_of_tri].astype(np.int32),
        surf_code[surf_of_tri],
    )


def _earcut_surfaces(
    rel: FloatArray,
    normal: FloatArray,
    surfaces: IntArray,
    surf_first: IntArray,
    surf_rings: IntArray,
    ring_start: IntArray,
    vert_surf: IntArray,
) -> tuple[IntArray, IntArray, int]:
    """Earcut every listed surface; (m, 3) point positions, surface per triangle, failures.

    Each surface is projected onto the coordinate plane that drops its normal's dominant axis
    ``k``, keeping the cyclic axis order ``(k+1, k+2)``: a ring counter-clockwise about its
    normal then stays counter-clockwise in 2D exactly when ``normal[k] > 0``. Earcut's output
    winding is not tied to the input's, so every triangle whose 2D orientation disagrees with
    that sign is flipped.
    """
    import mapbox_earcut

    axis = np.abs(normal).argmax(axis=1)
    k = axis[vert_surf]
    rows = np.arange(rel.shape[0])
    xy = np.empty((rel.shape[0], 2), dtype=np.float64)
    xy[:, 0] = rel[rows, (k + 1) % 3]
    xy[:, 1] = rel[rows, (k + 2) % 3]

    v_start = ring_start[surf_first[surfaces]].tolist()
    v_end = ring_start[surf_first[surfaces] + surf_rings[surfaces]].tolist()
    r_start = surf_first[surfaces].tolist()
    r_end = (surf_first[surfaces] + surf_rings[surfaces]).tolist()
    ends_all = ring_start[1:].astype(np.uint32)
    triangulate = mapbox_earcut.triangulate_float64

    out: list[IntArray] = []
    counts: list[int] = []
    failed = 0
    for v0, v1, r0, r1 in zip(v_start, v_end, r_start, r_end, strict=True):
        t = triangulate(xy[v0:v1], ends_all[r0:r1] - np.uint32(v0))
        if t.shape[0] == 0:
            failed += 1
        out.append(t.astype(np.int64) + v0)
        counts.append(t.shape[0] // 3)
    tri = np.concatenate(out).reshape(-1, 3) if out else np.zeros((0, 3), np.int64)
    tri_surf = np.repeat(surfaces, counts)

    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    area2 = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    sign = np.sign(normal[tri_surf, axis[tri_surf]])
    flip = area2 * sign < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    return tri, tri_surf, failed
