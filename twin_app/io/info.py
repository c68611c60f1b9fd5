"""Summaries of what a file holds (``twin info``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twin_app.io.load import bbox_wgs84, build_sets, choose_frame
from twin_app.io.registry import read_path
from twin_app.io.source import ReadOptions, SourceData


def crs_label(src: SourceData) -> str:
    """``EPSG:7415`` when the CRS has a code, else its name."""
    auth = src.crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else str(src.crs.name)


def source_summary(src: SourceData) -> dict[str, Any]:
    """The ``twin info`` fields of one source (a file or one layer)."""
    sets = build_sets(src, choose_frame([src])) if _has_data(src) else []
    heights = np.concatenate(
        [
            s.table["height_m"].to_numpy(np.float64)
            for s in sets
            if s.kind == "buildings" and "height_m" in s.table
        ]
        or [np.zeros(0)]
    )
    heights = heights[np.isfinite(heights)]
    out: dict[str, Any] = {
        "path": str(src.path),
        "kind": src.kind,
        "crs": crs_label(src),
        "bbox_wgs84": bbox_wgs84(src),
        "counts": dict(src.counts),
        "triangles": int(sum(s.mesh.n_triangles for s in sets)),
        "height_m": (
            {
                "min": round(float(heights.min()), 3),
                "mean": round(float(heights.mean()), 3),
                "max": round(float(heights.max()), 3),
            }
            if heights.size
            else None
        ),
        "repaired": dict(src.report.repaired),
        "skipped": dict(src.report.skipped),
        "warnings": list(src.report.warnings),
    }
    if src.layer is not None:
        out["layer"] = src.layer
    if src.ifc is not None:
        out["ifc"] = ifc_summary(src)
    return out


def ifc_summary(src: SourceData) -> dict[str, Any]:
    """The IFC facts of ``twin info``: schema, counts by class and storey, placement."""
    import dataclasses

    data = src.ifc
    assert data is not None
    info = data.info
    counts = data.table["storey"].replace("", "(none)").value_counts(sort=False)
    # lowest storey first, as the building stands; elements on no storey last
    order = [st.name for st in info.storeys if st.name in counts.index]
    by_storey = counts.reindex(order + [k for k in counts.index if k not in order])
    g = info.georef
    location = None
    if data.placed:
        from pyproj import Transformer

        tr = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
        # the model origin: map coordinates to project, or already lon/lat
        lon, lat = tr.transform(g.x, g.y) if g.method == "map_conversion" else (g.x, g.y)
        location = {"lon": round(float(lon), 7), "lat": round(float(lat), 7), "z_m": g.z}
    return {
        "schema": info.schema,
        "elements": len(data.table),
        "by_class": dict(sorted(info.class_counts.items(), key=lambda kv: -kv[1])),
        "by_storey": {str(k): int(v) for k, v in by_storey.items()},
        "storeys": [{"name": st.name, "elevation_m": st.elevation_m} for st in info.storeys],
        "georef": dataclasses.asdict(g),
        "location": location,
        "missing": list(info.missing),
        "geometry_library": info.geometry_library,
        "fallback_elements": info.fallback_elements,
        "cache_hit": info.cache_hit,
    }


def _has_data(src: SourceData) -> bool:
    return (
        any(x is not None and len(x) for x in (src.buildings, src.roads, src.areas))
        or (src.objects is not None and src.objects.triangles.shape[0] > 0)
        or (src.ifc is not None and src.ifc.triangles.shape[0] > 0)
    )


def file_summary(path: Path | str, options: ReadOptions | None = None) -> dict[str, Any]:
    """Summary of one file; multi-layer files add ``layers`` and sum their counts."""
    sources = read_path(path, options)
    if len(sources) == 1 and sources[0].layer is None:
        return source_summary(sources[0])
    layers = [source_summary(s) for s in sources]
    counts: dict[str, int] = {}
    for layer in layers:
        for k, v in layer["counts"].items():
            counts[k] = counts.get(k, 0) + int(v)
    boxes = [lyr["bbox_wgs84"] for lyr in layers if lyr["bbox_wgs84"]]
    hs = [lyr["height_m"] for lyr in layers if lyr["height_m"]]
    n_b = [lyr["counts"].get("buildings", 0) for lyr in layers if lyr["height_m"]]
    return {
        "path": str(Path(path)),
        "kind": "multi-layer",
        "crs": ", ".join(sorted({lyr["crs"] for lyr in layers})),
        "bbox_wgs84": (
            [
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            ]
            if boxes
            else None
        ),
        "counts": counts,
        "triangles": sum(lyr["triangles"] for lyr in layers),
        "height_m": (
            {
                "min": min(h["min"] for h in hs),
                "mean": round(
                    sum(h["mean"] * n for h, n in zip(hs, n_b, strict=True)) / max(sum(n_b), 1), 3
                ),
                "max": max(h["max"] for h in hs),
            }
            if hs
            else None
        ),
        "repaired": _sum_dicts([lyr["repaired"] for lyr in layers]),
        "skipped": _sum_dicts([lyr["skipped"] for lyr in layers]),
        "warnings": [w for lyr in layers for w in lyr["warnings"]],
        "layers": layers,
    }


def _sum_dicts(ds: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in ds:
        for k, v in d.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable text of a summary."""
    lines = [f"{s['path']}  [{s['kind']}]", f"  crs        {s['crs']}"]
    if s.get("bbox_wgs84"):
        b = s["bbox_wgs84"]
        lines.append(f"  bbox       lon {b[0]:.5f} .. {b[2]:.5f}, lat {b[1]:.5f} .. {b[3]:.5f}")
    counts = ", ".join(f"{k} {v:,}" for k, v in s["counts"].items())
    lines.append(f"  counts     {counts}")
    lines.append(f"  triangles  {s['triangles']:,}")
    if s.get("height_m"):
        h = s["height_m"]
        lines.append(f"  height_m   min {h['min']:.1f}, mean {h['mean']:.1f}, max {h['max']:.1f}")
    if s["repaired"]:
        lines.append("  repaired   " + ", ".join(f"{k}: {v}" for k, v in s["repaired"].items()))
    if s["skipped"]:
        lines.append("  skipped    " + ", ".join(f"{k}: {v}" for k, v in s["skipped"].items()))
    for layer in s.get("layers", []):
        lc = ", ".join(f"{k} {v:,}" for k, v in layer["counts"].items())
        lines.append(
            f"  layer {layer['layer']!r}: {layer['kind']}, {lc}, {layer['triangles']:,} triangles"
        )
    if s.get("ifc"):
        lines.extend(_format_ifc(s["ifc"]))
    for w in s["warnings"]:
        lines.append(f"  warning    {w}")
    return "\n".join(lines)


def _format_ifc(i: dict[str, Any]) -> list[str]:
    g = i["georef"]
    lines = [f"  schema     {i['schema']}, {i['elements']:,} elements"]
    lines.append("  classes    " + ", ".join(f"{k} {v}" for k, v in i["by_class"].items()))
    lines.append("  storeys    " + ", ".join(f"{k} {v}" for k, v in i["by_storey"].items()))
    where = {
        "map_conversion": f"map conversion to {g['crs']} E {g['x']:.2f} N {g['y']:.2f}",
        "site": "IfcSite reference point",
        "user": "placed by the user (--at)",
    }.get(g["method"], "none (placed at the twin's origin)")
    lines.append(f"  georef     {where}, rotation {g['rotation_deg']:.2f} deg")
    if i["location"]:
        loc = i["location"]
        lines.append(f"  location   lon {loc['lon']:.6f}, lat {loc['lat']:.6f}, {loc['z_m']:.1f} m")
    lines.append(
        f"  meshing    {i['geometry_library']}, {i['fallback_elements']} by the fallback, "
        f"{len(i['missing'])} missing{', from the cache' if i['cache_hit'] else ''}"
    )
    return lines
