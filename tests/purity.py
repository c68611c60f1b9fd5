"""An import blocker for the pure tiers: with it installed, importing Qt or VTK fails.

DESIGN.md section 1: ``model``, ``geometry``, ``io``, ``feeds``, ``engines``, ``scenarios`` and
``session`` never import PySide6, pyvista or vtk. import-linter checks the static imports; this
blocker checks what a test run really imports, lazy imports inside functions included.

Enable it with the environment variable ``TWIN_PURE=1`` (the root ``conftest.py`` installs it
before any test module is imported) and run only the pure tiers, without the Qt plugins::

    TWIN_PURE=1 pytest -p no:pytest-qt -p no:xvfb tests/model tests/geometry tests/io \\
        tests/feeds tests/engines

``tests/test_purity.py`` does exactly that in a subprocess.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

#: Top-level packages the pure tiers must never import.
BLOCKED: tuple[str, ...] = (
    "PySide6",
    "shiboken6",
    "pyvista",
    "pyvistaqt",
    "vtk",
    "vtkmodules",
    "superqt",
    "pyqtgraph",
)

#: The pure test tiers (folders under ``tests/``), in the order of DESIGN.md section 9.
PURE_TIERS: tuple[str, ...] = (
    "model",
    "geometry",
    "io",
    "feeds",
    "engines",
    "scenarios",
    "session",
)


class PurityError(ImportError):
    """A pure tier imported Qt or VTK."""


class PurityBlocker(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that refuses every module of :data:`BLOCKED`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in BLOCKED:
            raise PurityError(
                f"the pure tiers must not import {fullname!r} (DESIGN.md section 1; "
                "TWIN_PURE=1 blocks Qt and VTK; run pytest with -p no:pytest-qt -p no:xvfb)"
            )
        return None


def install() -> PurityBlocker:
    """Put a :class:`PurityBlocker` first on ``sys.meta_path`` (idempotent).

    Raises
    ------
    PurityError
        If a blocked package is already imported (a plugin loaded it before the blocker).
    """
    already = sorted(n for n in sys.modules if n.split(".", 1)[0] in BLOCKED)
    if already:
        raise PurityError(
            f"already imported before the purity blocker: {', '.join(already[:5])} "
            "(run with -p no:pytest-qt -p no:xvfb)"
        )
    for finder in sys.meta_path:
        if isinstance(finder, PurityBlocker):
            return finder
    blocker = PurityBlocker()
    sys.meta_path.insert(0, blocker)
    return blocker
