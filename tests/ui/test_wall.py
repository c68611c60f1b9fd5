"""Wall mode under Xvfb: frameless at the asked size, scenario KPIs on the tiles, the tour, the
STALE banner against a real mosquitto (feed stops, broker restarts), leaving with Esc / F11."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.camera import CameraPose
from twin_app.model.sensors import TrafficLayer
from twin_app.session import Session
from twin_app.session.wall import format_value, sampling_period_s

pytestmark = pytest.mark.ui

SCENARIO = SAMPLE_DIR / "scenarios" / "close_road.toml"


@pytest.fixture(scope="module")
def sample() -> Session:
    """One session with the sample twin for the module (opening it is the slow part)."""
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    return s


@pytest.fixture
def make_wall(qtbot: Any) -> Iterator[Any]:
    from twin_app.ui.wall import QtWallWindow

    walls: list[Any] = []

    def make(session: Session, **kw: Any) -> Any:
        kw.setdefault("drive_clock", False)
        kw.setdefault("tour_s", 0)
        w = QtWallWindow(session, **kw)
        qtbot.addWidget(w)
        walls.append(w)
        return w

    yield make
    for w in walls:
        w.close()


def test_frameless_at_the_requested_size_on_screen_0(
    qtbot: Any, sample: Session, make_wall: Any, tmp_path: Path
) -> None:
    w = make_wall(sample)
    w.show_on(0, (3840, 2160))
    qtbot.waitExposed(w)
    w.refresh()
    assert w.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert (w.width(), w.height()) == (3840, 2160)
    assert w.screen() is QGuiApplication.screens()[0]
    assert w.geometry().topLeft() == QGuiApplication.screens()[0].geometry().topLeft()
    # type from the height: 2160 / 54 = 40 px units, a 76 px value on each tile
    assert w.unit_px == 40
    assert w.tiles[0].value.font().pixelSize() == 76
    assert w.clock_label.font().pixelSize() == 52
    shown = [t for t in w.tiles if t.isVisible()]
    assert [t.title.text() for t in shown[:3]] == [
        "Open alerts",
        "Mean traffic speed",
        "Mean AQI (PM2.5)",
    ]
    # nothing overlaps: tiles, charts, ticker and the 3D view each have their own rectangle
    qtbot.waitUntil(lambda: w.charts is not None and w.charts.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: w.charts.width() != 640, timeout=5000)  # laid out in the column

    def rect(x: Any) -> QRect:
        return QRect(x.mapTo(w, x.rect().topLeft()), x.size())

    parts = [rect(t) for t in shown] + [rect(w.charts), rect(w.ticker), rect(w.view)]
    for i, a in enumerate(parts):
        assert a.width() > 0 and a.height() > 0
        for b in parts[i + 1 :]:
            assert not a.intersects(b), (a, b)
    # the charts update in place: the same curves, no new items, the samples in the curve
    assert w.charts is not None
    curves = list(w.charts.curves)
    items = [len(p.getPlotItem().items) for p in w.charts.plots]
    t0 = sample.clock.t_ns
    for k in range(5):
        sample.clock.seek(t0 + k * 300 * 10**9)
        w.refresh()
    assert w.charts.curves == curves
    assert [len(p.getPlotItem().items) for p in w.charts.plots] == items
    x, y = curves[0].getData()
    assert len(x) >= 5 and np.isfinite(y[-5:]).all()
    sample.clock.seek(t0)
    w.grab().save(str(tmp_path / "wall_3840x2160.png"))
    assert (tmp_path / "wall_3840x2160.png").stat().st_size > 100_000
    # a smaller wall has smaller type, and full screen fills screen 0
    w.show_on(0, (1280, 720))
    qtbot.waitUntil(lambda: w.height() == 720, timeout=20_000)
    assert w.unit_px == 13
    w.show_on(0)
    geo = QGuiApplication.screens()[0].geometry()
    qtbot.waitUntil(lambda: w.size() == geo.size(), timeout=20_000)


def test_tiles_show_the_scenario_kpis(qtbot: Any, make_wall: Any, tmp_path: Path) -> None:
    """`twin wall SCENARIO`: the twin opens and the scenario runs through the session core on
    a worker thread; the tiles show its KPI table."""
    from twin_app.ui.wall import WallLoader

    session = Session()
    w = make_wall(session)
    loader = WallLoader(w)
    w.show_on(0, (1600, 900))
    loader.start(SCENARIO)
    qtbot.waitUntil(lambda: not loader.busy, timeout=240_000)
    assert not loader.error
    rows = session.scenario_state.kpis
    assert rows and w.scenario_rows == rows
    tiles = [t for t in w.tiles if t.isVisible()]
    assert len(tiles) == min(len(rows), len(w.tiles))
    for tile, row in zip(tiles, rows, strict=False):
        assert tile.title.text() == row.name
        assert tile.value.text().startswith(format_value(row.scenario))
        assert f"baseline {format_value(row.baseline)}" in tile.detail.text()
    tstt = next(r for r in rows if r.name == "tstt_veh_h")
    assert tstt.delta > 0  # closing a road costs time: the change is real, not a copy
    assert w.caption.text() == session.scenario_state.result.name  # type: ignore[union-attr]
    assert w.title.text() == "City of London"  # the twin's name, as from the window (F11)
    # the 3D area is the compare view: baseline and scenario side by side, on one camera
    cv = w.compare_view
    assert cv is not None and cv.isVisible() and not w.view.isVisible()
    assert cv.comparison is session.scenario_state.comparison and cv.mode == "side"
    assert len(cv.views) == 2 and all(v.isVisible() for v in cv.views)
    left, right = cv.views
    assert left.width() > 200 and right.width() > 200
    assert left.mapTo(w, left.rect().topRight()).x() <= right.mapTo(w, right.rect().topLeft()).x()
    w.grab().save(str(tmp_path / "wall_scenario.png"))
    # a story in the tour: a plain step, then a step showing the scenario, then the target again
    from twin_app.io.story_file import load_story
    from twin_app.session.story import scenario_files

    (tmp_path / "s.toml").write_text(
        'schema = 1\nname = "With a scenario"\n'
        '[[steps]]\ncaption = "Plain"\nduration_s = 0.8\ntransition = "cut"\n'
        '[[steps]]\ncaption = "Closed"\nduration_s = 0.8\ntransition = "cut"\n'
        f'scenario = "{SCENARIO}"\ncompare = "side_by_side"\n'
    )
    story = load_story(tmp_path / "s.toml")
    w.program.results[scenario_files(story)[0]] = session.scenario_state.result
    ended: list[Any] = []
    seen: list[tuple[str, bool, bool, int, bool]] = []

    def look(text: str) -> None:  # after the wall has shown the step
        rows = w.scenario_rows == session.scenario_state.kpis and bool(w.scenario_rows)
        seen.append((text, w.view.isVisibleTo(w), cv.isVisibleTo(w), len(cv.views), rows))

    w.program.story_started.connect(lambda p: p.caption_changed.connect(look))
    w.program.story_ended.connect(  # after the wall's own slot: the target shown again
        lambda p: ended.append(
            (cv.isVisibleTo(w), cv.comparison is session.scenario_state.comparison,
             session.scenario_state.result is w.program.base_result,
             w.scenario_rows == session.scenario_state.kpis)
        )
    )  # fmt: skip
    w.add_stories([story])
    qtbot.waitUntil(lambda: bool(ended), timeout=20_000)
    # the plain step: the 3D view and live tiles (the compare view hidden, its views kept for
    # the next time); the scenario step: the same two views and its KPIs
    assert seen[:2] == [("Plain", True, False, 2, False), ("Closed", False, True, 2, True)]
    assert ended[0] == (True, True, True, True)  # the target's comparison and KPIs again
    w.program.stories.clear()


def test_a_result_shown_again_shows_the_same_compare_views(
    qtbot: Any, sample: Session, make_wall: Any
) -> None:
    """The tour shows its stories' results again each loop: their comparisons are kept by the
    session while the wall is up, and the wall shows the same two 3D views again, not two
    scenes built anew (at 3840x2160 that churn swung the memory by hundreds of MB a loop)."""
    sample.open_scenario(SCENARIO)
    result = sample.run_scenario()
    w = make_wall(sample)
    assert sample.keep_comparisons > 0
    w.show_on(0, (1280, 720))
    cmp = sample.show_result(result)
    w.show_compare(cmp)
    cv = w.compare_view
    views = list(cv.views)
    assert len(views) == 2 and cv.isVisibleTo(w)
    for _ in range(3):  # a story's step leaves the scenario, a later loop shows it again
        sample.close_comparison()
        w.show_compare(None)
        assert w.view.isVisibleTo(w) and not cv.isVisibleTo(w)
        again = sample.show_result(result)
        assert again is cmp
        w.show_compare(again)
        assert w.compare_view is cv and cv.views == views and cv.isVisibleTo(w)
        qtbot.wait(30)
    sample.close_comparison()
    w.show_compare(None)
    w.close()  # the session keeps no comparison the wall asked it to keep
    assert sample.keep_comparisons == 0 and cmp.closed and not sample.parked_comparisons
    assert not cv.views  # its views were let go


def test_the_tour_moves_to_the_next_bookmark_after_the_interval(
    qtbot: Any, sample: Session, make_wall: Any
) -> None:
    poses = [
        CameraPose((0.0, -600.0, 400.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
        CameraPose((500.0, 0.0, 300.0), (100.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ]
    for k, p in enumerate(poses):
        sample.add_bookmark(f"tour {k}", p)
    try:
        w = make_wall(sample, tour_s=0.6)
        assert w.tour is not None
        w.tour.fly_s = 0.2
        w.show_on(0, (1280, 720))
        w.start_tour()
        assert w.caption.text() == "tour 0"
        qtbot.waitUntil(lambda: sample.camera.pose == poses[0], timeout=5000)
        qtbot.waitUntil(lambda: w.caption.text() == "tour 1", timeout=5000)
        qtbot.waitUntil(lambda: sample.camera.pose == poses[1], timeout=5000)
        # the view shows it: the VTK camera is where the bookmark says
        cam = w.view.interactor.renderer.GetActiveCamera()
        assert np.allclose(cam.GetPosition(), poses[1].position)
        qtbot.waitUntil(lambda: w.caption.text() == "tour 0", timeout=5000)  # on a loop
    finally:
        for k in range(len(poses)):
            sample.remove_bookmark(f"tour {k}")


def test_ticker_groups_open_alerts_by_rule_and_acknowledges_a_group(
    qtbot: Any, sample: Session, make_wall: Any
) -> None:
    c = sample.clock
    t0 = c.t_ns
    for k in range(1, 13):  # an hour of the morning peak in 5-minute steps: congestion alerts
        c.seek(t0 + k * 300 * 10**9)
    try:
        w = make_wall(sample)
        w.show_on(0, (1280, 720))
        w.refresh()
        alerts = list(sample.alerts.alerts)
        open_ = [a for a in alerts if a.active and not a.acknowledged]
        rules = {a.rule for a in open_}
        assert len(open_) > len(rules) >= 1  # several elements under one rule: grouped
        assert w.ticker.header.text() == f"Alerts: {len(open_)} open of {len(alerts)}"
        rows = [b for b in w.ticker.rows if b.isVisible()]
        assert len(rows) == len(rules)
        g = w.ticker.groups[0]
        assert f"{g.rule} ×{len(g.rows)}" in rows[0].text()
        qtbot.mouseClick(rows[0], Qt.MouseButton.LeftButton)
        assert all(sample.alerts.alerts[i].acknowledged for i in g.rows)
        assert w.ticker.header.text().startswith(f"Alerts: {len(open_) - len(g.rows)} open")
        w.refresh()
        assert w.tiles[0].value.text() == str(len(open_) - len(g.rows))
    finally:
        sample.alerts.alerts.clear()
        c.seek(t0)


def _publisher(url: str, ids: list[str], stop: threading.Event) -> threading.Thread:
    import paho.mqtt.client as mqtt

    from twin_app.feeds.sensorthings import observation_topic

    def run() -> None:
        host, port = url.split(":")
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wall-test-{port}")
        c.reconnect_delay_set(1, 2)
        c.connect_async(host, int(port))
        c.loop_start()
        while not stop.wait(0.2):
            now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            for sid in ids:
                body = json.dumps({"phenomenonTime": now, "result": 33.0})
                c.publish(observation_topic(sid), body, qos=1)
        c.loop_stop()
        c.disconnect()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def _fresh(w: Any) -> bool:
    """Neither the traffic layer nor the live feed is stale (banner and list agree)."""
    text = w.banner.text()
    names = [f.name for f in w.stale]
    return not any(n.startswith(("Traffic", "Live feed")) for n in names) and not any(
        k in text for k in ("Traffic", "Live feed")
    )


@pytest.mark.mqtt
def test_stale_banner_when_the_feed_stops_and_the_broker_restarts(
    qtbot: Any, sample: Session, make_wall: Any, mosquitto: Any
) -> None:
    traffic = next(x for x in sample.layers if isinstance(x, TrafficLayer))
    assert traffic.store is not None
    ids = [str(i) for i in traffic.store.sensor_ids[:3]]
    sample.live.silent_after_s = 1.5
    w = make_wall(sample, drive_clock=True)
    w.show_on(0, (1280, 720))
    stop = threading.Event()
    try:
        assert sample.live.connect(mosquitto.url)
        th = _publisher(mosquitto.url, ids, stop)
        # live samples flow: the traffic layer's data and the feed are fresh
        w.refresh()
        assert "Traffic" in w.banner.text()  # before the first message: the replayed data is old
        # live samples flow: the traffic layer's data and the feed are fresh (the air layer,
        # which nothing feeds live, stays stale: that is true)
        qtbot.waitUntil(lambda: "LIVE" in w.mode_label.text() and _fresh(w), timeout=20_000)
        # the layer's period is learnt from its newest 20 intervals: wait until they are live
        store = traffic.store
        qtbot.waitUntil(lambda: sampling_period_s(store.times) < 1.0, timeout=20_000)
        speed = next(t for t in w.tiles if t.title.text() == "Mean traffic speed")
        assert not speed.badge.isVisible() and not w.ticker.stale.isVisible()
        # the feed stops: the banner says so, naming the layer and then the feed
        stop.set()
        th.join(5)
        qtbot.waitUntil(lambda: "Traffic" in w.banner.text(), timeout=10_000)
        assert w.banner.isVisible() and w.banner.text().startswith("STALE")
        qtbot.waitUntil(lambda: "Live feed" in w.banner.text(), timeout=10_000)
        assert w.ticker.stale.isVisible() and "no message" in w.ticker.stale.text()
        assert speed.badge.isVisible()
        # it comes back: the banner goes without anyone touching the wall
        stop = threading.Event()
        th = _publisher(mosquitto.url, ids, stop)
        qtbot.waitUntil(lambda: _fresh(w), timeout=20_000)
        assert not speed.badge.isVisible() and not w.ticker.stale.isVisible()
        # the broker goes down: stale ("broker reconnecting"); it restarts on the same port and
        # the feed reconnects by itself
        mosquitto.stop()
        qtbot.waitUntil(lambda: "reconnecting" in w.banner.text(), timeout=15_000)
        mosquitto.start()
        qtbot.waitUntil(lambda: _fresh(w), timeout=30_000)
        assert sample.live.feed is not None and sample.live.feed.state.value == "connected"
    finally:
        stop.set()
        sample.live.disconnect()
        sample.live.silent_after_s = 60.0


def _activate(qtbot: Any, w: Any) -> None:
    from PySide6.QtWidgets import QApplication

    def active() -> bool:
        w.activateWindow()
        return QApplication.activeWindow() is w

    qtbot.waitUntil(active, timeout=5000)


def test_esc_and_f11_leave_wall_mode(qtbot: Any, window: Any, make_wall: Any) -> None:
    w = make_wall(window.session)
    w.show_on(0, (1280, 720))
    _activate(qtbot, w)
    with qtbot.waitSignal(w.closed, timeout=5000):
        qtbot.keyClick(w.view.interactor, Qt.Key.Key_Escape)  # focus in the 3D view
    assert not w.isVisible()
    # from the main window: View > Wall mode (F11) hides it; F11 on the wall brings it back
    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.wall is not None and window.wall.isVisible(), timeout=5000)
    assert not window.isVisible()
    wall = window.wall
    assert not wall.drive_clock  # the main window keeps ticking the session
    _activate(qtbot, wall)
    qtbot.keyClick(wall, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: window.wall is None and window.isVisible(), timeout=5000)
    assert not wall.isVisible()
