"""Video export against the raw offscreen render rate of the same scene (issue 11).

    python benchmarks/bench_video.py [--json] [--size 1920x1080] [--fps 30] [--from 6] [--seconds 4]

The sample twin's example story (twin_app/city_models/city_of_london/stories/tour.toml) is
opened headless (its scenario run first, not timed) and a span of it is filmed twice, on the
same offscreen window (Mesa EGL here, the GPU's EGL where there is one):

- raw_render_fps: frames per second of seeking the story to each frame's time and rendering
  the window, nothing read back (the scene's own rate: camera, clock, layer updates, draw)
- grab_fps: the same plus reading each frame from the window once (no encoding)
- video_fps: frames per second of ``export_video`` over the same frames: render, read back,
  hand to the encoder thread that pipes it to ffmpeg (libx264), to the closed MP4
- video_ratio: video_fps / raw_render_fps (target >= 0.7)

The default span (6 to 10 s) is the fly to the Barbican and its orbit: the camera moves in
every frame.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import emit

STORY = (
    Path(__file__).resolve().parents[1]
    / "twin_app"
    / "city_models"
    / "city_of_london"
    / "stories"
    / "tour.toml"
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--from", dest="start", type=float, default=6.0)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    from twin_app.render.plotter import gl_info
    from twin_app.render.video import StoryFrames, export_video, frame_count
    from twin_app.session.story import open_for_video

    t = time.perf_counter()
    session, _story, results = open_for_video(STORY)
    open_s = time.perf_counter() - t
    frames = StoryFrames(session, w, h, aa="auto")
    player = session.story_player
    player.results.update(results)
    frames.follow(player)
    t0, fps = args.start, args.fps
    n = frame_count(args.seconds, fps)
    for k in range(5):  # warm up: first draws upload meshes and compile shaders
        player.seek(t0 + k / fps)
        frames.grab()

    t = time.perf_counter()
    for k in range(n):
        player.seek(t0 + k / fps)
        frames.render()
    raw_fps = n / (time.perf_counter() - t)

    t = time.perf_counter()
    for k in range(n):
        player.seek(t0 + k / fps)
        frames.grab()
    grab_fps = n / (time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.mp4"
        info = export_video(
            session, player, out, (w, h), fps, frames=frames, span=(t0, t0 + args.seconds)
        )
        mp4_mb = out.stat().st_size / 1e6
    frames.close()
    emit(
        {
            "size": f"{w}x{h}",
            "gl_renderer": gl_info().renderer,
            "frames": n,
            "open_and_scenarios_s": round(open_s, 2),
            "raw_render_fps": raw_fps,
            "grab_fps": grab_fps,
            "video_fps": info.frames_per_s,
            "video_ratio": info.frames_per_s / raw_fps,
            "mp4_mb": mp4_mb,
        },
        args.json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
