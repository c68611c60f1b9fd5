"""Camera poses and bookmarks as plain data (saved in sessions, animated by fly-to)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Vec3 = tuple[float, float, float]


def _vec(v: Any, name: str) -> Vec3:
    a = [float(x) for x in v]
    if len(a) != 3 or not all(math.isfinite(x) for x in a):
        raise ValueError(f"{name} must be three finite numbers, not {v!r}")
    return (a[0], a[1], a[2])


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is and what it looks at, in local metres.

    Attributes
    ----------
    position, focal_point, view_up
        Camera position, the point looked at, and the up direction.
    view_angle_deg
        Vertical field of view (perspective), degrees.
    parallel_scale
        Half the view height in metres for a parallel (orthographic) camera, else 0.
    """

    position: Vec3
    focal_point: Vec3
    view_up: Vec3 = (0.0, 0.0, 1.0)
    view_angle_deg: float = 30.0
    parallel_scale: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a session file."""
        return {
            "position": list(self.position),
            "focal_point": list(self.focal_point),
            "view_up": list(self.view_up),
            "view_angle_deg": self.view_angle_deg,
            "parallel_scale": self.parallel_scale,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CameraPose:
        """Inverse of :meth:`to_dict` (raises ValueError on bad numbers)."""
        return cls(
            _vec(d["position"], "position"),
            _vec(d["focal_point"], "focal_point"),
            _vec(d.get("view_up", (0.0, 0.0, 1.0)), "view_up"),
            float(d.get("view_angle_deg", 30.0)),
            float(d.get("parallel_scale", 0.0)),
        )

    @property
    def distance_m(self) -> float:
        """Distance from the camera to the focal point."""
        return float(np.linalg.norm(np.subtract(self.position, self.focal_point)))

    def interpolate(self, other: CameraPose, t: float) -> CameraPose:
        """Pose a fraction `t` (0..1) of the way to `other`.

        The focal point moves linearly; the camera's offset from the focal point is
        interpolated in direction (spherically) and in length (geometrically), so a fly-to
        arcs smoothly instead of cutting through the ground.
        """
        t = min(max(t, 0.0), 1.0)
        f0, f1 = np.array(self.focal_point), np.array(other.focal_point)
        o0 = np.array(self.position) - f0
        o1 = np.array(other.position) - f1
        d0, d1 = np.linalg.norm(o0), np.linalg.norm(o1)
        u0 = o0 / d0 if d0 > 0 else np.array([0.0, 0.0, 1.0])
        u1 = o1 / d1 if d1 > 0 else np.array([0.0, 0.0, 1.0])
        omega = math.acos(float(np.clip(np.dot(u0, u1), -1.0, 1.0)))
        if omega < 1e-6:
            u = u0 + (u1 - u0) * t
        else:
            u = (math.sin((1 - t) * omega) * u0 + math.sin(t * omega) * u1) / math.sin(omega)
        u = u / np.linalg.norm(u)
        dist = d0 * (d1 / d0) ** t if d0 > 0 and d1 > 0 else d0 + (d1 - d0) * t
        f = f0 + (f1 - f0) * t
        up = np.array(self.view_up) + (np.array(other.view_up) - np.array(self.view_up)) * t
        if np.linalg.norm(up) < 1e-9:
            up = np.array(other.view_up)
        up = up / np.linalg.norm(up)
        p = f + u * dist
        return CameraPose(
            (float(p[0]), float(p[1]), float(p[2])),
            (float(f[0]), float(f[1]), float(f[2])),
            (float(up[0]), float(up[1]), float(up[2])),
            self.view_angle_deg + (other.view_angle_deg - self.view_angle_deg) * t,
            self.parallel_scale + (other.parallel_scale - self.parallel_scale) * t,
        )


def ease_in_out(t: float) -> float:
    """Smoothstep easing for animations: slow start, slow end."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class Bookmark:
    """A named camera pose."""

    name: str
    pose: CameraPose

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a session file."""
        return {"name": self.name, **self.pose.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bookmark:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["name"]), CameraPose.from_dict(d))
