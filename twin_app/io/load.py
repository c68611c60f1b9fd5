"""Sources in their own CRS -> one :class:`CityModel` in a shared local frame."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import CancelledError, InputError, TwinError
from twin_app.geometry.extrude import extrude, orient_rings, polygon_arrays, roof_triangles
from twin_app.geometry.lines import line_arrays, ribbons
from twin_app.io.cityjson import CITYJSON_GROUND_TYPES
from twin_app.io.registry import read_path
from twin_app.io.source import CityObjects, ReadOptions, SourceData, reading_with
from twin_app.model.city import (
    AREAS,
    BUILDINGS,
    GROUND,
    IFC,
    OBJECTS,
    ROADS,
    TERRAIN,
    CityModel,
    FeatureSet,
    Polylines,
)
from twin_app.model.frame import LocalFrame, horizontal_crs
from twin_app.model.mesh import SURFACE_OTHER, TriMesh

Progress = Callable[[float, str], None]
Cancelled = Callable[[], bool]

#: Lift of flat layers above the ground plane, metres (against z-fighting).
AREA_Z_M = 0.05
ROAD_Z_M = 0.15


@dataclass
class LoadResult:
    """A loaded city, the sources it came from (for counts and reports) and the files that
    could not be read.

    Attributes
    ----------
    city
        The feature sets of every file read, in one frame.
    sources
        What each readable file held.
    errors
        One line per file that could not be read (naming it and what to do); the other files
        loaded all the same.
    file_options
        The options of single files that were read with their own (resolved path ->
        options; see :func:`load_city`), so a session saves them with the file.
    """

    city: CityModel
    sources: list[SourceData]
    errors: list[str] = field(default_factory=list)
    file_options: dict[Path, ReadOptions] = field(default_factory=dict)


def source_bounds(src: SourceData) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of a source in its own CRS, or None if it is empty."""
    boxes = []
    for gdf in (src.buildings, src.roads, src.areas):
        if gdf is not None and len(gdf):
            boxes.append(np.asarray(gdf.total_bounds, np.float64))
    if src.objects is not None and src.objects.vertices.shape[0]:
        v = src.objects.vertices
        boxes.append(np.array([v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max()]))
    if src.ifc is not None and src.ifc.points.shape[0]:
        v = src.ifc.points
        boxes.append(np.array([v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max()]))
    if not boxes:
        return None
    b = np.array(boxes)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def bbox_wgs84(src: SourceData) -> list[float] | None:
    """Bounding box of a source as [lon_min, lat_min, lon_max, lat_max]."""
    from pyproj import Transformer

    b = source_bounds(src)
    if b is None:
        return None
    tr = Transformer.from_crs(horizontal_crs(src.crs), "EPSG:4326", always_xy=True)
    lon0, lat0, lon1, lat1 = tr.transform_bounds(*b)
    return [round(float(v), 7) for v in (lon0, lat0, lon1, lat1)]


def choose_frame(sources: Sequence[SourceData]) -> LocalFrame:
    """A local frame centred on all sources, aligned with the first projected CRS.

    Geographic sources (lon/lat) get the UTM zone of their centre. z0 is the lowest
    CityJSON vertex, so absolute elevations (NAP, LN02) start near z = 0.
    """
    from pyproj import Transformer

    nonempty = [(s, b) for s in sources if (b := source_bounds(s)) is not None]
    placed = [(s, b) for s, b in nonempty if s.ifc is None or s.ifc.placed]
    # an IFC file that says nowhere where it lies goes to the origin of the others' frame
    nonempty = placed or nonempty
    if not nonempty:
        labels = (
            ", ".join(f"{s.path}:{s.layer}" if s.layer else str(s.path) for s in sources)
            or "no files"
        )
        raise InputError(f"nothing to show: {labels} hold(s) no features")
    first, _ = nonempty[0]
    base = horizontal_crs(first.crs)
    boxes = []
    for s, b in nonempty:
        if horizontal_crs(s.crs) == base:
            boxes.append(b)
        else:
            tr = Transformer.from_crs(horizontal_crs(s.crs), base, always_xy=True)
            x0, y0, x1, y1 = tr.transform_bounds(*b)
            boxes.append((float(x0), float(y0), float(x1), float(y1)))
    arr = np.array(boxes)
    union = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    z_values = [
        float(s.objects.vertices[:, 2].min())
        for s in sources
        if s.objects is not None and s.objects.vertices.shape[0]
    ]
    z0 = min(z_values) if z_values else 0.0
    return LocalFrame.for_data(
        base, (float(union[0]), float(union[1]), float(union[2]), float(union[3])), z0
    )


