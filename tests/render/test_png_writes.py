"""A picture is written as every whole file is (:func:`twin_app.atomic.replacing`): the
umask's permissions, not ``mkstemp``'s 0600, and a path that cannot be written is one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from twin_app.errors import SessionFileError
from twin_app.render.snapshot import save_png


def test_a_png_gets_the_umasks_bits_and_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        png = save_png(np.zeros((4, 6, 3), np.uint8), tmp_path / "view.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(png.stat().st_mode) == 0o644
    with pytest.raises(SessionFileError) as err:
        save_png(np.zeros((4, 6, 3), np.uint8), png / "under_a_file.png")
    assert "\n" not in str(err.value) and "cannot write (" in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["view.png"]
