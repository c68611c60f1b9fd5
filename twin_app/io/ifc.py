"""IFC files (IFC2X3, IFC4, IFC4X3) -> one placed triangle mesh of their products.

The adapter to ifcopenshell (with :mod:`twin_app.io.ifc_worker`, the only modules that import
it, like wntr behind the water engine). Every product with a 3D body (openings excluded: they
are cut out of their walls) becomes triangles of ONE mesh with per-triangle element, class,
storey and colour arrays; attributes and property sets go to the table (see
:mod:`twin_app.model.bim`).

Meshing uses the fast ``cgal-simple`` geometry library; products it returns without triangles
(or not at all) are meshed again with ``opencascade``; what neither library meshes is reported
in :attr:`IfcInfo.missing`.

Placement (:class:`~twin_app.model.bim.Georef`): an ``IfcMapConversion`` (IFC4; the
``ePSet_MapConversion`` of IFC2X3) puts model x, y at

    E = E0 + s (x cos(t) - y sin(t)),   N = N0 + s (x sin(t) + y cos(t)),   H = H0 + z

in its projected CRS, t = atan2(XAxisOrdinate, XAxisAbscissa), s = Scale per metre. Else the
IfcSite reference point (RefLatitude, RefLongitude, RefElevation) with the rotation from the
context's TrueNorth (t = -true north angle, true north counter-clockwise from model +y); the
points are then in a transverse Mercator centred on the site (grid north = true north there).
Else the user's ``--at LON,LAT --rotate DEG``, else nowhere (the twin's origin, with a warning).
Reference: buildingSMART IFC4 ADD2 TC1, IfcMapConversion and IfcGeometricRepresentationContext.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import InputError
from twin_app.io.source import IfcData, LoadReport, ReadOptions, SourceData
from twin_app.model.bim import IFC_CLASSES, Georef, IfcInfo, IfcStorey

log = logging.getLogger(__name__)

#: Representation identifiers of a 3D body (what a product "should" produce triangles from).
BODY_IDENTIFIERS = ("Body", "Facetation")
#: Fallback geometry library (slow, robust).
FALLBACK_LIBRARY = "opencascade"

#: Colour of an element whose file gives none, by class (RGB 0..255).
CLASS_RGB: dict[str, tuple[int, int, int]] = {
    "IfcWall": (225, 220, 205),
    "IfcWallStandardCase": (225, 220, 205),
    "IfcCurtainWall": (150, 190, 215),
    "IfcSlab": (190, 190, 190),
    "IfcRoof": (170, 80, 60),
    "IfcWindow": (120, 170, 220),
    "IfcDoor": (150, 105, 60),
    "IfcSpace": (120, 200, 120),
    "IfcColumn": (200, 200, 200),
    "IfcBeam": (180, 180, 170),
    "IfcStair": (205, 185, 150),
    "IfcStairFlight": (205, 185, 150),
    "IfcRailing": (90, 90, 90),
    "IfcCovering": (235, 230, 215),
    "IfcPlate": (140, 180, 210),
    "IfcMember": (160, 130, 90),
    "IfcFooting": (150, 150, 150),
    "IfcSite": (110, 150, 80),
}
DEFAULT_RGB = (200, 200, 200)


def _open(path: Path) -> Any:
    """``ifcopenshell.open`` with its failures as one-line :class:`InputError`."""
    import ifcopenshell

    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"ISO-10303-21" not in head:
        raise InputError(f"{path}: not an IFC (STEP, ISO-10303-21) file")
    try:
        f = ifcopenshell.open(str(path))
    except Exception as exc:  # ifcopenshell raises plain RuntimeError/IOError with C++ texts
        text = " ".join(str(exc).split())[:200]
        if "schema" in text.lower():
            raise InputError(
                f"{path}: IFC schema not supported by ifcopenshell ({text}); IFC2X3, IFC4 and "
                "IFC4X3 are"
            ) from exc
        raise InputError(
            f"{path}: not a readable IFC file ({type(exc).__name__}: {text}); it may be "
            "truncated or corrupt"
        ) from exc
    if not f.by_type("IfcProject"):
        raise InputError(f"{path}: no IfcProject; the file is truncated or not an IFC model")
    return f


def expected_products(f: Any) -> dict[int, Any]:
    """Products that should give triangles: a 3D body representation, not an opening.

    Returns ``{STEP id: entity}``.
    """
    out: dict[int, Any] = {}
    for p in f.by_type("IfcProduct"):
        rep = p.Representation
        if rep is None or p.is_a("IfcOpeningElement"):
            continue
        for r in rep.Representations:
            if r.RepresentationIdentifier in BODY_IDENTIFIERS:
                out[p.id()] = p
                break
    return out


def _unit_scale(f: Any) -> float:
    import ifcopenshell.util.unit

    return float(ifcopenshell.util.unit.calculate_unit_scale(f))


def storeys_of(f: Any) -> list[tuple[int, IfcStorey]]:
    """Building storeys lowest first, as (STEP id, :class:`IfcStorey`)."""
    import ifcopenshell.util.placement

    scale = _unit_scale(f)
    rows: list[tuple[float, int, str, str]] = []
    for s in f.by_type("IfcBuildingStorey"):
        if s.Elevation is not None:
            elev = float(s.Elevation) * scale
        elif s.ObjectPlacement is not None:
            elev = float(ifcopenshell.util.placement.get_local_placement(s.ObjectPlacement)[2, 3])
            elev *= scale
        else:
            elev = 0.0
        rows.append((elev, s.id(), str(s.Name or s.LongName or f"#{s.id()}"), str(s.GlobalId)))
    rows.sort(key=lambda r: r[0])
    return [
        (sid, IfcStorey(i, name, round(elev, 4), gid))
        for i, (elev, sid, name, gid) in enumerate(rows)
    ]


def _parents(f: Any) -> dict[int, int]:
    """STEP id of each object's container or whole (spatial containment and aggregation)."""
    up: dict[int, int] = {}
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for e in rel.RelatedElements:
            up[e.id()] = rel.RelatingStructure.id()
    for rel in f.by_type("IfcRelAggregates"):
        for e in rel.RelatedObjects:
            up.setdefault(e.id(), rel.RelatingObject.id())
    if f.schema != "IFC2X3":
        for rel in f.by_type("IfcRelNests"):
            for e in rel.RelatedObjects:
                up.setdefault(e.id(), rel.RelatingObject.id())
    return up


