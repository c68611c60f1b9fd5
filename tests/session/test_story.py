"""Stories: the file format (round trip, one-line errors), the player as a pure function of
story time (poses, fly endpoints, clock, layer styles), and the session's authoring verbs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.box_buildings import box_buildings
from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.story_file import PoseSpec, Step, Story, load_story, save_story, story_from_dict
from twin_app.model.camera import Bookmark, CameraPose
from twin_app.model.layers import BuildingLayer
from twin_app.model.times import parse_time
from twin_app.session import Session
from twin_app.session.story import StoryError, StoryPlayer

T0 = "2026-03-02T08:00:00Z"
A = CameraPose((0.0, -500.0, 300.0), (0.0, 0.0, 0.0))
B = CameraPose((400.0, 200.0, 150.0), (100.0, 100.0, 10.0))


def _buildings() -> BuildingLayer:
    return box_buildings([(-20, -20, 20, 20), (60, 0, 90, 30)], [10.0, 40.0], "Buildings (test)")


@pytest.fixture
def session() -> Session:
    s = Session()
    s.layers.append(_buildings())
    s.bookmarks.append(Bookmark("Home", A))
    t0 = parse_time(T0)
    s.clock.set_range(t0 - 3600 * 10**9, t0 + 24 * 3600 * 10**9)
    s.clock.seek(t0)
    s.camera.set_pose(A)
    return s


def _story(**top: object) -> Story:
    data = {
        "schema": 1,
        "name": "t",
        "bookmarks": [{"name": "Far", **PoseSpec.of(B).model_dump()}],
        "steps": [
            {
                "caption": "one",
                "duration_s": 4.0,
                "camera": "Home",
                "transition": "cut",
                "time": "2026-03-02T09:00:00Z",
                "rate": 60,
            },
            {
                "caption": "two",
                "duration_s": 5.0,
                "camera": "Far",
                "transition_s": 2.0,
                "layers": {"Buildings": {"opacity": 0.5, "visible": True}},
            },
            {
                "caption": "three",
                "duration_s": 3.0,
                "transition": "cut",
                "rate": 0,
                "layers": {"Buildings": {"visible": False}},
            },
        ],
        **top,
    }
    return story_from_dict(data)


# -- the file ----------------------------------------------------------------------------------
def test_round_trip_keeps_everything_and_paths_relative(tmp_path: Path) -> None:
    (tmp_path / "scen").mkdir()
    scen = tmp_path / "scen" / "s.toml"
    scen.write_text("schema = 1\nname = 's'\n")
    story = story_from_dict(
        {"schema": 1, "name": "t", "twin": "twin",
         "steps": [{"duration_s": 2, "camera": {"position": [1, 2, 30], "focal_point": [0, 0, 0]},
                    "scenario": "scen/s.toml", "compare": "swipe", "split": 0.3,
                    "layers": {"Roads": {"color_by": "lanes"}}}]},
        base_dir=tmp_path,
    )  # fmt: skip
    assert story.steps[0].scenario == scen
    out = tmp_path / "sub" / "story.toml"
    out.parent.mkdir()
    written = save_story(story, out)
    text = out.read_text()
    assert text.startswith("schema = 1")
    assert 'scenario = "../scen/s.toml"' in text and 'twin = "../twin"' in text
    assert "transition" not in text  # defaults are left out
    again = load_story(out, check=False)
    assert again == story == written
    assert again.steps[0].compare_mode == "swipe"
    assert not list(out.parent.glob(".story.toml.tmp-*"))  # the temporary file was renamed


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("schema = 2\nname = 't'\n", "key 'schema': schema 2 is not supported"),
        ("name = 't'\n", "key 'schema': required key missing"),
        ("schema = 1\nname = 't'\n[[steps]]\nduration_s = -1\n", "key 'steps[0].duration_s'"),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\ncaptoin = 'x'\n",
            "key 'steps[0].captoin': unknown key",
        ),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\n[[steps]]\nduration_s = 1\n"
            "camera = { position = [0, 0, 0], focal_point = [0, 0, 0] }\n",
            "key 'steps[1].camera': camera position (0.0, 0.0, 0.0) is its focal point",
        ),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\ntime = 'teatime'\n",
            "key 'steps[0].time': not a time",
        ),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\ntransition_s = 3\n",
            "transition_s 3.0 is longer than the step's duration_s 2.0",
        ),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\n[steps.layers.X]\nopacity = 2\n",
            "key 'steps[0].layers.X.opacity'",
        ),
        (
            "schema = 1\nname = 't'\n[[steps]]\nduration_s = 2\nscenario = 'missing.toml'\n",
            "key 'steps[0].scenario': ",
        ),
        ("schema = 1\nname = 't'\n[[steps]]\nduration_s = nan\n", "must be a finite number"),
        ("schema = 1\nname = [\n", "not valid TOML"),
    ],
)
def test_bad_files_give_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expect: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_story(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert expect in msg


def test_example_story_loads_and_resolves_its_bookmarks() -> None:
    story = load_story(SAMPLE_DIR / "stories" / "tour.toml")
    assert 30.0 <= story.duration_s <= 45.0
    assert story.twin == SAMPLE_DIR
    assert any(s.scenario is not None for s in story.steps)
    for step in story.steps:
        assert not isinstance(step.camera, str) or story.bookmark(step.camera) is not None


# -- the player -------------------------------------------------------------------------------
def test_fly_starts_where_the_last_step_ended_and_lands_on_its_pose(session: Session) -> None:
    player = StoryPlayer(session, _story())
    tl = player.timeline
    assert [b.start_s for b in tl.beats] == [0.0, 4.0, 9.0]
    assert tl.duration_s == 12.0
    assert tl.pose_at(0.0) == A  # a cut: the bookmark at once
    assert tl.pose_at(3.999) == A
    assert tl.pose_at(4.0) == A  # the fly's start: where step one left the camera
    mid = tl.pose_at(5.0)
    assert mid is not None and mid not in (A, B)
    assert tl.pose_at(6.0) == B  # transition_s 2 after the step's start
    assert tl.pose_at(8.5) == B
    assert tl.pose_at(11.0) == B  # step three has no camera: it keeps B


def test_fly_is_eased_smoothstep_on_the_focal_point(session: Session) -> None:
    tl = StoryPlayer(session, _story()).timeline
    for frac in (0.1, 0.25, 0.5, 0.9):
        pose = tl.pose_at(4.0 + 2.0 * frac)
        assert pose is not None
        s = frac * frac * (3 - 2 * frac)
        want = np.add(A.focal_point, s * np.subtract(B.focal_point, A.focal_point))
        np.testing.assert_allclose(pose.focal_point, want, atol=1e-9)
    # distance interpolates geometrically, so it never dips below both ends
    dists = [tl.pose_at(4.0 + 0.1 * k).distance_m for k in range(21)]  # type: ignore[union-attr]
    assert min(dists) >= min(A.distance_m, B.distance_m) - 1e-6


def test_orbit_turns_about_the_focal_point(session: Session) -> None:
    story = story_from_dict(
        {"schema": 1, "name": "o",
         "steps": [{"duration_s": 4, "camera": "Home", "transition": "cut", "orbit_deg": 90}]}
    )  # fmt: skip
    tl = StoryPlayer(session, story).timeline
    start, end = tl.pose_at(0.0), tl.pose_at(4.0)
    assert start == A and end is not None
    np.testing.assert_allclose(end.focal_point, A.focal_point, atol=1e-9)
    assert end.distance_m == pytest.approx(A.distance_m)
    o0 = np.subtract(A.position, A.focal_point)[:2]
    o1 = np.subtract(end.position, end.focal_point)[:2]
    angle = math.degrees(math.atan2(o0[0] * o1[1] - o0[1] * o1[0], float(np.dot(o0, o1))))
    assert abs(angle) == pytest.approx(90.0, abs=1e-6)


def test_seek_is_the_same_whichever_way_the_story_got_there(session: Session) -> None:
    player = StoryPlayer(session, _story())
    layer = session.layers[0]

    def state() -> tuple[object, ...]:
        return (session.camera.pose, session.clock.t_ns, layer.visible, layer.opacity,
                player.index, player.caption)  # fmt: skip

    seen = {}
    for t in (0.5, 5.0, 10.0, 5.0, 0.5, 10.0, 5.0):
        player.seek(t)
        if t in seen:
            assert state() == seen[t], t
        seen[t] = state()
    player.seek(5.0)
    assert layer.opacity == 0.5 and layer.visible
    player.seek(10.0)
    assert not layer.visible and player.caption == "three"
    player.seek(0.5)  # back before any layer change: the styles the story started over
    assert layer.visible and layer.opacity == 1.0


def test_clock_follows_step_time_and_rate(session: Session) -> None:
    player = StoryPlayer(session, _story())
    t9 = parse_time("2026-03-02T09:00:00Z")
    player.seek(0.0)
    assert session.clock.t_ns == t9
    player.seek(2.5)
    assert session.clock.t_ns == t9 + 150 * 10**9  # 60 simulated s per story s
    player.seek(6.0)  # step two keeps the rate and runs on from step one's end
    assert session.clock.t_ns == t9 + 360 * 10**9
    player.seek(11.0)  # rate 0: the clock stands where step three began
    assert session.clock.t_ns == t9 + 540 * 10**9
    assert not session.clock.playing


def test_playing_by_time_steps_signals_steps_and_stops_at_the_end(session: Session) -> None:
    player = StoryPlayer(session, _story())
    steps: list[int] = []
    captions: list[str] = []
    ended: list[bool] = []
    player.step_changed.connect(steps.append)
    player.caption_changed.connect(captions.append)
    player.finished.connect(lambda: ended.append(True))
    player.play()
    for _ in range(130):
        player.advance(0.1)
    assert steps == [0, 1, 2]
    assert captions == ["one", "two", "three"]
    assert ended == [True] and not player.playing
    assert player.t_s == 12.0
    player.previous()  # paused: where step two's flight lands
    assert player.index == 1 and player.t_s == 6.0
    assert session.camera.pose == B
    player.play()
    player.previous()  # playing: its start, so that its flight plays
    assert player.index == 0 and player.t_s == 0.0
    player.next()
    assert player.t_s == 4.0 and session.camera.pose == A
    player.next()
    player.next()
    assert player.t_s == 12.0


def test_unknown_bookmark_is_one_line_naming_the_step(session: Session) -> None:
    story = story_from_dict(
        {"schema": 1, "name": "t", "steps": [{"duration_s": 1, "camera": "Nope"}]}
    )
    with pytest.raises(StoryError, match=r"key 'steps\[0\].camera': no bookmark 'Nope'.*Home"):
        StoryPlayer(session, story)


def test_unknown_layer_is_a_warning_not_a_failure(session: Session) -> None:
    notes: list[str] = []
    session.messages.connect(lambda level, text: notes.append(text))
    story = story_from_dict(
        {
            "schema": 1,
            "name": "t",
            "steps": [{"duration_s": 1, "layers": {"Trains": {"visible": False}}}],
        }
    )
    StoryPlayer(session, story).seek(0.5)
    assert any("no layer 'Trains'" in n for n in notes)


# -- the session's verbs ----------------------------------------------------------------------
def test_record_edit_move_remove_are_undoable_and_save_atomically(
    session: Session, tmp_path: Path
) -> None:
    session.new_story("Demo")
    assert session.record_step("first", 3.0) == 0
    session.camera.set_pose(B)
    session.set_style(session.layers[0], opacity=0.3)
    session.record_step("second")
    story = session.story
    assert [s.caption for s in story.steps] == ["first", "second"]
    second = story.steps[1]
    assert isinstance(second.camera, PoseSpec) and second.camera.pose() == B
    assert second.layers["Buildings (test)"].opacity == 0.3
    assert second.time == "2026-03-02T08:00:00Z" and second.rate == 0.0
    session.edit_step(1, caption="second, edited", duration_s=4.5)
    with pytest.raises(InputError, match=r"steps\[0\].duration_s"):
        session.edit_step(1, duration_s=0)
    session.move_step(1, 0)
    assert [s.caption for s in session.story.steps] == ["second, edited", "first"]
    session.remove_step(1)
    assert len(session.story.steps) == 1
    for _ in range(3):
        session.commands.undo()
    assert [s.caption for s in session.story.steps] == ["first", "second"]
    with pytest.raises(StoryError, match="choose a file"):
        session.save_story()
    path = session.save_story(tmp_path / "demo.toml")
    assert not session.story_state.dirty
    assert load_story(path) == session.story


def test_story_verbs_play_the_current_story(session: Session) -> None:
    session.story_state.story = _story()
    session.next_step()
    assert session.story_player.index == 0
    session.next_step()  # paused: the step's view, where its flight lands
    assert session.story_player.t_s == 6.0 and session.camera.pose == B
    session.seek_story(4.0)
    assert session.camera.pose == A  # the flight's start: where step one ended
    session.stop_story()
    assert session.camera.pose == A and session.layers[0].opacity == 1.0


def test_step_defaults() -> None:
    step = Step(duration_s=1.0)
    assert step.fly_s == 1.0  # a short step flies all of its length
    assert Step(duration_s=5.0).fly_s == 2.0
    assert Step(duration_s=5.0, transition="cut").fly_s == 0.0


def test_clearing_the_session_drops_the_player_keeps_the_story(session: Session) -> None:
    session.story_state.story = _story()
    old = session.story_player
    old.seek(5.0)
    session.clear()
    assert session.story == _story()
    session.bookmarks.append(Bookmark("Home", A))  # what opens next has its bookmarks
    player = session.story_player
    assert player is not old and player.index == -1


def test_recording_while_a_scenario_is_compared_records_its_file(
    session: Session, tmp_path: Path
) -> None:
    from tests.compare_fixtures import road_set
    from twin_app.model.layers import RoadLayer
    from twin_app.session.compare import Comparison

    roads = RoadLayer(name="Roads", features=road_set())
    session.layers.append(roads)
    cmp = Comparison(session, "Closure")
    cmp.set_result(roads, "flow_veh_h", np.array([5.0, 5, 5]), np.array([8.0, 2, 5]))
    st = session.scenario_state
    st.comparison = cmp
    st.path = tmp_path / "closure.toml"
    session.record_step("plain")
    session.record_step("swiped", compare="swipe")
    plain, swiped = session.story.steps
    assert plain.scenario is None
    assert swiped.scenario == tmp_path / "closure.toml"
    assert swiped.compare_mode == "swipe" and swiped.show == "delta"
    cmp.close()


def test_a_story_that_cannot_be_played_drops_the_old_player(session: Session) -> None:
    session.story_state.story = _story()
    old = session.story_player
    old.play()
    old.advance(5.0)
    pose = session.camera.pose
    bound: list[object] = []
    session.story_player_changed.connect(bound.append)
    bad = {"schema": 1, "name": "bad", "steps": [{"duration_s": 1, "camera": "Nope"}]}
    session.story_state.story = story_from_dict(bad)
    with pytest.raises(StoryError, match="no bookmark 'Nope'"):
        _ = session.story_player
    # nothing of the story before it is left to play, step or present; the view stays
    assert bound == [None] and not old.playing and session.camera.pose == pose
    with pytest.raises(StoryError):
        session.next_step()
    assert session.camera.pose == pose
