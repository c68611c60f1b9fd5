"""Camera maths (orbit, zoom to a point, walking, fly-to interpolation) and the evented Camera."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from twin_app.errors import CameraError
from twin_app.model.camera import (
    Bookmark,
    Camera,
    CameraPose,
    Flight,
    FollowTarget,
    ease_in_out,
    finite_bounds,
    orbit,
    pan,
    pose_for_bounds,
    walk,
    zoom_towards,
)

POSE = CameraPose((0.0, -100.0, 100.0), (0.0, 0.0, 0.0))


def test_orbit_keeps_distance_to_pivot_and_yaw_turns_about_vertical() -> None:
    pivot = (10.0, 5.0, 0.0)
    turned = orbit(POSE, pivot, 90.0, 0.0)
    d0 = np.linalg.norm(np.subtract(POSE.position, pivot))
    d1 = np.linalg.norm(np.subtract(turned.position, pivot))
    assert d1 == pytest.approx(d0)
    # a quarter turn anticlockwise brings the camera from the south-ish side to the east-ish side
    assert turned.position[0] > pivot[0] + 50
    assert turned.position[2] == pytest.approx(100.0)


def test_orbit_pitch_is_clamped_above_the_horizon() -> None:
    low = orbit(POSE, POSE.focal_point, 0.0, -80.0)  # try to look from below the ground
    view = np.subtract(low.focal_point, low.position)
    elevation = math.degrees(math.asin(-view[2] / np.linalg.norm(view)))
    assert elevation == pytest.approx(2.0, abs=0.01)
    top = orbit(POSE, POSE.focal_point, 0.0, 80.0)
    assert top.position[2] > 140.0 and np.isfinite(top.view_up).all()


def test_zoom_towards_keeps_direction_and_stops_short() -> None:
    point = (20.0, 0.0, 0.0)
    closer = zoom_towards(POSE, point, 0.5)
    assert np.linalg.norm(np.subtract(closer.position, point)) == pytest.approx(
        0.5 * np.linalg.norm(np.subtract(POSE.position, point))
    )
    d0 = np.subtract(POSE.focal_point, POSE.position)
    d1 = np.subtract(closer.focal_point, closer.position)
    assert np.allclose(d0, d1)
    near = zoom_towards(POSE, point, 0.9999)
    assert np.linalg.norm(np.subtract(near.position, point)) == pytest.approx(2.0)


def test_walk_moves_on_the_ground_at_eye_height() -> None:
    street = CameraPose((0.0, 0.0, 1.7), (0.0, 50.0, 1.7))
    w = walk(street, 10.0, 0.0)
    assert w.position == pytest.approx((0.0, 10.0, 1.7))
    w = walk(street, 0.0, 0.0, turn_deg=90.0)  # turn right: now looking east
    assert w.focal_point[0] > 49.0
    w = walk(POSE, 10.0, 0.0, eye_height_m=1.7)
    assert w.position[2] == pytest.approx(1.7)
    assert pan(POSE, (1, 2, 3)).focal_point == (1.0, 2.0, 3.0)


def test_interpolate_ends_and_arc() -> None:
    a = CameraPose((0, -100, 50), (0, 0, 0))
    b = CameraPose((500, 400, 30), (500, 500, 0), view_angle_deg=40.0)
    assert a.interpolate(b, 0.0).position == pytest.approx(a.position)
    assert b.interpolate(b, 0.3).position == pytest.approx(b.position)
    end = a.interpolate(b, 1.0)
    assert end.position == pytest.approx(b.position) and end.view_angle_deg == pytest.approx(40.0)
    mid = a.interpolate(b, 0.5)
    assert mid.focal_point == pytest.approx((250, 250, 0))
    assert ease_in_out(0.5) == 0.5 and ease_in_out(0.1) < 0.1


def test_pose_for_bounds_looks_at_the_centre_from_the_south() -> None:
    pose = pose_for_bounds((0, 20, 0, 10, 0, 30))
    assert pose.focal_point == pytest.approx((10, 5, 15))
    assert pose.position[1] < 5 and pose.position[2] > 15
    b = Bookmark.from_dict(Bookmark("x", pose).to_dict())
    assert b.pose == pose
    with pytest.raises(ValueError):
        CameraPose.from_dict({"position": [0, 0, float("nan")], "focal_point": [0, 0, 0]})


def test_framing_ignores_non_finite_points_and_bounds() -> None:
    # a mover off service has a NaN position; a far-off bad point is infinite
    pts = np.array([[0.0, 0.0, 0.0], [np.nan, np.nan, np.nan], [20.0, 10.0, 30.0], [np.inf, 1, 1]])
    assert finite_bounds(pts) == (0.0, 20.0, 0.0, 10.0, 0.0, 30.0)
    assert finite_bounds(np.full((3, 3), np.nan)) is None
    assert finite_bounds(np.zeros((0, 3))) is None
    pose = pose_for_bounds((0, 20, 0, 10, np.nan, np.nan))  # no finite z: framed at z = 0
    assert np.isfinite([*pose.position, *pose.focal_point]).all()
    assert pose.focal_point == pytest.approx((10, 5, 0))
    pose = pose_for_bounds((0, np.inf, 0, 10, 0, 30))  # one end finite stands for both
    assert pose.focal_point == pytest.approx((0, 5, 15))
    with pytest.raises(CameraError, match="no finite x or y"):
        pose_for_bounds((np.nan, np.nan, 0, 10, 0, 30))


# ----------------------------------------------------------------------- the Camera model
class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"position": (math.nan, 0.0, 10.0)}, "position"),
        ({"focal_point": (0.0, math.inf, 0.0)}, "focal_point"),
        ({"position": (0.0, 0.0, 0.0)}, "is its focal point"),
        ({"view_up": (0.0, 0.0, 0.0)}, "view up"),
        ({"position": (0.0, 0.0, 50.0), "view_up": (0.0, 0.0, 1.0)}, "along the view"),
        ({"view_angle_deg": 0.0}, "view angle"),
        ({"view_angle_deg": math.nan}, "view angle"),
        ({"parallel_scale": -1.0}, "parallel scale"),
    ],
)
def test_a_pose_that_cannot_be_shown_is_refused(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"position": (0.0, -100.0, 100.0), "focal_point": (0.0, 0.0, 0.0)}
    args.update(kwargs)
    with pytest.raises(CameraError, match=match):
        CameraPose(**args)
    with pytest.raises(ValueError):  # session files validate through ValueError
        CameraPose(**args)


def test_pose_numbers_become_floats() -> None:
    pose = CameraPose((1, 2, 3), (0, 0, 0), (0, 0, 1), 30, 0)  # type: ignore[arg-type]
    assert all(type(v) is float for v in (*pose.position, *pose.view_up, pose.view_angle_deg))


def test_camera_set_pose_emits_once_per_change_and_refuses_non_poses() -> None:
    cam = Camera()
    seen: list[CameraPose | None] = []
    cam.events.pose.connect(seen.append)
    cam.set_pose(POSE)
    cam.set_pose(CameraPose((0.0, -100.0, 100.0), (0.0, 0.0, 0.0)))  # equal: no event
    other = pan(POSE, (5.0, 0.0, 0.0))
    cam.set_pose(other)
    assert seen == [POSE, other]
    with pytest.raises(CameraError):
        cam.set_pose((0.0, 0.0, 0.0))  # type: ignore[arg-type]
    assert cam.pose == other
    cam.clear()
    assert cam.pose is None and seen[-1] is None


def test_fly_to_is_a_flight_sampled_by_time() -> None:
    clock = FakeClock()
    cam = Camera(pose=POSE, clock=clock)
    target = CameraPose((500.0, 400.0, 30.0), (500.0, 500.0, 0.0))
    flights: list[Flight | None] = []
    cam.events.flight.connect(flights.append)
    flight = cam.fly_to(target, duration_s=2.0)
    assert cam.flying and flights == [flight] and cam.pose == POSE
    clock.now += 1.0
    assert cam.animate() is True
    half = cam.pose
    assert half is not None and half.focal_point == pytest.approx((250.0, 250.0, 0.0))
    # another view sampling the same instant gets the same pose: no double speed
    assert cam.animate(clock.now) is True and cam.pose == half
    clock.now += 5.0
    assert cam.animate() is False
    assert cam.pose == target and not cam.flying and flights[-1] is None
    assert cam.animate() is False  # nothing left to do


def test_navigation_stops_a_flight_and_a_first_fly_jumps() -> None:
    clock = FakeClock()
    cam = Camera(pose=POSE, clock=clock)
    cam.fly_to(pan(POSE, (100.0, 0.0, 0.0)))
    user = pan(POSE, (0.0, 3.0, 0.0))
    cam.set_pose(user)
    assert not cam.flying and cam.pose == user
    fresh = Camera(clock=clock)  # nothing shown yet: nowhere to fly from
    fresh.fly_to(POSE)
    assert fresh.pose == POSE and not fresh.flying


def test_track_pans_to_the_mover_and_retargets_a_flight() -> None:
    clock = FakeClock()
    cam = Camera(pose=POSE, clock=clock)
    cam.follow_mover(7, 2)
    assert cam.follow == FollowTarget(7, 2)
    cam.track((10.0, 20.0, 0.0))
    assert cam.pose is not None and cam.pose.focal_point == (10.0, 20.0, 0.0)
    assert cam.pose.position == pytest.approx((10.0, -80.0, 100.0))  # offset kept
    cam.fly_to(CameraPose((0.0, -50.0, 50.0), (0.0, 0.0, 0.0)), duration_s=1.0)
    cam.track((30.0, 0.0, 0.0))  # the mover moved while flying: land on it
    clock.now += 1.0
    cam.animate()
    assert cam.pose.focal_point == pytest.approx((30.0, 0.0, 0.0))
    with pytest.raises(CameraError):
        cam.track((math.nan, 0.0, 0.0))
    cam.follow_mover(7, -1)
    assert cam.follow is None


def test_feature_bounds_leave_out_non_finite_points() -> None:
    import pandas as pd

    from twin_app.model.city import BUILDINGS, FeatureSet, index_array_name
    from twin_app.model.mesh import TriMesh

    pts = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 5], [np.nan, np.nan, np.nan]], np.float64)
    tris = np.array([[0, 1, 2], [1, 2, 3]], np.int64)
    mesh = TriMesh(pts, tris, {index_array_name(BUILDINGS): np.zeros(2, np.int32)})
    table = pd.DataFrame({"id": ["a"]})
    fs = FeatureSet("b", BUILDINGS, "test", table["id"].to_numpy(object), table, mesh)
    b = fs.feature_bounds([0])
    assert b == (0.0, 10.0, 0.0, 10.0, 0.0, 5.0)
    assert np.isfinite(pose_for_bounds(b).position).all()
