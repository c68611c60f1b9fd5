"""Atomic file writes: write a temporary file beside the target, fsync, then os.replace.

The temporary file is named ``.NAME.tmp-<pid>-<random>`` beside ``NAME``, so a write that was
interrupted (a crash, a killed process, a power cut) leaves a file we can recognise as ours and
remove later with :func:`clean_stale_temporaries`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from twin_app.errors import SessionFileError

#: A temporary file older than this is stale whatever its process (no write takes a minute).
STALE_AFTER_S = 60.0
# tempfile's random part: 8 characters of [a-z0-9_].
_RANDOM = r"[a-z0-9_]{8}"


def temporary_prefix(path: Path) -> str:
    """The name prefix of this process's temporary files for `path` (``.NAME.tmp-<pid>-``)."""
    return f".{path.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def clean_stale_temporaries(path: Path | str, now_s: float | None = None) -> list[Path]:
    """Remove temporary files an interrupted :func:`atomic_write_text` of `path` left behind.

    Only files of our own naming for this very target are considered: ``.NAME.tmp-<pid>-<random>``
    (stale when older than :data:`STALE_AFTER_S` or when process ``pid`` is gone) and the older
    ``.NAME.<random>.tmp`` (stale when older than :data:`STALE_AFTER_S`). Every other file is left
    alone, and a file that cannot be removed is skipped.

    Parameters
    ----------
    path
        The target file (a session file); its folder is searched.
    now_s
        The current time in seconds since the epoch (default: now).

    Returns
    -------
    list of Path
        The files removed.
    """
    p = Path(path)
    folder = p.parent
    name = re.escape(p.name)
    ours = re.compile(rf"\.{name}\.tmp-(?P<pid>\d+)-{_RANDOM}")
    older = re.compile(rf"\.{name}\.{_RANDOM}\.tmp")
    now = time.time() if now_s is None else now_s
    removed: list[Path] = []
    try:
        candidates = [c for c in folder.iterdir() if c.name.startswith(f".{p.name}.")]
    except OSError:
        return removed
    for c in candidates:
        m = ours.fullmatch(c.name)
        if m is None and older.fullmatch(c.name) is None:
            continue
        try:
            st = c.lstat()
        except OSError:
            continue
        if not c.is_file() or c.is_symlink():
            continue
        old = now - st.st_mtime > STALE_AFTER_S
        gone = m is not None and int(m["pid"]) != os.getpid() and not _pid_alive(int(m["pid"]))
        if old or gone:
            with contextlib.suppress(OSError):
                c.unlink()
                removed.append(c)
    return removed


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never half.

    A crash or a full disk while writing leaves the previous file untouched (and at worst a
    temporary file that :func:`clean_stale_temporaries` recognises).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(p), suffix="", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise SessionFileError(
            f"{p}: cannot write ({exc.strerror or exc}); the previous file is unchanged"
        ) from exc
