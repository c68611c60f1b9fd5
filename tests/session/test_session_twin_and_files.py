"""A session of a twin and files from elsewhere reopens as it was: the twin's series are
placed on its own geometry, not stretched over the other files (a tester's session of the
sample twin and Delft's footprints could not be reopened: the traffic fit spanned 300 km,
found no roads and failed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from twin_app.io.manifest import SAMPLE_DIR
from twin_app.io.source import ReadOptions
from twin_app.model.sensors import TrafficLayer
from twin_app.session import Session


def test_a_twin_and_a_far_file_reopen_together(
    tmp_path: Path, shared_file: Callable[[str], Path]
) -> None:
    delft = shared_file("footprints/delft_somebuildings.gpkg")
    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    opts = ReadOptions()
    s.add_result(s.load_files([delft], opts), opts)
    before = sorted((x.kind, x.name) for x in s.layers)
    traffic = next(x for x in s.layers if isinstance(x, TrafficLayer))
    path = s.save(tmp_path / "london_and_delft.twin.toml")

    s2 = Session()
    warnings = s2.restore(Session.load_session_file(Session.read_session_file(path), path))
    assert warnings == []
    assert sorted((x.kind, x.name) for x in s2.layers) == before
    traffic2 = next(x for x in s2.layers if isinstance(x, TrafficLayer))
    assert traffic2.roads is not None and traffic.roads is not None
    assert traffic2.roads.ids.size == traffic.roads.ids.size > 0  # on London's roads
