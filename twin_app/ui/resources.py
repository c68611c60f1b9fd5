"""Icons and style sheets from ``twin_app/assets/``, package data (SVG icons scale to any DPI)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

ASSETS = Path(str(resources.files("twin_app") / "assets"))
THEMES = ("light", "dark")


@cache
def icon(name: str) -> QIcon:
    """The SVG icon ``assets/icons/<name>.svg`` (an empty icon if it is missing)."""
    path = ASSETS / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def stylesheet(theme: str) -> str:
    """The Qt style sheet of a theme (``light`` or ``dark``)."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; choose {', '.join(THEMES)}")
    return (ASSETS / "themes" / f"{theme}.qss").read_text(encoding="utf-8")
