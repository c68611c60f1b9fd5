"""The headless proof: a render through the session core and the viewer binding, offscreen and
without a window, shows what the window shows for the same twin, clock time and camera."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.ui


def test_offscreen_render_of_the_twin_matches_the_window(qtbot: Any, window: Any) -> None:
    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.render.plotter import offscreen_plotter
    from twin_app.render.viewer import Viewer
    from twin_app.session import Session
    from twin_app.session.opening import open_paths

    w = window
    w.open_twin(SAMPLE_DIR)
    qtbot.waitUntil(lambda: not w.loading and len(w.session.layers) == 8, timeout=120_000)
    at = pd.Timestamp("2026-03-02T08:30", tz="Europe/London").value
    w.session.clock.seek(at)
    w.view.preset("oblique")
    qtbot.waitUntil(lambda: not w.view.flying, timeout=5000)
    window_img = np.asarray(w.view.grab_image())[..., :3].astype(np.int16)
    height, width = window_img.shape[:2]
    pose = w.session.camera.pose
    assert pose is not None

    headless = Session()
    open_paths(headless, [SAMPLE_DIR])
    headless.clock.seek(at)
    headless.camera.set_pose(pose)
    plotter = offscreen_plotter(width, height, aa="off")
    try:
        viewer = Viewer(headless, plotter)
        headless.camera.set_pose(pose)
        render_img = np.asarray(viewer.scene.screenshot())[..., :3].astype(np.int16)
        headless.clock.seek(at - 5 * 3600 * 10**9)  # 03:30: quiet roads, buses elsewhere
        night_img = np.asarray(viewer.scene.screenshot())[..., :3].astype(np.int16)
        viewer.close()
    finally:
        plotter.close()
    if os.environ.get("TWIN_SAVE_IMAGES"):
        import imageio.v3 as iio

        for name, img in (("window", window_img), ("render", render_img), ("night", night_img)):
            iio.imwrite(f"{os.environ['TWIN_SAVE_IMAGES']}/{name}.png", img.astype(np.uint8))

    assert render_img.shape == window_img.shape
    # Same layers, same clock, same camera: the same picture up to rasterisation details.
    differing = (np.abs(render_img - window_img).max(axis=2) > 32).mean()
    assert differing < 0.03, f"{differing:.1%} of pixels differ"
    # ... and it is the clock that the sensor layers show: the same view five hours earlier
    # differs (road colours, bus positions, air columns) by far more than the two renders.
    night = (np.abs(night_img - window_img).max(axis=2) > 32).mean()
    assert night > 3 * differing and night > 0.002, (night, differing)
