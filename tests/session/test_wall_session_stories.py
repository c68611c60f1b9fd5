"""The stories a wall opened from the app plays (twin_app.session.wall.session_stories): the
session's current story as it is now, then its twins' shipped stories, each file once."""

from __future__ import annotations

import shutil
from pathlib import Path

from twin_app.session import Session
from twin_app.session.wall import session_stories

STORY = """schema = 1
name = "{name}"
[[steps]]
caption = "{name} one"
duration_s = 1.0
transition = "cut"
camera = {{ position = [10.0, -300.0, 200.0], focal_point = [10.0, 0.0, 0.0] }}
"""
MANIFEST = """schema_version = 1
name = "Tiny"
[[sources]]
path = "ground.city.json"
licence = "CC0"
attribution = "test ground"
"""
DATA = Path(__file__).resolve().parents[1] / "data"


def tiny_twin(folder: Path, stories: tuple[str, ...]) -> Path:
    """A twin folder with one small CityJSON file and `stories` in its ``stories/``."""
    (folder / "stories").mkdir(parents=True)
    (folder / "manifest.toml").write_text(MANIFEST)
    shutil.copy(DATA / "ground.city.json", folder / "ground.city.json")
    for name in stories:
        (folder / "stories" / f"{name}.toml").write_text(STORY.format(name=name))
    return folder


def test_the_current_story_then_the_twins_own_each_file_once(tmp_path: Path) -> None:
    twin = tiny_twin(tmp_path / "twin", ("alpha", "beta"))
    session = Session()
    session.add_twin(session.open_twin(twin), describe=False)
    # no story authored yet: the twin's own
    assert [s.name for s in session_stories(session)] == ["alpha", "beta"]
    assert session_stories(session, shipped=False) == []

    # a story opened from elsewhere plays first, then the twin's
    mine = tmp_path / "mine.toml"
    mine.write_text(STORY.format(name="mine"))
    session.open_story(mine)
    assert [s.name for s in session_stories(session)] == ["mine", "alpha", "beta"]

    # the twin's own beta, opened (through another spelling of its path) and edited: once,
    # as edited, in the place of the current story
    session.open_story(twin / "stories" / ".." / "stories" / "beta.toml")
    session.edit_step(0, caption="beta, edited")
    got = session_stories(session)
    assert [s.name for s in got] == ["beta", "alpha"]
    assert got[0].steps[0].caption == "beta, edited"
    assert got[0] is session.story_state.story

    # a new story with no steps yet has nothing to play
    session.new_story("Empty")
    assert [s.name for s in session_stories(session)] == ["alpha", "beta"]


def test_a_bad_shipped_story_is_told_and_left_out(tmp_path: Path) -> None:
    twin = tiny_twin(tmp_path / "twin", ("alpha",))
    (twin / "stories" / "broken.toml").write_text("schema = 1\nname = 3\n")
    session = Session()
    session.add_twin(session.open_twin(twin), describe=False)
    said: list[str] = []
    session.messages.connect(lambda level, text: said.append(f"{level}: {text}"))
    assert [s.name for s in session_stories(session)] == ["alpha"]
    assert len(said) == 1 and said[0].startswith("warning: wall: ") and "broken.toml" in said[0]
