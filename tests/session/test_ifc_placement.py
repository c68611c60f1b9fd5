"""Where an IFC file without usable georeference was placed round-trips through the session file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from twin_app.io.source import ReadOptions
from twin_app.model.layers import IfcLayer
from twin_app.session import Session


def _ifc(s: Session) -> IfcLayer:
    return next(layer for layer in s.layers if isinstance(layer, IfcLayer))


def test_placement_is_saved_and_restored(
    shared_file: Callable[[str], Path], tmp_path: Path
) -> None:
    path = shared_file("ifc/IfcOpenHouse_IFC4.ifc")
    s = Session()
    opts = ReadOptions(at_lonlat=(-0.0905, 51.5155), rotate_deg=30.0)
    s.add_result(s.load_files([path], opts), opts)
    layer = _ifc(s)
    assert layer.features is not None and layer.features.meta.georef.method == "user"
    bounds = layer.features.mesh.bounds()
    n = len(layer.storeys())
    assert n >= 1
    s.set_storey_visible(layer, n - 1, False)
    s.set_explode(layer, 2.0)
    s.set_show_spaces(layer, True)
    saved = s.save(tmp_path / "placed.twin.toml")
    text = saved.read_text()
    assert "at_lonlat = [" in text and "rotate_deg = 30.0" in text
    data = Session.read_session_file(saved)
    assert data.sources[0].options["at_lonlat"] == pytest.approx((-0.0905, 51.5155))
    s2 = Session()
    s2.restore(Session.load_session_file(data, saved))
    layer2 = _ifc(s2)
    assert layer2.features is not None
    np.testing.assert_allclose(layer2.features.mesh.bounds(), bounds, atol=1e-6)
    assert s2.sources[0].read_options().rotate_deg == 30.0
    # the storey, explode and spaces view comes back too
    assert layer2.hidden_storeys == frozenset({n - 1})
    assert (layer2.explode, layer2.show_spaces, layer2.section_storey) == (2.0, True, None)


def test_place_ifc_moves_the_layer_and_its_saved_options_undoably(
    shared_file: Callable[[str], Path], tmp_path: Path
) -> None:
    path = shared_file("ifc/IfcOpenHouse_IFC4.ifc")
    s = Session()
    first = ReadOptions(at_lonlat=(-0.0905, 51.5155), rotate_deg=0.0)
    s.add_result(s.load_files([path], first), first)
    layer = _ifc(s)
    assert layer.features is not None
    before = layer.features.feature_centroids()[:, :2].copy()
    # 0.001 deg of longitude at 51.5 N is 69.4 m (east of true north; the frame's grid is
    # turned by its meridian convergence, so the length is what to compare)
    moved = ReadOptions(at_lonlat=(-0.0895, 51.5155), rotate_deg=0.0)
    s.place_ifc(layer, s.load_files([path], moved), moved)
    after = layer.features.feature_centroids()[:, :2]
    shift = np.nanmedian(after - before, axis=0)
    assert float(np.hypot(*shift)) == pytest.approx(69.4, abs=0.3)
    assert s.sources[0].options["at_lonlat"] == (-0.0895, 51.5155)
    assert "-0.0895" in s.save(tmp_path / "m.twin.toml").read_text()
    s.commands.undo()
    np.testing.assert_allclose(layer.features.feature_centroids()[:, :2], before, atol=1e-9)
    assert s.sources[0].options["at_lonlat"] == (-0.0905, 51.5155)


def test_two_files_of_one_name_get_their_own_styles_back(
    shared_file: Callable[[str], Path], tmp_path: Path
) -> None:
    """a/duplex.ifc and b/duplex.ifc make two layers named alike: each gets its own style
    back (a tester saw b take a's explode, a the defaults, and a warning that no source
    produced the layer)."""
    import shutil

    src = shared_file("ifc/IfcOpenHouse_IFC4.ifc")
    files = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        files.append(Path(shutil.copy(src, tmp_path / name / "house.ifc")))
    s = Session()
    for file, lon in zip(files, (-0.0905, -0.0895), strict=True):
        opts = ReadOptions(at_lonlat=(lon, 51.5155))
        s.add_result(s.load_files([file], opts), opts)
    a, b = (x for x in s.layers if isinstance(x, IfcLayer))
    assert a.name == b.name
    s.set_explode(a, 5.0)
    s.set_style(b, color_by="material")
    saved = s.save(tmp_path / "two.twin.toml")
    s2 = Session()
    warnings = s2.restore(Session.load_session_file(Session.read_session_file(saved), saved))
    assert warnings == []
    a2, b2 = (x for x in s2.layers if isinstance(x, IfcLayer))
    assert (a2.explode, a2.color_by) == (5.0, a.color_by)
    assert (b2.explode, b2.color_by) == (0.0, "material")
    assert a2.features is not None and b2.features is not None
    assert a2.features.mesh.bounds()[0] < b2.features.mesh.bounds()[0]  # a is the western one
