"""Stories rendered offscreen into video: frame-exact, deterministic, streamed to ffmpeg.

:class:`StoryFrames` draws a session on an offscreen plotter through the ordinary
:class:`~twin_app.render.viewer.Viewer` binding (no Qt, no X server: Mesa EGL or the GPU's
EGL) and follows a :class:`~twin_app.session.story.StoryPlayer`: a scenario step swaps in a
second offscreen window with the comparison (side by side: two renderers in one window; swipe:
:class:`~twin_app.render.compare.SwipeView`). The caption is a VTK text actor on a renderer of
its own above the picture (:class:`CaptionOverlay`), so it costs no pixel work in Python.

:func:`export_video` writes frame ``k`` as the story at ``t = k / fps``: the player is
*seeked*, never advanced by wall time, so the same story gives the same frames. Each frame is
read from the render window once (``GetPixelData``, bottom row first: ffmpeg's ``vflip`` turns
it) and handed to an encoder thread that pipes it to ffmpeg (``imageio_ffmpeg.write_frames``),
so rendering the next frame overlaps encoding this one and no frame is kept beyond a short
queue.
"""

from __future__ import annotations

import contextlib
import queue
import textwrap
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkTextActor

import twin_app.render._vtk  # noqa: F401  (VTK's OpenGL, text and interactor back ends)
from twin_app.errors import Cancelled, TwinError
from twin_app.render.compare import RendererPlotter, SwipeView
from twin_app.render.plotter import AA, offscreen_plotter
from twin_app.render.viewer import Viewer

if TYPE_CHECKING:
    from twin_app.session import Session
    from twin_app.session.compare import Comparison
    from twin_app.session.story import CompareState, StoryPlayer

#: ``progress(fraction 0..1, message)``.
Progress = Callable[[float, str], None]

#: Frames the encoder thread may fall behind before rendering waits for it.
QUEUE_FRAMES = 4
#: Caption text height as a fraction of the picture's height.
CAPTION_SCALE = 0.034
#: Characters per caption line before it wraps (at 16:9).
CAPTION_CHARS = 70


class VideoError(TwinError):
    """A video that cannot be written (ffmpeg failed, odd size, nothing to play)."""


class CaptionOverlay:
    """A caption at the bottom centre of a render window, on a renderer of its own drawn
    over everything else (a swipe's scenario side included).

    Parameters
    ----------
    ren_win
        The render window.
    """

    def __init__(self, ren_win: vtkRenderWindow) -> None:
        self.ren_win = ren_win
        ren_win.SetNumberOfLayers(max(3, ren_win.GetNumberOfLayers()))
        self.renderer = vtkRenderer()
        self.renderer.SetLayer(ren_win.GetNumberOfLayers() - 1)
        self.renderer.InteractiveOff()
        self.actor = vtkTextActor()
        prop = self.actor.GetTextProperty()
        prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToBottom()
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetBackgroundColor(0.05, 0.07, 0.1)
        prop.SetBackgroundOpacity(0.72)
        prop.SetFrame(False)
        prop.SetShadow(False)
        prop.SetFontFamilyToArial()
        prop.SetLineSpacing(1.15)
        self.actor.SetVisibility(False)
        self.renderer.AddViewProp(self.actor)
        ren_win.AddRenderer(self.renderer)
        # a window resized (full screen, a docked view) lays the caption out again
        self.renderer.AddObserver("StartEvent", self._on_start)
        self._size: tuple[int, int] = (0, 0)
        self.text = ""

    def _on_start(self, *_: object) -> None:
        if tuple(self.ren_win.GetSize()) != self._size:
            self.layout()

    def set_text(self, text: str) -> None:
        """Show `text` (wrapped to lines of about :data:`CAPTION_CHARS`); "" hides it."""
        self.text = text
        lines = textwrap.wrap(" ".join(text.split()), CAPTION_CHARS) if text.strip() else []
        self.actor.SetInput("\n".join(f" {line} " for line in lines))
        self.actor.SetVisibility(bool(lines))
        self.layout()

    def layout(self) -> None:
        """Size and place the text for the window's current size."""
        w, h = self.ren_win.GetSize()
        self._size = (int(w), int(h))
        # by the height of a 16:9 picture as wide as the window: a narrow view (one side of a
        # comparison) gets smaller type, so a line of CAPTION_CHARS still fits across
        self.actor.GetTextProperty().SetFontSize(max(8, round(CAPTION_SCALE * min(h, w * 9 / 16))))
        self.actor.SetPosition(w / 2.0, 0.055 * h)

    def close(self) -> None:
        """Take the caption's renderer out of the window."""
        self.ren_win.RemoveRenderer(self.renderer)


