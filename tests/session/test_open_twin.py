"""Opening the bundled sample twin through the session core, without Qt: one call builds every
layer, one undoable step adds it, and the manifest says when and how fast the clock opens."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin_app.errors import CancelledError
from twin_app.io.manifest import SAMPLE_DIR
from twin_app.model.layers import BuildingLayer, GroundLayer, IfcLayer, RoadLayer
from twin_app.model.sensors import AirQualityLayer, MoverLayer, PipeLayer, TrafficLayer
from twin_app.session import Session, TwinLoad, open_twin

#: 08:00 London time (GMT in March) on the twin's first day: ``[clock] start`` of the sample.
OPENS_AT = pd.Timestamp("2026-03-02T08:00", tz="Europe/London").value


@pytest.fixture(scope="module")
def load() -> TwinLoad:
    return Session().open_twin(SAMPLE_DIR)


def test_open_twin_builds_every_kind_without_touching_a_session(load: TwinLoad) -> None:
    session = Session()
    again = session.open_twin(SAMPLE_DIR / "manifest.toml")  # the manifest file works too
    assert len(session.layers) == 0 and session.city is None and not session.twins
    assert not session.commands.can_undo
    for one in (load, again):
        assert [type(layer) for layer in one.layers] == [
            TrafficLayer,
            AirQualityLayer,
            MoverLayer,
            PipeLayer,
        ]
        assert one.result is not None
        kinds = sorted(fs.kind for fs in one.result.city.sets)
        assert kinds == ["buildings", "ground", "ifc", "roads"]
        assert len(one.rules) == 4 and {i for i, _ in one.rules} == {0, 1, 3}  # air: two rules
    assert load.manifest.name == "City of London"
    assert load.timezone == "Europe/London"


def test_open_twin_needs_no_qt_or_vtk() -> None:
    # The window runs open_twin on a worker thread and the CLI without a display: a fresh
    # interpreter opens the whole twin without importing any GUI or rendering toolkit.

    code = (
        "import sys\n"
        "from twin_app.io.manifest import SAMPLE_DIR\n"
        "from twin_app.session import open_twin\n"
        "load = open_twin(SAMPLE_DIR)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'pyvista', 'vtk', 'vtkmodules', 'pyvistaqt'))\n"
        "print(len(load.layers), bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert out.strip().splitlines()[-1] == "4 []"


def test_start_time_and_rate_come_from_the_manifest(load: TwinLoad) -> None:
    assert load.manifest.clock.start == "2026-03-02T08:00"
    assert load.start_ns == OPENS_AT
    assert load.rate == 600
    session = Session()
    session.add_twin(load)
    assert session.clock.t_ns == OPENS_AT
    assert session.clock.rate == 600
    # every time-driven layer already shows 08:00
    assert all(layer.time_ns == OPENS_AT for layer in load.layers[:2])  # type: ignore[attr-defined]


def test_add_twin_is_one_undoable_command() -> None:
    session = Session()
    load = session.open_twin(SAMPLE_DIR)
    added = session.add_twin(load)
    assert [type(layer) for layer in session.layers] == [
        RoadLayer,
        BuildingLayer,
        GroundLayer,
        IfcLayer,
        TrafficLayer,
        AirQualityLayer,
        MoverLayer,
        PipeLayer,
    ]
    assert list(session.layers) == added
    assert len(session.alerts.rules) == 4  # three thresholds and a silence rule
    assert {r.layer_uid for r in session.alerts.rules} <= {layer.uid for layer in load.layers}
    assert session.twins == [SAMPLE_DIR.resolve()]
    assert session.sources and session.city is not None and len(session.city.sets) == 4
    assert session.commands.undo_text == "Open twin City of London"
    session.commands.undo()
    assert len(session.layers) == 0
    assert not session.alerts.rules and not session.twins and not session.sources
    assert session.city is not None and not session.city.sets
    assert not session.commands.can_undo and session.clock.rate == 1.0
    session.commands.redo()
    assert list(session.layers) == added and len(session.alerts.rules) == 4
    assert session.clock.t_ns == OPENS_AT and session.clock.rate == 600


def test_add_twin_posts_warnings_and_descriptions(load: TwinLoad) -> None:
    session = Session()
    got: list[tuple[str, str]] = []
    session.messages.connect(lambda level, text: got.append((level, text)))
    session.add_twin(load)
    infos = [t for level, t in got if level == "info"]
    assert any(t.startswith("Traffic (METR-LA speeds): ") and "Los Angeles" in t for t in infos)
    assert any(level == "warning" and "air_beijing_prsa.parquet" in t for level, t in got)


def test_a_second_twin_lands_in_the_open_session_frame(load: TwinLoad) -> None:
    session = Session()
    session.add_twin(load)
    again = session.open_twin(SAMPLE_DIR)
    assert again.result is not None
    assert again.result.city.frame is session.frame


def test_cancel_stops_open_twin_between_steps() -> None:
    calls: list[float] = []

    def cancelled() -> bool:
        return len(calls) >= 3

    with pytest.raises(CancelledError):
        open_twin(SAMPLE_DIR, progress=lambda f, _m: calls.append(f), cancelled=cancelled)
    assert calls == sorted(calls)


def test_series_on_already_loaded_geometry(load: TwinLoad) -> None:
    assert load.result is not None
    sets = list(load.result.city.sets)
    series_only = open_twin(SAMPLE_DIR, frame=load.result.city.frame, geometry=sets)
    assert series_only.result is None
    assert [type(a) for a in series_only.layers] == [type(b) for b in load.layers]
    session = Session()
    session.add_twin(series_only)
    assert len(session.layers) == 4 and not session.sources


def test_summary_lists_series_with_kinds_counts_and_time_ranges(load: TwinLoad) -> None:
    s: dict[str, Any] = load.summary()
    assert s["kind"] == "twin" and s["name"] == "City of London"
    # The ground context of the extract: tests/io/test_ground_context.py counts it independently.
    osm, ifc = (g["counts"] for g in s["geometry"])
    assert osm == {"buildings": 2149, "roads": 3075, "ground": 261}
    # the proposed building: the elements with geometry of AC20-FZK-Haus (tests/io/test_ifc.py
    # counts them against ifcopenshell), none missing
    assert (ifc["ifc_elements"], ifc["missing"]) == (90, 0)
    rows = {r["kind"]: r for r in s["series"]}
    assert (rows["traffic"]["count"], rows["traffic"]["unit"]) == (207, "sensors")
    assert (rows["air"]["count"], rows["air"]["unit"]) == (12, "stations")
    assert (rows["movers"]["count"], rows["movers"]["unit"]) == (8, "movers")
    assert rows["pipes"]["unit"] == "links" and rows["pipes"]["count"] > 400
    assert rows["traffic"]["start"] == "2026-03-02T00:00:00+00:00"
    assert rows["pipes"]["end"] == "2026-03-03T00:00:00+00:00"
    assert s["opens_at"] == "2026-03-02T08:00:00+00:00"
    assert np.isclose(s["rate"], 600)


def test_attributions_credit_every_dataset_of_the_open_twin() -> None:
    """About credits the geometry and every replay series with its licence (not just OSM)."""
    from twin_app.io.manifest import SAMPLE_DIR

    s = Session()
    s.add_twin(s.open_twin(SAMPLE_DIR), describe=False)
    rows = s.attributions()
    licences = " ".join(lic for _, _, lic in rows)
    assert "ODbL" in licences  # the OpenStreetMap extract
    assert "CC BY 4.0" in licences and "Open Government Licence" in licences  # the series
    assert len(rows) >= 5  # the geometry file and the four series
    assert all(attr and lic for _, attr, lic in rows)