def _to_local_polygons(gdf: Any, frame: LocalFrame) -> Any:
    arr = polygon_arrays(np.asarray(gdf.geometry.values))
    local = frame.to_local(arr.coords[:, 0], arr.coords[:, 1], src=gdf.crs)
    return arr.with_coords(np.ascontiguousarray(local[:, :2]))


def buildings_from_footprints(src: SourceData, frame: LocalFrame) -> FeatureSet:
    """Extrude a source's footprints into one prism mesh (walls + roofs)."""
    gdf = src.buildings
    assert gdf is not None
    heights = gdf["height_m"].to_numpy(np.float64)
    if src.footprint_arrays is not None:
        raw, index = src.footprint_arrays
        local = frame.to_local(raw.coords[:, 0], raw.coords[:, 1], src=src.crs)
        arr = orient_rings(raw.with_coords(np.ascontiguousarray(local[:, :2])))
        mesh = extrude(arr, heights[index], 0.0, index=index)
    else:
        arr = _to_local_polygons(gdf, frame)
        mesh = extrude(arr, heights, 0.0)
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return FeatureSet(
        f"Buildings ({src.label})", BUILDINGS, src.label, table["id"].to_numpy(object), table, mesh
    )


def areas_from_polygons(src: SourceData, frame: LocalFrame) -> FeatureSet:
    """Flat triangulated polygons just above the ground."""
    gdf = src.areas
    assert gdf is not None
    arr = _to_local_polygons(gdf, frame)
    tris = roof_triangles(arr)
    pts = np.column_stack([arr.coords, np.full(arr.coords.shape[0], AREA_Z_M)])
    point_geom = np.repeat(arr.ring_geom(), np.diff(arr.ring_offsets))
    normals = np.zeros((tris.shape[0], 3))
    normals[:, 2] = 1.0
    mesh = TriMesh(
        pts,
        tris,
        {
            "feature_index": point_geom[tris[:, 0]].astype(np.int32),
            "surface": np.full(tris.shape[0], SURFACE_OTHER, np.uint8),
            "Normals": normals,
        },
    )
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return FeatureSet(
        f"Areas ({src.label})", AREAS, src.label, table["id"].to_numpy(object), table, mesh
    )


def roads_from_lines(src: SourceData, frame: LocalFrame) -> FeatureSet:
    """Road centre lines to local polylines and one ribbon mesh."""
    gdf = src.roads
    assert gdf is not None
    coords, offsets, part_road = line_arrays(np.asarray(gdf.geometry.values))
    local = frame.to_local(coords[:, 0], coords[:, 1], src=gdf.crs)
    lines = Polylines(local, offsets, part_road)
    width = gdf["width_m"].to_numpy(np.float64)[part_road]
    mesh = ribbons(lines, width, part_road, z_m=ROAD_Z_M)
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    # Lines per road (parts of a MultiLineString in order) for routing engines.
    fs = FeatureSet(
        f"Roads ({src.label})",
        ROADS,
        src.label,
        table["id"].to_numpy(object),
        table,
        mesh,
        lines=lines,
    )
    fs.table["length_m"] = np.bincount(part_road, weights=lines.lengths_m(), minlength=len(table))
    return fs


