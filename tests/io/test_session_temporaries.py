"""An interrupted atomic save leaves a temporary file; the next save or open of the session removes
it, and only it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin_app.atomic import STALE_AFTER_S, clean_stale_temporaries
from twin_app.io.session_file import SCHEMA_VERSION, SessionFile, read_session, write_session


def _dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _interrupted_save(tmp_path: Path, name: str = "plan.twin.toml") -> Path:
    """What a save killed between writing and renaming leaves: a temporary file of our naming."""
    real = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, tempfile, sys; from pathlib import Path;"
            "from twin_app.atomic import temporary_prefix;"
            f"fd, t = tempfile.mkstemp(prefix=temporary_prefix(Path({name!r})), dir=sys.argv[1]);"
            "os.write(fd, b'schema_version = 1'); print(t)",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    return Path(real.stdout.strip())


def test_our_temporary_files_have_a_recognisable_name(tmp_path: Path) -> None:
    left = _interrupted_save(tmp_path)
    assert left.name.startswith(".plan.twin.toml.tmp-") and left.parent == tmp_path


def test_save_removes_a_stale_temporary_and_leaves_other_files(tmp_path: Path) -> None:
    path = tmp_path / "plan.twin.toml"
    stale = _interrupted_save(tmp_path)  # its process has exited: stale at once
    old = tmp_path / f".plan.twin.toml.tmp-{os.getpid()}-abcd1234"
    old.write_text("half")
    _age(old, STALE_AFTER_S + 5)  # ours, but a minute old: no write takes that long
    legacy = tmp_path / ".plan.twin.toml.k2j4h5g6.tmp"  # naming of earlier versions
    legacy.write_text("half")
    _age(legacy, STALE_AFTER_S + 5)
    fresh = tmp_path / f".plan.twin.toml.tmp-{os.getpid()}-zzzz9999"  # a write in progress
    fresh.write_text("half")
    others = [
        tmp_path / "notes.txt",
        tmp_path / ".plan.twin.toml.swp",
        tmp_path / ".plan.twin.toml.tmp-backup",
        tmp_path / f".other.twin.toml.tmp-{_dead_pid()}-abcd1234",
        tmp_path / ".plan.twin.toml.tmp-1-abcd1234.keep",
    ]
    for o in others:
        o.write_text("mine")
        _age(o, 3600)
    write_session(path, SessionFile(schema_version=SCHEMA_VERSION))
    assert not stale.exists() and not old.exists() and not legacy.exists()
    assert fresh.exists()
    assert all(o.read_text() == "mine" for o in others)
    assert path.is_file()


def test_open_removes_a_stale_temporary(tmp_path: Path) -> None:
    path = tmp_path / "plan.twin.toml"
    write_session(path, SessionFile(schema_version=SCHEMA_VERSION))
    stale = _interrupted_save(tmp_path)
    keep = tmp_path / "plan.twin.toml.bak"
    keep.write_text("mine")
    read_session(path)
    assert not stale.exists() and keep.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="process liveness is not checked on Windows")
def test_a_live_process_keeps_its_recent_temporary(tmp_path: Path) -> None:
    path = tmp_path / "plan.twin.toml"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            busy = tmp_path / f".plan.twin.toml.tmp-{proc.pid}-abcd1234"
            busy.write_text("half")
            assert clean_stale_temporaries(path) == []
            assert busy.exists()
        finally:
            proc.kill()
            proc.wait()
    assert clean_stale_temporaries(path) == [busy]