def _storey_rows(ids: list[int], up: dict[int, int], storey_ids: dict[int, int]) -> list[int]:
    """Storey index of each element: the first storey up its container/whole chain, else -1."""
    out = []
    for i in ids:
        cur: int | None = i
        found = -1
        for _ in range(32):  # a chain deeper than this is a cycle in a broken file
            if cur is None:
                break
            if cur in storey_ids:
                found = storey_ids[cur]
                break
            cur = up.get(cur)
        out.append(found)
    return out


def _material_name(el: Any) -> str:
    import ifcopenshell.util.element

    try:
        m = ifcopenshell.util.element.get_material(el, should_skip_usage=True)
    except Exception:  # a broken material relation names nothing
        return ""
    if m is None:
        return ""
    names: list[str] = []
    if m.is_a("IfcMaterial"):
        names = [m.Name or ""]
    elif m.is_a("IfcMaterialLayerSet"):
        names = [ly.Material.Name for ly in m.MaterialLayers if ly.Material is not None]
    elif m.is_a("IfcMaterialList"):
        names = [x.Name for x in m.Materials]
    elif m.is_a("IfcMaterialConstituentSet"):
        names = [c.Material.Name for c in (m.MaterialConstituents or ()) if c.Material]
    elif m.is_a("IfcMaterialProfileSet"):
        names = [p.Material.Name for p in (m.MaterialProfiles or ()) if p.Material]
    return ", ".join(dict.fromkeys(str(n) for n in names if n))


