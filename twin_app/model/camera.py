"""The camera: poses and bookmarks as plain data, and the evented :class:`Camera` model.

The :class:`Camera` is the truth for every view: a 3D view writes the user's navigation into it
and follows it; bookmarks, fly-to, follow-a-mover and session files go through it. Two views
bound to one Camera move together. Pure Python (numpy, psygnal): no Qt, no VTK.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from psygnal import SignalGroup, evented

from twin_app.errors import CameraError

Vec3 = tuple[float, float, float]

#: Seconds a fly-to takes unless told otherwise.
FLY_S = 0.8


def _vec(v: Any, name: str) -> Vec3:
    try:
        a = [float(x) for x in v]
    except (TypeError, ValueError) as exc:
        raise CameraError(f"camera {name} must be three finite numbers, not {v!r}") from exc
    if len(a) != 3 or not all(math.isfinite(x) for x in a):
        raise CameraError(f"camera {name} must be three finite numbers, not {v!r}")
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

    def __post_init__(self) -> None:
        """Refuse poses a view cannot show: non-finite numbers, the camera on its focal point,
        a zero or view-parallel up vector, a view angle outside (0, 180) degrees.

        Raises
        ------
        CameraError
            With the offending field (also a ValueError, for file validation).
        """
        p = _vec(self.position, "position")
        f = _vec(self.focal_point, "focal_point")
        up = _vec(self.view_up, "view_up")
        angle, scale = float(self.view_angle_deg), float(self.parallel_scale)
        if not (math.isfinite(angle) and 0.0 < angle < 180.0):
            raise CameraError(f"camera view angle must be between 0 and 180 degrees, not {angle}")
        if not (math.isfinite(scale) and scale >= 0.0):
            raise CameraError(f"camera parallel scale must be 0 or more, not {scale}")
        view = np.subtract(f, p)
        dist = float(np.linalg.norm(view))
        if dist <= 1e-9:
            raise CameraError(f"camera position {p} is its focal point: nothing to look at")
        up_len = float(np.linalg.norm(up))
        if up_len <= 1e-12 or float(np.linalg.norm(np.cross(view, up))) <= 1e-12 * dist * up_len:
            raise CameraError(f"camera view up {up} is zero or along the view direction")
        object.__setattr__(self, "position", p)
        object.__setattr__(self, "focal_point", f)
        object.__setattr__(self, "view_up", up)
        object.__setattr__(self, "view_angle_deg", angle)
        object.__setattr__(self, "parallel_scale", scale)

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
        """Inverse of :meth:`to_dict` (raises :class:`CameraError`, a ValueError, on bad numbers)."""
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
        if np.linalg.norm(np.cross(u, up)) < 1e-9:  # up along the view: take an end's up
            for cand in (np.array(other.view_up), np.array(self.view_up)):
                if np.linalg.norm(np.cross(u, cand)) > 1e-9 * np.linalg.norm(cand):
                    up = cand / np.linalg.norm(cand)
                    break
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


def finite_bounds(points: Any) -> tuple[float, float, float, float, float, float] | None:
    """(xmin, xmax, ymin, ymax, zmin, zmax) of the finite rows of an (n, 3) array, or None.

    Rows with any non-finite coordinate (a mover off service has a NaN position) are left
    out, so one bad point cannot turn a framing into NaN.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return None
    lo, hi = p.min(axis=0), p.max(axis=0)
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))


def pose_for_bounds(
    bounds: tuple[float, float, float, float, float, float],
    azimuth_deg: float = 0.0,
    elevation_deg: float = 40.0,
    view_angle_deg: float = 30.0,
    margin: float = 1.6,
) -> CameraPose:
    """An oblique pose that frames a box (used by fly-to for a feature or a search hit).

    Parameters
    ----------
    bounds
        (xmin, xmax, ymin, ymax, zmin, zmax) in local metres. A non-finite end of an axis is
        left out (the other end stands for both); a box with no finite z is taken at z = 0.
    azimuth_deg
        Compass bearing the camera looks towards (0: looking north, from the south).
    elevation_deg
        Angle of the view below the horizon.
    margin
        Space around the box, as a factor of its bounding-sphere radius (at least 15 m).

    Raises
    ------
    CameraError
        If the box has no finite x or y (there is nothing to frame).
    """
    b = np.asarray(bounds, dtype=np.float64).reshape(3, 2)
    ok = np.isfinite(b)
    b = np.where(ok, b, b[:, ::-1])  # one finite end stands for both
    if not np.isfinite(b[:2]).all():
        raise CameraError(f"cannot frame the box {tuple(bounds)}: it has no finite x or y")
    if not np.isfinite(b[2]).all():
        b[2] = 0.0
    (xmin, xmax), (ymin, ymax), (zmin, zmax) = b.tolist()
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    radius = max(0.5 * float(np.linalg.norm([xmax - xmin, ymax - ymin, zmax - zmin])), 15.0)
    dist = margin * radius / math.sin(math.radians(view_angle_deg / 2))
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = (
        np.array([-math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)]) * dist
    )
    pos = centre + offset
    return CameraPose(
        (float(pos[0]), float(pos[1]), float(pos[2])),
        (float(centre[0]), float(centre[1]), float(centre[2])),
        (0.0, 0.0, 1.0),
        view_angle_deg,
    )


