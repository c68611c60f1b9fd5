"""Every file the app writes whole (sessions, reports, tables, pictures, feeds) goes through
:func:`twin_app.atomic.replacing` (pictures: tests/render/test_png_writes.py): readers see the old file or the new one, the permission
bits are those of the file replaced (or of a new file under the umask, not ``mkstemp``'s
0600), and a path that cannot be written is one line naming it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from twin_app.atomic import atomic_write_text, replacing
from twin_app.errors import FeedError, SessionFileError
from twin_app.feeds.longformat import write_long


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _table() -> pd.DataFrame:
    return pd.DataFrame({"sensor_id": ["a"], "t": ["2026-01-01T00:00Z"], "value": [1.0]})


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_file_gets_the_umasks_bits_and_a_replaced_one_keeps_its_own(
    tmp_path: Path, umask_022: None
) -> None:
    report = tmp_path / "out" / "report.html"
    atomic_write_text(report, "<p>one</p>")
    assert _mode(report) == 0o644  # readable by colleagues and a web server
    report.chmod(0o640)
    atomic_write_text(report, "<p>two</p>")
    assert report.read_text() == "<p>two</p>" and _mode(report) == 0o640
    feed = tmp_path / "feed.csv"
    write_long(feed, _table())
    assert _mode(feed) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.csv", "out"]


@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_a_path_that_cannot_be_written_is_one_line_and_keeps_the_old_file(
    tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "plan.twin.toml"
    blocker.write_text("kept", encoding="utf-8")
    target = blocker / "x.twin.toml" if where == "under a file" else tmp_path
    with pytest.raises(SessionFileError) as err:
        atomic_write_text(target, "new")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{target}: cannot write (")
    assert blocker.read_text(encoding="utf-8") == "kept"
    if where == "under a file":
        with pytest.raises(FeedError, match="cannot write"):
            write_long(blocker / "feed.csv", _table())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.twin.toml"]


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "rank.csv"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("the writer failed half-way")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["rank.csv"]
