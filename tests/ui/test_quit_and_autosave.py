"""Quitting with unsaved changes asks first; an autosave newer than its session is offered back."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dialogs import click_message_button
from PySide6.QtCore import Qt

from twin_app.io.session_file import read_session
from twin_app.model.layers import BuildingLayer

pytestmark = pytest.mark.ui


@contextlib.contextmanager
def _asking(w: Any) -> Iterator[None]:
    """The quit question on; off again whatever happens (pytest-qt closes the window after the
    test, and an unanswered question would wait for ever)."""
    w.ask_before_quit = True
    try:
        yield
    finally:
        w.ask_before_quit = False


def _buildings(w: Any) -> BuildingLayer:
    return next(layer for layer in w.session.layers if isinstance(layer, BuildingLayer))


def _quit_from_file_menu(qtbot: Any, w: Any) -> None:
    """File > Quit with the mouse."""
    bar = w.menuBar()
    file_menu = next(a for a in bar.actions() if a.text() == "&File").menu()
    qtbot.mouseClick(
        bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(file_menu.menuAction()).center()
    )
    qtbot.waitUntil(file_menu.isVisible, timeout=5000)
    pos = file_menu.actionGeometry(w.quit_action).center()
    qtbot.mouseClick(file_menu, Qt.MouseButton.LeftButton, pos=pos)


def _saved_with_a_change(w: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The loaded sample saved as plan.twin.toml, then its buildings made translucent (unsaved)."""
    monkeypatch.setattr(w, "autosave_path", lambda: tmp_path / "app" / "autosave.twin.toml")
    path = tmp_path / "plan.twin.toml"
    assert w.save_session(path)
    w.session.set_style(_buildings(w), opacity=0.4)
    assert w.session.dirty and "*" in w.windowTitle()
    return path


def _opacity_in(path: Path) -> float:
    entry = next(e for e in read_session(path).layers if e.kind == "buildings")
    return float(entry.style.opacity)


def test_quit_with_unsaved_changes_cancel_keeps_the_window_and_save_writes(
    qtbot: Any, loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    with _asking(w):
        path = _saved_with_a_change(w, tmp_path, monkeypatch)
        assert w.autosave() is not None
        before = path.read_bytes()
        seen = click_message_button(qtbot, "Cancel")
        _quit_from_file_menu(qtbot, w)
        qtbot.waitUntil(lambda: len(seen) >= 2, timeout=10_000)
        assert "plan.twin.toml" in seen[0] and set(seen[1].split("|")) == {
            "Save",
            "Discard",
            "Cancel",
        }
        qtbot.wait(100)
        assert w.isVisible() and path.read_bytes() == before
        seen = click_message_button(qtbot, "Save")
        _quit_from_file_menu(qtbot, w)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=10_000)
        assert len(seen) == 2
        assert _opacity_in(path) == pytest.approx(0.4)
        # written atomically: no temporary left beside it; the autosave is no longer needed
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "app",
            "plan.twin.toml",
            "settings.ini",
        ]
        assert not w.autosave_path().exists()


def test_quit_and_discard_leaves_the_saved_file_and_offers_nothing_later(
    qtbot: Any, loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    with _asking(w):
        path = _saved_with_a_change(w, tmp_path, monkeypatch)
        assert w.autosave() is not None
        seen = click_message_button(qtbot, "Discard")
        _quit_from_file_menu(qtbot, w)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=10_000)
        assert len(seen) == 2
        assert _opacity_in(path) == pytest.approx(1.0)
        assert not w.autosave_path().exists() and w.autosave_offer() is None


def test_a_clean_session_quits_without_asking(
    qtbot: Any, loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    with _asking(w):
        monkeypatch.setattr(w, "autosave_path", lambda: tmp_path / "app" / "autosave.twin.toml")
        assert w.save_session(tmp_path / "plan.twin.toml")
        _quit_from_file_menu(qtbot, w)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=10_000)


