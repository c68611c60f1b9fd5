"""Live mode end to end: `twin feed publish` -> real mosquitto -> the app -> layers and a recording."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.feeds.longformat import read_long, write_long
from twin_app.feeds.publish import publish_file
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.sensors import TrafficLayer

pytestmark = [pytest.mark.ui, pytest.mark.mqtt]


@pytest.fixture
def twin_window(qtbot: Any, window: Any) -> Any:
    window.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not window.loading and len(window.session.layers) == 8, timeout=90_000)
    return window


def _traffic(w: Any) -> TrafficLayer:
    return next(layer for layer in w.session.layers if isinstance(layer, TrafficLayer))


def _publish_in_thread(path: Path, broker: str, **kw: Any) -> threading.Thread:
    th = threading.Thread(
        target=publish_file, args=(path, broker), kwargs={"speed": 0, "restamp_now": True, **kw}
    )
    th.start()
    return th


def test_publish_to_app_to_recording(
    qtbot: Any, twin_window: Any, mosquitto: Any, tmp_path: Path
) -> None:
    w = twin_window
    w.connect_live(mosquitto.url)
    qtbot.waitUntil(lambda: w.session.live.feed.state.value == "connected", timeout=10_000)
    assert w.session.clock.live
    qtbot.waitUntil(lambda: "connected" in w.live_label.text(), timeout=2_000)
    w.start_recording(tmp_path / "rec.parquet")
    # Three real METR-LA detectors that feed roads, one value each, sent "now" (the live demo).
    layer = _traffic(w)
    fed = np.unique(layer.segment_sensor[layer.segment_sensor >= 0])[:3]
    ids = [str(layer.store.sensor_ids[i]) for i in fed]
    src = read_long(SAMPLE_DIR / "traffic_metr_la.parquet")
    rows = src[src["sensor_id"].isin(ids)].groupby("sensor_id", as_index=False).first()
    rows["value"] = [7.0, 8.0, 9.0]  # jammed: clearly different from anything replayed
    data = tmp_path / "live.parquet"
    write_long(data, rows[["sensor_id", "t", "value"]])
    before = time.time_ns()
    _publish_in_thread(data, mosquitto.url).join(20)
    col = np.asarray(layer.store.index_of(np.array(ids, object)))
    expected = rows.set_index("sensor_id")["value"].reindex(ids).to_numpy()
    qtbot.waitUntil(
        lambda: np.allclose(layer.store.values_at(time.time_ns(), "last")[col], expected),
        timeout=10_000,
    )
    # the layer shows them: the roads those detectors feed are now in the "severe" class
    qtbot.waitUntil(
        lambda: (layer.congestion_class()[np.isin(layer.segment_sensor, col)] == 0).any(),
        timeout=5_000,
    )
    w.record_action.setChecked(False)
    paths = w.stop_recording() if w.session.live.recording else []
    rec = read_long(tmp_path / "rec.parquet")
    assert sorted(rec["sensor_id"].astype(str)) == sorted(ids)
    assert sorted(rec["value"]) == [7.0, 8.0, 9.0]
    t = pd.to_datetime(rec["t"], utc=True).astype("int64")
    assert (t >= before - 10**9).all() and (t <= time.time_ns()).all()
    del paths


def test_broker_restart_reconnects_and_loses_nothing(
    qtbot: Any, twin_window: Any, mosquitto: Any, tmp_path: Path
) -> None:
    w = twin_window
    w.connect_live(mosquitto.url)
    qtbot.waitUntil(lambda: w.session.live.feed.state.value == "connected", timeout=10_000)
    mosquitto.kill()
    qtbot.waitUntil(
        lambda: w.session.live.feed.state.value in ("reconnecting", "refused"), timeout=10_000
    )
    qtbot.waitUntil(
        lambda: (
            "MQTT" in w.live_label.text()
            and "connected" not in w.live_label.text().split(": ")[-1][:9]
        ),
        timeout=2_000,
    )
    mosquitto.start()
    qtbot.waitUntil(lambda: w.session.live.feed.state.value == "connected", timeout=40_000)
    data = tmp_path / "after.parquet"
    write_long(
        data,
        pd.DataFrame(
            {"sensor_id": ["773869"], "t": [pd.Timestamp("2012-03-05T08:00Z")], "value": [3.0]}
        ),
    )
    _publish_in_thread(data, mosquitto.url).join(20)
    layer = _traffic(w)
    col = int(np.asarray(layer.store.index_of(np.array(["773869"], object)))[0])
    qtbot.waitUntil(
        lambda: layer.store.values_at(time.time_ns(), "last")[col] == 3.0, timeout=10_000
    )


def test_refused_broker_is_a_message_not_a_crash(
    qtbot: Any, twin_window: Any, closed_port: str
) -> None:
    w = twin_window
    w.connect_live(closed_port)
    qtbot.waitUntil(
        lambda: w.session.live.feed.state.value in ("refused", "reconnecting"), timeout=10_000
    )
    assert w.session.live.feed.last_error and "\n" not in w.session.live.feed.last_error
    w.disconnect_live()
    assert w.session.live.feed is None and not w.session.clock.live


def test_follow_camera_tracks_a_bus(qtbot: Any, twin_window: Any) -> None:
    from twin_app.model.sensors import MoverLayer

    w = twin_window
    buses = next(layer for layer in w.session.layers if isinstance(layer, MoverLayer))
    w.session.clock.seek(pd.Timestamp("2026-03-02T16:30Z").value)
    i = int(np.flatnonzero(buses.valid)[0])
    w.follow(buses, i)
    qtbot.waitUntil(lambda: not w.view.flying, timeout=5_000)
    for minutes in (1, 3):
        w.session.clock.seek(pd.Timestamp("2026-03-02T16:30Z").value + minutes * 60 * 10**9)
        if buses.valid[i]:
            assert np.allclose(w.view.pose().focal_point, buses.positions[i], atol=1e-6)
    w.follow(buses, -1)
    before = w.view.pose()
    w.session.clock.step(120)
    assert w.view.pose() == before  # no longer following


def test_following_a_bus_that_is_not_running_says_so(qtbot: Any, twin_window: Any) -> None:
    from twin_app.model.sensors import MoverLayer

    w = twin_window
    buses = next(layer for layer in w.session.layers if isinstance(layer, MoverLayer))
    w.session.clock.seek(pd.Timestamp("2026-03-02T08:30Z").value)  # before the evening runs
    idle = np.flatnonzero(~buses.valid)
    assert idle.size
    said: list[tuple[str, str]] = []
    w.session.messages.connect(lambda level, text: said.append((level, text)))
    before = w.view.pose()
    w.follow(buses, int(idle[0]))
    ((level, text),) = said
    assert level == "info" and str(buses.mover_ids[idle[0]]) in text
    assert "no position at this time" in text and w.view.pose() == before
