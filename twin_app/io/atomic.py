"""Atomic file writes: write a temporary file beside the target, fsync, then os.replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from twin_app.errors import SessionFileError


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never half.

    A crash or a full disk while writing leaves the previous file untouched.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
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