def _crash_with_autosave(w: Any, path: Path) -> Path:
    """Unsaved changes (translucent buildings, a bookmark) in the autosave, newer than `path`."""
    w.bookmarks_panel.add_current("Tower")
    auto = w.autosave()
    assert auto is not None
    old = time.time() - 30
    os.utime(path, (old, old))
    return Path(auto)


def _next_start(qtbot: Any, w: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A second window on the same settings and app-data folder: the application started again."""
    from twin_app.session import Session
    from twin_app.ui.main_window import QtMainWindow

    w2 = QtMainWindow(Session(), w.settings)
    w2.ask_before_quit = False
    qtbot.addWidget(w2)
    monkeypatch.setattr(w2, "autosave_path", lambda: tmp_path / "app" / "autosave.twin.toml")
    w2.show()
    qtbot.waitExposed(w2)
    return w2


def test_next_start_offers_the_newer_autosave_and_restores_it(
    qtbot: Any, loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    path = _saved_with_a_change(w, tmp_path, monkeypatch)
    auto = _crash_with_autosave(w, path)
    w2 = _next_start(qtbot, w, tmp_path, monkeypatch)
    try:
        # Cancel: the default opens (none here) and the autosave is kept for later
        seen = click_message_button(qtbot, "Cancel")
        w2.start([], default=None)
        assert "plan.twin.toml" in seen[0] and set(seen[1].split("|")) == {
            "Restore",
            "Open saved",
            "Cancel",
        }
        assert len(w2.session.layers) == 0 and auto.exists()
        # Restore: the unsaved state comes back, as unsaved changes to plan.twin.toml
        seen = click_message_button(qtbot, "Restore")
        w2.start([], default=None)
        qtbot.waitUntil(lambda: not w2.loading and len(w2.session.layers) == 4, timeout=60_000)
        assert len(seen) == 2
        assert _buildings(w2).opacity == pytest.approx(0.4)
        assert [b.name for b in w2.session.bookmarks] == ["Tower"]
        lst = w2.bookmarks_panel.list
        assert [lst.item(i).text() for i in range(lst.count())] == ["Tower"]
        assert w2.session.path == path.resolve() and w2.session.dirty
        assert w2.windowTitle().startswith("plan.twin.toml *")
        # Save writes the user's file, never the autosave
        assert w2.save_session(w2.session.path)
        assert _opacity_in(path) == pytest.approx(0.4) and not w2.session.dirty
    finally:
        w2.close()


def test_opening_a_session_with_a_newer_autosave_asks_and_open_saved_discards_it(
    qtbot: Any, loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    path = _saved_with_a_change(w, tmp_path, monkeypatch)
    auto = _crash_with_autosave(w, path)
    seen = click_message_button(qtbot, "Open saved")
    w.open_session(path)
    qtbot.waitUntil(lambda: not w.loading and len(seen) == 2, timeout=60_000)
    assert set(seen[1].split("|")) == {"Restore", "Open saved", "Cancel"}
    assert _buildings(w).opacity == pytest.approx(1.0) and not w.session.bookmarks
    assert not w.session.dirty and not auto.exists()
    # nothing newer any more: opening again asks nothing
    w.open_session(path)
    qtbot.waitUntil(lambda: not w.loading, timeout=60_000)
    assert not w.session.dirty


def test_saving_where_nothing_can_be_written_says_so_and_keeps_the_session(
    loaded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = loaded
    path = _saved_with_a_change(w, tmp_path, monkeypatch)
    said: list[tuple[str, str]] = []
    w.session.messages.connect(lambda level, text: said.append((level, text)))
    blocked = path / "again.twin.toml"  # a folder that is the saved session file
    assert not w.save_session(blocked)
    ((level, text),) = said
    assert level == "error" and text.startswith(f"{blocked}: cannot write (")
    assert w.session.dirty and w.session.path == path and _opacity_in(path) == 1.0
