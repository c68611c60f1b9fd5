"""Packaged like real software: a wheel built from the repository runs from a fresh venv.

The wheel is built from a copy of the project (pip, with build isolation: the backend comes
from pip's index, a local one offline), installed with ``--no-deps`` into a new virtual
environment in a temporary folder whose only view of the dependencies is a ``.pth`` line to
this interpreter's site-packages (so nothing is downloaded, and the checkout's ``twin_app``,
editable install included, is out of sight). That venv's own ``twin`` then runs ``info`` and
``render`` on the sample twin bundled in the wheel, from a folder outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed: (its bin folder, an environment to run it in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # build from a copy: an in-tree build would write build/ and *.egg-info into the checkout
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "twin_app", src / "twin_app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(src)], tmp, env)
    wheels = list(dist.glob("twin_app-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    bin_dir = venv / "bin"
    purelib = Path(
        _run(
            [
                str(bin_dir / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            tmp,
            env,
        ).strip()
    )
    # the dependencies: this interpreter's site-packages, after the venv's own
    (purelib / "_twin_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(bin_dir / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheels[0]),
        ],
        tmp,
        env,
    )
    return bin_dir, env


def test_wheel_holds_the_package_data(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, env = installed
    code = (
        "from twin_app.io.manifest import SAMPLE_DIR, read_manifest\n"
        "import twin_app, twin_app.io.manifest as m\n"
        "from importlib import resources\n"
        "a = resources.files('twin_app') / 'assets'\n"
        "print(twin_app.__file__)\n"
        "print(SAMPLE_DIR)\n"
        "print(len(read_manifest(SAMPLE_DIR).paths()))\n"
        "print(sorted(p.name for p in (a / 'icons').iterdir())[:3])\n"
        "print((a / 'themes' / 'dark.qss').is_file())\n"
    )
    out = _run([str(bin_dir / "python"), "-c", code], bin_dir.parent.parent, env).splitlines()
    venv = bin_dir.parent.resolve()
    package, sample, n_paths, icons, theme = out
    assert Path(package).resolve().is_relative_to(venv), package  # the wheel, not the checkout
    assert Path(sample).resolve().is_relative_to(venv) and Path(sample).is_dir(), sample
    assert int(n_paths) >= 1
    assert icons.startswith("['app.svg'") and theme == "True"


def test_installed_twin_info_and_render(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, env = installed
    outside = bin_dir.parent.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    assert not outside.resolve().is_relative_to(ROOT)
    sample = Path(
        _run(
            [
                str(bin_dir / "python"),
                "-c",
                "from twin_app.io.manifest import SAMPLE_DIR; print(SAMPLE_DIR)",
            ],
            outside,
            env,
        ).strip()
    )
    geometry = sample / "london.osm.pbf"
    info = _run([str(bin_dir / "twin"), "info", str(geometry)], outside, env)
    assert "[osm]" in info and "buildings 2,149" in info, info
    png = outside / "sample.png"
    _run(
        [str(bin_dir / "twin"), "render", str(geometry), "-o", str(png), "--size", "400x300"],
        outside,
        env,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