def _submesh(
    obj: CityObjects,
    local_vertices: np.ndarray[Any, Any],
    tri_mask: np.ndarray[Any, Any],
    tri_feature: np.ndarray[Any, Any],
) -> tuple[TriMesh, np.ndarray[Any, Any]]:
    """The masked triangles over their own points, a point never shared by two features.

    CityJSON neighbours share vertices; splitting them per feature lets per-feature colours
    live on points (cheaper to draw than cell colours) without bleeding into the neighbour.
    """
    tri_idx = np.flatnonzero(tri_mask)
    tris = obj.triangles[tri_idx]
    feat = np.repeat(np.asarray(tri_feature)[tri_idx].astype(np.int64), 3)
    key = feat * np.int64(local_vertices.shape[0]) + tris.ravel()
    used, inverse = np.unique(key, return_inverse=True)
    vertex = used % np.int64(local_vertices.shape[0])
    mesh = TriMesh(local_vertices[vertex], inverse.reshape(-1, 3).astype(np.int64))
    return mesh, tri_idx


def sets_from_cityjson(src: SourceData, frame: LocalFrame) -> list[FeatureSet]:
    """Split CityJSON objects into buildings (parts folded into their Building), terrain, others."""
    obj = src.objects
    assert obj is not None
    v = obj.vertices
    local = frame.to_local(v[:, 0], v[:, 1], src=src.crs, z=v[:, 2])
    types = obj.types.astype(str)
    k = len(obj.ids)
    is_part = types == "BuildingPart"
    is_bldg = types == "Building"
    # Each object's building: itself for a Building, the parent for a part with a Building parent.
    owner = np.full(k, -1, np.int64)
    owner[is_bldg] = np.flatnonzero(is_bldg)
    parent_ok = is_part & (obj.parent >= 0)
    parent_ok[parent_ok] = types[obj.parent[parent_ok]] == "Building"
    owner[parent_ok] = obj.parent[parent_ok]
    orphan = is_part & ~parent_ok
    owner[orphan] = np.flatnonzero(orphan)  # a part without a Building stands for itself
    bldg_rows = np.flatnonzero(is_bldg | orphan)
    row_of_obj = np.full(k, -1, np.int64)
    row_of_obj[bldg_rows] = np.arange(bldg_rows.size)
    out: list[FeatureSet] = []
    tri_owner = owner[obj.tri_object]
    mask = tri_owner >= 0
    if bldg_rows.size:
        mesh, tri_idx = _submesh(obj, local, mask, tri_owner)
        b_index = row_of_obj[tri_owner[tri_idx]].astype(np.int32)
        part_obj = obj.tri_object[tri_idx]
        part_rows = np.flatnonzero(is_part)
        part_row_of_obj = np.full(k, -1, np.int64)
        part_row_of_obj[part_rows] = np.arange(part_rows.size)
        zmin = np.full(bldg_rows.size, np.inf)
        zmax = np.full(bldg_rows.size, -np.inf)
        tz = mesh.points[mesh.triangles, 2]
        np.minimum.at(zmin, b_index, tz.min(axis=1))
        np.maximum.at(zmax, b_index, tz.max(axis=1))
        height = np.where(np.isfinite(zmin), zmax - zmin, np.nan)
        attrs = obj.attributes.iloc[bldg_rows].reset_index(drop=True)
        measured = pd.to_numeric(
            attrs.get("measuredHeight", pd.Series(np.nan, index=attrs.index)), errors="coerce"
        ).to_numpy(np.float64)
        height = np.where(np.isfinite(measured) & (measured > 0), measured, height)
        table = attrs.drop(columns=[c for c in ("id", "height_m", "type") if c in attrs.columns])
        table.insert(0, "id", obj.ids[bldg_rows])
        table.insert(1, "type", types[bldg_rows])
        table.insert(2, "height_m", height)
        table.insert(
            3,
            "height_source",
            np.where(np.isfinite(measured) & (measured > 0), "measuredHeight", "model"),
        )
        table.insert(4, "lod", obj.lod[bldg_rows])
        table.insert(
            5, "n_parts", np.bincount(row_of_obj[owner[parent_ok]], minlength=bldg_rows.size)
        )
        mesh = TriMesh(
            mesh.points,
            mesh.triangles,
            {
                "building_index": b_index,
                "part_index": part_row_of_obj[part_obj].astype(np.int32),
                "surface": obj.tri_surface[tri_idx],
            },
        )
        mesh.cell_data["Normals"] = mesh.face_normals()
        parts = pd.DataFrame(
            {
                "id": obj.ids[part_rows],
                "parent": np.where(
                    obj.parent[part_rows] >= 0, obj.ids[np.maximum(obj.parent[part_rows], 0)], ""
                ),
            }
        )
        out.append(
            FeatureSet(
                f"Buildings ({src.label})",
                BUILDINGS,
                src.label,
                obj.ids[bldg_rows],
                table,
                mesh,
                parts=parts,
            )
        )
    is_ground = np.isin(types, list(CITYJSON_GROUND_TYPES))
    for kind, type_mask in (
        (GROUND, is_ground),
        (TERRAIN, types == "TINRelief"),
        (OBJECTS, ~(is_bldg | is_part | is_ground | (types == "TINRelief"))),
    ):
        rows = np.flatnonzero(type_mask)
        if rows.size == 0:
            continue
        row_of = np.full(k, -1, np.int64)
        row_of[rows] = np.arange(rows.size)
        tmask = row_of[obj.tri_object] >= 0
        if not tmask.any():
            continue
        mesh, tri_idx = _submesh(obj, local, tmask, obj.tri_object)
        attrs = obj.attributes.iloc[rows].reset_index(drop=True)
        table = attrs.drop(columns=[c for c in ("id", "type") if c in attrs.columns])
        table.insert(0, "id", obj.ids[rows])
        if kind == GROUND:
            # The ground class is the colour key; the CityJSON type stays as a column.
            table.insert(1, "type", pd.Series(types[rows]).map(CITYJSON_GROUND_TYPES).to_numpy())
            table.insert(2, "cityjson_type", types[rows])
        else:
            table.insert(1, "type", types[rows])
        cell = {
            "feature_index": row_of[obj.tri_object[tri_idx]].astype(np.int32),
            "surface": obj.tri_surface[tri_idx],
        }
        mesh = TriMesh(mesh.points, mesh.triangles, cell)
        if kind == GROUND:
            from twin_app.io.ground import lift_by_class

            mesh = lift_by_class(mesh, table["type"].to_numpy(object), "feature_index")
        mesh.cell_data["Normals"] = mesh.face_normals()
        name = {TERRAIN: "Terrain", GROUND: "Ground"}.get(kind, "City objects")
        out.append(FeatureSet(f"{name} ({src.label})", kind, src.label, obj.ids[rows], table, mesh))
    return out


