"""Files far from the twin's centre: a warning naming the file and the distance, a framed view."""

from __future__ import annotations

from typing import Any

from twin_app.session import Session


def _messages(session: Session) -> list[str]:
    out: list[str] = []
    session.messages.connect(lambda level, text: out.append(f"{level}: {text}"))
    return out


def test_one_city_is_not_far_and_a_second_city_is(shared_file: Any) -> None:
    london = shared_file("osm/london.osm.pbf")
    den_haag = shared_file("cityjson/DenHaag_01.city.json")
    s = Session()
    msgs = _messages(s)
    s.add_result(s.load_files([london]))
    assert not [m for m in msgs if "km from the twin's centre" in m]
    assert s.camera.pose is None  # a view frames it as usual (no view here)
    # a file of another city added to London's frame: warned about, and framed
    s.add_result(s.load_files([den_haag]))
    far = [m for m in msgs if "km from the twin's centre" in m]
    assert len(far) == 1 and far[0].startswith(f"warning: {den_haag}: ")
    assert "Zoom to layer (Z)" in far[0]
    pose = s.camera.pose
    assert pose is not None
    fx, fy, _ = pose.focal_point
    assert (fx**2 + fy**2) ** 0.5 > 100_000  # looking at Den Haag, not at London
