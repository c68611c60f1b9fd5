"""Where a world point lands in an offscreen picture: the probe the pixel tests share."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin_app.render.scene import Scene


def world_pixel(img: np.ndarray[Any, Any], scene: Scene, xyz: Any) -> np.ndarray[Any, Any]:
    """RGB (ints) of the pixel of ``img``, a screenshot of ``scene``, where world point ``xyz``
    projects with the scene's current camera."""
    ren = scene.plotter.renderer
    ren.SetWorldPoint(float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return np.asarray(img[round(img.shape[0] - 1 - y), round(x)]).astype(int)
