"""The wall's title and a paused clock's samples, headless: the twin's name from the session's
twins (whichever way the wall was opened), and one instant sampled again replacing its value."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.session import Session
from twin_app.session.wall import RollingSeries, twin_title


def test_twin_title_is_the_first_readable_twin_manifest_name(tmp_path: Path) -> None:
    session = Session()
    assert twin_title(session) == ""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.toml").write_text("name = [", encoding="utf-8")
    session.twins.append(broken)
    assert twin_title(session) == ""  # unreadable: no title rather than an error on the wall
    session.twins.append(SAMPLE_DIR)
    assert twin_title(session) == "City of London"


def test_set_last_replaces_the_newest_value_in_place() -> None:
    s = RollingSeries(3)
    s.set_last(5.0)  # nothing yet: nothing to replace
    assert s.count == 0
    for k in range(4):
        s.push(float(k), 10.0 * k)
    buf = s.view()[1].base
    for v in (31.0, 32.0, 33.0):
        s.set_last(v)
    t, v = s.view()
    assert t.tolist() == [1.0, 2.0, 3.0] and v.tolist() == [10.0, 20.0, 33.0]
    assert v.base is buf  # the same buffer
    s.push(4.0, np.nan)
    assert s.view()[0].tolist() == [2.0, 3.0, 4.0] and s.view()[1][1] == 33.0
