"""The wall's loop without a window: a round of bookmarks, then each story in full, then the
bookmarks again (twin_app.session.wall.WallProgram)."""

from __future__ import annotations

from pathlib import Path

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.story_file import load_story
from twin_app.model.camera import CameraPose
from twin_app.session import Session
from twin_app.session.wall import Tour, WallProgram, tour_items, twin_stories, wall_stories

STORY = """schema = 1
name = "{name}"
[[steps]]
caption = "{name} one"
duration_s = 1.0
transition = "cut"
camera = {{ position = [10.0, -300.0, 200.0], focal_point = [10.0, 0.0, 0.0] }}
[[steps]]
caption = "{name} two"
duration_s = 1.0
transition = "cut"
camera = {{ position = [400.0, 0.0, 250.0], focal_point = [20.0, 0.0, 0.0] }}
"""


def _story(tmp_path: Path, name: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(STORY.format(name=name))
    return p


def test_stops_then_each_story_in_full_then_stops_again(tmp_path: Path) -> None:
    session = Session()
    poses = [
        CameraPose((0.0, -100.0 * k - 100, 50.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
        for k in range(2)
    ]
    for k, p in enumerate(poses):
        session.add_bookmark(f"stop {k}", p)
    session.camera.set_pose(poses[0])
    session.clock.set_rate(100.0)
    now = [0.0]
    tour = Tour(session.camera, lambda: tour_items(session), 10.0, fly_s=0.0, now=lambda: now[0])
    stories = [load_story(_story(tmp_path, n)) for n in ("alpha", "beta")]
    program = WallProgram(session, tour, stories)
    log: list[str] = []
    program.stop_changed.connect(lambda s: log.append(s.name))
    program.story_started.connect(lambda p: log.append(f"start {p.story.name}"))
    program.story_ended.connect(lambda p: log.append(f"end {p.story.name}"))
    captions: list[str] = []
    program.story_started.connect(lambda p: p.caption_changed.connect(captions.append))

    def run(seconds: float, dt: float = 0.25) -> None:
        for _ in range(round(seconds / dt)):
            now[0] += dt
            program.step(dt)

    program.start()
    assert log == ["stop 0"] and program.phase == "stops"
    run(10.0)
    assert log == ["stop 0", "stop 1"]
    run(10.0)  # the round's last stop had its interval: the first story
    assert program.phase == "story" and log[-1] == "start alpha"
    assert program.player is not None and not session.clock.playing  # the story holds it
    run(0.5)
    assert session.camera.pose is not None
    assert session.camera.pose.position == (10.0, -300.0, 200.0)  # step one's pose
    run(1.0)
    assert session.camera.pose.position == (400.0, 0.0, 250.0)
    run(1.0)  # alpha ended: the view as it was, beta next
    assert log[-2:] == ["end alpha", "start beta"]
    run(2.5)
    assert log[-2:] == ["end beta", "stop 0"]  # back to the bookmarks, on a loop
    assert captions == ["alpha one", "alpha two", "beta one", "beta two"]
    assert program.phase == "stops" and program.player is None
    assert session.camera.pose == poses[0]
    assert session.clock.rate == 100.0  # the clock's rate is put back
    run(20.0)
    assert log[-2:] == ["stop 1", "start alpha"]


def test_a_story_waits_for_its_scenarios_and_stories_alone_loop(tmp_path: Path) -> None:
    session = Session()
    scen = tmp_path / "s.toml"
    scen.write_text("schema = 1\nname = 's'\n")
    text = STORY.format(name="gamma") + f'scenario = "{scen.name}"\ncompare = "side_by_side"\n'
    (tmp_path / "gamma.toml").write_text(text)
    waiting = load_story(tmp_path / "gamma.toml")
    plain = load_story(_story(tmp_path, "delta"))
    program = WallProgram(session, None, [waiting, plain])
    assert not program.ready(waiting) and program.ready(plain)
    started: list[str] = []
    program.story_started.connect(lambda p: started.append(p.story.name))
    program.start()
    for _ in range(12):  # 3 s: the 2 s story, then again
        program.step(0.25)
    assert started == ["delta", "delta"]  # no stops: the ready story alone, on a loop


def test_the_sample_twin_ships_its_stories() -> None:
    assert [p.name for p in twin_stories(SAMPLE_DIR)] == ["tour.toml"]
    assert twin_stories(SAMPLE_DIR / "manifest.toml") == twin_stories(SAMPLE_DIR)
    assert twin_stories(SAMPLE_DIR / "scenarios") == []


def test_the_wall_plays_the_stories_asked_for_then_the_twins_own(tmp_path: Path) -> None:
    mine = _story(tmp_path, "mine")
    names = [s.name for s in wall_stories(SAMPLE_DIR, [mine, mine])]
    assert names == ["mine", "A tour of the City of London"]  # each file once
    assert [s.name for s in wall_stories(SAMPLE_DIR, [mine], shipped=False)] == ["mine"]
    scenario = SAMPLE_DIR / "scenarios" / "close_road.toml"
    assert wall_stories(scenario) == []  # only a twin target brings its stories
