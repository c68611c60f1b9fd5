"""The Story menu and presenter mode of the main window (issue 11). Thin: every verb is the
session's (:mod:`twin_app.session.story`); this only maps keys and menu entries onto them, moves
the player by wall time on a timer, shows the caption and, for a scenario step, the compare
view.

Keys: Page Down / Page Up (what a presenter remote sends) go to the next / previous step; while
presenting full screen the arrow keys do too (outside it they walk the 3D view); F6 plays or
pauses the story, Shift+F5 (a remote's "start show") presents and Esc ends the presentation
(and pauses the story: it must not move the window's view on its own). A story that cannot be
played (a bookmark neither it nor the session has) is told in Messages and never presented.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QProgressDialog

from twin_app.errors import TwinError
from twin_app.render.video import CaptionOverlay

if TYPE_CHECKING:
    from twin_app.session.story import CompareState, StoryPlayer
    from twin_app.ui.main_window import QtMainWindow

STORY_FILTER = "Story (*.toml);;All files (*)"
#: Player timer interval, ms (the view's own render timer coalesces the frames).
TICK_MS = 30


class StoryPresenter(QObject):
    """The Story menu, the presenter keys and the caption of one main window.

    Parameters
    ----------
    window
        The main window (its session, 3D view, compare dock and worker are used).
    """

    def __init__(self, window: QtMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.presenting = False
        self._hidden: list[Any] = []
        self.caption = CaptionOverlay(window.view.interactor.ren_win)
        self._player: StoryPlayer | None = None
        #: The caption over the compare view while a scenario step is presented: (view, overlay).
        self._cmp_caption: tuple[Any, CaptionOverlay] | None = None
        self._elapsed = QElapsedTimer()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        from twin_app.ui.story_panel import QtStoryPanel

        self.panel = QtStoryPanel(self.session, window._report, compare=self.compare_shown)
        self.dock = window._dock(
            "Story", self.panel, Qt.DockWidgetArea.RightDockWidgetArea, "story"
        )
        self.dock.hide()
        self._build_actions()
        self.menu = self._build_menu()
        self.session.story_player_changed.connect(self._bind)
        # an edit makes a new player of the new story: the keys and the timer follow it
        self.session.story_state.events.story.connect(self._on_story)

    # -- actions and menu --------------------------------------------------------------------
    def _action(self, text: str, slot: Any, keys: tuple[Any, ...] = (), tip: str = "") -> QAction:
        a = QAction(text, self.window)
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        a.triggered.connect(slot)
        self.window.addAction(a)  # the shortcuts work with the menu bar hidden
        return a

    def _build_actions(self) -> None:
        K = Qt.Key
        self.open_action = self._action("&Open story…", self._on_open)
        self.panel_action = self._action(
            "Story &panel", self.show_panel, (), "Record, edit, reorder and preview the steps"
        )
        self.save_action = self._action("&Save story", self._on_save)
        self.save_as_action = self._action("Save story &as…", self._on_save_as)
        self.play_action = self._action(
            "&Play / pause story", self.toggle, (K.Key_F6,), "Play or pause the story"
        )
        self.next_action = self._action(
            "&Next step", self.next_step, (K.Key_PageDown,), "Next step (Page Down)"
        )
        self.previous_action = self._action(
            "P&revious step", self.previous_step, (K.Key_PageUp,), "Previous step (Page Up)"
        )
        self.record_action = self._action(
            "&Record step", self._on_record, (), "Add the current view as a step of the story"
        )
        self.present_action = self._action(
            "Present &full screen", self.present, ("Shift+F5",), "Present the story full screen"
        )
        self.stop_action = self._action(
            "S&top story", self.stop, (), "End the story: the view as it was before it"
        )
        self.end_action = self._action("&End presentation", self.end_presenting)
        self.video_action = self._action("&Export video…", self._on_export_video)

    def _build_menu(self) -> QMenu:
        bar = self.window.menuBar()
        m = QMenu("St&ory", bar)
        # before Help, the last menu
        if bar.actions():
            bar.insertMenu(bar.actions()[-1], m)
        else:
            bar.addMenu(m)
        for item in (
            self.panel_action,
            self.open_action,
            self.save_action,
            self.save_as_action,
            None,
            self.play_action,
            self.next_action,
            self.previous_action,
            self.present_action,
            self.end_action,
            self.stop_action,
            None,
            self.record_action,
            self.video_action,
        ):
            if item is None:
                m.addSeparator()
            else:
                m.addAction(item)
        return m

    # -- the player ----------------------------------------------------------------------------
    @property
    def player(self) -> StoryPlayer:
        """The session's player of the current story."""
        return self.session.story_player

    def _on_story(self, *_: Any) -> None:
        # a story that does not fit the session (a bookmark it lacks) is told, not raised
        # into the edit that changed it; it stays the current story (the Story panel shows it,
        # Undo brings back the one before), and the session dropped the old story's player
        self._playable("cannot be played (it stays in the Story panel; Undo goes back)")

    def _playable(self, what: str) -> StoryPlayer | None:
        """The current story's player, or None after one line in Messages saying why the
        story `what` (its name first)."""
        try:
            return self.player
        except TwinError as exc:
            self.window._report("error", f"story {self.session.story.name!r} {what}: {exc}")
            return None

    def _bind(self, player: StoryPlayer | None) -> None:
        old = self._player
        if old is not None:
            old.caption_changed.disconnect(self._on_caption)
            old.compare_changed.disconnect(self._on_compare)
            old.playing_changed.disconnect(self._on_playing)
        self._player = player
        if player is None:
            self._on_caption("")
            self._on_compare(None)
            self.timer.stop()
            return
        player.caption_changed.connect(self._on_caption)
        player.compare_changed.connect(self._on_compare)
        player.playing_changed.connect(self._on_playing)
        self._on_caption(player.caption)

    def _on_caption(self, text: str) -> None:
        self.caption.set_text(text)
        self.window.view.scene.request_render()
        if self._cmp_caption is not None:
            view, overlay = self._cmp_caption
            overlay.set_text(text)
            view.scene.request_render()

    def _caption_on_compare(self) -> None:
        """Presenting a scenario step, the caption goes over the compare view's last view (the
        scenario's, or the swipe's one picture)."""
        self._drop_compare_caption()
        view = self.window.compare_view
        if not self.presenting or view is None or not view.views:
            return
        target = view.views[-1]
        overlay = CaptionOverlay(target.interactor.ren_win)
        overlay.set_text(self.caption.text)
        self._cmp_caption = (target, overlay)
        target.scene.request_render()

    def _drop_compare_caption(self) -> None:
        if self._cmp_caption is not None:
            view, overlay = self._cmp_caption
            self._cmp_caption = None
            if view in (self.window.compare_view.views if self.window.compare_view else []):
                overlay.close()
                view.scene.request_render()

    def _on_compare(self, state: CompareState | None) -> None:
        w = self.window
        if state is None:
            self._drop_compare_caption()
            if w.compare_dock is not None and w.compare_dock.isVisible():
                w.show_compare(False)
            w.view.setVisible(True)
            return
        w.show_compare(True)
        view = w.compare_view
        if view is not None:
            view.set_mode("swipe" if state.mode == "swipe" else "side")
            view.set_split(state.split)
        if self.presenting:  # the comparison takes the screen, with the caption
            w.view.setVisible(False)
            self._caption_on_compare()

    def _on_playing(self, playing: bool) -> None:
        if playing:
            self._elapsed.restart()
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        if self._player is not None:
            self._player.advance(self._elapsed.restart() / 1000.0)

    def show_panel(self) -> None:
        """Show the Story panel."""
        self.dock.show()
        self.dock.raise_()

    # -- verbs -----------------------------------------------------------------------------------
    def _guard(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except TwinError as exc:
            self.window._report("error", str(exc))
            return None

    def toggle(self) -> None:
        """Play or pause the story."""
        self._guard(self.session.toggle_story)

    def next_step(self) -> None:
        """The next step."""
        self._guard(self.session.next_step)

    def previous_step(self) -> None:
        """The previous step."""
        self._guard(self.session.previous_step)

    def stop(self) -> None:
        """End the presentation and put the view back as it was before the story."""
        if self.presenting:
            self.end_presenting()
        self.session.stop_story()

    def open_story(self, path: Path) -> None:
        """Open a story file and run the scenarios it shows in the background."""
        story = self._guard(self.session.open_story, path)
        if story is None:
            return
        # the story change made and bound its player (_on_story), or told why it could not
        player = self._player
        if player is None or player.story is not story:
            return
        self.window._set_status(f"story {story.name}: {len(story.steps)} steps")
        if not player.scenario_files():
            player.go_to_step(0)
            return
        if self.window.loading:
            self.window._report("warning", "the story's scenarios run once the load has ended")
            return
        session = self.session

        def work(progress: Any, cancelled: Any) -> Any:
            from twin_app.session.story import run_scenarios

            return run_scenarios(session, story, progress, cancelled, set(player.results))

        def done(results: Any) -> None:
            current = self.player
            current.results.update(results)
            if current.index < 0:
                current.go_to_step(0)
            else:
                current.refresh()  # the step shown gets its comparison

        self.window._start_worker(work, done, f"running the scenarios of {story.name}…")

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open story", "", STORY_FILTER)
        if path:
            self.open_story(Path(path))

    def _on_save(self) -> None:
        if self.session.story_state.path is None:
            self._on_save_as()
            return
        path = self._guard(self.session.save_story)
        if path is not None:
            self.window._set_status(f"saved {path}")

    def _on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save story", "", STORY_FILTER)
        if path:
            saved = self._guard(self.session.save_story, Path(path))
            if saved is not None:
                self.window._set_status(f"saved {saved}")

    def _on_record(self) -> None:
        caption, ok = QInputDialog.getText(self.window, "Record step", "Caption:")
        if ok:
            i = self._guard(self.session.record_step, caption, compare=self.compare_shown())
            if i is not None:
                self.window._set_status(f"recorded step {i + 1}")

    def compare_shown(self) -> str | None:
        """How the compare view shows a comparison now (None: it is not shown)."""
        w = self.window
        if w.compare_view is None or w.compare_dock is None or not w.compare_dock.isVisible():
            return None
        return "swipe" if w.compare_view.mode == "swipe" else "side_by_side"

    def _on_export_video(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export video", "", "MP4 (*.mp4)")
        if path:
            self.export_video(Path(path))

    def export_video(self, path: Path, size: tuple[int, int] = (1920, 1080)) -> Any:
        """Film the story offscreen (progress dialog, cancellable); the window's view follows."""
        from PySide6.QtWidgets import QApplication

        from twin_app.render.video import export_video

        dialog = QProgressDialog("Exporting video…", "Cancel", 0, 1000, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)

        def progress(frac: float, msg: str) -> None:
            dialog.setValue(round(1000 * frac))
            dialog.setLabelText(f"Exporting video: {msg}")
            QApplication.processEvents()

        info = self._guard(
            lambda: export_video(
                self.session,
                self.player,
                path,
                size,
                progress=progress,
                cancelled=dialog.wasCanceled,
            )
        )
        dialog.close()
        if info is not None:
            self.window._set_status(f"wrote {info.path} ({info.frames} frames)")
        return info

    # -- presenting ------------------------------------------------------------------------------
    def present(self) -> None:
        """Full screen with no chrome, the story at its current step (the first at its start)."""
        if self.presenting:
            return
        # a story that cannot be played is never presented: the window stays as it is
        player = self._playable("is not presented")
        if player is None:
            return
        if not player.timeline.beats:
            self.window._report(
                "warning", f"story {player.story.name!r} has no steps to present: record one"
            )
            return
        w = self.window
        self.presenting = True
        from PySide6.QtWidgets import QDockWidget, QToolBar

        chrome = [w.menuBar(), w.statusBar(), *w.findChildren(QToolBar)]
        self._hidden = [x for x in chrome + w.findChildren(QDockWidget) if x.isVisible()]
        for x in self._hidden:
            x.setVisible(False)
        self.next_action.setShortcuts(
            [QKeySequence(k) for k in (Qt.Key.Key_PageDown, Qt.Key.Key_Right, Qt.Key.Key_Down)]
        )
        self.previous_action.setShortcuts(
            [QKeySequence(k) for k in (Qt.Key.Key_PageUp, Qt.Key.Key_Left, Qt.Key.Key_Up)]
        )
        self.end_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        w.showFullScreen()
        if player.index < 0:
            player.go_to_step(0)
        self._on_compare(player.compare)

    def end_presenting(self) -> None:
        """Back to the window as it was; the story pauses where it stands (F6 plays on)."""
        if not self.presenting:
            return
        w = self.window
        self.presenting = False
        if self._player is not None:  # a story playing on would move the window's view
            self._player.pause()
        self._drop_compare_caption()
        self.next_action.setShortcuts([QKeySequence(Qt.Key.Key_PageDown)])
        self.previous_action.setShortcuts([QKeySequence(Qt.Key.Key_PageUp)])
        self.end_action.setShortcuts([])
        w.showNormal()
        for x in self._hidden:
            x.setVisible(True)
        self._hidden = []
        w.view.setVisible(True)