def _psets_json(el: Any) -> str:
    import ifcopenshell.util.element

    try:
        psets = ifcopenshell.util.element.get_psets(el)
    except Exception:  # a broken property set relation: no property sets rather than no element
        return "{}"
    for props in psets.values():
        props.pop("id", None)
    return json.dumps(psets, default=str, ensure_ascii=False)


def _predefined_type(el: Any) -> str:
    try:
        import ifcopenshell.util.element

        value = ifcopenshell.util.element.get_predefined_type(el)
    except Exception:  # no such attribute in this schema
        return ""
    return "" if value is None else str(value)


# -- georeference -----------------------------------------------------------------------------


def georef_of(f: Any, options: ReadOptions) -> tuple[Georef, str | None]:
    """The placement of the file's model origin, and a warning when there is none.

    The user's ``at_lonlat`` wins over the file's own georeference.
    """
    import ifcopenshell.util.geolocation as geo

    if options.at_lonlat is not None:
        lon, lat = options.at_lonlat
        return Georef("user", "EPSG:4326", lon, lat, 0.0, float(options.rotate_deg), 1.0), None
    unit = _unit_scale(f)
    try:
        params = geo.get_helmert_transformation_parameters(f)
        crs_info = geo.get_crs(f) if params is not None else None
    except Exception:  # a half-written map conversion: try the site
        log.debug("map conversion unreadable", exc_info=True)
        params, crs_info = None, None
    crs_name = None
    if crs_info:
        crs_name = crs_info.get("Name")
    if params is not None and crs_name:
        theta = math.degrees(math.atan2(params.xao, params.xaa))
        return (
            Georef(
                "map_conversion",
                str(crs_name),
                float(params.e),
                float(params.n),
                float(params.h),
                theta,
                float(params.scale) / unit,
            ),
            None,
        )
    sites = f.by_type("IfcSite")
    site = next((s for s in sites if s.RefLatitude and s.RefLongitude), None)
    if site is not None:
        lat = geo.dms2dd(*site.RefLatitude)
        lon = geo.dms2dd(*site.RefLongitude)
        if abs(lat) <= 90 and abs(lon) <= 180 and (lat, lon) != (0.0, 0.0):
            z = float(site.RefElevation or 0.0) * unit
            north = float(geo.get_true_north(f))
            return Georef("site", "EPSG:4326", lon, lat, z, -north, 1.0), None
    return Georef(), "no usable georeference (no map conversion, no site latitude/longitude)"


def local_crs_wkt(lon: float, lat: float) -> str:
    """A transverse Mercator CRS centred on (lon, lat): metres east/north of the point."""
    from pyproj import CRS

    return str(
        CRS.from_proj4(
            f"+proj=tmerc +lat_0={lat:.10f} +lon_0={lon:.10f} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs"
        ).to_wkt()
    )


def place_points(verts: np.ndarray[Any, Any], georef: Georef) -> tuple[np.ndarray[Any, Any], Any]:
    """Model world metres -> (points in the source CRS, the CRS); see the module docstring.

    z is relative to the georeference height (``georef.z`` is kept as ``base_z``).
    """
    from pyproj import CRS

    t = math.radians(georef.rotation_deg)
    c, s = math.cos(t), math.sin(t)
    out = np.empty_like(verts)
    k = georef.scale
    out[:, 0] = k * (c * verts[:, 0] - s * verts[:, 1])
    out[:, 1] = k * (s * verts[:, 0] + c * verts[:, 1])
    out[:, 2] = verts[:, 2]
    if georef.method == "map_conversion":
        assert georef.crs is not None
        crs = CRS.from_user_input(georef.crs)
        out[:, 0] += georef.x
        out[:, 1] += georef.y
        return out, crs
    if georef.method in ("site", "user"):
        from pyproj import Transformer

        # metres east/north of the reference point -> lon/lat, so the twin picks its usual
        # UTM frame; float64 degrees keep well under a millimetre
        tr = Transformer.from_crs(
            CRS.from_wkt(local_crs_wkt(georef.x, georef.y)), "EPSG:4326", always_xy=True
        )
        lon, lat = tr.transform(out[:, 0], out[:, 1])
        out[:, 0] = lon
        out[:, 1] = lat
        return out, CRS.from_epsg(4326)
    return verts.copy(), CRS.from_wkt(local_crs_wkt(0.0, 0.0))


