"""Study layers of a scenario result in the compare view (to be filled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin_app.scenarios.model import ScenarioResult

if TYPE_CHECKING:
    from twin_app.session.compare import Comparison


def show_scene(cmp: Comparison, result: ScenarioResult) -> list[str]:
    """Add this part's layers to both sides of the comparison; returns what could not be shown."""
    return []