def _unit(v: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _rotate(
    v: np.ndarray[Any, Any], axis: np.ndarray[Any, Any], angle: float
) -> np.ndarray[Any, Any]:
    """Rodrigues' rotation of `v` about unit `axis` by `angle` radians."""
    k = _unit(axis)
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(k, v) * s + k * float(np.dot(k, v)) * (1 - c)


def _pose(
    p: np.ndarray[Any, Any], f: np.ndarray[Any, Any], up: np.ndarray[Any, Any], like: CameraPose
) -> CameraPose:
    return CameraPose(
        (float(p[0]), float(p[1]), float(p[2])),
        (float(f[0]), float(f[1]), float(f[2])),
        (float(up[0]), float(up[1]), float(up[2])),
        like.view_angle_deg,
        like.parallel_scale,
    )


def orbit(
    pose: CameraPose, pivot: Vec3, yaw_deg: float, pitch_deg: float, min_elev_deg: float = 2.0
) -> CameraPose:
    """Turntable orbit about `pivot`: yaw about the vertical, pitch about the camera's right axis.

    Both the camera and its focal point turn about the pivot (GIS style: the point under the
    cursor stays put). Pitch is limited so the view stays between `min_elev_deg` above the
    horizon and straight down.
    """
    c = np.array(pivot, float)
    p = np.array(pose.position, float) - c
    f = np.array(pose.focal_point, float) - c
    z = np.array([0.0, 0.0, 1.0])
    yaw = math.radians(yaw_deg)
    p, f = _rotate(p, z, yaw), _rotate(f, z, yaw)
    view = _unit(f - p)
    right = np.cross(view, z)
    if np.linalg.norm(right) < 1e-9:
        right = _rotate(np.array([1.0, 0.0, 0.0]), z, yaw)
    elev = math.degrees(math.asin(float(np.clip(-view[2], -1, 1))))  # degrees below the horizon
    target = float(np.clip(elev + pitch_deg, min_elev_deg, 89.9))
    dp = math.radians(target - elev)
    p2, f2 = _rotate(p, right, -dp), _rotate(f, right, -dp)
    view2 = _unit(f2 - p2)
    up = (
        _unit(np.cross(np.cross(view2, z), view2))
        if abs(view2[2]) < 0.9999
        else _unit(np.cross(right, view2))
    )
    return _pose(p2 + c, f2 + c, up, pose)


def zoom_towards(
    pose: CameraPose, point: Vec3, factor: float, min_distance_m: float = 2.0
) -> CameraPose:
    """Move the camera a fraction of the way to `point` (factor 0.2 = 20 % closer; negative backs off).

    The focal point moves by the same vector so the view direction is kept and the point under
    the cursor stays under the cursor.
    """
    p = np.array(pose.position, float)
    f = np.array(pose.focal_point, float)
    target = np.array(point, float)
    to = target - p
    dist = float(np.linalg.norm(to))
    step = to * factor
    if factor > 0 and dist * (1 - factor) < min_distance_m:
        step = to * max(0.0, (dist - min_distance_m) / max(dist, 1e-9))
    return _pose(p + step, f + step, np.array(pose.view_up, float), pose)


def pan(pose: CameraPose, delta: Vec3) -> CameraPose:
    """Translate camera and focal point by a world vector."""
    d = np.array(delta, float)
    return _pose(
        np.array(pose.position) + d,
        np.array(pose.focal_point) + d,
        np.array(pose.view_up, float),
        pose,
    )


def walk(
    pose: CameraPose,
    forward_m: float,
    right_m: float,
    turn_deg: float = 0.0,
    eye_height_m: float | None = None,
) -> CameraPose:
    """Street-level walking: move along the ground-projected view direction and turn in place.

    With `eye_height_m` the camera (and the focal point by the same amount) is kept at that
    height above z = 0.
    """
    p = np.array(pose.position, float)
    f = np.array(pose.focal_point, float)
    z = np.array([0.0, 0.0, 1.0])
    f = p + _rotate(f - p, z, math.radians(-turn_deg))
    view = f - p
    fwd = _unit(np.array([view[0], view[1], 0.0]))
    right = np.cross(fwd, z)
    move = fwd * forward_m + right * right_m
    p, f = p + move, f + move
    if eye_height_m is not None:
        dz = eye_height_m - p[2]
        p[2] += dz
        f[2] += dz
    return _pose(p, f, z, pose)


@dataclass(frozen=True)
class Flight:
    """A fly-to in progress: from `start` to `end`, eased, over `duration_s` from `started_s`.

    Views sample it (:meth:`Camera.animate`) on their own frame timer; as the pose at a time is
    a pure function of that time, any number of views sampling one flight agree.
    """

    start: CameraPose
    end: CameraPose
    duration_s: float
    started_s: float

    def pose_at(self, now_s: float) -> CameraPose:
        """The pose at monotonic time `now_s` (the end pose once the flight is over)."""
        return self.start.interpolate(self.end, ease_in_out(self.fraction(now_s)))

    def fraction(self, now_s: float) -> float:
        """How far the flight is at `now_s`, 0..1 (before easing)."""
        if self.duration_s <= 0.0:
            return 1.0
        return min(max((now_s - self.started_s) / self.duration_s, 0.0), 1.0)


@dataclass(frozen=True)
class FollowTarget:
    """The mover the camera keeps at its focal point: mover `index` of the layer `layer_uid`."""

    layer_uid: int
    index: int


@evented
@dataclass(eq=False)
class Camera:
    """The camera every view shows: the current pose, a fly-to in progress, a followed mover.

    Views write user navigation with :meth:`set_pose` and follow ``events.pose``; fly-to is
    :meth:`fly_to` (views call :meth:`animate` each frame while ``flight`` is set); following
    a mover is :meth:`follow_mover` (the session pans the camera with :meth:`track` each tick).
    Two views bound to one Camera move together.

    Attributes
    ----------
    pose
        The current pose (validated :class:`CameraPose`), None until a view or a file sets one.
    flight
        The fly-to in progress, or None.
    follow
        The followed mover, or None.
    clock
        Monotonic seconds (``time.monotonic``; tests pass their own).

    Signals
    -------
    events.pose(CameraPose | None), events.flight(Flight | None), events.follow(FollowTarget | None)
        One per field, emitted when it changes.
    """

    pose: CameraPose | None = None
    flight: Flight | None = None
    follow: FollowTarget | None = None
    clock: Callable[[], float] = time.monotonic

    if TYPE_CHECKING:
        events: ClassVar[SignalGroup]

    def __post_init__(self) -> None:
        if self.pose is not None and not isinstance(self.pose, CameraPose):
            raise CameraError(f"a camera pose must be a CameraPose, not {type(self.pose).__name__}")

    @property
    def flying(self) -> bool:
        """True while a fly-to runs."""
        return self.flight is not None

    def set_pose(self, pose: CameraPose) -> None:
        """Jump to `pose` (navigation, presets, session restore); a fly-to in progress stops.

        Raises
        ------
        CameraError
            If `pose` is not a :class:`CameraPose` (poses validate themselves when made).
        """
        if not isinstance(pose, CameraPose):
            raise CameraError(f"a camera pose must be a CameraPose, not {type(pose).__name__}")
        self.flight = None
        self.pose = pose

    def fly_to(self, pose: CameraPose, duration_s: float = FLY_S) -> Flight:
        """Start an eased flight from the current pose to `pose` (bookmarks, search, follow).

        With no current pose (nothing has been shown yet) the camera jumps and the flight is
        over at once. Returns the flight (also emitted as ``events.flight``).
        """
        if not isinstance(pose, CameraPose):
            raise CameraError(f"a camera pose must be a CameraPose, not {type(pose).__name__}")
        start, duration = (self.pose, max(float(duration_s), 0.0)) if self.pose else (pose, 0.0)
        flight = Flight(start, pose, duration, float(self.clock()))
        self.flight = flight
        if duration == 0.0:
            self.animate()
        return flight

    def animate(self, now_s: float | None = None) -> bool:
        """Move the pose along the flight to time `now_s` (default: the clock's now).

        Returns True while the flight goes on; at its end the pose is the target and ``flight``
        becomes None. Without a flight, does nothing and returns False.
        """
        flight = self.flight
        if flight is None:
            return False
        now = float(self.clock()) if now_s is None else float(now_s)
        done = flight.fraction(now) >= 1.0
        self.pose = flight.end if done else flight.pose_at(now)
        if done:
            self.flight = None
        return not done

    def follow_mover(self, layer_uid: int, index: int) -> None:
        """Keep mover `index` of layer `layer_uid` at the focal point (index < 0 stops)."""
        self.follow = FollowTarget(int(layer_uid), int(index)) if index >= 0 else None

    def track(self, point: Vec3) -> None:
        """Pan so the focal point is `point`, keeping the camera's offset (a followed mover).

        During a fly-to the flight's end moves instead, so the flight lands on the mover.
        """
        target = _vec(point, "follow point")
        flight = self.flight
        if flight is not None:
            d = np.subtract(target, flight.end.focal_point)
            moved = pan(flight.end, (float(d[0]), float(d[1]), float(d[2])))
            self.flight = Flight(flight.start, moved, flight.duration_s, flight.started_s)
            return
        if self.pose is None:
            return
        d = np.subtract(target, self.pose.focal_point)
        if not d.any():
            return
        self.pose = pan(self.pose, (float(d[0]), float(d[1]), float(d[2])))

    def clear(self) -> None:
        """Forget the pose, the flight and the followed mover (an empty session)."""
        self.flight = None
        self.follow = None
        self.pose = None