# -- reading ----------------------------------------------------------------------------------


def mesh_products(
    path: Path, f: Any, options: ReadOptions, report: LoadReport
) -> tuple[dict[str, Any], list[str], int]:
    """Mesh with the fast library, re-mesh what it missed with opencascade.

    Returns the merged arrays (see :func:`twin_app.io.ifc_worker.mesh_file`), the lines of
    products no library meshed, and how many products the fallback meshed.
    """
    from twin_app.io.ifc_worker import mesh_file

    expected = expected_products(f)
    fast = mesh_file(str(path), options.ifc_library)
    got = set(fast["elem_id"].tolist())
    redo = sorted(i for i in expected if i not in got)
    parts = [fast]
    n_fallback = 0
    if redo and options.ifc_library != FALLBACK_LIBRARY:
        slow = mesh_file(str(path), FALLBACK_LIBRARY, include=redo)
        parts.append(slow)
        n_fallback = int(slow["elem_id"].shape[0])
        got |= set(slow["elem_id"].tolist())
    merged = merge_meshes(parts)
    missing = []
    for i in sorted(set(expected) - got):
        p = expected[i]
        missing.append(
            f"#{i} {p.is_a()} {p.Name or ''!s} ({p.GlobalId}): no geometry from "
            f"{options.ifc_library}"
            + ("" if options.ifc_library == FALLBACK_LIBRARY else f" or {FALLBACK_LIBRARY}")
        )
    return merged, missing, n_fallback