class SideBySide:
    """Baseline left, scenario right, as two renderers of one window (one picture to read).

    Parameters
    ----------
    plotter
        The plotter whose window shows both; its own renderer draws the baseline on the left.
    comparison
        What is compared.
    """

    def __init__(self, plotter: pv.BasePlotter, comparison: Comparison) -> None:
        self.plotter = plotter
        self.comparison = comparison
        plotter.renderer.SetViewport(0.0, 0.0, 0.5, 1.0)
        right = pv.Renderer(plotter, border=False)
        right.SetViewport(0.5, 0.0, 1.0, 1.0)
        plotter.ren_win.AddRenderer(right)
        self.right = right
        camera = comparison.camera
        self.baseline = Viewer(comparison.baseline, plotter, camera=camera)
        self.scenario = Viewer(comparison.scenario, RendererPlotter(plotter, right), camera=camera)
        for viewer in (self.baseline, self.scenario):
            # each half shows the legends of what is compared, not every context layer twice
            viewer.scene.legend_filter = comparison.is_result
            viewer.scene.legends_changed()
        self.scenario.scene.overlays.bar.SetVisibility(False)
        self.scenario.scene.overlays.bar_text.SetVisibility(False)

    def set_split(self, split: float) -> None:
        """Side by side has no split (the same face as :class:`SwipeView`)."""

    def close(self) -> None:
        """Unbind both viewers and take the right renderer out of the window."""
        self.scenario.close()
        self.baseline.close()
        self.plotter.ren_win.RemoveRenderer(self.right)
        self.plotter.renderer.SetViewport(0.0, 0.0, 1.0, 1.0)


