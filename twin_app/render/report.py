"""The scenario report: one self-contained HTML file, readable without the app.

``twin scenario run FILE -o REPORT.html`` writes it: the scenario's name, description and
interventions; the KPI table (baseline, scenario, change, unit; each change judged better or
worse by the KPI's direction, :func:`twin_app.session.scenario.kpi_rows`); charts (the KPIs'
relative changes, and per study what its data holds: the flow change per road link, the
lowest pressure change per junction, the change of the sun-hours, air and radio rasters);
and renders of the baseline, the scenario and the change, drawn offscreen through the compare
binding (:class:`~twin_app.render.compare.CompareView` over the session's
:class:`~twin_app.session.compare.Comparison`, exactly as the app's compare view shows them).

Nothing outside the file is referenced: renders are base64 PNG ``data:`` URIs, charts inline
SVG (matplotlib, text kept as text), the style sheet inline, no script. Every text that comes
from a file (names, descriptions, ids, attributions) is escaped; licence addresses stay plain
text, not links.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.session import Session

#: Size of each render in the report, pixels.
RENDER_SIZE = (1280, 720)
#: Features whose change is at least this fraction of the largest change frame the close-up.
CLOSE_UP_FRACTION = 0.5
#: Links or junctions listed in a study's table of largest changes.
TOP_N = 10

GOOD, BAD, NEUTRAL = "#1a7f37", "#c62828", "#6b7280"

#: Raster studies of a result: (title, extra key prefix, unit).
RASTERS = (
    ("Sun hours on the ground", "sun_hours", "h"),
    ("Air quality (concentration)", "air", "µg/m³"),
    ("Radio coverage (RSRP on the streets)", "radio", "dBm"),
)

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:0;
color:#1f2328;background:#f6f7f9}
main{max-width:1320px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:28px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.meta{color:#59636e;font-size:13px}.desc{font-size:15px;max-width:900px}
table{border-collapse:collapse;font-size:14px;margin:8px 0}
th,td{padding:5px 12px;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f4f6}
td.good{color:#1a7f37;font-weight:600}td.bad{color:#c62828;font-weight:600}
td.neutral{color:#6b7280}
figure{margin:12px 0 20px}figure img{max-width:100%;height:auto;border:1px solid #d0d7de}
figcaption{font-size:13px;color:#59636e;margin-top:4px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.chart svg{max-width:100%;height:auto}
ul.int li{margin:4px 0}ul.cond{color:#444;font-size:14px}code{font-size:13px;background:#f3f4f6;padding:1px 4px}
.warn{color:#9a6700}footer{margin-top:36px;font-size:12px;color:#59636e}
"""


@dataclass(frozen=True)
class Render:
    """One render in the report."""

    caption: str
    png: bytes
    width: int
    height: int


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(v: float, sign: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:+.6g}" if sign else f"{v:.6g}"


def png_bytes(img: np.ndarray[Any, Any]) -> bytes:
    """An (h, w, 3) uint8 picture as PNG bytes."""
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", np.ascontiguousarray(img), extension=".png"))


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- charts ---------------------------------------------------------------------------------
def _svg(fig: Any) -> str:
    """A matplotlib figure as an inline ``<svg>`` element (no XML prolog, no DOCTYPE, no
    metadata: nothing that names an outside address but the SVG namespace)."""
    import matplotlib as mpl

    buf = io.StringIO()
    # text stays text (small, sharp, searchable); the same ids for the same chart
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "twin_app"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Inline SVG in HTML needs no namespace declarations (the parser knows svg and xlink:).
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _figure(width_in: float = 8.0, height_in: float = 3.4) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in))


