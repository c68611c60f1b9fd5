"""What a scenario's studies (sun, air, radio, massing, patrol) add to a comparison.

:meth:`twin_app.session.compare.Comparison.show_result` shows traffic and water on the
session's own layers; the study parts of a result (``ScenarioResult.extra``) become layers of
their own on each side: rasters on the ground (:mod:`twin_app.session.study_rasters`) and the
scenario's buildings, stations and patrol robots (:mod:`twin_app.session.study_scene`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin_app.scenarios.model import ScenarioResult

if TYPE_CHECKING:
    from twin_app.session.compare import Comparison


def show_studies(cmp: Comparison, result: ScenarioResult) -> list[str]:
    """Show every study part of `result` on `cmp`; returns what could not be shown."""
    from twin_app.session.study_rasters import show_rasters
    from twin_app.session.study_scene import show_scene

    return show_rasters(cmp, result) + show_scene(cmp, result)