class StoryFrames:
    """The pictures of a session as a story plays, offscreen, one frame at a time.

    Parameters
    ----------
    session
        The session drawn (and driven by the player).
    width, height
        Frame size in pixels.
    aa
        Anti-aliasing (see :func:`~twin_app.render.plotter.offscreen_plotter`).
    player
        The player whose caption and compare state the frames follow (None: the session's
        view only, no caption).
    """

    def __init__(
        self,
        session: Session,
        width: int,
        height: int,
        aa: AA = "auto",
        player: StoryPlayer | None = None,
    ) -> None:
        self.session = session
        self.size = (int(width), int(height))
        self.aa: AA = aa
        self.plotter = offscreen_plotter(width, height, aa=aa)
        self.viewer = Viewer(session, self.plotter)
        self.caption = CaptionOverlay(self.plotter.ren_win)
        self._cmp_plotter: pv.Plotter | None = None
        self._cmp_caption: CaptionOverlay | None = None
        self._cmp_view: SideBySide | SwipeView | None = None
        self._cmp_key: tuple[Any, ...] = ()
        self._pixels = vtkUnsignedCharArray()
        self.player: StoryPlayer | None = None
        if player is not None:
            self.follow(player)

    def follow(self, player: StoryPlayer) -> None:
        """Show `player`'s caption and scenario comparison."""
        self.player = player
        player.caption_changed.connect(self._on_caption)
        player.compare_changed.connect(self._on_compare)
        self._on_caption(player.caption)
        self._on_compare(player.compare)

    def _on_caption(self, text: str) -> None:
        self.caption.set_text(text)
        if self._cmp_caption is not None:
            self._cmp_caption.set_text(text)

    def _on_compare(self, state: CompareState | None) -> None:
        cmp = self.session.scenario_state.comparison
        key = (id(cmp), state.mode) if state is not None and cmp is not None else ()
        if key != self._cmp_key:
            self._close_compare()
            self._cmp_key = key
            if key:
                assert state is not None
                self._open_compare(cmp, state)
        if self._cmp_view is not None and state is not None:
            self._cmp_view.set_split(state.split)

    def _open_compare(self, cmp: Comparison, state: CompareState) -> None:
        if self._cmp_plotter is None:
            self._cmp_plotter = offscreen_plotter(*self.size, aa=self.aa)
            self._cmp_caption = CaptionOverlay(self._cmp_plotter.ren_win)
            self._cmp_caption.set_text(self.caption.text)
        plotter = self._cmp_plotter
        if state.mode == "swipe":
            self._cmp_view = SwipeView(plotter, cmp, split=state.split)
        else:
            self._cmp_view = SideBySide(plotter, cmp)

    def _close_compare(self) -> None:
        if self._cmp_view is not None:
            self._cmp_view.close()
            self._cmp_view = None

    @property
    def active_plotter(self) -> pv.Plotter:
        """The window the current frame comes from (the comparison's during a scenario step)."""
        if self._cmp_view is not None and self._cmp_plotter is not None:
            return self._cmp_plotter
        return self.plotter

    def render(self) -> None:
        """Render the current picture (no read-back: what a raw render rate measures)."""
        self.active_plotter.ren_win.Render()

    def grab(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """Render and read the picture once: (height, width, 3) uint8, **bottom row first**
        (OpenGL's order; :func:`export_video` lets ffmpeg flip it). A view of a buffer that
        the next :meth:`grab` overwrites."""
        ren_win = self.active_plotter.ren_win
        ren_win.Render()
        w, h = self.size
        ren_win.GetPixelData(0, 0, w - 1, h - 1, 0, self._pixels, 0)
        pixels: np.ndarray[Any, np.dtype[np.uint8]] = vtk_to_numpy(self._pixels)
        return pixels.reshape(h, w, 3)

    def image(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """Render and return the picture top row first (a copy), as a PNG shows it."""
        return np.ascontiguousarray(self.grab()[::-1])

    def close(self) -> None:
        """Unbind the viewers and close the offscreen windows."""
        if self.player is not None:
            self.player.caption_changed.disconnect(self._on_caption)
            self.player.compare_changed.disconnect(self._on_compare)
            self.player = None
        self._close_compare()
        self.viewer.close()
        self.caption.close()
        self.plotter.close()
        if self._cmp_plotter is not None:
            self._cmp_plotter.close()
            self._cmp_plotter = None


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`export_video` wrote.

    Attributes
    ----------
    path
        The video file.
    frames, fps, size
        Frame count, frames per second and (width, height).
    seconds
        Wall time the export took (scenario runs excluded).
    """

    path: Path
    frames: int
    fps: float
    size: tuple[int, int]
    seconds: float

    @property
    def frames_per_s(self) -> float:
        """Frames exported per wall second."""
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def frame_count(duration_s: float, fps: float) -> int:
    """Frames of a story `duration_s` long at `fps`: frame ``k`` shows ``t = k / fps`` and the
    last one the story's end (``round(duration_s * fps) + 1`` frames)."""
    return max(1, round(duration_s * fps) + 1)


class _Encoder:
    """An ffmpeg process fed from a thread: :meth:`put` hands over one frame's bytes."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, quality: float) -> None:
        import imageio_ffmpeg

        self.gen: Generator[Any, Any, None] = imageio_ffmpeg.write_frames(
            str(path),
            size,
            fps=fps,
            codec="libx264",
            quality=quality,
            macro_block_size=1,
            pix_fmt_out="yuv420p",
            ffmpeg_log_level="error",
            # frames come bottom row first (OpenGL). x264's threads are deterministic (unless
            # told --non-deterministic): the same frames give the same bytes
            # superfast: a third of veryfast's CPU for a bit more size (the encoder shares the
            # cores with a software GL's rendering)
            output_params=["-vf", "vflip", "-preset", "superfast"],
        )
        self.gen.send(None)
        self.q: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="video-encoder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain: the producer learns of the error at its next put
            try:
                self.gen.send(item)
            except BaseException as exc:  # ffmpeg died: tell the producer
                self.error = exc

    def put(self, frame: bytes) -> None:
        if self.error is not None:
            raise VideoError(f"ffmpeg stopped: {self.error}")
        self.q.put(frame)

    def finish(self) -> None:
        self.q.put(None)
        self.thread.join()
        try:
            self.gen.close()
        except BaseException as exc:
            raise VideoError(f"ffmpeg could not finish the video: {exc}") from None
        if self.error is not None:
            raise VideoError(f"ffmpeg stopped: {self.error}")


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) as ints, or :class:`VideoError`: H.264's 4:2:0 wants both even."""
    w, h = (int(size[0]), int(size[1]))
    if w % 2 or h % 2 or w < 16 or h < 16:
        raise VideoError(f"video size {w}x{h}: width and height must be even and at least 16")
    return w, h


def export_video(
    session: Session,
    player: StoryPlayer,
    output: Path | str,
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30.0,
    aa: AA = "auto",
    quality: float = 5.5,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    frames: StoryFrames | None = None,
    span: tuple[float, float] | None = None,
) -> VideoInfo:
    """Render a story into an MP4 (H.264), frame ``k`` at story time ``k / fps``.

    Parameters
    ----------
    session, player
        The session and the player of the story (its scenarios already run with
        :meth:`~twin_app.session.story.StoryPlayer.prepare`, or they are shown without).
    output
        The ``.mp4`` file (its folder is made).
    size, fps
        Frame size in pixels (even numbers, for H.264's 4:2:0) and frames per second.
    aa
        Anti-aliasing of the offscreen window.
    quality
        ffmpeg quality 1..10 (imageio-ffmpeg's scale; 10 is best): the default 5.5 is x264's
        CRF 22, about its own default (the sample tour's Barbican flight at 1080p and 30 fps:
        16.5 MB for 4 s).
    progress
        Told ``(fraction, "frame k/n")`` after each frame.
    cancelled
        Asked after each frame; True stops the export (the partial file is removed).
    frames
        A :class:`StoryFrames` to draw with (default: one made and closed here).
    span
        Film only story times ``start <= t <= end`` (frame ``k`` at ``start + k / fps``).

    Raises
    ------
    VideoError
        Odd frame size, an empty story, or ffmpeg failed.
    Cancelled
        `cancelled` answered true.
    """
    w, h = check_size(size)
    if not player.timeline.beats:
        raise VideoError(f"{player.story.label}: the story has no steps to film")
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0, t1 = span if span is not None else (0.0, player.duration_s)
    t0, t1 = max(0.0, float(t0)), min(float(t1), player.duration_s)
    if t1 < t0:
        raise VideoError(f"video span {t0:g}..{t1:g} s is empty")
    n = frame_count(t1 - t0, fps)
    own = frames is None
    drawer = frames if frames is not None else StoryFrames(session, w, h, aa=aa)
    if drawer.player is not player:
        drawer.follow(player)
    was_playing = player.playing
    player.pause()
    started = time.perf_counter()
    encoder = _Encoder(out, (w, h), fps, quality)
    done = False
    try:
        for k in range(n):
            player.seek(t0 + k / fps)
            encoder.put(drawer.grab().tobytes())
            if progress is not None:
                progress((k + 1) / n, f"frame {k + 1}/{n}")
            if cancelled is not None and cancelled():
                raise Cancelled(f"{out}: video export cancelled at frame {k + 1} of {n}")
        encoder.finish()
        done = True
    finally:
        if not done:
            encoder.q.put(None)
            encoder.thread.join()
            # the export failed already: that is the error to report, not ffmpeg's
            with contextlib.suppress(BaseException):
                encoder.gen.close()
            out.unlink(missing_ok=True)
        if own:
            drawer.close()
        if was_playing:
            player.play()
    return VideoInfo(out, n, float(fps), (w, h), time.perf_counter() - started)


def export_file(
    path: Path | str,
    output: Path | str,
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30.0,
    aa: AA = "auto",
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> VideoInfo:
    """``twin video``: open a story (or a scenario) file with its twin, run its scenarios,
    and film it offscreen into `output` (see :func:`export_video`). Progress: the first
    tenth opening and running, the rest filming."""
    from twin_app.session.story import open_for_video

    check_size(size)

    def part(lo: float, hi: float) -> Progress | None:
        if progress is None:
            return None
        return lambda frac, msg: progress(lo + (hi - lo) * frac, msg)

    session, _story, results = open_for_video(path, part(0.0, 0.1), cancelled)
    frames = StoryFrames(session, size[0], size[1], aa=aa)  # the view frames the twin first
    try:
        player = session.story_player
        player.results.update(results)
        return export_video(
            session, player, output, size, fps, aa, progress=part(0.1, 1.0),
            cancelled=cancelled, frames=frames,
        )  # fmt: skip
    finally:
        frames.close()


__all__ = [
    "CaptionOverlay",
    "SideBySide",
    "StoryFrames",
    "VideoError",
    "VideoInfo",
    "check_size",
    "export_file",
    "export_video",
    "frame_count",
]