def merge_meshes(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate meshing results (later parts' indices shifted)."""
    if len(parts) == 1:
        return parts[0]
    nv = np.cumsum([0] + [p["verts"].shape[0] for p in parts])
    ne = np.cumsum([0] + [p["elem_id"].shape[0] for p in parts])
    nm = np.cumsum([0] + [p["mat_rgb"].shape[0] for p in parts])
    return {
        "elem_id": np.concatenate([p["elem_id"] for p in parts]),
        "empty_id": np.concatenate([p["empty_id"] for p in parts]),
        "verts": np.concatenate([p["verts"] for p in parts]),
        "tris": np.concatenate([p["tris"] + nv[i] for i, p in enumerate(parts)]),
        "tri_elem": np.concatenate(
            [(p["tri_elem"] + ne[i]).astype(np.int32) for i, p in enumerate(parts)]
        ),
        "tri_mat": np.concatenate(
            [
                np.where(p["tri_mat"] >= 0, p["tri_mat"] + nm[i], -1).astype(np.int32)
                for i, p in enumerate(parts)
            ]
        ),
        "mat_rgb": np.concatenate([p["mat_rgb"] for p in parts]),
        "library": parts[0]["library"],
    }


def read_ifc(path: Path, options: ReadOptions | None = None) -> SourceData:
    """Read an IFC file into one :class:`SourceData` of kind ``ifc``.

    Parameters
    ----------
    path
        The ``.ifc`` file.
    options
        ``at_lonlat``/``rotate_deg`` place a file (overriding its georeference);
        ``ifc_library`` chooses the fast geometry library.

    Returns
    -------
    SourceData
        ``ifc`` holds the placed mesh, the element table and the :class:`IfcInfo`; ``crs`` is
        the CRS of its points.

    Raises
    ------
    InputError
        Not an IFC file, truncated or invalid STEP, an unknown schema, or no product with
        geometry.
    """
    opts = options or ReadOptions()
    path = Path(path)
    report = LoadReport(path.name)
    f = _open(path)
    merged, missing, n_fallback = mesh_products(path, f, opts, report)
    elem_step = merged["elem_id"]
    if elem_step.size == 0:
        raise InputError(f"{path}: no IFC product with geometry could be meshed")
    ents = [f.by_id(int(i)) for i in elem_step]
    classes = np.array([e.is_a() for e in ents], dtype=object)
    storeys = storeys_of(f)
    storey_row = {sid: st.index for sid, st in storeys}
    up = _parents(f)
    st_idx = np.array(_storey_rows(elem_step.tolist(), up, storey_row), np.int16)
    code_of = {c: i for i, c in enumerate(IFC_CLASSES)}
    class_code = np.array([code_of.get(c, -1) for c in classes], np.int16)
    # colours: the triangle's material colour, else its class colour
    k = elem_step.shape[0]
    class_rgb = np.array([CLASS_RGB.get(c, DEFAULT_RGB) for c in classes], np.uint8).reshape(k, 3)
    tri_elem = merged["tri_elem"]
    tri_mat = merged["tri_mat"]
    mat_rgb = np.clip(np.rint(merged["mat_rgb"] * 255.0), 0, 255).astype(np.uint8)
    rgb = class_rgb[tri_elem]
    has = tri_mat >= 0
    rgb[has] = mat_rgb[tri_mat[has]]
    # an element's colour: that of its first triangle
    first_tri = np.full(k, tri_elem.shape[0] - 1, np.int64)
    np.minimum.at(first_tri, tri_elem, np.arange(tri_elem.shape[0]))
    elem_rgb = rgb[first_tri]
    colors = np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in elem_rgb.tolist()], dtype=object)
    storey_names = np.array([st.name for _, st in storeys] + [""], dtype=object)
    storey_elev = np.array([st.elevation_m for _, st in storeys] + [np.nan], np.float64)
    table = pd.DataFrame(
        {
            "id": np.array([str(e.GlobalId) for e in ents], dtype=object),
            "name": np.array([str(e.Name or "") for e in ents], dtype=object),
            "ifc_class": classes,
            "storey": storey_names[st_idx],
            "storey_index": st_idx.astype(np.int64),
            "storey_elevation_m": storey_elev[st_idx],
            "material": np.array([_material_name(e) for e in ents], dtype=object),
            "color": colors,
            "psets": np.array([_psets_json(e) for e in ents], dtype=object),
            "predefined_type": np.array([_predefined_type(e) for e in ents], dtype=object),
            "step_id": elem_step,
        }
    )
    georef, why = georef_of(f, opts)
    if why:
        report.warn(
            f"{why}; placed at the twin's origin, unrotated; place it with --at LON,LAT "
            "--rotate DEG"
        )
    points, crs = place_points(merged["verts"], georef)
    class_counts = {str(c): int(n) for c, n in pd.Series(classes).value_counts().items()}
    for line in missing[:3]:
        report.warn(line)
    if len(missing) > 3:
        report.warn(f"{len(missing)} products in all have no geometry (see the layer's info)")
    info = IfcInfo(
        schema=str(f.schema_identifier if hasattr(f, "schema_identifier") else f.schema),
        storeys=tuple(st for _, st in storeys),
        georef=georef,
        class_counts=class_counts,
        missing=tuple(missing),
        geometry_library=str(merged["library"]),
        fallback_elements=n_fallback,
        cache_hit=False,
    )
    cell = {
        "element_index": tri_elem.astype(np.int32),
        "ifc_class_code": class_code[tri_elem],
        "storey_index": st_idx[tri_elem],
        "rgb": rgb,
    }
    data = IfcData(
        ids=table["id"].to_numpy(object),
        table=table,
        points=points,
        triangles=merged["tris"].astype(np.int64),
        cell_data=cell,
        info=info,
        base_z=georef.z if georef.method in ("site", "map_conversion") else 0.0,
    )
    counts = {"ifc_elements": k, "triangles": int(tri_elem.shape[0]), "missing": len(missing)}
    return SourceData(path, None, "ifc", crs, report, counts=counts, ifc=data)
