"""wntr's messages and errors reach the user as one counted line each (issue 10).

wntr logs every curve no element uses ("Curve was not used", once per curve) and raises some
errors with an unfilled ``%s``; neither may reach the terminal raw.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from twin_app.errors import EngineError
from twin_app.io.manifest import SAMPLE_DIR

DTOWN = SAMPLE_DIR / "d-town.inp"


def test_unused_curves_are_one_counted_warning() -> None:
    from twin_app.engines.water import simulate

    result = simulate(DTOWN, duration_h=1)
    curves = [w for w in result.warnings if "curve" in w.lower()]
    assert len(curves) == 1, result.warnings
    assert "7 curves" in curves[0] and str(DTOWN) in curves[0]


def test_an_epanet_warning_is_said_once_in_epanets_words() -> None:
    from twin_app.engines.water import simulate

    # the sample scenario close_pipe.toml's closure: D-Town's pumps cannot keep up
    result = simulate(DTOWN, duration_h=1, closed_links=["P237"])
    pumps = [w for w in result.warnings if "pumps cannot deliver" in w]
    assert len(pumps) == 1, result.warnings
    assert pumps[0].startswith(f"{DTOWN}: At 0:00:00, pumps cannot deliver enough flow")
    # wntr's copies of it ("EPANET warning 4 - ...") and its summary line are not repeated
    assert not [w for w in result.warnings if "EPANET warning" in w or "were issued" in w]


def test_no_raw_wntr_log_or_warning_reaches_the_terminal() -> None:
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from twin_app.io.manifest import SAMPLE_DIR\n"
        "from twin_app.engines.water import read_inp_wntr, simulate\n"
        "read_inp_wntr(SAMPLE_DIR / 'd-town.inp')\n"
        "simulate(SAMPLE_DIR / 'd-town.inp', duration_h=1)\n"
    )
    res = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "Curve was not used" not in res.stderr, res.stderr
    assert "Warning:" not in res.stderr and "wntr" not in res.stderr, res.stderr


def _options_typo(tmp_path: Path) -> Path:
    """D-Town with an [OPTIONS] key neither wntr nor EPANET knows."""
    text = DTOWN.read_text()
    assert "[OPTIONS]" in text
    path = tmp_path / "typo.inp"
    path.write_text(text.replace("[OPTIONS]", "[OPTIONS]\n Bogus 100", 1))
    return path


def test_unfilled_percent_s_is_filled_with_the_key(tmp_path: Path) -> None:
    from twin_app.engines.water import simulate

    path = _options_typo(tmp_path)
    with pytest.raises(EngineError) as info:
        simulate(path, duration_h=1)
    msg = str(info.value)
    assert "%s" not in msg and "'bogus'" in msg and str(path) in msg


def test_reader_fallback_names_the_key_too(tmp_path: Path) -> None:
    from twin_app.engines.water import read_inp_wntr

    network = read_inp_wntr(_options_typo(tmp_path))
    text = " ".join(network.report.warnings)
    assert "%s" not in text and "'bogus'" in text
