"""Story video: frames rendered offscreen through the Viewer binding, piped to ffmpeg, decode to
the right count and size, and the same story gives the same frames (frame k = story at k/fps)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest

from tests.box_buildings import box_buildings
from twin_app.cli import main
from twin_app.errors import Cancelled
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.story_file import story_from_dict
from twin_app.render.video import StoryFrames, VideoError, export_video, frame_count
from twin_app.session import Session

W, H, FPS = 160, 90, 9.0


def _session() -> Session:
    s = Session()
    s.layers.append(box_buildings([(-30, -30, 0, 0), (20, 10, 50, 40)], [15.0, 45.0]))
    return s


# Ten frames: 0, 1/9 ... 1 s. A flight between two poses, then the buildings fade.
STORY = {
    "schema": 1,
    "name": "tiny",
    "steps": [
        {"caption": "Two buildings", "duration_s": 0.5, "transition": "cut",
         "camera": {"position": [0, -250, 180], "focal_point": [10, 5, 10]}},
        {"caption": "", "duration_s": 0.5, "transition_s": 0.5, "easing": "linear",
         "camera": {"position": [200, -150, 120], "focal_point": [10, 5, 10]},
         "layers": {"Buildings": {"opacity": 0.4}}},
    ],
}  # fmt: skip


def _export(path: Path, **kw: Any) -> list[str]:
    """Export the tiny story to `path`; the hashes of the raw frames rendered."""
    session = _session()
    frames = StoryFrames(session, W, H, aa="off")
    session.story_state.story = story_from_dict(STORY)
    player = session.story_player
    hashes: list[str] = []
    grab = frames.grab

    def hashed() -> Any:
        img = grab()
        hashes.append(hashlib.sha256(img.tobytes()).hexdigest())
        return img

    frames.grab = hashed  # type: ignore[method-assign]
    try:
        export_video(session, player, path, (W, H), FPS, aa="off", frames=frames, **kw)
    finally:
        frames.close()
    return hashes


def _decode(path: Path) -> list[np.ndarray]:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    assert tuple(meta["size"]) == (W, H)
    return [np.frombuffer(f, np.uint8).reshape(H, W, 3) for f in gen]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str], list[str]]:
    d = tmp_path_factory.mktemp("video")
    a, b = d / "a.mp4", d / "b.mp4"
    return a, b, _export(a), _export(b)


def test_video_decodes_to_every_frame_at_its_size(two_runs: Any) -> None:
    a, _, hashes, _ = two_runs
    assert frame_count(1.0, FPS) == 10
    frames = _decode(a)
    assert len(frames) == len(hashes) == 10
    # the flight moves the picture from frame to frame: not ten copies of one image
    diffs = [np.abs(frames[k + 1].astype(int) - frames[k]).mean() for k in range(5, 9)]
    assert min(diffs) > 0.5


def test_same_story_gives_the_same_frames(two_runs: Any) -> None:
    a, b, ha, hb = two_runs
    assert ha == hb  # the rendered frames, bit for bit
    assert a.read_bytes() == b.read_bytes()  # and the files (x264 without --non-deterministic)
    for fa, fb in zip(_decode(a), _decode(b), strict=True):
        np.testing.assert_array_equal(fa, fb)


def test_frames_are_upright_and_carry_the_caption(two_runs: Any) -> None:
    a, *_ = two_runs
    frames = _decode(a)
    first, last = frames[0].astype(int), frames[-1].astype(int)
    # the caption's dark band sits at the bottom centre of frame 0 (so the frames are not
    # upside down) and is gone in the last frame (the second step has no caption)
    band = (slice(int(0.83 * H), int(0.93 * H)), slice(int(0.3 * W), int(0.7 * W)))
    assert first[band].mean() < last[band].mean() - 20


def test_cancel_stops_and_removes_the_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "c.mp4"
    calls: list[float] = []
    with pytest.raises(Cancelled, match="cancelled at frame 3 of 10"):
        _export(out, progress=lambda f, _m: calls.append(f), cancelled=lambda: len(calls) >= 3)
    assert not out.exists()
    assert calls == pytest.approx([0.1, 0.2, 0.3])


def test_odd_size_and_empty_story_are_refused(tmp_path: Path) -> None:
    session = _session()
    session.story_state.story = story_from_dict(STORY)
    with pytest.raises(VideoError, match="must be even"):
        export_video(session, session.story_player, tmp_path / "x.mp4", (161, 90))
    session.story_state.story = story_from_dict({"schema": 1, "name": "empty"})
    with pytest.raises(VideoError, match="no steps"):
        export_video(session, session.story_player, tmp_path / "x.mp4", (160, 90))


def test_cli_video_of_a_bad_file_is_one_line(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\nname = 't'\n[[steps]]\nduration_s = 0\n")
    assert main(["video", str(bad), "-o", str(tmp_path / "o.mp4"), "--size", "160x90"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "key 'steps[0].duration_s'" in err


@pytest.mark.slow
def test_cli_films_a_story_on_the_sample_twin(tmp_path: Path) -> None:
    story = tmp_path / "s.toml"
    story.write_text(
        f'schema = 1\nname = "s"\ntwin = "{SAMPLE_DIR.as_posix()}"\n'
        '[[steps]]\ncaption = "hello"\nduration_s = 0.4\ntime = "2026-03-02T08:00"\nrate = 600\n'
    )
    out = tmp_path / "s.mp4"
    assert main(["video", str(story), "-o", str(out), "--size", "160x90", "--fps", "10"]) == 0
    gen = imageio_ffmpeg.read_frames(str(out))
    assert tuple(next(gen)["size"]) == (160, 90)
    assert sum(1 for _ in gen) == 5


@pytest.mark.parametrize("mode", ["side_by_side", "swipe"])
def test_scenario_step_shows_baseline_left_and_the_change_right(mode: str) -> None:
    from tests.compare_fixtures import compare_session
    from twin_app.model.camera import CameraPose
    from twin_app.session.compare import Comparison
    from twin_app.session.story import CompareState

    session = compare_session()
    # looking straight down from far enough that each half shows every road
    session.camera.set_pose(CameraPose((0.0, 0.0, 900.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)))
    frames = StoryFrames(session, 320, 180, aa="off")
    cmp = Comparison(session, "Closure")
    roads = session.layers[1]
    cmp.set_result(roads, "flow_veh_h", np.array([500.0, 500, 500]), np.array([800.0, 200, 500]))
    session.scenario_state.comparison = cmp
    for viewer in (frames.viewer,):
        viewer.scene.show_legends = False
        viewer.scene.legends_changed()
    frames._on_compare(CompareState(mode, "delta", 0.5, Path("s.toml")))  # type: ignore[arg-type]
    assert frames.active_plotter is not frames.plotter
    view = frames._cmp_view
    assert view is not None
    for v in (view.baseline, view.scenario):
        v.scene.show_legends = False
        v.scene.legends_changed()
    img = frames.image().astype(int)
    left, right = img[:, : 160 - 4], img[:, 160 + 4 :]

    def reds(a: np.ndarray) -> int:
        return int(((a[..., 0] - a[..., 2]) > 60).sum())

    def blues(a: np.ndarray) -> int:
        return int(((a[..., 2] - a[..., 0]) > 60).sum())

    assert reds(right) > 50 and blues(right) > 50  # the change: more on one road, less on one
    assert reds(left) < 5  # the baseline's flows, on a sequential map
    frames._on_compare(None)
    assert frames.active_plotter is frames.plotter
    frames.close()
    cmp.close()
