"""Camera maths: orbit about a pivot, zoom to a point, walking, fly-to interpolation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin_app.model.camera import (
    Bookmark,
    CameraPose,
    ease_in_out,
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