#: An IFC building placed farther than this from the twin's origin gets a warning, metres.
IFC_FAR_M = 50_000.0


def ifc_from_source(src: SourceData, frame: LocalFrame) -> FeatureSet:
    """The placed IFC mesh in the twin's frame (see :mod:`twin_app.io.ifc`).

    A placed file is projected from its CRS into the frame. Its height: in a flat twin (frame
    z0 = 0: footprints on a plane at z = 0) the model's z = 0 (the georeference height) sits
    on that plane; in a twin with absolute heights (CityJSON, z0 != 0) the georeference
    height is kept. An unplaced file lies at the frame origin, unrotated.
    """
    data = src.ifc
    assert data is not None
    p = data.points
    if data.placed:
        z = p[:, 2] + (data.base_z if frame.origin[2] != 0.0 else 0.0)
        local = frame.to_local(p[:, 0], p[:, 1], src=src.crs, z=z)
    else:
        local = np.ascontiguousarray(p, np.float64)
    mesh = TriMesh(local, data.triangles, dict(data.cell_data))
    mesh.cell_data["Normals"] = mesh.face_normals()
    if data.placed and local.shape[0]:
        centre = 0.5 * (local[:, :2].min(axis=0) + local[:, :2].max(axis=0))
        dist = float(np.hypot(*centre))
        if dist > IFC_FAR_M:
            src.report.warn(
                f"its georeference ({data.info.georef.method}) puts the building "
                f"{dist / 1000:.0f} km from the twin's centre; place it with --at LON,LAT "
                "(or a click on the ground)"
            )
    table = data.table.copy()
    # the generic "colour by type" of object layers (and ``twin render``) colours by class
    table["type"] = table["ifc_class"]
    return FeatureSet(f"IFC ({src.label})", IFC, src.label, data.ids, table, mesh, meta=data.info)