def kpi_chart(rows: Sequence[Any]) -> str:
    """Horizontal bars: each KPI's change relative to its baseline, percent; green for
    better, red for worse, grey for no change. KPIs without a direction (a solver's
    ``relative_gap``) and with a zero baseline are left out (the table gives them)."""
    from twin_app.session.scenario import BETTER_WHEN_HIGHER, WORSE_WHEN_HIGHER

    judged = WORSE_WHEN_HIGHER | BETTER_WHEN_HIGHER
    shown = [
        r
        for r in rows
        if r.name in judged and np.isfinite(r.delta) and np.isfinite(r.baseline) and r.baseline
    ]
    fig = _figure(8.0, max(1.6, 0.42 * len(shown) + 0.9))
    ax = fig.subplots()
    if not shown:
        ax.text(0.5, 0.5, "no KPI with a non-zero baseline", ha="center", va="center")
        ax.set_axis_off()
        return _svg(fig)
    pct = [100.0 * r.delta / abs(r.baseline) for r in shown]
    colors = [GOOD if r.good is True else BAD if r.good is False else NEUTRAL for r in shown]
    y = np.arange(len(shown))[::-1]
    ax.barh(y, pct, color=colors)
    ax.set_yticks(y, [r.name for r in shown])
    ax.axvline(0.0, color="#333", lw=0.8)
    ax.set_xlabel("change from baseline (%)")
    lim = max(abs(v) for v in pct) or 1.0
    ax.set_xlim(-1.25 * lim, 1.25 * lim)
    for yi, v in zip(y, pct, strict=True):
        ax.text(v, yi, f" {v:+.3g}% ", va="center", ha="left" if v >= 0 else "right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def histogram_chart(values: np.ndarray[Any, Any], xlabel: str, what: str) -> str:
    """Histogram of `values` (finite ones), log counts; the zero line marked."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    fig = _figure(8.0, 3.0)
    ax = fig.subplots()
    if not v.size:
        ax.text(0.5, 0.5, f"no {what} changed", ha="center", va="center")
        ax.set_axis_off()
        return _svg(fig)
    lim = float(np.abs(v).max()) or 1.0
    ax.hist(v, bins=np.linspace(-lim, lim, 41), color="#4477aa", edgecolor="white", lw=0.4)
    ax.set_yscale("log")
    ax.axvline(0.0, color="#333", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{what} (log scale)")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


# -- renders --------------------------------------------------------------------------------
def _raster_change_box(layer: Any) -> np.ndarray[Any, Any] | None:
    """(xmin, ymin, z, xmax, ymax, z) of a change raster's cells whose change is at least
    :data:`CLOSE_UP_FRACTION` of the largest finite one (cells gained or lost outright, an
    RSRP change from or to -inf, only when there is no finite change: they lie at the edge of
    coverage, anywhere), or None for a raster that is not a change or has none."""
    from twin_app.model.raster import RasterLayer

    if not isinstance(layer, RasterLayer) or "delta" not in layer.color_by:
        return None
    v = np.abs(layer.values)
    fin = np.isfinite(v)
    if fin.any() and v[fin].max() > 0:
        big = fin & (v >= CLOSE_UP_FRACTION * v[fin].max())
    elif np.isinf(v).any():  # only cells gained or lost outright (RSRP from or to -inf)
        big = np.isinf(v)
    else:
        return None
    rows, cols = np.nonzero(big)
    x0, dx, _, y0, _, dy = layer.transform
    xs = x0 + dx * np.r_[cols, cols + 1]
    ys = y0 + dy * np.r_[rows, rows + 1]
    return np.array([xs.min(), ys.min(), layer.z, xs.max(), ys.max(), layer.z])


def _changed_bounds(
    cmp: Any, viewer: Any
) -> tuple[float, float, float, float, float, float] | None:
    """Box of the largest change: a study's change rasters' cells whose change is at least
    :data:`CLOSE_UP_FRACTION` of the largest (:func:`_raster_change_box`; a study's raster is
    its main result, the buildings' per-building change follows from it); else the features
    whose change is that large (the comparison's results,
    :meth:`~twin_app.session.compare.Comparison.changes`); else what only the scenario side
    draws (`viewer`: its Viewer); None if none. The scenario's buildings drawn in place of the
    twin's are coloured by value (their height): not a change to close up on."""
    extras = [x for layers in cmp.scenario.extras.values() for x in layers]
    boxes = [b for b in (_raster_change_box(x) for x in extras) if b is not None]
    if not boxes:
        for layer, column in cmp.changes():
            fs = layer.feature_set()
            if fs is None or column not in fs.table:
                continue
            d = np.abs(np.asarray(layer.feature_values(column), np.float64))
            if not np.isfinite(d).any() or np.nanmax(d) <= 0:
                continue
            big = np.nan_to_num(d) >= CLOSE_UP_FRACTION * np.nanmax(d)
            c = fs.feature_centroids()[big]
            c = c[np.isfinite(c).all(axis=1)]
            if len(c):
                boxes.append(np.r_[c.min(axis=0), c.max(axis=0)])
    if not boxes:  # no coloured change: what only the scenario draws
        for layer in extras:
            b = viewer.layer_bounds(layer)
            if b is not None and np.isfinite(b).all():
                boxes.append(np.array([b[0], b[2], b[4], b[1], b[3], b[5]]))
    if not boxes:
        return None
    lo = np.min([b[:3] for b in boxes], axis=0)
    hi = np.max([b[3:] for b in boxes], axis=0)
    return (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


def compare_renders(
    session: Session, size: tuple[int, int] = RENDER_SIZE, close_up: bool = True
) -> list[Render]:
    """Baseline, scenario and change of the session's shown result (its comparison), from
    the oblique overview; and the change close up where it is largest (`close_up`).

    Drawn offscreen through :class:`~twin_app.render.compare.CompareView`: the baseline and
    scenario coloured by value, the change on the scenario side coloured by its change
    (diverging map, no change in the middle). Each picture carries its caption and the data
    attribution.
    """
    from twin_app.errors import CameraError
    from twin_app.model.camera import pose_for_bounds
    from twin_app.render.compare import CompareView
    from twin_app.render.plotter import offscreen_plotter
    from twin_app.render.snapshot import Caption, attribution_line, render_picture

    cmp = session.scenario_state.comparison
    if cmp is None or not len(session.layers):
        return []
    w, h = size
    credit = attribution_line(session)
    plotters = [offscreen_plotter(w, h, aa="ssaa") for _ in range(2)]
    out: list[Render] = []
    try:
        view = CompareView(plotters[0], plotters[1], cmp)
        view.baseline.preset("oblique")

        def shot(viewer: Any, caption: str) -> None:
            scene = viewer.scene
            cap = Caption(scene.plotter.renderer, caption, credit)
            scene.legend_top_px = cap.layout(w, h)  # legends start below the caption
            scene.relayout_legends()
            img = render_picture(scene, w, h)
            cap.remove()
            out.append(Render(caption, png_bytes(img), w, h))

        cmp.set_show("value")
        shot(view.baseline, "Baseline")
        shot(view.scenario, f"Scenario: {cmp.name}")
        cmp.set_show("delta")
        shot(view.scenario, "Change (scenario − baseline)")
        box = _changed_bounds(cmp, view.scenario) if close_up else None
        if box is not None:
            try:
                cmp.camera.set_pose(pose_for_bounds(box, elevation_deg=50.0, margin=3.0))
            except CameraError:
                box = None
        if box is not None:
            shot(view.scenario, "Change, close up where it is largest")
        view.close()
    finally:
        for p in plotters:
            p.close()
    return out


# -- sections -------------------------------------------------------------------------------
def _intervention_items(scenario: Any) -> list[str]:
    items = []
    for spec in getattr(scenario, "interventions", ()) if scenario is not None else ():
        fields = spec.model_dump(exclude_none=True) if hasattr(spec, "model_dump") else vars(spec)
        kind = fields.pop("kind", type(spec).__name__)
        parts = []
        for key, value in fields.items():
            if isinstance(value, (list, tuple)) and len(value) > 8:
                value = f"{', '.join(map(str, value[:8]))}, … ({len(value)} in all)"
            elif isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value))
            parts.append(f"{_e(key)} = <code>{_e(value)}</code>")
        items.append(f"<li><b>{_e(kind)}</b>{': ' if parts else ''}{'; '.join(parts)}</li>")
    return items


def kpi_table(rows: Sequence[Any]) -> str:
    """The KPI table as HTML: better changes green, worse red (the ``good`` of each row)."""
    body = []
    for r in rows:
        cls = "good" if r.good is True else "bad" if r.good is False else "neutral"
        word = "better" if r.good is True else "worse" if r.good is False else r.note or "–"
        body.append(
            f"<tr><td>{_e(r.name)}</td><td>{_num(r.baseline)}</td><td>{_num(r.scenario)}</td>"
            f'<td class="{cls}">{_num(r.delta, sign=True)}</td><td>{_e(r.unit)}</td>'
            f'<td class="{cls}">{word}</td></tr>'
        )
    return (
        '<table class="kpis"><thead><tr><th>KPI</th><th>baseline</th><th>scenario</th>'
        "<th>change</th><th>unit</th><th>judged</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _top_table(df: Any, key: str, columns: Sequence[tuple[str, str]]) -> str:
    order = np.argsort(-np.abs(np.nan_to_num(df[key].to_numpy(np.float64))))[:TOP_N]
    head = "".join(f"<th>{_e(label)}</th>" for _, label in columns)
    rows = []
    for i in order:
        cells = []
        for col, _ in columns:
            v = df[col].iloc[int(i)]
            cells.append(
                f"<td>{_num(float(v), sign=col == key)}</td>"
                if isinstance(v, (int, float, np.number))
                else f"<td>{_e(v)}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def study_sections(result: Any) -> list[str]:
    """Per study, what its data holds: charts and tables of the largest changes."""
    out: list[str] = []
    links = result.links
    if links is not None and "flow_delta" in links:
        d = links["flow_delta"].to_numpy(np.float64)
        changed = d[np.abs(np.nan_to_num(d)) > 0.5]
        out.append(
            "<h3>Traffic: flow change per road link</h3>"
            f"<p>{changed.size} of {d.size} links change by more than 0.5 veh/h.</p>"
            f'<div class="chart">{histogram_chart(changed, "flow change (veh/h)", "links")}</div>'
            + _top_table(
                links,
                "flow_delta",
                [
                    ("id", "link"),
                    ("flow_baseline", "baseline (veh/h)"),
                    ("flow_scenario", "scenario (veh/h)"),
                    ("flow_delta", "change (veh/h)"),
                ],
            )
        )
    nodes = result.nodes
    if nodes is not None and "min_pressure_baseline" in nodes:
        nodes = nodes.copy()
        nodes["min_pressure_delta"] = nodes["min_pressure_scenario"].to_numpy(np.float64) - nodes[
            "min_pressure_baseline"
        ].to_numpy(np.float64)
        d = nodes["min_pressure_delta"].to_numpy(np.float64)
        changed = d[np.abs(np.nan_to_num(d)) > 0.01]
        out.append(
            "<h3>Water: lowest pressure change per junction</h3>"
            f"<p>{changed.size} of {d.size} junctions change by more than 0.01 m.</p>"
            f'<div class="chart">'
            f"{histogram_chart(changed, 'lowest pressure change (m)', 'junctions')}</div>"
            + _top_table(
                nodes,
                "min_pressure_delta",
                [
                    ("id", "junction"),
                    ("min_pressure_baseline", "baseline (m)"),
                    ("min_pressure_scenario", "scenario (m)"),
                    ("min_pressure_delta", "change (m)"),
                ],
            )
        )
    extra = result.extra
    for title, key, unit in RASTERS:
        if f"{key}_baseline" not in extra:
            continue
        base = np.asarray(extra[f"{key}_baseline"], np.float64)
        scen = np.asarray(extra[f"{key}_scenario"], np.float64)
        if base.shape != scen.shape:
            continue
        ok = np.isfinite(base) & np.isfinite(scen)
        d = (scen - base)[ok]
        changed = d[np.abs(d) > 1e-9]
        stats = [
            ("cells", f"{ok.sum()}"),
            ("cells changed", f"{changed.size}"),
            (f"baseline mean ({unit})", _num(float(base[ok].mean()) if ok.any() else np.nan)),
            (f"scenario mean ({unit})", _num(float(scen[ok].mean()) if ok.any() else np.nan)),
            (f"largest loss ({unit})", _num(float(d.min()) if d.size else np.nan, sign=True)),
            (f"largest gain ({unit})", _num(float(d.max()) if d.size else np.nan, sign=True)),
        ]
        table = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in stats)
        out.append(
            f"<h3>{_e(title)}</h3><table>{table}</table>"
            f'<div class="chart">{histogram_chart(changed, f"change ({unit})", "cells")}</div>'
        )
    return out


def scenario_report(
    session: Session,
    result: Any,
    scenario: Any = None,
    *,
    size: tuple[int, int] = RENDER_SIZE,
    renders: list[Render] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> str:
    """The report of a scenario run as one self-contained HTML document (module docstring).

    Parameters
    ----------
    session
        The session the result was run in, with the scenario's twin open (its layers are
        drawn; without layers the report has no renders).
    result
        The :class:`~twin_app.scenarios.model.ScenarioResult`; it is shown in the session
        (:meth:`~twin_app.session.scenario.ScenarioVerbs.show_result`) for the renders.
    scenario
        The scenario that was run (name, description, interventions); default the session's.
    size
        (width, height) of each render.
    renders
        Renders to embed instead of drawing them (:func:`compare_renders`).
    progress
        ``progress(fraction, text)``.

    Returns
    -------
    str
        The HTML text.
    """
    from twin_app.session.scenario import kpi_rows

    scenario = scenario if scenario is not None else session.scenario_state.scenario
    rows = kpi_rows(result)
    if renders is None:
        if progress:
            progress(0.0, "drawing baseline and scenario")
        if len(session.layers):
            session.show_result(result)
        renders = compare_renders(session, size)
    if progress:
        progress(0.6, "charts")
    name = getattr(scenario, "name", None) or result.name
    description = getattr(scenario, "description", "") or ""
    source = getattr(scenario, "file", None)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(name)} — scenario report</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{_e(name)}</h1>",
        '<p class="meta">Scenario report'
        + (f" of <code>{_e(Path(source).name)}</code>" if source else "")
        + f" · run in {result.elapsed_s:.1f} s · written "
        + _e(dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
        + "</p>",
    ]
    if description:
        parts.append(f'<p class="desc">{_e(description)}</p>')
    items = _intervention_items(scenario)
    parts.append("<h2>Interventions</h2>")
    parts.append(f'<ul class="int">{"".join(items)}</ul>' if items else "<p>None.</p>")
    if result.warnings:
        parts.append(
            "<h2>Warnings</h2><ul>"
            + "".join(f'<li class="warn">{_e(w)}</li>' for w in result.warnings)
            + "</ul>"
        )
    parts.append("<h2>Key performance indicators</h2>")
    parts.append(kpi_table(rows))
    conditions = getattr(result, "conditions", ())
    if conditions:
        parts.append(
            '<ul class="cond">' + "".join(f"<li>{_e(c)}</li>" for c in conditions) + "</ul>"
        )
    parts.append('<h3>Change from baseline</h3><div class="chart">' + kpi_chart(rows) + "</div>")
    if renders:
        parts.append("<h2>Baseline and scenario</h2>")
        pairs = renders[:2]
        parts.append('<div class="pair">' + "".join(_figure_html(r) for r in pairs) + "</div>")
        for r in renders[2:]:
            parts.append(_figure_html(r))
    studies = study_sections(result)
    if studies:
        parts.append("<h2>Studies</h2>")
        parts += studies
    credits = session.attributions() if len(session.layers) else []
    if credits:
        parts.append("<footer><b>Data</b><ul>")
        parts += [
            f"<li>{_e(what)}: {_e(attribution)} ({_e(licence)})</li>"
            for what, attribution, licence in credits
        ]
        parts.append("</ul>")
    else:
        parts.append("<footer>")
    parts.append("Made with twin_app.</footer></main></body></html>")
    if progress:
        progress(1.0, "report ready")
    return "\n".join(parts) + "\n"


def _figure_html(r: Render) -> str:
    return (
        f'<figure><img src="{data_uri(r.png)}" width="{r.width}" height="{r.height}" '
        f'alt="{_e(r.caption)}"><figcaption>{_e(r.caption)}</figcaption></figure>'
    )


def report_session(file: Path | str) -> Session:
    """A session with a scenario file opened and its twin (if it names one) read, ready to
    :meth:`~twin_app.session.scenario.ScenarioVerbs.run_scenario` and report."""
    session = Session()
    scenario = session.open_scenario(file)
    twin = getattr(scenario, "twin", None)
    if twin is not None:
        session.add_twin(session.open_twin(twin), describe=False)
    return session
