"""Legends of the sample twin at small picture sizes: never over one another, the north arrow
or the scale bar, together on under a third of the picture; they shrink first, then the
largest are hidden and the picture says "+N legends hidden" (and a warning names them).
At 1920 x 1080 all of them show at their full size. Pictures saved under /tmp."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.render.plotter import offscreen_plotter
from twin_app.render.snapshot import save_png
from twin_app.render.viewer import Viewer
from twin_app.session import Session

Box = tuple[float, float, float, float]
#: the sample twin's coloured layers (air quality, buildings, ground, IFC, traffic, water)
N_LEGENDS = 6


@pytest.fixture(scope="module")
def london() -> Session:
    from twin_app.model.times import parse_time
    from twin_app.session.opening import open_paths

    session = Session()
    twin = open_paths(session, [SAMPLE_DIR])[0]
    # the tester's picture: 08:30, when the water network's pressures are drawn
    session.clock.seek(parse_time("2026-03-02T08:30", assume_tz=twin.timezone, source="test"))
    return session


@pytest.fixture
def viewer_at(london: Session) -> Iterator[Any]:
    made: list[tuple[Any, Viewer]] = []

    def make(w: int, h: int) -> Viewer:
        plotter = offscreen_plotter(w, h, aa="off")
        viewer = Viewer(london, plotter)
        made.append((plotter, viewer))
        return viewer

    yield make
    for plotter, viewer in made:
        viewer.close()
        plotter.close()


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _shown(viewer: Viewer) -> list[Box]:
    scene = viewer.scene
    note = getattr(scene, "_legend_note", None)  # (None before hidden legends were said)
    panels = [*scene.legends, *([note] if note is not None else [])]
    return [p.box for p in panels if p.visible]


def _rows(box: Box, h: int) -> tuple[slice, slice]:
    """The image rows and columns of a display box (origin bottom left)."""
    x0, y0, x1, y1 = box
    return slice(max(0, round(h - y1)), round(h - y0)), slice(max(0, round(x0)), round(x1))


# (628, 300): the main view beside an open compare dock in a 1280 x 720 window
@pytest.mark.parametrize("size", [(640, 360), (628, 300), (320, 180)])
def test_small_pictures_keep_legends_off_the_north_arrow_and_each_other(
    viewer_at: Any, size: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    w, h = size
    viewer = viewer_at(w, h)
    scene = viewer.scene
    assert len(scene.legends) == N_LEGENDS
    with caplog.at_level(logging.WARNING, logger="twin_app.render.scene"):
        img = scene.screenshot()
    save_png(img, f"/tmp/twin_legends_{w}x{h}.png")
    boxes = _shown(viewer)
    north = scene.overlays.north_box()
    assert boxes
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= w and a[3] <= h, a
        assert not _overlap(a, north), (a, north)
        assert a[1] >= 55.0, a  # above the scale bar and its label
        assert not any(_overlap(a, b) for b in boxes[i + 1 :]), boxes
    area = sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes)
    assert area <= 0.35 * w * h, area / (w * h)
    hidden = scene.hidden_legends
    note = scene._legend_note
    sizes = [p.title_text.GetTextProperty().GetFontSize() for p in scene.legends if p.visible]
    all_shown = all(p.visible for p in scene.legends)

    # the arrow's corner is the same picture with and without legends
    scene.show_legends = False
    scene.legends_changed()
    bare = scene.screenshot()
    rows, cols = _rows(north, h)
    assert np.array_equal(img[rows, cols], bare[rows, cols])
    assert not np.array_equal(img, bare)  # (the legends are drawn elsewhere)

    if hidden:  # no room for all six, and it says so
        assert len(hidden) < N_LEGENDS
        assert note is not None and note.visible
        assert note.title == f"+{len(hidden)} legend{'s' if len(hidden) > 1 else ''} hidden"
        assert any(", ".join(hidden) in r.getMessage() for r in caplog.records)
    else:
        assert all_shown and (note is None or not note.visible)
    assert sizes and min(sizes) >= 8  # what is shown keeps a readable size
    # 640 x 360 shows all six, smaller (the water network's was left out, unsaid); a
    # thumbnail cannot
    assert bool(hidden) == (w == 320 or h == 300)


def test_full_hd_shows_every_legend_at_full_size(viewer_at: Any) -> None:
    viewer = viewer_at(1920, 1080)
    scene = viewer.scene
    img = scene.screenshot()
    save_png(img, "/tmp/twin_legends_1920x1080.png")
    assert [p.visible for p in scene.legends] == [True] * N_LEGENDS
    assert scene.hidden_legends == [] and scene._legend_note is None
    assert {p.title_text.GetTextProperty().GetFontSize() for p in scene.legends} == {17}
    boxes = _shown(viewer)
    north = scene.overlays.north_box()
    assert not any(_overlap(b, north) for b in boxes)
    # every panel is drawn: its light background shows at its centre row's left
    for x0, y0, _, y1 in boxes:
        px = img[round(1080 - (y0 + y1) / 2), round(x0) + 3]
        assert px.min() > 180, px
