"""Purity is tested, not assumed: the pure tiers run with Qt and VTK imports blocked.

DESIGN.md sections 1 and 9: ``model``, ``geometry``, ``io``, ``feeds``, ``engines``,
``scenarios`` and ``session`` run in a plain Python process. import-linter sees the static
imports; these tests see what a run really imports (lazy imports inside functions included),
through the blocker of ``tests/purity.py`` switched on by ``TWIN_PURE=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from purity import PURE_TIERS

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["TWIN_PURE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.pop("DISPLAY", None)  # a pure tier needs no display either
    return env


@pytest.mark.parametrize("module", ["PySide6.QtCore", "pyvista", "vtk", "vtkmodules.vtkCommonCore"])
def test_the_blocker_blocks(module: str) -> None:
    code = (
        "import purity; purity.install()\n"
        "import twin_app.model.clock  # a pure module still imports\n"
        f"import {module}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "PurityError" in proc.stderr and module.split(".")[0] in proc.stderr, proc.stderr


def test_the_blocker_catches_a_lazy_import_in_twin_app() -> None:
    # twin_app.render imports pyvista at module level: a pure tier importing it must fail
    code = "import purity; purity.install()\nimport twin_app.render.scene\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "PurityError" in proc.stderr, proc.stderr


@pytest.mark.skipif(os.environ.get("TWIN_PURE") == "1", reason="already inside a pure run")
def test_pure_tiers_never_import_qt_or_vtk(tmp_path: Path) -> None:
    """Every pure tier that exists, in a subprocess with the blocker on: a representative run.

    Every test module is collected, so every module-level import is checked, and every test
    function runs, with three exceptions that only repeat code paths on big inputs, to keep the
    suite short (the whole pure run costs about 40 s on the 2-core development machine, this one
    about half): the broker-driven MQTT tests (marker ``mqtt``: they wait on a real mosquitto),
    the Porto and München cases of the OSM reader (London runs), and the reads of the large
    shared CityJSON files (the other CityJSON tests read them too). ``make test-pure`` runs the
    pure tiers whole under the same blocker.
    """
    tiers = [str(TESTS / t) for t in PURE_TIERS if (TESTS / t).is_dir()]
    assert len(tiers) >= 5
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *tiers,
            "-q",
            "-x",
            "-p",
            "no:pytest-qt",
            "-p",
            "no:xvfb",
            "-p",
            "no:cacheprovider",
            "-m",
            "not mqtt and not slow",
            "-k",
            "not porto and not munchen and not shared_files_read",
            f"--basetemp={tmp_path / 'pure'}",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, f"{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in tail and "PurityError" not in proc.stdout
