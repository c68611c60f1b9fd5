"""The scenario report (``twin scenario run FILE -o REPORT.html``): one self-contained,
well-formed HTML file with the scenario, its KPI table, inline SVG charts and PNG renders of
baseline, scenario and change; no outside reference; every file-borne text escaped."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.compare_fixtures import compare_session
from twin_app.cli import main
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.scenarios.model import Kpi, ScenarioResult
from twin_app.session import Session
from twin_app.session.scenario import kpi_rows

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}


class Checker(HTMLParser):
    """Well-formedness: every element closed in order; images and references collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict[str, str]] = []
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href", "xlink:href", "action", "data"):
            if key in a:
                self.refs.append(a[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for key, value in attrs:
            if key in ("src", "href", "xlink:href"):
                self.refs.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(text: str) -> Checker:
    """Parse; assert well-formed and self-contained."""
    c = Checker()
    c.feed(text)
    c.close()
    assert not c.errors and not c.stack, (c.errors[:5], c.stack[:5])
    assert text.startswith("<!DOCTYPE html>")
    assert "script" not in c.tags and "iframe" not in c.tags and "link" not in c.tags
    # every reference is inside the file: data URIs or in-document fragments
    assert all(r.startswith(("data:image/png;base64,", "#")) for r in c.refs), c.refs[:5]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.I)
    assert "url(http" not in text and "@import" not in text
    return c


def png_sizes(c: Checker) -> list[tuple[int, int]]:
    import imageio.v3 as iio

    out = []
    for img in c.images:
        data = base64.b64decode(img["src"].split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = np.asarray(iio.imread(data, extension=".png"))
        assert (pixels.shape[1], pixels.shape[0]) == (int(img["width"]), int(img["height"]))
        assert pixels[..., :3].std() > 10  # a picture, not a blank
        out.append((pixels.shape[1], pixels.shape[0]))
    return out


def test_report_of_a_network_scenario_without_a_twin(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "tiny.html"
    assert main(["scenario", "run", str(DATA / "tiny_close_road.toml"), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "tstt_veh_h" in printed  # the table still printed
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.html"]  # one file, no part files
    text = out.read_text(encoding="utf-8")
    c = check(text)
    body = " ".join(c.text)
    assert "Close the 4-5 link both ways" in body and "close_road" in body
    from twin_app.scenarios.file import load_scenario
    from twin_app.scenarios.run import run_scenario

    result = run_scenario(load_scenario(DATA / "tiny_close_road.toml"))
    for row in kpi_rows(result):
        assert row.name in body
        assert f"{row.scenario:.6g}" in body and f"{row.delta:+.6g}" in body
        if row.good is not None:  # the change's cell is coloured by its direction
            cls = "good" if row.good else "bad"
            assert f'<td class="{cls}">{row.delta:+.6g}</td>' in text
    assert text.count("<svg") >= 2  # the KPI chart and the flow change histogram
    assert not c.images  # no twin: nothing to draw


@pytest.fixture(scope="module")
def session() -> Session:
    return compare_session()


def test_report_renders_baseline_scenario_and_change(session: Session) -> None:
    from twin_app.render.report import scenario_report

    # road 0 loses its traffic to road 1 (the synthetic city of the compare tests)
    links = pd.DataFrame(
        {
            "id": ["r0", "r1", "r2"],
            "flow_baseline": [900.0, 300.0, 500.0],
            "flow_scenario": [0.0, 1200.0, 500.0],
            "segment_row": [0, 1, 2],
        }
    )
    links["flow_delta"] = links["flow_scenario"] - links["flow_baseline"]
    result = ScenarioResult(
        "Close <r0> & see",
        (Kpi("tstt_veh_h", 100.0, 130.0, "veh*h"), Kpi("mean_speed_kmh", 30.0, 33.0, "km/h")),
        links,
        conditions=("air: wind from N (0 deg) at <2 m/s",),
    )
    scenario = SimpleNamespace(
        name="Close <r0> & see",
        description='<script>alert("x")</script> "quoted"',
        interventions=(),
        file=None,
    )
    text = scenario_report(session, result, scenario, size=(480, 270))
    c = check(text)
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    assert "Close &lt;r0&gt; &amp; see" in text
    assert '<ul class="cond"><li>air: wind from N (0 deg) at &lt;2 m/s</li></ul>' in text
    sizes = png_sizes(c)
    # baseline, scenario, change, and the change close up
    assert sizes == [(480, 270)] * 4
    captions = [img["alt"] for img in c.images]
    assert captions[0] == "Baseline" and captions[2].startswith("Change")
    assert '<td class="bad">+30</td>' in text and '<td class="good">+3</td>' in text


def test_the_close_up_frames_the_change_not_the_tallest_substitute_building() -> None:
    """A massing scenario draws its buildings in place of the twin's, coloured by height: the
    close-up must frame where the result changed (road r0, y = -40 m), not the tallest
    building (the 30 m tower at y = 60-80 m)."""
    from twin_app.model.layers import BuildingLayer
    from twin_app.render.report import _changed_bounds
    from twin_app.session.compare import Comparison

    s = compare_session()
    buildings, roads = s.layers[0], s.layers[1]
    cmp = Comparison(s, "Works")
    cmp.set_result(roads, "flow_veh_h", [900.0, 300.0, 500.0], [0.0, 350.0, 520.0])
    assert [(x.name, c) for x, c in cmp.changes()] == [("Roads (Works)", "flow_delta_veh_h")]
    fs = buildings.feature_set()
    assert fs is not None
    cmp.scenario.substitute(buildings, BuildingLayer(name="B", features=fs, color_by="height_m"))
    assert len(cmp.changes()) == 1  # the stand-in is drawn, but it is no result
    box = _changed_bounds(cmp, None)
    assert box is not None
    assert box[2] == box[3] == pytest.approx(-40.0)  # road r0 alone (its change: -900)
    cmp.close()


@pytest.mark.slow
def test_report_of_the_sample_road_closure(tmp_path: Path) -> None:
    """The issue's example: the shipped road closure on the sample twin (about 40 s)."""
    from twin_app.render.report import RENDER_SIZE

    out = tmp_path / "report.html"
    assert (
        main(["scenario", "run", str(SAMPLE_DIR / "scenarios" / "close_road.toml"), "-o", str(out)])
        == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    text = out.read_text(encoding="utf-8")
    c = check(text)
    body = " ".join(c.text)
    assert "Close St Martin's Le Grand (A40) for works" in body and "way/4255394" in body
    for name in ("tstt_veh_h", "vkt_km", "mean_speed_kmh", "delay_veh_h", "links_over_capacity"):
        assert name in body
    assert len(png_sizes(c)) >= 3 and set(png_sizes(c)) == {RENDER_SIZE}
    assert "© OpenStreetMap contributors" in body  # attribution as text, no link


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="no chromium on PATH")
def test_report_opens_in_a_browser(session: Session, tmp_path: Path) -> None:
    """Headless Chromium loads the file with no network and draws the page: the title, the
    coloured KPI table and the renders (their sky and ground, not a broken-image icon)."""
    import imageio.v3 as iio

    from twin_app.render.report import scenario_report

    links = pd.DataFrame(
        {
            "id": ["r0", "r1"],
            "flow_baseline": [900.0, 300.0],
            "flow_scenario": [0.0, 1200.0],
            "segment_row": [0, 1],
        }
    )
    links["flow_delta"] = links["flow_scenario"] - links["flow_baseline"]
    result = ScenarioResult("Closure", (Kpi("tstt_veh_h", 100.0, 130.0, "veh*h"),), links)
    out = tmp_path / "report.html"
    out.write_text(scenario_report(session, result, size=(480, 270)), encoding="utf-8")
    shot = tmp_path / "page.png"
    chromium = _chromium()
    assert chromium is not None
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",  # nothing outside the file may be needed
            f"--screenshot={shot}",
            "--window-size=1000,1600",
            out.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    page = np.asarray(iio.imread(shot))[..., :3].astype(int)
    assert page.shape[:2] == (1600, 1000)
    # the h1 (dark letters near the top left) and the "worse" change in red in the table
    assert (page[:120, :600].max(axis=2) < 80).sum() > 300
    red = (page[..., 0] > 150) & (page[..., 1] < 90) & (page[..., 2] < 90)
    assert red.sum() > 50
    # the renders: the ground colour of the scene (light grey-beige) over large areas
    ground = (np.abs(page - np.array([216, 216, 210])).max(axis=2) < 12).sum()
    assert ground > 20_000


def test_the_close_up_of_a_study_frames_its_largest_change_not_the_whole_raster() -> None:
    """A study's change raster covers its whole area; the close-up frames the cells whose
    change is at least half the largest (a tester's radio and patrol close-ups zoomed out)."""
    import numpy as np

    from twin_app.model.raster import RasterLayer
    from twin_app.render.report import _raster_change_box

    values = np.zeros((100, 200))  # 10 m cells over 2 km x 1 km, row 0 north (y = 1000)
    values[10:12, 150:153] = -3.0  # the largest change: 30 m x 20 m near the north-east
    values[80, 20] = -1.0  # a third of it: left out
    layer = RasterLayer(
        name="change",
        values=values,
        transform=(0.0, 10.0, 0.0, 1000.0, 0.0, -10.0),
        color_by="sun_hours_delta_h",
    )
    box = _raster_change_box(layer)
    assert box is not None
    np.testing.assert_allclose(box[[0, 1, 3, 4]], [1500.0, 880.0, 1530.0, 900.0])
    values[50, 50] = -np.inf  # coverage lost at the edge: the finite change still frames it
    layer.values = values
    box = _raster_change_box(layer)
    assert box is not None
    np.testing.assert_allclose(box[[0, 1, 3, 4]], [1500.0, 880.0, 1530.0, 900.0])
    only_lost = np.where(np.isinf(values), values, 0.0)
    layer.values = only_lost
    box = _raster_change_box(layer)
    assert box is not None
    np.testing.assert_allclose(box[[0, 1, 3, 4]], [500.0, 490.0, 510.0, 500.0])
    whole = RasterLayer(name="hours", values=values, color_by="sun_hours_h")
    assert _raster_change_box(whole) is None  # not a change: the layer's bounds are used
