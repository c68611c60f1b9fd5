"""Scenario results as text, JSON and CSV (what ``twin scenario run`` prints and exports)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from twin_app.scenarios.model import ScenarioResult
from twin_app.scenarios.run import LINK_COLUMNS, NODE_COLUMNS, kpi_dict


def _num(v: float, sign: bool = False) -> str:
    if math.isnan(v):
        return "-"
    return f"{v:+.6g}" if sign else f"{v:.6g}"


def format_kpis(result: ScenarioResult) -> str:
    """The KPIs side by side: ``kpi, baseline, scenario, delta, unit`` as aligned text."""
    rows = [("kpi", "baseline", "scenario", "delta", "unit")]
    rows += [
        (k.name, _num(k.baseline), _num(k.scenario), _num(k.delta, sign=True), k.unit)
        for k in result.kpis
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{result.name} ({result.elapsed_s:.2f} s)"]
    for r in rows:
        lines.append(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
            f"{r[3]:>{widths[3]}}  {r[4]}"
        )
    lines += [f"  {c}" for c in result.conditions]
    return "\n".join(lines)


def result_json(result: ScenarioResult) -> dict[str, Any]:
    """``{"kpis": {NAME: {"baseline", "scenario", "delta", "unit"}}, "elapsed_s": s}``, and
    ``"conditions": [line, ...]`` when a study says what it assumed (sun, air)."""
    out: dict[str, Any] = {"kpis": kpi_dict(result), "elapsed_s": result.elapsed_s}
    if result.conditions:
        out["conditions"] = list(result.conditions)
    return out


def export_tables(result: ScenarioResult, folder: Path | str) -> list[Path]:
    """Write ``links.csv`` (traffic), ``nodes.csv`` (water), ``sun_hours.npz`` (sun),
    ``air.npz`` (air) and ``radio.npz`` (radio) atomically into ``folder``.

    Columns are exactly :data:`~twin_app.scenarios.run.LINK_COLUMNS` and
    :data:`~twin_app.scenarios.run.NODE_COLUMNS`; ``sun_hours.npz`` holds the ground rasters
    ``baseline`` and ``scenario`` (hours, row 0 north, NaN under roofs) and their affine
    ``transform`` (local metres); ``air.npz`` the concentration rasters ``baseline`` and
    ``scenario`` (ug/m3, row 0 north) and their ``transform``; ``radio.npz`` the street RSRP
    rasters ``baseline`` and ``scenario`` (dBm, row 0 north, NaN under roofs, -inf where no
    station reaches), their ``transform``, and per building the worst floor's RSRP
    ``buildings_baseline`` / ``buildings_scenario`` with their ids ``building_ids_baseline`` /
    ``building_ids_scenario`` (NaN outside the area). A part the scenario does not have is not
    written. Returns
    the files written.
    """
    from twin_app.atomic import atomic_write_text

    out = Path(folder)
    written: list[Path] = []
    for name, table, columns in (
        ("links.csv", result.links, LINK_COLUMNS),
        ("nodes.csv", result.nodes, NODE_COLUMNS),
    ):
        if table is None:
            continue
        path = out / name
        atomic_write_text(path, table.loc[:, list(columns)].to_csv(index=False))
        written.append(path)
    # the rasters of the study parts: file, then the extra keys of baseline, scenario, transform
    for name, base, scen, transform in (
        ("sun_hours.npz", "sun_hours_baseline", "sun_hours_scenario", "sun_transform"),
        ("air.npz", "air_baseline", "air_scenario", "air_transform"),
    ):
        if base in result.extra:
            written.append(
                _write_npz(
                    out / name,
                    baseline=result.extra[base],
                    scenario=result.extra[scen],
                    transform=result.extra[transform],
                )
            )
    if "radio_baseline" in result.extra:
        import numpy as np

        written.append(
            _write_npz(
                out / "radio.npz",
                baseline=result.extra["radio_baseline"],
                scenario=result.extra["radio_scenario"],
                transform=result.extra["radio_transform"],
                buildings_baseline=result.extra["radio_buildings_baseline"],
                buildings_scenario=result.extra["radio_buildings_scenario"],
                building_ids_baseline=np.asarray(
                    result.extra["radio_building_ids_baseline"], dtype=str
                ),
                building_ids_scenario=np.asarray(
                    result.extra["radio_building_ids_scenario"], dtype=str
                ),
            )
        )
    return written


def _write_npz(path: Path, **arrays: Any) -> Path:
    """Write `arrays` compressed to `path` atomically (:func:`twin_app.atomic.replacing`)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    data: dict[str, Any] = {
        k: np.asarray(v, dtype=np.float64) if k == "transform" else np.asarray(v)
        for k, v in arrays.items()
    }
    np.savez_compressed(buf, **data)
    from twin_app.atomic import replacing

    with replacing(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path
