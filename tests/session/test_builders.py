"""The series-kind registry: every manifest kind has one builder; an unknown kind is a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin_app.errors import InputError
from twin_app.io.manifest import SAMPLE_DIR, ManifestSeries
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer
from twin_app.session import builders, open_twin
from twin_app.session.builders import BUILDERS, SeriesContext, build_series, builder_for


def test_every_kind_of_the_sample_twin_has_a_builder() -> None:
    assert set(BUILDERS) >= {"traffic", "air", "movers", "pipes"}
    for kind, fn in BUILDERS.items():
        assert builder_for(kind) is fn


def test_unknown_kind_names_the_kinds_that_exist() -> None:
    with pytest.raises(InputError) as err:
        builder_for("radio")
    text = str(err.value)
    assert "'radio'" in text and "air, movers, pipes, traffic" in text and "\n" not in text


def test_unknown_kind_in_a_manifest_names_file_and_key(tmp_path: Path) -> None:
    shutil.copy(SAMPLE_DIR / "manifest.toml", tmp_path / "manifest.toml")
    text = (tmp_path / "manifest.toml").read_text(encoding="utf-8")
    (tmp_path / "manifest.toml").write_text(
        text.replace('kind = "movers"', 'kind = "drones"'), encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        open_twin(tmp_path)  # refused before any file is read
    msg = str(err.value)
    assert str(tmp_path / "manifest.toml") in msg and "'series.2.kind'" in msg
    assert "'drones'" in msg and "\n" not in msg


def test_a_new_kind_is_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def marker_series(series: ManifestSeries, ctx: SeriesContext) -> Layer:
        made.append(series.path)
        return Layer(name=series.name)

    monkeypatch.setitem(builders.BUILDERS, "marker", marker_series)
    series = ManifestSeries(
        kind="marker",
        path="x.csv",
        name="Markers",
        what="w",
        measured_in="here",
        source="s",
        licence="l",
        attribution="a",
    )
    ctx = SeriesContext(SAMPLE_DIR, LocalFrame("EPSG:27700", (0.0, 0.0, 0.0)), [])
    layer = build_series(series, ctx)
    assert made == ["x.csv"] and layer.name == "Markers"


def test_traffic_needs_roads() -> None:
    from twin_app.io.manifest import read_manifest

    manifest = read_manifest(SAMPLE_DIR)
    traffic = next(s for s in manifest.series if s.kind == "traffic")
    ctx = SeriesContext(SAMPLE_DIR, LocalFrame("EPSG:27700", (0.0, 0.0, 0.0)), [])
    with pytest.raises(InputError, match="needs roads"):
        build_series(traffic, ctx)
