"""Atomic file writes: write a temporary file beside the target, fsync, then os.replace.

Every file the app writes whole goes through here (sessions, scenario reports and tables,
pictures, feed recordings), below every package that writes, so the guarantee is one.

The temporary file is named ``.NAME.tmp-<pid>-<random>`` beside ``NAME``, so a write that was
interrupted (a crash, a killed process, a power cut) leaves a file we can recognise as ours and
remove later with :func:`clean_stale_temporaries`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
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


def _umask() -> int:
    """The process's umask, read without changing it where the system says it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it
    os.umask(mask)
    return mask


def file_mode(path: Path) -> int:
    """The permission bits a write of `path` gives it: the bits of the file it replaces, or
    those of a new file (0666 less the umask)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def replacing(path: Path | str) -> Iterator[Path]:
    """A temporary file beside `path` to write; when the block ends it is flushed to disk and
    renamed over `path`, so readers see the old file or the new one, never half.

    The file keeps the permission bits of the one it replaces, or gets those of a new file
    (:func:`file_mode`): not ``mkstemp``'s 0600. A crash leaves at worst a temporary file
    that :func:`clean_stale_temporaries` recognises; an exception in the block removes it.

    Raises
    ------
    SessionFileError
        The folder or the file cannot be made or written (one line naming `path`; the
        previous file, if any, is unchanged).
    """
    p = Path(path)
    tmp: Path | None = None
    try:
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=temporary_prefix(p), suffix="", dir=p.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(file_mode(p))
        yield tmp
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        tmp.replace(p)
        tmp = None
    except OSError as exc:
        kept = "; the previous file is unchanged" if p.is_file() else ""
        raise SessionFileError(f"{p}: cannot write ({exc.strerror or exc}){kept}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def check_writable(path: Path | str, folder: bool = False) -> Path:
    """Refuse, before any work, an output path that cannot be written.

    Parameters
    ----------
    path
        A file to be written (or, with `folder`, a folder to write files into); the folders
        above it that do not exist yet will be made.
    folder
        `path` is a folder.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    SessionFileError
        One line naming `path`: it is a folder (a file wanted) or a file (a folder wanted),
        a folder above it is a file, or the nearest existing folder above it is not writable.
    """
    p = Path(path)
    if p.is_dir() != folder and p.exists():
        what = "it is a folder" if not folder else "it is a file, not a folder"
        raise SessionFileError(f"{p}: cannot write ({what})")
    above = p.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise SessionFileError(f"{p}: cannot write ({above} is a file, not a folder)")
    if not os.access(above, os.W_OK | os.X_OK):
        raise SessionFileError(f"{p}: cannot write (no permission to write in {above})")
    return p


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never half
    (:func:`replacing`: the file's permission bits are kept).

    A crash or a full disk while writing leaves the previous file untouched (and at worst a
    temporary file that :func:`clean_stale_temporaries` recognises).

    Raises
    ------
    SessionFileError
        The file cannot be written (one line naming it).
    """
    with replacing(path) as tmp:
        tmp.write_text(text, encoding=encoding, newline="\n")
