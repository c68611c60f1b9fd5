"""Entry point of the PyInstaller bundle (``packaging/twin_app.spec``): the ``twin`` command.

Before any library is imported it sets what a frozen process needs, then runs
:func:`twin_app.cli.main`. ``twin -m MODULE`` runs a bundled module as a script: the IFC
meshing worker is started as ``sys.executable -m twin_app.io.ifc_worker``, and in the bundle
``sys.executable`` is this program, not a Python interpreter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()
    return Path(base) / "twin_app"


def prepare_frozen_environment() -> None:
    """Environment of the bundled process: a writable numba cache and the Qt binding."""
    if not getattr(sys, "frozen", False):
        return
    # numba keeps cache=True machine code next to the source file unless told otherwise; the
    # bundle may be read-only or shared by several users. Read at numba's import, so set first.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(_user_cache_dir() / "numba"))
    # twin_app's modules are bundled as source (see the spec): keep their bytecode per user
    # (PyInstaller turns bytecode writing off; the bundle's own modules are all precompiled)
    sys.pycache_prefix = str(_user_cache_dir() / "pycache")
    sys.dont_write_bytecode = False
    # qtpy (under pyvistaqt) would otherwise probe for PyQt5/PyQt6 first
    os.environ.setdefault("QT_API", "pyside6")


def main() -> int:
    """Run ``twin`` (or ``twin -m MODULE ARGS...``) and return its exit status."""
    prepare_frozen_environment()
    import multiprocessing

    # dask's LocalCluster (scenario sweeps) starts worker processes through this executable
    multiprocessing.freeze_support()
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        import runpy

        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from twin_app.cli import main as twin_main

    return twin_main()


if __name__ == "__main__":
    sys.exit(main())