def build_sets(src: SourceData, frame: LocalFrame) -> list[FeatureSet]:
    """All feature sets of one source in `frame`."""
    sets: list[FeatureSet] = []
    if src.ifc is not None:
        sets.append(ifc_from_source(src, frame))
    if src.objects is not None:
        sets.extend(sets_from_cityjson(src, frame))
    if src.areas is not None and len(src.areas):
        sets.append(areas_from_polygons(src, frame))
    if src.roads is not None and len(src.roads):
        sets.append(roads_from_lines(src, frame))
    if src.buildings is not None and len(src.buildings):
        sets.append(buildings_from_footprints(src, frame))
    if src.ground is not None and len(src.ground):
        from twin_app.io.ground import ground_from_source

        # Last: the first layer of an empty view frames it, and the city frames better by
        # its streets than by its parks and river.
        sets.append(ground_from_source(src, frame))
    return sets


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """`progress` with a reader's 0..1 mapped onto lo..hi of the whole load."""
    if progress is None:
        return None
    p = progress

    def scaled(frac: float, msg: str) -> None:
        p(lo + (hi - lo) * frac, msg)

    return scaled


def load_city(
    paths: Sequence[Path | str],
    options: ReadOptions | None = None,
    frame: LocalFrame | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    file_options: Mapping[Path, ReadOptions] | None = None,
) -> LoadResult:
    """Read files and build the city in one local frame.

    Parameters
    ----------
    paths
        Files to read (any format the registry knows).
    options
        Reader options (layer, kind override, LoD, CRS, default height).
    frame
        Reuse this frame (adding files to an open twin); default: chosen from the data.
    progress
        Called with (fraction 0..1, message) between steps.
    cancelled
        Polled between steps; when it returns True a :class:`CancelledError` is raised.
    file_options
        Options of single files (resolved path -> options) that replace `options` for them:
        a twin's manifest places its IFC file with ``at``/``rotate_deg``.

    Returns
    -------
    LoadResult
        The city of every readable file; a file that cannot be read does not stop the others:
        its one-line error goes to ``errors``.

    Raises
    ------
    TwinError
        No file could be read: the file's own error for one path, else one line naming each
        file and its error.
    """
    opts = options or ReadOptions()
    n = max(len(paths), 1)

    def step(frac: float, msg: str) -> None:
        if cancelled is not None and cancelled():
            raise CancelledError("loading cancelled")
        if progress is not None:
            progress(frac, msg)

    sources: list[SourceData] = []
    errors: list[TwinError] = []
    for i, p in enumerate(paths):
        step(0.5 * i / n, f"reading {Path(p).name}")
        try:
            with reading_with(_scaled(progress, 0.5 * i / n, 0.5 * (i + 1) / n), cancelled):
                own = file_options.get(Path(p).resolve()) if file_options else None
                sources.extend(read_path(p, own or opts))
        except CancelledError:
            raise
        except TwinError as err:
            errors.append(err)
    if errors and not sources:
        if len(errors) == 1:
            raise errors[0]
        raise InputError(
            f"none of the {len(errors)} files could be read: " + "; ".join(map(str, errors))
        )
    if frame is None and not any(source_bounds(s) is not None for s in sources):
        # Nothing to frame: say why for every file, the unreadable ones included.
        empty = [f"{s.path} holds no features to show" for s in sources] or [
            f"{Path(p)} holds no features to show" for p in paths
        ]
        raise InputError(
            "nothing to show: "
            + "; ".join([*map(str, errors), *empty])
            + "; check that these are the files you meant and that they are complete"
        )
    step(0.5, "choosing local frame")
    frame = frame or choose_frame(sources)
    city = CityModel(frame)
    for i, src in enumerate(sources):
        step(0.5 + 0.5 * i / max(len(sources), 1), f"building meshes for {src.label}")
        city.sets.extend(build_sets(src, frame))
    step(1.0, "done")
    return LoadResult(city, sources, [str(e) for e in errors], dict(file_options or {}))
